/* SPDX-License-Identifier: MIT */
/* Unit tests for import.c: iptables-restore text to chains, rules and firewalld priorities. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/import.h>

#include "testutil.h"
#include "util.h" /* g_autoptr(TpfwRuleset) */

/*
 * Golden cases: fixtures/import/NAME.txt is imported, the result is compared with
 * NAME.expected, whose lines are shell-quoted words (split with tpfw_args_split):
 *     chain IPV TABLE CHAIN                                  in declaration order
 *     rule IPV TABLE CHAIN PRIORITY append|insert POSITION ARG...   in emission order
 * UPDATE_FIXTURES=1 rewrites the .expected files from the result; review the diff.
 */
typedef struct Golden {
        const char *name;
        TpfwIpv default_ipv;
} Golden;

static const Golden goldens[] = {
        {"install-transparent-proxy.defaults.golden", TPFW_IPV4},
        {"install-transparent-proxy.dns.no-conntrack.golden", TPFW_IPV4},
        {"install-transparent-proxy.overrides.golden", TPFW_IPV4},
        {"kuma-worked-example", TPFW_IPV6}, /* its headers must override the default */
        {"iptables-save-forms", TPFW_IPV6},
        {"crlf", TPFW_IPV4},
        {"linkerd-iptables-save", TPFW_IPV4}, /* declares nat INPUT, as iptables-save does */
};

static char *describe(const char *name, const TpfwRuleset *rs)
{
        GString *out = g_string_new(NULL);

        g_string_append_printf(
                out,
                "# Import of %s.txt (tests/unit/test_import.c): chains in declaration "
                "order,\n# then rules in emission order: ipv table chain priority "
                "mode position args.\n# Written by UPDATE_FIXTURES=1; review every "
                "change.\n",
                name);

        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);

                g_string_append_printf(out, "chain %s %s %s\n", tpfw_ipv_name(c->ipv), c->table,
                                       c->chain);
        }
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                g_autofree char *args = tpfw_args_join((const char *const *)r->argv);

                g_string_append_printf(out, "rule %s %s %s %d %s %u %s\n", tpfw_ipv_name(r->ipv),
                                       r->table, r->chain, r->priority,
                                       r->mode == TPFW_RULE_INSERT ? "insert" : "append",
                                       r->position, args);
        }
        return g_string_free(out, FALSE);
}

static TpfwRuleset *import_fixture(const char *name, TpfwIpv ipv)
{
        g_autofree char *rel = g_strdup_printf("fixtures/import/%s.txt", name);
        size_t len = 0;
        g_autofree char *text = test_read_fixture(rel, &len);
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwRuleset *rs = NULL;
        int r;

        r = tpfw_import_iptables_restore(rel, text, len, ipv, &rs, &diag);
        if (r != 0)
                fail_msg("%s:%u: %s", diag.file, diag.line, diag.message);
        assert_non_null(rs);
        tpfw_diag_clear(&diag);
        return rs;
}

static void check_expected_line(const TpfwRuleset *rs, char **w, size_t *n_chains, size_t *n_rules)
{
        TpfwIpv ipv;

        assert_non_null(w[0]);
        assert_non_null(w[1]);
        assert_int_equal(tpfw_ipv_from_name(w[1], &ipv), 0);
        if (strcmp(w[0], "chain") == 0) {
                const TpfwChain *c;

                assert_true(*n_chains < tpfw_ruleset_n_chains(rs));
                c = tpfw_ruleset_chain(rs, (*n_chains)++);
                assert_int_equal(c->ipv, ipv);
                assert_string_equal(c->table, w[2]);
                assert_string_equal(c->chain, w[3]);
                assert_null(w[4]);
        } else {
                const TpfwRule *r;

                assert_string_equal(w[0], "rule");
                assert_true(*n_rules < tpfw_ruleset_n_rules(rs));
                r = tpfw_ruleset_rule(rs, (*n_rules)++);
                assert_int_equal(r->ipv, ipv);
                assert_string_equal(r->table, w[2]);
                assert_string_equal(r->chain, w[3]);
                assert_int_equal(r->priority, atoi(w[4]));
                assert_int_equal(r->mode,
                                 strcmp(w[5], "insert") == 0 ? TPFW_RULE_INSERT : TPFW_RULE_APPEND);
                assert_int_equal(r->position, (unsigned)atoi(w[6]));
                if (!tpfw_strv_equal((const char *const *)r->argv, (const char *const *)w + 7)) {
                        g_autofree char *got = tpfw_args_join((const char *const *)r->argv);
                        g_autofree char *want = tpfw_args_join((const char *const *)w + 7);

                        fail_msg("rule %zu: argv %s, expected %s", *n_rules, got, want);
                }
        }
}

