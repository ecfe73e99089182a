/* SPDX-License-Identifier: MIT */
/* direct.xml: validation against the RelaxNG schema in schemas/, streamed (no tree of the file). */
#include <string.h>

#include "direct-read.h"
#include "util.h"
#include "xml-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlRelaxNGParserCtxt, xmlRelaxNGFreeParserCtxt)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlRelaxNG, xmlRelaxNGFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlRelaxNGValidCtxt, xmlRelaxNGFreeValidCtxt)

typedef struct SchemaCapture {
        char *message;
        unsigned line;
} SchemaCapture;

static void schema_error(void *userdata, xmlErrorPtr error)
{
        SchemaCapture *cap = userdata;

        if (!error || error->level < XML_ERR_ERROR || cap->message)
                return;
        cap->message = g_strstrip(g_strdup(error->message ? error->message : "invalid"));
        /* one line: libxml2 appends details such as "Bytes: 0xE9 ..." on the next */
        cap->message[strcspn(cap->message, "\n")] = '\0';
        cap->line = error->line > 0 ? (unsigned)error->line : 0;
}

/* Reads an XML file with the same safe options as direct.xml, errors captured. */
static xmlDocPtr read_safely(const char *name, const char *data, size_t len, SchemaCapture *cap)
{
        g_autoptr(xmlParserCtxt) ctxt = xmlNewParserCtxt();
        xmlStructuredErrorFunc saved_handler = xmlStructuredError;
        void *saved_context = xmlStructuredErrorContext;
        xmlDocPtr doc;

        if (!ctxt)
                return NULL;
        /* no per-context handler: errors go to the thread's handler, pointed at cap meanwhile */
        xmlSetStructuredErrorFunc(cap, schema_error);
        doc = xmlCtxtReadMemory(ctxt, data, (int)len, name, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                        XML_PARSE_BIG_LINES);
        xmlSetStructuredErrorFunc(saved_context, saved_handler);
        if (doc && (doc->intSubset || doc->extSubset)) {
                xmlFreeDoc(doc);
                g_free(cap->message);
                cap->message = g_strdup("DOCTYPE declarations are not supported");
                return NULL;
        }
        return doc;
}

/*
 * RelaxNG's streaming interface, driven by the direct.xml reader (direct_read_events()) as
 * xmlTextReader would drive it: each element is a small node of its own, with its attributes,
 * freed at its end. An element libxml2 cannot check streamed (PushElement returns 0) is kept with
 * its content and checked whole at its end. xmlTextReader itself is not used: it parses far ahead,
 * into a tree of the whole file, when comments or processing instructions come without elements
 * between them (a 60 MB file of comments took 1 GB).
 */
typedef struct SchemaPush {
        xmlRelaxNGValidCtxtPtr vctxt;
        xmlDocPtr doc;
        xmlNodePtr open[2]; /* the root and the entry inside it */
        unsigned lines[2];  /* their start-tag lines */
        unsigned depth;     /* open elements */
        xmlNodePtr whole;   /* the element checked whole at its end, or NULL */
        GString *cdata;     /* NUL-terminated copy of the character data pushed */
        SchemaCapture cap;
} SchemaPush;

static void push_error(void *userdata, xmlErrorPtr error)
{
        SchemaPush *s = userdata;

        schema_error(&s->cap, error);
        /* libxml2 keeps 16-bit lines in nodes: the reader's line is the right one */
        if (s->cap.message && s->depth > 0)
                s->cap.line = s->lines[s->depth - 1];
}

static int push_fail(SchemaPush *s, TpfwDiag *diag)
{
        return tpfw_diag_set(diag, EINVAL, NULL, s->cap.line, "schema: %s",
                             s->cap.message ? s->cap.message : "does not validate");
}

static int push_start(void *userdata, const char *name, const xmlChar **atts, unsigned line,
                      TpfwDiag *diag)
{
        SchemaPush *s = userdata;
        xmlNodePtr node = xmlNewDocNode(s->doc, NULL, (const xmlChar *)name, NULL);
        int ret;

        if (!node || s->depth >= G_N_ELEMENTS(s->open))
                return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        for (size_t i = 0; atts && atts[i]; i += 2)
                if (!xmlNewProp(node, atts[i], atts[i + 1] ? atts[i + 1] : (const xmlChar *)""))
                        return tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
        node->line = line < 65535 ? (unsigned short)line : 65535;
        if (s->depth == 0)
                xmlDocSetRootElement(s->doc, node);
        else
                xmlAddChild(s->open[s->depth - 1], node);
        s->open[s->depth] = node;
        s->lines[s->depth++] = line;
        if (s->whole)
                return 0;
        ret = xmlRelaxNGValidatePushElement(s->vctxt, s->doc, node);
        if (ret == 0)
                s->whole = node;
        else if (ret < 0 || s->cap.message)
                return push_fail(s, diag);
        return 0;
}

