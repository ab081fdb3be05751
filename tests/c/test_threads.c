/*
 * tests/c/test_threads.c -- one nycache handle shared by several pthreads.
 *
 *  1. Mixed set/get/get_value/add/delete/incr/cas on overlapping keys from
 *     THREADS threads: every status must be one the operation may return,
 *     and every value read must be one some thread wrote whole (no torn or
 *     mixed values).
 *  2. A scan running while another thread inserts and deletes other keys
 *     and overwrites some: every key present for the whole scan (a fixed
 *     set never touched, and a set that is only overwritten) is returned
 *     at least once.
 *  3. Value handles read (and freed) on one thread after another thread
 *     overwrote, deleted and flushed the key.
 *  4. nyc_last_error() is per thread.
 *
 * Kept small (OPS operations per thread) so it also runs under valgrind.
 */

#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nycache.h"

#define THREADS 4
#define OPS 20000
#define HOT_KEYS 64

static atomic_ulong checks;

#define CHECK(expr)                                                          \
    do {                                                                     \
        atomic_fetch_add(&checks, 1);                                        \
        if (!(expr)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n  nyc_last_error(): %s\n", \
                    __FILE__, __LINE__, #expr, nyc_last_error());            \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/* Checks that status `st` is one of the listed ones (a bit mask). */
#define BIT(s) (1u << (unsigned)(s))
#define CHECK_IN(call, mask)                                                 \
    do {                                                                     \
        nyc_status st_ = (call);                                             \
        atomic_fetch_add(&checks, 1);                                        \
        if (!(BIT(st_) & (mask))) {                                          \
            fprintf(stderr, "%s:%d: %s\n  returned unexpected %s\n"          \
                            "  nyc_last_error(): %s\n",                      \
                    __FILE__, __LINE__, #call, nyc_status_name((int)st_),    \
                    nyc_last_error());                                       \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define OK(call) CHECK_IN(call, BIT(NYC_OK))

static nyc_cache *cache;

/* xorshift64*: a per-thread deterministic stream. */
static uint64_t next_rand(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

/* Values written by the mixed workload: either a decimal integer (from
 * incr, or set to a number) or a run of one letter whose length the letter
 * determines. Anything else read back is a torn or corrupted value. */
static size_t letter_len(char ch) { return 1 + (size_t)(ch - 'a') * 13; }

static bool well_formed(const char *p, size_t len) {
    if (len == 0) return false;
    if (p[0] >= 'a' && p[0] <= 'z') {
        if (len != letter_len(p[0])) return false;
        for (size_t i = 1; i < len; i++)
            if (p[i] != p[0]) return false;
        return true;
    }
    size_t i = (p[0] == '-') ? 1 : 0;
    if (i == len || len > 20) return false;
    for (; i < len; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    return true;
}

static void *mixed_worker(void *arg) {
    uint64_t seed = 0x9e3779b97f4a7c15ull * ((uint64_t)(uintptr_t)arg + 1);
    char letters[400];
    char buf[512];
    /* Per-thread last error: a fresh thread has none. */
    CHECK(strcmp(nyc_last_error(), "") == 0);

    for (int op = 0; op < OPS; op++) {
        uint64_t r = next_rand(&seed);
        char key[16];
        int klen = snprintf(key, sizeof key, "hot:%u", (unsigned)(r % HOT_KEYS));
        size_t kl = (size_t)klen;
        char ch = (char)('a' + (r >> 8) % 26);
        size_t vl = letter_len(ch);
        memset(letters, ch, vl);
        size_t len = 0;
        int64_t n = 0;
        uint64_t ver = 0;
        nyc_value *v = NULL;

        switch ((r >> 16) % 10) {
        case 0:
        case 1:
            OK(nyc_set(cache, key, kl, letters, vl, 0));
            break;
        case 2:
            CHECK_IN(nyc_add(cache, key, kl, letters, vl, 0), BIT(NYC_OK) | BIT(NYC_EXISTS));
            break;
        case 3: {
            nyc_status st = nyc_get(cache, key, kl, buf, sizeof buf, &len);
            CHECK(st == NYC_OK || st == NYC_NOT_FOUND);
            if (st == NYC_OK) CHECK(well_formed(buf, len));
            break;
        }
        case 4: {
            nyc_status st = nyc_get_value(cache, key, kl, &v);
            CHECK(st == NYC_OK || st == NYC_NOT_FOUND);
            if (st == NYC_OK) {
                CHECK(well_formed(nyc_value_data(v), nyc_value_len(v)));
                /* Someone may overwrite it now; the handle stays intact. */
                char copy[512];
                size_t cl = nyc_value_len(v);
                memcpy(copy, nyc_value_data(v), cl);
                OK(nyc_set(cache, key, kl, letters, vl, 0));
                CHECK(nyc_value_len(v) == cl && memcmp(nyc_value_data(v), copy, cl) == 0);
                nyc_value_free(v);
            }
            break;
        }
        case 5:
            CHECK_IN(nyc_delete(cache, key, kl), BIT(NYC_OK) | BIT(NYC_NOT_FOUND));
            break;
        case 6:
        case 7: {
            int64_t delta = (int64_t)(r >> 40) % 1000 - 500;
            nyc_status st = nyc_incr(cache, key, kl, delta, &n);
            CHECK(st == NYC_OK || st == NYC_NOT_A_NUMBER);
            if (st == NYC_NOT_A_NUMBER) CHECK(strlen(nyc_last_error()) > 0);
            break;
        }
        case 8: {
            nyc_status st = nyc_gets(cache, key, kl, buf, sizeof buf, &len, &ver);
            CHECK(st == NYC_OK || st == NYC_NOT_FOUND);
            if (st == NYC_OK) {
                CHECK(well_formed(buf, len));
                CHECK_IN(nyc_cas(cache, key, kl, letters, vl, 0, ver),
                         BIT(NYC_OK) | BIT(NYC_CAS_MISMATCH) | BIT(NYC_NOT_FOUND));
            }
            break;
        }
        default: {
            int64_t ms = 0;
            CHECK_IN(nyc_expire(cache, key, kl, 60000), BIT(NYC_OK) | BIT(NYC_NOT_FOUND));
            nyc_status st = nyc_ttl(cache, key, kl, &ms);
            CHECK(st == NYC_OK || st == NYC_NOT_FOUND);
            if (st == NYC_OK) CHECK(ms == -1 || (ms >= 0 && ms <= 60000));
            CHECK_IN(nyc_persist(cache, key, kl), BIT(NYC_OK) | BIT(NYC_NOT_FOUND));
            break;
        }
        }
    }
    return NULL;
}

/* ---- scan while another thread writes ---- */

#define FIXED 300
#define OVER 100 /* keys present throughout but overwritten during the scans */
#define SCANS 3

static atomic_bool scans_done;
static atomic_ulong churn_ops;

static void *churn_writer(void *arg) {
    (void)arg;
    uint64_t seed = 12345;
    char key[32];
    /* Bounded, so it ends even if the scanner is starved. */
    for (unsigned long i = 0; i < 60000 && !atomic_load(&scans_done); i++) {
        uint64_t r = next_rand(&seed);
        int kl = snprintf(key, sizeof key, "churn:%u", (unsigned)(r % 20000));
        if ((r & 0x700000) == 0) {
            /* Overwrite a key that stays present (new value, new size). */
            kl = snprintf(key, sizeof key, "over:%u", (unsigned)(r % OVER));
            OK(nyc_set(cache, key, (size_t)kl, "overwritten", (size_t)(1 + (r >> 40) % 11), 0));
        } else if (r & 0x10000) {
            OK(nyc_set(cache, key, (size_t)kl, "x", 1, 0));
        } else {
            CHECK_IN(nyc_delete(cache, key, (size_t)kl), BIT(NYC_OK) | BIT(NYC_NOT_FOUND));
        }
        atomic_fetch_add(&churn_ops, 1);
    }
    return NULL;
}

static int fixed_seen[FIXED];
static int over_seen[OVER];

static void *scanner(void *arg) {
    (void)arg;
    for (int round = 0; round < SCANS; round++) {
        memset(fixed_seen, 0, sizeof fixed_seen);
        memset(over_seen, 0, sizeof over_seen);
        uint64_t cursor = 0;
        unsigned long steps = 0;
        /* Let the writer get going before the first step. */
        while (round == 0 && atomic_load(&churn_ops) < 200) {
        }
        do {
            uint64_t next = 0;
            nyc_array *a = NULL;
            /* Half the rounds with a glob, half without. */
            OK(nyc_scan(cache, cursor, round % 2 ? "fixed:*" : NULL, 32, &next, &a));
            for (size_t i = 0; i < nyc_array_count(a); i++) {
                const char *p = nyc_array_item_data(a, i);
                size_t len = nyc_array_item_len(a, i);
                CHECK(p != NULL);
                if (len > 6 && memcmp(p, "fixed:", 6) == 0) {
                    char tmp[32];
                    CHECK(len < sizeof tmp);
                    memcpy(tmp, p, len);
                    tmp[len] = '\0';
                    int idx = atoi(tmp + 6);
                    CHECK(idx >= 0 && idx < FIXED);
                    fixed_seen[idx]++;
                } else {
                    CHECK(round % 2 == 0); /* the glob let only fixed:* through */
                    if (len > 5 && memcmp(p, "over:", 5) == 0) {
                        char tmp[32];
                        CHECK(len < sizeof tmp);
                        memcpy(tmp, p, len);
                        tmp[len] = '\0';
                        int idx = atoi(tmp + 5);
                        CHECK(idx >= 0 && idx < OVER);
                        over_seen[idx]++;
                    } else {
                        CHECK(len > 6 && memcmp(p, "churn:", 6) == 0);
                    }
                }
            }
            nyc_array_free(a);
            cursor = next;
            CHECK(++steps < 10000000ul);
            sched_yield(); /* give the writer a chance between steps */
        } while (cursor != 0);
        for (int i = 0; i < FIXED; i++) {
            if (fixed_seen[i] < 1) fprintf(stderr, "scan round %d missed fixed:%d\n", round, i);
            CHECK(fixed_seen[i] >= 1);
        }
        for (int i = 0; round % 2 == 0 && i < OVER; i++) {
            if (over_seen[i] < 1) fprintf(stderr, "scan round %d missed over:%d\n", round, i);
            CHECK(over_seen[i] >= 1);
        }
    }
    atomic_store(&scans_done, true);
    return NULL;
}

/* ---- value handles across threads ---- */

static nyc_value *shared_value;

static void *overwriter(void *arg) {
    (void)arg;
    OK(nyc_set(cache, "handle", 6, "second value", 12, 0));
    OK(nyc_delete(cache, "handle", 6));
    OK(nyc_set(cache, "handle", 6, "third", 5, 0));
    OK(nyc_flush(cache));
    return NULL;
}

static void *reader_and_freer(void *arg) {
    (void)arg;
    CHECK(nyc_value_len(shared_value) == 11);
    CHECK(memcmp(nyc_value_data(shared_value), "first value", 11) == 0);
    nyc_value_free(shared_value);
    shared_value = NULL;
    return NULL;
}

/* ---- per-thread last error ---- */

static void *fail_in_thread(void *arg) {
    (void)arg;
    CHECK(strcmp(nyc_last_error(), "") == 0);
    CHECK_IN(nyc_exists(cache, "nope", 4), BIT(NYC_NOT_FOUND));
    CHECK(strlen(nyc_last_error()) > 0);
    CHECK_IN(nyc_open("bogus_key=1", NULL), BIT(NYC_INVALID_ARGUMENT));
    return NULL;
}

static void run_threads(void *(*fn)(void *), int n) {
    pthread_t t[THREADS];
    for (int i = 0; i < n; i++) CHECK(pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i) == 0);
    for (int i = 0; i < n; i++) CHECK(pthread_join(t[i], NULL) == 0);
}

int main(void) {
    CHECK(nyc_open("max_memory=64MiB", &cache) == NYC_OK);

    /* 1. mixed workload */
    run_threads(mixed_worker, THREADS);
    nyc_cache_stats s;
    OK(nyc_stats(cache, &s));
    CHECK(s.entries <= HOT_KEYS);
    CHECK(s.sets > 0 && s.hits + s.misses > 0);
    /* Every hot key left holds a well-formed value. */
    for (unsigned i = 0; i < HOT_KEYS; i++) {
        char key[16], buf[512];
        size_t len = 0;
        int kl = snprintf(key, sizeof key, "hot:%u", i);
        nyc_status st = nyc_get(cache, key, (size_t)kl, buf, sizeof buf, &len);
        CHECK(st == NYC_OK || st == NYC_NOT_FOUND);
        if (st == NYC_OK) CHECK(len == 0 || well_formed(buf, len));
    }
    OK(nyc_flush(cache));

    /* 2. scan while writing */
    for (int i = 0; i < FIXED; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "fixed:%d", i);
        OK(nyc_set(cache, key, (size_t)kl, "f", 1, 0));
    }
    for (int i = 0; i < OVER; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "over:%d", i);
        OK(nyc_set(cache, key, (size_t)kl, "o", 1, 0));
    }
    /* Keys the writer will delete (and re-add) while the scans run. */
    for (int i = 0; i < 5000; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "churn:%d", i * 4);
        OK(nyc_set(cache, key, (size_t)kl, "c", 1, 0));
    }
    pthread_t w, sc;
    CHECK(pthread_create(&w, NULL, churn_writer, NULL) == 0);
    CHECK(pthread_create(&sc, NULL, scanner, NULL) == 0);
    CHECK(pthread_join(sc, NULL) == 0);
    CHECK(pthread_join(w, NULL) == 0);
    for (int i = 0; i < FIXED; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "fixed:%d", i);
        OK(nyc_exists(cache, key, (size_t)kl));
    }

    /* 3. value handles across threads */
    OK(nyc_set(cache, "handle", 6, "first value", 11, 0));
    OK(nyc_get_value(cache, "handle", 6, &shared_value));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, overwriter, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(nyc_value_len(shared_value) == 11);
    CHECK(memcmp(nyc_value_data(shared_value), "first value", 11) == 0);
    CHECK(pthread_create(&t, NULL, reader_and_freer, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(shared_value == NULL);

    /* 4. per-thread last error: this thread's text is not the other's. */
    CHECK_IN(nyc_add(cache, "k", 1, "v", 1, 0), BIT(NYC_OK));
    CHECK_IN(nyc_add(cache, "k", 1, "v", 1, 0), BIT(NYC_EXISTS));
    char mine[256];
    snprintf(mine, sizeof mine, "%s", nyc_last_error());
    CHECK(strlen(mine) > 0);
    CHECK(pthread_create(&t, NULL, fail_in_thread, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(strcmp(nyc_last_error(), mine) == 0);

    nyc_close(cache);
    printf("test_threads: all %lu checks passed (%d threads x %d ops, %lu concurrent writes "
           "during %d scans)\n",
           atomic_load(&checks), THREADS, OPS, atomic_load(&churn_ops), SCANS);
    return 0;
}
