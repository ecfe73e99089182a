# SPDX-License-Identifier: MIT
"""Package builds from `make dist`'s tarball (a `git archive` of HEAD: commit before running):
the Debian packages (dpkg-buildpackage with DEB_BUILD_OPTIONS=nocheck, then lintian, Depends,
Recommends and contents), the RPMs (rpmbuild -bb --nodeps, %check included), the Ansible
collection (ansible-doc, ansible-galaxy collection build), and the version named in every place
a release names it. Nothing is written into the source tree. Each build is skipped when its tools
(debhelper and lintian, rpmbuild, ansible-core) or git are missing, and under `make asan-check`
(they do not use the build directory, the plain cli suite runs them)."""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tpfwtest import SRCDIR
from cli.test_packaging import DIRECT_XML, makefile_version, validate_under

SANITIZED = bool(os.environ.get("TPFW_SANITIZE"))
COLLECTION = os.path.join(SRCDIR, "contrib", "ansible-collection")
MODULE = "tproxy.tproxy_firewalld.tproxy_firewalld"
# What a configuration-management user needs from the Ansible module.
MODULE_OPTIONS = {"state", "owner", "options", "config", "from_iptables_restore",
                  "fix_ipv6_redirect", "runtime_only", "adopt", "adopt_kuma_legacy",
                  "follow_symlink", "firewalld_dir", "reload_mode", "reload", "require_running",
                  "timeout", "executable"}
MODULE_RETURNS = {"changed", "owner", "file", "added", "removed", "reload", "verified",
                  "rfc3964_ipv4", "ipv6_redirect_warning", "diff", "rc", "stderr"}


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def dist_tarball(tmp):
    """`make dist` into tmp; returns the tarball's path."""
    # --no-print-directory: under a recursive make (check-quick) MAKEFLAGS carries -w, and
    # "make: Leaving directory" would follow the tarball's path
    p = run(["make", "-s", "--no-print-directory", "-C", SRCDIR, "dist", "BUILDDIR=" + tmp],
            timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"make dist failed:\n{p.stdout}{p.stderr}")
    tarball = p.stdout.strip().splitlines()[-1]
    assert os.path.isfile(tarball), tarball
    return tarball


