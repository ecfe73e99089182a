/* SPDX-License-Identifier: MIT */
/* Option parsing shared by the commands: global options anywhere, values, "did you mean". */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The global options, accepted before and after the command. */
static const char *const global_names[] = {
        "--firewalld-dir",      "--owner", "--json", "--quiet", "-q", "--verbose", "--timeout",
        "--detailed-exitcodes", "--help",  "-h",     NULL,
};

const char *const *cli_global_names(void)
{
        return global_names;
}

bool cli_opt_is(const char *arg, const char *name, const char **value)
{
        size_t n = strlen(name);

        if (strncmp(arg, name, n) != 0)
                return false;
        if (arg[n] == '\0') {
                if (value)
                        *value = NULL;
                return true;
        }
        if (arg[n] == '=' && value) {
                *value = arg + n + 1;
                return true;
        }
        return false;
}

const char *cli_opt_value(const char *arg, const char *inline_value, int argc, char **argv, int *i)
{
        if (inline_value)
                return inline_value;
        if (*i + 1 >= argc) {
                cli_errorf("option %s needs a value", arg);
                return NULL;
        }
        return argv[++*i];
}

static int take_timeout(CliGlobal *g, const char *value)
{
        char *end;
        double s = strtod(value, &end);

        if (*value == '\0' || *end != '\0' || !(s > 0) || s > 86400) {
                cli_errorf("--timeout: invalid number of seconds '%s' (expected 0 < SECONDS <= "
                           "86400)",
                           value);
                return -1;
        }
        g->timeout_ms = (int)(s * 1000);
        return 1;
}

int cli_take_global(CliGlobal *g, int argc, char **argv, int *i, bool kuma_verbose)
{
        const char *arg = argv[*i], *v = NULL;

        if (cli_opt_is(arg, "--firewalld-dir", &v) || cli_opt_is(arg, "--owner", &v) ||
            cli_opt_is(arg, "--timeout", &v)) {
                const char *value = cli_opt_value(arg, v, argc, argv, i);

                if (!value)
                        return -1;
                if (arg[2] == 'f')
                        g->firewalld_dir = value;
                else if (arg[2] == 'o')
                        g->owner = value;
                else
                        return take_timeout(g, value);
                return 1;
        }
        if (strcmp(arg, "--json") == 0)
                g->json = true;
        else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0)
                g->quiet = true;
        else if (strcmp(arg, "--detailed-exitcodes") == 0)
                g->detailed = true;
        else if (strcmp(arg, "--verbose") == 0 && !kuma_verbose)
                g->verbose = true;
        else
                return 0;
        return 1;
}

int cli_check_global(const CliGlobal *g)
{
        if (!tpfw_owner_name_is_valid(g->owner)) {
                cli_errorf("invalid owner name '%s' (expected [a-z0-9][a-z0-9._-]{0,31})",
                           g->owner);
                return EXIT_USAGE;
        }
        if (!*g->firewalld_dir) {
                cli_errorf("--firewalld-dir: empty directory name");
                return EXIT_USAGE;
        }
        return EXIT_OK;
}

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions). */
static size_t edit_distance(const char *a, const char *b)
{
        size_t n = strlen(a), m = strlen(b);
        g_autofree size_t *d = g_new(size_t, (n + 1) * (m + 1));

#define D(i, j) d[(i) * (m + 1) + (j)]
        for (size_t i = 0; i <= n; i++)
                D(i, 0) = i;
        for (size_t j = 0; j <= m; j++)
                D(0, j) = j;
        for (size_t i = 1; i <= n; i++)
                for (size_t j = 1; j <= m; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t best = MIN(D(i - 1, j) + 1, D(i, j - 1) + 1);

                        best = MIN(best, D(i - 1, j - 1) + cost);
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                best = MIN(best, D(i - 2, j - 2) + 1);
                        D(i, j) = best;
                }
        return D(n, m);
#undef D
}

const char *cli_nearest(const char *word, const char *const *candidates)
{
        const char *best = NULL;
        size_t best_d = SIZE_MAX, len = strlen(word);

        for (const char *const *c = candidates; c && *c; c++) {
                size_t d = edit_distance(word, *c);

                if (d < best_d) {
                        best_d = d;
                        best = *c;
                }
        }
        /* near enough: a typo or two, never half of the word */
        if (best && best_d > 0 && ((best_d <= 2 && best_d * 2 < len) || best_d * 3 <= len))
                return best;
        return NULL;
}

int cli_unknown_option(const CliGlobal *g, const char *arg, const char *const *names,
                       bool with_kuma)
{
        g_autoptr(GPtrArray) all = g_ptr_array_new();
        g_auto(GStrv) kuma = with_kuma ? tpfw_config_flag_names() : NULL;
        g_autofree char *name = g_strdup(arg);
        const char *near;
        char *eq = strchr(name, '=');

        if (eq && name[0] == '-')
                *eq = '\0';
        for (const char *const *n = global_names; *n; n++)
                g_ptr_array_add(all, (gpointer)*n);
        for (const char *const *n = names; n && *n; n++)
                g_ptr_array_add(all, (gpointer)*n);
        for (char **n = kuma; n && *n; n++)
                g_ptr_array_add(all, *n);
        g_ptr_array_add(all, NULL);
        near = arg[0] == '-' ? cli_nearest(name, (const char *const *)all->pdata) : NULL;
        if (arg[0] != '-')
                cli_errorf("%s: unexpected argument '%s'", g->command, arg);
        else if (near)
                cli_errorf("%s: unknown option '%s' (did you mean %s?)", g->command, name, near);
        else
                cli_errorf("%s: unknown option '%s'", g->command, name);
        fprintf(stderr, "Try 'tproxy-firewalld %s --help'.\n", g->command);
        return EXIT_USAGE;
}

bool cli_is_help(const char *arg)
{
        return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_parse_no_options(CliGlobal *g, int argc, char **argv, const char *help)
{
        for (int i = 1; i < argc; i++) {
                int r;

                if (cli_is_help(argv[i])) {
                        fputs(help, stdout);
                        return EXIT_OK;
                }
                r = cli_take_global(g, argc, argv, &i, false);
                if (r < 0)
                        return EXIT_USAGE;
                if (r == 0)
                        return cli_unknown_option(g, argv[i], NULL, false);
        }
        return cli_check_global(g) == EXIT_OK ? -1 : EXIT_USAGE;
}
