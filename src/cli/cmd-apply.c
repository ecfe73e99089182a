/* SPDX-License-Identifier: MIT */
/* install, uninstall and diff: one transaction (tpfw_apply), three ways to report it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tproxy-firewalld/direct.h>

#include "cli.h"

typedef enum { MODE_INSTALL, MODE_UNINSTALL, MODE_DIFF } ApplyMode;

typedef struct {
        bool check, diff, no_reload, require_running, runtime_only, follow_symlink;
        bool adopt, adopt_kuma_legacy, uninstall, fix_ipv6_redirect;
        TpfwReloadMode reload_mode;
} ApplyFlags;

static void apply_usage(ApplyMode mode)
{
        if (mode == MODE_UNINSTALL)
                printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] uninstall [OPTIONS]\n"
                       "\n"
                       "Remove every entry of the owner from direct.xml and from the running "
                       "firewalld\n"
                       "(no reload unless --reload-mode full), verify.\n"
                       "With --adopt-kuma-legacy, Kuma's rule options say which unmarked "
                       "rules are Kuma's.\n");
        else if (mode == MODE_DIFF)
                printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] diff [--uninstall] [RULE "
                       "OPTIONS]\n"
                       "\n"
                       "Print the unified diff install (or uninstall) would make; change nothing.\n"
                       "Exit status 0: no difference, 1: error, 3: there is a difference.\n");
        else
                printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] install [OPTIONS] [RULE OPTIONS]\n"
                       "\n"
                       "Merge the owner's rules into direct.xml, apply them to the running "
                       "firewalld\n"
                       "(no reload unless --reload-mode full), verify, and roll back when "
                       "firewalld\n"
                       "rejects them.\n"
                       "The rules come from the Kuma options below (as for 'kumactl install\n"
                       "transparent-proxy') or from an iptables-restore script "
                       "(--from-iptables-restore).\n");
        printf("\n"
               "Options:\n"
               "  --check, --dry-run[=BOOL]   compute and report, change nothing (--dry-run is "
               "Kuma's:\n"
               "                              KUMA_TRANSPARENT_PROXY_DRY_RUN, dryRun)\n"
               "  --diff                      print the unified diff of direct.xml\n"
               "  --detailed-exitcodes        0 no change, 2 changed, 4 failed, 6 changed and "
               "failed\n"
               "  --no-reload                 write direct.xml only (beats a storeFirewalld=false "
               "from\n"
               "                              the environment or a config file)\n"
               "  --require-running           fail when firewalld is not running\n"
               "  --runtime-only              apply through firewalld's runtime API, not the file\n"
               "  --reload-mode delta|full    delta (default): change only the owner's entries in\n"
               "                              the running firewalld, no reload; full: reload\n"
               "                              firewalld, which wipes every runtime-only change\n"
               "  --store-firewalld[=BOOL]    Kuma's: false means --runtime-only "
               "(KUMA_TRANSPARENT_PROXY_STORE_FIREWALLD)\n"
               "  --follow-symlink            accept a direct.xml that is a symbolic link\n"
               "  --verbose[=BOOL]            each step with its duration (Kuma's "
               "KUMA_TRANSPARENT_PROXY_VERBOSE)\n"
               "  --json, --quiet, --owner, --firewalld-dir, --timeout  as before the command\n");
        if (mode == MODE_UNINSTALL)
                printf("  --adopt-kuma-legacy         also remove what kumactl --store-firewalld "
                       "wrote\n");
        if (mode != MODE_UNINSTALL)
                printf("  --fix-ipv6-redirect         set firewalld's RFC3964_IPv4=no, which "
                       "rejects "
                       "IPv6\n"
                       "                              redirection (uninstall restores it)\n");
        if (mode != MODE_UNINSTALL)
                printf("  --adopt                     take over conflicting foreign entries\n"
                       "  --adopt-kuma-legacy         take over kumactl --store-firewalld "
                       "leftovers\n"
                       "  --from-iptables-restore FILE|-  import rules from an iptables-restore "
                       "script\n"
                       "  --import-ipv ipv4|ipv6      family before any ### IPv4/6 ### header "
                       "(ipv4)\n"
                       "\n"
                       "Rule options (Kuma's):\n");
        if (mode != MODE_UNINSTALL) {
                g_autofree char *h = tpfw_config_help();
                fputs(h, stdout);
        }
}

/* The command's own options, for "did you mean". */
static const char *const apply_names[] = {
        "--check",
        "--dry-run",
        "--diff",
        "--no-reload",
        "--require-running",
        "--runtime-only",
        "--follow-symlink",
        "--adopt",
        "--adopt-kuma-legacy",
        "--fix-ipv6-redirect",
        "--uninstall",
        "--from-iptables-restore",
        "--import-ipv",
        "--store-firewalld",
        "--reload-mode",
        NULL,
};