/* Within each (ipv, table, chain) the final live order has strictly increasing priorities. */
static void assert_priorities_unique_per_chain(const TpfwRuleset *rs)
{
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                char *key = g_strdup_printf("%d %s %s %d", (int)r->ipv, r->table, r->chain,
                                            r->priority);

                if (!g_hash_table_add(seen, key))
                        fail_msg("two rules of %s %s share priority %d", r->table, r->chain,
                                 r->priority);
        }
}

static void test_goldens(void **state)
{
        bool update = g_strcmp0(getenv("UPDATE_FIXTURES"), "1") == 0;

        for (size_t g = 0; g < G_N_ELEMENTS(goldens); g++) {
                g_autoptr(TpfwRuleset) rs = import_fixture(goldens[g].name, goldens[g].default_ipv);
                g_autofree char *rel =
                        g_strdup_printf("fixtures/import/%s.expected", goldens[g].name);
                g_autofree char *expected = NULL;
                g_auto(GStrv) lines = NULL;
                size_t n_chains = 0, n_rules = 0;

                assert_priorities_unique_per_chain(rs);
                if (update) {
                        g_autofree char *path = test_srcpath(rel);
                        g_autofree char *text = describe(goldens[g].name, rs);

                        assert_true(g_file_set_contents(path, text, -1, NULL));
                }
                expected = test_read_fixture(rel, NULL);
                lines = g_strsplit(expected, "\n", -1);
                for (size_t i = 0; lines[i]; i++) {
                        g_auto(GStrv) w = NULL;

                        if (lines[i][0] == '\0' || lines[i][0] == '#')
                                continue;
                        assert_int_equal(tpfw_args_split(lines[i], &w, NULL), 0);
                        check_expected_line(rs, w, &n_chains, &n_rules);
                }
                if (n_chains != tpfw_ruleset_n_chains(rs) || n_rules != tpfw_ruleset_n_rules(rs))
                        fail_msg("%s: %zu chains and %zu rules, expected %zu and %zu", rel,
                                 tpfw_ruleset_n_chains(rs), tpfw_ruleset_n_rules(rs), n_chains,
                                 n_rules);
        }
}

static const TpfwRule *find_rule(const TpfwRuleset *rs, TpfwIpv ipv, const char *table,
                                 const char *chain, const char *needle)
{
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);

                if (r->ipv != ipv || strcmp(r->table, table) != 0 || strcmp(r->chain, chain) != 0)
                        continue;
                for (size_t j = 0; r->argv[j]; j++)
                        if (strstr(r->argv[j], needle))
                                return r;
        }
        fail_msg("no rule in %s matching %s", chain, needle);
        return NULL;
}

