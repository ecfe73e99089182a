/* SPDX-License-Identifier: MIT */
/* direct.xml reader: libxml2's SAX parser with firewalld's element rules and byte offsets. */
#include <string.h>

#include <libxml/parserInternals.h>

#include "direct-decl.h"
#include "direct-read.h"

typedef struct Reader {
        xmlParserCtxtPtr ctxt;
        const char *name;
        const char *data;
        size_t len;
        DirectReadElementFn fn;
        void *userdata;
        const DirectReadEvents *events; /* or NULL */
        TpfwDiag *diag;
        DirectReadLayout *layout;
        int error;      /* set by a callback: the read stops with it, diag already set */
        bool doctype;   /* a DOCTYPE was seen (refused) */
        unsigned depth; /* open elements */
        /* the element child of the root being read */
        DirectReadElement el;
        char *attrs[4]; /* ipv, table, chain, priority */
        GString *text;
        const char *ename;
        /* the first libxml2 error */
        char *message;
        unsigned message_line;
        DirectDecl decl; /* the XML declaration, read as expat reads it */
        bool stopped;    /* libxml2 returned an error from a chunk */
} Reader;

static int reader_fail(Reader *r, int error, unsigned line, const char *fmt, ...)
        G_GNUC_PRINTF(4, 5);

static int reader_fail(Reader *r, int error, unsigned line, const char *fmt, ...)
{
        g_autofree char *msg = NULL;
        va_list ap;

        if (r->error)
                return r->error;
        va_start(ap, fmt);
        msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        r->error = tpfw_diag_set(r->diag, error, r->name, line, "%s", msg);
        xmlStopParser(r->ctxt);
        return r->error;
}

static unsigned reader_line(const Reader *r)
{
        return r->ctxt->input ? (unsigned)r->ctxt->input->line : 0;
}

/* A listener's verdict: an error stops the read (diag is set). */
static void reader_event(Reader *r, int ret)
{
        if (ret < 0 && !r->error) {
                r->error = ret;
                xmlStopParser(r->ctxt);
        }
}

/* Offset of the parser's position in the bytes as libxml2 holds them (the file's own bytes when
 * they are UTF-8: the layout is only used then). */
static size_t reader_offset(const Reader *r)
{
        const xmlParserInput *in = r->ctxt->input;
        size_t off = (size_t)in->consumed + (size_t)(in->cur - in->base);

        /* past the declaration, libxml2's bytes differ from the file's by the version value */
        if (r->decl.version_end && off >= r->decl.version_start + r->decl.version_shown_len)
                off = off - r->decl.version_shown_len +
                      (r->decl.version_end - r->decl.version_start);
        return off;
}

static void capture_error(void *userdata, xmlErrorPtr error)
{
        Reader *r = userdata;

        if (!r || !error || error->level < XML_ERR_ERROR || r->message)
                return;
        /* firewalld's expat reads without namespaces: a colon in a PI name is no error there */
        if (error->domain == XML_FROM_NAMESPACE)
                return;
        r->message = g_strstrip(g_strdup(error->message ? error->message : "parse error"));
        /* one line: libxml2 appends details such as "Bytes: 0xE9 ..." on the next */
        r->message[strcspn(r->message, "\n")] = '\0';
        r->message_line = error->line > 0 ? (unsigned)error->line : 0;
}

static bool name_in(const char *name, const char *const *list)
{
        for (size_t i = 0; list[i]; i++)
                if (strcmp(name, list[i]) == 0)
                        return true;
        return false;
}

/* The layout is decided before the first element: only UTF-8 (or ASCII) bytes are edited. */
static void on_start_document(void *userdata)
{
        xmlParserCtxtPtr ctxt = userdata;
        Reader *r = ctxt->_private;

        xmlSAX2StartDocument(userdata);
        switch (r->decl.charset) {
        case DIRECT_CHARSET_UTF8:
                r->layout->editable = true;
                break;
        case DIRECT_CHARSET_ASCII:
                r->layout->editable = true;
                r->layout->ascii_only = g_strdup(r->decl.encoding);
                break;
        case DIRECT_CHARSET_LATIN1:
                r->layout->not_editable_reason =
                        g_strdup_printf("it is encoded in %s", r->decl.encoding);
                break;
        default:
                r->layout->not_editable_reason = g_strdup("it is encoded in UTF-16");
                break;
        }
}

