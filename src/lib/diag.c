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

int tpfw_fault(const char *point)
{
        const char *v;

        v = getenv("TPFW_FAULT_CRASH");
        if (v && strcmp(v, point) == 0)
                raise(SIGKILL);
        v = getenv("TPFW_FAULT_FAIL");
        if (v && strcmp(v, point) == 0)
                return -EIO;
        return 0;
}
#endif
