/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the direct.xml engine: parse, merge an owner's rules, serialise, undo. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/import.h>
#include <tproxy-firewalld/ruleset.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef TPFW_SRCDIR
#define TPFW_SRCDIR "."
#endif

/* A small ruleset for an owner that no seed file mentions: a custom chain, -I and -A rules. */
static const char small_rules[] = "*nat\n"
                                  "-N FUZZ_CHAIN\n"
                                  "-I OUTPUT 1 -p tcp -j FUZZ_CHAIN\n"
                                  "-A FUZZ_CHAIN -p tcp --dport 80 -j REDIRECT --to-ports 8080\n"
                                  "-A PREROUTING -m comment --comment \"fuzz me\" -j RETURN\n"
                                  "COMMIT\n";

static TpfwRuleset *import_text(const char *text, size_t len)
{
        TpfwRuleset *rs = NULL;

        if (tpfw_import_iptables_restore("fuzz-desired", text, len, TPFW_IPV4, &rs, NULL) < 0)
                abort();
        return rs;
}

/* Kuma's default rules (what kumactl --dry-run prints), the likeliest collision with real files. */
static const TpfwRuleset *kuma_untagged(void)
{
        static TpfwRuleset *rs;

        if (!rs) {
                g_autofree char *text = NULL;
                gsize len = 0;

                if (!g_file_get_contents(TPFW_SRCDIR "/fixtures/generate/defaults.txt", &text, &len,
                                         NULL))
                        abort();
                rs = import_text(text, len);
        }
        return rs;
}

static TpfwRuleset *tagged(const TpfwRuleset *src, const char *owner)
{
        TpfwRuleset *rs = tpfw_ruleset_copy(src);

        if (tpfw_ruleset_tag(rs, owner) < 0)
                abort();
        return rs;
}

static char *chain_key(const char *ipv, const char *table, const char *chain)
{
        return g_strdup_printf("%s %s %s", ipv, table, chain);
}

static void add_chains(GHashTable *set, const TpfwRuleset *rs)
{
        for (size_t i = 0; rs && i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);

                g_hash_table_add(set, chain_key(tpfw_ipv_name(c->ipv), c->table, c->chain));
        }
}

/*
 * The entries owner does not own, in document order, each as one comparable string: every
 * passthrough, every rule without owner's tag, every chain outside owned_chains.
 */
static GPtrArray *foreign_entries(const TpfwDirect *d, const char *owner, GHashTable *owned_chains)
{
        GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

        for (size_t i = 0; i < tpfw_direct_n_entries(d); i++) {
                const TpfwEntry *e = tpfw_direct_entry(d, i);
                g_autofree char *args = NULL;

                if (e->kind == TPFW_ENTRY_RULE &&
                    tpfw_argv_has_owner((const char *const *)e->argv, owner))
                        continue;
                if (e->kind == TPFW_ENTRY_CHAIN) {
                        g_autofree char *key = chain_key(e->ipv, e->table, e->chain);

                        if (g_hash_table_contains(owned_chains, key))
                                continue;
                }
                args = e->argv ? g_strjoinv("\x1f", e->argv) : g_strdup("");
                g_ptr_array_add(out, g_strdup_printf("%d|%s|%s|%s|%d|%s", (int)e->kind, e->ipv,
                                                     e->table ? e->table : "",
                                                     e->chain ? e->chain : "", e->priority, args));
        }
        return out;
}

static void assert_same_entries(const GPtrArray *a, const GPtrArray *b)
{
        if (a->len != b->len)
                abort();
        for (guint i = 0; i < a->len; i++)
                if (strcmp(a->pdata[i], b->pdata[i]) != 0)
                        abort();
}

static TpfwDirect *reparse(const TpfwDirect *d)
{
        TpfwDirect *again = NULL;
        size_t len;
        const char *bytes = tpfw_direct_data(d, &len);

        /* What the tool writes must load again: otherwise firewalld refuses it on reload. */
        if (tpfw_direct_parse("fuzz-output", bytes, len, &again, NULL) < 0)
                abort();
        return again;
}

static bool data_equals(const TpfwDirect *d, const void *bytes, size_t len)
{
        size_t dlen;
        const char *dbytes = tpfw_direct_data(d, &dlen);

        return dlen == len && memcmp(dbytes, bytes, len) == 0;
}

