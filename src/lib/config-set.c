/* SPDX-License-Identifier: MIT */
/* Storing a value from any source: validation through the grammars, lists, notes, origins. */
#include <errno.h>
#include <string.h>

#include "config-source.h"

char *config_printable(const char *s)
{
        return g_strescape(s, NULL);
}

int config_origin_error(BuildContext *ctx, const Origin *o, const char *value, const char *why)
{
        g_autofree char *v = config_printable(value);

        return tpfw_diag_set(ctx->diag, EINVAL, o->file, o->line, "%s: invalid value \"%s\": %s",
                             o->name, v, why);
}

void config_add_note(BuildContext *ctx, char *note)
{
        for (guint i = 0; i < ctx->notes->len; i++)
                if (g_str_equal(ctx->notes->pdata[i], note)) {
                        g_free(note);
                        return;
                }
        g_ptr_array_add(ctx->notes, note);
}

void config_note_set(BuildContext *ctx, const OptDef *opt, const Origin *o)
{
        size_t idx = (size_t)(opt - config_options);
        char *where = o->file ? g_strdup_printf("%s:%u: %s", o->file, o->line, o->name)
                              : g_strdup(o->name);

        g_free(ctx->cfg->origins->pdata[idx]);
        ctx->cfg->origins->pdata[idx] = where;
        if (opt->flags & OPTF_NO_EFFECT)
                config_add_note(
                        ctx,
                        g_strdup_printf("%s: accepted for compatibility, has no effect", where));
}

void config_set_bool(BuildContext *ctx, const OptDef *opt, bool value, const Origin *o)
{
        *(bool *)config_field(ctx->cfg, opt) = value;
        config_note_set(ctx, opt, o);
}

/* Why value cannot be stored in an option of a type kept as text; NULL when it can. */
static char *string_value_problem(OptType type, const char *value)
{
        char *why = NULL;

        switch (type) {
        case OPT_DURATION:
                if (!config_parse_duration(value))
                        why = g_strdup("expected a duration such as 2s, 500ms or 1m30s");
                break;
        case OPT_PATH:
                if (!*value)
                        why = g_strdup("expected a file path");
                else if (strchr(value, '\n'))
                        why = g_strdup("newlines are not allowed");
                break;
        case OPT_IFACE:
                why = config_iface_check(value);
                if (!why && strchr(value, '+'))
                        why = g_strdup("the loopback interface cannot be a wildcard");
                break;
        case OPT_CHAIN:
                why = config_chain_check(value);
                break;
        case OPT_EXECUTABLES:
                why = config_executables_check(value);
                break;
        default:
                g_assert_not_reached();
        }
        return why;
}

/* Sets a scalar option from text (flags, env, and YAML scalars other than booleans). */
int config_set_scalar(BuildContext *ctx, const OptDef *opt, const char *value, const Origin *o)
{
        void *f = config_field(ctx->cfg, opt);
        g_autofree char *why = NULL;
        guint64 v;
        guint port;

        switch (opt->type) {
        case OPT_BOOL: {
                bool b;

                if (!config_parse_bool(value, &b))
                        return config_origin_error(ctx, o, value, "expected true or false");
                *(bool *)f = b;
                break;
        }
        case OPT_USER: {
                char *norm = NULL;

                why = config_user_check(value, &norm);
                if (why)
                        return config_origin_error(ctx, o, value, why);
                g_free(*(char **)f);
                *(char **)f = norm;
                break;
        }
        case OPT_FAMILY:
                if (g_ascii_strcasecmp(value, "dualstack") == 0)
                        *(bool *)f = false;
                else if (g_ascii_strcasecmp(value, "ipv4") == 0)
                        *(bool *)f = true;
                else
                        return config_origin_error(ctx, o, value, "expected dualstack or ipv4");
                break;
        case OPT_PORT:
                if (!config_parse_port(value, &port))
                        return config_origin_error(ctx, o, value, "expected a port number 1-65535");
                *(guint *)f = port;
                break;
        case OPT_UINT:
                if (!config_parse_decimal(value, G_MAXUINT, &v))
                        return config_origin_error(ctx, o, value, "expected an unsigned integer");
                *(guint *)f = (guint)v;
                break;
        case OPT_LOG_LEVEL:
                if (!config_parse_decimal(value, 7, &v))
                        return config_origin_error(ctx, o, value, "expected a log level 0-7");
                *(guint *)f = (guint)v;
                break;
        case OPT_ASSUME:
                if (g_str_equal(value, "yes"))
                        *(int *)f = CONFIG_ASSUME_YES;
                else if (g_str_equal(value, "no"))
                        *(int *)f = CONFIG_ASSUME_NO;
                else
                        return config_origin_error(ctx, o, value, "expected yes or no");
                break;
        case OPT_DURATION:
        case OPT_PATH:
        case OPT_IFACE:
        case OPT_CHAIN:
        case OPT_EXECUTABLES:
                why = string_value_problem(opt->type, value);
                if (why)
                        return config_origin_error(ctx, o, value, why);
                g_free(*(char **)f);
                *(char **)f = g_strdup(value);
                break;
        default:
                g_assert_not_reached();
        }
        config_note_set(ctx, opt, o);
        return 0;
}