/* firewalld never writes a DOCTYPE; refusing it keeps entity tricks out of the picture. */
static void on_internal_subset(void *userdata, const xmlChar *name, const xmlChar *external_id,
                               const xmlChar *system_id)
{
        xmlParserCtxtPtr ctxt = userdata;
        Reader *r = ctxt->_private;

        r->doctype = true;
        reader_fail(r, EINVAL, reader_line(r),
                    "DOCTYPE declarations are not supported (firewalld never writes one; remove "
                    "it)");
}

/* ---- elements ---- */

static const char *const element_names[] = {"chain", "rule", "passthrough", NULL};
static const char *const attr_names[] = {"ipv", "table", "chain", "priority", NULL};

/* The attributes each element must have (firewalld's PARSER_REQUIRED_ELEMENT_ATTRS). */
static unsigned required_attrs(TpfwEntryKind kind)
{
        switch (kind) {
        case TPFW_ENTRY_CHAIN:
                return 0x7;
        case TPFW_ENTRY_RULE:
                return 0xF;
        default:
                return 0x1;
        }
}

static int check_root(Reader *r, const char *name, const xmlChar **atts)
{
        size_t off;

        if (strcmp(name, "direct") != 0) {
                if (name_in(name, element_names))
                        return reader_fail(r, EINVAL, reader_line(r),
                                           "Unexpected element %s (the root element must be "
                                           "direct)",
                                           name);
                return reader_fail(r, EINVAL, reader_line(r), "Unexpected element %s", name);
        }
        if (atts && atts[0])
                return reader_fail(r, EINVAL, reader_line(r), "direct: Unexpected attribute %s",
                                   (const char *)atts[0]);
        if (!r->layout->editable)
                return 0;
        /* at the start tag's callback libxml2 stands on its '>' or on the '/' of "/>" */
        off = reader_offset(r);
        {
                const char *lt = off <= r->len ? memrchr(r->data, '<', off) : NULL;

                if (!lt || off >= r->len) {
                        r->layout->editable = false;
                        r->layout->not_editable_reason = g_strdup("its layout was not understood");
                        return 0;
                }
                r->layout->root_start = (uint32_t)(lt - r->data);
                r->layout->root_self_closing = r->data[off] == '/';
                r->layout->root_tag_end = (uint32_t)(off + (r->data[off] == '/' ? 2 : 1));
        }
        return 0;
}

static bool is_xml_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int start_child(Reader *r, const char *name, const xmlChar **atts)
{
        DirectReadElement *el = &r->el;
        unsigned required, seen = 0;
        size_t k;

        if (strcmp(name, "direct") == 0) {
                if (atts && atts[0])
                        return reader_fail(r, EINVAL, reader_line(r),
                                           "direct: Unexpected attribute %s",
                                           (const char *)atts[0]);
                return reader_fail(r, EINVAL, reader_line(r), "More than one direct tag.");
        }
        for (k = 0; element_names[k] && strcmp(element_names[k], name) != 0; k++)
                ;
        if (!element_names[k])
                return reader_fail(r, EINVAL, reader_line(r), "Unexpected element %s", name);
        *el = (DirectReadElement){.kind = (TpfwEntryKind)k, .line = reader_line(r)};
        r->ename = element_names[k];
        required = required_attrs(el->kind);
        for (size_t i = 0; atts && atts[i]; i += 2) {
                size_t a;

                for (a = 0; attr_names[a] && strcmp(attr_names[a], (const char *)atts[i]) != 0; a++)
                        ;
                if (attr_names[a] && (required & (1u << a))) {
                        seen |= 1u << a;
                        g_free(r->attrs[a]);
                        r->attrs[a] = g_strdup(atts[i + 1] ? (const char *)atts[i + 1] : "");
                }
        }
        /* firewalld's order: the first missing required attribute, then the first unexpected */
        for (size_t a = 0; attr_names[a]; a++)
                if ((required & (1u << a)) && !(seen & (1u << a)))
                        return reader_fail(r, EINVAL, el->line, "Missing attribute %s for %s",
                                           attr_names[a], name);
        for (size_t i = 0; atts && atts[i]; i += 2) {
                size_t a;

                for (a = 0; attr_names[a] && strcmp(attr_names[a], (const char *)atts[i]) != 0; a++)
                        ;
                if (!attr_names[a] || !(required & (1u << a)))
                        return reader_fail(r, EINVAL, el->line, "%s: Unexpected attribute %s", name,
                                           (const char *)atts[i]);
        }
        el->ipv = r->attrs[0];
        el->table = (required & 0x2) ? r->attrs[1] : NULL;
        el->chain = (required & 0x4) ? r->attrs[2] : NULL;
        el->priority = (required & 0x8) ? r->attrs[3] : NULL;
        g_string_truncate(r->text, 0);
        if (r->layout->editable) {
                size_t off = reader_offset(r);
                const char *lt = off <= r->len ? memrchr(r->data, '<', off) : NULL;
                size_t ws;

                if (!lt) {
                        r->layout->editable = false;
                        r->layout->not_editable_reason = g_strdup("its layout was not understood");
                        return 0;
                }
                el->start = (uint32_t)(lt - r->data);
                for (ws = el->start; ws > r->layout->root_tag_end && is_xml_space(r->data[ws - 1]);
                     ws--)
                        ;
                el->ws_start = (uint32_t)ws;
        }
        return 0;
}

