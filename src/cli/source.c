/* SPDX-License-Identifier: MIT */
/* Where the desired ruleset comes from: an iptables-restore import, or Kuma options. */
#include <errno.h>
#include <string.h>

#include <tproxy-firewalld/config.h>
#include <tproxy-firewalld/generate.h>
#include <tproxy-firewalld/import.h>

#include "cli.h"

/* Kuma options that change how a command runs, not the rules: uninstall accepts them too. */
static const char *const run_options[] = {"--dry-run", "--verbose", "--store-firewalld",
                                          "--config"};

void cli_ruleset_source_init(CliRulesetSource *src)
{
        memset(src, 0, sizeof(*src));
        src->import_ipv = "ipv4";
        src->kuma_argv = g_ptr_array_new();
}

void cli_ruleset_source_clear(CliRulesetSource *src)
{
        if (src->kuma_argv)
                g_ptr_array_unref(src->kuma_argv);
        tpfw_config_free(src->config);
        memset(src, 0, sizeof(*src));
}

static bool is_run_option(const char *arg)
{
        for (size_t i = 0; i < G_N_ELEMENTS(run_options); i++)
                if (cli_opt_is(arg, run_options[i], NULL) ||
                    (g_str_has_prefix(arg, run_options[i]) && arg[strlen(run_options[i])] == '='))
                        return true;
        return false;
}

int cli_ruleset_source_take(CliRulesetSource *src, int argc, char **argv, int *i)
{
        const char *arg = argv[*i], *v;
        int arity;

        if (cli_opt_is(arg, "--from-iptables-restore", &v)) {
                src->from_iptables_restore = cli_opt_value(arg, v, argc, argv, i);
                return src->from_iptables_restore ? 1 : -1;
        }
        if (cli_opt_is(arg, "--import-ipv", &v)) {
                src->import_ipv = cli_opt_value(arg, v, argc, argv, i);
                if (!src->import_ipv)
                        return -1;
                if (strcmp(src->import_ipv, "ipv4") != 0 && strcmp(src->import_ipv, "ipv6") != 0) {
                        cli_errorf("--import-ipv: expected ipv4 or ipv6, got '%s'",
                                   src->import_ipv);
                        return -1;
                }
                return 1;
        }
        /* every Kuma option, --dry-run[=BOOL] included: the library settles flags over env over
         * files, whatever the spelling of a boolean */
        arity = tpfw_config_flag_arity(arg);
        if (arity < 0)
                return 0;
        if (!is_run_option(arg))
                src->rule_options = true;
        g_ptr_array_add(src->kuma_argv, argv[*i]);
        if (arity == 1) {
                if (*i + 1 >= argc) {
                        cli_errorf("option %s needs a value", arg);
                        return -1;
                }
                g_ptr_array_add(src->kuma_argv, argv[++*i]);
        }
        return 1;
}

int cli_ruleset_source_config(CliGlobal *g, CliRulesetSource *src)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        char **notes = NULL;
        int r;

        if (src->config)
                return 0;
        r = tpfw_config_build((int)src->kuma_argv->len, (char *const *)src->kuma_argv->pdata,
                              g->envp, stdin, &src->config, &notes, &diag);
        for (char **n = notes; n && *n; n++)
                cli_warnf(g, "note: %s", *n);
        g_strfreev(notes);
        if (r < 0) {
                cli_error(&diag, "invalid options");
                tpfw_diag_clear(&diag);
                return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
        }
        g->verbose = g->verbose_flag || tpfw_config_verbose(src->config);
        return 0;
}

static int build_import(CliRulesetSource *src, TpfwRuleset **ret)
{
        const char *path = src->from_iptables_restore;
        bool is_stdin = strcmp(path, "-") == 0;
        g_autofree char *text = NULL;
        g_autoptr(GError) err = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwIpv ipv = TPFW_IPV4;
        gsize len = 0;
        int r;

        if (src->rule_options) {
                for (guint i = 0; i < src->kuma_argv->len; i++) {
                        const char *arg = src->kuma_argv->pdata[i];

                        if (!is_run_option(arg)) {
                                cli_errorf("--from-iptables-restore cannot be combined with rule "
                                           "options such as %s",
                                           arg);
                                return EXIT_USAGE;
                        }
                }
        }
        if (is_stdin) {
                GString *s = g_string_new(NULL);
                char buf[65536];
                size_t n;
                while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
                        g_string_append_len(s, buf, (gssize)n);
                len = s->len;
                text = g_string_free(s, FALSE);
        } else if (!g_file_get_contents(path, &text, &len, &err)) {
                cli_errorf("%s", err->message);
                return EXIT_FAIL;
        }
        (void)tpfw_ipv_from_name(src->import_ipv, &ipv);
        r = tpfw_import_iptables_restore(is_stdin ? "<stdin>" : path, text, len, ipv, ret, &diag);
        if (r < 0) {
                /* bad input data, not bad usage: exit 1 like a bad direct.xml */
                cli_error(&diag, "cannot import the iptables-restore input");
                tpfw_diag_clear(&diag);
                return EXIT_FAIL;
        }
        return 0;
}

int cli_ruleset_source_build(CliGlobal *g, CliRulesetSource *src, TpfwRuleset **ret)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        char **warnings = NULL;
        int r, code;

        code = cli_ruleset_source_config(g, src);
        if (code != 0)
                return code;
        if (src->from_iptables_restore)
                return build_import(src, ret);
        r = tpfw_generate(src->config, ret, &warnings, &diag);
        for (char **w = warnings; w && *w; w++)
                cli_warnf(g, "warning: %s", *w);
        g_strfreev(warnings);
        if (r < 0) {
                cli_error(&diag, "cannot generate the rules");
                code = r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
        }
        tpfw_diag_clear(&diag);
        return code;
}
