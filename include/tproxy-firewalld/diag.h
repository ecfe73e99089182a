/* SPDX-License-Identifier: MIT */
/* Diagnostics: where and why an operation failed, filled by the library, printed by callers. */
#pragma once

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A diagnostic names the file and line a failure refers to and says what went wrong in one line.
 * Library functions take a "TpfwDiag *diag" that may be NULL; on failure they return -errno and,
 * when diag is not NULL, fill it. Strings are owned by the diag; release with tpfw_diag_clear().
 */
typedef struct TpfwDiag {
        char *file;    /* path or name of the input, or NULL */
        unsigned line; /* 1-based line, 0 when not applicable */
        char *message; /* one line, no trailing newline, or NULL when nothing was reported */
} TpfwDiag;

#define TPFW_DIAG_INIT                                                                             \
        {                                                                                          \
                NULL, 0, NULL                                                                      \
        }

/* Frees the strings and resets *diag to TPFW_DIAG_INIT. NULL is accepted. */
void tpfw_diag_clear(TpfwDiag *diag);

/*
 * Replaces the contents of diag (which may be NULL) and returns -abs(err), or -EINVAL when err
 * is 0, so callers can write "return tpfw_diag_set(diag, EINVAL, path, line, "...")".
 */
int tpfw_diag_set(TpfwDiag *diag, int err, const char *file, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
int tpfw_diag_setv(TpfwDiag *diag, int err, const char *file, unsigned line, const char *fmt,
                   va_list ap) __attribute__((format(printf, 5, 0)));

/*
 * Prepends "PREFIX: " to the message (for callers adding context). No-op when diag or its
 * message is NULL.
 */
void tpfw_diag_prefix(TpfwDiag *diag, const char *prefix);

/*
 * Returns "file:line: message", "file: message" or "message" (newly allocated, free with free()),
 * or NULL when diag holds no message.
 */
char *tpfw_diag_format(const TpfwDiag *diag);

#ifdef __cplusplus
}
#endif
