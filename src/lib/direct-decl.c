/* SPDX-License-Identifier: MIT */
/* direct.xml: the XML declaration and the encoding, decided as firewalld's expat decides them. */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "direct-decl.h"

/*
 * Why this is not left to libxml2: firewalld parses with Python's xml.sax over expat, and expat
 * differs from libxml2 in the XML declaration in two ways libxml2 has no option for. expat takes
 * any version value of the characters [A-Za-z0-9._-] (libxml2 only "1.0" under XML_PARSE_OLD10,
 * and 1.x with a warning without it); and expat decodes six encodings itself and hands every other
 * name to Python's codecs, one byte at a time (so Python's names for UTF-8 and ASCII mean ASCII
 * only, its names for Latin-1 mean Latin-1, and multi-byte encodings fail), where libxml2 asks
 * iconv. So the declaration's pseudo-attributes are read here by expat's rules (xmltok.c,
 * doParseXmlDecl), the reader parses with XML_PARSE_IGNORE_ENC and switches libxml2 to the encoding
 * decided here, and libxml2 is shown "1.0" as the version. Everything after the declaration is
 * libxml2's to tokenize.
 */

/* The file's code units: width 1, or 2 for UTF-16 (the ASCII byte at lo), from start. */
typedef struct Units {
        const unsigned char *data;
        size_t len, width, lo, start;
} Units;

static Units detect_units(const char *data, size_t len)
{
        const unsigned char *u = (const unsigned char *)data;
        Units x = {.data = u, .len = len, .width = 1};

        if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == '<' && u[1] == 0))) {
                x.width = 2;
                x.start = u[0] == 0xFF ? 1 : 0;
        } else if (len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0 && u[1] == '<'))) {
                x.width = 2;
                x.lo = 1;
                x.start = u[0] == 0xFE ? 1 : 0;
        } else if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
                x.start = 3;
        }
        return x;
}

/* The ASCII character at code unit i, or -1 past the end or for a unit outside ASCII. */
static int unit_at(const Units *x, size_t i)
{
        const unsigned char *u = x->data + i * x->width;

        if ((i + 1) * x->width > x->len)
                return -1;
        if (x->width == 2 && u[1 - x->lo] != 0)
                return -1;
        return u[x->lo] < 0x80 ? u[x->lo] : -1;
}

