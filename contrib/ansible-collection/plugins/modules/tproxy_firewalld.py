#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, The tproxy-firewalld authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Ansible module for tproxy-firewalld(8): a thin wrapper around "tproxy-firewalld --json".

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: tproxy_firewalld
short_description: Persist transparent-proxy rules in firewalld's direct.xml
version_added: "0.1.0"
description:
  - Runs C(tproxy-firewalld install) or C(tproxy-firewalld uninstall) with C(--json) and
    reports what changed.
  - The rules are merged into C(direct.xml) under an owner; entries of other owners and
    foreign entries are never touched. The change is applied to a running firewalld and
    verified; the previous state is restored when firewalld rejects it.
  - The rules come from Kuma's options (I(options), I(config), as for
    C(kumactl install transparent-proxy)) or from an iptables-restore script
    (I(from_iptables_restore)).
requirements:
  - tproxy-firewalld on the managed host (the C(tproxy-firewalld) package)
options:
  state:
    description: C(present) installs the owner's rules, C(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description: Owner of the entries, C([a-z0-9][a-z0-9._-]{0,31}).
    type: str
    default: kuma
  firewalld_dir:
    description: firewalld configuration directory; the tool's default is C(/etc/firewalld).
    type: path
  executable:
    description:
      - Path of the tproxy-firewalld command.
      - By default it is searched for in C(PATH), C(/usr/sbin) and C(/usr/local/sbin).
    type: path
  options:
    description:
      - Kuma rule options, as for C(kumactl install transparent-proxy), without the leading
        dashes, for example C(kuma-dp-user) with value C(5678).
      - Booleans become C(--flag=true) or C(--flag=false) (C(yes) or C(no) for the
        C(assume-*) options); lists become one flag per item, except
        C(exclude-inbound-ports) and C(exclude-outbound-ports), whose items are joined with
        commas; C(null) leaves the option out.
      - With I(state=absent) they are used only with I(adopt_kuma_legacy), to recognise
        kumactl's unmarked rules.
    type: dict
    default: {}
  config:
    description:
      - Kuma-style YAML or JSON config files on the managed host (C(--config), later files
        win; I(options) win over them).
      - With I(state=absent) they are used only with I(adopt_kuma_legacy).
    type: list
    elements: path
    default: []
  from_iptables_restore:
    description:
      - Import the rules from this iptables-restore script on the managed host instead of
        generating them (C(--from-iptables-restore)); I(state=present) only.
      - Mutually exclusive with I(options) and I(config).
    type: path
  reload:
    description: Apply the change to firewalld; C(false) passes C(--no-reload) (write only).
    type: bool
    default: true
  reload_mode:
    description:
      - How a change reaches a running firewalld (C(--reload-mode)). C(delta) applies the
        owner's changes through firewalld's runtime direct API without a reload; C(full)
        writes the file and reloads firewalld, which wipes every runtime-only change of
        others (ports, rich rules, direct rules opened without C(--permanent)) and drops new
        connections while firewalld rebuilds.
      - When not set, the tool's default applies (C(delta)); the option is passed only when
        set.
    type: str
    choices: [delta, full]
  runtime_only:
    description:
      - Apply the rules through firewalld's runtime API only; C(direct.xml) is left alone
        (C(--runtime-only)), so they do not survive a reload or a reboot.
    type: bool
    default: false
  require_running:
    description: Fail when firewalld is not running (C(--require-running)).
    type: bool
    default: false
  fix_ipv6_redirect:
    description:
      - Set firewalld's C(RFC3964_IPv4=no), whose filter rejects redirected IPv6
        connections (C(--fix-ipv6-redirect)); I(state=present) only. The uninstall of the
        last owner that asked for it restores the previous value.
    type: bool
    default: false
  adopt:
    description: Take over conflicting foreign entries (C(--adopt)); I(state=present) only.
    type: bool
    default: false
  adopt_kuma_legacy:
    description:
      - Also remove (I(state=absent)) or take over (I(state=present)) what
        C(kumactl install transparent-proxy --store-firewalld) wrote
        (C(--adopt-kuma-legacy)).
    type: bool
    default: false
  follow_symlink:
    description: Accept a C(direct.xml) that is a symbolic link (C(--follow-symlink)).
    type: bool
    default: false
  timeout:
    description: D-Bus call and lock timeout in seconds (C(--timeout)).
    type: float
