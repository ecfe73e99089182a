/* SPDX-License-Identifier: MIT */
/* Unit tests for the fast paths of direct.xml parsing: they must agree with the slow ones. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/ruleset.h>

#include "testutil.h"
#include "direct-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwRuleset, tpfw_ruleset_free)

/* ---- the argv splitter against tpfw_args_split() ---- */

/* Splits len bytes of text both ways; the scratch splitter stops at a NUL like the other. */
static void check_split(const char *text, size_t len, DirectSplitScratch *s)
{
        g_auto(GStrv) want = NULL;
        int r_want = tpfw_args_split(text, &want, NULL);
        int n = tpfw_direct_split_scratch(text, len, s);
        char **got = (char **)s->ptrs->pdata;

        if (r_want < 0) {
                if (n >= 0)
                        fail_msg("split of [%s] succeeded, tpfw_args_split() fails", text);
                return;
        }
        if (n < 0)
                fail_msg("split of [%s] failed, tpfw_args_split() accepts it", text);
        assert_int_equal(n, g_strv_length(want));
        for (int i = 0; i < n; i++)
                if (strcmp(got[i], want[i]) != 0)
                        fail_msg("split of [%s]: word %d is [%s], want [%s]", text, i, got[i],
                                 want[i]);
        assert_null(got[n]);
}

static void test_split_cases(void **state)
{
        static const char *const cases[] = {
                "",
                " ",
                "-j ACCEPT",
                "  -m comment --comment 'filter rule 0 for ssh' '!' -i lo -p tcp -j ACCEPT  ",
                "a\tb\rc\nd",
                "''",
                "'' \"\" x",
                "a''b\"\"c",
                "'it'\\''s' done",
                "\"a \\\"b\\\" \\\\ \\c $x\"",
                "\"unterminated",
                "'unterminated",
                "trailing\\",
                "\"trailing\\",
                "\\ a\\ b\\'c",
                "abcdefgh",
                "abcdefghi jklmnopqrstuvwxyz0123456789",
                "abcdefg'hijklmnop'qrstuvwxyz",
                "abcdefghijklmno\"p q\"rstuvwxyz",
                "0123456\\ 789abcdef",
                "0123456789abcde\x01\x02\x7f\x80\xff-tail",
                "\xc3\xa9t\xc3\xa9 caf\xc3\xa9 'na\xc3\xafve words'",
                "--comment \"tproxy-firewalld/kuma text\" -j KUMA_MESH_INBOUND",
        };
        g_autoptr(GString) buf = g_string_new(NULL);
        g_autoptr(GPtrArray) ptrs = g_ptr_array_new();
        DirectSplitScratch s = {buf, ptrs};

        (void)state;
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
                check_split(cases[i], strlen(cases[i]), &s);
        /* a NUL ends the text for both */
        check_split("a b\0c d", 7, &s);
        check_split("'a b\0c' d", 9, &s);
        check_split("\"a b\0c\" d", 9, &s);
        check_split("a\\\0b", 4, &s);
}

/* Random texts over the bytes that matter, at every length around the 8-, 16- and 64-byte steps. */
static void test_split_random(void **state)
{
        static const char alphabet[] = "ab -'\"\\\t\n\r\x01\x7f\xc3\xa9xyz0";
        g_autoptr(GString) buf = g_string_new(NULL);
        g_autoptr(GPtrArray) ptrs = g_ptr_array_new();
        DirectSplitScratch s = {buf, ptrs};
        g_autoptr(GRand) rand = g_rand_new_with_seed(20260101);
        char text[1500];

        (void)state;
        for (int round = 0; round < 20000; round++) {
                /* mostly short texts; some span several 64-byte words, some need a heap bitmap */
                size_t len =
                        (size_t)g_rand_int_range(rand, 0, round % 20 ? 64 : (gint32)sizeof(text));

                for (size_t i = 0; i < len; i++) {
                        /* mostly plain bytes, so that words get long */
                        if (g_rand_int_range(rand, 0, 4) == 0)
                                text[i] = alphabet[g_rand_int_range(rand, 0, sizeof(alphabet) - 1)];
                        else
                                text[i] = (char)g_rand_int_range(rand, 'A', 'Z' + 1);
                }
                text[len] = '\0';
                check_split(text, len, &s);
                if (round % 10 == 0) {
                        /* the same bytes with nothing after them: ASan and valgrind see over-reads
                         */
                        g_autofree char *exact = g_memdup2(text, len);
                        g_autoptr(GString) buf2 = g_string_new(NULL);
                        g_autoptr(GPtrArray) ptrs2 = g_ptr_array_new();
                        DirectSplitScratch s2 = {buf2, ptrs2};
                        g_auto(GStrv) want = NULL;
                        int n = tpfw_direct_split_scratch(exact, len, &s2);

                        assert_int_equal(n < 0, tpfw_args_split(text, &want, NULL) < 0);
                        if (n >= 0)
                                assert_int_equal(n, g_strv_length(want));
                }
        }
}

