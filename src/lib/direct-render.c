/* SPDX-License-Identifier: MIT */
/* direct.xml render: new entries in firewalld's own layout (FIREWALLD.md section 3). */
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/direct.h>

#include "direct-render.h"
#include "ruleset-private.h"
#include "util.h"

/* Appends s with the characters in special replaced by escape(c); plain runs go in one piece. */
static void append_with(GString *out, const char *s, const char *special,
                        const char *(*escape)(char c, const void *data), const void *data)
{
        for (;;) {
                size_t n = strcspn(s, special);

                g_string_append_len(out, s, (gssize)n);
                s += n;
                if (!*s)
                        return;
                g_string_append(out, escape(*s, data));
                s++;
        }
}

static const char *escape_text(char c, const void *data)
{
        (void)data;
        return c == '&' ? "&amp;" : c == '<' ? "&lt;" : "&gt;";
}

/* saxutils.escape(): only &, < and >. */
static void append_escaped(GString *out, const char *s)
{
        append_with(out, s, "&<>", escape_text, NULL);
}

static const char *escape_attribute(char c, const void *data)
{
        char quote = *(const char *)data;

        switch (c) {
        case '&':
                return "&amp;";
        case '<':
                return "&lt;";
        case '>':
                return "&gt;";
        case '\n':
                return "&#10;";
        case '\r':
                return "&#13;";
        case '\t':
                return "&#9;";
        default: /* '"' */
                return quote == '"' ? "&quot;" : "\"";
        }
}

/* saxutils.quoteattr(): "..." unless the value holds " but no ', then '...'. */
static void append_attribute(GString *out, const char *name, const char *value)
{
        bool dq = strchr(value, '"') != NULL, sq = strchr(value, '\'') != NULL;
        char quote = dq && !sq ? '\'' : '"';

        g_string_append_c(out, ' ');
        g_string_append(out, name);
        g_string_append_c(out, '=');
        g_string_append_c(out, quote);
        append_with(out, value, "&<>\n\r\t\"", escape_attribute, &quote);
        g_string_append_c(out, quote);
}

void direct_append_chain(GString *out, const char *ipv, const char *table, const char *chain)
{
        g_string_append(out, "\n  <chain");
        append_attribute(out, "ipv", ipv);
        append_attribute(out, "table", table);
        append_attribute(out, "chain", chain);
        g_string_append(out, "/>");
}

void direct_append_rule(GString *out, const char *ipv, const char *table, const char *chain,
                        int priority, const char *const *argv)
{
        g_autofree char *text = tpfw_args_join(argv);
        char prio[16], *p = prio + sizeof(prio);
        /* by hand: printf was a good part of writing a rule */
        unsigned v = priority < 0 ? 0u - (unsigned)priority : (unsigned)priority;

        *--p = '\0';
        do
                *--p = (char)('0' + v % 10);
        while ((v /= 10) > 0);
        if (priority < 0)
                *--p = '-';
        g_string_append(out, "\n  <rule");
        append_attribute(out, "ipv", ipv);
        append_attribute(out, "table", table);
        append_attribute(out, "chain", chain);
        append_attribute(out, "priority", p);
        g_string_append_c(out, '>');
        append_escaped(out, text ? text : "");
        g_string_append(out, "</rule>");
}

size_t direct_append_ruleset(GString *out, const TpfwRuleset *rs)
{
        g_autoptr(GHashTable) groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                             (GDestroyNotify)g_ptr_array_unref);
        g_autoptr(GPtrArray) order = g_ptr_array_new();
        g_autofree const TpfwRule **rules = NULL;
        size_t n = 0, n_rules;

        if (!rs)
                return 0;
        /* firewalld groups chains by (ipv, table) in first-seen order */
        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);
                char *key = g_strdup_printf("%d\x1f%s", (int)c->ipv, c->table);
                GPtrArray *g = g_hash_table_lookup(groups, key);

                if (!g) {
                        g = g_ptr_array_new();
                        g_hash_table_insert(groups, key, g);
                        g_ptr_array_add(order, g);
                } else {
                        g_free(key);
                }
                g_ptr_array_add(g, (gpointer)c);
        }
        for (guint i = 0; i < order->len; i++) {
                GPtrArray *g = order->pdata[i];
                for (guint j = 0; j < g->len; j++) {
                        const TpfwChain *c = g->pdata[j];
                        direct_append_chain(out, tpfw_ipv_name(c->ipv), c->table, c->chain);
                        n++;
                }
        }
        n_rules = tpfw_ruleset_n_rules(rs);
        rules = tpfw_ruleset_direct_order(rs);
        for (size_t i = 0; rules && i < n_rules; i++) {
                const TpfwRule *r = rules[i];
                if (!r->argv || !r->argv[0])
                        continue; /* firewalld never writes an empty rule */
                direct_append_rule(out, tpfw_ipv_name(r->ipv), r->table, r->chain, r->priority,
                                   (const char *const *)r->argv);
                n++;
        }
        return n;
}

char *tpfw_direct_format_ruleset(const TpfwRuleset *rs)
{
        GString *out = g_string_new("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>");

        direct_append_ruleset(out, rs);
        g_string_append(out, "\n</direct>\n");
        return g_string_free(out, FALSE);
}

gunichar direct_unwritable_char(const char *s)
{
        for (const char *p = s; *p; p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char_validated(p, -1);

                if (c == (gunichar)-1 || c == (gunichar)-2)
                        return 0xFFFD;
                if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xFFFE ||
                    c == 0xFFFF || (c >= 0xD800 && c <= 0xDFFF))
                        return c;
        }
        return 0;
}
