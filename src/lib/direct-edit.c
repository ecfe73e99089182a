/* SPDX-License-Identifier: MIT */
/* direct.xml edit: owners' entries, and the byte-preserving merge of an owner's ruleset. */
#include <string.h>

#include <tproxy-firewalld/args.h>

#include "direct-model.h"
#include "direct-render.h"
#include "ruleset-private.h"
#include "util.h"

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
        size_t first = d->info[i].refs, n = direct_entry_n_refs(d, i);

        if (e->kind != TPFW_ENTRY_PASSTHROUGH)
                fn(&(ChainRef){e->ipv, e->table, e->chain}, userdata);
        for (size_t k = 0; k < n; k++) {
                const char *const *pair = &d->refs[2 * (first + k)];
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

static void owner_add_entry(TpfwRuleset *rs, const TpfwDirect *d, size_t i)
{
        const TpfwEntry *e = &d->entries[i];
        g_auto(GStrv) argv = NULL;
        TpfwIpv ipv;

        if (!entry_ipv(e, &ipv))
                return;
        /* duplicates in the file are one entry for firewalld: -EEXIST is expected */
        if (e->kind == TPFW_ENTRY_CHAIN)
                (void)tpfw_ruleset_add_chain(rs, ipv, e->table, e->chain);
        else if ((argv = direct_entry_argv_dup(d, i)))
                (void)tpfw_ruleset_add_rule(rs, ipv, e->table, e->chain, e->priority,
                                            (const char *const *)argv, TPFW_RULE_APPEND, 0);
}

static int collect_owner(const TpfwDirect *d, const OwnerView *v, const char *owner,
                         const TpfwRuleset *desired, TpfwRuleset **ret, bool *ret_elements)
{
        g_autoptr(TpfwRuleset) rs = tpfw_ruleset_new();

        if (!rs)
                return -ENOMEM;
        for (size_t k = 0; k < d->n_elements; k++) {
                int32_t i = d->elements[k].entry;
                bool mine;

                if (i < 0)
                        continue;
                mine = is_owner_rule(d, (size_t)i, owner) ||
                       is_owner_chain(d, v, (size_t)i, desired);
                if (!mine)
                        continue;
                owner_add_entry(rs, d, (size_t)i);
                if (ret_elements)
                        ret_elements[k] = true;
        }
        *ret = g_steal_pointer(&rs);
        return 0;
}

static int direct_collect_owner(const TpfwDirect *d, const char *owner, const TpfwRuleset *desired,
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
        r = direct_collect_owner(d, owner, NULL, ret, NULL);
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
        GHashTable *stripped;               /* direct_stripped_key_hash() of its rules -> rule */
        GHashTable *chains;                 /* ChainNames of chains */
        ChainMemo groups_memo, chains_memo; /* for names interned in one document only */
} DesiredIndex;

static guint key_hash_hash(gconstpointer p)
{
        return (guint)(*(const uint64_t *)p >> 32);
}

static gboolean key_hash_equal(gconstpointer a, gconstpointer b)
{
        return *(const uint64_t *)a == *(const uint64_t *)b;
}

static void desired_index_build(const TpfwRuleset *rs, DesiredIndex *x)
{
        const TpfwRule *last = NULL;

        *x = (DesiredIndex){.rs = rs};
        x->groups = chain_name_set();
        x->chains = chain_name_set();
        x->stripped = g_hash_table_new_full(key_hash_hash, key_hash_equal, g_free, NULL);
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                uint64_t h = direct_stripped_key_hash(tpfw_ipv_name(r->ipv), r->table, r->chain,
                                                      (const char *const *)r->argv);

                /* rules come grouped by chain */
                if (!last || r->ipv != last->ipv || strcmp(r->chain, last->chain) != 0 ||
                    strcmp(r->table, last->table) != 0)
                        chain_name_add(x->groups, tpfw_ipv_name(r->ipv), r->table, r->chain);
                last = r;
                if (!g_hash_table_contains(x->stripped, &h))
                        g_hash_table_insert(x->stripped, g_memdup2(&h, sizeof(h)), (gpointer)r);
        }
        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);
                chain_name_add(x->chains, tpfw_ipv_name(c->ipv), c->table, c->chain);
        }
}

static void desired_index_clear(DesiredIndex *x)
{
        g_hash_table_unref(x->groups);
        g_hash_table_unref(x->stripped);
        g_hash_table_unref(x->chains);
        *x = (DesiredIndex){0};
}

