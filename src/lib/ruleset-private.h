/* SPDX-License-Identifier: MIT */
/* Ruleset helpers shared inside the library (not public API). */
#pragma once

#include <stddef.h>

#include <tproxy-firewalld/ruleset.h>

#pragma GCC visibility push(hidden)

/*
 * Number of chains and rules of a that b lacks, told apart as tpfw_ruleset_diff() does, without
 * building the difference.
 */
size_t tpfw_ruleset_count_missing(const TpfwRuleset *a, const TpfwRuleset *b);

/* tpfw_argv_tag() that consumes argv (NULL-terminated, g_strfreev()-able): no copies where the
 * comment is replaced in place. */
char **tpfw_argv_tag_take(char **argv, const char *owner);

/* tpfw_argv_strip_comment() without copies: argv's own strings; g_free() the array only. */
const char **tpfw_argv_strip_comment_view(const char *const *argv);

#pragma GCC visibility pop
