/* Byte scanner over an accepted direct.xml: finds where each child of <direct> starts and ends. */
#include <string.h>

#include "direct-private.h"
#include "util.h"

typedef struct Scanner {
        const char *data;
        size_t len;
        size_t pos;
        unsigned line;
} Scanner;

/* Moves past the next occurrence of needle, counting lines. Returns false when it is missing. */
static bool skip_past(Scanner *s, const char *needle)
{
        size_t nlen = strlen(needle);
        const char *p = memmem(s->data + s->pos, s->len - s->pos, needle, nlen);

        if (!p)
                return false;
        for (const char *q = s->data + s->pos; q < p; q++)
                if (*q == '\n')
                        s->line++;
        s->pos = (size_t)(p - s->data) + nlen;
        return true;
}

static bool starts_with(const Scanner *s, const char *prefix)
{
        size_t n = strlen(prefix);

        return s->len - s->pos >= n && memcmp(s->data + s->pos, prefix, n) == 0;
}

/* Moves past a start tag ('<' at pos); attribute values may hold '>' and '/'. */
static bool skip_start_tag(Scanner *s, bool *ret_self_closing)
{
        char quote = 0;

        for (size_t i = s->pos + 1; i < s->len; i++) {
                char c = s->data[i];

                if (c == '\n')
                        s->line++;
                if (quote) {
                        if (c == quote)
                                quote = 0;
                } else if (c == '"' || c == '\'') {
                        quote = c;
                } else if (c == '>') {
                        *ret_self_closing = s->data[i - 1] == '/';
                        s->pos = i + 1;
                        return true;
                }
        }
        return false;
}

static bool is_xml_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int tpfw_direct_scan(const char *data, size_t len, DirectLayout *ret)
{
        Scanner s = {data, len, 0, 1};
        g_autoptr(GArray) spans = g_array_new(FALSE, TRUE, sizeof(DirectSpan));
        DirectLayout layout = {0};
        DirectSpan cur = {0};
        unsigned depth = 0;
        bool root_seen = false, root_done = false;

        if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
                s.pos = 3;
        while (s.pos < s.len) {
                const char *lt = memchr(s.data + s.pos, '<', s.len - s.pos);

                if (!lt)
                        break;
                for (const char *q = s.data + s.pos; q < lt; q++)
                        if (*q == '\n')
                                s.line++;
                s.pos = (size_t)(lt - s.data);
                if (starts_with(&s, "<?")) {
                        if (!skip_past(&s, "?>"))
                                return -EINVAL;
                } else if (starts_with(&s, "<!--")) {
                        if (!skip_past(&s, "-->"))
                                return -EINVAL;
                } else if (starts_with(&s, "<![CDATA[")) {
                        if (depth == 0 || !skip_past(&s, "]]>"))
                                return -EINVAL;
                } else if (starts_with(&s, "<!")) {
                        return -EINVAL; /* DOCTYPE: refused before we get here */
                } else if (starts_with(&s, "</")) {
                        if (depth == 0 || !skip_past(&s, ">"))
                                return -EINVAL;
                        depth--;
                        if (depth == 1) {
                                cur.end = s.pos;
                                g_array_append_val(spans, cur);
                        } else if (depth == 0) {
                                root_done = true;
                        }
                } else {
                        size_t start = s.pos;
                        unsigned line = s.line;
                        bool self_closing = false;

                        if (root_done || !skip_start_tag(&s, &self_closing))
                                return -EINVAL;
                        if (depth == 0) {
                                root_seen = true;
                                layout.root_start = start;
                                layout.root_tag_end = s.pos;
                                layout.root_self_closing = self_closing;
                                if (self_closing)
                                        root_done = true;
                        } else if (depth == 1) {
                                size_t ws = start;

                                while (ws > 0 && is_xml_space(data[ws - 1]))
                                        ws--;
                                cur = (DirectSpan){.ws_start = ws, .start = start, .line = line};
                                if (self_closing) {
                                        cur.end = s.pos;
                                        g_array_append_val(spans, cur);
                                }
                        }
                        if (!self_closing)
                                depth++;
                }
        }
        if (!root_seen || !root_done || depth != 0)
                return -EINVAL;
        layout.n_spans = spans->len;
        layout.spans = (DirectSpan *)(void *)g_array_free(g_steal_pointer(&spans), FALSE);
        *ret = layout;
        return 0;
}

void tpfw_direct_layout_clear(DirectLayout *layout)
{
        g_free(layout->spans);
        *layout = (DirectLayout){0};
}

/* ---- fast path: parse and validate the common subset in one pass, without libxml2 ---- */

/* Longer text or attribute values make libxml2 complain (XML_MAX_TEXT_LENGTH): leave them to it. */
#define FAST_MAX_VALUE (1u << 20)

