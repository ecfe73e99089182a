# SPDX-License-Identifier: MIT
"""CLI-level proof of the Kuma generator's acceptance items (issue 3): golden conformance of
`generate --format iptables-restore`, generate|import == install, configuration precedence,
invalid input (exit 2, one error, nothing written), --help/man page coverage, ignored kumactl
options, and validity of `generate --format direct-xml`."""
import json
import os
import re
import shutil
import unittest

from tpfwtest import KUMA_FACTS, SRCDIR, FirewalldDirTest, fixture, read_bytes, run

REF = fixture("generate", "kuma-reference")
# Section 8: the facts of Kuma's unprivileged unit test.
GOLDEN_FACTS = ["--assume-conntrack", "no", "--assume-docker-output", "no", "--assume-ipv6", "no",
                "--loopback-interface", "lo"]


def with_opt(args, opt, value):
    """args with the value of opt replaced."""
    out = list(args)
    out[out.index(opt) + 1] = value
    return out


# IPv4-only variant of KUMA_FACTS, for tests that only care about one family.
FACTS4 = with_opt(KUMA_FACTS, "--assume-ipv6", "no")


def normalise(text):
    """KUMA-RULES.md section 8, the three steps of Kuma's test, in order."""
    text = re.sub(r"(?<= )-o \S+", "-o ifPlaceholder", text)
    text = re.sub(r'-m comment --comment ".*?" ', "", text)
    return re.sub(r"^(-I OUTPUT \d+ -p udp --dport 53 -m owner --uid-owner \S+ -j )\S+$",
                  r"\1dnsJumpTargetPlaceholder", text, flags=re.M)


def golden(name):
    return read_bytes(os.path.join(REF, f"install-transparent-proxy.{name}.golden.txt"))


def generate(*args, fmt=None, env=None, input=None, check=0):
    g = ["generate"] + (["--format", fmt] if fmt else []) + list(args)
    return run(g, env=env, input=input, check=check)


def gen_json(*args, env=None, input=None):
    return json.loads(generate(*args, fmt="json", env=env, input=input).stdout)


def rules_of(doc, ipv, chain):
    return [r["argv"] for r in doc["rules"] if r["ipv"] == ipv and r["chain"] == chain]


def after(argv, opt):
    return argv[argv.index(opt) + 1]


