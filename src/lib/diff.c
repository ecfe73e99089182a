/* SPDX-License-Identifier: MIT */
/* Unified diff of two texts by lines (Myers' algorithm), for --diff and the diff command. */
#include <string.h>

#include <tproxy-firewalld/apply.h>

#include "util.h"

#define CONTEXT 3
/* Beyond this edit distance, one replace hunk is as readable and much cheaper. */
#define MAX_EDIT_DISTANCE 20000

typedef struct {
        const char *p;
        size_t len; /* including the newline, if any */
} Line;

static GArray *split_lines(const char *s, size_t n)
{
        GArray *a = g_array_new(FALSE, FALSE, sizeof(Line));
        size_t start = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\n') {
                        Line l = {s + start, i + 1 - start};
                        g_array_append_val(a, l);
                        start = i + 1;
                }
        }
        if (start < n) {
                Line l = {s + start, n - start};
                g_array_append_val(a, l);
        }
        return a;
}

static bool line_eq(const Line *a, const Line *b)
{
        return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* ops: '=' keep, '-' delete from a, '+' insert from b; in order. */
static GString *myers(const Line *a, long n, const Line *b, long m)
{
        long max = n + m, off = max + 2;
        g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func(g_free);
        long *v = g_new0(long, 2 * max + 5);
        GString *ops = g_string_new(NULL);
        long d, found = -1;

        for (d = 0; d <= max && d <= MAX_EDIT_DISTANCE; d++) {
                /* only k in [-(d+1), d+1] is read back for step d: keep memory O(D^2) */
                g_ptr_array_add(trace,
                                g_memdup2(v + off - (d + 1), sizeof(long) * (size_t)(2 * d + 3)));
                for (long k = -d; k <= d; k += 2) {
                        long x;
                        if (k == -d || (k != d && v[off + k - 1] < v[off + k + 1]))
                                x = v[off + k + 1];
                        else
                                x = v[off + k - 1] + 1;
                        long y = x - k;
                        while (x < n && y < m && line_eq(&a[x], &b[y])) {
                                x++;
                                y++;
                        }
                        v[off + k] = x;
                        if (x >= n && y >= m) {
                                found = d;
                                break;
                        }
                }
                if (found >= 0)
                        break;
        }
        g_free(v);
        if (found < 0) {
                for (long i = 0; i < n; i++)
                        g_string_append_c(ops, '-');
                for (long i = 0; i < m; i++)
                        g_string_append_c(ops, '+');
                return ops;
        }
        /* backtrack, building ops in reverse */
        long x = n, y = m;
        for (d = found; d > 0; d--) {
                long *pv = trace->pdata[d];
                long base = d + 1; /* pv[k + base] is v[k] before step d */
                long k = x - y, pk, px, py;
                if (k == -d || (k != d && pv[base + k - 1] < pv[base + k + 1]))
                        pk = k + 1;
                else
                        pk = k - 1;
                px = pv[base + pk];
                py = px - pk;
                while (x > px && y > py) {
                        g_string_append_c(ops, '=');
                        x--;
                        y--;
                }
                if (x == px)
                        g_string_append_c(ops, '+'), y--;
                else
                        g_string_append_c(ops, '-'), x--;
        }
        while (x > 0 && y > 0) {
                g_string_append_c(ops, '=');
                x--;
                y--;
        }
        g_strreverse(ops->str);
        return ops;
}

static void emit_line(GString *out, char tag, const Line *l)
{
        g_string_append_c(out, tag);
        g_string_append_len(out, l->p, (gssize)l->len);
        if (l->len == 0 || l->p[l->len - 1] != '\n')
                g_string_append(out, "\n\\ No newline at end of file\n");
}

/* "start,count" as GNU diff writes it: ",count" left out for 1, start 0 for an empty range. */
static void append_range(GString *out, long start, long count)
{
        if (count == 1)
                g_string_append_printf(out, "%ld", start + 1);
        else
                g_string_append_printf(out, "%ld,%ld", count ? start + 1 : start, count);
}

char *tpfw_unified_diff(const char *a, size_t a_len, const char *b, size_t b_len,
                        const char *a_label, const char *b_label)
{
        g_autoptr(GArray) la = split_lines(a ? a : "", a ? a_len : 0);
        g_autoptr(GArray) lb = split_lines(b ? b : "", b ? b_len : 0);
        const Line *A = (const Line *)la->data, *B = (const Line *)lb->data;
        long n = la->len, m = lb->len, pre = 0, suf = 0;
        g_autoptr(GString) ops = NULL;
        GString *out;
        size_t nops;

        while (pre < n && pre < m && line_eq(&A[pre], &B[pre]))
                pre++;
        while (suf < n - pre && suf < m - pre && line_eq(&A[n - 1 - suf], &B[m - 1 - suf]))
                suf++;
        if (pre == n && pre == m)
                return g_strdup("");
        ops = g_string_new(NULL);
        for (long i = 0; i < pre; i++)
                g_string_append_c(ops, '=');
        {
                GString *mid = myers(A + pre, n - pre - suf, B + pre, m - pre - suf);
                g_string_append_len(ops, mid->str, (gssize)mid->len);
                g_string_free(mid, TRUE);
        }
        for (long i = 0; i < suf; i++)
                g_string_append_c(ops, '=');

        out = g_string_new(NULL);
        g_string_append_printf(out, "--- %s\n+++ %s\n", a_label, b_label);
        nops = ops->len;
        /* positions in a and b at each op index */
        g_autofree long *pa = g_new(long, nops + 1);
        g_autofree long *pb = g_new(long, nops + 1);
        pa[0] = pb[0] = 0;
        for (size_t i = 0; i < nops; i++) {
                pa[i + 1] = pa[i] + (ops->str[i] != '+');
                pb[i + 1] = pb[i] + (ops->str[i] != '-');
        }
        size_t i = 0;
        while (i < nops) {
                if (ops->str[i] == '=') {
                        i++;
                        continue;
                }
                /* a hunk: from CONTEXT before the change to CONTEXT after the last change that is
                 * within 2*CONTEXT of the previous one */
                size_t start = i >= CONTEXT ? i - CONTEXT : 0, end = i;
                for (;;) {
                        while (end < nops && ops->str[end] != '=')
                                end++;
                        size_t eq = end;
                        while (eq < nops && ops->str[eq] == '=')
                                eq++;
                        if (eq < nops && eq - end <= 2 * CONTEXT)
                                end = eq;
                        else {
                                end = end + CONTEXT < nops ? end + CONTEXT : nops;
                                break;
                        }
                }
                long a_start = pa[start], b_start = pb[start];
                long a_cnt = pa[end] - a_start, b_cnt = pb[end] - b_start;
                g_string_append(out, "@@ -");
                append_range(out, a_start, a_cnt);
                g_string_append(out, " +");
                append_range(out, b_start, b_cnt);
                g_string_append(out, " @@\n");
                for (size_t j = start; j < end; j++) {
                        char op = ops->str[j];
                        if (op == '=')
                                emit_line(out, ' ', &A[pa[j]]);
                        else if (op == '-')
                                emit_line(out, '-', &A[pa[j]]);
                        else
                                emit_line(out, '+', &B[pb[j]]);
                }
                i = end;
        }
        return g_string_free(out, FALSE);
}
