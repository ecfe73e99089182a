/* SPDX-License-Identifier: MIT */
/* direct.xml: owners' entries, byte-preserving merge of an owner's ruleset, firewalld's layout. */
#include <string.h>

#include <tproxy-firewalld/args.h>

#include "direct-private.h"
#include "ruleset-private.h"
#include "util.h"

#define KUMA_CHAIN_PREFIX "KUMA_MESH_"
#define KUMA_COMMENT_PREFIX "kuma/mesh/transparent/proxy"

/* ---- firewalld's layout (FIREWALLD.md section 3) ---- */

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

void tpfw_direct_append_chain(GString *out, const char *ipv, const char *table, const char *chain)
{
        g_string_append(out, "\n  <chain");
        append_attribute(out, "ipv", ipv);
        append_attribute(out, "table", table);
        append_attribute(out, "chain", chain);
        g_string_append(out, "/>");
}

void tpfw_direct_append_rule(GString *out, const char *ipv, const char *table, const char *chain,
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

size_t tpfw_direct_append_ruleset(GString *out, const TpfwRuleset *rs)
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
                        tpfw_direct_append_chain(out, tpfw_ipv_name(c->ipv), c->table, c->chain);
                        n++;
                }
        }
        n_rules = tpfw_ruleset_n_rules(rs);
        rules = tpfw_ruleset_direct_order(rs);
        for (size_t i = 0; rules && i < n_rules; i++) {
                const TpfwRule *r = rules[i];
                if (!r->argv || !r->argv[0])
                        continue; /* firewalld never writes an empty rule */
                tpfw_direct_append_rule(out, tpfw_ipv_name(r->ipv), r->table, r->chain, r->priority,
                                        (const char *const *)r->argv);
                n++;
        }
        return n;
}

char *tpfw_direct_format_ruleset(const TpfwRuleset *rs)
{
        GString *out = g_string_new("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>");

        tpfw_direct_append_ruleset(out, rs);
        g_string_append(out, "\n</direct>\n");
        return g_string_free(out, FALSE);
}

/* ---- references and ownership ---- */

/*
 * A chain as (ipv, table, chain) compared by content: the desired rulesets' names are not interned
 * in a document's chunk. Formatting them into one string per lookup was a good part of a merge.
 */
typedef struct ChainName {
        const char *ipv, *table, *chain;
} ChainName;

static guint chain_name_hash(gconstpointer p)
{
        const ChainName *k = p;

        return (g_str_hash(k->ipv) * 31u + g_str_hash(k->table)) * 31u + g_str_hash(k->chain);
}

static gboolean chain_name_equal(gconstpointer a, gconstpointer b)
{
        const ChainName *x = a, *y = b;

        return strcmp(x->chain, y->chain) == 0 && strcmp(x->table, y->table) == 0 &&
               strcmp(x->ipv, y->ipv) == 0;
}

/* A set of ChainNames; the names stay the caller's and must outlive it. */
static GHashTable *chain_name_set(void)
{
        return g_hash_table_new_full(chain_name_hash, chain_name_equal, g_free, NULL);
}

static void chain_name_add(GHashTable *set, const char *ipv, const char *table, const char *chain)
{
        g_hash_table_add(set, g_memdup2(&(ChainName){ipv, table, chain}, sizeof(ChainName)));
}

static bool chain_name_contains(GHashTable *set, const char *ipv, const char *table,
                                const char *chain)
{
        return g_hash_table_contains(set, &(ChainName){ipv, table, chain});
}

static bool is_target_option(const char *a)
{
        if (a[0] != '-')
                return false; /* most arguments: values, not options */
        if (a[1] != '-')
                return (a[1] == 'j' || a[1] == 'g') && a[2] == '\0';
        return (a[2] == 'j' && strcmp(a + 2, "jump") == 0) ||
               (a[2] == 'g' && strcmp(a + 2, "goto") == 0);
}

static bool is_chain_command(const char *a)
{
        static const char *const cmds[] = {"append",  "insert",       "delete",
                                           "replace", "new-chain",    "delete-chain",
                                           "flush",   "rename-chain", NULL};

        if (a[0] != '-')
                return false;
        if (a[1] != '-')
                return a[1] != '\0' && strchr("AIDRNXFE", a[1]) && a[2] == '\0';
        if (a[2] == '\0' || !strchr("aidnrf", a[2]))
                return false; /* most long options (--dport, --comment...) start otherwise */
        for (size_t i = 0; cmds[i]; i++)
                if (strcmp(a + 2, cmds[i]) == 0)
                        return true;
        return false;
}

void tpfw_direct_argv_refs(const TpfwEntry *e, DirectRefFn fn, void *userdata)
{
        const char *table = e->table;

        if (e->kind == TPFW_ENTRY_CHAIN) {
                fn(e->table, e->chain, userdata);
                return;
        }
        if (e->kind == TPFW_ENTRY_RULE) {
                fn(e->table, e->chain, userdata);
        } else {
                table = "filter";
                for (size_t i = 0; e->argv && e->argv[i]; i++)
                        if (e->argv[i][0] == '-' &&
                            (strcmp(e->argv[i], "-t") == 0 || strcmp(e->argv[i], "--table") == 0) &&
                            e->argv[i + 1])
                                table = e->argv[i + 1];
        }
        for (size_t i = 0; e->argv && e->argv[i] && e->argv[i + 1]; i++)
                if (is_target_option(e->argv[i]) ||
                    (e->kind == TPFW_ENTRY_PASSTHROUGH && is_chain_command(e->argv[i])))
                        fn(table, e->argv[i + 1], userdata);
}

