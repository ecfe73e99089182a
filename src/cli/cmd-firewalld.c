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

static void reload_json(CliGlobal *g, bool reloaded, const char *state, const char *error)
{
        TpfwJsonWriter w;

        cli_json_begin(&w);
        tpfw_json_member_string(&w, "reload", reloaded ? "done" : "failed");
        tpfw_json_member_string_or_null(&w, "state", state);
        cli_json_end(g, &w, error);
}

int cmd_reload(CliGlobal *g, int argc, char **argv)
{
        g_autoptr(TpfwFirewalld) fw = NULL;
        g_autofree char *state = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        bool reloaded = false;
        gint64 start;
        int r;

        r = cli_parse_no_options(g, argc, argv,
                                 "Usage: tproxy-firewalld [GLOBAL OPTIONS] reload\n"
                                 "\n"
                                 "Reload firewalld over D-Bus and print its state.\n"
                                 "Exit status 0: reloaded and RUNNING, 1: otherwise.\n");
        if (r >= 0)
                return r;
        start = g_get_monotonic_time();
        r = tpfw_firewalld_connect(g->timeout_ms, &fw, &diag);
        cli_step_since(g, "connect", NULL, start);
        if (r == 0) {
                start = g_get_monotonic_time();
                r = tpfw_firewalld_reload(fw, &diag);
                cli_step_since(g, "reload", NULL, start);
                reloaded = r == 0;
        }
        if (r == 0) {
                start = g_get_monotonic_time();
                r = tpfw_firewalld_get_state(fw, &state, &diag);
                cli_step_since(g, "getState", state, start);
        }
        if (r < 0) {
                cli_error(&diag, g_strerror(-r));
                tpfw_diag_clear(&diag);
        } else if (strcmp(state, "RUNNING") != 0) {
                cli_errorf("firewalld state is %s after the reload", state);
        }
        if (g->json)
                reload_json(g, reloaded, state,
                            r < 0 || strcmp(state, "RUNNING") != 0 ? cli_last_error() : NULL);
        else if (r == 0 && !g->quiet)
                printf("reload: done, state %s\n", state);
        return r == 0 && strcmp(state, "RUNNING") == 0 ? EXIT_OK : EXIT_FAIL;
}

/* One view of the owner's entries compared with a reference. */
typedef struct StatusView {
        const char *name;      /* "desired", "permanent", "runtime" */
        const char *reference; /* "the options", "direct.xml" */
        size_t entries;
        TpfwRuleset *missing;
        TpfwRuleset *extra;
} StatusView;

typedef struct Status {
        char *path;
        size_t rules, chains;
        char *state; /* firewalld's state, NULL when not running */
        StatusView views[3];
        size_t n_views;
        bool rfc3964_warning;
} Status;

static void status_clear(Status *s)
{
        g_free(s->path);
        g_free(s->state);
        for (size_t i = 0; i < s->n_views; i++) {
                tpfw_ruleset_free(s->views[i].missing);
                tpfw_ruleset_free(s->views[i].extra);
        }
        memset(s, 0, sizeof(*s));
}

static size_t view_drift(const StatusView *v)
{
        return tpfw_ruleset_n_rules(v->missing) + tpfw_ruleset_n_chains(v->missing) +
               tpfw_ruleset_n_rules(v->extra) + tpfw_ruleset_n_chains(v->extra);
}

static void add_view(Status *s, const char *name, const char *reference,
                     const TpfwRuleset *expected, const TpfwRuleset *view)
{
        StatusView *v = &s->views[s->n_views++];

        v->name = name;
        v->reference = reference;
        v->entries = tpfw_ruleset_n_rules(view) + tpfw_ruleset_n_chains(view);
        tpfw_ruleset_diff(expected, view, &v->missing, &v->extra);
}

/* Prints each entry of rs as "PREFIX ipv table chain [priority args]". */
static void print_entries(const char *prefix, const TpfwRuleset *rs)
{
        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);
                printf("  %s chain %s %s %s\n", prefix, tpfw_ipv_name(c->ipv), c->table, c->chain);
        }
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                g_autofree char *args = tpfw_args_join((const char *const *)r->argv);
                printf("  %s rule %s %s %s %d %s\n", prefix, tpfw_ipv_name(r->ipv), r->table,
                       r->chain, r->priority, args);
        }
}

/* The entries of rs as one array of chains and rules; a rule's arguments as one string. */
static void json_entries(TpfwJsonWriter *w, const TpfwRuleset *rs)
{
        tpfw_json_begin_array(w);
        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);

                tpfw_json_begin_object(w);
                tpfw_json_member_string(w, "type", "chain");
                tpfw_render_json_place(w, c->ipv, c->table, c->chain);
                tpfw_json_end_object(w);
        }
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                g_autofree char *args = tpfw_args_join((const char *const *)r->argv);

                tpfw_json_begin_object(w);
                tpfw_json_member_string(w, "type", "rule");
                tpfw_render_json_place(w, r->ipv, r->table, r->chain);
                tpfw_json_member_int(w, "priority", r->priority);
                tpfw_json_member_string(w, "args", args);
                tpfw_json_end_object(w);
        }
        tpfw_json_end_array(w);
}

