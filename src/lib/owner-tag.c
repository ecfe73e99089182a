/* SPDX-License-Identifier: MIT */
/* Owner tags: the "tproxy-firewalld/<owner>" comment that marks a rule as an owner's. */
#include <string.h>

#include <glib.h>

#include <tproxy-firewalld/args.h>
#include <tproxy-firewalld/ruleset.h>

#include "ruleset-private.h"

/* Whether the n bytes at name make a valid owner name (tpfw_owner_name_is_valid()). */
static bool owner_name_valid_len(const char *name, size_t n)
{
        if (n == 0 || n > TPFW_OWNER_MAX ||
            (!g_ascii_islower(name[0]) && !g_ascii_isdigit(name[0])))
                return false;
        for (size_t i = 1; i < n; i++) {
                char c = name[i];
                if (!g_ascii_islower(c) && !g_ascii_isdigit(c) && c != '.' && c != '_' && c != '-')
                        return false;
        }
        return true;
}

bool tpfw_owner_name_is_valid(const char *name)
{
        return name && owner_name_valid_len(name, strlen(name));
}

/*
 * Where the owner of a comment value "tproxy-firewalld/<owner>[ text]" starts, or NULL; its length
 * goes to *ret_len and the text after it to *ret_rest (optional).
 */
static const char *comment_owner_span(const char *value, size_t *ret_len, const char **ret_rest)
{
        const size_t plen = sizeof(TPFW_OWNER_TAG_PREFIX) - 1;
        const char *o, *end;

        if (strncmp(value, TPFW_OWNER_TAG_PREFIX, plen) != 0)
                return NULL;
        o = value + plen;
        end = strchrnul(o, ' ');
        /* "tproxy-firewalld/Foo=1" is no tag: list-owners must never name an owner that the
         * tool refuses to install or uninstall. */
        if (!owner_name_valid_len(o, (size_t)(end - o)))
                return NULL;
        *ret_len = (size_t)(end - o);
        if (ret_rest)
                *ret_rest = *end ? end + 1 : end;
        return o;
}

/* The first "--comment VALUE" of argv whose VALUE carries an owner tag: the owner's span. */
static const char *argv_owner_span(const char *const *argv, size_t *ret_len)
{
        for (size_t i = 0; argv && argv[i]; i++) {
                if (strcmp(argv[i], "--comment") == 0 && argv[i + 1]) {
                        const char *o = comment_owner_span(argv[i + 1], ret_len, NULL);
                        if (o)
                                return o;
                }
        }
        return NULL;
}

char *tpfw_argv_owner(const char *const *argv)
{
        size_t n;
        const char *o = argv_owner_span(argv, &n);

        return o ? g_strndup(o, n) : NULL;
}

bool tpfw_argv_has_owner(const char *const *argv, const char *owner)
{
        size_t n;
        const char *o = argv_owner_span(argv, &n);

        return o && owner && strncmp(o, owner, n) == 0 && owner[n] == '\0';
}

/* "-m comment" or "--match comment" at argv[i]. */
static bool is_comment_match(const char *const *argv, size_t i)
{
        return (strcmp(argv[i], "-m") == 0 || strcmp(argv[i], "--match") == 0) && argv[i + 1] &&
               strcmp(argv[i + 1], "comment") == 0;
}

/*
 * Copies argv without its comment matches; the text of the first --comment goes to *ret_text.
 * A comment match is "-m comment" (or "--match comment") followed by "--comment X" options.
 */
static const char **strip_comment_view(const char *const *argv, const char **ret_text)
{
        GPtrArray *out = g_ptr_array_sized_new(argv ? g_strv_length((char **)argv) + 1 : 1);
        const char *text = NULL;

        for (size_t i = 0; argv && argv[i]; i++) {
                if (is_comment_match(argv, i)) {
                        i++;
                        while (argv[i + 1] && strcmp(argv[i + 1], "--comment") == 0 &&
                               argv[i + 2]) {
                                if (!text)
                                        text = argv[i + 2];
                                i += 2;
                        }
                        continue;
                }
                g_ptr_array_add(out, (gpointer)argv[i]);
        }
        g_ptr_array_add(out, NULL);
        if (ret_text)
                *ret_text = text;
        return (const char **)g_ptr_array_free(out, FALSE);
}

