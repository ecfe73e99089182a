/* SPDX-License-Identifier: MIT */
/* install, uninstall and diff: one transaction (tpfw_apply), three ways to report it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tproxy-firewalld/config.h>
#include <tproxy-firewalld/direct.h>

#include "cli.h"

typedef enum { MODE_INSTALL, MODE_UNINSTALL, MODE_DIFF } ApplyMode;

typedef struct {
        bool check, diff, detailed, no_reload, require_running, runtime_only, follow_symlink;
        bool adopt, adopt_kuma_legacy, uninstall, fix_ipv6_redirect;
} ApplyFlags;

static void apply_usage(ApplyMode mode)
{
        if (mode == MODE_UNINSTALL)
                printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] uninstall [OPTIONS]\n"
                       "\n"
                       "Remove every entry of the owner from direct.xml, reload firewalld, "
                       "verify.\n");
        else if (mode == MODE_DIFF)
                printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] diff [--uninstall] [RULE "
                       "OPTIONS]\n"
                       "\n"
                       "Print the unified diff install (or uninstall) would make; change nothing.\n"
                       "Exit status 0: no difference, 1: error, 3: there is a difference.\n");
        else
                printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] install [OPTIONS] [RULE OPTIONS]\n"
                       "\n"
                       "Merge the owner's rules into direct.xml, reload firewalld, verify, and "
                       "roll\n"
                       "back when firewalld rejects them. The rules come from the Kuma options "
                       "below\n"
                       "(as for 'kumactl install transparent-proxy') or from an iptables-restore\n"
                       "script (--from-iptables-restore).\n");
        printf("\n"
               "Options:\n"
               "  --check, --dry-run          compute and report, change nothing\n"
               "  --diff                      print the unified diff of direct.xml\n"
               "  --detailed-exitcodes        0 no change, 2 changed, 4 failed, 6 changed and "
               "failed\n"
               "  --no-reload                 write direct.xml only\n"
               "  --require-running           fail when firewalld is not running\n"
               "  --runtime-only              apply through firewalld's runtime API, not the file\n"
               "  --follow-symlink            accept a direct.xml that is a symbolic link\n");
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

static int take_apply_flag(ApplyFlags *f, ApplyMode mode, const char *arg)
{
        if (strcmp(arg, "--check") == 0)
                f->check = true;
        else if (strcmp(arg, "--diff") == 0)
                f->diff = true;
        else if (strcmp(arg, "--detailed-exitcodes") == 0)
                f->detailed = true;
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

static void print_json(const CliGlobal *g, const TpfwApplyResult *res, bool with_diff,
                       const char *error)
{
        TpfwJsonWriter w;

        tpfw_json_writer_init(&w, 0);
        tpfw_json_begin_object(&w);
        tpfw_json_member(&w, "changed");
        tpfw_json_bool(&w, res->changed);
        tpfw_json_member(&w, "owner");
        tpfw_json_string(&w, g->owner);
        tpfw_json_member(&w, "file");
        tpfw_json_string_or_null(&w, res->path);
        tpfw_json_member(&w, "added");
        tpfw_json_int(&w, (int64_t)res->added);
        tpfw_json_member(&w, "removed");
        tpfw_json_int(&w, (int64_t)res->removed);
        tpfw_json_member(&w, "reload");
        tpfw_json_string(&w, tpfw_reload_status_name(res->reload));
        tpfw_json_member(&w, "verified");
        tpfw_json_bool(&w, res->verified);
        /* firewalld's RFC3964_IPv4 after the run ("yes"/"no"; null when no IPv6 rule needed it) */
        tpfw_json_member(&w, "rfc3964_ipv4");
        tpfw_json_string_or_null(&w, tpfw_rfc3964_value_name(res->rfc3964.after));
        tpfw_json_member(&w, "ipv6_redirect_warning");
        tpfw_json_bool(&w, res->rfc3964.warning);
        if (with_diff) {
                tpfw_json_member(&w, "diff");
                tpfw_json_string(&w, res->diff ? res->diff : "");
        }
        tpfw_json_member(&w, "error");
        tpfw_json_string_or_null(&w, error);
        tpfw_json_end_object(&w);
        cli_print_json(&w);
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