static void status_json(CliGlobal *g, const Status *s, bool in_sync)
{
        TpfwJsonWriter w;

        cli_json_begin(&w);
        tpfw_json_member_string(&w, "owner", g->owner);
        tpfw_json_member_string(&w, "file", s->path);
        tpfw_json_member_int(&w, "rules", (int64_t)s->rules);
        tpfw_json_member_int(&w, "chains", (int64_t)s->chains);
        tpfw_json_member_string(&w, "firewalld", s->state ? s->state : "not-running");
        tpfw_json_member_bool(&w, "in_sync", in_sync);
        tpfw_json_member(&w, "views");
        tpfw_json_begin_array(&w);
        for (size_t i = 0; i < s->n_views; i++) {
                const StatusView *v = &s->views[i];

                tpfw_json_begin_object(&w);
                tpfw_json_member_string(&w, "view", v->name);
                tpfw_json_member_string(&w, "against",
                                        strcmp(v->reference, "direct.xml") == 0 ? "direct.xml"
                                                                                : "options");
                tpfw_json_member_bool(&w, "in_sync", view_drift(v) == 0);
                tpfw_json_member_int(&w, "entries", (int64_t)v->entries);
                tpfw_json_member(&w, "missing");
                json_entries(&w, v->missing);
                tpfw_json_member(&w, "unexpected");
                json_entries(&w, v->extra);
                tpfw_json_end_object(&w);
        }
        tpfw_json_end_array(&w);
        tpfw_json_member_bool(&w, "ipv6_redirect_warning", s->rfc3964_warning);
        cli_json_end(g, &w, NULL);
}

static void print_view(const StatusView *v)
{
        if (view_drift(v) == 0) {
                printf("%-10s in sync with %s (%zu entries)\n", v->name, v->reference, v->entries);
                return;
        }
        printf("%-10s DRIFT against %s:\n", v->name, v->reference);
        print_entries("missing", v->missing);
        print_entries("unexpected", v->extra);
}

static void status_human(const CliGlobal *g, const Status *s)
{
        size_t i = 0;

        printf("owner %s, %s: %zu rules, %zu chains\n", g->owner, s->path, s->rules, s->chains);
        /* the desired ruleset is compared with the file, before firewalld */
        if (s->n_views > 0 && strcmp(s->views[0].name, "desired") == 0)
                print_view(&s->views[i++]);
        printf("firewalld: %s\n", s->state ? s->state : "not running");
        for (; i < s->n_views; i++)
                print_view(&s->views[i]);
}

/* Reads the owner's entries on disk into *ret_disk; prints the error and returns an exit code. */
static int status_read_disk(CliGlobal *g, Status *s, TpfwRuleset **ret_disk)
{
        g_autoptr(TpfwDirect) doc = NULL;
        g_autofree char *data = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        size_t len = 0;
        bool exists = false;
        int r;

        r = tpfw_store_read(s->path, TPFW_STORE_FOLLOW_SYMLINK, TPFW_DIRECT_MAX_SIZE, &data, &len,
                            &exists, &diag);
        if (r == 0)
                r = exists ? tpfw_direct_parse_borrowed(s->path, data, len, &doc, &diag)
                           : ((doc = tpfw_direct_new_empty(s->path)), 0);
        if (r == 0)
                r = tpfw_direct_owner_ruleset(doc, g->owner, ret_disk, &diag);
        if (r < 0) {
                cli_error(&diag, "cannot read direct.xml");
                tpfw_diag_clear(&diag);
                return EXIT_FAIL;
        }
        s->rules = tpfw_ruleset_n_rules(*ret_disk);
        s->chains = tpfw_ruleset_n_chains(*ret_disk);
        return 0;
}

