// tests/cpp/test_cpp.cpp -- tests every public member of bindings/cpp/nycache.hpp.
//
//   g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp
//       tests/cpp/test_cpp.cpp -Ltarget/debug -lnycache -Wl,-rpath,$PWD/target/debug -o t && ./t

#include <nycache.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <poll.h>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_literals;
using nycache::Cache;
using nycache::Error;
using nycache::Value;

static unsigned long checks;

#define CHECK(expr)                                                                     \
    do {                                                                                \
        checks++;                                                                       \
        if (!(expr)) {                                                                  \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n  nyc_last_error(): %s\n",    \
                         __FILE__, __LINE__, #expr, nyc_last_error());                  \
            std::exit(1);                                                               \
        }                                                                               \
    } while (0)

// Checks that `stmt` throws nycache::Error with `want` status and a message
// containing `needle`.
#define CHECK_THROWS(stmt, want, needle)                                                \
    do {                                                                                \
        checks++;                                                                       \
        bool thrown_ = false;                                                           \
        try {                                                                           \
            stmt;                                                                       \
        } catch (const nycache::Error& e_) {                                            \
            thrown_ = true;                                                             \
            if (e_.status() != (want) || std::strstr(e_.what(), (needle)) == nullptr) { \
                std::fprintf(stderr, "%s:%d: %s threw %s \"%s\", expected %s with \"%s\"\n", \
                             __FILE__, __LINE__, #stmt, e_.status_name(), e_.what(),     \
                             nyc_status_name(want), (needle));                          \
                std::exit(1);                                                           \
            }                                                                           \
        }                                                                               \
        if (!thrown_) {                                                                 \
            std::fprintf(stderr, "%s:%d: %s did not throw\n", __FILE__, __LINE__, #stmt); \
            std::exit(1);                                                               \
        }                                                                               \
    } while (0)

static_assert(!std::is_copy_constructible_v<Cache> && !std::is_copy_assignable_v<Cache>);
static_assert(std::is_nothrow_move_constructible_v<Cache> &&
              std::is_nothrow_move_assignable_v<Cache>);
static_assert(!std::is_copy_constructible_v<Value> && !std::is_copy_assignable_v<Value>);
static_assert(std::is_nothrow_move_constructible_v<Value> &&
              std::is_nothrow_move_assignable_v<Value>);
static_assert(std::is_base_of_v<std::runtime_error, Error>);
static_assert(!std::is_convertible_v<const char*, Cache>, "the constructor is explicit");

static const std::string big_key(64 * 1024 + 1, 'k');

// ---- allocation-failure injection ----
// The global operator new is replaced so that a test can make the n-th
// allocation of this thread throw std::bad_alloc (fail_in = n; -1 = never).
// Under valgrind (which may substitute its own operator new) injection is
// inactive; injection_works() tells.
static thread_local long fail_in = -1;

static void* checked_alloc(std::size_t n) {
    if (fail_in >= 0 && fail_in-- == 0) throw std::bad_alloc();
    void* p = std::malloc(n ? n : 1);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

void* operator new(std::size_t n) { return checked_alloc(n); }
void* operator new[](std::size_t n) { return checked_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return checked_alloc(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
    return operator new(n, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

static bool injection_works() {
    fail_in = 0;
    bool threw = false;
    try {
        delete new int(1);
    } catch (const std::bad_alloc&) {
        threw = true;
    }
    fail_in = -1;
    return threw;
}

static void test_error_class() {
    Error e(NYC_TOO_LARGE, "TOO_LARGE: something");
    CHECK(e.status() == NYC_TOO_LARGE);
    CHECK(std::string(e.what()) == "TOO_LARGE: something");
    CHECK(std::string(e.status_name()) == "NYC_TOO_LARGE");
    Error empty(NYC_IO, "");
    CHECK(std::string(empty.what()) == "NYC_IO");
}

static void test_open() {
    Cache defaults;
    CHECK(static_cast<bool>(defaults));
    CHECK(defaults.handle() != nullptr);
    Cache from_literal{"max_memory=4MiB shards=2"};
    CHECK(from_literal.stats().shards == 2);
    const std::string cfg = "max_memory=2MiB shards=1";
    Cache from_string{cfg};
    CHECK(from_string.stats().shards == 1);
    CHECK(from_string.stats().max_bytes <= 2u * 1024 * 1024);

    CHECK_THROWS(Cache{"max_memory=4MiB bogus_key=1"}, NYC_INVALID_ARGUMENT, "bogus_key");
    CHECK_THROWS(Cache{"max_memory=plenty"}, NYC_INVALID_ARGUMENT, "max_memory");
    CHECK_THROWS(Cache{std::string("shards=3")}, NYC_INVALID_ARGUMENT, "shards");

    // A NUL byte in a std::string config is rejected, not silently cut
    // ("shards=2" alone would open fine).
    CHECK_THROWS(Cache{std::string("shards=2\0shards=3", 17)}, NYC_INVALID_ARGUMENT, "NUL");
    CHECK_THROWS(Cache{std::string("\0", 1)}, NYC_INVALID_ARGUMENT, "config");
}

static void test_set_get_and_friends() {
    Cache c{"max_memory=4MiB max_value_size=100000"};

    c.set("k", "v1");
    CHECK(c.get("k") == "v1"s);
    CHECK(!c.get("missing").has_value());

    // Binary data and empty keys/values.
    const std::string bin("a\0b\xff", 4);
    c.set(bin, bin);
    CHECK(c.get(bin) == bin);
    CHECK(!c.exists("a"));
    c.set("", "empty key");
    CHECK(c.get("") == "empty key"s);
    c.set("empty", "");
    CHECK(c.get("empty") == ""s);
    c.set(std::string_view{}, std::string_view{});  // (nullptr, 0) ranges
    CHECK(c.get("") == ""s);

    // A value longer than get's first buffer.
    const std::string big(50000, 'x');
    c.set("big", big);
    CHECK(c.get("big") == big);
    auto gb = c.gets("big");
    CHECK(gb && gb->value == big);

    // add / replace / cas
    CHECK(c.add("new", "a"));
    CHECK(!c.add("new", "b"));
    CHECK(c.get("new") == "a"s);
    CHECK(c.replace("new", "c"));
    CHECK(!c.replace("absent", "c"));
    CHECK(!c.exists("absent"));
    auto g = c.gets("new");
    CHECK(g && g->value == "c");
    CHECK(!c.gets("absent"));
    CHECK(c.cas("new", "d", g->version));
    CHECK(!c.cas("new", "e", g->version));  // mismatch
    CHECK(c.get("new") == "d"s);
    auto g2 = c.gets("new");
    CHECK(g2 && g2->version != g->version);
    CHECK(c.erase("new"));
    CHECK(!c.cas("new", "f", g2->version));  // gone
    CHECK(!c.exists("new"));

    // exists / touch / erase
    CHECK(c.exists("k"));
    CHECK(c.touch("k"));
    CHECK(!c.touch("absent"));
    CHECK(c.erase("k"));
    CHECK(!c.erase("k"));
    CHECK(!c.exists("k"));

    // Errors throw with the status and nyc_last_error()'s text.
    CHECK_THROWS(c.set(big_key, "v"), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.set("k", std::string(100001, 'v')), NYC_TOO_LARGE, "max_value_size");
    CHECK_THROWS(c.add(big_key, "v"), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.replace(big_key, "v"), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.cas(big_key, "v", 1), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.get(big_key), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.get_value(big_key), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.gets(big_key), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.exists(big_key), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.erase(big_key), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.touch(big_key), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.expire(big_key, 1s), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.persist(big_key), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.ttl(big_key), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.incr(big_key), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.set("k", "v", -1ms), NYC_INVALID_ARGUMENT, "negative TTL");
    CHECK(!c.exists("k"));
}

static void test_ttl() {
    Cache c{"max_memory=4MiB"};
    CHECK(!c.ttl("absent").has_value());
    c.set("p", "v");
    CHECK(c.ttl("p") == nycache::no_expiry);
    c.set("t", "v", 30s);
    auto t = c.ttl("t");
    CHECK(t && *t > 20s && *t <= 30s);
    CHECK(c.expire("p", 10000ms));
    t = c.ttl("p");
    CHECK(t && *t > 5s && *t <= 10s);
    CHECK(c.persist("p"));
    CHECK(c.ttl("p") == nycache::no_expiry);
    CHECK(c.expire("p", 5s));
    CHECK(c.expire("p", 0ms));  // 0 removes the TTL
    CHECK(c.ttl("p") == nycache::no_expiry);
    CHECK(!c.expire("absent", 1s));
    CHECK(!c.persist("absent"));
    CHECK_THROWS(c.expire("p", -5ms), NYC_INVALID_ARGUMENT, "negative TTL");
    CHECK(c.ttl("p") == nycache::no_expiry);

    // TTLs given as seconds convert; short ones expire.
    c.set("short", "v", 20ms);
    CHECK(c.add("short2", "v", 20ms));
    std::this_thread::sleep_for(80ms);
    CHECK(!c.get("short"));
    CHECK(!c.exists("short2"));
    CHECK(!c.ttl("short"));
}

static void test_counters() {
    Cache c{"max_memory=4MiB"};
    CHECK(c.incr("n") == 1);
    CHECK(c.incr("n", 10) == 11);
    CHECK(c.decr("n") == 10);
    CHECK(c.decr("n", 20) == -10);
    CHECK(c.get("n") == "-10"s);
    c.set("text", "abc");
    CHECK_THROWS(c.incr("text"), NYC_NOT_A_NUMBER, "");
    CHECK(c.get("text") == "abc"s);
    c.set("max", std::to_string(std::numeric_limits<std::int64_t>::max()));
    CHECK_THROWS(c.incr("max"), NYC_OVERFLOW, "");
    CHECK_THROWS(c.decr("n", std::numeric_limits<std::int64_t>::min()), NYC_OVERFLOW,
                 "INT64_MIN");
    CHECK(c.get("n") == "-10"s);
    CHECK(c.decr("d", 5) == -5);
}

static void test_value_handles() {
    std::optional<Value> kept;
    Value moved_to;
    {
        Cache c{"max_memory=4MiB"};
        c.set("k", "first");
        auto v = c.get_value("k");
        CHECK(v.has_value() && static_cast<bool>(*v));
        CHECK(v->view() == "first");
        CHECK(v->str() == "first");
        CHECK(v->size() == 5);
        CHECK(std::memcmp(v->data(), "first", 5) == 0);
        CHECK(v->get() != nullptr);
        CHECK(!c.get_value("absent").has_value());

        c.set("k", "second");  // overwrite
        CHECK(v->view() == "first");
        kept = c.get_value("k");
        c.erase("k");
        c.flush();
        CHECK(kept->view() == "second");

        // Move construction and assignment leave the source empty.
        Value w(std::move(*v));
        CHECK(!*v && v->data() == nullptr && v->size() == 0 && v->view().empty());
        CHECK(v->str().empty());
        CHECK(w.view() == "first");
        moved_to = std::move(w);
        CHECK(!w);
        CHECK(moved_to.view() == "first");
        Value& same = moved_to;
        moved_to = std::move(same);  // self-move is harmless
        CHECK(moved_to.view() == "first");

        c.set("e", "");
        auto e = c.get_value("e");
        CHECK(e && e->size() == 0 && e->data() != nullptr && e->view().empty());
    }
    // The Values outlive the Cache.
    CHECK(kept->view() == "second");
    CHECK(moved_to.str() == "first");

    // release() hands the C handle over.
    Cache c;
    c.set("r", "released");
    auto r = c.get_value("r");
    nyc_value* raw = r->release();
    CHECK(!*r && raw != nullptr);
    CHECK(nyc_value_len(raw) == 8);
    Value adopted(raw);  // ... and the constructor takes it back
    CHECK(adopted && adopted.get() == raw && adopted.view() == "released");
    Value none;
    CHECK(!none && none.get() == nullptr && none.view().empty() && none.size() == 0);

    // handle() is the C handle, usable with the C API directly.
    CHECK(nyc_set(c.handle(), "via C", 5, "x", 1, 0) == NYC_OK);
    CHECK(c.get("via C") == "x"s);
}

static void test_batches() {
    Cache c{"max_memory=4MiB"};
    c.set_many({{"a", "1"}, {"b", "2"}, {"", "empty"}});
    auto got = c.get_many({"a", "b", "missing", ""});
    CHECK(got.size() == 4);
    CHECK(got[0] == "1"s && got[1] == "2"s && !got[2] && got[3] == "empty"s);
    CHECK(c.get_many({}).empty());

    c.set_many({{"t1", "x"}, {"t2", "y"}}, 30s);
    auto t = c.ttl("t2");
    CHECK(t && *t > 20s && *t <= 30s);

    // A bad key changes nothing.
    CHECK_THROWS(c.set_many({{"n1", "x"}, {big_key, "y"}}), NYC_TOO_LARGE, "max_key_size");
    CHECK(!c.exists("n1"));
    CHECK_THROWS(c.get_many({"a", big_key}), NYC_TOO_LARGE, "max_key_size");
    CHECK_THROWS(c.delete_many({"a", big_key}), NYC_TOO_LARGE, "max_key_size");
    CHECK(c.exists("a"));
    CHECK_THROWS(c.set_many({{"n1", "x"}}, -1s), NYC_INVALID_ARGUMENT, "negative TTL");

    CHECK(c.delete_many({"a", "b", "missing"}) == 2);
    CHECK(!c.exists("a") && !c.exists("b"));
    CHECK(c.delete_many({}) == 0);
}

static void test_scan_and_flush() {
    Cache c{"max_memory=8MiB shards=4"};
    std::set<std::string> want;
    for (int i = 0; i < 300; i++) {
        std::string k = "user:" + std::to_string(i);
        c.set(k, "v");
        want.insert(k);
    }
    for (int i = 0; i < 50; i++) c.set("other:" + std::to_string(i), "v");
    const std::string bin("bin\0key", 7);
    c.set(bin, "v");

    auto users = c.keys("user:*");
    CHECK(std::set<std::string>(users.begin(), users.end()) == want);
    CHECK(users.size() == 300);
    CHECK(std::is_sorted(users.begin(), users.end()));
    CHECK(c.keys().size() == 351);
    CHECK(c.keys("user:1?").size() == 10);
    CHECK(c.keys("nothing*").empty());
    auto all = c.keys();
    CHECK(std::find(all.begin(), all.end(), bin) != all.end());

    // Manual iteration with scan().
    std::multiset<std::string> seen;
    std::uint64_t cursor = 0;
    int steps = 0;
    do {
        nycache::ScanPage page = c.scan(cursor, "other:*", 10);
        seen.insert(page.keys.begin(), page.keys.end());
        cursor = page.next;
        CHECK(++steps < 100000);
    } while (cursor != 0);
    CHECK(seen.size() == 50);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 50);
    CHECK_THROWS(c.scan(~std::uint64_t{0}), NYC_INVALID_ARGUMENT, "cursor");

    c.flush();
    CHECK(c.keys().empty());
    CHECK(c.stats().entries == 0);
}

// get_many owns every handle nyc_mget returns even when an allocation
// throws at any point; a leak would show under AddressSanitizer's leak
// check (with the library on the system allocator, as `make test-asan`).
static void test_get_many_allocation_failure() {
    Cache c{"max_memory=4MiB"};
    const std::string va(100, 'a'), vb(200, 'b');  // not short-string-optimised
    c.set("a", va);
    c.set("b", vb);
    const bool injecting = injection_works();
    int failures = 0;
    bool done = false;
    for (long n = 0; !done && n < 1000; n++) {
        fail_in = n;
        try {
            auto got = c.get_many({"a", "missing", "b", "a"});
            fail_in = -1;
            CHECK(got.size() == 4);
            CHECK(got[0] == va && !got[1] && got[2] == vb && got[3] == va);
            done = true;
        } catch (const std::bad_alloc&) {
            fail_in = -1;
            failures++;
        }
    }
    CHECK(done);
    // keys vector, slices, handle slots, owned, out, three copies
    if (injecting) CHECK(failures >= 8);
    CHECK(c.get("a") == va && c.get("b") == vb);
    fail_in = -1;
}

static void test_nul_in_patterns() {
    Cache c{"max_memory=4MiB"};
    c.set("user:1", "v");
    c.set("user:2", "v");
    const std::string pat("user:\0*", 7);  // would be "user:" as a C string
    CHECK_THROWS(c.scan(0, pat), NYC_INVALID_ARGUMENT, "NUL");
    CHECK_THROWS(c.keys(pat), NYC_INVALID_ARGUMENT, "NUL");
    CHECK_THROWS(c.keys(std::string("*\0", 2)), NYC_INVALID_ARGUMENT, "scan pattern");
    nycache::ScanPage page;
    page.next = 42;
    page.keys = {"untouched"};
    CHECK(c.try_scan(0, pat, 10, page) == NYC_INVALID_ARGUMENT);
    CHECK(page.next == 42 && page.keys.size() == 1 && page.keys[0] == "untouched");
    CHECK(c.keys("user:*").size() == 2);  // without the NUL it works
}

static void test_stats_and_metrics() {
    Cache c{"max_memory=4MiB shards=2"};
    nyc_cache_stats s = c.stats();
    CHECK(s.hits == 0 && s.misses == 0 && s.sets == 0 && s.entries == 0 && s.used_bytes == 0);
    CHECK(s.shards == 2 && s.max_bytes > 0);
    c.set("a", "1");
    CHECK(c.get("a"));
    CHECK(!c.get("b"));
    s = c.stats();
    CHECK(s.hits == 1 && s.misses == 1 && s.sets == 1 && s.entries == 1 && s.used_bytes > 0);
    c.erase("a");
    CHECK(c.stats().deletes == 1);

    // One logical read is one hit, whatever the value's size.
    c.set("big", std::string(5000, 'b'));
    std::uint64_t hits = c.stats().hits;
    CHECK(c.get("big")->size() == 5000);
    CHECK(c.stats().hits == hits + 1);
    std::string out;
    CHECK(c.try_get("big", out) == NYC_OK && out.size() == 5000);
    CHECK(c.stats().hits == hits + 2);
    CHECK(c.get_value("big")->size() == 5000);
    CHECK(c.stats().hits == hits + 3);
    std::uint64_t misses = c.stats().misses;
    CHECK(!c.get("nope"));
    CHECK(c.stats().misses == misses + 1);
    c.erase("big");

    std::string m = c.metrics_text();
    CHECK(m.find("# TYPE nycache_hits_total counter") != std::string::npos);
    CHECK(m.find("\nnycache_hits_total 4\n") != std::string::npos);
    CHECK(m.find("\nnycache_misses_total 2\n") != std::string::npos);
}

static void test_try_variants() {
    Cache c{"max_memory=4MiB"};
    std::string out = "untouched";
    std::int64_t n = 77;

    CHECK(c.try_set("k", "v") == NYC_OK);
    CHECK(c.try_set(big_key, "v") == NYC_TOO_LARGE);
    CHECK(std::strstr(nyc_last_error(), "max_key_size") != nullptr);
    CHECK(c.try_set("k", "v", -1ms) == NYC_INVALID_ARGUMENT);
    CHECK(c.try_add("k", "w") == NYC_EXISTS);
    CHECK(c.try_add("k2", "w", 10s) == NYC_OK);
    CHECK(c.try_add("k3", "w", -1ms) == NYC_INVALID_ARGUMENT);
    CHECK(c.try_replace("absent", "w") == NYC_NOT_FOUND);
    CHECK(c.try_replace("k", "v2", 10s) == NYC_OK);
    CHECK(c.try_replace("k", "v2", -1ms) == NYC_INVALID_ARGUMENT);

    CHECK(c.try_get("absent", out) == NYC_NOT_FOUND);
    CHECK(out == "untouched");
    CHECK(c.try_get(big_key, out) == NYC_TOO_LARGE);
    CHECK(out == "untouched");
    CHECK(c.try_get("k", out) == NYC_OK);
    CHECK(out == "v2");
    const std::string big(1000, 'b');  // over get's first buffer
    CHECK(c.try_set("big", big) == NYC_OK);
    CHECK(c.try_get("big", out) == NYC_OK && out == big);

    auto g = c.gets("k");
    CHECK(g.has_value());
    CHECK(c.try_cas("k", "v3", g->version + 1000) == NYC_CAS_MISMATCH);
    CHECK(c.try_cas("k", "v3", g->version, -1ms) == NYC_INVALID_ARGUMENT);
    CHECK(c.try_cas("k", "v3", g->version) == NYC_OK);
    CHECK(c.try_cas("absent", "v3", g->version) == NYC_NOT_FOUND);

    CHECK(c.try_incr("k", 1, n) == NYC_NOT_A_NUMBER);
    CHECK(n == 77);
    CHECK(c.try_incr("n", 5, n) == NYC_OK && n == 5);
    CHECK(c.try_expire("n", 1s) == NYC_OK);
    CHECK(c.try_expire("absent", 1s) == NYC_NOT_FOUND);
    CHECK(c.try_expire("n", -1s) == NYC_INVALID_ARGUMENT);
    CHECK(c.try_erase("n") == NYC_OK);
    CHECK(c.try_erase("n") == NYC_NOT_FOUND);
    CHECK(c.try_delete("k") == NYC_OK);
    CHECK(c.try_delete("k") == NYC_NOT_FOUND);

    // try_decr
    n = 77;
    CHECK(c.try_decr("d", 3, n) == NYC_OK && n == -3);
    CHECK(c.try_decr("d", -10, n) == NYC_OK && n == 7);
    CHECK(c.try_decr("d", std::numeric_limits<std::int64_t>::min(), n) == NYC_OVERFLOW);
    CHECK(n == 7 && c.get("d") == "7"s);
    c.set("min", std::to_string(std::numeric_limits<std::int64_t>::min()));
    CHECK(c.try_decr("min", 1, n) == NYC_OVERFLOW && n == 7);
    c.set("text", "abc");
    CHECK(c.try_decr("text", 1, n) == NYC_NOT_A_NUMBER && n == 7);
    CHECK(c.try_decr(big_key, 1, n) == NYC_TOO_LARGE && n == 7);

    // try_persist / try_touch
    CHECK(c.try_set("p", "v", 30s) == NYC_OK);
    CHECK(c.try_persist("p") == NYC_OK);
    CHECK(c.ttl("p") == nycache::no_expiry);
    CHECK(c.try_persist("absent") == NYC_NOT_FOUND);
    CHECK(c.try_persist(big_key) == NYC_TOO_LARGE);
    CHECK(c.try_touch("p") == NYC_OK);
    CHECK(c.try_touch("absent") == NYC_NOT_FOUND);
    CHECK(c.try_touch(big_key) == NYC_TOO_LARGE);

    // try_set_many
    CHECK(c.try_set_many({{"m1", "1"}, {"m2", "2"}}) == NYC_OK);
    CHECK(c.get("m1") == "1"s && c.get("m2") == "2"s);
    CHECK(c.try_set_many({{"m3", "3"}}, 30s) == NYC_OK);
    auto t = c.ttl("m3");
    CHECK(t && *t > 20s && *t <= 30s);
    CHECK(c.try_set_many({{"m4", "x"}, {big_key, "y"}}) == NYC_TOO_LARGE);
    CHECK(std::strstr(nyc_last_error(), "max_key_size") != nullptr);
    CHECK(!c.exists("m4"));
    CHECK(c.try_set_many({{"m4", "x"}}, -1ms) == NYC_INVALID_ARGUMENT);
    CHECK(!c.exists("m4"));
    CHECK(c.try_set_many({}) == NYC_OK);

    // try_delete_many
    std::size_t deleted = 99;
    CHECK(c.try_delete_many({"m1", big_key}, deleted) == NYC_TOO_LARGE);
    CHECK(deleted == 99 && c.exists("m1"));
    CHECK(c.try_delete_many({"m1", "m2", "absent"}, deleted) == NYC_OK && deleted == 2);
    CHECK(!c.exists("m1") && !c.exists("m2"));
    CHECK(c.try_delete_many({}, deleted) == NYC_OK && deleted == 0);

    // try_scan
    nycache::ScanPage page;
    std::set<std::string> seen;
    std::uint64_t cursor = 0;
    do {
        CHECK(c.try_scan(cursor, "m*", 4, page) == NYC_OK);
        seen.insert(page.keys.begin(), page.keys.end());
        cursor = page.next;
    } while (cursor != 0);
    CHECK((seen == std::set<std::string>{"m3", "min"}));
    page.next = 5;
    page.keys = {"x"};
    CHECK(c.try_scan(~std::uint64_t{0}, "*", 4, page) == NYC_INVALID_ARGUMENT);
    CHECK(page.next == 5 && page.keys.size() == 1);

    // try_flush
    CHECK(c.try_flush() == NYC_OK);
    CHECK(c.stats().entries == 0);
}

static void test_moves() {
    Cache a{"max_memory=4MiB"};
    a.set("k", "in a");
    nyc_cache* h = a.handle();

    Cache b(std::move(a));  // move construction
    CHECK(!a && a.handle() == nullptr);
    CHECK(b.handle() == h && b.get("k") == "in a"s);

    // A moved-from Cache: throwing calls throw NYC_INVALID_ARGUMENT, try_
    // calls return it.
    CHECK_THROWS(a.set("k", "v"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.get("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.get_value("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.gets("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.add("k", "v"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.replace("k", "v"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.cas("k", "v", 1), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.exists("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.erase("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.touch("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.expire("k", 1s), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.persist("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.ttl("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.incr("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.decr("k"), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.get_many({"k"}), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.set_many({{"k", "v"}}), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.delete_many({"k"}), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.scan(0), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.keys(), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.flush(), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.stats(), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(a.metrics_text(), NYC_INVALID_ARGUMENT, "NULL");
    std::string out;
    std::int64_t n = 0;
    CHECK(a.try_set("k", "v") == NYC_INVALID_ARGUMENT);
    CHECK(a.try_add("k", "v") == NYC_INVALID_ARGUMENT);
    CHECK(a.try_replace("k", "v") == NYC_INVALID_ARGUMENT);
    CHECK(a.try_cas("k", "v", 1) == NYC_INVALID_ARGUMENT);
    CHECK(a.try_get("k", out) == NYC_INVALID_ARGUMENT);
    CHECK(a.try_erase("k") == NYC_INVALID_ARGUMENT);
    CHECK(a.try_delete("k") == NYC_INVALID_ARGUMENT);
    CHECK(a.try_incr("k", 1, n) == NYC_INVALID_ARGUMENT);
    CHECK(a.try_expire("k", 1s) == NYC_INVALID_ARGUMENT);
    CHECK(a.try_decr("k", 1, n) == NYC_INVALID_ARGUMENT);
    CHECK(a.try_persist("k") == NYC_INVALID_ARGUMENT);
    CHECK(a.try_touch("k") == NYC_INVALID_ARGUMENT);
    CHECK(a.try_set_many({{"k", "v"}}) == NYC_INVALID_ARGUMENT);
    std::size_t deleted = 0;
    CHECK(a.try_delete_many({"k"}, deleted) == NYC_INVALID_ARGUMENT);
    CHECK(a.try_flush() == NYC_INVALID_ARGUMENT);
    nycache::ScanPage page;
    CHECK(a.try_scan(0, "*", 10, page) == NYC_INVALID_ARGUMENT);

    // Move assignment closes the target's old cache and takes the handle.
    Cache c{"max_memory=2MiB"};
    c.set("only in c", "x");
    c = std::move(b);
    CHECK(!b && c.handle() == h);
    CHECK(c.get("k") == "in a"s && !c.exists("only in c"));
    // Assigning into a moved-from Cache revives it.
    a = std::move(c);
    CHECK(a && a.handle() == h && !c);
    Cache& self = a;
    a = std::move(self);  // self-move is harmless
    CHECK(a.handle() == h && a.get("k") == "in a"s);

    // close() empties it; closing twice is harmless.
    auto v = a.get_value("k");
    a.close();
    CHECK(!a && a.handle() == nullptr);
    a.close();
    CHECK(v->view() == "in a");  // the Value outlives the close
    CHECK_THROWS(a.get("k"), NYC_INVALID_ARGUMENT, "NULL");
    // (the destructors of a, b, c -- all empty now -- are harmless)
}

static void test_threads_share_a_cache() {
    Cache c{"max_memory=8MiB"};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; t++) {
        ts.emplace_back([&c, t] {
            for (int i = 0; i < 2000; i++) {
                std::string k = "k" + std::to_string(i % 50);
                c.set(k, std::to_string(t));
                (void)c.get(k);
                (void)c.incr("counter");
            }
        });
    }
    for (auto& t : ts) t.join();
    CHECK(c.get("counter") == "8000"s);
}

// ---- data structures ----

static std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

static void test_data_structures() {
    Cache c{"max_memory=16MiB maintenance_ms=0"};
    // lists
    CHECK(c.rpush("l", {"a", "b"}) == 2);
    CHECK(c.lpush("l", {"z"}) == 3);
    CHECK((c.lrange("l", 0, -1) == std::vector<std::string>{"z", "a", "b"}));
    CHECK(c.llen("l") == 3);
    CHECK(c.lindex("l", -1) == "b");
    CHECK(!c.lindex("l", 7));
    c.lset("l", 0, "Z");
    CHECK_THROWS(c.lset("l", 9, "x"), NYC_INVALID_ARGUMENT, "index out of range");
    CHECK_THROWS(c.lset("none", 0, "x"), NYC_NOT_FOUND, "no such key");
    CHECK(c.lpop("l") == "Z");
    CHECK(c.rpop("l") == "b");
    CHECK(!c.lpop("none"));
    CHECK(!c.lpop("none", 2));
    CHECK((c.rpop("l", 5) == std::vector<std::string>{"a"}));
    CHECK(c.rpush("l", {"x", "y", "x"}) == 3);
    CHECK(c.lrem("l", 0, "x") == 2);
    c.ltrim("l", 5, 6);
    CHECK(!c.exists("l"));
    // sets
    CHECK(c.sadd("s", {"1", "2", "two"}) == 3);
    CHECK(c.sadd("t", {"2", "3"}) == 2);
    CHECK(c.sismember("s", "two") && !c.sismember("s", "3"));
    CHECK(c.scard("s") == 3);
    CHECK((sorted(c.smembers("s")) == std::vector<std::string>{"1", "2", "two"}));
    CHECK((c.sinter({"s", "t"}) == std::vector<std::string>{"2"}));
    CHECK((sorted(c.sunion({"s", "t"})) == std::vector<std::string>{"1", "2", "3", "two"}));
    CHECK((sorted(c.sdiff({"s", "t"})) == std::vector<std::string>{"1", "two"}));
    CHECK(c.srandmember("s", -5).size() == 5);
    CHECK(c.srandmember("s").has_value());
    CHECK(c.spop("s").has_value());
    CHECK(c.spop("s", 9).size() == 2);
    CHECK(!c.spop("s"));
    CHECK(c.srem("t", {"2", "9"}) == 1);
    // hashes
    CHECK(c.hset("h", {{"f", "1"}, {"g", "x"}}) == 2);
    CHECK(c.hget("h", "g") == "x");
    CHECK(!c.hget("h", "nope"));
    CHECK(c.hincrby("h", "f", 41) == 42);
    CHECK_THROWS(c.hincrby("h", "g", 1), NYC_NOT_A_NUMBER, "not an integer");
    CHECK(c.hsetnx("h", "n", "v") && !c.hsetnx("h", "n", "w"));
    CHECK(c.hexists("h", "n") && c.hlen("h") == 3);
    CHECK((sorted(c.hkeys("h")) == std::vector<std::string>{"f", "g", "n"}));
    CHECK((sorted(c.hvals("h")) == std::vector<std::string>{"42", "v", "x"}));
    CHECK(c.hgetall("h").size() == 3);
    CHECK(c.hdel("h", {"f", "g", "n"}) == 3);
    CHECK(!c.exists("h"));
    // sorted sets
    const double inf = std::numeric_limits<double>::infinity();
    CHECK(c.zadd("z", {{1.5, "a"}, {0.1, "b"}, {inf, "c"}}) == 3);
    CHECK(c.zscore("z", "b") == 0.1);
    CHECK(c.zrank("z", "a") == 1u);
    CHECK(!c.zrank("z", "q"));
    auto all = c.zrange("z", 0, -1);
    CHECK(all.size() == 3 && all[0].first == "b" && all[0].second == 0.1 && all[2].second == inf);
    CHECK(c.zrange("z", 0, 0, true)[0].first == "c");
    CHECK(c.zrangebyscore("z", 0.1, inf, NYC_ZRANGE_MIN_EXCLUSIVE | NYC_ZRANGE_MAX_EXCLUSIVE).size() == 1);
    CHECK(c.zrangebyscore("z", -inf, inf, 0, 1, 1)[0].first == "a");
    CHECK(c.zcount("z", -inf, inf) == 3);
    CHECK(c.zadd("z", {{5, "a"}}, NYC_ZADD_LT | NYC_ZADD_CH) == 0);
    CHECK_THROWS(c.zadd("z", {{5, "a"}}, NYC_ZADD_NX | NYC_ZADD_XX), NYC_INVALID_ARGUMENT, "not compatible");
    CHECK(!c.zadd_incr("z", 1, "a", NYC_ZADD_NX));
    CHECK(c.zadd_incr("z", 1, "a") == 2.5);
    CHECK(c.zincrby("z", -3, "new") == -3);
    CHECK_THROWS(c.zincrby("z", -inf, "c"), NYC_NOT_A_NUMBER, "NaN");
    CHECK(c.zcard("z") == 4);
    auto low = c.zpopmin("z", 2);
    CHECK(low.size() == 2 && low[0].first == "new" && low[1].first == "b");
    CHECK(c.zpopmax("z")[0].first == "c");
    CHECK(c.zrem("z", {"a", "zz"}) == 1);
    CHECK(!c.exists("z"));
    // wrong type both ways
    c.set("str", "v");
    CHECK_THROWS(c.lpush("str", {"x"}), NYC_WRONG_TYPE, "WRONGTYPE");
    c.sadd("set", {"m"});
    CHECK_THROWS(c.get("set"), NYC_WRONG_TYPE, "WRONGTYPE");
    CHECK_THROWS(c.hget("set", "f"), NYC_WRONG_TYPE, "WRONGTYPE");
    CHECK(c.get("str") == "v");
}

static bool fd_readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void test_pubsub() {
    Cache c{"maintenance_ms=0 notify_keyspace_events=Ks"};
    CHECK(c.publish("nobody", "x") == 0);

    // A queue: fd, drain, overflow (the oldest goes).
    nycache::Subscription q = c.psubscribe("news.*", 2);
    CHECK(static_cast<bool>(q));
    CHECK(q.fd() >= 0 && !fd_readable(q.fd()));
    CHECK(q.drain().empty());
    CHECK(c.publish("news.a", "1") == 1);
    CHECK(fd_readable(q.fd()) && q.pending() == 1);
    CHECK(c.publish("news.b", std::string_view("2\0z", 3)) == 1);
    CHECK(c.publish("news.c", "3") == 1);
    CHECK(q.dropped() == 1);
    auto got = q.drain();
    CHECK(got.size() == 2);
    CHECK(got[0].channel == "news.b" && got[0].data == "2\0z"s);
    CHECK(got[1].channel == "news.c" && got[1].data == "3");
    CHECK(!fd_readable(q.fd()));

    // A callback: re-entrant publish into the queue; exceptions stay inside.
    std::vector<std::string> seen;
    nycache::Subscription cb = c.subscribe("ping", [&](const nycache::MessageView& m) {
        CHECK(!m.pattern.has_value());
        seen.emplace_back(m.data);
        c.publish("news.pong", m.data);
        if (m.data == "throw") throw std::runtime_error("callback exceptions are dropped");
    });
    CHECK(cb.fd() == -1);
    CHECK_THROWS(cb.drain(), NYC_INVALID_ARGUMENT, "callback");
    CHECK(c.publish("ping", "hello") == 1);
    CHECK(c.publish("ping", "throw") == 1);
    CHECK((seen == std::vector<std::string>{"hello", "throw"}));
    CHECK(q.drain().size() == 2);
    std::optional<std::string> pattern;
    nycache::Subscription pcb = c.psubscribe("p.*", [&](const nycache::MessageView& m) {
        pattern = std::string(*m.pattern);
    });
    CHECK(c.publish("p.1", "") == 1 && pattern == "p.*");

    // Keyspace events (K + s in the config).
    nycache::Subscription ks = c.subscribe("__keyspace__:k");
    c.set("k", "v");
    got = ks.drain();
    CHECK(got.size() == 1 && got[0].data == "set");

    // Moves and unsubscribe.
    nycache::Subscription moved = std::move(cb);
    CHECK(!cb && moved);
    CHECK(c.publish("ping", "again") == 1 && seen.size() == 3);
    moved.unsubscribe();
    CHECK(!moved);
    CHECK(c.publish("ping", "gone") == 0 && seen.size() == 3);
    nycache::Subscription empty;
    CHECK(empty.fd() == -1 && empty.pending() == 0 && empty.dropped() == 0);
    CHECK_THROWS(empty.drain(), NYC_INVALID_ARGUMENT, "NULL");
    CHECK_THROWS(c.subscribe(std::string(70000, 'c')), NYC_TOO_LARGE, "channel");

    // A subscription outlives its cache.
    got = q.drain();
    CHECK(got.size() == 1 && got[0].channel == "news.pong" && got[0].data == "again");
    CHECK(c.publish("news.last", "kept") == 1);
    c.close();
    got = q.drain();
    CHECK(got.size() == 1 && got[0].data == "kept");
}

int main() {
    test_error_class();
    test_open();
    test_set_get_and_friends();
    test_ttl();
    test_counters();
    test_value_handles();
    test_batches();
    test_scan_and_flush();
    test_get_many_allocation_failure();
    test_nul_in_patterns();
    test_stats_and_metrics();
    test_try_variants();
    test_moves();
    test_threads_share_a_cache();
    test_data_structures();
    test_pubsub();
    std::printf("test_cpp: all %lu checks passed (nycache %s)\n", checks, nyc_version());
    return 0;
}