static void on_start_element(void *userdata, const xmlChar *xname, const xmlChar **atts)
{
        xmlParserCtxtPtr ctxt = userdata;
        Reader *r = ctxt->_private;
        const char *name = (const char *)xname;

        if (r->error)
                return;
        r->depth++;
        if (r->depth == 1) {
                check_root(r, name, atts);
                if (r->events && !r->error)
                        reader_event(r, r->events->start(r->events->userdata, name, atts,
                                                         reader_line(r), r->diag));
        } else if (r->depth == 2) {
                start_child(r, name, atts);
                if (r->events && !r->error)
                        reader_event(r, r->events->start(r->events->userdata, name, atts,
                                                         r->el.line, r->diag));
        } else if (strcmp(name, "direct") == 0) {
                reader_fail(r, EINVAL, reader_line(r), "More than one direct tag.");
        } else if (!name_in(name, element_names)) {
                reader_fail(r, EINVAL, reader_line(r), "Unexpected element %s", name);
        } else {
                /* firewalld would silently drop the text before the nested element */
                reader_fail(r, EINVAL, reader_line(r),
                            "Unexpected element %s inside %s (elements cannot be nested)", name,
                            r->ename);
        }
}

static void on_end_element(void *userdata, const xmlChar *name)
{
        xmlParserCtxtPtr ctxt = userdata;
        Reader *r = ctxt->_private;
        DirectReadElement *el = &r->el;
        int e;

        if (r->error)
                return;
        if (r->events) {
                reader_event(r, r->events->end(r->events->userdata, r->diag));
                if (r->error)
                        return;
        }
        if (r->depth-- != 2)
                return;
        if (r->layout->editable) {
                size_t end = reader_offset(r);

                if (end > r->len || end <= el->start || r->data[end - 1] != '>' ||
                    r->data[el->start] != '<') {
                        r->layout->editable = false;
                        r->layout->not_editable_reason = g_strdup("its layout was not understood");
                } else {
                        el->end = (uint32_t)end;
                }
        }
        el->text = r->text->str;
        el->text_len = r->text->len;
        e = r->fn(el, r->userdata, r->diag);
        if (e < 0) {
                r->error = e;
                xmlStopParser(r->ctxt);
        }
}

/* firewalld's characters(): all character data of the entry, each LF read as a space. */
static void on_characters(void *userdata, const xmlChar *ch, int len)
{
        xmlParserCtxtPtr ctxt = userdata;
        Reader *r = ctxt->_private;
        size_t at;

        if (r->error)
                return;
        if (r->events && (r->depth == 1 || r->depth == 2)) {
                reader_event(r, r->events->text(r->events->userdata, (const char *)ch, (size_t)len,
                                                r->diag));
                if (r->error)
                        return;
        }
        if (r->depth != 2)
                return;
        at = r->text->len;
        g_string_append_len(r->text, (const char *)ch, len);
        for (char *p = r->text->str + at;
             (p = memchr(p, '\n', r->text->len - (size_t)(p - r->text->str)));)
                *p++ = ' ';
}

static void on_entity_reference(void *userdata, const xmlChar *name)
{
        xmlParserCtxtPtr ctxt = userdata;
        Reader *r = ctxt->_private;

        reader_fail(r, EINVAL, reader_line(r), "Not a valid file: undefined entity &%s;",
                    (const char *)name);
}

static void reader_handler(xmlSAXHandler *sax)
{
        memset(sax, 0, sizeof(*sax));
        xmlSAXVersion(sax, 1);
        sax->startDocument = on_start_document;
        sax->internalSubset = on_internal_subset;
        sax->externalSubset = NULL;
        sax->startElement = on_start_element;
        sax->endElement = on_end_element;
        sax->characters = on_characters;
        sax->ignorableWhitespace = on_characters;
        sax->cdataBlock = on_characters;
        sax->reference = on_entity_reference;
        sax->comment = NULL;
        sax->processingInstruction = NULL;
        sax->warning = NULL;
        sax->error = NULL;
        sax->fatalError = NULL;
        sax->serror = NULL; /* SAX1 handlers report through the thread's structured handler */
}

