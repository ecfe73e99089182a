/* SPDX-License-Identifier: MIT */
/* Applying to a running firewalld without a reload: runtime delta, permanent copy, file, verify. */
#include <stdarg.h>
#include <string.h>

#include <tproxy-firewalld/store.h>

#include "apply-private.h"
#include "util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwFirewalldQuery, tpfw_firewalld_query_free)

/* Times a file may change under the transaction before it gives up. */
#define DELTA_ATTEMPTS 4

/* One runtime edit that was made, for undoing it. */
typedef struct Done {
        bool add;
        const TpfwChain *chain; /* or */
        const TpfwRule *rule;
} Done;

typedef struct Delta {
        const TpfwApplyOptions *opts;
        TpfwFirewalld *fw;
        const char *path;
        const char *owner;
        const TpfwRuleset *desired;
        GArray *done;     /* Done, in order */
        GPtrArray *owned; /* rulesets the Done entries point into */
        bool perm_synced; /* firewalld's permanent copy was set to the merged entries */
        bool replaced;    /* direct.xml was replaced by the merged bytes */
} Delta;

static void step(const Delta *d, const char *name, gint64 start, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void step(const Delta *d, const char *name, gint64 start, const char *fmt, ...)
{
        g_autofree char *detail = NULL;
        gint64 usec = g_get_monotonic_time() - start;
        va_list ap;

        if (!d->opts->on_step)
                return;
        if (fmt) {
                va_start(ap, fmt);
                detail = g_strdup_vprintf(fmt, ap);
                va_end(ap);
        }
        d->opts->on_step(name, detail, (uint64_t)(usec > 0 ? usec : 0), d->opts->step_userdata);
}

TpfwRuleset *tpfw_apply_doc_ruleset(const TpfwDirect *doc)
{
        TpfwRuleset *rs = tpfw_ruleset_new();

        for (size_t i = 0; rs && doc && i < tpfw_direct_n_entries(doc); i++) {
                const TpfwEntry *e = tpfw_direct_entry(doc, i);
                TpfwIpv ipv;
                int r = 0;

                if (e->kind == TPFW_ENTRY_PASSTHROUGH || tpfw_ipv_from_name(e->ipv, &ipv) < 0)
                        continue;
                if (e->kind == TPFW_ENTRY_CHAIN)
                        r = tpfw_ruleset_add_chain(rs, ipv, e->table, e->chain);
                else
                        r = tpfw_ruleset_add_rule(rs, ipv, e->table, e->chain, e->priority,
                                                  (const char *const *)e->argv, TPFW_RULE_APPEND,
                                                  0);
                if (r < 0 && r != -EEXIST)
                        return tpfw_ruleset_free(rs);
        }
        return rs;
}

/* ---- runtime ---- */

static int runtime_edit(Delta *d, bool add, const TpfwChain *c, const TpfwRule *rule,
                        TpfwDiag *diag)
{
        gint64 start = g_get_monotonic_time();
        int r = tpfw_fault("runtime");

        if (r < 0)
                return tpfw_diag_set(diag, -r, NULL, 0, "runtime edit failed (fault injected)");
        r = rule ? tpfw_firewalld_direct_rule(d->fw, TPFW_VIEW_RUNTIME, add, rule, diag)
                 : tpfw_firewalld_direct_chain(d->fw, TPFW_VIEW_RUNTIME, add, c, diag);
        step(d,
             rule ? (add ? "direct.addRule" : "direct.removeRule")
                  : (add ? "direct.addChain" : "direct.removeChain"),
             start, "%s %s %s", tpfw_ipv_name(rule ? rule->ipv : c->ipv),
             rule ? rule->table : c->table, rule ? rule->chain : c->chain);
        if (r == 0)
                g_array_append_val(d->done, ((Done){.add = add, .chain = c, .rule = rule}));
        return r;
}

static void ruleset_unref(gpointer rs)
{
        tpfw_ruleset_free(rs);
}

/* Set operations on rulesets; the result is kept alive in d->owned. */
static TpfwRuleset *keep(Delta *d, TpfwRuleset *rs)
{
        g_ptr_array_add(d->owned, rs);
        return rs;
}

static TpfwRuleset *minus(Delta *d, const TpfwRuleset *a, const TpfwRuleset *b)
{
        TpfwRuleset *only_a = NULL;

        tpfw_ruleset_diff(a, b, &only_a, NULL);
        return keep(d, only_a);
}

/* a's entries that b has too. */
static TpfwRuleset *both(Delta *d, const TpfwRuleset *a, const TpfwRuleset *b)
{
        return minus(d, a, minus(d, a, b));
}

/*
 * The owner's runtime delta, make before break: chains the runtime lacks, rules it lacks (the
 * file's order, so equal priorities land as a reload would place them), then the rules to go (the
 * owner's not desired, and entries the merge removed from the file, e.g. adopted legacy ones),
 * then their chains.
 */
static int runtime_apply(Delta *d, const TpfwApplyInput *in, const TpfwRuleset *after,
                         TpfwDiag *diag)
{
        gint64 start = g_get_monotonic_time();
        g_autoptr(TpfwRuleset) all = NULL;
        g_autofree const TpfwRule **order = NULL;
        TpfwRuleset *cur, *add, *gone;
        size_t n;
        int r;

        r = tpfw_firewalld_get_direct(d->fw, TPFW_VIEW_RUNTIME, &all, diag);
        step(d, "direct.getAllRules", start, "runtime");
        if (r < 0)
                return r;
        cur = keep(d, tpfw_ruleset_owner_subset(all, d->owner));
        add = minus(d, d->desired, all);
        gone = minus(d, cur, d->desired);
        /* what the merge took out of the file and the runtime still has */
        {
                TpfwRuleset *dropped = both(d, minus(d, in->before, after), all);

                for (size_t i = 0; i < tpfw_ruleset_n_chains(dropped); i++) {
                        const TpfwChain *c = tpfw_ruleset_chain(dropped, i);
                        (void)tpfw_ruleset_add_chain(gone, c->ipv, c->table, c->chain);
                }
                for (size_t i = 0; i < tpfw_ruleset_n_rules(dropped); i++) {
                        const TpfwRule *x = tpfw_ruleset_rule(dropped, i);
                        (void)tpfw_ruleset_add_rule(gone, x->ipv, x->table, x->chain, x->priority,
                                                    (const char *const *)x->argv, x->mode,
                                                    x->position);
                }
        }
        for (size_t i = 0; i < tpfw_ruleset_n_chains(add); i++) {
                r = runtime_edit(d, true, tpfw_ruleset_chain(add, i), NULL, diag);
                if (r < 0)
                        return r;
        }
        n = tpfw_ruleset_n_rules(add);
        order = n ? tpfw_ruleset_direct_order(add) : NULL;
        if (n && !order)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        for (size_t i = 0; i < n; i++) {
                r = runtime_edit(d, true, NULL, order[i], diag);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < tpfw_ruleset_n_rules(gone); i++) {
                r = runtime_edit(d, false, NULL, tpfw_ruleset_rule(gone, i), diag);
                if (r < 0)
                        return r;
        }
        for (size_t i = tpfw_ruleset_n_chains(gone); i > 0; i--) {
                r = runtime_edit(d, false, tpfw_ruleset_chain(gone, i - 1), NULL, diag);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Undoes the runtime edits in reverse; returns the first error. */
static int runtime_undo(Delta *d, TpfwDiag *diag)
{
        int ret = 0;

        for (guint i = d->done->len; i > 0; i--) {
                const Done *x = &g_array_index(d->done, Done, i - 1);
                gint64 start = g_get_monotonic_time();
                TpfwDiag e = TPFW_DIAG_INIT;
                int r;

                r = x->rule ? tpfw_firewalld_direct_rule(d->fw, TPFW_VIEW_RUNTIME, !x->add, x->rule,
                                                         &e)
                            : tpfw_firewalld_direct_chain(d->fw, TPFW_VIEW_RUNTIME, !x->add,
                                                          x->chain, &e);
                step(d,
                     x->rule ? (!x->add ? "direct.addRule" : "direct.removeRule")
                             : (!x->add ? "direct.addChain" : "direct.removeChain"),
                     start, "rollback");
                if (r < 0 && ret == 0) {
                        g_autofree char *msg = tpfw_diag_format(&e);

                        ret = tpfw_diag_set(diag, -r, NULL, 0, "%s", msg ? msg : "?");
                }
                tpfw_diag_clear(&e);
        }
        g_array_set_size(d->done, 0);
        return ret;
}

/* ---- the file ---- */

typedef struct Disk {
        char *data;
        size_t len;
        bool exists;
} Disk;

static void disk_clear(Disk *k)
{
        g_free(k->data);
        memset(k, 0, sizeof(*k));
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Disk, disk_clear)

static int disk_read(const Delta *d, Disk *k, TpfwDiag *diag)
{
        disk_clear(k);
        return tpfw_store_read(d->path, d->opts->follow_symlink ? TPFW_STORE_FOLLOW_SYMLINK : 0,
                               TPFW_DIRECT_MAX_SIZE, &k->data, &k->len, &k->exists, diag);
}

static bool disk_is(const Disk *k, bool exists, const char *data, size_t len)
{
        if (k->exists != exists)
                return false;
        return !exists || (k->len == len && memcmp(k->data, data, len) == 0);
}

/* The file on disk parsed; a missing file is an empty document. */
static int disk_doc(const Delta *d, const Disk *k, TpfwDirect **ret, TpfwDiag *diag)
{
        if (!k->exists) {
                *ret = tpfw_direct_new_empty(d->path);
                return 0;
        }
        return tpfw_direct_parse(d->path, k->data, k->len, ret, diag);
}

/* True when the file on disk holds the same chains and rules as rs. */
static bool disk_entries_are(const Delta *d, const Disk *k, const TpfwRuleset *rs)
{
        g_autoptr(TpfwDirect) doc = NULL;
        g_autoptr(TpfwRuleset) got = NULL;

        if (disk_doc(d, k, &doc, NULL) < 0)
                return false;
        got = tpfw_apply_doc_ruleset(doc);
        return got && tpfw_ruleset_equal(got, rs);
}

/* ---- permanent copy ---- */

static int perm_update(Delta *d, const TpfwDirect *doc, const char *why, TpfwDiag *diag)
{
        gint64 start = g_get_monotonic_time();
        int r = tpfw_fault("update");

        if (r < 0)
                return tpfw_diag_set(diag, -r, NULL, 0,
                                     "updating firewalld's permanent configuration failed (fault "
                                     "injected)");
        r = tpfw_firewalld_permanent_update(d->fw, doc, diag);
        step(d, "config.direct.update", start, "%s", why);
        return r;
}

static int perm_matches(Delta *d, const TpfwDirect *doc, bool *ret, TpfwDiag *diag)
{
        gint64 start = g_get_monotonic_time();
        int r = tpfw_firewalld_permanent_matches(d->fw, doc, ret, diag);

        step(d, "config.direct.getSettings", start, "%s",
             r < 0  ? "failed"
             : *ret ? "in step"
                    : "differs");
        return r;
}

/*
 * Per-entry permanent edits (each atomic inside firewalld) that add adds and remove removes:
 * for changes that must not overwrite what others did meanwhile.
 */
static int perm_edit(Delta *d, const TpfwRuleset *adds, const TpfwRuleset *removes, TpfwDiag *diag)
{
        int r = 0;

        for (size_t i = 0; r == 0 && i < tpfw_ruleset_n_chains(adds); i++)
                r = tpfw_firewalld_direct_chain(d->fw, TPFW_VIEW_PERMANENT, true,
                                                tpfw_ruleset_chain(adds, i), diag);
        for (size_t i = 0; r == 0 && i < tpfw_ruleset_n_rules(adds); i++)
                r = tpfw_firewalld_direct_rule(d->fw, TPFW_VIEW_PERMANENT, true,
                                               tpfw_ruleset_rule(adds, i), diag);
        for (size_t i = 0; r == 0 && i < tpfw_ruleset_n_rules(removes); i++)
                r = tpfw_firewalld_direct_rule(d->fw, TPFW_VIEW_PERMANENT, false,
                                               tpfw_ruleset_rule(removes, i), diag);
        for (size_t i = 0; r == 0 && i < tpfw_ruleset_n_chains(removes); i++)
                r = tpfw_firewalld_direct_chain(d->fw, TPFW_VIEW_PERMANENT, false,
                                                tpfw_ruleset_chain(removes, i), diag);
        return r;
}

/*
 * firewalld copies the file it overwrites to direct.xml.old. After our update that copy must be
 * the file we checked just before: anything else is a write of someone else that slipped in
 * between, which the update overwrote. Put its entries back one by one (atomic calls, so nothing
 * newer is lost); *ret_conflict says the round must start again from the new file.
 */
static int perm_recover(Delta *d, const TpfwApplyInput *in, bool *ret_conflict, TpfwDiag *diag)
{
        g_autofree char *old_path = g_strconcat(d->path, ".old", NULL);
        g_autofree char *data = NULL;
        g_autoptr(TpfwDirect) doc = NULL;
        g_autoptr(TpfwRuleset) theirs = NULL;
        size_t len = 0;
        bool exists = false;
        int r;

        *ret_conflict = false;
        if (!in->exists)
                return 0; /* firewalld had no file to copy */
        r = tpfw_store_read(old_path, TPFW_STORE_FOLLOW_SYMLINK, TPFW_DIRECT_MAX_SIZE, &data, &len,
                            &exists, NULL);
        if (r < 0 || !exists || (len == in->len && memcmp(data, in->data, len) == 0))
                return 0;
        *ret_conflict = true;
        if (tpfw_direct_parse(old_path, data, len, &doc, NULL) < 0)
                return 0;
        theirs = tpfw_apply_doc_ruleset(doc);
        if (!theirs)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        return perm_edit(d, minus(d, theirs, in->before), minus(d, in->before, theirs), diag);
}

/* ---- verification ---- */

static int verify(Delta *d, TpfwDiag *diag, bool *ret_file_behind)
{
        gint64 start = g_get_monotonic_time();
        unsigned what = TPFW_QUERY_STATE | tpfw_firewalld_query_for(TPFW_VIEW_RUNTIME, d->desired);
        g_autoptr(TpfwFirewalldQuery) q = NULL;
        g_autoptr(TpfwDirect) doc = NULL;
        g_autofree char *state = NULL;
        g_auto(Disk) k = {0};
        bool equal = false;
        int r;

        *ret_file_behind = false;
        r = tpfw_firewalld_query_send(d->fw, what, &q, diag);
        if (r == 0)
                r = tpfw_firewalld_query_state(q, &state, diag);
        if (r == 0 && strcmp(state, "RUNNING") != 0)
                r = tpfw_diag_set(diag, EIO, NULL, 0, "firewalld state is %s", state);
        if (r == 0) {
                r = tpfw_fault("verify");
                if (r < 0)
                        tpfw_diag_set(diag, -r, NULL, 0, "verification failed (fault injected)");
        }
        if (r == 0)
                r = tpfw_firewalld_query_verify_owner(q, TPFW_VIEW_RUNTIME, d->owner, d->desired,
                                                      diag);
        /* the file holds the owner's entries, and firewalld's permanent copy equals the file */
        if (r == 0)
                r = disk_read(d, &k, diag);
        if (r == 0)
                r = disk_doc(d, &k, &doc, diag);
        if (r == 0) {
                g_autoptr(TpfwRuleset) mine = NULL;

                r = tpfw_direct_owner_ruleset(doc, d->owner, &mine, diag);
                if (r == 0 && !tpfw_ruleset_equal(mine, d->desired))
                        r = tpfw_diag_set(diag, EPROTO, d->path, 0,
                                          "lost the owner's entries after writing them");
        }
        if (r == 0)
                r = tpfw_firewalld_permanent_matches(d->fw, doc, &equal, diag);
        if (r == 0 && !equal)
                *ret_file_behind = true;
        step(d, "verify", start, "state %s, runtime %s, permanent %s", state ? state : "?",
             r == 0 ? "matches" : "differs", equal ? "equals the file" : "differs from the file");
        return r;
}

/* ---- rollback ---- */

/*
 * Puts back firewalld's permanent copy and the file as they were, unless someone changed them
 * since: then only the owner's own changes are undone, entry by entry, and firewalld's rewrite
 * of the file (with the other change) stays.
 */
static int perm_file_undo(Delta *d, const TpfwApplyInput *in, const TpfwRuleset *after,
                          TpfwDiag *diag)
{
        g_autoptr(TpfwDirect) orig = NULL;
        g_auto(Disk) k = {0};
        bool untouched = false;
        int r;

        r = disk_read(d, &k, diag);
        if (r < 0)
                return r;
        r = in->exists ? tpfw_direct_parse(d->path, in->data, in->len, &orig, diag)
                       : (orig = tpfw_direct_new_empty(d->path), 0);
        if (r < 0)
                return r;
        if (d->perm_synced) {
                r = perm_matches(d, in->doc, &untouched, diag);
                if (r < 0)
                        return r;
                if (untouched && disk_entries_are(d, &k, after))
                        r = perm_update(d, orig, "rollback", diag);
                else
                        r = perm_edit(d, minus(d, in->before, after), minus(d, after, in->before),
                                      diag);
                if (r < 0)
                        return r;
                r = disk_read(d, &k, diag);
                if (r < 0)
                        return r;
        }
        /* our bytes back only over a file that holds exactly what we read */
        if (disk_is(&k, in->exists, in->data, in->len))
                return 0;
        if (!disk_entries_are(d, &k, in->before))
                return 0;
        if (!in->exists && d->perm_synced)
                return 0; /* firewalld wrote an empty file; it means the same as none */
        return tpfw_store_restore(d->path, in->exists, in->data, in->len, diag);
}

static int rollback(Delta *d, const TpfwApplyInput *in, const TpfwRuleset *after, int err,
                    TpfwDiag *why, TpfwApplyResult *result, TpfwDiag *diag)
{
        TpfwDiag rb = TPFW_DIAG_INIT;
        g_autofree char *a = tpfw_diag_format(why);
        g_autofree char *b = NULL;
        int r = tpfw_fault("rollback");

        if (r < 0)
                tpfw_diag_set(&rb, -r, NULL, 0, "rollback failed (fault injected)");
        if (r == 0)
                r = runtime_undo(d, &rb);
        if (r == 0)
                r = perm_file_undo(d, in, after, &rb);
        result->reload = r == 0 ? TPFW_RELOAD_ROLLED_BACK : TPFW_RELOAD_FAILED;
        if (r == 0)
                tpfw_diag_set(diag, -err, NULL, 0,
                              "firewalld rejected the change, previous state restored: %s",
                              a ? a : "unknown error");
        else {
                b = tpfw_diag_format(&rb);
                tpfw_diag_set(diag, -err, NULL, 0,
                              "firewalld rejected the change (%s) and the rollback failed too (%s)",
                              a ? a : "?", b ? b : "?");
        }
        tpfw_diag_clear(&rb);
        tpfw_diag_clear(why);
        return err;
}

/* ---- one round ---- */

typedef enum { ROUND_DONE, ROUND_AGAIN } Round;

/*
 * One round for the file as read in in. Returns ROUND_DONE, ROUND_AGAIN (the file or firewalld's
 * copy changed under us: read and merge again) or -errno.
 */
static int round_once(Delta *d, const TpfwApplyInput *in, const TpfwRuleset *after, TpfwDiag *diag)
{
        g_auto(Disk) k = {0};
        size_t new_len = 0;
        const char *new_data = tpfw_direct_data(in->doc, &new_len);
        bool equal = false, conflict = false, behind = false, synced_now = false;
        int r;

        r = runtime_apply(d, in, after, diag);
        if (r < 0)
                return r;

        /* when the merge changed the file's entries, a copy in step with the file as read
         * differs from the merged one: no need to fetch it to know */
        if (tpfw_ruleset_equal(after, in->before)) {
                r = perm_matches(d, in->doc, &equal, diag);
                if (r < 0)
                        return r;
        }
        if (!equal) {
                /* the file is the truth, but only the file we merged */
                r = disk_read(d, &k, diag);
                if (r < 0)
                        return r;
                if (!disk_is(&k, in->exists, in->data, in->len))
                        return ROUND_AGAIN;
                r = perm_update(d, in->doc, "the file's entries", diag);
                if (r < 0)
                        return r;
                d->perm_synced = synced_now = true;
                r = perm_recover(d, in, &conflict, diag);
                if (r < 0)
                        return r;
                if (conflict)
                        return ROUND_AGAIN;
        }

        /* firewalld wrote the entries in its layout (or nothing): now our bytes */
        r = disk_read(d, &k, diag);
        if (r < 0)
                return r;
        if (synced_now ? !disk_entries_are(d, &k, after)
                       : !disk_is(&k, in->exists, in->data, in->len) &&
                                 !disk_is(&k, true, new_data, new_len))
                return ROUND_AGAIN;
        if (!disk_is(&k, true, new_data, new_len)) {
                gint64 start = g_get_monotonic_time();

                r = tpfw_fault("replace");
                if (r < 0)
                        return tpfw_diag_set(diag, -r, d->path, 0,
                                             "cannot replace (fault injected)");
                /* after firewalld's own write its .old already is the file we read */
                if (synced_now)
                        r = tpfw_store_restore(d->path, true, new_data, new_len, diag);
                else
                        r = tpfw_store_write(
                                d->path, new_data, new_len,
                                d->opts->follow_symlink ? TPFW_STORE_FOLLOW_SYMLINK : 0, diag);
                step(d, "write", start, "%zu bytes", new_len);
                if (r < 0)
                        return r;
                d->replaced = true;
        } else if (synced_now) {
                /* firewalld's update wrote exactly the merged bytes: the file's write step */
                step(d, "write", g_get_monotonic_time(), "%zu bytes, by firewalld", new_len);
        }

        r = verify(d, diag, &behind);
        if (r < 0)
                return r;
        if (behind) {
                /* someone's write landed between our last look and the rename: firewalld's copy
                 * has it, the file lost it. firewalld writes its copy again; then a new round. */
                gint64 start = g_get_monotonic_time();

                r = tpfw_firewalld_permanent_rewrite(d->fw, diag);
                step(d, "config.direct.addChain", start, "rewrite of direct.xml by firewalld");
                return r < 0 ? r : ROUND_AGAIN;
        }
        return ROUND_DONE;
}

/*
 * Reads and merges the file again for a new round. On failure *in and what it points to stay
 * those of the last round, which the rollback puts back.
 */
static int reload_input(Delta *d, TpfwApplyInput *in, char **data, TpfwDirect **doc,
                        TpfwRuleset **before, TpfwDiag *diag)
{
        TpfwMergeResult merge = {0};
        g_autofree char *new_data = NULL;
        g_autoptr(TpfwDirect) new_doc = NULL;
        g_autoptr(TpfwRuleset) new_before = NULL;
        size_t len = 0;
        bool exists = false;
        int r;

        r = tpfw_store_read(d->path, d->opts->follow_symlink ? TPFW_STORE_FOLLOW_SYMLINK : 0,
                            TPFW_DIRECT_MAX_SIZE, &new_data, &len, &exists, diag);
        if (r < 0)
                return r;
        if (exists)
                r = tpfw_direct_parse(d->path, new_data, len, &new_doc, diag);
        else
                new_doc = tpfw_direct_new_empty(d->path);
        if (r < 0)
                return r;
        new_before = tpfw_apply_doc_ruleset(new_doc);
        if (!new_before)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        r = tpfw_direct_merge_with_legacy(new_doc, d->owner, d->desired, d->opts->legacy_reference,
                                          d->opts->merge_flags, &merge, diag);
        if (r < 0)
                return r;
        g_clear_pointer(doc, tpfw_direct_free);
        g_clear_pointer(data, g_free);
        g_clear_pointer(before, tpfw_ruleset_free);
        in->data = *data = g_steal_pointer(&new_data);
        in->len = len;
        in->exists = exists;
        in->doc = *doc = g_steal_pointer(&new_doc);
        in->before = *before = g_steal_pointer(&new_before);
        return 0;
}

int tpfw_apply_delta(const TpfwApplyOptions *opts, TpfwFirewalld *fw, const TpfwApplyInput *in0,
                     TpfwApplyResult *result, TpfwDiag *diag)
{
        Delta d = {
                .opts = opts,
                .fw = fw,
                .path = in0->path,
                .owner = in0->owner,
                .desired = in0->desired,
                .done = g_array_new(FALSE, FALSE, sizeof(Done)),
                .owned = g_ptr_array_new_with_free_func(ruleset_unref),
        };
        TpfwApplyInput in = *in0;
        g_autofree char *data = NULL;
        g_autoptr(TpfwDirect) doc = NULL;
        g_autoptr(TpfwRuleset) before = NULL;
        TpfwRuleset *after = NULL;
        TpfwDiag why = TPFW_DIAG_INIT;
        int r = ROUND_AGAIN;

        for (int attempt = 0; attempt < DELTA_ATTEMPTS && r == ROUND_AGAIN; attempt++) {
                if (attempt > 0) {
                        r = reload_input(&d, &in, &data, &doc, &before, &why);
                        if (r < 0)
                                break;
                }
                after = keep(&d, tpfw_apply_doc_ruleset(in.doc));
                if (!after) {
                        r = tpfw_diag_set(&why, ENOMEM, NULL, 0, "out of memory");
                        break;
                }
                r = round_once(&d, &in, after, &why);
        }
        if (r == ROUND_AGAIN)
                r = tpfw_diag_set(&why, EAGAIN, in.path, 0,
                                  "kept changing while being applied (%d attempts); nothing of "
                                  "it was overwritten, run again",
                                  DELTA_ATTEMPTS);
        if (r == -ESRCH) {
                /* firewalld stopped under us: the file applies at its next start */
                size_t len = 0;
                const char *bytes = tpfw_direct_data(in.doc, &len);

                tpfw_diag_clear(&why);
                r = 0;
                if (!d.replaced)
                        r = tpfw_store_write(in.path, bytes, len,
                                             opts->follow_symlink ? TPFW_STORE_FOLLOW_SYMLINK : 0,
                                             diag);
                result->reload = TPFW_RELOAD_NOT_RUNNING;
        } else if (r < 0) {
                /* the runtime edits of every round are in d.done; the permanent copy and the file
                 * go back to the file the last round read, or keep someone else's later change */
                r = rollback(&d, &in, after, r, &why, result, diag);
        } else {
                result->verified = true;
                if (d.done->len > 0 || d.perm_synced || d.replaced)
                        result->reload = TPFW_RELOAD_DONE;
        }
        tpfw_diag_clear(&why);
        g_array_unref(d.done);
        g_ptr_array_unref(d.owned);
        return r;
}