/* --reload-mode delta|full (also --reload-mode=...). Returns 1 taken, 0 not this option, -1 bad. */
static int take_reload_mode(ApplyFlags *f, int argc, char **argv, int *i)
{
        const char *inline_value, *v;

        if (!cli_opt_is(argv[*i], "--reload-mode", &inline_value))
                return 0;
        v = cli_opt_value(argv[*i], inline_value, argc, argv, i);
        if (!v)
                return -1;
        if (strcmp(v, "delta") == 0)
                f->reload_mode = TPFW_RELOAD_MODE_DELTA;
        else if (strcmp(v, "full") == 0)
                f->reload_mode = TPFW_RELOAD_MODE_FULL;
        else {
                cli_errorf("--reload-mode takes delta or full (got '%s')", v);
                return -1;
        }
        return 1;
}

static int take_apply_flag(ApplyFlags *f, ApplyMode mode, const char *arg)
{
        if (strcmp(arg, "--check") == 0)
                f->check = true;
        else if (strcmp(arg, "--diff") == 0)
                f->diff = true;
        else if (strcmp(arg, "--no-reload") == 0)
                f->no_reload = true;
        else if (strcmp(arg, "--require-running") == 0)
                f->require_running = true;
        else if (strcmp(arg, "--runtime-only") == 0)
                f->runtime_only = true;
        else if (strcmp(arg, "--follow-symlink") == 0)
                f->follow_symlink = true;
        else if (strcmp(arg, "--adopt") == 0 && mode != MODE_UNINSTALL)
                f->adopt = true;
        else if (strcmp(arg, "--adopt-kuma-legacy") == 0)
                f->adopt_kuma_legacy = true;
        else if (strcmp(arg, "--fix-ipv6-redirect") == 0 && mode != MODE_UNINSTALL)
                f->fix_ipv6_redirect = true;
        else if (strcmp(arg, "--uninstall") == 0 && mode == MODE_DIFF)
                f->uninstall = true;
        else
                return 0;
        return 1;
}

static void print_json(CliGlobal *g, const TpfwApplyResult *res, bool with_diff,
                       const char *warning, const char *error)
{
        TpfwJsonWriter w;

        cli_json_begin(&w);
        tpfw_json_member_bool(&w, "changed", res->changed);
        tpfw_json_member_string(&w, "owner", g->owner);
        tpfw_json_member_string_or_null(&w, "file", res->path);
        tpfw_json_member_int(&w, "added", (int64_t)res->added);
        tpfw_json_member_int(&w, "removed", (int64_t)res->removed);
        tpfw_json_member_string(&w, "reload", tpfw_reload_status_name(res->reload));
        tpfw_json_member_bool(&w, "verified", res->verified);
        /* firewalld's RFC3964_IPv4 after the run ("yes"/"no"; null when no IPv6 rule needed it) */
        tpfw_json_member_string_or_null(&w, "rfc3964_ipv4",
                                        tpfw_rfc3964_value_name(res->rfc3964.after));
        tpfw_json_member_bool(&w, "ipv6_redirect_warning", res->rfc3964.warning);
        if (with_diff)
                tpfw_json_member_string(&w, "diff", res->diff ? res->diff : "");
        if (warning) {
                tpfw_json_member(&w, "warnings");
                tpfw_json_begin_array(&w);
                tpfw_json_string(&w, warning);
                tpfw_json_end_array(&w);
        }
        cli_json_end(g, &w, error);
}