/*
 * A chain as (ipv, table, chain). The names of a document's entries and references are interned in
 * its string chunk, so comparing the pointers compares the names.
 */
typedef struct ChainRef {
        const char *ipv, *table, *chain;
} ChainRef;

static guint chain_ref_hash(gconstpointer p)
{
        const ChainRef *k = p;

        return (guint)(((uintptr_t)k->ipv * 31u + (uintptr_t)k->table) * 1000003u +
                       (uintptr_t)k->chain) ^
               (guint)((uintptr_t)k->chain >> 4);
}

static gboolean chain_ref_equal(gconstpointer a, gconstpointer b)
{
        const ChainRef *x = a, *y = b;

        return x->ipv == y->ipv && x->table == y->table && x->chain == y->chain;
}

static GHashTable *chain_ref_table(GDestroyNotify value_free)
{
        return g_hash_table_new_full(chain_ref_hash, chain_ref_equal, g_free, value_free);
}

static ChainRef *chain_ref_dup(const ChainRef *k)
{
        return g_memdup2(k, sizeof(*k));
}

/* The chains an entry references (tpfw_direct_argv_refs(), from what the parser noted). */
typedef void (*EntryRefFn)(const ChainRef *ref, void *userdata);

static void entry_refs(const TpfwDirect *d, size_t i, EntryRefFn fn, void *userdata)
{
        const TpfwEntry *e = &d->entries[i];
        const DirectEntryInfo *info = &d->info[i];

        if (e->kind != TPFW_ENTRY_PASSTHROUGH)
                fn(&(ChainRef){e->ipv, e->table, e->chain}, userdata);
        for (size_t k = 0; k < info->n_refs; k++) {
                const char *const *pair = &d->refs[2 * (info->refs + k)];
                fn(&(ChainRef){e->ipv, pair[0], pair[1]}, userdata);
        }
}

/* Who references a chain key. */
typedef struct RefInfo {
        bool by_owner;       /* rules tagged for the owner in question */
        bool by_other_owner; /* rules tagged for another owner */
        bool by_unmarked;    /* untagged rules and passthroughs */
} RefInfo;

/*
 * A bit per hash of a declared chain's name pointer: most references (built-in chains, targets
 * like ACCEPT) name no <chain>, and one bit test turns nearly all of them away before the hash
 * table lookup.
 */
typedef struct ChainFilter {
        uint64_t *bits;
        unsigned shift; /* 64 - log2(number of bits) */
} ChainFilter;

static size_t chain_filter_bit(const ChainFilter *f, const char *chain)
{
        return (size_t)(((uint64_t)(uintptr_t)chain * 0x9E3779B97F4A7C15ull) >> f->shift);
}

static void chain_filter_init(ChainFilter *f, size_t n_chains)
{
        unsigned log2 = 9;

        /* about 32 bits per chain: few false positives */
        while (log2 < 24 && ((size_t)1 << log2) < 32 * n_chains)
                log2++;
        f->shift = 64 - log2;
        f->bits = g_new0(uint64_t, ((size_t)1 << log2) / 64);
}

static void chain_filter_add(ChainFilter *f, const char *chain)
{
        size_t b = chain_filter_bit(f, chain);

        f->bits[b / 64] |= (uint64_t)1 << (b % 64);
}

static bool chain_filter_may_hold(const ChainFilter *f, const char *chain)
{
        size_t b = chain_filter_bit(f, chain);

        return (f->bits[b / 64] >> (b % 64)) & 1;
}

typedef struct RefCollector {
        GHashTable *refs;          /* ChainRef -> RefInfo */
        GHashTable *declared;      /* ChainRefs of <chain> entries, or NULL for all */
        const ChainFilter *filter; /* of declared's chain names */
        int who;                   /* 0 owner, 1 other owner, 2 unmarked */
        ChainRef last;             /* the last declared key noted, and its info */
        RefInfo *last_info;
} RefCollector;

static void collect_ref(const ChainRef *key, void *userdata)
{
        RefCollector *rc = userdata;
        RefInfo *info;

        if (rc->last_info && chain_ref_equal(key, &rc->last)) {
                info = rc->last_info; /* rules come grouped by chain */
        } else {
                if (rc->declared && (!chain_filter_may_hold(rc->filter, key->chain) ||
                                     !g_hash_table_contains(rc->declared, key)))
                        return;
                info = g_hash_table_lookup(rc->refs, key);
                if (!info) {
                        info = g_new0(RefInfo, 1);
                        g_hash_table_insert(rc->refs, chain_ref_dup(key), info);
                }
                rc->last = *key;
                rc->last_info = info;
        }
        if (rc->who == 0)
                info->by_owner = true;
        else if (rc->who == 1)
                info->by_other_owner = true;
        else
                info->by_unmarked = true;
}

