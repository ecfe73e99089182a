# SPDX-License-Identifier: MIT
"""A firewalld.conf without RFC3964_IPv4, and a firewalld without the setting (issue 15).

firewalld before 0.7 has no RFC3964_IPv4 (and no RFC 3964 filter): its firewalld.conf has no such
line and reading the property over D-Bus fails with "Property 'RFC3964_IPv4' does not exist".
Every firewalld of the matrix answers "yes" (its default) for a firewalld.conf without the line,
so on those the tool treats the missing line as yes; the D-Bus failure of an old firewalld
cannot be had from a real one here (no pre-0.7 release runs on this Python), so OldFirewalldTest
makes the sandbox's real firewalld refuse that one property (sitecustomize.py below) and keeps
everything else real.

Each case: install without and with --fix-ipv6-redirect, then uninstall; all succeed and nothing
of the owner is left (direct.xml, the state file, firewalld's views, the setting's value).
"""
import os
import re
import shutil
import tempfile
import unittest

from integration import sandbox
from integration.sandbox import FirewalldSandbox, skip_unless_possible
from tpfwtest import CLI, KUMA_FACTS

STATE = "tproxy-firewalld.state"
TAG = "tproxy-firewalld/kuma"

# Loaded by the sandbox's firewalld through PYTHONPATH: RFC3964_IPv4 does not exist, as before 0.7.
OLD_FIREWALLD = '''
import importlib.abc, importlib.machinery, sys

MISSING = "org.freedesktop.DBus.Error.InvalidArgs: Property 'RFC3964_IPv4' does not exist"


def _patch_config(module):
    import dbus
    get = module.FirewallDConfig._get_property

    def _get_property(self, prop, *a, **kw):
        if prop == "RFC3964_IPv4":
            raise dbus.exceptions.DBusException(MISSING)
        return get(self, prop, *a, **kw)
    module.FirewallDConfig._get_property = _get_property


def _patch_conf(module):
    import dbus
    set_ = module.firewalld_conf.set

    def set(self, key, value):
        # only the D-Bus Set method: firewalld's own start and reload set keys too
        if key == "RFC3964_IPv4" and sys._getframe(1).f_code.co_name == "Set":
            raise dbus.exceptions.DBusException(MISSING)
        return set_(self, key, value)
    module.firewalld_conf.set = set


PATCHES = {"firewall.server.config": _patch_config,
           "firewall.core.io.firewalld_conf": _patch_conf}


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            PATCHES[name](module)
        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Hook())
'''


def setUpModule():
    skip_unless_possible(CLI)


def conf_without_key():
    with open(os.path.join(sandbox.FIREWALLD_ETC, "firewalld.conf")) as f:
        text = f.read()
    return re.sub(r"(?m)^RFC3964_IPv4=.*\n", "", text)


def settings(conf):
    """firewalld.conf's non-blank lines, without an RFC3964_IPv4=yes (the default)."""
    return [line for line in conf.splitlines() if line.strip() and line != "RFC3964_IPv4=yes"]


class NoKeyBase:
    old = False

    def setUp(self):
        self.sb = FirewalldSandbox.for_test(self, start=False,
                                            config_files={"firewalld.conf": conf_without_key()})
        if self.old:
            hook = tempfile.mkdtemp(prefix="tpfw-old-fw-")
            self.addCleanup(shutil.rmtree, hook, True)
            with open(os.path.join(hook, "sitecustomize.py"), "w") as f:
                f.write(OLD_FIREWALLD)
            pp = self.sb.env.get("PYTHONPATH")
            self.sb.env["PYTHONPATH"] = hook + (":" + pp if pp else "")
        with open(os.path.join(self.sb.config_dir, "firewalld.conf")) as f:
            self.conf_before = f.read()
        self.assertNotIn("RFC3964_IPv4=", self.conf_before)

    def cli(self, *args):
        p = self.sb.run_tool(CLI, *args)
        self.assertEqual(p.returncode, 0, "%s: %s%s" % (args, p.stdout, p.stderr))
        return p

    def uninstall(self):
        """Uninstalls; nothing of the owner stays, and firewalld.conf says what it said."""
        self.cli("uninstall")
        with open(self.sb.direct_xml_path) as f:
            self.assertNotIn(TAG, f.read())
        self.assertFalse(os.path.exists(os.path.join(self.sb.config_dir, STATE)))
        with open(os.path.join(self.sb.config_dir, "firewalld.conf")) as f:
            conf = f.read()
        # firewalld's default is yes: the line may now say so (and firewalld's own writer, used
        # while it runs, may change blank lines), but nothing else changed
        self.assertEqual(settings(conf), settings(self.conf_before))

    def cycle(self, running):
        if running and (self.sb.fw_proc is None or self.sb.fw_proc.poll() is not None):
            self.sb.start()
        self.cli("install", *KUMA_FACTS)
        fix = self.cli("install", "--fix-ipv6-redirect", *KUMA_FACTS)
        self.uninstall()
        if running:
            self.assertEqual(self.cli("status").returncode, 0)
            out = self.sb.run_in_ns(["iptables-save", "-t", "nat"]).stdout
            self.assertNotIn("KUMA_MESH", out)
        return fix


class NoKeyTest(NoKeyBase, unittest.TestCase):
    """The firewalld of the matrix with firewalld.conf lacking the line: the default, yes."""

    def test_running(self):
        fix = self.cycle(running=True)
        self.assertIn("RFC3964_IPv4: yes -> no (--fix-ipv6-redirect)", fix.stdout)

    def test_stopped(self):
        fix = self.cycle(running=False)
        self.assertIn("RFC3964_IPv4: yes -> no (--fix-ipv6-redirect)", fix.stdout)


class OldFirewalldTest(NoKeyBase, unittest.TestCase):
    """A firewalld that has no RFC3964_IPv4 at all (before 0.7): no filter, no warning, the fix
    has nothing to change, and an earlier offline fix never blocks the uninstall."""

    old = True

    def test_running_no_warning_and_nothing_to_fix(self):
        self.sb.start()
        p = self.cli("install", *KUMA_FACTS)
        self.assertNotIn("RFC3964", p.stderr)
        fix = self.cycle(running=True)
        self.assertIn("firewalld has no such filter", fix.stdout)
        self.assertNotIn("->", fix.stdout)

    def test_offline_fix_then_uninstall_on_old_firewalld(self):
        """Fixed while stopped (the file says no), then the old firewalld runs: uninstall must
        not be blocked by the setting it does not have."""
        self.cli("install", "--fix-ipv6-redirect", *KUMA_FACTS)
        self.assertTrue(os.path.exists(os.path.join(self.sb.config_dir, STATE)))
        self.sb.start()
        self.uninstall()


if __name__ == "__main__":
    unittest.main()
