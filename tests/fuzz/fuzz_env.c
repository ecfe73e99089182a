/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for KUMA_TRANSPARENT_PROXY_* environment parsing: one variable per line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <tproxy-firewalld/config.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ENV_PREFIX "KUMA_TRANSPARENT_PROXY_"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* Flags override the environment: keep the input away from FIFOs and devices. */
        char *argv[] = {"--resolv-conf", "/dev/null", NULL};
        /* Environment strings end at the first NUL, as execve() delivers them. */
        g_autofree char *text = g_strndup((const char *)data, size);
        g_auto(GStrv) lines = g_strsplit(text, "\n", 64);
        g_autoptr(GPtrArray) envp = g_ptr_array_new_with_free_func(g_free);

        /* Lines without the prefix get it, so the fuzzer spends its time on Kuma's variables;
         * a line starting with '!' is passed as is (other variables, missing '='). */
        for (size_t i = 0; lines[i]; i++) {
                if (lines[i][0] == '!')
                        g_ptr_array_add(envp, g_strdup(lines[i] + 1));
                else if (g_str_has_prefix(lines[i], ENV_PREFIX))
                        g_ptr_array_add(envp, g_strdup(lines[i]));
                else
                        g_ptr_array_add(envp, g_strconcat(ENV_PREFIX, lines[i], NULL));
        }
        g_ptr_array_add(envp, NULL);
        fuzz_config_check(2, argv, (char *const *)envp->pdata, NULL);
        return 0;
}
