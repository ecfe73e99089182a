/* SPDX-License-Identifier: MIT */
/* Rulesets: ordered chains and rules (ipv, table, chain, priority, argv), the one currency of the
 * library. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <tproxy-firewalld/diag.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum TpfwIpv {
        TPFW_IPV4 = 0,
        TPFW_IPV6 = 1,
} TpfwIpv;

/* "ipv4" or "ipv6". */
const char *tpfw_ipv_name(TpfwIpv ipv);
/* Parses "ipv4"/"ipv6" exactly (firewalld is case-sensitive). Returns 0 or -EINVAL. */
int tpfw_ipv_from_name(const char *name, TpfwIpv *ret_ipv);

/* How the source placed a rule: iptables -A (append) or -I (insert). */
typedef enum TpfwRuleMode {
        TPFW_RULE_APPEND = 0,
        TPFW_RULE_INSERT = 1,
} TpfwRuleMode;

typedef struct TpfwChain {
        TpfwIpv ipv;
        char *table;
        char *chain;
} TpfwChain;

typedef struct TpfwRule {
        TpfwIpv ipv;
        char *table;
        char *chain;
        int priority;      /* firewalld priority: lower sits higher in the chain */
        char **argv;       /* NULL-terminated arguments, without "-A CHAIN" / "-I CHAIN N" */
        TpfwRuleMode mode; /* for rendering as iptables-restore text */
        unsigned position; /* the N of "-I CHAIN N"; 0 for appends or an -I without N */
} TpfwRule;

typedef struct TpfwRuleset TpfwRuleset;

TpfwRuleset *tpfw_ruleset_new(void);
/* Frees the ruleset and everything in it. NULL is accepted; returns NULL. */
TpfwRuleset *tpfw_ruleset_free(TpfwRuleset *rs);
/* Deep copy. */
TpfwRuleset *tpfw_ruleset_copy(const TpfwRuleset *rs);

/* Declares a custom chain (an "-N" line / a <chain> element). Returns 0, or -EEXIST when the same
 * (ipv, table, chain) is already declared. Declaration order is kept. */
int tpfw_ruleset_add_chain(TpfwRuleset *rs, TpfwIpv ipv, const char *table, const char *chain);

/* Appends a rule in emission order; argv is copied. Returns 0 or -EEXIST when an identical
 * (ipv, table, chain, priority, argv) rule already exists (firewalld would drop it). */
int tpfw_ruleset_add_rule(TpfwRuleset *rs, TpfwIpv ipv, const char *table, const char *chain,
                          int priority, const char *const *argv, TpfwRuleMode mode,
                          unsigned position);

size_t tpfw_ruleset_n_chains(const TpfwRuleset *rs);
const TpfwChain *tpfw_ruleset_chain(const TpfwRuleset *rs, size_t i);
size_t tpfw_ruleset_n_rules(const TpfwRuleset *rs);
/* Rules in emission order (the order they were added). */
const TpfwRule *tpfw_ruleset_rule(const TpfwRuleset *rs, size_t i);
/* Mutable access, for passes that assign priorities or rewrite arguments. */
TpfwRule *tpfw_ruleset_rule_mut(TpfwRuleset *rs, size_t i);

bool tpfw_ruleset_has_chain(const TpfwRuleset *rs, TpfwIpv ipv, const char *table,
                            const char *chain);
/* True when the ruleset has at least one chain or rule of that family. */
bool tpfw_ruleset_has_ipv(const TpfwRuleset *rs, TpfwIpv ipv);

/* True for the built-in chains of table (FIREWALLD.md 1.1), e.g. ("nat", "OUTPUT"). */
bool tpfw_is_builtin_chain(const char *table, const char *chain);
/* True for raw, nat, mangle, filter and security (the ipv4/ipv6 tables firewalld accepts). */
bool tpfw_is_known_table(const char *table);

