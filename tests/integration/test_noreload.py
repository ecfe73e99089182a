# SPDX-License-Identifier: MIT
"""Applying without a reload (issue 14) against a real firewalld in a namespace.

- others' runtime-only state survives install, re-install with other options, uninstall and a
  rolled-back install;
- the kernel after the delta apply equals the kernel after a full reload of the same file;
- new TCP connections into the sandbox every ~10 ms while the tool installs and uninstalls: none
  fails or waits over 500 ms with the delta; the same stream with --reload-mode full must see
  some (a reload drops new connections while firewalld rebuilds), so the test can fail;
- install/uninstall racing firewall-cmd --permanent --direct and --runtime-to-permanent at random
  offsets: no acknowledged change is lost on either side;
- fault injection at the new steps (runtime calls, permanent update, replace, verify, rollback).

All classes share one sandbox (started once for the module); each class starts from the original
file and a reload, and each test brings the owner's entries to the state it needs with the tool
itself. The D-Bus calls of firewall-cmd are made by one long-lived client (dbus_client.py), so
that a race iteration costs a tool run, not two Python start-ups; a few iterations of each race
run the real firewall-cmd.
"""
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import unittest
import uuid
import xml.etree.ElementTree as ET

from integration.conn_stream import CLIENT, SERVER
from integration.sandbox import FW_CONFIG_PATH, FW_PATH, FirewalldSandbox, skip_unless_possible
from integration.test_install_live import BAD_IMPORT, ORIGINAL as ORIGINAL_BYTES
from tpfwtest import CLI, CLI_FAULT, KUMA_FACTS, read_bytes

KUMA = KUMA_FACTS + ["--ip-family-mode", "dualstack"]
# IPv4 only (4 chains, 11 rules): enough runtime calls for the fault points, half the run time
KUMA4 = KUMA_FACTS + ["--ip-family-mode", "ipv4"]
# the foreign entries, comment and odd spacing of the install tests, as text
ORIGINAL = ORIGINAL_BYTES.decode()
TABLES = ("raw", "mangle", "nat", "filter")
RUNTIME_DIRECT = ["ipv4", "filter", "INPUT", "0", "-s", "203.0.113.9", "-j", "DROP"]
RICH = 'rule family="ipv4" source address="198.51.100.7" reject'
HERE = os.path.dirname(os.path.abspath(__file__))
DIRECT = (FW_PATH, "org.fedoraproject.FirewallD1.direct")
PERM_DIRECT = (FW_CONFIG_PATH, "org.fedoraproject.FirewallD1.config.direct")
ZONE = (FW_PATH, "org.fedoraproject.FirewallD1.zone")
TAG = "tproxy-firewalld/kuma"


def setUpModule():
    skip_unless_possible()
    if not os.access(CLI, os.X_OK):
        raise unittest.SkipTest(f"{CLI} is not built")


def strip(text):
    return "\n".join(re.sub(r"\[\d+:\d+\]", "", l) for l in text.splitlines()
                     if not l.startswith("#"))


