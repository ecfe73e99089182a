# SPDX-License-Identifier: MIT
"""The atomic replace of direct.xml and firewalld.conf: the .old backup is never the same file as
the live one at any crash point, and the replaced file's extended attributes (user.*, ACLs,
security.*) carry over."""
import json
import os
import shutil
import subprocess

from tpfwtest import CLI, CLI_FAULT, KUMA_FACTS, SRCDIR, FirewalldDirTest, read_bytes

try:
    import jsonschema
except ImportError:  # python3-jsonschema is in DEB_TEST
    jsonschema = None

CONF = "# firewalld config file\nDefaultZone=public\nRFC3964_IPv4=yes\n"
FOREIGN = (b'<?xml version="1.0" encoding="utf-8"?>\n<direct>\n  <rule ipv="ipv4" table="filter" '
           b'chain="INPUT" priority="0">-j ACCEPT</rule>\n</direct>\n')
FILES = ("direct.xml", "firewalld.conf")


class AtomicReplaceTest(FirewalldDirTest):
    def setUp(self):
        super().setUp()
        self.put(FOREIGN)
        self.put(CONF, "firewalld.conf")

    def install(self, cli=CLI, env=None, check=0, prefix=()):
        args = ["install", *KUMA_FACTS, "--fix-ipv6-redirect", "--no-reload"]
        return self.tpfw(*args, cli=cli, env=env, check=check) if not prefix else \
            subprocess.run([*prefix, cli, "--firewalld-dir", self.dir, *args],
                           capture_output=True, text=True,
                           env=self.traced_env())

    @staticmethod
    def traced_env():
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent")
        # LeakSanitizer cannot run under ptrace (it fails fatally and writes a report): the
        # sanitizer build is traced without leak detection; its other runs still check leaks.
        if env.get("ASAN_OPTIONS"):
            env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"].replace("detect_leaks=1", "detect_leaks=0")
        return env

    def assert_never_same_file(self, what):
        for name in FILES:
            path = os.path.join(self.dir, name)
            st = os.stat(path)
            self.assertEqual(st.st_nlink, 1, f"{what}: {name} has {st.st_nlink} links")
            if os.path.exists(path + ".old"):
                self.assertFalse(os.path.samefile(path, path + ".old"),
                                 f"{what}: {name}.old is the same file as {name}")

    def test_failed_final_rename_leaves_two_files(self):
        if not shutil.which("strace"):
            self.skipTest("strace missing")
        # every rename of the install fails in turn (the reproduction is when=2)
        for n in range(1, 5):
            p = self.install(prefix=["strace", "-f", "-o", "/dev/null", "-e",
                                     f"inject=rename,renameat,renameat2:error=EIO:when={n}"])
            self.assert_never_same_file(f"rename {n} failed (exit {p.returncode}: {p.stderr})")
            if p.returncode != 0:
                self.assertIn("Input/output error", p.stderr)
            self.tpfw("uninstall", "--no-reload", check=0)
        self.assertEqual(read_bytes(self.path), FOREIGN)

    def test_crash_points(self):
        if not os.path.exists(CLI_FAULT):
            self.skipTest("no fault build")
        whole = {"direct.xml": (b"</direct>\n",), "firewalld.conf": (b"RFC3964_IPv4=",)}
        for point in ("temp-write", "fsync", "backup-write", "backup-fsync", "backup", "rename",
                      "dir-fsync"):
            for hit in range(1, 4):
                spec = f"{point}@{hit}"
                self.put(FOREIGN)
                self.put(CONF, "firewalld.conf")
                self.install(cli=CLI_FAULT, env={"TPFW_FAULT_CRASH": spec}, check=None)
                self.assert_never_same_file(spec)
                for name, needles in whole.items():
                    data = read_bytes(os.path.join(self.dir, name))
                    for needle in needles:
                        self.assertIn(needle, data, f"{spec}: {name} is not whole")
                # and the next run cleans up and succeeds
                self.install()
                self.assert_never_same_file(f"after {spec}")
                self.assertIn(b"tproxy-firewalld/kuma", read_bytes(self.path))

    def test_acl_and_user_attributes_survive(self):
        if not (shutil.which("setfacl") and shutil.which("getfattr")):
            self.skipTest("acl/attr tools missing")
        for name in FILES:
            path = os.path.join(self.dir, name)
            subprocess.run(["setfattr", "-n", "user.tpfw", "-v", name, path], check=True)
            subprocess.run(["setfacl", "-m", "u:nobody:r,g:nogroup:rw", path], check=True)
        want = {n: self.attrs(n) for n in FILES}
        self.install()
        for name in FILES:
            self.assertIn("user.tpfw", want[name])
            self.assertIn("system.posix_acl_access", want[name])
            self.assertEqual(self.attrs(name), want[name], name)
            self.assertEqual(self.attrs(name + ".old"), want[name], name + ".old")
            acl = subprocess.run(["getfacl", "-c", os.path.join(self.dir, name)],
                                 capture_output=True, text=True, check=True).stdout
            self.assertIn("user:nobody:r--", acl)
            self.assertIn("group:nogroup:rw-", acl)

    def test_security_attribute_that_cannot_be_set_does_not_fail_the_write(self):
        if not os.path.exists(CLI_FAULT) or os.geteuid() != 0:
            self.skipTest("needs root and the fault build")
        subprocess.run(["setfattr", "-n", "security.tpfwtest", "-v", "x", self.path], check=True)
        subprocess.run(["setfattr", "-n", "user.tpfw", "-v", "kept", self.path], check=True)
        p = self.install(cli=CLI_FAULT, env={"TPFW_FAULT_FAIL": "xattr-security"})
        warning = f"{self.path}: warning: written without the extended attributes security.tpfwtest"
        self.assertIn(warning, p.stderr)
        self.assertIn(b"tproxy-firewalld/kuma", read_bytes(self.path))
        got = self.attrs("direct.xml")
        self.assertNotIn("security.tpfwtest", got)
        self.assertIn('user.tpfw="kept"', got)
        # --json carries it in "warnings" (the schema allows it); --quiet prints nothing
        for args in (["--json"], ["--quiet"]):
            self.tpfw("uninstall", "--no-reload", check=0)
            subprocess.run(["setfattr", "-n", "security.tpfwtest", "-v", "x", self.path],
                           check=True)
            p = self.tpfw("install", *args, *KUMA_FACTS, "--no-reload", cli=CLI_FAULT,
                          env={"TPFW_FAULT_FAIL": "xattr-security"}, check=0)
            if args == ["--json"]:
                obj = json.loads(p.stdout)
                self.assertEqual(len(obj["warnings"]), 1, obj)
                self.assertTrue(obj["warnings"][0].startswith(warning), obj)
                if jsonschema:
                    with open(os.path.join(SRCDIR, "schemas", "install.schema.json")) as f:
                        jsonschema.validate(obj, json.load(f), cls=jsonschema.Draft7Validator)
            else:
                self.assertEqual(p.stderr, "")
        # without the fault the label is carried over
        subprocess.run(["setfattr", "-n", "security.tpfwtest", "-v", "x", self.path], check=True)
        self.tpfw("uninstall", "--no-reload", check=0)
        self.assertIn("security.tpfwtest", self.attrs("direct.xml"))

    def attrs(self, name):
        p = subprocess.run(["getfattr", "-d", "-m", "-", "--absolute-names",
                            os.path.join(self.dir, name)], capture_output=True, text=True,
                           check=True)
        return "\n".join(line for line in p.stdout.splitlines() if not line.startswith("# file"))