enum { ATTR_IPV, ATTR_TABLE, ATTR_CHAIN, ATTR_PRIORITY, N_ATTRS };

typedef struct Fast {
        TpfwDirect *d;
        const char *base, *p, *end;
        unsigned line;
        GArray *entries;  /* TpfwEntry */
        GArray *info;     /* DirectEntryInfo */
        GArray *elements; /* DirectElement */
        GArray *refs;     /* const char * pairs */
        GString *value;   /* one decoded attribute value */
        GString *text;    /* one decoded entry text */
        DirectSplitScratch split;
} Fast;

static bool fast_is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n';
}

static size_t fast_skip_space(Fast *f)
{
        const char *start = f->p;

        for (; f->p < f->end && fast_is_space(*f->p); f->p++)
                if (*f->p == '\n')
                        f->line++;
        return (size_t)(f->p - start);
}

static bool fast_has(const Fast *f, const char *s, size_t n)
{
        return (size_t)(f->end - f->p) >= n && memcmp(f->p, s, n) == 0;
}

/* One XML Char (UTF-8 checked, no control characters but TAB and LF, no U+FFFE/U+FFFF). */
static bool fast_char(Fast *f)
{
        unsigned char c = (unsigned char)*f->p;

        if (c >= 0x80) {
                gunichar u = g_utf8_get_char_validated(f->p, f->end - f->p);

                if (u == (gunichar)-1 || u == (gunichar)-2 || u == 0xFFFE || u == 0xFFFF)
                        return false;
                f->p = g_utf8_next_char(f->p);
                return true;
        }
        if (c < 0x20 && c != '\t' && c != '\n')
                return false;
        if (c == '\n')
                f->line++;
        f->p++;
        return true;
}

/* A predefined entity at p ('&'): appends its character to out (when not NULL). */
static bool fast_entity(Fast *f, GString *out)
{
        size_t n;
        char c = tpfw_direct_predefined_entity(f->p, (size_t)(f->end - f->p), &n);

        if (!c)
                return false; /* character references and others: libxml2 decides */
        if (out)
                g_string_append_c(out, c);
        f->p += n;
        return true;
}

static bool fast_comment(Fast *f)
{
        const char *start = f->p;

        f->p += 4; /* <!-- */
        while (f->p < f->end) {
                if (f->p[0] == '-' && fast_has(f, "--", 2)) {
                        if (!fast_has(f, "-->", 3))
                                return false;
                        f->p += 3;
                        return (size_t)(f->p - start) <= FAST_MAX_VALUE;
                }
                if (!fast_char(f))
                        return false;
        }
        return false;
}

/* Whitespace and comments (XML's Misc, without processing instructions). */
static bool fast_misc(Fast *f)
{
        for (;;) {
                fast_skip_space(f);
                if (!fast_has(f, "<!--", 4))
                        return true;
                if (!fast_comment(f))
                        return false;
        }
}

static bool fast_value(Fast *f)
{
        char quote;

        fast_skip_space(f);
        if (f->p >= f->end || *f->p != '=')
                return false;
        f->p++;
        fast_skip_space(f);
        if (f->p >= f->end || (*f->p != '"' && *f->p != '\''))
                return false;
        quote = *f->p++;
        g_string_truncate(f->value, 0);
        while (f->p < f->end && *f->p != quote) {
                const char *c = f->p;

                /* plain printable ASCII: copy the run at once */
                while (f->p < f->end && (unsigned char)*f->p >= 0x20 &&
                       (unsigned char)*f->p < 0x7F && *f->p != quote && *f->p != '<' &&
                       *f->p != '&')
                        f->p++;
                if (f->p > c) {
                        g_string_append_len(f->value, c, f->p - c);
                        continue;
                }
                if (*c == '<' || *c == '\t' || *c == '\n' || f->value->len > FAST_MAX_VALUE)
                        return false; /* '<' is an error; TAB and LF get normalised */
                if (*c == '&') {
                        if (!fast_entity(f, f->value))
                                return false;
                        continue;
                }
                if (!fast_char(f))
                        return false;
                g_string_append_len(f->value, c, f->p - c);
        }
        if (f->p >= f->end)
                return false;
        f->p++;
        return true;
}

