# SPDX-License-Identifier: MIT
"""DESIGN.md section 7: hostile or wrong inputs each get one clear error line, the right exit
code, and leave direct.xml and direct.xml.old untouched (no crash, nothing written)."""
import os
import shutil
import subprocess
import unittest

from tpfwtest import CLI, FirewalldDirTest, fixture, read_bytes

KUMA = fixture("cli", "kuma-dualstack.txt")
OLD = b"<direct>\n</direct>\n"

HOSTILE_XML = {
    "malformed": b"<direct>\n  <rule ipv=\"ipv4\" table=\"nat\" chain=\"OUTPUT\" priority=\"0\">-j RETURN\n",
    "wrong-root": b"<firewall>\n</firewall>\n",
    "unknown-element": b"<direct>\n  <zone name=\"x\"/>\n</direct>\n",
    "unknown-attribute": b"<direct>\n  <chain ipv=\"ipv4\" table=\"nat\" chain=\"X\" owner=\"kuma\"/>\n</direct>\n",
    "bad-ipv": b"<direct>\n  <chain ipv=\"ipv5\" table=\"nat\" chain=\"X\"/>\n</direct>\n",
    "bad-table": b"<direct>\n  <chain ipv=\"ipv4\" table=\"broute\" chain=\"X\"/>\n</direct>\n",
    "bad-priority": b"<direct>\n  <rule ipv=\"ipv4\" table=\"nat\" chain=\"OUTPUT\" priority=\"1.0\">-j RETURN</rule>\n</direct>\n",
    "unbalanced-quote": b"<direct>\n  <rule ipv=\"ipv4\" table=\"nat\" chain=\"OUTPUT\" priority=\"0\">-m comment --comment \"x -j RETURN</rule>\n</direct>\n",
    "invalid-utf8": b"<direct>\n  <rule ipv=\"ipv4\" table=\"nat\" chain=\"OUTPUT\" priority=\"0\">-m comment --comment \xff\xfe -j RETURN</rule>\n</direct>\n",
    "nul-byte": b"<direct>\n\x00</direct>\n",
    "empty": b"",
    "entity-bomb": (b"<?xml version=\"1.0\"?>\n<!DOCTYPE direct [\n<!ENTITY a \"aaaaaaaaaa\">\n"
                    + b"".join(b"<!ENTITY %c \"&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;\">\n"
                               % ((98 + i,) + (97 + i,) * 10) for i in range(8))
                    + b"]>\n<direct>\n  <passthrough ipv=\"ipv4\">&i;</passthrough>\n</direct>\n"),
    "external-entity": (b"<?xml version=\"1.0\"?>\n<!DOCTYPE direct [\n<!ENTITY x SYSTEM \"file:///etc/passwd\">\n]>\n"
                        b"<direct>\n  <passthrough ipv=\"ipv4\">&x;</passthrough>\n</direct>\n"),
    "external-dtd": (b"<?xml version=\"1.0\"?>\n<!DOCTYPE direct SYSTEM \"http://192.0.2.1/direct.dtd\">\n"
                     b"<direct>\n</direct>\n"),
}

BAD_IMPORTS = {
    "-P": "*filter\n-P INPUT DROP\nCOMMIT\n",
    "-F": "*nat\n-F OUTPUT\nCOMMIT\n",
    "-X": "*nat\n-X KUMA\nCOMMIT\n",
    "-D": "*nat\n-D OUTPUT -j RETURN\nCOMMIT\n",
    "-R": "*nat\n-R OUTPUT 1 -j RETURN\nCOMMIT\n",
    "policy": "*nat\n:KUMA DROP [0:0]\nCOMMIT\n",
    "unknown-table": "*bogus\n-A OUTPUT -j RETURN\nCOMMIT\n",
    "unbalanced": "*nat\n-A OUTPUT -m comment --comment \"x -j RETURN\nCOMMIT\n",
}


