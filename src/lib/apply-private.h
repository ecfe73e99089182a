/* SPDX-License-Identifier: MIT */
/* The no-reload apply (apply-delta.c), called by the transaction in apply.c. */
#pragma once

#include <tproxy-firewalld/apply.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/firewalld.h>

#pragma GCC visibility push(hidden)

/* What the transaction read and merged: direct.xml as read and the merged document. */
typedef struct TpfwApplyInput {
        const char *path;
        const char *owner;
        const TpfwRuleset *desired; /* tagged */
        const char *data;           /* the file as read (NULL when missing) */
        size_t len;
        bool exists;
        const TpfwRuleset *before; /* chains and rules of the file as read */
        TpfwDirect *doc;           /* merged */
} TpfwApplyInput;

/* The chains and rules (ipv4 and ipv6) of a document, as a ruleset. NULL when out of memory. */
TpfwRuleset *tpfw_apply_doc_ruleset(const TpfwDirect *doc);

/*
 * Applies in->doc to a running firewalld without a reload (TPFW_RELOAD_MODE_DELTA): the owner's
 * runtime delta, make before break; firewalld's permanent copy set to the file's entries; the
 * file replaced by the merged bytes unless someone changed it since it was read (then it is read
 * and merged again, a bounded number of times); verification. A failure undoes what was done.
 * Fills result->reload/verified. Returns 0 or -errno with diag.
 */
int tpfw_apply_delta(const TpfwApplyOptions *opts, TpfwFirewalld *fw, const TpfwApplyInput *in,
                     TpfwApplyResult *result, TpfwDiag *diag);

#pragma GCC visibility pop
