#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Test runner for `make test`/`make check`: runs the suites, prints one closing count line.

Suites:
  unit         cmocka binaries in BUILDDIR/tests (optionally under valgrind)
  cli          python unittest modules in tests/cli (the CLI on real files, no daemon)
  integration  python unittest modules in tests/integration (real firewalld in a namespace;
               skipped with a notice when not root or firewalld is missing)
  e2e          python unittest modules in tests/e2e (real connections through the installed
               rules between two namespaces; same requirements, plus cc and setpriv)
  lint         man page lint, clang-format check, file and function sizes (make size-check)
  fuzz-replay  every fixtures/fuzz/<target> corpus through BUILDDIR/fuzz-replay/fuzz_<target>
               (the libFuzzer harnesses built with gcc and tests/fuzz/replay.c); one test a target
  all          every suite above

The live suites (integration, e2e) run once per firewalld of --firewalld-versions (default: the
environment's, i.e. Debian's unless TPFW_FIREWALLD_PREFIX names an upstream build): "debian" is
/usr/sbin/firewalld, any other VERSION is the upstream build in FIREWALLD_CACHE/VERSION (made by
`make firewalld-cache`). Each version runs in a child process with TPFW_FIREWALLD_PREFIX set and
prints its own "integration[VERSION]: ..." line; the closing line counts every version. --jobs N
(or TPFW_LIVE_JOBS) tests N versions at once.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def run_unit(builddir, valgrind):
    passed = failed = 0
    bins = sorted(glob.glob(os.path.join(builddir, "tests", "test_*")))
    if not bins:
        print("unit: no test binaries found", file=sys.stderr)
        return 0, 1
    for b in bins:
        cmd = [b]
        if valgrind:
            cmd = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
                   "--show-leak-kinds=definite,indirect,possible", "--errors-for-leak-kinds=definite,indirect,possible",
                   "--suppressions=" + os.path.join(HERE, "valgrind.supp")] + cmd
        env = dict(os.environ, TPFW_SRCDIR=TOP, G_SLICE="always-malloc", G_DEBUG="gc-friendly")
        p = subprocess.run(cmd, cwd=TOP, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, errors="replace")
        out = p.stdout
        m_pass = re.search(r"\[  PASSED  \] (\d+) test", out)
        m_fail = re.search(r"\[  FAILED  \] (\d+) test", out)
        np = int(m_pass.group(1)) if m_pass else 0
        nf = int(m_fail.group(1)) if m_fail else 0
        if p.returncode != 0 and nf == 0:
            nf = 1  # crashed, or valgrind found errors
        passed += np
        failed += nf
        status = "ok" if nf == 0 else "FAILED"
        print(f"unit {os.path.basename(b)}: {np} passed, {nf} failed ({status})")
        if nf:
            sys.stdout.write(out)
    return passed, failed


class CountingResult(unittest.TextTestResult):
    pass


def run_python(suite_dir, builddir, label):
    os.environ["TPFW_BUILDDIR"] = os.path.abspath(builddir)
    os.environ["TPFW_SRCDIR"] = TOP
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    suite = loader.discover(suite_dir, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=CountingResult, stream=sys.stdout)
    t0 = time.monotonic()
    res = runner.run(suite)
    elapsed = time.monotonic() - t0
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    print(f"{label}: {passed} passed, {failed} failed, {skipped} skipped ({elapsed:.0f} s)")
    return passed, failed


def run_live_versions(suite, builddir, versions, cache, jobs):
    """Runs a live suite once per firewalld version, each in a child run.py, `jobs` at a time.

    Every sandbox has its own network namespace, bus and config dir, so versions do not share
    state; a child's output is printed whole when it ends, in the order the versions were given.
    """
    def child(v):
        env = dict(os.environ)
        env.pop("TPFW_FIREWALLD_PREFIX", None)
        if v != "debian":
            prefix = os.path.abspath(os.path.join(cache, v))
            if not os.path.exists(prefix + ".complete"):
                return f"{suite}[{v}]: FAILED (no complete build in {prefix}; run make firewalld-cache)\n", None
            env["TPFW_FIREWALLD_PREFIX"] = prefix
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--builddir", builddir,
                            "--label", f"{suite}[{v}]", suite], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
        return p.stdout, p.returncode

    passed = failed = 0
    sys.stdout.flush()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [(v, pool.submit(child, v)) for v in versions]
        for v, fut in futures:
            out, rc = fut.result()
            sys.stdout.write(out)
            sys.stdout.flush()
            m = re.search(r"(?m)^(\d+) passed, (\d+) failed\s*\Z", out)
            if m:
                passed += int(m.group(1))
                failed += int(m.group(2))
            else:
                if rc is not None:
                    print(f"{suite}[{v}]: FAILED (exit {rc}, no closing count)")
                failed += 1
    return passed, failed


