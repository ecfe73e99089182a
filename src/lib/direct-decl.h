/* SPDX-License-Identifier: MIT */
/* direct.xml: the XML declaration and the encoding, decided as firewalld's expat decides them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

typedef enum DirectCharset {
        DIRECT_CHARSET_UTF8,    /* declared UTF-8, or nothing declared */
        DIRECT_CHARSET_ASCII,   /* a name expat leaves to Python, which reads it as ASCII only */
        DIRECT_CHARSET_LATIN1,  /* ISO-8859-1 or one of Python's names for it */
        DIRECT_CHARSET_UTF16LE, /* detected from the first bytes, as expat does */
        DIRECT_CHARSET_UTF16BE,
} DirectCharset;

/* The XML declaration at the start of a file, read the way expat reads it. */
typedef struct DirectDecl {
        DirectCharset charset;
        bool bom;       /* the file starts with a byte order mark */
        char *encoding; /* the declared name, or NULL (g_free) */
        /* the version value's bytes when it is not "1.0" (libxml2 is shown "1.0" in its place:
         * version_shown, version_shown_len bytes in the file's code units); else both 0 */
        size_t version_start, version_end;
        char version_shown[6];
        size_t version_shown_len;
} DirectDecl;

/*
 * Reads the XML declaration of data (if it has one) and decides its encoding as expat and
 * Python's decoder for the names expat does not know would. Returns 0, or -EINVAL with
 * *ret_message (g_free; firewalld's wording where firewalld refuses the file too) and *ret_line.
 */
int direct_decl_read(const char *data, size_t len, DirectDecl *ret, char **ret_message,
                     unsigned *ret_line);

void direct_decl_clear(DirectDecl *decl);

#pragma GCC visibility pop
