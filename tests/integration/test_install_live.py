# SPDX-License-Identifier: MIT
"""install/uninstall/status/reload of the CLI against a real firewalld (issue 4 acceptance).

Every test runs $TPFW_BUILDDIR/tproxy-firewalld with the sandbox's private system bus and
--firewalld-dir pointing at the sandbox's config dir, then checks the kernel with
iptables-save/ip6tables-save inside the sandbox's network namespace.

"Kuma's rules in Kuma's order" is judged against an oracle: the CLI's kumactl-style
`generate --format iptables-restore` script fed to iptables-restore in a scratch namespace,
so the order comes from iptables' own -I/-A semantics, not from the priorities under test.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest
import uuid
import xml.etree.ElementTree as ET

from integration.sandbox import FirewalldSandbox, skip_unless_possible
from tpfwtest import CLI, KUMA_FACTS

KUMA = KUMA_FACTS + ["--ip-family-mode", "dualstack"]
FOREIGN_PORT = "2222"
# Foreign entries (no owner tag), an XML comment and odd spacing that must survive byte for byte.
ORIGINAL = """<?xml version="1.0" encoding="utf-8"?>
<direct>
  <!-- hand-written by the admin: keep -->
  <rule ipv="ipv4" table="nat" chain="OUTPUT" priority="0">-p tcp --dport 2222 -j RETURN</rule>
  <chain ipv="ipv4" table="filter" chain="ADMIN_CHAIN"/>
  <rule ipv="ipv4"  table="filter" chain="ADMIN_CHAIN" priority="0">-p tcp --dport 2223 -j RETURN</rule>

  <rule ipv="ipv6" table="nat" chain="OUTPUT" priority="0">-p tcp --dport 2222 -j RETURN</rule>
</direct>
""".encode()
BAD_IMPORT = "*nat\n-A OUTPUT -p tcp --dport 9 -j NO_SUCH_TARGET\nCOMMIT\n"

_tmp = None
RESOLV = None
DNS = None  # --redirect-dns and --iptables-logs: inserted (negative priority) nat OUTPUT rules


def setUpModule():
    global _tmp, RESOLV, DNS
    skip_unless_possible(CLI)
    _tmp = tempfile.mkdtemp(prefix="tpfw-live-")
    os.chmod(_tmp, 0o755)
    RESOLV = os.path.join(_tmp, "resolv.conf")
    with open(RESOLV, "w") as f:
        f.write("nameserver 10.0.0.53\nnameserver fd00::53\n")
    DNS = ["--redirect-dns", "--resolv-conf", RESOLV, "--iptables-logs"]


def tearDownModule():
    if _tmp:
        shutil.rmtree(_tmp, ignore_errors=True)


# ---- iptables-save parsing and the oracle ----

def parse_save(text):
    """{table: {"user_chains": set, "rules": {chain: [line, ...]}}} without comments, counters,
    empty built-in chains and empty tables (iptables-nft keeps a table once it was used)."""
    tables = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("*"):
            cur = tables.setdefault(line[1:].strip(), {"user_chains": set(), "rules": {}})
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            if policy == "-":
                cur["user_chains"].add(name)
        elif line.startswith("-A "):
            cur["rules"].setdefault(line.split()[1], []).append(line)
    return {t: v for t, v in tables.items() if v["user_chains"] or v["rules"]}


def error_lines(stderr):
    """The CLI's stderr without its warnings/notes (e.g. '::6/128 is not configured on lo')."""
    return [l for l in stderr.splitlines() if not re.match(r"tproxy-firewalld: (warning|note):", l)]


_oracle_cache = {}


