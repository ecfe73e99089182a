/* SPDX-License-Identifier: MIT */
/* Unit tests: rulesets, priority assignment, direct.xml order, owner tags. */
#include "testutil.h"

#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/ruleset.h>

#include "hash.h"
#include "ruleset-private.h"

static void add(TpfwRuleset *rs, TpfwIpv ipv, const char *table, const char *chain,
                TpfwRuleMode mode, unsigned pos, const char *args)
{
        char **argv = NULL;

        assert_int_equal(tpfw_args_split(args, &argv, NULL), 0);
        assert_int_equal(tpfw_ruleset_add_rule(rs, ipv, table, chain, 0, (const char *const *)argv,
                                               mode, pos),
                         0);
        tpfw_strv_free(argv);
}

static const TpfwRule *find(const TpfwRuleset *rs, const char *args)
{
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                g_autofree char *j = tpfw_args_join((const char *const *)r->argv);
                if (strcmp(j, args) == 0)
                        return r;
        }
        fail_msg("rule '%s' not found", args);
        return NULL;
}

/* kumactl's dns.no-conntrack OUTPUT: -I 1, -A, -I 2, -A gives inserts on top, appends below. */
static void test_priorities_insert_and_append(void **state)
{
        TpfwRuleset *rs = tpfw_ruleset_new();

        add(rs, TPFW_IPV4, "nat", "OUTPUT", TPFW_RULE_INSERT, 1, "-j A");
        add(rs, TPFW_IPV4, "nat", "OUTPUT", TPFW_RULE_APPEND, 0, "-j B");
        add(rs, TPFW_IPV4, "nat", "OUTPUT", TPFW_RULE_INSERT, 2, "-j C");
        add(rs, TPFW_IPV4, "nat", "OUTPUT", TPFW_RULE_APPEND, 0, "-j D");
        add(rs, TPFW_IPV4, "nat", "PREROUTING", TPFW_RULE_APPEND, 0, "-j E");
        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", "KUMA_MESH_X"), 0);
        add(rs, TPFW_IPV4, "nat", "KUMA_MESH_X", TPFW_RULE_APPEND, 0, "-j F");
        add(rs, TPFW_IPV4, "nat", "KUMA_MESH_X", TPFW_RULE_INSERT, 1, "-j G");
        add(rs, TPFW_IPV6, "nat", "OUTPUT", TPFW_RULE_INSERT, 0, "-j H");
        assert_int_equal(tpfw_ruleset_assign_priorities(rs, NULL), 0);
        assert_int_equal(find(rs, "-j A")->priority, -2);
        assert_int_equal(find(rs, "-j C")->priority, -1);
        assert_int_equal(find(rs, "-j B")->priority, 1);
        assert_int_equal(find(rs, "-j D")->priority, 2);
        assert_int_equal(find(rs, "-j E")->priority, 1);
        assert_int_equal(find(rs, "-j G")->priority, 0);
        assert_int_equal(find(rs, "-j F")->priority, 1);
        assert_int_equal(find(rs, "-j H")->priority, -1);
        /* emission order is kept */
        assert_string_equal(tpfw_ruleset_rule(rs, 0)->argv[1], "A");
        tpfw_ruleset_free(rs);
}

/* An insert below an append cannot sit above foreign rules: it gets a positive priority. */
static void test_priorities_insert_after_append(void **state)
{
        TpfwRuleset *rs = tpfw_ruleset_new();

        add(rs, TPFW_IPV4, "filter", "INPUT", TPFW_RULE_APPEND, 0, "-j A");
        add(rs, TPFW_IPV4, "filter", "INPUT", TPFW_RULE_INSERT, 2, "-j B");
        add(rs, TPFW_IPV4, "filter", "INPUT", TPFW_RULE_INSERT, 1, "-j C");
        assert_int_equal(tpfw_ruleset_assign_priorities(rs, NULL), 0);
        /* live order C, A, B */
        assert_int_equal(find(rs, "-j C")->priority, -1);
        assert_int_equal(find(rs, "-j A")->priority, 1);
        assert_int_equal(find(rs, "-j B")->priority, 2);
        tpfw_ruleset_free(rs);
}