/* Priorities stated in KUMA-RULES.md section 5 (worked example), independent of the .expected. */
static void test_worked_example_priorities(void **state)
{
        static const struct {
                TpfwIpv ipv;
                const char *table, *chain, *needle;
                int priority;
        } want[] = {
                {TPFW_IPV4, "raw", "PREROUTING", "10.0.0.2", 1},
                {TPFW_IPV4, "raw", "PREROUTING", "127.0.0.53", 2},
                {TPFW_IPV4, "nat", "PREROUTING", "docker0 to the kuma-dp", -3},
                {TPFW_IPV4, "nat", "PREROUTING", "excluding destination 172.17.0.0/16", -2},
                {TPFW_IPV4, "nat", "PREROUTING", "remaining TCP traffic", -1},
                {TPFW_IPV4, "nat", "PREROUTING", "PREROUTING:", 1},
                {TPFW_IPV4, "nat", "OUTPUT", "OUTPUT:", -5},
                {TPFW_IPV4, "nat", "OUTPUT", "10.96.0.0/12", -4},
                {TPFW_IPV4, "nat", "OUTPUT", "return early for DNS", -3},
                {TPFW_IPV4, "nat", "OUTPUT", "requests to 10.0.0.2", -2},
                {TPFW_IPV4, "nat", "OUTPUT", "requests to 127.0.0.53", -1},
                {TPFW_IPV4, "nat", "OUTPUT", "DNS queries over TCP", 1},
                {TPFW_IPV4, "nat", "OUTPUT", "KUMA_MESH_OUTBOUND", 2},
                {TPFW_IPV4, "raw", "OUTPUT", "destined for 127.0.0.53", 4},
                {TPFW_IPV4, "raw", "OUTPUT", "local DNS server", 5},
                {TPFW_IPV4, "nat", "KUMA_MESH_OUTBOUND", "127.0.0.6/32", 0},
                {TPFW_IPV4, "nat", "KUMA_MESH_OUTBOUND", "KUMA_MESH_OUTBOUND_REDIRECT", 5},
                {TPFW_IPV6, "nat", "PREROUTING", "PREROUTING:", 1},
                {TPFW_IPV6, "nat", "PREROUTING", "KUMA_MESH_INBOUND", 2},
                {TPFW_IPV6, "nat", "OUTPUT", "OUTPUT:", -1},
                {TPFW_IPV6, "nat", "OUTPUT", "KUMA_MESH_OUTBOUND", 1},
                {TPFW_IPV6, "nat", "KUMA_MESH_OUTBOUND", "::6/128", 0},
        };
        g_autoptr(TpfwRuleset) rs = import_fixture("kuma-worked-example", TPFW_IPV4);

        for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
                const TpfwRule *r =
                        find_rule(rs, want[i].ipv, want[i].table, want[i].chain, want[i].needle);

                if (r->priority != want[i].priority)
                        fail_msg("%s %s \"%s\": priority %d, expected %d", r->table, r->chain,
                                 want[i].needle, r->priority, want[i].priority);
        }
        /* The raw table rules are ipv4 only; the worked example has none for ipv6. */
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);

                if (strcmp(r->table, "raw") == 0)
                        assert_int_equal(r->ipv, TPFW_IPV4);
        }
        assert_true(tpfw_ruleset_has_ipv(rs, TPFW_IPV6));
        assert_true(tpfw_ruleset_has_chain(rs, TPFW_IPV6, "nat", "KUMA_MESH_INBOUND"));
}

/* Comment matches keep their text as one argument, and nothing is tagged with an owner. */
/* Built-in chains: declarations import as nothing; nat INPUT, which firewalld cannot address,
 * is refused by name when it gets a rule or is created. */
