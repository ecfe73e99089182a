/* SPDX-License-Identifier: MIT */
/* Unit tests: the JSON writer (src/lib/json-writer.c) - escaping, UTF-8 repair, layout. */
#include "testutil.h"

#include <string.h>

#include "json-writer.h"

/* s as the writer quotes it */
static char *quoted(const char *s)
{
        GString *out = g_string_new(NULL);

        tpfw_json_append_string(out, s);
        return g_string_free(out, FALSE);
}

static void assert_quoted(const char *in, const char *expected)
{
        g_autofree char *got = quoted(in);

        if (strcmp(got, expected) != 0)
                fail_msg("%s: got %s, expected %s", in, got, expected);
}

/* Every byte below 0x20 (and DEL): the short escapes where JSON has one, \u00xx otherwise. */
static void test_control_characters(void **state)
{
        static const char *const short_escapes[0x20] = {
                ['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n", ['\f'] = "\\f", ['\r'] = "\\r",
        };

        for (unsigned c = 1; c < 0x20; c++) {
                char in[] = {'a', (char)c, 'b', '\0'};
                g_autofree char *expected = short_escapes[c]
                                                    ? g_strdup_printf("\"a%sb\"", short_escapes[c])
                                                    : g_strdup_printf("\"a\\u%04xb\"", c);

                assert_quoted(in, expected);
        }
        /* json-glib emitted 0x1f raw, which no JSON parser accepts */
        assert_quoted("\x1f", "\"\\u001f\"");
        assert_quoted("\x7f", "\"\\u007f\"");
        assert_quoted("\x01\x02", "\"\\u0001\\u0002\"");
}

static void test_quotes_backslash_and_plain_text(void **state)
{
        assert_quoted("", "\"\"");
        assert_quoted("\"", "\"\\\"\"");
        assert_quoted("\\", "\"\\\\\"");
        assert_quoted("a\"b\\c", "\"a\\\"b\\\\c\"");
        assert_quoted("\\\"\\\"", "\"\\\\\\\"\\\\\\\"\"");
        /* "/" may be escaped; json-glib did not, nor does the writer */
        assert_quoted("/a/b</c>", "\"/a/b</c>\"");
        assert_quoted(" !#$%&'()*+,-.09:;<=>?@AZ[]^_`az{|}~",
                      "\" !#$%&'()*+,-.09:;<=>?@AZ[]^_`az{|}~\"");
        assert_quoted("-m comment --comment 'tproxy-firewalld/kuma x'",
                      "\"-m comment --comment 'tproxy-firewalld/kuma x'\"");
}

/* Well-formed UTF-8 is copied as is, at every length and at the edges of each range. */
static void test_multibyte_utf8(void **state)
{
        static const char *const valid[] = {
                "\xc2\x80",                 /* U+0080 */
                "\xc3\xa9",                 /* é */
                "\xdf\xbf",                 /* U+07FF */
                "\xe0\xa0\x80",             /* U+0800 */
                "\xe2\x82\xac",             /* € */
                "\xed\x9f\xbf",             /* U+D7FF, below the surrogates */
                "\xee\x80\x80",             /* U+E000, above them */
                "\xef\xbb\xbf",             /* U+FEFF, a BOM in the middle of a string */
                "\xef\xbf\xbd",             /* U+FFFD itself */
                "\xef\xbf\xbf",             /* U+FFFF */
                "\xf0\x90\x80\x80",         /* U+10000 */
                "\xf0\x9f\x98\x80",         /* 😀 */
                "\xf4\x8f\xbf\xbf",         /* U+10FFFF */
                "\xe2\x80\xa8\xe2\x80\xa9", /* U+2028/2029: valid in JSON, left alone */
        };

        for (size_t i = 0; i < G_N_ELEMENTS(valid); i++) {
                g_autofree char *in = g_strdup_printf("a%sb", valid[i]);
                g_autofree char *expected = g_strdup_printf("\"a%sb\"", valid[i]);

                assert_quoted(in, expected);
        }
        assert_quoted("caf\xc3\xa9 \"\xe2\x82\xac\"\n", "\"caf\xc3\xa9 \\\"\xe2\x82\xac\\\"\\n\"");
}

/*
 * Each maximal ill-formed subsequence becomes one U+FFFD: the expectations come from Python's
 * bytes.decode("utf-8", "replace"), which follows the same Unicode recommendation.
 */
static void test_invalid_utf8(void **state)
{
        static const struct {
                const char *in, *expected;
        } cases[] = {
                {"\x80", "\"\xef\xbf\xbd\""}, /* lone continuation */
                {"\xbf", "\"\xef\xbf\xbd\""}, /* lone continuation */
                {"a\x80\x80"
                 "b",
                 "\"a\xef\xbf\xbd\xef\xbf\xbd"
                 "b\""},                                      /* two continuations */
                {"\xc0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong NUL */
                {"\xc1\xbf", "\"\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong 2-byte */
                {"\xe0\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong 3-byte */
                {"\xe0\x9f\xbf",
                 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong 3-byte, top */
                {"\xf0\x80\x80\x80",
                 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong 4-byte */
                {"\xf0\x8f\xbf\xbf",
                 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong 4-byte, top */
                {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate D800 */
                {"\xed\xbf\xbf", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* surrogate DFFF */
                {"\xf4\x90\x80\x80",
                 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* above U+10FFFF */
                {"\xf5\x80\x80\x80",
                 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* F5 lead */
                {"\xfe", "\"\xef\xbf\xbd\""},                             /* FE */
                {"\xff", "\"\xef\xbf\xbd\""},                             /* FF */
                {"\xc3", "\"\xef\xbf\xbd\""},                 /* truncated 2-byte at end */
                {"\xe2\x82", "\"\xef\xbf\xbd\""},             /* truncated 3-byte at end */
                {"\xf0\x9f\x98", "\"\xef\xbf\xbd\""},         /* truncated 4-byte at end */
                {"\xf0\x9f\x98x", "\"\xef\xbf\xbdx\""},       /* truncated 4-byte, then ASCII */
                {"\xe2\x82\"", "\"\xef\xbf\xbd\\\"\""},       /* truncated, then a quote */
                {"\xc3\x01", "\"\xef\xbf\xbd\\u0001\""},      /* truncated, then a control char */
                {"\xc3\xc3\xa9", "\"\xef\xbf\xbd\xc3\xa9\""}, /* truncated, then a valid sequence */
                {"\xe1\x80\xe2\x82\xac",
                 "\"\xef\xbf\xbd\xe2\x82\xac\""}, /* truncated 3-byte, then euro */
                {"\xf1\x80\x80\xc0",
                 "\"\xef\xbf\xbd\xef\xbf\xbd\""}, /* truncated 4-byte, then bad lead */
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
                assert_quoted(cases[i].in, cases[i].expected);
}

/* Output bytes that a strict JSON parser (RFC 8259 and UTF-8) accepts inside a string. */
static void assert_valid_json_string(const char *in, const char *out)
{
        size_t len = strlen(out);

        if (!g_utf8_validate(out, (gssize)len, NULL))
                fail_msg("output for %s is not UTF-8", in);
        if (len < 2 || out[0] != '"' || out[len - 1] != '"')
                fail_msg("output for %s is not quoted", in);
        for (size_t i = 1; i < len - 1; i++) {
                if ((unsigned char)out[i] < 0x20)
                        fail_msg("raw control character in the output for %s", in);
                if (out[i] == '"')
                        fail_msg("unescaped quote in the output for %s", in);
                if (out[i] == '\\' && !strchr("\"\\/bfnrtu", out[++i]))
                        fail_msg("invalid escape in the output for %s", in);
        }
}

/*
 * Every one- and two-byte string and every three-byte one with a multibyte lead: the output is
 * always a valid JSON string in valid UTF-8, and input that is already UTF-8 with nothing to
 * escape comes out unchanged.
 */
static void test_any_bytes_give_valid_json(void **state)
{
        static const unsigned char thirds[] = {0x01, 0x22, 0x41, 0x5c, 0x7f, 0x80, 0x8f, 0x90,
                                               0x9f, 0xa0, 0xbf, 0xc0, 0xc3, 0xe2, 0xf0, 0xff};

        for (unsigned a = 1; a < 0x100; a++) {
                for (unsigned b = 0; b < 0x100; b++) {
                        size_t nthirds = a >= 0xe0 && a <= 0xf4 && b ? G_N_ELEMENTS(thirds) + 1 : 1;

                        for (size_t k = 0; k < nthirds; k++) {
                                char in[4] = {(char)a, (char)b, (char)(k ? thirds[k - 1] : 0), 0};
                                g_autofree char *out = quoted(in);
                                bool plain = g_utf8_validate(in, -1, NULL);

                                assert_valid_json_string(in, out);
                                for (const char *c = in; *c; c++)
                                        if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\' ||
                                            *c == 0x7f)
                                                plain = false;
                                if (plain && (strlen(out) != strlen(in) + 2 ||
                                              memcmp(out + 1, in, strlen(in)) != 0))
                                        fail_msg("valid UTF-8 was changed: %s", out);
                        }
                }
        }
}

static void test_int64_extremes(void **state)
{
        static const struct {
                int64_t v;
                const char *text;
        } cases[] = {
                {INT64_MIN, "[-9223372036854775808]"},
                {INT64_MAX, "[9223372036854775807]"},
                {0, "[0]"},
                {-1, "[-1]"},
                {INT32_MAX + (int64_t)1, "[2147483648]"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                TpfwJsonWriter w;
                g_autofree char *text = NULL;

                tpfw_json_writer_init(&w, 0);
                tpfw_json_begin_array(&w);
                tpfw_json_int(&w, cases[i].v);
                tpfw_json_end_array(&w);
                text = tpfw_json_writer_finish(&w);
                assert_string_equal(text, cases[i].text);
        }
}

/* One document with every kind of value, nesting and empty containers. */
static char *sample(unsigned indent)
{
        TpfwJsonWriter w;

        tpfw_json_writer_init(&w, indent);
        tpfw_json_begin_object(&w);
        tpfw_json_member(&w, "s");
        tpfw_json_string(&w, "x");
        tpfw_json_member(&w, "i");
        tpfw_json_int(&w, -42);
        tpfw_json_member(&w, "t");
        tpfw_json_bool(&w, true);
        tpfw_json_member(&w, "f");
        tpfw_json_bool(&w, false);
        tpfw_json_member(&w, "n");
        tpfw_json_null(&w);
        tpfw_json_member(&w, "ea");
        tpfw_json_begin_array(&w);
        tpfw_json_end_array(&w);
        tpfw_json_member(&w, "eo");
        tpfw_json_begin_object(&w);
        tpfw_json_end_object(&w);
        tpfw_json_member(&w, "a");
        tpfw_json_begin_array(&w);
        tpfw_json_begin_array(&w);
        tpfw_json_int(&w, 1);
        tpfw_json_begin_object(&w);
        tpfw_json_end_object(&w);
        tpfw_json_begin_array(&w);
        tpfw_json_end_array(&w);
        tpfw_json_end_array(&w);
        tpfw_json_begin_object(&w);
        tpfw_json_member(&w, "x");
        tpfw_json_begin_array(&w);
        tpfw_json_string_or_null(&w, NULL);
        tpfw_json_end_array(&w);
        tpfw_json_member(&w, "y");
        tpfw_json_begin_object(&w);
        tpfw_json_member(&w, "z");
        tpfw_json_string_or_null(&w, "");
        tpfw_json_end_object(&w);
        tpfw_json_end_object(&w);
        tpfw_json_bool(&w, false);
        tpfw_json_end_array(&w);
        tpfw_json_end_object(&w);
        return tpfw_json_writer_finish(&w);
}

/* The expected texts are what json-glib 1.6's JsonGenerator printed for the same document. */
static void test_layout_compact(void **state)
{
        g_autofree char *text = sample(0);

        assert_string_equal(text, "{\"s\":\"x\",\"i\":-42,\"t\":true,\"f\":false,\"n\":null,"
                                  "\"ea\":[],\"eo\":{},\"a\":[[1,{},[]],{\"x\":[null],"
                                  "\"y\":{\"z\":\"\"}},false]}");
}

static void test_layout_pretty(void **state)
{
        g_autofree char *two = sample(2);
        g_autofree char *four = sample(4);

        assert_string_equal(two, "{\n"
                                 "  \"s\" : \"x\",\n"
                                 "  \"i\" : -42,\n"
                                 "  \"t\" : true,\n"
                                 "  \"f\" : false,\n"
                                 "  \"n\" : null,\n"
                                 "  \"ea\" : [],\n"
                                 "  \"eo\" : {  },\n"
                                 "  \"a\" : [\n"
                                 "    [\n"
                                 "      1,\n"
                                 "      {      },\n"
                                 "      []\n"
                                 "    ],\n"
                                 "    {\n"
                                 "      \"x\" : [\n"
                                 "        null\n"
                                 "      ],\n"
                                 "      \"y\" : {\n"
                                 "        \"z\" : \"\"\n"
                                 "      }\n"
                                 "    },\n"
                                 "    false\n"
                                 "  ]\n"
                                 "}");
        assert_string_equal(four, "{\n"
                                  "    \"s\" : \"x\",\n"
                                  "    \"i\" : -42,\n"
                                  "    \"t\" : true,\n"
                                  "    \"f\" : false,\n"
                                  "    \"n\" : null,\n"
                                  "    \"ea\" : [],\n"
                                  "    \"eo\" : {    },\n"
                                  "    \"a\" : [\n"
                                  "        [\n"
                                  "            1,\n"
                                  "            {            },\n"
                                  "            []\n"
                                  "        ],\n"
                                  "        {\n"
                                  "            \"x\" : [\n"
                                  "                null\n"
                                  "            ],\n"
                                  "            \"y\" : {\n"
                                  "                \"z\" : \"\"\n"
                                  "            }\n"
                                  "        },\n"
                                  "        false\n"
                                  "    ]\n"
                                  "}");
}

/* The one-call members write what a member name and a value call write. */
static void test_member_and_value_in_one_call(void **state)
{
        for (unsigned indent = 0; indent <= 2; indent += 2) {
                TpfwJsonWriter w;
                g_autofree char *text = NULL;

                tpfw_json_writer_init(&w, indent);
                tpfw_json_begin_object(&w);
                tpfw_json_member_string(&w, "s", "x");
                tpfw_json_member_string_or_null(&w, "n", NULL);
                tpfw_json_member_string_or_null(&w, "e", "");
                tpfw_json_member_int(&w, "i", -42);
                tpfw_json_member_bool(&w, "t", true);
                tpfw_json_end_object(&w);
                text = tpfw_json_writer_finish(&w);
                assert_string_equal(text, indent ? "{\n  \"s\" : \"x\",\n  \"n\" : null,\n"
                                                   "  \"e\" : \"\",\n  \"i\" : -42,\n"
                                                   "  \"t\" : true\n}"
                                                 : "{\"s\":\"x\",\"n\":null,\"e\":\"\","
                                                   "\"i\":-42,\"t\":true}");
        }
}

static char *empty_root(unsigned indent, bool object, bool nested)
{
        TpfwJsonWriter w;

        tpfw_json_writer_init(&w, indent);
        if (nested)
                tpfw_json_begin_array(&w);
        if (object) {
                tpfw_json_begin_object(&w);
                tpfw_json_end_object(&w);
        } else {
                tpfw_json_begin_array(&w);
                tpfw_json_end_array(&w);
        }
        if (nested)
                tpfw_json_end_array(&w);
        return tpfw_json_writer_finish(&w);
}

static void test_empty_containers(void **state)
{
        const struct {
                unsigned indent;
                bool object, nested;
                const char *text;
        } cases[] = {
                {0, true, false, "{}"},          {0, false, false, "[]"},
                {2, true, false, "{}"},          {2, false, false, "[]"},
                {0, true, true, "[{}]"},         {0, false, true, "[[]]"},
                {2, true, true, "[\n  {  }\n]"}, {2, false, true, "[\n  []\n]"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *text =
                        empty_root(cases[i].indent, cases[i].object, cases[i].nested);

                assert_string_equal(text, cases[i].text);
        }
}

/* Member names are strings like any other: escaped and repaired the same way. */
static void test_member_names(void **state)
{
        TpfwJsonWriter w;
        g_autofree char *text = NULL;

        tpfw_json_writer_init(&w, 0);
        tpfw_json_begin_object(&w);
        tpfw_json_member(&w, "k\"\n\x1f\xff\xc3\xa9");
        tpfw_json_int(&w, 1);
        tpfw_json_member(&w, "");
        tpfw_json_string(&w, "v");
        tpfw_json_end_object(&w);
        text = tpfw_json_writer_finish(&w);
        assert_string_equal(text, "{\"k\\\"\\n\\u001f\xef\xbf\xbd\xc3\xa9\":1,\"\":\"v\"}");
}

/* A bare value is a document too. */
static void test_scalar_documents(void **state)
{
        TpfwJsonWriter w;
        g_autofree char *text = NULL;

        tpfw_json_writer_init(&w, 2);
        tpfw_json_string(&w, "a\tb");
        text = tpfw_json_writer_finish(&w);
        assert_string_equal(text, "\"a\\tb\"");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_control_characters),
                cmocka_unit_test(test_quotes_backslash_and_plain_text),
                cmocka_unit_test(test_multibyte_utf8),
                cmocka_unit_test(test_invalid_utf8),
                cmocka_unit_test(test_any_bytes_give_valid_json),
                cmocka_unit_test(test_int64_extremes),
                cmocka_unit_test(test_layout_compact),
                cmocka_unit_test(test_layout_pretty),
                cmocka_unit_test(test_empty_containers),
                cmocka_unit_test(test_member_names),
                cmocka_unit_test(test_member_and_value_in_one_call),
                cmocka_unit_test(test_scalar_documents),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
