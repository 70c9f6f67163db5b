/* keys.c - a hash index of merge keys (see keys.h). */
#include <stdlib.h>
#include <string.h>

#include "pp_mem.h"

#include "keys.h"

/* FNV-1a over k1, a separator that cannot occur inside a cell (NUL), and
 * k2; the separator keeps ("ab", "c") and ("a", "bc") apart. */
static uint64_t key_hash(int pair, const char *k1, const char *k2)
{
    uint64_t h = 1469598103934665603ULL;

    for (const unsigned char *p = (const unsigned char *)k1; *p; ++p)
        h = (h ^ *p) * 1099511628211ULL;
    if (pair) {
        h = (h ^ 0xffu) * 1099511628211ULL;
        for (const unsigned char *p = (const unsigned char *)k2; *p; ++p)
            h = (h ^ *p) * 1099511628211ULL;
    }
    return h;
}

static int key_equal(const merge_keys *k, const merge_key_entry *e,
                     const char *k1, const char *k2)
{
    const char *s = k->arena + e->off;

    if (strcmp(s, k1) != 0)
        return 0;
    return !k->pair || strcmp(s + strlen(s) + 1, k2) == 0;
}

/* The slot holding key (k1, k2), or the empty slot where it would go. */
static size_t find_slot(const merge_keys *k, uint64_t h, const char *k1,
                        const char *k2)
{
    size_t mask = k->cap - 1, i = (size_t)h & mask;

    while (k->slot[i] >= 0) {
        const merge_key_entry *e = &k->entry[k->slot[i]];
        if (e->hash == h && key_equal(k, e, k1, k2))
            break;
        i = (i + 1) & mask;
    }
    return i;
}

/* Double the slot table (load factor <= 1/2) and re-insert. */
static void grow_slots(merge_keys *k)
{
    size_t cap = k->cap ? 2 * k->cap : 64;

    free(k->slot);
    k->slot = pp_xmalloc(cap * sizeof *k->slot);
    memset(k->slot, 0xff, cap * sizeof *k->slot);   /* all -1 */
    k->cap = cap;
    /* At most cap / 2 entries fit before the next growth. */
    k->entry = pp_xrealloc(k->entry, cap / 2 * sizeof *k->entry);
    for (long n = 0; n < k->n; ++n) {
        size_t i = (size_t)k->entry[n].hash & (cap - 1);
        while (k->slot[i] >= 0)
            i = (i + 1) & (cap - 1);
        k->slot[i] = n;
    }
}

static size_t arena_add(merge_keys *k, const char *s)
{
    size_t len = strlen(s) + 1, off = k->arena_len;

    if (k->arena_len + len > k->arena_cap) {
        size_t cap = k->arena_cap ? 2 * k->arena_cap : 4096;
        while (cap < k->arena_len + len)
            cap *= 2;
        k->arena = pp_xrealloc(k->arena, cap);
        k->arena_cap = cap;
    }
    memcpy(k->arena + off, s, len);
    k->arena_len += len;
    return off;
}

void merge_keys_init(merge_keys *k, int pair)
{
    merge_keys empty = MERGE_KEYS_INIT;

    *k = empty;
    k->pair = pair ? 1 : 0;
}

int merge_keys_put(merge_keys *k, const char *k1, const char *k2,
                   long value, long *existing)
{
    uint64_t h = key_hash(k->pair, k1, k2);
    size_t i;

    if ((size_t)(k->n + 1) * 2 > k->cap)
        grow_slots(k);
    i = find_slot(k, h, k1, k2);
    if (k->slot[i] >= 0) {
        if (existing)
            *existing = k->entry[k->slot[i]].value;
        return 0;
    }
    k->entry[k->n].off = arena_add(k, k1);
    if (k->pair)
        arena_add(k, k2);
    k->entry[k->n].hash = h;
    k->entry[k->n].value = value;
    k->slot[i] = k->n++;
    return 1;
}

long merge_keys_get(const merge_keys *k, const char *k1, const char *k2)
{
    size_t i;

    if (k->cap == 0)
        return -1;
    i = find_slot(k, key_hash(k->pair, k1, k2), k1, k2);
    return k->slot[i] >= 0 ? k->entry[k->slot[i]].value : -1;
}

void merge_keys_release(merge_keys *k)
{
    free(k->entry);
    free(k->slot);
    free(k->arena);
    merge_keys_init(k, 0);
}
