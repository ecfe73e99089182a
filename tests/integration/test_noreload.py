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
"""
import os
import random
import re
import subprocess
import sys
import time
import unittest
import uuid

from integration.sandbox import FW_CONFIG_PATH, FW_PATH, FirewalldSandbox, skip_unless_possible
from tpfwtest import CLI, CLI_FAULT, KUMA_FACTS, read_bytes

KUMA = KUMA_FACTS + ["--ip-family-mode", "dualstack"]
ORIGINAL = """<?xml version="1.0" encoding="utf-8"?>
<direct>
  <!-- hand-written by the admin: keep -->
  <rule ipv="ipv4" table="nat" chain="OUTPUT" priority="0">-p tcp --dport 2222 -j RETURN</rule>
  <chain ipv="ipv4" table="filter" chain="ADMIN_CHAIN"/>
  <rule ipv="ipv4"  table="filter" chain="ADMIN_CHAIN" priority="0">-p tcp --dport 2223 -j RETURN</rule>
  <rule ipv="ipv6" table="nat" chain="OUTPUT" priority="0">-p tcp --dport 2222 -j RETURN</rule>
</direct>
"""
BAD_IMPORT = "*nat\n-A OUTPUT -p tcp --dport 9 -j NO_SUCH_TARGET\nCOMMIT\n"
TABLES = ("raw", "mangle", "nat", "filter")
RUNTIME_DIRECT = ["ipv4", "filter", "INPUT", "0", "-s", "203.0.113.9", "-j", "DROP"]
RICH = 'rule family="ipv4" source address="198.51.100.7" reject'


def setUpModule():
    skip_unless_possible()
    if not os.access(CLI, os.X_OK):
        raise unittest.SkipTest(f"{CLI} is not built")


def strip(text):
    return "\n".join(re.sub(r"\[\d+:\d+\]", "", l) for l in text.splitlines()
                     if not l.startswith("#"))


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sb = FirewalldSandbox.for_class(cls, direct_xml=ORIGINAL)

    def tool(self, *args, cli=CLI, env=None, check=True):
        e = dict(self.sb.env)
        e.update(env or {})
        p = subprocess.run([cli, "--firewalld-dir", self.sb.config_dir] + list(args), env=e,
                           capture_output=True, text=True, timeout=300)
        if check:
            self.assertEqual(p.returncode, 0, f"{args}: {p.stdout}{p.stderr}")
        return p

    def reset(self):
        for n in ("direct.xml.old",):
            if os.path.exists(os.path.join(self.sb.config_dir, n)):
                os.unlink(os.path.join(self.sb.config_dir, n))
        self.sb.write_direct_xml(ORIGINAL)
        self.sb.dbus_reload()

    def kernel(self):
        return {(f, t): strip(self.sb.iptables_save(f, t)) for f in (4, 6) for t in TABLES}

    def others_runtime(self):
        """The runtime-only state of others that a reload would wipe."""
        def fc(args):
            # firewall-cmd may print a warning paragraph first (runtime differs from permanent);
            # the answer is the last line
            p = self.sb.firewall_cmd(args)
            lines = p.stdout.splitlines()
            p.stdout = lines[-1] if lines else ""
            return p
        return {
            "ports": fc(["--list-ports"]).stdout.split(),
            "direct": "203.0.113.9" in self.sb.firewall_cmd(["--direct",
                                                              "--get-all-rules"]).stdout,
            "rich": fc(["--list-rich-rules"]).stdout.strip(),
            "interfaces": fc(["--zone=trusted", "--list-interfaces"]).stdout.split(),
        }


class RuntimeStateTest(Base):
    def test_others_runtime_state_survives(self):
        self.reset()
        fc = self.sb.firewall_cmd
        self.assertEqual(fc(["--add-port=4444/tcp"]).returncode, 0)
        self.assertEqual(fc(["--direct", "--add-rule"] + RUNTIME_DIRECT).returncode, 0)
        self.assertEqual(fc(["--add-rich-rule", RICH]).returncode, 0)
        self.assertEqual(fc(["--zone=trusted", "--add-interface=tpfwdummy0"]).returncode, 0)
        want = self.others_runtime()
        self.assertEqual(want, {"ports": ["4444/tcp"], "direct": True, "rich": RICH,
                                "interfaces": ["tpfwdummy0"]})
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
        self.assertEqual(self.others_runtime()["ports"], [])

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

SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(512)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.close()
"""


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

    def count(self, mode):
        prog = r"""
import socket, sys, time, threading
stop = False
res = [0, 0]
def loop():
    while not stop:
        t0 = time.monotonic()
        try:
            c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3); c.close(); ok = True
        except OSError:
            ok = False
        dt = time.monotonic() - t0
        res[0] += 1
        if not ok or dt > 0.5:
            res[1] += 1
        time.sleep(max(0, 0.01 - dt))
t = threading.Thread(target=loop); t.start()
sys.stdin.readline()
stop = True; t.join()
print(res[0], res[1], flush=True)
"""
        self.reset()
        client = subprocess.Popen(["ip", "netns", "exec", self.client_ns, sys.executable, "-c",
                                   prog, "10.231.0.2", str(self.PORT)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(0.3)
            for _ in range(self.RUNS):
                # the stream's port is not redirected to the (absent) inbound proxy
                self.tool("install", "--reload-mode", mode, "--exclude-inbound-ports",
                          str(self.PORT), *KUMA)
                self.tool("uninstall", "--reload-mode", mode)
            time.sleep(0.3)
        finally:
            out, _ = client.communicate("stop\n", timeout=30)
        total, bad = map(int, out.split())
        return total, bad

    def test_delta_drops_nothing_full_reload_does(self):
        total, bad = self.count("delta")
        self.assertGreater(total, 100)
        self.assertEqual(bad, 0, f"delta: {bad} of {total} connections failed or took > 500 ms")
        total, bad = self.count("full")
        self.assertGreater(bad, 0, f"full reload: none of {total} connections was hurt; the "
                                   "stream cannot see what it is meant to see")


# ---- racing firewalld's own writers ----

class RaceTest(Base):
    """Each iteration starts the tool and a firewall-cmd at a random offset of 0-250 ms of each
    other; after both: what firewall-cmd acknowledged is in the file and in firewalld's permanent
    copy, and when the tool exited 0 its change is on disk, in the permanent copy and in the
    runtime."""

    ITERATIONS = 50

    def permanent(self):
        p = self.sb.dbus_send(FW_CONFIG_PATH,
                              "org.fedoraproject.FirewallD1.config.direct.getAllRules")
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def runtime(self):
        p = self.sb.dbus_send(FW_PATH, "org.fedoraproject.FirewallD1.direct.getAllRules")
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def race(self, other_args, check_other):
        rng = random.Random(14)
        lost = []
        for i in range(self.ITERATIONS):
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
                procs["other"] = subprocess.Popen(["firewall-cmd"] + other_args(i),
                                                  env=self.sb.env, stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE, text=True)
            first, second = (start_tool, start_other) if tool_first else (start_other, start_tool)
            first()
            time.sleep(delay)
            second()
            t_out, t_err = procs["tool"].communicate(timeout=300)
            o_out, o_err = procs["other"].communicate(timeout=300)
            file_text = read_bytes(self.sb.direct_xml_path).decode()
            perm = self.permanent()
            what = f"iteration {i} ({args[0]}, delay {delay:.3f}, tool first {tool_first})"
            if procs["other"].returncode == 0:
                problem = check_other(i, file_text, perm)
                if problem:
                    lost.append(f"{what}: firewall-cmd's change lost: {problem}")
            if procs["tool"].returncode == 0:
                n_file = file_text.count("tproxy-firewalld/kuma")
                n_perm = perm.count("tproxy-firewalld/kuma")
                n_rt = self.runtime().count("tproxy-firewalld/kuma")
                want = 22 if install else 0
                if (n_file, n_perm, n_rt) != (want, want, want):
                    lost.append(f"{what}: tool exited 0 but file/permanent/runtime hold "
                                f"{n_file}/{n_perm}/{n_rt} of its {want} rules: {t_err}")
        self.assertEqual(lost, [])

    def test_race_permanent_direct_add_remove(self):
        self.reset()

        def other(i):
            verb = "--add-rule" if i % 4 < 2 else "--remove-rule"
            return ["--permanent", "--direct", verb, "ipv4", "filter", "INPUT", "0", "-s",
                    "192.0.2.%d" % (i // 4 % 200 + 1), "-j", "DROP"]

        def check(i, file_text, perm):
            addr = "192.0.2.%d" % (i // 4 % 200 + 1)
            present = i % 4 < 2
            if (("-s %s -j DROP" % addr) in file_text) != present:
                return f"{addr} in file: {not present}"
            if (("'" + addr + "'") in perm or ('"' + addr + '"') in perm) != present:
                return f"{addr} in the permanent copy: {not present}"
            return None

        self.race(other, check)

    def test_race_runtime_to_permanent(self):
        self.reset()

        def other(i):
            addr = "192.0.2.%d" % (i % 200 + 1)
            p = self.sb.firewall_cmd(["--direct", "--add-rule", "ipv4", "filter", "INPUT", "1",
                                      "-s", addr, "-j", "DROP"])
            assert p.returncode == 0, p.stderr
            return ["--runtime-to-permanent"]

        def check(i, file_text, perm):
            addr = "192.0.2.%d" % (i % 200 + 1)
            if addr + " -j DROP" not in file_text:
                return f"{addr} not in the file"
            if ('"' + addr + '"') not in perm:
                return f"{addr} not in the permanent copy"
            return None

        self.race(other, check)


# ---- fault injection at the steps of the no-reload apply ----

# (spec, pre_fail): "runtime" is each runtime direct call (@1 the first, @12 one in the middle of
# Kuma's 30), "update" the permanent sync, "replace" the tool's write over firewalld's rewrite,
# "rename@1" the store's own rename of it, "verify" the verification; "rollback" fails the
# rollback that a failed verify starts.
DELTA_POINTS = [("runtime@1", ()), ("runtime@12", ()), ("update", ()), ("replace", ()),
                ("rename@1", ()), ("verify", ()), ("rollback", ("verify",))]


class DeltaFaultTest(Base):
    """Every point as an error and as a crash (SIGKILL), for install and uninstall: the file stays
    valid firewalld XML with every foreign entry, an error leaves the host as it was (file bytes,
    kernel and permanent copy), a failed rollback or a crash leaves something the next run of the
    normal tool (the same command) repairs: afterwards the kernel equals a reload of the file and
    firewalld's permanent copy equals the file."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.access(CLI_FAULT, os.X_OK):
            raise unittest.SkipTest(f"{CLI_FAULT} is not built")

    def perm(self):
        p = self.sb.dbus_send(FW_CONFIG_PATH,
                              "org.fedoraproject.FirewallD1.config.direct.getSettings")
        return p.stdout.split("\n", 1)[1]

    def state(self):
        return self.kernel(), self.perm()

    def assert_consistent(self, what):
        self.assertEqual(self.sb.get_state(), "RUNNING", what)
        text = read_bytes(self.sb.direct_xml_path).decode()
        for foreign in ("--dport 2222", "ADMIN_CHAIN", "--dport 2223"):
            self.assertIn(foreign, text, what)
        got = self.state()
        self.sb.dbus_reload()
        self.assertEqual(self.state(), got, f"{what}: firewalld does not run the file")

    def case(self, op, spec, pre_fail, mode):
        args = ["install"] + KUMA if op == "install" else ["uninstall"]
        self.reset()
        if op == "uninstall":
            self.tool("install", *KUMA)
        before = read_bytes(self.sb.direct_xml_path)
        state = self.state()
        env = {"TPFW_FAULT_FAIL": ",".join(list(pre_fail) + ([spec] if mode == "fail" else []))}
        if mode == "crash":
            env["TPFW_FAULT_CRASH"] = spec
        p = self.tool(*args, cli=CLI_FAULT, env=env, check=False)
        what = f"{op} {mode} at {spec}: exit {p.returncode} {p.stderr}"
        self.assertEqual(p.returncode, 1 if mode == "fail" else -9, what)
        if mode == "fail" and spec != "rollback":
            # rolled back: the host as it was
            self.assertEqual(read_bytes(self.sb.direct_xml_path), before, what)
            self.assertEqual(self.state(), state, what)
        p = self.tool(*args, check=False)
        self.assertEqual(p.returncode, 0, f"{what}\nnext run: {p.stderr}")
        self.assert_consistent(what)
        n = read_bytes(self.sb.direct_xml_path).decode().count("tproxy-firewalld/kuma")
        self.assertEqual(n, 22 if op == "install" else 0, what)


def _add_delta_cases(cls):
    for op in ("install", "uninstall"):
        for spec, pre in DELTA_POINTS:
            for mode in ("fail", "crash"):
                def t(self, op=op, spec=spec, pre=pre, mode=mode):
                    self.case(op, spec, pre, mode)
                name = f"test_{op}_{mode}_at_{spec}".replace("-", "_").replace("@", "_")
                setattr(cls, name, t)
    return cls


_add_delta_cases(DeltaFaultTest)