class HostileTest(FirewalldDirTest):
    def setUp(self):
        super().setUp()
        self.put(OLD, "direct.xml.old")

    def assert_untouched(self, before, p, code=1):
        self.assertEqual(p.returncode, code, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("tproxy-firewalld: "), lines[0])
        self.assertEqual(self.snapshot(), before)

    def snapshot(self):
        out = {}
        for name in sorted(os.listdir(self.dir)):
            path = os.path.join(self.dir, name)
            if os.path.islink(path):
                out[name] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                out[name] = ("dir",)
            else:
                st = os.stat(path)
                out[name] = (read_bytes(path), st.st_mtime_ns, st.st_mode)
        return out

    def install(self):
        return self.tpfw("install", "--from-iptables-restore", KUMA, "--no-reload")

    def test_hostile_direct_xml(self):
        for name, data in HOSTILE_XML.items():
            with self.subTest(name):
                self.put(data)
                before = self.snapshot()
                p = self.install()
                self.assert_untouched(before, p)
                self.assertIn(self.path, p.stderr)
                p = self.tpfw("uninstall", "--no-reload")
                self.assert_untouched(before, p)
                p = self.tpfw("validate")
                self.assertEqual(p.returncode, 1, name)

    def test_error_names_the_line(self):
        self.put(HOSTILE_XML["bad-priority"])
        p = self.install()
        self.assertIn(self.path + ":2: ", p.stderr)

    def test_huge_file(self):
        with open(self.path, "wb") as f:
            f.write(b"<direct>\n")
            f.write(b"<!--" + b"x" * (65 * 1024 * 1024) + b"-->\n</direct>\n")
        before = self.snapshot()
        p = self.install()
        self.assert_untouched(before, p)
        self.assertIn("too large", p.stderr)

    def test_symlink_in_place_of_direct_xml(self):
        target = os.path.join(self.tmp, "elsewhere.xml")
        shutil.copyfile(fixture("cli", "foreign.xml"), target)
        os.symlink(target, self.path)
        before = self.snapshot()
        target_before = read_bytes(target)
        p = self.install()
        self.assert_untouched(before, p)
        self.assertIn("symbolic link", p.stderr)
        self.assertEqual(read_bytes(target), target_before)

    def test_directory_in_place_of_direct_xml(self):
        os.mkdir(self.path)
        before = self.snapshot()
        self.assert_untouched(before, self.install())

    def test_missing_directory(self):
        p = run_in(self.tmp, "--firewalld-dir", os.path.join(self.tmp, "nope"), "install",
                   "--from-iptables-restore", KUMA, "--no-reload")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        self.assertIn("nope", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "nope")))

    def test_bad_owner_name_is_a_usage_error(self):
        self.put_fixture("cli", "foreign.xml")
        before = self.snapshot()
        for owner in ["Kuma", "-x", "a" * 33, "a/b", "a b", ""]:
            with self.subTest(owner):
                p = self.tpfw("install", "--from-iptables-restore", KUMA, "--no-reload",
                              owner=owner) if owner else \
                    run_in(self.tmp, "--firewalld-dir", self.dir, "--owner", "", "install",
                           "--from-iptables-restore", KUMA, "--no-reload")
                self.assert_untouched(before, p, code=2)
                self.assertIn("owner", p.stderr)

    def test_bad_option_values_are_usage_errors(self):
        self.put_fixture("cli", "foreign.xml")
        before = self.snapshot()
        cases = [
            (["--redirect-inbound-port", "70000"], "70000"),
            (["--exclude-outbound-ports-for-uids", "tcp:80:70000"], "70000"),
            (["--exclude-outbound-ips", "10.0.0.300/8"], "10.0.0.300/8"),
            (["--exclude-inbound-ips", "10.0.0.0/33"], "10.0.0.0/33"),
            (["--vnet", "docker0:172.17.0.0"], "172.17.0.0"),
            (["--vnet", "averyveryverylongname:172.17.0.0/16"], "averyveryverylongname"),
            (["--loopback-interface", "../lo"], "../lo"),
        ]
        for args, value in cases:
            with self.subTest(args):
                p = self.tpfw("install", "--no-reload", "--kuma-dp-user", "5678", *args)
                self.assert_untouched(before, p, code=2)
                self.assertIn(value, p.stderr)

    def test_inexpressible_imports(self):
        self.put_fixture("cli", "foreign.xml")
        before = self.snapshot()
        for name, text in BAD_IMPORTS.items():
            with self.subTest(name):
                p = self.tpfw("install", "--from-iptables-restore", "-", "--no-reload", input=text)
                self.assert_untouched(before, p)
                line = 1 if name == "unknown-table" else 2
                self.assertIn(f"<stdin>:{line}: ", p.stderr)


def run_in(tmp, *args):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/tpfw-test-bus")
    return subprocess.run([CLI] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root and unshare")
class FilesystemFaultTest(FirewalldDirTest):
    """Read-only and full filesystems, in a private mount namespace (the host sees nothing)."""

    def run_in_mount(self, script):
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-ec", script],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60,
                              env=dict(os.environ,
                                       DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/x"))

    def check(self, mount_opts, fill=False):
        foreign = fixture("cli", "foreign.xml")
        script = f"""
mount -t tmpfs -o size=64k tmpfs '{self.dir}'
cp '{foreign}' '{self.dir}/direct.xml'
cp '{foreign}' '{self.dir}/direct.xml.old'
{"dd if=/dev/zero of='" + self.dir + "/filler' bs=1k count=64 2>/dev/null || true" if fill else ""}
{"mount -o remount," + mount_opts + " '" + self.dir + "'" if mount_opts else ""}
set +e
'{CLI}' --firewalld-dir '{self.dir}' install --from-iptables-restore '{KUMA}' --no-reload
echo "exit=$?"
cmp '{foreign}' '{self.dir}/direct.xml' && echo same-file
cmp '{foreign}' '{self.dir}/direct.xml.old' && echo same-old
ls -a '{self.dir}' | grep -c tpfw || true
"""
        return self.run_in_mount(script)

    def test_read_only_filesystem(self):
        p = self.check("ro")
        self.assertIn("exit=1", p.stdout)
        self.assertIn("same-file", p.stdout)
        self.assertIn("same-old", p.stdout)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("Read-only file system", p.stderr)

    def test_full_filesystem(self):
        p = self.check(None, fill=True)
        self.assertIn("exit=1", p.stdout)
        self.assertIn("same-file", p.stdout)
        self.assertIn("same-old", p.stdout)
        self.assertEqual(p.stdout.strip().splitlines()[-1], "0", "a temporary file was left")
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        self.assertIn("No space left on device", p.stderr)
