/* SPDX-License-Identifier: MIT */
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

const char *tpfw_direct_intern_len(TpfwDirect *d, const char *s, size_t len)
{
        DirectInternCache *c = d->intern_cache;
        uint32_t h = 0;
        const char *r;
        size_t k;

        if (!c) {
                g_autofree char *copy = s[len] ? g_strndup(s, len) : NULL;

                return g_string_chunk_insert_const(d->strings, copy ? copy : s);
        }
        /* a few sampled bytes: a collision only costs a lookup in the chunk */
        if (len > 0) {
                const unsigned char *u = (const unsigned char *)s;

                h = (uint32_t)len;
                h = h * 31u + u[0];
                h = h * 31u + u[len - 1];
                h = h * 31u + u[len / 2];
                h = h * 31u + u[len / 4];
                h = h * 31u + u[len - 1 - len / 4];
        }
        h *= 0x9E3779B1u;
        k = h >> (32 - DIRECT_INTERN_BITS);
        if (c->slot[k].s && c->slot[k].hash == h && c->slot[k].len == len &&
            memcmp(c->slot[k].s, s, len) == 0)
                return c->slot[k].s;
        if (s[len]) {
                g_autofree char *copy = g_strndup(s, len);

                r = g_string_chunk_insert_const(d->strings, copy);
        } else {
                r = g_string_chunk_insert_const(d->strings, s);
        }
        c->slot[k].s = r;
        c->slot[k].len = (uint32_t)len;
        c->slot[k].hash = h;
        return r;
}

/*
 * Byte classes for the quick scans of entry text and attribute values: a run of plain bytes (0)
 * needs no further look; anything else sends the scan to the careful loop, except LF and '&' in
 * text, which only need counting and decoding.
 */
enum { CLASS_PLAIN = 0, CLASS_LF = 1, CLASS_AMP = 2, CLASS_BRACKET = 4, CLASS_SLOW = 8 };

static uint8_t text_class[256];
static uint8_t value_class[256];

static void init_classes(void)
{
        static gsize done;

        if (!g_once_init_enter(&done))
                return;
        for (unsigned c = 0; c < 256; c++) {
                uint8_t k = c >= 0x20 && c < 0x7F ? CLASS_PLAIN : CLASS_SLOW;

                /* ']' may start "]]>"; '<' ends the run before these are looked at; TAB is kept
                 * as it is */
                text_class[c] = c == '\n'   ? CLASS_LF
                                : c == '&'  ? CLASS_AMP
                                : c == ']'  ? CLASS_BRACKET
                                : c == '\t' ? CLASS_PLAIN
                                            : k;
                /* attribute values: TAB and LF get normalised, '&' decoded: the careful loop */
                value_class[c] = c == '&' || c == '<' ? CLASS_SLOW : k;
        }
        g_once_init_leave(&done, 1);
}

/* A growing array appended to inline: one call per element into GArray added up at 100,000. */
typedef struct Vec {
        void *data; /* g_malloc()ed */
        size_t len, cap;
} Vec;

static void vec_init(Vec *v, size_t cap, size_t size)
{
        v->data = g_malloc_n(cap, size);
        v->len = 0;
        v->cap = cap;
}

static void vec_grow(Vec *v, size_t size)
{
        v->cap *= 2;
        v->data = g_realloc_n(v->data, v->cap, size);
}

#define VEC_PUSH(v, type, value)                                                                   \
        do {                                                                                       \
                if ((v)->len == (v)->cap)                                                          \
                        vec_grow((v), sizeof(type));                                               \
                ((type *)(v)->data)[(v)->len++] = (value);                                         \
        } while (0)

typedef struct Fast {
        TpfwDirect *d;
        const char *base, *p, *end;
        unsigned line;
        Vec entries;    /* TpfwEntry */
        Vec info;       /* DirectEntryInfo */
        Vec elements;   /* DirectElement */
        GArray *refs;   /* const char * pairs */
        GString *value; /* one decoded attribute value */
        GString *text;  /* one decoded entry text */
        DirectSplitScratch split;
        /* the previous element's attribute values: the next one mostly repeats them */
        const char *prev[N_ATTRS];
        size_t prev_len[N_ATTRS];
        /* the last (ipv, table) and priority found valid */
        const char *valid_ipv, *valid_table, *valid_priority;
        int priority;
} Fast;

/* The union of the text classes of the bytes in [c, end). */
static uint8_t text_classes(const char *c, const char *end)
{
        uint8_t cls = 0;

        /* the bulk is printable ASCII: look at the bytes one by one only around the rest */
        for (; SWAR_LITTLE_ENDIAN && end - c >= 8; c += 8) {
                uint64_t x = swar_load(c);

                if ((x & SWAR_HIGHS) | swar_below(x, 0x20) | swar_eq(x, 0x7F) | swar_eq(x, '&') |
                    swar_eq(x, ']'))
                        for (int i = 0; i < 8; i++)
                                cls |= text_class[(unsigned char)c[i]];
        }
        for (; c < end; c++)
                cls |= text_class[(unsigned char)*c];
        return cls;
}

