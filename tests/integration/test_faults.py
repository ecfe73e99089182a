# SPDX-License-Identifier: MIT
"""Fault injection at every step of install and uninstall against a real firewalld (issue 7.1),
with --reload-mode full (write, reload, roll back by reload); the default no-reload apply has its
own fault cases in test_noreload.py.

build/tproxy-firewalld-fault has the fault points compiled in: TPFW_FAULT_FAIL=<spec> makes a
point return -EIO, TPFW_FAULT_CRASH=<spec> SIGKILLs the process there; <spec> is a
comma-separated list of "point" or "point@N" (the Nth hit only). For every point, in both modes,
for install and for uninstall:

  - direct.xml is afterwards the old or the new version, byte for byte (never a mix, never
    missing), and direct.xml.old, when present, is the old version;
  - a failing run exits 1 and leaves no temporary file; a killed run may leave one, and the next
    run removes it (even when that run has nothing to write);
  - firewalld is RUNNING, and its runtime (the kernel's iptables/ip6tables rules and the direct
    runtime view) and its in-memory permanent copy equal what a reload of the file on disk
    gives: directly after the faulty run where EXPECT says so, and always after the next
    successful run of the normal CLI (the same command again).

The rollback path (restore the previous file, reload again) is reached by failing "verify"
and then injecting the fault inside the rollback: "rollback" (before the restore), the
restore's own write ("temp-create@2" ... "dir-fsync@2": the 2nd hit, the 1st being the main
write), "rollback-reload" (restored, not yet reloaded) and "reload-done@2" (firewalld has
reloaded the restored file, the tool has not looked at the answer).

102 cases (38 install, 38 uninstall, 26 install without a previous file) on Debian's firewalld,
nearly all of the time firewalld reloads; one sandbox per class, and the state is put back only
when a case changed it. On the upstream releases of the matrix only the points where firewalld
acts run (FILE_ONLY below).
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from integration import sandbox
from integration.sandbox import FW_CONFIG_PATH, FW_PATH, FirewalldSandbox, skip_unless_possible
from tpfwtest import CLI, CLI_FAULT, assert_no_sanitizer_report, fixture, read_bytes

KUMA = fixture("cli", "kuma-dualstack.txt")
# The admin's own entries, a comment and odd spacing: everything the tool must keep.
ORIGINAL = b"""<?xml version="1.0" encoding="utf-8"?>
<direct>
  <!-- hand-written by the admin: keep -->
  <rule ipv="ipv4" table="nat" chain="OUTPUT" priority="0">-p tcp --dport 2222 -j RETURN</rule>
  <chain ipv="ipv4" table="filter" chain="ADMIN_CHAIN"/>
  <rule ipv="ipv4"  table="filter" chain="ADMIN_CHAIN" priority="0">-p tcp --dport 2223 -j RETURN</rule>