static void test_priorities_index_too_big(void **state)
{
        TpfwRuleset *rs = tpfw_ruleset_new();
        TpfwDiag diag = TPFW_DIAG_INIT;

        add(rs, TPFW_IPV4, "nat", "OUTPUT", TPFW_RULE_INSERT, 2, "-j A");
        assert_int_equal(tpfw_ruleset_assign_priorities(rs, &diag), -EINVAL);
        assert_non_null(strstr(diag.message, "beyond the end"));
        tpfw_diag_clear(&diag);
        tpfw_ruleset_free(rs);
}

static void test_duplicates(void **state)
{
        TpfwRuleset *rs = tpfw_ruleset_new();
        const char *argv[] = {"-j", "RETURN", NULL};

        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", "X"), 0);
        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", "X"), -EEXIST);
        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV6, "nat", "X"), 0);
        assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, "nat", "X", 0, argv, 0, 0), 0);
        assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, "nat", "X", 0, argv, 0, 0), -EEXIST);
        /* another priority is another rule, as in firewalld */
        assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, "nat", "X", 1, argv, 0, 0), 0);
        assert_true(tpfw_ruleset_has_chain(rs, TPFW_IPV6, "nat", "X"));
        assert_false(tpfw_ruleset_has_chain(rs, TPFW_IPV6, "raw", "X"));
        tpfw_ruleset_free(rs);
}

static void test_direct_order(void **state)
{
        TpfwRuleset *rs = tpfw_ruleset_new();
        const TpfwRule **order;
        const char *expect[] = {"-j R1", "-j N1", "-j N2", "-j O1", "-j K1", "-j M1", "-j V6"};

        tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", "KUMA");
        add(rs, TPFW_IPV6, "nat", "OUTPUT", TPFW_RULE_APPEND, 0, "-j V6");
        add(rs, TPFW_IPV4, "mangle", "PREROUTING", TPFW_RULE_APPEND, 0, "-j M1");
        add(rs, TPFW_IPV4, "nat", "KUMA", TPFW_RULE_APPEND, 0, "-j K1");
        add(rs, TPFW_IPV4, "nat", "OUTPUT", TPFW_RULE_APPEND, 0, "-j O1");
        add(rs, TPFW_IPV4, "nat", "PREROUTING", TPFW_RULE_APPEND, 0, "-j N2");
        add(rs, TPFW_IPV4, "nat", "PREROUTING", TPFW_RULE_INSERT, 1, "-j N1");
        add(rs, TPFW_IPV4, "raw", "OUTPUT", TPFW_RULE_APPEND, 0, "-j R1");
        assert_int_equal(tpfw_ruleset_assign_priorities(rs, NULL), 0);
        order = tpfw_ruleset_direct_order(rs);
        for (size_t i = 0; i < G_N_ELEMENTS(expect); i++) {
                g_autofree char *j = tpfw_args_join((const char *const *)order[i]->argv);
                assert_string_equal(j, expect[i]);
        }
        assert_null(order[G_N_ELEMENTS(expect)]);
        free(order);
        tpfw_ruleset_free(rs);
}

static void test_equal_ignores_order(void **state)
{
        TpfwRuleset *a = tpfw_ruleset_new(), *b = tpfw_ruleset_new();
        const char *x[] = {"-j", "X", NULL}, *y[] = {"-j", "Y", NULL};

        tpfw_ruleset_add_rule(a, TPFW_IPV4, "nat", "OUTPUT", 1, x, 0, 0);
        tpfw_ruleset_add_rule(a, TPFW_IPV4, "nat", "OUTPUT", 2, y, 0, 0);
        tpfw_ruleset_add_rule(b, TPFW_IPV4, "nat", "OUTPUT", 2, y, TPFW_RULE_INSERT, 3);
        tpfw_ruleset_add_rule(b, TPFW_IPV4, "nat", "OUTPUT", 1, x, 0, 0);
        assert_true(tpfw_ruleset_equal(a, b));
        tpfw_ruleset_rule_mut(b, 0)->priority = 3;
        assert_false(tpfw_ruleset_equal(a, b));
        tpfw_ruleset_rule_mut(b, 0)->priority = 2;
        assert_true(tpfw_ruleset_equal(a, b));
        tpfw_ruleset_add_chain(a, TPFW_IPV4, "nat", "C");
        assert_false(tpfw_ruleset_equal(a, b));
        tpfw_ruleset_free(a);
        tpfw_ruleset_free(b);
}

