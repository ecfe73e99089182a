/* SPDX-License-Identifier: MIT */
/* Config file sources: Kuma's YAML/JSON format (libyaml), from a path or standard input. */
#include <errno.h>
#include <string.h>

#include <yaml.h>

#include "config-source.h"

#define CONFIG_MAX_SIZE (16u * 1024u * 1024u)
/* Aliases can make a YAML tree exponentially large (or cyclic): bound the walk. */
#define YAML_MAX_DEPTH 32
#define YAML_MAX_NODES 100000

typedef struct YamlFile {
        const char *name;
        yaml_document_t *doc;
} YamlFile;

static unsigned node_line(const yaml_node_t *n)
{
        return (unsigned)n->start_mark.line + 1;
}

static bool node_is_null(const yaml_node_t *n)
{
        const char *v;

        if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        v = (const char *)n->data.scalar.value;
        return !*v || g_str_equal(v, "~") || g_str_equal(v, "null") || g_str_equal(v, "Null") ||
               g_str_equal(v, "NULL");
}

static int node_scalar(BuildContext *ctx, const yaml_node_t *n, const Origin *o, const char **ret)
{
        if (n->type != YAML_SCALAR_NODE)
                return tpfw_diag_set(ctx->diag, EINVAL, o->file, node_line(n),
                                     "%s: expected a single value, not a %s", o->name,
                                     n->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
        if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
                return tpfw_diag_set(ctx->diag, EINVAL, o->file, node_line(n),
                                     "%s: NUL bytes are not allowed", o->name);
        *ret = (const char *)n->data.scalar.value;
        return 0;
}

static int apply_executables_node(BuildContext *ctx, const OptDef *opt, YamlFile *yf,
                                  yaml_node_t *n, const Origin *o)
{
        bool seen[6] = {false};
        g_autoptr(GString) text = g_string_new(NULL);
        g_autofree char *why = NULL;

        if (n->type != YAML_MAPPING_NODE)
                return tpfw_diag_set(ctx->diag, EINVAL, o->file, o->line,
                                     "%s: expected a mapping of executable names to paths",
                                     o->name);
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *k = yaml_document_get_node(yf->doc, p->key);
                yaml_node_t *v = yaml_document_get_node(yf->doc, p->value);
                Origin ko = *o;
                const char *name, *path;
                int idx, r;

                ko.line = node_line(k);
                r = node_scalar(ctx, k, &ko, &name);
                if (r < 0)
                        return r;
                idx = config_executable_index(name);
                if (idx < 0) {
                        config_add_note(ctx, g_strdup_printf("%s:%u: unknown key \"%s.%s\" ignored",
                                                             o->file, ko.line, o->name, name));
                        continue;
                }
                if (node_is_null(v))
                        continue;
                r = node_scalar(ctx, v, &ko, &path);
                if (r < 0)
                        return r;
                if (!*path)
                        return config_origin_error(ctx, &ko, path, "expected a path");
                seen[idx] = true;
                g_string_append_printf(text, "%s%s:%s", text->len ? "," : "", name, path);
        }
        why = config_executables_complete(seen);
        if (why)
                return config_origin_error(ctx, o, text->str, why);
        g_free(*(char **)config_field(ctx->cfg, opt));
        *(char **)config_field(ctx->cfg, opt) = g_string_free(g_steal_pointer(&text), FALSE);
        config_note_set(ctx, opt, o);
        return 0;
}

static int apply_node(BuildContext *ctx, size_t idx, YamlFile *yf, yaml_node_t *n, const Origin *o)
{
        const OptDef *opt = &config_options[idx];
        const char *text;
        int r;

        if (node_is_null(n))
                return 0;
        if (opt->type == OPT_EXECUTABLES)
                return apply_executables_node(ctx, opt, yf, n, o);
        if (!config_opt_is_list(opt)) {
                r = node_scalar(ctx, n, o, &text);
                if (r < 0)
                        return r;
                if (opt->type == OPT_BOOL) {
                        bool b;

                        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                            !config_parse_bool(text, &b))
                                return config_origin_error(ctx, o, text, "expected true or false");
                        config_set_bool(ctx, opt, b, o);
                        return 0;
                }
                return config_set_scalar(ctx, opt, text, o);
        }

        bool split = opt->type == OPT_PORT_LIST || opt->type == OPT_IP_LIST;
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);

        if (n->type == YAML_SCALAR_NODE) {
                if (opt->type != OPT_PORT_LIST)
                        return tpfw_diag_set(ctx->diag, EINVAL, o->file, o->line,
                                             "%s: expected a list, not \"%s\"", o->name,
                                             (const char *)n->data.scalar.value);
                r = node_scalar(ctx, n, o, &text);
                if (r < 0)
                        return r;
                r = config_list_add_text(ctx, opt, list, text, true, o);
                if (r < 0)
                        return r;
        } else if (n->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = n->data.sequence.items.start;
                     it < n->data.sequence.items.top; it++) {
                        yaml_node_t *item = yaml_document_get_node(yf->doc, *it);
                        Origin io = *o;

                        io.line = node_line(item);
                        r = node_scalar(ctx, item, &io, &text);
                        if (r < 0)
                                return r;
                        r = config_list_add_text(ctx, opt, list, text, split, &io);
                        if (r < 0)
                                return r;
                }
        } else {
                return tpfw_diag_set(ctx->diag, EINVAL, o->file, o->line,
                                     "%s: expected a list, not a mapping", o->name);
        }
        config_list_replace(ctx, opt, g_steal_pointer(&list), o);
        return 0;
}