static int run_transaction(CliGlobal *g, ApplyMode mode, int argc, char **argv, bool *ret_reported)
{
        ApplyFlags f = {0};
        CliRulesetSource src;
        g_autoptr(TpfwRuleset) desired = NULL;
        TpfwApplyResult res = {0};
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwApplyOptions opts = {0};
        g_autofree char *error = NULL;
        const char *store_env;
        int r, code;

        cli_ruleset_source_init(&src);
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        apply_usage(mode);
                        cli_ruleset_source_clear(&src);
                        return EXIT_OK;
                }
                if (take_apply_flag(&f, mode, argv[i]))
                        continue;
                if (strcmp(argv[i], "--json") == 0) {
                        g->json = true;
                        continue;
                }
                r = cli_ruleset_source_take(&src, argc, argv, &i);
                if (r < 0) {
                        cli_ruleset_source_clear(&src);
                        return EXIT_USAGE;
                }
                if (r == 0) {
                        cli_errorf("%s: unknown option '%s'", argv[0], argv[i]);
                        fprintf(stderr, "Try 'tproxy-firewalld %s --help'.\n", argv[0]);
                        cli_ruleset_source_clear(&src);
                        return EXIT_USAGE;
                }
        }
        if (mode == MODE_DIFF) {
                f.check = true;
                f.diff = true;
        }
        if (mode == MODE_UNINSTALL || f.uninstall) {
                if (src.from_iptables_restore) {
                        cli_errorf("uninstall takes no --from-iptables-restore: it removes "
                                   "everything the owner installed");
                        cli_ruleset_source_clear(&src);
                        return EXIT_USAGE;
                }
        }
        /* kumactl's switch: KUMA_TRANSPARENT_PROXY_STORE_FIREWALLD=false means runtime only */
        store_env = getenv("KUMA_TRANSPARENT_PROXY_STORE_FIREWALLD");
        if (store_env && (strcmp(store_env, "false") == 0 || strcmp(store_env, "0") == 0 ||
                          g_ascii_strcasecmp(store_env, "false") == 0 ||
                          strcmp(store_env, "f") == 0 || strcmp(store_env, "F") == 0))
                f.runtime_only = true;

        /* The desired ruleset: for uninstall only needed to recognise Kuma's legacy rules. */
        if (mode == MODE_INSTALL || (mode == MODE_DIFF && !f.uninstall) ||
            (f.adopt_kuma_legacy && src.kuma_argv->len > 0)) {
                code = cli_ruleset_source_build(g, &src, &desired);
                if (code != 0) {
                        cli_ruleset_source_clear(&src);
                        return code;
                }
        } else if (src.kuma_argv->len > 0) {
                cli_errorf("%s takes no rule options (got '%s')", argv[0],
                           (const char *)src.kuma_argv->pdata[0]);
                cli_ruleset_source_clear(&src);
                return EXIT_USAGE;
        }
        /* after the build: Kuma's dry-run may also come from the environment or --config */
        if (src.dry_run)
                f.check = true;
        cli_ruleset_source_clear(&src);

        opts.firewalld_dir = g->firewalld_dir;
        opts.owner = g->owner;
        opts.desired = (mode == MODE_UNINSTALL || f.uninstall) ? NULL : desired;
        opts.legacy_reference = (mode == MODE_UNINSTALL || f.uninstall) ? desired : NULL;
        opts.merge_flags = (f.adopt ? TPFW_MERGE_ADOPT : 0) |
                           (f.adopt_kuma_legacy ? TPFW_MERGE_ADOPT_KUMA_LEGACY : 0);
        opts.check = f.check;
        opts.want_diff = f.diff;
        opts.no_reload = f.no_reload;
        opts.require_running = f.require_running;
        opts.runtime_only = f.runtime_only;
        opts.follow_symlink = f.follow_symlink;
        opts.fix_ipv6_redirect = f.fix_ipv6_redirect;
        if (f.fix_ipv6_redirect && f.runtime_only) {
                cli_errorf("--fix-ipv6-redirect needs a reload, which would drop --runtime-only "
                           "rules");
                return EXIT_USAGE;
        }
        opts.lock_timeout_ms = g->timeout_ms;
        opts.dbus_timeout_ms = g->timeout_ms;

        r = tpfw_apply(&opts, &res, &diag);
        *ret_reported = true;
        if (r >= 0 && res.rfc3964.warning)
                cli_warnf(g, "warning: %s", TPFW_RFC3964_WARNING);
        if (r < 0)
                error = tpfw_diag_format(&diag);
        if (g->json) {
                print_json(g, &res, f.diff, r < 0 ? (error ? error : g_strerror(-r)) : NULL);
        } else {
                if (r < 0)
                        cli_errorf("%s", error ? error : g_strerror(-r));
                if (r >= 0 || res.reload == TPFW_RELOAD_ROLLED_BACK)
                        print_human(g, &f, &res);
        }
        tpfw_diag_clear(&diag);

        if (mode == MODE_DIFF)
                code = r < 0 ? EXIT_FAIL : res.changed ? EXIT_DRIFT : EXIT_OK;
        else if (f.detailed) {
                /* Puppet's convention; a rolled-back change left nothing changed */
                bool changed = res.changed && res.reload != TPFW_RELOAD_ROLLED_BACK;
                code = (r < 0 ? 4 : 0) | (changed ? 2 : 0);
        } else
                code = r < 0 ? (r == -EINVAL && !res.path ? EXIT_USAGE : EXIT_FAIL) : EXIT_OK;
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
        bool detailed = false, json = g->json, reported = false;
        int code;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--detailed-exitcodes") == 0)
                        detailed = true;
                else if (strcmp(argv[i], "--json") == 0)
                        json = true;
        }
        code = run_transaction(g, mode, argc, argv, &reported);
        if (reported || code == EXIT_OK)
                return code;
        if (json) {
                TpfwApplyResult res = {0};

                res.path = g_build_filename(g->firewalld_dir, "direct.xml", NULL);
                print_json(g, &res, false,
                           code == EXIT_USAGE ? "invalid command line (details on standard error)"
                                              : "cannot compute the rules (details on standard "
                                                "error)");
                tpfw_apply_result_clear(&res);
        }
        if (detailed && mode != MODE_DIFF)
                return 4;
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
