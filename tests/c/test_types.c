/*
 * tests/c/test_types.c -- the data-structure commands of include/nycache.h
 * from C: lists, sets, hashes and sorted sets, their nil replies
 * (NYC_NOT_FOUND), wrong-type errors both ways, Redis's error categories,
 * arrays, flags, NULL arguments, and that a failed call changes nothing.
 * Runs in `make test-c`, `test-asan` and `test-valgrind` (C_TESTS).
 *
 * Exit status 0 when every check passes; on the first failure it prints
 * file:line, the failed expression and nyc_last_error(), and exits 1.
 */

#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nycache.h"

static unsigned long checks;

#define CHECK(expr)                                                          \
    do {                                                                     \
        checks++;                                                            \
        if (!(expr)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n  nyc_last_error(): %s\n", \
                    __FILE__, __LINE__, #expr, nyc_last_error());            \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_ST(call, want)                                                 \
    do {                                                                     \
        nyc_status st_ = (call);                                             \
        checks++;                                                            \
        if (st_ != (want)) {                                                 \
            fprintf(stderr, "%s:%d: %s\n  returned %s, expected %s\n"        \
                            "  nyc_last_error(): %s\n",                      \
                    __FILE__, __LINE__, #call, nyc_status_name((int)st_),    \
                    nyc_status_name((int)(want)), nyc_last_error());         \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define OK(call) CHECK_ST(call, NYC_OK)

/* A string literal as a (pointer, length) pair, and as an nyc_slice. */
#define S(lit) (lit), (sizeof(lit) - 1)
#define SL(lit) {(lit), sizeof(lit) - 1}
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* True if item `i` of `a` is exactly the C string `want`. */
static bool item_is(const nyc_array *a, size_t i, const char *want) {
    size_t n = strlen(want);
    if (nyc_array_item_len(a, i) != n) return false;
    const void *p = nyc_array_item_data(a, i);
    return p != NULL && (n == 0 || memcmp(p, want, n) == 0);
}

/* True if the array holds exactly these items, in order, then frees it. */
static bool array_is(nyc_array *a, const char *const *want, size_t n) {
    bool ok = nyc_array_count(a) == n;
    for (size_t i = 0; ok && i < n; i++) ok = item_is(a, i, want[i]);
    nyc_array_free(a);
    return ok;
}

/* True if the array holds these items in any order, then frees it. */
static bool array_has_all(nyc_array *a, const char *const *want, size_t n) {
    bool ok = nyc_array_count(a) == n;
    for (size_t i = 0; ok && i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++) seen = item_is(a, j, want[i]);
        ok = seen;
    }
    nyc_array_free(a);
    return ok;
}

static bool value_is(nyc_value *v, const char *want) {
    size_t n = strlen(want);
    bool ok = nyc_value_len(v) == n && memcmp(nyc_value_data(v), want, n) == 0;
    nyc_value_free(v);
    return ok;
}

static nyc_cache *open_cache(void) {
    nyc_cache *c = NULL;
    OK(nyc_open("max_memory=16MiB maintenance_ms=0", &c));
    return c;
}

static void test_lists(void) {
    nyc_cache *c = open_cache();
    nyc_slice abc[] = {SL("a"), SL("b"), SL("c")};
    uint64_t len = 0;
    OK(nyc_lpush(c, S("l"), abc, 3, &len));
    CHECK(len == 3);
    OK(nyc_rpush(c, S("l"), abc, 1, NULL)); /* the count is optional */
    nyc_array *a = NULL;
    OK(nyc_lrange(c, S("l"), 0, -1, &a));
    const char *all[] = {"c", "b", "a", "a"};
    CHECK(array_is(a, all, 4));
    OK(nyc_lrange(c, S("l"), -100, 1, &a));
    CHECK(array_is(a, all, 2));
    OK(nyc_lrange(c, S("l"), 5, 10, &a)); /* out of range: empty */
    CHECK(nyc_array_count(a) == 0);
    nyc_array_free(a);
    OK(nyc_llen(c, S("l"), &len));
    CHECK(len == 4);

    nyc_value *v = NULL;
    OK(nyc_lindex(c, S("l"), -1, &v));
    CHECK(value_is(v, "a"));
    CHECK_ST(nyc_lindex(c, S("l"), 9, &v), NYC_NOT_FOUND);
    OK(nyc_lset(c, S("l"), 1, S("B")));
    CHECK_ST(nyc_lset(c, S("l"), 10, S("x")), NYC_INVALID_ARGUMENT);
    CHECK(strstr(nyc_last_error(), "index out of range") != NULL);
    CHECK_ST(nyc_lset(c, S("nolist"), 0, S("x")), NYC_NOT_FOUND);

    uint64_t removed = 9;
    OK(nyc_lrem(c, S("l"), -1, S("a"), &removed));
    CHECK(removed == 1);
    OK(nyc_lpop(c, S("l"), &v));
    CHECK(value_is(v, "c"));
    OK(nyc_rpop(c, S("l"), &v));
    CHECK(value_is(v, "a"));
    OK(nyc_rpush(c, S("l"), abc, 3, NULL));
    OK(nyc_lpop_count(c, S("l"), 2, &a));
    const char *popped[] = {"B", "a"};
    CHECK(array_is(a, popped, 2));
    OK(nyc_rpop_count(c, S("l"), 0, &a)); /* count 0: an empty array */
    CHECK(nyc_array_count(a) == 0);
    nyc_array_free(a);
    CHECK_ST(nyc_lpop_count(c, S("nolist"), 3, &a), NYC_NOT_FOUND); /* null array */
    CHECK_ST(nyc_lpop(c, S("nolist"), &v), NYC_NOT_FOUND);
    OK(nyc_ltrim(c, S("l"), 1, 0)); /* empty range: the list goes */
    CHECK_ST(nyc_exists(c, S("l")), NYC_NOT_FOUND);

    /* Bad arguments change nothing. */
    OK(nyc_rpush(c, S("l"), abc, 3, NULL));
    CHECK_ST(nyc_lpush(c, S("l"), NULL, 2, &len), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_lpush(c, S("l"), abc, 0, &len), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_lpop(c, S("l"), NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_lrange(NULL, S("l"), 0, -1, &a), NYC_INVALID_ARGUMENT);
    OK(nyc_llen(c, S("l"), &len));
    CHECK(len == 3);
    nyc_close(c);
}

static void test_wrong_type(void) {
    nyc_cache *c = open_cache();
    nyc_slice one[] = {SL("m")};
    OK(nyc_sadd(c, S("set"), one, 1, NULL));
    OK(nyc_set(c, S("str"), S("v"), 0));
    char buf[8];
    size_t len = 0;
    CHECK_ST(nyc_get(c, S("set"), buf, sizeof buf, &len), NYC_WRONG_TYPE);
    CHECK(strstr(nyc_last_error(), "WRONGTYPE") != NULL);
    int64_t n = 0;
    CHECK_ST(nyc_incr(c, S("set"), 1, &n), NYC_WRONG_TYPE);
    CHECK_ST(nyc_lpush(c, S("set"), one, 1, NULL), NYC_WRONG_TYPE);
    CHECK_ST(nyc_sadd(c, S("str"), one, 1, NULL), NYC_WRONG_TYPE);
    CHECK_ST(nyc_zadd(c, S("str"), (double[]){1.0}, one, 1, 0, NULL), NYC_WRONG_TYPE);
    uint64_t card = 0;
    OK(nyc_scard(c, S("set"), &card));
    CHECK(card == 1);
    /* Batch reads see a collection as absent (Redis's MGET). */
    nyc_slice keys[] = {SL("set"), SL("str")};
    nyc_value *vals[2] = {NULL, NULL};
    OK(nyc_mget(c, keys, 2, vals));
    CHECK(vals[0] == NULL && vals[1] != NULL);
    nyc_value_free(vals[1]);
    /* SET replaces a collection like any value. */
    OK(nyc_set(c, S("set"), S("now text"), 0));
    CHECK_ST(nyc_scard(c, S("set"), &card), NYC_WRONG_TYPE);
    nyc_close(c);
}

static void test_sets(void) {
    nyc_cache *c = open_cache();
    nyc_slice a[] = {SL("1"), SL("2"), SL("3"), SL("x")};
    nyc_slice b[] = {SL("2"), SL("3"), SL("4")};
    uint64_t added = 0;
    OK(nyc_sadd(c, S("a"), a, 4, &added));
    CHECK(added == 4);
    OK(nyc_sadd(c, S("a"), a, 2, &added));
    CHECK(added == 0);
    OK(nyc_sadd(c, S("b"), b, 3, NULL));
    OK(nyc_sismember(c, S("a"), S("x")));
    CHECK_ST(nyc_sismember(c, S("a"), S("4")), NYC_NOT_FOUND);

    nyc_slice ab[] = {SL("a"), SL("b")};
    nyc_array *r = NULL;
    OK(nyc_sinter(c, ab, 2, &r));
    const char *inter[] = {"2", "3"};
    CHECK(array_has_all(r, inter, 2));
    OK(nyc_sunion(c, ab, 2, &r));
    const char *uni[] = {"1", "2", "3", "4", "x"};
    CHECK(array_has_all(r, uni, 5));
    OK(nyc_sdiff(c, ab, 2, &r));
    const char *diff[] = {"1", "x"};
    CHECK(array_has_all(r, diff, 2));
    CHECK_ST(nyc_sinter(c, ab, 0, &r), NYC_INVALID_ARGUMENT);

    OK(nyc_srandmember_count(c, S("a"), -6, &r));
    CHECK(nyc_array_count(r) == 6);
    nyc_array_free(r);
    /* A reply too large to build is refused, and the handle stays usable. */
    CHECK_ST(nyc_srandmember_count(c, S("a"), INT64_MIN, &r), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_srandmember_count(c, S("a"), -(INT64_C(1) << 40), &r), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_lpop_count(c, S("nolist"), SIZE_MAX, &r), NYC_NOT_FOUND);
    nyc_value *v = NULL;
    OK(nyc_srandmember(c, S("a"), &v));
    nyc_value_free(v);
    OK(nyc_spop(c, S("a"), &v));
    nyc_value_free(v);
    OK(nyc_spop_count(c, S("a"), 10, &r));
    CHECK(nyc_array_count(r) == 3);
    nyc_array_free(r);
    CHECK_ST(nyc_exists(c, S("a")), NYC_NOT_FOUND);
    CHECK_ST(nyc_spop(c, S("a"), &v), NYC_NOT_FOUND);

    uint64_t removed = 0;
    OK(nyc_srem(c, S("b"), b, 3, &removed));
    CHECK(removed == 3);
    OK(nyc_smembers(c, S("b"), &r));
    CHECK(nyc_array_count(r) == 0);
    nyc_array_free(r);
    nyc_close(c);
}

static void test_hashes(void) {
    nyc_cache *c = open_cache();
    nyc_slice f[] = {SL("name"), SL("visits")};
    nyc_slice v[] = {SL("ada"), SL("41")};
    uint64_t added = 0;
    OK(nyc_hset(c, S("h"), f, v, 2, &added));
    CHECK(added == 2);
    nyc_value *got = NULL;
    OK(nyc_hget(c, S("h"), S("name"), &got));
    CHECK(value_is(got, "ada"));
    CHECK_ST(nyc_hget(c, S("h"), S("nope"), &got), NYC_NOT_FOUND);
    int64_t n = 0;
    OK(nyc_hincrby(c, S("h"), S("visits"), 1, &n));
    CHECK(n == 42);
    CHECK_ST(nyc_hincrby(c, S("h"), S("name"), 1, &n), NYC_NOT_A_NUMBER);
    CHECK_ST(nyc_hincrby(c, S("h"), S("visits"), INT64_MAX, &n), NYC_OVERFLOW);
    OK(nyc_hsetnx(c, S("h"), S("new"), S("1")));
    CHECK_ST(nyc_hsetnx(c, S("h"), S("new"), S("2")), NYC_EXISTS);
    OK(nyc_hexists(c, S("h"), S("new")));
    uint64_t len = 0;
    OK(nyc_hlen(c, S("h"), &len));
    CHECK(len == 3);
    nyc_array *a = NULL;
    OK(nyc_hkeys(c, S("h"), &a));
    const char *keys[] = {"name", "visits", "new"};
    CHECK(array_has_all(a, keys, 3));
    OK(nyc_hvals(c, S("h"), &a));
    const char *vals[] = {"ada", "42", "1"};
    CHECK(array_has_all(a, vals, 3));
    OK(nyc_hgetall(c, S("h"), &a));
    CHECK(nyc_array_count(a) == 6);
    nyc_array_free(a);
    nyc_slice gone[] = {SL("name"), SL("visits"), SL("new"), SL("absent")};
    uint64_t removed = 0;
    OK(nyc_hdel(c, S("h"), gone, 4, &removed));
    CHECK(removed == 3);
    CHECK_ST(nyc_exists(c, S("h")), NYC_NOT_FOUND);
    CHECK_ST(nyc_hset(c, S("h"), f, NULL, 2, &added), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_exists(c, S("h")), NYC_NOT_FOUND);
    nyc_close(c);
}

static void test_sorted_sets(void) {
    nyc_cache *c = open_cache();
    double scores[] = {1.0, 2.5, 0.1, INFINITY};
    nyc_slice members[] = {SL("one"), SL("two"), SL("tenth"), SL("top")};
    uint64_t count = 0;
    OK(nyc_zadd(c, S("z"), scores, members, 4, 0, &count));
    CHECK(count == 4);
    double s = 0;
    OK(nyc_zscore(c, S("z"), S("two"), &s));
    CHECK(s == 2.5);
    CHECK_ST(nyc_zscore(c, S("z"), S("none"), &s), NYC_NOT_FOUND);
    uint64_t rank = 9;
    OK(nyc_zrank(c, S("z"), S("one"), &rank));
    CHECK(rank == 1);

    nyc_array *a = NULL;
    OK(nyc_zrange(c, S("z"), 0, -1, NYC_ZRANGE_WITHSCORES, &a));
    const char *all[] = {"tenth", "0.10000000000000001", "one", "1", "two", "2.5", "top", "inf"};
    CHECK(array_is(a, all, 8));
    OK(nyc_zrange(c, S("z"), 0, 0, NYC_ZRANGE_REV, &a));
    const char *top[] = {"top"};
    CHECK(array_is(a, top, 1));
    OK(nyc_zrangebyscore(c, S("z"), 0.1, 2.5, NYC_ZRANGE_MIN_EXCLUSIVE, 0, -1, &a));
    const char *mid[] = {"one", "two"};
    CHECK(array_is(a, mid, 2));
    OK(nyc_zrangebyscore(c, S("z"), -INFINITY, INFINITY, 0, 1, 2, &a));
    CHECK(array_is(a, mid, 2));
    OK(nyc_zcount(c, S("z"), 1.0, INFINITY, NYC_ZRANGE_MAX_EXCLUSIVE, &count));
    CHECK(count == 2);
    CHECK_ST(nyc_zcount(c, S("z"), NAN, 1.0, 0, &count), NYC_NOT_A_NUMBER);

    /* Flags: Redis's errors, nil replies, CH. */
    CHECK_ST(nyc_zadd(c, S("z"), scores, members, 1, NYC_ZADD_NX | NYC_ZADD_XX, &count), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_zadd(c, S("z"), scores, members, 1, NYC_ZADD_GT | NYC_ZADD_LT, &count), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_zadd(c, S("z"), scores, members, 1, 1u << 20, &count), NYC_INVALID_ARGUMENT);
    double five[] = {5.0};
    OK(nyc_zadd(c, S("z"), five, members, 1, NYC_ZADD_GT | NYC_ZADD_CH, &count));
    CHECK(count == 1);
    CHECK_ST(nyc_zadd_incr(c, S("z"), 1.0, S("one"), NYC_ZADD_NX, &s), NYC_NOT_FOUND);
    OK(nyc_zadd_incr(c, S("z"), 1.0, S("one"), 0, &s));
    CHECK(s == 6.0);
    OK(nyc_zincrby(c, S("z"), -0.5, S("new"), &s));
    CHECK(s == -0.5);
    CHECK_ST(nyc_zincrby(c, S("z"), -INFINITY, S("top"), &s), NYC_NOT_A_NUMBER);
    OK(nyc_zscore(c, S("z"), S("top"), &s));
    CHECK(isinf(s) && s > 0); /* unchanged by the failed increment */
    double nan_score[] = {NAN};
    CHECK_ST(nyc_zadd(c, S("z"), nan_score, members, 1, 0, &count), NYC_NOT_A_NUMBER);

    OK(nyc_zpopmin(c, S("z"), 2, &a));
    const char *low[] = {"new", "-0.5", "tenth", "0.10000000000000001"};
    CHECK(array_is(a, low, 4));
    OK(nyc_zpopmax(c, S("z"), 1, &a));
    const char *high[] = {"top", "inf"};
    CHECK(array_is(a, high, 2));
    uint64_t removed = 0;
    OK(nyc_zrem(c, S("z"), members, 4, &removed));
    CHECK(removed == 2);
    OK(nyc_zcard(c, S("z"), &count));
    CHECK(count == 0);
    CHECK_ST(nyc_exists(c, S("z")), NYC_NOT_FOUND);
    OK(nyc_zpopmin(c, S("z"), 3, &a)); /* absent key: empty array */
    CHECK(nyc_array_count(a) == 0);
    nyc_array_free(a);
    nyc_close(c);
}

/* A growing collection is charged as it grows and released when it goes. */
static void test_memory_and_ttl(void) {
    nyc_cache *c = open_cache();
    nyc_cache_stats st;
    OK(nyc_stats(c, &st));
    uint64_t before = st.used_bytes;
    char member[32];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(member, sizeof member, "member-%d", i);
        nyc_slice m[] = {{member, (size_t)n}};
        OK(nyc_sadd(c, S("big"), m, 1, NULL));
    }
    OK(nyc_stats(c, &st));
    CHECK(st.used_bytes > before + 2000 * 16);
    OK(nyc_expire(c, S("big"), 60000));
    int64_t ttl = 0;
    OK(nyc_ttl(c, S("big"), &ttl));
    CHECK(ttl > 0);
    OK(nyc_delete(c, S("big")));
    OK(nyc_stats(c, &st));
    CHECK(st.used_bytes == before);
    nyc_close(c);
}

int main(void) {
    test_lists();
    test_wrong_type();
    test_sets();
    test_hashes();
    test_sorted_sets();
    test_memory_and_ttl();
    printf("test_types: all %lu checks passed (nycache %s)\n", checks, nyc_version());
    return 0;
}
