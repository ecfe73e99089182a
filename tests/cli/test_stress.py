# SPDX-License-Identifier: MIT
"""Concurrency stress (issue 7.3): 32 parallel install/uninstall runs with random owners from a
pool of 40, for 20 seconds, against one direct.xml (--no-reload; tests/integration/test_stress.py
runs a shorter variant with reloads against a real firewalld).

Proves: after every run the file is whole and valid (parsed after each exit, `validate` and
firewall-offline-cmd --check-config at the end); at the end each owner's entries are exactly
what its last completed operation asked for (no lost update). An owner is never in two runs at
once (each run takes a random idle owner), so its last operation is known for certain: the
order in which two runs of one owner exited need not be the order in which they held the lock.
Lost updates between owners, which all write the one file, are what the check catches. Each install variant writes a run-unique port,
so the final file also names the run that wrote it, which makes a failure readable.

Knobs: TPFW_STRESS_SECONDS (default 20), TPFW_STRESS_JOBS (default 32).
"""
import contextlib
import fcntl
import os
import random
import shlex
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

from tpfwtest import CLI, SANITIZER_MARKERS, FirewalldDirTest

OWNERS = [f"own{i}" for i in range(40)]
FOREIGN = b"""<?xml version="1.0" encoding="utf-8"?>
<direct>
  <!-- the admin's: must survive every run -->
  <rule ipv="ipv4" table="filter" chain="INPUT" priority="0">-p tcp --dport 22 -j ACCEPT</rule>
</direct>
"""


def script(owner, port):
    chain = f"S_{owner}"
    return (f"*nat\n:{chain} - [0:0]\n-A {chain} -p tcp --dport {port} -j RETURN\n"
            f"-A OUTPUT -p tcp --dport {port} -j {chain}\nCOMMIT\n")


def owner_state(path):
    """{owner: (frozenset of chains, frozenset of ports)} read from the file, plus the
    foreign entries (no owner tag) as a sorted list."""
    root = ET.parse(path).getroot()
    if root.tag != "direct":
        raise AssertionError(f"root is <{root.tag}>")
    state = {}
    foreign = []
    for el in root:
        if el.tag == "chain":
            name = el.get("chain")
            if name.startswith("S_"):
                chains, ports = state.setdefault(name[2:], (set(), set()))
                chains.add(name)
            else:
                foreign.append(("chain", name))
            continue
        argv = shlex.split(el.text or "")
        tag = None
        if "--comment" in argv:
            tag = argv[argv.index("--comment") + 1]
        if tag and tag.startswith("tproxy-firewalld/"):
            owner = tag[len("tproxy-firewalld/"):].split(" ")[0]
            chains, ports = state.setdefault(owner, (set(), set()))
            ports.add(int(argv[argv.index("--dport") + 1]))
        else:
            foreign.append((el.tag, el.get("chain"), tuple(argv)))
    return ({o: (frozenset(c), frozenset(p)) for o, (c, p) in state.items()}, sorted(foreign))


