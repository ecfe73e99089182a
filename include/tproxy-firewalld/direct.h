/* SPDX-License-Identifier: MIT */
/* direct.xml: load and validate as firewalld does, merge an owner's ruleset, serialise
 * byte-preserving. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/ruleset.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest direct.xml the tool reads (bytes). firewalld has no limit; 100 MiB is far beyond use. */
#define TPFW_DIRECT_MAX_SIZE (64u * 1024u * 1024u)

typedef enum TpfwEntryKind {
        TPFW_ENTRY_CHAIN = 0,
        TPFW_ENTRY_RULE = 1,
        TPFW_ENTRY_PASSTHROUGH = 2,
} TpfwEntryKind;

/* One element of <direct>, as firewalld sees it. */
typedef struct TpfwEntry {
        TpfwEntryKind kind;
        char *ipv;     /* "ipv4", "ipv6" or "eb", as written */
        char *table;   /* chain and rule only, else NULL */
        char *chain;   /* chain and rule only, else NULL */
        int priority;  /* rule only */
        char **argv;   /* rule and passthrough: shlex-split text (LF read as space); chain: NULL */
        unsigned line; /* line of the start tag in the file */
} TpfwEntry;

typedef struct TpfwDirect TpfwDirect;

/*
 * Parses a direct.xml held in memory. name is used in diagnostics. Parsing uses libxml2 without
 * network access, DTD loading or entity substitution from outside; a DOCTYPE is refused.
 * Validation follows firewalld 1.3.3 (FIREWALLD.md section 1): root <direct> without attributes,
 * only <chain>/<rule>/<passthrough> children with exactly their attributes, ipv and table per
 * ipv, priority as Python int() within int32, args that shlex-split, no element children inside
 * entries. An empty buffer is an error (firewalld: "Not a valid file").
 * Returns 0, or -EINVAL (invalid, diag "name:line: reason"), -EFBIG (over TPFW_DIRECT_MAX_SIZE),
 * -ENOMEM.
 */
int tpfw_direct_parse(const char *name, const char *data, size_t len, TpfwDirect **ret,
                      TpfwDiag *diag);

/*
 * tpfw_direct_parse() without copying data: data must stay alive and unchanged until the document
 * is freed. A merge that changes the document gives it its own bytes.
 */
int tpfw_direct_parse_borrowed(const char *name, const char *data, size_t len, TpfwDirect **ret,
                               TpfwDiag *diag);

/*
 * Checks a direct.xml held in memory as tpfw_direct_parse() does, keeping nothing of its entries,
 * so that memory stays near the file's size whatever it holds. Returns 0 with the number of
 * entries firewalld keeps in *ret_n_entries and, when the tool would not edit the file, the reason
 * (tpfw_direct_is_editable()'s message) in *ret_not_editable (g_free; NULL when editable), or what
 * tpfw_direct_parse() returns for the same bytes.
 */
int tpfw_direct_check(const char *name, const char *data, size_t len, size_t *ret_n_entries,
                      char **ret_not_editable, TpfwDiag *diag);

/* A document for a missing direct.xml: no entries; serialises as firewalld's empty file. */
TpfwDirect *tpfw_direct_new_empty(const char *name);

TpfwDirect *tpfw_direct_free(TpfwDirect *d);

size_t tpfw_direct_n_entries(const TpfwDirect *d);
const TpfwEntry *tpfw_direct_entry(const TpfwDirect *d, size_t i);

/*
 * True when the tool can edit the file byte-preservingly (UTF-8 or ASCII, no CDATA/comment
 * trickery inside entries it must remove). When false, diag says why.
 */
bool tpfw_direct_is_editable(const TpfwDirect *d, TpfwDiag *diag);

/* The owner's entries: rules carrying its tag, and chains derived per DESIGN.md section 3. */
int tpfw_direct_owner_ruleset(const TpfwDirect *d, const char *owner, TpfwRuleset **ret,
                              TpfwDiag *diag);

typedef struct TpfwOwnerCount {
        char *owner;
        size_t rules;
        size_t chains;
} TpfwOwnerCount;

/* Owners present, sorted by name. Free with tpfw_owner_counts_free(). */
int tpfw_direct_list_owners(const TpfwDirect *d, TpfwOwnerCount **ret, size_t *ret_n);
void tpfw_owner_counts_free(TpfwOwnerCount *counts, size_t n);

typedef enum TpfwMergeFlags {
        TPFW_MERGE_ADOPT = 1u << 0, /* take over conflicting foreign entries */
        TPFW_MERGE_ADOPT_KUMA_LEGACY = 1u
                                       << 1, /* also remove kumactl --store-firewalld leftovers */
} TpfwMergeFlags;

typedef struct TpfwMergeResult {
        bool changed;   /* the entry set differs, so the file must be written */
        size_t added;   /* entries added (chains + rules) */
        size_t removed; /* entries removed (chains + rules), owner's and adopted ones */
} TpfwMergeResult;

/*
 * Replaces owner's entries in d with desired (NULL or empty: uninstall). desired must already be
 * tagged for owner (tpfw_ruleset_tag()). Foreign entries, comments and whitespace are kept byte
 * for byte; new elements are written in firewalld's layout. When the owner's entries already
 * equal desired, d is left untouched and result->changed is false.
 * Conflicts (DESIGN.md section 3) give -EEXIST with a diag naming the foreign entry and its line,
 * unless TPFW_MERGE_ADOPT. On failure d is unchanged.
 */
int tpfw_direct_merge(TpfwDirect *d, const char *owner, const TpfwRuleset *desired, unsigned flags,
                      TpfwMergeResult *result, TpfwDiag *diag);
/*
 * tpfw_direct_merge() that, with TPFW_MERGE_ADOPT_KUMA_LEGACY, also removes unmarked copies (any
 * priority, comments ignored) of legacy_reference's rules: what kumactl --store-firewalld wrote
 * for the same options. legacy_reference may be NULL.
 */
int tpfw_direct_merge_with_legacy(TpfwDirect *d, const char *owner, const TpfwRuleset *desired,
                                  const TpfwRuleset *legacy_reference, unsigned flags,
                                  TpfwMergeResult *result, TpfwDiag *diag);

/* The current bytes of the document (valid until the next merge or free). */
const char *tpfw_direct_data(const TpfwDirect *d, size_t *ret_len);

/*
 * A complete direct.xml holding only rs's chains and rules, in firewalld's layout and R8 order
 * (what "generate --format direct-xml" prints). Free with free().
 */
char *tpfw_direct_format_ruleset(const TpfwRuleset *rs);

/*
 * Validates data (a direct.xml in memory) against the RelaxNG schema at schema_path
 * (schemas/direct.rng), without network access or DTD loading; a DOCTYPE is refused.
 * Returns 0, -EINVAL (diag: "line: reason"), -ENOENT (schema unreadable), -EFBIG, -ENOMEM.
 */
int tpfw_direct_validate_schema(const char *schema_path, const char *data, size_t len,
                                TpfwDiag *diag);

#ifdef __cplusplus
}
#endif
