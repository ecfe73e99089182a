# SPDX-License-Identifier: MIT
"""CLI tests of install/uninstall on real files (no firewalld): idempotence, byte-exact
round trips, ownership tags, other owners, concurrency, crash safety."""
import glob
import json
import os
import shutil
import subprocess
import threading

from tpfwtest import (CLI, CLI_FAULT, FirewalldDirTest, assert_no_sanitizer_report, fixture,
                      read_bytes)

KUMA = fixture("cli", "kuma-dualstack.txt")


class InstallTest(FirewalldDirTest):
    def install(self, *extra, owner=None, src=KUMA, check=0):
        return self.tpfw("install", "--from-iptables-restore", src, "--no-reload", *extra,
                         owner=owner, check=check)

    def test_install_twice_is_a_noop(self):
        self.put_fixture("cli", "foreign.xml")
        p = self.install()
        self.assertIn("added", p.stdout)
        first = read_bytes(self.path)
        mtime = os.stat(self.path).st_mtime_ns
        ino = os.stat(self.path).st_ino
        p = self.install()
        self.assertIn("no change", p.stdout)
        self.assertEqual(read_bytes(self.path), first)
        self.assertEqual(os.stat(self.path).st_mtime_ns, mtime)
        self.assertEqual(os.stat(self.path).st_ino, ino)

    def test_install_then_uninstall_gives_back_the_file(self):
        self.put_fixture("cli", "foreign.xml")
        original = read_bytes(self.path)
        self.install()
        self.assertNotEqual(read_bytes(self.path), original)
        # the previous version is kept as firewalld does
        self.assertEqual(read_bytes(self.path + ".old"), original)
        self.assert_offline_accepts()
        self.tpfw("uninstall", "--no-reload", check=0)
        self.assertEqual(read_bytes(self.path), original)
        self.assert_offline_accepts()

    def test_round_trip_from_missing_file(self):
        self.install()
        self.assert_offline_accepts()
        self.tpfw("uninstall", "--no-reload", check=0)
        self.assertEqual(read_bytes(self.path),
                         b'<?xml version="1.0" encoding="utf-8"?>\n<direct>\n</direct>\n')

    def test_every_rule_is_tagged_once_and_ipv6_is_labelled(self):
        self.put_fixture("cli", "foreign.xml")
        foreign = self.entries()
        self.install()
        ours = [e for e in self.entries() if e not in foreign]
        rules = [e for e in ours if e[0] == "rule"]
        chains = [e for e in ours if e[0] == "chain"]
        self.assertEqual(len(rules), 23)
        self.assertEqual(len(chains), 8)
        for kind, attrs, argv in rules:
            self.assertEqual(argv.count("--comment"), 1, argv)
            self.assertEqual(argv[:3], ["-m", "comment", "--comment"], argv)
            self.assertTrue(argv[3] == "tproxy-firewalld/kuma" or
                            argv[3].startswith("tproxy-firewalld/kuma "), argv)
            self.assertLessEqual(len(argv[3].encode()), 255)
        v6 = [e for e in rules if "::1/128" in e[2] or "::6/128" in e[2]]
        self.assertEqual(len(v6), 3)
        for kind, attrs, argv in v6:
            self.assertEqual(attrs["ipv"], "ipv6")
        self.assertEqual(sum(1 for e in chains if e[1]["ipv"] == "ipv6"), 4)
        # Kuma's comment is kept after the tag, not repeated
        pre = [e for e in rules if e[1]["chain"] == "PREROUTING" and e[1]["ipv"] == "ipv4"]
        self.assertEqual(pre[0][2][3], "tproxy-firewalld/kuma kuma/mesh/transparent/proxy/redirect "
                                       "inbound TCP traffic to our custom chain for processing")
        # priorities: the inserted OUTPUT rule below 0, the appended one above
        out = {e[2][-1]: int(e[1]["priority"]) for e in rules
               if e[1]["chain"] == "OUTPUT" and e[1]["ipv"] == "ipv4"}
        self.assertEqual(out, {"RETURN": -1, "KUMA_MESH_OUTBOUND": 1})

    def test_second_owner_never_touches_the_first(self):
        self.put_fixture("cli", "foreign.xml")
        self.install(owner="alpha")
        alpha = [e for e in self.entries() if e[0] == "rule" and
                 any(a.startswith("tproxy-firewalld/alpha") for a in e[2])]
        self.assertEqual(len(alpha), 23)
        other = os.path.join(self.tmp, "other.txt")
        with open(other, "w") as f:
            f.write("*filter\n:BETA_CHAIN - [0:0]\n-A INPUT -p tcp --dport 9000 -j BETA_CHAIN\n"
                    "-A BETA_CHAIN -j ACCEPT\nCOMMIT\n")
        self.install(owner="beta", src=other)
        after_beta = self.entries()
        for e in alpha:
            self.assertIn(e, after_beta)
        with_beta = read_bytes(self.path)
        self.tpfw("uninstall", "--no-reload", owner="beta", check=0)
        self.assertNotIn(b"BETA_CHAIN", read_bytes(self.path))
        for e in alpha:
            self.assertIn(e, self.entries())
        # beta's uninstall gives back the file as it was before beta's install
        self.install(owner="beta", src=other)
        self.assertEqual(read_bytes(self.path), with_beta)
        self.tpfw("uninstall", "--no-reload", owner="alpha", check=0)
        self.assertIn(b"BETA_CHAIN", read_bytes(self.path))
        self.assertNotIn(b"tproxy-firewalld/alpha", read_bytes(self.path))

    def test_changed_ruleset_replaces_the_old_one(self):
        self.install()
        small = os.path.join(self.tmp, "small.txt")
        with open(small, "w") as f:
            f.write("*nat\n-A OUTPUT -p tcp --dport 25 -j RETURN\nCOMMIT\n")
        p = self.install(src=small)
        self.assertIn("1 added, 31 removed", p.stdout)
        rules = [e for e in self.entries() if e[0] == "rule"]
        self.assertEqual(len(rules), 1)
        self.assertEqual([e for e in self.entries() if e[0] == "chain"], [])

    def test_list_owners(self):
        self.put_fixture("cli", "foreign.xml")
        self.install(owner="alpha")
        p = self.tpfw("list-owners", check=0)
        self.assertRegex(p.stdout, r"alpha\s+23 rules\s+8 chains")
        p = self.tpfw("--json", "list-owners", check=0)
        self.assertEqual(json.loads(p.stdout),
                         {"file": self.path, "owners": [{"owner": "alpha", "rules": 23, "chains": 8}],
                          "error": None})

    def test_json_is_valid_utf8_whatever_the_path(self):
        """A path is bytes: control characters come out escaped, and each ill-formed UTF-8
        sequence as one U+FFFD, so the report is always JSON that a strict parser reads."""
        odd = b"d\x1f\x01\"\\ \xc3\xa9\xe2\x82\xac\xff\xed\xa0\x80\xf0\x9f\x98\x80\xc3("
        d = os.path.join(os.fsencode(self.tmp), odd)
        os.mkdir(d)
        shutil.copyfile(fixture("cli", "foreign.xml"), os.path.join(d, b"direct.xml"))
        want = os.path.join(d, b"direct.xml").decode("utf-8", "replace")
        for args in (["--json", "list-owners"],
                     ["install", "--json", "--check", "--diff", "--from-iptables-restore", KUMA]):
            p = subprocess.run([CLI, "--firewalld-dir", d, *args], capture_output=True,
                               env=dict(os.environ,
                                        DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/tpfw"))
            assert_no_sanitizer_report(p.stderr.decode(errors="replace"), args)
            self.assertEqual(p.returncode, 0, p.stderr)
            obj = json.loads(p.stdout.decode("utf-8"))  # strict: no raw control characters
            self.assertEqual(obj["file"], want)
            self.assertIn("\x1f\x01\"\\ \u00e9\u20ac\ufffd\ufffd\ufffd\ufffd\U0001f600\ufffd(",
                          obj["file"])
        self.assertTrue(obj["changed"])
        self.assertIn("tproxy-firewalld/kuma", obj["diff"])

    def test_concurrent_installs_of_eight_owners(self):
        self.put_fixture("cli", "foreign.xml")
        owners = [f"owner{i}" for i in range(8)]
        results = {}

        def go(o):
            src = os.path.join(self.tmp, o + ".txt")
            with open(src, "w") as f:
                f.write(f"*nat\n-N {o.upper()}_CHAIN\n-A OUTPUT -p tcp -j {o.upper()}_CHAIN\n"
                        f"-I OUTPUT -p udp --dport 53 -j RETURN\n"
                        f"-A {o.upper()}_CHAIN -j RETURN\nCOMMIT\n")
            results[o] = self.install(owner=o, src=src, check=None)

        threads = [threading.Thread(target=go, args=(o,)) for o in owners]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for o in owners:
            self.assertEqual(results[o].returncode, 0, results[o].stderr)
        self.tpfw("validate", check=0)
        self.assert_offline_accepts()
        counts = self.tpfw("list-owners", check=0).stdout
        for o in owners:
            self.assertRegex(counts, rf"{o}\s+3 rules\s+1 chains")
        # the udp/53 RETURN is the same rule for every owner but for its tag: 8 entries
        self.assertEqual(sum(1 for e in self.entries() if e[0] == "rule" and "53" in e[2]), 8)

    def test_crash_between_temp_write_and_rename_keeps_the_old_file(self):
        self.put_fixture("cli", "foreign.xml")
        original = read_bytes(self.path)
        p = self.tpfw("install", "--from-iptables-restore", KUMA, "--no-reload",
                      cli=CLI_FAULT, env={"TPFW_FAULT_CRASH": "rename"})
        self.assertEqual(p.returncode, -9)  # killed at the fault point
        self.assertEqual(read_bytes(self.path), original)
        self.assertEqual(len(glob.glob(os.path.join(self.dir, ".direct.xml.tpfw-*"))), 1)
        self.install()
        self.assertEqual(glob.glob(os.path.join(self.dir, ".direct.xml.tpfw-*")), [])
        self.assertEqual(sorted(os.listdir(self.dir)), ["direct.xml", "direct.xml.old"])

    def test_failure_at_each_write_step_leaves_the_file_whole(self):
        self.put_fixture("cli", "foreign.xml")
        original = read_bytes(self.path)
        for point in ["lock", "read", "temp-create", "temp-write", "fsync", "backup", "rename"]:
            p = self.tpfw("install", "--from-iptables-restore", KUMA, "--no-reload",
                          cli=CLI_FAULT, env={"TPFW_FAULT_FAIL": point})
            self.assertEqual(p.returncode, 1, point)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertEqual(read_bytes(self.path), original, point)
            self.assertEqual(glob.glob(os.path.join(self.dir, ".direct.xml.tpfw-*")), [], point)

    def test_check_mode_and_diff_write_nothing(self):
        self.put_fixture("cli", "foreign.xml")
        original = read_bytes(self.path)
        p = self.tpfw("install", "--from-iptables-restore", KUMA, "--check", "--diff", check=0)
        self.assertIn("would change", p.stdout)
        self.assertIn("+++ ", p.stdout)
        self.assertIn("+  <chain ipv=\"ipv6\" table=\"nat\" chain=\"KUMA_MESH_INBOUND\"/>", p.stdout)
        p = self.tpfw("diff", "--from-iptables-restore", KUMA, check=3)
        self.assertEqual(read_bytes(self.path), original)
        self.assertFalse(os.path.exists(self.path + ".old"))
        self.install()
        self.tpfw("diff", "--from-iptables-restore", KUMA, check=0)
        p = self.tpfw("diff", "--uninstall", check=3)
        self.assertIn("-  <chain ipv=\"ipv4\" table=\"nat\" chain=\"KUMA_MESH_INBOUND\"/>", p.stdout)