/* ---- running the parser ---- */

/* A callback failed, or libxml2 gave up on the file. */
static bool reader_stopped(const Reader *r)
{
        return r->stopped || r->error || r->ctxt->disableSAX != 0;
}

/* Hands data[from, to) to the parser in pieces, so libxml2 never holds a copy of a large file. */
static void reader_feed(Reader *r, size_t from, size_t to)
{
        const size_t piece = 256 * 1024;

        for (size_t pos = from; pos < to && !reader_stopped(r); pos += piece) {
                size_t n = to - pos < piece ? to - pos : piece;

                if (xmlParseChunk(r->ctxt, r->data + pos, (int)n, 0) != 0)
                        r->stopped = true;
        }
}

/* Feeds the file (its first four bytes went in with the context) and ends the parse. */
static void reader_run(Reader *r)
{
        size_t pos = 4 < r->len ? 4 : r->len;

        if (r->decl.version_end) {
                reader_feed(r, pos, r->decl.version_start);
                if (!reader_stopped(r) && xmlParseChunk(r->ctxt, r->decl.version_shown,
                                                        (int)r->decl.version_shown_len, 0) != 0)
                        r->stopped = true;
                pos = r->decl.version_end;
        }
        reader_feed(r, pos, r->len);
        if (!reader_stopped(r))
                xmlParseChunk(r->ctxt, NULL, 0, 1);
}

/* Reads r->data with the handlers above; r's name, data, listeners, diag and layout are set. */
static int read_all(Reader *r)
{
        const char *name = r->name;
        const char *data = r->data;
        size_t len = r->len;
        TpfwDiag *diag = r->diag;
        DirectReadLayout *ret_layout = r->layout;
        xmlStructuredErrorFunc saved_handler;
        void *saved_context;
        xmlSAXHandler sax;
        g_autofree char *message = NULL;
        unsigned line;
        int ret = 0;

        *ret_layout = (DirectReadLayout){0};
        if (len == 0)
                return tpfw_diag_set(diag, EINVAL, name, 1, "Not a valid file: no element found");
        if (direct_decl_read(data, len, &r->decl, &message, &line) < 0)
                return tpfw_diag_set(diag, EINVAL, name, line, "%s", message);
        reader_handler(&sax);
        r->text = g_string_sized_new(256);
        /* the first four bytes tell libxml2 the encoding family, as they tell expat */
        r->ctxt = xmlCreatePushParserCtxt(&sax, NULL, data, len < 4 ? (int)len : 4, name);
        if (!r->ctxt) {
                g_string_free(r->text, TRUE);
                direct_decl_clear(&r->decl);
                return tpfw_diag_set(diag, ENOMEM, name, 0, "out of memory");
        }
        r->ctxt->_private = r;
        /* the encoding is the one direct_decl_read() decided, not libxml2's reading of the name */
        xmlCtxtUseOptions(r->ctxt, DIRECT_XML_OPTIONS | XML_PARSE_IGNORE_ENC);
        if (r->decl.charset == DIRECT_CHARSET_LATIN1)
                xmlSwitchEncoding(r->ctxt, XML_CHAR_ENCODING_8859_1);
        /* expat takes "<" and a zero byte for UTF-16; libxml2 needs "<?" for that */
        else if (r->decl.charset == DIRECT_CHARSET_UTF16LE && !r->decl.bom)
                xmlSwitchEncoding(r->ctxt, XML_CHAR_ENCODING_UTF16LE);
        else if (r->decl.charset == DIRECT_CHARSET_UTF16BE && !r->decl.bom)
                xmlSwitchEncoding(r->ctxt, XML_CHAR_ENCODING_UTF16BE);
        saved_handler = xmlStructuredError;
        saved_context = xmlStructuredErrorContext;
        xmlSetStructuredErrorFunc(r, capture_error);
        reader_run(r);
        xmlSetStructuredErrorFunc(saved_context, saved_handler);

        if (r->error) {
                ret = r->error;
        } else if (!r->ctxt->wellFormed || r->message) {
                ret = tpfw_diag_set(diag, EINVAL, name, r->message ? r->message_line : 1,
                                    "Not a valid file: %s",
                                    r->message ? r->message : "not well-formed");
        } else if (r->depth != 0 || !r->ctxt->myDoc) {
                ret = tpfw_diag_set(diag, EINVAL, name, 1, "Not a valid file: no element found");
        }
        if (r->ctxt->myDoc)
                xmlFreeDoc(r->ctxt->myDoc);
        xmlFreeParserCtxt(r->ctxt);
        g_string_free(r->text, TRUE);
        for (size_t i = 0; i < G_N_ELEMENTS(r->attrs); i++)
                g_free(r->attrs[i]);
        g_free(r->message);
        direct_decl_clear(&r->decl);
        if (ret < 0)
                direct_read_layout_clear(ret_layout);
        return ret;
}

