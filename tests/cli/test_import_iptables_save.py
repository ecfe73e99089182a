# SPDX-License-Identifier: MIT
"""Importing real iptables-save output: the built-in chains it declares (nat INPUT included)
import as nothing; a rule in nat INPUT, which firewalld's direct interface cannot address, is
refused by name and nothing is written."""
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

from tpfwtest import FirewalldDirTest, fixture, read_bytes

EMPTY = b'<?xml version="1.0" encoding="utf-8"?>\n<direct/>\n'


class ImportIptablesSaveTest(FirewalldDirTest):
    def netns_save(self, *commands):
        """iptables-save -t nat of a fresh network namespace after running commands in it."""
        if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("iptables-save"):
            self.skipTest("needs root, ip and iptables")
        ns = f"tpfw-import-{os.getpid()}"
        subprocess.run(["ip", "netns", "add", ns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "delete", ns])
        for c in commands:
            subprocess.run(["ip", "netns", "exec", ns, "iptables", "-t", "nat", *c], check=True)
        return subprocess.run(["ip", "netns", "exec", ns, "iptables-save", "-t", "nat"],
                              capture_output=True, text=True, check=True).stdout

    def install(self, text, check):
        return self.tpfw("install", "--from-iptables-restore", "-", "--no-reload", input=text,
                         check=check)

    def chains(self):
        root = ET.parse(self.path).getroot()
        return [(c.get("table"), c.get("chain")) for c in root.iter("chain")]

    def test_real_iptables_save_of_a_namespace(self):
        save = self.netns_save(["-N", "PROXY_OUT"], ["-A", "OUTPUT", "-p", "tcp", "-j", "PROXY_OUT"],
                               ["-A", "PROXY_OUT", "-p", "tcp", "-j", "REDIRECT", "--to-ports",
                                "15001"])
        self.assertIn(":INPUT ACCEPT", save)  # what made the importer fail before
        self.put_fixture("cli", "foreign.xml")
        before = read_bytes(self.path)
        self.install(save, check=0)
        self.assertIn(("nat", "PROXY_OUT"), self.chains())
        self.assertNotIn(("nat", "INPUT"), self.chains())
        self.tpfw("uninstall", "--no-reload", check=0)
        self.assertEqual(read_bytes(self.path), before)

    def test_rule_in_nat_input_is_refused_by_name(self):
        save = self.netns_save(["-A", "INPUT", "-p", "tcp", "-j", "ACCEPT"])
        self.put(EMPTY)
        p = self.install(save, check=1)
        self.assertRegex(p.stderr, r"<stdin>:\d+: chain INPUT of table nat is built into the kernel, "
                         r"but firewalld's direct interface cannot address it")
        self.assertEqual(read_bytes(self.path), EMPTY)

    def test_linkerd_sample(self):
        with open(fixture("import", "linkerd-iptables-save.txt")) as f:
            text = f.read()
        self.put(EMPTY)
        self.install(text, check=0)
        self.assertEqual(self.chains(), [("nat", "PROXY_INIT_OUTPUT"),
                                         ("nat", "PROXY_INIT_REDIRECT")])
