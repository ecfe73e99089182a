# SPDX-License-Identifier: MIT
"""A real firewalld in its own network namespace on a private D-Bus system bus (FIREWALLD.md 8).

Usage in a unittest.TestCase:

    sb = FirewalldSandbox.for_test(self)          # started; torn down by addCleanup
    subprocess.run([...], env=sb.env)              # DBUS_SYSTEM_BUS_ADDRESS points at the sandbox
    sb.write_direct_xml("<direct>...</direct>"); sb.dbus_reload()
    sb.iptables_save(4)

or for a whole class (start once, ~3-6 s):

    @classmethod
    def setUpClass(cls):
        cls.sb = FirewalldSandbox.for_class(cls)

Which firewalld: TPFW_FIREWALLD_PREFIX unset or empty runs Debian's (/usr/sbin/firewalld, config
copied from /etc/firewalld); set, it names the prefix of an upstream build (../shared/firewalld/build)
whose sbin/firewalld runs with that prefix's python modules and etc/firewalld. firewall_env()
gives the PATH/PYTHONPATH under which firewall-cmd and firewall-offline-cmd are the same version.

Nothing here ever talks to the host's system bus: every D-Bus client is given the private
address explicitly. Processes are stopped by PID only; the namespace is deleted only after
firewalld has exited.
"""
import atexit
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

FIREWALLD_PREFIX = os.environ.get("TPFW_FIREWALLD_PREFIX") or None
FIREWALLD = os.path.join(FIREWALLD_PREFIX, "sbin", "firewalld") if FIREWALLD_PREFIX else \
    "/usr/sbin/firewalld"
# The stock configuration of that firewalld, copied into each sandbox.
FIREWALLD_ETC = os.path.join(FIREWALLD_PREFIX, "etc", "firewalld") if FIREWALLD_PREFIX else \
    "/etc/firewalld"
FW_BUS = "org.fedoraproject.FirewallD1"
FW_PATH = "/org/fedoraproject/FirewallD1"
FW_CONFIG_PATH = "/org/fedoraproject/FirewallD1/config"

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

_live = set()
_version = None


def firewall_env(base=None):
    """base (default os.environ) with PATH and PYTHONPATH pointing at the firewalld under test,
    so that firewalld, firewall-cmd and firewall-offline-cmd are all of one version."""
    env = dict(os.environ if base is None else base)
    if FIREWALLD_PREFIX:
        p = FIREWALLD_PREFIX
        env["PATH"] = "%s/sbin:%s/bin:%s" % (p, p, env.get("PATH", "/usr/sbin:/usr/bin"))
        site = sorted(glob.glob(os.path.join(p, "lib", "python3*", "site-packages")))
        if site:
            env["PYTHONPATH"] = site[0] + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def firewalld_version():
    """The version of the firewalld under test as a tuple of ints, e.g. (2, 5, 0)."""
    global _version
    if _version is None:
        p = subprocess.run(["/usr/bin/python3", "-c",
                            "import firewall.config as c; print(c.VERSION)"],
                           env=firewall_env(), capture_output=True, text=True, check=True)
        _version = tuple(int(x) for x in p.stdout.strip().split(".")[:3] if x.isdigit())
    return _version


def _cleanup_all():
    for sb in list(_live):
        try:
            sb.close()
        except Exception:  # last resort at interpreter exit: keep cleaning the others
            pass


atexit.register(_cleanup_all)


def skip_unless_possible(*binaries):
    """Raises unittest.SkipTest when a sandbox cannot run here, or one of binaries is not built."""
    for b in binaries:
        if not os.access(b, os.X_OK):
            raise unittest.SkipTest(f"{b} is not built")
    if os.geteuid() != 0:
        raise unittest.SkipTest("firewalld sandbox needs root")
    if not os.path.exists(FIREWALLD):
        raise unittest.SkipTest(f"{FIREWALLD} is missing")
    for tool in ("dbus-daemon", "dbus-send", "ip"):
        if not shutil.which(tool):
            raise unittest.SkipTest(f"{tool} is missing")


