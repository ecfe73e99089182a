/* SPDX-License-Identifier: MIT */
/* direct.xml: parse and validate as firewalld 1.3.3 does, entries, owners, accessors. */
#include <string.h>

#include <tproxy-firewalld/args.h>

#include "direct-private.h"
#include "util.h"
#include "xml-util.h"

/* ---- libxml2 error capture ---- */

typedef struct ParseCapture {
        char *message; /* first error, without trailing newline */
        unsigned line;
        bool doctype;
        unsigned doctype_line;
} ParseCapture;

static void capture_error(void *userdata, xmlErrorPtr error)
{
        xmlParserCtxtPtr ctxt = userdata;
        ParseCapture *cap = ctxt ? ctxt->_private : NULL;

        if (!cap || !error || error->level < XML_ERR_ERROR || cap->message)
                return;
        /* firewalld parses without namespaces: "x:owner" is a plain (unexpected) name there. */
        if (error->domain == XML_FROM_NAMESPACE)
                return;
        cap->message = g_strstrip(g_strdup(error->message ? error->message : "parse error"));
        /* one line: libxml2 appends details such as "Bytes: 0xE9 ..." on the next */
        cap->message[strcspn(cap->message, "\n")] = '\0';
        cap->line = error->line > 0 ? (unsigned)error->line : 0;
}

/* firewalld never writes a DOCTYPE; refusing it keeps entity tricks out of the picture. */
static void refuse_doctype(void *userdata, const xmlChar *name, const xmlChar *external_id,
                           const xmlChar *system_id)
{
        xmlParserCtxtPtr ctxt = userdata;
        ParseCapture *cap = ctxt->_private;

        cap->doctype = true;
        cap->doctype_line = ctxt->input ? (unsigned)ctxt->input->line : 0;
        xmlStopParser(ctxt);
}

/* ---- small helpers ---- */

static const char *const known_elements[] = {"direct", "chain", "rule", "passthrough", NULL};

static char *qualified_name(const xmlNs *ns, const xmlChar *name)
{
        if (ns && ns->prefix)
                return g_strdup_printf("%s:%s", (const char *)ns->prefix, (const char *)name);
        return g_strdup((const char *)name);
}

/* s may be NULL (attr_value() of a missing attribute): gcc -fanalyzer cannot see that
 * check_attributes() rules it out. */
static bool str_in(const char *s, const char *const *list)
{
        for (size_t i = 0; s && list[i]; i++)
                if (strcmp(s, list[i]) == 0)
                        return true;
        return false;
}

/* Element and attribute names as firewalld sees them, without allocating for the common case. */
static bool name_is(const xmlNs *ns, const xmlChar *name, const char *want)
{
        return !(ns && ns->prefix) && strcmp((const char *)name, want) == 0;
}

static char *attr_value(xmlNodePtr node, const char *name)
{
        xmlAttrPtr a = xmlHasNsProp(node, (const xmlChar *)name, NULL);
        g_autofree char *v = NULL;
        xmlChar *x;

        if (!a || a->type != XML_ATTRIBUTE_NODE)
                return NULL;
        if (!a->children)
                return g_strdup("");
        if (a->children->type == XML_TEXT_NODE && !a->children->next)
                return g_strdup((const char *)a->children->content);
        x = xmlNodeListGetString(node->doc, a->children, 1);
        v = g_strdup(x ? (const char *)x : "");
        tpfw_xml_free(x);
        return g_steal_pointer(&v);
}

/* Python's str.isspace() for the characters int() strips. */
static bool py_isspace(gunichar c)
{
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
               c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
               c == 0x202F || c == 0x205F || c == 0x3000;
}

int tpfw_direct_parse_priority(const char *text, int *ret)
{
        const char *p = text, *end;
        gint64 value = 0;
        bool negative = false, overflow = false, need_digit = true;

        if (!text || !g_utf8_validate(text, -1, NULL))
                return -EINVAL;
        end = text + strlen(text);
        while (p < end && py_isspace(g_utf8_get_char(p)))
                p = g_utf8_next_char(p);
        while (end > p) {
                const char *prev = g_utf8_find_prev_char(p, end);
                if (!prev || !py_isspace(g_utf8_get_char(prev)))
                        break;
                end = prev;
        }
        if (p < end && (*p == '+' || *p == '-')) {
                negative = *p == '-';
                p++;
        }
        if (p >= end)
                return -EINVAL;
        while (p < end) {
                gunichar c = g_utf8_get_char(p);
                int digit = g_unichar_digit_value(c);

                if (c == '_') {
                        /* single underscores between digits only */
                        if (need_digit)
                                return -EINVAL;
                        need_digit = true;
                } else if (digit >= 0) {
                        need_digit = false;
                        if (!overflow) {
                                value = value * 10 + digit;
                                if (value > (gint64)G_MAXINT32 + 1)
                                        overflow = true;
                        }
                } else {
                        return -EINVAL;
                }
                p = g_utf8_next_char(p);
        }
        if (need_digit)
                return -EINVAL;
        if (negative)
                value = -value;
        if (overflow || value > G_MAXINT32 || value < G_MININT32)
                return -ERANGE;
        *ret = (int)value;
        return 0;
}

