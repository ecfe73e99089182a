# SPDX-License-Identifier: MIT
"""Concurrency stress with reloads (issue 7.3, the short variant of tests/cli/test_stress.py):
32 parallel install/uninstall runs with random owners against a real firewalld's direct.xml,
each reloading and verifying. At the end: each owner's entries are its last completed
operation's, firewalld is RUNNING, and its runtime and permanent views equal what a fresh
reload of the file gives (nothing stale, nothing lost).

TPFW_STRESS_LIVE_SECONDS (default 5): every run serialises on the lock and one reload takes
a few hundred ms, so the runs still queued at the deadline add about as much again.
"""
import os
import unittest

from cli.test_stress import FOREIGN, StressRunner
from integration.sandbox import FW_CONFIG_PATH, FW_PATH, FirewalldSandbox, skip_unless_possible
from tpfwtest import CLI, run


def setUpModule():
    skip_unless_possible(CLI)


class LiveStressTest(unittest.TestCase):
    def views(self):
        out = {}
        for label, path, iface in (("runtime", FW_PATH, "org.fedoraproject.FirewallD1.direct"),
                                   ("permanent", FW_CONFIG_PATH,
                                    "org.fedoraproject.FirewallD1.config.direct")):
            for m in ("getAllChains", "getAllRules"):
                p = self.sb.dbus_send(path, f"{iface}.{m}")
                self.assertEqual(p.returncode, 0, p.stderr)
                out[f"{label}.{m}"] = sorted(p.stdout.split("\n", 1)[1].split("struct {"))
        out["ipv4"] = self.sb.iptables_save(4).count("\n-A ")
        return out

    def test_parallel_runs_with_reload(self):
        self.sb = FirewalldSandbox.for_test(self, direct_xml=FOREIGN.decode())
        seconds = float(os.environ.get("TPFW_STRESS_LIVE_SECONDS", "5"))
        r = StressRunner(self, self.sb.config_dir, 32, seconds, dict(self.sb.env),
                         ["--require-running"], check_under_lock=True)
        seed = r.run()
        r.assert_final(seed)
        self.assertEqual(self.sb.get_state(), "RUNNING")
        views = self.views()
        self.assertTrue(any("tproxy-firewalld/" in x for x in views["runtime.getAllRules"])
                        or not r.expected(), "the runtime holds none of the owners' rules")
        self.sb.dbus_reload()
        self.assertEqual(self.sb.get_state(), "RUNNING")
        self.assertEqual(self.views(), views, "firewalld was not in line with the file")
        run(["--firewalld-dir", self.sb.config_dir, "validate"], check=0)
        print(f"\nstress with reload: {r.runs} runs by 32 workers in {seconds:.0f} s "
              f"(+ the queue), longest run {r.max_seconds:.1f} s", flush=True)
        self.assertGreaterEqual(r.runs, 32)