/* ---- the fast parser against the libxml2 path ---- */

/* A CR sends the whole file to libxml2; in whitespace between elements it changes nothing. */
static char *with_cr(const char *doc)
{
        const char *end = strstr(doc, "\n</direct>");

        assert_non_null(end);
        return g_strdup_printf("%.*s\r%s", (int)(end - doc), doc, end);
}

static void assert_same_str(const char *a, const char *b, const char *what, size_t i)
{
        if (!a || !b) {
                if (a != b)
                        fail_msg("entry %zu: %s is %s vs %s", i, what, a ? a : "NULL",
                                 b ? b : "NULL");
                return;
        }
        if (strcmp(a, b) != 0)
                fail_msg("entry %zu: %s is [%s] vs [%s]", i, what, a, b);
}

/* Parses doc by both paths and compares everything the merge uses. */
static void check_same(const char *doc)
{
        g_autofree char *slow_doc = with_cr(doc);
        g_autoptr(TpfwDirect) fast = NULL;
        g_autoptr(TpfwDirect) slow = NULL;
        TpfwOwnerCount *fo = NULL, *so = NULL;
        size_t n_fo = 0, n_so = 0;
        bool fast_path = false;

        assert_int_equal(tpfw_direct_parse("f", doc, strlen(doc), &fast, NULL), 0);
        assert_int_equal(tpfw_direct_parse("s", slow_doc, strlen(slow_doc), &slow, NULL), 0);
        /* the fast parser defers argv, libxml2's path does not */
        for (size_t i = 0; i < fast->n_entries; i++)
                if (fast->entries[i].kind != TPFW_ENTRY_CHAIN && !fast->entries[i].argv)
                        fast_path = true;
        if (!fast_path)
                fail_msg("the fast parser did not take this document:\n%s", doc);
        assert_int_equal(fast->n_entries, slow->n_entries);
        assert_int_equal(fast->n_elements, slow->n_elements);
        for (size_t k = 0; k < fast->n_elements; k++) {
                assert_int_equal(fast->elements[k].entry, slow->elements[k].entry);
                assert_int_equal(fast->elements[k].span.start, slow->elements[k].span.start);
                assert_int_equal(fast->elements[k].span.end, slow->elements[k].span.end);
                assert_int_equal(fast->elements[k].span.line, slow->elements[k].span.line);
        }
        for (size_t i = 0; i < fast->n_entries; i++) {
                const TpfwEntry *a = &fast->entries[i], *b = &slow->entries[i];
                char *const *av = tpfw_direct_entry_argv(fast, i);
                char *const *bv = tpfw_direct_entry_argv(slow, i);
                const DirectEntryInfo *ai = &fast->info[i], *bi = &slow->info[i];

                assert_int_equal(a->kind, b->kind);
                assert_same_str(a->ipv, b->ipv, "ipv", i);
                assert_same_str(a->table, b->table, "table", i);
                assert_same_str(a->chain, b->chain, "chain", i);
                assert_int_equal(a->line, b->line);
                if (a->kind == TPFW_ENTRY_RULE)
                        assert_int_equal(a->priority, b->priority);
                assert_int_equal(av ? g_strv_length((char **)av) : 0,
                                 bv ? g_strv_length((char **)bv) : 0);
                for (size_t w = 0; av && av[w]; w++)
                        assert_same_str(av[w], bv[w], "argv word", i);
                assert_same_str(ai->tag, bi->tag, "tag", i);
                assert_int_equal(ai->n_refs, bi->n_refs);
                for (size_t r = 0; r < 2 * ai->n_refs; r++)
                        assert_same_str(fast->refs[2 * ai->refs + r], slow->refs[2 * bi->refs + r],
                                        "ref", i);
        }
        assert_int_equal(tpfw_direct_list_owners(fast, &fo, &n_fo), 0);
        assert_int_equal(tpfw_direct_list_owners(slow, &so, &n_so), 0);
        assert_int_equal(n_fo, n_so);
        for (size_t k = 0; k < n_fo; k++) {
                assert_string_equal(fo[k].owner, so[k].owner);
                assert_int_equal(fo[k].rules, so[k].rules);
                assert_int_equal(fo[k].chains, so[k].chains);
        }
        tpfw_owner_counts_free(fo, n_fo);
        tpfw_owner_counts_free(so, n_so);
}