static void test_builtin_chain_declarations(void **state)
{
        static const char *const nothing[] = {
                "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT - [0:0]\n"
                ":POSTROUTING ACCEPT [3:180]\nCOMMIT\n",
                "*nat\n:INPUT -\nCOMMIT\n",
                "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT "
                "[0:0]\nCOMMIT\n",
                "*mangle\n:PREROUTING ACCEPT\n:INPUT ACCEPT\n:FORWARD ACCEPT\n:OUTPUT ACCEPT\n"
                ":POSTROUTING ACCEPT\nCOMMIT\n*raw\n:PREROUTING ACCEPT\n:OUTPUT ACCEPT\nCOMMIT\n"
                "*security\n:INPUT ACCEPT\n:FORWARD ACCEPT\n:OUTPUT ACCEPT\nCOMMIT\n",
        };
        static const struct {
                const char *text;
                const char *message;
        } refused[] = {
                {"*nat\n:INPUT ACCEPT [0:0]\n-A INPUT -j RETURN\nCOMMIT\n",
                 "t:3: chain INPUT of table nat is built into the kernel, but firewalld's direct "
                 "interface cannot address it (it hooks only its own built-in chains); rules in it "
                 "cannot be stored in direct.xml"},
                {"*nat\n-I INPUT 1 -j RETURN\nCOMMIT\n", "t:2: chain INPUT of table nat is built"},
                {"*nat\n-N INPUT\nCOMMIT\n",
                 "t:2: chain INPUT is a built-in chain of table nat and cannot be created"},
                {"*nat\n:INPUT DROP [0:0]\nCOMMIT\n",
                 "t:2: policy DROP for built-in chain INPUT cannot be expressed"},
                {"*filter\n:INPUT DROP [0:0]\nCOMMIT\n",
                 "t:2: policy DROP for built-in chain INPUT cannot be expressed"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(nothing); i++) {
                g_autoptr(TpfwRuleset) rs = NULL;
                TpfwDiag diag = TPFW_DIAG_INIT;

                assert_int_equal(tpfw_import_iptables_restore("t", nothing[i], strlen(nothing[i]),
                                                              TPFW_IPV4, &rs, &diag),
                                 0);
                assert_int_equal(tpfw_ruleset_n_chains(rs), 0);
                assert_int_equal(tpfw_ruleset_n_rules(rs), 0);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
                g_autoptr(TpfwRuleset) rs = NULL;
                TpfwDiag diag = TPFW_DIAG_INIT;
                g_autofree char *msg = NULL;

                assert_int_equal(tpfw_import_iptables_restore("t", refused[i].text,
                                                              strlen(refused[i].text), TPFW_IPV4,
                                                              &rs, &diag),
                                 -EINVAL);
                msg = tpfw_diag_format(&diag);
                if (!g_str_has_prefix(msg, refused[i].message))
                        fail_msg("%s\ngave: %s", refused[i].text, msg);
                tpfw_diag_clear(&diag);
        }
}

static void test_comments_kept_and_untagged(void **state)
{
        static const char text[] = "*filter\n"
                                   "-A INPUT -m comment --comment \"a b\" -j ACCEPT\n"
                                   "-A INPUT -m comment --comment 'c  d' -j ACCEPT\n"
                                   "-A INPUT -m comment --comment tproxy-firewalld/x -j DROP\n"
                                   "  -A INPUT -j LOG --log-prefix x\\ \n"
                                   "COMMIT\n";
        static const char *const first[] = {"-m", "comment", "--comment", "a b",
                                            "-j", "ACCEPT",  NULL};
        g_autoptr(TpfwRuleset) rs = NULL;

        assert_int_equal(
                tpfw_import_iptables_restore("t", text, strlen(text), TPFW_IPV4, &rs, NULL), 0);
        assert_int_equal(tpfw_ruleset_n_rules(rs), 4);
        /* Lines are not trimmed before splitting: the escaped final space belongs to the word. */
        assert_string_equal(tpfw_ruleset_rule(rs, 3)->argv[3], "x ");
        assert_true(tpfw_strv_equal((const char *const *)tpfw_ruleset_rule(rs, 0)->argv, first));
        assert_string_equal(tpfw_ruleset_rule(rs, 1)->argv[3], "c  d");
        assert_null(tpfw_argv_owner((const char *const *)tpfw_ruleset_rule(rs, 0)->argv));
        /* An owner tag already in the input is kept as written, not added or removed. */
        assert_string_equal(tpfw_ruleset_rule(rs, 2)->argv[3], "tproxy-firewalld/x");
}

static void test_empty_inputs(void **state)
{
        static const char *const inputs[] = {"", "\n\n", "# only a comment\n", "### IPv6 ###\n",
                                             "*nat\nCOMMIT\n"};

        for (size_t i = 0; i < G_N_ELEMENTS(inputs); i++) {
                g_autoptr(TpfwRuleset) rs = NULL;

                assert_int_equal(tpfw_import_iptables_restore("t", inputs[i], strlen(inputs[i]),
                                                              TPFW_IPV4, &rs, NULL),
                                 0);
                assert_int_equal(tpfw_ruleset_n_rules(rs), 0);
                assert_int_equal(tpfw_ruleset_n_chains(rs), 0);
        }
}

/* The length bounds the input: bytes after it are never read, and no NUL is needed. */
static void test_length_bounds_input(void **state)
{
        static const char text[] = "*nat\n-A OUTPUT -j RETURN\nCOMMIT\nGARBAGE\n";
        g_autoptr(TpfwRuleset) rs = NULL;
        g_autofree char *copy = g_memdup2(text, strlen(text));
        size_t len = strlen("*nat\n-A OUTPUT -j RETURN\nCOMMIT");

        assert_int_equal(tpfw_import_iptables_restore("t", copy, len, TPFW_IPV4, &rs, NULL), 0);
        assert_int_equal(tpfw_ruleset_n_rules(rs), 1);
        assert_int_equal(tpfw_ruleset_rule(rs, 0)->priority, 1);
}

static void test_nul_byte(void **state)
{
        static const char text[] = "*nat\n-A OUTPUT -j RETURN\n-A OUTPUT \0-j RETURN\nCOMMIT\n";
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwRuleset *rs = (TpfwRuleset *)0x1;

        assert_int_equal(tpfw_import_iptables_restore("in.txt", text, sizeof(text) - 1, TPFW_IPV4,
                                                      &rs, &diag),
                         -EINVAL);
        assert_ptr_equal(rs, (TpfwRuleset *)0x1);
        assert_string_equal(diag.file, "in.txt");
        assert_int_equal(diag.line, 3);
        assert_non_null(strstr(diag.message, "NUL"));
        tpfw_diag_clear(&diag);
}

static void test_invalid_utf8_and_null_diag(void **state)
{
        static const char text[] = "*nat\n-A OUTPUT -m comment --comment \"\xff\" -j RETURN\n"
                                   "COMMIT\n";
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwRuleset *rs = NULL;

        assert_int_equal(
                tpfw_import_iptables_restore("t", text, strlen(text), TPFW_IPV4, &rs, &diag),
                -EINVAL);
        assert_int_equal(diag.line, 2);
        assert_non_null(strstr(diag.message, "UTF-8"));
        tpfw_diag_clear(&diag);
        /* A CR inside quotes survives splitting but not firewalld's XML and re-quoting. */
        {
                static const char cr[] = "*nat\n-A OUTPUT -j 'RET\rURN'\nCOMMIT\n";

                assert_int_equal(
                        tpfw_import_iptables_restore("t", cr, strlen(cr), TPFW_IPV4, &rs, &diag),
                        -EINVAL);
                assert_int_equal(diag.line, 2);
                assert_non_null(strstr(diag.message, "argument 2 contains a control character"));
                tpfw_diag_clear(&diag);
        }
        /* Without a diag the error is still returned. */
        assert_int_equal(
                tpfw_import_iptables_restore("t", text, strlen(text), TPFW_IPV4, &rs, NULL),
                -EINVAL);
        assert_null(rs);
}

static void test_bad_arguments(void **state)
{
        TpfwRuleset *rs = NULL;

        assert_int_equal(tpfw_import_iptables_restore("t", NULL, 1, TPFW_IPV4, &rs, NULL), -EINVAL);
        assert_int_equal(tpfw_import_iptables_restore("t", "", 0, (TpfwIpv)7, &rs, NULL), -EINVAL);
        assert_int_equal(tpfw_import_iptables_restore("t", "", 0, TPFW_IPV4, NULL, NULL), -EINVAL);
        assert_int_equal(tpfw_import_iptables_restore("t", NULL, 0, TPFW_IPV4, &rs, NULL), 0);
        assert_int_equal(tpfw_ruleset_n_rules(rs), 0);
        tpfw_ruleset_free(rs);
}

/*
 * fixtures/import/errors.txt holds error cases, each introduced by a line
 *     %% NAME LINE MESSAGE-FRAGMENT
 * followed by its input; LINE is the 1-based line of the error within that input.
 */
static void run_error_case(const char *name, unsigned line, const char *fragment, const char *text)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwRuleset *rs = NULL;
        int r;

        r = tpfw_import_iptables_restore(name, text, strlen(text), TPFW_IPV4, &rs, &diag);
        if (r != -EINVAL)
                fail_msg("%s: returned %d, expected -EINVAL", name, r);
        assert_null(rs);
        assert_string_equal(diag.file, name);
        if (diag.line != line)
                fail_msg("%s: error on line %u, expected %u (%s)", name, diag.line, line,
                         diag.message);
        if (!strstr(diag.message, fragment))
                fail_msg("%s: message \"%s\" lacks \"%s\"", name, diag.message, fragment);
        tpfw_diag_clear(&diag);
}

