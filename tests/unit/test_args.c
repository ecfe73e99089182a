/* SPDX-License-Identifier: MIT */
/* Unit tests for args.c: shlex split/quote/join against vectors produced by Python's shlex. */
#include <errno.h>
#include <string.h>

#include <tproxy-firewalld/args.h>

#include "testutil.h"

#define VECTORS "fixtures/args/vectors.txt"

/* Decodes one double-quoted fixture field at *p ("..." with \" \\ \xHH), advancing *p past it. */
static char *parse_quoted(const char **p)
{
        GString *out = g_string_new(NULL);
        const char *s = *p;

        assert_int_equal(*s, '"');
        for (s++; *s != '"'; s++) {
                assert_true(*s != '\0');
                if (*s != '\\') {
                        g_string_append_c(out, *s);
                        continue;
                }
                s++;
                if (*s == 'x') {
                        char hex[3] = {s[1], s[2], 0};

                        assert_true(g_ascii_isxdigit(hex[0]) && g_ascii_isxdigit(hex[1]));
                        g_string_append_c(out, (char)strtol(hex, NULL, 16));
                        s += 2;
                } else {
                        assert_true(*s == '"' || *s == '\\');
                        g_string_append_c(out, *s);
                }
        }
        *p = s + 1;
        return g_string_free(out, FALSE);
}

/* Splits a fixture line into its fields: bare words and decoded quoted strings. */
static char **parse_line(const char *line)
{
        GPtrArray *fields = g_ptr_array_new();
        const char *p = line;

        while (*p) {
                if (*p == ' ') {
                        p++;
                } else if (*p == '"') {
                        g_ptr_array_add(fields, parse_quoted(&p));
                } else {
                        const char *start = p;

                        while (*p && *p != ' ')
                                p++;
                        g_ptr_array_add(fields, g_strndup(start, p - start));
                }
        }
        g_ptr_array_add(fields, NULL);
        return (char **)g_ptr_array_free(fields, FALSE);
}

static void assert_argv_equal(const char *what, char **got, char **want)
{
        size_t i;

        for (i = 0; got[i] && want[i]; i++)
                if (strcmp(got[i], want[i]) != 0)
                        fail_msg("%s: argv[%zu] is \"%s\", expected \"%s\"", what, i, got[i],
                                 want[i]);
        if (got[i] || want[i])
                fail_msg("%s: %u arguments, expected %u", what, g_strv_length(got),
                         g_strv_length(want));
}

static void check_split_vector(char **f)
{
        g_auto(GStrv) argv = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;
        int r;

        r = tpfw_args_split(f[1], &argv, &diag);
        if (strcmp(f[2], "ok") == 0) {
                if (r != 0)
                        fail_msg("split \"%s\": %d (%s), expected success", f[1], r, diag.message);
                assert_argv_equal(f[1], argv, f + 3);
        } else {
                assert_string_equal(f[2], "error");
                if (r != -EINVAL)
                        fail_msg("split \"%s\": %d, expected -EINVAL", f[1], r);
                assert_null(argv);
                assert_non_null(diag.message);
                assert_string_equal(diag.message, f[3]);
                assert_null(f[4]);
        }
        tpfw_diag_clear(&diag);
}

static void check_join_vector(char **f)
{
        const char *const *args = (const char *const *)(f + 2);
        g_autofree char *joined = tpfw_args_join(args);
        g_auto(GStrv) again = NULL;

        assert_string_equal(joined, f[1]);
        assert_int_equal(tpfw_args_split(joined, &again, NULL), 0);
        assert_argv_equal(joined, again, f + 2);
}

static void test_vectors_from_python(void **state)
{
        g_autofree char *text = test_read_fixture(VECTORS, NULL);
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        unsigned n_split = 0, n_split_error = 0, n_quote = 0, n_join = 0;

        for (size_t i = 0; lines[i]; i++) {
                g_auto(GStrv) f = NULL;

                if (lines[i][0] == '\0' || lines[i][0] == '#')
                        continue;
                f = parse_line(lines[i]);
                assert_non_null(f[0]);
                assert_non_null(f[1]);
                if (strcmp(f[0], "split") == 0) {
                        assert_non_null(f[2]);
                        check_split_vector(f);
                        n_split++;
                        n_split_error += strcmp(f[2], "error") == 0;
                } else if (strcmp(f[0], "quote") == 0) {
                        g_autofree char *q = tpfw_args_quote(f[1]);

                        assert_non_null(f[2]);
                        assert_null(f[3]);
                        assert_string_equal(q, f[2]);
                        n_quote++;
                } else if (strcmp(f[0], "join") == 0) {
                        check_join_vector(f);
                        n_join++;
                } else {
                        fail_msg("%s:%zu: unknown vector kind %s", VECTORS, i + 1, f[0]);
                }
        }
        /* Guards against a truncated or misparsed fixture silently testing nothing. */
        assert_true(n_split >= 40);
        assert_true(n_split_error >= 5);
        assert_true(n_quote + n_join >= 20);
        assert_true(n_join >= 10);
}

static void test_split_error_leaves_output(void **state)
{
        char **argv = (char **)0x1;
        TpfwDiag diag = TPFW_DIAG_INIT;

        assert_int_equal(tpfw_args_split("a 'b", &argv, &diag), -EINVAL);
        assert_ptr_equal(argv, (char **)0x1);
        assert_string_equal(diag.message, "No closing quotation");
        assert_null(diag.file);
        assert_int_equal(diag.line, 0);
        tpfw_diag_clear(&diag);

        /* A NULL diag is allowed. */
        assert_int_equal(tpfw_args_split("a\\", &argv, NULL), -EINVAL);
        assert_int_equal(tpfw_args_split("\"a\\", &argv, NULL), -EINVAL);
        assert_ptr_equal(argv, (char **)0x1);
}

