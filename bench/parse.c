/* SPDX-License-Identifier: MIT */
/* bench-parse FILE: reads and parses a direct.xml as install does, then exits (the "parse"
 * baseline). */
#include <stdio.h>

#include <glib.h>

#include <tproxy-firewalld/direct.h>

int main(int argc, char **argv)
{
        TpfwDiag diag = TPFW_DIAG_INIT;
        TpfwDirect *d = NULL;
        g_autofree char *data = NULL;
        gsize len = 0;
        int r;

        if (argc != 2 || !g_file_get_contents(argv[1], &data, &len, NULL)) {
                fprintf(stderr, "usage: bench-parse FILE\n");
                return 2;
        }
        /* install parses the bytes it read in place, without a copy */
        r = tpfw_direct_parse_borrowed(argv[1], data, len, &d, &diag);
        if (r < 0) {
                fprintf(stderr, "%s\n", diag.message ? diag.message : "parse error");
                return 1;
        }
        /* like the tool, leave the teardown to exit() */
        (void)d;
        return 0;
}
