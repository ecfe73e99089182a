# SPDX-License-Identifier: MIT
"""Configuration-management interface of install/uninstall (no firewalld): --detailed-exitcodes,
--check writing nothing, the --json object, --diff, and the cleanup of what kumactl's own
--store-firewalld left behind (fixtures/legacy)."""
import json
import os
import re

from tpfwtest import FirewalldDirTest, fixture, read_bytes

KUMA = fixture("cli", "kuma-dualstack.txt")
KUMA_ENTRIES = 31  # 23 rules + 8 chains in kuma-dualstack.txt
# Kuma options that make generation independent of the host (IPv4 only, UID 5678, lo).
FACTS = ["--kuma-dp-user", "5678", "--loopback-interface", "lo", "--assume-ipv6", "no",
         "--assume-conntrack", "yes", "--assume-docker-output", "no", "--assume-mangle", "yes"]
RESOLV = fixture("legacy", "resolv.conf")
JSON_KEYS = {"changed", "owner", "file", "added", "removed", "reload", "verified", "rfc3964_ipv4",
             "ipv6_redirect_warning", "error"}
RELOAD_VALUES = {"done", "skipped", "not-running", "failed", "rolled-back"}


def apply_unified_diff(old, diff):
    """Applies a unified diff (as the tool prints it) to old; returns the new text. Strict:
    context and removed lines must match, so a wrong diff fails the test."""
    old_lines = old.splitlines(keepends=True)
    out = []
    pos = 0
    lines = diff.splitlines(keepends=True)
    assert lines[0].startswith("--- ") and lines[1].startswith("+++ "), diff[:200]
    i = 2
    while i < len(lines):
        m = re.match(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", lines[i])
        assert m, f"not a hunk header: {lines[i]!r}"
        start = int(m.group(1))
        start = start - 1 if m.group(2) != "0" else start
        out.extend(old_lines[pos:start])
        pos = start
        i += 1
        while i < len(lines) and not lines[i].startswith("@@"):
            line = lines[i]
            if line.startswith("\\"):  # "\ No newline at end of file"
                if out and out[-1].endswith("\n"):
                    out[-1] = out[-1][:-1]
            elif line[0] == " ":
                assert old_lines[pos] == line[1:], (old_lines[pos], line)
                out.append(old_lines[pos])
                pos += 1
            elif line[0] == "-":
                assert old_lines[pos] == line[1:], (old_lines[pos], line)
                pos += 1
            elif line[0] == "+":
                out.append(line[1:])
            else:
                raise AssertionError(f"bad diff line {line!r}")
            i += 1
    out.extend(old_lines[pos:])
    return "".join(out)


class CmTest(FirewalldDirTest):
    def install(self, *extra, check=None, src=KUMA):
        return self.tpfw("install", "--from-iptables-restore", src, *extra, check=check)

    def snapshot(self):
        """Everything --check must leave alone: the directory listing, bytes and mtimes."""
        snap = {}
        for name in sorted(os.listdir(self.dir)):
            p = os.path.join(self.dir, name)
            st = os.lstat(p)
            snap[name] = (read_bytes(p) if os.path.isfile(p) else None, st.st_mtime_ns,
                          st.st_ino, st.st_mode)
        return snap

    def json_of(self, p):
        """stdout must be exactly one JSON object and nothing else."""
        self.assertTrue(p.stdout.endswith("\n"), p.stdout)
        obj = json.loads(p.stdout)  # raises on any extra text
        self.assertIsInstance(obj, dict)
        self.assertEqual(p.stdout.count("\n"), 1, "more than one line on stdout:\n" + p.stdout)
        return obj

    def assert_json_shape(self, obj, with_diff=False):
        self.assertEqual(set(obj), JSON_KEYS | ({"diff"} if with_diff else set()))
        self.assertIsInstance(obj["changed"], bool)
        self.assertIsInstance(obj["verified"], bool)
        self.assertIsInstance(obj["added"], int)
        self.assertIsInstance(obj["removed"], int)
        self.assertNotIsInstance(obj["added"], bool)
        self.assertGreaterEqual(obj["added"], 0)
        self.assertGreaterEqual(obj["removed"], 0)
        self.assertIn(obj["reload"], RELOAD_VALUES)
        self.assertIsInstance(obj["owner"], str)
        self.assertIsInstance(obj["file"], str)
        self.assertTrue(obj["error"] is None or isinstance(obj["error"], str))
        if with_diff:
            self.assertIsInstance(obj["diff"], str)


class DetailedExitCodesTest(CmTest):
    def test_2_changed_then_0_unchanged(self):
        self.put_fixture("cli", "foreign.xml")
        self.install("--no-reload", "--detailed-exitcodes", check=2)
        self.install("--no-reload", "--detailed-exitcodes", check=0)
        self.tpfw("uninstall", "--no-reload", "--detailed-exitcodes", check=2)
        self.tpfw("uninstall", "--no-reload", "--detailed-exitcodes", check=0)

    def test_plain_exit_codes_stay_0_for_change_and_no_change(self):
        self.install("--no-reload", check=0)
        self.install("--no-reload", check=0)

    def test_kuma_options_changed_then_unchanged(self):
        args = ["install", "--no-reload", "--detailed-exitcodes"] + FACTS
        self.tpfw(*args, check=2)
        self.tpfw(*args, check=0)
        # a different option is a change again
        self.tpfw(*args, "--redirect-inbound-port", "15010", check=2)

    def test_4_failed_on_a_file_firewalld_would_reject(self):
        self.put('<?xml version="1.0"?>\n<direct>\n  <rule ipv="ipv9" table="nat" '
                 'chain="OUTPUT" priority="0">-j RETURN</rule>\n</direct>\n')
        before = self.snapshot()
        p = self.install("--no-reload", "--detailed-exitcodes", check=4)
        self.assertIn("direct.xml:", p.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_4_failed_on_usage_errors_never_2(self):
        # 2 would tell Puppet "changed"; a typo must read as a failure
        p = self.install("--detailed-exitcodes", "--no-such-option", check=4)
        self.assertIn("--no-such-option", p.stderr)
        self.tpfw("install", "--detailed-exitcodes", "--kuma-dp-user", "99999999999", check=4)
        self.tpfw("uninstall", "--detailed-exitcodes", "--bogus", check=4)
        self.assertFalse(os.path.exists(self.path))
        # without the flag, a usage error keeps its own code
        self.install("--no-such-option", check=2)

    def test_6_changed_and_failed_when_firewalld_must_run(self):
        # The file is written (changed), then --require-running fails: the test bus address
        # points at nothing, so firewalld is "not running".
        p = self.install("--detailed-exitcodes", "--require-running", "--json", check=6)
        obj = self.json_of(p)
        self.assert_json_shape(obj)
        self.assertTrue(obj["changed"])
        self.assertEqual(obj["reload"], "not-running")
        self.assertIn("not running", obj["error"])
        self.assertEqual(sum(1 for e in self.entries() if e[0] in ("rule", "chain")),
                         KUMA_ENTRIES)
        # without --require-running, not running is fine (applies at next start)
        self.install("--detailed-exitcodes", check=0)
        # a change without --require-running: saved, 2
        self.tpfw("uninstall", "--detailed-exitcodes", check=2)

    def test_check_reports_2_and_0(self):
        self.install("--check", "--detailed-exitcodes", check=2)
        self.assertFalse(os.path.exists(self.path))
        self.install("--no-reload", check=0)
        self.install("--check", "--detailed-exitcodes", check=0)


class CheckWritesNothingTest(CmTest):
    def assert_untouched_by(self, *args, expect_changed=True):
        before = self.snapshot()
        p = self.tpfw(*args, check=0)
        self.assertEqual(self.snapshot(), before)
        if expect_changed:
            self.assertIn("would change", p.stdout)
        return p

    def test_install_check_on_a_foreign_file(self):
        self.put_fixture("cli", "foreign.xml")
        os.utime(self.path, ns=(1_000_000_000, 1_000_000_000))
        self.assert_untouched_by("install", "--check", "--from-iptables-restore", KUMA)
        self.assertFalse(os.path.exists(self.path + ".old"))

    def test_aliases_and_kuma_dry_run(self):
        self.put_fixture("cli", "foreign.xml")
        for extra in (["--dry-run"], ["--dry-run=true"], ["--check", "--diff"]):
            self.assert_untouched_by("install", *extra, *FACTS)
        before = self.snapshot()
        self.tpfw("install", *FACTS, env={"KUMA_TRANSPARENT_PROXY_DRY_RUN": "true"}, check=0)
        self.assertEqual(self.snapshot(), before)

    def test_install_check_creates_no_file(self):
        self.install("--check", check=0)
        self.assertEqual(os.listdir(self.dir), [])

    def test_uninstall_check(self):
        self.put_fixture("cli", "foreign.xml")
        self.install("--no-reload", check=0)
        os.unlink(self.path + ".old")
        p = self.assert_untouched_by("uninstall", "--check")
        self.assertIn(f"{KUMA_ENTRIES} removed", p.stdout)

    def test_check_reports_what_install_then_does(self):
        self.put_fixture("cli", "foreign.xml")
        would = self.json_of(self.install("--check", "--json", check=0))
        self.assertTrue(would["changed"])
        self.assertEqual(would["reload"], "skipped")
        did = self.json_of(self.install("--no-reload", "--json", check=0))
        for k in ("changed", "added", "removed", "file", "owner"):
            self.assertEqual(would[k], did[k], k)


class JsonTest(CmTest):
    def test_fields_through_a_life_cycle(self):
        self.put_fixture("cli", "foreign.xml")
        obj = self.json_of(self.install("--json", "--no-reload", check=0))
        self.assert_json_shape(obj)
        self.assertEqual(obj, {"changed": True, "owner": "kuma", "file": self.path,
                               "added": KUMA_ENTRIES, "removed": 0, "reload": "skipped",
                               "verified": False, "rfc3964_ipv4": "yes",
                               "ipv6_redirect_warning": True, "error": None})
        obj = self.json_of(self.install("--json", "--no-reload", check=0))
        self.assertEqual((obj["changed"], obj["added"], obj["removed"]), (False, 0, 0))
        # firewalld not running (the test bus is nowhere): saved, not an error
        obj = self.json_of(self.tpfw("uninstall", "--json", check=0))
        self.assert_json_shape(obj)
        self.assertEqual((obj["changed"], obj["added"], obj["removed"]), (True, 0, KUMA_ENTRIES))
        self.assertEqual(obj["reload"], "not-running")
        self.assertIsNone(obj["error"])

    def test_global_and_command_option_and_owner(self):
        a = self.json_of(self.tpfw("--json", "install", "--check", "--from-iptables-restore", KUMA,
                                   owner="mesh-1", check=0))
        b = self.json_of(self.tpfw("install", "--json", "--check", "--from-iptables-restore", KUMA,
                                   owner="mesh-1", check=0))
        self.assertEqual(a, b)
        self.assertEqual(a["owner"], "mesh-1")

    def test_nothing_but_json_on_stdout(self):
        # --wait produces a note, --verbose more detail: both belong on stderr
        p = self.tpfw("--verbose", "install", "--json", "--no-reload", "--diff", "--wait", "5",
                      *FACTS, check=0)
        obj = self.json_of(p)
        self.assert_json_shape(obj, with_diff=True)
        self.assertIn("note", p.stderr)
        p = self.tpfw("--quiet", "uninstall", "--json", "--no-reload", check=0)
        self.assert_json_shape(self.json_of(p))

    def test_error_is_reported_in_the_object(self):
        self.put_fixture("cli", "foreign.xml")
        with open(self.path, "a") as f:
            f.write("<rule/>\n")  # content after the root element
        before = self.snapshot()
        p = self.install("--json", check=1)
        obj = self.json_of(p)
        self.assert_json_shape(obj)
        self.assertFalse(obj["changed"])
        self.assertIn(self.path, obj["error"])
        self.assertEqual(self.snapshot(), before)

    def test_usage_error_still_gives_one_object(self):
        p = self.install("--json", "--no-such-option", check=2)
        obj = self.json_of(p)
        self.assert_json_shape(obj)
        self.assertFalse(obj["changed"])
        self.assertTrue(obj["error"])
        self.assertIn("--no-such-option", p.stderr)

    def test_diff_member_only_with_diff(self):
        obj = self.json_of(self.install("--json", "--check", check=0))
        self.assertNotIn("diff", obj)
        obj = self.json_of(self.install("--json", "--check", "--diff", check=0))
        self.assertIn("+++ " + self.path, obj["diff"])
        self.install("--no-reload", check=0)
        obj = self.json_of(self.install("--json", "--diff", "--no-reload", check=0))
        self.assertEqual(obj["diff"], "")


class DiffTest(CmTest):
    def test_check_diff_is_exactly_what_install_writes(self):
        self.put_fixture("cli", "foreign.xml")
        old = read_bytes(self.path).decode()
        p = self.install("--check", "--diff", check=0)
        diff = p.stdout[:p.stdout.index(self.path + ": would change")]
        self.assertTrue(diff.startswith(f"--- {self.path}\n+++ {self.path}\n"), diff[:200])
        self.install("--no-reload", check=0)
        self.assertEqual(apply_unified_diff(old, diff), read_bytes(self.path).decode())

    def test_json_diff_from_a_missing_file_and_for_uninstall(self):
        obj = self.json_of(self.tpfw("install", "--json", "--check", "--diff", *FACTS, check=0))
        self.assertTrue(obj["diff"].startswith("--- /dev/null\n"))
        self.tpfw("install", "--no-reload", *FACTS, check=0)
        self.assertEqual(apply_unified_diff("", obj["diff"]), read_bytes(self.path).decode())
        installed = read_bytes(self.path).decode()
        obj = self.json_of(self.tpfw("uninstall", "--json", "--diff", "--no-reload", check=0))
        self.assertEqual(apply_unified_diff(installed, obj["diff"]),
                         read_bytes(self.path).decode())
        self.assertNotIn("tproxy-firewalld/kuma", read_bytes(self.path).decode())

    def test_diff_command_exit_codes(self):
        self.put_fixture("cli", "foreign.xml")
        before = self.snapshot()
        p = self.tpfw("diff", "--from-iptables-restore", KUMA, check=3)
        self.assertIn("+  <rule", p.stdout)
        self.assertEqual(self.snapshot(), before)
        self.install("--no-reload", check=0)
        p = self.tpfw("diff", "--from-iptables-restore", KUMA, check=0)
        self.assertNotIn("+++", p.stdout)
        self.tpfw("diff", "--uninstall", check=3)


class LegacyKumaCleanupTest(CmTest):
    """kumactl --store-firewalld leftovers: priority 3, everything ipv4, mixed with foreign
    entries (fixtures/legacy/README.md)."""

    # fixture -> Kuma options for which the unmarked built-in-chain rules are exact matches
    CASES = {
        "full-mixed.xml": ["--redirect-all-dns-traffic", "--assume-conntrack", "no"],
        "defaults-mixed.xml": [],
        "dns-mixed.xml": ["--redirect-dns", "--resolv-conf", RESOLV],
    }
    REF = ["--kuma-dp-user", "5678", "--loopback-interface", "lo", "--assume-ipv6", "no"]

    def foreign(self):
        return self.entries(fixture("legacy", "foreign.xml"))

    def test_install_without_the_flag_is_a_conflict(self):
        for name, opts in self.CASES.items():
            with self.subTest(name):
                self.put_fixture("legacy", name)
                before = self.snapshot()
                p = self.tpfw("install", "--no-reload", *self.REF, *opts, check=1)
                self.assertIn("conflict", p.stderr)
                self.assertIn("use --adopt-kuma-legacy", p.stderr)
                self.assertIn("KUMA_MESH_", p.stderr)
                self.assertIn("--adopt", p.stderr)
                self.assertRegex(p.stderr, r"direct\.xml:\d+: ")
                self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
                self.assertEqual(self.snapshot(), before)
                obj = self.json_of(self.tpfw("install", "--json", "--no-reload", *self.REF,
                                             *opts, check=1))
                self.assertFalse(obj["changed"])
                self.assertIn("conflict", obj["error"])
                self.assertEqual(self.snapshot(), before)

    def test_plain_uninstall_leaves_legacy_entries_alone(self):
        for name in self.CASES:
            with self.subTest(name):
                self.put_fixture("legacy", name)
                before = self.snapshot()
                p = self.tpfw("uninstall", "--no-reload", "--detailed-exitcodes", check=0)
                self.assertIn("no change", p.stdout)
                self.assertEqual(self.snapshot(), before)

    def test_uninstall_adopt_kuma_legacy_removes_only_kumactl_entries(self):
        for name, opts in self.CASES.items():
            with self.subTest(name):
                self.put_fixture("legacy", name)
                original = self.entries()
                p = self.tpfw("uninstall", "--adopt-kuma-legacy", "--no-reload", "--json",
                              "--detailed-exitcodes", *self.REF, *opts, check=2)
                obj = self.json_of(p)
                self.assertEqual(self.entries(), self.foreign())
                self.assertEqual(obj["removed"], len(original) - len(self.foreign()))
                self.assertIn("FOREIGN: site rules", read_bytes(self.path).decode())
                self.assert_offline_accepts()

    def test_uninstall_adopt_kuma_legacy_check_writes_nothing(self):
        name, opts = "dns-mixed.xml", self.CASES["dns-mixed.xml"]
        self.put_fixture("legacy", name)
        before = self.snapshot()
        obj = self.json_of(self.tpfw("uninstall", "--adopt-kuma-legacy", "--check", "--json",
                                     *self.REF, *opts, check=0))
        self.assertTrue(obj["changed"])
        self.assertEqual(obj["removed"], len(self.entries()) - len(self.foreign()))
        self.assertEqual(self.snapshot(), before)

    def test_kumas_golden_file_alone_is_removed_completely(self):
        self.put_fixture("legacy", "full_direct.golden.xml")
        self.tpfw("uninstall", "--adopt-kuma-legacy", "--no-reload", *self.REF,
                  *self.CASES["full-mixed.xml"], check=0)
        self.assertEqual(self.entries(), [])

    def test_install_adopt_kuma_legacy_takes_over(self):
        for name, opts in self.CASES.items():
            with self.subTest(name):
                self.put_fixture("legacy", name)
                self.tpfw("install", "--adopt-kuma-legacy", "--no-reload", "--detailed-exitcodes",
                          *self.REF, *opts, check=2)
                foreign = self.foreign()
                ours = [e for e in self.entries() if e not in foreign]
                self.assertEqual([e for e in self.entries() if e in foreign], foreign)
                self.assertTrue(ours)
                for kind, attrs, argv in ours:
                    if kind == "rule":
                        self.assertEqual(argv[:3], ["-m", "comment", "--comment"], argv)
                        self.assertTrue(argv[3].startswith("tproxy-firewalld/kuma"), argv)
                # idempotent, then a plain uninstall leaves exactly the foreign entries
                self.tpfw("install", "--no-reload", "--detailed-exitcodes", *self.REF, *opts,
                          check=0)
                self.tpfw("uninstall", "--no-reload", check=0)
                self.assertEqual(self.entries(), foreign)