class FirewalldClient:
    """dbus_client.py under the system python: firewall-cmd's D-Bus calls without its start-up."""

    def __init__(self, sb):
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "dbus_client.py")],
                                     env=sb.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        ready = self.receive()
        if ready != {"ok": True, "result": "ready"}:
            raise RuntimeError(f"dbus_client.py did not start: {ready}")

    def send(self, obj, method, sig="", *args):
        """Sends a call without waiting for its answer (receive() takes it)."""
        self.proc.stdin.write(json.dumps({"path": obj[0], "iface": obj[1], "method": method,
                                          "sig": sig, "args": list(args)}) + "\n")
        self.proc.stdin.flush()

    def receive(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("dbus_client.py exited")
        return json.loads(line)

    def call(self, obj, method, sig="", *args):
        """The call's result; a D-Bus error raises."""
        self.send(obj, method, sig, *args)
        out = self.receive()
        if not out["ok"]:
            raise RuntimeError(f"{method}: {out['error']}")
        return out["result"]

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


_shared = {}


def shared_sandbox():
    """One firewalld for the whole module, closed when the module's tests are done."""
    if "sb" not in _shared:
        sb = FirewalldSandbox(direct_xml=ORIGINAL)
        unittest.addModuleCleanup(sb.close)
        sb.start()
        fw = FirewalldClient(sb)
        unittest.addModuleCleanup(fw.close)
        _shared.update(sb=sb, fw=fw)
    return _shared["sb"], _shared["fw"]


def entries(text):
    """The entries of a direct.xml as a set (firewalld's rewrite keeps them, not the bytes)."""
    return {(e.tag, tuple(sorted(e.attrib.items())), " ".join((e.text or "").split()))
            for e in ET.fromstring(text)}


def tagged(rules):
    """How many of getAllRules' rules carry the owner's tag."""
    return sum(1 for r in rules if any(a.startswith(TAG) for a in r[4]))


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sb, cls.fw = shared_sandbox()
        cls.reset()

    def tool(self, *args, cli=CLI, env=None, check=True):
        e = dict(self.sb.env)
        e.update(env or {})
        p = subprocess.run([cli, "--firewalld-dir", self.sb.config_dir] + list(args), env=e,
                           capture_output=True, text=True, timeout=300)
        if check:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stdout}{p.stderr}")
        return p

    @classmethod
    def reset(cls):
        """The original file and a reload: no owner's entries, nobody's runtime-only state."""
        old = cls.sb.direct_xml_path + ".old"
        if os.path.exists(old):
            os.unlink(old)
        cls.sb.write_direct_xml(ORIGINAL)
        cls.sb.dbus_reload()

    def kernel(self):
        return {(f, t): strip(self.sb.iptables_save(f, t)) for f in (4, 6) for t in TABLES}

    def others_runtime(self):
        """The runtime-only state of others that a reload would wipe."""
        return {
            "ports": sorted(map(tuple, self.fw.call(ZONE, "getPorts", "s", ""))),
            "direct": "203.0.113.9" in json.dumps(self.fw.call(DIRECT, "getAllRules")),
            "rich": self.fw.call(ZONE, "getRichRules", "s", ""),
            "interfaces": self.fw.call(ZONE, "getInterfaces", "s", "trusted"),
        }


class RuntimeStateTest(Base):
    def test_others_runtime_state_survives(self):
        self.reset()
        # what firewall-cmd --add-port, --direct --add-rule, --add-rich-rule and
        # --zone=trusted --add-interface send
        self.fw.call(ZONE, "addPort", "sssi", "", "4444", "tcp", 0)
        self.fw.call(DIRECT, "addRule", "sssias", *RUNTIME_DIRECT[:3], 0, RUNTIME_DIRECT[4:])
        self.fw.call(ZONE, "addRichRule", "ssi", "", RICH, 0)
        self.fw.call(ZONE, "addInterface", "ss", "trusted", "tpfwdummy0")
        want = self.others_runtime()
        self.assertIn(("4444", "tcp"), want["ports"])
        self.assertEqual((want["direct"], want["rich"], want["interfaces"]),
                         (True, [RICH], ["tpfwdummy0"]))
        steps = [("install", KUMA), ("re-install", KUMA + ["--redirect-dns"]),
                 ("uninstall", None)]
        for what, opts in steps:
            args = ["install"] + opts if opts else ["uninstall"]
            self.tool(*args)
            self.assertEqual(self.others_runtime(), want, what)
        # a rolled-back install: iptables rejects the rule, the runtime edit fails
        bad = os.path.join(self.sb.tmpdir, "bad.rules")
        with open(bad, "w") as f:
            f.write(BAD_IMPORT)
        before = read_bytes(self.sb.direct_xml_path)
        kernel = self.kernel()
        p = self.tool("--json", "install", "--from-iptables-restore", bad, check=False)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('"reload":"rolled-back"', p.stdout.replace(" ", ""))
        self.assertEqual(read_bytes(self.sb.direct_xml_path), before)
        self.assertEqual(self.kernel(), kernel)
        self.assertEqual(self.others_runtime(), want, "rolled-back install")
        # and the full mode does wipe them (what the man page warns about)
        self.tool("install", "--reload-mode", "full", *KUMA)
        self.assertNotIn(("4444", "tcp"), self.others_runtime()["ports"])

    def test_file_and_permanent_copy_agree_at_return(self):
        """An admin's --permanent --direct call right after the tool keeps the owner's entries,
        and the file is the tool's bytes (comment kept) until then."""
        self.reset()
        self.tool("install", *KUMA)
        data = read_bytes(self.sb.direct_xml_path)
        self.assertIn(b"hand-written by the admin", data)
        self.assertEqual(read_bytes(self.sb.direct_xml_path + ".old"), ORIGINAL.encode())
        p = self.sb.firewall_cmd(["--permanent", "--direct", "--add-rule", "ipv4", "filter",
                                  "INPUT", "0", "-s", "198.51.100.1", "-j", "DROP"])
        self.assertEqual(p.returncode, 0, p.stderr)
        after = read_bytes(self.sb.direct_xml_path).decode()
        self.assertEqual(after.count("tproxy-firewalld/kuma"),
                         data.decode().count("tproxy-firewalld/kuma"))
        self.assertIn("198.51.100.1", after)
        p = self.tool("status")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class KernelEqualityTest(Base):
    def test_delta_equals_full_reload(self):
        for opts in (KUMA, KUMA + ["--redirect-dns", "--exclude-inbound-ports", "22"], None):
            with self.subTest(opts=opts):
                args = ["install"] + opts if opts else ["uninstall"]
                self.tool(*args)
                delta = self.kernel()
                self.sb.dbus_reload()
                self.assertEqual(self.sb.get_state(), "RUNNING")
                full = self.kernel()
                for k in full:
                    self.assertEqual(delta[k], full[k], f"{k} differs after {args}")


