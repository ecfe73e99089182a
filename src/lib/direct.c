/* SPDX-License-Identifier: MIT */
/* direct.xml model: entries as firewalld 1.3.3 reads them, what the merge needs, accessors. */
#include <string.h>

#include <tproxy-firewalld/args.h>

#include "args-private.h"
#include "direct-model.h"
#include "hash.h"
#include "ruleset-private.h"
#include "util.h"

/* ---- values ---- */

static bool str_in(const char *s, const char *const *list)
{
        for (size_t i = 0; s && list[i]; i++)
                if (strcmp(s, list[i]) == 0)
                        return true;
        return false;
}

bool direct_table_valid(const char *ipv, const char *table)
{
        static const char *const ip_tables[] = {"filter", "nat", "mangle", "raw", "security", NULL};
        static const char *const eb_tables[] = {"filter", "nat", "broute", NULL};

        return ipv && str_in(table, strcmp(ipv, "eb") == 0 ? eb_tables : ip_tables);
}

bool direct_ipv_valid(const char *ipv)
{
        return ipv &&
               (strcmp(ipv, "ipv4") == 0 || strcmp(ipv, "ipv6") == 0 || strcmp(ipv, "eb") == 0);
}

/* Python's str.isspace() for the characters int() strips. */
static bool py_isspace(gunichar c)
{
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
               c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
               c == 0x202F || c == 0x205F || c == 0x3000;
}

/* A decimal digit for Python 3.11, whose Unicode is 14.0: GLib's newer tables also know the
 * digits Unicode 15 added (Kawi, Nag Mundari), which Python 3.11's int() refuses. */
static int py_digit_value(gunichar c)
{
        if ((c >= 0x11F50 && c <= 0x11F59) || (c >= 0x1E4F0 && c <= 0x1E4F9))
                return -1;
        return g_unichar_digit_value(c);
}

/* Python 3.11 refuses to convert strings of more digits than this (sys.int_info). */
#define PY_INT_MAX_STR_DIGITS 4300

int direct_parse_priority(const char *text, int *ret)
{
        const char *p = text, *end;
        gint64 value = 0;
        bool negative = false, overflow = false, need_digit = true;
        size_t digits = 0;

        if (!text || !g_utf8_validate(text, -1, NULL))
                return -EINVAL;
        end = text + strlen(text);
        while (p < end && py_isspace(g_utf8_get_char(p)))
                p = g_utf8_next_char(p);
        while (end > p) {
                const char *prev = g_utf8_find_prev_char(p, end);
                if (!prev || !py_isspace(g_utf8_get_char(prev)))
                        break;
                end = prev;
        }
        if (p < end && (*p == '+' || *p == '-')) {
                negative = *p == '-';
                p++;
        }
        if (p >= end)
                return -EINVAL;
        while (p < end) {
                gunichar c = g_utf8_get_char(p);
                int digit = py_digit_value(c);

                if (c == '_') {
                        /* single underscores between digits only */
                        if (need_digit)
                                return -EINVAL;
                        need_digit = true;
                } else if (digit >= 0) {
                        need_digit = false;
                        digits++;
                        if (!overflow) {
                                value = value * 10 + digit;
                                if (value > (gint64)G_MAXINT32 + 1)
                                        overflow = true;
                        }
                } else {
                        return -EINVAL;
                }
                p = g_utf8_next_char(p);
        }
        if (need_digit || digits > PY_INT_MAX_STR_DIGITS)
                return -EINVAL;
        if (negative)
                value = -value;
        if (overflow || value > G_MAXINT32 || value < G_MININT32)
                return -ERANGE;
        *ret = (int)value;
        return 0;
}

/* ---- what an argv says ---- */

bool direct_is_target_option(const char *a)
{
        if (a[0] != '-')
                return false; /* most arguments: values, not options */
        if (a[1] != '-')
                return (a[1] == 'j' || a[1] == 'g') && a[2] == '\0';
        return (a[2] == 'j' && strcmp(a + 2, "jump") == 0) ||
               (a[2] == 'g' && strcmp(a + 2, "goto") == 0);
}

