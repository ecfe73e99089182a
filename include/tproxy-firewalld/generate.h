/* SPDX-License-Identifier: MIT */
/* Kuma rule generator (KUMA-RULES.md sections 3-6) and ruleset renderers (section 8, JSON). */
#pragma once

#include <tproxy-firewalld/config.h>
#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/ruleset.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Prefix of every comment text Kuma writes (and of the description after the owner tag). */
#define TPFW_KUMA_COMMENT_PREFIX "kuma/mesh/transparent/proxy/"

/*
 * Generates Kuma's rules for each enabled family (IPv4 always; IPv6 when the mode is dualstack
 * and IPv6 is available): the nat chains KUMA_MESH_*, then the rules in Kuma's emission order
 * (tables raw, nat, mangle) with mode/position set as Kuma's -A / -I <n>, and priorities from
 * tpfw_ruleset_assign_priorities(). Each rule starts with Kuma's comment match
 * ("-m comment --comment kuma/mesh/transparent/proxy/...") unless comments are disabled. Rules are
 * not owner-tagged: call tpfw_ruleset_tag(rs, owner).
 *
 * Runtime facts come from the config's overrides (--kuma-dp-user digits, --loopback-interface,
 * --resolv-conf, --assume-*) or are resolved without running any program: getpwnam/getpwuid,
 * resolv.conf, if_nameindex + SIOCGIFFLAGS, getifaddrs.
 *
 * Returns 0 and *ret (free with tpfw_ruleset_free()), or -EINVAL (unknown user, no loopback
 * interface, ...), -ENOENT/-EACCES (resolv.conf unreadable), with diag. Warnings (nameserver
 * skipped, a family without nameserver, ::6 missing on the loopback interface) go to
 * *ret_warnings as a NULL-terminated strv, NULL when none (free with g_strfreev()); ret_warnings
 * may be NULL.
 */
int tpfw_generate(const TpfwConfig *cfg, TpfwRuleset **ret, char ***ret_warnings, TpfwDiag *diag);

/*
 * kumactl --dry-run layout of rs (KUMA-RULES.md section 8): per family with content, a header
 * "### IPv4 ###" / "### IPv6 ###" and a blank line, then per table (raw, nat, mangle, filter,
 * security) "* table", its "-N" lines, its rules in emission order as "-A CHAIN ..." or
 * "-I CHAIN n ...", and "COMMIT"; blocks are joined by a blank line, one newline ends the text.
 * Comment values are double-quoted. Free with g_free().
 */
char *tpfw_render_iptables_restore(const TpfwRuleset *rs);

/*
 * JSON object {"chains": [{"ipv", "table", "chain"}...], "rules": [{"ipv", "table", "chain",
 * "priority", "argv": [...], "mode": "append"|"insert", "position"}...]} in emission order,
 * pretty-printed with a final newline. Free with g_free().
 */
char *tpfw_render_json(const TpfwRuleset *rs);

#ifdef __cplusplus
}
#endif
