/* SPDX-License-Identifier: MIT */
/* Diagnostics: file, line and one-line message for failures reported by the library. */
#include <stdio.h>
#include <string.h>

#include "util.h"

void tpfw_diag_clear(TpfwDiag *diag)
{
        if (!diag)
                return;
        g_free(diag->file);
        g_free(diag->message);
        *diag = (TpfwDiag)TPFW_DIAG_INIT;
}

int tpfw_diag_setv(TpfwDiag *diag, int err, const char *file, unsigned line, const char *fmt,
                   va_list ap)
{
        int ret = err == 0 ? -EINVAL : -abs(err);

        if (!diag)
                return ret;
        tpfw_diag_clear(diag);
        diag->file = g_strdup(file);
        diag->line = line;
        diag->message = g_strdup_vprintf(fmt, ap);
        return ret;
}

int tpfw_diag_set(TpfwDiag *diag, int err, const char *file, unsigned line, const char *fmt, ...)
{
        va_list ap;
        int ret;

        va_start(ap, fmt);
        ret = tpfw_diag_setv(diag, err, file, line, fmt, ap);
        va_end(ap);
        return ret;
}

void tpfw_diag_prefix(TpfwDiag *diag, const char *prefix)
{
        char *m;

        if (!diag || !diag->message || !prefix)
                return;
        m = g_strdup_printf("%s: %s", prefix, diag->message);
        g_free(diag->message);
        diag->message = m;
}

char *tpfw_diag_format(const TpfwDiag *diag)
{
        if (!diag || !diag->message)
                return NULL;
        if (diag->file && diag->line)
                return g_strdup_printf("%s:%u: %s", diag->file, diag->line, diag->message);
        if (diag->file)
                return g_strdup_printf("%s: %s", diag->file, diag->message);
        return g_strdup(diag->message);
}

#ifdef TPFW_FAULT_INJECTION
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

/*
 * spec is a comma-separated list of "point" (every hit) or "point@N" (the Nth hit only, from 1),
 * so a test can reach the rollback's own write ("rename@2") behind an injected failure
 * ("verify"). hits is the number of times point has been reached, this one included.
 */
static bool fault_matches(const char *spec, const char *point, unsigned hits)
{
        size_t plen = strlen(point);

        while (spec && *spec) {
                const char *end = strchrnul(spec, ',');

                if ((size_t)(end - spec) >= plen && strncmp(spec, point, plen) == 0) {
                        const char *rest = spec + plen;

                        if (rest == end)
                                return true;
                        if (*rest == '@' && strtoul(rest + 1, NULL, 10) == hits)
                                return true;
                }
                spec = *end ? end + 1 : end;
        }
        return false;
}

int tpfw_fault(const char *point)
{
        static struct {
                const char *point;
                unsigned hits;
        } counters[32];
        unsigned hits = 0;

        /* points are string literals: compare by content, count per name */
        for (size_t i = 0; i < G_N_ELEMENTS(counters); i++) {
                if (!counters[i].point || strcmp(counters[i].point, point) == 0) {
                        counters[i].point = point;
                        hits = ++counters[i].hits;
                        break;
                }
        }
        if (fault_matches(getenv("TPFW_FAULT_CRASH"), point, hits))
                raise(SIGKILL);
        if (fault_matches(getenv("TPFW_FAULT_STOP"), point, hits))
                raise(SIGSTOP); /* the test acts, then SIGCONTs */
        if (fault_matches(getenv("TPFW_FAULT_FAIL"), point, hits))
                return -EIO;
        return 0;
}
#endif