/*
 * Rules in the order they are stored in direct.xml (KUMA-RULES.md R8): grouped by ipv (ipv4
 * first), table (raw, nat, mangle, filter, security, then others by name), chain (built-ins in
 * table order, then custom chains in declaration order, then undeclared ones in first-seen order),
 * ascending priority within a group, emission order for equal priorities.
 * Returns a newly allocated array of n_rules pointers into rs (free the array with free()).
 */
const TpfwRule **tpfw_ruleset_direct_order(const TpfwRuleset *rs);

/*
 * Compares two rulesets as firewalld would: the same set of chains (ipv, table, chain) and the
 * same set of rules (ipv, table, chain, priority, argv). Order, mode and position are ignored.
 */
bool tpfw_ruleset_equal(const TpfwRuleset *a, const TpfwRuleset *b);

/*
 * Assigns firewalld priorities that reproduce the live order iptables-restore --noflush would
 * build from the rules' emission order, modes and -I positions, per (ipv, table, chain), starting
 * from empty chains (KUMA-RULES.md section 6, R4-R6):
 *  - built-in chains: the leading run of inserted rules in the final order gets -k .. -1, every
 *    rule after it 1 .. m, so foreign rules at the default priority 0 sit between the two groups;
 *  - custom chains: 0, 1, 2, ... in final order.
 * The emission order of rs is kept. Returns 0, or -EINVAL with a diag naming the chain when an -I
 * position is beyond the end of its chain (iptables-restore: "Index of insertion too big").
 */
int tpfw_ruleset_assign_priorities(TpfwRuleset *rs, TpfwDiag *diag);

/* ---- ownership tag (DESIGN.md section 3) ---- */

#define TPFW_OWNER_TAG_PREFIX "tproxy-firewalld/"
#define TPFW_COMMENT_MAX 255 /* iptables' limit for --comment */
#define TPFW_OWNER_MAX 32

/* True when name matches [a-z0-9][a-z0-9._-]{0,31}. */
bool tpfw_owner_name_is_valid(const char *name);

/*
 * Returns the owner named by the first "--comment VALUE" of argv whose VALUE is
 * "tproxy-firewalld/<owner>" followed by end of text or a space, as a new string (free with
 * free()), or NULL when argv carries no owner tag.
 */
char *tpfw_argv_owner(const char *const *argv);

/* True when tpfw_argv_owner(argv) equals owner. */
bool tpfw_argv_has_owner(const char *const *argv, const char *owner);

/*
 * Returns a new argv that starts with "-m comment --comment 'tproxy-firewalld/<owner>[ TEXT]'"
 * followed by argv with its comment match removed. TEXT is the text of argv's existing comment
 * match, if any (an existing owner tag is dropped from it first), cut so the whole comment fits
 * TPFW_COMMENT_MAX bytes. Returns NULL when out of memory.
 */
char **tpfw_argv_tag(const char *const *argv, const char *owner);

/*
 * Returns a copy of argv without its comment match(es) ("-m comment --comment X"), for comparing
 * an unmarked copy of a rule with a marked one.
 */
char **tpfw_argv_strip_comment(const char *const *argv);

/*
 * The entries of owner in a whole view (e.g. firewalld's runtime): the rules tagged for owner, and
 * the chains those rules use (as their chain or a -j/-g target) that no other rule uses.
 */
TpfwRuleset *tpfw_ruleset_owner_subset(const TpfwRuleset *all, const char *owner);

/*
 * Set differences as firewalld compares entries: *ret_only_a gets the chains and rules of a that
 * b lacks, *ret_only_b the reverse (either pointer may be NULL).
 */
void tpfw_ruleset_diff(const TpfwRuleset *a, const TpfwRuleset *b, TpfwRuleset **ret_only_a,
                       TpfwRuleset **ret_only_b);

/* Tags every rule of rs with owner (tpfw_argv_tag). Returns 0 or -ENOMEM. */
int tpfw_ruleset_tag(TpfwRuleset *rs, const char *owner);

#ifdef __cplusplus
}
#endif
