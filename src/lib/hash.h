/* SPDX-License-Identifier: MIT */
/*
 * The library's one string hash, for its in-memory key sets (ruleset.c; not for anything stored:
 * the value depends on the byte order). A hash only picks a bucket: every user compares the full
 * key on a hash match and never decides equality by the hash alone (tests/unit/
 * test_hash_collisions.c builds ruleset.c with every hash colliding to prove it).
 * Use: h = tpfw_hash_mix(TPFW_HASH_SEED, small integer fields); h = tpfw_hash_str(h, each
 * string); index with tpfw_hash_fold(h).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TPFW_HASH_SEED 0x243F6A8885A308D3ull
#define TPFW_HASH_MUL 0x9E3779B97F4A7C15ull

static inline uint64_t tpfw_hash_mix(uint64_t h, uint64_t w)
{
        return (((h << 5) | (h >> 59)) ^ w) * TPFW_HASH_MUL;
}

static inline uint64_t tpfw_hash_load64(const char *p)
{
        uint64_t w;

        memcpy(&w, p, sizeof(w));
        return w;
}

static inline uint64_t tpfw_hash_load32(const char *p)
{
        uint32_t w;

        memcpy(&w, p, sizeof(w));
        return w;
}

/*
 * Mixes the n bytes at s into h. Eight bytes per step, the last (partial) word read overlapping
 * the one before it, so nothing outside s[0..n) is read. g_str_hash() goes a byte at a time, and
 * the keys here (a rule's arguments) are a few hundred bytes.
 */
static inline uint64_t tpfw_hash_bytes(uint64_t h, const char *s, size_t n)
{
        h = tpfw_hash_mix(h, n);
        if (n > 8) {
                const char *last = s + n - 8;

                for (; s < last; s += 8)
                        h = tpfw_hash_mix(h, tpfw_hash_load64(s));
                return tpfw_hash_mix(h, tpfw_hash_load64(last));
        }
        if (n >= 4)
                return tpfw_hash_mix(h, tpfw_hash_load32(s) | tpfw_hash_load32(s + n - 4) << 32);
        if (n > 0)
                return tpfw_hash_mix(h, (uint64_t)(unsigned char)s[0] << 16 |
                                                (uint64_t)(unsigned char)s[n / 2] << 8 |
                                                (unsigned char)s[n - 1]);
        return h;
}

static inline uint64_t tpfw_hash_str(uint64_t h, const char *s)
{
        return tpfw_hash_bytes(h, s, strlen(s));
}

/* The 32 bits to index a table with: the multiply leaves its best-mixed bits at the top. */
static inline uint32_t tpfw_hash_fold(uint64_t h)
{
        return (uint32_t)(h >> 32);
}
