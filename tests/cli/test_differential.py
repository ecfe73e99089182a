# SPDX-License-Identifier: MIT
"""Differential test: the tool's direct.xml verdict against firewalld's own parser.

Mutants of the fixtures (fixed seed: bytes, tokens, entities, CDATA, comments, PIs, quoting,
encodings, BOMs, CR/LF, duplicate attributes, nested elements) are judged by
firewall.core.io.direct.Direct(path).read() of the installed firewalld, in this very Python
process, and by the library (tests/test_direct --verdicts, one long-lived process). They must agree,
except for the deliberate refusals listed in man/tproxy-firewalld.8 (DELIBERATE below). For every
mutant both accept and the tool can edit, install then uninstall must give the bytes back, and
firewalld must accept the installed file.
Skipped when firewalld's Python modules are not installed.
"""
import contextlib
import io
import os
import random
import subprocess
import sys
import tempfile
import unittest

SRCDIR = os.environ.get("TPFW_SRCDIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILDDIR = os.environ.get("TPFW_BUILDDIR", os.path.join(SRCDIR, "build"))
HELPER = os.path.join(BUILDDIR, "tests", "test_direct")
SEED = 16
N_MUTANTS = int(os.environ.get("TPFW_DIFF_MUTANTS", "3000"))

# What the tool refuses on purpose although firewalld accepts it (man/tproxy-firewalld.8,
# DELIBERATE REFUSALS): a kind, and a piece of the message users see.
DELIBERATE = {
    "doctype": "DOCTYPE declarations are not supported",
    "nested": "elements cannot be nested",
    "root": "the root element must be direct",
    "priority": "outside the 32-bit range",
    "encoding": "is not supported (use UTF-8",
}

try:
    sys.path.insert(0, "/usr/lib/python3/dist-packages")
    from firewall.core.io.direct import Direct
    from firewall.core.logger import log as fw_log
    HAVE_FIREWALLD = True
except ImportError:  # pragma: no cover
    HAVE_FIREWALLD = False

TOKENS = [b"<", b">", b"&", b"&amp;", b"&lt;", b"&#10;", b"&#13;", b"&#xFFFE;", b"&#x41;",
          b"&bogus;", b"<![CDATA[-j ACCEPT]]>", b"<![CDATA[", b"]]>", b"<!-- c -->", b"<?pi x?>",
          b"<?xml version='1.0'?>", b"\"", b"'", b"\\", b"\r", b"\r\n", b"\n", b"\t", b" ",
          b"\x00", b"\xc3\xa9", b"\xff", b"\xef\xbf\xbe", b"<chain ipv=\"ipv4\" table=\"filter\" "
          b"chain=\"X\"/>", b"<rule/>", b"<direct>", b"</direct>", b"<foo/>", b"x:a=\"1\"",
          b" ipv=\"ipv4\"", b" owner=\"k\"", b"priority=\"1_0\"", b"priority=\" +7 \"",
          b"priority=\"\xd9\xa3\"", b"priority=\"99999999999\"", b"<!DOCTYPE direct>",
          b"\xe0\xb8\x81\xc2\xb7"]


# XML declarations, the ones expat takes and libxml2 does not among them (any version value).
DECLS = [b'<?xml version="1.0"?>', b'<?xml version="2.0"?>', b'<?xml version=""?>',
         b"<?xml version='a_b-c.d'?>", b'<?xml version="1.1" encoding="utf-8"?>',
         b'<?xml version="1.0" standalone="yes"?>', b'<?xml version="1.0" standalone="maybe"?>',
         b'<?xml encoding="utf-8"?>', b"<?xml?>", b'<?xml version="1.0"encoding="utf-8"?>',
         b'<?xml version = "1.0" ?>', b'<?xml version="1.0" encoding=""?>',
         b'<?xml version="1 0"?>', b'<?xml\tversion="2"\r\n?>', b'<?XML version="1.0"?>',
         b'<?xml version="1.0" encoding="cp1252"?>', b'<?xml version="9" encoding="latin1"?>',
         b'<?xml version="1.0" standalone="no" encoding="utf-8"?>', b'<?xml version="1.0\'?>',
         b'<?xml version="1.0" ?><?xml version="1.0"?>', b' <?xml version="1.0"?>',
         b'<?xml  version="1.x"  encoding="US-ASCII"  standalone="no"?>']


def sources():
    out = []
    for sub in ("corpus", "merge"):
        d = os.path.join(SRCDIR, "fixtures", "direct", sub)
        for name in sorted(os.listdir(d)):
            if name.endswith((".xml", ".expected")):
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                # firewalld spins for minutes on entity expansion bombs (corpus EXPECTED)
                if b"<!ENTITY" not in data:
                    out.append(data)
    return out


def reencode(data, rnd):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    choice = rnd.randrange(7)
    if choice == 0:
        return b"\xff\xfe" + text.encode("utf-16-le")
    if choice == 1:
        return text.encode("utf-16-be")
    if choice == 2:
        return b"\xef\xbb\xbf" + data
    if choice == 3:
        body = text.split("?>", 1)[-1] if text.startswith("<?xml") else text
        return ('<?xml version="1.0" encoding="iso-8859-1"?>' + body).encode("latin-1", "replace")
    if choice == 4:
        body = text.split("?>", 1)[-1] if text.startswith("<?xml") else text
        enc = rnd.choice(["utf8", "UTF-8", "us-ascii", "utf-16", "latin1", "shift_jis", "cp1252"])
        return ('<?xml version="1.0" encoding="%s"?>' % enc).encode() + body.encode()
    if choice == 5:
        return b"\xff\xfe" + ('<?xml version="1.0" encoding="utf-8"?>' + text).encode("utf-16-le")
    return text.replace("\n", "\r").encode()


def mutate(data, rnd):
    for _ in range(rnd.choice((1, 1, 1, 2, 3))):
        op = rnd.randrange(10)
        pos = rnd.randrange(len(data) + 1)
        if op == 0 and data:
            i = rnd.randrange(len(data))
            data = data[:i] + bytes([rnd.randrange(256)]) + data[i + 1:]
        elif op in (1, 2, 3):
            data = data[:pos] + rnd.choice(TOKENS) + data[pos:]
        elif op == 4 and data:
            end = min(len(data), pos + rnd.randint(1, 20))
            data = data[:pos] + data[end:]
        elif op == 5:
            data = reencode(data, rnd)
        elif op == 6:
            data = data.replace(b"\n", rnd.choice([b"\r\n", b"\r", b"\n\n", b" "]))
        elif op == 7:
            data = data.replace(b'ipv="ipv4"', b'ipv="ipv4" ipv="ipv4"', 1)
        elif op == 8:
            data = data.replace(b'"', b"'", rnd.randint(1, 6))
        elif op == 9 and rnd.randrange(2):
            end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
            data = rnd.choice(DECLS) + data[end:]
        else:
            i = data.find(b"</rule>")
            if i >= 0:
                data = data[:i] + rnd.choice([b"<![CDATA[ -j  x]]>", b"<!--c-->", b"<?p?>",
                                              b"<chain ipv='ipv4' table='nat' chain='C'/>",
                                              b" &quot;a b&quot;", b"\r\n-p tcp"]) + data[i:]
    return data


def firewalld_verdict(path):
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            Direct(path).read()
        return True, ""
    except Exception as e:  # firewalld's parser raises many kinds
        return False, str(e)


@unittest.skipUnless(HAVE_FIREWALLD, "firewalld's Python modules are not installed")
@unittest.skipUnless(os.access(HELPER, os.X_OK), "tests/test_direct not built")
class DifferentialTest(unittest.TestCase):
    def setUp(self):
        for level in ("error", "warning", "info1", "debug1"):
            if hasattr(fw_log, level):
                setattr(fw_log, level, lambda *a, **k: None)

    def test_mutants_agree_with_firewalld(self):
        rnd = random.Random(SEED)
        base = sources()
        self.assertGreaterEqual(len(base), 50)
        disagreements, roundtrips = [], 0
        counts = {"accept": 0, "reject": 0}
        deliberate = {kind: 0 for kind in DELIBERATE}
        with tempfile.TemporaryDirectory(prefix="tpfw-diff-") as tmp:
            paths = []
            for n in range(N_MUTANTS):
                path = os.path.join(tmp, "m%04d.xml" % n)
                with open(path, "wb") as f:
                    f.write(mutate(rnd.choice(base), rnd))
                paths.append(path)
            p = subprocess.run([HELPER, "--verdicts"], input="\n".join(paths) + "\n",
                               stdout=subprocess.PIPE, text=True, errors="replace", check=True,
                               timeout=120)
            ours = p.stdout.splitlines()
            self.assertEqual(len(ours), len(paths))
            for path, line in zip(paths, ours):
                fw_ok, fw_msg = firewalld_verdict(path)
                tool_ok = line.startswith("accept")
                kind = next((k for k, m in DELIBERATE.items() if m in line), None)
                if fw_ok and not tool_ok and kind:
                    deliberate[kind] += 1
                    continue
                if fw_ok != tool_ok:
                    disagreements.append("%s: firewalld %s (%s), tool %s" % (
                        os.path.basename(path), "accepts" if fw_ok else "rejects", fw_msg[:80],
                        line[:120]))
                    continue
                counts["accept" if tool_ok else "reject"] += 1
                if tool_ok and line.endswith("editable"):
                    self.check_roundtrip(path)
                    roundtrips += 1
            print("differential: %d mutants, both accept %d, both reject %d, deliberate "
                  "refusals %s, %d round trips" % (len(paths), counts["accept"], counts["reject"],
                                                  deliberate, roundtrips), file=sys.stderr)
        self.assertEqual(disagreements, [], "\n".join(disagreements[:20]))
        self.assertGreater(roundtrips, 100)
        self.assertGreater(counts["accept"], 200)
        self.assertGreater(counts["reject"], 200)

    def check_roundtrip(self, path):
        with open(path, "rb") as f:
            before = f.read()
        work = path + ".work.xml"
        with open(work, "wb") as f:
            f.write(before)
        p = subprocess.run([HELPER, "--install", work, "tpfw-diff"], stderr=subprocess.PIPE,
                           text=True, errors="replace")
        if p.returncode != 0:
            # refusing to write is fine (e.g. a conflict); the file must be untouched
            with open(work, "rb") as f:
                self.assertEqual(f.read(), before, path)
            return
        ok, msg = firewalld_verdict(work)
        self.assertTrue(ok, "%s: firewalld rejects the installed file: %s" % (path, msg))
        subprocess.run([HELPER, "--uninstall", work, "tpfw-diff"], check=True)
        with open(work, "rb") as f:
            self.assertEqual(f.read(), before, "%s: install + uninstall changed the bytes" % path)


if __name__ == "__main__":
    unittest.main()
