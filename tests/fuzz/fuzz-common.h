/* SPDX-License-Identifier: MIT */
/* Shared checks of the config and environment harnesses: build, then generate and render. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <tproxy-firewalld/config.h>
#include <tproxy-firewalld/generate.h>
#include <tproxy-firewalld/import.h>
#include <tproxy-firewalld/ruleset.h>

/*
 * A configuration either builds or fails with a message; one that builds generates rules or
 * fails with a message (an unknown user is a runtime fact), and the rules render and import back
 * to the same ruleset.
 */
static inline void fuzz_config_check(int argc, char *const *argv, char *const *envp, FILE *in)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwConfig *cfg = NULL;
        TpfwRuleset *rs = NULL, *back = NULL;
        char **notes = NULL, **warnings = NULL;
        char *text, *json;
        size_t len;
        int r;

        r = tpfw_config_build(argc, argv, envp, in, &cfg, &notes, &diag);
        if (r < 0) {
                if (cfg || notes || !diag.message)
                        abort();
                tpfw_diag_clear(&diag);
                return;
        }
        if (!cfg || diag.message)
                abort();
        g_strfreev(notes);
        r = tpfw_generate(cfg, &rs, &warnings, &diag);
        tpfw_config_free(cfg);
        if (r < 0) {
                if (rs || !diag.message)
                        abort();
                tpfw_diag_clear(&diag);
                return;
        }
        g_strfreev(warnings);
        text = tpfw_render_iptables_restore(rs);
        json = tpfw_render_json(rs);
        if (!text || !json)
                abort();
        len = strlen(text);
        /* kumactl --dry-run output is importable: the round trip keeps every chain and rule. */
        if (tpfw_import_iptables_restore("fuzz-render", text, len, TPFW_IPV4, &back, NULL) < 0 ||
            !tpfw_ruleset_equal(rs, back))
                abort();
        tpfw_ruleset_free(back);
        tpfw_ruleset_free(rs);
        g_free(json);
        g_free(text);
}
