# SPDX-License-Identifier: MIT
"""Re-checks fixtures/direct/corpus/EXPECTED against firewalld's own parser (firewall-offline-cmd).

Each corpus file is put as direct.xml into a private copy of /etc/firewalld and checked with
`firewall-offline-cmd --system-config DIR --check-config`. The firewalld verdict must be the one
EXPECTED records (the `firewalld=` field where the tool differs on purpose, else the tool's own
verdict), and the tool's verdict must match too: both the library's (tests/test_direct --verdict)
and the CLI's (`tproxy-firewalld validate FILE`, which adds the schema check).
Skipped when firewall-offline-cmd is not installed.
"""
import concurrent.futures
import os
import shutil
import subprocess
import tempfile
import unittest

SRCDIR = os.environ.get("TPFW_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILDDIR = os.environ.get("TPFW_BUILDDIR", os.path.join(SRCDIR, "build"))
CORPUS = os.path.join(SRCDIR, "fixtures", "direct", "corpus")
HELPER = os.path.join(BUILDDIR, "tests", "test_direct")
CLI = os.path.join(BUILDDIR, "tproxy-firewalld")
OFFLINE = shutil.which("firewall-offline-cmd")
# a firewall-offline-cmd run takes about 0.5 s, but a loaded machine (the live suites run beside
# this one) once took over 8 s; 15 s is EXPECTED's own definition of a hang
HANG_TIMEOUT = 15


def read_expected():
    rows = []
    with open(os.path.join(CORPUS, "EXPECTED"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            ours = fields[1]
            firewalld = ours
            for extra in fields[2:]:
                if extra.startswith("firewalld="):
                    firewalld = extra.split("=", 1)[1]
            rows.append((fields[0], ours, firewalld))
    return rows


def firewalld_verdict(name):
    with tempfile.TemporaryDirectory(prefix="tpfw-oracle-") as tmp:
        etc = os.path.join(tmp, "etc")
        shutil.copytree("/etc/firewalld", etc, symlinks=True)
        shutil.copyfile(os.path.join(CORPUS, name), os.path.join(etc, "direct.xml"))
        try:
            p = subprocess.run([OFFLINE, "--system-config", etc, "--check-config"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace", timeout=HANG_TIMEOUT)
        except subprocess.TimeoutExpired:
            return "hang", ""
        return ("accept" if p.returncode == 0 else "reject"), p.stdout


class ValidateOracleTest(unittest.TestCase):
    def test_corpus_is_complete(self):
        names = {n for n, _, _ in read_expected()}
        files = {f for f in os.listdir(CORPUS) if f.endswith(".xml")}
        self.assertEqual(files, names)
        self.assertGreaterEqual(len(names), 45)

    @unittest.skipUnless(os.access(HELPER, os.X_OK), "tests/test_direct not built")
    def test_tool_verdicts(self):
        for name, ours, _ in read_expected():
            p = subprocess.run([HELPER, "--verdict", os.path.join(CORPUS, name)],
                               stdout=subprocess.PIPE, text=True, check=True)
            self.assertEqual(p.stdout.split()[0], ours, f"{name}: {p.stdout.strip()}")
            self.assertEqual(len(p.stdout.strip().splitlines()), 1, "diagnostic is one line")

    def test_cli_validate_verdicts(self):
        for name, ours, _ in read_expected():
            p = subprocess.run([CLI, "validate", os.path.join(CORPUS, name)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               errors="replace")
            self.assertEqual("accept" if p.returncode == 0 else "reject", ours,
                             f"{name}: exit {p.returncode}: {p.stderr.strip()}")
            if p.returncode != 0:
                self.assertEqual(p.returncode, 1, name)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                self.assertIn(name, p.stderr)

    def test_every_direct_fixture_validates(self):
        """The merge goldens and the hand-written inputs pass validate, schema included."""
        fixtures = os.path.join(SRCDIR, "fixtures")
        paths = [os.path.join(fixtures, "direct", "merge", f)
                 for f in os.listdir(os.path.join(fixtures, "direct", "merge"))]
        paths += [os.path.join(fixtures, d, f) for d in ("cli", "legacy")
                  for f in os.listdir(os.path.join(fixtures, d)) if f.endswith(".xml")]
        self.assertGreaterEqual(len(paths), 10)
        for path in paths:
            p = subprocess.run([CLI, "validate", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            self.assertEqual(p.returncode, 0, f"{path}: {p.stderr}")

    @unittest.skipUnless(OFFLINE and os.path.isdir("/etc/firewalld"),
                         "firewall-offline-cmd not installed")
    def test_firewalld_verdicts(self):
        rows = read_expected()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            got = list(pool.map(lambda r: firewalld_verdict(r[0]), rows))
        for (name, _, want), (verdict, output) in zip(rows, got):
            self.assertEqual(verdict, want, f"{name}: firewalld says {verdict}: {output[-300:]}")


if __name__ == "__main__":
    unittest.main()
