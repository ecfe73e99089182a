/* SPDX-License-Identifier: MIT */
/* Where the desired ruleset comes from: an iptables-restore import, or Kuma options. */
#include <errno.h>
#include <string.h>

#include <tproxy-firewalld/config.h>
#include <tproxy-firewalld/generate.h>
#include <tproxy-firewalld/import.h>

#include "cli.h"

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
        memset(src, 0, sizeof(*src));
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
                src->import_ipv = cli_opt_value("--import-ipv", v, argc, argv, i);
                if (!src->import_ipv)
                        return -1;
                if (strcmp(src->import_ipv, "ipv4") != 0 && strcmp(src->import_ipv, "ipv6") != 0) {
                        cli_errorf("--import-ipv: expected ipv4 or ipv6, got '%s'",
                                   src->import_ipv);
                        return -1;
                }
                return 1;
        }
        /* Kuma's --dry-run means "change nothing": the CLI's --check. */
        if (strcmp(arg, "--dry-run") == 0 || strcmp(arg, "--dry-run=true") == 0) {
                src->dry_run = true;
                return 1;
        }
        if (strcmp(arg, "--dry-run=false") == 0)
                return 1;
        arity = tpfw_config_flag_arity(arg);
        if (arity < 0)
                return 0;
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

        if (src->kuma_argv->len > 0) {
                cli_errorf(
                        "--from-iptables-restore cannot be combined with rule options such as %s",
                        (const char *)src->kuma_argv->pdata[0]);
                return EXIT_USAGE;
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

int cli_ruleset_source_build(const CliGlobal *g, CliRulesetSource *src, TpfwRuleset **ret)
{
        TpfwConfig *cfg = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        char **notes = NULL, **warnings = NULL;
        int r, code = 0;

        if (src->from_iptables_restore)
                return build_import(src, ret);

        r = tpfw_config_build((int)src->kuma_argv->len, (char *const *)src->kuma_argv->pdata,
                              g->envp, stdin, &cfg, &notes, &diag);
        for (char **n = notes; n && *n; n++)
                cli_warnf(g, "note: %s", *n);
        g_strfreev(notes);
        if (r < 0) {
                cli_error(&diag, "invalid options");
                tpfw_diag_clear(&diag);
                return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
        }
        if (tpfw_config_dry_run(cfg))
                src->dry_run = true;
        r = tpfw_generate(cfg, ret, &warnings, &diag);
        for (char **w = warnings; w && *w; w++)
                cli_warnf(g, "warning: %s", *w);
        g_strfreev(warnings);
        if (r < 0) {
                cli_error(&diag, "cannot generate the rules");
                code = r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
        }
        tpfw_diag_clear(&diag);
        tpfw_config_free(cfg);
        return code;
}
