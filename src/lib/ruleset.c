/* Rulesets: ordered chains and rules, identity as firewalld sees it, priorities, owner tags. */
#include <string.h>

#include <tproxy-firewalld/args.h>

#include "util.h"

struct TpfwRuleset {
        GPtrArray *chains; /* TpfwChain*, declaration order */
        GPtrArray *rules;  /* TpfwRule*, emission order */
        GHashTable *chain_keys;
        GHashTable *rule_keys; /* rebuilt lazily: priorities and argv may be changed in place */
        bool rule_keys_dirty;
};

const char *tpfw_ipv_name(TpfwIpv ipv)
{
        return ipv == TPFW_IPV6 ? "ipv6" : "ipv4";
}

int tpfw_ipv_from_name(const char *name, TpfwIpv *ret_ipv)
{
        if (!name)
                return -EINVAL;
        if (strcmp(name, "ipv4") == 0)
                *ret_ipv = TPFW_IPV4;
        else if (strcmp(name, "ipv6") == 0)
                *ret_ipv = TPFW_IPV6;
        else
                return -EINVAL;
        return 0;
}

static void chain_free(void *p)
{
        TpfwChain *c = p;

        g_free(c->table);
        g_free(c->chain);
        g_free(c);
}

static void rule_free(void *p)
{
        TpfwRule *r = p;

        g_free(r->table);
        g_free(r->chain);
        g_strfreev(r->argv);
        g_free(r);
}

TpfwRuleset *tpfw_ruleset_new(void)
{
        TpfwRuleset *rs = g_new0(TpfwRuleset, 1);

        rs->chains = g_ptr_array_new_with_free_func(chain_free);
        rs->rules = g_ptr_array_new_with_free_func(rule_free);
        rs->chain_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        rs->rule_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        return rs;
}

TpfwRuleset *tpfw_ruleset_free(TpfwRuleset *rs)
{
        if (!rs)
                return NULL;
        g_ptr_array_unref(rs->chains);
        g_ptr_array_unref(rs->rules);
        g_hash_table_unref(rs->chain_keys);
        g_hash_table_unref(rs->rule_keys);
        g_free(rs);
        return NULL;
}

/* Appends v in decimal, then sep. By hand: printf made key building a third of the
 * instructions of a no-op install. */
static void append_decimal(GString *s, unsigned long v, char sep)
{
        char digits[24];
        char *d = digits + sizeof(digits);

        *--d = sep;
        do
                *--d = (char)('0' + v % 10);
        while ((v /= 10) > 0);
        g_string_append_len(s, d, (gssize)(digits + sizeof(digits) - d));
}

/* Length-prefixed fields make the key injective whatever bytes the strings hold. */
static void key_add(GString *s, const char *field)
{
        append_decimal(s, strlen(field), ':');
        g_string_append(s, field);
}

static char *chain_key(TpfwIpv ipv, const char *table, const char *chain)
{
        GString *s = g_string_new(tpfw_ipv_name(ipv));

        key_add(s, table);
        key_add(s, chain);
        return g_string_free(s, FALSE);
}

static char *rule_key(const TpfwRule *r)
{
        GString *s = g_string_new(tpfw_ipv_name(r->ipv));

        key_add(s, r->table);
        key_add(s, r->chain);
        if (r->priority < 0)
                g_string_append_c(s, '-');
        /* long holds -INT_MIN */
        append_decimal(s, (unsigned long)labs((long)r->priority), '|');
        for (char **a = r->argv; *a; a++)
                key_add(s, *a);
        return g_string_free(s, FALSE);
}

static void rule_keys_refresh(const TpfwRuleset *rs_const)
{
        TpfwRuleset *rs = (TpfwRuleset *)rs_const;

        if (!rs->rule_keys_dirty)
                return;
        g_hash_table_remove_all(rs->rule_keys);
        for (guint i = 0; i < rs->rules->len; i++)
                g_hash_table_add(rs->rule_keys, rule_key(rs->rules->pdata[i]));
        rs->rule_keys_dirty = false;
}

int tpfw_ruleset_add_chain(TpfwRuleset *rs, TpfwIpv ipv, const char *table, const char *chain)
{
        TpfwChain *c;
        char *key = chain_key(ipv, table, chain);

        if (!g_hash_table_add(rs->chain_keys, key))
                return -EEXIST;
        c = g_new0(TpfwChain, 1);
        c->ipv = ipv;
        c->table = g_strdup(table);
        c->chain = g_strdup(chain);
        g_ptr_array_add(rs->chains, c);
        return 0;
}

