/* SPDX-License-Identifier: MIT */
/* Rulesets: ordered chains and rules, identity as firewalld sees it, priorities, differences. */
#include <string.h>

#include <tproxy-firewalld/args.h>

#include "hash.h"
#include "ruleset-private.h"
#include "util.h"

/*
 * A set of the items of a GPtrArray (chains or rules) by identity: open addressing over indexes
 * into the array, with each item's hash kept, so that growing, copying and comparing sets hash
 * nothing again, and no key string is built per item.
 */
typedef struct KeySlot {
        uint32_t hash;
        uint32_t index; /* into the array, plus one; 0: empty */
} KeySlot;

typedef struct KeySet {
        KeySlot *slots; /* NULL until the first item */
        uint32_t mask;  /* number of slots minus one */
        uint32_t n;
} KeySet;

typedef bool (*KeyEqualFn)(const void *a, const void *b);

struct TpfwRuleset {
        GPtrArray *chains; /* TpfwChain*, declaration order */
        GPtrArray *rules;  /* TpfwRule*, emission order */
        KeySet chain_keys;
        KeySet rule_keys; /* rebuilt lazily: priorities and argv may be changed in place */
        bool rule_keys_dirty;
        bool rules_distinct; /* no two rules are equal: a copy needs no look-ups */
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

static void keyset_clear(KeySet *ks)
{
        g_free(ks->slots);
        *ks = (KeySet){0};
}

static void keyset_copy(KeySet *dst, const KeySet *src)
{
        *dst = *src;
        if (src->slots)
                dst->slots = g_memdup2(src->slots, ((size_t)src->mask + 1) * sizeof(KeySlot));
}

/* Stores an item that is not there yet; there must be room. */
static void keyset_put(KeySet *ks, uint32_t hash, uint32_t index1)
{
        uint32_t i = hash & ks->mask;

        while (ks->slots[i].index)
                i = (i + 1) & ks->mask;
        ks->slots[i] = (KeySlot){hash, index1};
        ks->n++;
}

/* Makes room for n items, keeping the set at most half full. */
static void keyset_reserve(KeySet *ks, size_t n)
{
        KeySet old = *ks;
        size_t size = 8;

        if (ks->slots && 2 * n <= (size_t)ks->mask + 1)
                return;
        while (size < 2 * n)
                size *= 2;
        ks->slots = g_new0(KeySlot, size);
        ks->mask = (uint32_t)(size - 1);
        ks->n = 0;
        for (size_t i = 0; old.slots && i <= old.mask; i++)
                if (old.slots[i].index)
                        keyset_put(ks, old.slots[i].hash, old.slots[i].index);
        g_free(old.slots);
}

/* The index in items of the item equal to key, or -1. */
static long keyset_find(const KeySet *ks, const GPtrArray *items, KeyEqualFn eq, const void *key,
                        uint32_t hash)
{
        if (!ks->slots)
                return -1;
        for (uint32_t i = hash & ks->mask; ks->slots[i].index; i = (i + 1) & ks->mask)
                if (ks->slots[i].hash == hash && eq(items->pdata[ks->slots[i].index - 1], key))
                        return (long)ks->slots[i].index - 1;
        return -1;
}

/* Adds the item at index (key is, or equals, items->pdata[index]); false when an equal item is
 * there already. */
static bool keyset_add(KeySet *ks, const GPtrArray *items, KeyEqualFn eq, const void *key,
                       uint32_t hash, size_t index)
{
        if (keyset_find(ks, items, eq, key, hash) >= 0)
                return false;
        keyset_reserve(ks, (size_t)ks->n + 1);
        keyset_put(ks, hash, (uint32_t)index + 1);
        return true;
}

/* ---- identity of chains and rules ---- */

static uint32_t chain_hash(const TpfwChain *c)
{
        uint64_t h = tpfw_hash_mix(TPFW_HASH_SEED, (uint64_t)c->ipv);

        h = tpfw_hash_str(h, c->table);
        return tpfw_hash_fold(tpfw_hash_str(h, c->chain));
}

static bool chain_equal(const void *pa, const void *pb)
{
        const TpfwChain *a = pa, *b = pb;

        return a->ipv == b->ipv && strcmp(a->chain, b->chain) == 0 &&
               strcmp(a->table, b->table) == 0;
}

static uint32_t rule_hash(const TpfwRule *r)
{
        uint64_t h = tpfw_hash_mix(TPFW_HASH_SEED, (uint64_t)r->ipv << 32 | (uint32_t)r->priority);

        h = tpfw_hash_str(h, r->table);
        h = tpfw_hash_str(h, r->chain);
        for (char **a = r->argv; a && *a; a++)
                h = tpfw_hash_str(h, *a);
        return tpfw_hash_fold(h);
}

/* (ipv, table, chain, priority, argv): what firewalld tells rules apart by. */
static bool rule_equal(const void *pa, const void *pb)
{
        const TpfwRule *a = pa, *b = pb;
        size_t i;

        if (a->ipv != b->ipv || a->priority != b->priority || strcmp(a->chain, b->chain) != 0 ||
            strcmp(a->table, b->table) != 0)
                return false;
        if (!a->argv || !b->argv)
                return a->argv == b->argv;
        for (i = 0; a->argv[i] && b->argv[i]; i++)
                if (strcmp(a->argv[i], b->argv[i]) != 0)
                        return false;
        return !a->argv[i] && !b->argv[i];
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
        rs->rules_distinct = true;
        return rs;
}

TpfwRuleset *tpfw_ruleset_free(TpfwRuleset *rs)
{
        if (!rs)
                return NULL;
        g_ptr_array_unref(rs->chains);
        g_ptr_array_unref(rs->rules);
        keyset_clear(&rs->chain_keys);
        keyset_clear(&rs->rule_keys);
        g_free(rs);
        return NULL;
}

static void rule_keys_refresh(const TpfwRuleset *rs_const)
{
        TpfwRuleset *rs = (TpfwRuleset *)rs_const;

        if (!rs->rule_keys_dirty)
                return;
        if (rs->rule_keys.slots)
                memset(rs->rule_keys.slots, 0, ((size_t)rs->rule_keys.mask + 1) * sizeof(KeySlot));
        rs->rule_keys.n = 0;
        keyset_reserve(&rs->rule_keys, rs->rules->len);
        /* an equal rule further on is not in the set, as if add_rule had refused it */
        for (guint i = 0; i < rs->rules->len; i++) {
                const TpfwRule *r = rs->rules->pdata[i];
                (void)keyset_add(&rs->rule_keys, rs->rules, rule_equal, r, rule_hash(r), i);
        }
        rs->rule_keys_dirty = false;
        rs->rules_distinct = rs->rule_keys.n == rs->rules->len;
}

int tpfw_ruleset_add_chain(TpfwRuleset *rs, TpfwIpv ipv, const char *table, const char *chain)
{
        const TpfwChain key = {ipv, (char *)table, (char *)chain};
        TpfwChain *c;

        if (!keyset_add(&rs->chain_keys, rs->chains, chain_equal, &key, chain_hash(&key),
                        rs->chains->len))
                return -EEXIST;
        c = g_new0(TpfwChain, 1);
        c->ipv = ipv;
        c->table = g_strdup(table);
        c->chain = g_strdup(chain);
        g_ptr_array_add(rs->chains, c);
        return 0;
}

static TpfwRule *rule_new(TpfwIpv ipv, const char *table, const char *chain, int priority,
                          const char *const *argv, TpfwRuleMode mode, unsigned position)
{
        TpfwRule *r = g_new(TpfwRule, 1);

        r->ipv = ipv;
        r->table = g_strdup(table);
        r->chain = g_strdup(chain);
        r->priority = priority;
        r->argv = g_strdupv((char **)argv);
        r->mode = mode;
        r->position = position;
        return r;
}

int tpfw_ruleset_add_rule(TpfwRuleset *rs, TpfwIpv ipv, const char *table, const char *chain,
                          int priority, const char *const *argv, TpfwRuleMode mode,
                          unsigned position)
{
        static const char *const empty[] = {NULL};
        /* looked up before anything is copied */
        const TpfwRule key = {.ipv = ipv,
                              .table = (char *)table,
                              .chain = (char *)chain,
                              .priority = priority,
                              .argv = (char **)(argv ? argv : empty)};

        rule_keys_refresh(rs);
        if (!keyset_add(&rs->rule_keys, rs->rules, rule_equal, &key, rule_hash(&key),
                        rs->rules->len))
                return -EEXIST;
        g_ptr_array_add(rs->rules, rule_new(ipv, table, chain, priority,
                                            (const char *const *)key.argv, mode, position));
        return 0;
}

TpfwRuleset *tpfw_ruleset_copy(const TpfwRuleset *rs)
{
        TpfwRuleset *copy = tpfw_ruleset_new();

        /* chains are never changed in place: their set carries over as it is */
        for (guint i = 0; i < rs->chains->len; i++) {
                const TpfwChain *c = rs->chains->pdata[i];
                TpfwChain *d = g_new0(TpfwChain, 1);

                d->ipv = c->ipv;
                d->table = g_strdup(c->table);
                d->chain = g_strdup(c->chain);
                g_ptr_array_add(copy->chains, d);
        }
        keyset_copy(&copy->chain_keys, &rs->chain_keys);
        if (!rs->rules_distinct) {
                /* the first of equal rules wins, as in add_rule */
                for (guint i = 0; i < rs->rules->len; i++) {
                        const TpfwRule *r = rs->rules->pdata[i];
                        tpfw_ruleset_add_rule(copy, r->ipv, r->table, r->chain, r->priority,
                                              (const char *const *)r->argv, r->mode, r->position);
                }
                return copy;
        }
        for (guint i = 0; i < rs->rules->len; i++) {
                const TpfwRule *r = rs->rules->pdata[i];
                g_ptr_array_add(copy->rules,
                                rule_new(r->ipv, r->table, r->chain, r->priority,
                                         (const char *const *)r->argv, r->mode, r->position));
        }
        if (rs->rule_keys_dirty)
                copy->rule_keys_dirty = true; /* built when first needed, as for rs */
        else
                keyset_copy(&copy->rule_keys, &rs->rule_keys);
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
        rs->rules_distinct = false; /* the caller may make two rules equal */
        return rs->rules->pdata[i];
}

/* GHashTables keyed by (ipv, table, chain): TpfwChains that borrow the names (free with g_free). */
static guint chain_key_hash(gconstpointer p)
{
        return chain_hash(p);
}

static gboolean chain_key_equal(gconstpointer a, gconstpointer b)
{
        return chain_equal(a, b);
}

static GHashTable *chain_key_table(GDestroyNotify value_free)
{
        return g_hash_table_new_full(chain_key_hash, chain_key_equal, g_free, value_free);
}

static TpfwChain *chain_key(TpfwIpv ipv, const char *table, const char *chain)
{
        return g_memdup2(&(TpfwChain){ipv, (char *)table, (char *)chain}, sizeof(TpfwChain));
}

bool tpfw_ruleset_has_chain(const TpfwRuleset *rs, TpfwIpv ipv, const char *table,
                            const char *chain)
{
        const TpfwChain key = {ipv, (char *)table, (char *)chain};

        return keyset_find(&rs->chain_keys, rs->chains, chain_equal, &key, chain_hash(&key)) >= 0;
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
        g_autoptr(GHashTable) ranks = chain_key_table(NULL);
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
                        const TpfwChain key = {r->ipv, r->table, r->chain};
                        gpointer v;

                        if (!g_hash_table_lookup_extended(ranks, &key, NULL, &v)) {
                                v = GSIZE_TO_POINTER(next_rank++);
                                g_hash_table_insert(ranks, chain_key(r->ipv, r->table, r->chain),
                                                    v);
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

/* True when every item of a's set has an equal one in b's (the hashes are a's, kept). */
static bool keyset_subset(const KeySet *a, const GPtrArray *a_items, const KeySet *b,
                          const GPtrArray *b_items, KeyEqualFn eq)
{
        for (size_t i = 0; a->slots && i <= a->mask; i++) {
                const KeySlot *s = &a->slots[i];

                if (s->index &&
                    keyset_find(b, b_items, eq, a_items->pdata[s->index - 1], s->hash) < 0)
                        return false;
        }
        return true;
}

bool tpfw_ruleset_equal(const TpfwRuleset *a, const TpfwRuleset *b)
{
        if (a->chains->len != b->chains->len || a->rules->len != b->rules->len)
                return false;
        if (!keyset_subset(&a->chain_keys, a->chains, &b->chain_keys, b->chains, chain_equal))
                return false;
        rule_keys_refresh(a);
        rule_keys_refresh(b);
        if (a->rule_keys.n != b->rule_keys.n)
                return false;
        return keyset_subset(&a->rule_keys, a->rules, &b->rule_keys, b->rules, rule_equal);
}

int tpfw_ruleset_assign_priorities(TpfwRuleset *rs, TpfwDiag *diag)
{
        /* per (ipv, table, chain): the live order as a list of rules */
        g_autoptr(GHashTable) chains = chain_key_table((GDestroyNotify)g_ptr_array_unref);
        g_autoptr(GPtrArray) order = g_ptr_array_new(); /* the lists in first-seen order */

        for (guint i = 0; i < rs->rules->len; i++) {
                TpfwRule *r = rs->rules->pdata[i];
                const TpfwChain key = {r->ipv, r->table, r->chain};
                GPtrArray *live = g_hash_table_lookup(chains, &key);

                if (!live) {
                        live = g_ptr_array_new();
                        g_ptr_array_add(order, live);
                        g_hash_table_insert(chains, chain_key(r->ipv, r->table, r->chain), live);
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
                GPtrArray *live = order->pdata[c];
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
        /* the rules of a chain now have distinct priorities */
        rs->rules_distinct = true;
        return 0;
}

int tpfw_ruleset_tag(TpfwRuleset *rs, const char *owner)
{
        for (guint i = 0; i < rs->rules->len; i++) {
                TpfwRule *r = rs->rules->pdata[i];

                r->argv = tpfw_argv_tag_take(r->argv, owner);
        }
        rs->rule_keys_dirty = true;
        rs->rules_distinct = false; /* rules that differed only in their comments are now equal */
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
        g_autoptr(GHashTable) others = chain_key_table(NULL);
        g_autoptr(GHashTable) own = chain_key_table(NULL);

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
                if (g_hash_table_contains(own, c) && !g_hash_table_contains(others, c))
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
                if (keyset_find(&b->rule_keys, b->rules, rule_equal, r, rule_hash(r)) < 0)
                        tpfw_ruleset_add_rule(out, r->ipv, r->table, r->chain, r->priority,
                                              (const char *const *)r->argv, r->mode, r->position);
        }
        return out;
}

size_t tpfw_ruleset_count_missing(const TpfwRuleset *a, const TpfwRuleset *b)
{
        size_t n = 0;

        for (guint i = 0; i < a->chains->len; i++) {
                const TpfwChain *c = a->chains->pdata[i];
                n += keyset_find(&b->chain_keys, b->chains, chain_equal, c, chain_hash(c)) < 0;
        }
        rule_keys_refresh(b);
        for (guint i = 0; i < a->rules->len; i++) {
                const TpfwRule *r = a->rules->pdata[i];
                n += keyset_find(&b->rule_keys, b->rules, rule_equal, r, rule_hash(r)) < 0;
        }
        return n;
}

void tpfw_ruleset_diff(const TpfwRuleset *a, const TpfwRuleset *b, TpfwRuleset **ret_only_a,
                       TpfwRuleset **ret_only_b)
{
        if (ret_only_a)
                *ret_only_a = only_in(a, b);
        if (ret_only_b)
                *ret_only_b = only_in(b, a);
}