static void test_owner_names(void **state)
{
        assert_true(tpfw_owner_name_is_valid("kuma"));
        assert_true(tpfw_owner_name_is_valid("0a._-z"));
        assert_true(tpfw_owner_name_is_valid("abcdefghijklmnopqrstuvwxyz012345"));
        assert_false(tpfw_owner_name_is_valid("abcdefghijklmnopqrstuvwxyz0123456"));
        assert_false(tpfw_owner_name_is_valid(""));
        assert_false(tpfw_owner_name_is_valid("Kuma"));
        assert_false(tpfw_owner_name_is_valid("-kuma"));
        assert_false(tpfw_owner_name_is_valid("ku ma"));
        assert_false(tpfw_owner_name_is_valid("ku/ma"));
        assert_false(tpfw_owner_name_is_valid(NULL));
}

static void test_tag(void **state)
{
        const char *plain[] = {"-p", "tcp", "-j", "RETURN", NULL};
        const char *with[] = {"-p", "tcp",    "-m", "comment", "--comment", "kuma/mesh/x y",
                              "-j", "RETURN", NULL};
        char **t, **t2, **s;
        g_autofree char *o = NULL;

        t = tpfw_argv_tag(plain, "kuma");
        {
                g_autofree char *j = tpfw_args_join((const char *const *)t);
                assert_string_equal(j,
                                    "-m comment --comment tproxy-firewalld/kuma -p tcp -j RETURN");
        }
        t2 = tpfw_argv_tag(with, "kuma");
        {
                g_autofree char *j = tpfw_args_join((const char *const *)t2);
                assert_string_equal(j, "-m comment --comment 'tproxy-firewalld/kuma kuma/mesh/x y' "
                                       "-p tcp -j RETURN");
        }
        o = tpfw_argv_owner((const char *const *)t2);
        assert_string_equal(o, "kuma");
        assert_true(tpfw_argv_has_owner((const char *const *)t2, "kuma"));
        assert_false(tpfw_argv_has_owner((const char *const *)t2, "kum"));
        assert_false(tpfw_argv_has_owner(with, "kuma"));
        /* retagging for another owner keeps one comment match and the description */
        {
                char **t3 = tpfw_argv_tag((const char *const *)t2, "other");
                g_autofree char *j = tpfw_args_join((const char *const *)t3);
                assert_string_equal(j, "-m comment --comment 'tproxy-firewalld/other kuma/mesh/x "
                                       "y' -p tcp -j RETURN");
                tpfw_strv_free(t3);
        }
        s = tpfw_argv_strip_comment((const char *const *)t2);
        assert_true(tpfw_strv_equal((const char *const *)s, plain));
        tpfw_strv_free(s);
        tpfw_strv_free(t);
        tpfw_strv_free(t2);
}

static void test_tag_cut_to_255(void **state)
{
        g_autofree char *longtext = g_strnfill(400, 'x');
        const char *argv[] = {"-m", "comment", "--comment", longtext, "-j", "RETURN", NULL};
        char **t = tpfw_argv_tag(argv, "abcdefghijklmnopqrstuvwxyz012345");

        assert_string_equal(t[2], "--comment");
        assert_int_equal(strlen(t[3]), 255);
        assert_true(
                g_str_has_prefix(t[3], "tproxy-firewalld/abcdefghijklmnopqrstuvwxyz012345 xxx"));
        tpfw_strv_free(t);
}

/* The tag must be exactly "tproxy-firewalld/<owner>" then end or space. */
static void test_owner_detection_strict(void **state)
{
        const char *a[] = {"--comment", "tproxy-firewalld/kumaX", NULL};
        const char *b[] = {"--comment", "tproxy-firewalld/", NULL};
        const char *c[] = {"--comment", "xtproxy-firewalld/kuma", NULL};
        const char *d[] = {"--comment", NULL};

        assert_false(tpfw_argv_has_owner(a, "kuma"));
        assert_null(tpfw_argv_owner(b));
        assert_null(tpfw_argv_owner(c));
        assert_null(tpfw_argv_owner(d));
}

