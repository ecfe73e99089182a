/* SPDX-License-Identifier: MIT */
/* direct.xml reader: libxml2's SAX parser with firewalld's element rules and byte offsets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <libxml/tree.h>

#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/direct.h>

#include "xml-util.h"

#pragma GCC visibility push(hidden)

/* Options of every libxml2 parse of a direct.xml: no network, no DTD loading, no entity
 * substitution from outside, errors captured (never printed), and XML 1.0 fourth-edition name
 * rules as expat (firewalld's parser) applies them. */
#define DIRECT_XML_OPTIONS                                                                         \
        (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES |         \
         XML_PARSE_OLD10)

/* One element child of <direct> as firewalld reads it. Strings are valid during the callback. */
typedef struct DirectReadElement {
        TpfwEntryKind kind;
        const char *ipv;      /* attribute values, decoded; NULL when absent (chain: no priority) */
        const char *table;    /* NULL for passthrough */
        const char *chain;    /* NULL for passthrough */
        const char *priority; /* rule only */
        const char *text;     /* the character data (CDATA included), each LF read as a space */
        size_t text_len;
        unsigned line; /* line of the start tag */
        /* byte offsets in the file, when DirectReadLayout.editable */
        uint32_t ws_start; /* start of the whitespace run right before the element */
        uint32_t start;    /* '<' of the start tag */
        uint32_t end;      /* one past the '>' that ends the element */
} DirectReadElement;

/* Returns 0 to go on, or a negative errno with diag set to stop the read with that error. */
typedef int (*DirectReadElementFn)(const DirectReadElement *el, void *userdata, TpfwDiag *diag);

/*
 * A listener of the markup of what the reader accepts, in file order: the root and each of its
 * element children opening (start; atts as libxml2 gives them, line of the start tag), their
 * character data as libxml2 hands it, CDATA included (text; not NUL-terminated), and their end.
 * Each returns 0, or a negative errno with diag set to stop the read with that error.
 */
typedef struct DirectReadEvents {
        int (*start)(void *userdata, const char *name, const xmlChar **atts, unsigned line,
                     TpfwDiag *diag);
        int (*text)(void *userdata, const char *text, size_t len, TpfwDiag *diag);
        int (*end)(void *userdata, TpfwDiag *diag);
        void *userdata;
} DirectReadEvents;

/* What the byte-preserving edit needs to know about the whole file. */
typedef struct DirectReadLayout {
        bool editable;             /* UTF-8 (or ASCII) bytes: the offsets are file offsets */
        char *not_editable_reason; /* why not, when !editable (g_free) */
        uint32_t root_start;       /* '<' of <direct> */
        uint32_t root_tag_end;     /* one past the '>' of the <direct> start tag */
        bool root_self_closing;    /* <direct/> */
        char *ascii_only;          /* the declared encoding when it allows ASCII only (g_free) */
} DirectReadLayout;

/*
 * Reads a direct.xml held in memory with libxml2 (streaming, no tree) and checks what firewalld's
 * parser checks about elements and attributes (FIREWALLD.md section 1), plus the deliberate
 * refusals (DOCTYPE, nested elements, a root other than <direct>, encodings expat does not read
 * the same way). fn is called for every element child of the root in file order; semantic checks
 * of the values (ipv, table, priority, arguments) are the caller's.
 * Returns 0, or -EINVAL (diag "name:line: reason"), -ENOMEM, or what fn returned.
 */
int direct_read(const char *name, const char *data, size_t len, DirectReadElementFn fn,
                void *userdata, DirectReadLayout *ret_layout, TpfwDiag *diag);

/* Reads as direct_read() does, handing the markup to events (the schema check's one pass). */
int direct_read_events(const char *name, const char *data, size_t len,
                       const DirectReadEvents *events, TpfwDiag *diag);

/*
 * The text of one element read again from its bytes (data[start..end) of an editable file, as
 * DirectReadElement.text had it). Returns 0, or -EINVAL when the bytes do not parse.
 */
int direct_read_element_text(const char *element, size_t len, GString *out);

/* Clears a layout filled by direct_read(). */
void direct_read_layout_clear(DirectReadLayout *layout);

#pragma GCC visibility pop