/*
 * Whether a foreign entry uses one of desired's chains (as its chain or any argument): uninstall
 * then keeps the declaration install added (DESIGN.md section 3), so the bytes differ.
 */
static bool shares_chain(const TpfwDirect *d, const char *owner, const TpfwRuleset *desired)
{
        for (size_t i = 0; i < tpfw_direct_n_entries(d); i++) {
                const TpfwEntry *e = tpfw_direct_entry(d, i);

                if (e->kind == TPFW_ENTRY_CHAIN ||
                    (e->kind == TPFW_ENTRY_RULE &&
                     tpfw_argv_has_owner((const char *const *)e->argv, owner)))
                        continue;
                for (size_t k = 0; k < tpfw_ruleset_n_chains(desired); k++) {
                        const char *name = tpfw_ruleset_chain(desired, k)->chain;

                        if (g_strcmp0(e->chain, name) == 0 ||
                            g_strv_contains((const char *const *)e->argv, name))
                                return true;
                }
        }
        return false;
}

/*
 * The one accepted difference after install + uninstall: a self-closing root "<direct/>" comes
 * back as "<direct>\n</direct>" (the same document for firewalld; merge does not remember the
 * original form).
 */
static bool is_expanded_root(const TpfwDirect *d, const uint8_t *data, size_t size)
{
        static GRegex *root;
        g_autofree char *text = g_strndup((const char *)data, size);
        g_autofree char *expanded = NULL;

        if (strlen(text) != size)
                return false;
        if (!root)
                root = g_regex_new("<direct[ \t\r\n]*/>", 0, 0, NULL);
        expanded = g_regex_replace_literal(root, text, -1, 0, "<direct>\n</direct>", 0, NULL);
        return expanded && strcmp(expanded, text) != 0 &&
               data_equals(d, expanded, strlen(expanded));
}

static TpfwRuleset *owner_rules(const TpfwDirect *d, const char *owner)
{
        TpfwRuleset *rs = NULL;

        if (tpfw_direct_owner_ruleset(d, owner, &rs, NULL) < 0)
                abort();
        return rs;
}

/*
 * After install, owner's rules are exactly desired's. Its chains are all declared, but a chain
 * that another rule also uses is shared, so the owner's derived view may leave it out.
 */
static void check_installed(const TpfwDirect *d, const TpfwRuleset *now, const TpfwRuleset *desired)
{
        TpfwRuleset *extra = NULL, *missing = NULL;

        tpfw_ruleset_diff(now, desired, &extra, &missing);
        if (tpfw_ruleset_n_rules(extra) || tpfw_ruleset_n_chains(extra) ||
            tpfw_ruleset_n_rules(missing))
                abort();
        for (size_t i = 0; i < tpfw_ruleset_n_chains(missing); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(missing, i);
                bool found = false;

                for (size_t k = 0; k < tpfw_direct_n_entries(d) && !found; k++) {
                        const TpfwEntry *e = tpfw_direct_entry(d, k);

                        found = e->kind == TPFW_ENTRY_CHAIN &&
                                strcmp(e->ipv, tpfw_ipv_name(c->ipv)) == 0 &&
                                strcmp(e->table, c->table) == 0 && strcmp(e->chain, c->chain) == 0;
                }
                if (!found)
                        abort();
        }
        tpfw_ruleset_free(extra);
        tpfw_ruleset_free(missing);
}

