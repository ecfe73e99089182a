# SPDX-License-Identifier: MIT
"""Resource faults (issue 7.2), beyond test_hostile.py's read-only, full and missing cases:
permission denied, a lock left by a dead process, and direct.xml swapped for a symlink or a
directory between two runs. Each gives one clear error line and loses nothing."""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

from tpfwtest import (CLI, CLI_FAULT, FirewalldDirTest, assert_no_sanitizer_report, fixture,
                      read_bytes)

KUMA = fixture("cli", "kuma-dualstack.txt")
INSTALL = ["install", "--from-iptables-restore", KUMA, "--no-reload"]
NOBODY = 65534

# Holds an exclusive flock on the directory until killed, like a tool run that died mid-way.
HOLDER = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(600)
"""


class ResourceTest(FirewalldDirTest):
    def snapshot(self, d=None):
        d = d or self.dir
        out = {}
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            st = os.lstat(path)
            if os.path.islink(path):
                out[name] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                out[name] = ("dir", sorted(os.listdir(path)))
            elif not os.path.isfile(path):
                out[name] = ("special", st.st_mode, st.st_mtime_ns)
            else:
                out[name] = (hashlib.sha256(read_bytes(path)).hexdigest(), st.st_mtime_ns,
                             st.st_mode, st.st_uid)
        return out

    def assert_one_error(self, p, *needles):
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        # the Kuma fixture's IPv6 rules bring a warning about firewalld's RFC 3964 filter
        lines = [l for l in p.stderr.strip().splitlines()
                 if not l.startswith("tproxy-firewalld: warning:")]
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("tproxy-firewalld: "), lines[0])
        for n in needles:
            self.assertIn(n, lines[0])


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
class PermissionDeniedTest(ResourceTest):
    """The tool run as an unprivileged user (nobody) on root's files."""

    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)  # nobody may reach the directory, not write it
        self.put_fixture("cli", "foreign.xml")
        self.tpfw(*INSTALL, check=0)  # as root: entries for nobody's uninstall to fail on
        # a copy nobody can run, wherever the build directory is (a clone in a 0700 mktemp -d)
        self.cli = os.path.join(self.tmp, "tproxy-firewalld")
        shutil.copy2(CLI, self.cli)
        os.chmod(self.cli, 0o755)
        kuma = os.path.join(self.tmp, "kuma-dualstack.txt")
        shutil.copy2(KUMA, kuma)
        os.chmod(kuma, 0o644)
        self.install_args = [kuma if a == KUMA else a for a in INSTALL]
        if not self.reachable_by_nobody(self.cli):
            self.skipTest(f"{self.cli} is not reachable by uid {NOBODY}")

    @staticmethod
    def reachable_by_nobody(path):
        p = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                            "test", "-x", path])
        return p.returncode == 0

    def as_nobody(self, *args, owner="kuma", input=None):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/tpfw-test-bus")
        p = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                            "--clear-groups", self.cli, "--firewalld-dir", self.dir,
                            "--owner", owner] + list(args),
                           env=env, capture_output=True, text=True, timeout=60, input=input)
        assert_no_sanitizer_report(p.stderr, args)
        return p

    def test_directory_not_writable(self):
        before = self.snapshot()
        other = ["install", "--from-iptables-restore", "-", "--no-reload"]
        for owner, args in (("other", other), ("kuma", ["uninstall", "--no-reload"])):
            with self.subTest(args[0]):
                p = self.as_nobody(*args, owner=owner,
                                   input="*nat\n:OTHER - [0:0]\n-A OTHER -j RETURN\nCOMMIT\n")
                self.assert_one_error(p, "Permission denied", self.path)
                self.assertEqual(self.snapshot(), before)
        # nothing to change needs no permission: the same install again is a no-op
        p = self.as_nobody(*self.install_args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("no change", p.stdout)
        self.assertEqual(self.snapshot(), before)

    def test_file_not_readable(self):
        os.chmod(self.path, 0o600)
        before = self.snapshot()
        p = self.as_nobody(*self.install_args)
        self.assert_one_error(p, "Permission denied", self.path)
        self.assertEqual(self.snapshot(), before)
        p = self.as_nobody("validate")
        self.assert_one_error(p, "Permission denied")

    def test_directory_not_readable(self):
        os.chmod(self.dir, 0o711)  # no read: the lock (open of the directory) fails
        self.addCleanup(os.chmod, self.dir, 0o755)
        before = self.snapshot()
        p = self.as_nobody(*self.install_args)
        self.assert_one_error(p, "Permission denied", self.dir)
        self.assertEqual(self.snapshot(), before)


class StaleLockTest(ResourceTest):
    """flock is tied to the open file description: the kernel drops it when the holder dies."""

    def hold_lock(self):
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, self.dir],
                                  stdout=subprocess.PIPE, text=True)
        def stop():
            if holder.poll() is None:
                holder.kill()
                holder.wait()
            holder.stdout.close()
        self.addCleanup(stop)
        self.assertEqual(holder.stdout.readline().strip(), "locked")
        return holder

    def test_live_holder_blocks_then_times_out(self):
        # the premise: while the holder lives, the tool waits and gives up clearly
        self.put_fixture("cli", "foreign.xml")
        before = self.snapshot()
        self.hold_lock()
        t0 = time.monotonic()
        p = self.tpfw("--timeout", "1", *INSTALL)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assert_one_error(p, "holds the lock")
        self.assertEqual(self.snapshot(), before)

    def test_killed_holder_does_not_block(self):
        self.put_fixture("cli", "foreign.xml")
        holder = self.hold_lock()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        t0 = time.monotonic()
        p = self.tpfw("--timeout", "5", *INSTALL, check=0)
        self.assertLess(time.monotonic() - t0, 2.0, p.stderr)
        self.assertIn("31 added", p.stdout)

    @unittest.skipUnless(os.access(CLI_FAULT, os.X_OK), "the fault build is missing")
    def test_tool_killed_while_holding_the_lock(self):
        # the tool itself dies after taking the lock (fault point "read" comes right after it)
        self.put_fixture("cli", "foreign.xml")
        before = self.snapshot()
        p = self.tpfw(*INSTALL, cli=CLI_FAULT, env={"TPFW_FAULT_CRASH": "read"})
        self.assertEqual(p.returncode, -signal.SIGKILL)
        self.assertEqual(self.snapshot(), before)
        t0 = time.monotonic()
        p = self.tpfw("--timeout", "5", *INSTALL, check=0)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertIn("31 added", p.stdout)


