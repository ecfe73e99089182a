# SPDX-License-Identifier: MIT
"""The no-reload figures of `make bench`: apply latency on a running firewalld, delta vs full.

For firewalld holding 0, 1,000 and 10,000 foreign entries (gen-direct.py), each round times, in
alternating order, with the same starting state for both modes (untimed reset in between):
  kuma     install of Kuma's dual-stack set onto the foreign entries only
  one-rule re-install with one more excluded inbound port (one rule added) over Kuma's set
Each is `--reload-mode delta` (the default) against `--reload-mode full`. Then, on the empty
configuration, a client namespace joined by a veth pair opens a new TCP connection into the
sandbox every 10 ms during 20 installs and 20 uninstalls each way, and counts the connections
that fail or take over 500 ms.

The foreign entries are gen-direct.py's: what a busy host's direct.xml looks like, spread over
ipv4/ipv6 and the filter, nat, mangle and raw tables (about a quarter of them in nat, where Kuma's
rules go), in built-in chains and the file's own chains (2% chains, 8% passthroughs, the rest
rules). firewalld loads them all into its runtime.

`make bench` runs this after its other figures; alone (as root):
  python3 bench/noreload.py --builddir build/bench [--rounds 3]
prints the table.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from integration.conn_stream import CLIENT, SERVER  # noqa: E402

SIZES = [0, 1000, 10000]
PORT = 4711
def timed(argv, env):
    t0 = time.monotonic()
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("bench: %s exited %d: %s" % (argv[1:4], p.returncode, p.stderr))
    return dt


def measure(cli, facts, gen_file, rounds, sandbox_cls):
    """Returns {(case, mode, size): median seconds} and {mode: (total, bad)}."""
    times = {}
    for n in SIZES:
        with sandbox_cls(direct_xml=open(gen_file(n)).read()) as sb:
            tool = lambda *a: [cli, "--timeout", "300", "--firewalld-dir", sb.config_dir] + list(a)
            kuma = list(facts)
            one = kuma + ["--exclude-inbound-ports", "22"]
            for r in range(rounds):
                print("bench: no-reload %d entries, round %d/%d" % (n, r + 1, rounds),
                      file=sys.stderr)
                modes = ("delta", "full") if r % 2 == 0 else ("full", "delta")
                for mode in modes:
                    timed(tool("uninstall"), sb.env)  # untimed reset: foreign entries only
                    t = timed(tool("install", "--reload-mode", mode, *kuma), sb.env)
                    times.setdefault(("kuma", mode, n), []).append(t)
                    t = timed(tool("install", "--reload-mode", mode, *one), sb.env)
                    times.setdefault(("one-rule", mode, n), []).append(t)
                    timed(tool("install", *kuma), sb.env)  # back to Kuma's set
    med = {k: statistics.median(v) for k, v in times.items()}
    return med, stream(cli, facts, sandbox_cls)


def stream(cli, facts, sandbox_cls):
    out = {}
    with sandbox_cls() as sb:
        client_ns = "tpfw-bench-%s" % uuid.uuid4().hex[:8]
        server = None
        try:
            subprocess.run(["ip", "netns", "add", client_ns], check=True)
            subprocess.run(["ip", "link", "add", "tpfwbc0", "netns", client_ns, "type", "veth",
                            "peer", "name", "tpfwbs0", "netns", sb.netns], check=True)
            for ns, dev, addr in ((client_ns, "tpfwbc0", "10.232.0.1/24"),
                                  (sb.netns, "tpfwbs0", "10.232.0.2/24")):
                subprocess.run(["ip", "-n", ns, "addr", "add", addr, "dev", dev], check=True)
                subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
            sb.firewall_cmd(["--permanent", "--add-port=%d/tcp" % PORT], check=True)
            sb.dbus_reload()
            server = subprocess.Popen(["ip", "netns", "exec", sb.netns, sys.executable, "-c",
                                       SERVER, str(PORT)], stdout=subprocess.PIPE, text=True)
            assert server.stdout.readline().strip() == "ready"
            tool = lambda *a: [cli, "--timeout", "300", "--firewalld-dir", sb.config_dir] + list(a)
            for mode in ("delta", "full"):
                print("bench: connection stream, %s" % mode, file=sys.stderr)
                c = subprocess.Popen(["ip", "netns", "exec", client_ns, sys.executable, "-c",
                                      CLIENT, "10.232.0.2", str(PORT)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
                time.sleep(0.3)
                for _ in range(20):
                    timed(tool("install", "--reload-mode", mode, "--exclude-inbound-ports",
                               str(PORT), *facts), sb.env)
                    timed(tool("uninstall", "--reload-mode", mode), sb.env)
                time.sleep(0.3)
                o, _ = c.communicate("stop\n", timeout=60)
                out[mode] = tuple(map(int, o.split()))
        finally:
            if server is not None:
                server.kill()
                server.wait()
                server.stdout.close()
            subprocess.run(["ip", "netns", "del", client_ns], capture_output=True)
    return out


def table(med, conns):
    ms = lambda s: "—" if s is None else "%.0f ms" % (s * 1000)
    rows = ["| figure | %s |" % " | ".join("%s entries" % format(n, ",") for n in SIZES),
            "|---|%s" % ("---:|" * len(SIZES))]
    for case, label in (("kuma", "Kuma's dual-stack set"), ("one-rule", "one-rule change")):
        for mode in ("delta", "full"):
            rows.append("| %s, --reload-mode %s | %s |" % (
                label, mode, " | ".join(ms(med.get((case, mode, n))) for n in SIZES)))
        rows.append("| **ratio** %s full / delta | %s |" % (label, " | ".join(
            "%.1fx" % (med[(case, "full", n)] / med[(case, "delta", n)]) for n in SIZES)))
    rows.append("")
    rows.append("| new TCP connections during 20 installs + 20 uninstalls | total | failed or > 500 ms |")
    rows.append("|---|---:|---:|")
    for mode in ("delta", "full"):
        total, bad = conns.get(mode, (0, 0))
        rows.append("| --reload-mode %s | %d | %d |" % (mode, total, bad))
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    from integration.sandbox import FirewalldSandbox
    from tpfwtest import KUMA_FACTS
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tpfw-bench-nr-")

    def gen_file(n):
        path = os.path.join(tmp, "%d.xml" % n)
        if not os.path.exists(path):
            subprocess.run([sys.executable, os.path.join(here, "gen-direct.py"), str(n), path],
                           check=True)
        return path
    try:
        med, conns = measure(os.path.join(args.builddir, "tproxy-firewalld"),
                             KUMA_FACTS + ["--ip-family-mode", "dualstack"], gen_file,
                             args.rounds, FirewalldSandbox)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(table(med, conns)))


if __name__ == "__main__":
    main()