def _wait_pid(proc, timeout):
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def _stop_process(proc, term_timeout=20.0):
    """SIGTERM, wait, then SIGKILL; only this process (by PID)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGCONT)  # a paused process cannot act on SIGTERM
        proc.terminate()
    except ProcessLookupError:
        pass
    if not _wait_pid(proc, term_timeout):
        proc.kill()
        proc.wait(timeout=10)


class FirewalldSandbox:
    """A private dbus-daemon, a network namespace and firewalld running in it."""

    def __init__(self, direct_xml=None, config_files=None):
        """direct_xml: text for DIR/direct.xml (None: no direct.xml). config_files: extra
        {relative path: text} written into the config dir before firewalld starts."""
        skip_unless_possible()
        self.tmpdir = None
        self.netns = None
        self.dbus_proc = None
        self.fw_proc = None
        self._log = None
        self.timings = {}
        _live.add(self)
        try:
            self._setup(direct_xml, config_files or {})
        except BaseException:
            self.close()
            raise

    # ---- construction helpers for unittest ----

    @classmethod
    def for_test(cls, testcase, start=True, **kw):
        sb = cls(**kw)
        testcase.addCleanup(sb.close)
        if start:
            sb.start()
        return sb

    @classmethod
    def for_class(cls, testclass, start=True, **kw):
        sb = cls(**kw)
        testclass.addClassCleanup(sb.close)
        if start:
            sb.start()
        return sb

    def __enter__(self):
        if self.fw_proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- setup and teardown ----

    def _setup(self, direct_xml, config_files):
        t0 = time.monotonic()
        self.tmpdir = tempfile.mkdtemp(prefix="tpfw-sandbox-")
        # Non-root callers (the EACCES tests) must reach the bus socket and test binaries.
        os.chmod(self.tmpdir, 0o755)
        self.bus_socket = os.path.join(self.tmpdir, "bus.sock")
        self.bus_address = "unix:path=" + self.bus_socket
        self.env = firewall_env()
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        self.env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        self.log_path = os.path.join(self.tmpdir, "firewalld.log")

        conf = os.path.join(self.tmpdir, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONF.format(sock=self.bus_socket))
        self.dbus_proc = subprocess.Popen(
            ["dbus-daemon", "--config-file=" + conf, "--nofork", "--nopidfile",
             "--print-address=1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True)
        # The address line is printed once the socket listens.
        line = self.dbus_proc.stdout.readline()
        if not line.strip():
            raise RuntimeError("private dbus-daemon did not start")

        self.netns = "tpfw-test-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self._netns_created = True

        self.config_dir = os.path.join(self.tmpdir, "etc")
        shutil.copytree(FIREWALLD_ETC, self.config_dir, symlinks=True)
        stale = os.path.join(self.config_dir, "direct.xml")
        if os.path.exists(stale):
            os.unlink(stale)
        if direct_xml is not None:
            self.write_direct_xml(direct_xml)
        for rel, text in config_files.items():
            path = os.path.join(self.config_dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        self.timings["setup"] = time.monotonic() - t0

    @property
    def direct_xml_path(self):
        return os.path.join(self.config_dir, "direct.xml")

    def write_direct_xml(self, text):
        with open(self.direct_xml_path, "w") as f:
            f.write(text)

    def read_direct_xml(self):
        """direct.xml's bytes, or None when there is none."""
        try:
            with open(self.direct_xml_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def run_tool(self, cli, *args, env=None, pre=(), timeout=120):
        """Runs cli (the tproxy-firewalld binary) on this sandbox: its --firewalld-dir, its bus.
        The test's KUMA_TRANSPARENT_PROXY_* variables are left out (env adds variables); pre is a
        command line that wraps it (strace ...)."""
        e = {k: v for k, v in self.env.items() if not k.startswith("KUMA_TRANSPARENT_PROXY_")}
        e.update(env or {})
        return subprocess.run([*pre, cli, "--firewalld-dir", self.config_dir, *args], env=e,
                              capture_output=True, text=True, timeout=timeout)

    def start(self, expect=("RUNNING",), timeout=30.0, wait=True):
        """Starts firewalld in the namespace and waits until its state is final.
        expect: acceptable final states (None: any of RUNNING/FAILED). Returns the state.
        wait=False returns at once (None); wait_started() waits later."""
        if self.fw_proc is not None and self.fw_proc.poll() is None:
            raise RuntimeError("firewalld is already running in the sandbox")
        self._t_start = time.monotonic()
        self._log = open(self.log_path, "ab")
        # --log-target appeared in 1.2; before it the log goes to a file (the same one).
        log = (["--log-target", "console"] if firewalld_version() >= (1, 2)
               else ["--log-file", self.log_path])
        self.fw_proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, FIREWALLD, "--nofork", "--nopid",
             "--system-config", self.config_dir] + log,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=self.env)
        # ip netns exec execs firewalld, so fw_proc.pid is firewalld's own PID.
        if not wait:
            return None
        return self.wait_started(expect, timeout)

    def wait_started(self, expect=("RUNNING",), timeout=30.0):
        """Waits until the firewalld start()ed is in a final state; returns it (see start())."""
        t0 = self._t_start
        state = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.fw_proc.poll() is not None:
                raise RuntimeError("firewalld exited (%d) during start:\n%s"
                                   % (self.fw_proc.returncode, self.log_text()))
            state = self.get_state()
            if state in ("RUNNING", "FAILED"):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("firewalld did not start within %.0f s (state %r):\n%s"
                               % (timeout, state, self.log_text()))
        self.timings["start"] = time.monotonic() - t0
        if expect is not None and state not in expect:
            raise RuntimeError("firewalld started in state %s:\n%s" % (state, self.log_text()))
        return state

    def stop(self):
        """Stops firewalld (by PID) and waits for it to exit."""
        t0 = time.monotonic()
        _stop_process(self.fw_proc)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.timings["stop"] = time.monotonic() - t0

    def pause(self):
        """SIGSTOP firewalld: it keeps its bus name but answers nothing (timeout tests)."""
        os.kill(self.fw_proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.fw_proc.pid, signal.SIGCONT)

    def close(self):
        """Tears everything down; safe to call more than once and after partial setup."""
        t0 = time.monotonic()
        try:
            self.stop()
        finally:
            fw_gone = self.fw_proc is None or self.fw_proc.poll() is not None
            try:
                _stop_process(self.dbus_proc, term_timeout=5.0)
                if self.dbus_proc is not None and self.dbus_proc.stdout:
                    self.dbus_proc.stdout.close()
            finally:
                if self.netns and fw_gone:
                    self._delete_netns()
                if self.tmpdir and fw_gone:
                    shutil.rmtree(self.tmpdir, ignore_errors=True)
                    self.tmpdir = None
                _live.discard(self)
        self.timings["close"] = time.monotonic() - t0

    def recreate_netns(self):
        """A reboot of the app host: with firewalld stopped (stop()), deletes the namespace and
        creates an empty one of the same name (loopback down, no interfaces, no rules). The
        caller configures interfaces again, then start()s firewalld with the same config dir."""
        if self.fw_proc is not None and self.fw_proc.poll() is None:
            raise RuntimeError("stop firewalld before recreating its namespace")
        name = self.netns
        self._delete_netns()
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.netns = name

    def _delete_netns(self):
        # firewalld has exited; its helpers (iptables-restore) die with it. Wait briefly for the
        # namespace to empty, but never kill what we did not start.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            p = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True, text=True)
            if p.returncode != 0 or not p.stdout.strip():
                break
            time.sleep(0.1)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        self.netns = None

    # ---- inspection and control ----

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def run_in_ns(self, cmd, check=True, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(["ip", "netns", "exec", self.netns] + list(cmd), check=check,
                              **kw)

    def iptables_save(self, ipv=4, table=None):
        tool = "iptables-save" if ipv == 4 else "ip6tables-save"
        cmd = [tool] + (["-t", table] if table else [])
        return self.run_in_ns(cmd).stdout

    def firewall_cmd(self, args, check=False):
        """firewall-cmd of the firewalld under test. Read stdout only: 2.4+ print "Waiting on
        dbus connection..." on stderr before the answer."""
        return subprocess.run(["firewall-cmd"] + list(args), env=self.env, capture_output=True,
                              text=True, check=check)

    def dbus_send(self, path, method, *args, timeout_ms=30000, check=False):
        """dbus-send --print-reply to firewalld on the private bus (method is iface.member)."""
        cmd = ["dbus-send", "--bus=" + self.bus_address, "--print-reply",
               "--reply-timeout=%d" % timeout_ms, "--dest=" + FW_BUS, path, method] + list(args)
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=check)

    def dbus_reload(self, check=True):
        return self.dbus_send(FW_PATH, "org.fedoraproject.FirewallD1.reload", check=check)

    def get_state(self):
        """firewalld's state property, or None when it has no bus name (yet)."""
        p = self.dbus_send(FW_PATH, "org.freedesktop.DBus.Properties.Get",
                           "string:org.fedoraproject.FirewallD1", "string:state",
                           timeout_ms=2000)
        if p.returncode != 0:
            return None
        for word in p.stdout.split():
            if word.startswith('"'):
                return word.strip('"')
        return None