def need(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        raise unittest.SkipTest(f"{', '.join(missing)} missing")
    if SANITIZED:
        raise unittest.SkipTest("package builds run in the plain cli suite")
    if not os.path.isdir(os.path.join(SRCDIR, ".git")) and \
            not os.path.isfile(os.path.join(SRCDIR, ".git")):
        raise unittest.SkipTest("not a git checkout (make dist needs git)")


class VersionTest(unittest.TestCase):
    """VERSION in the Makefile is the release; every file that names it must agree."""

    def test_every_place_names_the_makefile_version(self):
        version = makefile_version()
        self.assertRegex(version, r"^\d+\.\d+\.\d+$")
        with open(os.path.join(SRCDIR, "debian", "changelog")) as f:
            self.assertRegex(f.readline(), r"^tproxy-firewalld \(" + re.escape(version) + r"\) ")
        with open(os.path.join(SRCDIR, "packaging", "rpm", "tproxy-firewalld.spec")) as f:
            spec = f.read()
        self.assertRegex(spec, r"(?m)^Version:\s+" + re.escape(version) + "$")
        self.assertRegex(spec, r"(?m)^%changelog\n\* .* - " + re.escape(version) + "-1$")
        with open(os.path.join(COLLECTION, "galaxy.yml")) as f:
            self.assertRegex(f.read(), r"(?m)^version: " + re.escape(version) + "$")
        with open(os.path.join(SRCDIR, "NEWS.md")) as f:
            self.assertRegex(f.read(), r"(?m)^## " + re.escape(version) + r" \(")


class DebianPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need("dpkg-buildpackage", "dh", "lintian", "dpkg-deb", "fakeroot")
        cls.tmp = tempfile.mkdtemp(prefix="tpfw-deb-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        tarball = dist_tarball(cls.tmp)
        subprocess.run(["tar", "-xzf", tarball, "-C", cls.tmp], check=True)
        src = os.path.join(cls.tmp, os.path.basename(tarball)[:-len(".tar.gz")])
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
        for k in ("TPROXY_FIREWALLD_SCHEMA", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
            env.pop(k, None)
        p = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, timeout=900)
        cls.log = p.stdout + p.stderr
        if p.returncode != 0:
            raise AssertionError(f"dpkg-buildpackage failed:\n{cls.log[-6000:]}")
        version = makefile_version()
        cls.debs = {}
        for name in ("tproxy-firewalld", "libtproxy-firewalld0", "libtproxy-firewalld-dev"):
            found = glob.glob(os.path.join(cls.tmp, f"{name}_{version}_*.deb"))
            assert len(found) == 1, (name, os.listdir(cls.tmp))
            cls.debs[name] = found[0]
        cls.changes = glob.glob(os.path.join(cls.tmp, "*.changes"))[0]

    def field(self, package, name):
        return run(["dpkg-deb", "-f", self.debs[package], name]).stdout.strip()

    def contents(self, package):
        out = run(["dpkg-deb", "-c", self.debs[package]]).stdout
        return {line.split()[5].lstrip(".") for line in out.splitlines()}

    def test_lintian_reports_no_error_and_no_warning(self):
        p = run(["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0",
                 self.changes], timeout=600)
        tags = [line for line in p.stdout.splitlines() if re.match(r"^[EW]: ", line)]
        self.assertEqual(tags, [], p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # no blanket overrides: every override file names its tags and says why
        for f in glob.glob(os.path.join(SRCDIR, "debian", "*lintian-overrides")):
            with open(f) as fh:
                text = fh.read()
            self.assertNotIn("*", re.sub(r"(?m)^#.*$", "", text), f)
            self.assertIn("#", text, f"{f}: an override without a reason")

    def test_nocheck_skips_the_tests(self):
        self.assertIn("dh_auto_build", self.log)
        self.assertNotIn("unit test_", self.log)

    def test_depends_and_recommends(self):
        depends = self.field("tproxy-firewalld", "Depends")
        self.assertIn("libglib2.0-0", depends)
        self.assertNotIn("libtproxy-firewalld0", depends)  # the CLI links the library statically
        if os.path.exists(os.path.join(SRCDIR, "src", "lib", "lazy.c")):
            self.skipTest("libxml2 and libdbus-1 are still dlopen()ed (src/lib/lazy.c): "
                          "shlibdeps cannot name them")
        for lib in ("libxml2", "libdbus-1-3", "libyaml-0-2"):
            self.assertIn(lib, depends)

    def test_recommends_firewalld(self):
        self.assertEqual(self.field("tproxy-firewalld", "Recommends"), "firewalld")

    def test_tool_package_contents(self):
        files = self.contents("tproxy-firewalld")
        for want in ("/usr/sbin/tproxy-firewalld", "/usr/share/man/man8/tproxy-firewalld.8.gz",
                     "/usr/share/bash-completion/completions/tproxy-firewalld",
                     "/usr/share/tproxy-firewalld/direct.rng",
                     "/usr/share/doc/tproxy-firewalld/copyright",
                     "/usr/share/doc/tproxy-firewalld/examples/playbook.yml",
                     "/usr/share/doc/tproxy-firewalld/examples/kuma-transparent-proxy.yaml"):
            self.assertIn(want, files)
        self.assertFalse([f for f in files if "/include/" in f or ".so" in f], files)

    def test_library_packages_contents(self):
        version = makefile_version()
        lib = self.contents("libtproxy-firewalld0")
        self.assertTrue([f for f in lib if f.endswith(f"/libtproxy-firewalld.so.{version}")], lib)
        self.assertTrue([f for f in lib if f.endswith("/libtproxy-firewalld.so.0")], lib)
        self.assertEqual(self.field("libtproxy-firewalld0", "Multi-Arch"), "same")
        dev = self.contents("libtproxy-firewalld-dev")
        self.assertIn("/usr/include/tproxy-firewalld/apply.h", dev)
        self.assertTrue([f for f in dev if f.endswith("/libtproxy-firewalld.so")], dev)
        pcs = [f for f in dev if f.endswith("/pkgconfig/tproxy-firewalld.pc")]
        self.assertEqual(len(pcs), 1, dev)
        dev_depends = self.field("libtproxy-firewalld-dev", "Depends")
        self.assertIn(f"libtproxy-firewalld0 (= {version})", dev_depends)
        self.assertIn("libglib2.0-dev", dev_depends)
        root = os.path.join(self.tmp, "dev-root")
        subprocess.run(["dpkg-deb", "-x", self.debs["libtproxy-firewalld-dev"], root], check=True)
        with open(root + pcs[0]) as f:
            pc = f.read().splitlines()
        multiarch = os.path.basename(os.path.dirname(os.path.dirname(pcs[0])))
        self.assertIn("prefix=/usr", pc)
        self.assertIn("libdir=${exec_prefix}/lib/" + multiarch, pc)

    def test_packaged_tool_finds_its_schema(self):
        root = os.path.join(self.tmp, "tool-root")
        subprocess.run(["dpkg-deb", "-x", self.debs["tproxy-firewalld"], root], check=True)
        path = os.path.join(self.tmp, "direct.xml")
        with open(path, "w") as f:
            f.write(DIRECT_XML)
        p = validate_under(root, os.path.join(root, "usr", "sbin", "tproxy-firewalld"), path)
        if p is None:
            self.skipTest("needs root and unshare(1)")
        self.assertEqual((p.returncode, p.stderr), (0, ""))


class RpmPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need("rpmbuild", "rpm")
        cls.tmp = tempfile.mkdtemp(prefix="tpfw-rpm-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        os.makedirs(os.path.join(cls.tmp, "SOURCES"))
        dist_tarball(os.path.join(cls.tmp, "SOURCES"))
        env = {k: v for k, v in os.environ.items()
               if k not in ("TPROXY_FIREWALLD_SCHEMA", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        p = run(["rpmbuild", "-bb", "--nodeps", "--define", "_topdir " + cls.tmp,
                 "--define", "_smp_mflags -j2",
                 os.path.join(SRCDIR, "packaging", "rpm", "tproxy-firewalld.spec")],
                env=env, timeout=900)
        cls.log = p.stdout + p.stderr
        if p.returncode != 0:
            raise AssertionError(f"rpmbuild failed:\n{cls.log[-6000:]}")
        cls.rpms = {}
        version = makefile_version()
        for name in ("tproxy-firewalld", "tproxy-firewalld-libs", "tproxy-firewalld-devel"):
            found = glob.glob(os.path.join(cls.tmp, "RPMS", "*", f"{name}-{version}-1*.rpm"))
            assert len(found) == 1, (name, found)
            cls.rpms[name] = found[0]

    def query(self, package, *args):
        return run(["rpm", "-qp"] + list(args) + [self.rpms[package]]).stdout.splitlines()

    def test_check_ran_the_unit_tests(self):
        self.assertIn("Executing(%check)", self.log)
        self.assertRegex(self.log, r"(?m)^unit test_\w+: \d+ passed, 0 failed")

    def test_files_and_dependencies(self):
        version = makefile_version()
        tool = self.query("tproxy-firewalld", "-l")
        for want in ("/usr/sbin/tproxy-firewalld", "/usr/share/tproxy-firewalld/direct.rng",
                     "/usr/share/bash-completion/completions/tproxy-firewalld"):
            self.assertIn(want, tool)
        self.assertTrue([f for f in tool if f.startswith("/usr/share/man/man8/tproxy-firewalld.8")])
        self.assertIn("firewalld", self.query("tproxy-firewalld", "--recommends"))
        libs = self.query("tproxy-firewalld-libs", "-l")
        self.assertTrue([f for f in libs if f.endswith(f"/libtproxy-firewalld.so.{version}")])
        self.assertIn("libtproxy-firewalld.so.0()(64bit)",
                      " ".join(self.query("tproxy-firewalld-libs", "--provides")))
        devel = self.query("tproxy-firewalld-devel", "-l")
        self.assertIn("/usr/include/tproxy-firewalld/apply.h", devel)
        self.assertTrue([f for f in devel if f.endswith("/pkgconfig/tproxy-firewalld.pc")])
        self.assertIn("pkgconfig(glib-2.0)", self.query("tproxy-firewalld-devel", "--requires"))
        self.assertIn(f"pkgconfig(tproxy-firewalld) = {version}",
                      self.query("tproxy-firewalld-devel", "--provides"))
        self.assertEqual(self.query("tproxy-firewalld", "--qf", "%{LICENSE}"), ["MIT"])


class AnsibleCollectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need("ansible-galaxy", "ansible-doc")
        cls.tmp = tempfile.mkdtemp(prefix="tpfw-collection-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.env = dict(os.environ, HOME=cls.tmp, ANSIBLE_NOCOLOR="1")
        p = run(["ansible-galaxy", "collection", "build", "--output-path", cls.tmp, COLLECTION],
                env=cls.env, cwd=cls.tmp, timeout=180)
        if p.returncode != 0:
            raise AssertionError(f"ansible-galaxy collection build:\n{p.stdout}{p.stderr}")
        cls.tarball = glob.glob(os.path.join(cls.tmp, "tproxy-tproxy_firewalld-*.tar.gz"))[0]
        path = os.path.join(cls.tmp, "collections")
        p = run(["ansible-galaxy", "collection", "install", "--offline", "-p", path, cls.tarball],
                env=cls.env, cwd=cls.tmp, timeout=180)
        if p.returncode != 0:
            raise AssertionError(f"ansible-galaxy collection install:\n{p.stdout}{p.stderr}")
        cls.env["ANSIBLE_COLLECTIONS_PATH"] = path

    def test_build_holds_the_collection(self):
        self.assertTrue(self.tarball.endswith(f"-{makefile_version()}.tar.gz"))
        names = run(["tar", "-tzf", self.tarball]).stdout.split()
        for want in ("MANIFEST.json", "README.md", "COPYING", "meta/runtime.yml",
                     "plugins/modules/tproxy_firewalld.py", "examples/playbook.yml"):
            self.assertIn(want, names)
        manifest = json.loads(run(["tar", "-xzOf", self.tarball, "MANIFEST.json"]).stdout)
        self.assertEqual(manifest["collection_info"]["license"], ["GPL-3.0-or-later"])

    def test_ansible_doc_renders_the_module(self):
        p = run(["ansible-doc", MODULE], env=self.env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("reload_mode", p.stdout)
        p = run(["ansible-doc", "--json", MODULE], env=self.env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)[MODULE]
        options = doc["doc"]["options"]
        self.assertEqual(MODULE_OPTIONS - set(options), set(), "options not documented")
        self.assertEqual(options["reload_mode"]["choices"], ["delta", "full"])
        self.assertEqual(MODULE_RETURNS - set(doc["return"]), set(), "RETURN incomplete")
        self.assertTrue(doc["examples"])

    def test_module_licence(self):
        with open(os.path.join(COLLECTION, "plugins", "modules", "tproxy_firewalld.py")) as f:
            self.assertIn("# SPDX-License-Identifier: GPL-3.0-or-later\n", f.read())
        with open(os.path.join(COLLECTION, "COPYING")) as f:
            self.assertIn("GNU GENERAL PUBLIC LICENSE", f.read(200))


class DocsTest(unittest.TestCase):
    """README and man page tell users about the deprecated direct interface, SELinux and
    lockdown mode, and packagers how to build and release."""

    def read(self, *parts):
        with open(os.path.join(SRCDIR, *parts)) as f:
            return f.read().replace("\\-", "-")

    def test_direct_interface_selinux_and_lockdown(self):
        for name, text in (("README.md", self.read("README.md")),
                           ("man page", self.read("man", "tproxy-firewalld.8"))):
            for word in ("deprecated", "2.x", "REDIRECT", "rich rules", "SELinux", "restorecon",
                         "firewalld_etc_rw_t", "extended attributes", "Lockdown=yes",
                         "lockdown-whitelist.xml", '<command name=', "/usr/sbin/tproxy-firewalld*"):
                self.assertIn(word, text, f"{name} does not mention {word}")

    def test_packaging_and_releases_are_documented(self):
        readme = self.read("README.md")
        for word in ("dpkg-buildpackage", "DEB_BUILD_OPTIONS=nocheck", "make dist", "rpmbuild",
                     "NEWS.md", "semantic versioning", "ansible-galaxy collection build",
                     "pkg-config --cflags --libs tproxy-firewalld"):
            self.assertIn(word, readme)
        news = self.read("NEWS.md")
        self.assertIn("To cut a release", news)
        self.assertIn("## 0.1.0 (", news)
        self.assertIn("(unreleased)", news)
