/* SPDX-License-Identifier: MIT */
/* Building a configuration: defaults < config files < KUMA_TRANSPARENT_PROXY_* < flags. */
#include <errno.h>
#include <string.h>

#include "config-source.h"

typedef struct FlagValue {
        size_t idx;
        const char *value; /* points into argv, or a static "true" */
        char *name;        /* "--flag" */
} FlagValue;

static void flag_value_clear(gpointer p)
{
        g_free(((FlagValue *)p)->name);
}

static int parse_argv(BuildContext *ctx, int argc, char *const *argv, GArray *out)
{
        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i];
                const char *name, *eq;
                size_t nlen;
                ssize_t idx;
                FlagValue fv = {0};

                if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
                        g_autofree char *shown = config_printable(arg);

                        return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                             "unexpected argument \"%s\" (options are "
                                             "--name value or --name=value)",
                                             shown);
                }
                name = arg + 2;
                eq = strchr(name, '=');
                nlen = eq ? (size_t)(eq - name) : strlen(name);
                idx = config_flag_lookup(name, nlen);
                if (idx < 0) {
                        g_autofree char *shown = g_strndup(name, nlen);
                        g_autofree char *p = config_printable(shown);

                        if (g_str_equal(shown, "config-file"))
                                return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                                     "unknown option --config-file (removed from "
                                                     "Kuma; use --config)");
                        if (g_str_equal(shown, "kuma-dp-uid"))
                                return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                                     "unknown option --kuma-dp-uid (removed from "
                                                     "Kuma; use --kuma-dp-user)");
                        return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0, "unknown option --%s", p);
                }
                fv.idx = (size_t)idx;
                fv.name = g_strdup_printf("--%s", config_options[idx].flag);
                if (eq) {
                        fv.value = eq + 1;
                } else if (config_options[idx].type == OPT_BOOL) {
                        fv.value = "true";
                } else if (i + 1 < argc) {
                        fv.value = argv[++i];
                } else {
                        g_free(fv.name);
                        return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                             "option --%s requires a value",
                                             config_options[idx].flag);
                }
                g_array_append_val(out, fv);
                /* cppcheck-suppress memleak ; out owns fv.name now (flag_value_clear frees it) */
        }
        return 0;
}

static const char *env_lookup(char *const *envp, const char *suffix)
{
        size_t plen = strlen(CONFIG_ENV_PREFIX), slen = strlen(suffix);

        if (!envp)
                return NULL;
        for (char *const *e = envp; *e; e++)
                if (strncmp(*e, CONFIG_ENV_PREFIX, plen) == 0 &&
                    strncmp(*e + plen, suffix, slen) == 0 && (*e)[plen + slen] == '=')
                        return *e + plen + slen + 1;
        return NULL;
}

