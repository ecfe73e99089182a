/* SPDX-License-Identifier: MIT */
/* The command-line client: global options, verb table, shared output helpers. */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <stdio.h>

#include <tproxy-firewalld/apply.h>
#include <tproxy-firewalld/config.h>
#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/firewalld.h>
#include <tproxy-firewalld/ruleset.h>

/* the library's private JSON writer, reached through the static library */
#include "../lib/json-writer.h"
#include "../lib/render-private.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwRuleset, tpfw_ruleset_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwFirewalld, tpfw_firewalld_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwConfig, tpfw_config_free)

/* Exit codes (DESIGN.md section 6, tproxy-firewalld(8) EXIT STATUS). */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_DRIFT 3
/* Puppet's --detailed-exitcodes convention: bits of the exit status. */
#define EXIT_DETAILED_CHANGED 2
#define EXIT_DETAILED_FAILED 4

typedef struct CliGlobal {
        const char *firewalld_dir;
        const char *owner;
        bool json;
        bool quiet;
        bool verbose;
        bool verbose_flag; /* --verbose was given before the command (beats env and files) */
        bool detailed;     /* --detailed-exitcodes */
        bool json_printed; /* the command has printed its JSON object */
        int timeout_ms;
        char **envp;
        const char *command; /* the command being run, for messages */
} CliGlobal;

typedef int (*CliVerbFunc)(CliGlobal *g, int argc, char **argv);

int cmd_install(CliGlobal *g, int argc, char **argv);
int cmd_uninstall(CliGlobal *g, int argc, char **argv);
int cmd_diff(CliGlobal *g, int argc, char **argv);
int cmd_validate(CliGlobal *g, int argc, char **argv);
int cmd_list_owners(CliGlobal *g, int argc, char **argv);
int cmd_generate(CliGlobal *g, int argc, char **argv);
int cmd_reload(CliGlobal *g, int argc, char **argv);
int cmd_status(CliGlobal *g, int argc, char **argv);

/* ---- output (output.c) ---- */

/* Starts the command's JSON object (compact, one line). */
void cli_json_begin(TpfwJsonWriter *w);
/* Adds "error": <the last error or null>, ends the object and prints it as one line on stdout. */
void cli_json_end(CliGlobal *g, TpfwJsonWriter *w, const char *error);
/* Prints {"error": <last error>} when the command failed before printing its object. */
void cli_json_error_fallback(CliGlobal *g);
/* The last error printed by cli_error()/cli_errorf(), or NULL. */
const char *cli_last_error(void);