static void test_errors(void **state)
{
        g_autofree char *all = test_read_fixture("fixtures/import/errors.txt", NULL);
        g_auto(GStrv) lines = g_strsplit(all, "\n", -1);
        g_autoptr(GString) text = g_string_new(NULL);
        g_autofree char *name = NULL, *fragment = NULL;
        unsigned line = 0, n_cases = 0;

        for (size_t i = 0;; i++) {
                if (!lines[i] || g_str_has_prefix(lines[i], "%% ")) {
                        char *end;

                        if (name) {
                                run_error_case(name, line, fragment, text->str);
                                n_cases++;
                        }
                        if (!lines[i])
                                break;
                        g_free(name);
                        g_free(fragment);
                        name = g_strdup(lines[i] + 3);
                        end = strchr(name, ' ');
                        assert_non_null(end);
                        *end++ = '\0';
                        line = (unsigned)strtoul(end, &end, 10);
                        assert_int_equal(*end, ' ');
                        fragment = g_strdup(end + 1);
                        g_string_truncate(text, 0);
                        continue;
                }
                if (name) {
                        g_string_append(text, lines[i]);
                        if (lines[i + 1])
                                g_string_append_c(text, '\n');
                }
        }
        assert_true(n_cases >= 40);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_goldens),
                cmocka_unit_test(test_worked_example_priorities),
                cmocka_unit_test(test_comments_kept_and_untagged),
                cmocka_unit_test(test_builtin_chain_declarations),
                cmocka_unit_test(test_empty_inputs),
                cmocka_unit_test(test_length_bounds_input),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_invalid_utf8_and_null_diag),
                cmocka_unit_test(test_bad_arguments),
                cmocka_unit_test(test_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