/* Validates one list item and appends its stored form. */
static int config_list_add(BuildContext *ctx, const OptDef *opt, GPtrArray *list, const char *raw,
                           const Origin *o)
{
        g_autofree char *item = g_strstrip(g_strdup(raw));
        g_autofree char *why = NULL;
        guint port;

        switch (opt->type) {
        case OPT_PORT_LIST:
                if (!config_parse_port(item, &port))
                        return config_origin_error(ctx, o, item, "expected a port number 1-65535");
                g_ptr_array_add(list, g_strdup_printf("%u", port));
                return 0;
        case OPT_IP_LIST:
                if (!config_ip_check(item, false, &why))
                        return config_origin_error(ctx, o, item, why);
                break;
        case OPT_UID_LIST:
                why = config_uid_entry_parse(item, NULL);
                if (why)
                        return config_origin_error(ctx, o, item, why);
                break;
        case OPT_INBOUND_UID_LIST:
                return config_origin_error(ctx, o, item,
                                           "must be empty: Kuma turns inbound UID exclusions into "
                                           "rules that disable inbound redirection; use "
                                           "redirect.inbound.excludePorts or excludePortsForIPs");
        case OPT_VNET_LIST:
                why = config_vnet_check(item);
                if (why)
                        return config_origin_error(ctx, o, item, why);
                break;
        default:
                g_assert_not_reached();
        }
        if (strchr(item, '"') || strchr(item, '\\'))
                return config_origin_error(ctx, o, item, "quotes and backslashes are not allowed");
        g_ptr_array_add(list, g_steal_pointer(&item));
        return 0;
}

/* Adds items split on commas (empty ones dropped) or the whole text as one item. */
int config_list_add_text(BuildContext *ctx, const OptDef *opt, GPtrArray *list, const char *text,
                         bool split, const Origin *o)
{
        if (!split) {
                g_autofree char *t = g_strstrip(g_strdup(text));

                if (!*t)
                        return 0;
                return config_list_add(ctx, opt, list, t, o);
        }
        g_auto(GStrv) items = g_strsplit(text, ",", -1);
        for (char **q = items; *q; q++) {
                int r;

                g_strstrip(*q);
                if (!**q)
                        continue;
                r = config_list_add(ctx, opt, list, *q, o);
                if (r < 0)
                        return r;
        }
        return 0;
}

void config_list_replace(BuildContext *ctx, const OptDef *opt, GPtrArray *list, const Origin *o)
{
        GPtrArray **f = config_field(ctx->cfg, opt);

        g_ptr_array_unref(*f);
        *f = list;
        config_note_set(ctx, opt, o);
}

int config_apply_text(BuildContext *ctx, size_t idx, const char *value, const Origin *o)
{
        const OptDef *opt = &config_options[idx];

        if (!config_opt_is_list(opt))
                return config_set_scalar(ctx, opt, value, o);

        /* Flags keep UID and vnet entries whole; the environment splits every list. */
        bool split =
                o->kind == ORIGIN_ENV || opt->type == OPT_PORT_LIST || opt->type == OPT_IP_LIST;
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
        int r = config_list_add_text(ctx, opt, list, value, split, o);

        if (r < 0)
                return r;
        if (o->kind == ORIGIN_FLAG && ctx->flag_seen[idx] && (opt->flags & OPTF_ACCUMULATE)) {
                GPtrArray *cur = *(GPtrArray **)config_field(ctx->cfg, opt);

                for (guint i = 0; i < list->len; i++)
                        g_ptr_array_add(cur, g_strdup(list->pdata[i]));
                config_note_set(ctx, opt, o);
        } else {
                config_list_replace(ctx, opt, g_steal_pointer(&list), o);
        }
        if (o->kind == ORIGIN_FLAG)
                ctx->flag_seen[idx] = true;
        return 0;
}