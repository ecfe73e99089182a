# SPDX-License-Identifier: MIT
"""Packaging: a plain `make` (default PREFIX), then `make install DESTDIR=... PREFIX=/usr` into a
temporary root, as a packager would; then the installed CLI (which must find its schema under
/usr), a C program built against the installed headers with pkg-config alone, the shared
library's soname and exports, the man page lint and the bash completion. The package builds are
in test_packages.py."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tpfwtest import BUILDDIR, SRCDIR

VERSION_RE = re.compile(r"^VERSION\s*:=\s*(\S+)", re.M)
FACTS = ["--kuma-dp-user", "5678", "--loopback-interface", "lo", "--assume-ipv6", "no"]

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/rfc3964.h>
#include <tproxy-firewalld/ruleset.h>

int main(void)
{
        const char *const argv[] = {"-m", "comment", "--comment", "tproxy-firewalld/kuma x y",
                                    "-j", "RETURN", NULL};
        char *joined = tpfw_args_join(argv);
        char **split = NULL;
        char *conf;
        int ok;

        if (!joined || tpfw_args_split(joined, &split, NULL) != 0)
                return 3;
        ok = tpfw_strv_equal(argv, (const char *const *)split);
        printf("%s\n%d %d %d\n", joined, ok, tpfw_owner_name_is_valid("kuma"),
               tpfw_owner_name_is_valid("Not Valid"));
        free(joined);
        tpfw_strv_free(split);
        /* the headers say "free with g_free()": the .pc file must bring GLib's flags along */
        conf = tpfw_rfc3964_conf_set(NULL, false);
        printf("%s", conf);
        g_free(conf);
        return 0;
}
"""


def makefile_version():
    with open(os.path.join(SRCDIR, "Makefile")) as f:
        return VERSION_RE.search(f.read()).group(1)


def run_make(*args):
    p = subprocess.run(["make", "-s", "-j2", "-C", SRCDIR] + list(args), capture_output=True,
                       text=True, timeout=900)
    if p.returncode != 0:
        raise AssertionError(f"make {' '.join(args)} failed:\n{p.stdout}\n{p.stderr}")
    return p


def copy_build(builddir, dest):
    """The objects and libraries of builddir, mtimes kept, so that make in dest rebuilds only
    what a changed option needs (the shared build directory stays as it is)."""
    os.makedirs(dest, exist_ok=True)
    for name in os.listdir(builddir):
        src = os.path.join(builddir, name)
        if name == "obj":
            shutil.copytree(src, os.path.join(dest, name), symlinks=True)
        elif name.startswith("libtproxy-firewalld.") or name == "BUILD-OPTIONS":
            shutil.copy2(src, os.path.join(dest, name), follow_symlinks=False)