bool tpfw_direct_table_valid(const char *ipv, const char *table)
{
        static const char *const ip_tables[] = {"filter", "nat", "mangle", "raw", "security", NULL};
        static const char *const eb_tables[] = {"filter", "nat", "broute", NULL};

        return ipv && str_in(table, strcmp(ipv, "eb") == 0 ? eb_tables : ip_tables);
}

bool tpfw_direct_ipv_valid(const char *ipv)
{
        return ipv &&
               (strcmp(ipv, "ipv4") == 0 || strcmp(ipv, "ipv6") == 0 || strcmp(ipv, "eb") == 0);
}

#define table_valid tpfw_direct_table_valid
#define ipv_valid tpfw_direct_ipv_valid

/* ---- argv without allocations, and what the merge needs from it ---- */

/* Bytes the splitter treats specially: separators, and what starts quoting or ends the text. */
enum { SPLIT_PLAIN = 0, SPLIT_SEPARATOR, SPLIT_SPECIAL };

static const uint8_t split_class[256] = {
        ['\0'] = SPLIT_SPECIAL,   ['\\'] = SPLIT_SPECIAL,   ['\''] = SPLIT_SPECIAL,
        ['"'] = SPLIT_SPECIAL,    [' '] = SPLIT_SEPARATOR,  ['\t'] = SPLIT_SEPARATOR,
        ['\r'] = SPLIT_SEPARATOR, ['\n'] = SPLIT_SEPARATOR,
};

/*
 * The state machine of tpfw_args_split() (args.c), writing into reusable scratch memory. Runs of
 * plain bytes are copied in tight loops: this runs once per entry of a large file.
 */
int tpfw_direct_split_scratch(const char *text, size_t len, DirectSplitScratch *s)
{
        const unsigned char *p = (const unsigned char *)text, *end = p + len;
        /* words are separated, so there are at most (len + 1) / 2 of them */
        size_t max_ptrs = (len + 1) / 2 + 1, n = 0;
        char **ptrs;
        char *o;

        /* the words and their NULs never take more than twice the text */
        g_string_set_size(s->buf, 2 * len + 2);
        o = s->buf->str;
        if (s->ptrs->len < max_ptrs)
                g_ptr_array_set_size(s->ptrs, (guint)max_ptrs);
        ptrs = (char **)s->ptrs->pdata;
        for (;;) {
                char *word;

                while (p < end && split_class[*p] == SPLIT_SEPARATOR)
                        p++;
                if (p >= end || *p == '\0')
                        break;
                word = o;
                for (;;) {
                        if (SWAR_LITTLE_ENDIAN && end - p >= 8) {
                                /* copy eight bytes, keep those before the first special one */
                                uint64_t x = swar_load(p);
                                uint64_t m = swar_below(x, '!') | swar_eq(x, '\\') |
                                             swar_eq(x, '\'') | swar_eq(x, '"');

                                memcpy(o, &x, sizeof(x));
                                if (!m) {
                                        o += 8;
                                        p += 8;
                                        continue;
                                }
                                o += swar_first(m);
                                p += swar_first(m);
                        } else {
                                while (p < end && split_class[*p] == SPLIT_PLAIN)
                                        *o++ = (char)*p++;
                                if (p >= end)
                                        break;
                        }
                        if (split_class[*p] == SPLIT_PLAIN) {
                                *o++ = (char)*p++; /* a control character the mask caught */
                                continue;
                        }
                        if (split_class[*p] == SPLIT_SEPARATOR || *p == '\0')
                                break;
                        if (*p == '\\') {
                                if (p + 1 >= end || p[1] == '\0')
                                        return -EINVAL;
                                *o++ = (char)p[1];
                                p += 2;
                        } else if (*p == '\'') {
                                const unsigned char *q;

                                p++;
                                q = memchr(p, '\'', (size_t)(end - p));
                                if (!q || memchr(p, '\0', (size_t)(q - p)))
                                        return -EINVAL;
                                memcpy(o, p, (size_t)(q - p));
                                o += q - p;
                                p = q + 1;
                        } else { /* '"' */
                                for (p++; p < end && *p != '"'; p++) {
                                        if (*p == '\0')
                                                return -EINVAL;
                                        if (*p == '\\') {
                                                char next = p + 1 < end ? (char)p[1] : '\0';

                                                if (next == '\0')
                                                        return -EINVAL;
                                                if (next != '"' && next != '\\')
                                                        *o++ = '\\';
                                                *o++ = next;
                                                p++;
                                        } else {
                                                *o++ = (char)*p;
                                        }
                                }
                                if (p >= end)
                                        return -EINVAL;
                                p++;
                        }
                }
                *o++ = '\0';
                ptrs[n++] = word;
        }
        ptrs[n] = NULL;
        return (int)n;
}

