/* SPDX-License-Identifier: MIT */
/* Importer: iptables-restore text (e.g. kumactl --dry-run output) to a ruleset. */
#pragma once

#include <stddef.h>

#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/ruleset.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parses iptables-restore text: "*table", ":CHAIN -" (custom chain; a built-in chain line such as
 * ":OUTPUT ACCEPT [0:0]" is accepted and ignored), "-N CHAIN", "-A CHAIN ARGS", "-I CHAIN [N]
 * ARGS", "COMMIT", blank lines and "#" comments. kumactl's "### IPv4 ###" and "### IPv6 ###"
 * headers set the family of what follows; before any header the family is default_ipv. Lines are
 * split with the shell rules iptables-restore uses for quoting ("..." and '...').
 *
 * Priorities are assigned with tpfw_ruleset_assign_priorities(), so the result reproduces the
 * order iptables-restore --noflush would build into empty chains. Rules are not tagged with an
 * owner (see tpfw_ruleset_tag()).
 *
 * Errors (-EINVAL, diag with name and the 1-based line): commands that cannot be expressed as
 * direct rules (-P, -F, -X, -D, -R, -Z, -E, -C, -L, -S and their long forms), a policy other than
 * "-" on a custom chain, unknown tables, rules outside a table, a missing COMMIT, rules naming a
 * chain that is neither built-in nor declared, unbalanced quotes, NUL bytes.
 */
int tpfw_import_iptables_restore(const char *name, const char *text, size_t len,
                                 TpfwIpv default_ipv, TpfwRuleset **ret, TpfwDiag *diag);

#ifdef __cplusplus
}
#endif
