/* SPDX-License-Identifier: MIT */
/* Test driver for the firewalld D-Bus client (src/lib/firewalld.c): one verb per library call. */
#include <errno.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/firewalld.h>

/*
 * Exit codes: 0 ok, 1 usage or input error, otherwise 10 + the errno of the failing call
 * (capped at 255), so tests can tell ESRCH, EACCES, ETIMEDOUT, EIO and EPROTO apart. The
 * diagnostic goes to stderr as "error: -ERRNO: message".
 */
static int fail(int r, TpfwDiag *diag)
{
        g_autofree char *msg = tpfw_diag_format(diag);
        int code = 10 + -r;

        fprintf(stderr, "error: %d: %s\n", r, msg ? msg : "(no message)");
        tpfw_diag_clear(diag);
        return code > 255 ? 255 : code;
}

/*
 * Reads a direct.xml's ipv4/ipv6 chains and rules into a ruleset. Deliberately simple (the real
 * reader is src/lib/direct.c): well-formed input from the tests only.
 */
static TpfwRuleset *read_ruleset(const char *path)
{
        xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
        TpfwRuleset *rs;

        if (!doc) {
                fprintf(stderr, "cannot parse %s\n", path);
                return NULL;
        }
        rs = tpfw_ruleset_new();
        for (xmlNode *n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
                g_autofree char *ipv_name = NULL, *table = NULL, *chain = NULL, *prio = NULL;
                g_autofree char *text = NULL;
                char **argv = NULL;
                TpfwIpv ipv;
                xmlChar *v;

                if (n->type != XML_ELEMENT_NODE)
                        continue;
#define ATTR(var, name)                                                                            \
        do {                                                                                       \
                v = xmlGetProp(n, (const xmlChar *)(name));                                        \
                var = v ? g_strdup((const char *)v) : NULL;                                        \
                xmlFree(v);                                                                        \
        } while (0)
                ATTR(ipv_name, "ipv");
                ATTR(table, "table");
                ATTR(chain, "chain");
                ATTR(prio, "priority");
#undef ATTR
                if (!ipv_name || tpfw_ipv_from_name(ipv_name, &ipv) < 0)
                        continue;
                if (strcmp((const char *)n->name, "chain") == 0) {
                        tpfw_ruleset_add_chain(rs, ipv, table, chain);
                } else if (strcmp((const char *)n->name, "rule") == 0) {
                        v = xmlNodeGetContent(n);
                        text = g_strdup(v ? (const char *)v : "");
                        xmlFree(v);
                        g_strdelimit(text, "\n", ' ');
                        if (tpfw_args_split(text, &argv, NULL) < 0) {
                                fprintf(stderr, "%s: cannot split %s\n", path, text);
                                exit(1);
                        }
                        tpfw_ruleset_add_rule(rs, ipv, table, chain, atoi(prio ? prio : "0"),
                                              (const char *const *)argv, TPFW_RULE_APPEND, 0);
                        tpfw_strv_free(argv);
                }
        }
        xmlFreeDoc(doc);
        return rs;
}

/* One line per entry, sorted by the caller: "chain ipv4 mangle X" / "rule ipv4 nat OUTPUT 1 ARGS".
 */
static void print_ruleset(const TpfwRuleset *rs)
{
        for (size_t i = 0; i < tpfw_ruleset_n_chains(rs); i++) {
                const TpfwChain *c = tpfw_ruleset_chain(rs, i);

                printf("chain %s %s %s\n", tpfw_ipv_name(c->ipv), c->table, c->chain);
        }
        for (size_t i = 0; i < tpfw_ruleset_n_rules(rs); i++) {
                const TpfwRule *r = tpfw_ruleset_rule(rs, i);
                g_autofree char *args = tpfw_args_join((const char *const *)r->argv);

                printf("rule %s %s %s %d %s\n", tpfw_ipv_name(r->ipv), r->table, r->chain,
                       r->priority, args);
        }
}

/*
 * "query SENT OWNER FILE.xml STEP...": sends the calls named in SENT (comma-separated: state,
 * permanent, runtime) at once, then takes the answers in the order of the STEPs and prints one
 * line per step: "state RUNNING", "runtime ok", or "permanent -ERRNO: message".
 */