static int apply_mapping(BuildContext *ctx, YamlFile *yf, yaml_node_t *n, const char *prefix,
                         unsigned depth)
{
        if (depth > YAML_MAX_DEPTH)
                return tpfw_diag_set(ctx->diag, EINVAL, yf->name, node_line(n),
                                     "configuration nested too deeply");
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
                yaml_node_t *k = yaml_document_get_node(yf->doc, p->key);
                yaml_node_t *v = yaml_document_get_node(yf->doc, p->value);
                g_autofree char *path = NULL;
                const char *name;
                ssize_t idx;
                Origin o = {.file = yf->name, .line = node_line(k), .kind = ORIGIN_FILE};
                int r;

                if (++ctx->yaml_nodes > YAML_MAX_NODES)
                        return tpfw_diag_set(ctx->diag, EINVAL, yf->name, node_line(k),
                                             "configuration has too many nodes (YAML aliases?)");
                o.name = prefix[0] ? prefix : "configuration";
                r = node_scalar(ctx, k, &o, &name);
                if (r < 0)
                        return r;
                if (!config_key_lookup(prefix, name, &path, &idx)) {
                        g_autofree char *shown = config_printable(name);

                        config_add_note(ctx, g_strdup_printf("%s:%u: unknown key \"%s%s\" ignored",
                                                             yf->name, o.line, prefix, shown));
                        continue;
                }
                o.name = path;
                if (idx >= 0) {
                        r = apply_node(ctx, (size_t)idx, yf, v, &o);
                } else if (node_is_null(v)) {
                        r = 0;
                } else if (v->type != YAML_MAPPING_NODE) {
                        r = tpfw_diag_set(ctx->diag, EINVAL, yf->name, o.line,
                                          "%s: expected a mapping", path);
                } else {
                        g_autofree char *sub = g_strconcat(path, ".", NULL);

                        r = apply_mapping(ctx, yf, v, sub, depth + 1);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int apply_config_text(BuildContext *ctx, const char *name, const char *data, size_t len)
{
        yaml_parser_t parser;
        yaml_document_t doc, extra;
        yaml_node_t *root;
        YamlFile yf = {.name = name, .doc = &doc};
        int r = 0;

        if (memchr(data, '\0', len))
                return tpfw_diag_set(ctx->diag, EINVAL, name, 0, "NUL bytes are not allowed");
        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
        if (!yaml_parser_load(&parser, &doc)) {
                r = tpfw_diag_set(ctx->diag, EINVAL, name, (unsigned)parser.problem_mark.line + 1,
                                  "invalid YAML/JSON: %s%s%s",
                                  parser.problem ? parser.problem : "syntax error",
                                  parser.context ? " " : "", parser.context ? parser.context : "");
                yaml_parser_delete(&parser);
                return r;
        }
        root = yaml_document_get_root_node(&doc);
        if (root) {
                if (!yaml_parser_load(&parser, &extra)) {
                        r = tpfw_diag_set(ctx->diag, EINVAL, name,
                                          (unsigned)parser.problem_mark.line + 1,
                                          "invalid YAML/JSON: %s",
                                          parser.problem ? parser.problem : "syntax error");
                } else {
                        if (yaml_document_get_root_node(&extra))
                                r = tpfw_diag_set(ctx->diag, EINVAL, name,
                                                  (unsigned)extra.start_mark.line + 1,
                                                  "more than one YAML document");
                        yaml_document_delete(&extra);
                }
        }
        if (r == 0 && root && !node_is_null(root)) {
                if (root->type != YAML_MAPPING_NODE)
                        r = tpfw_diag_set(ctx->diag, EINVAL, name, node_line(root),
                                          "expected a mapping of configuration keys");
                else
                        r = apply_mapping(ctx, &yf, root, "", 0);
        }
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        return r;
}

static int read_stream(FILE *f, char **ret, size_t *ret_len)
{
        g_autoptr(GString) s = g_string_new(NULL);
        char buf[8192];
        size_t n;

        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
                g_string_append_len(s, buf, (gssize)n);
                if (s->len > CONFIG_MAX_SIZE)
                        return -EFBIG;
        }
        if (ferror(f))
                return -EIO;
        *ret_len = s->len;
        *ret = g_string_free(g_steal_pointer(&s), FALSE);
        return 0;
}

int config_apply_source(BuildContext *ctx, const char *source, FILE *stdin_file)
{
        g_autofree char *data = NULL;
        size_t len = 0;
        int r;

        if (g_str_equal(source, "-")) {
                if (!stdin_file)
                        return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                             "--config -: no standard input available");
                r = read_stream(stdin_file, &data, &len);
                if (r < 0)
                        return tpfw_diag_set(ctx->diag, r, "<stdin>", 0, "cannot read: %s",
                                             r == -EFBIG ? "larger than 16 MiB" : g_strerror(-r));
                return apply_config_text(ctx, "<stdin>", data, len);
        }
        if (!*source)
                return tpfw_diag_set(ctx->diag, EINVAL, NULL, 0,
                                     "--config: invalid value \"\": expected a file path or -");
        {
                g_autoptr(GError) err = NULL;
                gsize glen = 0;

                if (!g_file_get_contents(source, &data, &glen, &err)) {
                        int e = EIO;

                        if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
                                e = ENOENT;
                        else if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_ACCES))
                                e = EACCES;
                        else if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_ISDIR))
                                e = EISDIR;
                        return tpfw_diag_set(ctx->diag, e, source, 0,
                                             "cannot read config file (--config): %s",
                                             g_strerror(e));
                }
                len = glen;
        }
        if (len > CONFIG_MAX_SIZE)
                return tpfw_diag_set(ctx->diag, EFBIG, source, 0, "config file larger than 16 MiB");
        return apply_config_text(ctx, source, data, len);
}