/* Prints "tproxy-firewalld: <diag>" (or the fallback text) to stderr. */
void cli_error(const TpfwDiag *diag, const char *fallback);
/* Prints "tproxy-firewalld: " + formatted message to stderr. */
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a warning/note to stderr unless quiet. */
void cli_warnf(const CliGlobal *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* With --verbose (and not --quiet): prints "tproxy-firewalld: " + message to stderr. */
void cli_verbosef(const CliGlobal *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* TpfwStepFunc for --verbose: "tproxy-firewalld: lock: 0.1 ms" on stderr; userdata is the
 * CliGlobal. */
void cli_print_step(const char *step, const char *detail, uint64_t usec, void *userdata);
/* cli_print_step() for a step that began at start (g_get_monotonic_time()). */
void cli_step_since(const CliGlobal *g, const char *step, const char *detail, gint64 start);

/* ---- options (options.c) ---- */

/* The global options' names (NULL-terminated), for suggestions. */
const char *const *cli_global_names(void);
/* Whether arg asks for help: --help or -h. */
bool cli_is_help(const char *arg);
/* Matches "--name" and "--name=value" forms; sets *value (NULL if none given inline). */
bool cli_opt_is(const char *arg, const char *name, const char **value);
/* Fetches the value of an option that takes one (inline or next argv). Returns NULL and prints
 * a usage error naming the option as spelled (arg) when missing. */
const char *cli_opt_value(const char *arg, const char *inline_value, int argc, char **argv, int *i);
/*
 * Takes argv[*i] (and its value) when it is a global option: --firewalld-dir, --owner, --json,
 * --quiet/-q, --verbose (unless kuma_verbose: then it is left to the Kuma options),
 * --timeout, --detailed-exitcodes. Returns 1 when consumed, 0 when not, -1 on a usage error
 * (printed).
 */
int cli_take_global(CliGlobal *g, int argc, char **argv, int *i, bool kuma_verbose);
/* Checks the global options once parsed (owner name). Returns 0 or EXIT_USAGE (printed). */
int cli_check_global(const CliGlobal *g);
/*
 * Reports an unknown option of the current command with the nearest known name: the global
 * options, the command's own (names, NULL-terminated, may be NULL) and, when with_kuma, the Kuma
 * options. Returns EXIT_USAGE.
 */
int cli_unknown_option(const CliGlobal *g, const char *arg, const char *const *names,
                       bool with_kuma);
/*
 * The command line of a command that has no options of its own (only the global ones): prints
 * help for --help and returns EXIT_OK; returns -1 to go on, or EXIT_USAGE (printed).
 */
int cli_parse_no_options(CliGlobal *g, int argc, char **argv, const char *help);
/* The candidate nearest to word (Damerau-Levenshtein), when near enough to suggest; or NULL. */
const char *cli_nearest(const char *word, const char *const *candidates);

/* ---- the desired ruleset (source.c) ---- */

/*
 * Options shared by the commands that read Kuma options (install, uninstall, diff, generate,
 * status): the CLI's own options are consumed by the caller; the Kuma options are collected here.
 */
typedef struct CliRulesetSource {
        const char *from_iptables_restore; /* FILE or "-", NULL: generate from Kuma options */
        const char *import_ipv;            /* default family of the import: "ipv4" */
        GPtrArray *kuma_argv;              /* Kuma options, in order */
        bool rule_options;                 /* kuma_argv holds options that shape rules */
        TpfwConfig *config;                /* after cli_ruleset_source_config() */
} CliRulesetSource;

void cli_ruleset_source_init(CliRulesetSource *src);
void cli_ruleset_source_clear(CliRulesetSource *src);
/*
 * Takes argv[*i] (and its value) when it is a Kuma option or one of --from-iptables-restore /
 * --import-ipv. Returns 1 when consumed, 0 when not a ruleset option, -1 on a usage error
 * (printed).
 */
int cli_ruleset_source_take(CliRulesetSource *src, int argc, char **argv, int *i);
/*
 * Builds the Kuma configuration (flags > environment > --config files > defaults) into
 * src->config, prints its notes, and settles g->verbose. Returns 0, or the exit code to use
 * after printing the error.
 */
int cli_ruleset_source_config(CliGlobal *g, CliRulesetSource *src);
/*
 * Builds the desired ruleset (untagged): from the import, or from the configuration (built here
 * when cli_ruleset_source_config() was not called). Returns 0, or the exit code to use
 * (EXIT_USAGE for invalid options, EXIT_FAIL otherwise) after printing the error.
 */
int cli_ruleset_source_build(CliGlobal *g, CliRulesetSource *src, TpfwRuleset **ret);

/* ---- audit trail (audit.c) ---- */

typedef struct CliAuditRecord {
        const char *command; /* "install" or "uninstall" */
        const char *owner;
        const char *file;
        size_t added;
        size_t removed;
        const char *applied; /* how: "full", "delta", "runtime-only", "no-reload", "not-running" */
        const char *result;  /* "ok", "rolled-back", "failed" */
        const char *error;   /* NULL on success */
} CliAuditRecord;

/* Writes one syslog record (LOG_AUTHPRIV) for a change that landed or was attempted. */
void cli_audit(const CliAuditRecord *rec);
