/* SPDX-License-Identifier: MIT */
/* direct.xml reader: libxml2's SAX parser with firewalld's element rules and byte offsets. */
#include <string.h>

#include <libxml/parserInternals.h>

#include "direct-read.h"

typedef struct Reader {
        xmlParserCtxtPtr ctxt;
        const char *name;
        const char *data;
        size_t len;
        DirectReadElementFn fn;
        void *userdata;
        TpfwDiag *diag;
        DirectReadLayout *layout;
        int error;      /* set by a callback: the read stops with it, diag already set */
        bool doctype;   /* a DOCTYPE was seen (refused) */
        unsigned depth; /* open elements */
        bool ascii_only; /* declared with a name expat hands to Python's single-byte decoder */
        /* the element child of the root being read */
        DirectReadElement el;
        char *attrs[4]; /* ipv, table, chain, priority */
        GString *text;
        const char *ename;
        /* the first libxml2 error */
        char *message;
        unsigned message_line;
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

/* Offset of the parser's position in the bytes as libxml2 holds them (the file's own bytes when
 * they are UTF-8: the layout is only used then). */
static size_t reader_offset(const Reader *r)
{
        const xmlParserInput *in = r->ctxt->input;

        return (size_t)in->consumed + (size_t)(in->cur - in->base);
}

static void capture_error(void *userdata, xmlErrorPtr error)
{
        Reader *r = userdata;

        if (!r || !error || error->level < XML_ERR_ERROR || r->message)
                return;
        r->message = g_strstrip(g_strdup(error->message ? error->message : "parse error"));
        /* one line: libxml2 appends details such as "Bytes: 0xE9 ..." on the next */
        r->message[strcspn(r->message, "\n")] = '\0';
        r->message_line = error->line > 0 ? (unsigned)error->line : 0;
}

/* ---- encodings, as expat (with Python's handler for names it does not know) reads them ---- */

typedef enum Detected { DETECT_ONE_BYTE, DETECT_UTF16LE, DETECT_UTF16BE } Detected;

static Detected detect_encoding(const char *data, size_t len)
{
        const unsigned char *u = (const unsigned char *)data;

        if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == '<' && u[1] == 0)))
                return DETECT_UTF16LE;
        if (len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0 && u[1] == '<')))
                return DETECT_UTF16BE;
        return DETECT_ONE_BYTE;
}

/* A declared name as Python's codec registry normalises it. */
static char *normalise_encoding(const char *name)
{
        char *n = g_ascii_strdown(name, -1);

        for (char *p = n; *p; p++)
                if (*p == '-')
                        *p = '_';
        return n;
}

static bool name_in(const char *name, const char *const *list)
{
        for (size_t i = 0; list[i]; i++)
                if (strcmp(name, list[i]) == 0)
                        return true;
        return false;
}

/*
 * Decides a declared encoding the way expat does: its own names (UTF-8, UTF-16, UTF-16LE,
 * UTF-16BE, ISO-8859-1, US-ASCII, any case) must agree with the byte width it detected; other
 * names go to Python's single-byte decoder, which reads the aliases of UTF-8 and ASCII as ASCII
 * only and the aliases of Latin-1 as Latin-1. Other encodings are refused on purpose.
 */
static void check_encoding(Reader *r, const char *declared)
{
        static const char *const ascii_aliases[] = {
                "utf8",    "utf_8",      "u8",       "utf",          "utf8_ucs2",
                "utf8_ucs4", "cp65001",  "ascii",    "us_ascii",     "646",
                "us",      "iso646_us",  "cp367",    "ibm367",       "csascii",
                "ansi_x3.4_1968", "ansi_x3_4_1968", "ansi_x3.4_1986", "iso_646.irv_1991",
                "iso_ir_6", NULL};
        static const char *const latin1_aliases[] = {
                "latin_1", "latin1",  "latin",   "l1",     "iso8859_1",  "iso_8859_1",
                "8859",    "cp819",   "iso8859", "ibm819", "csisolatin1", "iso_8859_1_1987",
                "iso_ir_100", NULL};
        Detected det = detect_encoding(r->data, r->len);
        g_autofree char *n = NULL;

        if (!declared)
                return;
        n = normalise_encoding(declared);
        if (strcmp(n, "utf_16") == 0 || strcmp(n, "utf_16le") == 0 ||
            strcmp(n, "utf_16be") == 0) {
                bool ok = det != DETECT_ONE_BYTE && (strcmp(n, "utf_16") == 0 ||
                                                     (det == DETECT_UTF16LE) ==
                                                             (strcmp(n, "utf_16le") == 0));
                if (!ok)
                        reader_fail(r, EINVAL, reader_line(r),
                                    "Not a valid file: encoding specified in XML declaration is "
                                    "incorrect");
                return;
        }
        if (det != DETECT_ONE_BYTE) {
                reader_fail(r, EINVAL, reader_line(r),
                            "Not a valid file: encoding specified in XML declaration is incorrect");
                return;
        }
        if (g_ascii_strcasecmp(declared, "utf-8") == 0 ||
            g_ascii_strcasecmp(declared, "iso-8859-1") == 0)
                return;
        if (g_ascii_strcasecmp(declared, "us-ascii") == 0) {
                r->ascii_only = true;
                return;
        }
        if (name_in(n, ascii_aliases)) {
                r->ascii_only = true;
                return;
        }
        if (name_in(n, latin1_aliases))
                return;
        reader_fail(r, EINVAL, reader_line(r),
                    "encoding \"%s\" is not supported (use UTF-8; firewalld writes UTF-8)",
                    declared);
}

