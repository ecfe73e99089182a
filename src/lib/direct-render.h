/* SPDX-License-Identifier: MIT */
/* direct.xml render: new entries in firewalld's own layout (FIREWALLD.md section 3). */
#pragma once

#include <stddef.h>

#include <glib.h>

#include <tproxy-firewalld/ruleset.h>

#pragma GCC visibility push(hidden)

/* Appends "\n  <chain .../>" / "\n  <rule ...>ARGS</rule>" in firewalld's layout. */
void direct_append_chain(GString *out, const char *ipv, const char *table, const char *chain);
void direct_append_rule(GString *out, const char *ipv, const char *table, const char *chain,
                        int priority, const char *const *argv);
/* Appends all chains (grouped by (ipv, table) in first-seen order), then all rules of rs in
 * tpfw_ruleset_direct_order(); returns the number of elements written. */
size_t direct_append_ruleset(GString *out, const TpfwRuleset *rs);

/*
 * Whether s can be written into direct.xml: XML 1.0 has no way to carry most C0 controls, lone
 * surrogates, U+FFFE or U+FFFF, not even as character references. Returns the first such
 * character, or 0 when there is none.
 */
gunichar direct_unwritable_char(const char *s);

#pragma GCC visibility pop