/* Installs desired for owner into the input, checks the properties, then uninstalls. */
static void scenario(const uint8_t *data, size_t size, const char *owner,
                     const TpfwRuleset *desired, const TpfwRuleset *legacy, unsigned flags)
{
        g_autoptr(GHashTable) owned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GPtrArray) foreign_before = NULL;
        g_autoptr(GPtrArray) foreign_after = NULL;
        g_autofree char *installed = NULL;
        TpfwMergeResult res = {0};
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwDirect *d = NULL, *again = NULL;
        TpfwRuleset *before = NULL, *now = NULL;
        bool owned_nothing, editable, shared;
        const char *bytes;
        size_t installed_len;
        int r;

        if (tpfw_direct_parse("fuzz", (const char *)data, size, &d, NULL) < 0)
                abort();
        editable = tpfw_direct_is_editable(d, NULL);
        shared = shares_chain(d, owner, desired);
        before = owner_rules(d, owner);
        owned_nothing = tpfw_ruleset_n_rules(before) == 0 && tpfw_ruleset_n_chains(before) == 0;
        add_chains(owned, before);
        add_chains(owned, desired);
        foreign_before = foreign_entries(d, owner, owned);

        r = tpfw_direct_merge_with_legacy(d, owner, desired, legacy, flags, &res, &diag);
        if (r < 0) {
                /* Refused (conflict, not editable): the document is untouched and says why. */
                if (!diag.message || !data_equals(d, data, size))
                        abort();
                tpfw_diag_clear(&diag);
                goto out;
        }
        if (diag.message || (!res.changed && !data_equals(d, data, size)))
                abort();
        again = reparse(d);
        now = owner_rules(again, owner);
        check_installed(again, now, desired);
        if (!(flags & (TPFW_MERGE_ADOPT | TPFW_MERGE_ADOPT_KUMA_LEGACY))) {
                foreign_after = foreign_entries(again, owner, owned);
                assert_same_entries(foreign_before, foreign_after);
        }
        bytes = tpfw_direct_data(d, &installed_len);
        installed = g_memdup2(bytes, installed_len + 1);

        /* Merging the same rules again changes nothing. */
        r = tpfw_direct_merge_with_legacy(d, owner, desired, legacy, flags, &res, NULL);
        if (r < 0 || res.changed || !data_equals(d, installed, installed_len))
                abort();

        /* Uninstall: owner's entries go, foreign ones stay; from a clean start, byte for byte. */
        r = tpfw_direct_merge(d, owner, NULL, 0, &res, NULL);
        if (r < 0)
                abort();
        tpfw_direct_free(again);
        again = reparse(d);
        tpfw_ruleset_free(now);
        now = owner_rules(again, owner);
        if (tpfw_ruleset_n_rules(now) != 0)
                abort();
        if (!(flags & (TPFW_MERGE_ADOPT | TPFW_MERGE_ADOPT_KUMA_LEGACY))) {
                g_ptr_array_unref(foreign_after);
                foreign_after = foreign_entries(again, owner, owned);
                assert_same_entries(foreign_before, foreign_after);
                if (owned_nothing && editable && !shared && !data_equals(d, data, size) &&
                    !is_expanded_root(d, data, size))
                        abort();
        }
out:
        tpfw_ruleset_free(now);
        tpfw_ruleset_free(before);
        tpfw_direct_free(again);
        tpfw_direct_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static TpfwRuleset *small_fuzz, *kuma;
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwDirect *d = NULL, *again = NULL;
        TpfwOwnerCount *owners = NULL;
        size_t n_owners = 0;
        int r;

        if (!small_fuzz) {
                TpfwRuleset *small = import_text(small_rules, sizeof(small_rules) - 1);

                small_fuzz = tagged(small, "fuzz");
                tpfw_ruleset_free(small);
                kuma = tagged(kuma_untagged(), "kuma");
        }

        r = tpfw_direct_parse("fuzz", (const char *)data, size, &d, &diag);
        if (r < 0) {
                if (d || !diag.message || (r != -EINVAL && r != -EFBIG && r != -ENOMEM))
                        abort();
                tpfw_diag_clear(&diag);
                return 0;
        }
        /* The untouched document serialises to its input. */
        if (!data_equals(d, data, size))
                abort();
        again = reparse(d);
        if (tpfw_direct_n_entries(again) != tpfw_direct_n_entries(d))
                abort();
        tpfw_direct_free(again);
        if (tpfw_direct_list_owners(d, &owners, &n_owners) < 0)
                abort();

        scenario(data, size, "fuzz", small_fuzz, NULL, 0);
        scenario(data, size, "kuma", kuma, NULL, 0);
        scenario(data, size, "kuma", kuma, kuma_untagged(),
                 TPFW_MERGE_ADOPT | TPFW_MERGE_ADOPT_KUMA_LEGACY);
        /* An owner already in the file: replace its rules with the small set. */
        if (n_owners > 0 && strcmp(owners[0].owner, "fuzz") != 0) {
                TpfwRuleset *mine = tagged(small_fuzz, owners[0].owner);

                scenario(data, size, owners[0].owner, mine, NULL, 0);
                tpfw_ruleset_free(mine);
        }
        tpfw_owner_counts_free(owners, n_owners);
        tpfw_direct_free(d);
        return 0;
}
