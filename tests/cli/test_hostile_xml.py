# SPDX-License-Identifier: MIT
"""Hostile direct.xml files (issue 7.4): each is refused (UTF-16, which firewalld reads, is
validated but not edited) in bounded memory and time, without network or file access, and
with nothing written.

Every case runs validate, install and uninstall inside a private network namespace
(`unshare -n`) where a listener on 127.0.0.1:8080 records any connection: the hostile files
point their external entities and DTDs at it, and at a FIFO that nobody writes (a parser that
opened it would hang, and the case would time out). Peak RSS comes from wait4() of each run.
A control run of xmllint with DTD loading on proves the listener sees a fetch.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import unittest

from tpfwtest import CLI, FirewalldDirTest, assert_no_sanitizer_report, fixture, read_bytes

KUMA = fixture("cli", "kuma-dualstack.txt")
MAX_RSS_KB = 200 * 1024
MAX_SECONDS = 5.0
URL = "http://127.0.0.1:8080"

# Runs inside `unshare -n`: lo up, a listener, the commands one by one, then reports as JSON.
HELPER = r"""
import json, os, socket, subprocess, sys, tempfile, threading, time
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 8080))
srv.listen(16)
srv.settimeout(0.1)
out = {"runs": [], "connections": 0}
done = threading.Event()


def serve():
    # count and hang up at once, so a client that does fetch fails fast instead of waiting
    while not done.is_set():
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        out["connections"] += 1
        c.close()


server = threading.Thread(target=serve)
server.start()
for cmd in json.loads(sys.argv[1]):
    with tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=o, stderr=e)
        watchdog = threading.Timer(20, p.kill)  # a parser blocked on the FIFO
        watchdog.start()
        _, status, ru = os.wait4(p.pid, 0)  # this one process's own peak RSS
        watchdog.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        o.seek(0)
        e.seek(0)
        out["runs"].append({"cmd": cmd, "rc": p.returncode, "seconds": time.monotonic() - t0,
                            "rss_kb": ru.ru_maxrss, "stdout": o.read().decode(errors="replace"),
                            "stderr": e.read().decode(errors="replace")})