/* The attributes of a start tag, up to and including '>' or '/>'. */
static bool fast_attributes(Fast *f, unsigned allowed, const char **values, bool *ret_empty)
{
        static const char *const names[N_ATTRS] = {"ipv", "table", "chain", "priority"};

        for (;;) {
                size_t space = fast_skip_space(f);
                const char *name = f->p;
                size_t n;
                int k;

                if (fast_has(f, ">", 1) || fast_has(f, "/>", 2)) {
                        *ret_empty = *f->p == '/';
                        f->p += *ret_empty ? 2 : 1;
                        return true;
                }
                if (space == 0)
                        return false;
                while (f->p < f->end && *f->p >= 'a' && *f->p <= 'z')
                        f->p++;
                n = (size_t)(f->p - name);
                for (k = 0; k < N_ATTRS; k++)
                        if (strlen(names[k]) == n && memcmp(names[k], name, n) == 0)
                                break;
                if (k == N_ATTRS || !(allowed & (1u << k)) || values[k] || !fast_value(f))
                        return false; /* unknown, unexpected or repeated: libxml2 path */
                values[k] = g_string_chunk_insert_const(f->d->strings, f->value->str);
        }
}

static bool fast_element(Fast *f)
{
        static const struct {
                const char *name;
                size_t len;
                TpfwEntryKind kind;
                unsigned attrs;
        } kinds[] = {
                {"chain", 5, TPFW_ENTRY_CHAIN,
                 1u << ATTR_IPV | 1u << ATTR_TABLE | 1u << ATTR_CHAIN},
                {"rule", 4, TPFW_ENTRY_RULE,
                 1u << ATTR_IPV | 1u << ATTR_TABLE | 1u << ATTR_CHAIN | 1u << ATTR_PRIORITY},
                {"passthrough", 11, TPFW_ENTRY_PASSTHROUGH, 1u << ATTR_IPV},
        };
        const char *values[N_ATTRS] = {0};
        DirectElement el = {.entry = -1};
        TpfwEntry e = {0};
        DirectEntryInfo info = {0};
        const char *text = NULL;
        size_t k, text_len = 0;
        bool empty = false;
        int n;

        el.span.start = (uint32_t)(f->p - f->base);
        el.span.line = f->line;
        el.span.ws_start = el.span.start;
        while (el.span.ws_start > 0 && is_xml_space(f->base[el.span.ws_start - 1]))
                el.span.ws_start--;
        f->p++;
        for (k = 0; k < G_N_ELEMENTS(kinds); k++)
                if (fast_has(f, kinds[k].name, kinds[k].len) &&
                    (size_t)(f->end - f->p) > kinds[k].len &&
                    (fast_is_space(f->p[kinds[k].len]) || f->p[kinds[k].len] == '>' ||
                     f->p[kinds[k].len] == '/'))
                        break;
        if (k == G_N_ELEMENTS(kinds))
                return false;
        f->p += kinds[k].len;
        if (!fast_attributes(f, kinds[k].attrs, values, &empty))
                return false;
        for (int a = 0; a < N_ATTRS; a++)
                if ((kinds[k].attrs & (1u << a)) && !values[a])
                        return false; /* missing attribute: libxml2 path words it */
        if (!empty) {
                text = f->p;
                while (f->p < f->end && *f->p != '<') {
                        unsigned char c = (unsigned char)*f->p;

                        /* plain printable ASCII, the bulk of every file */
                        if (c >= 0x20 && c < 0x7F && c != '&' && c != ']') {
                                f->p++;
                                continue;
                        }
                        if (*f->p == '&') {
                                if (!fast_entity(f, NULL))
                                        return false;
                        } else if (*f->p == ']' && fast_has(f, "]]>", 3)) {
                                return false;
                        } else if (!fast_char(f)) {
                                return false;
                        }
                }
                text_len = (size_t)(f->p - text);
                if (text_len > FAST_MAX_VALUE || !fast_has(f, "</", 2))
                        return false;
                f->p += 2;
                if (!fast_has(f, kinds[k].name, kinds[k].len))
                        return false;
                f->p += kinds[k].len;
                fast_skip_space(f);
                if (!fast_has(f, ">", 1))
                        return false;
                f->p++;
        }
        el.span.end = (uint32_t)(f->p - f->base);

        e.kind = kinds[k].kind;
        e.ipv = (char *)values[ATTR_IPV];
        e.table = (char *)values[ATTR_TABLE];
        e.chain = (char *)values[ATTR_CHAIN];
        e.line = el.span.line;
        if (e.kind == TPFW_ENTRY_RULE && !tpfw_direct_ipv_valid(e.ipv))
                return false;
        if (e.kind == TPFW_ENTRY_CHAIN) {
                if (!tpfw_direct_ipv_valid(e.ipv) || !tpfw_direct_table_valid(e.ipv, e.table))
                        return false;
        } else if (text_len > 0) {
                if (e.kind == TPFW_ENTRY_RULE &&
                    tpfw_direct_parse_priority(values[ATTR_PRIORITY], &e.priority) < 0)
                        return false;
                tpfw_direct_decode_text(text, text_len, f->text);
                n = tpfw_direct_split_scratch(f->text->str, f->text->len, &f->split);
                if (n < 0)
                        return false;
                if (e.kind == TPFW_ENTRY_RULE ? !tpfw_direct_table_valid(e.ipv, e.table)
                                              : !tpfw_direct_ipv_valid(e.ipv))
                        return false;
                info.text_offset = (uint32_t)(text - (f->base + el.span.start));
                info.text_len = (uint32_t)text_len;
        }
        if (e.kind == TPFW_ENTRY_CHAIN || text_len > 0) {
                info.element = f->elements->len;
                tpfw_direct_note_entry(
                        f->d, &e, &info,
                        e.kind == TPFW_ENTRY_CHAIN ? NULL : (char *const *)f->split.ptrs->pdata,
                        f->refs);
                el.entry = (long)f->entries->len;
                g_array_append_val(f->entries, e);
                g_array_append_val(f->info, info);
        }
        g_array_append_val(f->elements, el);
        return true;
}

