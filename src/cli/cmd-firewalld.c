/* SPDX-License-Identifier: MIT */
/* reload and status: talk to the running firewalld. */
#include <errno.h>
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/firewalld.h>
#include <tproxy-firewalld/rfc3964.h>
#include <tproxy-firewalld/store.h>

#include "cli.h"

int cmd_reload(CliGlobal *g, int argc, char **argv)
{
        g_autoptr(TpfwFirewalld) fw = NULL;
        g_autofree char *state = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] reload\n"
                               "\n"
                               "Reload firewalld over D-Bus and print its state.\n");
                        return EXIT_OK;
                }
                cli_errorf("reload: unknown argument '%s'", argv[i]);
                return EXIT_USAGE;
        }
        r = tpfw_firewalld_connect(g->timeout_ms, &fw, &diag);
        if (r == 0)
                r = tpfw_firewalld_reload(fw, &diag);
        if (r == 0)
                r = tpfw_firewalld_get_state(fw, &state, &diag);
        if (r < 0) {
                cli_error(&diag, g_strerror(-r));
                tpfw_diag_clear(&diag);
                return EXIT_FAIL;
        }
        if (!g->quiet)
                printf("reload: done, state %s\n", state);
        return strcmp(state, "RUNNING") == 0 ? EXIT_OK : EXIT_FAIL;
}

/* Prints each entry of rs as "PREFIX ipv table chain [priority args]"; returns how many. */
static size_t print_entries(const char *prefix, const TpfwRuleset *rs)
{
        size_t n = 0;

        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++, n++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);
                printf("  %s chain %s %s %s\n", prefix, tpfw_ipv_name(c->ipv), c->table, c->chain);
        }
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++, n++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                g_autofree char *args = tpfw_args_join((const char *const *)r->argv);
                printf("  %s rule %s %s %s %d %s\n", prefix, tpfw_ipv_name(r->ipv), r->table,
                       r->chain, r->priority, args);
        }
        return n;
}

/* Compares view with reference; prints the drift; returns the number of differing entries. */
static size_t compare(const char *what, const char *ref_name, const TpfwRuleset *reference,
                      const TpfwRuleset *view)
{
        g_autoptr(TpfwRuleset) missing = NULL;
        g_autoptr(TpfwRuleset) extra = NULL;
        size_t n;

        tpfw_ruleset_diff(reference, view, &missing, &extra);
        n = tpfw_ruleset_n_rules(missing) + tpfw_ruleset_n_chains(missing) +
            tpfw_ruleset_n_rules(extra) + tpfw_ruleset_n_chains(extra);
        if (n == 0) {
                printf("%-10s in sync with %s (%zu entries)\n", what, ref_name,
                       tpfw_ruleset_n_rules(view) + tpfw_ruleset_n_chains(view));
                return 0;
        }
        printf("%-10s DRIFT against %s:\n", what, ref_name);
        print_entries("missing", missing);
        print_entries("unexpected", extra);
        return n;
}