static bool fast_is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n';
}

static inline size_t fast_skip_space(Fast *f)
{
        const char *start = f->p;

        /* called between all tokens, and mostly finds none or one space */
        if (f->p < f->end && !fast_is_space(*f->p))
                return 0;
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

/*
 * An attribute value: sets *ret_raw and *ret_len to the bytes between the quotes when they are
 * plain (the value as is), or decodes it into f->value and sets *ret_raw to NULL.
 */
static bool fast_value(Fast *f, const char **ret_raw, size_t *ret_len)
{
        const char *q;
        uint8_t cls = 0;
        char quote;

        fast_skip_space(f);
        if (f->p >= f->end || *f->p != '=')
                return false;
        f->p++;
        fast_skip_space(f);
        if (f->p >= f->end || (*f->p != '"' && *f->p != '\''))
                return false;
        quote = *f->p++;
        q = memchr(f->p, quote, (size_t)(f->end - f->p));
        if (!q)
                return false;
        for (const char *c = f->p; c < q; c++)
                cls |= value_class[(unsigned char)*c];
        if (cls == CLASS_PLAIN) {
                *ret_raw = f->p;
                *ret_len = (size_t)(q - f->p);
                f->p = q + 1;
                return true;
        }
        *ret_raw = NULL;
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

/* Interns attribute k's value, mostly the same as the previous element's. */
static const char *fast_intern_value(Fast *f, int k, const char *raw, size_t len)
{
        const char *v;

        if (!raw) {
                raw = f->value->str;
                len = f->value->len;
        }
        if (f->prev[k] && f->prev_len[k] == len && memcmp(f->prev[k], raw, len) == 0)
                return f->prev[k];
        v = tpfw_direct_intern_len(f->d, raw, len);
        f->prev[k] = v;
        f->prev_len[k] = len;
        return v;
}

/* The attributes of a start tag, up to and including '>' or '/>'. */
static bool fast_attributes(Fast *f, unsigned allowed, const char **values, bool *ret_empty)
{
        static const char *const names[N_ATTRS] = {"ipv", "table", "chain", "priority"};
        static const size_t name_len[N_ATTRS] = {3, 5, 5, 8};

        for (;;) {
                size_t space = fast_skip_space(f);
                const char *raw = NULL;
                size_t n, raw_len = 0;
                int k;

                if (fast_has(f, ">", 1) || fast_has(f, "/>", 2)) {
                        *ret_empty = *f->p == '/';
                        f->p += *ret_empty ? 2 : 1;
                        return true;
                }
                if (space == 0)
                        return false;
                /* the name is the run of [a-z]: pick the candidate by its first letter */
                switch (f->p < f->end ? *f->p : '\0') {
                case 'i':
                        k = ATTR_IPV;
                        break;
                case 't':
                        k = ATTR_TABLE;
                        break;
                case 'c':
                        k = ATTR_CHAIN;
                        break;
                case 'p':
                        k = ATTR_PRIORITY;
                        break;
                default:
                        return false; /* unknown: libxml2 path */
                }
                n = name_len[k];
                if (!fast_has(f, names[k], n) ||
                    ((size_t)(f->end - f->p) > n && f->p[n] >= 'a' && f->p[n] <= 'z'))
                        return false;
                f->p += n;
                if (!(allowed & (1u << k)) || values[k] || !fast_value(f, &raw, &raw_len))
                        return false; /* unexpected or repeated: libxml2 path */
                values[k] = fast_intern_value(f, k, raw, raw_len);
        }
}

/* The usual priority, -?[0-9]{1,9}, which tpfw_direct_parse_priority() reads the same way. */
static bool fast_priority(const char *s, int *ret)
{
        bool negative = *s == '-';
        int value = 0;
        size_t n = 0;

        for (s += negative; *s >= '0' && *s <= '9' && n < 9; s++, n++)
                value = value * 10 + (*s - '0');
        if (n == 0 || *s)
                return false;
        *ret = negative ? -value : value;
        return true;
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
        bool empty = false, plain_text = false;
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
                const char *lt;
                uint8_t cls = 0;

                text = f->p;
                lt = memchr(f->p, '<', (size_t)(f->end - f->p));
                if (!lt)
                        return false;
                cls = text_classes(text, lt);
                if (cls & CLASS_SLOW) {
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
                        plain_text = false;
                } else {
                        /* printable ASCII, TAB, LF and entities: check the entities and "]]>",
                         * count the LFs */
                        if ((cls & CLASS_BRACKET) && memmem(text, (size_t)(lt - text), "]]>", 3))
                                return false;
                        for (const char *c = text; (cls & CLASS_AMP) && c < lt; c++) {
                                size_t n_ent;

                                c = memchr(c, '&', (size_t)(lt - c));
                                if (!c)
                                        break;
                                if (!tpfw_direct_predefined_entity(c, (size_t)(lt - c), &n_ent))
                                        return false; /* character references and others */
                                c += n_ent - 1;
                        }
                        for (const char *c = text; (cls & CLASS_LF) && c < lt; c++) {
                                c = memchr(c, '\n', (size_t)(lt - c));
                                if (!c)
                                        break;
                                f->line++;
                        }
                        f->p = lt;
                        plain_text = !(cls & (CLASS_LF | CLASS_AMP));
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
        /* The checks below all send the file to the libxml2 path, which words the error: their
         * order does not matter, and what passed for the previous element passes again. */
        if (e.kind == TPFW_ENTRY_CHAIN || (e.kind == TPFW_ENTRY_RULE && text_len > 0)) {
                if (e.ipv != f->valid_ipv || e.table != f->valid_table) {
                        if (!tpfw_direct_ipv_valid(e.ipv) ||
                            !tpfw_direct_table_valid(e.ipv, e.table))
                                return false;
                        f->valid_ipv = e.ipv;
                        f->valid_table = e.table;
                }
        } else if (e.kind == TPFW_ENTRY_RULE || text_len > 0) {
                /* an empty rule's table and an empty passthrough's ipv are not looked at */
                if (e.ipv != f->valid_ipv && !tpfw_direct_ipv_valid(e.ipv))
                        return false;
        }
        if (e.kind != TPFW_ENTRY_CHAIN && text_len > 0) {
                const char *words = text;
                size_t words_len = text_len;

                if (e.kind == TPFW_ENTRY_RULE) {
                        if (values[ATTR_PRIORITY] != f->valid_priority) {
                                if (!fast_priority(values[ATTR_PRIORITY], &f->priority) &&
                                    tpfw_direct_parse_priority(values[ATTR_PRIORITY],
                                                               &f->priority) < 0)
                                        return false;
                                f->valid_priority = values[ATTR_PRIORITY];
                        }
                        e.priority = f->priority;
                }
                /* firewalld reads entities and LF as space: without them the text is its bytes */
                if (!plain_text) {
                        tpfw_direct_decode_text(text, text_len, f->text);
                        words = f->text->str;
                        words_len = f->text->len;
                }
                n = tpfw_direct_split_scratch(words, words_len, &f->split);
                if (n < 0)
                        return false;
                info.text_offset = (uint32_t)(text - (f->base + el.span.start));
                info.text_len = (uint32_t)text_len;
        }
        if (e.kind == TPFW_ENTRY_CHAIN || text_len > 0) {
                info.element = (uint32_t)f->elements.len;
                tpfw_direct_note_entry(
                        f->d, &e, &info,
                        e.kind == TPFW_ENTRY_CHAIN ? NULL : (char *const *)f->split.ptrs->pdata,
                        f->refs);
                el.entry = (long)f->entries.len;
                VEC_PUSH(&f->entries, TpfwEntry, e);
                VEC_PUSH(&f->info, DirectEntryInfo, info);
        }
        VEC_PUSH(&f->elements, DirectElement, el);
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
        /* about one element per 100 bytes in the usual files: few reallocations */
        size_t estimate = d->len / 100 + 16;
        g_autoptr(GArray) refs =
                g_array_sized_new(FALSE, FALSE, sizeof(const char *), (guint)estimate);
        g_autoptr(GString) value = g_string_sized_new(64);
        g_autoptr(GString) text = g_string_sized_new(512);
        g_autoptr(GString) split_buf = g_string_sized_new(512);
        g_autoptr(GPtrArray) split_ptrs = g_ptr_array_sized_new(64);
        g_autofree DirectInternCache *cache = g_new0(DirectInternCache, 1);
        DirectLayout layout = {0};
        int r = 1;
        Fast f = {
                .d = d,
                .base = d->data,
                .p = d->data,
                .end = d->data + d->len,
                .line = 1,
                .refs = refs,
                .value = value,
                .text = text,
                .split = {split_buf, split_ptrs},
        };

        /* A CR needs line-end normalisation, a BOM or another encoding a decoder: the scans below
         * refuse them wherever they are (no pass over the whole file first), and libxml2 parses. */
        init_classes();
        vec_init(&f.entries, estimate, sizeof(TpfwEntry));
        vec_init(&f.info, estimate, sizeof(DirectEntryInfo));
        vec_init(&f.elements, estimate, sizeof(DirectElement));
        d->intern_cache = cache;
        if (!fast_document(&f, &layout))
                r = 0;
        d->intern_cache = NULL;
        if (r == 0) {
                g_free(f.entries.data);
                g_free(f.info.data);
                g_free(f.elements.data);
                return 0;
        }
        d->n_entries = f.entries.len;
        d->entries = f.entries.data;
        d->info = f.info.data;
        d->n_elements = f.elements.len;
        d->elements = f.elements.data;
        d->n_refs = refs->len / 2;
        d->refs = (const char **)(void *)g_array_free(g_steal_pointer(&refs), FALSE);
        d->layout = layout;
        d->layout.n_spans = d->n_elements;
        d->editable = true;
        return 1;
}