/* The chain references for owner; tags come from d->info. */
typedef struct OwnerView {
        GHashTable *refs; /* ChainRef -> RefInfo */
} OwnerView;

static const char *entry_tag(const TpfwDirect *d, size_t i)
{
        return d->entries[i].kind == TPFW_ENTRY_RULE ? d->info[i].tag : NULL;
}

static void owner_view_clear(OwnerView *v)
{
        if (v->refs)
                g_hash_table_unref(v->refs);
        v->refs = NULL;
}

static void owner_view_build(const TpfwDirect *d, const char *owner, OwnerView *v)
{
        g_autoptr(GHashTable) declared = chain_ref_table(NULL);
        g_autofree uint64_t *filter_bits = NULL;
        ChainFilter filter;
        RefCollector rc = {0};

        v->refs = chain_ref_table(g_free);
        for (size_t i = 0; i < d->n_entries; i++) {
                const TpfwEntry *e = &d->entries[i];
                if (e->kind == TPFW_ENTRY_CHAIN)
                        g_hash_table_add(declared,
                                         chain_ref_dup(&(ChainRef){e->ipv, e->table, e->chain}));
        }
        if (g_hash_table_size(declared) == 0)
                return; /* nothing can be referenced */
        chain_filter_init(&filter, g_hash_table_size(declared));
        filter_bits = filter.bits;
        rc = (RefCollector){.refs = v->refs, .declared = declared, .filter = &filter};
        for (size_t i = 0; i < d->n_entries; i++) {
                const TpfwEntry *e = &d->entries[i];
                if (e->kind == TPFW_ENTRY_CHAIN)
                        chain_filter_add(&filter, e->chain);
        }
        for (size_t i = 0; i < d->n_entries; i++) {
                const char *tag = entry_tag(d, i);

                if (d->entries[i].kind == TPFW_ENTRY_CHAIN)
                        continue;
                rc.who = 2;
                if (tag)
                        rc.who = owner && strcmp(tag, owner) == 0 ? 0 : 1;
                entry_refs(d, i, collect_ref, &rc);
        }
}

static const RefInfo *chain_refs(const OwnerView *v, const TpfwEntry *e)
{
        return g_hash_table_lookup(v->refs, &(ChainRef){e->ipv, e->table, e->chain});
}

static bool entry_ipv(const TpfwEntry *e, TpfwIpv *ret)
{
        return tpfw_ipv_from_name(e->ipv, ret) == 0;
}

static bool is_owner_rule(const TpfwDirect *d, size_t i, const char *owner)
{
        const char *tag = entry_tag(d, i);
        TpfwIpv ipv;

        return tag && strcmp(tag, owner) == 0 && entry_ipv(&d->entries[i], &ipv);
}

static bool is_owner_chain(const TpfwDirect *d, const OwnerView *v, size_t i,
                           const TpfwRuleset *desired)
{
        const TpfwEntry *e = &d->entries[i];
        const RefInfo *info;
        bool declared;
        TpfwIpv ipv;

        if (e->kind != TPFW_ENTRY_CHAIN || !entry_ipv(e, &ipv))
                return false;
        info = chain_refs(v, e);
        if (!info || !info->by_owner)
                return false;
        declared = desired && tpfw_ruleset_has_chain(desired, ipv, e->table, e->chain);
        if (declared)
                return true;
        return !info->by_other_owner && !info->by_unmarked &&
               !tpfw_is_builtin_chain(e->table, e->chain);
}

static void owner_add_entry(TpfwRuleset *rs, const TpfwDirect *d, size_t i,
                            DirectArgvScratch *scratch)
{
        const TpfwEntry *e = &d->entries[i];
        TpfwIpv ipv;

        if (!entry_ipv(e, &ipv))
                return;
        /* duplicates in the file are one entry for firewalld: -EEXIST is expected */
        if (e->kind == TPFW_ENTRY_CHAIN)
                (void)tpfw_ruleset_add_chain(rs, ipv, e->table, e->chain);
        else
                (void)tpfw_ruleset_add_rule(rs, ipv, e->table, e->chain, e->priority,
                                            tpfw_direct_entry_argv_scratch(d, i, scratch),
                                            TPFW_RULE_APPEND, 0);
}

static int collect_owner(const TpfwDirect *d, const OwnerView *v, const char *owner,
                         const TpfwRuleset *desired, TpfwRuleset **ret, bool *ret_elements)
{
        g_autoptr(TpfwRuleset) rs = tpfw_ruleset_new();
        DirectArgvScratch scratch = {0};

        if (!rs)
                return -ENOMEM;
        for (size_t k = 0; k < d->n_elements; k++) {
                long i = d->elements[k].entry;
                bool mine;

                if (i < 0)
                        continue;
                mine = is_owner_rule(d, (size_t)i, owner) ||
                       is_owner_chain(d, v, (size_t)i, desired);
                if (!mine)
                        continue;
                owner_add_entry(rs, d, (size_t)i, &scratch);
                if (ret_elements)
                        ret_elements[k] = true;
        }
        tpfw_direct_argv_scratch_clear(&scratch);
        *ret = g_steal_pointer(&rs);
        return 0;
}

