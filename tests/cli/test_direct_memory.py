# SPDX-License-Identifier: MIT
"""Peak memory of reading a large direct.xml: within 3x the file + 8 MB (issue 16).

60 MB valid files of several shapes (entries with CR line endings and CDATA sections; small rules
and chain declarations, the most entries a file can hold; nothing but comments; nothing but
processing instructions, which once made libxml2's xmlTextReader parse the whole file into a tree
ahead of the schema check) are generated into a scratch directory; `tproxy-firewalld validate`
(firewalld's checks, which keep nothing of the entries, then the streamed schema check) runs in a
fresh child whose peak RSS is read with getrusage(RUSAGE_CHILDREN) in a forked helper.
"""
import os
import subprocess
import sys
import tempfile
import unittest

from tpfwtest import CLI, SRCDIR

SIZE = 60 * 1000 * 1000
BOUND_KB = 3 * SIZE // 1024 + 8 * 1024


CR_CDATA = ('  <rule ipv="ipv4" table="filter" chain="INPUT" priority="%d">'
            '<![CDATA[-p tcp --dport %d -j ACCEPT]]></rule>\r')


def write_file(path, item, newline="\r"):
    """A valid direct.xml of SIZE bytes: item % (i % 1000, i % 65536) repeated inside <direct>."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>%s<direct>%s' % (newline, newline))
        size, i, chunk = 0, 0, []
        while size < SIZE - 64:
            s = item % (i % 1000, i % 65536)
            chunk.append(s)
            size += len(s)
            i += 1
        f.write("".join(chunk))
        f.write("</direct>%s" % newline)


# runs in a fresh interpreter, so that RUSAGE_CHILDREN holds only the CLI
PROBE = ("import resource, subprocess, sys\n"
         "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
         "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


class DirectMemoryTest(unittest.TestCase):
    def setUp(self):
        if os.environ.get("ASAN_OPTIONS") or "asan" in CLI:
            self.skipTest("sanitizer builds use more memory by design")

    def validate_peak_kb(self, item, newline):
        with tempfile.TemporaryDirectory(prefix="tpfw-mem-") as tmp:
            path = os.path.join(tmp, "direct.xml")
            write_file(path, item, newline)
            env = dict(os.environ,
                       TPROXY_FIREWALLD_SCHEMA=os.path.join(SRCDIR, "schemas", "direct.rng"))
            p = subprocess.run([sys.executable, "-c", PROBE, CLI, "validate", path], env=env,
                               stdout=subprocess.PIPE, text=True, check=True, timeout=300)
            rc, kb = (int(x) for x in p.stdout.split())
            self.assertEqual(rc, 0)
            return kb

    def check_shape(self, item, newline="\n"):
        kb = self.validate_peak_kb(item, newline)
        if os.environ.get("TPFW_MEMORY_VERBOSE"):
            print("%s: %d KB" % (self.id().rsplit(".", 1)[-1], kb), file=sys.stderr)
        self.assertLessEqual(kb, BOUND_KB, "peak RSS %d KB over %d KB" % (kb, BOUND_KB))

    def test_validate_60mb_cr_cdata(self):
        self.check_shape(CR_CDATA, "\r")

    def test_validate_60mb_small_rules(self):
        # about 800,000 entries: the model's bytes per entry count more than the file's
        self.check_shape('<rule ipv="ipv4" table="filter" chain="INPUT" priority="%d">-j A%d'
                         '</rule>\n')

    def test_validate_60mb_chains_only(self):
        # about 1.3 million entries with as many names: nothing of them is kept
        self.check_shape('<chain ipv="ipv4" table="filter" chain="c%d_%d"/>\n')

    def test_validate_60mb_comments_only(self):
        self.check_shape("<!-- %d %d -->\n")

    def test_validate_60mb_processing_instructions_only(self):
        self.check_shape("<?pi %d %d?>\n")


if __name__ == "__main__":
    unittest.main()
