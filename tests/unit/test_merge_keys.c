/* test_merge_keys.c - pp-merge's key index (SPEC §3.3: keys are exact
 * text; §11 steps 3-4: one fit row per key). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "tap.h"

static void test_single(void)
{
    merge_keys k;
    long old = -7;

    merge_keys_init(&k, 0);
    check_int(merge_keys_get(&k, "00019", NULL), ==, -1,
              "an empty index finds nothing");
    check_int(merge_keys_put(&k, "00019", NULL, 4, NULL), ==, 1,
              "a new key is added");
    check_int(merge_keys_put(&k, "a,b", NULL, 5, NULL), ==, 1,
              "a key with a comma is added");
    check_int(merge_keys_put(&k, "\"q\"", NULL, 6, NULL), ==, 1,
              "a key with quotes is added");
    check_int(merge_keys_put(&k, "", NULL, 8, NULL), ==, 1,
              "the empty text is a key too");
    check_int(merge_keys_get(&k, "00019", NULL), ==, 4, "00019 found");
    check_int(merge_keys_get(&k, "19", NULL), ==, -1,
              "19 is not 00019 (text, not numbers)");
    check_int(merge_keys_get(&k, "00019 ", NULL), ==, -1,
              "a trailing space makes another key");
    check_int(merge_keys_get(&k, "a,b", NULL), ==, 5, "a,b found");
    check_int(merge_keys_get(&k, "\"q\"", NULL), ==, 6, "\"q\" found");
    check_int(merge_keys_get(&k, "q", NULL), ==, -1, "q is not \"q\"");
    check_int(merge_keys_get(&k, "", NULL), ==, 8, "empty key found");
    check_int(merge_keys_put(&k, "00019", NULL, 9, &old), ==, 0,
              "a repeated key is refused");
    check_int(old, ==, 4, "and the value it holds is reported");
    check_int(merge_keys_get(&k, "00019", NULL), ==, 4,
              "the first value stays");
    check_int(k.n, ==, 4, "four keys");
    merge_keys_release(&k);
    check(k.n == 0 && k.cap == 0 && !k.slot, "release empties the index");
}

static void test_pairs(void)
{
    merge_keys k;

    merge_keys_init(&k, 1);
    merge_keys_put(&k, "150.0", "2.5", 0, NULL);
    merge_keys_put(&k, "ab", "c", 1, NULL);
    check_int(merge_keys_get(&k, "150.0", "2.5"), ==, 0, "pair found");
    check_int(merge_keys_get(&k, "150.00", "2.5"), ==, -1,
              "150.00 is not 150.0 (exact RA text)");
    check_int(merge_keys_get(&k, "2.5", "150.0"), ==, -1,
              "the order of the pair matters");
    check_int(merge_keys_get(&k, "a", "bc"), ==, -1,
              "(a, bc) is not (ab, c)");
    check_int(merge_keys_put(&k, "a", "bc", 2, NULL), ==, 1,
              "(a, bc) is a new key");
    check_int(merge_keys_get(&k, "ab", "c"), ==, 1, "(ab, c) still 1");
    check_int(merge_keys_get(&k, "a", "bc"), ==, 2, "(a, bc) is 2");
    merge_keys_release(&k);
}

/* Growth: 50 000 keys survive rehashing, each with its own value. */
static void test_many(void)
{
    merge_keys k;
    char buf[32];
    long bad = 0, dup = 0;

    merge_keys_init(&k, 0);
    for (long i = 0; i < 50000; ++i) {
        snprintf(buf, sizeof buf, "%06ld", i);
        dup += !merge_keys_put(&k, buf, NULL, i, NULL);
    }
    for (long i = 0; i < 50000; ++i) {
        snprintf(buf, sizeof buf, "%06ld", i);
        bad += merge_keys_get(&k, buf, NULL) != i;
        snprintf(buf, sizeof buf, "%ld", i + 1000000);
        bad += merge_keys_get(&k, buf, NULL) != -1;
    }
    check_int(dup, ==, 0, "50 000 distinct keys all added");
    check_int(bad, ==, 0, "each found with its value, others absent");
    check(k.cap >= 100000, "load factor stays at most 1/2");
    merge_keys_release(&k);
}

int main(void)
{
    test_single();
    test_pairs();
    test_many();
    return tap_done();
}