static void print_human(const CliGlobal *g, const ApplyFlags *f, const TpfwApplyResult *res)
{
        if (f->diff && res->diff)
                fputs(res->diff, stdout);
        if (g->quiet)
                return;
        if (!res->changed)
                printf("%s: no change for owner %s\n", res->path, g->owner);
        else
                printf("%s: %s%zu added, %zu removed (owner %s)\n", res->path,
                       f->check ? "would change: " : "", res->added, res->removed, g->owner);
        if (!f->check)
                printf("reload: %s%s\n", tpfw_reload_status_name(res->reload),
                       res->reload == TPFW_RELOAD_NOT_RUNNING
                               ? " (firewalld is not running; the rules apply when it starts)"
                       : f->runtime_only ? " (runtime only: direct.xml is left alone)"
                                         : "");
        if (tpfw_rfc3964_outcome_changed(&res->rfc3964))
                printf("RFC3964_IPv4: %s%s -> %s (%s)\n", f->check ? "would change: " : "",
                       tpfw_rfc3964_value_name(res->rfc3964.before),
                       tpfw_rfc3964_value_name(res->rfc3964.after),
                       res->rfc3964.claimed ? "--fix-ipv6-redirect" : "restored");
        if (res->rfc3964.absent && f->fix_ipv6_redirect)
                printf("RFC3964_IPv4: firewalld has no such filter (--fix-ipv6-redirect: nothing "
                       "to change)\n");
}

/* How the change was (or was to be) applied, for the audit record. */
static const char *applied_how(const ApplyFlags *f, const TpfwApplyResult *res)
{
        if (f->runtime_only)
                return "runtime-only";
        if (f->no_reload)
                return "no-reload";
        if (res->reload == TPFW_RELOAD_NOT_RUNNING)
                return "not-running";
        return f->reload_mode == TPFW_RELOAD_MODE_FULL ? "full" : "delta";
}

static void audit(const CliGlobal *g, ApplyMode mode, const ApplyFlags *f,
                  const TpfwApplyResult *res, int r, const char *error)
{
        CliAuditRecord rec = {
                .command = mode == MODE_UNINSTALL ? "uninstall" : "install",
                .owner = g->owner,
                .file = res->path,
                .added = res->added,
                .removed = res->removed,
                .applied = applied_how(f, res),
                .result = r >= 0                                   ? "ok"
                          : res->reload == TPFW_RELOAD_ROLLED_BACK ? "rolled-back"
                                                                   : "failed",
                .error = r < 0 ? error : NULL,
        };

        /* dry runs and no-ops leave no record; a failed attempt at a change does */
        if (f->check || (!res->changed && !tpfw_rfc3964_outcome_changed(&res->rfc3964)))
                return;
        cli_audit(&rec);
}

/*
 * Kuma's storeFirewalld, from any source: false means runtime only. --no-reload and
 * --runtime-only on the command line win over the environment and config files, and contradict
 * the flag.
 */
static int settle_store_firewalld(const CliGlobal *g, const TpfwConfig *cfg, ApplyFlags *f)
{
        const char *origin = NULL;
        int store = tpfw_config_store_firewalld(cfg, &origin);
        bool from_flag = origin && g_str_has_prefix(origin, "--");

        if (store == 1 && from_flag && f->runtime_only) {
                cli_errorf("--store-firewalld and --runtime-only contradict each other");
                return EXIT_USAGE;
        }
        if (store != 0)
                return 0;
        if (f->no_reload) {
                if (from_flag) {
                        cli_errorf("--store-firewalld=false (runtime only) and --no-reload "
                                   "(direct.xml only) contradict each other");
                        return EXIT_USAGE;
                }
                cli_warnf(g, "note: %s=false ignored: --no-reload writes direct.xml only", origin);
                return 0;
        }
        if (f->fix_ipv6_redirect) {
                cli_errorf("%s=false means runtime only, and --fix-ipv6-redirect needs a reload, "
                           "which would drop runtime-only rules",
                           origin);
                return EXIT_USAGE;
        }
        cli_warnf(g, "note: %s=false: changing firewalld's runtime only, not direct.xml%s", origin,
                  from_flag ? "" : " (--store-firewalld overrides)");
        f->runtime_only = true;
        return 0;
}

