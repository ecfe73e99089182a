# SPDX-License-Identifier: MIT
"""Installs while firewalld starts (issue 15): none may be lost.

firewalld 2.4+ read direct.xml before they own their D-Bus name, so an install that finds no
owner and only writes the file is lost until the next reload. The tool waits for a firewalld
that is starting for its --firewalld-dir (firewalld.h, tpfw_firewalld_wait_starting()). Each
try starts firewalld, installs after a delay inside the start-up gap, and then checks that the
install was applied (no "not-running"), that the kernel holds the rules and that status is in
sync. 20 tries on 2.4+ (where the gap is real), 4 on older versions (which own their name
before reading direct.xml, so there the same checks guard against a regression only).
"""
import os
import subprocess
import time
import unittest

from integration import sandbox
from integration.sandbox import FirewalldSandbox, skip_unless_possible
from tpfwtest import CLI, KUMA_FACTS


def setUpModule():
    skip_unless_possible(CLI)


class StartupRaceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sb = FirewalldSandbox.for_class(cls, start=False)

    def cli(self, *args, timeout=60):
        return self.sb.run_tool(CLI, "--timeout", "30", *args, timeout=timeout)

    @staticmethod
    def runs_firewalld(pid):
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            words = f.read().split(b"\0")[:3]
        return any(os.path.basename(w) == b"firewalld" for w in words)

    def name_owned_after(self):
        """Starts firewalld, returns the seconds until its bus name had an owner."""
        t0 = time.monotonic()
        self.sb.start(wait=False)
        while self.sb.get_state() is None:
            self.assertIsNone(self.sb.fw_proc.poll(), self.sb.log_text())
            self.assertLess(time.monotonic() - t0, 60, "firewalld did not own its name")
            time.sleep(0.02)
        return time.monotonic() - t0

    def test_install_while_starting_is_never_lost(self):
        tries = 20 if sandbox.firewalld_version() >= (2, 4) else 4
        gap = self.name_owned_after()
        self.sb.wait_started()
        self.sb.stop()
        in_gap = 0
        for i in range(tries):
            delay = gap * (i % 10) / 10
            with self.subTest(attempt=i, delay=round(delay, 2)):
                self.sb.start(wait=False)
                try:
                    time.sleep(delay)
                    before = self.sb.get_state() is None
                    p = self.cli("install", *KUMA_FACTS)
                    self.sb.wait_started()
                    in_gap += before
                    self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                    self.assertNotIn("not-running", p.stdout)
                    self.assertIn("KUMA_MESH", self.sb.iptables_save(4, "nat"))
                    st = self.cli("status", *KUMA_FACTS)
                    self.assertEqual(st.returncode, 0, st.stdout + st.stderr)
                finally:
                    self.sb.stop()
                    # stopped: the uninstall only writes the file, the next start reads it
                    u = self.cli("uninstall")
                    self.assertEqual(u.returncode, 0, u.stdout + u.stderr)
                    self.assertIn("not-running", u.stdout)
        # most delays fall before the name is owned; otherwise the test proved nothing
        self.assertGreaterEqual(in_gap, tries // 4, "too few installs inside the start-up gap")

    def test_stopped_firewalld_is_not_waited_for(self):
        """No firewalld process for the directory: not-running at once, as before."""
        self.assertTrue(self.sb.fw_proc is None or self.sb.fw_proc.poll() is not None)
        t0 = time.monotonic()
        p = self.cli("install", *KUMA_FACTS)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("reload: not-running", p.stdout)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(self.cli("uninstall").returncode, 0)

    def test_paused_start_times_out_with_an_error(self):
        """A firewalld that never owns its name: the install fails after --timeout with nothing
        written, it does not report not-running."""
        before = self.sb.read_direct_xml()
        for _ in range(10):
            self.sb.start(wait=False)
            # past the exec of "ip netns exec": the process is firewalld
            while not self.runs_firewalld(self.sb.fw_proc.pid):
                time.sleep(0.005)
            self.sb.pause()
            if self.sb.get_state() is None:
                break  # paused before it owns its name, as wanted
            self.sb.resume()
            self.sb.wait_started()
            self.sb.stop()
        else:
            self.skipTest("firewalld always owned its name before it could be paused")
        try:
            t0 = time.monotonic()
            p = subprocess.run([CLI, "--firewalld-dir", self.sb.config_dir, "--timeout", "2",
                                "install"] + KUMA_FACTS, env=self.sb.env, capture_output=True,
                               text=True, timeout=60)
            elapsed = time.monotonic() - t0
        finally:
            self.sb.resume()
            self.sb.wait_started()
            self.sb.stop()
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("not-running", p.stdout)
        self.assertIn("starting", p.stderr)
        self.assertGreaterEqual(elapsed, 1.9)
        self.assertEqual(before, self.sb.read_direct_xml())


if __name__ == "__main__":
    unittest.main()
