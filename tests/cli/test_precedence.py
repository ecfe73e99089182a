# SPDX-License-Identifier: MIT
"""Precedence of every boolean option: flag over environment over config file over default, in
every combination of the three sources and every spelling of a boolean (one grammar for all).

The boolean options are read from `generate --help`, so a new one is covered without editing
this file; each value is observed in what the tool does (the rules it generates, or how install
behaves), never in a dump of its own configuration."""
import itertools
import os

from tpfwtest import FirewalldDirTest, run

E = "KUMA_TRANSPARENT_PROXY_"
TRUE = ["1", "t", "T", "TRUE", "true", "True", "yes", "Yes", "YES", "on", "On", "ON"]
FALSE = ["0", "f", "F", "FALSE", "false", "False", "no", "No", "NO", "off", "Off", "OFF"]
FACTS = ["--loopback-interface", "lo", "--assume-ipv6", "no", "--assume-conntrack", "yes",
         "--assume-docker-output", "no", "--assume-mangle", "yes"]
# options that change how a command runs instead of the rules: observed through install
BEHAVIOUR = {"--dry-run", "--verbose", "--store-firewalld"}


def boolean_options():
    """[(flag or None, env suffix, config key, default)] of every boolean in generate --help."""
    text = run(["generate", "--help"], check=0).stdout
    out, cur = [], None
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("   "):
            head = line.split()[0]
            cur = {"flag": head.split("[")[0] if head.startswith("--") else None,
                   "bool": "[=true|false]" in line, "env": None, "key": None}
            out.append(cur)
        elif cur is not None and line.strip().startswith("env "):
            for part in line.strip().split(", "):
                kind, _, value = part.partition(" ")
                cur[kind] = value[len(E):] if kind == "env" else value
        elif cur is not None and line.strip().startswith("default: "):
            cur["default"] = line.strip()[len("default: "):]
    return [(o["flag"], o["env"], o["key"], o.get("default")) for o in out
            if o["bool"] or (o.get("default") in ("true", "false") and o["env"])]


def yaml_for(key, value):
    parts = key.split(".")
    return "".join("  " * i + p + ":" + ("\n" if i < len(parts) - 1 else f" {value}\n")
                   for i, p in enumerate(parts))


class PrecedenceTest(FirewalldDirTest):
    def setUp(self):
        super().setUp()
        self.resolv = os.path.join(self.tmp, "resolv.conf")
        with open(self.resolv, "w") as f:
            f.write("nameserver 10.0.0.53\n")
        self.spelling = itertools.count()

    def spell(self, value):
        words = TRUE if value else FALSE
        return words[next(self.spelling) % len(words)]

    def context(self, flag, env):
        """Arguments under which the option's value shows in the rules."""
        user = ["--kuma-dp-user", "root" if env == "CNI_MODE" else "5678"]
        if flag == "--skip-dns-conntrack-zone-split":
            return user + FACTS + ["--redirect-dns", "--resolv-conf", self.resolv]
        return user + FACTS + ["--resolv-conf", self.resolv]

    def sources(self, flag, env, key, f, e, a):
        """(argv, env) for a file value f, an environment value e and a flag value a."""
        args, envs = [], {}
        if f is not None:
            path = os.path.join(self.tmp, "c.yaml")
            with open(path, "w") as out:
                out.write(yaml_for(key, self.spell(f)))
            args += ["--config", path]
        if e is not None:
            envs[E + env] = self.spell(e)
        if a is not None:
            args.append(f"{flag}={self.spell(a)}")
        return args, envs

    def observe_rules(self, args, envs, flag, env):
        p = run(["generate", "--format", "iptables-restore"] + self.context(flag, env) + args,
                env=envs, check=0)
        return p.stdout

    def observe_behaviour(self, args, envs, flag):
        """The option's effective value, from what install does (no firewalld here)."""
        if os.path.exists(self.path):
            os.unlink(self.path)
        if flag == "--verbose":
            p = self.tpfw("install", "--check", *self.context(flag, None), *args, env=envs, check=0)
            return "tproxy-firewalld: lock: " in p.stderr
        if flag == "--dry-run":
            self.tpfw("install", "--no-reload", *self.context(flag, None), *args, env=envs,
                      check=0)
            return not os.path.exists(self.path)
        # --store-firewalld: false is runtime only, which needs the (absent) firewalld
        p = self.tpfw("install", *self.context(flag, None), *args, env=envs)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return p.returncode == 0 and os.path.exists(self.path)

    def test_every_boolean_in_every_combination(self):
        options = boolean_options()
        names = {o[0] or o[1] for o in options}
        # the table really is read from --help: known options of each kind are in it
        for expected in ("--redirect-inbound", "--dry-run", "--store-firewalld", "CNI_MODE",
                         "REDIRECT_OUTBOUND_ENABLED", "--disable-comments"):
            self.assertIn(expected, names)
        failures, combos = [], 0
        for flag, env, key, default in options:
            behaviour = flag in BEHAVIOUR
            if not behaviour:
                ref = {}
                for v in (True, False):
                    a, e = (([f"{flag}={'true' if v else 'false'}"], {}) if flag
                            else ([], {E + env: "true" if v else "false"}))
                    ref[v] = self.observe_rules(a, e, flag, env)
                self.assertNotEqual(ref[True], ref[False], f"{flag or env} changes nothing here")
            default_value = default == "true"  # store-firewalld: "unset" stores, like true
            if flag == "--store-firewalld":
                default_value = True
            values = (None, True, False)
            for f, e, a in itertools.product(values, values, values if flag else (None,)):
                if (f is not None and not key) or (e is not None and not env):
                    continue
                combos += 1
                expected = next((v for v in (a, e, f) if v is not None), default_value)
                args, envs = self.sources(flag, env, key, f, e, a)
                if behaviour:
                    got = self.observe_behaviour(args, envs, flag)
                else:
                    out = self.observe_rules(args, envs, flag, env)
                    got = True if out == ref[True] else False if out == ref[False] else None
                if got != expected:
                    failures.append(f"{flag or env}: file={f} env={e} flag={a}: "
                                    f"expected {expected}, got {got} ({args} {envs})")
        self.assertEqual(failures, [])
        self.assertGreater(combos, 200)
        # every spelling was used, in each source more than once
        self.assertGreater(next(self.spelling), 3 * (len(TRUE) + len(FALSE)))
