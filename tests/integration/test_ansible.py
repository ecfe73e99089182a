# SPDX-License-Identifier: MIT
"""The Ansible collection (contrib/ansible-collection), built with ansible-galaxy and installed
offline into a temporary collections path, driven by ansible-playbook against localhost and a real
firewalld in a sandbox: idempotence, check mode, diff mode, absent, failures.

Skipped when ansible-playbook (Debian package ansible-core) is missing; never installs it."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from integration.sandbox import FirewalldSandbox, skip_unless_possible

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TPFW_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("TPFW_BUILDDIR") or os.path.join(TOP, "build")
CLI = os.path.join(BUILDDIR, "tproxy-firewalld")
COLLECTION = os.path.join(TOP, "contrib", "ansible-collection")
PLAYBOOK_EXAMPLE = os.path.join(COLLECTION, "examples", "playbook.yml")
ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook")
ANSIBLE_GALAXY = shutil.which("ansible-galaxy")

# IPv4 only, numeric UID, lo: nothing depends on the host.
RULE_OPTIONS = {"kuma-dp-user": 5678, "loopback-interface": "lo", "assume-ipv6": False,
                "redirect-dns": False, "exclude-inbound-ports": [2222, 9901]}
_COLLECTIONS = {}


def collections_path():
    """The collection, built and installed once per test run (removed at the end)."""
    if "path" not in _COLLECTIONS:
        tmp = tempfile.mkdtemp(prefix="tpfw-collection-")
        unittest.addModuleCleanup(shutil.rmtree, tmp, True)
        _COLLECTIONS["path"] = install_collection(tmp)
    return _COLLECTIONS["path"]


def install_collection(tmp):
    """Builds the collection and installs the tarball (offline) under tmp; returns the
    collections path."""
    path = os.path.join(tmp, "collections")

    def galaxy(*args):
        p = subprocess.run([ANSIBLE_GALAXY, "collection", *args], capture_output=True,
                           text=True, timeout=180, cwd=tmp, env=dict(os.environ, HOME=tmp))
        if p.returncode != 0:
            raise AssertionError(f"ansible-galaxy collection {' '.join(args)}:\n"
                                 f"{p.stdout}{p.stderr}")

    galaxy("build", "--output-path", tmp, COLLECTION)
    tarballs = [os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".tar.gz")]
    galaxy("install", "--offline", "-p", path, *tarballs)
    return path


def ansible_env(collections_path):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("KUMA_TRANSPARENT_PROXY_"):
            del e[k]
    e.update(ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_STDOUT_CALLBACK="json",
             ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1",
             ANSIBLE_RETRY_FILES_ENABLED="0",
             ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
             ANSIBLE_PYTHON_INTERPRETER="auto_silent", ANSIBLE_GATHERING="explicit")
    return e


@unittest.skipUnless(ANSIBLE_PLAYBOOK and ANSIBLE_GALAXY,
                     "ansible-playbook is missing (Debian package ansible-core)")
class AnsibleModuleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        skip_unless_possible()
        if not os.path.exists(CLI):
            raise unittest.SkipTest(f"{CLI} not built")
        cls.sb = FirewalldSandbox.for_class(cls)
        cls.tmp = tempfile.mkdtemp(prefix="tpfw-ansible-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.env = ansible_env(collections_path())
        cls.env["HOME"] = cls.tmp  # ansible's local temp and cache stay in the test dir

    def play(self, *flags, fail=False, **args):
        """Runs one task of the collection's module with args on top of the sandbox's
        defaults; returns the module's result."""
        task = {"firewalld_dir": self.sb.config_dir, "executable": CLI, "require_running": True,
                "options": RULE_OPTIONS}
        task.update(args)
        play = [{"hosts": "localhost", "connection": "local", "gather_facts": False,
                 "environment": {"DBUS_SYSTEM_BUS_ADDRESS": self.sb.bus_address},
                 "tasks": [{"tproxy.tproxy_firewalld.tproxy_firewalld": task,
                            "register": "result"}]}]
        playbook = os.path.join(self.tmp, "playbook.yml")
        with open(playbook, "w") as f:
            json.dump(play, f)  # JSON is YAML
        p = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", *flags, playbook],
                           env=self.env, capture_output=True, text=True, timeout=180)
        try:
            out = json.loads(p.stdout)
        except ValueError:
            self.fail(f"ansible-playbook printed no JSON (exit {p.returncode}):\n{p.stdout}\n"
                      f"{p.stderr}")
        res = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
        if fail:
            self.assertNotEqual(p.returncode, 0)
            self.assertTrue(res.get("failed"), res)
            return res
        self.assertEqual(p.returncode, 0, f"{json.dumps(res, indent=1)}\n{p.stderr}")
        stats = out["stats"]["localhost"]
        self.assertEqual(stats["changed"], 1 if res["changed"] else 0)
        return res

    def snapshot(self):
        p = self.sb.direct_xml_path
        return (self.sb.read_direct_xml(), os.stat(p).st_mtime_ns if os.path.exists(p) else None)

    def runtime_tagged(self, owner="kuma"):
        return f"tproxy-firewalld/{owner}" in self.sb.iptables_save(4, "nat")

    def test_life_cycle(self):
        # check mode first: reports the change, writes nothing, touches no rule
        before = self.snapshot()
        res = self.play("--check", "--diff", state="present")
        self.assertTrue(res["changed"])
        self.assertGreater(res["added"], 0)
        self.assertEqual(res["reload"], "skipped")
        self.assertIn("+  <rule", res["diff"]["prepared"])
        self.assertIn("--check", res["cmd"])
        self.assertEqual(self.snapshot(), before)
        self.assertFalse(self.runtime_tagged())

        # first run: changed, applied and verified in the real firewalld
        res = self.play(state="present")
        self.assertTrue(res["changed"])
        self.assertEqual((res["reload"], res["verified"]), ("done", True))
        self.assertEqual((res["file"], res["owner"], res["rc"]), (self.sb.direct_xml_path, "kuma", 0))
        for key in ("rfc3964_ipv4", "ipv6_redirect_warning", "stderr"):
            self.assertIn(key, res)
        self.assertIsNone(res["rfc3964_ipv4"])  # IPv4 only: no IPv6 rule depends on it
        self.assertIs(res["ipv6_redirect_warning"], False)
        self.assertIn("--exclude-inbound-ports=2222,9901", res["cmd"])
        installed = self.snapshot()
        self.assertIn(b"tproxy-firewalld/kuma", installed[0])
        self.assertIn(b"--dport 2222", installed[0])
        self.assertIn(b"--dport 9901", installed[0])
        self.assertTrue(self.runtime_tagged())

        # second run: unchanged, file untouched
        res = self.play(state="present")
        self.assertFalse(res["changed"])
        self.assertEqual((res["added"], res["removed"]), (0, 0))
        self.assertEqual(self.snapshot(), installed)

        # absent in check mode: reports the removal, changes nothing
        res = self.play("--check", state="absent")
        self.assertTrue(res["changed"])
        self.assertGreater(res["removed"], 0)
        self.assertEqual(self.snapshot(), installed)
        self.assertTrue(self.runtime_tagged())

        # absent: removed from the file and from firewalld's runtime
        res = self.play("--diff", state="absent")
        self.assertTrue(res["changed"])
        self.assertEqual(res["reload"], "done")
        self.assertIn("-  <rule", res["diff"]["prepared"])
        self.assertNotIn(b"tproxy-firewalld/", self.sb.read_direct_xml())
        self.assertFalse(self.runtime_tagged())
        res = self.play(state="absent")
        self.assertFalse(res["changed"])

    def test_options_reach_the_tool(self):
        # config files, runtime_only, follow_symlink, fix_ipv6_redirect and reload_mode become
        # the tool's flags; runtime_only leaves direct.xml alone and applies to the runtime
        cfg = os.path.join(self.tmp, "kuma.yaml")
        with open(cfg, "w") as f:
            f.write('kumaDPUser: "5678"\nipFamilyMode: ipv4\n')
        before = self.snapshot()
        args = dict(owner="rt", runtime_only=True, follow_symlink=True, config=[cfg],
                    options={"loopback-interface": "lo", "redirect-dns": False})
        res = self.play("--check", **args)
        for flag in ("--runtime-only", "--follow-symlink", "--config"):
            self.assertIn(flag, res["cmd"])
        self.assertEqual(res["cmd"][res["cmd"].index("--config") + 1], cfg)
        self.assertNotIn("--reload-mode", res["cmd"])  # passed only when set
        res = self.play("--check", fix_ipv6_redirect=True)
        self.assertIn("--fix-ipv6-redirect", res["cmd"])
        res = self.play(**args)
        self.assertTrue(res["changed"])
        self.assertEqual(self.snapshot(), before)
        self.assertTrue(self.runtime_tagged("rt"))
        self.play(state="absent", **args)
        self.assertFalse(self.runtime_tagged("rt"))
        for mode in ("full", "delta"):
            res = self.play("--check", reload_mode=mode)
            self.assertEqual(res["cmd"][res["cmd"].index("--reload-mode") + 1], mode)
            self.assertEqual(res["rc"], 0, res)

    def test_failure_is_reported_as_failed_task(self):
        # an invalid owner name: the module fails with the tool's own line, nothing is written
        before = self.snapshot()
        res = self.play(fail=True, owner="Not_Valid")
        self.assertEqual(res["rc"], 2)
        self.assertIn("invalid owner name 'Not_Valid'", res["msg"])
        self.assertNotIn("\n", res["msg"])
        self.assertIn("invalid owner name", res["stderr"])
        self.assertEqual(self.snapshot(), before)
        # an unknown rule option: the tool still prints a JSON object, whose error only points
        # at standard error; the message is the tool's line naming the option
        res = self.play(fail=True, options={"no-such-option": 1})
        self.assertEqual(res["rc"], 2)
        self.assertIn("--no-such-option", res["msg"])
        self.assertNotIn("details on standard error", res["msg"])
        self.assertEqual(res["owner"], "kuma")
        self.assertEqual(self.snapshot(), before)


@unittest.skipUnless(ANSIBLE_PLAYBOOK and ANSIBLE_GALAXY,
                     "ansible-playbook is missing (Debian package ansible-core)")
class ExamplePlaybookTest(unittest.TestCase):
    def test_example_playbook_parses(self):
        env = dict(ansible_env(collections_path()), ANSIBLE_STDOUT_CALLBACK="default")
        p = subprocess.run([ANSIBLE_PLAYBOOK, "--syntax-check", "-i", "mesh_nodes,",
                            PLAYBOOK_EXAMPLE], env=env, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
