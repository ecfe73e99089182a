# SPDX-License-Identifier: MIT
"""Redirected connections, not just rules: the firewalld sandbox's namespace is the app host, a
second namespace joined by a veth pair is the remote host. Listeners on 15001/15006/15053 (running
as the kuma-dp UID, as Envoy and the DNS proxy do) answer each connection with the original
destination they saw; clients run as a given UID (setpriv) and print the answer.

Addresses (documentation ranges, set inside the namespaces only):
  app     192.0.2.1   2001:db8::1
  remote  192.0.2.2   2001:db8::2   the nameserver of --resolv-conf; TCP 80-82, UDP 53
          192.0.2.3   2001:db8::3   in --exclude-outbound-ips
          192.0.2.4   2001:db8::4   a DNS server not in resolv.conf
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

import tpfwtest
from integration import sandbox
from integration.sandbox import FirewalldSandbox, _stop_process, skip_unless_possible

APP_UID = 1000
OTHER_UID = 1001  # --exclude-outbound-ports-for-uids tcp:82:1001
KUMA_DP_UID = 5678

ADDR = {
    4: dict(app="192.0.2.1", remote="192.0.2.2", excluded="192.0.2.3", other_dns="192.0.2.4",
            prefix=24),
    6: dict(app="2001:db8::1", remote="2001:db8::2", excluded="2001:db8::3",
            other_dns="2001:db8::4", prefix=64),
}
APP_IF, REMOTE_IF = "tpfw-e2e-a", "tpfw-e2e-r"

ZONE = """<?xml version="1.0" encoding="utf-8"?>
<zone>
  <short>Public</short>
  <description>tproxy-firewalld e2e: public with the app's ports open</description>
  <service name="ssh"/>
  <port protocol="tcp" port="8080"/>
  <port protocol="tcp" port="8081"/>
