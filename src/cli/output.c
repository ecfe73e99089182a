/* SPDX-License-Identifier: MIT */
/* What the user sees: errors and notes on stderr, one JSON object on stdout, --verbose steps. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"

/* The last error line, so that --json can carry it in the command's object. */
static char *last_error;

const char *cli_last_error(void)
{
        return last_error;
}

static void remember_error(char *msg)
{
        g_free(last_error);
        last_error = msg;
}

void cli_json_begin(TpfwJsonWriter *w)
{
        tpfw_json_writer_init(w, 0);
        tpfw_json_begin_object(w);
}

void cli_json_end(CliGlobal *g, TpfwJsonWriter *w, const char *error)
{
        g_autofree char *text = NULL;

        tpfw_json_member_string_or_null(w, "error", error);
        tpfw_json_end_object(w);
        text = tpfw_json_writer_finish(w);
        printf("%s\n", text);
        g->json_printed = true;
}

void cli_json_error_fallback(CliGlobal *g)
{
        TpfwJsonWriter w;

        if (!g->json || g->json_printed)
                return;
        cli_json_begin(&w);
        cli_json_end(g, &w, last_error ? last_error : "failed (details on standard error)");
}

void cli_error(const TpfwDiag *diag, const char *fallback)
{
        g_autofree char *msg = tpfw_diag_format(diag);

        fprintf(stderr, "tproxy-firewalld: %s\n", msg ? msg : fallback);
        remember_error(g_strdup(msg ? msg : fallback));
}

void cli_errorf(const char *fmt, ...)
{
        va_list ap;
        char *msg;

        va_start(ap, fmt);
        msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        fprintf(stderr, "tproxy-firewalld: %s\n", msg);
        remember_error(msg);
}

static void vnote(const char *fmt, va_list ap)
{
        fputs("tproxy-firewalld: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

void cli_warnf(const CliGlobal *g, const char *fmt, ...)
{
        va_list ap;

        if (g->quiet)
                return;
        va_start(ap, fmt);
        vnote(fmt, ap);
        va_end(ap);
}

void cli_verbosef(const CliGlobal *g, const char *fmt, ...)
{
        va_list ap;

        if (!g->verbose || g->quiet)
                return;
        va_start(ap, fmt);
        vnote(fmt, ap);
        va_end(ap);
}

void cli_print_step(const char *step, const char *detail, uint64_t usec, void *userdata)
{
        const CliGlobal *g = userdata;

        if (detail)
                cli_verbosef(g, "%s: %.1f ms (%s)", step, (double)usec / 1000.0, detail);
        else
                cli_verbosef(g, "%s: %.1f ms", step, (double)usec / 1000.0);
}

void cli_step_since(const CliGlobal *g, const char *step, const char *detail, gint64 start)
{
        gint64 usec = g_get_monotonic_time() - start;

        cli_print_step(step, detail, (uint64_t)(usec > 0 ? usec : 0), (void *)g);
}
