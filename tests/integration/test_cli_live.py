# SPDX-License-Identifier: MIT
"""The CLI's reporting against a real firewalld: --verbose names each firewalld call with its
duration, and status/reload --json match their schemas when firewalld runs."""
import json
import os
import re
import unittest

from integration.sandbox import FirewalldSandbox, skip_unless_possible
from tpfwtest import CLI, KUMA_FACTS, SRCDIR

try:
    import jsonschema
except ImportError:
    jsonschema = None

EMPTY = '<?xml version="1.0" encoding="utf-8"?>\n<direct>\n</direct>\n'


def setUpModule():
    skip_unless_possible(CLI)


class CliLiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sb = FirewalldSandbox.for_class(cls, start=True, direct_xml=EMPTY)

    def cli(self, *args, check=None):
        p = self.sb.run_tool(CLI, *args)
        if check is not None:
            self.assertEqual(p.returncode, check, f"{args}\n{p.stdout}\n{p.stderr}")
        return p

    def check_schema(self, command, obj):
        if jsonschema is None:
            return
        with open(os.path.join(SRCDIR, "schemas", f"{command}.schema.json")) as f:
            jsonschema.validate(obj, json.load(f), cls=jsonschema.Draft7Validator)

    def test_verbose_steps_status_and_reload(self):
        p = self.cli("--verbose", "install", *KUMA_FACTS, check=0)
        steps = re.findall(r"^tproxy-firewalld: ([\w.]+): \d+\.\d ms", p.stderr, re.M)
        # the agreed step names (apply.h); which firewalld calls depend on the apply mode
        for step in ("lock", "read", "merge", "write", "verify"):
            self.assertIn(step, steps, p.stderr)
        self.assertLess(steps.index("lock"), steps.index("read"))
        self.assertLess(steps.index("read"), steps.index("merge"))
        self.assertTrue(set(steps) - {"lock", "read", "merge", "write", "verify", "connect"},
                        f"no firewalld call among the steps: {steps}")

        obj = json.loads(self.cli("status", "--json", *KUMA_FACTS, check=0).stdout)
        self.check_schema("status", obj)
        self.assertTrue(obj["in_sync"])
        self.assertEqual(obj["firewalld"], "RUNNING")
        self.assertEqual([v["view"] for v in obj["views"]], ["desired", "permanent", "runtime"])
        p = self.cli("status", "--verbose", check=0)
        self.assertIn("tproxy-firewalld: direct.getAllRules:", p.stderr)

        p = self.cli("reload", "--json", "--verbose", check=0)
        obj = json.loads(p.stdout)
        self.check_schema("reload", obj)
        self.assertEqual((obj["reload"], obj["state"], obj["error"]), ("done", "RUNNING", None))
        self.assertRegex(p.stderr, r"tproxy-firewalld: reload: \d+\.\d ms")

        # runtime drift: status says 3 and names the view
        self.cli("uninstall", "--runtime-only", check=0)
        obj = json.loads(self.cli("status", "--json", check=3).stdout)
        self.check_schema("status", obj)
        runtime = [v for v in obj["views"] if v["view"] == "runtime"][0]
        self.assertFalse(runtime["in_sync"])
        self.assertTrue(runtime["missing"])
        self.cli("uninstall", check=0)
