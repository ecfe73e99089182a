/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for args.c: split never crashes, and join(split(x)) splits back to the argv. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <tproxy-firewalld/args.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* C strings end at the first NUL, as they do for every caller of the library. */
        g_autofree char *text = g_strndup((const char *)data, size);
        g_auto(GStrv) argv = NULL;
        g_auto(GStrv) again = NULL;
        g_autofree char *joined = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;

        if (tpfw_args_split(text, &argv, &diag) < 0) {
                /* Errors always explain themselves with one of shlex's two messages. */
                if (!diag.message || (strcmp(diag.message, "No closing quotation") != 0 &&
                                      strcmp(diag.message, "No escaped character") != 0))
                        abort();
                tpfw_diag_clear(&diag);
                return 0;
        }
        joined = tpfw_args_join((const char *const *)argv);
        if (tpfw_args_split(joined, &again, NULL) < 0)
                abort();
        if (!tpfw_strv_equal((const char *const *)argv, (const char *const *)again))
                abort();
        /* Each quoted argument is exactly one word. */
        for (size_t i = 0; argv[i]; i++) {
                g_autofree char *quoted = tpfw_args_quote(argv[i]);
                g_auto(GStrv) one = NULL;

                if (tpfw_args_split(quoted, &one, NULL) < 0 || !one[0] || one[1] ||
                    strcmp(one[0], argv[i]) != 0)
                        abort();
        }
        return 0;
}