static int apply_env(BuildContext *ctx, char *const *envp)
{
        size_t plen = strlen(CONFIG_ENV_PREFIX);
        /* the variables with the prefix, in envp's order: the option look-ups below scan these
         * instead of the whole environment once per option */
        g_autoptr(GPtrArray) ours = g_ptr_array_new();

        if (!envp)
                return 0;
        for (char *const *e = envp; *e; e++) {
                const char *eq;
                bool known = false;

                if (strncmp(*e, CONFIG_ENV_PREFIX, plen) != 0)
                        continue;
                g_ptr_array_add(ours, *e);
                eq = strchr(*e, '=');
                if (!eq)
                        continue;
                for (size_t i = 0; i < CONFIG_N_OPTIONS && !known; i++)
                        known = config_options[i].env &&
                                strlen(config_options[i].env) == (size_t)(eq - *e) - plen &&
                                strncmp(config_options[i].env, *e + plen,
                                        (size_t)(eq - *e) - plen) == 0;
                if (!known) {
                        g_autofree char *name = g_strndup(*e, (size_t)(eq - *e));

                        config_add_note(
                                ctx,
                                g_strdup_printf("unknown environment variable %s ignored", name));
                }
        }
        g_ptr_array_add(ours, NULL);
        for (size_t i = 0; i < CONFIG_N_OPTIONS; i++) {
                g_autofree char *name = NULL;
                const char *value;
                Origin o = {.kind = ORIGIN_ENV};
                int r;

                if (!config_options[i].env)
                        continue;
                value = env_lookup((char *const *)ours->pdata, config_options[i].env);
                if (!value || !*value)
                        continue;
                name = g_strconcat(CONFIG_ENV_PREFIX, config_options[i].env, NULL);
                o.name = name;
                r = config_apply_text(ctx, i, value, &o);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- public API ---- */

static TpfwConfig *config_new_default(void)
{
        TpfwConfig *cfg = g_new0(TpfwConfig, 1);
        ConfigRedirect *dirs[] = {&cfg->inbound, &cfg->outbound};

        cfg->kuma_dp_user = g_strdup("");
        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
                dirs[i]->enabled = true;
                dirs[i]->exclude_ports = g_ptr_array_new_with_free_func(g_free);
                dirs[i]->include_ports = g_ptr_array_new_with_free_func(g_free);
                dirs[i]->exclude_ips = g_ptr_array_new_with_free_func(g_free);
                dirs[i]->exclude_uids = g_ptr_array_new_with_free_func(g_free);
        }
        cfg->inbound.port = 15006;
        cfg->outbound.port = 15001;
        cfg->dns.port = 15053;
        cfg->dns.resolv_conf = g_strdup("/etc/resolv.conf");
        cfg->vnet = g_ptr_array_new_with_free_func(g_free);
        cfg->log_level = 7;
        cfg->chain_inbound = g_strdup("INBOUND");
        cfg->chain_outbound = g_strdup("OUTBOUND");
        cfg->chain_inbound_redirect = g_strdup("INBOUND_REDIRECT");
        cfg->chain_outbound_redirect = g_strdup("OUTBOUND_REDIRECT");
        cfg->wait = 5;
        cfg->max_retries = 4;
        cfg->sleep_between_retries = g_strdup("2s");
        cfg->assume_ipv6 = CONFIG_ASSUME_DEFAULT;
        cfg->assume_conntrack = CONFIG_ASSUME_DEFAULT;
        cfg->assume_docker_output = CONFIG_ASSUME_DEFAULT;
        cfg->assume_mangle = CONFIG_ASSUME_DEFAULT;
        cfg->origins = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_set_size(cfg->origins, CONFIG_N_OPTIONS);
        return cfg;
}

TpfwConfig *tpfw_config_free(TpfwConfig *cfg)
{
        ConfigRedirect *dirs[2];

        if (!cfg)
                return NULL;
        dirs[0] = &cfg->inbound;
        dirs[1] = &cfg->outbound;
        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
                g_ptr_array_unref(dirs[i]->exclude_ports);
                g_ptr_array_unref(dirs[i]->include_ports);
                g_ptr_array_unref(dirs[i]->exclude_ips);
                g_ptr_array_unref(dirs[i]->exclude_uids);
        }
        g_free(cfg->kuma_dp_user);
        g_free(cfg->dns.resolv_conf);
        g_ptr_array_unref(cfg->vnet);
        g_free(cfg->chain_inbound);
        g_free(cfg->chain_outbound);
        g_free(cfg->chain_inbound_redirect);
        g_free(cfg->chain_outbound_redirect);
        g_free(cfg->sleep_between_retries);
        g_free(cfg->iptables_executables);
        g_free(cfg->loopback_interface);
        if (cfg->origins)
                g_ptr_array_unref(cfg->origins);
        g_free(cfg);
        return NULL;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwConfig, tpfw_config_free)

static int check_chain_names(BuildContext *ctx)
{
        const char *names[] = {ctx->cfg->chain_inbound, ctx->cfg->chain_outbound,
                               ctx->cfg->chain_inbound_redirect, ctx->cfg->chain_outbound_redirect};

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
                for (size_t j = i + 1; j < G_N_ELEMENTS(names); j++)
                        if (g_str_equal(names[i], names[j]))
                                return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                                     "chain name suffix \"%s\" is used twice "
                                                     "(KUMA_TRANSPARENT_PROXY_*_CHAIN_NAME)",
                                                     names[i]);
        return 0;
}