static int push_text(void *userdata, const char *text, size_t len, TpfwDiag *diag)
{
        SchemaPush *s = userdata;

        if (s->whole) {
                xmlNodeAddContentLen(s->open[s->depth - 1], (const xmlChar *)text, (int)len);
                return 0;
        }
        g_string_truncate(s->cdata, 0);
        g_string_append_len(s->cdata, text, (gssize)len);
        if (xmlRelaxNGValidatePushCData(s->vctxt, (const xmlChar *)s->cdata->str,
                                        (int)s->cdata->len) != 1 ||
            s->cap.message)
                return push_fail(s, diag);
        return 0;
}

static int push_end(void *userdata, TpfwDiag *diag)
{
        SchemaPush *s = userdata;
        xmlNodePtr node = s->open[s->depth - 1];
        int ret = 1;

        if (s->whole == node) {
                ret = xmlRelaxNGValidateFullElement(s->vctxt, s->doc, node);
                s->whole = NULL;
        } else if (!s->whole) {
                ret = xmlRelaxNGValidatePopElement(s->vctxt, s->doc, node);
        }
        if (ret != 1 || s->cap.message)
                return push_fail(s, diag);
        /* an entry is done with; the root stays, without its children, until the document's end */
        if (s->depth-- > 1 && !s->whole) {
                xmlUnlinkNode(node);
                xmlFreeNode(node);
        }
        return 0;
}

int tpfw_direct_validate_schema(const char *schema_path, const char *data, size_t len,
                                TpfwDiag *diag)
{
        g_autofree char *schema_data = NULL;
        g_autoptr(xmlDoc) schema_doc = NULL;
        g_autoptr(xmlRelaxNGParserCtxt) pctxt = NULL;
        g_autoptr(xmlRelaxNG) schema = NULL;
        g_autoptr(xmlRelaxNGValidCtxt) vctxt = NULL;
        g_autoptr(xmlDoc) doc = NULL;
        g_autoptr(GString) cdata = NULL;
        g_autoptr(GError) error = NULL;
        SchemaCapture cap = {0};
        SchemaPush push;
        DirectReadEvents events = {push_start, push_text, push_end, &push};
        gsize schema_len = 0;
        int r = 0;

        if (len > TPFW_DIRECT_MAX_SIZE)
                return tpfw_diag_set(diag, EFBIG, NULL, 0, "file is too large (%zu bytes)", len);
        if (!g_file_get_contents(schema_path, &schema_data, &schema_len, &error))
                return tpfw_diag_set(diag, ENOENT, schema_path, 0, "cannot read schema: %s",
                                     error->message);
        schema_doc = read_safely(schema_path, schema_data, schema_len, &cap);
        if (!schema_doc) {
                r = tpfw_diag_set(diag, EINVAL, schema_path, cap.line, "invalid schema: %s",
                                  cap.message ? cap.message : "not well-formed");
                goto out;
        }
        pctxt = xmlRelaxNGNewDocParserCtxt(schema_doc);
        if (!pctxt) {
                r = tpfw_diag_set(diag, ENOMEM, schema_path, 0, "out of memory");
                goto out;
        }
        xmlRelaxNGSetParserStructuredErrors(pctxt, schema_error, &cap);
        schema = xmlRelaxNGParse(pctxt);
        if (!schema) {
                r = tpfw_diag_set(diag, EINVAL, schema_path, cap.line, "invalid schema: %s",
                                  cap.message ? cap.message : "cannot compile");
                goto out;
        }
        vctxt = xmlRelaxNGNewValidCtxt(schema);
        doc = xmlNewDoc((const xmlChar *)"1.0");
        if (!vctxt || !doc) {
                r = tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
                goto out;
        }
        cdata = g_string_new(NULL);
        push = (SchemaPush){.vctxt = vctxt, .doc = doc, .cdata = cdata};
        xmlRelaxNGSetValidStructuredErrors(vctxt, push_error, &push);
        r = direct_read_events(NULL, data, len, &events, diag);
        g_free(push.cap.message);
out:
        g_free(cap.message);
        return r;
}