def validate_under(root, binary, path):
    """Runs `binary validate path` with root/usr/share mounted over /usr/share in a private
    mount namespace (the host's /usr/share is untouched): how the binary finds its schema once
    installed. Returns the CompletedProcess, or None when that is not possible here."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    script = 'mount --bind "$1/usr/share" /usr/share && exec "$2" validate "$3"'
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                           "sh", root, binary, path], capture_output=True, text=True, timeout=60)


DIRECT_XML = ('<?xml version="1.0" encoding="utf-8"?>\n<direct>\n  <rule ipv="ipv4" '
              'table="nat" chain="OUTPUT" priority="0">-j RETURN</rule>\n</direct>\n')
SCHEMA_WARNING = "warning: schema "


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="tpfw-destdir-")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.builddir = tempfile.mkdtemp(prefix="tpfw-build-")
        cls.addClassCleanup(shutil.rmtree, cls.builddir, True)
        cls.version = makefile_version()
        copy_build(BUILDDIR, cls.builddir)
        make = ["BUILDDIR=" + cls.builddir]
        if os.environ.get("TPFW_SANITIZE"):
            make.append("SANITIZE=" + os.environ["TPFW_SANITIZE"])
        # what a packager types: a plain make, then the install to /usr
        run_make(*make, "lib", "cli")
        with open(os.path.join(cls.builddir, "BUILD-OPTIONS")) as f:
            cls.plain_options = f.read()
        run_make(*make, "install", "DESTDIR=" + cls.root, "PREFIX=/usr")
        cls.usr = os.path.join(cls.root, "usr")
        cls.bin = os.path.join(cls.usr, "sbin", "tproxy-firewalld")
        cls.libdir = os.path.join(cls.usr, "lib")

    def path(self, rel):
        return os.path.join(self.usr, rel)

    def run_installed(self, *args, check=0):
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/tpfw-test-bus")
        for k in list(env):
            if k.startswith("KUMA_TRANSPARENT_PROXY_"):
                del env[k]
        p = subprocess.run([self.bin] + list(args), env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, check, p.stdout + p.stderr)
        return p

    def test_layout(self):
        v = self.version
        for rel in ("sbin/tproxy-firewalld", f"lib/libtproxy-firewalld.so.{v}",
                    "include/tproxy-firewalld/args.h", "include/tproxy-firewalld/ruleset.h",
                    "include/tproxy-firewalld/apply.h", "lib/pkgconfig/tproxy-firewalld.pc",
                    "share/man/man8/tproxy-firewalld.8",
                    "share/bash-completion/completions/tproxy-firewalld"):
            self.assertTrue(os.path.isfile(self.path(rel)), rel)
        self.assertTrue(os.access(self.bin, os.X_OK))
        self.assertEqual(os.readlink(self.path("lib/libtproxy-firewalld.so.0")),
                         f"libtproxy-firewalld.so.{v}")
        self.assertEqual(os.readlink(self.path("lib/libtproxy-firewalld.so")),
                         "libtproxy-firewalld.so.0")
        # private headers stay private
        self.assertFalse(os.path.exists(self.path("include/tproxy-firewalld/util.h")))
        self.assertTrue(os.listdir(self.path("share/tproxy-firewalld")), "no schema installed")
        # nothing outside the prefix
        self.assertEqual(os.listdir(self.root), ["usr"])

    def test_installed_cli_runs(self):
        p = self.run_installed("--version")
        self.assertTrue(p.stdout.startswith(f"tproxy-firewalld {self.version}\nbuilt with: "),
                        p.stdout)
        p = self.run_installed("generate", *FACTS)
        self.assertIn('<rule ipv="ipv4" table="nat" chain="PREROUTING"', p.stdout)
        self.assertIn("tproxy-firewalld/kuma", p.stdout)
        # the CLI is self-contained: it does not need the shared library
        d = subprocess.run(["readelf", "-d", self.bin], capture_output=True, text=True).stdout
        self.assertNotIn("libtproxy-firewalld", d)

    def test_installed_schema_validates(self):
        schemas = [f for f in os.listdir(self.path("share/tproxy-firewalld")) if
                   f.endswith(".rng") or f.endswith(".xsd")]
        self.assertTrue(schemas)
        tmp = tempfile.mkdtemp(prefix="tpfw-validate-")
        self.addCleanup(shutil.rmtree, tmp, True)
        good = os.path.join(tmp, "direct.xml")
        with open(good, "w") as f:
            f.write(DIRECT_XML)
        env_schema = os.path.join(self.path("share/tproxy-firewalld"), schemas[0])
        p = subprocess.run([self.bin, "validate", good], capture_output=True, text=True,
                           env=dict(os.environ, TPROXY_FIREWALLD_SCHEMA=env_schema))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn(SCHEMA_WARNING, p.stderr)

    def test_install_after_plain_make_finds_its_schema(self):
        # the plain make compiled /usr/local/share in; the install to /usr rebuilt what uses it
        self.assertIn("DATADIR=/usr/local/share/tproxy-firewalld\n", self.plain_options)
        with open(os.path.join(self.builddir, "BUILD-OPTIONS")) as f:
            self.assertIn("DATADIR=/usr/share/tproxy-firewalld\n", f.read())
        tmp = tempfile.mkdtemp(prefix="tpfw-validate-")
        self.addCleanup(shutil.rmtree, tmp, True)
        good = os.path.join(tmp, "direct.xml")
        with open(good, "w") as f:
            f.write(DIRECT_XML)
        env = {k: v for k, v in os.environ.items() if k != "TPROXY_FIREWALLD_SCHEMA"}
        # without the schema where the binary looks, validate says so (not only with --verbose)
        p = subprocess.run([self.bin, "validate", good], capture_output=True, text=True, env=env)
        if os.path.exists("/usr/share/tproxy-firewalld/direct.rng"):
            self.skipTest("a tproxy-firewalld schema is installed on this host")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(SCHEMA_WARNING + "/usr/share/tproxy-firewalld/direct.rng not found",
                      p.stderr)
        # with the staged /usr/share in place of the host's, it finds the schema
        p = validate_under(self.root, self.bin, good)
        if p is None:
            self.skipTest("needs root and unshare(1)")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        self.assertIn("valid (1 entries)", p.stdout)

    def pkg_config(self, *args, package="tproxy-firewalld"):
        env = dict(os.environ, PKG_CONFIG_PATH=self.path("lib/pkgconfig"),
                   PKG_CONFIG_SYSROOT_DIR=self.root)
        p = subprocess.run(["pkg-config"] + list(args) + [package], env=env,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.split()

    def test_pc_file_is_relative_to_prefix(self):
        with open(self.path("lib/pkgconfig/tproxy-firewalld.pc")) as f:
            lines = f.read().splitlines()
        for want in ("prefix=/usr", "exec_prefix=${prefix}", "libdir=${exec_prefix}/lib",
                     "includedir=${prefix}/include", "Requires: glib-2.0"):
            self.assertIn(want, lines)
        if not shutil.which("pkg-config"):
            self.skipTest("pkg-config missing")
        # relocatable: pkg-config can derive the prefix from where the file lies
        p = subprocess.run(["pkg-config", "--define-prefix", "--variable=includedir",
                            "tproxy-firewalld"], capture_output=True, text=True,
                           env=dict(os.environ, PKG_CONFIG_PATH=self.path("lib/pkgconfig")))
        self.assertEqual(p.stdout.strip(), self.path("include"), p.stderr)

    def test_pkg_config_and_a_program_against_the_installed_library(self):
        if not shutil.which("pkg-config") or not shutil.which("cc"):
            self.skipTest("pkg-config or cc missing")
        if os.environ.get("TPFW_SANITIZE"):
            # an uninstrumented program cannot load the ASan-built library (make asan-check)
            self.skipTest("the library is built with sanitizers")
        # The stage is the sysroot: it holds GLib too, as a real sysroot would (links to the
        # host's GLib directories, which pkg-config names under the sysroot).
        p = subprocess.run(["pkg-config", "--cflags-only-I", "--libs-only-L", "glib-2.0"],
                           capture_output=True, text=True)
        for d in sorted({f[2:] for f in p.stdout.split()}, key=len):
            staged = self.root + d
            if not os.path.exists(staged):
                os.makedirs(os.path.dirname(staged), exist_ok=True)
                os.symlink(d, staged)
        self.assertEqual(self.pkg_config("--modversion"), [self.version])
        cflags = self.pkg_config("--cflags")
        libs = self.pkg_config("--libs")
        self.assertIn("-I" + self.path("include"), cflags)
        self.assertIn("-L" + self.libdir, libs)
        self.assertIn("-lglib-2.0", libs)  # Requires: glib-2.0
        tmp = tempfile.mkdtemp(prefix="tpfw-pc-")
        self.addCleanup(shutil.rmtree, tmp, True)
        src = os.path.join(tmp, "prog.c")
        exe = os.path.join(tmp, "prog")
        with open(src, "w") as f:
            f.write(PROGRAM)
        # Only the installed tree: no -I of the source tree, no build directory.
        p = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe, src]
                           + cflags + libs, capture_output=True, text=True, cwd=tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        needed = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True).stdout
        self.assertIn("[libtproxy-firewalld.so.0]", needed)
        p = subprocess.run([exe], capture_output=True, text=True,
                           env=dict(os.environ, LD_LIBRARY_PATH=self.libdir))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "-m comment --comment 'tproxy-firewalld/kuma x y' -j RETURN\n"
                                   "1 1 0\nRFC3964_IPv4=no\n")
        # and it really loads the installed copy
        ldd = subprocess.run(["ldd", exe], capture_output=True, text=True,
                             env=dict(os.environ, LD_LIBRARY_PATH=self.libdir)).stdout
        self.assertIn(os.path.join(self.libdir, "libtproxy-firewalld.so.0"), ldd)

    def test_soname_and_exports(self):
        lib = self.path(f"lib/libtproxy-firewalld.so.{self.version}")
        d = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True).stdout
        self.assertIn("Library soname: [libtproxy-firewalld.so.0]", d)
        syms = subprocess.run(["readelf", "--dyn-syms", "-W", lib], capture_output=True,
                              text=True).stdout
        exported = []
        for line in syms.splitlines():
            f = line.split()
            # Num: Value Size Type Bind Vis Ndx Name
            if len(f) >= 8 and f[4] in ("GLOBAL", "WEAK") and f[6] != "UND":
                exported.append(f[7].split("@")[0])
        self.assertIn("tpfw_args_join", exported)
        self.assertIn("tpfw_owner_name_is_valid", exported)
        self.assertIn("tpfw_apply", exported)
        stray = sorted(s for s in exported if not s.startswith("tpfw_") and
                       s != "TPROXY_FIREWALLD_0")
        self.assertEqual(stray, [], "symbols exported outside the tpfw_ namespace")
        # the JSON writer is shared with the CLI through the static library only
        self.assertIn("tpfw_render_json", exported)
        self.assertEqual([s for s in exported if s.startswith("tpfw_json_")], [])
        # exactly the functions the public headers declare: private cross-file helpers
        # (direct-private.h, json-writer.h) are hidden
        public = set()
        inc = os.path.join(SRCDIR, "include", "tproxy-firewalld")
        for h in os.listdir(inc):
            with open(os.path.join(inc, h)) as f:
                public.update(re.findall(r"\b(tpfw_\w+)\s*\(", f.read()))
        private = sorted(s for s in exported if s.startswith("tpfw_") and s not in public)
        self.assertEqual(private, [], "exported but not in include/tproxy-firewalld")
        self.assertIn("TPROXY_FIREWALLD_0", subprocess.run(
            ["readelf", "-V", lib], capture_output=True, text=True).stdout)

    def test_man_page_lint(self):
        man = self.path("share/man/man8/tproxy-firewalld.8")
        if shutil.which("mandoc"):
            p = subprocess.run(["mandoc", "-Tlint", "-W", "warning", man], capture_output=True,
                               text=True)
            self.assertEqual(p.stdout + p.stderr, "")
            self.assertEqual(p.returncode, 0)
        elif shutil.which("groff"):
            p = subprocess.run(["groff", "-ww", "-z", "-man", man], capture_output=True,
                               text=True)
            self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
        else:
            self.skipTest("neither mandoc nor groff installed")

    def test_man_page_documents_every_command_and_option(self):
        with open(self.path("share/man/man8/tproxy-firewalld.8")) as f:
            text = f.read().replace("\\-", "-")
        for cmd in ("install", "uninstall", "generate", "diff", "status", "validate", "reload",
                    "list-owners"):
            self.assertIn(f".B {cmd}", text)
        for cmd in (None, "install", "uninstall", "generate", "diff", "status", "validate",
                    "reload", "list-owners"):
            for flag in help_flags(self.bin, cmd):
                self.assertTrue(flag in text, f"{flag} ({cmd or 'global'}) is not in the man page")
        for word in ("TPROXY_FIREWALLD_DIR", "KUMA_TRANSPARENT_PROXY_STORE_FIREWALLD",
                     "DBUS_SYSTEM_BUS_ADDRESS", "direct.xml.old", "--detailed-exitcodes",
                     "::6/128", "stateful", "exec"):
            self.assertTrue(word in text, f"{word} is not in the man page")

    def test_bash_completion(self):
        if not shutil.which("bash"):
            self.skipTest("bash missing")
        comp = self.path("share/bash-completion/completions/tproxy-firewalld")

        def complete(*words):
            script = (f"source {comp}\n"
                      "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=()\n"
                      "_tproxy_firewalld\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
            p = subprocess.run(["bash", "-c", script, "bash", "tproxy-firewalld"] + list(words),
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            return sorted(w for w in p.stdout.split("\n") if w)

        self.assertEqual(complete(""), sorted(["install", "uninstall", "generate", "diff",
                                               "status", "validate", "reload", "list-owners",
                                               "help"]))
        self.assertEqual(complete("--owner", "x", "unin"), ["uninstall"])
        self.assertEqual(complete("generate", "--format", ""),
                         ["direct-xml", "iptables-restore", "json"])
        self.assertEqual(complete("install", "--assume-ipv6", ""), ["no", "yes"])
        # every option the commands' --help lists completes
        for cmd in ("install", "uninstall", "generate", "diff"):
            offered = set(complete(cmd, "--"))
            missing = set(help_flags(self.bin, cmd)) - offered
            self.assertEqual(missing, set(), f"{cmd}: not completed")
        offered = set(complete("--"))
        self.assertEqual(set(help_flags(self.bin)) - offered, set())


def help_flags(binary, command=None):
    """The --options a --help text lists at the start of its lines."""
    args = [binary] + ([command] if command else []) + ["--help"]
    text = subprocess.run(args, capture_output=True, text=True).stdout
    flags = set()
    for line in text.splitlines():
        # option lines are indented by two spaces; descriptions deeper
        m = re.match(r"  (--[a-z][a-z0-9-]*)((?:, --[a-z][a-z0-9-]*)*)", line)
        if m:
            flags.add(m.group(1))
            flags.update(re.findall(r"--[a-z][a-z0-9-]*", m.group(2)))
    flags.discard("--help")
    return sorted(flags)