int tpfw_direct_collect_owner(const TpfwDirect *d, const char *owner, const TpfwRuleset *desired,
                              TpfwRuleset **ret, GArray **ret_elements)
{
        OwnerView v = {0};
        g_autofree bool *mine = g_new0(bool, d->n_elements + 1);
        int r;

        owner_view_build(d, owner, &v);
        r = collect_owner(d, &v, owner, desired, ret, mine);
        owner_view_clear(&v);
        if (r >= 0 && ret_elements) {
                GArray *a = g_array_new(FALSE, FALSE, sizeof(size_t));
                for (size_t k = 0; k < d->n_elements; k++)
                        if (mine[k])
                                g_array_append_val(a, k);
                *ret_elements = a;
        }
        return r;
}

int tpfw_direct_owner_ruleset(const TpfwDirect *d, const char *owner, TpfwRuleset **ret,
                              TpfwDiag *diag)
{
        int r;

        if (!tpfw_owner_name_is_valid(owner))
                return tpfw_diag_set(diag, EINVAL, NULL, 0, "invalid owner name '%s'",
                                     owner ? owner : "");
        r = tpfw_direct_collect_owner(d, owner, NULL, ret, NULL);
        if (r < 0)
                return tpfw_diag_set(diag, r, d->name, 0, "out of memory");
        return 0;
}

/* ---- list of owners ---- */

static int owner_count_cmp(const void *a, const void *b)
{
        return strcmp(((const TpfwOwnerCount *)a)->owner, ((const TpfwOwnerCount *)b)->owner);
}

typedef struct OwnerRefs {
        GHashTable *chain_owner;
        const char *tag;
} OwnerRefs;

static const char mixed_owners[] = "";

static void note_chain_owner(const ChainRef *key, void *userdata)
{
        OwnerRefs *o = userdata;
        const char *cur = g_hash_table_lookup(o->chain_owner, key);

        if (!cur)
                g_hash_table_insert(o->chain_owner, chain_ref_dup(key), (char *)o->tag);
        else if (strcmp(cur, o->tag) != 0)
                g_hash_table_insert(o->chain_owner, chain_ref_dup(key), (char *)mixed_owners);
}

int tpfw_direct_list_owners(const TpfwDirect *d, TpfwOwnerCount **ret, size_t *ret_n)
{
        g_autoptr(GHashTable) counts = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GHashTable) chain_owner = chain_ref_table(NULL);
        OwnerView v = {0};
        GArray *out = g_array_new(FALSE, TRUE, sizeof(TpfwOwnerCount));
        GHashTableIter it;
        gpointer value;

        owner_view_build(d, NULL, &v);
        /* the single tagged owner referencing each chain key ("" when mixed) */
        for (size_t i = 0; i < d->n_entries; i++) {
                OwnerRefs o = {chain_owner, entry_tag(d, i)};

                if (d->entries[i].kind == TPFW_ENTRY_CHAIN || !o.tag)
                        continue;
                entry_refs(d, i, note_chain_owner, &o);
        }
        for (size_t i = 0; i < d->n_entries; i++) {
                const TpfwEntry *e = &d->entries[i];
                const char *o = NULL;
                TpfwOwnerCount *c;

                if (entry_tag(d, i)) {
                        o = entry_tag(d, i);
                } else if (e->kind == TPFW_ENTRY_CHAIN) {
                        const ChainRef key = {e->ipv, e->table, e->chain};
                        const RefInfo *info = g_hash_table_lookup(v.refs, &key);
                        o = g_hash_table_lookup(chain_owner, &key);
                        if (!o || !*o || (info && info->by_unmarked) ||
                            tpfw_is_builtin_chain(e->table, e->chain))
                                continue;
                }
                if (!o)
                        continue;
                c = g_hash_table_lookup(counts, o);
                if (!c) {
                        c = g_new0(TpfwOwnerCount, 1);
                        c->owner = g_strdup(o);
                        g_hash_table_insert(counts, c->owner, c);
                }
                if (e->kind == TPFW_ENTRY_RULE)
                        c->rules++;
                else
                        c->chains++;
        }
        g_hash_table_iter_init(&it, counts);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
                g_array_append_val(out, *(TpfwOwnerCount *)value);
                g_free(value);
        }
        owner_view_clear(&v);
        if (out->len > 1) /* qsort(NULL, 0, ...) is undefined behaviour */
                qsort(out->data, out->len, sizeof(TpfwOwnerCount), owner_count_cmp);
        *ret_n = out->len;
        *ret = (TpfwOwnerCount *)(void *)g_array_free(out, FALSE);
        return 0;
}

void tpfw_owner_counts_free(TpfwOwnerCount *counts, size_t n)
{
        for (size_t i = 0; counts && i < n; i++)
                g_free(counts[i].owner);
        g_free(counts);
}

/* ---- merge ---- */