def snapshot(top):
    """Every file under top with its bytes, and every directory: what 'nothing written' means."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), top) + "/"] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, top)] = read_bytes(p)
    return out


class Scratch(FirewalldDirTest):
    """A scratch firewalld dir plus helpers to write small input files next to it."""

    def write(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def resolv(self):
        return self.write("resolv.conf", "search example.com\nnameserver 10.0.0.2\n"
                                         "nameserver 127.0.0.53\nnameserver fd00::53\n")


# ---------------------------------------------------------------------------------------------
# 1. Golden conformance (acceptance 1)

GOLDEN = {
    "defaults": ["--ip-family-mode", "ipv4", "--kuma-dp-user", "0"],
    "dns.no-conntrack": ["--ip-family-mode", "ipv4", "--kuma-dp-user", "0",
                         "--redirect-all-dns-traffic", "--redirect-dns-port", "12345"],
    "overrides": ["--ip-family-mode", "ipv4", "--kuma-dp-user", "0", "--redirect-outbound-port",
                  "12345", "--redirect-inbound-port", "12346", "--exclude-outbound-ports",
                  "2000,2001", "--exclude-inbound-ports", "1000,1001"],
}


class GoldenTest(unittest.TestCase):
    def check(self, name, args):
        want = golden(name).decode()
        for extra in ([], ["--disable-comments"]):
            with self.subTest(name=name, args=args + extra):
                p = generate(*args, *GOLDEN_FACTS, *extra, fmt="iptables-restore")
                # the tool's own output carries the tagged comment on every rule (or the bare tag)
                tag = ('-m comment --comment "tproxy-firewalld/kuma"' if extra else
                       '-m comment --comment "tproxy-firewalld/kuma kuma/mesh/transparent/proxy/')
                rules = [l for l in p.stdout.splitlines() if l.startswith(("-A ", "-I "))]
                self.assertTrue(rules)
                for line in rules:
                    self.assertIn(tag, line)
                self.assertEqual(normalise(p.stdout), want)

    def test_defaults(self):
        self.check("defaults", GOLDEN["defaults"])

    def test_defaults_with_user_root(self):
        self.check("defaults", ["--ip-family-mode", "ipv4", "--kuma-dp-user", "root"])

    def test_dns_no_conntrack(self):
        self.check("dns.no-conntrack", GOLDEN["dns.no-conntrack"])

    def test_dns_conntrack_skipped_by_flag(self):
        # Kuma's test gets the same file with --skip-dns-conntrack-zone-split on a capable host
        args = GOLDEN["dns.no-conntrack"] + ["--skip-dns-conntrack-zone-split"]
        want = golden("dns.no-conntrack")
        facts = with_opt(GOLDEN_FACTS, "--assume-conntrack", "yes")
        p = generate(*args, *facts, fmt="iptables-restore")
        self.assertEqual(normalise(p.stdout).encode(), want)

    def test_dns_docker_output_is_what_step_3_hides(self):
        facts = with_opt(GOLDEN_FACTS, "--assume-docker-output", "yes")
        p = generate(*GOLDEN["dns.no-conntrack"], *facts, fmt="iptables-restore")
        self.assertRegex(p.stdout, r"(?m)^-I OUTPUT 1 .*--uid-owner 0 -j DOCKER_OUTPUT$")
        want = golden("dns.no-conntrack")
        self.assertEqual(normalise(p.stdout).encode(), want)

    def test_overrides(self):
        self.check("overrides", GOLDEN["overrides"])

    def test_overrides_without_family_mode(self):
        # Kuma's test also runs it without --ip-family-mode; --assume-ipv6 no gives IPv4 only
        self.check("overrides", GOLDEN["overrides"][2:])

    def test_normalisation_is_not_vacuous(self):
        p = generate(*GOLDEN["overrides"], *GOLDEN_FACTS, "--redirect-inbound-port", "1",
                     fmt="iptables-restore")
        want = golden("overrides")
        self.assertNotEqual(normalise(p.stdout).encode(), want)
        self.assertIn("-o ifPlaceholder", normalise(p.stdout))
        self.assertNotIn("-o lo", normalise(p.stdout))

    def test_dualstack_layout(self):
        out = generate(*KUMA_FACTS, fmt="iptables-restore").stdout
        self.assertTrue(out.startswith("### IPv4 ###\n\n* nat\n"), out[:40])
        self.assertIn("COMMIT\n\n### IPv6 ###\n\n* nat\n", out)
        self.assertTrue(out.endswith("COMMIT\n") and not out.endswith("\n\n"))
        v6 = out.split("### IPv6 ###")[1]
        self.assertIn("-s ::6/128 -o lo -j RETURN", v6)
        self.assertNotIn("127.0.0", v6)


# ---------------------------------------------------------------------------------------------
# 2. generate | install --from-iptables-restore - == install (acceptance 3)

class PipeEqualsInstallTest(Scratch):
    def option_sets(self):
        resolv = self.resolv()
        incl = self.write("include.yaml", "redirect:\n"
                                          "  inbound:\n    includePorts: [8080, '8443']\n"
                                          "  outbound:\n    includePorts: '80,443'\n")
        dns = ["--redirect-dns", "--resolv-conf", resolv]
        return {
            "defaults-dualstack": [],
            "ipv4-only": ["--ip-family-mode", "IPv4"],
            "dns-per-server": dns,
            "dns-no-conntrack": dns + ["--skip-dns-conntrack-zone-split"],
            "capture-all": ["--redirect-all-dns-traffic", "--redirect-dns-port", "5353"],
            "exclusions": ["--exclude-inbound-ports", "22,443", "--exclude-outbound-ports", "5432",
                           "--exclude-inbound-ips", "192.168.1.1", "--exclude-inbound-ips",
                           "fd00::1", "--exclude-outbound-ips", "10.0.0.0/8,2001:db8::/32",
                           "--exclude-outbound-ports-for-uids", "tcp:22,80-90:1000-1002",
                           "--exclude-outbound-ports-for-uids", "53:106",
                           "--exclude-outbound-ports-for-uids", "123"],
            "include-ports-config": ["--config", incl],
            "vnet": ["--vnet", "docker0:172.17.0.0/16", "--vnet", "br+:172.18.0.0/16", "--vnet",
                     "br0:fd00:1::/64"] + dns,
            "logs": ["--iptables-logs"] + dns,
            "drop-invalid": ["--drop-invalid-packets"],
            "insert-flags": ["--redirect-inbound-insert-instead-of-append",
                             "--redirect-outbound-insert-instead-of-append"] + dns,
            "disabled": ["--redirect-inbound=false", "--redirect-outbound-port", "1234"],
            "comments-disabled": ["--disable-comments", "--iptables-logs",
                                  "--vnet", "docker0:172.17.0.0/16"] + dns,
        }

    def test_pipe_gives_the_same_direct_xml(self):
        for name, opts in self.option_sets().items():
            with self.subTest(name):
                a = os.path.join(self.tmp, name + "-a")
                b = os.path.join(self.tmp, name + "-b")
                os.mkdir(a)
                os.mkdir(b)
                text = generate(*KUMA_FACTS, *opts, fmt="iptables-restore").stdout
                run(["--firewalld-dir", a, "install", "--from-iptables-restore", "-",
                     "--no-reload"], input=text, check=0)
                run(["--firewalld-dir", b, "install", *KUMA_FACTS, *opts, "--no-reload"], check=0)
                got = read_bytes(os.path.join(a, "direct.xml"))
                self.assertEqual(got, read_bytes(os.path.join(b, "direct.xml")))
                # and `generate --format direct-xml` prints exactly what install writes
                self.assertEqual(generate(*KUMA_FACTS, *opts).stdout.encode(), got)
                # not vacuous: every rule line of the text is an entry of the file
                n_rules = sum(1 for l in text.splitlines() if l.startswith(("-A ", "-I ")))
                n_chains = sum(1 for l in text.splitlines() if l.startswith("-N "))
                entries = self.entries(os.path.join(a, "direct.xml"))
                self.assertEqual(sum(1 for e in entries if e[0] == "rule"), n_rules)
                self.assertEqual(sum(1 for e in entries if e[0] == "chain"), n_chains)

    def test_variants_really_differ(self):
        seen = {}
        for name, opts in self.option_sets().items():
            out = generate(*KUMA_FACTS, *opts, fmt="iptables-restore").stdout
            self.assertNotIn(out, seen.values(), name)
            seen[name] = out
        self.assertIn("-A OUTPUT -m comment --comment \"tproxy-firewalld/kuma kuma/mesh/transparent"
                      "/proxy/assign connection tracking zone 2 to DNS requests destined for "
                      "fd00::53\" -d fd00::53 -p udp --dport 53 -j CT --zone 2",
                      seen["dns-per-server"].split("### IPv6 ###")[1])
        self.assertNotIn("fd00::53", seen["dns-per-server"].split("### IPv6 ###")[0])

    def test_pipe_with_another_owner(self):
        a = os.path.join(self.tmp, "a")
        os.mkdir(a)
        text = run(["--owner", "test", "generate", "--format", "iptables-restore", *KUMA_FACTS],
                   check=0).stdout
        run(["--owner", "test", "--firewalld-dir", a, "install", "--from-iptables-restore", "-",
             "--no-reload"], input=text, check=0)
        self.tpfw("install", *KUMA_FACTS, "--no-reload", owner="test", check=0)
        self.assertEqual(read_bytes(os.path.join(a, "direct.xml")), read_bytes(self.path))
        self.assertIn(b"tproxy-firewalld/test kuma/mesh", read_bytes(self.path))


# ---------------------------------------------------------------------------------------------
# 3. Precedence (acceptance 4)

ENV_PORT = "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_PORT"


class PrecedenceTest(Scratch):
    def port(self, *args, env=None, input=None):
        doc = gen_json(*FACTS4, *args, env=env, input=input)
        (argv,) = rules_of(doc, "ipv4", "KUMA_MESH_INBOUND_REDIRECT")
        return int(after(argv, "--to-ports"))

    def files(self):
        return (self.write("a.yaml", "redirect:\n  inbound:\n    port: 1001\n"),
                self.write("b.json", '{"redirect": {"inbound": {"port": 1002}}}\n'))

    def test_default(self):
        self.assertEqual(self.port(), 15006)

    def test_file_then_later_file(self):
        a, b = self.files()
        self.assertEqual(self.port("--config", a), 1001)
        self.assertEqual(self.port("--config", b), 1002)  # JSON config
        self.assertEqual(self.port("--config", a, "--config", b), 1002)
        self.assertEqual(self.port("--config", b, "--config", a), 1001)
        self.assertEqual(self.port("--config=" + b, "--config=" + a), 1001)

    def test_env_beats_files_and_flag_beats_env(self):
        a, b = self.files()
        env = {ENV_PORT: "1003"}
        self.assertEqual(self.port("--config", a, "--config", b, env=env), 1003)
        self.assertEqual(self.port("--config", a, "--redirect-inbound-port", "1004", env=env), 1004)
        # the flag wins wherever it stands
        self.assertEqual(self.port("--redirect-inbound-port=1004", "--config", b, env=env), 1004)
        self.assertEqual(self.port("--redirect-inbound-port", "1004", "--config", b), 1004)

    def test_env_without_config(self):
        self.assertEqual(self.port(env={ENV_PORT: "1003"}), 1003)
        doc = gen_json(*KUMA_FACTS, env={"KUMA_TRANSPARENT_PROXY_IP_FAMILY_MODE": "ipv4"})
        self.assertEqual({r["ipv"] for r in doc["rules"]}, {"ipv4"})
        self.assertEqual({r["ipv"] for r in gen_json(*KUMA_FACTS)["rules"]}, {"ipv4", "ipv6"})

    def test_empty_env_is_unset(self):
        a, _ = self.files()
        self.assertEqual(self.port("--config", a, env={ENV_PORT: ""}), 1001)

    def test_stdin_config(self):
        self.assertEqual(self.port("--config", "-", input="redirect: {inbound: {port: 1005}}\n"),
                         1005)
        self.assertEqual(self.port("--config", "-", input='{"redirect":{"inbound":{"port":1006}}}'),
                         1006)
        a, _ = self.files()
        self.assertEqual(self.port("--config", a, "--config", "-",
                                   input="redirect: {inbound: {port: 1005}}\n"), 1005)
        self.assertEqual(self.port("--config", "-", "--config", a,
                                   input="redirect: {inbound: {port: 1005}}\n"), 1001)
        self.assertEqual(self.port("--config", "-", input="redirect: {inbound: {port: 1005}}\n",
                                   env={ENV_PORT: "1003"}), 1003)

    def test_empty_document_and_case_insensitive_keys(self):
        a, _ = self.files()
        empty = self.write("empty.yaml", "")
        self.assertEqual(self.port("--config", a, "--config", empty), 1001)
        ci = self.write("ci.yaml", "REDIRECT:\n  Inbound:\n    PORT: 1007\n")
        self.assertEqual(self.port("--config", a, "--config", ci), 1007)

    def test_lists_replace(self):
        def excluded(*args, env=None):
            doc = gen_json(*FACTS4, *args, env=env)
            return [after(r, "--dport") for r in rules_of(doc, "ipv4", "KUMA_MESH_INBOUND")
                    if "--dport" in r]

        a = self.write("l1.yaml", "redirect:\n  inbound:\n    excludePorts: [1, '2,3']\n")
        b = self.write("l2.yaml", "redirect:\n  inbound:\n    excludePorts: 4\n")
        self.assertEqual(excluded("--config", a), ["1", "2", "3"])
        self.assertEqual(excluded("--config", a, "--config", b), ["4"])
        env = {"KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_EXCLUDE_PORTS": "5, 6"}
        self.assertEqual(excluded("--config", a, env=env), ["5", "6"])
        self.assertEqual(excluded("--config", a, "--exclude-inbound-ports", "7", env=env), ["7"])
        # for the port-list flags the last occurrence wins
        self.assertEqual(excluded("--exclude-inbound-ports", "7", "--exclude-inbound-ports", "8,9"),
                         ["8", "9"])

    def test_repeated_ip_flags_accumulate_and_replace_the_file(self):
        f = self.write("ips.yaml", "redirect:\n  outbound:\n    excludePortsForIPs: [10.9.9.9]\n")

        def ips(*args):
            doc = gen_json(*FACTS4, *args)
            return [after(r, "-d") for r in rules_of(doc, "ipv4", "OUTPUT") if "-d" in r]

        self.assertEqual(ips("--config", f), ["10.9.9.9"])
        self.assertEqual(ips("--config", f, "--exclude-outbound-ips", "10.0.0.1",
                             "--exclude-outbound-ips", "10.0.0.2,10.0.0.3"),
                         ["10.0.0.1", "10.0.0.2", "10.0.0.3"])

    def test_booleans_from_every_source(self):
        def inbound_disabled(*args, env=None):
            doc = gen_json(*FACTS4, *args, env=env)
            body = rules_of(doc, "ipv4", "KUMA_MESH_INBOUND")
            return len(body) == 1 and "disabled" in body[0][3]

        off = self.write("off.yaml", "redirect:\n  inbound:\n    enabled: false\n")
        env_var = "KUMA_TRANSPARENT_PROXY_REDIRECT_INBOUND_ENABLED"
        self.assertFalse(inbound_disabled())
        self.assertTrue(inbound_disabled("--config", off))
        self.assertFalse(inbound_disabled("--config", off, env={env_var: "T"}))
        self.assertTrue(inbound_disabled(env={env_var: "False"}))
        self.assertFalse(inbound_disabled("--redirect-inbound", env={env_var: "0"}))
        self.assertTrue(inbound_disabled("--redirect-inbound=false"))
        self.assertFalse(inbound_disabled("--config", off, "--redirect-inbound=true"))

    def test_capture_all_from_a_file_wins_over_enabled_flag(self):
        f = self.write("all.yaml", "redirect:\n  dns:\n    captureAll: true\n")
        doc = gen_json(*FACTS4, "--config", f, "--redirect-dns", "--resolv-conf", "/nonexistent")
        texts = [r[3] for r in rules_of(doc, "ipv4", "OUTPUT")]
        self.assertTrue(any("redirect all DNS requests" in t for t in texts), texts)


# ---------------------------------------------------------------------------------------------
# 4. Invalid input (acceptance 5)

# (flag arguments, option named in the error, value named in the error)
BAD_FLAGS = [
    (["--redirect-inbound-port", "0"], "--redirect-inbound-port", '"0"'),
    (["--redirect-inbound-port", "65536"], "--redirect-inbound-port", '"65536"'),
    (["--redirect-outbound-port=abc"], "--redirect-outbound-port", '"abc"'),
    (["--redirect-dns-port", "-1"], "--redirect-dns-port", '"-1"'),
    (["--exclude-inbound-ports", "80,0"], "--exclude-inbound-ports", '"0"'),
    (["--exclude-outbound-ports", "80,x"], "--exclude-outbound-ports", '"x"'),
    (["--exclude-inbound-ips", "300.1.1.1"], "--exclude-inbound-ips", '"300.1.1.1"'),
    (["--exclude-outbound-ips", "10.0.0.0/33"], "--exclude-outbound-ips", '"10.0.0.0/33"'),
    (["--exclude-outbound-ips", "2001:db8::/129"], "--exclude-outbound-ips", '"2001:db8::/129"'),
    (["--exclude-outbound-ips", "fe80::1%eth0"], "--exclude-outbound-ips", '"fe80::1%eth0"'),
    (["--exclude-outbound-ips", "::ffff:1.2.3.4"], "--exclude-outbound-ips", '"::ffff:1.2.3.4"'),
    (["--exclude-outbound-ports-for-uids", "tcp:22:70000"], "--exclude-outbound-ports-for-uids",
     '"tcp:22:70000"'),
    (["--exclude-outbound-ports-for-uids", "tcp:90-80:1000"], "--exclude-outbound-ports-for-uids",
     '"tcp:90-80:1000"'),
    (["--exclude-outbound-ports-for-uids", "icmp:22:1000"], "--exclude-outbound-ports-for-uids",
     '"icmp:22:1000"'),
    (["--exclude-outbound-ports-for-uids", "*"], "--exclude-outbound-ports-for-uids", '"*"'),
    (["--exclude-outbound-ports-for-uids", "5-3"], "--exclude-outbound-ports-for-uids", '"5-3"'),
    (["--exclude-outbound-ports-for-uids", "tcp:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16:1"],
     "--exclude-outbound-ports-for-uids", "16:1"),
    (["--vnet", "docker0"], "--vnet", '"docker0"'),
    (["--vnet", "docker0:172.17.0.0"], "--vnet", '"docker0:172.17.0.0"'),
    (["--vnet", "averyveryverylongname:10.0.0.0/8"], "--vnet", "averyveryverylongname"),
    (["--vnet", "..:10.0.0.0/8"], "--vnet", '"..:10.0.0.0/8"'),
    (["--ip-family-mode", "ipv6"], "--ip-family-mode", '"ipv6"'),
    (["--redirect-inbound=maybe"], "--redirect-inbound", '"maybe"'),
    (["--disable-comments=y"], "--disable-comments", '"y"'),
    (["--kuma-dp-user", "4294967295"], "--kuma-dp-user", '"4294967295"'),
    (["--kuma-dp-user", "no-such-user-h7"], "--kuma-dp-user", '"no-such-user-h7"'),
    (["--loopback-interface", "bad/name"], "--loopback-interface", '"bad/name"'),
    (["--assume-ipv6", "maybe"], "--assume-ipv6", '"maybe"'),
    (["--assume-conntrack", "1"], "--assume-conntrack", '"1"'),
    (["--wait", "-1"], "--wait", '"-1"'),
    (["--wait-interval", "abc"], "--wait-interval", '"abc"'),
    (["--max-retries", "x"], "--max-retries", '"x"'),
    (["--sleep-between-retries", "2x"], "--sleep-between-retries", '"2x"'),
    (["--iptables-executables", "iptables:/sbin/iptables"], "--iptables-executables",
     '"iptables:/sbin/iptables"'),
    (["--store-firewalld=maybe"], "--store-firewalld", '"maybe"'),
    (["--dry-run=maybe"], "--dry-run", '"maybe"'),
    (["--bogus-flag"], "--bogus-flag", "unknown option"),
    (["--config-file", "x.yaml"], "--config-file", "unknown option"),  # removed in Kuma
    (["--redirect-dns", "--redirect-all-dns-traffic"], "--redirect-dns",
     "--redirect-all-dns-traffic"),
]

E = "KUMA_TRANSPARENT_PROXY_"
# (environment, option named, value named)
BAD_ENV = [
    ({E + "REDIRECT_INBOUND_PORT": "0"}, E + "REDIRECT_INBOUND_PORT", '"0"'),
    ({E + "REDIRECT_DNS_ENABLED": "y"}, E + "REDIRECT_DNS_ENABLED", '"y"'),
    ({E + "IP_FAMILY_MODE": "ipv5"}, E + "IP_FAMILY_MODE", '"ipv5"'),
    ({E + "LOG_LEVEL": "8"}, E + "LOG_LEVEL", '"8"'),
    ({E + "REDIRECT_INBOUND_EXCLUDE_PORTS_FOR_UIDS": "1000"},
     E + "REDIRECT_INBOUND_EXCLUDE_PORTS_FOR_UIDS", '"1000"'),
    ({E + "REDIRECT_INBOUND_CHAIN_NAME": "bad-name"}, E + "REDIRECT_INBOUND_CHAIN_NAME",
     '"bad-name"'),
    ({E + "REDIRECT_OUTBOUND_CHAIN_NAME": "ABCDEFGHIJKLMNOPQRS"},
     E + "REDIRECT_OUTBOUND_CHAIN_NAME", '"ABCDEFGHIJKLMNOPQRS"'),
    ({E + "REDIRECT_VNET_NETWORKS": "eth0:10.0.0.1"}, E + "REDIRECT_VNET_NETWORKS",
     '"eth0:10.0.0.1"'),
    ({E + "REDIRECT_OUTBOUND_INCLUDE_PORTS": "80,70000"}, E + "REDIRECT_OUTBOUND_INCLUDE_PORTS",
     '"70000"'),
    ({E + "CNI_MODE": "2"}, E + "CNI_MODE", '"2"'),
    ({E + "REDIRECT_OUTBOUND_EXCLUDE_PORTS_FOR_IPS": "1.2.3"},
     E + "REDIRECT_OUTBOUND_EXCLUDE_PORTS_FOR_IPS", '"1.2.3"'),
    ({E + "WAIT": "x"}, E + "WAIT", '"x"'),
    ({E + "RETRY_SLEEP_BETWEEN_RETRIES": "1h2"}, E + "RETRY_SLEEP_BETWEEN_RETRIES", '"1h2"'),
]

# (config file text, key named, value named); the file name and line are checked too
BAD_CONFIG = [
    ("redirect:\n  inbound:\n    port: 70000\n", "redirect.inbound.port", '"70000"', 3),
    ("redirect:\n  dns:\n    enabled: maybe\n", "redirect.dns.enabled", '"maybe"', 3),
    ("ipFamilyMode: ipv6\n", "ipFamilyMode", '"ipv6"', 1),
    ("log:\n  level: 9\n", "log.level", '"9"', 2),
    ('redirect:\n  vnet:\n    networks: ["eth0"]\n', "redirect.vnet.networks", '"eth0"', 3),
    ('redirect:\n  outbound:\n    excludePortsForIPs: ["10.0.0.0/40"]\n',
     "redirect.outbound.excludePortsForIPs", '"10.0.0.0/40"', 3),
    ('redirect:\n  inbound:\n    excludePortsForUIDs: ["1"]\n',
     "redirect.inbound.excludePortsForUIDs", '"1"', 3),
    ("redirect:\n  outbound:\n    excludePorts: [80, {a: 1}]\n", "redirect.outbound.excludePorts",
     "mapping", 3),
    ("redirect: [1, 2]\n", "redirect", "mapping", 1),
    ('kumaDPUser: "abc def"\n', "kumaDPUser", '"abc def"', 1),
    ('{"redirect": {"inbound": {"port": "x"}}}', "redirect.inbound.port", '"x"', 1),
    ("retry:\n  sleepBetweenRetries: forever\n", "retry.sleepBetweenRetries", '"forever"', 2),
    ("iptablesExecutables:\n  iptables: /x\n", "iptablesExecutables", '"iptables:/x"', 1),
    ("dropInvalidPackets: 2\n", "dropInvalidPackets", '"2"', 1),
    ("dropInvalidPackets: \"true\"\n", "dropInvalidPackets", '"true"', 1),
    ("redirect:\n  outbound:\n    excludePortsForUIDs: ['udp:0:1']\n",
     "redirect.outbound.excludePortsForUIDs", '"udp:0:1"', 3),
    ("redirect:\n  inbound:\n    port: [1\n", "invalid YAML", "flow sequence", None),
]


class InvalidInputTest(Scratch):
    def assert_one_error(self, p, option, value, what):
        self.assertEqual(p.returncode, 2, f"{what}: {p.stderr}")
        # one error; install may add its "Try '... --help'" hint after an unknown option
        lines = [l for l in p.stderr.splitlines() if not l.startswith("Try '")]
        self.assertEqual(len(lines), 1, f"{what}: {p.stderr}")
        self.assertTrue(lines[0].startswith("tproxy-firewalld: "), lines[0])
        self.assertIn(option, lines[0])
        self.assertIn(value, lines[0])

    def both(self, args, option, value, env=None, what=""):
        p = run(["generate", *KUMA_FACTS, *args], env=env)
        self.assert_one_error(p, option, value, f"generate {what or args}")
        self.assertEqual(p.stdout, "")
        # install: into an existing file and into an empty directory
        for setup in ("fixture", "empty"):
            shutil.rmtree(self.dir)
            os.mkdir(self.dir)
            if setup == "fixture":
                self.put_fixture("cli", "foreign.xml")
            before = snapshot(self.tmp)
            p = self.tpfw("install", *KUMA_FACTS, *args, "--no-reload", env=env)
            self.assert_one_error(p, option, value, f"install {what or args}")
            self.assertEqual(snapshot(self.tmp), before, f"install {args} wrote something")

    def test_flags(self):
        for args, option, value in BAD_FLAGS:
            with self.subTest(args=args):
                self.both(args, option, value)

    def test_env(self):
        for env, option, value in BAD_ENV:
            with self.subTest(env=env):
                self.both([], option, value, env=env)

    def test_config_files(self):
        for text, key, value, line in BAD_CONFIG:
            with self.subTest(config=text):
                path = self.write("bad.yaml", text)
                loc = f"{path}:{line}: " if line else f"{path}:"
                self.both(["--config", path], key, value, what=text)
                self.both(["--config", path], loc, value, what=text)

    def test_config_from_stdin_and_twice(self):
        p = run(["generate", *KUMA_FACTS, "--config", "-"], input="log: {level: 8}\n")
        self.assert_one_error(p, "log.level", '"8"', "stdin")
        self.assertEqual(p.stdout, "")
        p = run(["generate", *KUMA_FACTS, "--config", "-", "--config", "-"], input="")
        self.assert_one_error(p, "--config -", "once", "stdin twice")

    def test_at_least_thirty_cases(self):
        self.assertGreaterEqual(len(BAD_FLAGS) + len(BAD_ENV) + len(BAD_CONFIG), 30)

    def test_flag_errors_win_over_valid_sources(self):
        # a bad flag with good env and config still writes nothing and names the flag
        good = self.write("good.yaml", "redirect:\n  inbound:\n    port: 1001\n")
        self.both(["--config", good, "--redirect-dns-port", "0"], "--redirect-dns-port", '"0"',
                  env={ENV_PORT: "1003"})

    def test_unknown_config_keys_are_noted_with_file_and_line(self):
        path = self.write("unk.yaml", "unknownKey: 1\nredirect:\n  inbound:\n    bogus: 2\n"
                                      "    port: 1001\n")
        p = run(["generate", *FACTS4, "--config", path, "--format", "json"], check=0)
        self.assertIn(f'{path}:1: unknown key "unknownKey"', p.stderr)
        self.assertIn(f'{path}:4: unknown key "redirect.inbound.bogus"', p.stderr)
        argv, = rules_of(json.loads(p.stdout), "ipv4", "KUMA_MESH_INBOUND_REDIRECT")
        self.assertEqual(after(argv, "--to-ports"), "1001")


# ---------------------------------------------------------------------------------------------
# 5. --help and the man page (acceptance 6)

# KUMA-RULES.md 2.2 (flag -> default as the help shows it) plus the tool's fact overrides
FLAG_DEFAULTS = {
    "--kuma-dp-user": '""',
    "--ip-family-mode": "dualstack",
    "--redirect-inbound": "true",
    "--redirect-inbound-port": "15006",
    "--exclude-inbound-ports": "[]",
    "--exclude-inbound-ips": "[]",
    "--redirect-inbound-insert-instead-of-append": "false",
    "--redirect-outbound-port": "15001",
    "--exclude-outbound-ports": "[]",
    "--exclude-outbound-ips": "[]",
    "--exclude-outbound-ports-for-uids": "[]",
    "--redirect-outbound-insert-instead-of-append": "false",
    "--redirect-dns": "false",
    "--redirect-all-dns-traffic": "false",
    "--redirect-dns-port": "15053",
    "--skip-dns-conntrack-zone-split": "false",
    "--resolv-conf": "/etc/resolv.conf",
    "--vnet": "[]",
    "--drop-invalid-packets": "false",
    "--iptables-logs": "false",
    "--disable-comments": "false",
    "--dry-run": "false",
    "--verbose": "false",
    "--wait": "5",
    "--wait-interval": "0",
    "--max-retries": "4",
    "--sleep-between-retries": "2s",
    "--iptables-executables": None,  # "—" in the table: any stated default
    "--store-firewalld": "unset",
    "--loopback-interface": None,
    "--assume-ipv6": None,
    "--assume-conntrack": "yes",
    "--assume-docker-output": "no",
    "--assume-mangle": "yes",
}
# options without a flag (key or env only), by the name the help gives them
KEY_DEFAULTS = {
    "redirect.inbound.includePorts": "[]",
    "redirect.inbound.excludePortsForUIDs": "[]",
    "redirect.outbound.enabled": "true",
    "redirect.outbound.includePorts": "[]",
    "log.level": "7",
    "cniMode": "false",
    E + "REDIRECT_INBOUND_CHAIN_NAME": "INBOUND",
    E + "REDIRECT_OUTBOUND_CHAIN_NAME": "OUTBOUND",
    E + "REDIRECT_INBOUND_REDIRECT_CHAIN_NAME": "INBOUND_REDIRECT",
    E + "REDIRECT_OUTBOUND_REDIRECT_CHAIN_NAME": "OUTBOUND_REDIRECT",
}
ENV_SUFFIXES = [
    "KUMA_DP_USER", "IP_FAMILY_MODE", "REDIRECT_INBOUND_ENABLED", "REDIRECT_INBOUND_PORT",
    "REDIRECT_INBOUND_EXCLUDE_PORTS", "REDIRECT_INBOUND_INCLUDE_PORTS",
    "REDIRECT_INBOUND_EXCLUDE_PORTS_FOR_IPS", "REDIRECT_INBOUND_EXCLUDE_PORTS_FOR_UIDS",
    "REDIRECT_INBOUND_INSERT_REDIRECT_INSTEAD_OF_APPEND", "REDIRECT_OUTBOUND_ENABLED",
    "REDIRECT_OUTBOUND_PORT", "REDIRECT_OUTBOUND_EXCLUDE_PORTS", "REDIRECT_OUTBOUND_INCLUDE_PORTS",
    "REDIRECT_OUTBOUND_EXCLUDE_PORTS_FOR_IPS", "REDIRECT_OUTBOUND_EXCLUDE_PORTS_FOR_UIDS",
    "REDIRECT_OUTBOUND_INSERT_REDIRECT_INSTEAD_OF_APPEND", "REDIRECT_DNS_ENABLED",
    "REDIRECT_DNS_CAPTURE_ALL", "REDIRECT_DNS_PORT", "REDIRECT_DNS_SKIP_CONNTRACK_ZONE_SPLIT",
    "REDIRECT_DNS_RESOLV_CONFIG_PATH", "REDIRECT_VNET_NETWORKS", "DROP_INVALID_PACKETS",
    "LOG_ENABLED", "LOG_LEVEL", "COMMENTS_DISABLED", "REDIRECT_INBOUND_CHAIN_NAME",
    "REDIRECT_OUTBOUND_CHAIN_NAME", "REDIRECT_INBOUND_REDIRECT_CHAIN_NAME",
    "REDIRECT_OUTBOUND_REDIRECT_CHAIN_NAME", "DRY_RUN", "VERBOSE", "WAIT", "WAIT_INTERVAL",
    "RETRY_MAX_RETRIES", "RETRY_SLEEP_BETWEEN_RETRIES", "IPTABLES_EXECUTABLES", "STORE_FIREWALLD",
    "CNI_MODE",
]


def help_entries(text):
    """name -> default from the help's option blocks ("  NAME ..." then "      default: X")."""
    out, name = {}, None
    for line in text.splitlines():
        m = re.match(r"^  (\S+)", line)
        if m:
            name = re.sub(r"\[=.*$", "", m.group(1))
            out.setdefault(name, None)
            continue
        m = re.match(r"^\s+default: (.*)$", line)
        if m and name:
            out[name] = m.group(1).strip()
    return out


