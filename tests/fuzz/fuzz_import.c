/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for import.c: no crash, and priorities follow the live order of every chain. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <tproxy-firewalld/import.h>
#include <tproxy-firewalld/ruleset.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Replays the rules' -I/-A placement independently of the library and checks that priorities
 * strictly increase from the top of each (ipv, table, chain) to its bottom, which is what makes
 * firewalld rebuild the same order.
 */
static void check_priorities(const TpfwRuleset *rs)
{
        g_autoptr(GHashTable) chains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                             (GDestroyNotify)g_ptr_array_unref);
        GHashTableIter it;
        gpointer value;

        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                char *key = g_strdup_printf("%d %s %s", (int)r->ipv, r->table, r->chain);
                GPtrArray *live = g_hash_table_lookup(chains, key);

                if (!live) {
                        live = g_ptr_array_new();
                        g_hash_table_insert(chains, key, live);
                } else {
                        g_free(key);
                }
                if (!r->argv || !r->argv[0])
                        abort(); /* firewalld cannot store an empty rule */
                if (r->mode == TPFW_RULE_INSERT) {
                        unsigned pos = r->position ? r->position : 1;

                        if (pos > live->len + 1)
                                abort();
                        g_ptr_array_insert(live, (gint)pos - 1, (gpointer)r);
                } else if (r->position != 0) {
                        abort();
                } else {
                        g_ptr_array_add(live, (gpointer)r);
                }
        }
        g_hash_table_iter_init(&it, chains);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                GPtrArray *live = value;

                for (guint i = 1; i < live->len; i++)
                        if (((const TpfwRule *)live->pdata[i - 1])->priority >=
                            ((const TpfwRule *)live->pdata[i])->priority)
                                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwRuleset *rs = NULL;
        int r;

        r = tpfw_import_iptables_restore("fuzz", (const char *)data, size, TPFW_IPV4, &rs, &diag);
        if (r < 0) {
                /* Every failure says where and why. */
                if (rs || !diag.message || g_strcmp0(diag.file, "fuzz") != 0)
                        abort();
                tpfw_diag_clear(&diag);
                return 0;
        }
        if (!rs || diag.message)
                abort();
        check_priorities(rs);
        /* Every rule names a chain that is built-in or declared. */
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *rule = tpfw_ruleset_rule(rs, i);

                if (!tpfw_is_builtin_chain(rule->table, rule->chain) &&
                    !tpfw_ruleset_has_chain(rs, rule->ipv, rule->table, rule->chain))
                        abort();
        }
        tpfw_ruleset_free(rs);
        return 0;
}