static const char *intern(TpfwDirect *d, const char *s)
{
        return s ? tpfw_direct_intern_len(d, s, strlen(s)) : NULL;
}

typedef struct RefNote {
        TpfwDirect *d;
        GArray *refs;
        const char *table; /* the entry's own table, interned already */
        bool skip_first;   /* a rule's own chain comes first; it is implied by the entry */
} RefNote;

static void note_ref(const char *table, const char *chain, void *userdata)
{
        RefNote *n = userdata;
        const char *pair[2];

        if (n->skip_first) {
                n->skip_first = false;
                return;
        }
        pair[0] = table == n->table ? table : intern(n->d, table);
        pair[1] = intern(n->d, chain);
        g_array_append_vals(n->refs, pair, 2);
}

/*
 * Only a rule with a --comment option whose value starts like a tag can carry an owner tag
 * (tpfw_argv_owner() finds none otherwise): most rules are foreign, so this spares them the
 * allocations of the full check.
 */
static bool has_comment_option(char *const *argv)
{
        static const char prefix[] = TPFW_OWNER_TAG_PREFIX;

        for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++)
                if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2] == 'c' &&
                    strcmp(argv[i], "--comment") == 0 &&
                    strncmp(argv[i + 1], prefix, sizeof(prefix) - 1) == 0)
                        return true;
        return false;
}

void tpfw_direct_note_entry(TpfwDirect *d, const TpfwEntry *entry, DirectEntryInfo *info,
                            char *const *argv, GArray *refs)
{
        TpfwEntry e = *entry;
        RefNote n = {d, refs, e.table, e.kind == TPFW_ENTRY_RULE};
        g_autofree char *tag = NULL;

        info->refs = (uint32_t)(refs->len / 2);
        info->n_refs = 0;
        info->tag = NULL;
        if (e.kind == TPFW_ENTRY_CHAIN)
                return;
        e.argv = (char **)argv;
        if (e.kind == TPFW_ENTRY_RULE && has_comment_option(argv)) {
                tag = tpfw_argv_owner((const char *const *)argv);
                info->tag = intern(d, tag);
        }
        tpfw_direct_argv_refs(&e, note_ref, &n);
        info->n_refs = (uint32_t)(refs->len / 2 - info->refs);
}

char tpfw_direct_predefined_entity(const char *p, size_t avail, size_t *ret_len)
{
        static const struct {
                const char *name;
                size_t len;
                char c;
        } entities[] = {{"&amp;", 5, '&'},
                        {"&lt;", 4, '<'},
                        {"&gt;", 4, '>'},
                        {"&quot;", 6, '"'},
                        {"&apos;", 6, '\''}};

        for (size_t k = 0; k < G_N_ELEMENTS(entities); k++)
                if (avail >= entities[k].len && memcmp(p, entities[k].name, entities[k].len) == 0) {
                        *ret_len = entities[k].len;
                        return entities[k].c;
                }
        return '\0';
}

/* The text of an entry as firewalld reads it: predefined entities decoded, LF read as space. */
static void decode_text(const char *raw, size_t len, GString *out)
{
        char *o;

        /* decoding only shortens: write straight into the buffer */
        g_string_set_size(out, len);
        o = out->str;
        for (size_t i = 0; i < len; i++) {
                char c = raw[i];

                if (c == '&') {
                        size_t n;
                        char e = tpfw_direct_predefined_entity(raw + i, len - i, &n);

                        if (e) {
                                c = e;
                                i += n - 1;
                        }
                } else if (c == '\n') {
                        c = ' ';
                }
                *o++ = c;
        }
        g_string_truncate(out, (gsize)(o - out->str));
}

