/* SPDX-License-Identifier: MIT */
/* Unit tests for direct.c: firewalld-compatible validation, byte-preserving merge, hostile input.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/ruleset.h>

#include "testrules.h"
#include "testutil.h"

#define CORPUS "fixtures/direct/corpus"
#define MERGE "fixtures/direct/merge"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwRuleset, tpfw_ruleset_free)

/* ---- helpers ---- */

static TpfwDirect *parse_ok(const char *name, const char *data, size_t len)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwDirect *d = NULL;
        int r = tpfw_direct_parse(name, data, len, &d, &diag);

        if (r < 0)
                fail_msg("%s: unexpected parse failure %d: %s (line %u)", name, r,
                         diag.message ? diag.message : "?", diag.line);
        tpfw_diag_clear(&diag);
        return d;
}

static TpfwDirect *parse_fixture(const char *rel)
{
        size_t len;
        g_autofree char *data = test_read_fixture(rel, &len);

        return parse_ok(rel, data, len);
}

/* Compares with a golden file, or rewrites it when UPDATE_FIXTURES=1. */
static void check_golden(const char *rel, const char *data, size_t len)
{
        g_autofree char *path = test_srcpath(rel);
        g_autofree char *want = NULL;
        gsize want_len = 0;

        if (g_strcmp0(getenv("UPDATE_FIXTURES"), "1") == 0) {
                assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
                return;
        }
        if (!g_file_get_contents(path, &want, &want_len, NULL))
                fail_msg("missing golden file %s (run with UPDATE_FIXTURES=1)", path);
        if (want_len != len || memcmp(want, data, len) != 0)
                fail_msg("%s differs from the output:\n%.*s", rel, (int)len, data);
}

/* A small transparent-proxy ruleset, tagged for owner. */
static TpfwRuleset *demo_ruleset(const char *owner, const char *port)
{
        TpfwRuleset *rs = tpfw_ruleset_new();
        g_autofree char *redirect = g_strdup_printf("-p tcp -j REDIRECT --to-ports %s", port);
        g_autofree char *chain = g_ascii_strup(owner, -1);
        g_autofree char *out = g_strdup_printf("TP_%s_OUT", chain);
        g_autofree char *jump = g_strdup_printf("-m comment --comment 'kuma/mesh/transparent/proxy "
                                                "outbound' -p tcp -j %s",
                                                out);

        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", out), 0);
        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV6, "nat", out), 0);
        test_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", 1, jump);
        test_add_rule(rs, TPFW_IPV4, "nat", out, 0, "-o lo -j RETURN");
        test_add_rule(rs, TPFW_IPV4, "nat", out, 1, redirect);
        test_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", -1,
                      "-p udp --dport 53 -m owner --uid-owner 5678 -j RETURN");
        test_add_rule(rs, TPFW_IPV6, "nat", "OUTPUT", 1, jump);
        test_add_rule(rs, TPFW_IPV6, "nat", out, 0, redirect);
        assert_int_equal(tpfw_ruleset_tag(rs, owner), 0);
        return rs;
}

static int merge(TpfwDirect *d, const char *owner, const TpfwRuleset *rs, unsigned flags,
                 TpfwMergeResult *res, TpfwDiag *diag)
{
        return tpfw_direct_merge(d, owner, rs, flags, res, diag);
}

static void merge_ok(TpfwDirect *d, const char *owner, const TpfwRuleset *rs, unsigned flags,
                     TpfwMergeResult *res)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        int r = merge(d, owner, rs, flags, res, &diag);

        if (r < 0)
                fail_msg("merge failed %d: %s (line %u)", r, diag.message ? diag.message : "?",
                         diag.line);
        tpfw_diag_clear(&diag);
}

static char *data_copy(const TpfwDirect *d, size_t *ret_len)
{
        const char *data = tpfw_direct_data(d, ret_len);

        return g_memdup2(data, *ret_len + 1);
}

/* Number of "--comment tproxy-firewalld/..." values in argv. */
static size_t count_tags(char **argv)
{
        size_t n = 0;

        for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++)
                if (strcmp(argv[i], "--comment") == 0 &&
                    g_str_has_prefix(argv[i + 1], TPFW_OWNER_TAG_PREFIX))
                        n++;
        return n;
}

/* ---- validation corpus ---- */

/* tpfw_direct_check() says what tpfw_direct_parse() said (r, d or diag) of the same bytes. */
static void check_as_parse(const char *name, const char *data, size_t len, int r,
                           const TpfwDirect *d, const TpfwDiag *diag)
{
        TpfwDiag cd = TPFW_DIAG_INIT, why = TPFW_DIAG_INIT;
        g_autofree char *not_editable = NULL;
        g_autofree char *want_not_editable = NULL;
        size_t n = (size_t)-1;

        assert_int_equal(tpfw_direct_check(name, data, len, &n, &not_editable, &cd), r);
        if (r < 0) {
                assert_string_equal(cd.message, diag->message);
                assert_int_equal(cd.line, diag->line);
        } else {
                assert_int_equal(n, tpfw_direct_n_entries(d));
                if (!tpfw_direct_is_editable(d, &why))
                        want_not_editable = tpfw_diag_format(&why);
                assert_true(g_strcmp0(not_editable, want_not_editable) == 0);
        }
        tpfw_diag_clear(&cd);
        tpfw_diag_clear(&why);
}

