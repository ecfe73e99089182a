/* SPDX-License-Identifier: MIT */
/* firewalld over D-Bus (libdbus-1): running?, reload, state, direct entries, runtime edits. */
#pragma once

#include <stdbool.h>

#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/ruleset.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct TpfwFirewalld TpfwFirewalld;

/*
 * Opens a private connection to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured) with
 * timeout_ms for every call (<= 0: 30 s). Returns 0, or -errno with diag when the bus cannot be
 * reached (-ECONNREFUSED/-ENOENT).
 */
int tpfw_firewalld_connect(int timeout_ms, TpfwFirewalld **ret, TpfwDiag *diag);
/* Closes and frees the connection. NULL is accepted; returns NULL. */
TpfwFirewalld *tpfw_firewalld_free(TpfwFirewalld *fw);

/* True when org.fedoraproject.FirewallD1 has an owner on the bus. */
bool tpfw_firewalld_is_running(TpfwFirewalld *fw);

/*
 * Start-up: firewalld 2.4+ read direct.xml before they own their D-Bus name, and their systemd
 * unit no longer waits for the name, so "no owner" does not mean "stopped": a change written in
 * that gap would be lost until the next reload.
 *
 * tpfw_firewalld_starting() is true when a firewalld that reads firewalld_dir (NULL: the default
 * /etc/firewalld) is alive: a process running firewalld whose --system-config is that directory
 * (no --system-config counts as /etc/firewalld); for the default directory also /run/firewalld.pid
 * naming a live process, or systemd's firewalld.service "activating". A firewalld in another
 * network namespace with another --system-config (a test sandbox) is not one of them.
 *
 * tpfw_firewalld_wait_starting(): when such a firewalld is starting, waits (polling, at most
 * timeout_ms; <= 0: 30 s) until org.fedoraproject.FirewallD1 has an owner. Returns 1 when it
 * owns the name now, 0 when no firewalld for the directory is starting (or it exited without
 * owning the name), -ETIMEDOUT when it is still starting at the deadline, -ENOTCONN when one is
 * starting and fw is NULL (no bus); errors with diag. Call it where no owner was found.
 */
bool tpfw_firewalld_starting(const char *firewalld_dir);
int tpfw_firewalld_wait_starting(TpfwFirewalld *fw, const char *firewalld_dir, int timeout_ms,
                                 TpfwDiag *diag);

/*
 * Errors of the calls below: -ESRCH firewalld not running ("firewalld is not running"),
 * -EACCES not authorised ("not authorised to ... (run as root)"), -ETIMEDOUT no reply in time,
 * -EIO firewalld refused, with diag "CODE: message" as firewalld said it (e.g.
 * "COMMAND_FAILED: Direct: '/usr/sbin/iptables-restore -w -n' failed: ..."), one line.
 */

/* org.fedoraproject.FirewallD1.reload(). */
int tpfw_firewalld_reload(TpfwFirewalld *fw, TpfwDiag *diag);

/* The "state" property: "INIT", "RUNNING" or "FAILED". *ret_state: free with free(). */
int tpfw_firewalld_get_state(TpfwFirewalld *fw, char **ret_state, TpfwDiag *diag);

/*
 * The RFC3964_IPv4 setting of firewalld.conf (org.fedoraproject.FirewallD1.config property, "yes"
 * or "no"; FIREWALLD.md section 10). Setting it rewrites firewalld.conf and takes effect at the
 * next reload. -ENOENT: this firewalld has no such setting (before 0.7; it has no RFC 3964 filter).
 */
int tpfw_firewalld_get_rfc3964_ipv4(TpfwFirewalld *fw, bool *ret_enabled, TpfwDiag *diag);
int tpfw_firewalld_set_rfc3964_ipv4(TpfwFirewalld *fw, bool enabled, TpfwDiag *diag);

typedef enum TpfwFirewalldView {
        TPFW_VIEW_RUNTIME = 0,   /* org.fedoraproject.FirewallD1.direct.getAll* */
        TPFW_VIEW_PERMANENT = 1, /* ...config.direct.getSettings (firewalld's in-memory copy) */
} TpfwFirewalldView;

/*
 * All ipv4/ipv6 chains and rules of a view as a ruleset (mode APPEND, position 0; eb entries
 * skipped). Passthroughs are not included.
 */
int tpfw_firewalld_get_direct(TpfwFirewalld *fw, TpfwFirewalldView view, TpfwRuleset **ret,
                              TpfwDiag *diag);

/*
 * Checks that the view holds exactly owner's entries as in expected (rules carrying the owner's
 * tag equal expected's rules; expected's chains are all present). Returns 0 when they match,
 * -EPROTO with diag naming the first missing or unexpected entry, or another error of the call.
 */
