/* SPDX-License-Identifier: MIT */
/* The argument splitter's reusable output, for callers that split many texts and keep none. */
#pragma once

#include <glib.h>

#include <tproxy-firewalld/diag.h>

#pragma GCC visibility push(hidden)

/*
 * Scratch memory tpfw_args_split_into() splits into: the words one after another, each
 * NUL-terminated, in bytes; argv->pdata is the NULL-terminated argv pointing into bytes, valid
 * until the next split. tpfw_args_split() is this plus a copy the caller owns.
 */
typedef struct TpfwArgsScratch {
        GString *bytes;
        GArray *starts; /* size_t: where each word starts in bytes */
        GPtrArray *argv;
} TpfwArgsScratch;

void tpfw_args_scratch_init(TpfwArgsScratch *s);
void tpfw_args_scratch_clear(TpfwArgsScratch *s);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TpfwArgsScratch, tpfw_args_scratch_clear)

/* tpfw_args_split() into s (initialised with tpfw_args_scratch_init()); same results and errors. */
int tpfw_args_split_into(const char *text, TpfwArgsScratch *s, TpfwDiag *diag);

#pragma GCC visibility pop
