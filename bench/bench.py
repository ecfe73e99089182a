#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make bench`: tproxy-firewalld against firewall-offline-cmd and a bare firewalld reload.

Every figure is a median over --runs (default 7) interleaved rounds measured in this one run:
each round measures every case in the same order, so machine load hits all cases alike. The
tool's own cases take milliseconds, so each round measures them --repeat (default 5) times in a
row (install, no-op, uninstall, parse, install, ...) before the slow firewall-offline-cmd cases;
the sandbox cases too, alternating which of the two goes first. Each timed
command starts from the same file (copied into place before the clock starts). Times are wall
clock of the whole process (spawn to exit); peak RSS is the child's ru_maxrss from wait4().

Cases, for direct.xml files with 0, 1,000, 10,000 and 100,000 foreign entries (gen-direct.py):
  install    install --no-reload of Kuma's dual-stack defaults (fixed host facts)
  no-op      the same install on its own result (must not write the file)
  uninstall  uninstall --no-reload on that result
  parse      bench-parse: read and parse the file install starts from, nothing else
  offline    ONE firewall-offline-cmd --direct --add-rule (Kuma's first rule) on the same file
  offline30  (0 entries) the 30 firewall-offline-cmd calls that persist Kuma's entries
  sandbox    (0 and 1,000 entries, root only) install with reload and verification against a real
             firewalld, vs a bare D-Bus reload (dbus-send) of the resulting file; both start from
             firewalld running with the foreign entries only
Writes the table to bench/results.md (or --output), in place of the previous one: what follows
"## Earlier measurements" in that file is kept.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests"))

FACTS = ["--kuma-dp-user", "5678", "--loopback-interface", "lo", "--assume-ipv6", "yes",
         "--assume-conntrack", "yes", "--assume-docker-output", "no", "--assume-mangle", "yes"]
SIZES = [0, 1000, 10000, 100000]
SANDBOX_SIZES = [0, 1000]
OFFLINE_CMD = "/usr/bin/firewall-offline-cmd"
HISTORY = "## Earlier measurements"  # what follows it in the output file is kept


RUNNER = None  # bench-run, set by Bench


def spawn(argv, env=None):
    """Runs argv through bench-run; returns (seconds, peak RSS in KiB, exit status)."""
    p = subprocess.run([RUNNER] + list(argv), env=env, stdout=subprocess.PIPE, text=True,
                       check=True)
    seconds, rss, rc = p.stdout.split()
    return float(seconds), int(rss), int(rc)


def place(src, dst):
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)
    old = dst + ".old"
    if os.path.exists(old):
        os.unlink(old)
    # On disk before the clock starts: else the first fsync of the timed command (ext4's journal
    # commit, data=ordered) also writes out the copy the benchmark just made.
    os.sync()


def settle():
    """Both sandbox cases start the same time after the untimed reload that resets firewalld:
    firewalld is still busy for a few ms after answering a reload, and without this the bare
    reload (which first places its file) started later than install did."""
    os.sync()
    time.sleep(0.05)


def must(ok, what):
    if not ok:
        raise SystemExit("bench: %s" % what)