int tpfw_firewalld_verify_owner(TpfwFirewalld *fw, TpfwFirewalldView view, const char *owner,
                                const TpfwRuleset *expected, TpfwDiag *diag);

/*
 * Queries sent together and answered back to back: firewalld handles D-Bus calls one at a time,
 * so waiting for each answer before sending the next call only adds round trips and wake-ups.
 * Send the calls with tpfw_firewalld_query_send(), then take the answers in any order; each
 * reports the errors listed above for its own call. Freeing a query drops unread answers.
 */
typedef struct TpfwFirewalldQuery TpfwFirewalldQuery;

typedef enum TpfwFirewalldQueryFlags {
        TPFW_QUERY_STATE = 1 << 0,          /* the "state" property */
        TPFW_QUERY_PERMANENT = 1 << 1,      /* config.direct.getSettings */
        TPFW_QUERY_RUNTIME_CHAINS = 1 << 2, /* direct.getAllChains */
        TPFW_QUERY_RUNTIME_RULES = 1 << 3,  /* direct.getAllRules */
} TpfwFirewalldQueryFlags;

/* The flags tpfw_firewalld_query_verify_owner() needs for view and expected. */
unsigned tpfw_firewalld_query_for(TpfwFirewalldView view, const TpfwRuleset *expected);

/* Sends the calls named by what (TpfwFirewalldQueryFlags) without waiting for an answer. */
int tpfw_firewalld_query_send(TpfwFirewalld *fw, unsigned what, TpfwFirewalldQuery **ret,
                              TpfwDiag *diag);
/* As tpfw_firewalld_get_state(), from the answer to TPFW_QUERY_STATE. */
int tpfw_firewalld_query_state(TpfwFirewalldQuery *q, char **ret_state, TpfwDiag *diag);
/* As tpfw_firewalld_verify_owner(), from the answers for view; -EINVAL when they were not asked
 * for (tpfw_firewalld_query_for()). */
int tpfw_firewalld_query_verify_owner(TpfwFirewalldQuery *q, TpfwFirewalldView view,
                                      const char *owner, const TpfwRuleset *expected,
                                      TpfwDiag *diag);
/* NULL is accepted; returns NULL. */
TpfwFirewalldQuery *tpfw_firewalld_query_free(TpfwFirewalldQuery *q);

/* Runtime edits (org.fedoraproject.FirewallD1.direct): adds rs's chains then rules, or removes
 * rs's rules then chains. Already present / already absent entries are not errors. */
int tpfw_firewalld_runtime_add(TpfwFirewalld *fw, const TpfwRuleset *rs, TpfwDiag *diag);
int tpfw_firewalld_runtime_remove(TpfwFirewalld *fw, const TpfwRuleset *rs, TpfwDiag *diag);

/*
 * One direct entry added to or removed from a view: TPFW_VIEW_RUNTIME applies it to the kernel
 * at once (a rule lands by its priority among the chain's direct rules), TPFW_VIEW_PERMANENT
 * changes firewalld's in-memory copy, which firewalld then writes to direct.xml in its own
 * layout. Each call is atomic inside firewalld; an entry already present (add) or absent
 * (remove) is not an error.
 */
int tpfw_firewalld_direct_chain(TpfwFirewalld *fw, TpfwFirewalldView view, bool add,
                                const TpfwChain *c, TpfwDiag *diag);
int tpfw_firewalld_direct_rule(TpfwFirewalld *fw, TpfwFirewalldView view, bool add,
                               const TpfwRule *rule, TpfwDiag *diag);

/*
 * config.direct.update() with every entry of doc (all families, passthroughs included, in the
 * file's order): firewalld's permanent copy becomes the file's entries at once, and firewalld
 * rewrites direct.xml from it (its layout, XML comments dropped; "direct.xml.old" gets the
 * previous file).
 */
int tpfw_firewalld_permanent_update(TpfwFirewalld *fw, const TpfwDirect *doc, TpfwDiag *diag);

/* *ret_equal: firewalld's permanent copy holds exactly doc's entries (as sets). */
int tpfw_firewalld_permanent_matches(TpfwFirewalld *fw, const TpfwDirect *doc, bool *ret_equal,
                                     TpfwDiag *diag);

/* Makes firewalld write its permanent copy to direct.xml without changing it (two atomic
 * calls: add and remove a scratch chain), for when the file lost an entry the copy holds. */
int tpfw_firewalld_permanent_rewrite(TpfwFirewalld *fw, TpfwDiag *diag);

#ifdef __cplusplus
}
#endif