static bool is_chain_command(const char *a)
{
        static const char *const cmds[] = {"append",  "insert",       "delete",
                                           "replace", "new-chain",    "delete-chain",
                                           "flush",   "rename-chain", NULL};

        if (a[0] != '-')
                return false;
        if (a[1] != '-')
                return a[1] != '\0' && strchr("AIDRNXFE", a[1]) && a[2] == '\0';
        return str_in(a + 2, cmds);
}

void direct_argv_refs(TpfwEntryKind kind, const char *table, const char *chain, char *const *argv,
                      DirectRefFn fn, void *userdata)
{
        if (kind == TPFW_ENTRY_CHAIN || kind == TPFW_ENTRY_RULE)
                fn(table, chain, userdata);
        if (kind == TPFW_ENTRY_CHAIN)
                return;
        if (kind == TPFW_ENTRY_PASSTHROUGH) {
                table = "filter";
                for (size_t i = 0; argv && argv[i]; i++)
                        if ((strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--table") == 0) &&
                            argv[i + 1])
                                table = argv[i + 1];
        }
        for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++)
                if (direct_is_target_option(argv[i]) ||
                    (kind == TPFW_ENTRY_PASSTHROUGH && is_chain_command(argv[i])))
                        fn(table, argv[i + 1], userdata);
}

/* argv holds an iptables comment match that tpfw_argv_strip_comment() would take out */
static bool has_comment_match(const char *const *argv)
{
        for (size_t i = 0; argv && argv[i]; i++)
                if (strcmp(argv[i], "comment") == 0)
                        return true;
        return false;
}

uint64_t direct_stripped_key_hash(const char *ipv, const char *table, const char *chain,
                                  const char *const *argv)
{
        g_autofree const char **stripped =
                has_comment_match(argv) ? tpfw_argv_strip_comment_view(argv) : NULL;
        const char *const *a = stripped ? stripped : argv;
        uint64_t h = TPFW_HASH_SEED;

        h = tpfw_hash_str(h, ipv);
        h = tpfw_hash_str(h, table);
        h = tpfw_hash_str(h, chain);
        for (size_t i = 0; a && a[i]; i++)
                h = tpfw_hash_str(h, a[i]);
        return h;
}

bool direct_stripped_argv_equal(const char *const *a, const char *const *b)
{
        g_autofree const char **sa = tpfw_argv_strip_comment_view(a);
        g_autofree const char **sb = tpfw_argv_strip_comment_view(b);

        return tpfw_strv_equal(sa, sb) != 0;
}

static const char *first_comment(const char *const *argv)
{
        for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++)
                if (strcmp(argv[i], "--comment") == 0)
                        return argv[i + 1];
        return NULL;
}

bool direct_argv_is_kuma_legacy(const char *chain, const char *const *argv)
{
        const char *comment = first_comment(argv);

        if (g_str_has_prefix(chain, KUMA_CHAIN_PREFIX))
                return true;
        for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++)
                if (direct_is_target_option(argv[i]) &&
                    g_str_has_prefix(argv[i + 1], KUMA_CHAIN_PREFIX))
                        return true;
        return comment && g_str_has_prefix(comment, KUMA_COMMENT_PREFIX);
}

/* ---- building the model while reading ---- */

typedef struct Builder {
        TpfwDirect *d;
        GArray *entries;       /* TpfwEntry */
        GArray *info;          /* DirectEntryInfo */
        GArray *elements;      /* DirectElement */
        GArray *refs;          /* const char * pairs */
        TpfwArgsScratch split; /* an editable document's argv while its entry is noted */
        const char *table;     /* the entry being noted: its own table */
        bool skip_first;       /* a rule's own chain comes first; it is implied by the entry */
} Builder;

static const char *intern(TpfwDirect *d, const char *s)
{
        return s ? g_string_chunk_insert_const(d->strings, s) : NULL;
}

static void note_ref(const char *table, const char *chain, void *userdata)
{
        Builder *b = userdata;
        const char *pair[2];

        if (b->skip_first) {
                b->skip_first = false;
                return;
        }
        pair[0] = intern(b->d, table);
        pair[1] = intern(b->d, chain);
        g_array_append_vals(b->refs, pair, 2);
}