/*
 * Appends the key of (ipv, table, chain, tpfw_argv_strip_comment(argv)): the fields joined by
 * \x1f, each argument after a \x1e. Built without the copies: the key of every foreign rule in a
 * chain that desired has rules in is built this way.
 */
static void append_stripped_key(GString *out, const char *ipv, const char *table, const char *chain,
                                const char *const *argv)
{
        g_string_append(out, ipv);
        g_string_append_c(out, '\x1f');
        g_string_append(out, table);
        g_string_append_c(out, '\x1f');
        g_string_append(out, chain);
        g_string_append_c(out, '\x1f');
        /* tpfw_argv_strip_comment(): "-m comment" (or "--match comment") and the "--comment X"
         * options right after it go */
        for (size_t i = 0; argv && argv[i]; i++) {
                if ((strcmp(argv[i], "-m") == 0 || strcmp(argv[i], "--match") == 0) &&
                    argv[i + 1] && strcmp(argv[i + 1], "comment") == 0) {
                        i++;
                        while (argv[i + 1] && strcmp(argv[i + 1], "--comment") == 0 && argv[i + 2])
                                i += 2;
                        continue;
                }
                g_string_append_c(out, '\x1e');
                g_string_append(out, argv[i]);
        }
}

static char *stripped_key(const char *ipv, const char *table, const char *chain,
                          const char *const *argv)
{
        GString *s = g_string_new(NULL);

        append_stripped_key(s, ipv, table, chain, argv);
        return g_string_free(s, FALSE);
}

static const char *first_comment(const char *const *argv)
{
        for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++)
                if (strcmp(argv[i], "--comment") == 0)
                        return argv[i + 1];
        return NULL;
}

static bool refs_kuma_chain(const TpfwEntry *e, const char *const *argv)
{
        if (g_str_has_prefix(e->chain, KUMA_CHAIN_PREFIX))
                return true;
        for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++)
                if (is_target_option(argv[i]) && g_str_has_prefix(argv[i + 1], KUMA_CHAIN_PREFIX))
                        return true;
        return false;
}

/* The last lookup of a ChainMemo's set: a file's entries come grouped by chain, and the names of
 * a document's entries are interned, so the same pointers mean the same answer. */
typedef struct ChainMemo {
        const char *ipv, *table, *chain;
        bool found;
} ChainMemo;

static bool has_chain_memo(GHashTable *set, ChainMemo *memo, const char *ipv, const char *table,
                           const char *chain)
{
        if (memo->chain && memo->chain == chain && memo->table == table && memo->ipv == ipv)
                return memo->found;
        *memo = (ChainMemo){ipv, table, chain, chain_name_contains(set, ipv, table, chain)};
        return memo->found;
}

/* Sets of what desired holds, for the conflict and adoption checks. */
typedef struct DesiredIndex {
        const TpfwRuleset *rs;
        GHashTable *groups;                 /* ChainNames holding desired rules */
        GHashTable *stripped;               /* stripped rule keys, made on first use */
        GHashTable *chains;                 /* ChainNames of chains */
        ChainMemo groups_memo, chains_memo; /* for names interned in one document only */
        /* scratch for foreign_verdict(), made on first use */
        GString *key;
        DirectArgvScratch argv;
} DesiredIndex;

static void desired_index_build(const TpfwRuleset *rs, DesiredIndex *x)
{
        const TpfwRule *last = NULL;

        *x = (DesiredIndex){.rs = rs};
        x->groups = chain_name_set();
        x->chains = chain_name_set();
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);

                /* rules come grouped by chain */
                if (!last || r->ipv != last->ipv || strcmp(r->chain, last->chain) != 0 ||
                    strcmp(r->table, last->table) != 0)
                        chain_name_add(x->groups, tpfw_ipv_name(r->ipv), r->table, r->chain);
                last = r;
        }
        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);
                chain_name_add(x->chains, tpfw_ipv_name(c->ipv), c->table, c->chain);
        }
}

/* Most merges (a no-op among others) never look a rule up by its stripped key. */
static GHashTable *desired_index_stripped(DesiredIndex *x)
{
        if (!x->stripped) {
                x->stripped = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
                for (size_t i = 0; i < tpfw_ruleset_n_rules(x->rs); i++) {
                        const TpfwRule *r = tpfw_ruleset_rule(x->rs, i);
                        g_hash_table_add(x->stripped,
                                         stripped_key(tpfw_ipv_name(r->ipv), r->table, r->chain,
                                                      (const char *const *)r->argv));
                }
        }
        return x->stripped;
}

static void desired_index_clear(DesiredIndex *x)
{
        if (x->key)
                g_string_free(x->key, TRUE);
        tpfw_direct_argv_scratch_clear(&x->argv);
        g_hash_table_unref(x->groups);
        if (x->stripped)
                g_hash_table_unref(x->stripped);
        g_hash_table_unref(x->chains);
        *x = (DesiredIndex){0};
}

typedef enum Verdict {
        KEEP = 0,
        CONFLICT_CHAIN,
        CONFLICT_RULE,
} Verdict;