class HelpTest(unittest.TestCase):
    def check_help(self, verb):
        p = run([verb, "--help"], check=0)
        self.assertEqual(p.stderr, "")
        entries = help_entries(p.stdout)
        for flag, default in {**FLAG_DEFAULTS, **KEY_DEFAULTS}.items():
            with self.subTest(verb=verb, option=flag):
                self.assertIn(flag, entries, f"{verb} --help does not list {flag}")
                self.assertIsNotNone(entries[flag], f"{verb} --help: no default for {flag}")
                if default is not None:
                    self.assertEqual(entries[flag], default)
        self.assertIn("--config", entries)
        for suffix in ENV_SUFFIXES:
            self.assertIn("KUMA_TRANSPARENT_PROXY_" + suffix, p.stdout)
        # KUMA-RULES.md 7: kumactl's false claim that port 22 is excluded must not be copied
        self.assertNotRegex(p.stdout.lower(), r"ssh|tcp/22")
        return p.stdout

    def test_install_help(self):
        self.check_help("install")

    def test_generate_help(self):
        out = self.check_help("generate")
        for fmt in ("direct-xml", "iptables-restore", "json"):
            self.assertIn("--format " + fmt, out)

    def test_man_page(self):
        with open(os.path.join(SRCDIR, "man", "tproxy-firewalld.8")) as f:
            raw = f.read()
        self.assertIn(".SH RULE OPTIONS", raw)
        text = raw.replace("\\-", "-")
        text = re.sub(r"\\f[BIRP]", "", text)
        section = text[text.index(".SH RULE OPTIONS"):]
        section = section[:section.index("\n.SH ", 1)]
        for flag in list(FLAG_DEFAULTS) + ["--config"]:
            with self.subTest(flag=flag):
                self.assertRegex(section, re.escape(flag) + r"(?![A-Za-z0-9-])")
        for suffix in ["REDIRECT_INBOUND_INCLUDE_PORTS", "REDIRECT_OUTBOUND_INCLUDE_PORTS",
                       "REDIRECT_INBOUND_CHAIN_NAME", "CNI_MODE"]:
            self.assertIn(suffix, section)


