/* SPDX-License-Identifier: MIT */
/* Ruleset renderers: kumactl's --dry-run iptables-restore layout and JSON. */
#include <string.h>

#include <tproxy-firewalld/generate.h>

#include "render-private.h"
#include "util.h"

static const char *const known_tables[] = {"raw", "nat", "mangle", "filter", "security"};

/* iptables-restore reads "..." with \" and \\ escapes; plain words stay bare as Kuma prints them.
 */
static void append_arg(GString *s, const char *arg, bool force_quotes)
{
        bool plain = *arg != '\0' && !force_quotes;

        for (const char *p = arg; *p && plain; p++)
                if (g_ascii_isspace(*p) || strchr("\"'\\#", *p))
                        plain = false;
        if (plain) {
                g_string_append(s, arg);
                return;
        }
        g_string_append_c(s, '"');
        for (const char *p = arg; *p; p++) {
                if (*p == '"' || *p == '\\')
                        g_string_append_c(s, '\\');
                g_string_append_c(s, *p);
        }
        g_string_append_c(s, '"');
}

static void render_table(GString *s, const TpfwRuleset *rs, TpfwIpv ipv, const char *table)
{
        bool any = false;

        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs) && !any; i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);
                any = c->ipv == ipv && g_str_equal(c->table, table);
        }
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs) && !any; i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                any = r->ipv == ipv && g_str_equal(r->table, table);
        }
        if (!any)
                return;
        g_string_append_printf(s, "* %s\n", table);
        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);

                if (c->ipv == ipv && g_str_equal(c->table, table))
                        g_string_append_printf(s, "-N %s\n", c->chain);
        }
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);

                if (r->ipv != ipv || !g_str_equal(r->table, table))
                        continue;
                if (r->mode == TPFW_RULE_INSERT && r->position > 0)
                        g_string_append_printf(s, "-I %s %u", r->chain, r->position);
                else
                        g_string_append_printf(s, "-%c %s", r->mode == TPFW_RULE_INSERT ? 'I' : 'A',
                                               r->chain);
                for (char **a = r->argv; *a; a++) {
                        g_string_append_c(s, ' ');
                        append_arg(s, *a, a != r->argv && g_str_equal(a[-1], "--comment"));
                }
                g_string_append_c(s, '\n');
        }
        g_string_append(s, "COMMIT\n");
}

static bool table_is_known(const char *table)
{
        for (size_t i = 0; i < G_N_ELEMENTS(known_tables); i++)
                if (g_str_equal(table, known_tables[i]))
                        return true;
        return false;
}

char *tpfw_render_iptables_restore(const TpfwRuleset *rs)
{
        GString *out = g_string_new(NULL);
        static const TpfwIpv families[] = {TPFW_IPV4, TPFW_IPV6};

        for (size_t f = 0; f < G_N_ELEMENTS(families); f++) {
                TpfwIpv ipv = families[f];
                g_autoptr(GString) block = g_string_new(NULL);
                g_autoptr(GPtrArray) others = g_ptr_array_new();

                if (!tpfw_ruleset_has_ipv(rs, ipv))
                        continue;
                for (size_t t = 0; t < G_N_ELEMENTS(known_tables); t++)
                        render_table(block, rs, ipv, known_tables[t]);
                /* tables firewalld would reject still render, after the known ones */
                for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                        const TpfwRule *r = tpfw_ruleset_rule(rs, i);

                        if (r->ipv == ipv && !table_is_known(r->table) &&
                            !g_ptr_array_find_with_equal_func(others, r->table, g_str_equal, NULL))
                                g_ptr_array_add(others, r->table);
                }
                for (guint i = 0; i < others->len; i++)
                        render_table(block, rs, ipv, others->pdata[i]);
                if (out->len)
                        g_string_append(out, "\n");
                g_string_append_printf(out, "### %s ###\n\n%s", ipv == TPFW_IPV4 ? "IPv4" : "IPv6",
                                       block->str);
        }
        return g_string_free(out, FALSE);
}

void tpfw_render_json_place(TpfwJsonWriter *w, TpfwIpv ipv, const char *table, const char *chain)
{
        tpfw_json_member_string(w, "ipv", tpfw_ipv_name(ipv));
        tpfw_json_member_string(w, "table", table);
        tpfw_json_member_string(w, "chain", chain);
}

char *tpfw_render_json(const TpfwRuleset *rs)
{
        TpfwJsonWriter w;

        tpfw_json_writer_init(&w, 2);
        tpfw_json_begin_object(&w);
        tpfw_json_member(&w, "chains");
        tpfw_json_begin_array(&w);
        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);

                tpfw_json_begin_object(&w);
                tpfw_render_json_place(&w, c->ipv, c->table, c->chain);
                tpfw_json_end_object(&w);
        }
        tpfw_json_end_array(&w);
        tpfw_json_member(&w, "rules");
        tpfw_json_begin_array(&w);
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);

                tpfw_json_begin_object(&w);
                tpfw_render_json_place(&w, r->ipv, r->table, r->chain);
                tpfw_json_member_int(&w, "priority", r->priority);
                tpfw_json_member(&w, "argv");
                tpfw_json_begin_array(&w);
                for (char **a = r->argv; *a; a++)
                        tpfw_json_string(&w, *a);
                tpfw_json_end_array(&w);
                tpfw_json_member_string(&w, "mode",
                                        r->mode == TPFW_RULE_INSERT ? "insert" : "append");
                tpfw_json_member_int(&w, "position", r->position);
                tpfw_json_end_object(&w);
        }
        tpfw_json_end_array(&w);
        tpfw_json_end_object(&w);
        g_string_append_c(w.out, '\n');
        return tpfw_json_writer_finish(&w);
}