/* Whether foreign entry i collides with desired (DESIGN.md section 3). */
static Verdict foreign_verdict(const TpfwDirect *d, size_t i, DesiredIndex *dx)
{
        const TpfwEntry *e = &d->entries[i];
        TpfwIpv ipv;

        if (!entry_ipv(e, &ipv))
                return KEEP;
        if (e->kind == TPFW_ENTRY_CHAIN)
                return has_chain_memo(dx->chains, &dx->chains_memo, e->ipv, e->table, e->chain)
                               ? CONFLICT_CHAIN
                               : KEEP;
        /* only a rule in a chain desired has rules in can be a copy of one of them */
        if (e->kind == TPFW_ENTRY_RULE && !entry_tag(d, i) &&
            has_chain_memo(dx->groups, &dx->groups_memo, e->ipv, e->table, e->chain)) {
                const char *const *argv = tpfw_direct_entry_argv_scratch(d, i, &dx->argv);

                if (!dx->key)
                        dx->key = g_string_new(NULL);
                g_string_truncate(dx->key, 0);
                append_stripped_key(dx->key, e->ipv, e->table, e->chain, argv);
                return g_hash_table_contains(desired_index_stripped(dx), dx->key->str)
                               ? CONFLICT_RULE
                               : KEEP;
        }
        return KEEP;
}

/* What kumactl --store-firewalld left behind (DESIGN.md section 4). */
static bool is_kuma_legacy(const TpfwDirect *d, size_t i, const OwnerView *v)
{
        const TpfwEntry *e = &d->entries[i];

        if (e->kind == TPFW_ENTRY_CHAIN) {
                const RefInfo *info;

                if (!g_str_has_prefix(e->chain, KUMA_CHAIN_PREFIX))
                        return false;
                info = chain_refs(v, e);
                return !info || !info->by_other_owner;
        }
        if (e->kind == TPFW_ENTRY_RULE && !entry_tag(d, i)) {
                g_auto(GStrv) argv = tpfw_direct_entry_argv_dup(d, i);
                const char *comment = first_comment((const char *const *)argv);
                return refs_kuma_chain(e, (const char *const *)argv) ||
                       (comment && g_str_has_prefix(comment, KUMA_COMMENT_PREFIX));
        }
        return false;
}

static char *describe_entry(const TpfwDirect *d, size_t i)
{
        const TpfwEntry *e = &d->entries[i];
        g_auto(GStrv) argv = NULL;
        g_autofree char *args = NULL;

        if (e->kind == TPFW_ENTRY_CHAIN)
                return g_strdup_printf("<chain ipv=\"%s\" table=\"%s\" chain=\"%s\">", e->ipv,
                                       e->table, e->chain);
        argv = tpfw_direct_entry_argv_dup(d, i);
        args = tpfw_args_join((const char *const *)argv);
        return g_strdup_printf("<rule ipv=\"%s\" table=\"%s\" chain=\"%s\" priority=\"%d\">%s",
                               e->ipv, e->table, e->chain, e->priority, args ? args : "");
}

static unsigned count_newlines(const char *p, size_t n)
{
        const char *end = p + n;
        unsigned c = 0;

        while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
                c++;
                p++;
        }
        return c;
}

/*
 * Makes d describe out: d's bytes with the removed elements (and the whitespace before each) cut
 * and block inserted at insert_at. The kept elements only move; the new ones are parsed from block
 * alone, which also checks that they are what firewalld accepts.
 */
