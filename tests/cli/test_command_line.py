# SPDX-License-Identifier: MIT
"""The command-line contract (no firewalld): global options anywhere, exit codes, suggestions,
help, version, --verbose steps, and Kuma's storeFirewalld / dryRun switches."""
import json
import os
import re

from tpfwtest import FirewalldDirTest, fixture, read_bytes, run

KUMA = fixture("cli", "kuma-dualstack.txt")
FACTS = ["--kuma-dp-user", "5678", "--loopback-interface", "lo", "--assume-ipv6", "no",
         "--assume-conntrack", "yes", "--assume-docker-output", "no", "--assume-mangle", "yes"]
E = "KUMA_TRANSPARENT_PROXY_"


class GlobalOptionsTest(FirewalldDirTest):
    def test_global_options_after_the_command(self):
        other = os.path.join(self.tmp, "other")
        os.mkdir(other)
        run(["install", "--firewalld-dir", other, "--owner", "late", "--no-reload",
             "--from-iptables-restore", KUMA, "--timeout", "5", "-q"], check=0)
        self.assertIn("tproxy-firewalld/late", read_bytes(os.path.join(other, "direct.xml"))
                      .decode())
        for cmd in (["validate"], ["list-owners"], ["status"], ["generate", *FACTS]):
            with self.subTest(cmd=cmd):
                p = run([cmd[0], "--firewalld-dir", other, "--json", *cmd[1:]])
                self.assertIsNone(json.loads(p.stdout)["error"])

    def test_detailed_exitcodes_before_or_after_the_command(self):
        for args in (["--detailed-exitcodes", "install"], ["install", "--detailed-exitcodes"]):
            with self.subTest(args=args):
                if os.path.exists(self.path):
                    os.unlink(self.path)
                self.tpfw(*args, "--no-reload", "--from-iptables-restore", KUMA, check=2)
                self.tpfw(*args, "--no-reload", "--from-iptables-restore", KUMA, check=0)

    def test_usage_errors_are_4_in_detailed_mode(self):
        # Puppet reads 2 as "changed": a usage error must never be 2 in detailed mode
        for args in (["--detailed-exitcodes", "--bogus", "install"],
                     ["--detailed-exitcodes", "install", "--bogus"],
                     ["install", "--bogus", "--detailed-exitcodes"],
                     ["--detailed-exitcodes", "instal"],
                     ["--detailed-exitcodes", "--owner"],
                     ["status", "--bogus", "--detailed-exitcodes"],
                     ["--detailed-exitcodes", "validate", "/nonexistent"]):
            with self.subTest(args=args):
                self.tpfw(*args, check=4)
        for args in (["--bogus", "install"], ["install", "--bogus"], ["instal"]):
            with self.subTest(args=args):
                self.tpfw(*args, check=2)

    def test_detailed_mode_maps_drift_to_2(self):
        self.tpfw("diff", "--from-iptables-restore", KUMA, check=3)
        self.tpfw("diff", "--from-iptables-restore", KUMA, "--detailed-exitcodes", check=2)
        self.tpfw("status", "--detailed-exitcodes", check=2)  # firewalld is not running

    def test_missing_value_names_the_option_as_spelled(self):
        for args, name in ((["--owner"], "--owner"), (["--firewalld-dir"], "--firewalld-dir"),
                           (["--timeout"], "--timeout"), (["status", "--owner"], "--owner"),
                           (["install", "--kuma-dp-user"], "--kuma-dp-user"),
                           (["generate", "--format"], "--format")):
            with self.subTest(args=args):
                p = run(args, check=2)
                self.assertEqual(p.stderr.splitlines()[0],
                                 f"tproxy-firewalld: option {name} needs a value")

    def test_suggestions(self):
        for args, hint in ((["instal"], "did you mean install?"),
                           (["list-owner"], "did you mean list-owners?"),
                           (["--ownr", "x", "status"], "did you mean --owner?"),
                           (["install", "--kuma-dp-usr", "5"], "did you mean --kuma-dp-user?"),
                           (["install", "--dryrun"], "did you mean --dry-run?"),
                           (["install", "--detailed-exitcode"],
                            "did you mean --detailed-exitcodes?"),
                           (["status", "--jsn"], "did you mean --json?"),
                           (["generate", "--format", "iptable-restore"],
                            "did you mean iptables-restore?"),
                           (["help", "statu"], "did you mean status?")):
            with self.subTest(args=args):
                p = run(args, check=2)
                self.assertIn(hint, p.stderr)
        p = run(["install", "--completely-different"], check=2)
        self.assertNotIn("did you mean", p.stderr)

    def test_version(self):
        for flag in ("-V", "--version"):
            p = run([flag], check=0)
            lines = p.stdout.splitlines()
            self.assertRegex(lines[0], r"^tproxy-firewalld \d+\.\d+\.\d+")
            self.assertRegex(lines[1], r"^built with: libxml2 \d+\.\d+\.\d+ \(running "
                             r"\d+\.\d+\.\d+\), libdbus-1 \d+\.\d+\.\d+, GLib \d+\.\d+\.\d+ "
                             r"\(running \d+\.\d+\.\d+\), libyaml \d+\.\d+\.\d+$")

    def test_help(self):
        top = run(["--help"], check=0).stdout
        self.assertEqual(run(["help"], check=0).stdout, top)
        self.assertEqual(run(["-h"], check=0).stdout, top)
        for cmd in ("install", "uninstall", "generate", "diff", "status", "validate", "reload",
                    "list-owners"):
            with self.subTest(cmd=cmd):
                self.assertEqual(run(["help", cmd], check=0).stdout,
                                 run([cmd, "--help"], check=0).stdout)
        run(["help", "nosuch"], check=2)

    def test_quiet(self):
        p = self.tpfw("-q", "install", "--no-reload", "--from-iptables-restore", KUMA, check=0)
        self.assertEqual(p.stdout + p.stderr, "")
        p = self.tpfw("uninstall", "--no-reload", "-q", check=0)
        self.assertEqual(p.stdout + p.stderr, "")