# ---- connections during applies ----



class ConnectionStreamTest(Base):
    """A client namespace joined to the sandbox by a veth pair connects to a port the sandbox's
    firewalld opens permanently, every 10 ms, during 10 installs and 10 uninstalls. A connection
    counts as bad when it fails or takes over 500 ms: a SYN dropped by the reload's DROP policy
    is retransmitted after 1 s, far beyond that, while a loaded 2-CPU machine stays well below."""

    PORT = 4711
    RUNS = 10

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sb = cls.sb
        cls.client_ns = "tpfw-client-%s" % uuid.uuid4().hex[:8]
        cls.server = None
        cls.addClassCleanup(cls._teardown)
        subprocess.run(["ip", "netns", "add", cls.client_ns], check=True)
        subprocess.run(["ip", "link", "add", "tpfwc0", "netns", cls.client_ns, "type", "veth",
                        "peer", "name", "tpfws0", "netns", sb.netns], check=True)
        for ns, dev, addr in ((cls.client_ns, "tpfwc0", "10.231.0.1/24"),
                              (sb.netns, "tpfws0", "10.231.0.2/24")):
            subprocess.run(["ip", "-n", ns, "addr", "add", addr, "dev", dev], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        fc = sb.firewall_cmd
        assert fc(["--permanent", "--add-port=%d/tcp" % cls.PORT]).returncode == 0
        sb.dbus_reload()
        cls.server = subprocess.Popen(["ip", "netns", "exec", sb.netns, sys.executable, "-c",
                                       SERVER, str(cls.PORT)], stdout=subprocess.PIPE, text=True)
        assert cls.server.stdout.readline().strip() == "ready"

    @classmethod
    def _teardown(cls):
        if cls.server is not None:
            cls.server.kill()
            cls.server.wait()
            cls.server.stdout.close()
        subprocess.run(["ip", "netns", "del", cls.client_ns], capture_output=True)

    def count(self, mode, runs, stop_when_hurt=False):
        """(connections, bad ones) during runs installs and uninstalls in mode; with
        stop_when_hurt, stops after the first pair that hurt a connection."""
        self.reset()
        client = subprocess.Popen(["ip", "netns", "exec", self.client_ns, sys.executable, "-c",
                                   CLIENT, "10.231.0.2", str(self.PORT)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

        def ask(what):
            client.stdin.write(what + "\n")
            client.stdin.flush()
            return tuple(map(int, client.stdout.readline().split()))

        try:
            # the stream runs before the first apply
            deadline = time.monotonic() + 5
            while ask("count")[0] < 10 and time.monotonic() < deadline:
                time.sleep(0.05)
            for _ in range(runs):
                # the stream's port is not redirected to the (absent) inbound proxy
                self.tool("install", "--reload-mode", mode, "--exclude-inbound-ports",
                          str(self.PORT), *KUMA)
                self.tool("uninstall", "--reload-mode", mode)
                # a SYN dropped near the end of an apply is retransmitted 1 s later
                if stop_when_hurt:
                    time.sleep(1.2)
                    if ask("count")[1] > 0:
                        break
            # "stop" waits for the connection in flight: a SYN dropped during the last apply
            # counts
            return ask("stop")
        finally:
            client.stdin.close()
            client.wait(timeout=30)
            client.stdout.close()

    def test_delta_drops_nothing_full_reload_does(self):
        total, bad = self.count("delta", self.RUNS)
        self.assertGreater(total, 100)
        self.assertEqual(bad, 0, f"delta: {bad} of {total} connections failed or took > 500 ms")
        total, bad = self.count("full", self.RUNS, stop_when_hurt=True)
        self.assertGreater(bad, 0, f"full reload: none of {total} connections was hurt; the "
                                   "stream cannot see what it is meant to see")


# ---- racing firewalld's own writers ----

# A small ruleset (a chain and two rules) for the D-Bus races: the windows that matter (the read,
# the permanent sync, the replace) take as long as with Kuma's, and are a larger share of a run.
RACE_RULES = """*nat
:TPFW_RACE - [0:0]
-A OUTPUT -p tcp --dport 15001 -j TPFW_RACE
-A TPFW_RACE -p tcp -j RETURN
COMMIT
"""


class RaceTest(Base):
    """Install/uninstall cycles racing firewalld's own writers. ITERATIONS per writer make the
    writer's D-Bus call (the one firewall-cmd makes) at a random offset within the tool's run;
    CMD_ITERATIONS more run the real firewall-cmd binary against a Kuma install. After each: what
    the writer acknowledged is in the file and in firewalld's permanent copy, and when the tool
    exited 0 its change is on disk, in the permanent copy and in the runtime."""

    # 50 iterations per writer in all
    ITERATIONS = 46
    CMD_ITERATIONS = 4

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rules = os.path.join(cls.sb.tmpdir, "race.rules")
        with open(cls.rules, "w") as f:
            f.write(RACE_RULES)

    def measure_window(self):
        """The tool's run time for the small ruleset: the range of the writer's offsets."""
        times = []
        for args in (["install", "--from-iptables-restore", self.rules], ["uninstall"]) * 2:
            t0 = time.monotonic()
            self.tool(*args)
            times.append(time.monotonic() - t0)
        return statistics.median(times)

    def check_tool(self, install, want, t_err):
        """None, or what is missing of the tool's change after it exited 0."""
        n_file = read_bytes(self.sb.direct_xml_path).decode().count(TAG)
        n_perm = tagged(self.fw.call(PERM_DIRECT, "getAllRules"))
        n_rt = tagged(self.fw.call(DIRECT, "getAllRules"))
        want = want if install else 0
        if (n_file, n_perm, n_rt) != (want, want, want):
            return (f"tool exited 0 but file/permanent/runtime hold {n_file}/{n_perm}/{n_rt} "
                    f"of its {want} rules: {t_err}")
        return None

    def race_dbus(self, writer, check_writer):
        """writer(i) -> (obj, method, sig, args) of the racing call; check_writer(i, file text,
        permanent rules) -> None or what it lost."""
        rng = random.Random(14)
        window = self.measure_window()
        lost = []
        for i in range(self.ITERATIONS):
            install = i % 2 == 0
            args = ["install", "--from-iptables-restore", self.rules] if install else ["uninstall"]
            offset = rng.uniform(-0.02, window)
            obj, method, sig, call_args = writer(i)
            if offset < 0:
                self.fw.send(obj, method, sig, *call_args)
                time.sleep(-offset)
            tool = subprocess.Popen([CLI, "--firewalld-dir", self.sb.config_dir] + args,
                                    env=self.sb.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            if offset >= 0:
                time.sleep(offset)
                self.fw.send(obj, method, sig, *call_args)
            answer = self.fw.receive()
            _, t_err = tool.communicate(timeout=300)
            what = f"iteration {i} ({args[0]}, {method} at {offset * 1000:+.0f} ms)"
            if answer["ok"]:
                problem = check_writer(i, read_bytes(self.sb.direct_xml_path).decode(),
                                       self.fw.call(PERM_DIRECT, "getAllRules"))
                if problem:
                    lost.append(f"{what}: {method}'s change lost: {problem}")
            if tool.returncode == 0:
                problem = self.check_tool(install, 2, t_err)
                if problem:
                    lost.append(f"{what}: {problem}")
        return lost

    def race_cmd(self, cmd_args, check_writer, first):
        """CMD_ITERATIONS with the firewall-cmd binary, 0-250 ms apart from a Kuma install or
        uninstall, in random order."""
        rng = random.Random(41)
        lost = []
        for i in range(first, first + self.CMD_ITERATIONS):
            install = i % 2 == 0
            args = ["install"] + KUMA if install else ["uninstall"]
            delay = rng.uniform(0, 0.25)
            tool_first = rng.random() < 0.5
            procs = {}

            def start_tool():
                procs["tool"] = subprocess.Popen(
                    [CLI, "--firewalld-dir", self.sb.config_dir] + args, env=self.sb.env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

            def start_other():
                procs["other"] = subprocess.Popen(["firewall-cmd"] + cmd_args(i),
                                                  env=self.sb.env, stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE, text=True)
            first_start, second = ((start_tool, start_other) if tool_first
                                   else (start_other, start_tool))
            first_start()
            time.sleep(delay)
            second()
            _, t_err = procs["tool"].communicate(timeout=300)
            procs["other"].communicate(timeout=300)
            what = f"firewall-cmd iteration {i} ({args[0]}, delay {delay:.3f}, " \
                   f"tool first {tool_first})"
            if procs["other"].returncode == 0:
                problem = check_writer(i, read_bytes(self.sb.direct_xml_path).decode(),
                                       self.fw.call(PERM_DIRECT, "getAllRules"))
                if problem:
                    lost.append(f"{what}: firewall-cmd's change lost: {problem}")
            if procs["tool"].returncode == 0:
                problem = self.check_tool(install, 22, t_err)
                if problem:
                    lost.append(f"{what}: {problem}")
        return lost

    def test_race_permanent_direct_add_remove(self):
        def addr(i):
            return "192.0.2.%d" % (i // 4 % 200 + 1)

        def rule(i):
            return ["ipv4", "filter", "INPUT", 0, ["-s", addr(i), "-j", "DROP"]]

        def writer(i):
            return (PERM_DIRECT, "addRule" if i % 4 < 2 else "removeRule", "sssias", rule(i))

        def cmd_args(i):
            verb = "--add-rule" if i % 4 < 2 else "--remove-rule"
            return ["--permanent", "--direct", verb, "ipv4", "filter", "INPUT", "0", "-s",
                    addr(i), "-j", "DROP"]

        def check(i, file_text, perm):
            present = i % 4 < 2
            if (("-s %s -j DROP" % addr(i)) in file_text) != present:
                return f"{addr(i)} in file: {not present}"
            if (rule(i) in perm) != present:
                return f"{addr(i)} in the permanent copy: {not present}"
            return None

        lost = self.race_dbus(writer, check)
        lost += self.race_cmd(cmd_args, check, self.ITERATIONS)
        self.assertEqual(lost, [])

    def test_race_runtime_to_permanent(self):
        def addr(i):
            return "192.0.2.%d" % (i % 200 + 1)

        def add_runtime(i):
            self.fw.call(DIRECT, "addRule", "sssias", "ipv4", "filter", "INPUT", 1,
                         ["-s", addr(i), "-j", "DROP"])

        def writer(i):
            add_runtime(i)
            return ((FW_PATH, "org.fedoraproject.FirewallD1"), "runtimeToPermanent", "", [])

        def cmd_args(i):
            add_runtime(i)
            return ["--runtime-to-permanent"]

        def check(i, file_text, perm):
            if addr(i) + " -j DROP" not in file_text:
                return f"{addr(i)} not in the file"
            if ["ipv4", "filter", "INPUT", 1, ["-s", addr(i), "-j", "DROP"]] not in perm:
                return f"{addr(i)} not in the permanent copy"
            return None

        lost = self.race_dbus(writer, check)
        lost += self.race_cmd(cmd_args, check, self.ITERATIONS)
        self.assertEqual(lost, [])


# ---- fault injection at the steps of the no-reload apply ----

# (spec, pre_fail): "runtime" is each runtime direct call (@1 the first, @12 one in the middle of
# the 15 of Kuma's IPv4 set), "update" the permanent sync, "replace" the tool's write over firewalld's rewrite,
# "rename@1" the store's own rename of it, "verify" the verification; "rollback" fails the
# rollback that a failed verify starts.
DELTA_POINTS = [("runtime@1", ()), ("runtime@12", ()), ("update", ()), ("replace", ()),
                ("rename@1", ()), ("verify", ()), ("rollback", ("verify",))]


class DeltaFaultTest(Base):
    """Every point as an error and as a crash (SIGKILL), each once, the operation alternating
    between install and uninstall: the file stays valid firewalld XML with every foreign entry, an
    error leaves the host as it was (file bytes, kernel and permanent copy), a failed rollback or
    a crash leaves something the next run of the normal tool (the same command) repairs:
    afterwards the kernel and firewalld's permanent copy are what a reload of the file gives."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.access(CLI_FAULT, os.X_OK):
            raise unittest.SkipTest(f"{CLI_FAULT} is not built")
        # what a reload makes of the file with and without the owner's entries
        cls.reference = {}
        for op in ("install", "uninstall"):
            args = ["install"] + KUMA4 if op == "install" else ["uninstall"]
            p = subprocess.run([CLI, "--firewalld-dir", cls.sb.config_dir] + args,
                               env=cls.sb.env, capture_output=True, text=True, timeout=300)
            assert p.returncode == 0, p.stderr
            cls.sb.dbus_reload()
            cls.reference[op] = (entries(read_bytes(cls.sb.direct_xml_path)), cls.state_of())

    @classmethod
    def state_of(cls):
        kernel = {(f, t): strip(cls.sb.iptables_save(f, t)) for f in (4, 6) for t in TABLES}
        return kernel, cls.sb.dbus_send(FW_CONFIG_PATH, "org.fedoraproject.FirewallD1.config."
                                        "direct.getSettings").stdout.split("\n", 1)[1]

    def assert_consistent(self, op, what):
        self.assertEqual(self.sb.get_state(), "RUNNING", what)
        text = read_bytes(self.sb.direct_xml_path)
        for foreign in (b"--dport 2222", b"ADMIN_CHAIN", b"--dport 2223"):
            self.assertIn(foreign, text, what)
        got = self.state_of()
        ref_entries, ref_state = self.reference[op]
        if entries(text) == ref_entries and got == ref_state:
            return  # what a reload of these entries gives, seen in setUpClass
        self.sb.dbus_reload()
        self.assertEqual(self.state_of(), got, f"{what}: firewalld does not run the file")

    def case(self, op, spec, pre_fail, mode):
        args = ["install"] + KUMA4 if op == "install" else ["uninstall"]
        # the state the operation starts from, made by the normal tool. After a firewalld
        # rewrite (no XML comment) the original file first, so that firewalld's rewrite and the
        # tool's bytes differ and the replace step is reached.
        if b"hand-written by the admin" not in read_bytes(self.sb.direct_xml_path):
            self.sb.write_direct_xml(ORIGINAL)
        self.tool(*(["uninstall"] if op == "install" else ["install"] + KUMA4))
        before = read_bytes(self.sb.direct_xml_path)
        state = self.state_of()
        env = {"TPFW_FAULT_FAIL": ",".join(list(pre_fail) + ([spec] if mode == "fail" else []))}
        if mode == "crash":
            env["TPFW_FAULT_CRASH"] = spec
        p = self.tool(*args, cli=CLI_FAULT, env=env, check=False)
        what = f"{op} {mode} at {spec}: exit {p.returncode} {p.stderr}"
        self.assertEqual(p.returncode, 1 if mode == "fail" else -9, what)
        if mode == "fail" and spec != "rollback":
            # rolled back: the host as it was
            self.assertEqual(read_bytes(self.sb.direct_xml_path), before, what)
            self.assertEqual(self.state_of(), state, what)
        p = self.tool(*args, check=False)
        self.assertEqual(p.returncode, 0, f"{what}\nnext run: {p.stderr}")
        self.assert_consistent(op, what)
        n = read_bytes(self.sb.direct_xml_path).decode().count(TAG)
        self.assertEqual(n, 11 if op == "install" else 0, what)


def _add_delta_cases(cls):
    for i, (spec, pre) in enumerate(DELTA_POINTS):
        for mode in ("fail", "crash"):
            # every point and mode once; install and uninstall take turns
            op = ("install", "uninstall")[(i + (mode == "crash")) % 2]

            def t(self, op=op, spec=spec, pre=pre, mode=mode):
                self.case(op, spec, pre, mode)
            name = f"test_{op}_{mode}_at_{spec}".replace("-", "_").replace("@", "_")
            setattr(cls, name, t)
    return cls


_add_delta_cases(DeltaFaultTest)


class ChangedMeanwhileTest(Base):
    """Something changes while the tool is stopped (SIGSTOP) at a fault point mid-apply.

    - firewalld not running at the tool's preflight starts before the tool's write, reading the
      old file: the tool looks again after the write and applies the change to it (no
      "not-running", the kernel holds the rules);
    - someone writes a larger, broken file after the tool read it: the new round cannot parse
      it, the tool fails naming it, undoes its runtime changes and leaves the other writer's
      bytes alone (the rollback must use the bytes of the round it undoes, not the new length:
      asan-check and valgrind see a mix-up)."""

    def stop_at(self, point, args):
        """The fault build of the tool, started with args and stopped at point."""
        env = dict(self.sb.env, TPFW_FAULT_STOP=point)
        tool = subprocess.Popen([CLI_FAULT, "--firewalld-dir", self.sb.config_dir] + args,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 30
        while not self.stopped(tool.pid):
            if tool.poll() is not None:
                self.fail(f"the tool exited before {point}: {tool.communicate()}")
            self.assertLess(time.monotonic(), deadline, f"the tool never reached {point}")
            time.sleep(0.02)
        return tool

    def test_broken_file_written_meanwhile(self):
        if not os.access(CLI_FAULT, os.X_OK):
            self.skipTest(f"{CLI_FAULT} is not built")
        self.reset()
        self.addCleanup(self.reset)
        kernel = self.kernel()
        tool = self.stop_at("runtime@1", ["install"] + KUMA4)
        broken = (ORIGINAL.replace("</direct>", "") + "<!-- %s -->\n" % ("x" * 4096)).encode()
        self.sb.write_direct_xml(broken.decode())
        os.kill(tool.pid, signal.SIGCONT)
        out, err = tool.communicate(timeout=300)
        self.assertEqual(tool.returncode, 1, out + err)
        self.assertIn("direct.xml", err)
        self.assertEqual(read_bytes(self.sb.direct_xml_path), broken)
        self.assertEqual(self.kernel(), kernel)

    def test_firewalld_started_between_preflight_and_write(self):
        if not os.access(CLI_FAULT, os.X_OK):
            self.skipTest(f"{CLI_FAULT} is not built")
        self.tool("uninstall")
        self.sb.stop()
        try:
            tool = self.stop_at("backup@1", ["install"] + KUMA)
        finally:
            self.sb.start()
        self.assertNotIn(b"KUMA_MESH", read_bytes(self.sb.direct_xml_path))  # not yet written
        os.kill(tool.pid, signal.SIGCONT)
        out, err = tool.communicate(timeout=300)
        self.assertEqual(tool.returncode, 0, out + err)
        self.assertNotIn("not-running", out)
        self.assertIn("KUMA_MESH", self.sb.iptables_save(4, "nat"))
        self.assertEqual(tagged(self.fw.call(PERM_DIRECT, "getAllRules")), 22)
        p = self.tool("status", *KUMA, check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    @staticmethod
    def stopped(pid):
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "T"