static void test_fast_matches_libxml2(void **state)
{
        static const char *const bodies[] = {
                /* the usual: tagged and foreign rules, chains, passthroughs */
                "  <chain ipv=\"ipv4\" table=\"nat\" chain=\"KUMA_MESH_INBOUND\"/>\n"
                "  <chain ipv=\"ipv4\" table=\"filter\" chain=\"APP_ALLOW\"/>\n"
                "  <rule ipv=\"ipv4\" table=\"nat\" chain=\"PREROUTING\" priority=\"0\">-p tcp "
                "-m comment --comment 'tproxy-firewalld/kuma inbound' -j KUMA_MESH_INBOUND</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"5\">-m comment "
                "--comment 'filter rule 1 for ssh' -p tcp --dport 22 -j APP_ALLOW</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"-1\">-g "
                "APP_ALLOW</rule>\n"
                "  <passthrough ipv=\"ipv6\">-t nat -A OUTPUT -j KUMA_MESH_INBOUND</passthrough>\n"
                "  <passthrough ipv=\"ipv4\">--table mangle --new-chain X -I Y 1 --goto "
                "Z</passthrough>",
                /* entities, LF and TAB in text; quotes that hide or make option words */
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"0\">-m comment "
                "--comment &apos;a &amp; b&apos; &quot;-j&quot; ACCEPT</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"0\">-m\ncomment\t"
                "--comment 'multi\nline' '-j' \"DROP\"</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"0\">--comment "
                "'tproxy-firewalld/kuma\nLF' -j 'A\nB'</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"0\">--comment "
                "'-j X' -j &lt;weird&gt;</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"0\">--comment "
                "\"tproxy-firewalld/\"kuma -j RETURN</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"0\">--comment "
                "tproxy-firewalld/Bad=1 -j RETURN</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"0\">--comment x "
                "--comment 'tproxy-firewalld/second one' -j RETURN</rule>",
                /* brackets, non-ASCII text, odd priorities, entities in attributes */
                "  <rule ipv=\"ipv6\" table=\"nat\" chain=\"OUTPUT\" priority=\"007\">-j DNAT "
                "--to-destination [2001:db8::1]:8000 ]] ]</rule>\n"
                "  <rule ipv='ipv4' table='filter' chain='caf\xc3\xa9' priority=' 3 '>-m comment "
                "--comment 'na\xc3\xafve' -j ACCEPT</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"a&amp;b\" priority=\"+4\">-j "
                "a&amp;b</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"1_000\">-j C</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"-2147483648\">-j "
                "C</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"1234567890\">-j "
                "C</rule>\n"
                "  <chain ipv=\"ipv4\" table=\"filter\" chain=\"C\"/>",
                /* elements firewalld ignores, and empty texts */
                "  <rule ipv=\"ipv4\" table=\"bogus\" chain=\"C\" priority=\"x\"></rule>\n"
                "  <passthrough ipv=\"bogus\"/>\n"
                "  <rule ipv=\"eb\" table=\"broute\" chain=\"BROUTING\" priority=\"0\">   </rule>\n"
                "  <passthrough ipv=\"eb\">-t broute -A BROUTING -j DROP</passthrough>\n"
                "  <!-- a comment -->\n"
                "  <rule ipv=\"ipv4\" table=\"raw\" chain=\"PREROUTING\" priority=\"0\">-j "
                "CT --notrack</rule>",
        };

        (void)state;
        for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
                g_autofree char *doc = g_strdup_printf(
                        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n%s\n</direct>\n",
                        bodies[i]);
                check_same(doc);
        }
}

/* Many entries: the interning cache and the per-element memos see repeats and collisions. */
static void test_fast_matches_libxml2_large(void **state)
{
        g_autoptr(GString) doc =
                g_string_new("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>");

        (void)state;
        for (int i = 0; i < 3000; i++) {
                const char *table = i % 3 == 0 ? "filter" : i % 3 == 1 ? "nat" : "mangle";

                if (i % 50 == 0)
                        g_string_append_printf(doc,
                                               "\n  <chain ipv=\"ipv4\" table=\"%s\" "
                                               "chain=\"APP%d_CHAIN_WITH_A_LONGER_NAME\"/>",
                                               table, i);
                g_string_append_printf(doc,
                                       "\n  <rule ipv=\"ipv%d\" table=\"%s\" chain=\"APP%d_CHAIN_"
                                       "WITH_A_LONGER_NAME\" priority=\"%d\">-m comment --comment "
                                       "'%s %d' -j T%d</rule>",
                                       i % 7 == 0 ? 6 : 4, table, (i / 10) * 50, i % 11 - 5,
                                       i % 13 == 0 ? "tproxy-firewalld/o" : "rule", i % 17, i % 29);
        }
        g_string_append(doc, "\n</direct>\n");
        check_same(doc->str);
}

