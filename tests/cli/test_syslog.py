# SPDX-License-Identifier: MIT
"""The audit trail: every change that lands writes one syslog record; dry runs and no-ops write
none. The CLI runs in a private mount namespace whose /dev/log is the test's own datagram socket,
so the records are read for real, from the socket syslog(3) writes to."""
import os
import shutil
import socket
import subprocess

from tpfwtest import CLI, FirewalldDirTest, fixture

KUMA = fixture("cli", "kuma-dualstack.txt")

# In the new mount namespace: a tmpfs over /dev holding the usual nodes (bound from the real
# /dev) and, as /dev/log, the test's socket. Nothing of this is visible outside.
PRIVATE_DEV = r"""
set -e
t=$1; shift
mkdir -p "$t/hostdev"
mount --rbind /dev "$t/hostdev"
mount -t tmpfs -o mode=0755 tmpfs /dev
for n in null zero full random urandom tty; do
        if [ -e "$t/hostdev/$n" ]; then : > "/dev/$n"; mount --bind "$t/hostdev/$n" "/dev/$n"; fi
done
ln -s /proc/self/fd /dev/fd
: > /dev/log
mount --bind "$t/log.sock" /dev/log
exec "$@"
"""


class SyslogTest(FirewalldDirTest):
    def setUp(self):
        if os.geteuid() != 0 or not shutil.which("unshare"):
            self.skipTest("needs root and unshare(1)")
        super().setUp()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)
        self.sock.bind(os.path.join(self.tmp, "log.sock"))
        self.sock.setblocking(False)

    def tpfw_logged(self, *args, check=0, env=None):
        """Runs the CLI with /dev/log on our socket; returns (process, records)."""
        e = {k: v for k, v in os.environ.items() if not k.startswith("KUMA_TRANSPARENT_PROXY_")}
        e["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=/nonexistent/tpfw-test-bus"
        e.update(env or {})
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", PRIVATE_DEV,
                            "sh", self.tmp, CLI, "--firewalld-dir", self.dir] + list(args),
                           env=e, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, check, p.stderr)
        records = []
        while True:
            try:
                records.append(self.sock.recv(65536).decode())
            except BlockingIOError:
                return p, records

    def test_one_record_per_change_none_for_dry_runs_and_no_ops(self):
        p, rec = self.tpfw_logged("install", "--check", "--from-iptables-restore", KUMA)
        self.assertIn("would change", p.stdout)
        self.assertEqual(rec, [])
        p, rec = self.tpfw_logged("install", "--no-reload", "--from-iptables-restore", KUMA,
                                  env={"SUDO_UID": "1234"})
        self.assertEqual(len(rec), 1, rec)
        r = rec[0]
        # <priority>: LOG_AUTHPRIV (10 << 3) | LOG_NOTICE (5)
        self.assertTrue(r.startswith("<85>"), r)
        self.assertRegex(r, r"tproxy-firewalld\[\d+\]: install: owner=kuma ")
        self.assertIn(f'file="{self.path}"', r)
        self.assertIn(" added=31 removed=0 applied=no-reload result=ok uid=0 sudo_uid=1234", r)
        p, rec = self.tpfw_logged("install", "--no-reload", "--from-iptables-restore", KUMA)
        self.assertIn("no change", p.stdout)
        self.assertEqual(rec, [])
        p, rec = self.tpfw_logged("uninstall", "--dry-run", "--no-reload")
        self.assertEqual(rec, [])
        p, rec = self.tpfw_logged("uninstall", "--no-reload")
        self.assertEqual(len(rec), 1, rec)
        self.assertIn("uninstall: owner=kuma ", rec[0])
        self.assertIn(" added=0 removed=31 applied=no-reload result=ok uid=0", rec[0])
        self.assertNotIn("sudo_uid", rec[0])
        p, rec = self.tpfw_logged("uninstall", "--no-reload")
        self.assertEqual(rec, [])

    def test_failed_change_is_recorded_with_its_error(self):
        # --require-running without a firewalld: the file is written, then the run fails
        p, rec = self.tpfw_logged("--owner", "audit", "install", "--require-running",
                                  "--from-iptables-restore", KUMA, check=1,
                                  env={"SUDO_UID": "12; forged=1"})
        self.assertIn("not running", p.stderr)
        self.assertEqual(len(rec), 1, rec)
        self.assertTrue(rec[0].startswith("<83>"), rec[0])  # LOG_AUTHPRIV | LOG_ERR
        self.assertIn("install: owner=audit ", rec[0])
        self.assertIn("applied=not-running result=failed uid=0 error=\"firewalld is not running",
                      rec[0])
        self.assertNotIn("forged", rec[0])
