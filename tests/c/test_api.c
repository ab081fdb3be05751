/*
 * tests/c/test_api.c -- exercises every function of include/nycache.h from C,
 * including the error paths (NULL handles, NULL pointers with lengths, NULL
 * out-parameters, oversized keys and values, bad config text, bad cursors).
 *
 * Build and run (see the Makefile for the exact rules):
 *   gcc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude tests/c/test_api.c \
 *       -Ltarget/debug -lnycache -Wl,-rpath,$PWD/target/debug -lpthread -o t && ./t
 *
 * Exit status 0 when every check passes; on the first failure it prints
 * file:line, the failed expression and nyc_last_error(), and exits 1.
 */

#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Checks that `call` returns status `want`, naming both on failure. */
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

/* A string literal as a (pointer, length) pair. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* A bogus pointer used to prove an out-parameter was left alone. */
#define SENTINEL ((void *)(uintptr_t)0x5a5a5a50u)

static bool contains(const char *hay, const char *needle) {
    return hay != NULL && strstr(hay, needle) != NULL;
}

static bool value_is(const nyc_value *v, const void *data, size_t len) {
    if (nyc_value_len(v) != len) return false;
    const void *p = nyc_value_data(v);
    if (p == NULL) return false;
    return len == 0 || memcmp(p, data, len) == 0;
}

/* nyc_get into a local buffer; true if the key holds exactly (data, len). */
static bool get_is(nyc_cache *c, const void *k, size_t klen, const void *data, size_t len) {
    char buf[256];
    size_t got = (size_t)-1;
    if (nyc_get(c, k, klen, buf, sizeof buf, &got) != NYC_OK) return false;
    return got == len && (len == 0 || memcmp(buf, data, len) == 0);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static nyc_cache *open_cache(const char *config) {
    nyc_cache *c = NULL;
    nyc_status st = nyc_open(config, &c);
    if (st != NYC_OK || c == NULL) {
        fprintf(stderr, "nyc_open(\"%s\") failed: %s: %s\n", config ? config : "(NULL)",
                nyc_status_name((int)st), nyc_last_error());
        exit(1);
    }
    return c;
}

static nyc_cache_stats stats_of(nyc_cache *c) {
    nyc_cache_stats s;
    memset(&s, 0xff, sizeof s);
    OK(nyc_stats(c, &s));
    return s;
}

/* ------------------------------------------------------------------------ */

static void test_status_names_and_version(void) {
    static const char *const names[] = {
        "NYC_OK",           "NYC_NOT_FOUND",        "NYC_EXISTS",
        "NYC_CAS_MISMATCH", "NYC_WRONG_TYPE",       "NYC_NOT_A_NUMBER",
        "NYC_OVERFLOW",     "NYC_TOO_LARGE",        "NYC_BUFFER_TOO_SMALL",
        "NYC_INVALID_ARGUMENT", "NYC_OUT_OF_MEMORY", "NYC_IO",
        "NYC_CORRUPT",      "NYC_INTERNAL",
    };
    CHECK(sizeof names / sizeof names[0] == (size_t)NYC_INTERNAL + 1);
    for (int i = 0; i <= (int)NYC_INTERNAL; i++) {
        const char *n = nyc_status_name(i);
        CHECK(n != NULL);
        if (strcmp(n, names[i]) != 0) {
            fprintf(stderr, "nyc_status_name(%d) = \"%s\", expected \"%s\"\n", i, n, names[i]);
        }
        CHECK(strcmp(n, names[i]) == 0);
    }
    /* The enum constants have the documented numbers. */
    CHECK(NYC_OK == 0 && NYC_NOT_FOUND == 1 && NYC_BUFFER_TOO_SMALL == 8 && NYC_INTERNAL == 13);
    CHECK(strcmp(nyc_status_name(-1), "NYC_UNKNOWN") == 0);
    CHECK(strcmp(nyc_status_name(14), "NYC_UNKNOWN") == 0);
    CHECK(strcmp(nyc_status_name(1000000), "NYC_UNKNOWN") == 0);
    CHECK(strcmp(nyc_status_name(-2147483647 - 1), "NYC_UNKNOWN") == 0);
    /* Static text: the same pointer every time. */
    CHECK(nyc_status_name(3) == nyc_status_name(3));

    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", NYC_VERSION_MAJOR, NYC_VERSION_MINOR,
             NYC_VERSION_PATCH);
    CHECK(nyc_version() != NULL);
    CHECK(strcmp(nyc_version(), want) == 0);
}

static void test_last_error_starts_empty(void) {
    /* Must run before any failing call on this thread. */
    CHECK(nyc_last_error() != NULL);
    CHECK(strcmp(nyc_last_error(), "") == 0);
}

static void test_open_and_config(void) {
    nyc_cache *c = SENTINEL;
    OK(nyc_open(NULL, &c));
    CHECK(c != NULL && c != SENTINEL);
    nyc_close(c);

    c = SENTINEL;
    OK(nyc_open("", &c));
    CHECK(c != NULL && c != SENTINEL);
    nyc_close(c);

    c = SENTINEL;
    OK(nyc_open("  max_memory=2MiB\tshards=2 \n policy=lru  ", &c));
    CHECK(c != SENTINEL);
    nyc_cache_stats s = stats_of(c);
    CHECK(s.shards == 2);
    CHECK(s.max_bytes > 0 && s.max_bytes <= 2u * 1024 * 1024);
    nyc_close(c);

    CHECK_ST(nyc_open(NULL, NULL), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "out"));

    /* Unknown key: the message names it; *out is left alone. */
    c = SENTINEL;
    CHECK_ST(nyc_open("max_memory=4MiB frobnicate=3", &c), NYC_INVALID_ARGUMENT);
    CHECK(c == SENTINEL);
    CHECK(contains(nyc_last_error(), "frobnicate"));

    /* Bad values: the message names the key (and the value). */
    static const struct {
        const char *config, *key;
    } bad[] = {
        {"max_memory=lots", "max_memory"},
        {"max_memory=12XB", "max_memory"},
        {"max_memory=100", "max_memory"}, /* below the minimum */
        {"shards=3", "shards"},           /* not a power of two */
        {"shards=many", "shards"},
        {"policy=fifo", "policy"},
        {"max_key_size=0", "max_key_size"},
        {"max_value_size=x", "max_value_size"},
        {"maintenance_ms=100ms", "maintenance_ms"},
        {"max_entries=-1", "max_entries"},
        {"compress_min=abc", "compress_min"},
        {"shards=2 shards=4", "shards"}, /* duplicate */
        {"max_memory=", "max_memory"},   /* empty value */
        {"max_memory", "max_memory"},    /* no '=' */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = SENTINEL;
        nyc_status st = nyc_open(bad[i].config, &c);
        if (st != NYC_INVALID_ARGUMENT || !contains(nyc_last_error(), bad[i].key)) {
            fprintf(stderr, "config \"%s\": %s, message \"%s\"\n", bad[i].config,
                    nyc_status_name((int)st), nyc_last_error());
        }
        CHECK(st == NYC_INVALID_ARGUMENT);
        CHECK(c == SENTINEL);
        CHECK(contains(nyc_last_error(), bad[i].key));
    }
    CHECK_ST(nyc_open("max_memory=4MiB frobnicate=3", &c), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "frobnicate"));
    /* Config text that is not UTF-8. */
    CHECK_ST(nyc_open("max_memory=\xff\xfe", &c), NYC_INVALID_ARGUMENT);
    CHECK(c == SENTINEL);

    nyc_close(NULL); /* a no-op */
}

