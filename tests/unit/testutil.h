/* SPDX-License-Identifier: MIT */
/* Shared helpers for the cmocka unit tests: fixture paths and file reading. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <stdlib.h>

/* Absolute path of a file below the source tree (TPFW_SRCDIR). Free with g_free(). */
static inline char *test_srcpath(const char *rel)
{
        const char *top = getenv("TPFW_SRCDIR");

        return g_build_filename(top ? top : TPFW_SRCDIR, rel, NULL);
}

/* Reads a file below the source tree; fails the test when it cannot. Free with g_free(). */
static inline char *test_read_fixture(const char *rel, size_t *ret_len)
{
        g_autofree char *path = test_srcpath(rel);
        char *data = NULL;
        gsize len = 0;

        if (!g_file_get_contents(path, &data, &len, NULL))
                fail_msg("cannot read fixture %s", path);
        if (ret_len)
                *ret_len = len;
        return data;
}