notes:
  - Check mode runs the tool with C(--check); diff mode adds C(--diff) and returns the unified
    diff of C(direct.xml) as a prepared diff.
  - Warnings of the tool (for example about firewalld's RFC 3964 filter or a missing
    C(::6/128) address) are returned as Ansible warnings.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - The tproxy-firewalld authors
"""

EXAMPLES = r"""
- name: Persist Kuma's transparent-proxy rules
  tproxy.tproxy_firewalld.tproxy_firewalld:
    options:
      kuma-dp-user: 5678
      redirect-dns: true
      exclude-inbound-ports: [22, 9901]

- name: The same from a Kuma config file, IPv6 redirection fixed, with a full reload
  tproxy.tproxy_firewalld.tproxy_firewalld:
    config: [/etc/kuma/transparent-proxy.yaml]
    fix_ipv6_redirect: true
    reload_mode: full

- name: Rules from kumactl's dry run, under their own owner
  tproxy.tproxy_firewalld.tproxy_firewalld:
    owner: mesh
    from_iptables_restore: /var/lib/kuma/transparent-proxy.rules

- name: Clean up after kumactl --store-firewalld and remove our rules
  tproxy.tproxy_firewalld.tproxy_firewalld:
    state: absent
    adopt_kuma_legacy: true
    options:
      kuma-dp-user: 5678
"""

RETURN = r"""
changed:
  description: Whether the rules were (or in check mode would be) changed.
  type: bool
  returned: always
owner:
  description: The owner of the entries.
  type: str
  returned: when the tool ran
  sample: kuma
file:
  description: Path of direct.xml.
  type: str
  returned: when the tool ran
  sample: /etc/firewalld/direct.xml
added:
  description: Number of entries added.
  type: int
  returned: when the tool ran
removed:
  description: Number of entries removed.
  type: int
  returned: when the tool ran
reload:
  description: How firewalld was updated.
  type: str
  returned: when the tool ran
  choices: [done, skipped, not-running, failed, rolled-back]
verified:
  description: firewalld's runtime and permanent views hold exactly the owner's entries.
  type: bool
  returned: when the tool ran
rfc3964_ipv4:
  description:
    - firewalld's RFC3964_IPv4 setting after the run (C(yes) or C(no)); null when no IPv6
      rule depends on it.
  type: str
  returned: when the tool ran
ipv6_redirect_warning:
  description: Whether IPv6 redirection will fail because of firewalld's RFC 3964 filter.
  type: bool
  returned: when the tool ran
diff:
  description: The unified diff of direct.xml, as C(prepared).
  type: dict
  returned: in diff mode
  sample: {prepared: "--- /etc/firewalld/direct.xml\n+++ /etc/firewalld/direct.xml\n..."}
rc:
  description: Exit status of tproxy-firewalld.
  type: int
  returned: when the tool ran
stderr:
  description: Standard error of tproxy-firewalld (warnings, errors).
  type: str
  returned: when the tool ran
cmd:
  description: The command that was run.
  type: list
  elements: str
  returned: when the tool ran