int tpfw_ruleset_add_rule(TpfwRuleset *rs, TpfwIpv ipv, const char *table, const char *chain,
                          int priority, const char *const *argv, TpfwRuleMode mode,
                          unsigned position)
{
        static const char *const empty[] = {NULL};
        TpfwRule *r = g_new0(TpfwRule, 1);

        r->ipv = ipv;
        r->table = g_strdup(table);
        r->chain = g_strdup(chain);
        r->priority = priority;
        r->argv = g_strdupv((char **)(argv ? argv : empty));
        r->mode = mode;
        r->position = position;
        rule_keys_refresh(rs);
        if (!g_hash_table_add(rs->rule_keys, rule_key(r))) {
                rule_free(r);
                return -EEXIST;
        }
        g_ptr_array_add(rs->rules, r);
        return 0;
}

TpfwRuleset *tpfw_ruleset_copy(const TpfwRuleset *rs)
{
        TpfwRuleset *copy = tpfw_ruleset_new();

        for (guint i = 0; i < rs->chains->len; i++) {
                const TpfwChain *c = rs->chains->pdata[i];
                tpfw_ruleset_add_chain(copy, c->ipv, c->table, c->chain);
        }
        for (guint i = 0; i < rs->rules->len; i++) {
                const TpfwRule *r = rs->rules->pdata[i];
                tpfw_ruleset_add_rule(copy, r->ipv, r->table, r->chain, r->priority,
                                      (const char *const *)r->argv, r->mode, r->position);
        }
        return copy;
}

size_t tpfw_ruleset_n_chains(const TpfwRuleset *rs)
{
        return rs->chains->len;
}

const TpfwChain *tpfw_ruleset_chain(const TpfwRuleset *rs, size_t i)
{
        return i < rs->chains->len ? rs->chains->pdata[i] : NULL;
}

size_t tpfw_ruleset_n_rules(const TpfwRuleset *rs)
{
        return rs->rules->len;
}

const TpfwRule *tpfw_ruleset_rule(const TpfwRuleset *rs, size_t i)
{
        return i < rs->rules->len ? rs->rules->pdata[i] : NULL;
}

TpfwRule *tpfw_ruleset_rule_mut(TpfwRuleset *rs, size_t i)
{
        if (i >= rs->rules->len)
                return NULL;
        rs->rule_keys_dirty = true;
        return rs->rules->pdata[i];
}

bool tpfw_ruleset_has_chain(const TpfwRuleset *rs, TpfwIpv ipv, const char *table,
                            const char *chain)
{
        g_autofree char *key = chain_key(ipv, table, chain);

        return g_hash_table_contains(rs->chain_keys, key);
}

bool tpfw_ruleset_has_ipv(const TpfwRuleset *rs, TpfwIpv ipv)
{
        for (guint i = 0; i < rs->chains->len; i++)
                if (((TpfwChain *)rs->chains->pdata[i])->ipv == ipv)
                        return true;
        for (guint i = 0; i < rs->rules->len; i++)
                if (((TpfwRule *)rs->rules->pdata[i])->ipv == ipv)
                        return true;
        return false;
}

static const char *const table_order[] = {"raw", "nat", "mangle", "filter", "security", NULL};
static const char *const builtin_order[] = {"PREROUTING", "INPUT",       "FORWARD",
                                            "OUTPUT",     "POSTROUTING", NULL};

static int index_of(const char *const *list, const char *s)
{
        for (int i = 0; list[i]; i++)
                if (strcmp(list[i], s) == 0)
                        return i;
        return -1;
}

bool tpfw_is_known_table(const char *table)
{
        return table && index_of(table_order, table) >= 0;
}

bool tpfw_is_builtin_chain(const char *table, const char *chain)
{
        static const char *const raw[] = {"PREROUTING", "OUTPUT", NULL};
        static const char *const nat[] = {"PREROUTING", "OUTPUT", "POSTROUTING", NULL};
        static const char *const filter[] = {"INPUT", "FORWARD", "OUTPUT", NULL};
        const char *const *list = NULL;

        if (!table || !chain)
                return false;
        if (strcmp(table, "raw") == 0)
                list = raw;
        else if (strcmp(table, "nat") == 0)
                list = nat;
        else if (strcmp(table, "mangle") == 0)
                list = builtin_order;
        else if (strcmp(table, "filter") == 0 || strcmp(table, "security") == 0)
                list = filter;
        return list && index_of(list, chain) >= 0;
}

typedef struct {
        const TpfwRule *rule;
        size_t emission;
        int table_rank;
        size_t chain_rank;
} OrderItem;