static void test_split_empty(void **state)
{
        const char *inputs[] = {"", " ", "\t\r\n", "\n\n\n"};

        for (size_t i = 0; i < G_N_ELEMENTS(inputs); i++) {
                g_auto(GStrv) argv = NULL;

                assert_int_equal(tpfw_args_split(inputs[i], &argv, NULL), 0);
                assert_non_null(argv);
                assert_null(argv[0]);
        }
}

static void assert_round_trip(const char *const *argv)
{
        g_autofree char *joined = tpfw_args_join(argv);
        g_auto(GStrv) again = NULL;
        g_autofree char *rejoined = NULL;
        TpfwDiag diag = TPFW_DIAG_INIT;

        if (tpfw_args_split(joined, &again, &diag) != 0)
                fail_msg("split(join(...)) of \"%s\" failed: %s", joined, diag.message);
        assert_argv_equal(joined, again, (char **)argv);
        /* join is a function of the argv alone, so joining again gives the same text. */
        rejoined = tpfw_args_join((const char *const *)again);
        assert_string_equal(rejoined, joined);
}

static void test_join_split_identity(void **state)
{
        static const char *const awkward[][6] = {
                {NULL},
                {"", NULL},
                {"", "", "", NULL},
                {"'", "\"", "\\", "\\\\", NULL},
                {"it's", "\"quoted\"", "'single'", "a'\"'\"'b", NULL},
                {" ", "\t", "\r", "\n", "\r\n", NULL},
                {"#", "#comment", "a #b", NULL},
                {"$HOME", "`id`", "$(x)", "!", "*?[]{}", NULL},
                {"\xc2\xa0", "\xe2\x80\x83", "\xff\xfe", "\x01\x7f", NULL},
                {"-m", "comment", "--comment", "kuma/mesh/transparent/proxy/a b", NULL},
                {"\\'", "'\\", "\"\\\"", "\\\n", "trailing\\", NULL},
                {"''", "\"\"", "'\"'\"'", NULL},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(awkward); i++)
                assert_round_trip(awkward[i]);
}

/* Random argv over every non-NUL byte, weighted towards the characters shlex treats specially. */
static void test_join_split_random(void **state)
{
        static const char special[] = " \t\r\n'\"\\#$!*a-";
        g_autoptr(GRand) rand = g_rand_new_with_seed(20240601);

        for (unsigned round = 0; round < 2000; round++) {
                unsigned n = g_rand_int_range(rand, 0, 6);
                g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);

                for (unsigned i = 0; i < n; i++) {
                        unsigned len = g_rand_int_range(rand, 0, 12);
                        GString *s = g_string_new(NULL);

                        for (unsigned j = 0; j < len; j++) {
                                if (g_rand_boolean(rand))
                                        g_string_append_c(
                                                s, special[g_rand_int_range(rand, 0,
                                                                            sizeof(special) - 1)]);
                                else
                                        g_string_append_c(s, (char)g_rand_int_range(rand, 1, 256));
                        }
                        g_ptr_array_add(argv, g_string_free(s, FALSE));
                }
                g_ptr_array_add(argv, NULL);
                assert_round_trip((const char *const *)argv->pdata);
        }
}

static void test_quote_and_join_edges(void **state)
{
        static const char *const empty[] = {NULL};
        g_autofree char *joined_empty = tpfw_args_join(empty);
        g_autofree char *joined_null = tpfw_args_join(NULL);

        assert_string_equal(joined_empty, "");
        assert_string_equal(joined_null, "");
        assert_null(tpfw_args_quote(NULL));
}

static void test_strv_helpers(void **state)
{
        static const char *const abc[] = {"a", "b", "c", NULL};
        static const char *const ab[] = {"a", "b", NULL};
        static const char *const abd[] = {"a", "b", "d", NULL};
        static const char *const empty[] = {NULL};
        char **copy;
        g_auto(GStrv) split = NULL;

        assert_int_equal(tpfw_strv_length(abc), 3);
        assert_int_equal(tpfw_strv_length(empty), 0);
        assert_int_equal(tpfw_strv_length(NULL), 0);

        assert_true(tpfw_strv_equal(NULL, NULL));
        assert_false(tpfw_strv_equal(NULL, empty));
        assert_false(tpfw_strv_equal(empty, NULL));
        assert_true(tpfw_strv_equal(empty, empty));
        assert_true(tpfw_strv_equal(abc, abc));
        assert_false(tpfw_strv_equal(abc, ab));
        assert_false(tpfw_strv_equal(ab, abc));
        assert_false(tpfw_strv_equal(abc, abd));

        assert_null(tpfw_strv_copy(NULL));
        copy = tpfw_strv_copy(abc);
        assert_non_null(copy);
        assert_true(copy != (char **)abc);
        assert_true(copy[0] != abc[0]);
        assert_true(tpfw_strv_equal((const char *const *)copy, abc));
        tpfw_strv_free(copy);
        tpfw_strv_free(NULL);

        /* Results are GLib-allocated and interchangeable with g_strfreev(). */
        assert_int_equal(tpfw_args_split("x y", &split, NULL), 0);
        copy = tpfw_strv_copy((const char *const *)split);
        g_strfreev(copy);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vectors_from_python),
                cmocka_unit_test(test_split_error_leaves_output),
                cmocka_unit_test(test_split_empty),
                cmocka_unit_test(test_join_split_identity),
                cmocka_unit_test(test_join_split_random),
                cmocka_unit_test(test_quote_and_join_edges),
                cmocka_unit_test(test_strv_helpers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
