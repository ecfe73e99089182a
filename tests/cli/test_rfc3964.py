# SPDX-License-Identifier: MIT
"""--fix-ipv6-redirect and the RFC3964_IPv4 warning on files, firewalld not running."""
import os
import shutil
import subprocess

from tpfwtest import FirewalldDirTest, KUMA_FACTS, OFFLINE_CMD, read_bytes

WARNING = ("warning: IPv6 outbound redirection will fail: firewalld's RFC3964_IPv4=yes filter "
           "rejects the redirected destination ::1 (use --fix-ipv6-redirect)")
CONF = ("# firewalld config file\n\nDefaultZone=public\n\n# RFC3964_IPv4\n"
        "#RFC3964_IPv4=no\nRFC3964_IPv4=yes\n\n# trailing comment, no newline")
IPV6_SCRIPT = "### IPv6 ###\n*nat\n-A OUTPUT -p tcp --dport 9999 -j RETURN\nCOMMIT\n"


class Rfc3964Test(FirewalldDirTest):
    def setUp(self):
        super().setUp()
        self.put(CONF, "firewalld.conf")
        self.conf = os.path.join(self.dir, "firewalld.conf")
        self.state = os.path.join(self.dir, "tproxy-firewalld.state")

    def install(self, *args, check=0, owner=None, ipv6="yes"):
        facts = list(KUMA_FACTS)
        facts[facts.index("--assume-ipv6") + 1] = ipv6
        return self.tpfw("install", *facts, *args, check=check, owner=owner)

    def test_warning_without_the_fix(self):
        p = self.install()
        self.assertIn(WARNING, p.stderr)
        self.assertEqual(read_bytes(self.conf).decode(), CONF)
        self.assertFalse(os.path.exists(self.state))
        self.assertIn(WARNING, self.tpfw("status", check=3).stderr)
        # IPv4 rules only: nothing to warn about, and the fix has nothing to do
        p = self.install("--fix-ipv6-redirect", ipv6="no")
        self.assertNotIn("RFC3964", p.stderr + p.stdout)
        self.assertNotIn("RFC3964", self.tpfw("status", check=3).stderr)
        self.assertEqual(read_bytes(self.conf).decode(), CONF)

    def test_fix_then_uninstall_of_the_last_owner_restores_the_bytes(self):
        p = self.install("--fix-ipv6-redirect", "--check")
        self.assertIn("RFC3964_IPv4: would change: yes -> no", p.stdout)
        self.assertEqual(read_bytes(self.conf).decode(), CONF)
        self.assertFalse(os.path.exists(self.state))

        p = self.install("--fix-ipv6-redirect")
        self.assertIn("RFC3964_IPv4: yes -> no (--fix-ipv6-redirect)", p.stdout)
        self.assertNotIn("warning: IPv6", p.stderr)
        self.assertEqual(read_bytes(self.conf).decode(),
                         CONF.replace("\nRFC3964_IPv4=yes\n", "\nRFC3964_IPv4=no\n"))
        with open(self.state) as f:
            self.assertEqual([l for l in f.read().splitlines() if not l.startswith("#")],
                             ["previous-rfc3964-ipv4=yes", "owner=kuma"])
        self.assertNotIn("RFC3964", self.tpfw("status", check=3).stderr)
        if OFFLINE_CMD:
            cfg = os.path.join(self.tmp, "check")
            shutil.copytree("/etc/firewalld", cfg, symlinks=True)
            for name in ("direct.xml", "firewalld.conf", "tproxy-firewalld.state"):
                shutil.copyfile(os.path.join(self.dir, name), os.path.join(cfg, name))
            p = subprocess.run([OFFLINE_CMD, "--system-config", cfg, "--check-config"],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        # a second owner asks too; the first one's uninstall keeps the setting
        script = os.path.join(self.tmp, "v6.rules")
        with open(script, "w") as f:
            f.write(IPV6_SCRIPT)
        self.tpfw("install", "--from-iptables-restore", script, "--fix-ipv6-redirect",
                  owner="other", check=0)
        p = self.tpfw("uninstall", "--json", check=0)
        self.assertIn('"rfc3964_ipv4":"no"', p.stdout)
        self.assertIn(b"RFC3964_IPv4=no", read_bytes(self.conf))
        # a reinstall of "other" without the flag keeps its request
        p = self.tpfw("install", "--from-iptables-restore", script, owner="other", check=0)
        self.assertNotIn("warning: IPv6", p.stderr)
        # the last one goes: firewalld.conf is byte for byte what it was, the record is gone
        p = self.tpfw("uninstall", owner="other", check=0)
        self.assertIn("RFC3964_IPv4: no -> yes (restored)", p.stdout)
        self.assertEqual(read_bytes(self.conf).decode(), CONF)
        self.assertFalse(os.path.exists(self.state))

    def test_runtime_only_is_refused(self):
        p = self.install("--fix-ipv6-redirect", "--runtime-only", check=2)
        self.assertIn("--fix-ipv6-redirect", p.stderr)
        self.tpfw("uninstall", "--fix-ipv6-redirect", check=2)

    def test_bad_state_file_stops_before_anything_is_written(self):
        self.put("previous-rfc3964-ipv4=maybe\nowner=kuma\n", "tproxy-firewalld.state")
        p = self.install("--fix-ipv6-redirect", check=1)
        self.assertIn("tproxy-firewalld.state:1: previous-rfc3964-ipv4 must be yes or no",
                      p.stderr)
        self.assertFalse(os.path.exists(self.path))
        self.assertEqual(read_bytes(self.conf).decode(), CONF)