# ---------------------------------------------------------------------------------------------
# 6. Options without effect, kumactl's --dry-run

class IgnoredOptionsTest(Scratch):
    IGNORED = [
        ["--wait", "5"], ["--wait-interval", "1"], ["--max-retries", "3"],
        ["--sleep-between-retries", "1m30s"],
        ["--iptables-executables", "iptables:/usr/sbin/iptables,iptables-save:/usr/sbin/"
         "iptables-save,iptables-restore:/usr/sbin/iptables-restore"],
    ]

    def test_accepted_with_a_note_and_no_effect(self):
        base = generate(*FACTS4, fmt="iptables-restore").stdout
        for opt in self.IGNORED:
            with self.subTest(opt=opt):
                p = generate(*FACTS4, *opt, fmt="iptables-restore")
                self.assertEqual(p.stdout, base)
                name = opt[0].split("=")[0]
                self.assertRegex(p.stderr, re.escape(name) + r".*no effect")
                self.assertIn("note", p.stderr)
        all_opts = [a for o in self.IGNORED for a in o]
        p = generate(*FACTS4, *all_opts, "--verbose", fmt="iptables-restore")
        self.assertEqual(p.stdout, base)
        self.tpfw("install", *FACTS4, *all_opts, "--no-reload", check=0)
        self.assertEqual(read_bytes(self.path), generate(*FACTS4).stdout.encode())

    def test_ignored_in_env_and_config(self):
        base = generate(*FACTS4).stdout
        env = {E + "WAIT": "9", E + "RETRY_MAX_RETRIES": "1", E + "STORE_FIREWALLD": "true"}
        self.assertEqual(generate(*FACTS4, env=env).stdout, base)
        cfg = self.write("ign.yaml", "wait: 3\nretry:\n  maxRetries: 2\n  sleepBetweenRetries: 5s\n"
                                     "storeFirewalld: true\n")
        self.assertEqual(generate(*FACTS4, "--config", cfg).stdout, base)

    def test_kumactl_dry_run_writes_nothing(self):
        for src in (["--dry-run"], ["--dry-run=true"]):
            for setup in ("empty", "fixture"):
                with self.subTest(src=src, setup=setup):
                    shutil.rmtree(self.dir)
                    os.mkdir(self.dir)
                    if setup == "fixture":
                        self.put_fixture("cli", "foreign.xml")
                    before = snapshot(self.tmp)
                    p = self.tpfw("install", *FACTS4, *src, check=0)
                    self.assertIn("would change", p.stdout)
                    self.assertEqual(snapshot(self.tmp), before)

    def test_dry_run_from_env_and_config_writes_nothing(self):
        cfg = self.write("dry.yaml", "dryRun: true\n")
        for args, env in ((["--config", cfg], None), ([], {E + "DRY_RUN": "true"})):
            with self.subTest(args=args, env=env):
                before = snapshot(self.tmp)
                p = self.tpfw("install", *FACTS4, *args, env=env, check=0)
                self.assertIn("would change", p.stdout)
                self.assertEqual(snapshot(self.tmp), before)
        # and --dry-run=false installs
        self.tpfw("install", *FACTS4, "--dry-run=false", "--no-reload", check=0)
        self.assertTrue(os.path.exists(self.path))