/* Whether rule i of d is, comments aside, one of desired's (the hash matched: check the words). */
static bool is_desired_copy(const TpfwDirect *d, size_t i, DesiredIndex *dx)
{
        const TpfwEntry *e = &d->entries[i];
        g_auto(GStrv) argv = NULL;

        if (!g_hash_table_contains(dx->stripped, &d->info[i].key_hash))
                return false;
        argv = direct_entry_argv_dup(d, i);
        for (size_t k = 0; k < tpfw_ruleset_n_rules(dx->rs); k++) {
                const TpfwRule *r = tpfw_ruleset_rule(dx->rs, k);

                if (strcmp(tpfw_ipv_name(r->ipv), e->ipv) == 0 && strcmp(r->table, e->table) == 0 &&
                    strcmp(r->chain, e->chain) == 0 &&
                    direct_stripped_argv_equal((const char *const *)argv,
                                               (const char *const *)r->argv))
                        return true;
        }
        return false;
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
            has_chain_memo(dx->groups, &dx->groups_memo, e->ipv, e->table, e->chain) &&
            is_desired_copy(d, i, dx))
                return CONFLICT_RULE;
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
        return e->kind == TPFW_ENTRY_RULE && d->info[i].kuma_legacy;
}

static char *describe_entry(const TpfwDirect *d, size_t i)
{
        const TpfwEntry *e = &d->entries[i];
        g_auto(GStrv) argv = NULL;
        g_autofree char *args = NULL;

        if (e->kind == TPFW_ENTRY_CHAIN)
                return g_strdup_printf("<chain ipv=\"%s\" table=\"%s\" chain=\"%s\">", e->ipv,
                                       e->table, e->chain);
        argv = direct_entry_argv_dup(d, i);
        args = tpfw_args_join((const char *const *)argv);
        return g_strdup_printf("<rule ipv=\"%s\" table=\"%s\" chain=\"%s\" priority=\"%d\">%s",
                               e->ipv, e->table, e->chain, e->priority, args ? args : "");
}

int tpfw_direct_merge(TpfwDirect *d, const char *owner, const TpfwRuleset *desired, unsigned flags,
                      TpfwMergeResult *result, TpfwDiag *diag)
{
        return tpfw_direct_merge_with_legacy(d, owner, desired, NULL, flags, result, diag);
}

/* The first chain name or argument of rs beyond ASCII, or NULL. */
static const char *first_beyond_ascii(const TpfwRuleset *rs)
{
        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++)
                if (!g_str_is_ascii(tpfw_ruleset_chain(rs, i)->chain))
                        return tpfw_ruleset_chain(rs, i)->chain;
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);

                if (!g_str_is_ascii(r->chain))
                        return r->chain;
                for (size_t k = 0; r->argv && r->argv[k]; k++)
                        if (!g_str_is_ascii(r->argv[k]))
                                return r->argv[k];
        }
        return NULL;
}

/* Refuses what d cannot carry: characters no XML can (any file), or beyond ASCII in a file whose
 * encoding declaration allows ASCII only. Nothing is written then. */
static int check_writable(const TpfwDirect *d, const TpfwRuleset *desired, TpfwDiag *diag)
{
        const char *what;

        for (size_t i = 0; i < tpfw_ruleset_n_rules(desired); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(desired, i);

                for (size_t k = 0; r->argv && r->argv[k]; k++) {
                        gunichar c = direct_unwritable_char(r->argv[k]);

                        if (c)
                                return tpfw_diag_set(diag, EINVAL, d->name, 0,
                                                     "argument '%s' of a rule in chain %s holds "
                                                     "U+%04X, which XML (and so direct.xml) cannot "
                                                     "carry; remove it",
                                                     r->argv[k], r->chain, (unsigned)c);
                }
        }
        what = d->layout.ascii_only ? first_beyond_ascii(desired) : NULL;
        if (what)
                return tpfw_diag_set(diag, EINVAL, d->name, 0,
                                     "cannot write '%s' into this file: its encoding \"%s\" "
                                     "allows ASCII only (declare encoding=\"utf-8\")",
                                     what, d->layout.ascii_only);
        return 0;
}