static bool fast_declaration(Fast *f)
{
        static const char *const accepted[] = {
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                "<?xml version='1.0' encoding='utf-8'?>",
                "<?xml version='1.0' encoding='UTF-8'?>",
                "<?xml version=\"1.0\"?>",
                "<?xml version='1.0'?>",
        };

        if (!fast_has(f, "<?", 2))
                return true;
        for (size_t k = 0; k < G_N_ELEMENTS(accepted); k++)
                if (fast_has(f, accepted[k], strlen(accepted[k]))) {
                        f->p += strlen(accepted[k]);
                        return true;
                }
        return false;
}

static bool fast_document(Fast *f, DirectLayout *layout)
{
        if (!fast_declaration(f) || !fast_misc(f))
                return false;
        if (!fast_has(f, "<direct", 7))
                return false;
        layout->root_start = (size_t)(f->p - f->base);
        f->p += 7;
        fast_skip_space(f);
        if (fast_has(f, "/>", 2)) {
                f->p += 2;
                layout->root_self_closing = true;
        } else if (fast_has(f, ">", 1)) {
                f->p++;
                layout->root_tag_end = (size_t)(f->p - f->base);
                for (;;) {
                        fast_skip_space(f);
                        if (fast_has(f, "<!--", 4)) {
                                if (!fast_comment(f))
                                        return false;
                        } else if (fast_has(f, "</direct", 8)) {
                                f->p += 8;
                                fast_skip_space(f);
                                if (!fast_has(f, ">", 1))
                                        return false;
                                f->p++;
                                break;
                        } else if (fast_has(f, "<", 1)) {
                                if (!fast_element(f))
                                        return false;
                        } else {
                                return false; /* text in <direct>, or the end of the bytes */
                        }
                }
        } else {
                return false;
        }
        if (layout->root_self_closing)
                layout->root_tag_end = (size_t)(f->p - f->base);
        return fast_misc(f) && f->p == f->end;
}

int tpfw_direct_fast_parse(TpfwDirect *d)
{
        g_autoptr(GArray) entries = g_array_new(FALSE, FALSE, sizeof(TpfwEntry));
        g_autoptr(GArray) info = g_array_new(FALSE, FALSE, sizeof(DirectEntryInfo));
        g_autoptr(GArray) elements = g_array_new(FALSE, FALSE, sizeof(DirectElement));
        g_autoptr(GArray) refs = g_array_new(FALSE, FALSE, sizeof(const char *));
        g_autoptr(GString) value = g_string_sized_new(64);
        g_autoptr(GString) text = g_string_sized_new(512);
        g_autoptr(GString) split_buf = g_string_sized_new(512);
        g_autoptr(GPtrArray) split_ptrs = g_ptr_array_sized_new(64);
        DirectLayout layout = {0};
        Fast f = {
                .d = d,
                .base = d->data,
                .p = d->data,
                .end = d->data + d->len,
                .line = 1,
                .entries = entries,
                .info = info,
                .elements = elements,
                .refs = refs,
                .value = value,
                .text = text,
                .split = {split_buf, split_ptrs},
        };

        /* CR needs line-end normalisation, and a BOM or another encoding a decoder: libxml2 */
        if (memchr(d->data, '\r', d->len) || !fast_document(&f, &layout))
                return 0;
        d->n_entries = entries->len;
        d->entries = (TpfwEntry *)(void *)g_array_free(g_steal_pointer(&entries), FALSE);
        d->info = (DirectEntryInfo *)(void *)g_array_free(g_steal_pointer(&info), FALSE);
        d->n_elements = elements->len;
        d->elements = (DirectElement *)(void *)g_array_free(g_steal_pointer(&elements), FALSE);
        d->n_refs = refs->len / 2;
        d->refs = (const char **)(void *)g_array_free(g_steal_pointer(&refs), FALSE);
        d->layout = layout;
        d->layout.n_spans = d->n_elements;
        d->editable = true;
        return 1;
}
