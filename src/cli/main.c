/* SPDX-License-Identifier: MIT */
/* tproxy-firewalld: global options and the verb table; each command lives in its own file. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <tproxy-firewalld/libraries.h>

#include "cli.h"

extern char **environ;

static const struct {
        const char *name;
        CliVerbFunc func;
        const char *summary;
} verbs[] = {
        {"install", cmd_install, "merge the owner's rules into direct.xml, reload, verify"},
        {"uninstall", cmd_uninstall, "remove the owner's entries, reload, verify"},
        {"generate", cmd_generate, "print the ruleset (direct-xml, iptables-restore or json)"},
        {"diff", cmd_diff, "show what install (or uninstall with --uninstall) would change"},
        {"status", cmd_status, "compare the owner's entries on disk, in firewalld and desired"},
        {"validate", cmd_validate, "check a direct.xml as firewalld would"},
        {"reload", cmd_reload, "reload firewalld and report its state"},
        {"list-owners", cmd_list_owners, "list the owners in direct.xml with entry counts"},
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: tproxy-firewalld [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
                   "\n"
                   "Persist transparent-proxy firewall rules in firewalld's direct.xml, under an "
                   "owner,\n"
                   "and remove them cleanly.\n"
                   "\n"
                   "Commands:\n");
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
                fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
        fprintf(f, "\n"
                   "Global options:\n"
                   "  --firewalld-dir DIR  firewalld configuration directory (default "
                   "/etc/firewalld)\n"
                   "  --owner NAME         owner of the entries (default kuma; "
                   "[a-z0-9][a-z0-9._-]{0,31})\n"
                   "  --json               one JSON object on stdout\n"
                   "  --quiet              print errors only\n"
                   "  --verbose            print more detail\n"
                   "  --timeout SECONDS    D-Bus call and lock timeout (default 30)\n"
                   "  --help, --version\n"
                   "\n"
                   "Run 'tproxy-firewalld COMMAND --help' for a command's options; see "
                   "tproxy-firewalld(8).\n");
}

void cli_print_json(TpfwJsonWriter *w)
{
        g_autofree char *text = tpfw_json_writer_finish(w);

        printf("%s\n", text);
}

void cli_error(const TpfwDiag *diag, const char *fallback)
{
        g_autofree char *msg = tpfw_diag_format(diag);

        fprintf(stderr, "tproxy-firewalld: %s\n", msg ? msg : fallback);
}

void cli_errorf(const char *fmt, ...)
{
        va_list ap;

        fputs("tproxy-firewalld: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

void cli_warnf(const CliGlobal *g, const char *fmt, ...)
{
        va_list ap;

        if (g->quiet)
                return;
        fputs("tproxy-firewalld: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
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

const char *cli_opt_value(const char *name, const char *inline_value, int argc, char **argv, int *i)
{
        if (inline_value)
                return inline_value;
        if (*i + 1 >= argc) {
                cli_errorf("option %s needs a value", name);
                return NULL;
        }
        return argv[++*i];
}

/* The libraries loaded must be the ones this build expects: said once, before any command. */
static bool libraries_fit(void)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        bool ok = tpfw_libraries_check(&diag) == 0;

        if (!ok)
                cli_error(&diag, "the libraries loaded do not fit this build");
        tpfw_diag_clear(&diag);
        return ok;
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"firewalld-dir", required_argument, NULL, 'd'},
                {"owner", required_argument, NULL, 'o'},
                {"json", no_argument, NULL, 'j'},
                {"quiet", no_argument, NULL, 'q'},
                {"verbose", no_argument, NULL, 'v'},
                {"timeout", required_argument, NULL, 't'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {},
        };
        CliGlobal g = {
                .firewalld_dir = TPFW_DEFAULT_FIREWALLD_DIR,
                .owner = TPFW_DEFAULT_OWNER,
                .timeout_ms = 30000,
                .envp = environ,
        };
        const char *env_dir = getenv("TPROXY_FIREWALLD_DIR");
        int c;

        if (env_dir && *env_dir)
                g.firewalld_dir = env_dir;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
                switch (c) {
                case 'd':
                        g.firewalld_dir = optarg;
                        break;
                case 'o':
                        g.owner = optarg;
                        break;
                case 'j':
                        g.json = true;
                        break;
                case 'q':
                        g.quiet = true;
                        break;
                case 'v':
                        g.verbose = true;
                        break;
                case 't': {
                        char *end;
                        double s = strtod(optarg, &end);
                        if (*optarg == '\0' || *end != '\0' || !(s > 0) || s > 86400) {
                                cli_errorf("--timeout: invalid number of seconds '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        g.timeout_ms = (int)(s * 1000);
                        break;
                }
                case 'h':
                        usage(stdout);
                        return EXIT_OK;
                case 'V':
                        printf("tproxy-firewalld %s\n", TPFW_VERSION);
                        return EXIT_OK;
                default:
                        if (optopt)
                                cli_errorf("unknown or incomplete global option '-%c'", optopt);
                        else
                                cli_errorf("unknown or incomplete global option '%s'",
                                           argv[optind - 1]);
                        fprintf(stderr, "Try 'tproxy-firewalld --help'.\n");
                        return EXIT_USAGE;
                }
        }
        if (!tpfw_owner_name_is_valid(g.owner)) {
                cli_errorf("invalid owner name '%s' (expected [a-z0-9][a-z0-9._-]{0,31})", g.owner);
                return EXIT_USAGE;
        }
        if (optind >= argc) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (!libraries_fit())
                return EXIT_FAIL;
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
                if (strcmp(argv[optind], verbs[i].name) == 0)
                        return verbs[i].func(&g, argc - optind, argv + optind);
        cli_errorf("unknown command '%s'", argv[optind]);
        fprintf(stderr, "Try 'tproxy-firewalld --help'.\n");
        return EXIT_USAGE;
}