static int query(const char *sent, const char *owner, const TpfwRuleset *rs, char **steps,
                 TpfwFirewalld *fw, TpfwDiag *diag)
{
        g_auto(GStrv) names = g_strsplit(sent, ",", -1);
        TpfwFirewalldQuery *q = NULL;
        unsigned what = 0;
        int r;

        for (char **n = names; *n; n++) {
                if (strcmp(*n, "state") == 0)
                        what |= TPFW_QUERY_STATE;
                else if (strcmp(*n, "permanent") == 0)
                        what |= tpfw_firewalld_query_for(TPFW_VIEW_PERMANENT, rs);
                else if (strcmp(*n, "runtime") == 0)
                        what |= tpfw_firewalld_query_for(TPFW_VIEW_RUNTIME, rs);
                else
                        return 1;
        }
        r = tpfw_firewalld_query_send(fw, what, &q, diag);
        if (r < 0)
                return fail(r, diag);
        for (char **step = steps; *step; step++) {
                char *state = NULL;

                if (strcmp(*step, "state") == 0)
                        r = tpfw_firewalld_query_state(q, &state, diag);
                else
                        r = tpfw_firewalld_query_verify_owner(q,
                                                              strcmp(*step, "runtime") == 0
                                                                      ? TPFW_VIEW_RUNTIME
                                                                      : TPFW_VIEW_PERMANENT,
                                                              owner, rs, diag);
                if (r < 0) {
                        g_autofree char *msg = tpfw_diag_format(diag);

                        printf("%s %d: %s\n", *step, r, msg ? msg : "(no message)");
                        tpfw_diag_clear(diag);
                } else {
                        printf("%s %s\n", *step, state ? state : "ok");
                }
                free(state);
        }
        tpfw_firewalld_query_free(q);
        return 0;
}

static int usage(void)
{
        fprintf(stderr, "usage: fwclient [--timeout MS] running|reload|state|get-runtime|"
                        "get-permanent|verify[-permanent] OWNER FILE.xml|runtime-add FILE.xml|"
                        "runtime-remove FILE.xml|get-rfc3964|set-rfc3964 yes|no|"
                        "query SENT OWNER FILE.xml STEP...\n");
        return 1;
}

int main(int argc, char **argv)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwFirewalld *fw = NULL;
        TpfwRuleset *rs = NULL;
        int timeout_ms = 0, r = 0, ret = 0;
        const char *verb;

        if (argc >= 3 && strcmp(argv[1], "--timeout") == 0) {
                timeout_ms = atoi(argv[2]);
                argc -= 2;
                argv += 2;
        }
        if (argc < 2)
                return usage();
        verb = argv[1];

        r = tpfw_firewalld_connect(timeout_ms, &fw, &diag);
        if (r < 0)
                return fail(r, &diag);

        if (strcmp(verb, "running") == 0) {
                printf("%s\n", tpfw_firewalld_is_running(fw) ? "yes" : "no");
        } else if (strcmp(verb, "reload") == 0) {
                r = tpfw_firewalld_reload(fw, &diag);
        } else if (strcmp(verb, "state") == 0) {
                char *state = NULL;

                r = tpfw_firewalld_get_state(fw, &state, &diag);
                if (r == 0)
                        printf("%s\n", state);
                free(state);
        } else if (strcmp(verb, "get-runtime") == 0 || strcmp(verb, "get-permanent") == 0) {
                r = tpfw_firewalld_get_direct(
                        fw,
                        strcmp(verb, "get-runtime") == 0 ? TPFW_VIEW_RUNTIME : TPFW_VIEW_PERMANENT,
                        &rs, &diag);
                if (r == 0)
                        print_ruleset(rs);
        } else if ((strcmp(verb, "verify") == 0 || strcmp(verb, "verify-permanent") == 0) &&
                   argc == 4) {
                rs = read_ruleset(argv[3]);
                if (!rs) {
                        ret = 1;
                        goto out;
                }
                r = tpfw_firewalld_verify_owner(
                        fw, strcmp(verb, "verify") == 0 ? TPFW_VIEW_RUNTIME : TPFW_VIEW_PERMANENT,
                        argv[2], rs, &diag);
                if (r == 0)
                        printf("ok\n");
        } else if ((strcmp(verb, "runtime-add") == 0 || strcmp(verb, "runtime-remove") == 0) &&
                   argc == 3) {
                rs = read_ruleset(argv[2]);
                if (!rs) {
                        ret = 1;
                        goto out;
                }
                r = strcmp(verb, "runtime-add") == 0 ? tpfw_firewalld_runtime_add(fw, rs, &diag)
                                                     : tpfw_firewalld_runtime_remove(fw, rs, &diag);
        } else if (strcmp(verb, "query") == 0 && argc >= 6) {
                rs = read_ruleset(argv[4]);
                if (!rs) {
                        ret = 1;
                        goto out;
                }
                ret = query(argv[2], argv[3], rs, argv + 5, fw, &diag);
                if (ret == 1)
                        ret = usage();
        } else if (strcmp(verb, "get-rfc3964") == 0) {
                bool on = false;

                r = tpfw_firewalld_get_rfc3964_ipv4(fw, &on, &diag);
                if (r == 0)
                        printf("%s\n", on ? "yes" : "no");
        } else if (strcmp(verb, "set-rfc3964") == 0 && argc == 3) {
                r = tpfw_firewalld_set_rfc3964_ipv4(fw, strcmp(argv[2], "yes") == 0, &diag);
        } else {
                ret = usage();
        }
        if (r < 0)
                ret = fail(r, &diag);
out:
        tpfw_ruleset_free(rs);
        tpfw_firewalld_free(fw);
        tpfw_diag_clear(&diag);
        return ret;
}
