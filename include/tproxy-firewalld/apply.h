/* SPDX-License-Identifier: MIT */
/* The install/uninstall transaction: lock, load, merge, write, reload, verify, roll back. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/rfc3964.h>
#include <tproxy-firewalld/ruleset.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TPFW_DEFAULT_FIREWALLD_DIR "/etc/firewalld"
#define TPFW_DEFAULT_OWNER "kuma"

typedef enum TpfwReloadStatus {
        TPFW_RELOAD_SKIPPED = 0,     /* nothing changed, --no-reload, or --check */
        TPFW_RELOAD_DONE = 1,        /* reloaded, state RUNNING, runtime verified */
        TPFW_RELOAD_NOT_RUNNING = 2, /* firewalld not running: persisted, applies at next start */
        TPFW_RELOAD_FAILED = 3,      /* reload failed and the rollback failed too */
        TPFW_RELOAD_ROLLED_BACK = 4, /* firewalld refused the change; the previous file is back */
} TpfwReloadStatus;

/* "skipped", "done", "not-running", "failed", "rolled-back". */
const char *tpfw_reload_status_name(TpfwReloadStatus s);

/*
 * Progress report: called after each step of tpfw_apply() with the step's name ("lock", "read",
 * "merge", "write", one per firewalld D-Bus call named by its method, e.g. "reload" or
 * "direct.addRule", and "verify"), a short human detail ("3 added, 1 removed") or NULL, and the
 * step's duration in microseconds. The strings are valid during the call only.
 */
typedef void (*TpfwStepFunc)(const char *step, const char *detail, uint64_t usec, void *userdata);

/*
 * How a change reaches a running firewalld. DELTA: only the owner's entries change, through
 * firewalld's runtime direct API (make before break), its permanent copy is updated to the file's
 * entries, nothing else is touched and nothing is reloaded. FULL: the file is written and
 * firewalld reload()ed, which resets the whole runtime to the permanent configuration (every
 * runtime-only change of others is lost) and drops new connections while it rebuilds.
 */
typedef enum TpfwReloadMode {
        TPFW_RELOAD_MODE_DELTA = 0,
        TPFW_RELOAD_MODE_FULL = 1,
} TpfwReloadMode;

typedef struct TpfwApplyOptions {
        const char *firewalld_dir;  /* NULL: TPFW_DEFAULT_FIREWALLD_DIR */
        const char *owner;          /* NULL: TPFW_DEFAULT_OWNER */
        const TpfwRuleset *desired; /* NULL: uninstall. Tagged for owner by tpfw_apply(). */
        const TpfwRuleset *legacy_reference; /* uninstall with TPFW_MERGE_ADOPT_KUMA_LEGACY: the
                                              * rules Kuma would generate, whose unmarked copies
                                              * are removed too (NULL: none) */
        unsigned merge_flags;                /* TpfwMergeFlags */
        bool check;                          /* compute and report only: no write, no reload */
        bool want_diff;                      /* fill result->diff */
        bool no_reload;                      /* write only */
        bool require_running;                /* firewalld not running is an error */
        bool runtime_only;          /* apply through the runtime API, leave the file alone */
        bool follow_symlink;        /* accept a symlinked direct.xml */
        int lock_timeout_ms;        /* <= 0: 30 s */
        int dbus_timeout_ms;        /* <= 0: 30 s */
        bool fix_ipv6_redirect;     /* set RFC3964_IPv4=no for the owner's IPv6 rules (rfc3964.h) */
        TpfwStepFunc on_step;       /* NULL: no progress reports */
        void *step_userdata;        /* passed to on_step */
        TpfwReloadMode reload_mode; /* a running firewalld: delta (default) or full reload */
} TpfwApplyOptions;

typedef struct TpfwApplyResult {
        char *path;   /* the direct.xml path */
        bool changed; /* the file (or the runtime, with runtime_only) was or would be changed */
        size_t added;
        size_t removed;
        TpfwReloadStatus reload;
        bool verified; /* firewalld's runtime and permanent view hold exactly the owner's entries */
        char *diff;    /* unified diff of direct.xml, when want_diff (may be "" for no change) */
        TpfwRfc3964Outcome rfc3964; /* firewalld's RFC3964_IPv4 for the owner's IPv6 rules */
} TpfwApplyResult;

/*
 * Runs the transaction of DESIGN.md sections 4 and 5. Returns 0 on success (including "nothing to
 * change" and "firewalld not running" unless require_running), or -errno with diag. The result
 * is filled as far as the transaction got, also on failure (e.g. reload == ROLLED_BACK with
 * -EIO). Release the result with tpfw_apply_result_clear().
 */
int tpfw_apply(const TpfwApplyOptions *opts, TpfwApplyResult *result, TpfwDiag *diag);
void tpfw_apply_result_clear(TpfwApplyResult *result);

/*
 * Unified diff ("--- a_label", "+++ b_label", hunks with 3 lines of context) between two texts.
 * Returns "" when they are equal. Free with free().
 */
char *tpfw_unified_diff(const char *a, size_t a_len, const char *b, size_t b_len,
                        const char *a_label, const char *b_label);

#ifdef __cplusplus
}
#endif