static void test_corpus(void **state)
{
        size_t len, n = 0;
        g_autofree char *expected = test_read_fixture(CORPUS "/EXPECTED", &len);
        g_auto(GStrv) lines = g_strsplit(expected, "\n", -1);

        for (size_t i = 0; lines[i]; i++) {
                g_auto(GStrv) f = NULL;
                g_autofree char *rel = NULL;
                g_autofree char *data = NULL;
                TpfwDiag diag = TPFW_DIAG_INIT;
                TpfwDirect *d = NULL;
                const char *verdict = NULL;
                size_t dlen;
                bool want_accept;
                int r;

                if (!lines[i][0] || lines[i][0] == '#')
                        continue;
                f = g_strsplit_set(g_strstrip(lines[i]), " \t", -1);
                for (size_t k = 1; f[k] && !verdict; k++)
                        if (*f[k])
                                verdict = f[k];
                assert_non_null(verdict);
                want_accept = strcmp(verdict, "accept") == 0;
                assert_true(want_accept || strcmp(verdict, "reject") == 0);
                rel = g_strdup_printf(CORPUS "/%s", f[0]);
                data = test_read_fixture(rel, &dlen);
                r = tpfw_direct_parse(f[0], data, dlen, &d, &diag);
                if (want_accept && r < 0)
                        fail_msg("%s: rejected: %s (line %u)", f[0], diag.message, diag.line);
                if (!want_accept && r >= 0)
                        fail_msg("%s: accepted, expected reject", f[0]);
                if (r < 0) {
                        assert_int_equal(r, -EINVAL);
                        assert_non_null(diag.message);
                        assert_null(strchr(diag.message, '\n'));
                }
                check_as_parse(f[0], data, dlen, r, d, &diag);
                tpfw_direct_free(d);
                tpfw_diag_clear(&diag);
                n++;
        }
        assert_true(n >= 45);
}