/* What the fast parser must not accept: the libxml2 path words the error, the same either way. */
static void test_fast_rejects(void **state)
{
        static const char *const bodies[] = {
                "<rule ipv=\"ipv4\" table=\"bogus\" chain=\"C\" priority=\"0\">-j X</rule>",
                "<rule ipv=\"ipv5\" table=\"filter\" chain=\"C\" priority=\"0\"></rule>",
                "<rule ipv=\"eb\" table=\"mangle\" chain=\"C\" priority=\"0\">-j X</rule>",
                "<chain ipv=\"ipv4\" table=\"broute\" chain=\"C\"/>",
                "<chain ipv=\"ipv6\" table=\"filter\" chain=\"C\"/>\n"
                "  <chain ipv=\"ipv6\" table=\"nat\" chain=\"C\"/>\n"
                "  <chain ipv=\"ipv6\" table=\"broute\" chain=\"C\"/>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"1\">-j X</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"x\">-j X</rule>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"9999999999\">-j "
                "X</rule>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"0\">-j 'X</rule>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"0\">-j X\\</rule>",
                "<passthrough ipv=\"ipv4\">-A X</passthrough>\n  <passthrough ipv=\"x\">-A "
                "X</passthrough>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"0\">a ]]> b</rule>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"0\">a &bogus; "
                "b</rule>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"0\">a \x01 b</rule>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"0\">a \xff b</rule>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priority=\"0\" x=\"1\">-j "
                "X</rule>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"C\" priorityx=\"0\">-j X</rule>",
                "<rule ipv=\"ipv4\" table=\"filter\" chain=\"a<b\" priority=\"0\">-j X</rule>",
        };

        (void)state;
        for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
                g_autofree char *doc = g_strdup_printf(
                        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n  %s\n</direct>\n",
                        bodies[i]);
                g_autofree char *slow_doc = with_cr(doc);
                TpfwDiag a = TPFW_DIAG_INIT, b = TPFW_DIAG_INIT;
                TpfwDirect *d = NULL;

                if (tpfw_direct_parse("x", doc, strlen(doc), &d, &a) == 0)
                        fail_msg("accepted:\n%s", doc);
                assert_int_not_equal(tpfw_direct_parse("x", slow_doc, strlen(slow_doc), &d, &b), 0);
                assert_string_equal(a.message, b.message);
                assert_int_equal(a.line, b.line);
                tpfw_diag_clear(&a);
                tpfw_diag_clear(&b);
        }
}

/*
 * An unmarked rule conflicts when it equals a desired rule once both lose their comment matches:
 * the merge builds that key without tpfw_argv_strip_comment(), which is the oracle here.
 */
static void test_conflict_key(void **state)
{
        static const char *const texts[] = {
                "-p tcp -j ACCEPT",
                "-m comment --comment x -p tcp -j ACCEPT",
                "-p tcp --match comment --comment a --comment 'b c' -j ACCEPT",
                "-p tcp -m comment -j ACCEPT",
                "-p tcp -m comment --comment -j ACCEPT",
                "-p tcp -j ACCEPT -m comment --comment",
                "-p tcp -j ACCEPT -m comment",
                "-p udp -j ACCEPT",
                "-p tcp -m comment --comment x -m comment --comment y -j ACCEPT",
                "-p 'tcp' -j \"ACCEPT\"",
                "-p tcp &amp;&amp; -j ACCEPT",
        };
        static const char *const desired_argv[] = {"-p",      "tcp",       "-m",
                                                   "comment", "--comment", "tproxy-firewalld/o",
                                                   "-j",      "ACCEPT",    NULL};
        g_auto(GStrv) want = tpfw_argv_strip_comment(desired_argv);

        (void)state;
        for (size_t i = 0; i < 2 * G_N_ELEMENTS(texts); i++) {
                const char *text = texts[i / 2];
                TpfwIpv ipv = i % 2 ? TPFW_IPV6 : TPFW_IPV4;
                g_autofree char *doc = g_strdup_printf(
                        "<direct>\n  <rule ipv=\"%s\" table=\"filter\" chain=\"INPUT\" "
                        "priority=\"0\">%s</rule>\n</direct>\n",
                        tpfw_ipv_name(ipv), text);
                g_autoptr(TpfwDirect) d = NULL;
                g_autoptr(TpfwRuleset) rs = tpfw_ruleset_new();
                g_auto(GStrv) argv = NULL;
                g_auto(GStrv) stripped = NULL;
                TpfwMergeResult res;
                TpfwDiag diag = TPFW_DIAG_INIT;
                bool same;
                int r;

                assert_int_equal(tpfw_direct_parse("x", doc, strlen(doc), &d, NULL), 0);
                argv = g_strdupv(tpfw_direct_entry(d, 0)->argv);
                g_clear_pointer(&d, tpfw_direct_free); /* parse again: argv not materialised */
                assert_int_equal(tpfw_direct_parse("x", doc, strlen(doc), &d, NULL), 0);
                stripped = tpfw_argv_strip_comment((const char *const *)argv);
                same = g_strv_equal((const char *const *)stripped, (const char *const *)want);
                assert_int_equal(tpfw_ruleset_add_rule(rs, ipv, "filter", "INPUT", 0, desired_argv,
                                                       TPFW_RULE_APPEND, 0),
                                 0);
                r = tpfw_direct_merge(d, "o", rs, 0, &res, &diag);
                if (same != (r == -EEXIST))
                        fail_msg("[%s]: merge returned %d (%s)", text, r,
                                 diag.message ? diag.message : "");
                tpfw_diag_clear(&diag);
        }
}