const char **tpfw_argv_strip_comment_view(const char *const *argv)
{
        return strip_comment_view(argv, NULL);
}

static char **strip_comment(const char *const *argv, char **ret_text)
{
        const char *text = NULL;
        g_autofree const char **view = strip_comment_view(argv, &text);

        if (ret_text)
                *ret_text = g_strdup(text);
        return tpfw_strv_copy(view);
}

char **tpfw_argv_strip_comment(const char *const *argv)
{
        return strip_comment(argv, NULL);
}

/* "tproxy-firewalld/<owner>[ DESC]", DESC cut so the whole fits TPFW_COMMENT_MAX bytes. */
static char *tag_comment(const char *owner, const char *desc)
{
        const size_t plen = sizeof(TPFW_OWNER_TAG_PREFIX) - 1;
        size_t olen = strlen(owner), taglen = plen + olen, n = 0;
        bool with_desc = desc && *desc && taglen + 1 < TPFW_COMMENT_MAX;
        char *comment, *p;

        if (with_desc) {
                size_t room = TPFW_COMMENT_MAX - taglen - 1;

                n = strlen(desc);
                if (n > room) {
                        n = room;
                        /* never cut inside a UTF-8 sequence */
                        while (n > 0 && ((unsigned char)desc[n] & 0xC0) == 0x80)
                                n--;
                }
        }
        p = comment = g_malloc(taglen + (with_desc ? 1 + n : 0) + 1);
        p = mempcpy(p, TPFW_OWNER_TAG_PREFIX, plen);
        p = mempcpy(p, owner, olen);
        if (with_desc) {
                *p++ = ' ';
                p = mempcpy(p, desc, n);
        }
        *p = '\0';
        return comment;
}

/* The description of a rule's comment text: what follows an owner tag, or the whole text. */
static const char *comment_description(const char *text)
{
        const char *after;
        size_t len;

        if (text && comment_owner_span(text, &len, &after))
                return after;
        return text;
}

/* Whether argv starts with its only comment match, one --comment, as generated rules do. */
static bool starts_with_only_comment(char **argv, size_t n)
{
        if (n < 4 || strcmp(argv[0], "-m") != 0 || strcmp(argv[1], "comment") != 0 ||
            strcmp(argv[2], "--comment") != 0 || (n >= 6 && strcmp(argv[4], "--comment") == 0))
                return false;
        for (size_t i = 4; i < n; i++)
                if (is_comment_match((const char *const *)argv, i))
                        return false;
        return true;
}

/*
 * tpfw_argv_tag(). With take, argv is consumed: the result is argv itself, its comment replaced,
 * when it starts with its only comment match; else a new array, and argv is freed.
 */
static char **argv_tag(char **argv, const char *owner, bool take)
{
        size_t n = argv ? g_strv_length(argv) : 0;
        g_autofree char *text = NULL;
        char **rest, **out;

        if (take && starts_with_only_comment(argv, n)) {
                char *comment = tag_comment(owner, comment_description(argv[3]));

                g_free(argv[3]);
                argv[3] = comment;
                return argv;
        }
        rest = strip_comment((const char *const *)argv, &text);
        n = g_strv_length(rest);
        out = g_new(char *, n + 5);
        out[0] = g_strdup("-m");
        out[1] = g_strdup("comment");
        out[2] = g_strdup("--comment");
        out[3] = tag_comment(owner, comment_description(text));
        memcpy(out + 4, rest, (n + 1) * sizeof(*rest));
        g_free(rest);
        if (take)
                g_strfreev(argv);
        return out;
}

char **tpfw_argv_tag(const char *const *argv, const char *owner)
{
        return argv_tag((char **)argv, owner, false);
}

char **tpfw_argv_tag_take(char **argv, const char *owner)
{
        return argv_tag(argv, owner, true);
}