/* Reject messages are firewalld's, with the line of the offending element. */
static void test_messages(void **state)
{
        static const struct {
                const char *file;
                unsigned line;
                const char *message;
        } cases[] = {
                {"invalid-unknown-element.xml", 3, "Unexpected element zone"},
                {"invalid-chain-owner-attribute.xml", 3, "chain: Unexpected attribute owner"},
                {"invalid-missing-ipv.xml", 3, "Missing attribute ipv for rule"},
                {"invalid-ipv-uppercase.xml", 3, "invalid ipv 'IPv4'"},
                {"invalid-table.xml", 3, "invalid table 'bogus' for ipv4"},
                {"invalid-priority-hex.xml", 3, "invalid priority '0x10'"},
                {"invalid-unbalanced-quote.xml", 3, "No closing quotation"},
                {"invalid-trailing-backslash.xml", 3, "No escaped character"},
                {"invalid-nested-direct.xml", 3, "More than one direct tag."},
                {"invalid-xmlns-default.xml", 2, "direct: Unexpected attribute xmlns"},
                {"invalid-xmlns-prefixed.xml", 2, "direct: Unexpected attribute xmlns:t"},
                {"invalid-undeclared-prefix-attribute.xml", 3,
                 "rule: Unexpected attribute t:owner"},
                {"invalid-xml-space.xml", 3, "rule: Unexpected attribute xml:space"},
                {"invalid-prefixed-element.xml", 3, "Unexpected element t:rule"},
                {"invalid-root-attribute.xml", 2, "direct: Unexpected attribute version"},
                {"invalid-empty-file.xml", 1, "Not a valid file: no element found"},
                {"invalid-passthrough-ipv.xml", 3, "invalid ipv 'ipv9'"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *rel = g_strdup_printf(CORPUS "/%s", cases[i].file);
                g_autofree char *data = NULL;
                TpfwDiag diag = TPFW_DIAG_INIT;
                TpfwDirect *d = NULL;
                size_t len;

                data = test_read_fixture(rel, &len);
                assert_int_equal(tpfw_direct_parse(cases[i].file, data, len, &d, &diag), -EINVAL);
                if (!diag.message || strcmp(diag.message, cases[i].message) != 0 ||
                    diag.line != cases[i].line)
                        fail_msg("%s: got '%s' line %u, want '%s' line %u", cases[i].file,
                                 diag.message, diag.line, cases[i].message, cases[i].line);
                assert_string_equal(diag.file, cases[i].file);
                tpfw_diag_clear(&diag);
        }
}

static void test_priority_values(void **state)
{
        g_autoptr(TpfwDirect) d = parse_fixture(CORPUS "/valid-priority-forms.xml");
        static const int want[] = {7, 7, 1000, -1, 0, -3};

        assert_int_equal(tpfw_direct_n_entries(d), G_N_ELEMENTS(want));
        for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
                assert_int_equal(tpfw_direct_entry(d, i)->priority, want[i]);

        g_autoptr(TpfwDirect) e = parse_fixture(CORPUS "/valid-priority-int32-edges.xml");
        assert_int_equal(tpfw_direct_entry(e, 0)->priority, G_MAXINT32);
        assert_int_equal(tpfw_direct_entry(e, 1)->priority, G_MININT32);
        g_autoptr(TpfwDirect) a = parse_fixture(CORPUS "/valid-priority-arabic-digit.xml");
        assert_int_equal(tpfw_direct_entry(a, 0)->priority, 3);
}

static void assert_argv(const TpfwEntry *e, const char *const *want)
{
        size_t n = tpfw_strv_length((const char *const *)e->argv);

        assert_int_equal(n, tpfw_strv_length(want));
        for (size_t i = 0; i < n; i++)
                assert_string_equal(e->argv[i], want[i]);
}

/* Text is built like firewalld: comments vanish, LF reads as space, CDATA and references count. */
static void test_entry_text(void **state)
{
        g_autoptr(TpfwDirect) c = parse_fixture(CORPUS "/valid-comments.xml");
        assert_argv(tpfw_direct_entry(c, 0),
                    (const char *const[]){"-p", "tcp--dport", "22", "-j", "RETURN", NULL});
        assert_int_equal(tpfw_direct_entry(c, 0)->line, 5);

        g_autoptr(TpfwDirect) x = parse_fixture(CORPUS "/valid-cdata.xml");
        assert_argv(tpfw_direct_entry(x, 0), (const char *const[]){"-m", "comment", "--comment",
                                                                   "a<b>&c", "-j", "RETURN", NULL});
        g_autoptr(TpfwDirect) q = parse_fixture(CORPUS "/valid-shell-quoting.xml");
        assert_argv(tpfw_direct_entry(q, 0), (const char *const[]){"-m", "comment", "--comment",
                                                                   "ab cd", "-j", "RETURN", NULL});
        assert_argv(tpfw_direct_entry(q, 1),
                    (const char *const[]){"--log-prefix", "it's ", "-j", "LOG", NULL});
        assert_argv(tpfw_direct_entry(q, 2), (const char *const[]){"-m", "comment", "--comment",
                                                                   "x  y", "-j", "RETURN", NULL});
        assert_argv(tpfw_direct_entry(q, 3), (const char *const[]){"a b", NULL});
        g_autoptr(TpfwDirect) r = parse_fixture(CORPUS "/valid-character-references.xml");
        assert_argv(tpfw_direct_entry(r, 0), (const char *const[]){"-j", "RETURN", NULL});

        /* a rule without text is ignored by firewalld: no entry */
        g_autoptr(TpfwDirect) e = parse_fixture(CORPUS "/valid-bad-table-empty-rule.xml");
        assert_int_equal(tpfw_direct_n_entries(e), 0);
        g_autoptr(TpfwDirect) w = parse_fixture(CORPUS "/valid-rule-whitespace-text.xml");
        assert_int_equal(tpfw_direct_n_entries(w), 1);
        assert_null(tpfw_direct_entry(w, 0)->argv[0]);

        g_autoptr(TpfwDirect) b = parse_fixture(CORPUS "/valid-basic.xml");
        assert_int_equal(tpfw_direct_n_entries(b), 4);
        assert_int_equal(tpfw_direct_entry(b, 0)->kind, TPFW_ENTRY_CHAIN);
        assert_string_equal(tpfw_direct_entry(b, 0)->chain, "TPROXY_KUMA");
        assert_int_equal(tpfw_direct_entry(b, 3)->kind, TPFW_ENTRY_PASSTHROUGH);
        assert_string_equal(tpfw_direct_entry(b, 3)->ipv, "ipv6");
        assert_int_equal(tpfw_direct_entry(b, 3)->line, 6);
}

/* Encodings firewalld reads are accepted, but only UTF-8 files are edited. */
static void test_encodings(void **state)
{
        static const char *const readonly[] = {"valid-utf16le-bom.xml", "valid-utf16be-bom.xml",
                                               "valid-latin1-declared.xml"};
        g_autoptr(TpfwRuleset) rs = demo_ruleset("kuma", "15001");

        for (size_t i = 0; i < G_N_ELEMENTS(readonly); i++) {
                g_autofree char *rel = g_strdup_printf(CORPUS "/%s", readonly[i]);
                g_autoptr(TpfwDirect) d = parse_fixture(rel);
                TpfwDiag diag = TPFW_DIAG_INIT;
                TpfwMergeResult res;
                size_t before, after;
                g_autofree char *orig = data_copy(d, &before);

                assert_int_equal(tpfw_direct_n_entries(d), 1);
                assert_non_null(tpfw_direct_entry(d, 0)->argv[0]);
                assert_false(tpfw_direct_is_editable(d, &diag));
                assert_non_null(strstr(diag.message, "UTF-8"));
                tpfw_diag_clear(&diag);
                assert_int_equal(merge(d, "kuma", rs, 0, &res, &diag), -EOPNOTSUPP);
                assert_non_null(diag.message);
                tpfw_diag_clear(&diag);
                assert_memory_equal(tpfw_direct_data(d, &after), orig, before);
                assert_int_equal(after, before);
                /* nothing to change: fine even when not editable */
                merge_ok(d, "kuma", NULL, 0, &res);
                assert_false(res.changed);
        }
        g_autoptr(TpfwDirect) u16 = parse_fixture(CORPUS "/valid-utf16le-bom.xml");
        assert_string_equal(tpfw_direct_entry(u16, 0)->argv[3], "caf\xc3\xa9");
        g_autoptr(TpfwDirect) bom = parse_fixture(CORPUS "/valid-utf8-bom.xml");
        assert_true(tpfw_direct_is_editable(bom, NULL));
}

/* ---- hostile input ---- */

static void expect_refused(const char *name, const char *data, size_t len, int err)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwDirect *d = NULL;

        assert_int_equal(tpfw_direct_parse(name, data, len, &d, &diag), err);
        assert_null(d);
        assert_non_null(diag.message);
        assert_null(strchr(diag.message, '\n'));
        tpfw_diag_clear(&diag);
}

