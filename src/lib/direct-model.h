/* SPDX-License-Identifier: MIT */
/* direct.xml model: the entries of a document, where they sit in the bytes, what the merge needs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include <tproxy-firewalld/direct.h>

#include "direct-read.h"

#pragma GCC visibility push(hidden)

/* Where one element child of <direct> sits in the bytes (files are at most 64 MiB). */
typedef struct DirectSpan {
        uint32_t ws_start; /* start of the whitespace run right before the element */
        uint32_t start;    /* '<' of the start tag */
        uint32_t end;      /* one past the '>' that closes the element */
} DirectSpan;

/* One element child of <direct>: its place in the bytes and its entry, if firewalld keeps one.
 * (16 bytes: a 60 MB file can hold a million elements, and its memory is bounded.) */
typedef struct DirectElement {
        DirectSpan span; /* zeroed when the document is not editable */
        int32_t entry;   /* index into entries, or -1 (a rule/passthrough firewalld ignores) */
} DirectElement;

/*
 * What the merge needs to know about an entry, worked out once while reading: an editable
 * document keeps no argv (TpfwEntry.argv stays NULL until someone asks, and is then read again
 * from the element's bytes), so a large file costs little memory.
 */
typedef struct DirectEntryInfo {
        const char *tag;          /* owner named by the rule's comment tag (interned), or NULL */
        uint64_t key_hash;        /* rules: tpfw_hash of direct_stripped_key() */
        uint32_t element : 31;    /* index into elements */
        uint32_t kuma_legacy : 1; /* an unmarked rule naming a KUMA_MESH_ chain or Kuma's comment */
        uint32_t refs; /* first (table, chain) pair in TpfwDirect.refs of the chains argv names
                        * besides its own (direct_argv_refs()); they end where the next entry's
                        * start (direct_entry_n_refs()) */
} DirectEntryInfo;

struct TpfwDirect {
        char *name;
        char *data; /* the raw bytes (NUL-terminated), owned unless data_borrowed */
        size_t len;
        bool data_borrowed;
        GStringChunk *strings; /* interned ipv, table, chain and owner names of all entries */
        TpfwEntry *entries;    /* ipv, table and chain point into strings */
        DirectEntryInfo *info; /* one per entry */
        size_t n_entries;
        const char **refs; /* (table, chain) pairs, interned */
        size_t n_refs;
        DirectElement *elements;
        size_t n_elements;
        DirectReadLayout layout;
};

/* How many (table, chain) pairs entry i references (DirectEntryInfo.refs). */
static inline size_t direct_entry_n_refs(const TpfwDirect *d, size_t i)
{
        return (i + 1 < d->n_entries ? d->info[i + 1].refs : d->n_refs) - d->info[i].refs;
}

#define KUMA_CHAIN_PREFIX "KUMA_MESH_"
#define KUMA_COMMENT_PREFIX "kuma/mesh/transparent/proxy"

/* The entry's argv: its own, or read again from the element's bytes into a new copy that the
 * entry keeps (the public accessor hands out a pointer into the entry). */
char *const *direct_entry_argv(const TpfwDirect *d, size_t i);
/* A copy of the entry's argv that leaves the entry as it is (free with g_strfreev()). */
char **direct_entry_argv_dup(const TpfwDirect *d, size_t i);

/* The chains a rule or passthrough argv references: -j/-g targets (and -A/-I/-N... for
 * passthroughs, whose table comes from -t). Calls fn(table, chain, userdata) for each. */
typedef void (*DirectRefFn)(const char *table, const char *chain, void *userdata);
void direct_argv_refs(TpfwEntryKind kind, const char *table, const char *chain, char *const *argv,
                      DirectRefFn fn, void *userdata);
bool direct_is_target_option(const char *arg);

/* The hash of (ipv, table, chain, argv without its comment match): what makes an unmarked rule a
 * copy of one of the owner's (DESIGN.md section 3). */
uint64_t direct_stripped_key_hash(const char *ipv, const char *table, const char *chain,
                                  const char *const *argv);
/* Whether two argv are equal once their comment matches are left out. */
bool direct_stripped_argv_equal(const char *const *a, const char *const *b);

/* Whether an unmarked rule is what kumactl --store-firewalld writes (DESIGN.md section 4). */
bool direct_argv_is_kuma_legacy(const char *chain, const char *const *argv);

/* Parses data (which must stay alive while d does when borrowed) into a new document. */
int direct_parse(const char *name, const char *data, size_t len, bool borrow, TpfwDirect **ret,
                 TpfwDiag *diag);

/*
 * Frees the entries and what only they use (their info, references and interned strings), so that
 * a large document is not held twice while its replacement is written from its bytes, elements
 * (their entry then -1) and layout. direct_replace_data() reads the entries again.
 */
void direct_clear_entries(TpfwDirect *d);

/*
 * Makes d the document with the elements marked in remove (one flag per element) cut out, each with
 * the whitespace before it, and block (elements as direct_append_ruleset() writes them) put in
 * where element first_owner was ((size_t)-1: after the last element). The model follows the edit.
 * On failure (the block or the result does not read: an internal error) d must be freed.
 */
int direct_splice(TpfwDirect *d, const bool *remove, size_t first_owner, const GString *block,
                  TpfwDiag *diag);

/* Makes d own data (NUL-terminated, g_free) in place of its bytes; the model is left as it is,
 * for the caller to keep in step. */
void direct_take_data(TpfwDirect *d, char *data, size_t len);

/*
 * Makes d describe data (taking it over, NUL-terminated, g_free), reading it again. On failure d
 * is left empty and must be freed.
 */
int direct_replace_data(TpfwDirect *d, char *data, size_t len, TpfwDiag *diag);

/* Parses a priority like Python 3.11's int(text) (FIREWALLD.md 1.2). Returns 0, -EINVAL when
 * Python would reject it, or -ERANGE when it is a valid integer outside int32. */
int direct_parse_priority(const char *text, int *ret);

bool direct_ipv_valid(const char *ipv);
bool direct_table_valid(const char *ipv, const char *table);

#pragma GCC visibility pop