static void test_null_handle_everywhere(void) {
    char buf[8];
    size_t len = 0;
    uint64_t ver = 0, next = 0;
    int64_t ms = 0, n = 0;
    nyc_value *v = NULL;
    nyc_array *a = NULL;
    nyc_cache_stats s;
    nyc_slice k[1] = {{"a", 1}};
    nyc_value *vals[1] = {NULL};

    CHECK_ST(nyc_set(NULL, S("a"), S("v"), 0), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "NULL"));
    CHECK_ST(nyc_add(NULL, S("a"), S("v"), 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_replace(NULL, S("a"), S("v"), 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_cas(NULL, S("a"), S("v"), 0, 1), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_get(NULL, S("a"), buf, sizeof buf, &len), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_gets(NULL, S("a"), buf, sizeof buf, &len, &ver), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_get_value(NULL, S("a"), &v), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_delete(NULL, S("a")), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_exists(NULL, S("a")), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_touch(NULL, S("a")), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_expire(NULL, S("a"), 10), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_persist(NULL, S("a")), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_ttl(NULL, S("a"), &ms), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_incr(NULL, S("a"), 1, &n), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mget(NULL, k, 1, vals), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mset(NULL, k, k, 1, 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mdelete(NULL, k, 1, &len), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_scan(NULL, 0, NULL, 10, &next, &a), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_flush(NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_stats(NULL, &s), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_metrics_text(NULL, &v), NYC_INVALID_ARGUMENT);
    CHECK(v == NULL && a == NULL && vals[0] == NULL);

    /* Accessors and frees of NULL handles are harmless. */
    CHECK(nyc_value_data(NULL) == NULL);
    CHECK(nyc_value_len(NULL) == 0);
    nyc_value_free(NULL);
    CHECK(nyc_array_count(NULL) == 0);
    CHECK(nyc_array_item_data(NULL, 0) == NULL);
    CHECK(nyc_array_item_len(NULL, 0) == 0);
    nyc_array_free(NULL);
    nyc_close(NULL);
}

static void test_null_pointers_and_out_params(void) {
    nyc_cache *c = open_cache("max_memory=4MiB");
    char buf[16];
    size_t len = 77;
    uint64_t ver = 77, next = 77;
    int64_t ms = 77, n = 77;
    nyc_value *v = SENTINEL;
    nyc_array *a = SENTINEL;

    OK(nyc_set(c, S("k"), S("value"), 0));

    /* A NULL key with a non-zero length is refused by every function. */
    CHECK_ST(nyc_set(c, NULL, 3, S("v"), 0), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "key"));
    CHECK_ST(nyc_add(c, NULL, 3, S("v"), 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_replace(c, NULL, 3, S("v"), 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_cas(c, NULL, 3, S("v"), 0, 1), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_get(c, NULL, 3, buf, sizeof buf, &len), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_gets(c, NULL, 3, buf, sizeof buf, &len, &ver), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_get_value(c, NULL, 3, &v), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_delete(c, NULL, 3), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_exists(c, NULL, 3), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_touch(c, NULL, 3), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_expire(c, NULL, 3, 10), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_persist(c, NULL, 3), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_ttl(c, NULL, 3, &ms), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_incr(c, NULL, 3, 1, &n), NYC_INVALID_ARGUMENT);
    /* A NULL value with a non-zero length. */
    CHECK_ST(nyc_set(c, S("k"), NULL, 5, 0), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "value"));
    CHECK_ST(nyc_add(c, S("new"), NULL, 5, 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_replace(c, S("k"), NULL, 5, 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_cas(c, S("k"), NULL, 5, 0, 1), NYC_INVALID_ARGUMENT);
    /* A NULL buffer with a capacity. */
    CHECK_ST(nyc_get(c, S("k"), NULL, 16, &len), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "buf"));
    CHECK_ST(nyc_gets(c, S("k"), NULL, 16, &len, &ver), NYC_INVALID_ARGUMENT);

    /* NULL out-parameters. */
    CHECK_ST(nyc_get(c, S("k"), buf, sizeof buf, NULL), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "len"));
    CHECK_ST(nyc_gets(c, S("k"), buf, sizeof buf, NULL, &ver), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_gets(c, S("k"), buf, sizeof buf, &len, NULL), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "version"));
    CHECK_ST(nyc_get_value(c, S("k"), NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_ttl(c, S("k"), NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_scan(c, 0, NULL, 10, NULL, &a), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_scan(c, 0, NULL, 10, &next, NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_stats(c, NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_metrics_text(c, NULL), NYC_INVALID_ARGUMENT);
    /* None of the failures above wrote an out-parameter. */
    CHECK(len == 77 && ver == 77 && next == 77 && ms == 77 && n == 77);
    CHECK(v == SENTINEL && a == SENTINEL);
    /* ... nor changed the stored value. */
    CHECK(get_is(c, S("k"), S("value")));

    /* Out-parameters documented as optional. */
    OK(nyc_incr(c, S("counter"), 5, NULL));
    OK(nyc_incr(c, S("counter"), 1, &n));
    CHECK(n == 6);
    size_t deleted = 99;
    nyc_slice ks[1] = {{"counter", 7}};
    OK(nyc_mdelete(c, ks, 1, NULL));
    CHECK_ST(nyc_exists(c, S("counter")), NYC_NOT_FOUND);
    OK(nyc_mdelete(c, ks, 1, &deleted));
    CHECK(deleted == 0);
    nyc_close(c);
}

static void test_limits(void) {
    /* Keys: the default max_key_size is 64 KiB. */
    nyc_cache *c = open_cache("max_memory=8MiB");
    size_t big_len = 64 * 1024 + 1;
    char *big = malloc(big_len);
    CHECK(big != NULL);
    memset(big, 'k', big_len);
    char buf[16];
    size_t len = 77;
    uint64_t ver = 77, next = 0;
    int64_t ms = 77;
    nyc_value *v = SENTINEL;

    OK(nyc_set(c, big, big_len - 1, S("at the limit"), 0));
    CHECK(get_is(c, big, big_len - 1, S("at the limit")));
    CHECK_ST(nyc_set(c, big, big_len, S("v"), 0), NYC_TOO_LARGE);
    CHECK(contains(nyc_last_error(), "max_key_size"));
    CHECK(contains(nyc_last_error(), "65537"));
    CHECK_ST(nyc_add(c, big, big_len, S("v"), 0), NYC_TOO_LARGE);
    CHECK_ST(nyc_replace(c, big, big_len, S("v"), 0), NYC_TOO_LARGE);
    CHECK_ST(nyc_cas(c, big, big_len, S("v"), 0, 1), NYC_TOO_LARGE);
    CHECK_ST(nyc_get(c, big, big_len, buf, sizeof buf, &len), NYC_TOO_LARGE);
    CHECK_ST(nyc_gets(c, big, big_len, buf, sizeof buf, &len, &ver), NYC_TOO_LARGE);
    CHECK_ST(nyc_get_value(c, big, big_len, &v), NYC_TOO_LARGE);
    CHECK_ST(nyc_delete(c, big, big_len), NYC_TOO_LARGE);
    CHECK_ST(nyc_exists(c, big, big_len), NYC_TOO_LARGE);
    CHECK_ST(nyc_touch(c, big, big_len), NYC_TOO_LARGE);
    CHECK_ST(nyc_expire(c, big, big_len, 5), NYC_TOO_LARGE);
    CHECK_ST(nyc_persist(c, big, big_len), NYC_TOO_LARGE);
    CHECK_ST(nyc_ttl(c, big, big_len, &ms), NYC_TOO_LARGE);
    CHECK_ST(nyc_incr(c, big, big_len, 1, NULL), NYC_TOO_LARGE);
    CHECK(len == 77 && ver == 77 && ms == 77 && v == SENTINEL);
    nyc_cache_stats s = stats_of(c);
    CHECK(s.entries == 1);
    nyc_close(c);

    /* A configured max_key_size. */
    c = open_cache("max_memory=1MiB max_key_size=16");
    OK(nyc_set(c, S("0123456789abcdef"), S("v"), 0));
    CHECK_ST(nyc_set(c, S("0123456789abcdefg"), S("v"), 0), NYC_TOO_LARGE);
    nyc_close(c);

    /* Values: an explicit max_value_size. */
    c = open_cache("max_memory=1MiB max_value_size=1000");
    memset(big, 'v', 1001);
    OK(nyc_set(c, S("v"), big, 1000, 0));
    CHECK_ST(nyc_set(c, S("v"), big, 1001, 0), NYC_TOO_LARGE);
    CHECK(contains(nyc_last_error(), "max_value_size"));
    CHECK_ST(nyc_add(c, S("w"), big, 1001, 0), NYC_TOO_LARGE);
    CHECK_ST(nyc_replace(c, S("v"), big, 1001, 0), NYC_TOO_LARGE);
    CHECK_ST(nyc_cas(c, S("v"), big, 1001, 0, 1), NYC_TOO_LARGE);
    /* The 1000-byte value is still there, intact. */
    OK(nyc_get_value(c, S("v"), &v));
    CHECK(value_is(v, big, 1000));
    nyc_value_free(v);
    CHECK_ST(nyc_exists(c, S("w")), NYC_NOT_FOUND);
    /* incr cannot grow a value past the limit either (a number is short). */
    OK(nyc_incr(c, S("n"), 1, NULL));
    nyc_close(c);

    /* Values: the automatic limit of a 1 MiB cache is below 1 MiB. */
    c = open_cache("max_memory=1MiB");
    size_t mib = 1024 * 1024;
    char *huge = malloc(mib);
    CHECK(huge != NULL);
    memset(huge, 'h', mib);
    CHECK_ST(nyc_set(c, S("huge"), huge, mib, 0), NYC_TOO_LARGE);
    CHECK(contains(nyc_last_error(), "max_value_size"));
    CHECK_ST(nyc_exists(c, S("huge")), NYC_NOT_FOUND);
    free(huge);
    /* A scan over an empty cache still terminates. */
    nyc_array *a = NULL;
    uint64_t cur = 0;
    size_t seen = 0;
    do {
        OK(nyc_scan(c, cur, NULL, 100, &next, &a));
        seen += nyc_array_count(a);
        nyc_array_free(a);
        cur = next;
    } while (cur != 0);
    CHECK(seen == 0);
    nyc_close(c);
    free(big);
}

static void test_get_buffers(void) {
    nyc_cache *c = open_cache("max_memory=4MiB");
    char buf[64];
    size_t len = 0;
    uint64_t ver = 0;

    OK(nyc_set(c, S("greeting"), S("hello, world"), 0));

    memset(buf, 'x', sizeof buf);
    OK(nyc_get(c, S("greeting"), buf, sizeof buf, &len));
    CHECK(len == 12 && memcmp(buf, "hello, world", 12) == 0);
    CHECK(buf[12] == 'x'); /* no NUL appended, nothing written past len */

    /* Exactly the right size. */
    memset(buf, 'x', sizeof buf);
    OK(nyc_get(c, S("greeting"), buf, 12, &len));
    CHECK(len == 12 && memcmp(buf, "hello, world", 12) == 0 && buf[12] == 'x');

    /* One byte short: BUFFER_TOO_SMALL, the needed length, nothing copied. */
    memset(buf, 'x', sizeof buf);
    len = 0;
    CHECK_ST(nyc_get(c, S("greeting"), buf, 11, &len), NYC_BUFFER_TOO_SMALL);
    CHECK(len == 12);
    for (size_t i = 0; i < sizeof buf; i++) CHECK(buf[i] == 'x');
    CHECK(contains(nyc_last_error(), "12"));

    /* NULL buffer with capacity 0 asks for the length. */
    len = 0;
    CHECK_ST(nyc_get(c, S("greeting"), NULL, 0, &len), NYC_BUFFER_TOO_SMALL);
    CHECK(len == 12);

    /* gets: same, and the version is written only on success. */
    memset(buf, 'x', sizeof buf);
    len = 0;
    ver = 12345;
    CHECK_ST(nyc_gets(c, S("greeting"), buf, 5, &len, &ver), NYC_BUFFER_TOO_SMALL);
    CHECK(len == 12 && ver == 12345);
    for (size_t i = 0; i < sizeof buf; i++) CHECK(buf[i] == 'x');
    len = 0;
    CHECK_ST(nyc_gets(c, S("greeting"), NULL, 0, &len, &ver), NYC_BUFFER_TOO_SMALL);
    CHECK(len == 12 && ver == 12345);
    OK(nyc_gets(c, S("greeting"), buf, sizeof buf, &len, &ver));
    CHECK(len == 12 && memcmp(buf, "hello, world", 12) == 0 && ver != 12345);

    /* NOT_FOUND leaves the out-parameters alone. */
    len = 77;
    ver = 77;
    CHECK_ST(nyc_get(c, S("missing"), buf, sizeof buf, &len), NYC_NOT_FOUND);
    CHECK(len == 77);
    CHECK(contains(nyc_last_error(), "not found"));
    CHECK_ST(nyc_gets(c, S("missing"), buf, sizeof buf, &len, &ver), NYC_NOT_FOUND);
    CHECK(len == 77 && ver == 77);
    nyc_value *v = SENTINEL;
    CHECK_ST(nyc_get_value(c, S("missing"), &v), NYC_NOT_FOUND);
    CHECK(v == SENTINEL);

    /* Binary keys and values, including NUL bytes. */
    static const char bk[] = {'a', '\0', 'b'};
    static const char bv[] = {'\0', '\1', '\0', '\xff'};
    OK(nyc_set(c, bk, sizeof bk, bv, sizeof bv, 0));
    CHECK(get_is(c, bk, sizeof bk, bv, sizeof bv));
    CHECK_ST(nyc_exists(c, "a", 1), NYC_NOT_FOUND); /* not cut at the NUL */

    /* A big compressible value round-trips through get and get_value. */
    size_t blen = 200 * 1024;
    char *big = malloc(blen), *back = malloc(blen);
    CHECK(big != NULL && back != NULL);
    for (size_t i = 0; i < blen; i++) big[i] = "<tr><td>row</td></tr>"[i % 21];
    OK(nyc_set(c, S("report"), big, blen, 0));
    OK(nyc_get(c, S("report"), back, blen, &len));
    CHECK(len == blen && memcmp(big, back, blen) == 0);
    OK(nyc_get_value(c, S("report"), &v));
    CHECK(value_is(v, big, blen));
    nyc_value_free(v);
    CHECK_ST(nyc_get(c, S("report"), back, blen - 1, &len), NYC_BUFFER_TOO_SMALL);
    CHECK(len == blen);
    free(big);
    free(back);
    nyc_close(c);
}

static void test_add_replace_cas(void) {
    nyc_cache *c = open_cache("max_memory=4MiB");
    char buf[32];
    size_t len;
    uint64_t v1 = 0, v2 = 0, v3 = 0;

    CHECK_ST(nyc_replace(c, S("k"), S("r"), 0), NYC_NOT_FOUND);
    CHECK_ST(nyc_exists(c, S("k")), NYC_NOT_FOUND);
    OK(nyc_add(c, S("k"), S("first"), 0));
    CHECK_ST(nyc_add(c, S("k"), S("second"), 0), NYC_EXISTS);
    CHECK(contains(nyc_last_error(), "EXISTS") || contains(nyc_last_error(), "exist"));
    CHECK(get_is(c, S("k"), S("first")));
    OK(nyc_replace(c, S("k"), S("third"), 0));
    CHECK(get_is(c, S("k"), S("third")));

    OK(nyc_gets(c, S("k"), buf, sizeof buf, &len, &v1));
    CHECK(len == 5 && memcmp(buf, "third", 5) == 0);
    OK(nyc_cas(c, S("k"), S("fourth"), 0, v1));
    CHECK(get_is(c, S("k"), S("fourth")));
    /* The old version no longer matches. */
    CHECK_ST(nyc_cas(c, S("k"), S("fifth"), 0, v1), NYC_CAS_MISMATCH);
    CHECK(get_is(c, S("k"), S("fourth")));
    OK(nyc_gets(c, S("k"), buf, sizeof buf, &len, &v2));
    CHECK(v2 != v1);
    /* Any write changes the version. */
    OK(nyc_set(c, S("k"), S("fourth"), 0));
    OK(nyc_gets(c, S("k"), buf, sizeof buf, &len, &v3));
    CHECK(v3 != v2);
    CHECK_ST(nyc_cas(c, S("k"), S("x"), 0, v2), NYC_CAS_MISMATCH);
    OK(nyc_cas(c, S("k"), S("x"), 0, v3));
    /* A gone key is NOT_FOUND. */
    OK(nyc_delete(c, S("k")));
    CHECK_ST(nyc_cas(c, S("k"), S("y"), 0, v3), NYC_NOT_FOUND);
    CHECK_ST(nyc_exists(c, S("k")), NYC_NOT_FOUND);
    /* add after delete works again; replace keeps a TTL given to it. */
    OK(nyc_add(c, S("k"), S("again"), 0));
    OK(nyc_replace(c, S("k"), S("with ttl"), 60000));
    int64_t ms = 0;
    OK(nyc_ttl(c, S("k"), &ms));
    CHECK(ms > 0 && ms <= 60000);
    OK(nyc_replace(c, S("k"), S("no ttl"), 0)); /* the new TTL (none) replaces it */
    OK(nyc_ttl(c, S("k"), &ms));
    CHECK(ms == -1);
    /* incr gives a new version too. */
    OK(nyc_set(c, S("num"), S("1"), 0));
    OK(nyc_gets(c, S("num"), buf, sizeof buf, &len, &v1));
    OK(nyc_incr(c, S("num"), 1, NULL));
    CHECK_ST(nyc_cas(c, S("num"), S("9"), 0, v1), NYC_CAS_MISMATCH);
    CHECK(get_is(c, S("num"), S("2")));
    OK(nyc_add(c, S("t"), S("v"), 60000));
    OK(nyc_ttl(c, S("t"), &ms));
    CHECK(ms > 0 && ms <= 60000);
    OK(nyc_gets(c, S("t"), buf, sizeof buf, &len, &v1));
    OK(nyc_cas(c, S("t"), S("w"), 30000, v1));
    OK(nyc_ttl(c, S("t"), &ms));
    CHECK(ms > 0 && ms <= 30000);
    nyc_close(c);
}

static void test_incr(void) {
    nyc_cache *c = open_cache("max_memory=4MiB");
    int64_t n = 0;

    OK(nyc_incr(c, S("n"), 5, &n)); /* a missing key counts as 0 */
    CHECK(n == 5);
    CHECK(get_is(c, S("n"), S("5")));
    OK(nyc_incr(c, S("n"), -8, &n));
    CHECK(n == -3);
    CHECK(get_is(c, S("n"), S("-3")));
    OK(nyc_incr(c, S("n"), 0, &n));
    CHECK(n == -3);

    OK(nyc_set(c, S("text"), S("abc"), 0));
    n = 77;
    CHECK_ST(nyc_incr(c, S("text"), 1, &n), NYC_NOT_A_NUMBER);
    CHECK(n == 77);
    CHECK(get_is(c, S("text"), S("abc")));
    OK(nyc_set(c, S("text"), S("12a"), 0));
    CHECK_ST(nyc_incr(c, S("text"), 1, &n), NYC_NOT_A_NUMBER);
    OK(nyc_set(c, S("text"), S(""), 0));
    CHECK_ST(nyc_incr(c, S("text"), 1, &n), NYC_NOT_A_NUMBER);
    OK(nyc_set(c, S("text"), S("99999999999999999999"), 0)); /* beyond 64 bits */
    CHECK_ST(nyc_incr(c, S("text"), 1, &n), NYC_NOT_A_NUMBER);
    CHECK(n == 77);

    OK(nyc_set(c, S("max"), S("9223372036854775807"), 0));
    CHECK_ST(nyc_incr(c, S("max"), 1, &n), NYC_OVERFLOW);
    CHECK(n == 77);
    CHECK(get_is(c, S("max"), S("9223372036854775807")));
    OK(nyc_incr(c, S("max"), -1, &n));
    CHECK(n == INT64_MAX - 1);
    OK(nyc_set(c, S("min"), S("-9223372036854775808"), 0));
    CHECK_ST(nyc_incr(c, S("min"), -1, &n), NYC_OVERFLOW);
    CHECK(get_is(c, S("min"), S("-9223372036854775808")));
    OK(nyc_incr(c, S("min"), INT64_MAX, &n));
    CHECK(n == -1);
    OK(nyc_incr(c, S("fresh"), INT64_MIN, &n));
    CHECK(n == INT64_MIN);

    /* incr keeps the TTL. */
    OK(nyc_set(c, S("t"), S("10"), 60000));
    OK(nyc_incr(c, S("t"), 1, &n));
    CHECK(n == 11);
    int64_t ms = 0;
    OK(nyc_ttl(c, S("t"), &ms));
    CHECK(ms > 0 && ms <= 60000);
    nyc_close(c);
}

static void test_ttl_expire_persist_touch(void) {
    nyc_cache *c = open_cache("max_memory=4MiB");
    int64_t ms = 77;

    CHECK_ST(nyc_ttl(c, S("missing"), &ms), NYC_NOT_FOUND);
    CHECK(ms == 77);
    CHECK_ST(nyc_expire(c, S("missing"), 1000), NYC_NOT_FOUND);
    CHECK_ST(nyc_persist(c, S("missing")), NYC_NOT_FOUND);
    CHECK_ST(nyc_touch(c, S("missing")), NYC_NOT_FOUND);
    CHECK_ST(nyc_delete(c, S("missing")), NYC_NOT_FOUND);
    CHECK_ST(nyc_exists(c, S("missing")), NYC_NOT_FOUND);

    OK(nyc_set(c, S("p"), S("v"), 0));
    OK(nyc_ttl(c, S("p"), &ms));
    CHECK(ms == -1);
    OK(nyc_expire(c, S("p"), 50000));
    OK(nyc_ttl(c, S("p"), &ms));
    CHECK(ms > 40000 && ms <= 50000);
    OK(nyc_persist(c, S("p")));
    OK(nyc_ttl(c, S("p"), &ms));
    CHECK(ms == -1);
    OK(nyc_persist(c, S("p"))); /* OK on a key without a TTL too */
    OK(nyc_expire(c, S("p"), 50000));
    OK(nyc_expire(c, S("p"), 0)); /* 0 removes the TTL */
    OK(nyc_ttl(c, S("p"), &ms));
    CHECK(ms == -1);
    OK(nyc_touch(c, S("p")));
    OK(nyc_exists(c, S("p")));

    /* set with a TTL; overwriting without one makes the key persistent. */
    OK(nyc_set(c, S("t"), S("v"), 20000));
    OK(nyc_ttl(c, S("t"), &ms));
    CHECK(ms > 10000 && ms <= 20000);
    OK(nyc_set(c, S("t"), S("v"), 0));
    OK(nyc_ttl(c, S("t"), &ms));
    CHECK(ms == -1);

    /* Short TTLs expire: reads miss, the key is gone for every function. */
    nyc_cache_stats before = stats_of(c);
    OK(nyc_set(c, S("short"), S("v"), 30));
    OK(nyc_set(c, S("short2"), S("v"), 60000));
    OK(nyc_expire(c, S("short2"), 30));
    sleep_ms(120);
    char buf[8];
    size_t len = 77;
    CHECK_ST(nyc_get(c, S("short"), buf, sizeof buf, &len), NYC_NOT_FOUND);
    CHECK(len == 77);
    CHECK_ST(nyc_exists(c, S("short")), NYC_NOT_FOUND);
    CHECK_ST(nyc_ttl(c, S("short2"), &ms), NYC_NOT_FOUND);
    CHECK_ST(nyc_touch(c, S("short2")), NYC_NOT_FOUND);
    CHECK_ST(nyc_replace(c, S("short2"), S("v"), 0), NYC_NOT_FOUND);
    OK(nyc_add(c, S("short2"), S("back"), 0));
    nyc_cache_stats after = stats_of(c);
    CHECK(after.expirations >= before.expirations + 2);
    CHECK(after.expired_lazy + after.expired_active >=
          before.expired_lazy + before.expired_active + 2);
    CHECK(after.expirations == after.expired_lazy + after.expired_active);

    /* delete */
    OK(nyc_delete(c, S("p")));
    CHECK_ST(nyc_delete(c, S("p")), NYC_NOT_FOUND);
    CHECK_ST(nyc_exists(c, S("p")), NYC_NOT_FOUND);
    nyc_close(c);
}

static void test_value_handles(void) {
    nyc_cache *c = open_cache("max_memory=4MiB");
    nyc_value *a = NULL, *b = NULL, *d = NULL, *e = NULL, *f = NULL, *empty = NULL;

    OK(nyc_set(c, S("k"), S("one"), 0));
    OK(nyc_get_value(c, S("k"), &a));
    CHECK(a != NULL && value_is(a, S("one")));
    OK(nyc_set(c, S("k"), S("two!"), 0)); /* overwrite */
    OK(nyc_get_value(c, S("k"), &b));
    CHECK(value_is(a, S("one")));
    CHECK(value_is(b, S("two!")));
    OK(nyc_delete(c, S("k"))); /* delete */
    CHECK(value_is(a, S("one")) && value_is(b, S("two!")));

    OK(nyc_set(c, S("k2"), S("three"), 0));
    OK(nyc_get_value(c, S("k2"), &d));
    OK(nyc_get_value(c, S("k2"), &e)); /* two handles on one entry */
    OK(nyc_flush(c));                  /* flush */
    CHECK_ST(nyc_exists(c, S("k2")), NYC_NOT_FOUND);
    CHECK(value_is(d, S("three")) && value_is(e, S("three")));
    nyc_value_free(e);
    CHECK(value_is(d, S("three")));

    /* An empty value: data is non-NULL, length 0. */
    OK(nyc_set(c, S("empty"), NULL, 0, 0));
    OK(nyc_get_value(c, S("empty"), &empty));
    CHECK(nyc_value_data(empty) != NULL);
    CHECK(nyc_value_len(empty) == 0);

    OK(nyc_set(c, S("k3"), S("four"), 0));
    OK(nyc_get_value(c, S("k3"), &f));
    nyc_close(c); /* close */
    CHECK(value_is(a, S("one")));
    CHECK(value_is(b, S("two!")));
    CHECK(value_is(d, S("three")));
    CHECK(value_is(f, S("four")));
    CHECK(nyc_value_data(empty) != NULL && nyc_value_len(empty) == 0);
    nyc_value_free(a);
    nyc_value_free(b);
    nyc_value_free(d);
    nyc_value_free(f);
    nyc_value_free(empty);
}

static void test_empty_keys_and_values(void) {
    nyc_cache *c = open_cache("max_memory=4MiB");
    char buf[8];
    size_t len = 77;
    int64_t n = 0;

    /* NULL with length 0 is the empty range, for keys and values. */
    CHECK_ST(nyc_exists(c, NULL, 0), NYC_NOT_FOUND);
    OK(nyc_set(c, NULL, 0, S("empty key"), 0));
    OK(nyc_exists(c, NULL, 0));
    OK(nyc_exists(c, "", 0)); /* same key via a non-NULL pointer */
    CHECK(get_is(c, "", 0, S("empty key")));
    CHECK_ST(nyc_add(c, NULL, 0, S("x"), 0), NYC_EXISTS);
    OK(nyc_set(c, S("e"), NULL, 0, 0));
    OK(nyc_get(c, S("e"), buf, sizeof buf, &len));
    CHECK(len == 0);
    len = 77;
    OK(nyc_get(c, S("e"), NULL, 0, &len)); /* an empty value fits no buffer */
    CHECK(len == 0);
    OK(nyc_set(c, S("e2"), "", 0, 0));
    OK(nyc_exists(c, S("e2")));
    OK(nyc_replace(c, NULL, 0, NULL, 0, 0));
    CHECK(get_is(c, NULL, 0, "", 0));
    nyc_cache_stats s = stats_of(c);
    CHECK(s.entries == 3);
    /* The empty key with an empty value: an empty value is not a number. */
    CHECK_ST(nyc_incr(c, NULL, 0, 3, &n), NYC_NOT_A_NUMBER);
    OK(nyc_delete(c, NULL, 0));
    OK(nyc_incr(c, NULL, 0, 3, &n));
    CHECK(n == 3);
    OK(nyc_ttl(c, NULL, 0, &n));
    CHECK(n == -1);
    OK(nyc_expire(c, NULL, 0, 10000));
    OK(nyc_persist(c, NULL, 0));
    OK(nyc_touch(c, NULL, 0));
    OK(nyc_delete(c, NULL, 0));
    CHECK_ST(nyc_delete(c, NULL, 0), NYC_NOT_FOUND);
    CHECK(stats_of(c).entries == 2);
    nyc_close(c);
}

static void test_batches(void) {
    nyc_cache *c = open_cache("max_memory=4MiB max_value_size=1000");
    nyc_slice keys[4] = {{"a", 1}, {"b", 1}, {NULL, 0}, {"missing", 7}};
    nyc_slice vals[3] = {{"1", 1}, {"two", 3}, {"empty-key", 9}};
    nyc_value *out[4];
    size_t deleted = 0;

    /* n == 0 with NULL arrays does nothing and succeeds. */
    OK(nyc_mset(c, NULL, NULL, 0, 0));
    OK(nyc_mget(c, NULL, 0, NULL));
    OK(nyc_mdelete(c, NULL, 0, &deleted));
    CHECK(deleted == 0);

    OK(nyc_mset(c, keys, vals, 3, 0));
    for (int i = 0; i < 4; i++) out[i] = SENTINEL;
    OK(nyc_mget(c, keys, 4, out));
    CHECK(value_is(out[0], S("1")));
    CHECK(value_is(out[1], S("two")));
    CHECK(value_is(out[2], S("empty-key")));
    CHECK(out[3] == NULL);
    /* The handles outlive an overwrite. */
    OK(nyc_set(c, S("a"), S("changed"), 0));
    CHECK(value_is(out[0], S("1")));
    for (int i = 0; i < 4; i++) nyc_value_free(out[i]);
    CHECK(get_is(c, S("a"), S("changed")));

    /* mset with a TTL applies it to every pair. */
    nyc_slice tk[2] = {{"t1", 2}, {"t2", 2}};
    OK(nyc_mset(c, tk, vals, 2, 40000));
    int64_t ms = 0;
    OK(nyc_ttl(c, S("t1"), &ms));
    CHECK(ms > 0 && ms <= 40000);
    OK(nyc_ttl(c, S("t2"), &ms));
    CHECK(ms > 0 && ms <= 40000);

    /* A bad key in the batch changes nothing. */
    size_t big_len = 64 * 1024 + 1;
    char *big = calloc(1, big_len + 1001);
    CHECK(big != NULL);
    nyc_slice bad_keys[3] = {{"n1", 2}, {big, big_len}, {"n3", 2}};
    nyc_slice ok_vals[3] = {{"x", 1}, {"y", 1}, {"z", 1}};
    CHECK_ST(nyc_mset(c, bad_keys, ok_vals, 3, 0), NYC_TOO_LARGE);
    CHECK(contains(nyc_last_error(), "max_key_size"));
    CHECK_ST(nyc_exists(c, S("n1")), NYC_NOT_FOUND);
    CHECK_ST(nyc_exists(c, S("n3")), NYC_NOT_FOUND);
    /* ... a bad value too */
    nyc_slice good_keys[3] = {{"n1", 2}, {"n2", 2}, {"n3", 2}};
    nyc_slice bad_vals[3] = {{"x", 1}, {"y", 1}, {big, 1001}};
    CHECK_ST(nyc_mset(c, good_keys, bad_vals, 3, 0), NYC_TOO_LARGE);
    CHECK_ST(nyc_exists(c, S("n1")), NYC_NOT_FOUND);
    CHECK_ST(nyc_exists(c, S("n2")), NYC_NOT_FOUND);
    /* ... a NULL pointer with a length */
    nyc_slice null_keys[2] = {{"n1", 2}, {NULL, 4}};
    CHECK_ST(nyc_mset(c, null_keys, ok_vals, 2, 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_exists(c, S("n1")), NYC_NOT_FOUND);
    nyc_slice null_vals[2] = {{"x", 1}, {NULL, 4}};
    CHECK_ST(nyc_mset(c, good_keys, null_vals, 2, 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_exists(c, S("n1")), NYC_NOT_FOUND);
    /* NULL arrays with n > 0 */
    CHECK_ST(nyc_mset(c, NULL, ok_vals, 1, 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mset(c, good_keys, NULL, 1, 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mget(c, NULL, 1, out), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mget(c, keys, 1, NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mdelete(c, NULL, 1, &deleted), NYC_INVALID_ARGUMENT);

    /* mget with a bad key writes no slot. */
    nyc_slice mixed[3] = {{"a", 1}, {big, big_len}, {"b", 1}};
    for (int i = 0; i < 3; i++) out[i] = SENTINEL;
    CHECK_ST(nyc_mget(c, mixed, 3, out), NYC_TOO_LARGE);
    CHECK(out[0] == SENTINEL && out[1] == SENTINEL && out[2] == SENTINEL);
    nyc_slice mixed_null[2] = {{"a", 1}, {NULL, 1}};
    CHECK_ST(nyc_mget(c, mixed_null, 2, out), NYC_INVALID_ARGUMENT);
    CHECK(out[0] == SENTINEL && out[1] == SENTINEL);

    /* mdelete with a bad key deletes nothing and leaves *deleted alone. */
    deleted = 77;
    CHECK_ST(nyc_mdelete(c, mixed, 3, &deleted), NYC_TOO_LARGE);
    CHECK(deleted == 77);
    OK(nyc_exists(c, S("a")));
    OK(nyc_exists(c, S("b")));
    CHECK_ST(nyc_mdelete(c, mixed_null, 2, &deleted), NYC_INVALID_ARGUMENT);
    CHECK(deleted == 77);
    OK(nyc_exists(c, S("a")));

    /* mdelete counts the keys that existed; a repeated key counts once. */
    nyc_slice del[5] = {{"a", 1}, {"b", 1}, {"missing", 7}, {NULL, 0}, {"a", 1}};
    OK(nyc_mdelete(c, del, 5, &deleted));
    CHECK(deleted == 3);
    CHECK_ST(nyc_exists(c, S("a")), NYC_NOT_FOUND);
    CHECK_ST(nyc_exists(c, S("b")), NYC_NOT_FOUND);
    CHECK_ST(nyc_exists(c, NULL, 0), NYC_NOT_FOUND);
    OK(nyc_mdelete(c, del, 5, &deleted));
    CHECK(deleted == 0);

    /* mset of the same key twice: the last pair wins. */
    nyc_slice dup_k[2] = {{"d", 1}, {"d", 1}};
    nyc_slice dup_v[2] = {{"first", 5}, {"second", 6}};
    OK(nyc_mset(c, dup_k, dup_v, 2, 0));
    CHECK(get_is(c, S("d"), S("second")));
    free(big);
    nyc_close(c);
}

/* ---- packed batches ---- */

static void test_packed_batches(void) {
    nyc_cache *c = open_cache("max_key_size=16 max_value_size=64");
    size_t deleted_null = 0;
    /* keys "a", "", "ccc" back to back; values "1", "22", "" */
    const char keys[] = "accc";
    size_t klens[3] = {1, 0, 3};
    const char vals[] = "122";
    size_t vlens_in[3] = {1, 2, 0};
    OK(nyc_mset_packed(c, keys, klens, vals, vlens_in, 3, 0));
    CHECK(get_is(c, S("a"), S("1")));
    CHECK(get_is(c, NULL, 0, S("22")));
    CHECK(get_is(c, S("ccc"), NULL, 0));

    /* mget: found values back to back, NYC_ABSENT for the missing key. */
    const char qkeys[] = "cccmissinga";
    size_t qklens[4] = {3, 7, 1, 0};
    char buf[16];
    size_t vlens[4], needed = 99;
    OK(nyc_mget_packed(c, qkeys, qklens, 4, buf, sizeof buf, vlens, &needed));
    CHECK(vlens[0] == 0 && vlens[1] == NYC_ABSENT && vlens[2] == 1 && vlens[3] == 2);
    CHECK(needed == 3 && memcmp(buf, "122", 3) == 0);

    /* Too small: the lengths and the total come back, the status says so. */
    char small[2];
    needed = 0;
    CHECK_ST(nyc_mget_packed(c, qkeys, qklens, 4, small, sizeof small, vlens, &needed),
             NYC_BUFFER_TOO_SMALL);
    CHECK(needed == 3 && vlens[2] == 1 && vlens[3] == 2 && vlens[1] == NYC_ABSENT);
    CHECK(contains(nyc_last_error(), "3 bytes"));
    /* Asking for the lengths only. */
    CHECK_ST(nyc_mget_packed(c, qkeys, qklens, 4, NULL, 0, vlens, &needed), NYC_BUFFER_TOO_SMALL);
    CHECK(needed == 3);
    /* The output buffer may hold the keys themselves: writing the first
     * value must not change the second key before it is read. */
    OK(nyc_set(c, S("k1"), S("k1k3"), 0));
    OK(nyc_set(c, S("zz"), S("ZZZZ"), 0));
    OK(nyc_set(c, S("k3"), S("OOPS"), 0));
    char shared[8];
    memcpy(shared, "k1zz", 4);
    size_t two[2] = {2, 2}, got[2];
    OK(nyc_mget_packed(c, shared, two, 2, shared, sizeof shared, got, &needed));
    CHECK(needed == 8 && got[0] == 4 && got[1] == 4 && memcmp(shared, "k1k3ZZZZ", 8) == 0);
    /* ... and the lengths may be written over the key lengths. */
    memcpy(shared, "k1zz", 4);
    size_t lens_inout[2] = {2, 2};
    OK(nyc_mget_packed(c, shared, lens_inout, 2, shared, sizeof shared, lens_inout, &needed));
    CHECK(lens_inout[0] == 4 && lens_inout[1] == 4 && memcmp(shared, "k1k3ZZZZ", 8) == 0);
    OK(nyc_mdelete_packed(c, "k1zzk3", (size_t[]){2, 2, 2}, 3, NULL));

    /* No keys: nothing to read. */
    OK(nyc_mget_packed(c, NULL, NULL, 0, NULL, 0, NULL, &needed));
    CHECK(needed == 0);

    /* Bad arguments change nothing and write nothing. */
    size_t untouched[4] = {7, 7, 7, 7};
    CHECK_ST(nyc_mget_packed(c, qkeys, qklens, 4, buf, sizeof buf, NULL, &needed), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mget_packed(c, qkeys, qklens, 4, buf, sizeof buf, untouched, NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mget_packed(c, NULL, qklens, 4, buf, sizeof buf, untouched, &needed), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mget_packed(c, qkeys, NULL, 4, buf, sizeof buf, untouched, &needed), NYC_INVALID_ARGUMENT);
    CHECK(untouched[0] == 7 && untouched[3] == 7);
    const char long_keys[] = "a01234567890123456789";
    size_t long_klens[2] = {1, 20};
    CHECK_ST(nyc_mget_packed(c, long_keys, long_klens, 2, buf, sizeof buf, untouched, &needed), NYC_TOO_LARGE);
    CHECK(untouched[0] == 7);
    size_t overflow[2] = {SIZE_MAX, 2};
    CHECK_ST(nyc_mget_packed(c, qkeys, overflow, 2, buf, sizeof buf, untouched, &needed), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "overflow"));

    /* mset: a key or value over the limit stores nothing. */
    const char two_vals[] = "xy";
    size_t one_each[2] = {1, 1};
    CHECK_ST(nyc_mset_packed(c, long_keys, long_klens, two_vals, one_each, 2, 0), NYC_TOO_LARGE);
    CHECK(get_is(c, S("a"), S("1")));
    char big[65];
    memset(big, 'v', sizeof big);
    size_t big_vlens[2] = {1, 65};
    CHECK_ST(nyc_mset_packed(c, "qr", one_each, big, big_vlens, 2, 0), NYC_TOO_LARGE);
    CHECK_ST(nyc_exists(c, S("q")), NYC_NOT_FOUND);
    CHECK_ST(nyc_mset_packed(c, NULL, one_each, two_vals, one_each, 2, 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mset_packed(NULL, keys, klens, vals, vlens_in, 3, 0), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mget_packed(NULL, qkeys, qklens, 4, buf, sizeof buf, vlens, &needed), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_mdelete_packed(NULL, qkeys, qklens, 4, &deleted_null), NYC_INVALID_ARGUMENT);
    /* With a TTL. */
    OK(nyc_mset_packed(c, "qr", one_each, two_vals, one_each, 2, 60000));
    int64_t ms = 0;
    OK(nyc_ttl(c, S("r"), &ms));
    CHECK(ms > 59000 && ms <= 60000);

    /* mdelete counts the keys that existed; a bad key deletes nothing. */
    size_t deleted = 77;
    CHECK_ST(nyc_mdelete_packed(c, long_keys, long_klens, 2, &deleted), NYC_TOO_LARGE);
    CHECK(deleted == 77);
    OK(nyc_exists(c, S("a")));
    OK(nyc_mdelete_packed(c, qkeys, qklens, 4, &deleted));
    CHECK(deleted == 3);
    CHECK_ST(nyc_exists(c, S("a")), NYC_NOT_FOUND);
    OK(nyc_mdelete_packed(c, qkeys, qklens, 4, NULL));
    OK(nyc_mdelete_packed(c, NULL, NULL, 0, &deleted));
    CHECK(deleted == 0);
    nyc_close(c);
}

/* ---- scan ---- */

#define NKEYS 600

struct keyset {
    char keys[NKEYS][32];
    size_t lens[NKEYS];
    int seen[NKEYS];
    size_t n;
};

static int find_key(const struct keyset *ks, const void *p, size_t len) {
    for (size_t i = 0; i < ks->n; i++) {
        if (ks->lens[i] == len && (len == 0 || memcmp(ks->keys[i], p, len) == 0)) return (int)i;
    }
    return -1;
}

/* Runs a full scan with `glob` and `count`, counting every key in `ks`;
 * returns how many returned keys are not in `ks`. */
static size_t full_scan(nyc_cache *c, const char *glob, size_t count, struct keyset *ks) {
    memset(ks->seen, 0, sizeof ks->seen);
    size_t unknown = 0, steps = 0;
    uint64_t cursor = 0;
    do {
        uint64_t next = 0;
        nyc_array *a = NULL;
        OK(nyc_scan(c, cursor, glob, count, &next, &a));
        CHECK(a != NULL);
        size_t n = nyc_array_count(a);
        for (size_t i = 0; i < n; i++) {
            const void *p = nyc_array_item_data(a, i);
            size_t len = nyc_array_item_len(a, i);
            CHECK(p != NULL);
            int at = find_key(ks, p, len);
            if (at < 0) unknown++;
            else ks->seen[at]++;
        }
        CHECK(nyc_array_item_data(a, n) == NULL);
        CHECK(nyc_array_item_len(a, n) == 0);
        nyc_array_free(a);
        cursor = next;
        CHECK(++steps < 1000000);
    } while (cursor != 0);
    return unknown;
}

static void test_scan(void) {
    nyc_cache *c = open_cache("max_memory=8MiB shards=4");
    static struct keyset ks;
    ks.n = 0;
    for (int i = 0; i < 400; i++) {
        ks.lens[ks.n] = (size_t)snprintf(ks.keys[ks.n], 32, "user:%d", i);
        ks.n++;
    }
    for (int i = 0; i < 150; i++) {
        ks.lens[ks.n] = (size_t)snprintf(ks.keys[ks.n], 32, "order:%d", i);
        ks.n++;
    }
    /* Binary keys, an empty key, glob metacharacters in a key. */
    memcpy(ks.keys[ks.n], "bin\0key", 7);
    ks.lens[ks.n++] = 7;
    ks.lens[ks.n++] = 0;
    memcpy(ks.keys[ks.n], "star*[x]?", 9);
    ks.lens[ks.n++] = 9;
    for (size_t i = 0; i < ks.n; i++) {
        OK(nyc_set(c, ks.keys[i], ks.lens[i], S("v"), 0));
    }
    CHECK(stats_of(c).entries == ks.n);

    /* Every key exactly once, for several step sizes (no concurrent writes). */
    static const size_t counts[] = {0, 1, 7, 100, 100000};
    for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
        CHECK(full_scan(c, NULL, counts[ci], &ks) == 0);
        for (size_t i = 0; i < ks.n; i++) {
            if (ks.seen[i] != 1) {
                fprintf(stderr, "count %zu: key %zu seen %d times\n", counts[ci], i, ks.seen[i]);
            }
            CHECK(ks.seen[i] == 1);
        }
    }
    /* "*" is all keys too, the empty one included. */
    CHECK(full_scan(c, "*", 50, &ks) == 0);
    for (size_t i = 0; i < ks.n; i++) CHECK(ks.seen[i] == 1);

    /* A glob returns exactly the matching keys. */
    CHECK(full_scan(c, "user:*", 50, &ks) == 0);
    for (size_t i = 0; i < ks.n; i++) {
        CHECK(ks.seen[i] == (strncmp(ks.keys[i], "user:", 5) == 0 && ks.lens[i] > 0 ? 1 : 0));
    }
    CHECK(full_scan(c, "user:1?", 50, &ks) == 0);
    size_t total = 0;
    for (size_t i = 0; i < ks.n; i++) total += (size_t)ks.seen[i];
    CHECK(total == 10); /* user:10 .. user:19 */
    CHECK(full_scan(c, "order:[0-2]", 50, &ks) == 0);
    total = 0;
    for (size_t i = 0; i < ks.n; i++) total += (size_t)ks.seen[i];
    CHECK(total == 3);
    CHECK(full_scan(c, "star\\*\\[x]\\?", 50, &ks) == 0);
    CHECK(ks.seen[ks.n - 1] == 1);
    total = 0;
    for (size_t i = 0; i < ks.n; i++) total += (size_t)ks.seen[i];
    CHECK(total == 1);
    CHECK(full_scan(c, "[^u]*", 50, &ks) == 0); /* negated class: not user:* */
    total = 0;
    for (size_t i = 0; i < ks.n; i++) total += (size_t)ks.seen[i];
    CHECK(total == 150 + 2); /* order:*, bin\0key, star*[x]? (not the empty key) */
    CHECK(full_scan(c, "nomatch*", 50, &ks) == 0);
    for (size_t i = 0; i < ks.n; i++) CHECK(ks.seen[i] == 0);

    /* A cursor this cache never returned: INVALID_ARGUMENT, outs untouched. */
    uint64_t next = 77;
    nyc_array *a = SENTINEL;
    CHECK_ST(nyc_scan(c, UINT64_MAX, NULL, 10, &next, &a), NYC_INVALID_ARGUMENT);
    CHECK(contains(nyc_last_error(), "cursor"));
    CHECK(next == 77 && a == SENTINEL);
    CHECK_ST(nyc_scan(c, (uint64_t)4 << 32, NULL, 10, &next, &a), NYC_INVALID_ARGUMENT);
    CHECK(next == 77 && a == SENTINEL);

    /* After flush, nothing. */
    OK(nyc_flush(c));
    CHECK(stats_of(c).entries == 0);
    CHECK(full_scan(c, NULL, 100, &ks) == 0);
    for (size_t i = 0; i < ks.n; i++) CHECK(ks.seen[i] == 0);
    nyc_close(c);
}

static void test_stats_and_metrics(void) {
    nyc_cache *c = open_cache("max_memory=4MiB shards=2");
    nyc_cache_stats s = stats_of(c);
    CHECK(s.hits == 0 && s.misses == 0 && s.sets == 0 && s.deletes == 0);
    CHECK(s.evictions == 0 && s.expirations == 0 && s.entries == 0);
    CHECK(s.used_bytes == 0);
    CHECK(s.max_bytes > 0 && s.max_bytes <= 4u * 1024 * 1024);
    CHECK(s.shards == 2);

    char buf[16];
    size_t len;
    OK(nyc_set(c, S("a"), S("1"), 0));
    OK(nyc_set(c, S("b"), S("2"), 0));
    s = stats_of(c);
    CHECK(s.sets == 2 && s.entries == 2 && s.used_bytes > 0);
    uint64_t used2 = s.used_bytes;
    OK(nyc_get(c, S("a"), buf, sizeof buf, &len));
    OK(nyc_get(c, S("b"), buf, sizeof buf, &len));
    CHECK_ST(nyc_get(c, S("nope"), buf, sizeof buf, &len), NYC_NOT_FOUND);
    s = stats_of(c);
    CHECK(s.hits == 2 && s.misses == 1);
    OK(nyc_delete(c, S("a")));
    s = stats_of(c);
    CHECK(s.deletes == 1 && s.entries == 1 && s.used_bytes < used2);
    OK(nyc_add(c, S("c"), S("3"), 0));
    OK(nyc_incr(c, S("c"), 1, NULL));
    s = stats_of(c);
    CHECK(s.sets == 4 && s.entries == 2);
    /* Each key of a batch counts: mget (2 hits, 1 miss), mset (2 sets). */
    nyc_slice bk[3] = {{"b", 1}, {"c", 1}, {"zz", 2}};
    nyc_slice bv[2] = {{"x", 1}, {"y", 1}};
    nyc_value *bo[3];
    OK(nyc_mget(c, bk, 3, bo));
    for (int i = 0; i < 3; i++) nyc_value_free(bo[i]);
    OK(nyc_mset(c, bk, bv, 2, 0));
    s = stats_of(c);
    CHECK(s.hits == 4 && s.misses == 2 && s.sets == 6);
    /* exists is not a read: no hit, no miss. */
    OK(nyc_exists(c, S("b")));
    CHECK_ST(nyc_exists(c, S("zz")), NYC_NOT_FOUND);
    s = stats_of(c);
    CHECK(s.hits == 4 && s.misses == 2);

    /* Evictions: write far more than a 1 MiB cache holds. */
    nyc_cache *small = open_cache("max_memory=1MiB shards=1");
    char val[1000];
    memset(val, 'e', sizeof val);
    for (int i = 0; i < 3000; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "e%d", i);
        OK(nyc_set(small, k, (size_t)kl, val, sizeof val, 0));
    }
    nyc_cache_stats ss = stats_of(small);
    CHECK(ss.evictions > 0);
    CHECK(ss.entries < 3000 && ss.entries + ss.evictions == 3000);
    CHECK(ss.used_bytes <= ss.max_bytes);
    nyc_close(small);

    /* Compression saves bytes on a compressible value. */
    nyc_cache *z = open_cache("max_memory=4MiB compress_min=64");
    char page[8192];
    for (size_t i = 0; i < sizeof page; i++) page[i] = "abcdefgh"[i % 8];
    OK(nyc_set(z, S("page"), page, sizeof page, 0));
    CHECK(stats_of(z).compressed_bytes_saved > 0);
    /* A compressed value reads back whole (decompressed into the buffer),
       reports its plain length when the buffer is too small, and comes out
       the same through a value handle. */
    static char back[sizeof page];
    size_t blen = 0;
    OK(nyc_get(z, S("page"), back, sizeof back, &blen));
    CHECK(blen == sizeof page && memcmp(back, page, sizeof page) == 0);
    blen = 0;
    CHECK_ST(nyc_get(z, S("page"), back, 100, &blen), NYC_BUFFER_TOO_SMALL);
    CHECK(blen == sizeof page);
    nyc_value *pv = NULL;
    OK(nyc_get_value(z, S("page"), &pv));
    CHECK(nyc_value_len(pv) == sizeof page && memcmp(nyc_value_data(pv), page, sizeof page) == 0);
    nyc_value_free(pv);
    /* The key may sit in the very buffer the value is copied into. */
    OK(nyc_set(z, S("shared-key"), "0123456789abcdef", 16, 0));
    char scratch[32];
    memcpy(scratch, "shared-key", 10);
    OK(nyc_get(z, scratch, 10, scratch, sizeof scratch, &blen));
    CHECK(blen == 16 && memcmp(scratch, "0123456789abcdef", 16) == 0);
    nyc_close(z);

    /* Metrics text: Prometheus format with the same numbers. */
    nyc_value *m = NULL;
    OK(nyc_metrics_text(c, &m));
    CHECK(m != NULL && nyc_value_len(m) > 0);
    size_t mlen = nyc_value_len(m);
    char *text = malloc(mlen + 1);
    CHECK(text != NULL);
    memcpy(text, nyc_value_data(m), mlen);
    text[mlen] = '\0';
    CHECK(strlen(text) == mlen); /* no NUL inside */
    CHECK(contains(text, "# TYPE nycache_hits_total counter"));
    CHECK(contains(text, "\nnycache_hits_total 4\n"));
    CHECK(contains(text, "\nnycache_misses_total 2\n"));
    CHECK(contains(text, "\nnycache_sets_total 6\n"));
    nyc_value_free(m);
    /* It is a snapshot: a new hit shows in a new text only. */
    OK(nyc_get(c, S("b"), buf, sizeof buf, &len));
    OK(nyc_metrics_text(c, &m));
    CHECK(nyc_value_len(m) > 0);
    free(text);
    mlen = nyc_value_len(m);
    text = malloc(mlen + 1);
    CHECK(text != NULL);
    memcpy(text, nyc_value_data(m), mlen);
    text[mlen] = '\0';
    CHECK(contains(text, "\nnycache_hits_total 5\n"));
    nyc_value_free(m);
    free(text);

    OK(nyc_flush(c));
    s = stats_of(c);
    CHECK(s.entries == 0 && s.used_bytes == 0);
    nyc_close(c);
}

static void test_last_error_lifetime(void) {
    nyc_cache *c = open_cache("max_memory=4MiB");
    CHECK_ST(nyc_delete(c, S("missing")), NYC_NOT_FOUND);
    const char *e = nyc_last_error();
    CHECK(contains(e, "not found"));
    /* Successful calls leave the text alone. */
    OK(nyc_set(c, S("k"), S("v"), 0));
    CHECK(strcmp(nyc_last_error(), e) == 0);
    CHECK(contains(nyc_last_error(), "not found"));
    /* The next failure replaces it. */
    CHECK_ST(nyc_add(c, S("k"), S("v"), 0), NYC_EXISTS);
    CHECK(!contains(nyc_last_error(), "not found"));
    CHECK(strlen(nyc_last_error()) > 0);
    nyc_close(c);
}

int main(void) {
    test_last_error_starts_empty();
    test_status_names_and_version();
    test_open_and_config();
    test_null_handle_everywhere();
    test_null_pointers_and_out_params();
    test_limits();
    test_get_buffers();
    test_add_replace_cas();
    test_incr();
    test_ttl_expire_persist_touch();
    test_value_handles();
    test_empty_keys_and_values();
    test_batches();
    test_packed_batches();
    test_scan();
    test_stats_and_metrics();
    test_last_error_lifetime();
    printf("test_api: all %lu checks passed (nycache %s)\n", checks, nyc_version());
    return 0;
}
