/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer (RFC 8259) for the library's and the CLI's output.
 *
 * Why the project's own: GLib has no JSON writer, and json-glib, the packaged library that comes
 * nearest, is not among the project's dependencies (libxml2, libdbus-1, GLib, libyaml) and would
 * bring GObject and GIO into a library that uses neither. Writing is all the project does with
 * JSON, and what it writes must be valid UTF-8 JSON whatever bytes the input holds, which
 * json-glib's generator does not ensure (it writes ill-formed UTF-8 and 0x1f as they come).
 *
 * The layout is the one json-glib 1.6's JsonGenerator produced, which scripts and tests may
 * compare byte for byte: compact ({"a":1,"b":[]}) with indent 0; with indent N, one value per line,
 * members as "name" : value, N spaces per level, "[]" for an empty array and, as json-glib did,
 * "{" + the object's indentation + "}" for an empty object.
 *
 * Strings (values and member names) are escaped as json-glib did: \" \\ \b \t \n \f \r, other
 * bytes below 0x20 and 0x7f as \u00xx, "/" and everything else as is. Unlike json-glib the output
 * is always valid JSON and valid UTF-8: 0x1f is escaped too (json-glib emitted it raw), and each
 * maximal ill-formed subsequence of the input (Unicode 15 section 3.9, as Python's
 * decode("utf-8", "replace") does) becomes one U+FFFD, written as its UTF-8 bytes. Input comes
 * from files and argv, so it need not be UTF-8.
 *
 * The caller keeps the calls balanced and names every member of an object before its value; the
 * writer does not check.
 *
 * Private to the library and the CLI (which links the static library): G_GNUC_INTERNAL keeps these
 * symbols out of the shared library's exports although they match its tpfw_* version script.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct TpfwJsonWriter {
        GString *out;
        unsigned indent; /* spaces per level; 0: compact, on one line */
        unsigned depth;  /* containers open */
        bool first;      /* nothing written yet in the innermost open container */
        bool member;     /* a member name was written: its value follows on the same line */
} TpfwJsonWriter;

/* Starts a document; indent as above. */
G_GNUC_INTERNAL void tpfw_json_writer_init(TpfwJsonWriter *w, unsigned indent);
/* Ends the document: returns the text (free with g_free()), without a trailing newline. */
G_GNUC_INTERNAL char *tpfw_json_writer_finish(TpfwJsonWriter *w);

G_GNUC_INTERNAL void tpfw_json_begin_object(TpfwJsonWriter *w);
G_GNUC_INTERNAL void tpfw_json_end_object(TpfwJsonWriter *w);
G_GNUC_INTERNAL void tpfw_json_begin_array(TpfwJsonWriter *w);
G_GNUC_INTERNAL void tpfw_json_end_array(TpfwJsonWriter *w);
/* The name of the next member of the current object. */
G_GNUC_INTERNAL void tpfw_json_member(TpfwJsonWriter *w, const char *name);
G_GNUC_INTERNAL void tpfw_json_string(TpfwJsonWriter *w, const char *s);
/* tpfw_json_string(), or null for NULL. */
G_GNUC_INTERNAL void tpfw_json_string_or_null(TpfwJsonWriter *w, const char *s);
G_GNUC_INTERNAL void tpfw_json_int(TpfwJsonWriter *w, int64_t v);
G_GNUC_INTERNAL void tpfw_json_bool(TpfwJsonWriter *w, bool v);
G_GNUC_INTERNAL void tpfw_json_null(TpfwJsonWriter *w);

/* A member of the current object and its value, in one call. */
G_GNUC_INTERNAL void tpfw_json_member_string(TpfwJsonWriter *w, const char *name, const char *s);
G_GNUC_INTERNAL void tpfw_json_member_string_or_null(TpfwJsonWriter *w, const char *name,
                                                     const char *s);
G_GNUC_INTERNAL void tpfw_json_member_int(TpfwJsonWriter *w, const char *name, int64_t v);
G_GNUC_INTERNAL void tpfw_json_member_bool(TpfwJsonWriter *w, const char *name, bool v);

/* Appends s to out as a JSON string literal, quotes included (the escaping above). */
G_GNUC_INTERNAL void tpfw_json_append_string(GString *out, const char *s);
