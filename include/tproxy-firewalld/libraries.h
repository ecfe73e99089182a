/* SPDX-License-Identifier: MIT */
/* The libraries the library is linked with: checks that the ones loaded fit the build. */
#pragma once

#include <tproxy-firewalld/diag.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Compares the libxml2 loaded at run time with the one the library was compiled against
 * (LIBXML_VERSION). The XML verdicts depend on the parser's behaviour, which changes between
 * minor releases, so a different major version or an older minor version than the build's is
 * refused. A newer minor version of the same major is compatible (libxml2 keeps its ABI there).
 * Returns 0, or -ELIBBAD with a diag naming both versions. Call once at start-up.
 */
int tpfw_libraries_check(TpfwDiag *diag);

#ifdef __cplusplus
}
#endif