/* Marks the foreign entries to take over (adopted or legacy), or fails on a conflict. */
static int mark_foreign(const TpfwDirect *d, const char *owner, const OwnerView *v,
                        DesiredIndex *dx, DesiredIndex *lx, unsigned flags, bool *remove,
                        size_t *ret_first_owner, size_t *ret_adopted, TpfwDiag *diag)
{
        for (size_t k = 0; k < d->n_elements; k++) {
                int32_t i = d->elements[k].entry;
                Verdict verdict;
                bool legacy;

                if (remove[k]) {
                        if (*ret_first_owner == (size_t)-1)
                                *ret_first_owner = k;
                        continue;
                }
                if (i < 0)
                        continue;
                verdict = foreign_verdict(d, (size_t)i, dx);
                legacy = (flags & TPFW_MERGE_ADOPT_KUMA_LEGACY) &&
                         (is_kuma_legacy(d, (size_t)i, v) || verdict == CONFLICT_RULE ||
                          (lx->groups && foreign_verdict(d, (size_t)i, lx) == CONFLICT_RULE));
                if (legacy || (verdict != KEEP && (flags & TPFW_MERGE_ADOPT))) {
                        remove[k] = true;
                        (*ret_adopted)++;
                } else if (verdict != KEEP) {
                        g_autofree char *what = describe_entry(d, (size_t)i);
                        /* kumactl's leftovers have their own, narrower switch */
                        const char *hint = is_kuma_legacy(d, (size_t)i, v)
                                                   ? "it looks like kumactl --store-firewalld "
                                                     "wrote it; use --adopt-kuma-legacy to take "
                                                     "it over"
                                                   : "use --adopt to take it over";
                        return tpfw_diag_set(diag, EEXIST, d->name, d->entries[i].line,
                                             verdict == CONFLICT_CHAIN
                                                     ? "conflict: %s is declared by someone other "
                                                       "than owner '%s'; %s"
                                                     : "conflict: %s is an unmarked copy of a "
                                                       "rule of owner '%s'; %s",
                                             what, owner, hint);
                }
        }
        return 0;
}

int tpfw_direct_merge_with_legacy(TpfwDirect *d, const char *owner, const TpfwRuleset *desired,
                                  const TpfwRuleset *legacy_reference, unsigned flags,
                                  TpfwMergeResult *result, TpfwDiag *diag)
{
        g_autoptr(TpfwRuleset) empty = NULL;
        g_autoptr(TpfwRuleset) current = NULL;
        g_autofree bool *remove = NULL;
        g_autoptr(GString) block = NULL;
        OwnerView v = {0};
        DesiredIndex dx = {0}, lx = {0};
        size_t adopted = 0, first_owner = (size_t)-1, added, removed;
        int r = 0;

        *result = (TpfwMergeResult){0};
        if (!tpfw_owner_name_is_valid(owner))
                return tpfw_diag_set(diag, EINVAL, NULL, 0, "invalid owner name '%s'",
                                     owner ? owner : "");
        if (!desired)
                desired = empty = tpfw_ruleset_new();
        r = check_writable(d, desired, diag);
        if (r < 0)
                return r;

        remove = g_new0(bool, d->n_elements + 1);
        owner_view_build(d, owner, &v);
        desired_index_build(desired, &dx);
        if (legacy_reference && (flags & TPFW_MERGE_ADOPT_KUMA_LEGACY))
                desired_index_build(legacy_reference, &lx);
        r = collect_owner(d, &v, owner, desired, &current, remove);
        if (r >= 0)
                r = mark_foreign(d, owner, &v, &dx, &lx, flags, remove, &first_owner, &adopted,
                                 diag);
        if (r < 0 || (adopted == 0 && tpfw_ruleset_equal(current, desired)))
                goto out; /* an error, or nothing to do: bytes untouched */
        if (!tpfw_direct_is_editable(d, diag)) {
                r = -EOPNOTSUPP;
                goto out;
        }

        block = g_string_new(NULL);
        direct_append_ruleset(block, desired);
        added = tpfw_ruleset_count_missing(desired, current);
        removed = tpfw_ruleset_count_missing(current, desired) + adopted;
        owner_view_clear(&v);
        r = direct_splice(d, remove, first_owner, block, diag);
        if (r < 0) {
                tpfw_diag_prefix(diag, "internal error: the merged file does not parse");
                r = -EPROTO;
                goto out;
        }
        result->changed = true;
        result->added = added;
        result->removed = removed;
out:
        desired_index_clear(&dx);
        if (lx.groups)
                desired_index_clear(&lx);
        owner_view_clear(&v);
        return r;
}