</direct>
"""
TEMP_RE = re.compile(r"^\.direct\.xml\.tpfw-")

OLD, NEW = "old", "new"
# point spec -> (file after a failing run, firewalld already matches it?,
#                file after a killed run, firewalld already matches it?)
# "matches" False means: the next run of the same command must reconcile it (and does).
EXPECT = {
    # before the rename: the file is untouched, nothing was reloaded
    "lock": (OLD, True, OLD, True),
    "read": (OLD, True, OLD, True),
    "temp-create": (OLD, True, OLD, True),
    "temp-write": (OLD, True, OLD, True),  # killed: an empty temp file is left
    "fsync": (OLD, True, OLD, True),  # killed: a full temp file is left
    "backup": (OLD, True, OLD, True),
    "rename": (OLD, True, OLD, True),
    # renamed, the directory not synced: the new file is in place but the run stops with an
    # error before reloading; the next run finds the file up to date and reloads because
    # firewalld's views disagree (sync_unchanged)
    "dir-fsync": (NEW, False, NEW, False),
    # failing before the reload call: rollback to the old file, reloaded; killed: the new file
    # is written and never reloaded (the crash window the next run must repair)
    "reload": (OLD, True, NEW, False),
    # firewalld reloaded the new file: failing rolls back, a crash leaves a consistent new state
    "reload-done": (OLD, True, NEW, True),
    "verify": (OLD, True, NEW, True),
}
# Inside the rollback, reached by failing "verify" first (firewalld already runs the new file).
ROLLBACK = {
    # rollback gives up before restoring: the new file stays, and firewalld runs it
    "rollback": (NEW, True, NEW, True),
    "temp-create@2": (NEW, True, NEW, True),
    "temp-write@2": (NEW, True, NEW, True),
    "fsync@2": (NEW, True, NEW, True),
    "rename@2": (NEW, True, NEW, True),
    # the old file is back but firewalld still runs the new one until the next run
    "dir-fsync@2": (OLD, False, OLD, False),
    "rollback-reload": (OLD, False, OLD, False),
    # firewalld reloaded the old file: consistent either way
    "reload-done@2": (OLD, True, OLD, True),
}

_tmp = None


def setUpModule():
    global _tmp
    skip_unless_possible()
    for b in (CLI, CLI_FAULT):
        if not os.access(b, os.X_OK):
            raise unittest.SkipTest(f"{b} is not built")
    _tmp = tempfile.mkdtemp(prefix="tpfw-faults-")


def tearDownModule():
    if _tmp:
        shutil.rmtree(_tmp, ignore_errors=True)


def strip_counters(text):
    return "\n".join(re.sub(r"\[\d+:\d+\]", "", l) for l in text.splitlines()
                     if not l.startswith("#"))


class FaultBase(unittest.TestCase):
    """Subclasses set OP ("install"/"uninstall"); OLD/NEW bytes are computed in setUpClass."""

    OP = None

    @classmethod
    def setUpClass(cls):
        if cls.OP is None:
            raise unittest.SkipTest("base class")
        installed = cls.offline(ORIGINAL, ["install", "--from-iptables-restore", KUMA])
        if cls.OP == "install-fresh":
            # no direct.xml at all before: the rollback removes the file instead of rewriting it
            cls.versions = {OLD: None,
                            NEW: cls.offline(None, ["install", "--from-iptables-restore", KUMA])}
            cls.args = ["install", "--from-iptables-restore", KUMA, "--reload-mode", "full"]
        elif cls.OP == "install":
            cls.versions = {OLD: ORIGINAL, NEW: installed}
            cls.args = ["install", "--from-iptables-restore", KUMA, "--reload-mode", "full"]
        else:
            cls.versions = {OLD: installed, NEW: cls.offline(installed, ["uninstall"])}
            cls.args = ["uninstall", "--reload-mode", "full"]
        assert cls.versions[OLD] != cls.versions[NEW]
        old = cls.versions[OLD]
        cls.sb = FirewalldSandbox.for_class(cls, direct_xml=old.decode() if old else None)
        cls.path = cls.sb.direct_xml_path
        # what firewalld shows after a clean reload of each version
        cls.expected = {}
        for v in (NEW, OLD):
            cls.put_and_reload(cls.versions[v])
            cls.expected[v] = cls.snapshot()
        assert cls.expected[OLD] != cls.expected[NEW]

    @staticmethod
    def offline(data, args):
        """The bytes the normal CLI writes for args on a copy of data (no firewalld)."""
        d = tempfile.mkdtemp(dir=_tmp)
        if data is not None:
            with open(os.path.join(d, "direct.xml"), "wb") as f:
                f.write(data)
        p = subprocess.run([CLI, "--firewalld-dir", d] + args + ["--no-reload"],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent"))
        assert p.returncode == 0, p.stderr
        return read_bytes(os.path.join(d, "direct.xml"))

    @classmethod
    def put_and_reload(cls, data):
        for name in os.listdir(cls.sb.config_dir):
            if TEMP_RE.match(name) or name == "direct.xml.old":
                os.unlink(os.path.join(cls.sb.config_dir, name))
        if data is None:
            if os.path.exists(cls.path):
                os.unlink(cls.path)
        else:
            with open(cls.path, "wb") as f:
                f.write(data)
        cls.sb.dbus_reload()
        assert cls.sb.get_state() == "RUNNING", cls.sb.log_text()[-2000:]

    @classmethod
    def snapshot(cls):
        """firewalld's kernel rules, runtime direct view and in-memory permanent direct copy."""
        out = {f"ipv{f}": strip_counters(cls.sb.iptables_save(f)) for f in (4, 6)}
        for label, path, iface in (("runtime", FW_PATH, "org.fedoraproject.FirewallD1.direct"),
                                   ("permanent", FW_CONFIG_PATH,
                                    "org.fedoraproject.FirewallD1.config.direct")):
            for m in ("getAllChains", "getAllRules"):
                p = cls.sb.dbus_send(path, f"{iface}.{m}")
                assert p.returncode == 0, p.stderr
                out[f"{label}.{m}"] = p.stdout.split("\n", 1)[1]  # without the reply serial
        return out

    def setUp(self):
        # back to the old version, applied; reload only when a case changed something
        try:
            at_old = self.which() == OLD
        except AssertionError:
            at_old = False
        clean = (at_old and not self.temps()
                 and not os.path.exists(self.path + ".old")
                 and self.sb.get_state() == "RUNNING" and self.snapshot() == self.expected[OLD])
        if not clean:
            self.put_and_reload(self.versions[OLD])
            self.assertEqual(self.snapshot(), self.expected[OLD])

    def temps(self):
        return [n for n in os.listdir(self.sb.config_dir) if TEMP_RE.match(n)]

    def cli(self, cli, env=None):
        e = dict(self.sb.env)
        e.update(env or {})
        p = subprocess.run([cli, "--firewalld-dir", self.sb.config_dir] + self.args,
                           env=e, capture_output=True, text=True, timeout=120)
        assert_no_sanitizer_report(p.stderr, f"{cli} {env}")
        return p

    def which(self):
        """OLD or NEW: the version direct.xml holds (a missing file is the old "no file")."""
        if not os.path.lexists(self.path) and self.versions[OLD] is None:
            return OLD
        data = read_bytes(self.path)
        for v in (OLD, NEW):
            if data == self.versions[v]:
                return v
        self.fail("direct.xml is neither the old nor the new version:\n"
                  + data.decode(errors="replace"))

    def assert_consistent(self, version, when):
        self.assertEqual(self.sb.get_state(), "RUNNING", f"{when}\n{self.sb.log_text()[-3000:]}")
        got = self.snapshot()
        for k in self.expected[version]:
            self.assertEqual(got[k], self.expected[version][k],
                             f"{when}: firewalld's {k} does not match the {version} file")

    def run_case(self, spec, mode, expect, pre_fail=()):
        want_fail, consistent_fail, want_crash, consistent_crash = expect
        env = {}
        fail = list(pre_fail)
        if mode == "fail":
            fail.append(spec)
        else:
            env["TPFW_FAULT_CRASH"] = spec
        if fail:
            env["TPFW_FAULT_FAIL"] = ",".join(fail)
        p = self.cli(CLI_FAULT, env)
        what = f"{self.OP} {mode} at {spec}: exit {p.returncode}\n{p.stdout}{p.stderr}"
        want, consistent = ((want_fail, consistent_fail) if mode == "fail"
                            else (want_crash, consistent_crash))
        if mode == "fail":
            self.assertEqual(p.returncode, 1, what)
            self.assertTrue(p.stderr.startswith("tproxy-firewalld: "), what)
            self.assertEqual(self.temps(), [], what)
        else:
            self.assertEqual(p.returncode, -9, what)
        self.assertEqual(self.which(), want, what)
        if os.path.exists(self.path + ".old"):
            self.assertIsNotNone(self.versions[OLD], what)
            self.assertEqual(read_bytes(self.path + ".old"), self.versions[OLD], what)
        self.assertEqual(self.sb.get_state(), "RUNNING", what)
        if consistent:
            self.assert_consistent(want, what)
        else:
            # the premise of "the next run repairs it": firewalld really is out of line now
            self.assertNotEqual(self.snapshot(), self.expected[want], what)

        # the next run of the normal tool: the same command again
        p = self.cli(CLI)
        again = f"{what}\nnext run: exit {p.returncode}\n{p.stdout}{p.stderr}"
        self.assertEqual(p.returncode, 0, again)
        self.assertEqual(self.which(), NEW, again)
        self.assertEqual(self.temps(), [], again)
        self.assert_consistent(NEW, again)