static void on_start_document(void *userdata)
{
        xmlParserCtxtPtr ctxt = userdata;
        Reader *r = ctxt->_private;
        const char *declared = (const char *)ctxt->encoding;

        xmlSAX2StartDocument(userdata);
        check_encoding(r, declared);
        if (r->error)
                return;
        if (r->ascii_only)
                for (size_t i = 0; i < r->len; i++)
                        if ((unsigned char)r->data[i] >= 0x80) {
                                reader_fail(r, EINVAL, 1,
                                            "Not a valid file: not well-formed (invalid token): "
                                            "encoding \"%s\" allows ASCII only",
                                            declared);
                                return;
                        }
        if (detect_encoding(r->data, r->len) != DETECT_ONE_BYTE) {
                r->layout->not_editable_reason = g_strdup("it is encoded in UTF-16");
        } else if (declared && g_ascii_strcasecmp(declared, "utf-8") != 0 && !r->ascii_only) {
                r->layout->not_editable_reason = g_strdup_printf("it is encoded in %s", declared);
        } else {
                r->layout->editable = true;
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
                                           "direct: Unexpected attribute %s", (const char *)atts[0]);
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
        } else if (r->depth == 2) {
                start_child(r, name, atts);
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

        if (r->error || r->depth != 2)
                return;
        at = r->text->len;
        g_string_append_len(r->text, (const char *)ch, len);
        for (char *p = r->text->str + at; (p = memchr(p, '\n', r->text->len - (size_t)(p - r->text->str)));)
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

/* Feeds data to a push parser in pieces, so libxml2 never holds a copy of a large file. */
static void reader_run(Reader *r)
{
        const size_t piece = 256 * 1024;
        size_t pos = 4 < r->len ? 4 : r->len;

        for (; pos < r->len && !r->error && r->ctxt->disableSAX == 0; pos += piece) {
                size_t n = r->len - pos < piece ? r->len - pos : piece;

                if (xmlParseChunk(r->ctxt, r->data + pos, (int)n, 0) != 0)
                        break;
        }
        if (!r->error && r->ctxt->disableSAX == 0)
                xmlParseChunk(r->ctxt, NULL, 0, 1);
}

int direct_read(const char *name, const char *data, size_t len, DirectReadElementFn fn,
                void *userdata, DirectReadLayout *ret_layout, TpfwDiag *diag)
{
        xmlStructuredErrorFunc saved_handler;
        void *saved_context;
        xmlSAXHandler sax;
        Reader r = {.name = name, .data = data, .len = len, .fn = fn, .userdata = userdata,
                    .diag = diag, .layout = ret_layout};
        int ret = 0;

        *ret_layout = (DirectReadLayout){0};
        if (len == 0)
                return tpfw_diag_set(diag, EINVAL, name, 1, "Not a valid file: no element found");
        reader_handler(&sax);
        r.text = g_string_sized_new(256);
        /* the first four bytes tell libxml2 the encoding family, as they tell expat */
        r.ctxt = xmlCreatePushParserCtxt(&sax, NULL, data, len < 4 ? (int)len : 4, name);
        if (!r.ctxt) {
                g_string_free(r.text, TRUE);
                return tpfw_diag_set(diag, ENOMEM, name, 0, "out of memory");
        }
        r.ctxt->_private = &r;
        xmlCtxtUseOptions(r.ctxt, DIRECT_XML_OPTIONS);
        saved_handler = xmlStructuredError;
        saved_context = xmlStructuredErrorContext;
        xmlSetStructuredErrorFunc(&r, capture_error);
        reader_run(&r);
        xmlSetStructuredErrorFunc(saved_context, saved_handler);

        if (r.error) {
                ret = r.error;
        } else if (!r.ctxt->wellFormed || r.message) {
                ret = tpfw_diag_set(diag, EINVAL, name, r.message ? r.message_line : 1,
                                    "Not a valid file: %s",
                                    r.message ? r.message : "not well-formed");
        } else if (r.depth != 0 || !r.ctxt->myDoc) {
                ret = tpfw_diag_set(diag, EINVAL, name, 1, "Not a valid file: no element found");
        }
        if (r.ctxt->myDoc)
                xmlFreeDoc(r.ctxt->myDoc);
        xmlFreeParserCtxt(r.ctxt);
        g_string_free(r.text, TRUE);
        for (size_t i = 0; i < G_N_ELEMENTS(r.attrs); i++)
                g_free(r.attrs[i]);
        g_free(r.message);
        if (ret < 0)
                direct_read_layout_clear(ret_layout);
        return ret;
}

void direct_read_layout_clear(DirectReadLayout *layout)
{
        g_free(layout->not_editable_reason);
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
