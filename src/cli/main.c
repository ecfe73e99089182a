/* SPDX-License-Identifier: MIT */
/* tproxy-firewalld: global options and the verb table; each command lives in its own file. */
#include <dbus/dbus.h>
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include <tproxy-firewalld/libraries.h>

#include "cli.h"

extern char **environ;

static const struct {
        const char *name;
        CliVerbFunc func;
        const char *summary;
        bool detailed_native; /* computes its own --detailed-exitcodes status */
} verbs[] = {
        {"install", cmd_install, "merge the owner's rules into direct.xml, reload, verify", true},
        {"uninstall", cmd_uninstall, "remove the owner's entries, reload, verify", true},
        {"generate", cmd_generate, "print the ruleset (direct-xml, iptables-restore or json)",
         false},
        {"diff", cmd_diff, "show what install (or uninstall with --uninstall) would change", false},
        {"status", cmd_status, "compare the owner's entries on disk, in firewalld and desired",
         false},
        {"validate", cmd_validate, "check a direct.xml as firewalld would", false},
        {"reload", cmd_reload, "reload firewalld and report its state", false},
        {"list-owners", cmd_list_owners, "list the owners in direct.xml with entry counts", false},
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
        fprintf(f, "  %-12s %s\n", "help", "this text, or a command's with help COMMAND");
        fprintf(f, "\n"
                   "Global options (before or after the command):\n"
                   "  --firewalld-dir DIR   firewalld configuration directory (default "
                   "/etc/firewalld)\n"
                   "  --owner NAME          owner of the entries (default kuma; "
                   "[a-z0-9][a-z0-9._-]{0,31})\n"
                   "  --json                one JSON object on stdout (errors included)\n"
                   "  -q, --quiet           print errors only\n"
                   "  --verbose             print each step and its duration, and more detail\n"
                   "  --timeout SECONDS     D-Bus call and lock timeout (default 30)\n"
                   "  --detailed-exitcodes  0 no change, 2 changed, 4 failed, 6 changed and "
                   "failed\n"
                   "  -h, --help            this text\n"
                   "  -V, --version         version and the libraries it was built with\n"
                   "\n"
                   "Exit status: 0 success, 1 failure, 2 usage error, 3 drift (diff, status).\n"
                   "Run 'tproxy-firewalld help COMMAND' for a command's options; see "
                   "tproxy-firewalld(8).\n");
}

static void version(void)
{
        /* xmlParserVersion is "20914" for 2.9.14 */
        long xml = strtol(xmlParserVersion, NULL, 10);

        printf("tproxy-firewalld %s\n", TPFW_VERSION);
        printf("built with: libxml2 %s (running %ld.%ld.%ld), libdbus-1 %s, GLib %d.%d.%d "
               "(running %u.%u.%u), libyaml %s\n",
               LIBXML_DOTTED_VERSION, xml / 10000, xml / 100 % 100, xml % 100, DBUS_VERSION_STRING,
               GLIB_MAJOR_VERSION, GLIB_MINOR_VERSION, GLIB_MICRO_VERSION, glib_major_version,
               glib_minor_version, glib_micro_version, TPFW_LIBYAML_VERSION);
}

static const char *const *verb_names(void)
{
        static const char *names[G_N_ELEMENTS(verbs) + 2];

        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
                names[i] = verbs[i].name;
        names[G_N_ELEMENTS(verbs)] = "help";
        return names;
}

static ssize_t verb_lookup(const char *name)
{
        for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++)
                if (strcmp(name, verbs[i].name) == 0)
                        return (ssize_t)i;
        return -1;
}

static int unknown_command(const char *name)
{
        const char *near = cli_nearest(name, verb_names());

        if (near)
                cli_errorf("unknown command '%s' (did you mean %s?)", name, near);
        else
                cli_errorf("unknown command '%s'", name);
        fprintf(stderr, "Try 'tproxy-firewalld --help'.\n");
        return EXIT_USAGE;
}

