/* SPDX-License-Identifier: MIT */
/* direct.xml edit of the bytes: elements cut out, a block of new ones put in; the model follows. */
#include <string.h>

#include <tproxy-firewalld/args.h>

#include "direct-model.h"
#include "util.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TpfwDirect, tpfw_direct_free)

/* Where splice() put the block, when the root kept its shape: its offset in the old bytes. */
#define RESHAPED ((size_t)-1)

/*
 * The new bytes: d's with the removed elements (and the whitespace before each) cut and block
 * inserted where the owner's first element was, else after the last element. A self-closing root
 * is opened, the block's first element then right after its start tag: no other install writes
 * that, so taking the last element out again can close the root as it was, byte for byte. Sets
 * *ret_insert_at to where the block went in d's bytes, or RESHAPED for those two root edits.
 */
static GString *splice(const TpfwDirect *d, const bool *remove, size_t first_owner,
                       const GString *block, size_t *ret_insert_at)
{
        GString *out = g_string_sized_new(d->len + block->len + 64);
        const DirectReadLayout *l = &d->layout;
        size_t pos = 0, insert_at, kept = 0, removed_at_root = 0;
        bool inserted = false;

        *ret_insert_at = RESHAPED;
        if (l->root_self_closing) {
                /* the tag without its '/': "<direct />" opens as "<direct >" */
                g_string_append_len(out, d->data, (gssize)l->root_tag_end - 2);
                g_string_append_c(out, '>');
                g_string_append_len(out, block->str + 3, (gssize)block->len - 3); /* "\n  " */
                g_string_append(out, "\n</direct>");
                g_string_append_len(out, d->data + l->root_tag_end,
                                    (gssize)(d->len - l->root_tag_end));
                return out;
        }
        for (size_t k = 0; k < d->n_elements; k++) {
                if (!remove[k])
                        kept++;
                else if (d->elements[k].span.ws_start == l->root_tag_end &&
                         d->elements[k].span.start == l->root_tag_end)
                        removed_at_root++;
        }
        if (block->len == 0 && kept == 0 && removed_at_root > 0) {
                /* what the self-closing case above wrote: close the root again */
                size_t end = d->n_elements ? d->elements[d->n_elements - 1].span.end : 0;
                const char *close = strstr(d->data + end, "</direct>");

                if (close && strspn(d->data + end, " \t\r\n") == (size_t)(close - d->data - end)) {
                        g_string_append_len(out, d->data, (gssize)l->root_tag_end - 1);
                        g_string_append(out, "/>");
                        g_string_append(out, close + strlen("</direct>"));
                        return out;
                }
        }
        if (first_owner != (size_t)-1)
                insert_at = d->elements[first_owner].span.ws_start;
        else if (d->n_elements > 0)
                insert_at = d->elements[d->n_elements - 1].span.end;
        else
                insert_at = l->root_tag_end;
        for (size_t k = 0; k <= d->n_elements; k++) {
                const DirectSpan *s = k < d->n_elements ? &d->elements[k].span : NULL;
                size_t until = s ? s->ws_start : d->len;

                if (s && !remove[k])
                        continue;
                /* insert_at never lies inside a removed range */
                if (!inserted && insert_at <= until) {
                        g_string_append_len(out, d->data + pos, (gssize)(insert_at - pos));
                        g_string_append_len(out, block->str, (gssize)block->len);
                        pos = insert_at;
                        inserted = true;
                }
                g_string_append_len(out, d->data + pos, (gssize)(until - pos));
                if (s)
                        pos = s->end;
        }
        *ret_insert_at = insert_at;
        return out;
}

static size_t count_lf(const char *p, size_t n)
{
        size_t lines = 0;

        for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
                lines++;
        return lines;
}

/* The block read alone, as the children of a root of its own. */
#define BLOCK_ROOT "<direct>"

