#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`make demo`: the main job on a throwaway firewalld sandbox (namespace, private bus and config).

Starts a real firewalld in its own network namespace with a direct.xml that already holds a
site rule, installs Kuma's transparent-proxy rules with tproxy-firewalld, shows what firewalld
and the kernel now hold, then uninstalls and checks the file is back byte for byte. Nothing on
the host changes; the sandbox is removed at the end, also on failure.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "integration"))
sys.path.insert(0, HERE)

from sandbox import FirewalldSandbox  # noqa: E402
import unittest  # noqa: E402

CLI = os.path.join(os.environ.get("TPFW_BUILDDIR", os.path.join(os.path.dirname(HERE), "build")),
                   "tproxy-firewalld")
SITE = """<?xml version="1.0" encoding="utf-8"?>
<!-- the site team's rule: must survive -->
<direct>
  <rule ipv="ipv4" table="nat" chain="OUTPUT" priority="0">-p tcp -d 192.0.2.10 --dport 8080 -j RETURN</rule>
</direct>
"""
KUMA = ["--kuma-dp-user", "5678", "--redirect-dns", "--resolv-conf", "RESOLV",
        "--loopback-interface", "lo", "--assume-ipv6", "yes", "--assume-conntrack", "yes",
        "--assume-docker-output", "no", "--assume-mangle", "yes"]


def step(title):
    print(f"\n\033[1m==> {title}\033[0m", flush=True)


def show(cmd, env, check=True, quiet=False):
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not quiet:
        sys.stdout.write(p.stdout)
    if check and p.returncode not in (0,):
        print(f"demo: command failed with exit {p.returncode}", file=sys.stderr)
        sys.exit(1)
    return p


def main():
    if os.geteuid() != 0:
        sys.exit("make demo needs root (it starts firewalld in a private network namespace)")
    try:
        sb = FirewalldSandbox(direct_xml=SITE)
    except unittest.SkipTest as e:
        sys.exit(f"demo: cannot start the sandbox: {e}")
    with sb:
        resolv = os.path.join(sb.tmpdir, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 192.0.2.53\nnameserver 2001:db8::53\n")
        kuma = [resolv if a == "RESOLV" else a for a in KUMA]
        env = dict(sb.env)
        g = [CLI, "--firewalld-dir", sb.config_dir]
        original = open(sb.direct_xml_path, "rb").read()

        step("The ruleset kumactl would apply (kumactl --dry-run layout, with ownership tags)")
        show(g + ["generate", "--format", "iptables-restore"] + kuma, env)
        step("What install would change in direct.xml")
        show(g + ["diff"] + kuma, env, check=False)
        step("Install: merge, write atomically, reload firewalld over D-Bus, verify")
        show(g + ["install"] + kuma, env)
        step("Install again: nothing to do")
        show(g + ["install"] + kuma, env)
        step("The kernel's nat table in the sandbox (IPv4, then IPv6)")
        show(["ip", "netns", "exec", sb.netns, "iptables-save", "-t", "nat"], env)
        show(["ip", "netns", "exec", sb.netns, "ip6tables-save", "-t", "nat"], env)
        step("Status: disk vs desired vs firewalld's permanent and runtime views")
        show(g + ["status"] + kuma, env)
        step("Owners in direct.xml")
        show(g + ["list-owners"], env)
        step("Uninstall")
        show(g + ["uninstall"], env)
        after = open(sb.direct_xml_path, "rb").read()
        step("direct.xml after uninstall")
        sys.stdout.write(after.decode())
        if after != original:
            sys.exit("demo: direct.xml differs from the original after uninstall")
        print("\ndemo: direct.xml is back byte for byte; the site rule survived. Sandbox removed.")


if __name__ == "__main__":
    main()