void tpfw_direct_decode_text(const char *raw, size_t len, GString *out)
{
        decode_text(raw, len, out);
}

void tpfw_direct_argv_scratch_clear(DirectArgvScratch *s)
{
        if (!s->text)
                return;
        g_string_free(s->text, TRUE);
        g_string_free(s->split.buf, TRUE);
        g_ptr_array_unref(s->split.ptrs);
        *s = (DirectArgvScratch){0};
}

const char *const *tpfw_direct_entry_argv_scratch(const TpfwDirect *d, size_t i,
                                                  DirectArgvScratch *s)
{
        static const char *const none[] = {NULL};
        const TpfwEntry *e = &d->entries[i];
        const DirectEntryInfo *info = &d->info[i];
        const char *raw;
        size_t len;

        if (e->argv)
                return (const char *const *)e->argv;
        if (!s->text) {
                s->text = g_string_new(NULL);
                s->split.buf = g_string_new(NULL);
                s->split.ptrs = g_ptr_array_new();
        }
        raw = d->data + d->elements[info->element].span.start + info->text_offset;
        len = info->text_len;
        /* decoding changes only entities and line feeds: most texts have neither */
        if (memchr(raw, '&', len) || memchr(raw, '\n', len)) {
                decode_text(raw, len, s->text);
                raw = s->text->str;
                len = s->text->len;
        }
        /* the fast parser accepted this text, so it splits */
        if (tpfw_direct_split_scratch(raw, len, &s->split) < 0)
                return none;
        return (const char *const *)s->split.ptrs->pdata;
}

char **tpfw_direct_entry_argv_dup(const TpfwDirect *d, size_t i)
{
        DirectArgvScratch s = {0};
        char **argv;

        if (d->entries[i].kind == TPFW_ENTRY_CHAIN)
                return g_strdupv(d->entries[i].argv);
        argv = g_strdupv((char **)tpfw_direct_entry_argv_scratch(d, i, &s));
        tpfw_direct_argv_scratch_clear(&s);
        return argv;
}

char *const *tpfw_direct_entry_argv(const TpfwDirect *d, size_t i)
{
        TpfwEntry *e = &((TpfwDirect *)d)->entries[i];

        /* materialised once, kept: the public accessor hands out a pointer into the entry */
        if (!e->argv && e->kind != TPFW_ENTRY_CHAIN)
                e->argv = tpfw_direct_entry_argv_dup(d, i);
        return e->argv;
}

/* An entry the validator is still building: it owns its strings until they are interned. */
static void entry_clear(TpfwEntry *e)
{
        g_free(e->ipv);
        g_free(e->table);
        g_free(e->chain);
        tpfw_strv_free(e->argv);
        *e = (TpfwEntry){0};
}

/* ---- validation of the tree ---- */

typedef struct Validator {
        const char *name;
        TpfwDiag *diag;
        xmlNodePtr *nodes; /* element children of the root */
        DirectSpan *spans; /* same length as nodes, or NULL */
        GArray *entries;   /* TpfwEntry */
        GArray *elements;  /* DirectElement */
        GString *text;     /* scratch buffer for the text of one entry */
} Validator;

static unsigned node_line(const Validator *v, xmlNodePtr node, size_t index)
{
        if (v->spans && index != (size_t)-1)
                return v->spans[index].line;
        return (unsigned)xmlGetLineNo(node);
}

/* firewalld's parser_check_element_attrs(): required attributes first, then unexpected ones. */
static int check_attributes(Validator *v, xmlNodePtr node, const char *ename,
                            const char *const *required, unsigned line)
{
        for (size_t i = 0; required && required[i]; i++)
                if (!xmlHasNsProp(node, (const xmlChar *)required[i], NULL))
                        return tpfw_diag_set(v->diag, EINVAL, v->name, line,
                                             "Missing attribute %s for %s", required[i], ename);
        for (xmlNsPtr ns = node->nsDef; ns; ns = ns->next) {
                g_autofree char *a =
                        ns->prefix ? g_strdup_printf("xmlns:%s", ns->prefix) : g_strdup("xmlns");
                return tpfw_diag_set(v->diag, EINVAL, v->name, line, "%s: Unexpected attribute %s",
                                     ename, a);
        }
        for (xmlAttrPtr a = node->properties; a; a = a->next) {
                g_autofree char *an = NULL;
                bool known = false;

                for (size_t i = 0; required && required[i] && !known; i++)
                        known = name_is(a->ns, a->name, required[i]);
                if (known)
                        continue;
                an = qualified_name(a->ns, a->name);
                return tpfw_diag_set(v->diag, EINVAL, v->name, line, "%s: Unexpected attribute %s",
                                     ename, an);
        }
        return 0;
}

