/* SPDX-License-Identifier: MIT */
/* A minimal JSON writer: see json-writer.h for the format and the handling of invalid UTF-8. */
#include "json-writer.h"

#include <inttypes.h>

/*
 * Length of the well-formed UTF-8 sequence at s (lead byte >= 0x80), or 0 when it is ill-formed;
 * then *bad is the length of its maximal ill-formed subsequence (at least 1), which becomes one
 * U+FFFD. Table 3-7 of the Unicode standard: no overlongs, surrogates or code points above
 * U+10FFFF. The terminating NUL is never a continuation byte, so nothing reads past it.
 */
static size_t utf8_sequence(const unsigned char *s, size_t *bad)
{
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;
        size_t n, k;

        if (c >= 0xc2 && c <= 0xdf) {
                n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
                n = 2;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 3;
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
        } else {
                *bad = 1;
                return 0;
        }
        for (k = 1; k <= n; k++) {
                if (s[k] < lo || s[k] > hi) {
                        *bad = k;
                        return 0;
                }
                lo = 0x80;
                hi = 0xbf;
        }
        return n + 1;
}

void tpfw_json_append_string(GString *out, const char *str)
{
        const unsigned char *s = (const unsigned char *)str;

        g_string_append_c(out, '"');
        while (*s) {
                const unsigned char *run = s;
                size_t len, bad;

                /* the common case: a run of printable ASCII and well-formed UTF-8, copied as is */
                for (;;) {
                        if (*s >= 0x80) {
                                len = utf8_sequence(s, &bad);
                                if (!len)
                                        break;
                                s += len;
                        } else if (*s >= 0x20 && *s != '"' && *s != '\\' && *s != 0x7f) {
                                s++;
                        } else {
                                break;
                        }
                }
                g_string_append_len(out, (const char *)run, (gssize)(s - run));
                if (!*s)
                        break;
                switch (*s) {
                case '"':
                        g_string_append(out, "\\\"");
                        break;
                case '\\':
                        g_string_append(out, "\\\\");
                        break;
                case '\b':
                        g_string_append(out, "\\b");
                        break;
                case '\t':
                        g_string_append(out, "\\t");
                        break;
                case '\n':
                        g_string_append(out, "\\n");
                        break;
                case '\f':
                        g_string_append(out, "\\f");
                        break;
                case '\r':
                        g_string_append(out, "\\r");
                        break;
                default:
                        if (*s < 0x80) {
                                g_string_append_printf(out, "\\u%04x", *s);
                        } else {
                                utf8_sequence(s, &bad);
                                g_string_append(out, "\xef\xbf\xbd"); /* U+FFFD */
                                s += bad;
                                continue;
                        }
                }
                s++;
        }
        g_string_append_c(out, '"');
}

static void pad(TpfwJsonWriter *w, unsigned depth)
{
        for (unsigned i = 0; i < depth * w->indent; i++)
                g_string_append_c(w->out, ' ');
}

/* What goes before any value: the separator from the previous element, the line break. */
static void before_value(TpfwJsonWriter *w)
{
        if (w->member) {
                w->member = false;
        } else if (w->depth > 0) {
                if (!w->first)
                        g_string_append_c(w->out, ',');
                if (w->indent) {
                        g_string_append_c(w->out, '\n');
                        pad(w, w->depth);
                }
        }
        w->first = false;
}

void tpfw_json_writer_init(TpfwJsonWriter *w, unsigned indent)
{
        *w = (TpfwJsonWriter){.out = g_string_new(NULL), .indent = indent, .first = true};
}

char *tpfw_json_writer_finish(TpfwJsonWriter *w)
{
        char *text = g_string_free(w->out, FALSE);

        w->out = NULL;
        return text;
}

static void begin(TpfwJsonWriter *w, char open)
{
        before_value(w);
        g_string_append_c(w->out, open);
        w->depth++;
        w->first = true;
}

static void end(TpfwJsonWriter *w, char close)
{
        w->depth--;
        /* json-glib's layout: an empty object is "{", its indentation, "}"; "[]" stays so */
        if (!w->first) {
                if (w->indent)
                        g_string_append_c(w->out, '\n');
                pad(w, w->depth);
        } else if (close == '}') {
                pad(w, w->depth);
        }
        g_string_append_c(w->out, close);
        w->first = false;
}

void tpfw_json_begin_object(TpfwJsonWriter *w)
{
        begin(w, '{');
}

void tpfw_json_end_object(TpfwJsonWriter *w)
{
        end(w, '}');
}

void tpfw_json_begin_array(TpfwJsonWriter *w)
{
        begin(w, '[');
}

void tpfw_json_end_array(TpfwJsonWriter *w)
{
        end(w, ']');
}

void tpfw_json_member(TpfwJsonWriter *w, const char *name)
{
        before_value(w);
        tpfw_json_append_string(w->out, name);
        g_string_append(w->out, w->indent ? " : " : ":");
        w->member = true;
}

void tpfw_json_string(TpfwJsonWriter *w, const char *s)
{
        before_value(w);
        tpfw_json_append_string(w->out, s);
}

void tpfw_json_string_or_null(TpfwJsonWriter *w, const char *s)
{
        if (s)
                tpfw_json_string(w, s);
        else
                tpfw_json_null(w);
}

void tpfw_json_int(TpfwJsonWriter *w, int64_t v)
{
        before_value(w);
        g_string_append_printf(w->out, "%" PRId64, v);
}

void tpfw_json_bool(TpfwJsonWriter *w, bool v)
{
        before_value(w);
        g_string_append(w->out, v ? "true" : "false");
}

void tpfw_json_null(TpfwJsonWriter *w)
{
        before_value(w);
        g_string_append(w->out, "null");
}

void tpfw_json_member_string(TpfwJsonWriter *w, const char *name, const char *s)
{
        tpfw_json_member(w, name);
        tpfw_json_string(w, s);
}

void tpfw_json_member_string_or_null(TpfwJsonWriter *w, const char *name, const char *s)
{
        tpfw_json_member(w, name);
        tpfw_json_string_or_null(w, s);
}

void tpfw_json_member_int(TpfwJsonWriter *w, const char *name, int64_t v)
{
        tpfw_json_member(w, name);
        tpfw_json_int(w, v);
}

void tpfw_json_member_bool(TpfwJsonWriter *w, const char *name, bool v)
{
        tpfw_json_member(w, name);
        tpfw_json_bool(w, v);
}
