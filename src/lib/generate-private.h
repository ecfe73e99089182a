/* SPDX-License-Identifier: MIT */
/* What the rule generator learns from the host before it emits (generate-facts.c). */
#pragma once

#include <stdbool.h>

#include <glib.h>

#include "config-private.h"

#pragma GCC visibility push(hidden)

typedef struct GenerateFacts {
        char *uid;      /* kuma-dp's UID, in decimal */
        char *loopback; /* the loopback interface's name */
        bool ipv6;      /* IPv6 rules are emitted too */
        bool conntrack;
        bool docker_output;
        bool mangle;
        GPtrArray *nameservers[2]; /* canonical text per family (TPFW_IPV4, TPFW_IPV6) */
} GenerateFacts;

/*
 * Fills f from cfg and, where cfg leaves a fact open, from the host (passwd, interfaces,
 * resolv.conf). Skipped nameserver lines go to warnings as strings. Free f with
 * generate_facts_clear() whatever it returns.
 */
int generate_facts_resolve(const TpfwConfig *cfg, GenerateFacts *f, GPtrArray *warnings,
                           TpfwDiag *diag);
void generate_facts_clear(GenerateFacts *f);

/* Whether ::6, the address kuma-dp binds for IPv6, is on the interface named loopback. */
bool generate_loopback_has_kuma_address(const char *loopback);

#pragma GCC visibility pop