/* Only a rule with a --comment whose value starts like a tag can carry an owner tag. */
static bool has_tag_comment(char *const *argv)
{
        static const char prefix[] = TPFW_OWNER_TAG_PREFIX;

        for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++)
                if (strcmp(argv[i], "--comment") == 0 &&
                    strncmp(argv[i + 1], prefix, sizeof(prefix) - 1) == 0)
                        return true;
        return false;
}

static void note_entry(Builder *b, const TpfwEntry *e, DirectEntryInfo *info)
{
        const char *const *argv = (const char *const *)e->argv;

        info->refs = (uint32_t)(b->refs->len / 2);
        if (e->kind == TPFW_ENTRY_CHAIN)
                return;
        if (e->kind == TPFW_ENTRY_RULE) {
                if (has_tag_comment(e->argv)) {
                        g_autofree char *tag = tpfw_argv_owner(argv);
                        info->tag = intern(b->d, tag);
                }
                info->key_hash = direct_stripped_key_hash(e->ipv, e->table, e->chain, argv);
                info->kuma_legacy = !info->tag && direct_argv_is_kuma_legacy(e->chain, argv);
        }
        b->skip_first = e->kind == TPFW_ENTRY_RULE;
        direct_argv_refs(e->kind, e->table, e->chain, e->argv, note_ref, b);
}

/* Splits text into *ret: a copy the entry owns, or argv in scratch (valid until the next split). */
static int split_text(const TpfwDirect *d, const char *text, unsigned line,
                      TpfwArgsScratch *scratch, char ***ret, TpfwDiag *diag)
{
        TpfwDiag sd = TPFW_DIAG_INIT;
        int r = scratch ? tpfw_args_split_into(text, scratch, &sd)
                        : tpfw_args_split(text, ret, &sd);

        if (r >= 0 && scratch)
                *ret = (char **)scratch->argv->pdata;

        if (r < 0) {
                r = tpfw_diag_set(diag, r == -ENOMEM ? ENOMEM : EINVAL, d->name, line, "%s",
                                  sd.message ? sd.message : "cannot split arguments");
                tpfw_diag_clear(&sd);
        }
        return r;
}

/* An attribute value for a one-line message: control characters escaped. */
static char *shown(const char *s)
{
        GString *out = g_string_new(NULL);

        for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
                if (*p < 0x20 || *p == 0x7F)
                        g_string_append_printf(out, "\\x%02x", *p);
                else
                        g_string_append_c(out, (char)*p);
        return g_string_free(out, FALSE);
}

/* An invalid attribute's message: "invalid NAME 'VALUE'" (+ " for IPV"), one line. */
static int invalid_attribute(const TpfwDirect *d, const DirectReadElement *el, const char *name,
                             const char *value, const char *ipv, TpfwDiag *diag)
{
        g_autofree char *v = shown(value), *i = ipv ? shown(ipv) : NULL;

        return tpfw_diag_set(diag, EINVAL, d->name, el->line, "invalid %s '%s'%s%s", name, v,
                             i ? " for " : "", i ? i : "");
}

/*
 * firewalld's checks of one element, in its order (direct_ContentHandler): a rule's ipv at its
 * start tag, its priority and text at its end; a passthrough's ipv only when it has text.
 * Returns 1 with e filled when firewalld keeps an entry, 0 when it ignores the element.
 */
