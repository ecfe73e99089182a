/* SPDX-License-Identifier: MIT */
/* Kuma-compatible transparent-proxy configuration: defaults < config files < environment < flags.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <tproxy-firewalld/diag.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The options of `kumactl install transparent-proxy` (KUMA-RULES.md section 2), validated. */
typedef struct TpfwConfig TpfwConfig;

/* Frees cfg. NULL is accepted; returns NULL. */
TpfwConfig *tpfw_config_free(TpfwConfig *cfg);

/*
 * Builds a configuration from (lowest to highest precedence): the built-in defaults, each
 * "--config SOURCE" in argv order ("-" = stdin_file, at most once), the KUMA_TRANSPARENT_PROXY_*
 * variables of envp (applied also without --config; envp may be NULL), then the flags of argv.
 *
 * argv holds only Kuma options (no program name, none of the CLI's own options); argc is its
 * length. Flags are "--flag value" or "--flag=value"; booleans take an optional "=VALUE". Every
 * source spells booleans alike: 1 t T TRUE true True yes Yes YES on On ON, and 0 f F FALSE false
 * False no No NO off Off OFF (a config file's quoted string is not a boolean).
 *
 * Returns 0 and *ret (free with tpfw_config_free()), or -EINVAL with diag naming the option and
 * the value (for a config file: diag->file and diag->line of the key), -ENOENT/-EACCES/... when
 * a config file cannot be read, -ENOMEM. Notes (no-effect options such as --wait, unknown
 * config keys or environment variables) go to *ret_notes as a NULL-terminated strv, NULL when
 * there are none (free with g_strfreev()); ret_notes may be NULL. Nothing is written on failure.
 */
int tpfw_config_build(int argc, char *const *argv, char *const *envp, FILE *stdin_file,
                      TpfwConfig **ret, char ***ret_notes, TpfwDiag *diag);

/* Kuma's --dry-run / DRY_RUN / dryRun: an alias of the CLI's --check. */
bool tpfw_config_dry_run(const TpfwConfig *cfg);
/* Kuma's --verbose / VERBOSE / verbose. */
bool tpfw_config_verbose(const TpfwConfig *cfg);
/*
 * Kuma's --store-firewalld / STORE_FIREWALLD / storeFirewalld, which no default sets: 1 (true),
 * 0 (false: the caller applies to firewalld's runtime only), or -1 when no source set it.
 * *ret_origin (may be NULL) gets the source that set it last ("--store-firewalld",
 * "KUMA_TRANSPARENT_PROXY_STORE_FIREWALLD" or "FILE:LINE: storeFirewalld"), owned by cfg; NULL
 * when unset.
 */
int tpfw_config_store_firewalld(const TpfwConfig *cfg, const char **ret_origin);
/* The owner-independent comment switch (--disable-comments), for callers that report it. */
bool tpfw_config_comments_disabled(const TpfwConfig *cfg);

/*
 * For a CLI that mixes its own options with Kuma's: classifies one argv element.
 * Returns -1 when arg is not a Kuma option, 0 for a Kuma option that never consumes the next
 * element (a boolean, or any "--flag=value"), 1 for a Kuma option whose value is the next element.
 */
int tpfw_config_flag_arity(const char *arg);

/* Every Kuma flag name ("--kuma-dp-user", ...), for completion and suggestions. Free with
 * g_strfreev(). */
char **tpfw_config_flag_names(void);

/*
 * Help text for --help: one paragraph per option (flag, environment variable, config key,
 * default, meaning), lines ending in "\n". Prints nothing. Free with g_free().
 */
char *tpfw_config_help(void);

#ifdef __cplusplus
}
#endif