/* Parses the command line; returns -1 to go on, else the exit code (the error is printed). */
static int parse_args(CliGlobal *g, ApplyMode mode, int argc, char **argv, ApplyFlags *f,
                      CliRulesetSource *src)
{
        for (int i = 1; i < argc; i++) {
                int r;

                if (cli_is_help(argv[i])) {
                        apply_usage(mode);
                        return EXIT_OK;
                }
                if (take_apply_flag(f, mode, argv[i]))
                        continue;
                r = take_reload_mode(f, argc, argv, &i);
                if (r == 0)
                        r = cli_ruleset_source_take(src, argc, argv, &i);
                if (r == 0)
                        r = cli_take_global(g, argc, argv, &i, true);
                if (r < 0)
                        return EXIT_USAGE;
                if (r == 0)
                        return cli_unknown_option(g, argv[i], apply_names, true);
        }
        if (cli_check_global(g) != EXIT_OK)
                return EXIT_USAGE;
        if (mode == MODE_DIFF) {
                f->check = true;
                f->diff = true;
        }
        if (mode == MODE_UNINSTALL || f->uninstall) {
                if (src->from_iptables_restore) {
                        cli_errorf("uninstall takes no --from-iptables-restore: it removes "
                                   "everything the owner installed");
                        return EXIT_USAGE;
                }
                if (src->rule_options && !f->adopt_kuma_legacy) {
                        cli_errorf("%s takes no rule options without --adopt-kuma-legacy",
                                   mode == MODE_DIFF ? "diff --uninstall" : "uninstall");
                        return EXIT_USAGE;
                }
        }
        if (f->runtime_only && f->no_reload) {
                cli_errorf("--runtime-only (firewalld only) and --no-reload (direct.xml only) "
                           "contradict each other");
                return EXIT_USAGE;
        }
        if (f->fix_ipv6_redirect && f->runtime_only) {
                cli_errorf("--fix-ipv6-redirect needs a reload, which would drop --runtime-only "
                           "rules");
                return EXIT_USAGE;
        }
        return -1;
}

static int exit_code(const CliGlobal *g, ApplyMode mode, int r, const TpfwApplyResult *res)
{
        if (mode == MODE_DIFF)
                return r < 0 ? EXIT_FAIL : res->changed ? EXIT_DRIFT : EXIT_OK;
        if (g->detailed) {
                /* Puppet's convention; a rolled-back change left nothing changed */
                bool changed = res->changed && res->reload != TPFW_RELOAD_ROLLED_BACK;
                return (r < 0 ? EXIT_DETAILED_FAILED : 0) | (changed ? EXIT_DETAILED_CHANGED : 0);
        }
        return r < 0 ? (r == -EINVAL && !res->path ? EXIT_USAGE : EXIT_FAIL) : EXIT_OK;
}

