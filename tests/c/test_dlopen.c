/*
 * tests/c/test_dlopen.c -- loads the shared library at run time, the way
 * plugin hosts and FFI runtimes (Python ctypes/cffi, JNI, ...) do:
 *
 *   ./test_dlopen path/to/libnycache.so
 *
 * It is not linked with -lnycache. dlopen with RTLD_NOW|RTLD_LOCAL must
 * succeed -- this catches, among others, "cannot allocate memory in static
 * TLS block" (a library using initial-exec TLS, e.g. a bundled allocator,
 * loaded after program start). The symbols are resolved with dlsym and a
 * few operations are checked. Exit status 0 on success, 1 on any failure.
 */

#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nycache.h"

static int failures;

#define CHECK(expr)                                                      \
    do {                                                                 \
        if (!(expr)) {                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #expr);                                              \
            failures++;                                                  \
            goto done;                                                   \
        }                                                                \
    } while (0)

/* The types of the functions used, from the header's declarations. */
typedef nyc_status (*open_fn)(const char *, nyc_cache **);
typedef nyc_status (*set_fn)(const nyc_cache *, const void *, size_t, const void *, size_t,
                             uint64_t);
typedef nyc_status (*get_fn)(const nyc_cache *, const void *, size_t, void *, size_t, size_t *);
typedef void (*close_fn)(nyc_cache *);
typedef const char *(*text_fn)(void);
typedef const char *(*name_fn)(int);

/* dlsym returns void *; ISO C has no conversion to a function pointer,
 * so copy the bits (POSIX guarantees they are the same size). */
static void *must_sym(void *lib, const char *name) {
    dlerror();
    void *p = dlsym(lib, name);
    const char *err = dlerror();
    if (p == NULL || err != NULL) {
        fprintf(stderr, "dlsym(%s) failed: %s\n", name, err ? err : "NULL symbol");
        exit(1);
    }
    return p;
}

#define RESOLVE(var, type, name)            \
    do {                                    \
        void *p_ = must_sym(lib, name);     \
        memcpy(&(var), &p_, sizeof(var));   \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s path/to/libnycache.so\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen(%s) failed: %s\n", argv[1], dlerror());
        return 1;
    }

    open_fn nyc_open_p;
    set_fn nyc_set_p;
    get_fn nyc_get_p;
    close_fn nyc_close_p;
    text_fn nyc_last_error_p, nyc_version_p;
    name_fn nyc_status_name_p;
    RESOLVE(nyc_open_p, open_fn, "nyc_open");
    RESOLVE(nyc_set_p, set_fn, "nyc_set");
    RESOLVE(nyc_get_p, get_fn, "nyc_get");
    RESOLVE(nyc_close_p, close_fn, "nyc_close");
    RESOLVE(nyc_last_error_p, text_fn, "nyc_last_error");
    RESOLVE(nyc_version_p, text_fn, "nyc_version");
    RESOLVE(nyc_status_name_p, name_fn, "nyc_status_name");

    nyc_cache *c = NULL;
    char buf[64];
    size_t len = 0;
    char want[32];

    snprintf(want, sizeof want, "%d.%d.%d", NYC_VERSION_MAJOR, NYC_VERSION_MINOR,
             NYC_VERSION_PATCH);
    CHECK(strcmp(nyc_version_p(), want) == 0);
    CHECK(strcmp(nyc_last_error_p(), "") == 0);
    CHECK(strcmp(nyc_status_name_p(NYC_NOT_FOUND), "NYC_NOT_FOUND") == 0);

    /* A bad config fails with a message naming the key. */
    CHECK(nyc_open_p("no_such_key=1", &c) == NYC_INVALID_ARGUMENT);
    CHECK(c == NULL);
    CHECK(strstr(nyc_last_error_p(), "no_such_key") != NULL);

    CHECK(nyc_open_p("max_memory=4MiB", &c) == NYC_OK);
    CHECK(c != NULL);
    CHECK(nyc_set_p(c, "greeting", 8, "hello from dlopen", 17, 0) == NYC_OK);
    CHECK(nyc_get_p(c, "greeting", 8, buf, sizeof buf, &len) == NYC_OK);
    CHECK(len == 17 && memcmp(buf, "hello from dlopen", 17) == 0);
    CHECK(nyc_get_p(c, "missing", 7, buf, sizeof buf, &len) == NYC_NOT_FOUND);
    CHECK(strlen(nyc_last_error_p()) > 0);
    CHECK(nyc_get_p(c, "greeting", 8, buf, 4, &len) == NYC_BUFFER_TOO_SMALL);
    CHECK(len == 17);

done:
    nyc_close_p(c); /* NULL is a no-op */
    /* Unloading must be clean too (no crash at dlclose or at exit). */
    if (dlclose(lib) != 0) {
        fprintf(stderr, "dlclose failed: %s\n", dlerror());
        failures++;
    }
    if (failures) return 1;
    printf("test_dlopen: %s loaded with RTLD_NOW|RTLD_LOCAL, nycache %s OK\n", argv[1], want);
    return 0;
}