static int order_cmp(const void *pa, const void *pb)
{
        const OrderItem *a = pa, *b = pb;
        int c;

        if (a->rule->ipv != b->rule->ipv)
                return a->rule->ipv < b->rule->ipv ? -1 : 1;
        if (a->table_rank != b->table_rank)
                return a->table_rank < b->table_rank ? -1 : 1;
        c = a->table_rank == G_N_ELEMENTS(table_order) - 1 ? strcmp(a->rule->table, b->rule->table)
                                                           : 0;
        if (c)
                return c;
        if (a->chain_rank != b->chain_rank)
                return a->chain_rank < b->chain_rank ? -1 : 1;
        if (a->rule->priority != b->rule->priority)
                return a->rule->priority < b->rule->priority ? -1 : 1;
        return a->emission < b->emission ? -1 : a->emission > b->emission;
}

const TpfwRule **tpfw_ruleset_direct_order(const TpfwRuleset *rs)
{
        g_autoptr(GHashTable) ranks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        size_t n = rs->rules->len, next_rank = 100;
        OrderItem *items = g_new0(OrderItem, n ? n : 1);
        const TpfwRule **out = g_new0(const TpfwRule *, n + 1);

        for (guint i = 0; i < rs->chains->len; i++) {
                const TpfwChain *c = rs->chains->pdata[i];
                g_hash_table_insert(ranks, chain_key(c->ipv, c->table, c->chain),
                                    GSIZE_TO_POINTER(next_rank++));
        }
        for (size_t i = 0; i < n; i++) {
                const TpfwRule *r = rs->rules->pdata[i];
                int t = index_of(table_order, r->table);
                int b = index_of(builtin_order, r->chain);

                items[i].rule = r;
                items[i].emission = i;
                items[i].table_rank = t >= 0 ? t : (int)G_N_ELEMENTS(table_order) - 1;
                if (b >= 0 && tpfw_is_builtin_chain(r->table, r->chain)) {
                        items[i].chain_rank = (size_t)b;
                } else {
                        g_autofree char *key = chain_key(r->ipv, r->table, r->chain);
                        gpointer v;

                        if (!g_hash_table_lookup_extended(ranks, key, NULL, &v)) {
                                v = GSIZE_TO_POINTER(next_rank++);
                                g_hash_table_insert(ranks, g_steal_pointer(&key), v);
                        }
                        items[i].chain_rank = GPOINTER_TO_SIZE(v);
                }
        }
        qsort(items, n, sizeof(*items), order_cmp);
        for (size_t i = 0; i < n; i++)
                out[i] = items[i].rule;
        g_free(items);
        return out;
}

bool tpfw_ruleset_equal(const TpfwRuleset *a, const TpfwRuleset *b)
{
        GHashTableIter it;
        gpointer key;

        if (a->chains->len != b->chains->len || a->rules->len != b->rules->len)
                return false;
        g_hash_table_iter_init(&it, a->chain_keys);
        while (g_hash_table_iter_next(&it, &key, NULL))
                if (!g_hash_table_contains(b->chain_keys, key))
                        return false;
        rule_keys_refresh(a);
        rule_keys_refresh(b);
        if (g_hash_table_size(a->rule_keys) != g_hash_table_size(b->rule_keys))
                return false;
        g_hash_table_iter_init(&it, a->rule_keys);
        while (g_hash_table_iter_next(&it, &key, NULL))
                if (!g_hash_table_contains(b->rule_keys, key))
                        return false;
        return true;
}

int tpfw_ruleset_assign_priorities(TpfwRuleset *rs, TpfwDiag *diag)
{
        /* per (ipv, table, chain): the live order as a list of rules */
        g_autoptr(GHashTable) chains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                             (GDestroyNotify)g_ptr_array_unref);
        g_autoptr(GPtrArray) order = g_ptr_array_new(); /* keys in first-seen order */

        for (guint i = 0; i < rs->rules->len; i++) {
                TpfwRule *r = rs->rules->pdata[i];
                g_autofree char *key = chain_key(r->ipv, r->table, r->chain);
                GPtrArray *live = g_hash_table_lookup(chains, key);

                if (!live) {
                        live = g_ptr_array_new();
                        g_ptr_array_add(order, key);
                        g_hash_table_insert(chains, g_steal_pointer(&key), live);
                }
                if (r->mode == TPFW_RULE_INSERT) {
                        unsigned pos = r->position ? r->position : 1;

                        if (pos > live->len + 1)
                                return tpfw_diag_set(diag, EINVAL, NULL, 0,
                                                     "%s %s %s: -I position %u is beyond the end "
                                                     "of the chain (%u rules)",
                                                     tpfw_ipv_name(r->ipv), r->table, r->chain, pos,
                                                     live->len);
                        g_ptr_array_insert(live, (gint)pos - 1, r);
                } else {
                        g_ptr_array_add(live, r);
                }
        }
        for (guint c = 0; c < order->len; c++) {
                GPtrArray *live = g_hash_table_lookup(chains, order->pdata[c]);
                TpfwRule *first = live->pdata[0];

                if (tpfw_is_builtin_chain(first->table, first->chain)) {
                        guint k = 0;

                        while (k < live->len &&
                               ((TpfwRule *)live->pdata[k])->mode == TPFW_RULE_INSERT)
                                k++;
                        for (guint i = 0; i < live->len; i++)
                                ((TpfwRule *)live->pdata[i])->priority =
                                        i < k ? (int)i - (int)k : (int)(i - k) + 1;
                } else {
                        for (guint i = 0; i < live->len; i++)
                                ((TpfwRule *)live->pdata[i])->priority = (int)i;
                }
        }
        rs->rule_keys_dirty = true;
        return 0;
}

