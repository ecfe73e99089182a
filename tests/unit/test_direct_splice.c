/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for direct-splice.c: after every merge, the model that followed the edit equals the
 * model read from the new bytes (every element's place, every entry with its line, owner tag, key
 * hash and references), over every valid corpus file and a sequence of installs, changes,
 * adoptions and uninstalls of two owners.
 */
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/ruleset.h>

#include "direct-model.h"
#include "testrules.h"
#include "testutil.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwRuleset, tpfw_ruleset_free)

static void assert_strv_equal(char **a, char **b)
{
        size_t i = 0;

        for (; a && a[i] && b && b[i]; i++)
                assert_string_equal(a[i], b[i]);
        assert_null(a ? a[i] : NULL);
        assert_null(b ? b[i] : NULL);
}

/* d's model, field by field, against the one read from d's bytes afresh. */
static void assert_model_as_read(const TpfwDirect *d)
{
        g_autoptr(TpfwDirect) want = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;

        if (direct_parse("again", d->data, d->len, false, &want, &diag) < 0)
                fail_msg("the merged bytes do not parse: %s", diag.message);
        assert_int_equal(d->layout.editable, want->layout.editable);
        assert_int_equal(d->layout.root_start, want->layout.root_start);
        assert_int_equal(d->layout.root_tag_end, want->layout.root_tag_end);
        assert_int_equal(d->layout.root_self_closing, want->layout.root_self_closing);
        assert_int_equal(d->n_elements, want->n_elements);
        for (size_t k = 0; k < d->n_elements; k++) {
                const DirectElement *a = &d->elements[k], *b = &want->elements[k];

                assert_int_equal(a->span.ws_start, b->span.ws_start);
                assert_int_equal(a->span.start, b->span.start);
                assert_int_equal(a->span.end, b->span.end);
                assert_int_equal(a->entry, b->entry);
        }
        assert_int_equal(d->n_entries, want->n_entries);
        for (size_t i = 0; i < d->n_entries; i++) {
                const TpfwEntry *a = &d->entries[i], *b = &want->entries[i];
                g_auto(GStrv) argv_a = direct_entry_argv_dup(d, i);
                g_auto(GStrv) argv_b = direct_entry_argv_dup(want, i);

                assert_int_equal(a->kind, b->kind);
                assert_string_equal(a->ipv, b->ipv);
                assert_true(g_strcmp0(a->table, b->table) == 0);
                assert_true(g_strcmp0(a->chain, b->chain) == 0);
                assert_int_equal(a->priority, b->priority);
                assert_int_equal(a->line, b->line);
                assert_strv_equal(argv_a, argv_b);
                assert_true(g_strcmp0(d->info[i].tag, want->info[i].tag) == 0);
                assert_true(d->info[i].key_hash == want->info[i].key_hash);
                assert_int_equal(d->info[i].element, want->info[i].element);
                assert_int_equal(d->info[i].kuma_legacy, want->info[i].kuma_legacy);
                assert_int_equal(d->info[i].refs, want->info[i].refs);
        }
        assert_int_equal(d->n_refs, want->n_refs);
        for (size_t k = 0; k < 2 * d->n_refs; k++)
                assert_string_equal(d->refs[k], want->refs[k]);
}

/* An owner's rules: a chain of its own per family, jumps to it, a rule with a newline (two lines)
 * and one that references another chain; port makes a changed version. */
static TpfwRuleset *ruleset(const char *owner, unsigned port)
{
        TpfwRuleset *rs = tpfw_ruleset_new();
        g_autofree char *up = g_ascii_strup(owner, -1);
        g_autofree char *own = g_strdup_printf("SPLICE_%s", up);
        g_autofree char *jump = g_strdup_printf("-p tcp -j %s", own);
        g_autofree char *redirect = g_strdup_printf("-p tcp -j REDIRECT --to-ports %u", port);

        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV4, "nat", own), 0);
        assert_int_equal(tpfw_ruleset_add_chain(rs, TPFW_IPV6, "nat", own), 0);
        test_add_rule(rs, TPFW_IPV4, "nat", "OUTPUT", 1, jump);
        test_add_rule(rs, TPFW_IPV4, "nat", own, 0, redirect);
        test_add_rule(rs, TPFW_IPV4, "filter", "INPUT", -2,
                      "-m comment --comment 'two\nlines' -j ACCEPT");
        test_add_rule(rs, TPFW_IPV6, "nat", "OUTPUT", port % 3, jump);
        test_add_rule(rs, TPFW_IPV6, "nat", own, 0, redirect);
        assert_int_equal(tpfw_ruleset_tag(rs, owner), 0);
        return rs;
}

static void merge_checked(TpfwDirect *d, const char *owner, const TpfwRuleset *rs, unsigned flags)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwMergeResult res;
        int r = tpfw_direct_merge(d, owner, rs, flags, &res, &diag);

        if (r == -EEXIST || r == -EOPNOTSUPP) {
                /* a conflict or a file the tool does not edit: nothing changed */
                tpfw_diag_clear(&diag);
                assert_model_as_read(d);
                return;
        }
        if (r < 0)
                fail_msg("%s: merge failed %d: %s", d->name, r, diag.message);
        assert_model_as_read(d);
}