static int check_element(const TpfwDirect *d, const DirectReadElement *el, TpfwEntry *e,
                         TpfwArgsScratch *scratch, TpfwDiag *diag)
{
        unsigned line = el->line;
        int r, pr;

        *e = (TpfwEntry){.kind = el->kind, .line = line};
        if (!direct_ipv_valid(el->ipv) && (el->kind != TPFW_ENTRY_PASSTHROUGH || el->text_len > 0))
                return invalid_attribute(d, el, "ipv", el->ipv, NULL, diag);
        if (el->kind == TPFW_ENTRY_CHAIN) {
                if (!direct_table_valid(el->ipv, el->table))
                        return invalid_attribute(d, el, "table", el->table, el->ipv, diag);
                return 1;
        }
        if (el->text_len == 0)
                return 0; /* firewalld ignores an entry without text, priority and table unchecked
                           */
        if (el->kind == TPFW_ENTRY_RULE) {
                pr = direct_parse_priority(el->priority, &e->priority);
                if (pr == -ERANGE) {
                        g_autofree char *priority = shown(el->priority);

                        return tpfw_diag_set(diag, EINVAL, d->name, line,
                                             "priority '%s' is outside the 32-bit range "
                                             "firewalld's D-Bus interface carries (not supported)",
                                             priority);
                }
                if (pr < 0)
                        return invalid_attribute(d, el, "priority", el->priority, NULL, diag);
        }
        r = split_text(d, el->text, line, scratch, &e->argv, diag);
        if (r < 0)
                return r;
        if (el->kind == TPFW_ENTRY_RULE && !direct_table_valid(el->ipv, el->table)) {
                if (!scratch)
                        tpfw_strv_free(e->argv);
                e->argv = NULL;
                return invalid_attribute(d, el, "table", el->table, el->ipv, diag);
        }
        return 1;
}

static int on_element(const DirectReadElement *el, void *userdata, TpfwDiag *diag)
{
        Builder *b = userdata;
        TpfwDirect *d = b->d;
        DirectElement element = {.entry = -1};
        DirectEntryInfo info = {.element = b->elements->len};
        TpfwEntry e;
        int r;

        element.span = (DirectSpan){el->ws_start, el->start, el->end};
        /* an editable document reads argv again from its bytes when asked: keep none now */
        r = check_element(d, el, &e, d->layout.editable ? &b->split : NULL, diag);
        if (r < 0)
                return r;
        if (r > 0) {
                e.ipv = (char *)intern(d, el->ipv);
                e.table = (char *)intern(d, el->table);
                e.chain = (char *)intern(d, el->chain);
                note_entry(b, &e, &info);
                if (d->layout.editable)
                        e.argv = NULL; /* b->split's */
                element.entry = (int32_t)b->entries->len;
                g_array_append_val(b->entries, e);
                g_array_append_val(b->info, info);
        }
        g_array_append_val(b->elements, element);
        return 0;
}

void direct_clear_entries(TpfwDirect *d)
{
        for (size_t i = 0; i < d->n_entries; i++)
                tpfw_strv_free(d->entries[i].argv); /* ipv, table and chain live in strings */
        g_clear_pointer(&d->entries, g_free);
        g_clear_pointer(&d->info, g_free);
        g_clear_pointer(&d->refs, g_free);
        d->n_entries = d->n_refs = 0;
        if (d->strings)
                g_string_chunk_free(d->strings);
        d->strings = NULL;
        for (size_t k = 0; k < d->n_elements; k++)
                d->elements[k].entry = -1;
}

static void direct_clear_model(TpfwDirect *d)
{
        direct_clear_entries(d);
        g_clear_pointer(&d->elements, g_free);
        d->n_elements = 0;
        direct_read_layout_clear(&d->layout);
}

static void builder_clear(Builder *b)
{
        for (guint i = 0; b->entries && i < b->entries->len; i++)
                tpfw_strv_free(g_array_index(b->entries, TpfwEntry, i).argv);
        if (b->entries)
                g_array_free(b->entries, TRUE);
        if (b->info)
                g_array_free(b->info, TRUE);
        if (b->elements)
                g_array_free(b->elements, TRUE);
        if (b->refs)
                g_array_free(b->refs, TRUE);
        tpfw_args_scratch_clear(&b->split);
}

/* An upper bound of the elements in data: each starts with a '<'. */
static guint max_elements(const char *data, size_t len)
{
        size_t n = 1;

        for (const char *p = data, *end = data + len; (p = memchr(p, '<', (size_t)(end - p))); p++)
                n++;
        return (guint)n;
}

