# SPDX-License-Identifier: MIT
"""The Ansible module (contrib/ansible/library/tproxy_firewalld.py) driven by ansible-playbook
against localhost and a real firewalld in a sandbox: idempotence, check mode, diff mode, absent.

Skipped when ansible-playbook (Debian package ansible-core) is missing; never installs it."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from integration.sandbox import FirewalldSandbox, skip_unless_possible

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TPFW_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("TPFW_BUILDDIR") or os.path.join(TOP, "build")
CLI = os.path.join(BUILDDIR, "tproxy-firewalld")
LIBRARY = os.path.join(TOP, "contrib", "ansible", "library")
PLAYBOOK_EXAMPLE = os.path.join(TOP, "contrib", "ansible", "example-playbook.yml")
ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook")

# IPv4 only, numeric UID, lo: nothing depends on the host.
PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  environment:
    DBUS_SYSTEM_BUS_ADDRESS: "{{ bus }}"
  tasks:
    - tproxy_firewalld:
        state: "{{ state }}"
        owner: "{{ owner }}"
        firewalld_dir: "{{ fwdir }}"
        executable: "{{ cli }}"
        reload: true
        require_running: true
        options:
          kuma-dp-user: 5678
          loopback-interface: lo
          assume-ipv6: false
          redirect-dns: false
          exclude-inbound-ports: [2222, 9901]
      register: result
"""


def ansible_env():
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("KUMA_TRANSPARENT_PROXY_"):
            del e[k]
    e.update(ANSIBLE_LIBRARY=LIBRARY, ANSIBLE_STDOUT_CALLBACK="json",
             ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1",
             ANSIBLE_RETRY_FILES_ENABLED="0",
             ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
             ANSIBLE_PYTHON_INTERPRETER="auto_silent", ANSIBLE_GATHERING="explicit")
    return e


@unittest.skipUnless(ANSIBLE_PLAYBOOK, "ansible-playbook is missing (Debian package ansible-core)")
class AnsibleModuleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        skip_unless_possible()
        if not os.path.exists(CLI):
            raise unittest.SkipTest(f"{CLI} not built")
        cls.sb = FirewalldSandbox.for_class(cls)
        cls.tmp = tempfile.mkdtemp(prefix="tpfw-ansible-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.playbook = os.path.join(cls.tmp, "playbook.yml")
        with open(cls.playbook, "w") as f:
            f.write(PLAYBOOK)
        cls.env = ansible_env()
        cls.env["HOME"] = cls.tmp  # ansible's local temp and cache stay in the test dir

    def play(self, state, *flags, owner="kuma"):
        """Runs the playbook; returns the module's result for the task."""
        extra = {"state": state, "owner": owner, "fwdir": self.sb.config_dir, "cli": CLI,
                 "bus": self.sb.bus_address}
        p = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-e", json.dumps(extra),
                            *flags, self.playbook], env=self.env, capture_output=True, text=True,
                           timeout=180)
        try:
            out = json.loads(p.stdout)
        except ValueError:
            self.fail(f"ansible-playbook printed no JSON (exit {p.returncode}):\n{p.stdout}\n"
                      f"{p.stderr}")
        hosts = out["plays"][0]["tasks"][0]["hosts"]
        res = hosts["localhost"]
        self.assertEqual(p.returncode, 0, f"{json.dumps(res, indent=1)}\n{p.stderr}")
        stats = out["stats"]["localhost"]
        self.assertEqual(stats["changed"], 1 if res["changed"] else 0)
        return res

    def direct_xml(self):
        try:
            with open(self.sb.direct_xml_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def snapshot(self):
        p = self.sb.direct_xml_path
        return (self.direct_xml(), os.stat(p).st_mtime_ns if os.path.exists(p) else None)

    def runtime_tagged(self, owner="kuma"):
        return f"tproxy-firewalld/{owner}" in self.sb.iptables_save(4, "nat")

    def test_life_cycle(self):
        # check mode first: reports the change, writes nothing, touches no rule
        before = self.snapshot()
        res = self.play("present", "--check", "--diff")
        self.assertTrue(res["changed"])
        self.assertGreater(res["added"], 0)
        self.assertEqual(res["reload"], "skipped")
        self.assertIn("+  <rule", res["diff"]["prepared"])
        self.assertIn("--check", res["cmd"])
        self.assertEqual(self.snapshot(), before)
        self.assertFalse(self.runtime_tagged())

        # first run: changed, reloaded and verified in the real firewalld
        res = self.play("present")
        self.assertTrue(res["changed"])
        self.assertEqual((res["reload"], res["verified"]), ("done", True))
        self.assertEqual(res["file"], self.sb.direct_xml_path)
        self.assertIn("--exclude-inbound-ports=2222,9901", res["cmd"])
        installed = self.snapshot()
        self.assertIn(b"tproxy-firewalld/kuma", installed[0])
        self.assertIn(b"--dport 2222", installed[0])
        self.assertIn(b"--dport 9901", installed[0])
        self.assertTrue(self.runtime_tagged())

        # second run: unchanged, file untouched
        res = self.play("present")
        self.assertFalse(res["changed"])
        self.assertEqual((res["added"], res["removed"]), (0, 0))
        self.assertEqual(self.snapshot(), installed)

        # absent in check mode: reports the removal, changes nothing
        res = self.play("absent", "--check")
        self.assertTrue(res["changed"])
        self.assertGreater(res["removed"], 0)
        self.assertEqual(self.snapshot(), installed)
        self.assertTrue(self.runtime_tagged())

        # absent: removed from the file and from firewalld's runtime
        res = self.play("absent", "--diff")
        self.assertTrue(res["changed"])
        self.assertEqual(res["reload"], "done")
        self.assertIn("-  <rule", res["diff"]["prepared"])
        self.assertNotIn(b"tproxy-firewalld/", self.direct_xml())
        self.assertFalse(self.runtime_tagged())
        res = self.play("absent")
        self.assertFalse(res["changed"])

    def test_failure_is_reported_as_failed_task(self):
        # an invalid owner name: the module fails, nothing is written
        before = self.snapshot()
        extra = {"state": "present", "owner": "Not_Valid", "fwdir": self.sb.config_dir,
                 "cli": CLI, "bus": self.sb.bus_address}
        p = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-e", json.dumps(extra),
                            self.playbook], env=self.env, capture_output=True, text=True,
                           timeout=180)
        self.assertNotEqual(p.returncode, 0)
        res = json.loads(p.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
        self.assertTrue(res.get("failed"), res)
        self.assertIn("owner", res["msg"])
        self.assertEqual(self.snapshot(), before)


@unittest.skipUnless(ANSIBLE_PLAYBOOK, "ansible-playbook is missing (Debian package ansible-core)")
class ExamplePlaybookTest(unittest.TestCase):
    def test_example_playbook_parses(self):
        env = dict(ansible_env(), ANSIBLE_STDOUT_CALLBACK="default")
        p = subprocess.run([ANSIBLE_PLAYBOOK, "--syntax-check", "-i", "mesh_nodes,",
                            PLAYBOOK_EXAMPLE], env=env, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