static void test_hostile(void **state)
{
        static const char *const files[] = {
                "invalid-doctype-entity-bomb.xml", "doctype-external-entity.xml",
                "doctype-internal-entity.xml",     "invalid-nul-byte.xml",
                "invalid-utf8-bad-bytes.xml",      "invalid-latin1-undeclared.xml"};
        static const char nul_inside[] = "<direct>\n  <rule ipv=\"ipv4\" table=\"nat\" chain=\"X\" "
                                         "priority=\"0\">-j\0RETURN</rule>\n</direct>\n";
        char *huge;

        for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
                g_autofree char *rel = g_strdup_printf(CORPUS "/%s", files[i]);
                size_t len;
                g_autofree char *data = test_read_fixture(rel, &len);

                expect_refused(files[i], data, len, -EINVAL);
        }
        expect_refused("nul", nul_inside, sizeof(nul_inside) - 1, -EINVAL);

        /* over the cap: refused before parsing */
        huge = g_malloc(TPFW_DIRECT_MAX_SIZE + 2);
        memset(huge, ' ', TPFW_DIRECT_MAX_SIZE + 1);
        memcpy(huge, "<direct>", 8);
        memcpy(huge + TPFW_DIRECT_MAX_SIZE - 8, "</direct>", 9);
        expect_refused("huge", huge, TPFW_DIRECT_MAX_SIZE + 1, -EFBIG);
        g_free(huge);

        /* the DOCTYPE diagnostic names its line */
        {
                TpfwDiag diag = TPFW_DIAG_INIT;
                TpfwDirect *d = NULL;
                size_t len;
                g_autofree char *data =
                        test_read_fixture(CORPUS "/invalid-doctype-entity-bomb.xml", &len);

                assert_int_equal(tpfw_direct_parse("bomb", data, len, &d, &diag), -EINVAL);
                assert_non_null(strstr(diag.message, "DOCTYPE"));
                assert_int_equal(diag.line, 2);
                tpfw_diag_clear(&diag);
        }
}

/* ---- merge ---- */

static void test_merge_roundtrip(void **state)
{
        size_t orig_len, len1, len2;
        g_autofree char *orig = test_read_fixture(MERGE "/foreign.xml", &orig_len);
        g_autoptr(TpfwDirect) d = parse_ok("foreign.xml", orig, orig_len);
        g_autoptr(TpfwRuleset) rs = demo_ruleset("kuma", "15001");
        g_autoptr(TpfwRuleset) mine = NULL;
        g_autofree char *installed = NULL;
        TpfwMergeResult res;
        size_t tagged = 0;

        merge_ok(d, "kuma", rs, 0, &res);
        assert_true(res.changed);
        assert_int_equal(res.added, 8);
        assert_int_equal(res.removed, 0);
        installed = data_copy(d, &len1);
        check_golden(MERGE "/foreign.install.expected", installed, len1);

        /* the owner's entries read back equal to what was installed */
        assert_int_equal(tpfw_direct_owner_ruleset(d, "kuma", &mine, NULL), 0);
        assert_true(tpfw_ruleset_equal(mine, rs));
        for (size_t i = 0; i < tpfw_direct_n_entries(d); i++) {
                const TpfwEntry *e = tpfw_direct_entry(d, i);
                if (e->kind == TPFW_ENTRY_RULE &&
                    tpfw_argv_has_owner((const char *const *)e->argv, "kuma")) {
                        assert_int_equal(count_tags(e->argv), 1);
                        assert_string_equal(e->argv[2], "--comment");
                        tagged++;
                }
        }
        assert_int_equal(tagged, 6);

        /* twice: no change, bytes untouched */
        merge_ok(d, "kuma", rs, 0, &res);
        assert_false(res.changed);
        assert_memory_equal(tpfw_direct_data(d, &len2), installed, len1);
        assert_int_equal(len2, len1);

        /* a changed ruleset replaces the block in place */
        {
                g_autoptr(TpfwRuleset) rs2 = demo_ruleset("kuma", "15002");
                g_autofree char *changed = NULL;

                merge_ok(d, "kuma", rs2, 0, &res);
                assert_true(res.changed);
                assert_int_equal(res.added, 2);
                assert_int_equal(res.removed, 2);
                changed = data_copy(d, &len2);
                check_golden(MERGE "/foreign.change.expected", changed, len2);
        }

        /* uninstall gives back the original bytes */
        merge_ok(d, "kuma", NULL, 0, &res);
        assert_true(res.changed);
        assert_int_equal(res.removed, 8);
        assert_int_equal(res.added, 0);
        assert_memory_equal(tpfw_direct_data(d, &len2), orig, orig_len);
        assert_int_equal(len2, orig_len);
}