/* ---- ownership tag ---- */

bool tpfw_owner_name_is_valid(const char *name)
{
        size_t n;

        if (!name || (!g_ascii_islower(name[0]) && !g_ascii_isdigit(name[0])))
                return false;
        n = strlen(name);
        if (n > TPFW_OWNER_MAX)
                return false;
        for (size_t i = 1; i < n; i++) {
                char c = name[i];
                if (!g_ascii_islower(c) && !g_ascii_isdigit(c) && c != '.' && c != '_' && c != '-')
                        return false;
        }
        return true;
}

/* The owner in a comment value "tproxy-firewalld/<owner>[ text]", or NULL. */
static char *comment_owner(const char *value, const char **ret_rest)
{
        g_autofree char *name = NULL;
        const char *o, *end;

        if (!g_str_has_prefix(value, TPFW_OWNER_TAG_PREFIX))
                return NULL;
        o = value + strlen(TPFW_OWNER_TAG_PREFIX);
        end = strchr(o, ' ');
        if (!end)
                end = o + strlen(o);
        name = g_strndup(o, (gsize)(end - o));
        /* "tproxy-firewalld/Foo=1" is no tag: list-owners must never name an owner that the
         * tool refuses to install or uninstall. */
        if (!tpfw_owner_name_is_valid(name))
                return NULL;
        if (ret_rest)
                *ret_rest = *end ? end + 1 : end;
        return g_steal_pointer(&name);
}

char *tpfw_argv_owner(const char *const *argv)
{
        for (size_t i = 0; argv && argv[i]; i++) {
                if (strcmp(argv[i], "--comment") == 0 && argv[i + 1]) {
                        char *o = comment_owner(argv[i + 1], NULL);
                        if (o)
                                return o;
                }
        }
        return NULL;
}

bool tpfw_argv_has_owner(const char *const *argv, const char *owner)
{
        g_autofree char *o = tpfw_argv_owner(argv);

        return o && owner && strcmp(o, owner) == 0;
}

/*
 * Copies argv without its comment matches; the text of the first --comment goes to *ret_text.
 * A comment match is "-m comment" (or "--match comment") followed by "--comment X" options.
 */
static char **strip_comment(const char *const *argv, char **ret_text)
{
        GPtrArray *out = g_ptr_array_new();
        char *text = NULL;

        for (size_t i = 0; argv && argv[i]; i++) {
                if ((strcmp(argv[i], "-m") == 0 || strcmp(argv[i], "--match") == 0) &&
                    argv[i + 1] && strcmp(argv[i + 1], "comment") == 0) {
                        i++;
                        while (argv[i + 1] && strcmp(argv[i + 1], "--comment") == 0 &&
                               argv[i + 2]) {
                                if (!text)
                                        text = g_strdup(argv[i + 2]);
                                i += 2;
                        }
                        continue;
                }
                g_ptr_array_add(out, g_strdup(argv[i]));
        }
        g_ptr_array_add(out, NULL);
        if (ret_text)
                *ret_text = text;
        else
                g_free(text);
        return (char **)g_ptr_array_free(out, FALSE);
}

char **tpfw_argv_strip_comment(const char *const *argv)
{
        return strip_comment(argv, NULL);
}

