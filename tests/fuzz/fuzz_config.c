/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for config files: the input is a YAML/JSON file read through "--config -". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <tproxy-firewalld/config.h>
#include <tproxy-firewalld/generate.h>
#include <tproxy-firewalld/ruleset.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* The last flag wins over the file: never let an input read a FIFO or a device. */
        char *argv[] = {"--config", "-", "--resolv-conf", "/dev/null", NULL};
        FILE *f;

        /* fmemopen() refuses a zero-sized buffer; /dev/null is the same empty stream. */
        f = size ? fmemopen((void *)data, size, "r") : fopen("/dev/null", "r");
        if (!f)
                abort();
        fuzz_config_check(4, argv, NULL, f);
        fclose(f);
        return 0;
}
