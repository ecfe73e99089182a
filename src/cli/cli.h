/* SPDX-License-Identifier: MIT */
/* The command-line client: global options, verb table, shared output helpers. */
#pragma once

#include <stdbool.h>
#include <glib.h>
#include <stdio.h>

#include <tproxy-firewalld/apply.h>
#include <tproxy-firewalld/diag.h>
#include <tproxy-firewalld/direct.h>
#include <tproxy-firewalld/firewalld.h>
#include <tproxy-firewalld/ruleset.h>

/* the library's private JSON writer, reached through the static library */
#include "../lib/json-writer.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwRuleset, tpfw_ruleset_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwFirewalld, tpfw_firewalld_free)

/* Exit codes (DESIGN.md section 6). */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_DRIFT 3

typedef struct CliGlobal {
        const char *firewalld_dir;
        const char *owner;
        bool json;
        bool quiet;
        bool verbose;
        int timeout_ms;
        char **envp;
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

/* Ends the document in w (compact: indent 0) and prints it as one line on stdout. */
void cli_print_json(TpfwJsonWriter *w);

/* Prints "tproxy-firewalld: <diag>" (or the fallback text) to stderr. */
void cli_error(const TpfwDiag *diag, const char *fallback);
/* Prints "tproxy-firewalld: " + formatted message to stderr. */
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a warning/note to stderr unless quiet. */
void cli_warnf(const CliGlobal *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Options shared by the commands that build a desired ruleset (install, diff, generate, status):
 * the CLI's own options are consumed by the caller; the Kuma options are collected here.
 */
typedef struct CliRulesetSource {
        const char *from_iptables_restore; /* FILE or "-", NULL: generate from Kuma options */
        const char *import_ipv;            /* default family of the import: "ipv4" */
        GPtrArray *kuma_argv;              /* Kuma options, in order */
        bool dry_run;                      /* Kuma's --dry-run seen (means --check) */
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
 * Builds the desired ruleset (untagged). Returns 0, or the exit code to use (EXIT_USAGE for
 * invalid options, EXIT_FAIL otherwise) after printing the error. Notes and warnings are printed.
 */
int cli_ruleset_source_build(const CliGlobal *g, CliRulesetSource *src, TpfwRuleset **ret);

/* Matches "--name" and "--name=value" forms; sets *value (NULL if none given inline). */
bool cli_opt_is(const char *arg, const char *name, const char **value);
/* Fetches the value of an option that takes one (inline or next argv). Returns NULL and prints
 * a usage error when missing. */
const char *cli_opt_value(const char *name, const char *inline_value, int argc, char **argv,
                          int *i);
