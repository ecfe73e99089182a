#!/usr/bin/python
# -*- coding: utf-8 -*-
# Ansible module for tproxy-firewalld(8): a thin wrapper around "tproxy-firewalld --json".
# SPDX-License-Identifier: MIT

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tproxy_firewalld
short_description: Persist transparent-proxy rules in firewalld's direct.xml
description:
  - Runs C(tproxy-firewalld install) or C(tproxy-firewalld uninstall) with C(--json) and
    reports what changed.
  - The rules are merged into C(direct.xml) under an owner; entries of other owners and
    foreign entries are never touched. firewalld is reloaded and the result verified; the
    previous file is restored when firewalld rejects it.
  - Supports check mode (C(--check)) and diff mode (C(--diff), returned as a prepared
    unified diff of C(direct.xml)).
options:
  state:
    description: C(present) installs the owner's rules, C(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description: Owner of the entries (C([a-z0-9][a-z0-9._-]{0,31})).
    type: str
    default: kuma
  firewalld_dir:
    description: firewalld configuration directory (the tool's default is C(/etc/firewalld)).
    type: path
  executable:
    description: Path of the tproxy-firewalld command (default: searched in PATH and sbin).
    type: path
  reload:
    description: Reload firewalld after a change; C(false) passes C(--no-reload).
    type: bool
    default: true
  require_running:
    description: Fail when firewalld is not running (C(--require-running)).
    type: bool
    default: false
  adopt:
    description: Take over conflicting foreign entries (C(--adopt), state C(present) only).
    type: bool
    default: false
  adopt_kuma_legacy:
    description:
      - Also remove (C(absent)) or take over (C(present)) what
        C(kumactl install transparent-proxy --store-firewalld) wrote.
    type: bool
    default: false
  from_iptables_restore:
    description: Import the rules from this iptables-restore script instead of generating them.
    type: path
  timeout:
    description: D-Bus and lock timeout in seconds (C(--timeout)).
    type: float
  options:
    description:
      - Kuma rule options, as for C(kumactl install transparent-proxy), without the leading
        dashes, for example C({kuma-dp-user: 5678, redirect-dns: true}).
      - Booleans become C(--flag=true|false) (C(yes|no) for the C(assume-*) options), lists
        become one flag per item (C(exclude-inbound-ports) and C(exclude-outbound-ports),
        where the last flag wins, get one comma-separated value), C(null) leaves the option
        out.
      - With C(state=absent) they are used only with I(adopt_kuma_legacy), to recognise
        kumactl's unmarked rules.
    type: dict
    default: {}
author:
  - tproxy-firewalld developers
"""

EXAMPLES = r"""
- name: Persist Kuma's transparent-proxy rules
  tproxy_firewalld:
    options:
      kuma-dp-user: 5678
      redirect-dns: true
      exclude-inbound-ports: [22, 9901]

- name: Clean up after kumactl --store-firewalld and remove our rules
  tproxy_firewalld:
    state: absent
    adopt_kuma_legacy: true
    options:
      kuma-dp-user: 5678
"""

RETURN = r"""
changed:
  description: Whether direct.xml was (or in check mode would be) changed.
  type: bool
  returned: always
file:
  description: Path of direct.xml.
  type: str
  returned: always
added:
  description: Number of entries added.
  type: int
  returned: always
removed:
  description: Number of entries removed.
  type: int
  returned: always
reload:
  description: done, skipped, not-running, failed or rolled-back.
  type: str
  returned: always
verified:
  description: firewalld's runtime and permanent view hold exactly the owner's entries.
  type: bool
  returned: always
cmd:
  description: The command that was run.
  type: list
  returned: always
"""

import json

from ansible.module_utils.basic import AnsibleModule

# Kuma options whose values are yes|no rather than true|false.
YES_NO_OPTIONS = ("assume-ipv6", "assume-conntrack", "assume-docker-output", "assume-mangle")
# Port lists where the last flag wins instead of accumulating: a list becomes one "a,b" value.
COMMA_LIST_OPTIONS = ("exclude-inbound-ports", "exclude-outbound-ports")


def option_args(options):
    """Turns the options dict into command-line flags (always the --flag=value form, so that
    a value can never be taken for another option)."""
    args = []
    for key, value in options.items():
        name = str(key).lstrip("-").replace("_", "-")
        if not name:
            raise ValueError("empty option name")
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        if name in COMMA_LIST_OPTIONS and isinstance(value, (list, tuple)):
            values = [",".join(str(v) for v in value)] if value else []
        for v in values:
            if isinstance(v, bool):
                if name in YES_NO_OPTIONS:
                    v = "yes" if v else "no"
                else:
                    v = "true" if v else "false"
            elif isinstance(v, (dict, list, tuple)):
                raise ValueError("option %s: expected a scalar or a list of scalars" % name)
            args.append("--%s=%s" % (name, v))
    return args


def build_command(module, executable):
    p = module.params
    cmd = [executable, "--json"]
    if p["firewalld_dir"]:
        cmd += ["--firewalld-dir", p["firewalld_dir"]]
    if p["owner"]:
        cmd += ["--owner", p["owner"]]
    if p["timeout"]:
        cmd += ["--timeout", "%g" % p["timeout"]]
    present = p["state"] == "present"
    cmd.append("install" if present else "uninstall")
    if module.check_mode:
        cmd.append("--check")
    if module._diff:
        cmd.append("--diff")
    if not p["reload"]:
        cmd.append("--no-reload")
    if p["require_running"]:
        cmd.append("--require-running")
    if p["adopt"] and present:
        cmd.append("--adopt")
    if p["adopt_kuma_legacy"]:
        cmd.append("--adopt-kuma-legacy")
    if present and p["from_iptables_restore"]:
        cmd += ["--from-iptables-restore", p["from_iptables_restore"]]
    if present or p["adopt_kuma_legacy"]:
        cmd += option_args(p["options"] or {})
    return cmd


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="present", choices=["present", "absent"]),
            owner=dict(type="str", default="kuma"),
            firewalld_dir=dict(type="path"),
            executable=dict(type="path"),
            reload=dict(type="bool", default=True),
            require_running=dict(type="bool", default=False),
            adopt=dict(type="bool", default=False),
            adopt_kuma_legacy=dict(type="bool", default=False),
            from_iptables_restore=dict(type="path"),
            timeout=dict(type="float"),
            options=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    if module.params["from_iptables_restore"] and module.params["options"]:
        module.fail_json(msg="from_iptables_restore and options are mutually exclusive")
    executable = module.params["executable"] or module.get_bin_path(
        "tproxy-firewalld", required=True, opt_dirs=["/usr/sbin", "/usr/local/sbin"])
    try:
        cmd = build_command(module, executable)
    except ValueError as e:
        module.fail_json(msg="options: %s" % e)

    rc, out, err = module.run_command(cmd, check_rc=False)
    result = dict(changed=False, cmd=cmd, rc=rc, stderr=err)
    try:
        report = json.loads(out)
        if not isinstance(report, dict):
            raise ValueError("not an object")
    except ValueError:
        module.fail_json(msg="tproxy-firewalld failed (exit %d): %s" % (rc, err.strip() or out),
                         **result)

    diff = report.pop("diff", None)
    error = report.pop("error", None)
    result.update(report)
    if diff is not None and module._diff:
        result["diff"] = dict(prepared=diff)
    for line in err.splitlines():
        if "warning:" in line:
            module.warn(line.split("warning:", 1)[1].strip())
    if rc != 0 or error:
        module.fail_json(msg=error or err.strip() or "tproxy-firewalld exited %d" % rc, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
