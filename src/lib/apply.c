/* SPDX-License-Identifier: MIT */
/* The install/uninstall transaction: lock, load, merge, write, reload, verify, roll back. */
#include <stdarg.h>
#include <string.h>

#include <tproxy-firewalld/apply.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/firewalld.h>
#include <tproxy-firewalld/rfc3964.h>
#include <tproxy-firewalld/store.h>

#include "apply-private.h"
#include "util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwFirewalld, tpfw_firewalld_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwFirewalldQuery, tpfw_firewalld_query_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwLock, tpfw_store_unlock)

/* Reports a finished step to opts->on_step (TpfwStepFunc); start is g_get_monotonic_time() at its
 * start. */
static void step_done(const TpfwApplyOptions *opts, const char *step, gint64 start, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static void step_done(const TpfwApplyOptions *opts, const char *step, gint64 start, const char *fmt,
                      ...)
{
        g_autofree char *detail = NULL;
        gint64 usec = g_get_monotonic_time() - start;
        va_list ap;

        if (!opts->on_step)
                return;
        if (fmt) {
                va_start(ap, fmt);
                detail = g_strdup_vprintf(fmt, ap);
                va_end(ap);
        }
        opts->on_step(step, detail, (uint64_t)(usec > 0 ? usec : 0), opts->step_userdata);
}

const char *tpfw_reload_status_name(TpfwReloadStatus s)
{
        switch (s) {
        case TPFW_RELOAD_DONE:
                return "done";
        case TPFW_RELOAD_NOT_RUNNING:
                return "not-running";
        case TPFW_RELOAD_FAILED:
                return "failed";
        case TPFW_RELOAD_ROLLED_BACK:
                return "rolled-back";
        case TPFW_RELOAD_SKIPPED:
        default:
                return "skipped";
        }
}

void tpfw_apply_result_clear(TpfwApplyResult *result)
{
        if (!result)
                return;
        g_free(result->path);
        g_free(result->diff);
        tpfw_rfc3964_outcome_clear(&result->rfc3964);
        memset(result, 0, sizeof(*result));
}

/*
 * After a reload: RUNNING, and both of firewalld's views hold exactly the owner's entries. The
 * four calls go out together (firewalld answers them back to back), then are checked in order.
 */
static int check_firewalld(const TpfwApplyOptions *opts, TpfwFirewalld *fw, const char *owner,
                           const TpfwRuleset *expected, TpfwDiag *diag)
{
        gint64 start = g_get_monotonic_time();
        unsigned what = TPFW_QUERY_STATE | tpfw_firewalld_query_for(TPFW_VIEW_PERMANENT, expected) |
                        tpfw_firewalld_query_for(TPFW_VIEW_RUNTIME, expected);
        g_autoptr(TpfwFirewalldQuery) q = NULL;
        g_autofree char *state = NULL;
        int r;

        r = tpfw_firewalld_query_send(fw, what, &q, diag);
        if (r < 0)
                return r;
        r = tpfw_firewalld_query_state(q, &state, diag);
        if (r < 0)
                return r;
        if (strcmp(state, "RUNNING") != 0)
                return tpfw_diag_set(diag, EIO, NULL, 0, "firewalld state is %s after reload",
                                     state);
        r = tpfw_fault("verify");
        if (r < 0)
                return tpfw_diag_set(diag, -r, NULL, 0, "verification failed (fault injected)");
        r = tpfw_firewalld_query_verify_owner(q, TPFW_VIEW_PERMANENT, owner, expected, diag);
        if (r == 0)
                r = tpfw_firewalld_query_verify_owner(q, TPFW_VIEW_RUNTIME, owner, expected, diag);
        step_done(opts, "verify", start, "state %s, permanent and runtime %s", state,
                  r == 0 ? "match" : "differ");
        return r;
}

/*
 * Connects to firewalld before anything is written, so that a caller firewalld will not obey
 * fails with nothing changed rather than after the write. *ret_fw stays NULL when firewalld is
 * not running. The state call answers both questions: its name without an owner is -ESRCH.
 */
static int preflight(const TpfwApplyOptions *opts, TpfwFirewalld **ret_fw, TpfwDiag *diag)
{
        g_autoptr(TpfwFirewalld) fw = NULL;
        g_autofree char *state = NULL;
        gint64 start = g_get_monotonic_time();
        int r;

        r = tpfw_firewalld_connect(opts->dbus_timeout_ms, &fw, diag);
        step_done(opts, "connect", start, r == 0 ? "system bus" : "no system bus");
        /* no libdbus-1 is a broken installation, not a stopped firewalld */
        if (r == -ELIBACC)
                return r;
        tpfw_diag_clear(diag);
        if (r < 0)
                return 0;
        start = g_get_monotonic_time();
        r = tpfw_firewalld_get_state(fw, &state, diag);
        step_done(opts, "getState", start, "%s", r == 0 ? state : "not running");
        if (r == -EACCES)
                return r;
        tpfw_diag_clear(diag);
        if (r == -ESRCH) {
                /* no owner: stopped, or starting with the old file read (firewalld.h) */
                r = tpfw_firewalld_wait_starting(fw, opts->firewalld_dir, opts->dbus_timeout_ms,
                                                 diag);
                if (r <= 0)
                        return r;
        }
        *ret_fw = g_steal_pointer(&fw);
        return 0;
}

/* Reloads and verifies; on failure puts the previous file back and reloads again. */
/* firewalld is not running: fine, unless the caller requires it (the file applies at its start). */
static int not_running(const TpfwApplyOptions *opts, TpfwApplyResult *result, const char *why,
                       TpfwDiag *diag)
{
        result->reload = TPFW_RELOAD_NOT_RUNNING;
        if (opts->require_running)
                return tpfw_diag_set(diag, ESRCH, NULL, 0, "firewalld is not running (%s)", why);
        return 0;
}

static int reload_and_verify(const TpfwApplyOptions *opts, TpfwFirewalld *fw, const char *path,
                             const char *owner, const TpfwRuleset *expected, bool old_exists,
                             const char *old_data, size_t old_len, TpfwApplyResult *result,
                             TpfwDiag *diag)
{
        TpfwDiag why = TPFW_DIAG_INIT;
        int r;

        r = 0;
        if (fw) {
                r = tpfw_fault("reload");
                if (r < 0)
                        tpfw_diag_set(&why, -r, NULL, 0, "reload failed (fault injected)");
                else {
                        gint64 start = g_get_monotonic_time();

                        r = tpfw_firewalld_reload(fw, &why);
                        step_done(opts, "reload", start, r == 0 ? NULL : "failed");
                }
        }
        if (!fw || r == -ESRCH) {
                /* not running, or it stopped since preflight: the file applies at its next start */
                tpfw_diag_clear(&why);
                return not_running(opts, result, "the change is saved and applies when it starts",
                                   diag);
        }
        if (r == -EACCES) {
                /* firewalld applied nothing: put the file back, a second reload would be refused
                 * too */
                TpfwDiag rb = TPFW_DIAG_INIT;
                g_autofree char *a = tpfw_diag_format(&why);

                if (tpfw_store_restore(path, old_exists, old_data, old_len, &rb) == 0) {
                        result->reload = TPFW_RELOAD_ROLLED_BACK;
                        tpfw_diag_set(diag, EACCES, NULL, 0, "%s; previous file restored", a);
                } else {
                        g_autofree char *b = tpfw_diag_format(&rb);
                        result->reload = TPFW_RELOAD_FAILED;
                        tpfw_diag_set(diag, EACCES, NULL, 0, "%s, and restoring %s failed: %s", a,
                                      path, b ? b : "?");
                }
                tpfw_diag_clear(&rb);
                tpfw_diag_clear(&why);
                return -EACCES;
        }
        if (r >= 0)
                r = check_firewalld(opts, fw, owner, expected, &why);
        if (r >= 0) {
                result->reload = TPFW_RELOAD_DONE;
                result->verified = true;
                return 0;
        }

        /* Roll back: the previous file, and firewalld reloaded with it. */
        {
                TpfwDiag rb = TPFW_DIAG_INIT;
                int r2 = tpfw_fault("rollback");

                if (r2 == 0)
                        r2 = tpfw_store_restore(path, old_exists, old_data, old_len, &rb);
                if (r2 == 0) {
                        r2 = tpfw_fault("rollback-reload");
                        if (r2 < 0)
                                tpfw_diag_set(&rb, -r2, NULL, 0, "reload failed (fault injected)");
                }
                if (r2 == 0) {
                        gint64 start = g_get_monotonic_time();

                        r2 = tpfw_firewalld_reload(fw, &rb);
                        step_done(opts, "reload", start, "rollback");
                }
                result->reload = r2 == 0 ? TPFW_RELOAD_ROLLED_BACK : TPFW_RELOAD_FAILED;
                if (r2 < 0) {
                        g_autofree char *a = tpfw_diag_format(&why);
                        g_autofree char *b = tpfw_diag_format(&rb);
                        tpfw_diag_set(diag, -r, NULL, 0,
                                      "firewalld rejected the change (%s) and the rollback failed "
                                      "too (%s)",
                                      a ? a : "?", b ? b : "?");
                } else {
                        g_autofree char *a = tpfw_diag_format(&why);
                        tpfw_diag_set(diag, -r, NULL, 0,
                                      "firewalld rejected the change, previous file restored: %s",
                                      a ? a : "unknown error");
                }
                tpfw_diag_clear(&rb);
        }
        tpfw_diag_clear(&why);
        return r < 0 ? r : -EIO;
}

/*
 * The file already holds the owner's entries, but firewalld may not: a runtime-only edit, or a
 * reload that failed earlier. Reload when either view disagrees; there is no file to roll back.
 */
static int sync_unchanged(const TpfwApplyOptions *opts, TpfwFirewalld *fw, const char *owner,
                          const TpfwRuleset *expected, TpfwApplyResult *result, TpfwDiag *diag)
{
        TpfwDiag why = TPFW_DIAG_INIT;
        int r;

        if (!fw) {
                return not_running(opts, result,
                                   "direct.xml already holds the rules; they apply when it starts",
                                   diag);
        }
        r = check_firewalld(opts, fw, owner, expected, &why);
        tpfw_diag_clear(&why);
        if (r == 0) {
                result->verified = true;
                return 0;
        }
        {
                gint64 start = g_get_monotonic_time();

                r = tpfw_firewalld_reload(fw, diag);
                step_done(opts, "reload", start, "firewalld did not hold the file's entries");
        }
        if (r == -ESRCH) {
                tpfw_diag_clear(diag);
                result->reload = TPFW_RELOAD_NOT_RUNNING;
                return 0;
        }
        if (r == 0)
                r = check_firewalld(opts, fw, owner, expected, diag);
        if (r < 0) {
                result->reload = TPFW_RELOAD_FAILED;
                return r;
        }
        result->reload = TPFW_RELOAD_DONE;
        result->verified = true;
        return 0;
}

static int apply_runtime(const TpfwApplyOptions *opts, const char *owner,
                         const TpfwRuleset *desired, TpfwApplyResult *result, TpfwDiag *diag)
{
        g_autoptr(TpfwFirewalld) fw = NULL;
        g_autoptr(TpfwRuleset) all = NULL;
        g_autoptr(TpfwRuleset) current = NULL;
        gint64 start = g_get_monotonic_time();
        int r;

        r = tpfw_firewalld_connect(opts->dbus_timeout_ms, &fw, diag);
        step_done(opts, "connect", start, r == 0 ? "system bus" : "no system bus");
        if (r < 0)
                return r;
        if (!tpfw_firewalld_is_running(fw))
                return tpfw_diag_set(diag, ESRCH, NULL, 0,
                                     "firewalld is not running; --runtime-only needs it");
        start = g_get_monotonic_time();
        r = tpfw_firewalld_get_direct(fw, TPFW_VIEW_RUNTIME, &all, diag);
        step_done(opts, "direct.getAllRules", start, "runtime");
        if (r < 0)
                return r;
        current = tpfw_ruleset_owner_subset(all, owner);
        if (tpfw_ruleset_equal(current, desired)) {
                result->verified = true;
                return 0;
        }
        result->changed = true;
        result->removed = tpfw_ruleset_n_rules(current) + tpfw_ruleset_n_chains(current);
        result->added = tpfw_ruleset_n_rules(desired) + tpfw_ruleset_n_chains(desired);
        if (opts->check)
                return 0;
        start = g_get_monotonic_time();
        r = tpfw_firewalld_runtime_remove(fw, current, diag);
        step_done(opts, "direct.removeRule", start, "%zu entries", result->removed);
        if (r < 0)
                return r;
        start = g_get_monotonic_time();
        r = tpfw_firewalld_runtime_add(fw, desired, diag);
        step_done(opts, "direct.addRule", start, "%zu entries", result->added);
        if (r < 0) {
                /* put back what was there: the runtime must not be left half-changed */
                (void)tpfw_firewalld_runtime_remove(fw, desired, NULL);
                (void)tpfw_firewalld_runtime_add(fw, current, NULL);
                return r;
        }
        start = g_get_monotonic_time();
        r = tpfw_firewalld_verify_owner(fw, TPFW_VIEW_RUNTIME, owner, desired, diag);
        step_done(opts, "verify", start, "runtime %s", r == 0 ? "matches" : "differs");
        if (r < 0)
                return r;
        result->verified = true;
        return 0;
}

/*
 * firewalld was not running at the preflight, and the file is written. One that started since
 * may have read the file before the write: look again (waiting for one that is starting). In
 * delta mode, apply the file now written as a delta; in full mode leave *ret_fw for the reload.
 * Returns 1 to go on with reload_and_verify() (which reports not-running when *ret_fw is still
 * NULL), 0 when the delta was applied, or -errno.
 */
static int started_meanwhile(const TpfwApplyOptions *opts, TpfwDirect *doc, const char *owner,
                             const TpfwRuleset *desired, TpfwFirewalld **ret_fw,
                             TpfwApplyResult *result, TpfwDiag *diag)
{
        TpfwDiag ignored = TPFW_DIAG_INIT;
        g_autoptr(TpfwRuleset) now = NULL;
        TpfwApplyInput in = {.path = result->path, .owner = owner, .desired = desired, .doc = doc};

        (void)preflight(opts, ret_fw, &ignored);
        tpfw_diag_clear(&ignored);
        if (!*ret_fw)
                return 1; /* reload_and_verify() reports not-running */
        if (opts->reload_mode == TPFW_RELOAD_MODE_FULL)
                return 1;
        now = tpfw_apply_doc_ruleset(doc);
        if (!now)
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        in.data = tpfw_direct_data(doc, &in.len);
        in.exists = true;
        in.before = now;
        return tpfw_apply_delta(opts, *ret_fw, &in, result, diag);
}

static TpfwRfc3964Request rfc3964_request(const TpfwApplyOptions *opts, const char *dir,
                                          const char *owner, const TpfwRuleset *desired)
{
        return (TpfwRfc3964Request){
                .firewalld_dir = dir,
                .owner = owner,
                .ipv6 = tpfw_rfc3964_ruleset_affected(desired),
                .fix = opts->fix_ipv6_redirect,
                .check = opts->check,
                .offline = opts->no_reload,
                .dbus_timeout_ms = opts->dbus_timeout_ms,
        };
}

/*
 * RFC3964_IPv4 changed with the rules (rfc3964.h): when the direct.xml change failed, put it back;
 * when direct.xml needed no reload, reload for the setting alone. r is the transaction's result.
 */
static int rfc3964_finish(const TpfwApplyOptions *opts, const TpfwRfc3964Request *req,
                          TpfwFirewalld *fw, const char *owner, const TpfwRuleset *expected, int r,
                          TpfwApplyResult *result, TpfwDiag *diag)
{
        TpfwRfc3964Outcome *o = &result->rfc3964;
        gint64 start;

        if (!tpfw_rfc3964_outcome_changed(o) && !o->state_changed)
                return r;
        if (r < 0 && result->reload != TPFW_RELOAD_NOT_RUNNING) {
                if (tpfw_rfc3964_undo(req, o, NULL) == 0) {
                        o->after = o->before;
                        if (fw && o->via_dbus)
                                (void)tpfw_firewalld_reload(fw, NULL);
                }
                return r;
        }
        if (r < 0 || !fw || !o->via_dbus || result->reload != TPFW_RELOAD_SKIPPED)
                return r;
        start = g_get_monotonic_time();
        r = tpfw_firewalld_reload(fw, diag);
        step_done(opts, "reload", start, "RFC3964_IPv4");
        if (r == 0)
                r = check_firewalld(opts, fw, owner, expected, diag);
        result->reload = r == 0 ? TPFW_RELOAD_DONE : TPFW_RELOAD_FAILED;
        result->verified = r == 0;
        return r;
}

/* The delta apply, then the reload that an RFC3964_IPv4 change over D-Bus still needs. */
static int apply_delta(const TpfwApplyOptions *opts, const TpfwRfc3964Request *rfc,
                       TpfwFirewalld *fw, const TpfwApplyInput *in, TpfwApplyResult *result,
                       TpfwDiag *diag)
{
        int r = tpfw_apply_delta(opts, fw, in, result, diag);

        if (r < 0 || result->reload != TPFW_RELOAD_DONE)
                return rfc3964_finish(opts, rfc, fw, in->owner, in->desired, r, result, diag);
        result->reload = TPFW_RELOAD_SKIPPED;
        r = rfc3964_finish(opts, rfc, fw, in->owner, in->desired, 0, result, diag);
        if (r == 0)
                result->reload = TPFW_RELOAD_DONE;
        return r;
}

/* Takes the lock on dir, then reads and parses path (an empty document when there is no file). */
static int lock_and_read(const TpfwApplyOptions *opts, const char *dir, const char *path,
                         TpfwLock **lock, char **data, size_t *len, bool *exists, TpfwDirect **doc,
                         TpfwDiag *diag)
{
        gint64 start = g_get_monotonic_time();
        int r;

        r = tpfw_store_lock(dir, opts->lock_timeout_ms > 0 ? opts->lock_timeout_ms : 30000, lock,
                            diag);
        step_done(opts, "lock", start, NULL);
        if (r < 0)
                return r;
        start = g_get_monotonic_time();
        if (!opts->check)
                tpfw_store_remove_stale(path);
        r = tpfw_store_read(path, opts->follow_symlink ? TPFW_STORE_FOLLOW_SYMLINK : 0,
                            TPFW_DIRECT_MAX_SIZE, data, len, exists, diag);
        if (r < 0)
                return r;
        if (*exists)
                /* no second copy of a large file (rollback and diff need the bytes anyway) */
                r = tpfw_direct_parse_borrowed(path, *data, *len, doc, diag);
        else
                *doc = tpfw_direct_new_empty(path);
        step_done(opts, "read", start, *exists ? "%zu bytes" : "no file", *len);
        return r;
}

int tpfw_apply(const TpfwApplyOptions *opts, TpfwApplyResult *result, TpfwDiag *diag)
{
        TpfwRfc3964Request rfc;
        const char *dir = opts->firewalld_dir ? opts->firewalld_dir : TPFW_DEFAULT_FIREWALLD_DIR;
        const char *owner = opts->owner ? opts->owner : TPFW_DEFAULT_OWNER;
        g_autoptr(TpfwRuleset) desired = NULL;
        g_autoptr(TpfwLock) lock = NULL;
        g_autofree char *old_data = NULL; /* before doc: doc borrows it, so it is freed after */
        g_autoptr(TpfwDirect) doc = NULL;
        g_autoptr(TpfwFirewalld) fw = NULL;
        g_autoptr(TpfwRuleset) before = NULL;
        TpfwMergeResult merge = {0};
        size_t old_len = 0, new_len = 0;
        const char *data;
        bool exists = false;
        gint64 start;
        int r;

        memset(result, 0, sizeof(*result));
        if (!tpfw_owner_name_is_valid(owner))
                return tpfw_diag_set(diag, EINVAL, NULL, 0,
                                     "invalid owner name '%s' (expected [a-z0-9][a-z0-9._-]{0,31})",
                                     owner);
        desired = opts->desired ? tpfw_ruleset_copy(opts->desired) : tpfw_ruleset_new();
        r = tpfw_ruleset_tag(desired, owner);
        if (r < 0)
                return tpfw_diag_set(diag, -r, NULL, 0, "out of memory");
        result->path = g_build_filename(dir, "direct.xml", NULL);

        if (opts->runtime_only)
                return apply_runtime(opts, owner, desired, result, diag);

        r = lock_and_read(opts, dir, result->path, &lock, &old_data, &old_len, &exists, &doc, diag);
        if (r < 0)
                return r;

        /* the file's entries before the merge: what it removes leaves the runtime too */
        if (!opts->check && !opts->no_reload && opts->reload_mode == TPFW_RELOAD_MODE_DELTA) {
                before = tpfw_apply_doc_ruleset(doc);
                if (!before)
                        return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        }
        start = g_get_monotonic_time();
        r = tpfw_direct_merge_with_legacy(doc, owner, desired, opts->legacy_reference,
                                          opts->merge_flags, &merge, diag);
        if (r < 0)
                return r;
        step_done(opts, "merge", start, "%zu added, %zu removed", merge.added, merge.removed);
        result->changed = merge.changed;
        result->added = merge.added;
        result->removed = merge.removed;

        data = tpfw_direct_data(doc, &new_len);
        if (opts->want_diff) {
                result->diff = merge.changed
                                       ? tpfw_unified_diff(old_data, old_len, data, new_len,
                                                           exists ? result->path : "/dev/null",
                                                           result->path)
                                       : g_strdup("");
        }
        rfc = rfc3964_request(opts, dir, owner, desired);
        if (opts->check || (!merge.changed && opts->no_reload))
                return tpfw_rfc3964_update(&rfc, &result->rfc3964, diag);
        if (!opts->no_reload) {
                r = preflight(opts, &fw, diag);
                if (r < 0)
                        return r;
        }
        rfc.fw = fw;
        r = tpfw_rfc3964_update(&rfc, &result->rfc3964, diag);
        if (r < 0)
                return r;
        if (fw && opts->reload_mode == TPFW_RELOAD_MODE_DELTA) {
                TpfwApplyInput in = {.path = result->path,
                                     .owner = owner,
                                     .desired = desired,
                                     .data = old_data,
                                     .len = old_len,
                                     .exists = exists,
                                     .before = before,
                                     .doc = doc};

                return apply_delta(opts, &rfc, fw, &in, result, diag);
        }
        if (!merge.changed)
                return rfc3964_finish(opts, &rfc, fw, owner, desired,
                                      sync_unchanged(opts, fw, owner, desired, result, diag),
                                      result, diag);

        start = g_get_monotonic_time();
        r = tpfw_store_write(result->path, data, new_len,
                             opts->follow_symlink ? TPFW_STORE_FOLLOW_SYMLINK : 0, diag);
        step_done(opts, "write", start, "%zu bytes", new_len);
        if (r < 0)
                return rfc3964_finish(opts, &rfc, fw, owner, desired, r, result, diag);
        if (opts->no_reload)
                return 0;
        if (!fw) {
                r = started_meanwhile(opts, doc, owner, desired, &fw, result, diag);
                if (r <= 0)
                        return rfc3964_finish(opts, &rfc, fw, owner, desired, r, result, diag);
        }
        r = reload_and_verify(opts, fw, result->path, owner, desired, exists, old_data, old_len,
                              result, diag);
        return rfc3964_finish(opts, &rfc, fw, owner, desired, r, result, diag);
}
