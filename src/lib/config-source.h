/* SPDX-License-Identifier: MIT */
/* Private: what the sources (files, environment, flags) share: the build state, storing values. */
#pragma once

#include <stdio.h>

#include "config-options.h"

/* Where a value came from, for diagnostics. */
typedef struct Origin {
        const char *file; /* config file, or NULL */
        unsigned line;
        const char *name; /* "--flag", "KUMA_TRANSPARENT_PROXY_X" or "key.path" */
        enum { ORIGIN_FILE, ORIGIN_ENV, ORIGIN_FLAG } kind;
} Origin;

typedef struct BuildContext {
        TpfwConfig *cfg;
        GPtrArray *notes;
        TpfwDiag *diag;
        bool flag_seen[CONFIG_N_OPTIONS];
        size_t yaml_nodes;
} BuildContext;

/* Returns a C-escaped copy of s for messages (free with g_free()). */
char *config_printable(const char *s);
/* Sets "<origin>: invalid value "<value>": <why>" in ctx->diag; returns -EINVAL. */
int config_origin_error(BuildContext *ctx, const Origin *o, const char *value, const char *why);
/* Adds a note (taking ownership), once. */
void config_add_note(BuildContext *ctx, char *note);
/* Records that opt was set from o (notes for no-effect options, the origin of recorded ones). */
void config_note_set(BuildContext *ctx, const OptDef *opt, const Origin *o);
/* Sets a scalar option from text. Returns 0 or -EINVAL with diag. */
int config_set_scalar(BuildContext *ctx, const OptDef *opt, const char *value, const Origin *o);
/* Sets a boolean option (a value already parsed by the source). */
void config_set_bool(BuildContext *ctx, const OptDef *opt, bool value, const Origin *o);
/* Adds items split on commas (empty ones dropped) or the whole text as one item. */
int config_list_add_text(BuildContext *ctx, const OptDef *opt, GPtrArray *list, const char *text,
                         bool split, const Origin *o);
/* Replaces the option's list with list (taking ownership). */
void config_list_replace(BuildContext *ctx, const OptDef *opt, GPtrArray *list, const Origin *o);
/* Sets option idx from text: scalars replace; lists replace, or accumulate for repeated flags. */
int config_apply_text(BuildContext *ctx, size_t idx, const char *value, const Origin *o);

/*
 * Applies one --config SOURCE (a YAML/JSON file, or "-" for stdin_file) to ctx->cfg.
 * Implemented in config-file.c. Returns 0 or -errno with diag.
 */
int config_apply_source(BuildContext *ctx, const char *source, FILE *stdin_file);