/* After a merge the document describes its new bytes exactly as a fresh parse of them does. */
static void test_merge_matches_reparse(void **state)
{
        static const char *const docs[] = {
                /* the owner's entries in the middle, over several lines */
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" "
                "priority=\"0\">-j\nA</rule>\n"
                "  <rule ipv=\"ipv4\" table=\"nat\" chain=\"OUTPUT\" priority=\"0\">-m comment "
                "--comment 'tproxy-firewalld/o\nold' -j RETURN</rule>\n\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"INPUT\" priority=\"1\">-j B</rule>\n"
                "</direct>\n",
                /* none of the owner's yet: the block goes after the last element */
                "<direct>\n  <chain ipv=\"ipv4\" table=\"filter\" chain=\"X\"/>\n"
                "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"X\" priority=\"0\">-j\n\nC</rule>"
                "\n</direct>\n",
                "<direct>\n</direct>\n",
        };
        static const char *const argv[] = {"-p", "tcp", "-j", "REDIRECT", NULL};

        (void)state;
        for (size_t i = 0; i < G_N_ELEMENTS(docs); i++) {
                g_autoptr(TpfwDirect) d = NULL;
                g_autoptr(TpfwDirect) again = NULL;
                g_autoptr(TpfwRuleset) rs = tpfw_ruleset_new();
                TpfwMergeResult res;
                const char *out;
                size_t len;

                assert_int_equal(tpfw_direct_parse("x", docs[i], strlen(docs[i]), &d, NULL), 0);
                assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", "KUMA_X"), 0);
                assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", 0, argv,
                                                       TPFW_RULE_APPEND, 0),
                                 0);
                assert_int_equal(tpfw_ruleset_tag(rs, "o"), 0);
                assert_int_equal(tpfw_direct_merge(d, "o", rs, 0, &res, NULL), 0);
                assert_true(res.changed);
                out = tpfw_direct_data(d, &len);
                assert_int_equal(tpfw_direct_parse("x", out, len, &again, NULL), 0);
                assert_int_equal(d->n_elements, again->n_elements);
                assert_int_equal(d->n_entries, again->n_entries);
                for (size_t k = 0; k < d->n_elements; k++) {
                        assert_int_equal(d->elements[k].span.ws_start,
                                         again->elements[k].span.ws_start);
                        assert_int_equal(d->elements[k].span.start, again->elements[k].span.start);
                        assert_int_equal(d->elements[k].span.end, again->elements[k].span.end);
                        assert_int_equal(d->elements[k].span.line, again->elements[k].span.line);
                        assert_int_equal(d->elements[k].entry, again->elements[k].entry);
                }
                for (size_t e = 0; e < d->n_entries; e++) {
                        assert_int_equal(d->entries[e].line, again->entries[e].line);
                        assert_same_str(d->info[e].tag, again->info[e].tag, "tag", e);
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_split_cases),
                cmocka_unit_test(test_split_random),
                cmocka_unit_test(test_fast_matches_libxml2),
                cmocka_unit_test(test_fast_matches_libxml2_large),
                cmocka_unit_test(test_fast_rejects),
                cmocka_unit_test(test_conflict_key),
                cmocka_unit_test(test_merge_matches_reparse),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