/* The sequence, on one document: install, change, a second owner, adoption, uninstalls. */
static void run_sequence(TpfwDirect *d, bool with_argv)
{
        g_autoptr(TpfwRuleset) a = ruleset("kuma", 15001);
        g_autoptr(TpfwRuleset) a2 = ruleset("kuma", 15002);
        g_autoptr(TpfwRuleset) b = ruleset("istio", 15006);

        if (with_argv) /* as the live apply leaves it: every entry's argv read */
                for (size_t i = 0; i < d->n_entries; i++)
                        (void)direct_entry_argv(d, i);
        merge_checked(d, "kuma", a, 0);
        merge_checked(d, "kuma", a2, 0);
        merge_checked(d, "istio", b, 0);
        merge_checked(d, "kuma", a, TPFW_MERGE_ADOPT | TPFW_MERGE_ADOPT_KUMA_LEGACY);
        merge_checked(d, "kuma", NULL, 0);
        merge_checked(d, "istio", a2, TPFW_MERGE_ADOPT);
        merge_checked(d, "istio", NULL, 0);
        merge_checked(d, "kuma", NULL, TPFW_MERGE_ADOPT_KUMA_LEGACY);
}

static void test_corpus(void **state)
{
        g_autofree char *dir = test_srcpath("fixtures/direct/corpus");
        g_autoptr(GDir) gd = g_dir_open(dir, 0, NULL);
        const char *name;
        size_t files = 0;

        assert_non_null(gd);
        while ((name = g_dir_read_name(gd))) {
                g_autofree char *path = g_build_filename(dir, name, NULL);
                g_autofree char *data = NULL;
                gsize len;

                if (!g_str_has_suffix(name, ".xml") ||
                    !g_file_get_contents(path, &data, &len, NULL))
                        continue;
                for (int with_argv = 0; with_argv < 2; with_argv++) {
                        g_autoptr(TpfwDirect) d = NULL;

                        if (direct_parse(name, data, len, false, &d, NULL) < 0)
                                break;
                        run_sequence(d, with_argv);
                        files += !with_argv;
                }
        }
        assert_true(files >= 20);
}

/* Shapes the corpus may lack: empty root, self-closing root, CR line ends, comments and text
 * between the elements, an entry firewalld ignores, an owner's entries scattered. */
static void test_shapes(void **state)
{
        static const char *const shapes[] = {
                "<direct/>",
                "<?xml version=\"1.0\"?>\n<direct>\n</direct>\n",
                "<direct>\r\n  <chain ipv=\"ipv4\" table=\"nat\" chain=\"X\"/>\r\n</direct>\r\n",
                "<direct><!-- a --><chain ipv=\"ipv4\" table=\"nat\" chain=\"X\"/>text<?pi x?>"
                "<rule ipv=\"ipv4\" table=\"nat\" chain=\"X\" priority=\"0\"/>\n\n"
                "<passthrough ipv=\"ipv6\">-t nat -A X\n-j RETURN</passthrough></direct>",
                "<direct>\n  <rule ipv=\"ipv4\" table=\"nat\" chain=\"KUMA_MESH_OUTBOUND\" "
                "priority=\"0\">-j RETURN</rule>\n  <chain ipv=\"ipv4\" table=\"nat\" "
                "chain=\"KUMA_MESH_OUTBOUND\"/>\n</direct>\n",
        };
        g_autoptr(TpfwRuleset) a = ruleset("kuma", 15001);
        g_autoptr(TpfwRuleset) b = ruleset("istio", 15006);

        for (size_t s = 0; s < G_N_ELEMENTS(shapes); s++) {
                g_autoptr(TpfwDirect) d = NULL;

                assert_int_equal(
                        direct_parse("shape", shapes[s], strlen(shapes[s]), false, &d, NULL), 0);
                run_sequence(d, false);
                /* scattered: the other owner's block between two installs of this one */
                merge_checked(d, "kuma", a, 0);
                merge_checked(d, "istio", b, 0);
                merge_checked(d, "kuma", NULL, 0);
                merge_checked(d, "kuma", a, 0);
                merge_checked(d, "istio", NULL, 0);
                merge_checked(d, "kuma", NULL, 0);
        }
}

/* A block beyond ASCII in a file whose declaration allows ASCII only: the merge refuses it by name
 * rather than write what firewalld rejects (the block alone would read well). */
static void test_non_ascii_into_ascii_file(void **state)
{
        static const char ascii[] = "<?xml version=\"1.0\" encoding=\"us-ascii\"?>\n<direct>\n"
                                    "</direct>\n";
        static const char utf8[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n"
                                   "</direct>\n";
        g_autoptr(TpfwRuleset) rs = tpfw_ruleset_new();
        g_autoptr(TpfwDirect) d = NULL;
        g_autoptr(TpfwDirect) u = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwMergeResult res;

        test_add_rule(rs, TPFW_IPV4, "filter", "INPUT", 0,
                      "-m comment --comment caf\xc3\xa9 -j ACCEPT");
        assert_int_equal(tpfw_ruleset_tag(rs, "kuma"), 0);
        assert_int_equal(direct_parse("ascii", ascii, strlen(ascii), false, &d, NULL), 0);
        assert_int_equal(tpfw_direct_merge(d, "kuma", rs, 0, &res, &diag), -EINVAL);
        assert_non_null(strstr(diag.message, "its encoding \"us-ascii\" allows ASCII only"));
        assert_false(res.changed);
        tpfw_diag_clear(&diag);
        assert_model_as_read(d);
        /* the same into a UTF-8 file is fine */
        assert_int_equal(direct_parse("utf8", utf8, strlen(utf8), false, &u, NULL), 0);
        merge_checked(u, "kuma", rs, 0);
        assert_non_null(strstr(u->data, "caf\xc3\xa9"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_corpus),
                cmocka_unit_test(test_shapes),
                cmocka_unit_test(test_non_ascii_into_ascii_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