static void test_merge_two_owners(void **state)
{
        size_t orig_len, len_a, len;
        g_autofree char *orig = test_read_fixture(MERGE "/foreign.xml", &orig_len);
        g_autoptr(TpfwDirect) d = parse_ok("foreign.xml", orig, orig_len);
        g_autoptr(TpfwRuleset) a = demo_ruleset("kuma", "15001");
        g_autoptr(TpfwRuleset) b = demo_ruleset("istio", "15002");
        g_autoptr(TpfwRuleset) a_after = NULL;
        g_autoptr(TpfwRuleset) b_after = NULL;
        g_autofree char *after_a = NULL;
        TpfwOwnerCount *counts = NULL;
        size_t n = 0;
        TpfwMergeResult res;

        merge_ok(d, "kuma", a, 0, &res);
        after_a = data_copy(d, &len_a);
        /* the same unmarked-free rules under another owner are no conflict */
        merge_ok(d, "istio", b, 0, &res);
        assert_true(res.changed);
        assert_int_equal(tpfw_direct_owner_ruleset(d, "kuma", &a_after, NULL), 0);
        assert_true(tpfw_ruleset_equal(a_after, a));
        assert_int_equal(tpfw_direct_owner_ruleset(d, "istio", &b_after, NULL), 0);
        assert_true(tpfw_ruleset_equal(b_after, b));
        /* the second owner's block goes after the first owner's, which stays byte for byte */
        {
                const char *tail = strstr(after_a, "\n\n</direct>");
                assert_non_null(tail);
                assert_memory_equal(tpfw_direct_data(d, &len), after_a, (size_t)(tail - after_a));
        }

        assert_int_equal(tpfw_direct_list_owners(d, &counts, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(counts[0].owner, "istio");
        assert_int_equal(counts[0].rules, 6);
        assert_int_equal(counts[0].chains, 2);
        assert_string_equal(counts[1].owner, "kuma");
        assert_int_equal(counts[1].rules, 6);
        assert_int_equal(counts[1].chains, 2);
        tpfw_owner_counts_free(counts, n);

        merge_ok(d, "istio", NULL, 0, &res);
        assert_int_equal(res.removed, 8);
        tpfw_direct_data(d, &len);
        assert_int_equal(len, len_a);
        assert_memory_equal(tpfw_direct_data(d, &len), after_a, len_a);
        merge_ok(d, "kuma", NULL, 0, &res);
        assert_memory_equal(tpfw_direct_data(d, &len), orig, orig_len);
}

static void test_merge_conflicts(void **state)
{
        static const char foreign_chain[] =
                "<direct>\n  <chain ipv=\"ipv4\" table=\"nat\" chain=\"TP_KUMA_OUT\"/>\n"
                "  <rule ipv=\"ipv4\" table=\"nat\" chain=\"OUTPUT\" priority=\"0\">-j "
                "ACCEPT</rule>\n"
                "</direct>\n";
        static const char unmarked_copy[] =
                "<direct>\n  <rule ipv=\"ipv4\" table=\"nat\" chain=\"OUTPUT\" priority=\"9\">"
                "-p udp --dport 53 -m owner --uid-owner 5678 -j RETURN</rule>\n</direct>\n";
        g_autoptr(TpfwRuleset) rs = demo_ruleset("kuma", "15001");
        const struct {
                const char *data;
                size_t len;
                unsigned line;
        } cases[] = {{foreign_chain, sizeof(foreign_chain) - 1, 2},
                     {unmarked_copy, sizeof(unmarked_copy) - 1, 2}};

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(TpfwDirect) d = parse_ok("c.xml", cases[i].data, cases[i].len);
                TpfwDiag diag = TPFW_DIAG_INIT;
                TpfwMergeResult res;
                size_t len;

                assert_int_equal(merge(d, "kuma", rs, 0, &res, &diag), -EEXIST);
                assert_int_equal(diag.line, cases[i].line);
                assert_non_null(strstr(diag.message, "conflict"));
                assert_null(strchr(diag.message, '\n'));
                assert_false(res.changed);
                assert_memory_equal(tpfw_direct_data(d, &len), cases[i].data, cases[i].len);
                tpfw_diag_clear(&diag);

                merge_ok(d, "kuma", rs, TPFW_MERGE_ADOPT, &res);
                assert_true(res.changed);
                assert_int_equal(res.removed, 1);
                assert_int_equal(res.added, 8);
                /* adopted: a second run is a no-op, uninstall drops it for good */
                merge_ok(d, "kuma", rs, 0, &res);
                assert_false(res.changed);
        }

        /* a rule of another owner jumping to our chain: the chain is shared, no conflict */
        {
                g_autoptr(TpfwDirect) d = tpfw_direct_new_empty("n.xml");
                g_autoptr(TpfwRuleset) other = tpfw_ruleset_new();
                TpfwMergeResult res;

                test_add_rule(other, TPFW_IPV4, "nat", "PREROUTING", 0, "-j TP_KUMA_OUT");
                assert_int_equal(tpfw_ruleset_tag(other, "other"), 0);
                merge_ok(d, "kuma", rs, 0, &res);
                merge_ok(d, "other", other, 0, &res);
                merge_ok(d, "kuma", NULL, 0, &res);
                /* the chain stays: another owner's rule still jumps to it */
                assert_int_equal(tpfw_direct_n_entries(d), 2);
                assert_int_equal(tpfw_direct_entry(d, 0)->kind, TPFW_ENTRY_CHAIN);
        }
}

/* kumactl --store-firewalld leftovers mixed with foreign entries. */
static void test_merge_kuma_legacy(void **state)
{
        size_t len, out_len;
        g_autofree char *data = test_read_fixture(MERGE "/legacy-mixed.xml", &len);
        g_autoptr(TpfwDirect) d = parse_ok("legacy-mixed.xml", data, len);
        g_autoptr(TpfwDirect) golden = parse_fixture(CORPUS "/valid-kumactl-store-firewalld.xml");
        g_autoptr(TpfwRuleset) rs = tpfw_ruleset_new();
        g_autofree char *out = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwMergeResult res;
        int prio = 0;

        /* what this tool would install for the same config: Kuma's rules, tagged, ordered */
        for (size_t i = 0; i < tpfw_direct_n_entries(golden); i++) {
                const TpfwEntry *e = tpfw_direct_entry(golden, i);
                if (e->kind == TPFW_ENTRY_CHAIN)
                        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, e->table, e->chain),
                                         0);
                else
                        assert_int_equal(tpfw_ruleset_add_rule(rs, TPFW_IPV4, e->table, e->chain,
                                                               prio++, (const char *const *)e->argv,
                                                               TPFW_RULE_APPEND, 0),
                                         0);
        }
        assert_int_equal(tpfw_ruleset_tag(rs, "kuma"), 0);

        /* without the flag, the declared chains conflict */
        assert_int_equal(merge(d, "kuma", rs, 0, &res, &diag), -EEXIST);
        assert_non_null(strstr(diag.message, "KUMA_MESH_INBOUND"));
        tpfw_diag_clear(&diag);

        merge_ok(d, "kuma", rs, TPFW_MERGE_ADOPT_KUMA_LEGACY, &res);
        assert_true(res.changed);
        assert_int_equal(res.removed, 18 + 2); /* kumactl's 18, a stray jump, a Kuma-comment rule */
        out = data_copy(d, &out_len);
        check_golden(MERGE "/legacy-mixed.install.expected", out, out_len);
        for (size_t i = 0; i < tpfw_direct_n_entries(d); i++) {
                const TpfwEntry *e = tpfw_direct_entry(d, i);
                g_autofree char *owner = NULL;

                if (e->kind != TPFW_ENTRY_RULE)
                        continue;
                owner = tpfw_argv_owner((const char *const *)e->argv);
                /* no unmarked Kuma rule survives; foreign rules do */
                if (!owner)
                        assert_null(strstr(e->chain, "KUMA_MESH"));
        }
        assert_non_null(strstr(out, "SITE_IN"));
        assert_non_null(strstr(out, "<!-- site rules -->"));
        /* uninstall leaves only the foreign entries */
        merge_ok(d, "kuma", NULL, 0, &res);
        assert_null(strstr(tpfw_direct_data(d, &len), "KUMA_MESH"));
        check_golden(MERGE "/legacy-mixed.uninstall.expected", tpfw_direct_data(d, &len), len);
}

