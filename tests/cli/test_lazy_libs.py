# SPDX-License-Identifier: MIT
"""libxml2 and libdbus-1 are loaded only when a run needs them (src/lib/lazy.h): runs that do not
need them work without them, and runs that do fail with one clear line when they cannot load."""
import os

from tpfwtest import FirewalldDirTest, fixture, read_bytes

KUMA = fixture("cli", "kuma-dualstack.txt")
# CDATA is outside the fast parser's subset: only libxml2 reads this file.
CDATA = b'<?xml version="1.0" encoding="utf-8"?>\n<direct>\n  <rule ipv="ipv4" table="filter" ' \
        b'chain="INPUT" priority="0"><![CDATA[-j ACCEPT]]></rule>\n</direct>\n'


class LazyLibsTest(FirewalldDirTest):
    def broken(self, *sonames):
        """An LD_LIBRARY_PATH where each soname is a file the loader refuses."""
        d = os.path.join(self.tmp, "broken-libs")
        os.makedirs(d, exist_ok=True)
        for s in sonames:
            with open(os.path.join(d, s), "wb") as f:
                f.write(b"not an ELF object\n")
        return {"LD_LIBRARY_PATH": d}

    def test_common_install_needs_neither_library(self):
        self.put_fixture("cli", "foreign.xml")
        env = self.broken("libxml2.so.2", "libdbus-1.so.3", "libyaml-0.so.2")
        p = self.tpfw("install", "--from-iptables-restore", KUMA, "--no-reload", env=env, check=0)
        self.assertIn("added", p.stdout)
        self.tpfw("uninstall", "--no-reload", env=env, check=0)
        self.assertEqual(read_bytes(self.path), read_bytes(fixture("cli", "foreign.xml")))

    def test_fallback_parse_loads_libxml2(self):
        self.put(CDATA)
        p = self.tpfw("validate", check=0)
        p = self.tpfw("validate", env=self.broken("libxml2.so.2"), check=1)
        self.assertEqual(p.stdout, "")
        self.assertRegex(p.stderr, r"cannot load libxml2\.so\.2, needed for reading this file: "
                         r".*broken-libs/libxml2\.so\.2")
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)

    def test_install_refuses_untouched_when_libxml2_is_missing(self):
        self.put(CDATA)
        p = self.tpfw("install", "--from-iptables-restore", KUMA, "--no-reload",
                      env=self.broken("libxml2.so.2"), check=1)
        self.assertIn("cannot load libxml2.so.2", p.stderr)
        self.assertEqual(read_bytes(self.path), CDATA)

    def test_reload_loads_libdbus(self):
        self.put_fixture("cli", "foreign.xml")
        before = read_bytes(self.path)
        p = self.tpfw("install", "--from-iptables-restore", KUMA,
                      env=self.broken("libdbus-1.so.3"), check=1)
        self.assertRegex(p.stderr, r"cannot load libdbus-1\.so\.3, needed for talking to "
                         r"firewalld: ")
        self.assertEqual(read_bytes(self.path), before)
        # the same run with the real library finds no bus (tests point it at nothing), which
        # means firewalld is not running: the file is written for its next start
        p = self.tpfw("install", "--from-iptables-restore", KUMA, check=0)
        self.assertIn("reload: not-running", p.stdout)
        self.assertNotEqual(read_bytes(self.path), before)

    def test_status_does_not_mistake_missing_libdbus_for_a_stopped_firewalld(self):
        self.put_fixture("cli", "foreign.xml")
        p = self.tpfw("status", check=0)
        self.assertIn("firewalld: not running", p.stdout)
        p = self.tpfw("status", env=self.broken("libdbus-1.so.3"), check=1)
        self.assertNotIn("not running", p.stdout)
        self.assertIn("cannot load libdbus-1.so.3", p.stderr)

    def test_config_file_loads_libyaml(self):
        self.put_fixture("cli", "foreign.xml")
        before = read_bytes(self.path)
        args = ["install", "--no-reload", "--config", fixture("config", "base.yaml"),
                "--kuma-dp-user", "5678", "--assume-ipv6", "no"]
        p = self.tpfw(*args, env=self.broken("libyaml-0.so.2"), check=1)
        self.assertRegex(p.stderr, r"cannot load libyaml-0\.so\.2, needed for reading "
                         r"configuration files: ")
        self.assertEqual(read_bytes(self.path), before)
        self.tpfw(*args, check=0)
        self.assertNotEqual(read_bytes(self.path), before)
