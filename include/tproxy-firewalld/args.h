/* SPDX-License-Identifier: MIT */
/* Argument strings split and joined exactly as firewalld does (Python shlex, POSIX mode). */
#pragma once

#include <stddef.h>

#include <tproxy-firewalld/diag.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Splits text like Python's shlex.split(text) (firewalld's splitArgs). Separators are SPACE, TAB,
 * CR and LF only. Returns 0 and a NULL-terminated argv in *ret_argv (free with tpfw_strv_free()),
 * or -EINVAL with "No closing quotation" / "No escaped character" in diag. Text that is empty or
 * only whitespace gives an empty argv (ret_argv[0] == NULL).
 */
int tpfw_args_split(const char *text, char ***ret_argv, TpfwDiag *diag);

/*
 * Quotes one argument like Python 3.11's shlex.quote(): unchanged when it is non-empty and made of
 * [A-Za-z0-9_@%+=:,./-] only, else wrapped in '...' with each ' written as '"'"'.
 * Returns a newly allocated string (free with free()), or NULL when out of memory.
 */
char *tpfw_args_quote(const char *arg);

/*
 * Joins argv like firewalld's joinArgs(): " ".join(shlex.quote(a) for a in argv).
 * Returns a newly allocated string (free with free()); an empty argv gives "".
 */
char *tpfw_args_join(const char *const *argv);

/* Number of elements of a NULL-terminated argv. */
size_t tpfw_strv_length(const char *const *argv);
/* Deep copy of a NULL-terminated argv (NULL gives NULL). Free with tpfw_strv_free(). */
char **tpfw_strv_copy(const char *const *argv);
/* Element-wise equality; two NULLs are equal. */
int tpfw_strv_equal(const char *const *a, const char *const *b);
/* Frees a NULL-terminated argv and its strings. NULL is accepted. */
void tpfw_strv_free(char **argv);

#ifdef __cplusplus
}
#endif