static void test_owner_subset_and_diff(void **state)
{
        TpfwRuleset *all = tpfw_ruleset_new(), *mine, *only_a = NULL, *only_b = NULL;
        const char *r1[] = {"-m", "comment", "--comment", "tproxy-firewalld/kuma",
                            "-j", "MINE",    NULL};
        const char *r2[] = {"-m", "comment", "--comment", "tproxy-firewalld/kuma",
                            "-j", "SHARED",  NULL};
        const char *r3[] = {"-j", "SHARED", NULL};

        tpfw_ruleset_add_chain(all, TPFW_IPV4, "nat", "MINE");
        tpfw_ruleset_add_chain(all, TPFW_IPV4, "nat", "SHARED");
        tpfw_ruleset_add_chain(all, TPFW_IPV4, "nat", "FOREIGN");
        tpfw_ruleset_add_rule(all, TPFW_IPV4, "nat", "OUTPUT", 1, r1, 0, 0);
        tpfw_ruleset_add_rule(all, TPFW_IPV4, "nat", "OUTPUT", 2, r2, 0, 0);
        tpfw_ruleset_add_rule(all, TPFW_IPV4, "nat", "PREROUTING", 0, r3, 0, 0);
        mine = tpfw_ruleset_owner_subset(all, "kuma");
        assert_int_equal(tpfw_ruleset_n_rules(mine), 2);
        assert_int_equal(tpfw_ruleset_n_chains(mine), 1);
        assert_string_equal(tpfw_ruleset_chain(mine, 0)->chain, "MINE");
        tpfw_ruleset_diff(all, mine, &only_a, &only_b);
        assert_int_equal(tpfw_ruleset_n_rules(only_a), 1);
        assert_int_equal(tpfw_ruleset_n_chains(only_a), 2);
        assert_int_equal(tpfw_ruleset_n_rules(only_b), 0);
        assert_int_equal(tpfw_ruleset_n_chains(only_b), 0);
        tpfw_ruleset_free(only_a);
        tpfw_ruleset_free(only_b);
        tpfw_ruleset_free(mine);
        tpfw_ruleset_free(all);
}

static void test_builtin_chains(void **state)
{
        assert_true(tpfw_is_builtin_chain("nat", "OUTPUT"));
        assert_true(tpfw_is_builtin_chain("raw", "PREROUTING"));
        assert_false(tpfw_is_builtin_chain("raw", "INPUT"));
        assert_true(tpfw_is_builtin_chain("mangle", "FORWARD"));
        assert_false(tpfw_is_builtin_chain("nat", "FORWARD"));
        assert_false(tpfw_is_builtin_chain("nat", "KUMA_MESH_OUTBOUND"));
        assert_true(tpfw_is_known_table("security"));
        assert_false(tpfw_is_known_table("broute"));
}

/* The key hash: equal bytes hash equal wherever they sit, and it reads only the bytes it is given
 * (exact-size copies: ASan and valgrind catch an overread). */
static void test_hash(void **state)
{
        const char text[] = "-m comment --comment 'kuma/mesh/transparent/proxy/redirect' -p tcp";
        GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);
        GPtrArray *keep = g_ptr_array_new_with_free_func(g_free);

        for (size_t n = 0; n <= sizeof(text) - 1; n++) {
                uint64_t h = tpfw_hash_bytes(TPFW_HASH_SEED, text, n);
                char buf[sizeof(text) + 8];

                for (size_t off = 1; off < 8; off++) {
                        memcpy(buf + off, text, n);
                        assert_true(tpfw_hash_bytes(TPFW_HASH_SEED, buf + off, n) == h);
                }
                {
                        char *exact = g_memdup2(text, n ? n : 1);
                        assert_true(tpfw_hash_bytes(TPFW_HASH_SEED, exact, n) == h);
                        g_free(exact);
                }
                /* every prefix, and every one-byte change of it, hashes differently */
                g_ptr_array_add(keep, g_memdup2(&h, sizeof(h)));
                assert_true(g_hash_table_add(seen, keep->pdata[keep->len - 1]));
                for (size_t i = 0; i < n; i++) {
                        memcpy(buf, text, n);
                        buf[i] ^= 0x20;
                        h = tpfw_hash_bytes(TPFW_HASH_SEED, buf, n);
                        g_ptr_array_add(keep, g_memdup2(&h, sizeof(h)));
                        assert_true(g_hash_table_add(seen, keep->pdata[keep->len - 1]));
                }
        }
        assert_true(tpfw_hash_str(TPFW_HASH_SEED, "nat") ==
                    tpfw_hash_bytes(TPFW_HASH_SEED, "nat", 3));
        g_hash_table_unref(seen);
        g_ptr_array_unref(keep);
}