/* Entries hold text only; firewalld would silently drop the text before a nested element. */
static int collect_text(Validator *v, xmlNodePtr node, const char *ename, GString *text)
{
        for (xmlNodePtr c = node->children; c; c = c->next) {
                if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
                        g_string_append(text, c->content ? (const char *)c->content : "");
                } else if (c->type == XML_ELEMENT_NODE) {
                        g_autofree char *cn = qualified_name(c->ns, c->name);
                        unsigned line = (unsigned)xmlGetLineNo(c);

                        if (!str_in(cn, known_elements))
                                return tpfw_diag_set(v->diag, EINVAL, v->name, line,
                                                     "Unexpected element %s", cn);
                        if (strcmp(cn, "direct") == 0)
                                return tpfw_diag_set(v->diag, EINVAL, v->name, line,
                                                     "More than one direct tag.");
                        return tpfw_diag_set(v->diag, EINVAL, v->name, line,
                                             "Unexpected element %s inside %s (elements cannot "
                                             "be nested)",
                                             cn, ename);
                } else if (c->type == XML_ENTITY_REF_NODE) {
                        return tpfw_diag_set(v->diag, EINVAL, v->name, (unsigned)xmlGetLineNo(c),
                                             "entity references are not supported");
                }
        }
        for (size_t i = 0; i < text->len; i++)
                if (text->str[i] == '\n')
                        text->str[i] = ' ';
        return 0;
}

static int split_text(Validator *v, const char *text, unsigned line, char ***ret)
{
        TpfwDiag d = TPFW_DIAG_INIT;
        int r = tpfw_args_split(text, ret, &d);

        if (r < 0) {
                r = tpfw_diag_set(v->diag, r == -ENOMEM ? ENOMEM : EINVAL, v->name, line, "%s",
                                  d.message ? d.message : "cannot split arguments");
                tpfw_diag_clear(&d);
        }
        return r;
}