static int read_block(const TpfwDirect *d, const GString *block, TpfwDirect **ret, TpfwDiag *diag)
{
        g_autofree char *wrapped = g_strconcat(BLOCK_ROOT, block->str, "</direct>", NULL);

        return direct_parse(d->name, wrapped, strlen(wrapped), false, ret, diag);
}

/* Where the block goes in the model, and how far what follows it moves. */
typedef struct Gap {
        size_t elements, entries, refs; /* indices in the kept (compacted) arrays */
        size_t offset;                  /* the block's first byte in the new bytes */
        size_t line;                    /* the line of that byte */
} Gap;

/*
 * Drops the removed elements (and their entries, info and references) from d's arrays in place;
 * each kept one gets its final index fields and place in the new bytes, as though the block b were
 * already in. Returns where the block goes.
 */
static Gap compact(TpfwDirect *d, const bool *remove, size_t insert_at, const TpfwDirect *b,
                   size_t block_len, size_t block_lines)
{
        size_t n_el = 0, n_en = 0, n_refs = 0, cut = 0, cut_lines = 0;
        Gap gap = {0};
        bool placed = false;

        for (size_t k = 0; k <= d->n_elements; k++) {
                DirectElement el = k < d->n_elements ? d->elements[k] : (DirectElement){{0}, -1};
                bool after;

                if (!placed && (k == d->n_elements || insert_at <= el.span.ws_start)) {
                        gap = (Gap){n_el, n_en, n_refs, insert_at - cut,
                                    1 + count_lf(d->data, insert_at) - cut_lines};
                        placed = true;
                }
                if (k == d->n_elements)
                        break;
                if (remove[k]) {
                        cut += el.span.end - el.span.ws_start;
                        cut_lines += count_lf(d->data + el.span.ws_start,
                                              el.span.end - el.span.ws_start);
                        if (el.entry >= 0)
                                tpfw_strv_free(d->entries[el.entry].argv);
                        continue;
                }
                after = placed;
                if (el.entry >= 0) {
                        size_t i = (size_t)el.entry, refs = d->info[i].refs;
                        size_t n = direct_entry_n_refs(d, i);
                        DirectEntryInfo info = d->info[i];

                        if (n > 0)
                                memmove(d->refs + 2 * n_refs, d->refs + 2 * refs,
                                        2 * n * sizeof(char *));
                        d->entries[n_en] = d->entries[i];
                        d->entries[n_en].line = (unsigned)(d->entries[n_en].line - cut_lines +
                                                           (after ? block_lines : 0));
                        info.element = (uint32_t)(n_el + (after ? b->n_elements : 0));
                        info.refs = (uint32_t)(n_refs + (after ? b->n_refs : 0));
                        d->info[n_en] = info;
                        el.entry = (int32_t)(n_en + (after ? b->n_entries : 0));
                        n_en++;
                        n_refs += n;
                }
                el.span.ws_start = (uint32_t)(el.span.ws_start - cut + (after ? block_len : 0));
                el.span.start = (uint32_t)(el.span.start - cut + (after ? block_len : 0));
                el.span.end = (uint32_t)(el.span.end - cut + (after ? block_len : 0));
                d->elements[n_el++] = el;
        }
        d->n_elements = n_el;
        d->n_entries = n_en;
        d->n_refs = n_refs;
        return gap;
}

/* Opens a gap of n items at index at of an array of len items (which holds len + n). */
#define OPEN_GAP(array, len, at, n)                                                                \
        do {                                                                                       \
                if ((n) > 0)                                                                       \
                        memmove((array) + (at) + (n), (array) + (at),                              \
                                ((len) - (at)) * sizeof(*(array)));                                \
        } while (0)

/* Puts b's elements, entries and references into the gap, moved to their place in the new bytes
 * and their strings interned in d's chunk. */