static int adopt_merged(TpfwDirect *d, GString **out, const bool *remove, size_t insert_at,
                        const GString *block, TpfwDiag *diag)
{
        g_autoptr(GString) mini = g_string_sized_new(block->len + 32);
        TpfwDirect *bd = NULL;
        size_t cut = 0, last_end = 0, mini_start, at = 0, w = 0, we = 0, w_block = 0, we_block = 0;
        size_t n_elements, n_entries;
        unsigned cut_lines = 0, block_lines = count_newlines(block->str, block->len);
        unsigned last_end_line = 1, at_line = 1;
        DirectSpan last_span = {0};
        bool block_done = false, have_last = false;
        int r;

        g_string_append(mini, "<direct>");
        mini_start = mini->len;
        g_string_append_len(mini, block->str, (gssize)block->len);
        g_string_append(mini, "\n</direct>\n");
        r = tpfw_direct_parse_with(d->name, mini->str, mini->len, false, d->strings, &bd, diag);
        if (r < 0)
                return r;

        /* Pass 1, in place (a large file has no room for a second set of arrays): drop the removed
         * elements and move the kept ones, noting where the block goes. */
        for (size_t k = 0; k <= d->n_elements; k++) {
                DirectElement el;

                if (!block_done &&
                    (k == d->n_elements || d->elements[k].span.ws_start >= insert_at)) {
                        if (have_last) {
                                last_end = last_span.end;
                                last_end_line = last_span.line +
                                                count_newlines(d->data + last_span.start,
                                                               last_span.end - last_span.start);
                        }
                        at = insert_at - cut;
                        at_line = last_end_line +
                                  count_newlines(d->data + last_end, insert_at - last_end) -
                                  cut_lines;
                        w_block = w;
                        we_block = we;
                        block_done = true;
                }
                if (k == d->n_elements)
                        break;
                el = d->elements[k];
                if (!block_done) {
                        /* where the element before the block ends, counted once it is known */
                        last_span = el.span;
                        have_last = true;
                }
                if (remove[k]) {
                        cut += el.span.end - el.span.ws_start;
                        cut_lines += count_newlines(d->data + el.span.ws_start,
                                                    el.span.end - el.span.ws_start);
                        if (el.entry >= 0)
                                tpfw_strv_free(g_steal_pointer(&d->entries[el.entry].argv));
                        continue;
                }
                {
                        size_t add = el.span.ws_start >= insert_at ? block->len : 0;
                        unsigned lines_add = add ? block_lines : 0;

                        el.span.ws_start = (uint32_t)(el.span.ws_start - cut + add);
                        el.span.start = (uint32_t)(el.span.start - cut + add);
                        el.span.end = (uint32_t)(el.span.end - cut + add);
                        el.span.line = el.span.line - cut_lines + lines_add;
                }
                if (el.entry >= 0) {
                        d->entries[we] = d->entries[el.entry];
                        d->info[we] = d->info[el.entry];
                        d->entries[we].line = el.span.line;
                        el.entry = (long)we++;
                }
                d->elements[w++] = el;
        }

        /* Pass 2: open a gap for the block's elements and entries, fill it. */
        n_elements = w + bd->n_elements;
        n_entries = we + bd->n_entries;
        d->elements = g_renew(DirectElement, d->elements, n_elements + 1);
        d->entries = g_renew(TpfwEntry, d->entries, n_entries + 1);
        d->info = g_renew(DirectEntryInfo, d->info, n_entries + 1);
        memmove(d->elements + w_block + bd->n_elements, d->elements + w_block,
                (w - w_block) * sizeof(DirectElement));
        memmove(d->entries + we_block + bd->n_entries, d->entries + we_block,
                (we - we_block) * sizeof(TpfwEntry));
        memmove(d->info + we_block + bd->n_entries, d->info + we_block,
                (we - we_block) * sizeof(DirectEntryInfo));
        for (size_t b = 0; b < bd->n_elements; b++) {
                DirectElement el = bd->elements[b];

                el.span.ws_start = (uint32_t)(el.span.ws_start - mini_start + at);
                el.span.start = (uint32_t)(el.span.start - mini_start + at);
                el.span.end = (uint32_t)(el.span.end - mini_start + at);
                el.span.line = el.span.line - 1 + at_line;
                if (el.entry >= 0) {
                        size_t i = we_block + (size_t)el.entry;

                        d->entries[i] = bd->entries[el.entry];
                        d->entries[i].line = el.span.line;
                        d->info[i] = bd->info[el.entry];
                        d->info[i].refs += (uint32_t)d->n_refs;
                }
                d->elements[w_block + b] = el;
        }
        /* entries follow element order: renumber both links */
        we = 0;
        for (size_t k = 0; k < n_elements; k++)
                if (d->elements[k].entry >= 0) {
                        d->elements[k].entry = (long)we;
                        d->info[we++].element = (uint32_t)k;
                }
        d->n_elements = n_elements;
        d->n_entries = n_entries;
        d->layout.n_spans = n_elements;

        /* refs: the old ones (some now unused) and the block's after them */
        d->refs = g_renew(const char *, d->refs, 2 * (d->n_refs + bd->n_refs) + 1);
        if (bd->n_refs > 0) /* bd->refs may be NULL */
                memcpy(d->refs + 2 * d->n_refs, bd->refs, 2 * bd->n_refs * sizeof(const char *));
        d->n_refs += bd->n_refs;

        if (!d->data_borrowed)
                g_free(d->data);
        d->data_borrowed = false;
        d->len = (*out)->len;
        d->data = g_string_free(g_steal_pointer(out), FALSE);

        /* bd's entries and names now belong to d */
        bd->n_entries = 0;
        bd->strings = NULL;
        tpfw_direct_free(bd);
        return 0;
}

int tpfw_direct_merge(TpfwDirect *d, const char *owner, const TpfwRuleset *desired, unsigned flags,
                      TpfwMergeResult *result, TpfwDiag *diag)
{
        return tpfw_direct_merge_with_legacy(d, owner, desired, NULL, flags, result, diag);
}

