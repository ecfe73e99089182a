# SPDX-License-Identifier: MIT
"""Peak memory of reading a large direct.xml: within 3x the file + 8 MB (issue 16).

One 60 MB valid file with CR line endings and CDATA sections is generated into a scratch
directory; `tproxy-firewalld validate` (the reader, the model and the streamed schema check) runs
in a fresh child whose peak RSS is read with getrusage(RUSAGE_CHILDREN) in a forked helper.
"""
import os
import subprocess
import sys
import tempfile
import unittest

from tpfwtest import CLI, SRCDIR

SIZE = 60 * 1000 * 1000
BOUND_KB = 3 * SIZE // 1024 + 8 * 1024


def write_file(path):
    rule = ('  <rule ipv="ipv4" table="filter" chain="INPUT" priority="%d">'
            '<![CDATA[-p tcp --dport %d -j ACCEPT]]></rule>\r')
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\r<direct>\r')
        size, i, chunk = 0, 0, []
        while size < SIZE - 64:
            s = rule % (i % 1000, i % 65536)
            chunk.append(s)
            size += len(s)
            i += 1
        f.write("".join(chunk))
        f.write("</direct>\r")


# runs in a fresh interpreter, so that RUSAGE_CHILDREN holds only the CLI
PROBE = ("import resource, subprocess, sys\n"
         "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
         "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


class DirectMemoryTest(unittest.TestCase):
    def test_validate_60mb_cr_cdata(self):
        if os.environ.get("ASAN_OPTIONS") or "asan" in CLI:
            self.skipTest("sanitizer builds use more memory by design")
        with tempfile.TemporaryDirectory(prefix="tpfw-mem-") as tmp:
            path = os.path.join(tmp, "direct.xml")
            write_file(path)
            env = dict(os.environ,
                       TPROXY_FIREWALLD_SCHEMA=os.path.join(SRCDIR, "schemas", "direct.rng"))
            p = subprocess.run([sys.executable, "-c", PROBE, CLI, "validate", path], env=env,
                               stdout=subprocess.PIPE, text=True, check=True, timeout=300)
            rc, kb = (int(x) for x in p.stdout.split())
            self.assertEqual(rc, 0)
            self.assertLessEqual(kb, BOUND_KB, "peak RSS %d KB over %d KB" % (kb, BOUND_KB))


if __name__ == "__main__":
    unittest.main()