static bool is_space(int c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One pseudo-attribute of the declaration [*pos, end): expat's parsePseudoAttribute(). Returns
 * false when it is malformed; *name_len 0 when the declaration has no more. */
static bool pseudo_attribute(const Units *x, size_t *pos, size_t end, size_t *name,
                             size_t *name_len, size_t *val, size_t *val_len)
{
        size_t i = *pos;
        int c, quote;

        *name_len = 0;
        if (i == end)
                return true;
        if (!is_space(unit_at(x, i)))
                return false;
        while (i < end && is_space(unit_at(x, i)))
                i++;
        if (i == end) {
                *pos = i;
                return true;
        }
        *name = i;
        while (i < end && (c = unit_at(x, i)) != '=' && !is_space(c)) {
                if (c < 0)
                        return false;
                i++;
        }
        *name_len = i - *name;
        while (i < end && is_space(unit_at(x, i)))
                i++;
        if (*name_len == 0 || i >= end || unit_at(x, i) != '=')
                return false;
        i++;
        while (i < end && is_space(unit_at(x, i)))
                i++;
        quote = i < end ? unit_at(x, i) : -1;
        if (quote != '"' && quote != '\'')
                return false;
        *val = ++i;
        while (i < end && (c = unit_at(x, i)) != quote) {
                if (c < 0 || !(g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_'))
                        return false;
                i++;
        }
        if (i >= end)
                return false;
        *val_len = i - *val;
        *pos = i + 1;
        return true;
}

static bool units_equal(const Units *x, size_t at, size_t n, const char *ascii)
{
        if (strlen(ascii) != n)
                return false;
        for (size_t k = 0; k < n; k++)
                if (unit_at(x, at + k) != ascii[k])
                        return false;
        return true;
}

static char *units_dup(const Units *x, size_t at, size_t n)
{
        char *s = g_malloc(n + 1);

        for (size_t k = 0; k < n; k++)
                s[k] = (char)unit_at(x, at + k);
        s[n] = '\0';
        return s;
}

/* The declaration's end: the unit index of its "?>", or 0 when there is none. */
static size_t decl_end(const Units *x, size_t from)
{
        for (size_t i = from; (i + 2) * x->width <= x->len; i++)
                if (unit_at(x, i) == '?' && unit_at(x, i + 1) == '>')
                        return i;
        return 0;
}

/* expat's doParseXmlDecl(): version first, then encoding, then standalone (yes or no). */
static bool parse_decl(const Units *x, DirectDecl *decl)
{
        size_t i = x->start + 5, end = decl_end(x, i), name, name_len, val, val_len;

        if (!end || !pseudo_attribute(x, &i, end, &name, &name_len, &val, &val_len) ||
            !units_equal(x, name, name_len, "version"))
                return false;
        if (!units_equal(x, val, val_len, "1.0")) {
                decl->version_start = val * x->width;
                decl->version_end = (val + val_len) * x->width;
                memset(decl->version_shown, 0, sizeof(decl->version_shown));
                for (size_t k = 0; k < 3; k++)
                        decl->version_shown[k * x->width + x->lo] = "1.0"[k];
                decl->version_shown_len = 3 * x->width;
        }
        if (!pseudo_attribute(x, &i, end, &name, &name_len, &val, &val_len))
                return false;
        if (name_len == 0)
                return true;
        if (units_equal(x, name, name_len, "encoding")) {
                if (val_len == 0 || !g_ascii_isalpha(unit_at(x, val)))
                        return false;
                decl->encoding = units_dup(x, val, val_len);
                if (!pseudo_attribute(x, &i, end, &name, &name_len, &val, &val_len))
                        return false;
                if (name_len == 0)
                        return true;
        }
        if (!units_equal(x, name, name_len, "standalone") ||
            !(units_equal(x, val, val_len, "yes") || units_equal(x, val, val_len, "no")))
                return false;
        while (i < end && is_space(unit_at(x, i)))
                i++;
        return i == end;
}

/* A name as Python's codec registry normalises it (_Py_normalize_encoding()): lower case, each
 * run of other characters than letters, digits and '.' one '_', none at either end. */
static char *python_codec_name(const char *name)
{
        GString *n = g_string_new(NULL);
        bool punct = false;

        for (const char *p = name; *p; p++) {
                if (g_ascii_isalnum(*p) || *p == '.') {
                        if (punct && n->len)
                                g_string_append_c(n, '_');
                        g_string_append_c(n, g_ascii_tolower(*p));
                        punct = false;
                } else {
                        punct = true;
                }
        }
        return g_string_free(n, FALSE);
}

static bool codec_in(const char *n, const char *const *list)
{
        g_autofree char *dots = g_strdelimit(g_strdup(n), ".", '_');

        for (size_t i = 0; list[i]; i++)
                if (strcmp(n, list[i]) == 0 || strcmp(dots, list[i]) == 0)
                        return true;
        return false;
}

/* Python 3.11's codecs (encodings.aliases) for the names expat does not decode itself. */
static const char *const py_utf8[] = {"utf_8", "cp65001",   "u8",        "utf",
                                      "utf8",  "utf8_ucs2", "utf8_ucs4", NULL};
static const char *const py_ascii[] = {
        "ascii",    "646",    "ansi_x3.4_1968", "ansi_x3.4_1986",   "ansi_x3_4_1968", "cp367",
        "csascii",  "ibm367", "iso646_us",      "iso_646.irv_1991", "iso_ir_6",       "us",
        "us_ascii", NULL};
static const char *const py_latin1[] = {"latin_1",         "8859",       "cp819",     "csisolatin1",
                                        "ibm819",          "iso8859",    "iso8859_1", "iso_8859_1",
                                        "iso_8859_1_1987", "iso_ir_100", "l1",        "latin",
                                        "latin1",          NULL};

#define NOT_SUPPORTED "encoding \"%s\" is not supported (use UTF-8; firewalld writes UTF-8)"
#define INCORRECT "Not a valid file: encoding specified in XML declaration is incorrect"

/* The charset of a declared name: expat's own names, then Python's. */
static int decide_charset(const Units *x, DirectDecl *decl, char **ret_message)
{
        const char *e = decl->encoding;
        g_autofree char *py = NULL;

        if (x->width == 2) {
                decl->charset = x->lo ? DIRECT_CHARSET_UTF16BE : DIRECT_CHARSET_UTF16LE;
                if (!e || g_ascii_strcasecmp(e, "UTF-16") == 0 ||
                    g_ascii_strcasecmp(e, x->lo ? "UTF-16BE" : "UTF-16LE") == 0)
                        return 0;
                *ret_message = g_strdup(INCORRECT);
                return -EINVAL;
        }
        decl->charset = DIRECT_CHARSET_UTF8;
        if (!e || g_ascii_strcasecmp(e, "UTF-8") == 0)
                return 0;
        if (g_ascii_strncasecmp(e, "UTF-16", 6) == 0 &&
            (!e[6] || g_ascii_strcasecmp(e + 6, "BE") == 0 ||
             g_ascii_strcasecmp(e + 6, "LE") == 0)) {
                *ret_message = g_strdup(INCORRECT);
                return -EINVAL;
        }
        py = python_codec_name(e);
        if (g_ascii_strcasecmp(e, "ISO-8859-1") == 0 || codec_in(py, py_latin1)) {
                decl->charset = DIRECT_CHARSET_LATIN1;
                return 0;
        }
        if (g_ascii_strcasecmp(e, "US-ASCII") == 0 || codec_in(py, py_ascii) ||
            codec_in(py, py_utf8)) {
                decl->charset = DIRECT_CHARSET_ASCII;
                return 0;
        }
        *ret_message = g_strdup_printf(NOT_SUPPORTED, e);
        return -EINVAL;
}

/* expat reads an ASCII-only encoding's bytes above 0x7F as invalid tokens. */
static int check_ascii(const Units *x, const DirectDecl *decl, char **ret_message,
                       unsigned *ret_line)
{
        unsigned line = 1;

        for (size_t i = x->start; i < x->len; i++) {
                if (x->data[i] == '\n' ||
                    (x->data[i] == '\r' && (i + 1 == x->len || x->data[i + 1] != '\n')))
                        line++;
                if (x->data[i] >= 0x80) {
                        *ret_line = line;
                        *ret_message = g_strdup_printf("Not a valid file: not well-formed "
                                                       "(invalid token): encoding \"%s\" "
                                                       "allows ASCII only",
                                                       decl->encoding);
                        return -EINVAL;
                }
        }
        return 0;
}

int direct_decl_read(const char *data, size_t len, DirectDecl *ret, char **ret_message,
                     unsigned *ret_line)
{
        Units x = detect_units(data, len);
        int r;

        *ret = (DirectDecl){.bom = x.start > 0};
        *ret_line = 1;
        /* "<?xml" and a space: a declaration (a PI named otherwise, like xml-stylesheet, is not) */
        if (units_equal(&x, x.start, 5, "<?xml") && is_space(unit_at(&x, x.start + 5)) &&
            !parse_decl(&x, ret)) {
                direct_decl_clear(ret);
                *ret_message = g_strdup("Not a valid file: XML declaration not well-formed");
                return -EINVAL;
        }
        r = decide_charset(&x, ret, ret_message);
        /* libxml2 drops an odd last byte of UTF-16 where expat reports it */
        if (r == 0 && x.width == 2 && x.len % 2 != 0) {
                *ret_message = g_strdup("Not a valid file: unclosed token (an odd number of bytes "
                                        "in UTF-16)");
                r = -EINVAL;
        }
        if (r == 0 && ret->charset == DIRECT_CHARSET_ASCII)
                r = check_ascii(&x, ret, ret_message, ret_line);
        if (r < 0)
                direct_decl_clear(ret);
        return r;
}

void direct_decl_clear(DirectDecl *decl)
{
        g_free(decl->encoding);
        *decl = (DirectDecl){0};
}
