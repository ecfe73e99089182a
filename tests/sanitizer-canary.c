/* SPDX-License-Identifier: MIT */
/* Deliberate sanitizer findings: `make asan-check` proves that reports are collected. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "ubsan") == 0) {
                volatile int i = INT_MAX;
                return i + argc; /* signed overflow */
        }
        /* a leak: LeakSanitizer reports it at exit */
        char *volatile p = malloc(64);
        p = NULL;
        return p != NULL;
}
