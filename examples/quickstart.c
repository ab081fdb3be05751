/*
 * nycache from C: open a cache, store and read values, use a TTL, a counter
 * and a value handle, then print the stats.
 *
 * Build: cc -std=c11 examples/quickstart.c $(pkg-config --cflags --libs nycache)
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <nycache.h>

/* Prints the failed call and the library's message, then exits non-zero. */
#define TRY(call)                                                          \
    do {                                                                   \
        nyc_status st_ = (call);                                           \
        if (st_ != NYC_OK) {                                               \
            fprintf(stderr, "%s failed: %s (%s)\n", #call,                 \
                    nyc_status_name((int)st_), nyc_last_error());          \
            return 1;                                                      \
        }                                                                  \
    } while (0)

int main(void) {
    nyc_cache *cache = NULL;
    TRY(nyc_open("max_memory=64MiB compress_min=1024", &cache));
    printf("nycache %s\n", nyc_version());

    /* set / get: keys and values are (pointer, length) byte ranges. */
    const char *key = "greeting", *val = "hello, world";
    TRY(nyc_set(cache, key, strlen(key), val, strlen(val), 0));
    char buf[64];
    size_t len = 0;
    TRY(nyc_get(cache, key, strlen(key), buf, sizeof buf, &len));
    printf("greeting = %.*s\n", (int)len, buf);

    /* A TTL in milliseconds (0 = never expires). */
    const char *session = "session:42", *data = "{\"user\": \"ada\"}";
    TRY(nyc_set(cache, session, strlen(session), data, strlen(data), 30000));
    int64_t ms = 0;
    TRY(nyc_ttl(cache, session, strlen(session), &ms));
    printf("session:42 expires in %" PRId64 " ms\n", ms);

    /* A counter. */
    const char *counter = "page_views";
    int64_t views = 0;
    for (int i = 0; i < 3; i++) TRY(nyc_incr(cache, counter, strlen(counter), 1, &views));
    printf("page_views = %" PRId64 "\n", views);

    /* A value handle: no copy, valid until freed, even after an overwrite. */
    nyc_value *v = NULL;
    TRY(nyc_get_value(cache, key, strlen(key), &v));
    TRY(nyc_set(cache, key, strlen(key), "bye", 3, 0));
    printf("handle still reads: %.*s\n", (int)nyc_value_len(v), (const char *)nyc_value_data(v));
    nyc_value_free(v);

    /* A missing key is NYC_NOT_FOUND, not an error to abort on. */
    if (nyc_get(cache, "nope", 4, buf, sizeof buf, &len) == NYC_NOT_FOUND) {
        printf("nope: not found\n");
    }

    nyc_cache_stats s;
    TRY(nyc_stats(cache, &s));
    printf("stats: hits=%" PRIu64 " misses=%" PRIu64 " entries=%" PRIu64
           " used_bytes=%" PRIu64 "\n",
           s.hits, s.misses, s.entries, s.used_bytes);

    nyc_close(cache);
    return 0;
}