/* Reads d->data into d's model (which must be empty). */
static int direct_load(TpfwDirect *d, TpfwDiag *diag)
{
        Builder b = {.d = d};
        guint n;
        int r;

        d->strings = g_string_chunk_new(4096);
        /* Sized once for the most elements the file can hold (one '<' each), so that they never
         * grow by copying; not cleared, so that the pages they reserve but never fill are never
         * touched and cost no memory. */
        n = max_elements(d->data, d->len);
        b.entries = g_array_sized_new(FALSE, FALSE, sizeof(TpfwEntry), n);
        b.info = g_array_sized_new(FALSE, FALSE, sizeof(DirectEntryInfo), n);
        b.elements = g_array_sized_new(FALSE, FALSE, sizeof(DirectElement), n);
        b.refs = g_array_sized_new(FALSE, FALSE, sizeof(const char *), 4 * n);
        tpfw_args_scratch_init(&b.split);
        /* the layout is known before the first element: the reader decides it at the start */
        r = direct_read(d->name, d->data, d->len, on_element, &b, &d->layout, diag);
        if (r < 0) {
                builder_clear(&b);
                direct_clear_model(d);
                return r;
        }
        if (!d->layout.editable)
                for (guint i = 0; i < b.elements->len; i++)
                        g_array_index(b.elements, DirectElement, i).span = (DirectSpan){0};
        d->n_entries = b.entries->len;
        d->entries = (TpfwEntry *)(void *)g_array_free(b.entries, FALSE);
        d->info = (DirectEntryInfo *)(void *)g_array_free(b.info, FALSE);
        d->n_elements = b.elements->len;
        d->elements = (DirectElement *)(void *)g_array_free(b.elements, FALSE);
        d->n_refs = b.refs->len / 2;
        d->refs = (const char **)(void *)g_array_free(b.refs, FALSE);
        tpfw_args_scratch_clear(&b.split);
        return 0;
}

/* ---- argv of an entry ---- */

static char **read_argv(const TpfwDirect *d, size_t i)
{
        const DirectSpan *s = &d->elements[d->info[i].element].span;
        g_autoptr(GString) text = g_string_new(NULL);
        char **argv = NULL;

        /* these bytes were read once already: they parse and split */
        if (direct_read_element_text(d->data + s->start, s->end - s->start, text) < 0 ||
            tpfw_args_split(text->str, &argv, NULL) < 0)
                return g_new0(char *, 1);
        return argv;
}

char **direct_entry_argv_dup(const TpfwDirect *d, size_t i)
{
        const TpfwEntry *e = &d->entries[i];

        if (e->argv || e->kind == TPFW_ENTRY_CHAIN)
                return tpfw_strv_copy((const char *const *)e->argv);
        return read_argv(d, i);
}

char *const *direct_entry_argv(const TpfwDirect *d, size_t i)
{
        TpfwEntry *e = &((TpfwDirect *)d)->entries[i];

        if (!e->argv && e->kind != TPFW_ENTRY_CHAIN)
                e->argv = read_argv(d, i);
        return e->argv;
}

/* ---- document ---- */

TpfwDirect *tpfw_direct_free(TpfwDirect *d)
{
        if (d) {
                direct_clear_model(d);
                g_free(d->name);
                if (!d->data_borrowed)
                        g_free(d->data);
                g_free(d);
        }
        return NULL;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)

/* What firewalld says of a file before reading it: too large, or empty. */
static int check_size(const char *name, const char *data, size_t len, TpfwDiag *diag)
{
        if (len > TPFW_DIRECT_MAX_SIZE)
                return tpfw_diag_set(diag, EFBIG, name, 0,
                                     "file is too large (%zu bytes, the limit is %u bytes)", len,
                                     TPFW_DIRECT_MAX_SIZE);
        if (len == 0 || !data)
                return tpfw_diag_set(diag, EINVAL, name, 1, "Not a valid file: no element found");
        return 0;
}