int tpfw_direct_merge_with_legacy(TpfwDirect *d, const char *owner, const TpfwRuleset *desired,
                                  const TpfwRuleset *legacy_reference, unsigned flags,
                                  TpfwMergeResult *result, TpfwDiag *diag)
{
        g_autoptr(TpfwRuleset) empty = NULL;
        g_autoptr(TpfwRuleset) current = NULL;
        g_autofree bool *remove = NULL;
        g_autoptr(GString) block = NULL;
        g_autoptr(GString) out = NULL;
        TpfwDirect *nd = NULL;
        OwnerView v = {0};
        DesiredIndex dx = {0}, lx = {0};
        size_t adopted = 0, insert_at = 0, first_owner = (size_t)-1;
        int r = 0;

        *result = (TpfwMergeResult){0};
        if (!tpfw_owner_name_is_valid(owner))
                return tpfw_diag_set(diag, EINVAL, NULL, 0, "invalid owner name '%s'",
                                     owner ? owner : "");
        if (!desired)
                desired = empty = tpfw_ruleset_new();

        remove = g_new0(bool, d->n_elements + 1);
        owner_view_build(d, owner, &v);
        desired_index_build(desired, &dx);
        if (legacy_reference && (flags & TPFW_MERGE_ADOPT_KUMA_LEGACY))
                desired_index_build(legacy_reference, &lx);
        r = collect_owner(d, &v, owner, desired, &current, remove);
        if (r < 0)
                goto out;
        for (size_t k = 0; k < d->n_elements; k++) {
                long i = d->elements[k].entry;
                const TpfwEntry *e;
                Verdict verdict;
                bool legacy;

                if (remove[k]) {
                        if (first_owner == (size_t)-1)
                                first_owner = k;
                        continue;
                }
                if (i < 0)
                        continue;
                e = &d->entries[i];
                verdict = foreign_verdict(d, (size_t)i, &dx);
                legacy = (flags & TPFW_MERGE_ADOPT_KUMA_LEGACY) &&
                         (is_kuma_legacy(d, (size_t)i, &v) || verdict == CONFLICT_RULE ||
                          (lx.groups && foreign_verdict(d, (size_t)i, &lx) == CONFLICT_RULE));
                if (legacy || (verdict != KEEP && (flags & TPFW_MERGE_ADOPT))) {
                        remove[k] = true;
                        adopted++;
                } else if (verdict != KEEP) {
                        g_autofree char *what = describe_entry(d, (size_t)i);
                        /* kumactl's leftovers have their own, narrower switch */
                        const char *hint = is_kuma_legacy(d, (size_t)i, &v)
                                                   ? "it looks like kumactl --store-firewalld "
                                                     "wrote it; use --adopt-kuma-legacy to take "
                                                     "it over"
                                                   : "use --adopt to take it over";
                        r = tpfw_diag_set(diag, EEXIST, d->name, e->line,
                                          verdict == CONFLICT_CHAIN
                                                  ? "conflict: %s is declared by someone other "
                                                    "than owner '%s'; %s"
                                                  : "conflict: %s is an unmarked copy of a rule "
                                                    "of owner '%s'; %s",
                                          what, owner, hint);
                        goto out;
                }
        }

        if (adopted == 0 && tpfw_ruleset_equal(current, desired))
                goto out; /* nothing to do: bytes untouched */

        if (!tpfw_direct_is_editable(d, diag)) {
                r = -EOPNOTSUPP;
                goto out;
        }

        block = g_string_new(NULL);
        tpfw_direct_append_ruleset(block, desired);
        out = g_string_sized_new(d->len + block->len + 64);
        if (d->layout.root_self_closing) {
                g_string_append_len(out, d->data, (gssize)d->layout.root_start);
                g_string_append(out, "<direct>");
                g_string_append_len(out, block->str, (gssize)block->len);
                g_string_append(out, "\n</direct>");
                g_string_append_len(out, d->data + d->layout.root_tag_end,
                                    (gssize)(d->len - d->layout.root_tag_end));
        } else {
                size_t pos = 0;
                bool inserted = false;

                if (first_owner != (size_t)-1)
                        insert_at = d->elements[first_owner].span.ws_start;
                else if (d->n_elements > 0)
                        insert_at = d->elements[d->n_elements - 1].span.end;
                else
                        insert_at = d->layout.root_tag_end;
                for (size_t k = 0; k <= d->n_elements; k++) {
                        const DirectSpan *s = k < d->n_elements ? &d->elements[k].span : NULL;
                        size_t until = s ? s->ws_start : d->len;

                        if (s && !remove[k])
                                continue;
                        /* insert_at never lies inside a removed range */
                        if (!inserted && insert_at <= until) {
                                g_string_append_len(out, d->data + pos, (gssize)(insert_at - pos));
                                g_string_append_len(out, block->str, (gssize)block->len);
                                pos = insert_at;
                                inserted = true;
                        }
                        g_string_append_len(out, d->data + pos, (gssize)(until - pos));
                        if (s)
                                pos = s->end;
                }
        }

        if (d->layout.root_self_closing) {
                /* <direct/>: a tiny file, parse the result whole */
                r = tpfw_direct_parse(d->name, out->str, out->len, &nd, diag);
        } else {
                /* The kept bytes were valid and stay as they were: check only the new ones. */
                r = adopt_merged(d, &out, remove, insert_at, block, diag);
        }
        if (r < 0) {
                tpfw_diag_prefix(diag, "internal error: the merged file does not parse");
                r = -EPROTO;
                goto out;
        }
        result->changed = true;
        result->added = tpfw_ruleset_count_missing(desired, current);
        result->removed = tpfw_ruleset_count_missing(current, desired) + adopted;
        if (nd) {
                TpfwDirect tmp = *d;
                *d = *nd;
                *nd = tmp;
                tpfw_direct_free(nd);
        }
out:
        desired_index_clear(&dx);
        if (lx.groups)
                desired_index_clear(&lx);
        owner_view_clear(&v);
        return r;
}