int direct_read(const char *name, const char *data, size_t len, DirectReadElementFn fn,
                void *userdata, DirectReadLayout *ret_layout, TpfwDiag *diag)
{
        Reader r = {.name = name,
                    .data = data,
                    .len = len,
                    .fn = fn,
                    .userdata = userdata,
                    .diag = diag,
                    .layout = ret_layout};

        return read_all(&r);
}

static int ignore_element(const DirectReadElement *el, void *userdata, TpfwDiag *diag)
{
        return 0;
}

int direct_read_events(const char *name, const char *data, size_t len,
                       const DirectReadEvents *events, TpfwDiag *diag)
{
        DirectReadLayout layout;
        Reader r = {.name = name,
                    .data = data,
                    .len = len,
                    .fn = ignore_element,
                    .events = events,
                    .diag = diag,
                    .layout = &layout};
        int ret = read_all(&r);

        if (ret == 0)
                direct_read_layout_clear(&layout);
        return ret;
}

void direct_read_layout_clear(DirectReadLayout *layout)
{
        g_free(layout->not_editable_reason);
        g_free(layout->ascii_only);
        *layout = (DirectReadLayout){0};
}

/* ---- reading one element again ---- */

typedef struct TextReader {
        GString *out;
        unsigned depth;
        bool failed;
} TextReader;

static void text_start(void *userdata, const xmlChar *name, const xmlChar **atts)
{
        TextReader *t = ((xmlParserCtxtPtr)userdata)->_private;

        t->depth++;
}

static void text_end(void *userdata, const xmlChar *name)
{
        TextReader *t = ((xmlParserCtxtPtr)userdata)->_private;

        t->depth--;
}

static void text_characters(void *userdata, const xmlChar *ch, int len)
{
        TextReader *t = ((xmlParserCtxtPtr)userdata)->_private;
        size_t at = t->out->len;

        if (t->depth != 1)
                return;
        g_string_append_len(t->out, (const char *)ch, len);
        for (size_t i = at; i < t->out->len; i++)
                if (t->out->str[i] == '\n')
                        t->out->str[i] = ' ';
}

static void ignore_error(void *userdata, xmlErrorPtr error)
{
        (void)userdata;
        (void)error;
}

static void text_reference(void *userdata, const xmlChar *name)
{
        TextReader *t = ((xmlParserCtxtPtr)userdata)->_private;

        t->failed = true;
}

int direct_read_element_text(const char *element, size_t len, GString *out)
{
        xmlSAXHandler sax;
        g_autoptr(xmlParserCtxt) ctxt = NULL;
        TextReader t = {.out = out};
        xmlStructuredErrorFunc saved_handler;
        void *saved_context;
        bool ok;

        memset(&sax, 0, sizeof(sax));
        xmlSAXVersion(&sax, 1);
        sax.startElement = text_start;
        sax.endElement = text_end;
        sax.characters = text_characters;
        sax.ignorableWhitespace = text_characters;
        sax.cdataBlock = text_characters;
        sax.reference = text_reference;
        sax.comment = NULL;
        sax.processingInstruction = NULL;
        sax.internalSubset = NULL;
        sax.warning = NULL;
        sax.error = NULL;
        sax.fatalError = NULL;
        sax.serror = NULL;
        g_string_truncate(out, 0);
        if (len < 4)
                return -EINVAL;
        ctxt = xmlCreatePushParserCtxt(&sax, NULL, element, 4, NULL);
        if (!ctxt)
                return -ENOMEM;
        ctxt->_private = &t;
        xmlCtxtUseOptions(ctxt, DIRECT_XML_OPTIONS);
        saved_handler = xmlStructuredError;
        saved_context = xmlStructuredErrorContext;
        xmlSetStructuredErrorFunc(NULL, ignore_error);
        xmlParseChunk(ctxt, element + 4, (int)(len - 4), 1);
        xmlSetStructuredErrorFunc(saved_context, saved_handler);
        ok = ctxt->wellFormed && !t.failed;
        if (ctxt->myDoc)
                xmlFreeDoc(ctxt->myDoc);
        return ok ? 0 : -EINVAL;
}