def kuma_script(args):
    """{4: iptables-restore text, 6: ...} from `generate --format iptables-restore`, plus the
    number of -I rules per (family, table, chain)."""
    p = subprocess.run([CLI, "generate", "--format", "iptables-restore"] + list(args),
                       capture_output=True, text=True, timeout=60, env=clean_env())
    if p.returncode != 0:
        raise AssertionError(f"generate failed: {p.stderr}")
    scripts = {4: [], 6: []}
    inserted = {}
    fam = 4
    table = None
    for line in p.stdout.splitlines():
        if line.strip() == "### IPv4 ###":
            fam = 4
            continue
        if line.strip() == "### IPv6 ###":
            fam = 6
            continue
        m = re.match(r"^\*\s*(\w+)\s*$", line)
        if m:  # kumactl writes "* nat"; iptables-restore wants "*nat"
            table = m.group(1)
            line = "*" + table
        m = re.match(r"^-I (\S+) \d+ ", line)
        if m:
            key = (fam, table, m.group(1))
            inserted[key] = inserted.get(key, 0) + 1
        scripts[fam].append(line)
    return {f: "\n".join(l) + "\n" for f, l in scripts.items()}, inserted


def oracle(args):
    """(parsed iptables-save per family after loading Kuma's script into an empty namespace,
    inserted counts)."""
    key = tuple(args)
    if key in _oracle_cache:
        return _oracle_cache[key]
    scripts, inserted = kuma_script(args)
    ns = "tpfw-oracle-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        result = {}
        for fam, tool in ((4, "iptables"), (6, "ip6tables")):
            subprocess.run(["ip", "netns", "exec", ns, tool + "-restore"], input=scripts[fam],
                           text=True, check=True, capture_output=True)
            save = subprocess.run(["ip", "netns", "exec", ns, tool + "-save"], check=True,
                                  capture_output=True, text=True).stdout
            result[fam] = parse_save(save)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    _oracle_cache[key] = (result, inserted)
    return _oracle_cache[key]


