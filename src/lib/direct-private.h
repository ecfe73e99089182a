/* direct.xml engine internals shared by direct.c, direct-merge.c and direct-scan.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#include <tproxy-firewalld/direct.h>

/* Where one top-level element child of <direct> sits in the raw bytes. */
typedef struct DirectSpan {
        size_t ws_start; /* start of the whitespace run right before the element */
        size_t start;    /* '<' of the start tag */
        size_t end;      /* one past the '>' that closes the element */
        unsigned line;   /* line of the start tag */
} DirectSpan;

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

struct TpfwDirect {
        char *name;
        char *data; /* the raw bytes (NUL-terminated copy) */
        size_t len;
        TpfwEntry *entries;
        size_t n_entries;
        DirectElement *elements;
        size_t n_elements;
        DirectLayout layout;
        bool editable;
        char *not_editable_reason; /* why, when !editable */
};

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
