#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a deterministic, realistic direct.xml with N foreign entries, in firewalld's layout.

The file looks like what firewalld's own writer produces for a busy host (FIREWALLD.md section 3):
the XML declaration, <direct>, two-space indent, attribute order ipv table chain priority, chains
first, then rules, then passthroughs, argument text joined with shlex.quote() and escaped with
saxutils.escape(). The entries spread over ipv4/ipv6 and filter/nat/mangle/raw, rules sit in
built-in chains and in the file's own chains, many carry comment matches with spaces, and every
entry is valid iptables (a firewalld sandbox can load the 1,000-entry file). Every entry is
unique: firewalld drops duplicates and firewall-offline-cmd refuses them.

Usage: gen-direct.py N [OUTPUT]   (stdout without OUTPUT; same N gives the same bytes)
"""
import random
import shlex
import sys
from xml.sax.saxutils import escape, quoteattr

TABLES = {
    "filter": ["INPUT", "FORWARD", "OUTPUT"],
    "nat": ["PREROUTING", "OUTPUT", "POSTROUTING"],
    "mangle": ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
    "raw": ["PREROUTING", "OUTPUT"],
}
# Share of each kind of entry (the rest are rules).
CHAIN_SHARE = 0.02
PASSTHROUGH_SHARE = 0.08
SERVICES = ["ssh", "https", "node exporter", "postgres replica", "backup agent", "dns cache",
            "syslog relay", "vpn gateway", "app frontend", "metrics scrape"]


def address(ipv, n, prefix=False):
    if ipv == "ipv4":
        a = "10.%d.%d.%d" % ((n >> 16) & 255, (n >> 8) & 255, n & 255)
        return a + "/32" if prefix else a
    a = "2001:db8:%x::%x" % ((n >> 16) & 0xFFFF, n & 0xFFFF)
    return a + "/128" if prefix else a


def rule_args(rng, ipv, table, chain, n, own_chains):
    """A valid, unique iptables argument list for rule number n."""
    port = 1024 + n % 60000
    src = address(ipv, n, prefix=True)
    service = SERVICES[n % len(SERVICES)]
    comment = ["-m", "comment", "--comment", "%s rule %d for %s" % (table, n, service)]
    jump = own_chains.get((ipv, table))
    kind = rng.randrange(6)
    if table == "filter":
        target = ["-j", rng.choice(["ACCEPT", "DROP", "RETURN"])]
        if jump and kind == 0 and chain in TABLES[table]:
            target = ["-j", rng.choice(jump)]
        body = ["-p", rng.choice(["tcp", "udp"]), "-s", src, "--dport", str(port)]
    elif table == "nat":
        if chain in ("PREROUTING", "OUTPUT") and kind < 2:
            to = address(ipv, n + 7)
            if ipv == "ipv6":
                to = "[%s]" % to
            target = ["-j", "DNAT", "--to-destination", "%s:%d" % (to, 8000 + n % 1000)]
        elif chain == "POSTROUTING" and kind < 2:
            target = ["-j", "MASQUERADE"]
        else:
            target = ["-j", "RETURN"]
        body = ["-p", "tcp", "-d", src, "--dport", str(port)]
    elif table == "mangle":
        target = ["-j", "MARK", "--set-mark", "0x%x" % (1 + n % 255)]
        if kind == 0:
            target = ["-j", "RETURN"]
        body = ["-p", "udp", "-s", src, "--sport", str(port)]
    else:  # raw
        target = ["-j", rng.choice(["ACCEPT", "RETURN"])]
        body = ["-p", "tcp", "-d", src, "--dport", str(port)]
    if kind in (3, 4) and chain in ("PREROUTING", "INPUT", "FORWARD"):
        body = ["!", "-i", "lo"] + body
    elif kind in (3, 4) and chain in ("OUTPUT", "POSTROUTING"):
        body = ["!", "-o", "lo"] + body
    return (comment if kind != 5 else []) + body + target


def grouped(items, key):
    groups = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return [item for group in groups.values() for item in group]


def generate(n_entries, seed=8):
    rng = random.Random("%d/%d" % (seed, n_entries))
    n_chains = int(n_entries * CHAIN_SHARE)
    n_pass = int(n_entries * PASSTHROUGH_SHARE)
    n_rules = n_entries - n_chains - n_pass
    combos = [(ipv, t) for ipv in ("ipv4", "ipv6") for t in TABLES]

    chains = []
    own_chains = {}
    for i in range(n_chains):
        ipv, table = combos[i % len(combos)]
        name = "APP%d_%s" % (i, rng.choice(["IN", "OUT", "FWD", "LOG", "ALLOW"]))
        chains.append((ipv, table, name))
        own_chains.setdefault((ipv, table), []).append(name)

    rules = []
    for i in range(n_rules):
        ipv = "ipv4" if rng.random() < 0.7 else "ipv6"
        table = rng.choices(list(TABLES), weights=[50, 25, 15, 10])[0]
        candidates = TABLES[table] + own_chains.get((ipv, table), [])[:50]
        chain = rng.choice(candidates)
        priority = rng.choice([0, 0, 0, 1, 2, 5, 10, -1, 100])
        rules.append((ipv, table, chain, priority, rule_args(rng, ipv, table, chain, i, own_chains)))

    passthroughs = []
    for i in range(n_pass):
        ipv = "ipv4" if i % 3 else "ipv6"
        args = ["-t", "filter", "-A", "INPUT", "-p", "tcp", "--dport", str(1024 + i % 60000),
                "-s", address(ipv, 0x800000 + i, prefix=True),
                "-m", "comment", "--comment", "legacy passthrough %d from the old playbook" % i,
                "-j", "ACCEPT"]
        passthroughs.append((ipv, args))

    # firewalld keeps chains per (ipv, table), rules per (ipv, table, chain) and passthroughs per
    # ipv, each in first-seen order, and writes them group by group.
    chains = grouped(chains, lambda c: c[:2])
    rules = grouped(rules, lambda r: r[:3])
    passthroughs = grouped(passthroughs, lambda p: p[0])
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<direct>\n']
    for ipv, table, chain in chains:
        out.append("  <chain ipv=%s table=%s chain=%s/>\n"
                   % (quoteattr(ipv), quoteattr(table), quoteattr(chain)))
    for ipv, table, chain, priority, args in rules:
        out.append("  <rule ipv=%s table=%s chain=%s priority=%s>%s</rule>\n"
                   % (quoteattr(ipv), quoteattr(table), quoteattr(chain),
                      quoteattr(str(priority)), escape(" ".join(shlex.quote(a) for a in args))))
    for ipv, args in passthroughs:
        out.append("  <passthrough ipv=%s>%s</passthrough>\n"
                   % (quoteattr(ipv), escape(" ".join(shlex.quote(a) for a in args))))
    out.append("</direct>\n")
    return "".join(out)


def main(argv):
    if len(argv) not in (2, 3) or not argv[1].isdigit():
        sys.stderr.write(__doc__.split("\n\n")[-1] + "\n")
        return 2
    text = generate(int(argv[1]))
    if len(argv) == 3:
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