int tpfw_config_build(int argc, char *const *argv, char *const *envp, FILE *stdin_file,
                      TpfwConfig **ret, char ***ret_notes, TpfwDiag *diag)
{
        g_autoptr(TpfwConfig) cfg = config_new_default();
        g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GArray) flags = g_array_new(FALSE, TRUE, sizeof(FlagValue));
        BuildContext ctx = {.cfg = cfg, .notes = notes, .diag = diag};
        bool stdin_used = false, flag_dns = false, flag_capture_all = false;
        int r;

        g_array_set_clear_func(flags, flag_value_clear);
        if (argc < 0 || (argc > 0 && !argv))
                return tpfw_diag_set(diag, EINVAL, NULL, 0, "invalid argument vector");
        r = parse_argv(&ctx, argc, argv, flags);
        if (r < 0)
                return r;

        for (guint i = 0; i < flags->len; i++) {
                FlagValue *fv = &g_array_index(flags, FlagValue, i);

                if (config_options[fv->idx].type != OPT_CONFIG)
                        continue;
                if (g_str_equal(fv->value, "-")) {
                        if (stdin_used)
                                return tpfw_diag_set(diag, EINVAL, NULL, 0,
                                                     "--config -: standard input can be used "
                                                     "only once");
                        stdin_used = true;
                }
                r = config_apply_source(&ctx, fv->value, stdin_file);
                if (r < 0)
                        return r;
        }

        r = apply_env(&ctx, envp);
        if (r < 0)
                return r;

        for (guint i = 0; i < flags->len; i++) {
                FlagValue *fv = &g_array_index(flags, FlagValue, i);
                Origin o = {.name = fv->name, .kind = ORIGIN_FLAG};

                if (config_options[fv->idx].type == OPT_CONFIG)
                        continue;
                r = config_apply_text(&ctx, fv->idx, fv->value, &o);
                if (r < 0)
                        return r;
                if (config_options[fv->idx].offset == offsetof(TpfwConfig, dns.enabled))
                        flag_dns = cfg->dns.enabled;
                if (config_options[fv->idx].offset == offsetof(TpfwConfig, dns.capture_all))
                        flag_capture_all = cfg->dns.capture_all;
        }
        if (flag_dns && flag_capture_all)
                return tpfw_diag_set(diag, EINVAL, NULL, 0,
                                     "--redirect-dns and --redirect-all-dns-traffic cannot be "
                                     "used together (--redirect-all-dns-traffic already "
                                     "redirects DNS)");
        r = check_chain_names(&ctx);
        if (r < 0)
                return r;
        if (cfg->dns.capture_all)
                cfg->dns.enabled = true;

        if (ret_notes) {
                if (notes->len > 0) {
                        g_ptr_array_add(notes, NULL);
                        *ret_notes = (char **)g_ptr_array_free(g_steal_pointer(&notes), FALSE);
                } else {
                        *ret_notes = NULL;
                }
        }
        *ret = g_steal_pointer(&cfg);
        return 0;
}

bool tpfw_config_dry_run(const TpfwConfig *cfg)
{
        return cfg && cfg->dry_run;
}

bool tpfw_config_verbose(const TpfwConfig *cfg)
{
        return cfg && cfg->verbose;
}

bool tpfw_config_comments_disabled(const TpfwConfig *cfg)
{
        return cfg && cfg->comments_disabled;
}

int tpfw_config_store_firewalld(const TpfwConfig *cfg, const char **ret_origin)
{
        ssize_t idx = config_flag_lookup("store-firewalld", strlen("store-firewalld"));
        const char *origin;

        g_assert(idx >= 0);
        origin = cfg ? cfg->origins->pdata[idx] : NULL;
        if (ret_origin)
                *ret_origin = origin;
        if (!origin)
                return -1;
        return cfg->store_firewalld ? 1 : 0;
}