</zone>
"""

WARNING = ("IPv6 outbound redirection will fail: firewalld's RFC3964_IPv4=yes filter rejects "
           "the redirected destination ::1 (use --fix-ipv6-redirect)")


def _firewalld_conf():
    """The stock firewalld.conf of the firewalld under test with the settings these tests
    depend on pinned."""
    try:
        with open(os.path.join(sandbox.FIREWALLD_ETC, "firewalld.conf")) as f:
            text = f.read()
    except OSError:
        text = ""
    pinned = {"DefaultZone": "public", "FirewallBackend": "nftables", "RFC3964_IPv4": "yes"}
    for key, value in pinned.items():
        text, n = re.subn(r"(?m)^%s=.*$" % key, "%s=%s" % (key, value), text)
        if n == 0:
            text += "%s=%s\n" % (key, value)
    return text


def _run(cmd, check=True, timeout=60, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (cmd, p.returncode, p.stdout, p.stderr))
    return p


def _as_user(uid):
    return [] if uid is None else ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                                    "--clear-groups"]


def skip_unless_e2e_possible():
    skip_unless_possible()
    for tool in ("cc", "setpriv"):
        if not shutil.which(tool):
            raise unittest.SkipTest(f"{tool} is missing")
    if not os.path.exists(tpfwtest.CLI):
        raise unittest.SkipTest(f"{tpfwtest.CLI} is not built")


def build_helper(outdir):
    """Compiles nethelper.c (or takes $TPFW_BUILDDIR/e2e/nethelper when make built it)."""
    built = os.path.join(tpfwtest.BUILDDIR, "e2e", "nethelper")
    src = os.path.join(tpfwtest.SRCDIR, "tests", "e2e", "nethelper.c")
    if os.path.exists(built) and os.path.getmtime(built) >= os.path.getmtime(src):
        return built
    out = os.path.join(outdir, "nethelper")
    _run(["cc", "-std=gnu11", "-O1", "-Wall", "-Werror", "-o", out, src])
    return out


class Hosts:
    """The remote namespace, the veth pair and every helper process; close() undoes all of it,
    by PID and by name, and is safe after a partial setup."""

    def __init__(self, sandbox, helper, tmpdir):
        self.sb = sandbox
        self.helper = helper
        self.tmpdir = tmpdir
        self.remote = "tpfw-e2e-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.procs = {}  # name -> (Popen, log path)
        _run(["ip", "netns", "add", self.remote])
        self.remote_created = True

    # ---- network ----

    def configure_links(self):
        """Creates the veth pair and the addresses; again after a reboot of the app host."""
        app, remote = self.sb.netns, self.remote
        # Deleting the app namespace destroys the pair asynchronously: wait for the old peer.
        deadline = time.monotonic() + 5
        while _run(["ip", "-n", remote, "link", "show", REMOTE_IF], check=False).returncode == 0:
            _run(["ip", "-n", remote, "link", "del", REMOTE_IF], check=False)
            if time.monotonic() > deadline:
                raise AssertionError("the old veth peer %s does not go away" % REMOTE_IF)
            time.sleep(0.02)
        _run(["ip", "link", "add", APP_IF, "netns", app, "type", "veth", "peer", "name",
              REMOTE_IF, "netns", remote])
        for ns, dev, role in ((app, APP_IF, "app"), (remote, REMOTE_IF, "remote")):
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
            _run(["ip", "-n", ns, "link", "set", dev, "up"])
            roles = [role] if role == "app" else ["remote", "excluded", "other_dns"]
            for fam in (4, 6):
                for r in roles:
                    a = "%s/%d" % (ADDR[fam][r], ADDR[fam]["prefix"])
                    _run(["ip", "-n", ns, "-%d" % fam, "addr", "add", a, "dev", dev]
                         + (["nodad"] if fam == 6 else []))
        # kuma-dp's loopback address (KUMA-RULES.md 3.3), inside the app namespace only
        _run(["ip", "-n", app, "-6", "addr", "add", "::6/128", "dev", "lo"])

    # ---- processes ----

    def serve(self, name, ns, uid, *specs):
        log = os.path.join(self.tmpdir, name + ".log")
        with open(log, "w") as out:
            p = subprocess.Popen(["ip", "netns", "exec", ns] + _as_user(uid)
                                 + [self.helper, "serve", name] + list(specs),
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        # ip netns exec and setpriv exec, so p.pid is the helper's own PID
        self.procs[name] = p
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(log) as f:
                text = f.read()
            if text.startswith("ready\n"):
                return
            if p.poll() is not None:
                break
            time.sleep(0.01)
        raise AssertionError("%s did not start: %s" % (name, text))

    def start_app_side(self):
        app = self.sb.netns
        self.serve("proxy", app, KUMA_DP_UID, "tcp/15001", "tcp/15006", "udp/15053@127.0.0.1",
                   "udp/15053@::1")
        self.serve("app", app, APP_UID, "tcp/8080", "tcp/8081")

    def start_remote_side(self):
        specs = ["tcp/80", "tcp/81", "tcp/82"]
        for fam in (4, 6):
            for r in ("remote", "excluded", "other_dns"):
                specs.append("udp/53@" + ADDR[fam][r])
        self.serve("remote", self.remote, None, *specs)

    def stop_app_side(self):
        for name in ("proxy", "app"):
            _stop_process(self.procs.pop(name, None), term_timeout=5)

    def close(self):
        for name in list(self.procs):
            _stop_process(self.procs.pop(name), term_timeout=5)
        if self.remote_created:
            subprocess.run(["ip", "netns", "del", self.remote], capture_output=True)
            self.remote_created = False

    # ---- clients ----

    def connect(self, side, uid, proto, addr, port):
        """Runs a one-shot client; returns (who answered, original destination) or
        ("error", ERRNO_NAME)."""
        ns = self.sb.netns if side == "app" else self.remote
        out = _run(["ip", "netns", "exec", ns] + _as_user(uid)
                   + [self.helper, proto, addr, str(port), "1500"]).stdout.strip()
        if out.startswith("error "):
            return ("error", out.split()[1])
        m = re.match(r"(\S+) (tcp|udp)/(\d+) orig=(\S+) peer=\S+(?: data=(.*))?$", out)
        if not m:
            raise AssertionError("unexpected answer: %r" % out)
        if proto == "udp":
            return (m.group(1), m.group(3), m.group(5))
        return (m.group(1), m.group(3), m.group(4))


def hostport(addr, port):
    return ("[%s]:%d" if ":" in addr else "%s:%d") % (addr, port)


class E2ETest(unittest.TestCase):
    """One app host (firewalld sandbox) and one remote host for the whole class; every test
    installs the configuration it needs first (a no-op when it is already installed). The base
    holds no tests (unittest skips setUpClass for it)."""

    @classmethod
    def setUpClass(cls):
        skip_unless_e2e_possible()
        cls.t0 = time.monotonic()
        cls.tmp = tempfile.mkdtemp(prefix="tpfw-e2e-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.helper = build_helper(cls.tmp)
        cls.resolv = os.path.join(cls.tmp, "resolv.conf")
        with open(cls.resolv, "w") as f:
            f.write("nameserver %s\nnameserver %s\n" % (ADDR[4]["remote"], ADDR[6]["remote"]))
        cls.conf_text = _firewalld_conf()
        cls.sb = FirewalldSandbox.for_class(cls, start=False, config_files={
            "zones/public.xml": ZONE, "firewalld.conf": cls.conf_text})
        cls.hosts = Hosts(cls.sb, cls.helper, cls.tmp)
        cls.addClassCleanup(cls.hosts.close)
        cls.hosts.configure_links()
        cls.sb.start()
        cls.hosts.start_app_side()
        cls.hosts.start_remote_side()

    def setUp(self):
        # A test that failed half-way through a reboot must not fail the ones after it.
        if self.sb.fw_proc is None or self.sb.fw_proc.poll() is not None:
            self.reboot_app_host()
        elif "proxy" not in self.hosts.procs:
            self.hosts.start_app_side()

    def reboot_app_host(self):
        """firewalld stopped, the namespace deleted and created again, firewalld started with
        the same config dir: what a reboot does to the app host."""
        self.hosts.stop_app_side()
        self.sb.stop()
        self.sb.recreate_netns()
        self.assertNotIn("KUMA_MESH", self.sb.iptables_save(4, "nat"))
        self.hosts.configure_links()
        self.sb.start()
        self.hosts.start_app_side()

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("TPFW_E2E_TIMING"):
            print("\ne2e class time: %.1f s" % (time.monotonic() - cls.t0))

    # ---- the tool, run on the app host ----

    def tpfw(self, *args, check=0):
        p = _run(["ip", "netns", "exec", self.sb.netns, tpfwtest.CLI,
                  "--firewalld-dir", self.sb.config_dir] + list(args),
                 check=False, env=dict(self.sb.env, **{k: "" for k in os.environ
                                                        if k.startswith("KUMA_TRANSPARENT")}))
        if check is not None and p.returncode != check:
            self.fail("exit %d for %s\n%s%s" % (p.returncode, args, p.stdout, p.stderr))
        return p

    def options(self, dns="--redirect-dns", fix=True):
        return (tpfwtest.KUMA_FACTS
                + ["--exclude-outbound-ports", "81",
                   "--exclude-outbound-ips", "%s,%s" % (ADDR[4]["excluded"], ADDR[6]["excluded"]),
                   "--exclude-outbound-ports-for-uids", "tcp:82:%d" % OTHER_UID,
                   "--exclude-inbound-ports", "8081", dns, "--resolv-conf", self.resolv]
                + (["--fix-ipv6-redirect"] if fix else []))

    def install(self, **kw):
        return self.tpfw("install", *self.options(**kw))

    def rfc3964(self):
        p = self.sb.dbus_send("/org/fedoraproject/FirewallD1/config",
                              "org.freedesktop.DBus.Properties.Get",
                              "string:org.fedoraproject.FirewallD1.config",
                              "string:RFC3964_IPv4", check=True)
        return re.search(r'"(\w+)"', p.stdout).group(1)

    # ---- expectations ----

    def c(self, uid, proto, fam, role, port, side="app"):
        return self.hosts.connect(side, uid, proto, ADDR[fam][role], port)

    def assert_outbound_redirected(self, fam, uid, role, port):
        self.assertEqual(self.c(uid, "tcp", fam, role, port),
                         ("proxy", "15001", hostport(ADDR[fam][role], port)))

    def assert_direct(self, fam, uid, role, port):
        self.assertEqual(self.c(uid, "tcp", fam, role, port)[:2], ("remote", str(port)))

    def check_outbound(self, fam):  # acceptance 1
        self.assert_outbound_redirected(fam, APP_UID, "remote", 80)

    def check_kuma_dp(self, fam):  # acceptance 2
        self.assert_direct(fam, KUMA_DP_UID, "remote", 80)

    def check_exclusions(self, fam):  # acceptance 3
        self.assert_direct(fam, APP_UID, "remote", 81)
        self.assert_direct(fam, APP_UID, "excluded", 80)
        self.assert_direct(fam, OTHER_UID, "remote", 82)
        self.assert_outbound_redirected(fam, APP_UID, "remote", 82)
        self.assert_outbound_redirected(fam, OTHER_UID, "remote", 80)

    def check_inbound(self, fam):  # acceptance 4
        self.assertEqual(self.c(None, "tcp", fam, "app", 8080, side="remote"),
                         ("proxy", "15006", hostport(ADDR[fam]["app"], 8080)))
        self.assertEqual(self.c(None, "tcp", fam, "app", 8081, side="remote"),
                         ("app", "8081", hostport(ADDR[fam]["app"], 8081)))

    def check_dns(self, fam, capture_all):  # acceptance 5
        ns = ADDR[fam]["remote"]
        self.assertEqual(self.c(APP_UID, "udp", fam, "remote", 53),
                         ("proxy", "15053", "query uid=%d to=%s:53" % (APP_UID, ns)))
        self.assertEqual(self.c(KUMA_DP_UID, "udp", fam, "remote", 53),
                         ("remote", "53", "query uid=%d to=%s:53" % (KUMA_DP_UID, ns)))
        other = self.c(APP_UID, "udp", fam, "other_dns", 53)
        self.assertEqual(other[:2], ("proxy", "15053") if capture_all else ("remote", "53"))

    def check_all(self, fam):
        self.check_outbound(fam)
        self.check_kuma_dp(fam)
        self.check_exclusions(fam)
        self.check_inbound(fam)
        self.check_dns(fam, capture_all=False)

    def check_nothing_redirected(self, fam):
        for uid in (APP_UID, OTHER_UID, KUMA_DP_UID):
            for port in (80, 81, 82):
                self.assert_direct(fam, uid, "remote", port)
            self.assertEqual(self.c(uid, "udp", fam, "remote", 53)[:2], ("remote", "53"))
        for port in (8080, 8081):
            self.assertEqual(self.c(None, "tcp", fam, "app", port, side="remote")[:2],
                             ("app", str(port)))


class CleanupTest(unittest.TestCase):

    def test_8_cleanup_on_failure(self):
        """A failing e2e test leaves no namespace, process or temporary directory behind."""
        skip_unless_e2e_possible()
        seen = {}

        class Failing(E2ETest):
            def test_fails(self):
                seen["netns"] = [self.sb.netns, self.hosts.remote]
                seen["pids"] = [p.pid for p in self.hosts.procs.values()]
                seen["pids"].append(self.sb.fw_proc.pid)
                seen["dirs"] = [self.tmp, self.sb.tmpdir]
                self.fail("deliberate failure")

        res = unittest.TextTestRunner(stream=open(os.devnull, "w")).run(
            unittest.defaultTestLoader.loadTestsFromTestCase(Failing))
        self.assertEqual((res.testsRun, len(res.failures), len(res.errors)), (1, 1, 0))
        self.assertEqual(len(seen["pids"]), 4)
        namespaces = _run(["ip", "netns", "list"]).stdout
        for ns in seen["netns"]:
            self.assertNotIn(ns, namespaces)
        for pid in seen["pids"]:
            self.assertFalse(os.path.exists("/proc/%d" % pid), "process %d survived" % pid)
        for d in seen["dirs"]:
            self.assertFalse(os.path.exists(d), "%s survived" % d)


def _per_family(name, doc):
    """Adds RedirectTest.test_NAME_ipv4 and _ipv6, which run RedirectTest._NAME(fam)."""
    def make(fam):
        def test(self):
            getattr(self, "_" + name)(fam)
        test.__name__ = "test_%s_ipv%d" % (name, fam)
        test.__doc__ = "%s (IPv%d)" % (doc, fam)
        return test
    for fam in (4, 6):
        setattr(RedirectTest, "test_%s_ipv%d" % (name, fam), make(fam))


class RedirectTest(E2ETest):

    def _1_app_outbound_reaches_15001(self, fam):
        self.install()
        self.check_outbound(fam)

    def _2_kuma_dp_goes_direct(self, fam):
        self.install()
        self.check_kuma_dp(fam)

    def _3_exclusions_bypass(self, fam):
        self.install()
        self.check_exclusions(fam)

    def _4_inbound_reaches_15006(self, fam):
        self.install()
        self.check_inbound(fam)

    def _5_dns_per_server(self, fam):
        self.install(dns="--redirect-dns")
        self.check_dns(fam, capture_all=False)

    def _5_dns_capture_all(self, fam):
        self.install(dns="--redirect-all-dns-traffic")
        self.check_dns(fam, capture_all=True)

    def test_1_ipv6_without_fix_warns_and_fails(self):
        """IPv6 without --fix-ipv6-redirect: install and status warn, the connection fails with
        EHOSTUNREACH (firewalld's RFC 3964 filter rejects ::1); IPv4 is redirected. firewalld
        2.3+ (StrictForwardPorts=no, the default) accepts DNAT'd packets in filter_OUTPUT before
        that filter, so there the redirected connection reaches the proxy."""
        self.tpfw("uninstall")
        self.assertEqual(self.rfc3964(), "yes")
        p = self.install(fix=False)
        self.assertIn(WARNING, p.stderr)
        self.assertEqual(self.rfc3964(), "yes")
        self.assertIn(WARNING, self.tpfw("status", check=None).stderr)
        if sandbox.firewalld_version() >= (2, 3):
            self.assertEqual(self.c(APP_UID, "tcp", 6, "remote", 80)[0], "proxy")
        else:
            self.assertEqual(self.c(APP_UID, "tcp", 6, "remote", 80), ("error", "EHOSTUNREACH"))
        self.check_outbound(4)
        # the fix on the same rules: no direct.xml change, the setting and a reload only
        p = self.install(fix=True)
        self.assertIn("no change", p.stdout)
        self.assertIn("RFC3964_IPv4: yes -> no (--fix-ipv6-redirect)", p.stdout)
        self.assertNotIn(WARNING, p.stderr)
        self.assertEqual(self.rfc3964(), "no")
        self.check_outbound(6)
        self.assertNotIn(WARNING, self.tpfw("status", check=None).stderr)

    def test_6_rules_survive_reboot(self):
        """firewalld stopped, the namespace deleted and recreated, firewalld started with the
        same config dir: acceptance 1-5 hold again, for IPv4 and IPv6."""
        self.install()
        self.reboot_app_host()
        self.assertIn("KUMA_MESH", self.sb.iptables_save(4, "nat"))
        self.assertIn("KUMA_MESH", self.sb.iptables_save(6, "nat"))
        for fam in (4, 6):
            with self.subTest(family=fam):
                self.check_all(fam)

    def test_7_uninstall_restores_everything(self):
        """After uninstall every connection reaches its real destination, and RFC3964_IPv4 and
        firewalld.conf are back as they were."""
        self.install()
        self.assertEqual(self.rfc3964(), "no")
        state = os.path.join(self.sb.config_dir, "tproxy-firewalld.state")
        self.assertTrue(os.path.exists(state))
        _run(["firewall-offline-cmd", "--system-config", self.sb.config_dir, "--check-config"],
             env=self.sb.env)
        p = self.tpfw("uninstall")
        self.assertIn("RFC3964_IPv4: no -> yes (restored)", p.stdout)
        self.assertEqual(self.rfc3964(), "yes")
        self.assertFalse(os.path.exists(state))
        with open(os.path.join(self.sb.config_dir, "firewalld.conf")) as f:
            self.assertEqual(re.findall(r"(?m)^RFC3964_IPv4=.*$", f.read()),
                             ["RFC3964_IPv4=yes"])
        self.assertNotIn("KUMA_MESH", self.sb.iptables_save(4, "nat"))
        self.assertNotIn("KUMA_MESH", self.sb.iptables_save(6, "nat"))
        for fam in (4, 6):
            with self.subTest(family=fam):
                self.check_nothing_redirected(fam)


_per_family("1_app_outbound_reaches_15001", "An app UID's connection to remote:80 is accepted "
            "by the 15001 listener, which sees remote:80 as the original destination")
_per_family("2_kuma_dp_goes_direct", "The kuma-dp UID's connection reaches the remote directly")
_per_family("3_exclusions_bypass", "--exclude-outbound-ports/-ips bypass the proxy; "
            "--exclude-outbound-ports-for-uids only for its UID")
_per_family("4_inbound_reaches_15006", "remote -> app:8080 lands on 15006; "
            "--exclude-inbound-ports bypasses")
_per_family("5_dns_per_server", "--redirect-dns: an app UID's query to the nameserver reaches "
            "15053, kuma-dp's the real one, a server not in resolv.conf is not redirected")
_per_family("5_dns_capture_all", "--redirect-all-dns-traffic: every app UID query reaches 15053, "
            "kuma-dp's the real nameserver")