static void test_new_and_selfclosing(void **state)
{
        g_autoptr(TpfwDirect) d = tpfw_direct_new_empty("/etc/firewalld/direct.xml");
        g_autoptr(TpfwRuleset) rs = demo_ruleset("kuma", "15001");
        g_autofree char *formatted = tpfw_direct_format_ruleset(rs);
        static const char empty[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n"
                                    "</direct>\n";
        static const char selfclosing[] = "<?xml version=\"1.0\"?>\n<!-- x -->\n<direct />\n";
        TpfwMergeResult res;
        size_t len;

        assert_non_null(d);
        assert_int_equal(tpfw_direct_n_entries(d), 0);
        merge_ok(d, "kuma", NULL, 0, &res);
        assert_false(res.changed);

        merge_ok(d, "kuma", rs, 0, &res);
        assert_true(res.changed);
        /* a new file is exactly what "generate --format direct-xml" prints */
        assert_string_equal(tpfw_direct_data(d, &len), formatted);
        check_golden(MERGE "/new.install.expected", formatted, strlen(formatted));
        merge_ok(d, "kuma", NULL, 0, &res);
        assert_string_equal(tpfw_direct_data(d, &len), empty);

        g_autoptr(TpfwDirect) s = parse_ok("s.xml", selfclosing, sizeof(selfclosing) - 1);
        merge_ok(s, "kuma", rs, 0, &res);
        assert_true(g_str_has_prefix(tpfw_direct_data(s, &len),
                                     "<?xml version=\"1.0\"?>\n<!-- x -->\n<direct ><chain "));
        assert_true(g_str_has_suffix(tpfw_direct_data(s, &len), "</rule>\n</direct>\n"));
        /* uninstall gives the self-closing root back, byte for byte */
        merge_ok(s, "kuma", NULL, 0, &res);
        assert_string_equal(tpfw_direct_data(s, &len), selfclosing);

        /* an empty ruleset formats as firewalld's empty file */
        {
                g_autoptr(TpfwRuleset) none = tpfw_ruleset_new();
                g_autofree char *f = tpfw_direct_format_ruleset(none);
                assert_string_equal(f, empty);
        }
}

/* firewalld's attribute and text escaping (FIREWALLD.md section 3). */
static void test_format_escaping(void **state)
{
        g_autoptr(TpfwRuleset) rs = tpfw_ruleset_new();
        g_autofree char *out = NULL;

        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", "A\"B"), 0);
        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", "A\"B'C&"), 0);
        test_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", -5,
                      "-m comment --comment 'a&b<c>' -j RETURN");
        out = tpfw_direct_format_ruleset(rs);
        assert_string_equal(
                out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n"
                     "  <chain ipv=\"ipv4\" table=\"nat\" chain='A\"B'/>\n"
                     "  <chain ipv=\"ipv4\" table=\"nat\" chain=\"A&quot;B'C&amp;\"/>\n"
                     "  <rule ipv=\"ipv4\" table=\"nat\" chain=\"OUTPUT\" priority=\"-5\">"
                     "-m comment --comment 'a&amp;b&lt;c&gt;' -j RETURN</rule>\n</direct>\n");
}

