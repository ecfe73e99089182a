/* Byte scanner over an accepted direct.xml: finds where each child of <direct> starts and ends. */
#include <string.h>

#include "direct-private.h"
#include "util.h"

typedef struct Scanner {
        const char *data;
        size_t len;
        size_t pos;
        unsigned line;
} Scanner;

/* Moves past the next occurrence of needle, counting lines. Returns false when it is missing. */
static bool skip_past(Scanner *s, const char *needle)
{
        size_t nlen = strlen(needle);
        const char *p = memmem(s->data + s->pos, s->len - s->pos, needle, nlen);

        if (!p)
                return false;
        for (const char *q = s->data + s->pos; q < p; q++)
                if (*q == '\n')
                        s->line++;
        s->pos = (size_t)(p - s->data) + nlen;
        return true;
}

static bool starts_with(const Scanner *s, const char *prefix)
{
        size_t n = strlen(prefix);

        return s->len - s->pos >= n && memcmp(s->data + s->pos, prefix, n) == 0;
}

/* Moves past a start tag ('<' at pos); attribute values may hold '>' and '/'. */
static bool skip_start_tag(Scanner *s, bool *ret_self_closing)
{
        char quote = 0;

        for (size_t i = s->pos + 1; i < s->len; i++) {
                char c = s->data[i];

                if (c == '\n')
                        s->line++;
                if (quote) {
                        if (c == quote)
                                quote = 0;
                } else if (c == '"' || c == '\'') {
                        quote = c;
                } else if (c == '>') {
                        *ret_self_closing = s->data[i - 1] == '/';
                        s->pos = i + 1;
                        return true;
                }
        }
        return false;
}

static bool is_xml_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int tpfw_direct_scan(const char *data, size_t len, DirectLayout *ret)
{
        Scanner s = {data, len, 0, 1};
        g_autoptr(GArray) spans = g_array_new(FALSE, TRUE, sizeof(DirectSpan));
        DirectLayout layout = {0};
        DirectSpan cur = {0};
        unsigned depth = 0;
        bool root_seen = false, root_done = false;

        if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
                s.pos = 3;
        while (s.pos < s.len) {
                const char *lt = memchr(s.data + s.pos, '<', s.len - s.pos);

                if (!lt)
                        break;
                for (const char *q = s.data + s.pos; q < lt; q++)
                        if (*q == '\n')
                                s.line++;
                s.pos = (size_t)(lt - s.data);
                if (starts_with(&s, "<?")) {
                        if (!skip_past(&s, "?>"))
                                return -EINVAL;
                } else if (starts_with(&s, "<!--")) {
                        if (!skip_past(&s, "-->"))
                                return -EINVAL;
                } else if (starts_with(&s, "<![CDATA[")) {
                        if (depth == 0 || !skip_past(&s, "]]>"))
                                return -EINVAL;
                } else if (starts_with(&s, "<!")) {
                        return -EINVAL; /* DOCTYPE: refused before we get here */
                } else if (starts_with(&s, "</")) {
                        if (depth == 0 || !skip_past(&s, ">"))
                                return -EINVAL;
                        depth--;
                        if (depth == 1) {
                                cur.end = s.pos;
                                g_array_append_val(spans, cur);
                        } else if (depth == 0) {
                                root_done = true;
                        }
                } else {
                        size_t start = s.pos;
                        unsigned line = s.line;
                        bool self_closing = false;

                        if (root_done || !skip_start_tag(&s, &self_closing))
                                return -EINVAL;
                        if (depth == 0) {
                                root_seen = true;
                                layout.root_start = start;
                                layout.root_tag_end = s.pos;
                                layout.root_self_closing = self_closing;
                                if (self_closing)
                                        root_done = true;
                        } else if (depth == 1) {
                                size_t ws = start;

                                while (ws > 0 && is_xml_space(data[ws - 1]))
                                        ws--;
                                cur = (DirectSpan){.ws_start = ws, .start = start, .line = line};
                                if (self_closing) {
                                        cur.end = s.pos;
                                        g_array_append_val(spans, cur);
                                }
                        }
                        if (!self_closing)
                                depth++;
                }
        }
        if (!root_seen || !root_done || depth != 0)
                return -EINVAL;
        layout.n_spans = spans->len;
        layout.spans = (DirectSpan *)(void *)g_array_free(g_steal_pointer(&spans), FALSE);
        *ret = layout;
        return 0;
}

void tpfw_direct_layout_clear(DirectLayout *layout)
{
        g_free(layout->spans);
        *layout = (DirectLayout){0};
}