static int validate_element(Validator *v, xmlNodePtr node, size_t index)
{
        static const char *const chain_attrs[] = {"ipv", "table", "chain", NULL};
        static const char *const rule_attrs[] = {"ipv", "table", "chain", "priority", NULL};
        static const char *const passthrough_attrs[] = {"ipv", NULL};
        g_autofree char *owned_name =
                node->ns && node->ns->prefix ? qualified_name(node->ns, node->name) : NULL;
        const char *ename = owned_name ? owned_name : (const char *)node->name;
        unsigned line = node_line(v, node, index);
        GString *text = g_string_truncate(v->text, 0);
        TpfwEntry e = {.line = line};
        DirectElement el = {.entry = -1};
        int r;

        if (v->spans)
                el.span = v->spans[index];
        if (!str_in(ename, known_elements))
                return tpfw_diag_set(v->diag, EINVAL, v->name, line, "Unexpected element %s",
                                     ename);
        if (strcmp(ename, "direct") == 0) {
                r = check_attributes(v, node, ename, NULL, line);
                if (r < 0)
                        return r;
                return tpfw_diag_set(v->diag, EINVAL, v->name, line, "More than one direct tag.");
        }

        if (strcmp(ename, "chain") == 0) {
                r = check_attributes(v, node, ename, chain_attrs, line);
                if (r < 0)
                        return r;
                e.kind = TPFW_ENTRY_CHAIN;
                e.ipv = attr_value(node, "ipv");
                e.table = attr_value(node, "table");
                e.chain = attr_value(node, "chain");
                if (!ipv_valid(e.ipv))
                        r = tpfw_diag_set(v->diag, EINVAL, v->name, line, "invalid ipv '%s'",
                                          e.ipv);
                else if (!table_valid(e.ipv, e.table))
                        r = tpfw_diag_set(v->diag, EINVAL, v->name, line,
                                          "invalid table '%s' for %s", e.table, e.ipv);
                else
                        r = collect_text(v, node, ename, text);
        } else if (strcmp(ename, "rule") == 0) {
                g_autofree char *prio = NULL;
                int pr;

                r = check_attributes(v, node, ename, rule_attrs, line);
                if (r < 0)
                        return r;
                e.kind = TPFW_ENTRY_RULE;
                e.ipv = attr_value(node, "ipv");
                e.table = attr_value(node, "table");
                e.chain = attr_value(node, "chain");
                prio = attr_value(node, "priority");
                if (!ipv_valid(e.ipv)) {
                        r = tpfw_diag_set(v->diag, EINVAL, v->name, line, "invalid ipv '%s'",
                                          e.ipv);
                        goto out;
                }
                pr = tpfw_direct_parse_priority(prio, &e.priority);
                r = collect_text(v, node, ename, text);
                if (r < 0 || text->len == 0)
                        goto out; /* firewalld ignores a rule without text, priority unchecked */
                if (pr == -ERANGE)
                        r = tpfw_diag_set(v->diag, EINVAL, v->name, line,
                                          "priority '%s' is outside the 32-bit range firewalld's "
                                          "D-Bus interface carries (not supported)",
                                          prio);
                else if (pr < 0)
                        r = tpfw_diag_set(v->diag, EINVAL, v->name, line, "invalid priority '%s'",
                                          prio);
                else if ((r = split_text(v, text->str, line, &e.argv)) >= 0 &&
                         !table_valid(e.ipv, e.table))
                        r = tpfw_diag_set(v->diag, EINVAL, v->name, line,
                                          "invalid table '%s' for %s", e.table, e.ipv);
        } else {
                r = check_attributes(v, node, ename, passthrough_attrs, line);
                if (r < 0)
                        return r;
                e.kind = TPFW_ENTRY_PASSTHROUGH;
                e.ipv = attr_value(node, "ipv");
                r = collect_text(v, node, ename, text);
                if (r < 0 || text->len == 0)
                        goto out; /* ignored by firewalld, ipv unchecked */
                r = split_text(v, text->str, line, &e.argv);
                if (r >= 0 && !ipv_valid(e.ipv))
                        r = tpfw_diag_set(v->diag, EINVAL, v->name, line, "invalid ipv '%s'",
                                          e.ipv);
        }
out:
        if (r < 0) {
                entry_clear(&e);
                return r;
        }
        if (e.kind == TPFW_ENTRY_CHAIN || text->len > 0) {
                el.entry = (long)v->entries->len;
                g_array_append_val(v->entries, e);
        } else {
                entry_clear(&e);
        }
        g_array_append_val(v->elements, el);
        return 0;
}

/* ---- document ---- */

static void direct_clear(TpfwDirect *d)
{
        for (size_t i = 0; i < d->n_entries; i++)
                tpfw_strv_free(d->entries[i].argv); /* ipv, table and chain live in strings */
        g_free(d->entries);
        g_free(d->info);
        g_free(d->refs);
        g_free(d->elements);
        tpfw_direct_layout_clear(&d->layout);
        if (d->strings)
                g_string_chunk_free(d->strings);
        g_free(d->name);
        if (!d->data_borrowed)
                g_free(d->data);
        g_free(d->not_editable_reason);
        *d = (TpfwDirect){0};
}

TpfwDirect *tpfw_direct_free(TpfwDirect *d)
{
        if (d) {
                direct_clear(d);
                g_free(d);
        }
        return NULL;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)

static bool is_utf16_bom(const char *data, size_t len)
{
        return len >= 2 && (memcmp(data, "\xFF\xFE", 2) == 0 || memcmp(data, "\xFE\xFF", 2) == 0);
}

/* Decides whether the raw bytes may be edited in place, and if so scans their layout. */
static void study_encoding(TpfwDirect *d, const xmlDoc *doc, size_t n_children)
{
        const char *enc = doc->encoding ? (const char *)doc->encoding : NULL;

        if (is_utf16_bom(d->data, d->len) || memchr(d->data, '\0', d->len)) {
                d->not_editable_reason = g_strdup("it is encoded in UTF-16");
                return;
        }
        if (enc && g_ascii_strcasecmp(enc, "utf-8") != 0 && g_ascii_strcasecmp(enc, "utf8") != 0) {
                d->not_editable_reason = g_strdup_printf("it is encoded in %s", enc);
                return;
        }
        if (!g_utf8_validate_len(d->data, d->len, NULL)) {
                d->not_editable_reason = g_strdup("it is not valid UTF-8");
                return;
        }
        if (tpfw_direct_scan(d->data, d->len, &d->layout) < 0 || d->layout.n_spans != n_children) {
                tpfw_direct_layout_clear(&d->layout);
                d->not_editable_reason = g_strdup("its layout was not understood");
                return;
        }
        d->editable = true;
}

