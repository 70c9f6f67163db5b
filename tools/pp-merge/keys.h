/* keys.h - a hash index of merge keys (SPEC §3.3, §11 steps 3-4).
 *
 * A merge key is one text (the ID cell) or an exact pair of texts (the RA
 * and DEC cells when there is no ID column).  Keys are compared byte for
 * byte: "00019" and "19" differ, as do "150.0" and "150.00".  The index
 * maps each key to one long value (a catalogue row), so a left join of n
 * fit rows onto m base rows costs O(n + m).
 *
 * Ownership: the index copies the key bytes into its own arena, so the
 * tables they came from may be released.  Start from MERGE_KEYS_INIT (or
 * merge_keys_init()), end with merge_keys_release().  Growth uses
 * pp_xrealloc (log and exit 1 when memory runs out): an index of 100 000
 * keys is a few MB.
 */
#ifndef MERGE_KEYS_H
#define MERGE_KEYS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t off;             /* key bytes in arena: k1 NUL [k2 NUL] */
    uint64_t hash;
    long value;
} merge_key_entry;

typedef struct {
    int pair;               /* 1: keys are (k1, k2); 0: k1 alone */
    long n;                 /* entries */
    merge_key_entry *entry; /* n entries, insertion order */
    long *slot;             /* cap slots: entry index or -1 */
    size_t cap;             /* power of two, > 2 n, or 0 */
    char *arena;
    size_t arena_len, arena_cap;
} merge_keys;

#define MERGE_KEYS_INIT { 0, 0, NULL, NULL, 0, NULL, 0, 0 }

/* An empty index of single keys (pair 0) or of pairs (pair 1). */
void merge_keys_init(merge_keys *k, int pair);

/* Add key (k1, k2) with value.  k2 is ignored for single keys.  Returns
 * 1 when added; 0 when the key was already there, leaving the index as
 * it was and putting the value it holds in *existing (may be NULL). */
int merge_keys_put(merge_keys *k, const char *k1, const char *k2,
                   long value, long *existing);

/* The value of key (k1, k2), or -1 when absent. */
long merge_keys_get(const merge_keys *k, const char *k1, const char *k2);

/* Free everything k holds; it is then MERGE_KEYS_INIT. */
void merge_keys_release(merge_keys *k);

#endif /* MERGE_KEYS_H */
