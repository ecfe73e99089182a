/* SPDX-License-Identifier: MIT */
/* firewalld's RFC3964_IPv4 filter against IPv6 REDIRECT (FIREWALLD.md section 10): read, fix,
 * restore.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/firewalld.h>
#include <tproxy-firewalld/ruleset.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The record of --fix-ipv6-redirect, in the firewalld directory next to firewalld.conf (firewalld
 * reads only the files it knows, keeps unknown ones, and --check-config ignores them): "key=value"
 * lines, "#" comments; "previous-rfc3964-ipv4=yes|no" once, "owner=NAME" per owner that asked.
 */
#define TPFW_RFC3964_STATE_FILE "tproxy-firewalld.state"

/* True when rs holds IPv6 rules, whose REDIRECTs firewalld's RFC 3964 filter rejects. */
bool tpfw_rfc3964_ruleset_affected(const TpfwRuleset *rs);

/*
 * RFC3964_IPv4 in firewalld.conf text, read as firewalld reads it: the first well-formed
 * "RFC3964_IPv4=value" line counts; a missing line or a value other than yes/true/no/false
 * (any case) means firewalld's default, yes. Returns true for yes.
 */
bool tpfw_rfc3964_conf_parse(const char *text);

/*
 * Returns text with that line set to "RFC3964_IPv4=yes|no" (appended when there is none), every
 * other byte unchanged. text may be NULL (no file). Free with g_free().
 */
char *tpfw_rfc3964_conf_set(const char *text, bool enabled);

/*
 * The current setting: over D-Bus when fw is not NULL (firewalld's loaded configuration; when
 * that fails, e.g. firewalld does not run, the file is read instead), else from dir/firewalld.conf
 * (a missing file or line means firewalld's default, yes). Returns 0, -ENOENT when the running
 * firewalld has no such setting (before 0.7: no filter either), or -errno with diag.
 */
int tpfw_rfc3964_get(const char *dir, TpfwFirewalld *fw, bool *ret_enabled, TpfwDiag *diag);

/*
 * Changes the setting: over D-Bus when fw is not NULL and firewalld runs (firewalld rewrites
 * firewalld.conf; the filter follows at its next reload), else by an atomic rewrite of
 * dir/firewalld.conf that keeps every other byte. Returns 0 or -errno with diag.
 */
int tpfw_rfc3964_set(const char *dir, TpfwFirewalld *fw, bool enabled, TpfwDiag *diag);

/* The contents of the state file. */
typedef struct TpfwRfc3964State {
        char **owners; /* NULL-terminated (NULL: none), in the order they asked */
        int previous;  /* RFC3964_IPv4 before the first fix: 1 yes, 0 no, -1 not recorded */
} TpfwRfc3964State;

#define TPFW_RFC3964_STATE_INIT                                                                    \
        {                                                                                          \
                NULL, -1                                                                           \
        }

/* Loads dir's state file; a missing file gives an empty state. -EINVAL with path:line on a bad
 * line. */
int tpfw_rfc3964_state_load(const char *dir, TpfwRfc3964State *ret, TpfwDiag *diag);
/* Writes the state file atomically, or removes it when there are no owners. */
int tpfw_rfc3964_state_save(const char *dir, const TpfwRfc3964State *state, TpfwDiag *diag);
void tpfw_rfc3964_state_clear(TpfwRfc3964State *state);

typedef struct TpfwRfc3964Request {
        const char *firewalld_dir;
        const char *owner;
        bool ipv6;           /* the owner's new ruleset has IPv6 rules (false for uninstall) */
        bool fix;            /* --fix-ipv6-redirect: the owner needs RFC3964_IPv4=no */
        bool check;          /* compute only: no write, no D-Bus change */
        bool offline;        /* --no-reload: read and write firewalld.conf, never D-Bus */
        int dbus_timeout_ms; /* <= 0: 30 s */
        /* optional, borrowed: a connection to the running firewalld the caller already holds
         * (saves a connection and its round trips); NULL: connects when firewalld runs */
        TpfwFirewalld *fw;
} TpfwRfc3964Request;

/* A value of the setting; zero-initialised means "not looked at". */
typedef enum TpfwRfc3964Value {
        TPFW_RFC3964_UNKNOWN = 0,
        TPFW_RFC3964_YES = 1,
        TPFW_RFC3964_NO = 2,
} TpfwRfc3964Value;

/* "yes", "no", or NULL for TPFW_RFC3964_UNKNOWN. */
const char *tpfw_rfc3964_value_name(TpfwRfc3964Value v);

typedef struct TpfwRfc3964Outcome {
        TpfwRfc3964Value before; /* UNKNOWN when there was nothing to look at */
        TpfwRfc3964Value after;  /* after the step (with check: what it would be) */
        bool warning;  /* IPv6 rules and RFC3964_IPv4=yes afterwards: IPv6 redirection fails */
        bool claimed;  /* the owner is recorded as needing the fix afterwards */
        bool via_dbus; /* changed through the running firewalld: effective after a reload */
        bool absent;   /* firewalld has no RFC3964_IPv4 (before 0.7), so no filter: nothing to
                        * warn about, fix or restore (before and after stay UNKNOWN) */
        /* for tpfw_rfc3964_undo(): the state file as it was */
        bool state_changed;
        bool state_existed;
        char *state_data;
        size_t state_len;
} TpfwRfc3964Outcome;

/* True when the step changed (or, with check, would change) the setting. */
bool tpfw_rfc3964_outcome_changed(const TpfwRfc3964Outcome *o);

/*
 * The install/uninstall step, called under the directory lock. The owner needs the fix when its
 * new ruleset has IPv6 rules and it asks (fix) or asked before (its record stays until uninstall
 * or an install without IPv6 rules). The first owner's fix records the value it found; when the
 * last owner's record goes, that value comes back if the setting is still "no". The state file
 * is written before the setting changes, so a crash leaves a record of it. *ret is filled also on
 * failure; release it with tpfw_rfc3964_outcome_clear(). Returns 0 or -errno with diag.
 */
int tpfw_rfc3964_update(const TpfwRfc3964Request *req, TpfwRfc3964Outcome *ret, TpfwDiag *diag);

/* Puts back the setting and the state file as they were before tpfw_rfc3964_update() (rollback).
 */
int tpfw_rfc3964_undo(const TpfwRfc3964Request *req, const TpfwRfc3964Outcome *outcome,
                      TpfwDiag *diag);
void tpfw_rfc3964_outcome_clear(TpfwRfc3964Outcome *o);

/* The warning install and status print (one line, no trailing newline). */
#define TPFW_RFC3964_WARNING                                                                       \
        "IPv6 outbound redirection will fail: firewalld's RFC3964_IPv4=yes filter rejects the "    \
        "redirected destination ::1 (use --fix-ipv6-redirect)"

#ifdef __cplusplus
}
#endif