static int parse_xml(const char *name, const char *data, size_t len, xmlDoc **ret_doc,
                     TpfwDiag *diag)
{
        g_autoptr(xmlParserCtxt) ctxt = NULL;
        ParseCapture cap = {0};
        xmlStructuredErrorFunc saved_handler;
        void *saved_context;
        xmlDocPtr doc;
        int r = 0;

        saved_handler = xmlStructuredError;
        saved_context = xmlStructuredErrorContext;
        ctxt = xmlNewParserCtxt();
        if (!ctxt)
                return tpfw_diag_set(diag, ENOMEM, name, 0, "out of memory");
        ctxt->_private = &cap;
        ctxt->sax->serror = capture_error;
        ctxt->sax->internalSubset = refuse_doctype;
        /* Some libxml2 paths report through the thread's global handler: capture those too. */
        xmlSetStructuredErrorFunc(ctxt, capture_error);
        doc = xmlCtxtReadMemory(ctxt, data, (int)len, name, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                        XML_PARSE_BIG_LINES | XML_PARSE_COMPACT);
        xmlSetStructuredErrorFunc(saved_context, saved_handler);

        if (cap.doctype) {
                r = tpfw_diag_set(diag, EINVAL, name, cap.doctype_line,
                                  "DOCTYPE declarations are not supported (firewalld never writes "
                                  "one; remove it)");
        } else if (!doc || !ctxt->wellFormed) {
                r = tpfw_diag_set(diag, EINVAL, name, cap.message ? cap.line : 1,
                                  "Not a valid file: %s",
                                  cap.message ? cap.message : "not well-formed");
        }
        g_free(cap.message);
        if (r < 0) {
                if (doc)
                        xmlFreeDoc(doc);
                return r;
        }
        *ret_doc = doc;
        return 0;
}

/* The libxml2 path: any file, and the exact words for every error. */
static int parse_tree(TpfwDirect *d, TpfwDiag *diag)
{
        const char *name = d->name;
        g_autoptr(xmlDoc) doc = NULL;
        g_autoptr(GPtrArray) nodes = g_ptr_array_new();
        g_autoptr(GArray) entries = g_array_new(FALSE, TRUE, sizeof(TpfwEntry));
        g_autoptr(GArray) elements = g_array_new(FALSE, TRUE, sizeof(DirectElement));
        g_autoptr(GArray) refs = g_array_new(FALSE, FALSE, sizeof(const char *));
        g_autoptr(GString) text = g_string_sized_new(256);
        g_autofree char *root_name = NULL;
        xmlNodePtr root;
        Validator v;
        int r;

        r = parse_xml(name, d->data, d->len, &doc, diag);
        if (r < 0)
                return r;
        root = xmlDocGetRootElement(doc);
        if (!root)
                return tpfw_diag_set(diag, EINVAL, name, 1, "Not a valid file: no element found");

        for (xmlNodePtr c = root->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE)
                        g_ptr_array_add(nodes, c);
        study_encoding(d, doc, nodes->len);

        v = (Validator){
                .name = name,
                .diag = diag,
                .nodes = (xmlNodePtr *)nodes->pdata,
                .spans = d->editable ? d->layout.spans : NULL,
                .entries = entries,
                .elements = elements,
                .text = text,
        };
        root_name = qualified_name(root->ns, root->name);
        if (strcmp(root_name, "direct") != 0)
                return tpfw_diag_set(diag, EINVAL, name, (unsigned)xmlGetLineNo(root),
                                     "Unexpected element %s (the root element must be direct)",
                                     root_name);
        r = check_attributes(&v, root, "direct", NULL, (unsigned)xmlGetLineNo(root));
        if (r < 0)
                return r;
        for (guint i = 0; i < nodes->len; i++) {
                r = validate_element(&v, nodes->pdata[i], i);
                if (r < 0) {
                        for (guint j = 0; j < entries->len; j++)
                                entry_clear(&g_array_index(entries, TpfwEntry, j));
                        return r;
                }
        }
        /* the spans now live in elements */
        g_free(g_steal_pointer(&d->layout.spans));
        d->n_entries = entries->len;
        d->entries = (TpfwEntry *)(void *)g_array_free(g_steal_pointer(&entries), FALSE);
        d->n_elements = elements->len;
        d->elements = (DirectElement *)(void *)g_array_free(g_steal_pointer(&elements), FALSE);
        d->info = g_new0(DirectEntryInfo, d->n_entries + 1);
        for (size_t k = 0; k < d->n_elements; k++)
                if (d->elements[k].entry >= 0)
                        d->info[d->elements[k].entry].element = (uint32_t)k;
        for (size_t i = 0; i < d->n_entries; i++) {
                TpfwEntry *e = &d->entries[i];
                char *ipv = e->ipv, *table = e->table, *chain = e->chain;

                e->ipv = (char *)intern(d, ipv);
                e->table = (char *)intern(d, table);
                e->chain = (char *)intern(d, chain);
                g_free(ipv);
                g_free(table);
                g_free(chain);
                tpfw_direct_note_entry(d, e, &d->info[i], e->argv, refs);
        }
        d->n_refs = refs->len / 2;
        d->refs = (const char **)(void *)g_array_free(g_steal_pointer(&refs), FALSE);
        return 0;
}