def clean_env(extra=None):
    e = dict(os.environ)
    e["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=/nonexistent/tpfw-test-bus"
    for k in list(e):
        if k.startswith("KUMA_TRANSPARENT_PROXY_"):
            del e[k]
    e.update(extra or {})
    return e


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def file_entries(path):
    """Multiset (sorted list) of (tag, ipv, table, chain, priority, argv) as firewalld reads them."""
    out = []
    for el in ET.parse(path).getroot():
        if el.tag not in ("rule", "chain", "passthrough"):
            continue
        argv = tuple(shlex.split((el.text or "").replace("\n", " "))) if el.tag != "chain" else ()
        out.append((el.tag, el.get("ipv"), el.get("table") or "", el.get("chain") or "",
                    el.get("priority") or "", argv))
    return sorted(out)


class LiveBase(unittest.TestCase):
    """One sandbox per class (InstallLiveTest's setUp puts ORIGINAL back and reloads).
    Measured: the whole module takes about 15 s, most of it firewalld reloads."""

    initial_start = True

    @classmethod
    def setUpClass(cls):
        cls.sb = FirewalldSandbox.for_class(cls, start=cls.initial_start,
                                            direct_xml=ORIGINAL.decode())
        cls.path = cls.sb.direct_xml_path
        if cls.initial_start:
            cls.baseline = {f: parse_save(cls.sb.iptables_save(f)) for f in (4, 6)}

    def cli(self, *args, env=None, pre=(), cli=CLI, check=None):
        p = self.sb.run_tool(cli, *args, env=env, pre=pre)
        if check is not None:
            self.assertEqual(p.returncode, check,
                             f"{args}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def kernel(self):
        return {f: parse_save(self.sb.iptables_save(f)) for f in (4, 6)}

    def assert_kernel(self, kuma, baseline=None, snapshot=None):
        """The namespace holds exactly the foreign baseline plus kuma (an oracle result, or None
        for no Kuma rules): Kuma's rules in Kuma's order, the foreign ones in theirs."""
        baseline = baseline or self.baseline
        empty = {"user_chains": set(), "rules": {}}
        snapshot = snapshot or self.kernel()
        for fam in (4, 6):
            s_all, f_all = snapshot[fam], baseline[fam]
            k_all = kuma[fam] if kuma else {}
            for table in set(s_all) | set(f_all) | set(k_all):
                s, f, k = (x.get(table, empty) for x in (s_all, f_all, k_all))
                where = f"ipv{fam} {table}"
                self.assertEqual(s["user_chains"], f["user_chains"] | k["user_chains"], where)
                for chain in set(s["rules"]) | set(f["rules"]) | set(k["rules"]):
                    got = s["rules"].get(chain, [])
                    foreign = f["rules"].get(chain, [])
                    self.assertEqual([r for r in got if r not in foreign],
                                     k["rules"].get(chain, []), f"{where} {chain}")
                    self.assertEqual([r for r in got if r in foreign], foreign,
                                     f"{where} {chain}")

    def assert_no_kuma_in_kernel(self):
        for fam in (4, 6):
            text = self.sb.iptables_save(fam)
            self.assertNotIn("KUMA_MESH", text)
            self.assertNotIn("kuma/mesh", text)
            self.assertNotIn("tproxy-firewalld/", text)

    def assert_running(self):
        self.assertEqual(self.sb.get_state(), "RUNNING", self.sb.log_text()[-3000:])


class InstallLiveTest(LiveBase):
    def setUp(self):
        # back to the admin's file, applied
        self.sb.write_direct_xml(ORIGINAL.decode())
        for extra in ("direct.xml.old",):
            p = os.path.join(self.sb.config_dir, extra)
            if os.path.exists(p):
                os.unlink(p)
        self.sb.dbus_reload()
        self.assert_running()
        self.assertEqual(self.kernel(), self.baseline)

    def test_baseline_has_the_foreign_rules(self):
        # guards the other tests against comparing nothing with nothing
        nat4 = self.baseline[4]["nat"]["rules"]["OUTPUT"]
        nat6 = self.baseline[6]["nat"]["rules"]["OUTPUT"]
        self.assertEqual(len(nat4), 1)
        self.assertIn("--dport 2222 -j RETURN", nat4[0])
        self.assertEqual(len(nat6), 1)
        self.assertIn("ADMIN_CHAIN", self.baseline[4]["filter"]["user_chains"])

    # 1
    def test_install_kuma_defaults_dual_stack(self):
        p = self.cli("install", *KUMA, check=0)
        self.assertIn("reload: done", p.stdout)
        self.assertEqual(error_lines(p.stderr), [])
        self.assert_running()
        kuma, _ = oracle(KUMA)
        self.assertIn("KUMA_MESH_OUTBOUND", kuma[6]["nat"]["user_chains"])
        self.assert_kernel(kuma)
        # the admin's bytes are all still there, in front of ours
        data = read_bytes(self.path)
        self.assertIn(b"<!-- hand-written by the admin: keep -->", data)
        self.assertIn(b'<rule ipv="ipv4"  table="filter" chain="ADMIN_CHAIN" priority="0">', data)
        # a second run is a no-op: no write, nothing to reload
        st = os.stat(self.path)
        p = self.cli("install", *KUMA, check=0)
        self.assertIn("no change", p.stdout)
        self.assertIn("reload: skipped", p.stdout)
        self.assertEqual(os.stat(self.path).st_mtime_ns, st.st_mtime_ns)
        self.assertEqual(read_bytes(self.path), data)
        p = self.cli("status", *KUMA, check=0)
        self.assertNotIn("DRIFT", p.stdout)

    # 2
    def test_foreign_priority_0_between_inserted_and_appended(self):
        p = self.cli("install", *KUMA, *DNS, check=0)
        self.assertIn("reload: done", p.stdout)
        kuma, inserted = oracle(KUMA + DNS)
        self.assert_kernel(kuma)
        for fam in (4, 6):
            n = inserted.get((fam, "nat", "OUTPUT"), 0)
            k = kuma[fam]["nat"]["rules"]["OUTPUT"]
            self.assertGreaterEqual(n, 2, "no inserted nat OUTPUT rules: the test proves nothing")
            self.assertGreater(len(k) - n, 0, "no appended nat OUTPUT rules")
            foreign = self.baseline[fam]["nat"]["rules"]["OUTPUT"]
            got = self.kernel()[fam]["nat"]["rules"]["OUTPUT"]
            self.assertEqual(got, k[:n] + foreign + k[n:], f"ipv{fam} nat OUTPUT")
        self.assert_running()

    # 3
    def test_uninstall_leaves_the_original(self):
        self.cli("install", *KUMA, *DNS, check=0)
        self.assertNotEqual(read_bytes(self.path), ORIGINAL)
        p = self.cli("uninstall", check=0)
        self.assertIn("reload: done", p.stdout)
        self.assertEqual(error_lines(p.stderr), [])
        self.assertEqual(read_bytes(self.path), ORIGINAL)
        self.assert_no_kuma_in_kernel()
        self.assert_kernel(None)
        self.assert_running()
        p = self.cli("status", check=0)
        self.assertIn("0 rules, 0 chains", p.stdout)
        # uninstalling again changes nothing
        st = os.stat(self.path)
        self.assertIn("no change", self.cli("uninstall", check=0).stdout)
        self.assertEqual(os.stat(self.path).st_mtime_ns, st.st_mtime_ns)

    # 4
    def test_rejected_import_rolls_back(self):
        self.cli("install", *KUMA, check=0)
        before_file = read_bytes(self.path)
        before_kernel = self.kernel()
        bad = os.path.join(_tmp, "bad.rules")
        with open(bad, "w") as f:
            f.write(BAD_IMPORT)

        p = self.cli("install", "--from-iptables-restore", bad, check=1)
        lines = error_lines(p.stderr)
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn("COMMAND_FAILED", lines[0])
        self.assertIn("NO_SUCH_TARGET", lines[0])
        self.assertIn("restored", lines[0])
        self.assertIn("reload: rolled-back", p.stdout)
        self.assertEqual(read_bytes(self.path), before_file)
        self.assert_running()
        self.assertEqual(self.kernel(), before_kernel)
        self.assert_kernel(oracle(KUMA)[0])

        # the same through --json
        p = self.cli("install", "--json", "--from-iptables-restore", bad, check=1)
        obj = json.loads(p.stdout)
        self.assertEqual(obj["reload"], "rolled-back")
        self.assertFalse(obj["verified"])
        self.assertIn("COMMAND_FAILED", obj["error"])
        self.assertEqual(read_bytes(self.path), before_file)
        self.assert_running()
        self.assertEqual(self.kernel(), before_kernel)

    # 5
    def test_foreign_permanent_write_keeps_our_rules(self):
        self.cli("install", *KUMA, check=0)
        ours = file_entries(self.path)
        # at once, inside the window in which firewalld 1.3.3's file watcher has not re-read it
        extra = ["-p", "tcp", "--dport", "2224", "-j", "ACCEPT"]
        p = self.sb.firewall_cmd(["--permanent", "--direct", "--add-rule", "ipv4", "filter",
                                  "INPUT", "0"] + extra)
        self.assertEqual(p.returncode, 0, p.stderr)
        after = file_entries(self.path)
        # firewalld rewrote the file from memory (it drops XML comments) ...
        self.assertNotIn(b"<!--", read_bytes(self.path))
        self.assertIn(("rule", "ipv4", "filter", "INPUT", "0", tuple(extra)), after)
        # ... and its memory held our entries: nothing lost
        missing = [e for e in ours if e not in after]
        self.assertEqual(missing, [])
        self.assertEqual(len(after), len(ours) + 1)

    # 9
    def test_status_drift_and_repair(self):
        self.cli("install", *KUMA, check=0)
        p = self.cli("status", check=0)
        self.assertEqual(p.stdout.count("in sync"), 2, p.stdout)
        victim = next(e for e in file_entries(self.path)
                      if e[:4] == ("rule", "ipv4", "nat", "OUTPUT") and "--comment" in e[5])
        comment = victim[5][victim[5].index("--comment") + 1]

        def remove_runtime():
            q = self.sb.firewall_cmd(["--direct", "--remove-rule", "ipv4", "nat", "OUTPUT",
                                      victim[4]] + list(victim[5]))
            self.assertEqual(q.returncode, 0, q.stderr)
            self.assertNotIn(comment, self.sb.iptables_save(4, "nat"))
            q = self.cli("status", check=3)
            self.assertIn("runtime    DRIFT", q.stdout)
            self.assertIn("missing rule ipv4 nat OUTPUT " + victim[4], q.stdout)
            self.assertIn(shlex.quote(comment), q.stdout)
            self.assertIn("permanent  in sync", q.stdout)

        # repaired by the reload command
        remove_runtime()
        q = self.cli("reload", check=0)
        self.assertEqual(q.stdout, "reload: done, state RUNNING\n")
        self.cli("status", check=0)
        self.assert_kernel(oracle(KUMA)[0])

        # repaired by a re-install: the file is already right, the runtime is not
        remove_runtime()
        st = os.stat(self.path)
        q = self.cli("install", *KUMA, check=0)
        self.assertIn("no change", q.stdout)
        self.assertIn("reload: done", q.stdout)
        self.assertEqual(os.stat(self.path).st_mtime_ns, st.st_mtime_ns)
        self.cli("status", check=0)
        self.assert_kernel(oracle(KUMA)[0])

    def test_json_install(self):
        obj = json.loads(self.cli("install", "--json", *KUMA, check=0).stdout)
        self.assertEqual((obj["changed"], obj["reload"], obj["verified"], obj["error"]),
                         (True, "done", True, None))
        self.assertGreater(obj["added"], 0)
        self.assertEqual(obj["removed"], 0)
        obj = json.loads(self.cli("install", "--json", *KUMA, check=0).stdout)
        self.assertEqual((obj["changed"], obj["reload"], obj["verified"]),
                         (False, "skipped", True))
        obj = json.loads(self.cli("uninstall", "--json", check=0).stdout)
        self.assertEqual((obj["changed"], obj["reload"], obj["verified"], obj["error"]),
                         (True, "done", True, None))
        self.assertGreater(obj["removed"], 0)
        self.assertEqual(read_bytes(self.path), ORIGINAL)

    # 8
    def test_runtime_only(self):
        st = os.stat(self.path)
        kuma = oracle(KUMA)[0]
        for how in ({"args": ["--runtime-only"], "env": None},
                    {"args": [], "env": {"KUMA_TRANSPARENT_PROXY_STORE_FIREWALLD": "false"}}):
            with self.subTest(**how):
                p = self.cli("install", *how["args"], *KUMA, env=how["env"], check=0)
                self.assertEqual(error_lines(p.stderr), [])
                self.assert_kernel(kuma)
                self.assertEqual(read_bytes(self.path), ORIGINAL)
                self.assertEqual(os.stat(self.path).st_mtime_ns, st.st_mtime_ns)
                self.assertFalse(os.path.exists(self.path + ".old"))
                # the runtime now differs from the file, and status says so
                q = self.cli("status", check=3)
                self.assertIn("runtime    DRIFT", q.stdout)
                # a runtime-only install again is a no-op
                q = self.cli("install", "--json", *how["args"], *KUMA, env=how["env"], check=0)
                self.assertEqual(json.loads(q.stdout)["changed"], False)
                # a firewalld reload drops runtime-only entries
                self.sb.dbus_reload()
                self.assert_running()
                self.assert_kernel(None)
                # and a runtime-only uninstall removes them
                self.cli("install", *how["args"], *KUMA, env=how["env"], check=0)
                self.assert_kernel(kuma)
                self.cli("uninstall", *how["args"], env=how["env"], check=0)
                self.assert_kernel(None)
                self.assert_no_kuma_in_kernel()
                self.assertEqual(read_bytes(self.path), ORIGINAL)
                self.assertEqual(os.stat(self.path).st_mtime_ns, st.st_mtime_ns)
                self.cli("status", check=0)

    # 7
    def test_non_root_is_refused_and_nothing_changes(self):
        if not shutil.which("setpriv"):
            self.skipTest("setpriv is missing")
        # a CLI binary and a config dir that uid 65534 can read
        bindir = tempfile.mkdtemp(prefix="tpfw-live-bin-")
        self.addCleanup(shutil.rmtree, bindir, True)
        os.chmod(bindir, 0o755)
        cli = os.path.join(bindir, "tproxy-firewalld")
        shutil.copy(CLI, cli)
        mode = os.stat(self.sb.config_dir).st_mode & 0o7777
        os.chmod(self.sb.config_dir, 0o755)
        self.addCleanup(os.chmod, self.sb.config_dir, mode)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

        self.cli("install", *KUMA, check=0)
        file_before = read_bytes(self.path)
        kernel_before = self.kernel()
        listing = sorted(os.listdir(self.sb.config_dir))

        def refused(*args):
            p = self.cli(*args, pre=nobody, cli=cli, check=1)
            lines = error_lines(p.stderr)
            self.assertEqual(lines, ["tproxy-firewalld: not authorised to talk to firewalld "
                                     "(run as root)"], f"{args}: {p.stderr}")
            self.assertEqual(read_bytes(self.path), file_before)
            self.assertEqual(sorted(os.listdir(self.sb.config_dir)), listing)
            self.assertEqual(self.kernel(), kernel_before)
            self.assert_running()

        # a caller that cannot write /etc/firewalld, and one that can (group-writable setups):
        # both are stopped before the file changes
        for writable in (False, True):
            with self.subTest(writable=writable):
                if writable:
                    os.chown(self.sb.config_dir, 65534, 65534)
                    os.chown(self.path, 65534, 65534)
                try:
                    refused("install", *KUMA, *DNS)
                    refused("uninstall")
                    refused("reload")
                finally:
                    os.chown(self.sb.config_dir, 0, 0)
                    os.chown(self.path, 0, 0)
        p = self.cli("status", pre=nobody, cli=cli, check=1)
        self.assertIn("not authorised", p.stderr)


class StoppedFirewalldTest(LiveBase):
    """6: firewalld not running (its bus name has no owner) while installing."""

    initial_start = False

    def test_install_while_stopped_applies_at_start(self):
        self.assertIsNone(self.sb.get_state())
        p = self.cli("install", *KUMA, check=0)
        self.assertIn("reload: not-running", p.stdout)
        self.assertEqual(error_lines(p.stderr), [])
        self.assertIn(b"tproxy-firewalld/kuma kuma/mesh/transparent/proxy", read_bytes(self.path))
        obj = json.loads(self.cli("install", "--json", *KUMA, check=0).stdout)
        self.assertEqual((obj["changed"], obj["reload"], obj["verified"]),
                         (False, "not-running", False))
        p = self.cli("install", "--require-running", *KUMA, check=1)
        lines = error_lines(p.stderr)
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn("firewalld is not running", lines[0])
        written = read_bytes(self.path)

        # start: the foreign and Kuma rules are in the kernel, straight away
        self.sb.start()
        self.assert_running()
        at_start = self.kernel()
        self.cli("status", *KUMA, check=0)
        # the foreign-only kernel state, from ORIGINAL alone, to compare with
        self.sb.write_direct_xml(ORIGINAL.decode())
        self.sb.dbus_reload()
        baseline = self.kernel()
        self.assertIn("--dport 2222", "".join(baseline[4]["nat"]["rules"]["OUTPUT"]))
        self.assert_kernel(oracle(KUMA)[0], baseline, snapshot=at_start)
        self.assertNotEqual(written, ORIGINAL)


if __name__ == "__main__":
    unittest.main()
