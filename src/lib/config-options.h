/* SPDX-License-Identifier: MIT */
/* Private: the Kuma option table (config-options.c) and look-ups by flag and config key. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "config-private.h"

#define CONFIG_ENV_PREFIX "KUMA_TRANSPARENT_PROXY_"

typedef enum OptType {
        OPT_BOOL,
        OPT_USER,
        OPT_FAMILY,
        OPT_PORT,
        OPT_UINT,
        OPT_LOG_LEVEL,
        OPT_DURATION,
        OPT_PATH,
        OPT_IFACE,
        OPT_CHAIN,
        OPT_ASSUME,
        OPT_EXECUTABLES,
        OPT_PORT_LIST,
        OPT_IP_LIST,
        OPT_UID_LIST,
        OPT_INBOUND_UID_LIST,
        OPT_VNET_LIST,
        OPT_CONFIG,
} OptType;

enum {
        OPTF_NO_EFFECT = 1u << 0,  /* accepted and validated, changes nothing */
        OPTF_ACCUMULATE = 1u << 1, /* repeated flags accumulate instead of last-wins */
};

typedef struct OptDef {
        const char *flag; /* without "--", or NULL */
        const char *env;  /* suffix after KUMA_TRANSPARENT_PROXY_, or NULL */
        const char *key;  /* dotted config key, or NULL */
        OptType type;
        size_t offset;
        unsigned flags;
        const char *def; /* default, for --help */
        const char *help;
} OptDef;

#define CONFIG_N_OPTIONS 45

/* Every option, in --help order. */
extern const OptDef config_options[CONFIG_N_OPTIONS];

/* The option's storage inside cfg. */
void *config_field(TpfwConfig *cfg, const OptDef *opt);
bool config_opt_is_list(const OptDef *opt);
/* The index of the option whose flag (without "--") is name[0..len), or -1. */
ssize_t config_flag_lookup(const char *name, size_t len);
/*
 * Finds the option key segment after prefix that matches name: exactly, else ASCII
 * case-insensitively, as Go's encoding/json does. Returns the canonical path prefix+segment in
 * *ret_path and the option index when it is a leaf (-1 when it is a nested mapping); false when
 * no key matches.
 */
bool config_key_lookup(const char *prefix, const char *name, char **ret_path, ssize_t *ret_idx);