# Points where the tool only writes files (before the rename, and the rollback's own write up to
# its rename): what happens there does not depend on firewalld's version. Debian's firewalld runs
# every point; the upstream releases of the matrix (TPFW_FIREWALLD_PREFIX) run only the points
# where firewalld acts (dir-fsync on, the reloads, verify, the rollback's reload), which keeps
# `make check` on four firewalld versions within CI's time (this module is the suite's heaviest).
FILE_ONLY = {"lock", "read", "temp-create", "temp-write", "fsync", "backup", "rename",
             "temp-create@2", "temp-write@2", "fsync@2", "rename@2"}
FIREWALLD_POINTS_ONLY = sandbox.FIREWALLD_PREFIX is not None


def _add_cases(cls):
    fresh = cls.OP == "install-fresh"
    for spec, expect in EXPECT.items():
        if fresh and spec == "backup":
            continue  # there is nothing to back up
        if FIREWALLD_POINTS_ONLY and spec in FILE_ONLY:
            continue
        for mode in ("fail", "crash"):
            def t(self, spec=spec, mode=mode, expect=expect):
                self.run_case(spec, mode, expect)
            name = f"test_{mode}_at_{spec}".replace("-", "_").replace("@", "_")
            setattr(cls, name, t)
    for spec, expect in ROLLBACK.items():
        if fresh and "@" in spec and spec != "reload-done@2":
            continue  # the rollback removes the file: no second write
        if FIREWALLD_POINTS_ONLY and spec in FILE_ONLY:
            continue
        for mode in ("fail", "crash"):
            def t(self, spec=spec, mode=mode, expect=expect):
                self.run_case(spec, mode, expect, pre_fail=["verify"])
            name = f"test_rollback_{mode}_at_{spec}".replace("-", "_").replace("@", "_")
            setattr(cls, name, t)
    return cls


@_add_cases
class InstallFaultTest(FaultBase):
    OP = "install"


@_add_cases
class UninstallFaultTest(FaultBase):
    OP = "uninstall"


@_add_cases
class FreshInstallFaultTest(FaultBase):
    OP = "install-fresh"


class FaultBuildTest(unittest.TestCase):
    """Guards the premise: the fault build obeys the variables and the normal build ignores them."""

    def test_normal_build_has_no_fault_points(self):
        d = tempfile.mkdtemp(dir=_tmp)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent",
                   TPFW_FAULT_FAIL="lock,read,temp-create,rename", TPFW_FAULT_CRASH="lock")
        args = ["--firewalld-dir", d, "install", "--from-iptables-restore", KUMA, "--no-reload"]
        p = subprocess.run([CLI] + args, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        os.unlink(os.path.join(d, "direct.xml"))
        p = subprocess.run([CLI_FAULT] + args, env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, -9, p.stderr)
        del env["TPFW_FAULT_CRASH"]
        p = subprocess.run([CLI_FAULT] + args, env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cannot lock", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "direct.xml")))