int cmd_status(CliGlobal *g, int argc, char **argv)
{
        g_autofree char *path = g_build_filename(g->firewalld_dir, "direct.xml", NULL);
        g_autoptr(TpfwRuleset) desired = NULL;
        g_autoptr(TpfwRuleset) disk = NULL;
        g_autoptr(TpfwDirect) doc = NULL;
        g_autoptr(TpfwFirewalld) fw = NULL;
        g_autofree char *data = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        CliRulesetSource src;
        size_t len = 0, drift = 0;
        bool exists = false;
        int r, code;

        cli_ruleset_source_init(&src);
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] status [RULE OPTIONS]\n"
                               "\n"
                               "Show the owner's entries in direct.xml, in firewalld's permanent\n"
                               "view and in its runtime, and, when rule options are given, "
                               "compare\n"
                               "them with the desired ruleset. Drift is listed entry by entry.\n"
                               "Exit status 0: in sync, 1: error, 3: drift.\n");
                        cli_ruleset_source_clear(&src);
                        return EXIT_OK;
                }
                r = cli_ruleset_source_take(&src, argc, argv, &i);
                if (r <= 0) {
                        if (r == 0)
                                cli_errorf("status: unknown option '%s'", argv[i]);
                        cli_ruleset_source_clear(&src);
                        return EXIT_USAGE;
                }
        }
        if (src.from_iptables_restore || src.kuma_argv->len > 0) {
                code = cli_ruleset_source_build(g, &src, &desired);
                if (code != 0) {
                        cli_ruleset_source_clear(&src);
                        return code;
                }
                tpfw_ruleset_tag(desired, g->owner);
        }
        cli_ruleset_source_clear(&src);

        r = tpfw_store_read(path, TPFW_STORE_FOLLOW_SYMLINK, TPFW_DIRECT_MAX_SIZE, &data, &len,
                            &exists, &diag);
        if (r == 0)
                r = exists ? tpfw_direct_parse(path, data, len, &doc, &diag)
                           : ((doc = tpfw_direct_new_empty(path)), 0);
        if (r == 0)
                r = tpfw_direct_owner_ruleset(doc, g->owner, &disk, &diag);
        if (r < 0) {
                cli_error(&diag, "cannot read direct.xml");
                tpfw_diag_clear(&diag);
                return EXIT_FAIL;
        }
        printf("owner %s, %s: %zu rules, %zu chains\n", g->owner, path, tpfw_ruleset_n_rules(disk),
               tpfw_ruleset_n_chains(disk));
        if (desired)
                drift += compare("desired", "the options", desired, disk) ? 1 : 0;

        r = tpfw_firewalld_connect(g->timeout_ms, &fw, &diag);
        if (r == -ELIBACC) {
                /* a broken installation, not a stopped firewalld */
                cli_error(&diag, "cannot query firewalld");
                tpfw_diag_clear(&diag);
                return EXIT_FAIL;
        }
        if (r == 0 && !tpfw_firewalld_is_running(fw)) {
                /* no owner: stopped, or starting (wait for it, firewalld.h) */
                r = tpfw_firewalld_wait_starting(fw, g->firewalld_dir, g->timeout_ms, &diag);
                if (r < 0) {
                        cli_error(&diag, "cannot query firewalld");
                        tpfw_diag_clear(&diag);
                        return EXIT_FAIL;
                }
                r = r > 0 ? 0 : -ESRCH;
        }
        if (r < 0) {
                printf("firewalld: not running\n");
                tpfw_diag_clear(&diag);
        } else {
                static const struct {
                        TpfwFirewalldView view;
                        const char *name;
                } views[] = {{TPFW_VIEW_PERMANENT, "permanent"}, {TPFW_VIEW_RUNTIME, "runtime"}};
                g_autofree char *state = NULL;

                r = tpfw_firewalld_get_state(fw, &state, &diag);
                if (r < 0) {
                        cli_error(&diag, "cannot query firewalld");
                        tpfw_diag_clear(&diag);
                        return EXIT_FAIL;
                }
                printf("firewalld: %s\n", state);
                if (strcmp(state, "RUNNING") != 0)
                        drift++;
                for (size_t v = 0; v < G_N_ELEMENTS(views); v++) {
                        g_autoptr(TpfwRuleset) all = NULL;
                        g_autoptr(TpfwRuleset) mine = NULL;

                        r = tpfw_firewalld_get_direct(fw, views[v].view, &all, &diag);
                        if (r < 0) {
                                cli_error(&diag, "cannot query firewalld");
                                tpfw_diag_clear(&diag);
                                return EXIT_FAIL;
                        }
                        mine = tpfw_ruleset_owner_subset(all, g->owner);
                        drift += compare(views[v].name, "direct.xml", disk, mine) ? 1 : 0;
                }
        }
        if (tpfw_rfc3964_ruleset_affected(disk)) {
                bool rfc3964 = false;

                if (tpfw_rfc3964_get(g->firewalld_dir, fw, &rfc3964, &diag) == 0 && rfc3964)
                        cli_warnf(g, "warning: %s", TPFW_RFC3964_WARNING);
                tpfw_diag_clear(&diag);
        }
        return drift ? EXIT_DRIFT : EXIT_OK;
}