int tpfw_direct_parse_with(const char *name, const char *data, size_t len, bool borrow,
                           GStringChunk *strings, TpfwDirect **ret, TpfwDiag *diag)
{
        g_autoptr(TpfwDirect) d = NULL;
        int r;

        if (!name)
                name = "direct.xml";
        if (len > TPFW_DIRECT_MAX_SIZE)
                return tpfw_diag_set(diag, EFBIG, name, 0,
                                     "file is too large (%zu bytes, the limit is %u bytes)", len,
                                     TPFW_DIRECT_MAX_SIZE);
        if (len == 0 || !data)
                return tpfw_diag_set(diag, EINVAL, name, 1, "Not a valid file: no element found");
        if (!is_utf16_bom(data, len) && memchr(data, '\0', len))
                return tpfw_diag_set(diag, EINVAL, name, 0,
                                     "Not a valid file: it contains a NUL byte");

        d = g_new0(TpfwDirect, 1);
        d->name = g_strdup(name);
        if (borrow) {
                d->data = (char *)data;
                d->data_borrowed = true;
        } else {
                d->data = g_malloc(len + 1);
                memcpy(d->data, data, len);
                d->data[len] = '\0';
        }
        d->len = len;
        /* sized for a typical file: the chunk holds only the distinct names */
        d->strings = strings ? strings : g_string_chunk_new(4096);

        r = tpfw_direct_fast_parse(d);
        if (r == 0)
                r = parse_tree(d, diag);
        else if (r < 0)
                r = tpfw_diag_set(diag, -r, name, 0, "out of memory");
        if (r < 0) {
                if (strings)
                        d->strings = NULL; /* the caller's */
                return r;
        }
        *ret = g_steal_pointer(&d);
        return 0;
}

int tpfw_direct_parse(const char *name, const char *data, size_t len, TpfwDirect **ret,
                      TpfwDiag *diag)
{
        return tpfw_direct_parse_with(name, data, len, false, NULL, ret, diag);
}

int tpfw_direct_parse_borrowed(const char *name, const char *data, size_t len, TpfwDirect **ret,
                               TpfwDiag *diag)
{
        return tpfw_direct_parse_with(name, data, len, true, NULL, ret, diag);
}

TpfwDirect *tpfw_direct_new_empty(const char *name)
{
        static const char empty[] =
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n</direct>\n";
        TpfwDirect *d = NULL;

        if (tpfw_direct_parse(name, empty, sizeof(empty) - 1, &d, NULL) < 0)
                return NULL;
        return d;
}

size_t tpfw_direct_n_entries(const TpfwDirect *d)
{
        return d ? d->n_entries : 0;
}

const TpfwEntry *tpfw_direct_entry(const TpfwDirect *d, size_t i)
{
        if (!d || i >= d->n_entries)
                return NULL;
        tpfw_direct_entry_argv(d, i);
        return &d->entries[i];
}

bool tpfw_direct_is_editable(const TpfwDirect *d, TpfwDiag *diag)
{
        if (d->editable)
                return true;
        tpfw_diag_set(diag, EOPNOTSUPP, d->name, 0,
                      "cannot edit this file in place because %s; the tool only edits UTF-8 "
                      "files (convert it to UTF-8, or let firewalld rewrite it)",
                      d->not_editable_reason ? d->not_editable_reason : "of its encoding");
        return false;
}

const char *tpfw_direct_data(const TpfwDirect *d, size_t *ret_len)
{
        if (ret_len)
                *ret_len = d->len;
        return d->data;
}
