/* SPDX-License-Identifier: MIT */
/* generate: print the desired ruleset as direct.xml entries, iptables-restore text or JSON. */
#include <string.h>

#include <tproxy-firewalld/config.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/generate.h>

#include "cli.h"

static const char *const generate_names[] = {"--format", "--from-iptables-restore", "--import-ipv",
                                             NULL};

static void generate_usage(void)
{
        g_autofree char *h = tpfw_config_help();

        printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] generate [--format FORMAT] [RULE "
               "OPTIONS]\n"
               "\n"
               "Print the owner's ruleset without touching anything.\n"
               "  --format direct-xml       the entries install would merge (default)\n"
               "  --format iptables-restore kumactl --dry-run layout (### IPv4 ### ...)\n"
               "  --format json             chains and rules with priorities\n"
               "  --from-iptables-restore FILE|-  import instead of generating\n"
               "  --json                    one object: owner, format, rule and chain counts,\n"
               "                            and \"output\": what FORMAT prints, as a string\n"
               "\n"
               "Rule options (Kuma's):\n%s",
               h);
}

/*
 * With --json: one result object whose "output" is exactly what generate prints without --json
 * (for --format json, that document as a string).
 */
static void generate_json(CliGlobal *g, const char *format, const TpfwRuleset *rs,
                          const char *output)
{
        TpfwJsonWriter w;

        cli_json_begin(&w);
        tpfw_json_member_string(&w, "owner", g->owner);
        tpfw_json_member_string(&w, "format", format);
        tpfw_json_member_int(&w, "rules", (int64_t)tpfw_ruleset_n_rules(rs));
        tpfw_json_member_int(&w, "chains", (int64_t)tpfw_ruleset_n_chains(rs));
        tpfw_json_member_string(&w, "output", output);
        cli_json_end(g, &w, NULL);
}

int cmd_generate(CliGlobal *g, int argc, char **argv)
{
        const char *format = "direct-xml";
        CliRulesetSource src;
        g_autoptr(TpfwRuleset) rs = NULL;
        g_autofree char *out = NULL;
        int code;

        cli_ruleset_source_init(&src);
        for (int i = 1; i < argc; i++) {
                const char *v;
                int r;

                if (cli_is_help(argv[i])) {
                        generate_usage();
                        cli_ruleset_source_clear(&src);
                        return EXIT_OK;
                }
                if (cli_opt_is(argv[i], "--format", &v)) {
                        format = cli_opt_value(argv[i], v, argc, argv, &i);
                        if (!format) {
                                cli_ruleset_source_clear(&src);
                                return EXIT_USAGE;
                        }
                        continue;
                }
                r = cli_ruleset_source_take(&src, argc, argv, &i);
                if (r == 0)
                        r = cli_take_global(g, argc, argv, &i, true);
                if (r <= 0) {
                        if (r == 0)
                                cli_unknown_option(g, argv[i], generate_names, true);
                        cli_ruleset_source_clear(&src);
                        return EXIT_USAGE;
                }
        }
        if (strcmp(format, "direct-xml") != 0 && strcmp(format, "iptables-restore") != 0 &&
            strcmp(format, "json") != 0) {
                const char *const formats[] = {"direct-xml", "iptables-restore", "json", NULL};
                const char *near = cli_nearest(format, formats);

                cli_errorf(
                        "--format: expected direct-xml, iptables-restore or json, got '%s'%s%s%s",
                        format, near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
                cli_ruleset_source_clear(&src);
                return EXIT_USAGE;
        }
        code = cli_check_global(g);
        if (code == 0)
                code = cli_ruleset_source_build(g, &src, &rs);
        cli_ruleset_source_clear(&src);
        if (code != 0)
                return code;
        if (tpfw_ruleset_tag(rs, g->owner) < 0) {
                cli_errorf("out of memory");
                return EXIT_FAIL;
        }
        cli_verbosef(g, "generated %zu chains, %zu rules for owner %s", tpfw_ruleset_n_chains(rs),
                     tpfw_ruleset_n_rules(rs), g->owner);
        if (strcmp(format, "iptables-restore") == 0)
                out = tpfw_render_iptables_restore(rs);
        else if (strcmp(format, "json") == 0)
                out = tpfw_render_json(rs);
        else
                out = tpfw_direct_format_ruleset(rs);
        if (g->json) {
                generate_json(g, format, rs, out);
                return EXIT_OK;
        }
        fputs(out, stdout);
        if (*out && out[strlen(out) - 1] != '\n')
                fputc('\n', stdout);
        return EXIT_OK;
}