/* Copies carry the key sets over (or rebuild them) so that look-ups still find every rule. */
static void test_copy_and_equal(void **state)
{
        TpfwRuleset *rs = tpfw_ruleset_new(), *copy, *copy2;
        char chain[32], port[16];

        /* enough rules and chains for the sets to grow several times */
        for (int i = 0; i < 300; i++) {
                const char *argv[] = {"-p", "tcp", "--dport", port, "-j", chain, NULL};

                g_snprintf(chain, sizeof(chain), "C%d", i % 37);
                g_snprintf(port, sizeof(port), "%d", i);
                assert_int_equal(tpfw_ruleset_add_rule(rs, i % 2 ? TPFW_IPV6 : TPFW_IPV4, "nat",
                                                       chain, i, argv, 0, 0),
                                 0);
                if (i < 37)
                        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", chain), 0);
        }
        copy = tpfw_ruleset_copy(rs);
        assert_true(tpfw_ruleset_equal(rs, copy));
        assert_true(tpfw_ruleset_equal(copy, rs));
        assert_true(tpfw_ruleset_has_chain(copy, TPFW_IPV4, "nat", "C36"));
        assert_false(tpfw_ruleset_has_chain(copy, TPFW_IPV6, "nat", "C36"));
        assert_int_equal(tpfw_ruleset_add_chain(copy, TPFW_IPV4, "nat", "C5"), -EEXIST);
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                assert_int_equal(tpfw_ruleset_add_rule(copy, r->ipv, r->table, r->chain,
                                                       r->priority, (const char *const *)r->argv, 0,
                                                       0),
                                 -EEXIST);
        }
        assert_int_equal(tpfw_ruleset_count_missing(rs, copy), 0);

        /* a change in place is seen by copies made after it, and by equal */
        tpfw_ruleset_rule_mut(copy, 7)->priority = 1000;
        assert_false(tpfw_ruleset_equal(rs, copy));
        assert_int_equal(tpfw_ruleset_count_missing(rs, copy), 1);
        assert_int_equal(tpfw_ruleset_count_missing(copy, rs), 1);
        copy2 = tpfw_ruleset_copy(copy);
        assert_true(tpfw_ruleset_equal(copy, copy2));
        assert_false(tpfw_ruleset_equal(rs, copy2));
        tpfw_ruleset_rule_mut(copy2, 7)->priority = 7;
        assert_true(tpfw_ruleset_equal(rs, copy2));
        tpfw_ruleset_free(copy2);

        /* a change that makes two rules equal: a copy keeps the first, as adding them would */
        tpfw_ruleset_rule_mut(copy, 7)->priority = 9;
        tpfw_ruleset_rule_mut(copy, 7)->ipv = TPFW_IPV6;
        g_strfreev(tpfw_ruleset_rule_mut(copy, 7)->argv);
        tpfw_ruleset_rule_mut(copy, 7)->argv = g_strdupv(tpfw_ruleset_rule(copy, 9)->argv);
        g_free(tpfw_ruleset_rule_mut(copy, 7)->chain);
        tpfw_ruleset_rule_mut(copy, 7)->chain = g_strdup(tpfw_ruleset_rule(copy, 9)->chain);
        copy2 = tpfw_ruleset_copy(copy);
        assert_int_equal(tpfw_ruleset_n_rules(copy2), 299);
        assert_ptr_not_equal(tpfw_ruleset_rule(copy2, 7)->argv, tpfw_ruleset_rule(copy, 7)->argv);
        assert_int_equal(tpfw_ruleset_rule(copy2, 8)->priority, 8);
        assert_false(tpfw_ruleset_equal(copy, copy2)); /* 300 rules against 299 */
        tpfw_ruleset_free(copy2);
        tpfw_ruleset_free(copy);
        tpfw_ruleset_free(rs);
}