class StressRunner:
    """Runs the stress loop; each worker thread keeps one CLI process running at a time."""

    def __init__(self, testcase, firewalld_dir, jobs, seconds, env, extra_args=(),
                 check_every_run=True, check_under_lock=False):
        self.t = testcase
        self.dir = firewalld_dir
        self.path = os.path.join(firewalld_dir, "direct.xml")
        self.jobs = jobs
        self.seconds = seconds
        self.env = env
        self.extra = list(extra_args)
        self.check_every_run = check_every_run
        # A running firewalld rewrites direct.xml in place when a run syncs its permanent copy
        # (config.direct.update): a reader outside the tool's lock can catch that half-written.
        # Without firewalld every write is the tool's atomic rename, which the unlocked check tests.
        self.check_under_lock = check_under_lock
        self.mutex = threading.Lock()
        self.port = 10000
        self.completed = []  # (exit time, owner, op, port) of every run that exited 0
        self.failures = []
        self.runs = 0
        self.max_seconds = 0.0
        self.idle = set(OWNERS)  # owners no run is using
        if jobs > len(OWNERS):
            raise ValueError(f"at most {len(OWNERS)} jobs: one owner per run in flight")

    def next_port(self):
        with self.mutex:
            self.port += 1
            return self.port

    def one_run(self, rng):
        with self.mutex:
            owner = rng.choice(sorted(self.idle))
            self.idle.remove(owner)
        try:
            self.run_as(rng, owner)
        finally:
            with self.mutex:
                self.idle.add(owner)

    def run_as(self, rng, owner):
        g = [CLI, "--firewalld-dir", self.dir, "--owner", owner, "--timeout", "300"]
        if rng.random() < 0.6:
            port = self.next_port()
            args, op = g + ["install", "--from-iptables-restore", "-"], "install"
            text = script(owner, port)
        else:
            port, args, text, op = None, g + ["uninstall"], None, "uninstall"
        t0 = time.monotonic()
        p = subprocess.run(args + self.extra, input=text, capture_output=True, text=True,
                           env=self.env, timeout=600)
        done = time.monotonic()  # the exit: taken right after the wait returns
        with self.mutex:
            self.runs += 1
            self.max_seconds = max(self.max_seconds, done - t0)
            if any(m in p.stderr for m in SANITIZER_MARKERS):
                self.failures.append((owner, op, "sanitizer", p.stderr))
            if p.returncode == 0:
                self.completed.append((done, owner, op, port))
            else:
                self.failures.append((owner, op, p.returncode, p.stderr))
        if self.check_every_run:
            try:
                with self.tool_lock():
                    st, foreign = owner_state(self.path)
                if foreign != self.foreign:
                    raise AssertionError(f"foreign entries changed: {foreign}")
            except Exception as e:  # noqa: BLE001 - any parse error is the finding
                with self.mutex:
                    self.failures.append((owner, op, "file check", repr(e)))

    @contextlib.contextmanager
    def tool_lock(self):
        """The lock the tool's runs hold (flock of the directory), when check_under_lock."""
        if not self.check_under_lock:
            yield
            return
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def worker(self, seed, deadline):
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            self.one_run(rng)

    def run(self):
        _, self.foreign = owner_state(self.path)
        deadline = time.monotonic() + self.seconds
        seed = int(os.environ.get("TPFW_STRESS_SEED", str(int(time.time()))))
        threads = [threading.Thread(target=self.worker, args=(seed * 1000 + i, deadline))
                   for i in range(self.jobs)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.t.assertEqual(self.failures[:5], [], f"seed {seed}")
        return seed

    def expected(self):
        """{owner: (chains, ports)} after each owner's last completed operation."""
        last = {}
        for done, owner, op, port in sorted(self.completed):
            last[owner] = (op, port)
        out = {}
        for owner, (op, port) in last.items():
            if op == "install":
                out[owner] = (frozenset({f"S_{owner}"}), frozenset({port}))
        return out

    def assert_final(self, seed):
        got, foreign = owner_state(self.path)
        self.t.assertEqual(foreign, self.foreign)
        self.t.assertEqual(got, self.expected(),
                           f"seed {seed}: an owner's entries are not its last operation's")


class StressTest(FirewalldDirTest):
    def test_parallel_install_uninstall(self):
        self.put(FOREIGN)
        seconds = float(os.environ.get("TPFW_STRESS_SECONDS", "20"))
        jobs = int(os.environ.get("TPFW_STRESS_JOBS", "32"))
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/tpfw-test-bus")
        r = StressRunner(self, self.dir, jobs, seconds, env, ["--no-reload"])
        seed = r.run()
        r.assert_final(seed)
        self.tpfw("validate", check=0)
        self.assert_offline_accepts()
        self.assertEqual([n for n in os.listdir(self.dir) if ".tpfw-" in n], [])
        installs = sum(1 for c in r.completed if c[2] == "install")
        print(f"\nstress: {r.runs} runs ({installs} installs) by {jobs} workers in {seconds:.0f} s,"
              f" {len(set(c[1] for c in r.completed))} owners, longest run {r.max_seconds:.2f} s",
              flush=True)
        self.assertGreaterEqual(r.runs, jobs * 2, "too few runs to prove anything")