/* Editing never touches foreign bytes, even with comments and PIs holding markup. */
static void test_scanner_tricky(void **state)
{
        static const char tricky[] =
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?pi <direct> ?>\n<direct>"
                "<!-- <rule> --><chain ipv=\"ipv4\" table=\"nat\" chain=\"a>/b\"/>"
                "<rule ipv=\"ipv4\" table=\"nat\" chain=\"OUTPUT\" priority=\"0\">"
                "<![CDATA[-j </rule>]]><?x ?></rule></direct>";
        g_autoptr(TpfwDirect) d = parse_ok("t.xml", tricky, sizeof(tricky) - 1);
        g_autoptr(TpfwRuleset) rs = demo_ruleset("kuma", "15001");
        TpfwMergeResult res;
        size_t len;

        assert_true(tpfw_direct_is_editable(d, NULL));
        merge_ok(d, "kuma", rs, 0, &res);
        assert_true(
                g_str_has_prefix(tpfw_direct_data(d, &len),
                                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?pi <direct> ?>\n"
                                 "<direct><!-- <rule> --><chain ipv=\"ipv4\" table=\"nat\" "
                                 "chain=\"a>/b\"/><rule ipv=\"ipv4\" table=\"nat\" "
                                 "chain=\"OUTPUT\" priority=\"0\"><![CDATA[-j </rule>]]><?x "
                                 "?></rule>\n  <chain "));
        merge_ok(d, "kuma", NULL, 0, &res);
        assert_string_equal(tpfw_direct_data(d, &len), tricky);
}

static void test_schema(void **state)
{
        g_autofree char *schema = test_srcpath("schemas/direct.rng");
        static const char *const good[] = {"valid-basic.xml", "valid-comments.xml",
                                           "valid-kumactl-store-firewalld.xml",
                                           "valid-priority-forms.xml", "valid-eb-broute.xml"};
        static const char *const bad[] = {"invalid-chain-owner-attribute.xml",
                                          "invalid-table.xml",
                                          "invalid-priority-hex.xml",
                                          "invalid-unknown-element.xml",
                                          "invalid-wrong-root.xml",
                                          "invalid-table-eb-security.xml",
                                          "invalid-doctype-entity-bomb.xml"};

        for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
                g_autofree char *rel = g_strdup_printf(CORPUS "/%s", good[i]);
                size_t len;
                g_autofree char *data = test_read_fixture(rel, &len);
                TpfwDiag diag = TPFW_DIAG_INIT;
                int r = tpfw_direct_validate_schema(schema, data, len, &diag);

                if (r < 0)
                        fail_msg("%s: schema rejected: %s", good[i], diag.message);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *rel = g_strdup_printf(CORPUS "/%s", bad[i]);
                size_t len;
                g_autofree char *data = test_read_fixture(rel, &len);
                TpfwDiag diag = TPFW_DIAG_INIT;

                if (tpfw_direct_validate_schema(schema, data, len, &diag) != -EINVAL)
                        fail_msg("%s: schema accepted", bad[i]);
                assert_non_null(diag.message);
                assert_null(strchr(diag.message, '\n'));
                tpfw_diag_clear(&diag);
        }
        /* the golden outputs of the merge tests are schema-valid too */
        {
                size_t len;
                g_autofree char *data = test_read_fixture(MERGE "/foreign.install.expected", &len);
                assert_int_equal(tpfw_direct_validate_schema(schema, data, len, NULL), 0);
        }
}

/* Parse + install + uninstall over n foreign entries: the bytes come back, the entries count. */
static void roundtrip(int n)
{
        g_autoptr(GString) s =
                g_string_new("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n");
        g_autoptr(TpfwRuleset) rs = demo_ruleset("kuma", "15001");
        g_autoptr(TpfwDirect) d = NULL;
        TpfwMergeResult res;
        size_t len;

        for (int i = 0; i < n; i++)
                g_string_append_printf(s,
                                       "  <rule ipv=\"ipv4\" table=\"filter\" chain=\"C%d\" "
                                       "priority=\"%d\">-p tcp --dport %d -j ACCEPT</rule>\n",
                                       i % 100, i % 7, i);
        g_string_append(s, "</direct>\n");
        d = parse_ok("big.xml", s->str, s->len);
        merge_ok(d, "kuma", rs, 0, &res);
        assert_int_equal(tpfw_direct_n_entries(d), (size_t)n + 8);
        merge_ok(d, "kuma", NULL, 0, &res);
        assert_int_equal(tpfw_direct_n_entries(d), (size_t)n);
        assert_memory_equal(tpfw_direct_data(d, &len), s->str, s->len);
}

