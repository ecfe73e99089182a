/* SPDX-License-Identifier: MIT */
/* direct.xml engine internals shared by direct.c, direct-merge.c and direct-scan.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include <tproxy-firewalld/direct.h>

/* Shared between the direct*.c files only: not part of the shared library's exports. */
#pragma GCC visibility push(hidden)

/*
 * Eight bytes at a time (SWAR) for the scans that run over every byte of a large file. Each mask
 * has the high bit set in bytes that match; a match can also flag bytes above it (borrows), so the
 * lowest flagged byte is always a true match, and a zero mask means no byte matches.
 */
#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGHS 0x8080808080808080ull

static inline uint64_t swar_load(const void *p)
{
        uint64_t x;

        memcpy(&x, p, sizeof(x));
        return x;
}

/* bytes equal to c */
static inline uint64_t swar_eq(uint64_t x, unsigned char c)
{
        uint64_t y = x ^ (SWAR_ONES * c);

        return (y - SWAR_ONES) & ~y & SWAR_HIGHS;
}

/* bytes below n (n <= 128) */
static inline uint64_t swar_below(uint64_t x, unsigned char n)
{
        return (x - SWAR_ONES * n) & ~x & SWAR_HIGHS;
}

/* The index of the lowest flagged byte of a non-zero mask (little-endian loads only). */
static inline unsigned swar_first(uint64_t mask)
{
        return (unsigned)__builtin_ctzll(mask) / 8;
}

#define SWAR_LITTLE_ENDIAN (G_BYTE_ORDER == G_LITTLE_ENDIAN)

/* Where one top-level element child of <direct> sits in the raw bytes. */
typedef struct DirectSpan {
        uint32_t ws_start; /* start of the whitespace run right before the element */
        uint32_t start;    /* '<' of the start tag */
        uint32_t end;      /* one past the '>' that closes the element */
        uint32_t line;     /* line of the start tag */
} DirectSpan;              /* offsets fit: files are at most TPFW_DIRECT_MAX_SIZE bytes */

/* The layout of the raw bytes around the root element, as the scanner found it. */
typedef struct DirectLayout {
        size_t root_start;      /* '<' of <direct> */
        size_t root_tag_end;    /* one past the '>' of the <direct> start tag */
        bool root_self_closing; /* <direct/> */
        DirectSpan *spans;      /* element children of <direct>, in file order */
        size_t n_spans;
} DirectLayout;

/* One element child of <direct>: its place in the bytes and its entry, if firewalld keeps one. */
typedef struct DirectElement {
        DirectSpan span; /* zeroed when the document is not editable (no scan) */
        long entry;      /* index into entries, or -1 (a rule/passthrough firewalld ignores) */
} DirectElement;

/*
 * What the merge needs to know about an entry without its argv, worked out once at parse time.
 * The fast parser leaves TpfwEntry.argv NULL and keeps where the text is instead: argv is split
 * again from the bytes when someone asks for it (tpfw_direct_entry_argv()), so a large file costs
 * no argv memory.
 */
typedef struct DirectEntryInfo {
        const char *tag;      /* owner named by the rule's comment tag (interned), or NULL */
        uint32_t element;     /* index into elements */
        uint32_t refs;        /* first of n_refs (table, chain) pairs in TpfwDirect.refs */
        uint32_t n_refs;      /* chains argv names (tpfw_direct_argv_refs() without its own) */
        uint32_t text_offset; /* lazy argv: the raw text starts this far after span.start */
        uint32_t text_len;    /* and is this long */
} DirectEntryInfo;

/*
 * A small direct-mapped cache in front of the string chunk while a parse runs: a large file names
 * the same few tables, chains and targets over and over, and looking them up in the chunk's hash
 * table each time (hash, compare, NUL-terminated copies) was a good part of the parse.
 */
#define DIRECT_INTERN_BITS 10
#define DIRECT_INTERN_SLOTS (1u << DIRECT_INTERN_BITS)
typedef struct DirectInternCache {
        struct {
                const char *s; /* interned, or NULL */
                uint32_t len;
                uint32_t hash;
        } slot[DIRECT_INTERN_SLOTS];
} DirectInternCache;

struct TpfwDirect {
        char *name;
        char *data; /* the raw bytes (NUL-terminated), owned unless data_borrowed */
        size_t len;
        bool data_borrowed;
        GStringChunk *strings; /* interned ipv, table, chain and owner names of all entries */
        DirectInternCache *intern_cache; /* set only while the fast parser runs */
        TpfwEntry *entries;              /* ipv, table and chain point into strings */
        DirectEntryInfo *info;           /* one per entry */
        size_t n_entries;
        const char **refs; /* (table, chain) pairs, interned */
        size_t n_refs;
        DirectElement *elements;
        size_t n_elements;
        DirectLayout layout; /* spans are moved into elements and not kept here */
        bool editable;
        char *not_editable_reason; /* why, when !editable */
};

/*
 * tpfw_direct_parse() with options: borrow keeps a pointer to data instead of a copy; strings
 * (optional) is a chunk to intern names into instead of a new one (it stays the caller's when the
 * parse fails).
 */
int tpfw_direct_parse_with(const char *name, const char *data, size_t len, bool borrow,
                           GStringChunk *strings, TpfwDirect **ret, TpfwDiag *diag);