/* "help [COMMAND]": the command's --help. */
static int help(CliGlobal *g, int argc, char **argv)
{
        char *args[] = {NULL, (char *)"--help", NULL};
        ssize_t v;

        if (argc < 2) {
                usage(stdout);
                return EXIT_OK;
        }
        if (argc > 2) {
                cli_errorf("help: takes one COMMAND at most");
                return EXIT_USAGE;
        }
        if (strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return EXIT_OK;
        }
        v = verb_lookup(argv[1]);
        if (v < 0)
                return unknown_command(argv[1]);
        args[0] = argv[1];
        g->command = verbs[v].name;
        return verbs[v].func(g, 2, args);
}

/*
 * --json and --detailed-exitcodes decide how any error is reported, including one found before
 * the option itself is parsed: look for them first.
 */
static void prescan(CliGlobal *g, int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        g->json = true;
                else if (strcmp(argv[i], "--detailed-exitcodes") == 0)
                        g->detailed = true;
                else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
                        g->quiet = true;
        }
}

/* Parses the global options before the command; returns -1 to go on, else an exit code. */
static int parse_globals(CliGlobal *g, int argc, char **argv, int *i)
{
        for (; *i < argc && argv[*i][0] == '-' && argv[*i][1] != '\0'; ++*i) {
                const char *arg = argv[*i];
                int r;

                if (cli_is_help(arg)) {
                        usage(stdout);
                        return EXIT_OK;
                }
                if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
                        version();
                        return EXIT_OK;
                }
                r = cli_take_global(g, argc, argv, i, false);
                if (r < 0)
                        return EXIT_USAGE;
                if (r == 0) {
                        g_autoptr(GPtrArray) all = g_ptr_array_new();
                        const char *near;

                        for (const char *const *n = cli_global_names(); *n; n++)
                                g_ptr_array_add(all, (gpointer)*n);
                        g_ptr_array_add(all, (gpointer) "--version");
                        g_ptr_array_add(all, NULL);
                        near = cli_nearest(arg, (const char *const *)all->pdata);
                        if (near)
                                cli_errorf("unknown global option '%s' (did you mean %s?)", arg,
                                           near);
                        else
                                cli_errorf("unknown global option '%s'", arg);
                        fprintf(stderr, "Try 'tproxy-firewalld --help'.\n");
                        return EXIT_USAGE;
                }
        }
        return -1;
}

/* Puppet's convention for the commands that do not compute it themselves. */
static int detailed_code(int code)
{
        switch (code) {
        case EXIT_OK:
                return EXIT_OK;
        case EXIT_DRIFT:
                return EXIT_DETAILED_CHANGED;
        default:
                return EXIT_DETAILED_FAILED;
        }
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
        CliGlobal g = {
                .firewalld_dir = TPFW_DEFAULT_FIREWALLD_DIR,
                .owner = TPFW_DEFAULT_OWNER,
                .timeout_ms = 30000,
                .envp = environ,
                .command = "tproxy-firewalld",
        };
        const char *env_dir = getenv("TPROXY_FIREWALLD_DIR");
        bool native = false;
        int i = 1, code;
        ssize_t v;

        if (env_dir && *env_dir)
                g.firewalld_dir = env_dir;
        prescan(&g, argc, argv);
        code = parse_globals(&g, argc, argv, &i);
        if (code < 0) {
                g.verbose_flag = g.verbose;
                if (i >= argc) {
                        usage(stderr);
                        cli_errorf("no command given");
                        code = EXIT_USAGE;
                } else if (strcmp(argv[i], "help") == 0) {
                        g.command = "help";
                        code = help(&g, argc - i, argv + i);
                } else if ((v = verb_lookup(argv[i])) < 0) {
                        code = unknown_command(argv[i]);
                } else if (!libraries_fit()) {
                        code = EXIT_FAIL;
                } else {
                        g.command = verbs[v].name;
                        native = verbs[v].detailed_native;
                        code = verbs[v].func(&g, argc - i, argv + i);
                }
        }
        if (code != EXIT_OK)
                cli_json_error_fallback(&g);
        if (g.detailed && !native)
                code = detailed_code(code);
        return code;
}