done.set()
server.join()
print(json.dumps(out))
"""


def billion_laughs():
    ents = b"".join(b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">\n'
                    % ((i,) + (i - 1,) * 10) for i in range(1, 10))
    return (b'<?xml version="1.0"?>\n<!DOCTYPE direct [\n<!ENTITY l0 "lol">\n' + ents
            + b']>\n<direct>\n  <passthrough ipv="ipv4">&l9;</passthrough>\n</direct>\n')


def quadratic_blowup():
    # one 50 kB entity referenced 50 000 times: 2.5 GB once expanded, no nesting at all
    return (b'<?xml version="1.0"?>\n<!DOCTYPE direct [\n<!ENTITY a "' + b"a" * 50000
            + b'">\n]>\n<direct>\n  <passthrough ipv="ipv4">' + b"&a;" * 50000
            + b"</passthrough>\n</direct>\n")


def deep_nesting(levels=100000):
    return b"<direct>" + b"<a>" * levels + b"</a>" * levels + b"</direct>\n"


def utf16(codec):
    text = ('<?xml version="1.0" encoding="utf-16"?>\n<direct>\n  <rule ipv="ipv4" table="nat" '
            'chain="OUTPUT" priority="0">-p tcp --dport 2222 -j RETURN</rule>\n</direct>\n')
    return text.encode(codec)


def with_dtd(subset, body=b'<direct>\n  <passthrough ipv="ipv4">&x;</passthrough>\n</direct>\n'):
    return b'<?xml version="1.0"?>\n<!DOCTYPE direct [\n' + subset + b"\n]>\n" + body


def cases(fifo):
    """name -> bytes of direct.xml. fifo: a path nobody writes to."""
    rule = (b'<rule ipv="ipv4" table="nat" chain="OUTPUT" priority="0">'
            b"-m comment --comment %s -j RETURN</rule>")
    doc = b"<direct>\n  %s\n</direct>\n"
    f = fifo.encode()
    url = URL.encode()
    return {
        "billion-laughs": billion_laughs(),
        "quadratic-blowup": quadratic_blowup(),
        "external-entity-file": with_dtd(b'<!ENTITY x SYSTEM "file://' + f + b'">'),
        "external-entity-http": with_dtd(b'<!ENTITY x SYSTEM "' + url + b'/x">'),
        "parameter-entity-file": with_dtd(b'<!ENTITY % p SYSTEM "file://' + f + b'">\n%p;',
                                          b"<direct/>\n"),
        "parameter-entity-http": with_dtd(b'<!ENTITY % p SYSTEM "' + url + b'/p.dtd">\n%p;',
                                          b"<direct/>\n"),
        "external-dtd-http": (b'<?xml version="1.0"?>\n<!DOCTYPE direct SYSTEM "' + url
                              + b'/direct.dtd">\n<direct>\n</direct>\n'),
        "external-dtd-file": (b'<?xml version="1.0"?>\n<!DOCTYPE direct SYSTEM "' + f
                              + b'">\n<direct>\n</direct>\n'),
        "internal-dtd": with_dtd(b'<!ELEMENT direct ANY>\n<!ATTLIST rule priority CDATA "0">',
                                 b"<direct>\n</direct>\n"),
        "xinclude": (b'<direct xmlns:xi="http://www.w3.org/2001/XInclude">\n'
                     b'  <xi:include href="' + url + b'/x.xml" parse="xml"/>\n</direct>\n'),
        "deep-nesting-100k": deep_nesting(),
        "invalid-utf8-ff": doc % (rule % b"\xff\xfe"),
        "invalid-utf8-overlong": doc % (rule % b"\xc0\xaf"),
        "invalid-utf8-surrogate": doc % (rule % b"\xed\xa0\x80"),
        "invalid-utf8-truncated": doc % (rule % b"ab\xe2\x82"),
        "nul-byte-in-text": doc % (rule % b"a\x00b"),
        "nul-byte-at-start": b"\x00" + doc % b"",
        "latin1-undeclared": doc % (rule % b"caf\xe9"),
    }


# Files firewalld reads: validate accepts them, install refuses to edit, uninstall has nothing
# to remove (the file holds no entry of the owner) and writes nothing.
ACCEPTED = {
    "utf16-le-bom": utf16("utf-16"),  # Python's "utf-16" writes a BOM (native order: LE)
    "utf16-be-bom": b"\xfe\xff" + utf16("utf-16-be"),
    # expat reads "<" and a zero byte as UTF-16 (firewalld accepts it)
    "utf16-without-bom": utf16("utf-16-le"),
}

# Odd but harmless, and firewalld reads them (firewall-offline-cmd --check-config passes): the
# tool edits them like any file, keeps their bytes, and still fetches nothing.
EDITABLE = {
    "stylesheet-pi": (b'<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="'
                      + URL.encode() + b'/s.xsl"?>\n<direct>\n</direct>\n'),
    "huge-attribute": (b'<direct>\n  <chain ipv="ipv4" table="nat" chain="' + b"A" * (1 << 20)
                       + b'"/>\n</direct>\n'),
}


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"),
                     "needs root, unshare and ip (private network namespace)")
class HostileXmlTest(FirewalldDirTest):
    def setUp(self):
        super().setUp()
        self.fifo = os.path.join(self.tmp, "never-written.fifo")
        os.mkfifo(self.fifo)
        self.tried = []

    def snapshot(self):
        # digests: a failing comparison of multi-megabyte bytes would take minutes to print
        out = {}
        for name in sorted(os.listdir(self.dir)):
            path = os.path.join(self.dir, name)
            st = os.lstat(path)
            out[name] = (hashlib.sha256(read_bytes(path)).hexdigest(), st.st_mtime_ns,
                         st.st_mode)
        return out

    def in_netns(self, cmds):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/tpfw-test-bus")
        p = subprocess.run(["unshare", "-n", sys.executable, "-c", HELPER, json.dumps(cmds)],
                           capture_output=True, text=True, timeout=180, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)

    def commands(self):
        g = [CLI, "--firewalld-dir", self.dir]
        return [g + ["validate"],
                g + ["install", "--from-iptables-restore", KUMA, "--no-reload"],
                g + ["uninstall", "--no-reload"]]

    def measured(self, name, data, written=None):
        """Runs validate/install/uninstall on data; checks nothing was written or fetched."""
        self.put(data)
        self.put(b"<direct>\n</direct>\n", "direct.xml.old")
        before = self.snapshot()
        res = self.in_netns(self.commands())
        self.assertEqual(res["connections"], 0, f"{name}: a run connected to the network")
        if written is None:
            self.assertEqual(self.snapshot(), before, f"{name}: something was written")
        else:
            self.assertEqual(read_bytes(self.path), written, f"{name}: not the original bytes")
        for r in res["runs"]:
            self.assertLess(r["seconds"], MAX_SECONDS, f"{name}: {r['cmd'][3]} too slow")
            self.assertLess(r["rss_kb"], MAX_RSS_KB, f"{name}: {r['cmd'][3]}: {r['rss_kb']} kB")
            self.tried.append((name, r["cmd"][3], r["rss_kb"], r["seconds"]))
            assert_no_sanitizer_report(r["stderr"], name)
        return res["runs"]

    def test_refused(self):
        for name, data in cases(self.fifo).items():
            with self.subTest(name):
                runs = self.measured(name, data)
                for r in runs:
                    what = f"{name}: {' '.join(r['cmd'][3:5])}: exit {r['rc']}\n{r['stderr']}"
                    self.assertEqual(r["rc"], 1, what)
                    lines = r["stderr"].strip().splitlines()
                    self.assertEqual(len(lines), 1, what)
                    self.assertTrue(lines[0].startswith("tproxy-firewalld: "), what)
                    self.assertIn(self.path, lines[0], what)
                    # never echo what an external entity would have pulled in
                    self.assertNotIn("root:", r["stderr"] + r["stdout"], what)

    def test_accepted_encodings_are_not_edited(self):
        for name, data in ACCEPTED.items():
            with self.subTest(name):
                validate, install, uninstall = self.measured(name, data)
                self.assertEqual(validate["rc"], 0, validate["stderr"])
                self.assertIn("valid (1 entries)", validate["stdout"])
                self.assertIn("UTF-16", validate["stdout"] + validate["stderr"])
                self.assertEqual(install["rc"], 1, install["stderr"])
                self.assertEqual(len(install["stderr"].strip().splitlines()), 1, install["stderr"])
                self.assertIn("encoded in UTF-16", install["stderr"])
                self.assertIn("convert it to UTF-8", install["stderr"])
                self.assertEqual(uninstall["rc"], 0, uninstall["stderr"])
                self.assertIn("no change", uninstall["stdout"])

    def test_harmless_oddities_are_edited(self):
        for name, data in EDITABLE.items():
            with self.subTest(name):
                # install, then uninstall: back to the same bytes, nothing fetched
                validate, install, uninstall = self.measured(name, data, written=data)
                for r in (validate, install, uninstall):
                    self.assertEqual(r["rc"], 0, f"{name}: {r['cmd'][3]}: {r['stderr']}")
                self.assertIn("31 added", install["stdout"])
                self.assertIn("31 removed", uninstall["stdout"])

    def test_100_mb_file(self):
        with open(self.path, "wb") as f:
            f.write(b"<direct>\n")
            chunk = b"<!--" + b"x" * (1 << 20) + b"-->\n"
            for _ in range(100):
                f.write(chunk)
            f.write(b"</direct>\n")
        self.assertGreater(os.path.getsize(self.path), 100 << 20)
        before = self.snapshot()
        res = self.in_netns(self.commands())
        self.assertEqual(self.snapshot(), before)
        for r in res["runs"]:
            self.assertEqual(r["rc"], 1, r["stderr"])
            self.assertIn("too large", r["stderr"])
            self.assertLess(r["seconds"], MAX_SECONDS)
            self.assertLess(r["rss_kb"], MAX_RSS_KB)

    def test_control_the_listener_sees_a_fetch(self):
        """Without this, 'no connection' could mean the trap never worked."""
        xmllint = shutil.which("xmllint")
        if not xmllint:
            self.skipTest("xmllint is missing")
        self.put(cases(self.fifo)["external-dtd-http"])
        res = self.in_netns([[xmllint, "--loaddtd", "--noout", self.path]])
        self.assertGreaterEqual(res["connections"], 1, res)