/* The entry's argv, split from the bytes on first use when the fast parser deferred it. */
char *const *tpfw_direct_entry_argv(const TpfwDirect *d, size_t i);
/* A copy of the entry's argv that leaves the entry as it is (free with g_strfreev()). */
char **tpfw_direct_entry_argv_dup(const TpfwDirect *d, size_t i);

/*
 * The fast path of tpfw_direct_parse() for the files firewalld and this tool write: UTF-8, no
 * DOCTYPE, CDATA, PIs, character references or comments inside entries. Fills entries, info,
 * refs, elements and layout of d (name, data, len and strings set) and returns 1; returns 0
 * without changing d when the bytes hold anything else or anything invalid (the libxml2 path then
 * decides and words the error), or -ENOMEM.
 */
int tpfw_direct_fast_parse(TpfwDirect *d);

/* Shared with the fast parser: validation pieces of direct.c. */
bool tpfw_direct_ipv_valid(const char *ipv);
bool tpfw_direct_table_valid(const char *ipv, const char *table);

/*
 * Splits shlex text like tpfw_args_split() into scratch memory: words (NUL-terminated, one after
 * another) in *buf and pointers to them in ptrs->pdata, NULL-terminated (ptrs->len is only the room
 * there is: it never shrinks). Returns the number of words, or -EINVAL when tpfw_args_split() would
 * fail (ask it for the message).
 */
typedef struct DirectSplitScratch {
        GString *buf;
        GPtrArray *ptrs;
} DirectSplitScratch;
int tpfw_direct_split_scratch(const char *text, size_t len, DirectSplitScratch *s);

/*
 * XML's five predefined entities (&amp; &lt; &gt; &quot; &apos;) at p, within avail bytes: returns
 * the character and its length in *ret_len, or '\0' when p holds none of them.
 */
char tpfw_direct_predefined_entity(const char *p, size_t avail, size_t *ret_len);

/* Decodes an entry's raw text (accepted by the fast parser) as firewalld reads it. */
void tpfw_direct_decode_text(const char *raw, size_t len, GString *out);

/* Scratch memory to split entries' texts in (tpfw_direct_entry_argv_scratch()). Zero-initialise;
 * the buffers are made on first use. */
typedef struct DirectArgvScratch {
        GString *text;
        DirectSplitScratch split;
} DirectArgvScratch;
void tpfw_direct_argv_scratch_clear(DirectArgvScratch *s);

/*
 * The argv of rule or passthrough i: the entry's own when it has one, else split into s (decoded
 * as firewalld reads it), valid until the next call with s.
 */
const char *const *tpfw_direct_entry_argv_scratch(const TpfwDirect *d, size_t i,
                                                  DirectArgvScratch *s);

/* Interns the len bytes at s in d->strings, through d->intern_cache when there is one. s[len] must
 * be readable; it need not be a NUL. */
const char *tpfw_direct_intern_len(TpfwDirect *d, const char *s, size_t len);

/* Records the tag and the argv references of e (whose argv is argv) in info and refs (pairs of
 * names interned in d->strings). */
void tpfw_direct_note_entry(TpfwDirect *d, const TpfwEntry *e, DirectEntryInfo *info,
                            char *const *argv, GArray *refs);

/*
 * Finds the root element and its element children in well-formed UTF-8 bytes (already accepted by
 * libxml2, without a DOCTYPE). Returns 0, or -EINVAL when the bytes hold something the scanner does
 * not understand (then the document is treated as not editable).
 */
int tpfw_direct_scan(const char *data, size_t len, DirectLayout *ret);
void tpfw_direct_layout_clear(DirectLayout *layout);

/*
 * Parses a priority like Python's int(text) (FIREWALLD.md 1.2). Returns 0, -EINVAL when Python
 * would reject it, or -ERANGE when it is a valid integer outside int32.
 */
int tpfw_direct_parse_priority(const char *text, int *ret);

/* Appends "\n  <chain .../>" / "\n  <rule ...>ARGS</rule>" in firewalld's layout. */
void tpfw_direct_append_chain(GString *out, const char *ipv, const char *table, const char *chain);
void tpfw_direct_append_rule(GString *out, const char *ipv, const char *table, const char *chain,
                             int priority, const char *const *argv);
/* Appends all chains (grouped by (ipv, table) in first-seen order), then all rules of rs in
 * tpfw_ruleset_direct_order(); returns the number of elements written. */
size_t tpfw_direct_append_ruleset(GString *out, const TpfwRuleset *rs);

/*
 * The owner's current entries. When desired is not NULL, a chain that desired declares also counts
 * as the owner's when the owner's rules reference it, even if foreign entries do too.
 * ret_elements (optional) receives a GArray of element indexes (size_t) that are the owner's.
 */
int tpfw_direct_collect_owner(const TpfwDirect *d, const char *owner, const TpfwRuleset *desired,
                              TpfwRuleset **ret, GArray **ret_elements);

/* The chains a rule or passthrough argv references: -j/-g targets (and -A/-I/-N... for
 * passthroughs, whose table comes from -t). Calls fn(table, chain, userdata) for each. */
typedef void (*DirectRefFn)(const char *table, const char *chain, void *userdata);
void tpfw_direct_argv_refs(const TpfwEntry *e, DirectRefFn fn, void *userdata);

#pragma GCC visibility pop
