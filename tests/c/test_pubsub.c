/*
 * tests/c/test_pubsub.c -- pub/sub through the C API.
 *
 *  1. A queue subscription: its descriptor is readable exactly while
 *     messages wait (poll with a zero timeout), drain returns channel/data
 *     pairs, a full queue drops its oldest message and counts it.
 *  2. A callback subscription: called on the publishing thread, with the
 *     pattern that matched; it publishes from inside itself (re-entrancy)
 *     and unsubscribes itself.
 *  3. Keyspace events (notify_keyspace_events=KEA) on reserved channels.
 *  4. A reader thread blocked in poll() on the descriptor, woken by a
 *     publisher thread.
 *  5. Threads publishing while the main thread subscribes and unsubscribes
 *     over and over: once nyc_unsubscribe returns, its callback is never
 *     called again.
 *  6. A subscription outlives its cache.
 *
 * Kept small so it also runs under valgrind.
 */

#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nycache.h"

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

#define CHECK_ST(call, want)                                                 \
    do {                                                                     \
        nyc_status st_ = (call);                                             \
        atomic_fetch_add(&checks, 1);                                        \
        if (st_ != (want)) {                                                 \
            fprintf(stderr, "%s:%d: %s\n  returned %s, expected %s\n"        \
                            "  nyc_last_error(): %s\n",                      \
                    __FILE__, __LINE__, #call, nyc_status_name((int)st_),    \
                    nyc_status_name((int)(want)), nyc_last_error());         \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define OK(call) CHECK_ST(call, NYC_OK)
#define S(lit) (lit), (sizeof(lit) - 1)

static bool readable(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    int n = poll(&p, 1, timeout_ms);
    CHECK(n >= 0);
    return n == 1 && (p.revents & POLLIN);
}

static bool item_is(const nyc_array *a, size_t i, const char *want) {
    size_t len = nyc_array_item_len(a, i);
    return len == strlen(want) && memcmp(nyc_array_item_data(a, i), want, len) == 0;
}

static void test_queue(void) {
    nyc_cache *c = NULL;
    OK(nyc_open("maintenance_ms=0", &c));
    nyc_subscription *q = NULL, *exact = NULL;
    OK(nyc_subscribe(c, S("news.*"), 1, 3, &q));
    OK(nyc_subscribe(c, S("news.a"), 0, 0, &exact));
    int fd = nyc_subscription_fd(q);
    CHECK(fd >= 0);
    CHECK(!readable(fd, 0));

    nyc_array *a = NULL;
    CHECK_ST(nyc_subscription_drain(q, 0, &a), NYC_NOT_FOUND);
    CHECK(a == NULL);

    size_t n = 99;
    OK(nyc_publish(c, S("news.a"), S("one"), &n));
    CHECK(n == 2);
    OK(nyc_publish(c, S("sport.a"), S("none"), &n));
    CHECK(n == 0);
    CHECK(readable(fd, 0));
    OK(nyc_publish(c, S("news.b"), S("two"), NULL));
    CHECK(nyc_subscription_pending(q) == 2);

    OK(nyc_subscription_drain(q, 1, &a));
    CHECK(nyc_array_count(a) == 2);
    CHECK(item_is(a, 0, "news.a") && item_is(a, 1, "one"));
    nyc_array_free(a);
    CHECK(readable(fd, 0)); /* one still waits */
    OK(nyc_subscription_drain(q, 0, &a));
    CHECK(nyc_array_count(a) == 2);
    CHECK(item_is(a, 0, "news.b") && item_is(a, 1, "two"));
    nyc_array_free(a);
    CHECK(!readable(fd, 0));

    /* Overflow: capacity 3, five messages: the oldest two go. */
    const char *msgs[] = {"m0", "m1", "m2", "m3", "m4"};
    for (int i = 0; i < 5; i++) {
        OK(nyc_publish(c, S("news.z"), msgs[i], 2, &n));
        CHECK(n == 1);
    }
    CHECK(nyc_subscription_dropped(q) == 2);
    CHECK(nyc_subscription_pending(q) == 3);
    OK(nyc_subscription_drain(q, 0, &a));
    CHECK(nyc_array_count(a) == 6);
    CHECK(item_is(a, 1, "m2") && item_is(a, 3, "m3") && item_is(a, 5, "m4"));
    nyc_array_free(a);
    CHECK(!readable(fd, 0));

    /* The exact subscription got only its channel. */
    OK(nyc_subscription_drain(exact, 0, &a));
    CHECK(nyc_array_count(a) == 2 && item_is(a, 1, "one"));
    nyc_array_free(a);
    CHECK(nyc_subscription_dropped(exact) == 0);

    /* Bad input is a status. */
    CHECK_ST(nyc_subscribe(c, NULL, 3, 0, 0, &q), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_subscribe(c, S("x"), 0, 0, NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_publish(NULL, S("x"), S("y"), NULL), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_subscription_drain(NULL, 0, &a), NYC_INVALID_ARGUMENT);
    CHECK(nyc_subscription_fd(NULL) == -1);
    CHECK(nyc_subscription_dropped(NULL) == 0);

    nyc_unsubscribe(exact);
    OK(nyc_publish(c, S("news.a"), S("later"), &n));
    CHECK(n == 1);
    nyc_unsubscribe(q);
    nyc_unsubscribe(NULL);
    OK(nyc_publish(c, S("news.a"), S("nobody"), &n));
    CHECK(n == 0);
    nyc_close(c);
}

/* Callback state: a cache to publish into, a count, and the subscription
 * itself (so the callback can unsubscribe it). */
struct cb_state {
    nyc_cache *cache;
    pthread_t thread;
    atomic_int calls;
    int saw_pattern;
    nyc_subscription *self;
};

static void on_message(void *user, const void *channel, size_t channel_len, const void *pattern,
                       size_t pattern_len, const void *data, size_t data_len) {
    struct cb_state *st = user;
    CHECK(pthread_equal(pthread_self(), st->thread));
    atomic_fetch_add(&st->calls, 1);
    if (pattern != NULL && pattern_len == 4 && memcmp(pattern, "cb.*", 4) == 0) st->saw_pattern++;
    if (channel_len == 7 && memcmp(channel, "cb.ping", 7) == 0) {
        /* Re-entrant: publish to ourselves and to a queue. */
        size_t n = 0;
        OK(nyc_publish(st->cache, S("cb.pong"), data, data_len, &n));
        CHECK(n == 1);
        OK(nyc_publish(st->cache, S("out"), data, data_len, &n));
        CHECK(n == 1);
    }
    if (channel_len == 7 && memcmp(channel, "cb.stop", 7) == 0) {
        nyc_unsubscribe(st->self);
        st->self = NULL;
    }
}

static void test_callback(void) {
    struct cb_state st = {.thread = pthread_self()};
    atomic_init(&st.calls, 0);
    OK(nyc_open("maintenance_ms=0", &st.cache));
    nyc_subscription *out = NULL;
    OK(nyc_subscribe(st.cache, S("out"), 0, 0, &out));
    OK(nyc_subscribe_callback(st.cache, S("cb.*"), 1, on_message, &st, NULL, &st.self));
    CHECK(nyc_subscription_fd(st.self) == -1);
    nyc_array *a = NULL;
    CHECK_ST(nyc_subscription_drain(st.self, 0, &a), NYC_INVALID_ARGUMENT);
    CHECK_ST(nyc_subscribe_callback(st.cache, S("x"), 0, NULL, NULL, NULL, &out), NYC_INVALID_ARGUMENT);

    size_t n = 0;
    OK(nyc_publish(st.cache, S("cb.ping"), S("hello"), &n));
    CHECK(n == 1);
    CHECK(atomic_load(&st.calls) == 2 && st.saw_pattern == 2);
    OK(nyc_subscription_drain(out, 0, &a));
    CHECK(nyc_array_count(a) == 2 && item_is(a, 1, "hello"));
    nyc_array_free(a);

    OK(nyc_publish(st.cache, S("cb.stop"), S(""), &n));
    CHECK(n == 1 && st.self == NULL);
    OK(nyc_publish(st.cache, S("cb.ping"), S("gone"), &n));
    CHECK(n == 0 && atomic_load(&st.calls) == 3);
    nyc_unsubscribe(out);
    nyc_close(st.cache);
}

static void test_keyspace(void) {
    nyc_cache *c = NULL;
    OK(nyc_open("maintenance_ms=0 notify_keyspace_events=KEA", &c));
    nyc_subscription *space = NULL, *ev = NULL;
    OK(nyc_subscribe(c, S("__keyspace__:k"), 0, 0, &space));
    OK(nyc_subscribe(c, S("__keyevent__:*"), 1, 0, &ev));
    OK(nyc_set(c, S("k"), S("v"), 0));
    OK(nyc_delete(c, S("k")));
    nyc_array *a = NULL;
    OK(nyc_subscription_drain(space, 0, &a));
    CHECK(nyc_array_count(a) == 4);
    CHECK(item_is(a, 0, "__keyspace__:k") && item_is(a, 1, "set"));
    CHECK(item_is(a, 2, "__keyspace__:k") && item_is(a, 3, "del"));
    nyc_array_free(a);
    OK(nyc_subscription_drain(ev, 0, &a));
    CHECK(nyc_array_count(a) == 4);
    CHECK(item_is(a, 0, "__keyevent__:set") && item_is(a, 1, "k"));
    CHECK(item_is(a, 2, "__keyevent__:del") && item_is(a, 3, "k"));
    nyc_array_free(a);
    nyc_unsubscribe(space);
    nyc_unsubscribe(ev);
    nyc_close(c);

    CHECK_ST(nyc_open("notify_keyspace_events=KZ", &c), NYC_INVALID_ARGUMENT);
    CHECK(strstr(nyc_last_error(), "notify_keyspace_events") != NULL);
}

#define WAKEUPS 50

struct reader {
    nyc_subscription *sub;
    int got;
};

static void *read_until_done(void *arg) {
    struct reader *r = arg;
    int fd = nyc_subscription_fd(r->sub);
    while (r->got < WAKEUPS) {
        CHECK(readable(fd, 10000)); /* woken by the publisher, not a timeout */
        nyc_array *a = NULL;
        OK(nyc_subscription_drain(r->sub, 0, &a));
        r->got += (int)(nyc_array_count(a) / 2);
        nyc_array_free(a);
    }
    return NULL;
}

static void test_poll_thread(void) {
    nyc_cache *c = NULL;
    OK(nyc_open("maintenance_ms=0", &c));
    struct reader r = {0};
    OK(nyc_subscribe(c, S("wake"), 0, WAKEUPS, &r.sub));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, read_until_done, &r) == 0);
    for (int i = 0; i < WAKEUPS; i++) {
        OK(nyc_publish(c, S("wake"), S("up"), NULL));
        if (i % 8 == 0) sched_yield();
    }
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(r.got == WAKEUPS && nyc_subscription_dropped(r.sub) == 0);
    nyc_unsubscribe(r.sub);
    nyc_close(c);
}

#define PUBLISHERS 3
#define ROUNDS 100

static atomic_bool stop;

static void *publish_until_stopped(void *arg) {
    nyc_cache *c = arg;
    unsigned long i = 0;
    while (!atomic_load(&stop)) {
        char chan[16];
        int len = snprintf(chan, sizeof chan, "t.%lu", i++ % 3);
        OK(nyc_publish(c, chan, (size_t)len, S("payload"), NULL));
    }
    return NULL;
}

static void count_call(void *user, const void *channel, size_t channel_len, const void *pattern,
                       size_t pattern_len, const void *data, size_t data_len) {
    (void)channel, (void)channel_len, (void)pattern, (void)pattern_len, (void)data, (void)data_len;
    atomic_fetch_add((atomic_int *)user, 1);
}

static void test_unsubscribe_while_publishing(void) {
    nyc_cache *c = NULL;
    OK(nyc_open("maintenance_ms=0", &c));
    atomic_store(&stop, false);
    pthread_t pubs[PUBLISHERS];
    for (int i = 0; i < PUBLISHERS; i++) CHECK(pthread_create(&pubs[i], NULL, publish_until_stopped, c) == 0);
    for (int round = 0; round < ROUNDS; round++) {
        atomic_int *calls = malloc(sizeof *calls);
        CHECK(calls != NULL);
        atomic_init(calls, 0);
        nyc_subscription *cb = NULL, *q = NULL;
        OK(nyc_subscribe_callback(c, S("t.*"), 1, count_call, calls, NULL, &cb));
        OK(nyc_subscribe(c, S("t.1"), 0, 4, &q));
        sched_yield();
        nyc_unsubscribe(cb);
        int after = atomic_load(calls);
        nyc_unsubscribe(q);
        for (int i = 0; i < 10; i++) sched_yield();
        CHECK(atomic_load(calls) == after);
        /* Freed right away: valgrind/ASan catch a callback called later. */
        free(calls);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < PUBLISHERS; i++) CHECK(pthread_join(pubs[i], NULL) == 0);
    nyc_close(c);
}

static void test_outlives_cache(void) {
    nyc_cache *c = NULL;
    OK(nyc_open("maintenance_ms=0", &c));
    nyc_subscription *q = NULL;
    OK(nyc_subscribe(c, S("c"), 0, 0, &q));
    OK(nyc_publish(c, S("c"), S("kept"), NULL));
    nyc_close(c);
    CHECK(readable(nyc_subscription_fd(q), 0));
    nyc_array *a = NULL;
    OK(nyc_subscription_drain(q, 0, &a));
    CHECK(nyc_array_count(a) == 2 && item_is(a, 1, "kept"));
    nyc_array_free(a);
    CHECK_ST(nyc_subscription_drain(q, 0, &a), NYC_NOT_FOUND);
    nyc_unsubscribe(q);
}

/* ---- free_user_data: the library releases a callback's state ---- */

static atomic_int freed;
static atomic_bool b_running, b_release;
static nyc_subscription *sub_b;

static void count_free(void *user) {
    (void)user;
    atomic_fetch_add(&freed, 1);
}

/* B's callback: holds its delivery open until told to finish. */
static void b_slow(void *user, const void *channel, size_t channel_len, const void *pattern,
                   size_t pattern_len, const void *data, size_t data_len) {
    (void)user, (void)channel, (void)channel_len, (void)pattern, (void)pattern_len, (void)data, (void)data_len;
    atomic_store(&b_running, true);
    while (!atomic_load(&b_release)) sched_yield();
}

/* A's callback: unsubscribes B, from inside a callback (so it does not wait). */
static void a_closes_b(void *user, const void *channel, size_t channel_len, const void *pattern,
                       size_t pattern_len, const void *data, size_t data_len) {
    (void)user, (void)channel, (void)channel_len, (void)pattern, (void)pattern_len, (void)data, (void)data_len;
    nyc_unsubscribe(sub_b);
    sub_b = NULL;
}

static void *publish_b(void *cache) {
    size_t n = 0;
    OK(nyc_publish(cache, S("b"), S("m"), &n));
    CHECK(n == 1);
    return NULL;
}

static void test_free_user_data(void) {
    nyc_cache *c = NULL;
    OK(nyc_open("maintenance_ms=0", &c));
    nyc_subscription *s = NULL;
    /* A failed subscribe releases user_data before returning. */
    atomic_store(&freed, 0);
    CHECK_ST(nyc_subscribe_callback(c, S("x"), 0, NULL, NULL, count_free, &s), NYC_INVALID_ARGUMENT);
    CHECK(atomic_load(&freed) == 1);
    CHECK_ST(nyc_subscribe_callback(NULL, S("x"), 0, count_call, NULL, count_free, &s), NYC_INVALID_ARGUMENT);
    CHECK(atomic_load(&freed) == 2);
    /* A plain unsubscribe releases it once. */
    atomic_store(&freed, 0);
    atomic_int calls;
    atomic_init(&calls, 0);
    OK(nyc_subscribe_callback(c, S("x"), 0, count_call, &calls, count_free, &s));
    OK(nyc_publish(c, S("x"), S("m"), NULL));
    CHECK(atomic_load(&freed) == 0);
    nyc_unsubscribe(s);
    CHECK(atomic_load(&freed) == 1 && atomic_load(&calls) == 1);

    /* B's callback is running on another thread when A's callback
     * unsubscribes B: B's state is released only when that call returns. */
    atomic_store(&freed, 0);
    atomic_store(&b_running, false);
    atomic_store(&b_release, false);
    nyc_subscription *a = NULL;
    OK(nyc_subscribe_callback(c, S("b"), 0, b_slow, NULL, count_free, &sub_b));
    OK(nyc_subscribe_callback(c, S("a"), 0, a_closes_b, NULL, NULL, &a));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, publish_b, c) == 0);
    while (!atomic_load(&b_running)) sched_yield();
    OK(nyc_publish(c, S("a"), S("close b"), NULL)); /* returns: it did not wait for B */
    CHECK(sub_b == NULL);
    CHECK(atomic_load(&freed) == 0); /* B's callback still runs: not released */
    atomic_store(&b_release, true);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(atomic_load(&freed) == 1); /* released by the delivering thread */
    size_t n = 9;
    OK(nyc_publish(c, S("b"), S("m"), &n));
    CHECK(n == 0);
    nyc_unsubscribe(a);
    nyc_close(c);
}

int main(void) {
    test_queue();
    test_callback();
    test_keyspace();
    test_poll_thread();
    test_unsubscribe_while_publishing();
    test_outlives_cache();
    test_free_user_data();
    printf("test_pubsub: %lu checks passed\n", (unsigned long)atomic_load(&checks));
    return 0;
}
