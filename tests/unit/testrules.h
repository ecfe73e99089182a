/* SPDX-License-Identifier: MIT */
/* Shared helper of the unit tests that build rule sets. */
#pragma once

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/ruleset.h>

#include "testutil.h"

/* Appends a rule whose arguments are text, shlex-split; fails the test when it cannot. */
static inline void test_add_rule(TpfwRuleset *rs, TpfwIpv ipv, const char *table,
                                 const char *chain, int prio, const char *text)
{
        g_auto(GStrv) argv = NULL;

        assert_int_equal(tpfw_args_split(text, &argv, NULL), 0);
        assert_int_equal(tpfw_ruleset_add_rule(rs, ipv, table, chain, prio,
                                               (const char *const *)argv, TPFW_RULE_APPEND, 0),
                         0);
}