class SwappedBetweenRunsTest(ResourceTest):
    """A first run installs; then direct.xml is replaced behind the tool's back."""

    def setUp(self):
        super().setUp()
        self.put_fixture("cli", "foreign.xml")
        self.tpfw(*INSTALL, check=0)
        self.installed = read_bytes(self.path)

    def test_replaced_by_symlink(self):
        target = os.path.join(self.tmp, "elsewhere.xml")
        os.rename(self.path, target)
        os.symlink(target, self.path)
        before = self.snapshot()
        for args in (INSTALL, ["uninstall", "--no-reload"]):
            with self.subTest(args[0]):
                p = self.tpfw(*args)
                self.assert_one_error(p, "symbolic link", self.path)
                self.assertEqual(self.snapshot(), before)
                self.assertEqual(read_bytes(target), self.installed)
        # and with consent, the link's target is edited in place; the link stays a link
        p = self.tpfw("uninstall", "--no-reload", "--follow-symlink", check=0)
        self.assertIn("31 removed", p.stdout)
        self.assertTrue(os.path.islink(self.path))
        self.assertEqual(read_bytes(target), read_bytes(fixture("cli", "foreign.xml")))

    def test_replaced_by_dangling_symlink(self):
        os.unlink(self.path)
        os.symlink(os.path.join(self.tmp, "nowhere.xml"), self.path)
        before = self.snapshot()
        p = self.tpfw("uninstall", "--no-reload")
        self.assert_one_error(p, "symbolic link")
        self.assertEqual(self.snapshot(), before)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "nowhere.xml")))

    def test_replaced_by_directory(self):
        os.unlink(self.path)
        os.mkdir(self.path)
        with open(os.path.join(self.path, "keep"), "w") as f:
            f.write("x")
        before = self.snapshot()
        for args in (INSTALL, ["uninstall", "--no-reload"], ["validate"]):
            with self.subTest(args[0]):
                p = self.tpfw(*args)
                self.assert_one_error(p, "directory")
                self.assertEqual(self.snapshot(), before)

    def test_replaced_by_fifo(self):
        # a FIFO nobody writes: opening it must not hang the tool
        os.unlink(self.path)
        os.mkfifo(self.path)
        before = self.snapshot()
        p = self.tpfw("uninstall", "--no-reload")
        self.assert_one_error(p, "not a regular file")
        self.assertEqual(self.snapshot(), before)