int direct_parse(const char *name, const char *data, size_t len, bool borrow, TpfwDirect **ret,
                 TpfwDiag *diag)
{
        g_autoptr(TpfwDirect) d = NULL;
        int r;

        if (!name)
                name = "direct.xml";
        r = check_size(name, data, len, diag);
        if (r < 0)
                return r;

        d = g_new0(TpfwDirect, 1);
        d->name = g_strdup(name);
        if (borrow) {
                d->data = (char *)data;
                d->data_borrowed = true;
        } else {
                d->data = g_malloc(len + 1);
                memcpy(d->data, data, len);
                d->data[len] = '\0';
        }
        d->len = len;
        r = direct_load(d, diag);
        if (r < 0)
                return r;
        *ret = g_steal_pointer(&d);
        return 0;
}

void direct_take_data(TpfwDirect *d, char *data, size_t len)
{
        if (!d->data_borrowed)
                g_free(d->data);
        d->data = data;
        d->len = len;
        d->data_borrowed = false;
}

int direct_replace_data(TpfwDirect *d, char *data, size_t len, TpfwDiag *diag)
{
        direct_clear_model(d);
        direct_take_data(d, data, len);
        return direct_load(d, diag);
}

int tpfw_direct_parse(const char *name, const char *data, size_t len, TpfwDirect **ret,
                      TpfwDiag *diag)
{
        return direct_parse(name, data, len, false, ret, diag);
}

int tpfw_direct_parse_borrowed(const char *name, const char *data, size_t len, TpfwDirect **ret,
                               TpfwDiag *diag)
{
        return direct_parse(name, data, len, true, ret, diag);
}

/* tpfw_direct_check()'s reader: the checks of on_element(), a count and nothing kept. */
typedef struct Counter {
        const TpfwDirect *d; /* the name, for messages */
        TpfwArgsScratch split;
        size_t n_entries;
} Counter;

static int count_element(const DirectReadElement *el, void *userdata, TpfwDiag *diag)
{
        Counter *c = userdata;
        TpfwEntry e;
        int r = check_element(c->d, el, &e, &c->split, diag);

        if (r > 0)
                c->n_entries++;
        return r < 0 ? r : 0;
}

int tpfw_direct_check(const char *name, const char *data, size_t len, size_t *ret_n_entries,
                      char **ret_not_editable, TpfwDiag *diag)
{
        TpfwDirect d = {.name = (char *)(name ? name : "direct.xml")};
        Counter c = {.d = &d};
        int r = check_size(d.name, data, len, diag);

        if (r < 0)
                return r;
        tpfw_args_scratch_init(&c.split);
        r = direct_read(d.name, data, len, count_element, &c, &d.layout, diag);
        tpfw_args_scratch_clear(&c.split);
        if (r < 0)
                return r;
        *ret_n_entries = c.n_entries;
        *ret_not_editable = NULL;
        {
                TpfwDiag why = TPFW_DIAG_INIT;

                if (!tpfw_direct_is_editable(&d, &why))
                        *ret_not_editable = tpfw_diag_format(&why);
                tpfw_diag_clear(&why);
        }
        direct_read_layout_clear(&d.layout);
        return 0;
}

TpfwDirect *tpfw_direct_new_empty(const char *name)
{
        static const char empty[] =
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<direct>\n</direct>\n";
        TpfwDirect *d = NULL;

        if (direct_parse(name, empty, sizeof(empty) - 1, true, &d, NULL) < 0)
                return NULL;
        return d;
}

size_t tpfw_direct_n_entries(const TpfwDirect *d)
{
        return d ? d->n_entries : 0;
}

const TpfwEntry *tpfw_direct_entry(const TpfwDirect *d, size_t i)
{
        if (!d || i >= d->n_entries)
                return NULL;
        direct_entry_argv(d, i);
        return &d->entries[i];
}

bool tpfw_direct_is_editable(const TpfwDirect *d, TpfwDiag *diag)
{
        if (d->layout.editable)
                return true;
        tpfw_diag_set(diag, EOPNOTSUPP, d->name, 0,
                      "cannot edit this file in place because %s; the tool only edits UTF-8 "
                      "files (convert it to UTF-8, or let firewalld rewrite it)",
                      d->layout.not_editable_reason ? d->layout.not_editable_reason
                                                    : "of its encoding");
        return false;
}

const char *tpfw_direct_data(const TpfwDirect *d, size_t *ret_len)
{
        if (ret_len)
                *ret_len = d->len;
        return d->data;
}