char **tpfw_argv_tag(const char *const *argv, const char *owner)
{
        g_autofree char *text = NULL;
        g_autofree char *comment = NULL;
        char **rest = strip_comment(argv, &text);
        const char *desc = text;
        GPtrArray *out;
        size_t taglen;

        if (text) {
                const char *after;
                g_autofree char *old = comment_owner(text, &after);
                if (old)
                        desc = after;
        }
        comment = g_strconcat(TPFW_OWNER_TAG_PREFIX, owner, NULL);
        taglen = strlen(comment);
        if (desc && *desc && taglen + 1 < TPFW_COMMENT_MAX) {
                size_t room = TPFW_COMMENT_MAX - taglen - 1, n = strlen(desc);
                if (n > room) {
                        n = room;
                        /* never cut inside a UTF-8 sequence */
                        while (n > 0 && ((unsigned char)desc[n] & 0xC0) == 0x80)
                                n--;
                }
                char *full = g_strdup_printf("%s %.*s", comment, (int)n, desc);
                g_free(comment);
                comment = full;
        }
        out = g_ptr_array_new();
        g_ptr_array_add(out, g_strdup("-m"));
        g_ptr_array_add(out, g_strdup("comment"));
        g_ptr_array_add(out, g_strdup("--comment"));
        g_ptr_array_add(out, g_steal_pointer(&comment));
        for (char **a = rest; *a; a++)
                g_ptr_array_add(out, *a);
        g_free(rest); /* strings moved */
        g_ptr_array_add(out, NULL);
        return (char **)g_ptr_array_free(out, FALSE);
}

int tpfw_ruleset_tag(TpfwRuleset *rs, const char *owner)
{
        for (guint i = 0; i < rs->rules->len; i++) {
                TpfwRule *r = rs->rules->pdata[i];
                char **tagged = tpfw_argv_tag((const char *const *)r->argv, owner);

                if (!tagged)
                        return -ENOMEM;
                g_strfreev(r->argv);
                r->argv = tagged;
        }
        rs->rule_keys_dirty = true;
        return 0;
}

static bool is_jump(const char *a)
{
        return strcmp(a, "-j") == 0 || strcmp(a, "-g") == 0 || strcmp(a, "--jump") == 0 ||
               strcmp(a, "--goto") == 0;
}

TpfwRuleset *tpfw_ruleset_owner_subset(const TpfwRuleset *all, const char *owner)
{
        TpfwRuleset *mine = tpfw_ruleset_new();
        g_autoptr(GHashTable) others = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GHashTable) own = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

        for (guint i = 0; i < all->rules->len; i++) {
                const TpfwRule *r = all->rules->pdata[i];
                bool is_own = tpfw_argv_has_owner((const char *const *)r->argv, owner);
                GHashTable *set = is_own ? own : others;

                g_hash_table_add(set, chain_key(r->ipv, r->table, r->chain));
                for (char **a = r->argv; *a; a++)
                        if (is_jump(*a) && a[1])
                                g_hash_table_add(set, chain_key(r->ipv, r->table, a[1]));
                if (is_own)
                        tpfw_ruleset_add_rule(mine, r->ipv, r->table, r->chain, r->priority,
                                              (const char *const *)r->argv, r->mode, r->position);
        }
        for (guint i = 0; i < all->chains->len; i++) {
                const TpfwChain *c = all->chains->pdata[i];
                g_autofree char *key = chain_key(c->ipv, c->table, c->chain);

                if (g_hash_table_contains(own, key) && !g_hash_table_contains(others, key))
                        tpfw_ruleset_add_chain(mine, c->ipv, c->table, c->chain);
        }
        return mine;
}

static TpfwRuleset *only_in(const TpfwRuleset *a, const TpfwRuleset *b)
{
        TpfwRuleset *out = tpfw_ruleset_new();

        rule_keys_refresh(b);
        for (guint i = 0; i < a->chains->len; i++) {
                const TpfwChain *c = a->chains->pdata[i];
                if (!tpfw_ruleset_has_chain(b, c->ipv, c->table, c->chain))
                        tpfw_ruleset_add_chain(out, c->ipv, c->table, c->chain);
        }
        for (guint i = 0; i < a->rules->len; i++) {
                const TpfwRule *r = a->rules->pdata[i];
                g_autofree char *key = rule_key(r);
                if (!g_hash_table_contains(b->rule_keys, key))
                        tpfw_ruleset_add_rule(out, r->ipv, r->table, r->chain, r->priority,
                                              (const char *const *)r->argv, r->mode, r->position);
        }
        return out;
}

void tpfw_ruleset_diff(const TpfwRuleset *a, const TpfwRuleset *b, TpfwRuleset **ret_only_a,
                       TpfwRuleset **ret_only_b)
{
        if (ret_only_a)
                *ret_only_a = only_in(a, b);
        if (ret_only_b)
                *ret_only_b = only_in(b, a);
}