static int run_transaction(CliGlobal *g, ApplyMode mode, const ApplyFlags *f,
                           const TpfwRuleset *desired, bool *ret_reported)
{
        bool uninstall = mode == MODE_UNINSTALL || f->uninstall;
        TpfwApplyResult res = {0};
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwApplyOptions opts = {
                .firewalld_dir = g->firewalld_dir,
                .owner = g->owner,
                .desired = uninstall ? NULL : desired,
                .legacy_reference = uninstall ? desired : NULL,
                .merge_flags = (f->adopt ? TPFW_MERGE_ADOPT : 0) |
                               (f->adopt_kuma_legacy ? TPFW_MERGE_ADOPT_KUMA_LEGACY : 0),
                .check = f->check,
                .want_diff = f->diff,
                .no_reload = f->no_reload,
                .require_running = f->require_running,
                .runtime_only = f->runtime_only,
                .follow_symlink = f->follow_symlink,
                .fix_ipv6_redirect = f->fix_ipv6_redirect,
                .reload_mode = f->reload_mode,
                .lock_timeout_ms = g->timeout_ms,
                .dbus_timeout_ms = g->timeout_ms,
                .on_step = g->verbose ? cli_print_step : NULL,
                .step_userdata = g,
        };
        g_autofree char *error = NULL;
        g_autofree char *warning = NULL;
        int r, code;

        r = tpfw_apply(&opts, &res, &diag);
        *ret_reported = true;
        if (r >= 0 && res.rfc3964.warning)
                cli_warnf(g, "warning: %s", TPFW_RFC3964_WARNING);
        /* a run that succeeded may leave a warning in diag (tpfw_store_write()) */
        if (r >= 0 && diag.message && g_str_has_prefix(diag.message, "warning: ")) {
                warning = tpfw_diag_format(&diag);
                cli_warnf(g, "%s", warning);
        }
        if (r < 0) {
                error = tpfw_diag_format(&diag);
                if (!error)
                        error = g_strdup(g_strerror(-r));
                cli_errorf("%s", error);
        }
        if (mode != MODE_DIFF)
                audit(g, mode, f, &res, r, error);
        if (g->json)
                print_json(g, &res, f->diff, warning, error);
        else if (r >= 0 || res.reload == TPFW_RELOAD_ROLLED_BACK)
                print_human(g, f, &res);
        tpfw_diag_clear(&diag);
        code = exit_code(g, mode, r, &res);
        tpfw_apply_result_clear(&res);
        return code;
}

/*
 * Errors found before the transaction (usage, invalid rule options, unreadable input) must
 * still speak the configuration-management protocol: one JSON object with --json, and 4 with
 * --detailed-exitcodes, where the usage code 2 would read as "changed".
 */
static int run_apply(CliGlobal *g, ApplyMode mode, int argc, char **argv)
{
        ApplyFlags f = {0};
        CliRulesetSource src;
        g_autoptr(TpfwRuleset) desired = NULL;
        bool reported = false;
        int code;

        cli_ruleset_source_init(&src);
        code = parse_args(g, mode, argc, argv, &f, &src);
        if (code == EXIT_OK) {
                cli_ruleset_source_clear(&src);
                return EXIT_OK; /* --help */
        }
        if (code < 0)
                code = cli_ruleset_source_config(g, &src);
        if (code == 0)
                code = settle_store_firewalld(g, src.config, &f);
        /* the desired ruleset: for uninstall only needed to recognise Kuma's legacy rules */
        if (code == 0 && (mode == MODE_INSTALL || (mode == MODE_DIFF && !f.uninstall) ||
                          (f.adopt_kuma_legacy && src.rule_options)))
                code = cli_ruleset_source_build(g, &src, &desired);
        if (code == 0) {
                /* Kuma's dry-run, from a flag, the environment or a config file */
                if (tpfw_config_dry_run(src.config))
                        f.check = true;
                code = run_transaction(g, mode, &f, desired, &reported);
        }
        cli_ruleset_source_clear(&src);
        if (reported || code == EXIT_OK)
                return code;
        if (g->json) {
                TpfwApplyResult res = {0};

                res.path = g_build_filename(g->firewalld_dir, "direct.xml", NULL);
                print_json(g, &res, false, NULL, cli_last_error());
                tpfw_apply_result_clear(&res);
        }
        if (g->detailed && mode != MODE_DIFF)
                return EXIT_DETAILED_FAILED;
        return code;
}

int cmd_install(CliGlobal *g, int argc, char **argv)
{
        return run_apply(g, MODE_INSTALL, argc, argv);
}

int cmd_uninstall(CliGlobal *g, int argc, char **argv)
{
        return run_apply(g, MODE_UNINSTALL, argc, argv);
}

int cmd_diff(CliGlobal *g, int argc, char **argv)
{
        return run_apply(g, MODE_DIFF, argc, argv);
}