class StatusExitTest(FirewalldDirTest):
    def test_not_running_is_3(self):
        p = self.tpfw("status", check=3)
        self.assertIn("firewalld: not running", p.stdout)
        self.put(b"<direct><rule/></direct>")
        self.tpfw("status", check=1)


class VerboseTest(FirewalldDirTest):
    STEP = r"^tproxy-firewalld: {}: \d+\.\d ms"

    def test_install_reports_each_step_with_its_duration(self):
        for args in (["--verbose", "install"], ["install", "--verbose"]):
            with self.subTest(args=args):
                if os.path.exists(self.path):
                    os.unlink(self.path)
                p = self.tpfw(*args, "--no-reload", "--from-iptables-restore", KUMA, check=0)
                for step in ("lock", "read", "merge", "write"):
                    self.assertRegex(p.stderr, re.compile(self.STEP.format(step), re.M))
                self.assertRegex(p.stderr, r"merge: \d+\.\d ms \(31 added, 0 removed\)")
        p = self.tpfw("install", "--no-reload", "--from-iptables-restore", KUMA, check=0)
        self.assertNotIn(" ms", p.stderr)
        # the environment too, and --verbose=false beats it
        env = {E + "VERBOSE": "true"}
        p = self.tpfw("uninstall", "--check", env=env, check=0)
        self.assertRegex(p.stderr, re.compile(self.STEP.format("lock"), re.M))
        p = self.tpfw("uninstall", "--check", "--verbose=false", env=env, check=0)
        self.assertNotIn(" ms", p.stderr)

    def test_without_firewalld_the_bus_attempt_is_a_step(self):
        p = self.tpfw("--verbose", "install", "--from-iptables-restore", KUMA, check=0)
        self.assertRegex(p.stderr, re.compile(self.STEP.format("connect") + r" \(no system bus\)",
                                              re.M))

    def test_other_commands_say_more(self):
        self.tpfw("install", "--no-reload", "--from-iptables-restore", KUMA, check=0)
        self.assertRegex(self.tpfw("validate", "--verbose", check=0).stderr,
                         r"tproxy-firewalld: schema: .*direct\.rng")
        self.assertIn("generated 8 chains", self.tpfw("generate", "--verbose",
                                                      "--from-iptables-restore", KUMA).stderr)