/* Tagging can make rules equal that differed in their comments only. */
static void test_tag_ruleset(void **state)
{
        TpfwRuleset *rs = tpfw_ruleset_new(), *copy, *want = tpfw_ruleset_new();
        const char *a[] = {"-m", "comment", "--comment", "tproxy-firewalld/old x", "-j", "A", NULL};
        const char *b[] = {"-m", "comment", "--comment", "x", "-j", "A", NULL};
        /* a second comment match later: not the in-place case */
        const char *c[] = {"-m",        "comment", "--comment", "y", "-m", "comment",
                           "--comment", "z",       "-j",        "C", NULL};
        /* two --comment options in one match: the first one's text counts */
        const char *d[] = {"-m", "comment", "--comment", "p", "--comment", "q", "-j", "D", NULL};
        const char *tagged_a[] = {"-m", "comment", "--comment", "tproxy-firewalld/kuma x",
                                  "-j", "A",       NULL};
        const char *tagged_c[] = {"-m", "comment", "--comment", "tproxy-firewalld/kuma y",
                                  "-j", "C",       NULL};
        const char *tagged_d[] = {"-m", "comment", "--comment", "tproxy-firewalld/kuma p",
                                  "-j", "D",       NULL};

        assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", 1, a, 0, 0), 0);
        assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", 1, b, 0, 0), 0);
        assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", 2, c, 0, 0), 0);
        assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", 3, d, 0, 0), 0);
        assert_int_equal(tpfw_ruleset_tag(rs, "kuma"), 0);
        assert_true(tpfw_strv_equal((const char *const *)tpfw_ruleset_rule(rs, 0)->argv, tagged_a));
        assert_true(tpfw_strv_equal((const char *const *)tpfw_ruleset_rule(rs, 1)->argv, tagged_a));
        assert_true(tpfw_strv_equal((const char *const *)tpfw_ruleset_rule(rs, 2)->argv, tagged_c));
        assert_true(tpfw_strv_equal((const char *const *)tpfw_ruleset_rule(rs, 3)->argv, tagged_d));
        /* the same as tpfw_argv_tag() */
        for (size_t i = 0; i < 4; i++) {
                const char *const *src[] = {a, b, c, d};
                char **t = tpfw_argv_tag(src[i], "kuma");
                assert_true(tpfw_strv_equal((const char *const *)t,
                                            (const char *const *)tpfw_ruleset_rule(rs, i)->argv));
                tpfw_strv_free(t);
        }
        assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", 1, tagged_a, 0, 0),
                         -EEXIST);
        copy = tpfw_ruleset_copy(rs);
        assert_int_equal(tpfw_ruleset_n_rules(copy), 3);
        tpfw_ruleset_add_rule(want, TPFW_IPV4, "nat", "OUTPUT", 3, tagged_d, 0, 0);
        tpfw_ruleset_add_rule(want, TPFW_IPV4, "nat", "OUTPUT", 2, tagged_c, 0, 0);
        tpfw_ruleset_add_rule(want, TPFW_IPV4, "nat", "OUTPUT", 1, tagged_a, 0, 0);
        assert_true(tpfw_ruleset_equal(copy, want));
        assert_int_equal(tpfw_ruleset_count_missing(rs, want), 0);
        tpfw_ruleset_free(want);
        tpfw_ruleset_free(copy);
        tpfw_ruleset_free(rs);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_priorities_insert_and_append),
                cmocka_unit_test(test_priorities_insert_after_append),
                cmocka_unit_test(test_priorities_index_too_big),
                cmocka_unit_test(test_duplicates),
                cmocka_unit_test(test_direct_order),
                cmocka_unit_test(test_equal_ignores_order),
                cmocka_unit_test(test_owner_names),
                cmocka_unit_test(test_tag),
                cmocka_unit_test(test_tag_cut_to_255),
                cmocka_unit_test(test_owner_detection_strict),
                cmocka_unit_test(test_owner_subset_and_diff),
                cmocka_unit_test(test_builtin_chains),
                cmocka_unit_test(test_hash),
                cmocka_unit_test(test_copy_and_equal),
                cmocka_unit_test(test_tag_ruleset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
