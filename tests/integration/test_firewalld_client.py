# SPDX-License-Identifier: MIT
"""The firewalld D-Bus client (src/lib/firewalld.c) against a real firewalld in a sandbox.

Drives the library through tests/integration/fwclient.c, compiled here against
$TPFW_BUILDDIR/libtproxy-firewalld.a. fwclient exits 10 + errno on a failed call and prints
"error: -ERRNO: message" on stderr.
"""
import errno
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from integration import sandbox
from integration.sandbox import FirewalldSandbox, skip_unless_possible

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TPFW_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("TPFW_BUILDDIR") or os.path.join(TOP, "build")
PKGS = ["libxml-2.0", "dbus-1", "glib-2.0", "yaml-0.1"]

FWCLIENT = None
_bindir = None


def build_fwclient():
    """Compiles fwclient into a temp dir readable by a non-root user; returns its path."""
    global _bindir
    lib = os.path.join(BUILDDIR, "libtproxy-firewalld.a")
    if not os.path.exists(lib):
        raise unittest.SkipTest(f"{lib} not built")
    _bindir = tempfile.mkdtemp(prefix="tpfw-fwclient-")
    os.chmod(_bindir, 0o755)
    out = os.path.join(_bindir, "fwclient")
    cflags = subprocess.run(["pkg-config", "--cflags"] + PKGS, check=True, capture_output=True,
                            text=True).stdout.split()
    libs = subprocess.run(["pkg-config", "--libs"] + PKGS, check=True, capture_output=True,
                          text=True).stdout.split()
    cmd = (["cc", "-std=gnu11", "-D_GNU_SOURCE", "-g", "-Wall", "-Wextra", "-Werror",
            "-I" + os.path.join(TOP, "include")] + cflags
           + ["-o", out, os.path.join(HERE, "fwclient.c"), lib] + libs)
    if os.environ.get("TPFW_SANITIZE"):
        # make asan-check: the library is instrumented, so the client links the runtimes too
        cmd.insert(1, "-fsanitize=" + os.environ["TPFW_SANITIZE"])
    subprocess.run(cmd, check=True)
    return out


def setUpModule():
    global FWCLIENT
    skip_unless_possible()
    FWCLIENT = build_fwclient()


def tearDownModule():
    if _bindir:
        shutil.rmtree(_bindir, ignore_errors=True)


def direct_xml(*entries):
    return ('<?xml version="1.0" encoding="utf-8"?>\n<direct>\n'
            + "".join("  " + e + "\n" for e in entries) + "</direct>\n")


def chain(ipv, table, name):
    return f'<chain ipv="{ipv}" table="{table}" chain="{name}"/>'


def rule(ipv, table, name, prio, args):
    return f'<rule ipv="{ipv}" table="{table}" chain="{name}" priority="{prio}">{args}</rule>'


TAG_T = "-m comment --comment tproxy-firewalld/t"
OWNER_T = [
    chain("ipv4", "mangle", "TPFW_T"),
    rule("ipv4", "nat", "OUTPUT", 1, TAG_T + " -p tcp --dport 15001 -j RETURN"),
    rule("ipv4", "mangle", "TPFW_T", 0, TAG_T + " -j RETURN"),
    rule("ipv6", "nat", "OUTPUT", -1, "-m comment --comment 'tproxy-firewalld/t keep' -j RETURN"),
]
FOREIGN = [
    rule("ipv4", "nat", "OUTPUT", 0, "-p tcp --dport 22 -j RETURN"),
    rule("ipv4", "nat", "OUTPUT", 2, "-m comment --comment tproxy-firewalld/other -j RETURN"),
]


class FirewalldClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sb = FirewalldSandbox.for_class(cls)
        cls.tmp = tempfile.mkdtemp(prefix="tpfw-fwclient-data-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)

    def setUp(self):
        # Every test starts from a running firewalld with no direct.xml.
        if os.path.exists(self.sb.direct_xml_path):
            os.unlink(self.sb.direct_xml_path)
        if self.sb.fw_proc.poll() is not None:
            self.sb.start()
        else:
            self.sb.dbus_reload()
        self.assertEqual(self.sb.get_state(), "RUNNING")

    # ---- helpers ----

    def fwclient(self, *args, user=None):
        cmd = [FWCLIENT] + list(args)
        if user is not None:
            cmd = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups"] + cmd
        return subprocess.run(cmd, env=self.sb.env, capture_output=True, text=True, timeout=60)

    def assert_ok(self, p):
        self.assertEqual(p.returncode, 0, f"stdout={p.stdout!r} stderr={p.stderr!r}")
        self.assertEqual(p.stderr, "")
        return p.stdout

    def assert_error(self, p, err, message=None):
        """The call failed with -err and exactly one diagnostic line."""
        self.assertEqual(p.returncode, 10 + err, f"stdout={p.stdout!r} stderr={p.stderr!r}")
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        prefix = f"error: -{err}: "
        self.assertTrue(lines[0].startswith(prefix), lines[0])
        text = lines[0][len(prefix):]
        if message is not None:
            self.assertEqual(text, message)
        return text

    def write_file(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def apply_file(self, *entries):
        """Writes the sandbox direct.xml and reloads firewalld through dbus-send."""
        self.sb.write_direct_xml(direct_xml(*entries))
        self.sb.dbus_reload()
        self.assertEqual(self.sb.get_state(), "RUNNING", self.sb.log_text())

    # ---- running, state, reload ----

    def test_running_and_state(self):
        self.assertEqual(self.assert_ok(self.fwclient("running")), "yes\n")
        self.assertEqual(self.assert_ok(self.fwclient("state")), "RUNNING\n")

    def test_reload_applies_direct_xml(self):
        self.sb.write_direct_xml(direct_xml(*OWNER_T))
        self.assert_ok(self.fwclient("reload"))
        self.assertEqual(self.assert_ok(self.fwclient("state")), "RUNNING\n")
        nat = self.sb.iptables_save(4, "nat")
        self.assertIn('-A OUTPUT -p tcp -m comment --comment "tproxy-firewalld/t" -m tcp '
                      '--dport 15001 -j RETURN', nat.replace("  ", " "))
        self.assertIn(":TPFW_T - [0:0]", self.sb.iptables_save(4, "mangle"))

    def test_reload_command_failed(self):
        self.sb.write_direct_xml(direct_xml(rule("ipv4", "nat", "OUTPUT", 0,
                                                 "-j NO_SUCH_TARGET")))
        msg = self.assert_error(self.fwclient("reload"), errno.EIO)
        self.assertTrue(msg.startswith("COMMAND_FAILED: Direct: '/usr/sbin/iptables-restore -w -n'"
                                       " failed: "), msg)
        self.assertIn("NO_SUCH_TARGET", msg)
        # iptables-restore's multi-line output is folded into the one line.
        self.assertIn("does not exist Error occurred at line: ", msg)
        self.assertEqual(self.assert_ok(self.fwclient("state")), "FAILED\n")
        # The permanent copy holds the bad rule; the runtime holds nothing.
        self.assertEqual(self.assert_ok(self.fwclient("get-permanent")),
                         "rule ipv4 nat OUTPUT 0 -j NO_SUCH_TARGET\n")
        self.assertEqual(self.assert_ok(self.fwclient("get-runtime")), "")
        # Recovery: a good file and a reload bring it back.
        self.sb.write_direct_xml(direct_xml(*OWNER_T))
        self.assert_ok(self.fwclient("reload"))
        self.assertEqual(self.assert_ok(self.fwclient("state")), "RUNNING\n")

    def test_reload_parse_error(self):
        self.sb.write_direct_xml(direct_xml('<chain ipv="ipv4" table="nat" chain="X" owner="y"/>'))
        if sandbox.firewalld_version() < (1, 0):
            # 0.9.11 (measured) logs the parse error and answers the reload with success; 1.3.3
            # (measured) reports it. Either way the state stays RUNNING.
            self.assert_ok(self.fwclient("reload"))
            self.assertEqual(self.assert_ok(self.fwclient("state")), "RUNNING\n")
            return
        self.assert_error(self.fwclient("reload"), errno.EIO,
                          f"PARSE_ERROR: '{self.sb.direct_xml_path}': chain: Unexpected attribute"
                          " owner")
        # firewalld 1.3.3 reports the parse error but stays RUNNING: state alone is not enough.
        self.assertEqual(self.assert_ok(self.fwclient("state")), "RUNNING\n")

    # ---- not running, not authorised, timeout ----

    def test_not_running(self):
        self.sb.stop()
        try:
            self.assertEqual(self.assert_ok(self.fwclient("running")), "no\n")
            for verb in ("state", "reload", "get-runtime", "get-permanent"):
                with self.subTest(verb=verb):
                    self.assert_error(self.fwclient(verb), errno.ESRCH,
                                      "firewalld is not running")
        finally:
            self.sb.start()

    def test_no_bus(self):
        env = dict(self.sb.env, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + self.tmp + "/no.sock")
        p = subprocess.run([FWCLIENT, "state"], env=env, capture_output=True, text=True)
        msg = self.assert_error(p, errno.ENOENT)
        self.assertTrue(msg.startswith("cannot connect to the system bus: "), msg)

    def test_non_root_is_not_authorised(self):
        for verb in ("state", "reload", "get-permanent"):
            with self.subTest(verb=verb):
                self.assert_error(self.fwclient(verb, user=65534), errno.EACCES,
                                  "not authorised to talk to firewalld (run as root)")
        # NameHasOwner is the bus's, not firewalld's: anyone may ask.
        self.assertEqual(self.assert_ok(self.fwclient("running", user=65534)), "yes\n")

    def test_timeout(self):
        self.sb.pause()
        try:
            t0 = time.monotonic()
            self.assert_error(self.fwclient("--timeout", "300", "state"), errno.ETIMEDOUT,
                              "firewalld did not answer within 300 ms")
            self.assertLess(time.monotonic() - t0, 5.0)
        finally:
            self.sb.resume()
        self.assertEqual(self.assert_ok(self.fwclient("state")), "RUNNING\n")

    # ---- reading entries ----

    def test_get_runtime_and_permanent(self):
        self.apply_file(*OWNER_T, chain("eb", "filter", "EBX"),
                        rule("eb", "filter", "INPUT", 0, "-j ACCEPT"), *FOREIGN)
        want = sorted([
            "chain ipv4 mangle TPFW_T",
            "rule ipv4 nat OUTPUT 1 -m comment --comment tproxy-firewalld/t -p tcp --dport 15001"
            " -j RETURN",
            "rule ipv4 mangle TPFW_T 0 -m comment --comment tproxy-firewalld/t -j RETURN",
            "rule ipv6 nat OUTPUT -1 -m comment --comment 'tproxy-firewalld/t keep' -j RETURN",
            "rule ipv4 nat OUTPUT 0 -p tcp --dport 22 -j RETURN",
            "rule ipv4 nat OUTPUT 2 -m comment --comment tproxy-firewalld/other -j RETURN",
        ])
        for verb in ("get-runtime", "get-permanent"):
            with self.subTest(verb=verb):
                got = sorted(self.assert_ok(self.fwclient(verb)).splitlines())
                self.assertEqual(got, want)

    def test_get_empty(self):
        self.assertEqual(self.assert_ok(self.fwclient("get-runtime")), "")
        self.assertEqual(self.assert_ok(self.fwclient("get-permanent")), "")

    # ---- runtime edits ----

    def test_runtime_add_remove(self):
        path = self.write_file("t.xml", direct_xml(*OWNER_T))
        self.assert_ok(self.fwclient("runtime-add", path))
        self.assertIn("tproxy-firewalld/t", self.sb.iptables_save(4, "nat"))
        self.assertIn(":TPFW_T - [0:0]", self.sb.iptables_save(4, "mangle"))
        self.assertIn("tproxy-firewalld/t keep", self.sb.iptables_save(6, "nat"))
        self.assertEqual(self.assert_ok(self.fwclient("verify", "t", path)), "ok\n")
        # Runtime only: the permanent copy is untouched.
        self.assertEqual(self.assert_ok(self.fwclient("get-permanent")), "")
        self.assertEqual(self.assert_error(self.fwclient("verify-permanent", "t", path),
                                           errno.EPROTO),
                         "permanent configuration is missing chain ipv4 mangle TPFW_T")
        # Adding again is not an error.
        self.assert_ok(self.fwclient("runtime-add", path))

        self.assert_ok(self.fwclient("runtime-remove", path))
        self.assertEqual(self.assert_ok(self.fwclient("get-runtime")), "")
        self.assertNotIn("tproxy-firewalld/t", self.sb.iptables_save(4, "nat"))
        self.assertNotIn("TPFW_T", self.sb.iptables_save(4, "mangle"))
        # Removing again is not an error.
        self.assert_ok(self.fwclient("runtime-remove", path))

    def test_runtime_add_keeps_priority_order(self):
        path = self.write_file("o.xml", direct_xml(
            rule("ipv4", "nat", "OUTPUT", 5, TAG_T + " -p tcp --dport 81 -j RETURN"),
            rule("ipv4", "nat", "OUTPUT", 0, TAG_T + " -p tcp --dport 80 -j RETURN"),
            rule("ipv4", "nat", "OUTPUT", 5, TAG_T + " -p tcp --dport 82 -j RETURN")))
        self.assert_ok(self.fwclient("runtime-add", path))
        ports = [line.split("--dport ")[1].split()[0]
                 for line in self.sb.iptables_save(4, "nat").splitlines() if "--dport" in line]
        self.assertEqual(ports, ["80", "81", "82"])

    def test_runtime_add_failure_is_reported(self):
        path = self.write_file("bad.xml", direct_xml(
            rule("ipv4", "nat", "OUTPUT", 0, TAG_T + " -j NO_SUCH_TARGET")))
        msg = self.assert_error(self.fwclient("runtime-add", path), errno.EIO)
        self.assertTrue(msg.startswith("COMMAND_FAILED: "), msg)
        self.assertNotIn("\n", msg)

    # ---- verification ----

    def test_verify_owner(self):
        self.apply_file(*OWNER_T, *FOREIGN)
        path = self.write_file("t.xml", direct_xml(*OWNER_T))
        self.assertEqual(self.assert_ok(self.fwclient("verify", "t", path)), "ok\n")
        self.assertEqual(self.assert_ok(self.fwclient("verify-permanent", "t", path)), "ok\n")
        # The other owner's rule and the untagged one do not disturb t's verification.
        other = self.write_file("other.xml", direct_xml(FOREIGN[1]))
        self.assertEqual(self.assert_ok(self.fwclient("verify", "other", other)), "ok\n")

    def test_verify_missing_rule(self):
        self.apply_file(*OWNER_T[:1], *OWNER_T[2:])
        path = self.write_file("t.xml", direct_xml(*OWNER_T))
        self.assert_error(self.fwclient("verify", "t", path), errno.EPROTO,
                          "runtime is missing rule ipv4 nat OUTPUT 1 -m comment --comment "
                          "tproxy-firewalld/t -p tcp --dport 15001 -j RETURN")

    def test_verify_missing_chain(self):
        self.apply_file(*OWNER_T[1:2], *OWNER_T[3:])
        path = self.write_file("t.xml", direct_xml(OWNER_T[0], OWNER_T[1], OWNER_T[3]))
        self.assert_error(self.fwclient("verify", "t", path), errno.EPROTO,
                          "runtime is missing chain ipv4 mangle TPFW_T")

    def test_verify_unexpected_rule(self):
        self.apply_file(*OWNER_T)
        path = self.write_file("t.xml", direct_xml(*OWNER_T[:3]))
        self.assert_error(self.fwclient("verify", "t", path), errno.EPROTO,
                          "runtime has unexpected rule ipv6 nat OUTPUT -1 -m comment --comment "
                          "'tproxy-firewalld/t keep' -j RETURN")

    def test_verify_priority_matters(self):
        self.apply_file(*OWNER_T)
        moved = OWNER_T[1].replace('priority="1"', 'priority="3"')
        path = self.write_file("t.xml", direct_xml(OWNER_T[0], moved, *OWNER_T[2:]))
        msg = self.assert_error(self.fwclient("verify", "t", path), errno.EPROTO)
        self.assertTrue(msg.startswith("runtime is missing rule ipv4 nat OUTPUT 3 "), msg)

    def test_verify_empty_owner(self):
        self.apply_file(*FOREIGN)
        path = self.write_file("empty.xml", direct_xml())
        self.assertEqual(self.assert_ok(self.fwclient("verify", "t", path)), "ok\n")
        msg = self.assert_error(self.fwclient("verify", "other", path), errno.EPROTO)
        self.assertTrue(msg.startswith("runtime has unexpected rule ipv4 nat OUTPUT 2 "), msg)

    def test_verify_untagged_expected_rule(self):
        # An expected rule without the owner's tag is looked for among all of firewalld's rules.
        self.apply_file(*OWNER_T, *FOREIGN)
        path = self.write_file("u.xml", direct_xml(*OWNER_T, FOREIGN[0]))
        self.assertEqual(self.assert_ok(self.fwclient("verify", "t", path)), "ok\n")
        self.assertEqual(self.assert_ok(self.fwclient("verify-permanent", "t", path)), "ok\n")
        path = self.write_file("u.xml", direct_xml(
            *OWNER_T, rule("ipv4", "nat", "OUTPUT", 0, "-p tcp --dport 23 -j RETURN")))
        self.assert_error(self.fwclient("verify", "t", path), errno.EPROTO,
                          "runtime is missing rule ipv4 nat OUTPUT 0 -p tcp --dport 23 -j RETURN")

    # ---- queries sent together ----

    def query(self, sent, path, *steps, owner="t", user=None):
        return self.assert_ok(self.fwclient("query", sent, owner, path, *steps,
                                            user=user)).splitlines()

    def test_query_answers_belong_to_their_calls(self):
        # The runtime holds t's entries and the permanent copy does not, so an answer read for
        # the wrong call shows, in whatever order the answers are taken.
        path = self.write_file("t.xml", direct_xml(*OWNER_T))
        self.assert_ok(self.fwclient("runtime-add", path))
        missing = (f"permanent -{errno.EPROTO}: permanent configuration is missing chain "
                   "ipv4 mangle TPFW_T")
        self.assertEqual(self.query("state,permanent,runtime", path, "state", "permanent",
                                    "runtime"),
                         ["state RUNNING", missing, "runtime ok"])
        self.assertEqual(self.query("state,permanent,runtime", path, "runtime", "permanent",
                                    "state"),
                         ["runtime ok", missing, "state RUNNING"])
        # An answer can be read again; a view not asked for is an error, not a wait.
        self.assertEqual(self.query("runtime", path, "runtime", "runtime", "permanent", "state"),
                         ["runtime ok", "runtime ok",
                          f"permanent -{errno.EINVAL}: getSettings was not queried",
                          f"state -{errno.EINVAL}: state was not queried"])

    def test_query_runtime_without_chains(self):
        # Nothing to verify in getAllChains when no chain is expected: it is not asked for.
        self.apply_file(*FOREIGN)
        path = self.write_file("empty.xml", direct_xml())
        self.assertEqual(self.query("runtime", path, "runtime"), ["runtime ok"])
        got = self.query("runtime", path, "runtime", owner="other")
        self.assertEqual(len(got), 1, got)
        self.assertTrue(got[0].startswith(f"runtime -{errno.EPROTO}: runtime has unexpected rule "
                                          "ipv4 nat OUTPUT 2 "), got)

    def test_query_refused(self):
        # Every answer carries firewalld's refusal of its own call.
        os.chmod(self.tmp, 0o755)
        path = self.write_file("t.xml", direct_xml(*OWNER_T))
        os.chmod(path, 0o644)
        refused = f"-{errno.EACCES}: not authorised to talk to firewalld (run as root)"
        self.assertEqual(self.query("state,permanent,runtime", path, "state", "permanent",
                                    "runtime", user=65534),
                         ["state " + refused, "permanent " + refused, "runtime " + refused])

    # ---- RFC3964_IPv4 ----

    def test_rfc3964_ipv4(self):
        conf = os.path.join(self.sb.config_dir, "firewalld.conf")
        try:
            self.assertEqual(self.assert_ok(self.fwclient("get-rfc3964")), "yes\n")
            self.assert_ok(self.fwclient("set-rfc3964", "no"))
            self.assertEqual(self.assert_ok(self.fwclient("get-rfc3964")), "no\n")
            with open(conf) as f:
                self.assertIn("\nRFC3964_IPv4=no\n", f.read())
            self.assert_error(self.fwclient("set-rfc3964", "no", user=65534), errno.EACCES)
        finally:
            self.fwclient("set-rfc3964", "yes")
        self.assertEqual(self.assert_ok(self.fwclient("get-rfc3964")), "yes\n")


class SandboxTest(unittest.TestCase):
    """The sandbox itself: isolated, and gone after close()."""

    def test_lifecycle(self):
        t0 = time.monotonic()
        sb = FirewalldSandbox(direct_xml=direct_xml(*OWNER_T))
        self.addCleanup(sb.close)
        sb.start()
        started = time.monotonic() - t0
        self.assertTrue(sb.env["DBUS_SYSTEM_BUS_ADDRESS"].startswith("unix:path=" + sb.tmpdir))
        self.assertIn("tproxy-firewalld/t", sb.iptables_save(4, "nat"))
        self.assertEqual(sb.firewall_cmd(["--state"]).stdout.strip(), "running")
        netns, tmpdir, fw, bus = sb.netns, sb.tmpdir, sb.fw_proc, sb.dbus_proc
        t1 = time.monotonic()
        sb.close()
        stopped = time.monotonic() - t1
        self.assertIsNotNone(fw.poll())
        self.assertIsNotNone(bus.poll())
        self.assertFalse(os.path.exists(tmpdir))
        ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        self.assertNotIn(netns, ns)
        sb.close()  # idempotent
        print(f"\n  sandbox start {started:.2f} s, close {stopped:.2f} s ", end="")


if __name__ == "__main__":
    unittest.main()
