/* SPDX-License-Identifier: MIT */
/* Private helpers shared by the library modules: cleanup attributes, fault points, small utils. */
#pragma once

#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/ruleset.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwRuleset, tpfw_ruleset_free)

static inline void tpfw_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ __attribute__((cleanup(tpfw_closep)))

static inline void tpfw_strv_freep(char ***p)
{
        g_strfreev(*p);
}
#define _cleanup_strv_ __attribute__((cleanup(tpfw_strv_freep)))

/*
 * Fault points for tests (issue: fault injection). Compiled out of normal builds; in builds with
 * -DTPFW_FAULT_INJECTION, TPFW_FAULT_FAIL=<point> makes tpfw_fault() return -EIO and
 * TPFW_FAULT_CRASH=<point> kills the process with SIGKILL at that point; TPFW_FAULT_STOP=<point>
 * stops it (SIGSTOP) there until the test sends SIGCONT. All take a comma-separated list;
 * "<point>@N" fires at the Nth hit of that point only.
 */
#ifdef TPFW_FAULT_INJECTION
int tpfw_fault(const char *point);
#else
static inline int tpfw_fault(const char *point)
{
        (void)point;
        return 0;
}
#endif
