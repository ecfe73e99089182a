# SPDX-License-Identifier: MIT
"""Shared helpers for the Python test suites: paths, running the CLI, scratch firewalld dirs."""
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET
import shlex

SRCDIR = os.environ.get("TPFW_SRCDIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDDIR = os.environ.get("TPFW_BUILDDIR") or os.path.join(SRCDIR, "build")
CLI = os.path.join(BUILDDIR, "tproxy-firewalld")
CLI_FAULT = os.path.join(BUILDDIR, "tproxy-firewalld-fault")
FIXTURES = os.path.join(SRCDIR, "fixtures")
OFFLINE_CMD = shutil.which("firewall-offline-cmd")

# Options that make Kuma rule generation independent of the test host.
KUMA_FACTS = ["--kuma-dp-user", "5678", "--loopback-interface", "lo", "--assume-ipv6", "yes",
              "--assume-conntrack", "yes", "--assume-docker-output", "no", "--assume-mangle", "yes"]


def fixture(*parts):
    return os.path.join(FIXTURES, *parts)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# What ASan/LSan/UBSan print (`make asan-check` runs the suites against a sanitized CLI; ASan and
# LSan reports also go to files there, but gcc's UBSan in an ASan build only writes to stderr).
SANITIZER_MARKERS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")


def assert_no_sanitizer_report(stderr, what=""):
    for m in SANITIZER_MARKERS:
        if m in (stderr or ""):
            raise AssertionError(f"sanitizer report ({m!r}) from {what}:\n{stderr}")


def run(args, cli=CLI, input=None, env=None, check=None):
    """Runs the CLI; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    # never let a test reach the host's firewalld: point the system bus at nothing
    e["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=/nonexistent/tpfw-test-bus"
    for k in list(e):
        if k.startswith("KUMA_TRANSPARENT_PROXY_"):
            del e[k]
    if env:
        e.update(env)
    p = subprocess.run([cli] + list(args), input=input, env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    assert_no_sanitizer_report(p.stderr, args)
    if check is not None and p.returncode != check:
        raise AssertionError(f"exit {p.returncode} != {check} for {args}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


class FirewalldDirTest(unittest.TestCase):
    """Each test gets a scratch firewalld configuration directory."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tpfw-test-")
        self.dir = os.path.join(self.tmp, "firewalld")
        os.mkdir(self.dir)
        self.path = os.path.join(self.dir, "direct.xml")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def put(self, data, name="direct.xml"):
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(os.path.join(self.dir, name), mode) as f:
            f.write(data)

    def put_fixture(self, *parts):
        shutil.copyfile(fixture(*parts), self.path)

    def tpfw(self, *args, check=None, input=None, env=None, owner=None, cli=CLI):
        g = ["--firewalld-dir", self.dir]
        if owner:
            g += ["--owner", owner]
        return run(g + list(args), cli=cli, input=input, env=env, check=check)

    def entries(self, path=None):
        """(kind, attrs, argv) of each element, as firewalld reads them."""
        root = ET.parse(path or self.path).getroot()
        out = []
        for el in root:
            text = (el.text or "").replace("\n", " ")
            out.append((el.tag, dict(el.attrib), shlex.split(text) if el.tag != "chain" else None))
        return out

    def assert_offline_accepts(self, path=None):
        """firewall-offline-cmd --check-config on a copy of the host config with our direct.xml."""
        if not OFFLINE_CMD:
            return
        cfg = os.path.join(self.tmp, "offline-check")
        shutil.rmtree(cfg, True)
        shutil.copytree("/etc/firewalld", cfg, symlinks=True)
        shutil.copyfile(path or self.path, os.path.join(cfg, "direct.xml"))
        p = subprocess.run([OFFLINE_CMD, "--system-config", cfg, "--check-config"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, f"firewall-offline-cmd rejects the file:\n{p.stdout}")
