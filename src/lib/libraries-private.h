/* SPDX-License-Identifier: MIT */
/* libraries.c's comparison, for the unit tests. */
#pragma once

#include <tproxy-firewalld/diag.h>

#pragma GCC visibility push(hidden)

/*
 * 0 when a libxml2 of version running (LIBXML_VERSION's encoding: major * 10000 + minor * 100 +
 * micro) can stand in for compiled; otherwise -ELIBBAD and a diag naming both.
 */
int libxml_version_compatible(int compiled, int running, TpfwDiag *diag);

#pragma GCC visibility pop
