/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: ruleset identity never rests on a hash. ruleset.c is compiled here with its hash
 * folded to a constant, so every rule and every chain collides with every other; the sets must
 * still tell different rules apart and find the same ones.
 */
#include "hash.h"

/* every key of ruleset.c's sets and tables hashes to the same value */
#define tpfw_hash_fold(h) ((void)(h), 7u)
#include "../../src/lib/ruleset.c"
#undef tpfw_hash_fold

#include "testutil.h"

static void test_colliding_rules_stay_different(void **state)
{
        g_autoptr(TpfwRuleset) a = tpfw_ruleset_new();
        g_autoptr(TpfwRuleset) b = tpfw_ruleset_new();
        g_autoptr(TpfwRuleset) only_a = NULL;
        g_autoptr(TpfwRuleset) only_b = NULL;
        const char *const r1[] = {"-p", "tcp", "-j", "RETURN", NULL};
        const char *const r2[] = {"-p", "udp", "-j", "RETURN", NULL};
        const char *const r3[] = {"-p tcp", "-j", "RETURN", NULL}; /* same text, other argv */

        assert_int_equal(
                tpfw_ruleset_add_rule(a, TPFW_IPV4, "nat", "OUTPUT", 0, r1, TPFW_RULE_APPEND, 0),
                0);
        assert_int_equal(
                tpfw_ruleset_add_rule(a, TPFW_IPV4, "nat", "OUTPUT", 0, r2, TPFW_RULE_APPEND, 0),
                0);
        assert_int_equal(
                tpfw_ruleset_add_rule(a, TPFW_IPV4, "nat", "OUTPUT", 0, r3, TPFW_RULE_APPEND, 0),
                0);
        assert_int_equal(
                tpfw_ruleset_add_rule(a, TPFW_IPV6, "nat", "OUTPUT", 0, r1, TPFW_RULE_APPEND, 0),
                0);
        assert_int_equal(
                tpfw_ruleset_add_rule(a, TPFW_IPV4, "nat", "OUTPUT", 1, r1, TPFW_RULE_APPEND, 0),
                0);
        /* the same rule again is found among the colliding ones */
        assert_int_equal(
                tpfw_ruleset_add_rule(a, TPFW_IPV4, "nat", "OUTPUT", 0, r2, TPFW_RULE_APPEND, 0),
                -EEXIST);
        assert_int_equal(tpfw_ruleset_n_rules(a), 5);

        assert_int_equal(tpfw_ruleset_add_chain(a, TPFW_IPV4, "nat", "A"), 0);
        assert_int_equal(tpfw_ruleset_add_chain(a, TPFW_IPV4, "nat", "B"), 0);
        assert_int_equal(tpfw_ruleset_add_chain(a, TPFW_IPV4, "nat", "A"), -EEXIST);
        assert_true(tpfw_ruleset_has_chain(a, TPFW_IPV4, "nat", "B"));
        assert_false(tpfw_ruleset_has_chain(a, TPFW_IPV4, "nat", "C"));

        /* b differs from a in one rule only: equal() and diff() see exactly that one */
        assert_int_equal(tpfw_ruleset_add_chain(b, TPFW_IPV4, "nat", "A"), 0);
        assert_int_equal(tpfw_ruleset_add_chain(b, TPFW_IPV4, "nat", "B"), 0);
        assert_int_equal(
                tpfw_ruleset_add_rule(b, TPFW_IPV4, "nat", "OUTPUT", 0, r1, TPFW_RULE_APPEND, 0),
                0);
        assert_int_equal(
                tpfw_ruleset_add_rule(b, TPFW_IPV4, "nat", "OUTPUT", 0, r2, TPFW_RULE_APPEND, 0),
                0);
        assert_int_equal(
                tpfw_ruleset_add_rule(b, TPFW_IPV4, "nat", "OUTPUT", 0, r3, TPFW_RULE_APPEND, 0),
                0);
        assert_int_equal(
                tpfw_ruleset_add_rule(b, TPFW_IPV6, "nat", "OUTPUT", 0, r1, TPFW_RULE_APPEND, 0),
                0);
        assert_false(tpfw_ruleset_equal(a, b));
        assert_int_equal(
                tpfw_ruleset_add_rule(b, TPFW_IPV4, "nat", "OUTPUT", 2, r1, TPFW_RULE_APPEND, 0),
                0);
        assert_false(tpfw_ruleset_equal(a, b));
        tpfw_ruleset_diff(a, b, &only_a, &only_b);
        assert_int_equal(tpfw_ruleset_n_rules(only_a), 1);
        assert_int_equal(tpfw_ruleset_rule(only_a, 0)->priority, 1);
        assert_int_equal(tpfw_ruleset_n_rules(only_b), 1);
        assert_int_equal(tpfw_ruleset_rule(only_b, 0)->priority, 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_colliding_rules_stay_different),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
