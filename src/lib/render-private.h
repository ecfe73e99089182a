/* SPDX-License-Identifier: MIT */
/* Pieces of the ruleset renderers that the CLI's own JSON objects share (render.c). */
#pragma once

#include <tproxy-firewalld/ruleset.h>

#include "json-writer.h"

/*
 * The members "ipv", "table" and "chain" that place a chain or a rule, as tpfw_render_json()
 * writes them. Private to the library and the CLI, as json-writer.h is.
 */
G_GNUC_INTERNAL void tpfw_render_json_place(TpfwJsonWriter *w, TpfwIpv ipv, const char *table,
                                            const char *chain);
