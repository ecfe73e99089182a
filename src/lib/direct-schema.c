/* SPDX-License-Identifier: MIT */
/* direct.xml: validation against the RelaxNG schema in schemas/, streamed (no tree of the file). */
#include <string.h>

#include "direct-decl.h"
#include "direct-read.h"
#include "util.h"
#include "xml-util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlRelaxNGParserCtxt, xmlRelaxNGFreeParserCtxt)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlRelaxNG, xmlRelaxNGFree)

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

static void reader_error(void *userdata, xmlErrorPtr error)
{
        /* as in direct_read(): firewalld's expat reads without namespaces */
        if (error && error->domain == XML_FROM_NAMESPACE)
                return;
        schema_error(userdata, error);
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

/* The file as the reader shows it to libxml2: the XML declaration's version read as "1.0"
 * (direct-decl.c says why). */
typedef struct SchemaInput {
        const char *data;
        size_t len, pos; /* pos counts the bytes handed out, in the shown stream */
        const DirectDecl *decl;
} SchemaInput;

static int schema_input_read(void *userdata, char *buf, int n)
{
        SchemaInput *in = userdata;
        const DirectDecl *decl = in->decl;
        size_t done = 0, shown_end = decl->version_start + decl->version_shown_len;

        while (done < (size_t)n) {
                const char *src;
                size_t avail;

                if (!decl->version_end || in->pos < decl->version_start) {
                        size_t stop = decl->version_end ? decl->version_start : in->len;
                        src = in->data + in->pos;
                        avail = stop - in->pos;
                } else if (in->pos < shown_end) {
                        src = decl->version_shown + (in->pos - decl->version_start);
                        avail = shown_end - in->pos;
                } else {
                        size_t file_pos = in->pos - shown_end + decl->version_end;
                        src = in->data + file_pos;
                        avail = in->len - file_pos;
                }
                if (avail == 0)
                        break;
                if (avail > (size_t)n - done)
                        avail = (size_t)n - done;
                memcpy(buf + done, src, avail);
                done += avail;
                in->pos += avail;
        }
        return (int)done;
}

/* The encoding libxml2 is told, as direct_read() tells it (NULL: libxml2's own detection). */
static const char *schema_encoding(const DirectDecl *decl)
{
        if (decl->charset == DIRECT_CHARSET_LATIN1)
                return "ISO-8859-1";
        if (decl->charset == DIRECT_CHARSET_UTF16LE && !decl->bom)
                return "UTF-16LE";
        if (decl->charset == DIRECT_CHARSET_UTF16BE && !decl->bom)
                return "UTF-16BE";
        return NULL;
}

int tpfw_direct_validate_schema(const char *schema_path, const char *data, size_t len,
                                TpfwDiag *diag)
{
        g_autofree char *schema_data = NULL;
        g_autoptr(xmlDoc) schema_doc = NULL;
        g_autoptr(xmlRelaxNGParserCtxt) pctxt = NULL;
        g_autoptr(xmlRelaxNG) schema = NULL;
        g_autoptr(xmlTextReader) reader = NULL;
        int ret;
        g_autoptr(GError) error = NULL;
        SchemaCapture cap = {0};
        DirectDecl decl = {0};
        SchemaInput input;
        g_autofree char *message = NULL;
        unsigned line;
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

        if (len == 0) {
                r = tpfw_diag_set(diag, EINVAL, NULL, 1, "Not a valid file: no element found");
                goto out;
        }
        if (direct_decl_read(data, len, &decl, &message, &line) < 0) {
                r = tpfw_diag_set(diag, EINVAL, NULL, line, "%s", message);
                goto out;
        }
        input = (SchemaInput){.data = data, .len = len, .decl = &decl};
        /* xmlTextReader validates while it streams: memory stays small for any file size */
        reader = xmlReaderForIO(schema_input_read, NULL, &input, "direct.xml",
                                schema_encoding(&decl), DIRECT_XML_OPTIONS | XML_PARSE_IGNORE_ENC);
        if (!reader) {
                r = tpfw_diag_set(diag, ENOMEM, NULL, 0, "out of memory");
                goto out;
        }
        xmlTextReaderSetStructuredErrorHandler(reader, reader_error, &cap);
        if (xmlTextReaderRelaxNGSetSchema(reader, schema) != 0) {
                r = tpfw_diag_set(diag, EINVAL, schema_path, 0, "invalid schema");
                goto out;
        }
        while ((ret = xmlTextReaderRead(reader)) == 1) {
                if (xmlTextReaderNodeType(reader) == XML_READER_TYPE_DOCUMENT_TYPE) {
                        r = tpfw_diag_set(diag, EINVAL, NULL, 0,
                                          "Not a valid file: DOCTYPE declarations are not "
                                          "supported");
                        goto out;
                }
        }
        if (ret < 0 || cap.message || xmlTextReaderIsValid(reader) != 1)
                r = tpfw_diag_set(diag, EINVAL, NULL, cap.line, "schema: %s",
                                  cap.message ? cap.message : "does not validate");
out:
        g_free(cap.message);
        direct_decl_clear(&decl);
        return r;
}