class Bench:
    def __init__(self, args):
        self.args = args
        self.cli = os.path.abspath(os.path.join(args.builddir, "tproxy-firewalld"))
        self.parser = os.path.abspath(os.path.join(args.builddir, "bench-parse"))
        global RUNNER
        RUNNER = os.path.abspath(os.path.join(args.builddir, "bench-run"))
        for exe in (self.cli, self.parser, RUNNER):
            must(os.access(exe, os.X_OK), "%s is not built (run make bench)" % exe)
        self.tmp = tempfile.mkdtemp(prefix="tpfw-bench-")
        self.samples = {}  # (case, size) -> [seconds]
        self.rss = {}  # (case, size) -> [KiB]
        self.files = {}  # size -> {"base": path, "installed": path, "bytes": n}
        self.notes = []

    def record(self, case, size, seconds, rss=None):
        self.samples.setdefault((case, size), []).append(seconds)
        if rss is not None:
            self.rss.setdefault((case, size), []).append(rss)

    def median(self, case, size):
        s = self.samples.get((case, size))
        return statistics.median(s) if s else None

    # ---- preparation (not timed) ----

    def config_dir(self, name):
        """A private copy of /etc/firewalld (firewall-offline-cmd loads all of it)."""
        d = os.path.join(self.tmp, name)
        shutil.copytree("/etc/firewalld", d, symlinks=True)
        for f in ("direct.xml", "direct.xml.old"):
            if os.path.exists(os.path.join(d, f)):
                os.unlink(os.path.join(d, f))
        return d

    def tool(self, d, *argv):
        return [self.cli, "--firewalld-dir", d] + list(argv)

    def prepare(self):
        gen = os.path.join(HERE, "gen-direct.py")
        p = subprocess.run([self.cli, "generate", "--format", "json"] + FACTS,
                           capture_output=True, text=True, check=True)
        desired = json.loads(p.stdout)
        self.offline_calls = [["--direct", "--add-chain", c["ipv"], c["table"], c["chain"]]
                              for c in desired["chains"]]
        self.offline_calls += [["--direct", "--add-rule", r["ipv"], r["table"], r["chain"],
                                str(r["priority"])] + r["argv"] for r in desired["rules"]]
        must(len(self.offline_calls) == 30, "expected Kuma's 30 entries, got %d"
             % len(self.offline_calls))
        # ONE call: Kuma's first rule (a chain would be a cheaper call than a rule)
        self.offline_one = self.offline_calls[len(desired["chains"])]
        for n in self.args.sizes:
            base = os.path.join(self.tmp, "base-%d.xml" % n)
            subprocess.run([sys.executable, gen, str(n), base], check=True)
            work = self.config_dir("work-%d" % n)
            place(base, os.path.join(work, "direct.xml"))
            _, _, rc = spawn(self.tool(work, "install", "--no-reload", *FACTS))
            must(rc == 0, "install into the %d-entry file failed" % n)
            installed = os.path.join(self.tmp, "installed-%d.xml" % n)
            shutil.copyfile(os.path.join(work, "direct.xml"), installed)
            self.files[n] = {"base": base, "installed": installed, "work": work,
                             "bytes": os.path.getsize(base)}
        self.offline_dir = self.config_dir("offline")

    # ---- one round ----

    def round_files(self):
        for n in self.args.sizes:
            f = self.files[n]
            for _ in range(self.args.repeat):
                self.round_tool(n, f)
            if self.args.offline:
                self.round_offline(n, f)

    def round_tool(self, n, f):
        """The tool's cases on one file: fast, so each round takes --repeat samples of each."""
        work, target = f["work"], os.path.join(f["work"], "direct.xml")

        place(f["base"], target)
        t, rss, rc = spawn(self.tool(work, "install", "--no-reload", *FACTS))
        must(rc == 0, "install (%d) exited %d" % (n, rc))
        self.record("install", n, t, rss)

        place(f["installed"], target)
        before = os.stat(target)
        t, rss, rc = spawn(self.tool(work, "install", "--no-reload", *FACTS))
        after = os.stat(target)
        must(rc == 0, "no-op install (%d) exited %d" % (n, rc))
        written = (before.st_ino, before.st_mtime_ns) != (after.st_ino, after.st_mtime_ns)
        self.record("noop", n, t, rss)
        self.record("noop-wrote", n, 1.0 if written else 0.0)

        place(f["installed"], target)
        t, rss, rc = spawn(self.tool(work, "uninstall", "--no-reload"))
        must(rc == 0, "uninstall (%d) exited %d" % (n, rc))
        self.record("uninstall", n, t, rss)

        t, rss, rc = spawn([self.parser, f["installed"]])
        must(rc == 0, "bench-parse (%d) exited %d" % (n, rc))
        self.record("parse", n, t, rss)

    def round_offline(self, n, f):
        target = os.path.join(self.offline_dir, "direct.xml")
        place(f["base"], target)
        t, _, rc = spawn([OFFLINE_CMD, "--system-config", self.offline_dir] + self.offline_one)
        must(rc == 0, "firewall-offline-cmd (%d) exited %d" % (n, rc))
        self.record("offline", n, t)
        if n == 0:
            place(f["base"], target)
            total = 0.0
            for call in self.offline_calls:
                t, _, rc = spawn([OFFLINE_CMD, "--system-config", self.offline_dir] + call)
                must(rc == 0, "firewall-offline-cmd %s exited %d" % (call[:3], rc))
                total += t
            self.record("offline30", n, total)

    def round_sandbox(self, sb):
        for n in self.sandbox_sizes:
            # --repeat samples of each, alternating which goes first, so that neither always
            # follows the other
            for i in range(self.args.repeat):
                if i % 2 == 0:
                    self.live_install(sb, n)
                    self.live_reload(sb, n)
                else:
                    self.live_reload(sb, n)
                    self.live_install(sb, n)

    def live_install(self, sb, n):
        f = self.files[n]
        place(f["base"], sb.direct_xml_path)
        sb.dbus_reload()  # firewalld starts from the foreign entries only
        settle()
        t, _, rc = spawn(self.tool(sb.config_dir, "install", "--reload-mode", "full", *FACTS),
                         env=sb.env)
        must(rc == 0, "install with reload (%d) exited %d:\n%s" % (n, rc, sb.log_text()[-2000:]))
        self.record("live-install", n, t)
        shutil.copyfile(sb.direct_xml_path, self.live_result(n))

    def live_result(self, n):
        return os.path.join(self.tmp, "live-%d.xml" % n)

    def live_reload(self, sb, n):
        """A bare reload of install's result, from where install started: firewalld holding only
        the foreign entries. Reloading over install's runtime instead would first have to flush
        Kuma's rules (FIREWALLD.md 7), work the install's reload never does."""
        result = self.live_result(n)
        if not os.path.exists(result):
            self.live_install(sb, n)
        place(self.files[n]["base"], sb.direct_xml_path)
        sb.dbus_reload()
        place(result, sb.direct_xml_path)
        settle()
        cmd = [shutil.which("dbus-send"), "--bus=" + sb.bus_address, "--print-reply",
               "--reply-timeout=120000", "--dest=org.fedoraproject.FirewallD1",
               "/org/fedoraproject/FirewallD1", "org.fedoraproject.FirewallD1.reload"]
        t, _, rc = spawn(cmd, env=sb.env)
        must(rc == 0, "bare reload (%d) exited %d" % (n, rc))
        self.record("live-reload", n, t)

    def run(self):
        self.prepare()
        sb = None
        self.sandbox_sizes = [n for n in SANDBOX_SIZES if n in self.args.sizes]
        if self.args.sandbox:
            try:
                from integration.sandbox import FirewalldSandbox
                sb = FirewalldSandbox()
                sb.start()
            except Exception as e:  # unittest.SkipTest or a start failure: report, go on
                self.notes.append("firewalld sandbox not measured: %s" % str(e).splitlines()[0])
                if sb is not None:
                    sb.close()
                sb = None
        try:
            for i in range(self.args.runs):
                print("bench: round %d/%d" % (i + 1, self.args.runs), file=sys.stderr)
                self.round_files()
                if sb is not None:
                    self.round_sandbox(sb)
        finally:
            if sb is not None:
                sb.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- report ----

    def table(self):
        sizes = self.args.sizes
        ms = lambda s: "—" if s is None else ("%.1f ms" % (s * 1000) if s < 10 else "%.1f s" % s)
        ratio = lambda a, b: "—" if a is None or b is None else "%.0fx" % (a / b)
        rows = []

        def row(label, cells):
            rows.append("| %s | %s |" % (label, " | ".join(cells)))

        row("file size", ["%.1f MB" % (self.files[n]["bytes"] / 1e6) if self.files[n]["bytes"]
                          > 1e5 else "%d B" % self.files[n]["bytes"] for n in sizes])
        row("**install** --no-reload", [ms(self.median("install", n)) for n in sizes])
        prev = [None] + sizes[:-1]
        row("install time / previous size", ["—" if p is None else "%.1f" % (
            self.median("install", n) / self.median("install", p)) for n, p in zip(sizes, prev)])
        row("no-op re-install", [ms(self.median("noop", n)) for n in sizes])
        row("no-op wrote the file", ["yes" if max(self.samples[("noop-wrote", n)]) else "no"
                                     for n in sizes])
        row("parse only (bench-parse)", [ms(self.median("parse", n)) for n in sizes])
        row("no-op / parse", ["%.2f" % (self.median("noop", n) / self.median("parse", n))
                              for n in sizes])
        row("uninstall --no-reload", [ms(self.median("uninstall", n)) for n in sizes])
        peak = {n: max(max(self.rss[(c, n)]) for c in ("install", "noop", "uninstall"))
                for n in sizes}
        row("peak RSS of the tool", ["%.1f MB" % (peak[n] / 1024) for n in sizes])
        row("RSS limit (3x file + 8 MB)", ["%.1f MB" % ((3 * self.files[n]["bytes"]) / 2**20 + 8)
                                           for n in sizes])
        row("firewall-offline-cmd, ONE --add-rule", [ms(self.median("offline", n)) for n in sizes])
        row("**ratio** one offline call / install", [ratio(self.median("offline", n),
                                                           self.median("install", n))
                                                     for n in sizes])
        row("firewall-offline-cmd, Kuma's 30 entries", [ms(self.median("offline30", n))
                                                        for n in sizes])
        row("**ratio** 30 offline calls / install", [ratio(self.median("offline30", n),
                                                           self.median("install", n))
                                                     for n in sizes])
        row("sandbox: install + reload + verify", [ms(self.median("live-install", n))
                                                    for n in sizes])
        row("sandbox: bare firewalld reload", [ms(self.median("live-reload", n)) for n in sizes])
        row("**ratio** install+reload+verify / bare reload", [
            "—" if self.median("live-install", n) is None else "%.2f" % (
                self.median("live-install", n) / self.median("live-reload", n)) for n in sizes])
        head = ["| figure | %s |" % " | ".join("%s entries" % format(n, ",") for n in sizes),
                "|---|%s" % ("---:|" * len(sizes))]
        return head + rows

    def report(self):
        load = os.getloadavg()
        lines = ["Medians of %d interleaved rounds (the tool's own cases %d times per round), %s, "
                 "load average %.2f %.2f %.2f (%d CPUs)."
                 % (self.args.runs, self.args.repeat, time.strftime("%Y-%m-%d"), load[0], load[1],
                    load[2], os.cpu_count()), ""]
        lines += self.table()
        if self.noreload:
            lines += ["", "Applying to a running firewalld (bench/noreload.py), medians of %d "
                      "rounds:" % self.args.noreload_runs, ""] + self.noreload
        lines += [""] + ["Note: " + n for n in self.notes]
        text = "\n".join(lines).rstrip() + "\n"
        print(text)
        if self.args.output:
            # the latest table replaces the previous one; the history below it stays
            kept = ""
            try:
                with open(self.args.output) as f:
                    old = f.read()
                if HISTORY in old:
                    kept = "\n" + old[old.index(HISTORY):]
            except FileNotFoundError:
                pass
            with open(self.args.output, "w") as f:
                f.write("# tproxy-firewalld benchmark\n\nWritten by `make bench` "
                        "(bench/bench.py); see its docstring for the cases.\n\n" + text + kept)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5,
                    help="samples of each of the tool's own cases per round (default 5)")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--no-offline", dest="offline", action="store_false")
    ap.add_argument("--no-sandbox", dest="sandbox", action="store_false")
    ap.add_argument("--noreload-runs", type=int, default=3,
                    help="rounds of the delta vs full reload cases (default 3)")
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"))
    args = ap.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    if args.offline and not os.access(OFFLINE_CMD, os.X_OK):
        args.offline = False
    b = Bench(args)
    b.noreload = None
    b.run()
    if args.sandbox and os.geteuid() == 0:
        import noreload
        from integration.sandbox import FirewalldSandbox
        facts = FACTS + ["--ip-family-mode", "dualstack"]
        gen = os.path.join(HERE, "gen-direct.py")
        tmp = tempfile.mkdtemp(prefix="tpfw-bench-nr-")

        def gen_file(n):
            path = os.path.join(tmp, "%d.xml" % n)
            if not os.path.exists(path):
                subprocess.run([sys.executable, gen, str(n), path], check=True)
            return path
        try:
            med, conns = noreload.measure(os.path.join(args.builddir, "tproxy-firewalld"), facts,
                                          gen_file, args.noreload_runs, FirewalldSandbox)
            b.noreload = noreload.table(med, conns)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    b.report()


if __name__ == "__main__":
    main()
