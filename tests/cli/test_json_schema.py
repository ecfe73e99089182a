# SPDX-License-Identifier: MIT
"""Every command's --json output is one object on one line that matches its shipped JSON Schema
(schemas/COMMAND.schema.json), on success and on failure."""
import json
import os

from tpfwtest import SRCDIR, FirewalldDirTest, fixture

try:
    import jsonschema
except ImportError:  # python3-jsonschema is in DEB_TEST and .ci/run
    jsonschema = None

KUMA = fixture("cli", "kuma-dualstack.txt")
FACTS = ["--kuma-dp-user", "5678", "--loopback-interface", "lo", "--assume-ipv6", "no",
         "--assume-conntrack", "yes", "--assume-docker-output", "no", "--assume-mangle", "yes"]
COMMANDS = ["install", "uninstall", "diff", "status", "validate", "list-owners", "reload",
            "generate"]


def load_schema(command):
    with open(os.path.join(SRCDIR, "schemas", f"{command}.schema.json")) as f:
        return json.load(f)


class JsonSchemaTest(FirewalldDirTest):
    def setUp(self):
        if jsonschema is None:
            self.skipTest("python3-jsonschema is not installed")
        super().setUp()
        self.seen = set()

    def check(self, command, *args, code, error=False):
        """Runs COMMAND --json ARGS; asserts the exit code, one line, the schema; returns it."""
        p = self.tpfw(command, "--json", *args, check=code)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 1, p.stdout)
        obj = json.loads(lines[0])
        schema = load_schema(command)
        jsonschema.validate(obj, schema, cls=jsonschema.Draft7Validator)
        if error:
            self.assertIsInstance(obj["error"], str)
            self.assertIn(obj["error"], p.stderr)
        else:
            self.assertIsNone(obj["error"], p.stderr)
        self.seen.add(command)
        return obj

    def test_schemas_are_valid_and_strict(self):
        for command in COMMANDS:
            with self.subTest(command=command):
                schema = load_schema(command)
                jsonschema.Draft7Validator.check_schema(schema)
                v = jsonschema.Draft7Validator(schema)
                # a success object must have its members, and no others
                self.assertFalse(v.is_valid({"error": None}))
                self.assertFalse(v.is_valid({"error": None, "surprise": 1}))
                self.assertTrue(v.is_valid({"error": "x"}))
                self.assertFalse(v.is_valid({"error": 1}))

    def test_every_command(self):
        obj = self.check("install", "--no-reload", "--from-iptables-restore", KUMA, code=0)
        self.assertTrue(obj["changed"])
        self.check("install", "--check", "--diff", "--from-iptables-restore", KUMA, code=0)
        obj = self.check("diff", "--uninstall", code=3)
        self.assertTrue(obj["diff"].startswith("--- "))
        obj = self.check("status", "--from-iptables-restore", KUMA, code=3)
        self.assertEqual(obj["firewalld"], "not-running")
        self.assertFalse(obj["in_sync"])
        self.assertEqual([v["view"] for v in obj["views"]], ["desired"])
        self.assertTrue(obj["views"][0]["in_sync"])
        obj = self.check("status", *FACTS, code=3)
        self.assertFalse(obj["views"][0]["in_sync"])
        kinds = {e["type"] for v in obj["views"] for e in v["missing"] + v["unexpected"]}
        self.assertEqual(kinds, {"rule", "chain"})
        obj = self.check("validate", code=0)
        self.assertTrue(obj["valid"])
        obj = self.check("list-owners", code=0)
        self.assertEqual([o["owner"] for o in obj["owners"]], ["kuma"])
        for fmt in ("direct-xml", "iptables-restore", "json"):
            obj = self.check("generate", "--format", fmt, *FACTS, code=0)
            plain = self.tpfw("generate", "--format", fmt, *FACTS, check=0).stdout
            self.assertEqual(obj["output"], plain)
        obj = self.check("uninstall", "--no-reload", code=0)
        self.assertTrue(obj["changed"])
        # no firewalld here: reload fails, and says so in its object
        obj = self.check("reload", code=1, error=True)
        self.assertEqual(obj["reload"], "failed")
        self.assertEqual(self.seen, set(COMMANDS))

    def test_errors(self):
        self.put(b"<direct><rule/></direct>\n")
        for command, args, code in [
                ("install", ["--no-reload", "--from-iptables-restore", KUMA], 1),
                ("uninstall", ["--no-reload"], 1),
                ("diff", FACTS, 1),
                ("status", [], 1),
                ("validate", [], 1),
                ("list-owners", [], 1),
                ("generate", ["--kuma-dp-user", "-1"], 2),
                # usage errors: the object still comes, with the error
                ("install", ["--no-such-option"], 2),
                ("uninstall", ["--kuma-dp-user", "5"], 2),
                ("diff", ["--bogus"], 2),
                ("status", ["--bogus"], 2),
                ("validate", ["--bogus"], 2),
                ("list-owners", ["extra"], 2),
                ("reload", ["--bogus"], 2),
                ("generate", ["--format", "yaml"], 2)]:
            with self.subTest(command=command, args=args):
                self.check(command, *args, code=code, error=True)

    def test_errors_before_the_command(self):
        for args in (["--owner"], ["--bogus", "install"], ["instal"], ["--owner", "BAD", "status"]):
            with self.subTest(args=args):
                p = self.tpfw("--json", *args, check=2)
                obj = json.loads(p.stdout)
                self.assertEqual(list(obj), ["error"])
                self.assertIn(obj["error"], p.stderr)