def run_fuzz_replay(builddir):
    passed = failed = 0
    corpora = sorted(glob.glob(os.path.join(TOP, "fixtures", "fuzz", "*")))
    if not corpora:
        print("fuzz-replay: no corpora in fixtures/fuzz", file=sys.stderr)
        return 0, 1
    for corpus in corpora:
        target = os.path.basename(corpus)
        binary = os.path.join(builddir, "fuzz-replay", "fuzz_" + target)
        if not os.path.exists(binary):
            print(f"fuzz-replay {target}: FAILED (no {binary}; run make tests)")
            failed += 1
            continue
        env = dict(os.environ, TPFW_SRCDIR=TOP)
        p = subprocess.run([binary, corpus], cwd=TOP, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
        if p.returncode == 0:
            passed += 1
            print(f"fuzz-replay {target}: ok ({p.stdout.strip()})")
        else:
            failed += 1
            print(f"fuzz-replay {target}: FAILED (exit {p.returncode})\n{p.stdout[-4000:]}")
    return passed, failed


def run_lint():
    passed = failed = 0
    checks = []
    if os.path.exists(os.path.join(TOP, "man", "tproxy-firewalld.8")):
        checks.append(("man page lint", ["mandoc", "-Tlint", "-W", "warning", "man/tproxy-firewalld.8"]))
    checks.append(("format-check", ["make", "-s", "format-check"]))
    checks.append(("size-check", ["make", "-s", "size-check"]))
    for name, cmd in checks:
        p = subprocess.run(cmd, cwd=TOP, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode == 0 and not (name == "man page lint" and p.stdout.strip()):
            passed += 1
            print(f"lint {name}: ok")
        else:
            failed += 1
            print(f"lint {name}: FAILED\n{p.stdout}")
    return passed, failed


def main():
    # Every suite validates against the schema of this tree, wherever the build directory is.
    os.environ["TPROXY_FIREWALLD_SCHEMA"] = os.path.join(TOP, "schemas", "direct.rng")
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", default="build")
    ap.add_argument("--valgrind", action="store_true")
    ap.add_argument("--firewalld-versions", default=None,
                    help="space or comma separated: debian and/or upstream versions in the cache")
    ap.add_argument("--firewalld-cache", default=None, help="directory of upstream builds")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("TPFW_LIVE_JOBS", "1")),
                    help="firewalld versions tested at once (default 1, or $TPFW_LIVE_JOBS)")
    ap.add_argument("--label", default=None, help=argparse.SUPPRESS)
    ap.add_argument("suite", choices=["unit", "cli", "integration", "e2e", "lint", "fuzz-replay", "all"])
    args = ap.parse_args()
    total_p = total_f = 0
    suites = ["unit", "cli", "integration", "e2e", "lint", "fuzz-replay"] if args.suite == "all" else [args.suite]
    for s in suites:
        if s == "unit":
            p, f = run_unit(args.builddir, args.valgrind)
        elif s == "lint":
            p, f = run_lint()
        elif s == "fuzz-replay":
            p, f = run_fuzz_replay(args.builddir)
        elif s in ("integration", "e2e") and args.firewalld_versions:
            versions = args.firewalld_versions.replace(",", " ").split()
            cache = args.firewalld_cache or os.path.join(args.builddir, "firewalld")
            p, f = run_live_versions(s, args.builddir, versions, cache, args.jobs)
        else:
            p, f = run_python(os.path.join(HERE, s), args.builddir, args.label or s)
        total_p += p
        total_f += f
    print(f"{total_p} passed, {total_f} failed")
    sys.exit(1 if total_f else 0)


if __name__ == "__main__":
    main()
