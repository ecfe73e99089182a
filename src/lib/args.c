/* SPDX-License-Identifier: MIT */
/* Argument splitting and quoting, byte for byte as firewalld's splitArgs/joinArgs (Python shlex).
 */
#include <string.h>

#include <tproxy-firewalld/args.h>

#include "args-private.h"
#include "util.h"

/*
 * The states of Python's shlex.read_token() in POSIX mode with whitespace_split=True and no
 * commenters. Only ASCII bytes are special, so working on UTF-8 bytes gives the same words as
 * Python working on code points.
 */
enum split_state {
        SPLIT_BLANK, /* between words: shlex's ' ' */
        SPLIT_WORD,  /* inside an unquoted part: 'a' */
        SPLIT_SINGLE,
        SPLIT_DOUBLE,
};

static bool is_separator(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int tpfw_args_split_into(const char *text, TpfwArgsScratch *s, TpfwDiag *diag)
{
        GString *word = s->bytes;
        GArray *words = s->starts;
        enum split_state state = SPLIT_BLANK;
        /* A quoted empty piece makes a word even when nothing was added to it ('' -> ""). */
        bool quoted = false;
        size_t start = 0; /* where the word being read starts in word */

        g_string_truncate(word, 0);
        g_array_set_size(words, 0);
        if (!text)
                return -EINVAL;

        for (const char *p = text;; p++) {
                char c = *p;

                switch (state) {
                case SPLIT_BLANK:
                case SPLIT_WORD:
                        if (c == '\0' || is_separator(c)) {
                                if (state == SPLIT_WORD || quoted) {
                                        g_array_append_val(words, start);
                                        g_string_append_c(word, '\0');
                                        start = word->len;
                                        quoted = false;
                                }
                                state = SPLIT_BLANK;
                                if (c == '\0')
                                        goto done;
                        } else if (c == '\\') {
                                if (p[1] == '\0')
                                        return tpfw_diag_set(diag, EINVAL, NULL, 0,
                                                             "No escaped character");
                                g_string_append_c(word, *++p);
                                state = SPLIT_WORD;
                        } else if (c == '\'') {
                                state = SPLIT_SINGLE;
                        } else if (c == '"') {
                                state = SPLIT_DOUBLE;
                        } else {
                                /* the whole run of ordinary characters at once */
                                size_t n = strcspn(p, " \t\r\n\\'\"");

                                g_string_append_len(word, p, (gssize)n);
                                p += n - 1;
                                state = SPLIT_WORD;
                        }
                        break;
                case SPLIT_SINGLE: {
                        const char *q = strchrnul(p, '\'');

                        quoted = true;
                        if (*q == '\0')
                                return tpfw_diag_set(diag, EINVAL, NULL, 0, "No closing quotation");
                        g_string_append_len(word, p, q - p);
                        p = q;
                        state = SPLIT_WORD;
                        break;
                }
                case SPLIT_DOUBLE:
                        quoted = true;
                        if (c == '\0')
                                return tpfw_diag_set(diag, EINVAL, NULL, 0, "No closing quotation");
                        if (c == '"') {
                                state = SPLIT_WORD;
                        } else if (c == '\\') {
                                /* Only \" and \\ are escapes; any other backslash is kept. */
                                char next = p[1];

                                if (next == '\0')
                                        return tpfw_diag_set(diag, EINVAL, NULL, 0,
                                                             "No escaped character");
                                if (next != '"' && next != '\\')
                                        g_string_append_c(word, '\\');
                                g_string_append_c(word, next);
                                p++;
                        } else {
                                g_string_append_c(word, c);
                        }
                        break;
                }
        }
done:
        g_ptr_array_set_size(s->argv, 0);
        for (guint i = 0; i < words->len; i++)
                g_ptr_array_add(s->argv, word->str + g_array_index(words, size_t, i));
        g_ptr_array_add(s->argv, NULL);
        return 0;
}

void tpfw_args_scratch_init(TpfwArgsScratch *s)
{
        s->bytes = g_string_sized_new(256);
        s->starts = g_array_sized_new(FALSE, FALSE, sizeof(size_t), 16);
        s->argv = g_ptr_array_sized_new(17);
}

void tpfw_args_scratch_clear(TpfwArgsScratch *s)
{
        if (s->bytes)
                g_string_free(s->bytes, TRUE);
        if (s->starts)
                g_array_free(s->starts, TRUE);
        if (s->argv)
                g_ptr_array_free(s->argv, TRUE);
        *s = (TpfwArgsScratch){0};
}

int tpfw_args_split(const char *text, char ***ret_argv, TpfwDiag *diag)
{
        g_auto(TpfwArgsScratch) s = {0};
        int r;

        if (!text || !ret_argv)
                return -EINVAL;
        tpfw_args_scratch_init(&s);
        r = tpfw_args_split_into(text, &s, diag);
        if (r < 0)
                return r;
        *ret_argv = tpfw_strv_copy((const char *const *)s.argv->pdata);
        if (!*ret_argv)
                *ret_argv = g_new0(char *, 1);
        return 0;
}

/* shlex.quote()'s safe characters: [A-Za-z0-9_@%+=:,./-] */
static const bool safe_char[256] = {
        ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['_'] = true,
        ['@'] = true,         ['%'] = true,         ['+'] = true,         ['='] = true,
        [':'] = true,         [','] = true,         ['.'] = true,         ['/'] = true,
        ['-'] = true,
};

static void append_quoted(GString *out, const char *arg)
{
        const char *p;

        for (p = arg; safe_char[(unsigned char)*p]; p++)
                ;
        if (*arg && !*p) {
                g_string_append_len(out, arg, p - arg);
                return;
        }
        g_string_append_c(out, '\'');
        for (p = arg;;) {
                const char *q = strchrnul(p, '\'');

                g_string_append_len(out, p, q - p);
                if (!*q)
                        break;
                g_string_append(out, "'\"'\"'");
                p = q + 1;
        }
        g_string_append_c(out, '\'');
}

char *tpfw_args_quote(const char *arg)
{
        GString *out;

        if (!arg)
                return NULL;
        out = g_string_new(NULL);
        append_quoted(out, arg);
        return g_string_free(out, FALSE);
}

char *tpfw_args_join(const char *const *argv)
{
        GString *out = g_string_new(NULL);

        for (size_t i = 0; argv && argv[i]; i++) {
                if (i > 0)
                        g_string_append_c(out, ' ');
                append_quoted(out, argv[i]);
        }
        return g_string_free(out, FALSE);
}

size_t tpfw_strv_length(const char *const *argv)
{
        size_t n = 0;

        while (argv && argv[n])
                n++;
        return n;
}

char **tpfw_strv_copy(const char *const *argv)
{
        return argv ? g_strdupv((char **)argv) : NULL;
}

int tpfw_strv_equal(const char *const *a, const char *const *b)
{
        size_t i;

        if (!a || !b)
                return a == b;
        for (i = 0; a[i] && b[i]; i++)
                if (strcmp(a[i], b[i]) != 0)
                        return 0;
        return a[i] == NULL && b[i] == NULL;
}

void tpfw_strv_free(char **argv)
{
        g_strfreev(argv);
}