class KumaSwitchesTest(FirewalldDirTest):
    def install(self, *args, env=None, check=None):
        return self.tpfw("install", "--from-iptables-restore", KUMA, *args, env=env, check=check)

    def test_dry_run_false_beats_the_environment(self):
        env = {E + "DRY_RUN": "true"}
        p = self.install("--no-reload", env=env, check=0)
        self.assertIn("would change", p.stdout)
        self.assertFalse(os.path.exists(self.path))
        for spelling in ("false", "False", "0", "f", "no"):
            with self.subTest(spelling=spelling):
                self.install("--no-reload", f"--dry-run={spelling}", env=env, check=0)
                self.assertTrue(os.path.exists(self.path))
                os.unlink(self.path)

    def test_uninstall_takes_kumactl_dry_run_and_verbose(self):
        self.install("--no-reload", check=0)
        before = read_bytes(self.path)
        p = self.tpfw("uninstall", "--dry-run", "--verbose", "--no-reload", check=0)
        self.assertIn("would change", p.stdout)
        self.assertIn("tproxy-firewalld: lock:", p.stderr)
        self.assertEqual(read_bytes(self.path), before)
        p = self.tpfw("uninstall", "--kuma-dp-user", "5", "--no-reload", check=2)
        self.assertIn("without --adopt-kuma-legacy", p.stderr)

    def test_store_firewalld_false_means_runtime_only_in_one_line(self):
        for env, args in (({E + "STORE_FIREWALLD": "false"}, []),
                          ({E + "STORE_FIREWALLD": "0"}, []),
                          ({}, ["--store-firewalld=false"])):
            with self.subTest(env=env, args=args):
                p = self.install(*args, env=env, check=1)  # runtime only needs firewalld
                notes = [l for l in p.stderr.splitlines() if "note:" in l]
                self.assertEqual(len(notes), 1, p.stderr)
                self.assertIn("=false: changing firewalld's runtime only, not direct.xml", notes[0])
                self.assertNotIn("no effect", p.stderr)
                self.assertIn("system bus", p.stderr)
                self.assertEqual("--store-firewalld overrides" in notes[0], not args)
                self.assertFalse(os.path.exists(self.path))

    def test_store_firewalld_flag_overrides_the_environment(self):
        env = {E + "STORE_FIREWALLD": "false"}
        p = self.install("--store-firewalld", env=env, check=0)
        self.assertNotIn("note", p.stderr)
        self.assertTrue(os.path.exists(self.path))
        p = self.tpfw("uninstall", "--store-firewalld=true", env=env, check=0)
        self.assertNotIn("tproxy-firewalld/kuma", read_bytes(self.path).decode())

    def test_store_firewalld_and_no_reload(self):
        # --no-reload on the command line beats the environment, and says so
        env = {E + "STORE_FIREWALLD": "false"}
        p = self.install("--no-reload", env=env, check=0)
        self.assertIn(f"note: {E}STORE_FIREWALLD=false ignored: --no-reload writes direct.xml "
                      "only", p.stderr)
        self.assertIn("tproxy-firewalld/kuma", read_bytes(self.path).decode())
        # as flags they contradict each other
        p = self.install("--no-reload", "--store-firewalld=false", check=2)
        self.assertIn("contradict", p.stderr)
        p = self.install("--no-reload", "--runtime-only", check=2)
        self.assertIn("contradict", p.stderr)
        p = self.install("--runtime-only", "--store-firewalld", check=2)
        self.assertIn("contradict", p.stderr)

    def test_store_firewalld_in_a_config_file(self):
        cfg = os.path.join(self.tmp, "c.yaml")
        with open(cfg, "w") as f:
            f.write("storeFirewalld: false\n")
        p = self.tpfw("install", *FACTS, "--config", cfg, check=1)
        self.assertIn(f"note: {cfg}:1: storeFirewalld=false: changing firewalld's runtime only",
                      p.stderr)
        self.tpfw("install", *FACTS, "--config", cfg, env={E + "STORE_FIREWALLD": "yes"}, check=0)