"""

import json

from ansible.module_utils.basic import AnsibleModule

# Kuma options whose values are yes|no rather than true|false.
YES_NO_OPTIONS = ("assume-ipv6", "assume-conntrack", "assume-docker-output", "assume-mangle")
# Port lists where the last flag wins instead of accumulating: a list becomes one "a,b" value.
COMMA_LIST_OPTIONS = ("exclude-inbound-ports", "exclude-outbound-ports")
ERROR_PREFIX = "tproxy-firewalld: "


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
    present = p["state"] == "present"
    cmd = [executable, "--json"]
    if p["firewalld_dir"]:
        cmd += ["--firewalld-dir", p["firewalld_dir"]]
    if p["owner"]:
        cmd += ["--owner", p["owner"]]
    if p["timeout"]:
        cmd += ["--timeout", "%g" % p["timeout"]]
    cmd.append("install" if present else "uninstall")
    if module.check_mode:
        cmd.append("--check")
    if module._diff:
        cmd.append("--diff")
    if not p["reload"]:
        cmd.append("--no-reload")
    if p["reload_mode"]:
        cmd += ["--reload-mode", p["reload_mode"]]
    flags = [("runtime_only", "--runtime-only", True), ("require_running", "--require-running", True),
             ("follow_symlink", "--follow-symlink", True),
             ("adopt_kuma_legacy", "--adopt-kuma-legacy", True),
             ("adopt", "--adopt", present), ("fix_ipv6_redirect", "--fix-ipv6-redirect", present)]
    for param, flag, applies in flags:
        if p[param] and applies:
            cmd.append(flag)
    if present and p["from_iptables_restore"]:
        cmd += ["--from-iptables-restore", p["from_iptables_restore"]]
    if present or p["adopt_kuma_legacy"]:
        for path in p["config"] or []:
            cmd += ["--config", path]
        cmd += option_args(p["options"] or {})
    return cmd


def error_line(err, report):
    """The tool's own one-line error: the first line on stderr that is not a warning or a
    hint, else the JSON object's error member."""
    for line in err.splitlines():
        text = line[len(ERROR_PREFIX):] if line.startswith(ERROR_PREFIX) else None
        if text and not text.startswith(("warning:", "note:")):
            return text.strip()
    return (report or {}).get("error")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="present", choices=["present", "absent"]),
            owner=dict(type="str", default="kuma"),
            firewalld_dir=dict(type="path"),
            executable=dict(type="path"),
            options=dict(type="dict", default={}),
            config=dict(type="list", elements="path", default=[]),
            from_iptables_restore=dict(type="path"),
            reload=dict(type="bool", default=True),
            reload_mode=dict(type="str", choices=["delta", "full"]),
            runtime_only=dict(type="bool", default=False),
            require_running=dict(type="bool", default=False),
            fix_ipv6_redirect=dict(type="bool", default=False),
            adopt=dict(type="bool", default=False),
            adopt_kuma_legacy=dict(type="bool", default=False),
            follow_symlink=dict(type="bool", default=False),
            timeout=dict(type="float"),
        ),
        mutually_exclusive=[("from_iptables_restore", "options"),
                            ("from_iptables_restore", "config")],
        supports_check_mode=True,
    )
    executable = module.params["executable"] or module.get_bin_path(
        "tproxy-firewalld", required=True, opt_dirs=["/usr/sbin", "/usr/local/sbin"])
    try:
        cmd = build_command(module, executable)
    except ValueError as e:
        module.fail_json(msg="options: %s" % e)

    rc, out, err = module.run_command(cmd, check_rc=False)
    result = dict(changed=False, cmd=cmd, rc=rc, stderr=err)
    report = None
    try:
        report = json.loads(out)
        if not isinstance(report, dict):
            report = None
    except ValueError:
        pass
    if report is None:
        module.fail_json(msg=error_line(err, None) or "tproxy-firewalld exited %d" % rc, **result)

    diff = report.pop("diff", None)
    error = report.pop("error", None)
    result.update(report)
    if diff is not None and module._diff:
        result["diff"] = dict(prepared=diff)
    for line in err.splitlines():
        if line.startswith(ERROR_PREFIX + "warning:"):
            module.warn(line[len(ERROR_PREFIX + "warning:"):].strip())
    if rc != 0 or error:
        module.fail_json(msg=error_line(err, dict(error=error)) or "tproxy-firewalld exited %d" % rc,
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
