/* SPDX-License-Identifier: MIT */
/* generate: print the desired ruleset as direct.xml entries, iptables-restore text or JSON. */
#include <string.h>

#include <tproxy-firewalld/config.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/generate.h>

#include "cli.h"

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

                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        g_autofree char *h = tpfw_config_help();
                        printf("Usage: tproxy-firewalld [GLOBAL OPTIONS] generate [--format "
                               "FORMAT] "
                               "[RULE OPTIONS]\n"
                               "\n"
                               "Print the owner's ruleset without touching anything.\n"
                               "  --format direct-xml       the entries install would merge "
                               "(default)\n"
                               "  --format iptables-restore kumactl --dry-run layout (### IPv4 ### "
                               "...)\n"
                               "  --format json             chains and rules with priorities\n"
                               "  --from-iptables-restore FILE|-  import instead of generating\n"
                               "\n"
                               "Rule options (Kuma's):\n%s",
                               h);
                        cli_ruleset_source_clear(&src);
                        return EXIT_OK;
                }
                if (cli_opt_is(argv[i], "--format", &v)) {
                        format = cli_opt_value("--format", v, argc, argv, &i);
                        if (!format) {
                                cli_ruleset_source_clear(&src);
                                return EXIT_USAGE;
                        }
                        continue;
                }
                r = cli_ruleset_source_take(&src, argc, argv, &i);
                if (r <= 0) {
                        if (r == 0)
                                cli_errorf("generate: unknown option '%s'", argv[i]);
                        cli_ruleset_source_clear(&src);
                        return EXIT_USAGE;
                }
        }
        if (strcmp(format, "direct-xml") != 0 && strcmp(format, "iptables-restore") != 0 &&
            strcmp(format, "json") != 0) {
                cli_errorf("--format: expected direct-xml, iptables-restore or json, got '%s'",
                           format);
                cli_ruleset_source_clear(&src);
                return EXIT_USAGE;
        }
        code = cli_ruleset_source_build(g, &src, &rs);
        cli_ruleset_source_clear(&src);
        if (code != 0)
                return code;
        if (tpfw_ruleset_tag(rs, g->owner) < 0) {
                cli_errorf("out of memory");
                return EXIT_FAIL;
        }
        if (strcmp(format, "iptables-restore") == 0)
                out = tpfw_render_iptables_restore(rs);
        else if (strcmp(format, "json") == 0)
                out = tpfw_render_json(rs);
        else
                out = tpfw_direct_format_ruleset(rs);
        fputs(out, stdout);
        if (*out && out[strlen(out) - 1] != '\n')
                fputc('\n', stdout);
        return EXIT_OK;
}