/* A file of 10,000 foreign entries round-trips. How the time grows with the size is make bench's
 * to measure (bench/results.md), not a test's. */
static void test_large_file(void **state)
{
        roundtrip(10000);
}

/* ---- helper mode for the Python tests (tests/cli/test_*_oracle.py) ---- */

static int helper(int argc, char **argv)
{
        g_autofree char *data = NULL;
        gsize len = 0;
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwDirect *d = NULL;
        int r;

        if (argc == 2 && strcmp(argv[1], "--verdicts") == 0) {
                /* one verdict line per file named on stdin (the differential test's oracle) */
                char path[4096];

                while (fgets(path, sizeof(path), stdin)) {
                        path[strcspn(path, "\n")] = '\0';
                        g_clear_pointer(&data, g_free);
                        if (!g_file_get_contents(path, &data, &len, NULL))
                                return 2;
                        r = tpfw_direct_parse(path, data, len, &d, &diag);
                        if (r < 0) {
                                g_autofree char *m = tpfw_diag_format(&diag);
                                for (char *p = m; p && *p; p++)
                                        if (*p == '\n')
                                                *p = ' ';
                                printf("reject %s\n", m);
                        } else {
                                printf("accept %s\n",
                                       tpfw_direct_is_editable(d, NULL) ? "editable" : "-");
                        }
                        fflush(stdout);
                        d = tpfw_direct_free(d);
                        tpfw_diag_clear(&diag);
                }
                return 0;
        }
        if (argc == 3 && strcmp(argv[1], "--verdict") == 0) {
                if (!g_file_get_contents(argv[2], &data, &len, NULL))
                        return 2;
                r = tpfw_direct_parse(argv[2], data, len, &d, &diag);
                if (r < 0) {
                        g_autofree char *m = tpfw_diag_format(&diag);
                        printf("reject %s\n", m);
                } else {
                        printf("accept\n");
                }
                tpfw_direct_free(d);
                tpfw_diag_clear(&diag);
                return 0;
        }
        if (argc == 4 &&
            (strcmp(argv[1], "--install") == 0 || strcmp(argv[1], "--uninstall") == 0)) {
                /* installs demo_ruleset(OWNER) into FILE (created when missing) */
                TpfwRuleset *rs = NULL;
                TpfwMergeResult res;

                if (g_file_get_contents(argv[2], &data, &len, NULL))
                        r = tpfw_direct_parse(argv[2], data, len, &d, &diag);
                else
                        r = (d = tpfw_direct_new_empty(argv[2])) ? 0 : -ENOMEM;
                if (r >= 0) {
                        if (strcmp(argv[1], "--install") == 0)
                                rs = demo_ruleset(argv[3], "15001");
                        r = tpfw_direct_merge(d, argv[3], rs, 0, &res, &diag);
                }
                if (r >= 0 && res.changed) {
                        const char *out = tpfw_direct_data(d, &len);
                        r = g_file_set_contents(argv[2], out, (gssize)len, NULL) ? 0 : -EIO;
                }
                if (r < 0) {
                        g_autofree char *m = tpfw_diag_format(&diag);
                        fprintf(stderr, "error %d: %s\n", r, m ? m : "");
                }
                tpfw_ruleset_free(rs);
                tpfw_direct_free(d);
                tpfw_diag_clear(&diag);
                return r < 0 ? 1 : 0;
        }
        if (argc >= 7 && strcmp(argv[1], "--format-rule") == 0) {
                /* prints the element we write for IPV TABLE CHAIN PRIORITY ARG... */
                TpfwRuleset *rs = tpfw_ruleset_new();
                TpfwIpv ipv;
                char *out;

                if (tpfw_ipv_from_name(argv[2], &ipv) < 0 ||
                    tpfw_ruleset_add_rule(rs, ipv, argv[3], argv[4], atoi(argv[5]),
                                          (const char *const *)argv + 6, TPFW_RULE_APPEND, 0) < 0)
                        return 2;
                out = tpfw_direct_format_ruleset(rs);
                fputs(out, stdout);
                free(out);
                tpfw_ruleset_free(rs);
                return 0;
        }
        fprintf(stderr,
                "usage: %s [--verdict FILE | --install FILE OWNER | --uninstall FILE OWNER | "
                "--format-rule IPV TABLE CHAIN PRIORITY ARG...]\n",
                argv[0]);
        return 2;
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_corpus),
                cmocka_unit_test(test_messages),
                cmocka_unit_test(test_priority_values),
                cmocka_unit_test(test_entry_text),
                cmocka_unit_test(test_encodings),
                cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_merge_roundtrip),
                cmocka_unit_test(test_merge_two_owners),
                cmocka_unit_test(test_merge_conflicts),
                cmocka_unit_test(test_merge_kuma_legacy),
                cmocka_unit_test(test_new_and_selfclosing),
                cmocka_unit_test(test_format_escaping),
                cmocka_unit_test(test_scanner_tricky),
                cmocka_unit_test(test_schema),
                cmocka_unit_test(test_large_file),
        };

        if (argc > 1)
                return helper(argc, argv);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