/* Asks firewalld for its state and both views; *ret_fw stays NULL when it is not running. */
static int status_query(CliGlobal *g, Status *s, const TpfwRuleset *disk, TpfwFirewalld **ret_fw)
{
        static const struct {
                TpfwFirewalldView view;
                const char *name;
        } views[] = {{TPFW_VIEW_PERMANENT, "permanent"}, {TPFW_VIEW_RUNTIME, "runtime"}};
        g_autoptr(TpfwFirewalld) fw = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        gint64 start = g_get_monotonic_time();
        int r;

        r = tpfw_firewalld_connect(g->timeout_ms, &fw, &diag);
        cli_step_since(g, "connect", NULL, start);
        if (r == -ELIBACC) {
                /* a broken installation, not a stopped firewalld */
                cli_error(&diag, "cannot query firewalld");
                tpfw_diag_clear(&diag);
                return EXIT_FAIL;
        }
        tpfw_diag_clear(&diag);
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
        if (r < 0)
                return 0;
        start = g_get_monotonic_time();
        r = tpfw_firewalld_get_state(fw, &s->state, &diag);
        cli_step_since(g, "getState", s->state, start);
        for (size_t v = 0; r == 0 && v < G_N_ELEMENTS(views); v++) {
                g_autoptr(TpfwRuleset) all = NULL;
                g_autoptr(TpfwRuleset) mine = NULL;

                start = g_get_monotonic_time();
                r = tpfw_firewalld_get_direct(fw, views[v].view, &all, &diag);
                cli_step_since(g, "direct.getAllRules", views[v].name, start);
                if (r < 0)
                        break;
                mine = tpfw_ruleset_owner_subset(all, g->owner);
                add_view(s, views[v].name, "direct.xml", disk, mine);
        }
        if (r < 0) {
                cli_error(&diag, "cannot query firewalld");
                tpfw_diag_clear(&diag);
                return EXIT_FAIL;
        }
        *ret_fw = g_steal_pointer(&fw);
        return 0;
}

static int status_parse_args(CliGlobal *g, int argc, char **argv, CliRulesetSource *src)
{
        for (int i = 1; i < argc; i++) {
                int r;

                if (cli_is_help(argv[i])) {
                        printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] status [RULE OPTIONS]\n"
                               "\n"
                               "Show the owner's entries in direct.xml, in firewalld's permanent\n"
                               "view and in its runtime, and, when rule options are given, "
                               "compare\n"
                               "them with the desired ruleset. Drift is listed entry by entry.\n"
                               "Exit status 0: in sync, 1: error, 3: drift or firewalld not "
                               "running.\n");
                        return EXIT_OK;
                }
                r = cli_ruleset_source_take(src, argc, argv, &i);
                if (r == 0)
                        r = cli_take_global(g, argc, argv, &i, true);
                if (r < 0)
                        return EXIT_USAGE;
                if (r == 0) {
                        static const char *const names[] = {"--from-iptables-restore",
                                                            "--import-ipv", NULL};
                        return cli_unknown_option(g, argv[i], names, true);
                }
        }
        return cli_check_global(g) == EXIT_OK ? -1 : EXIT_USAGE;
}

int cmd_status(CliGlobal *g, int argc, char **argv)
{
        g_autoptr(TpfwRuleset) desired = NULL;
        g_autoptr(TpfwRuleset) disk = NULL;
        g_autoptr(TpfwFirewalld) fw = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        CliRulesetSource src;
        Status s = {0};
        size_t drift = 0;
        int code;

        cli_ruleset_source_init(&src);
        code = status_parse_args(g, argc, argv, &src);
        if (code == EXIT_OK) {
                cli_ruleset_source_clear(&src);
                return EXIT_OK; /* --help */
        }
        if (code < 0)
                code = cli_ruleset_source_config(g, &src);
        if (code == 0 && (src.from_iptables_restore || src.rule_options)) {
                code = cli_ruleset_source_build(g, &src, &desired);
                if (code == 0)
                        tpfw_ruleset_tag(desired, g->owner);
        }
        cli_ruleset_source_clear(&src);
        if (code != 0)
                return code;
        s.path = g_build_filename(g->firewalld_dir, "direct.xml", NULL);
        code = status_read_disk(g, &s, &disk);
        if (code == 0 && desired)
                add_view(&s, "desired", "the options", desired, disk);
        if (code == 0)
                code = status_query(g, &s, disk, &fw);
        if (code != 0) {
                status_clear(&s);
                return code;
        }
        if (tpfw_rfc3964_ruleset_affected(disk)) {
                bool rfc3964 = false;

                if (tpfw_rfc3964_get(g->firewalld_dir, fw, &rfc3964, &diag) == 0 && rfc3964) {
                        s.rfc3964_warning = true;
                        cli_warnf(g, "warning: %s", TPFW_RFC3964_WARNING);
                }
                tpfw_diag_clear(&diag);
        }
        for (size_t i = 0; i < s.n_views; i++)
                drift += view_drift(&s.views[i]) ? 1 : 0;
        /* not running, or not RUNNING: what is on disk is not in force */
        if (!s.state || strcmp(s.state, "RUNNING") != 0)
                drift++;
        if (g->json)
                status_json(g, &s, drift == 0);
        else if (!g->quiet || drift)
                status_human(g, &s);
        status_clear(&s);
        return drift ? EXIT_DRIFT : EXIT_OK;
}