static void fill_gap(TpfwDirect *d, const TpfwDirect *b, const Gap *gap)
{
        size_t shift = gap->offset - strlen(BLOCK_ROOT);

        d->elements = g_renew(DirectElement, d->elements, d->n_elements + b->n_elements);
        d->entries = g_renew(TpfwEntry, d->entries, d->n_entries + b->n_entries);
        d->info = g_renew(DirectEntryInfo, d->info, d->n_entries + b->n_entries);
        d->refs = g_renew(const char *, d->refs, 2 * (d->n_refs + b->n_refs));
        OPEN_GAP(d->elements, d->n_elements, gap->elements, b->n_elements);
        OPEN_GAP(d->entries, d->n_entries, gap->entries, b->n_entries);
        OPEN_GAP(d->info, d->n_entries, gap->entries, b->n_entries);
        OPEN_GAP(d->refs, 2 * d->n_refs, 2 * gap->refs, 2 * b->n_refs);
        for (size_t k = 0; k < b->n_elements; k++) {
                DirectElement el = b->elements[k];

                el.span.ws_start += (uint32_t)shift;
                el.span.start += (uint32_t)shift;
                el.span.end += (uint32_t)shift;
                if (el.entry >= 0)
                        el.entry += (int32_t)gap->entries;
                d->elements[gap->elements + k] = el;
        }
        for (size_t i = 0; i < b->n_entries; i++) {
                TpfwEntry e = b->entries[i]; /* argv: NULL, read from the bytes when asked */
                DirectEntryInfo info = b->info[i];

                e.ipv = (char *)g_string_chunk_insert_const(d->strings, e.ipv);
                e.table = e.table ? (char *)g_string_chunk_insert_const(d->strings, e.table) : NULL;
                e.chain = e.chain ? (char *)g_string_chunk_insert_const(d->strings, e.chain) : NULL;
                e.line += (unsigned)gap->line - 1;
                if (info.tag)
                        info.tag = g_string_chunk_insert_const(d->strings, info.tag);
                info.element += (uint32_t)gap->elements;
                info.refs += (uint32_t)gap->refs;
                d->entries[gap->entries + i] = e;
                d->info[gap->entries + i] = info;
        }
        for (size_t k = 0; k < 2 * b->n_refs; k++)
                d->refs[2 * gap->refs + k] = g_string_chunk_insert_const(d->strings, b->refs[k]);
        d->n_elements += b->n_elements;
        d->n_entries += b->n_entries;
        d->n_refs += b->n_refs;
}

/*
 * Whether the model can follow the edit rather than read the new bytes whole: the kept elements
 * only move, and the block is read alone. Not for files with CR line ends, whose lines libxml2
 * counts its own way. (The block alone has no encoding declaration; the merge has refused text
 * beyond ASCII for a file whose declaration allows ASCII only.)
 */
static bool can_follow(const TpfwDirect *d, const GString *block)
{
        return d->layout.editable && !d->layout.root_self_closing &&
               !memchr(d->data, '\r', d->len) && !memchr(block->str, '\r', block->len);
}

int direct_splice(TpfwDirect *d, const bool *remove, size_t first_owner, const GString *block,
                  TpfwDiag *diag)
{
        g_autoptr(TpfwDirect) read = NULL;
        const TpfwDirect none = {0}, *b = &none;
        GString *out;
        size_t insert_at, len;
        bool follow = can_follow(d, block);
        Gap gap;
        int r;

        if (follow && block->len > 0) {
                r = read_block(d, block, &read, diag);
                if (r < 0)
                        return r;
                b = read;
        }
        if (!follow)
                /* the old and the new document are never in memory whole at the same time */
                direct_clear_entries(d);
        out = splice(d, remove, first_owner, block, &insert_at);
        len = out->len;
        if (!follow || insert_at == RESHAPED)
                return direct_replace_data(d, g_string_free(out, FALSE), len, diag);
        gap = compact(d, remove, insert_at, b, block->len, count_lf(block->str, block->len));
        fill_gap(d, b, &gap);
        direct_take_data(d, g_string_free(out, FALSE), len);
        return 0;
}