# ---------------------------------------------------------------------------------------------
# 7. generate --format direct-xml is a file firewalld accepts

class DirectXmlValidTest(Scratch):
    def test_validate_and_offline_check(self):
        resolv = self.resolv()
        sets = [
            [],
            ["--redirect-dns", "--resolv-conf", resolv, "--vnet", "docker0:172.17.0.0/16",
             "--vnet", "br0:fd00:1::/64", "--iptables-logs", "--drop-invalid-packets",
             "--exclude-outbound-ports-for-uids", "tcp:22,80-90:1000-1002",
             "--exclude-outbound-ips", "10.96.0.0/12", "--exclude-inbound-ips", "fd00::1",
             "--redirect-outbound-insert-instead-of-append"],
            ["--redirect-all-dns-traffic", "--disable-comments", "--exclude-inbound-ports", "22"],
        ]
        for i, opts in enumerate(sets):
            with self.subTest(opts=opts):
                path = self.write(f"gen{i}.xml", generate(*KUMA_FACTS, *opts).stdout)
                p = run(["validate", path], check=0)
                self.assertIn("valid", p.stdout)
                ipvs = {e[1]["ipv"] for e in self.entries(path)}
                self.assertEqual(ipvs, {"ipv4", "ipv6"})
                self.assert_offline_accepts(path)

    def test_validate_rejects_a_broken_generate_output(self):
        # the validation step above can fail: a corrupted copy is refused
        text = generate(*KUMA_FACTS).stdout.replace('table="nat"', 'table="natx"', 1)
        path = self.write("broken.xml", text)
        p = run(["validate", path])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
