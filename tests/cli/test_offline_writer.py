# SPDX-License-Identifier: MIT
"""Byte-compares the tool's direct.xml serialisation with firewalld's own writer.

firewall-offline-cmd rewrites direct.xml with firewalld's writer (Direct.write()) whenever it changes
the direct configuration. A file the tool wrote must come back from such a rewrite unchanged except
for the added element, and the element the tool writes for a rule must be byte-identical to the one
firewalld writes. Merge outputs in fixtures/direct/merge must pass --check-config.
Uses tests/test_direct's helper mode (--install, --format-rule) until the CLI covers it.
Skipped when firewall-offline-cmd is not installed.
"""
import glob
import os
import shutil
import subprocess
import tempfile
import unittest

SRCDIR = os.environ.get("TPFW_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILDDIR = os.environ.get("TPFW_BUILDDIR", os.path.join(SRCDIR, "build"))
HELPER = os.path.join(BUILDDIR, "tests", "test_direct")
OFFLINE = shutil.which("firewall-offline-cmd")


@unittest.skipUnless(OFFLINE and os.path.isdir("/etc/firewalld"), "firewall-offline-cmd not installed")
@unittest.skipUnless(os.access(HELPER, os.X_OK), "tests/test_direct not built")
class OfflineWriterTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tpfw-writer-")
        self.etc = os.path.join(self.tmp, "etc")
        shutil.copytree("/etc/firewalld", self.etc, symlinks=True)
        self.direct = os.path.join(self.etc, "direct.xml")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def offline(self, *args):
        p = subprocess.run([OFFLINE, "--system-config", self.etc] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout)
        return p.stdout

    def helper(self, *args):
        return subprocess.run([HELPER] + list(args), stdout=subprocess.PIPE, text=True,
                              check=True).stdout

    def read(self):
        with open(self.direct, "rb") as f:
            return f.read()

    def test_rewrite_keeps_our_file(self):
        self.helper("--install", self.direct, "kuma")
        ours = self.read()
        self.offline("--check-config")
        rule = ["-m", "comment", "--comment", "tproxy-firewalld/kuma x y", "-j", "RETURN"]
        self.offline("--direct", "--add-rule", "ipv4", "nat", "OUTPUT", "-1", *rule)
        theirs = self.read()
        # the element we would write for the same rule, from our own serialiser
        ours_rule = self.helper("--format-rule", "ipv4", "nat", "OUTPUT", "-1", *rule)
        line = [l for l in ours_rule.splitlines() if l.startswith("  <rule ")][0].encode() + b"\n"
        self.assertIn(line, theirs)
        # firewalld groups rules by (ipv, table, chain) in first-seen order and appends within a
        # group, so the new rule lands after the last ipv4 nat OUTPUT rule; nothing else changes
        self.assertEqual(theirs.replace(line, b"", 1), ours)
        lines = theirs.splitlines(keepends=True)
        idx = lines.index(line)
        self.assertIn(b'chain="OUTPUT"', lines[idx - 1])
        self.assertIn(b'ipv="ipv4"', lines[idx - 1])

    def test_rewrite_of_new_file_is_identical(self):
        self.helper("--install", self.direct, "kuma")
        ours = self.read()
        # add and remove a rule: firewalld rewrites the file twice with its own writer
        rule = ["-p", "tcp", "--dport", "9", "-j", "ACCEPT"]
        self.offline("--direct", "--add-rule", "ipv6", "filter", "INPUT", "0", *rule)
        self.offline("--direct", "--remove-rule", "ipv6", "filter", "INPUT", "0", *rule)
        self.assertEqual(self.read(), ours)

    def test_escaping_matches(self):
        cases = [
            ["-m", "comment", "--comment", "a&b<c>", "-j", "RETURN"],
            ["-m", "comment", "--comment", "it's \"q\"", "-j", "RETURN"],
            ["-m", "comment", "--comment", "caf\u00e9 !$*~#", "-j", "RETURN"],
            ["-s", "10.0.0.0/8,172.16.0.0/12", "-j", "RETURN"],
        ]
        for i, rule in enumerate(cases):
            with open(self.direct, "w") as f:
                f.write('<?xml version="1.0" encoding="utf-8"?>\n<direct>\n</direct>\n')
            self.offline("--direct", "--add-rule", "ipv4", "nat", "OUTPUT", str(i), *rule)
            want = self.helper("--format-rule", "ipv4", "nat", "OUTPUT", str(i), *rule)
            self.assertEqual(self.read().decode(), want, rule)

    def test_merge_outputs_pass_check_config(self):
        outputs = sorted(glob.glob(os.path.join(SRCDIR, "fixtures", "direct", "merge", "*.expected")))
        self.assertTrue(outputs)
        for path in outputs:
            shutil.copyfile(path, self.direct)
            self.offline("--check-config")


if __name__ == "__main__":
    unittest.main()
