# SPDX-License-Identifier: MIT
"""libxml2, libdbus-1 and libyaml are linked the ordinary way, so packaging tools see them, and the
libxml2 loaded at run time is checked against the build's once, at start-up."""
import os
import re
import subprocess
import unittest

from tpfwtest import BUILDDIR, CLI, CLI_FAULT, SRCDIR, FirewalldDirTest

LIBS = ("libxml2.so", "libdbus-1.so", "libyaml-0.so")


def needed(path):
    p = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True)
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", p.stdout)


class LinkedLibsTest(FirewalldDirTest):
    def assert_links_all(self, path):
        libs = needed(path)
        for lib in LIBS:
            self.assertTrue(any(n.startswith(lib + ".") for n in libs), f"{path}: {lib} not in {libs}")

    def test_cli_needs_the_libraries(self):
        self.assert_links_all(CLI)
        self.assert_links_all(CLI_FAULT)

    def test_shared_library_needs_the_libraries(self):
        # the soname link names this build's library (an older version may linger in BUILDDIR)
        shlib = os.path.realpath(os.path.join(BUILDDIR, "libtproxy-firewalld.so.0"))
        self.assertTrue(re.fullmatch(r"libtproxy-firewalld\.so\.\d+\.\d+\.\d+", os.path.basename(shlib)),
                        shlib)
        self.assert_links_all(shlib)

    def test_no_dlopen_in_the_sources(self):
        p = subprocess.run(["grep", "-r", "dlopen", os.path.join(SRCDIR, "src")], capture_output=True,
                           text=True)
        self.assertEqual((p.returncode, p.stdout), (1, ""))

    def test_libxml2_mismatch_is_reported_once_and_changes_nothing(self):
        self.put(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct/>\n")
        p = self.tpfw("install", "--from-iptables-restore", "-", "--no-reload", cli=CLI_FAULT,
                      input="*filter\n-A INPUT -j ACCEPT\nCOMMIT\n",
                      env={"TPFW_FAULT_FAIL": "libxml-version"}, check=1)
        self.assertEqual(p.stdout, "")
        self.assertRegex(p.stderr, r"^tproxy-firewalld: libxml2 \d+\.0\.0 is loaded, but this "
                         r"build needs \d+\.\d+ or a later \d+\.x \(reinstall tproxy-firewalld "
                         r"for this libxml2\)\n$")
        with open(self.path, "rb") as f:
            self.assertEqual(f.read(), b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct/>\n")


if __name__ == "__main__":
    unittest.main()
