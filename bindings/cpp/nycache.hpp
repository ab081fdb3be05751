// nycache.hpp -- a C++17 header-only wrapper over the nycache C API
// (include/nycache.h). Link with -lnycache as for C.
//
//     #include <nycache.hpp>
//
//     nycache::Cache cache{"max_memory=64MiB"};
//     cache.set("greeting", "hello", std::chrono::seconds{30});
//     if (auto v = cache.get("greeting")) std::cout << *v << '\n';
//
// Conventions:
//  - Keys and values are byte strings (std::string_view in, std::string
//    out); they may contain NUL bytes and may be empty.
//  - A TTL of zero (the default) means "no expiry"; a negative TTL is an
//    invalid argument (NYC_INVALID_ARGUMENT).
//  - Expected outcomes are return values, not exceptions: a missing key is
//    std::nullopt or `false`, `add` on an existing key returns `false`, and
//    so on. Everything else (a key over the limits, a bad config, a value
//    that is not a number for incr, ...) throws nycache::Error carrying the
//    status and the text of nyc_last_error().
//  - Every operation that stores or deletes (set, add, replace, cas, erase,
//    touch, expire, persist, incr, decr, set_many, delete_many, flush) and
//    the read operations get and scan have a non-throwing `try_` variant
//    returning the nyc_status (nyc_last_error() then has the detail, except
//    for the wrapper's own checks: a negative TTL, decr by INT64_MIN, a NUL
//    byte in a text argument). The other reads (get_value, gets, exists,
//    ttl, get_many, keys, stats, metrics_text) have none. `try_` variants
//    never throw nycache::Error; those that must build a vector or string
//    (try_get, try_set_many, try_delete_many, try_scan) may still throw
//    std::bad_alloc, the others are noexcept.
//  - Text arguments (the config string, scan/keys patterns) are C strings:
//    a std::string containing a NUL byte would be cut short there, so it is
//    rejected with NYC_INVALID_ARGUMENT instead (thrown, or returned by
//    try_scan).
//  - A Cache is move-only. A moved-from (or closed) Cache holds no handle:
//    its destructor does nothing, throwing operations on it throw
//    nycache::Error with status NYC_INVALID_ARGUMENT, and `try_` variants
//    return NYC_INVALID_ARGUMENT (once the wrapper's own argument checks,
//    such as decr by INT64_MIN, have passed).
//  - Lists, sets, hashes and sorted sets (lpush ... zpopmax) follow Redis's
//    commands; they throw nycache::Error on failure (NYC_WRONG_TYPE for a
//    key of another type, ...), return std::nullopt for Redis's nil, and
//    have no try_ variants.
//  - One Cache may be used by many threads at once (the C handle is
//    thread-safe); moving, assigning or closing it must not race with use.
//  - Pub/sub: subscribe/psubscribe return a move-only Subscription (RAII
//    over nyc_subscription*; the destructor unsubscribes). A queue
//    subscription is read with drain() and waited on through fd(); a
//    callback subscription calls a std::function on the publishing thread.
//    Exceptions thrown by a callback are caught and dropped (none may reach
//    the C library). Do not destroy a Subscription from inside its own
//    callback (its std::function would be freed while running).

#ifndef NYCACHE_HPP
#define NYCACHE_HPP

#include <nycache.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nycache {

/// The TTL that `Cache::ttl` reports for a key that never expires.
inline constexpr std::chrono::milliseconds no_expiry{-1};

/// A failed nycache call: the status code and the library's detail text
/// (`what()`, from nyc_last_error() at the time of the failure).
class Error : public std::runtime_error {
public:
    /// An error with `status` and `message`; an empty message is replaced
    /// by the status name (e.g. "NYC_TOO_LARGE").
    Error(nyc_status status, const std::string& message)
        : std::runtime_error(message.empty() ? std::string(nyc_status_name(status)) : message),
          status_(status) {}

    /// The status code of the failed call (never NYC_OK).
    nyc_status status() const noexcept { return status_; }

    /// The status code's name, e.g. "NYC_TOO_LARGE" (static text).
    const char* status_name() const noexcept { return nyc_status_name(status_); }

private:
    nyc_status status_;
};

namespace detail {

/// Throws an Error for `status` with this thread's nyc_last_error() text.
[[noreturn]] inline void throw_status(nyc_status status) {
    throw Error(status, nyc_last_error());
}

/// Throws unless `status` is NYC_OK.
inline void check(nyc_status status) {
    if (status != NYC_OK) throw_status(status);
}

/// A TTL as the C API's milliseconds (0 = none); false if negative.
inline bool to_ms(std::chrono::milliseconds ttl, std::uint64_t& out) noexcept {
    if (ttl.count() < 0) return false;
    out = static_cast<std::uint64_t>(ttl.count());
    return true;
}

/// Like `to_ms`, throwing NYC_INVALID_ARGUMENT for a negative TTL.
inline std::uint64_t ttl_ms(std::chrono::milliseconds ttl) {
    std::uint64_t ms = 0;
    if (!to_ms(ttl, ms)) {
        throw Error(NYC_INVALID_ARGUMENT,
                    "INVALID_ARGUMENT: negative TTL " + std::to_string(ttl.count()) + " ms");
    }
    return ms;
}

/// True if `s` holds a NUL byte (it cannot be passed as a C string).
inline bool has_nul(const std::string& s) noexcept {
    return s.find('\0') != std::string::npos;
}

/// `s.c_str()`, throwing NYC_INVALID_ARGUMENT if `s` holds a NUL byte
/// (the C API would silently stop reading there). `what` names it.
inline const char* c_text(const std::string& s, const char* what) {
    if (has_nul(s)) {
        throw Error(NYC_INVALID_ARGUMENT,
                    std::string("INVALID_ARGUMENT: ") + what + " contains a NUL byte");
    }
    return s.c_str();
}

/// A string_view as the C API's byte range.
inline nyc_slice slice(std::string_view s) noexcept { return nyc_slice{s.data(), s.size()}; }

/// The slices of `items` (views into the caller's strings).
inline std::vector<nyc_slice> slices(const std::vector<std::string_view>& items) {
    std::vector<nyc_slice> out;
    out.reserve(items.size());
    for (auto s : items) out.push_back(slice(s));
    return out;
}

/// Owns an nyc_array until destroyed (freed even if copying throws).
struct ArrayGuard {
    nyc_array* a = nullptr;
    ~ArrayGuard() { nyc_array_free(a); }
    std::string item(std::size_t i) const {
        return std::string(static_cast<const char*>(nyc_array_item_data(a, i)),
                           nyc_array_item_len(a, i));
    }
};

/// The items of an array as strings; frees the array.
inline std::vector<std::string> strings(nyc_array* arr) {
    ArrayGuard g{arr};
    std::size_t n = nyc_array_count(arr);
    std::vector<std::string> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; i++) out.push_back(g.item(i));
    return out;
}

/// A score's reply text ("1.5", "inf", "-inf") as a double, independent of
/// the C locale.
inline double parse_score(const char* p, std::size_t n) {
    double d = 0;
    std::string_view t(p, n);
    if (t == "inf") return std::numeric_limits<double>::infinity();
    if (t == "-inf") return -std::numeric_limits<double>::infinity();
    auto r = std::from_chars(p, p + n, d);
    if (r.ec != std::errc() || r.ptr != p + n) {
        throw Error(NYC_INTERNAL, "INTERNAL: unreadable score text " + std::string(t));
    }
    return d;
}

/// Member, score-text pairs of an array as (member, score); frees it.
inline std::vector<std::pair<std::string, double>> scored(nyc_array* arr) {
    ArrayGuard g{arr};
    std::size_t n = nyc_array_count(arr) / 2;
    std::vector<std::pair<std::string, double>> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; i++) {
        out.emplace_back(g.item(2 * i),
                         parse_score(static_cast<const char*>(nyc_array_item_data(arr, 2 * i + 1)),
                                     nyc_array_item_len(arr, 2 * i + 1)));
    }
    return out;
}

/// The bytes of a value handle as a string; frees the handle.
inline std::string take(nyc_value* v) {
    struct Free {
        nyc_value* v;
        ~Free() { nyc_value_free(v); }
    } g{v};
    return std::string(static_cast<const char*>(nyc_value_data(v)), nyc_value_len(v));
}

}  // namespace detail

/// A value returned by the cache, shared with it without a copy (RAII over
/// `nyc_value*`). It stays valid after the entry is overwritten, deleted,
/// evicted, flushed or the Cache is destroyed. Move-only; may be read from
/// any thread. A moved-from Value is empty: `data()` is nullptr and
/// `size()` 0.
class Value {
public:
    /// An empty Value (no handle).
    Value() noexcept = default;

    /// Takes ownership of `handle` (from nyc_get_value, nyc_mget or
    /// nyc_metrics_text); it is freed by the destructor.
    explicit Value(nyc_value* handle) noexcept : handle_(handle) {}

    /// Frees the handle (nyc_value_free).
    ~Value() { nyc_value_free(handle_); }

    /// Not copyable: a Value owns its handle (copy the bytes with str()).
    Value(const Value&) = delete;
    /// Not copyable (see above).
    Value& operator=(const Value&) = delete;

    /// Takes the other Value's handle, leaving it empty.
    Value(Value&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

    /// Frees this Value's handle and takes the other's, leaving it empty.
    Value& operator=(Value&& other) noexcept {
        if (this != &other) {
            nyc_value_free(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }

    /// The first byte (not NUL-terminated; never nullptr for a non-empty
    /// Value, even when the value has length 0).
    const char* data() const noexcept {
        return static_cast<const char*>(nyc_value_data(handle_));
    }

    /// The length in bytes.
    std::size_t size() const noexcept { return nyc_value_len(handle_); }

    /// The bytes as a string_view (valid as long as this Value holds them).
    std::string_view view() const noexcept {
        return handle_ ? std::string_view(data(), size()) : std::string_view();
    }

    /// A copy of the bytes.
    std::string str() const { return std::string(view()); }

    /// True if this Value holds a handle.
    explicit operator bool() const noexcept { return handle_ != nullptr; }

    /// The C handle (still owned by this Value).
    nyc_value* get() const noexcept { return handle_; }

    /// Gives up ownership of the C handle; the caller must nyc_value_free it.
    nyc_value* release() noexcept { return std::exchange(handle_, nullptr); }

private:
    nyc_value* handle_ = nullptr;
};

/// A value with its CAS version (see Cache::gets and Cache::cas).
struct Versioned {
    /// The value's bytes.
    std::string value;
    /// The version to pass to Cache::cas.
    std::uint64_t version = 0;
};

/// One step of a scan (see Cache::scan).
struct ScanPage {
    /// The cursor for the next step; 0 when the iteration is over.
    std::uint64_t next = 0;
    /// The keys this step found (possibly none, even before the end).
    std::vector<std::string> keys;
};

/// A message taken from a queue subscription (Subscription::drain).
struct Message {
    /// The channel it was published on.
    std::string channel;
    /// The message bytes.
    std::string data;
};

/// What a callback subscription receives: views valid during the call only.
struct MessageView {
    /// The channel it was published on.
    std::string_view channel;
    /// The pattern that matched, for a pattern subscription.
    std::optional<std::string_view> pattern;
    /// The message bytes.
    std::string_view data;
};

/// The type of a subscription callback.
using MessageCallback = std::function<void(const MessageView&)>;

namespace detail {

/// The C callback behind every C++ one: `user` is the MessageCallback the
/// Subscription owns. No exception may unwind into the C library.
inline void deliver(void* user, const void* channel, std::size_t channel_len, const void* pattern,
                    std::size_t pattern_len, const void* data, std::size_t data_len) noexcept {
    MessageView m{std::string_view(static_cast<const char*>(channel), channel_len),
                  pattern ? std::optional<std::string_view>(std::string_view(
                                static_cast<const char*>(pattern), pattern_len))
                          : std::nullopt,
                  std::string_view(static_cast<const char*>(data), data_len)};
    try {
        (*static_cast<MessageCallback*>(user))(m);
    } catch (...) {
        // Dropped: see the conventions at the top of this file.
    }
}

/// The library calls this once no delivery can run any more (it owns the
/// callback from the subscribe on: see nyc_subscribe_callback).
inline void release(void* user) noexcept { delete static_cast<MessageCallback*>(user); }

}  // namespace detail

/// A pub/sub subscription (RAII over `nyc_subscription*`): the destructor
/// unsubscribes. Move-only. It stays valid after its Cache is closed (it
/// then receives nothing more). An empty (default-constructed or moved-from)
/// Subscription has no handle: fd() is -1, drain() throws
/// NYC_INVALID_ARGUMENT.
class Subscription {
public:
    /// An empty Subscription.
    Subscription() noexcept = default;

    /// Unsubscribes (see unsubscribe()).
    ~Subscription() { unsubscribe(); }

    /// Not copyable: it owns its handle.
    Subscription(const Subscription&) = delete;
    /// Not copyable (see above).
    Subscription& operator=(const Subscription&) = delete;

    /// Takes the other's handle; the other becomes empty.
    Subscription(Subscription&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

    /// Unsubscribes this one and takes the other's handle.
    Subscription& operator=(Subscription&& other) noexcept {
        if (this != &other) {
            unsubscribe();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }

    /// Unsubscribes now (nyc_unsubscribe): no call of the callback starts
    /// afterwards. Unless made from inside a callback, it also waits for
    /// the calls running on other threads. The callback object is destroyed
    /// by the library once the last running call returns. The Subscription
    /// becomes empty.
    void unsubscribe() noexcept { nyc_unsubscribe(std::exchange(handle_, nullptr)); }

    /// True if it holds a handle.
    explicit operator bool() const noexcept { return handle_ != nullptr; }

    /// The descriptor readable while messages wait (poll/epoll on it, then
    /// drain); -1 for a callback subscription or an empty one.
    int fd() const noexcept { return nyc_subscription_fd(handle_); }

    /// Messages waiting in the queue.
    std::size_t pending() const noexcept { return nyc_subscription_pending(handle_); }

    /// Messages the full queue dropped (the oldest goes first).
    std::uint64_t dropped() const noexcept { return nyc_subscription_dropped(handle_); }

    /// Takes up to `max` waiting messages (0: all), oldest first; empty if
    /// none waits. Throws Error for a callback subscription or an empty one.
    std::vector<Message> drain(std::size_t max = 0) {
        nyc_array* a = nullptr;
        nyc_status st = nyc_subscription_drain(handle_, max, &a);
        if (st == NYC_NOT_FOUND) return {};
        detail::check(st);
        detail::ArrayGuard g{a};
        std::size_t n = nyc_array_count(a) / 2;
        std::vector<Message> out;
        out.reserve(n);
        for (std::size_t i = 0; i < n; i++) out.push_back(Message{g.item(2 * i), g.item(2 * i + 1)});
        return out;
    }

    /// The C handle (still owned here); nullptr when empty.
    nyc_subscription* handle() const noexcept { return handle_; }

private:
    friend class Cache;
    nyc_subscription* handle_ = nullptr;
};

/// An open cache (RAII over `nyc_cache*`): opened by the constructor, closed
/// by the destructor. Move-only. Safe to use from many threads at once.
class Cache {
public:
    /// Opens a cache. `config` is nullptr (defaults) or `key=value` pairs
    /// separated by spaces, e.g. "max_memory=64MiB shards=16". Throws Error
    /// (NYC_INVALID_ARGUMENT, message naming the key) for a bad config.
    explicit Cache(const char* config = nullptr) {
        detail::check(nyc_open(config, &handle_));
    }

    /// Opens a cache from a config string (see above). A config holding a
    /// NUL byte throws Error (NYC_INVALID_ARGUMENT) without opening.
    explicit Cache(const std::string& config) : Cache(detail::c_text(config, "config")) {}

    /// Closes the cache (nyc_close). Values obtained from it stay valid.
    ~Cache() { nyc_close(handle_); }

    /// Not copyable: a Cache owns its handle (share it by reference; it is
    /// thread-safe).
    Cache(const Cache&) = delete;
    /// Not copyable (see above).
    Cache& operator=(const Cache&) = delete;

    /// Takes the other Cache's handle; the other becomes empty.
    Cache(Cache&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

    /// Closes this cache and takes the other's handle; the other becomes
    /// empty.
    Cache& operator=(Cache&& other) noexcept {
        if (this != &other) {
            nyc_close(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }

    /// Closes the cache now; the Cache becomes empty. No other thread may
    /// be using it.
    void close() noexcept { nyc_close(std::exchange(handle_, nullptr)); }

    /// True if the Cache holds an open handle (not moved from or closed).
    explicit operator bool() const noexcept { return handle_ != nullptr; }

    /// The C handle, for calling the C API directly (still owned here);
    /// nullptr for an empty Cache.
    nyc_cache* handle() const noexcept { return handle_; }

    // ---- pub/sub ----

    /// Subscribes a queue of up to `capacity` messages (0: 1024) to
    /// `channel`. Throws Error on failure.
    Subscription subscribe(std::string_view channel, std::size_t capacity = 0) const {
        return queue(channel, 0, capacity);
    }

    /// Subscribes a queue to every channel matching the Redis glob `pattern`.
    Subscription psubscribe(std::string_view pattern, std::size_t capacity = 0) const {
        return queue(pattern, 1, capacity);
    }

    /// Subscribes `callback` to `channel`; it runs on the publishing thread
    /// after nycache released its locks (it may call this Cache).
    Subscription subscribe(std::string_view channel, MessageCallback callback) const {
        return with_callback(channel, 0, std::move(callback));
    }

    /// Subscribes `callback` to every channel matching `pattern`.
    Subscription psubscribe(std::string_view pattern, MessageCallback callback) const {
        return with_callback(pattern, 1, std::move(callback));
    }

    /// Publishes `message` on `channel`; returns how many subscriptions
    /// received it. Callbacks have run when it returns. Throws Error on
    /// failure.
    std::size_t publish(std::string_view channel, std::string_view message) const {
        std::size_t n = 0;
        detail::check(nyc_publish(handle_, channel.data(), channel.size(), message.data(),
                                  message.size(), &n));
        return n;
    }

    // ---- writes ----

    /// Stores `value` under `key`, replacing any previous value; `ttl` 0 =
    /// no expiry. Throws Error (e.g. NYC_TOO_LARGE).
    void set(std::string_view key, std::string_view value,
             std::chrono::milliseconds ttl = {}) {
        detail::check(nyc_set(handle_, key.data(), key.size(), value.data(), value.size(),
                              detail::ttl_ms(ttl)));
    }

    /// Stores only if `key` is absent; false if it exists. Throws Error on
    /// other failures.
    bool add(std::string_view key, std::string_view value, std::chrono::milliseconds ttl = {}) {
        return expect(nyc_add(handle_, key.data(), key.size(), value.data(), value.size(),
                              detail::ttl_ms(ttl)),
                      NYC_EXISTS);
    }

    /// Stores only if `key` is present; false if it is absent. Throws Error
    /// on other failures.
    bool replace(std::string_view key, std::string_view value,
                 std::chrono::milliseconds ttl = {}) {
        return expect(nyc_replace(handle_, key.data(), key.size(), value.data(), value.size(),
                                  detail::ttl_ms(ttl)),
                      NYC_NOT_FOUND);
    }

    /// Stores only if the key's version is still `version` (from gets);
    /// false if it was written since (NYC_CAS_MISMATCH) or is gone
    /// (NYC_NOT_FOUND). Throws Error on other failures.
    bool cas(std::string_view key, std::string_view value, std::uint64_t version,
             std::chrono::milliseconds ttl = {}) {
        nyc_status st = nyc_cas(handle_, key.data(), key.size(), value.data(), value.size(),
                                detail::ttl_ms(ttl), version);
        if (st == NYC_CAS_MISMATCH) return false;
        return expect(st, NYC_NOT_FOUND);
    }

    // ---- reads ----

    /// A copy of the value of `key`, or std::nullopt if it is absent.
    std::optional<std::string> get(std::string_view key) const {
        std::string out;
        nyc_status st = try_get(key, out);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return out;
    }

    /// The value of `key` without a copy, or std::nullopt if it is absent.
    std::optional<Value> get_value(std::string_view key) const {
        nyc_value* v = nullptr;
        nyc_status st = nyc_get_value(handle_, key.data(), key.size(), &v);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return Value(v);
    }

    /// The value of `key` with its CAS version, or std::nullopt if absent.
    std::optional<Versioned> gets(std::string_view key) const {
        Versioned out;
        std::size_t len = 0;
        out.value.resize(initial_buffer);
        for (;;) {
            nyc_status st = nyc_gets(handle_, key.data(), key.size(), &out.value[0],
                                     out.value.size(), &len, &out.version);
            if (st == NYC_OK) {
                out.value.resize(len);
                return out;
            }
            if (st == NYC_NOT_FOUND) return std::nullopt;
            if (st != NYC_BUFFER_TOO_SMALL) detail::throw_status(st);
            out.value.resize(len);  // grew meanwhile? then loop again
        }
    }

    /// True if `key` exists (does not count as a use for eviction).
    bool exists(std::string_view key) const {
        return expect(nyc_exists(handle_, key.data(), key.size()), NYC_NOT_FOUND);
    }

    // ---- deletes, TTLs, counters ----

    /// Removes `key`; false if it did not exist.
    bool erase(std::string_view key) {
        return expect(nyc_delete(handle_, key.data(), key.size()), NYC_NOT_FOUND);
    }

    /// Marks `key` as just used; false if it does not exist.
    bool touch(std::string_view key) {
        return expect(nyc_touch(handle_, key.data(), key.size()), NYC_NOT_FOUND);
    }

    /// Sets the TTL of an existing `key` (0 removes it); false if absent.
    bool expire(std::string_view key, std::chrono::milliseconds ttl) {
        return expect(nyc_expire(handle_, key.data(), key.size(), detail::ttl_ms(ttl)),
                      NYC_NOT_FOUND);
    }

    /// Removes the TTL of `key`; false if it does not exist.
    bool persist(std::string_view key) {
        return expect(nyc_persist(handle_, key.data(), key.size()), NYC_NOT_FOUND);
    }

    /// The remaining lifetime of `key`: std::nullopt if the key does not
    /// exist, `nycache::no_expiry` (-1 ms) if it never expires, otherwise
    /// the milliseconds left (>= 0).
    std::optional<std::chrono::milliseconds> ttl(std::string_view key) const {
        std::int64_t ms = 0;
        nyc_status st = nyc_ttl(handle_, key.data(), key.size(), &ms);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return std::chrono::milliseconds(ms);
    }

    /// Adds `delta` to the decimal integer at `key` (a missing key counts
    /// as 0; the TTL is kept) and returns the new value. Throws Error
    /// (NYC_NOT_A_NUMBER, NYC_OVERFLOW).
    std::int64_t incr(std::string_view key, std::int64_t delta = 1) {
        std::int64_t out = 0;
        detail::check(try_incr(key, delta, out));
        return out;
    }

    /// Subtracts `delta` (see incr). `delta` = INT64_MIN throws NYC_OVERFLOW.
    std::int64_t decr(std::string_view key, std::int64_t delta = 1) {
        if (delta == std::numeric_limits<std::int64_t>::min()) {
            throw Error(NYC_OVERFLOW, "OVERFLOW: decrement by INT64_MIN would overflow");
        }
        return incr(key, -delta);
    }

    // ---- batches ----

    /// Reads many keys in one call; one slot per key, std::nullopt where
    /// the key is absent. Throws Error (nothing read) for a key over the
    /// limit.
    std::vector<std::optional<std::string>> get_many(
        const std::vector<std::string_view>& keys) const {
        std::vector<nyc_slice> ks(keys.size());
        std::transform(keys.begin(), keys.end(), ks.begin(), detail::slice);
        std::vector<nyc_value*> raw(keys.size(), nullptr);
        // Every allocation that could throw before the handles are owned is
        // made before nyc_mget: after it, taking ownership (emplace_back into
        // reserved space, a noexcept constructor) cannot throw, so no handle
        // leaks. Only the copies below may throw, and `owned` frees them all.
        std::vector<Value> owned;
        owned.reserve(raw.size());
        std::vector<std::optional<std::string>> out;
        out.reserve(raw.size());
        detail::check(nyc_mget(handle_, ks.data(), ks.size(), raw.data()));
        for (nyc_value* v : raw) owned.emplace_back(v);
        for (const Value& v : owned) {
            if (v) out.emplace_back(v.str());
            else out.emplace_back(std::nullopt);
        }
        return out;
    }

    /// Stores many pairs with one TTL. Every key and value is checked
    /// before anything is stored: a bad one throws Error and stores nothing.
    void set_many(const std::vector<std::pair<std::string_view, std::string_view>>& pairs,
                  std::chrono::milliseconds ttl = {}) {
        detail::check(mset(pairs, detail::ttl_ms(ttl)));
    }

    /// Deletes many keys; returns how many existed. A key over the limit
    /// throws Error and deletes nothing.
    std::size_t delete_many(const std::vector<std::string_view>& keys) {
        std::size_t deleted = 0;
        detail::check(try_delete_many(keys, deleted));
        return deleted;
    }

    // ---- scans ----

    /// One step of a cursor iteration (Redis SCAN): start with cursor 0 and
    /// pass `next` back until it is 0. `pattern` is a Redis glob ("*" =
    /// all keys); `count` is a hint of how many slots to visit (the library
    /// caps it at 65536 per step). Throws Error (NYC_INVALID_ARGUMENT) for a
    /// cursor this cache never returned or a pattern holding a NUL byte.
    ScanPage scan(std::uint64_t cursor, const std::string& pattern = "*",
                  std::size_t count = 128) const {
        ScanPage page;
        detail::check(scan_step(cursor, detail::c_text(pattern, "scan pattern"), count, page));
        return page;
    }

    /// Every key matching `pattern` (a full scan), sorted, each once. Safe
    /// while other threads write: every key present for the whole call is
    /// included. A pattern holding a NUL byte throws Error
    /// (NYC_INVALID_ARGUMENT).
    std::vector<std::string> keys(const std::string& pattern = "*") const {
        detail::c_text(pattern, "scan pattern");
        std::vector<std::string> all;
        std::uint64_t cursor = 0;
        do {
            ScanPage page = scan(cursor, pattern, 256);
            for (auto& k : page.keys) all.push_back(std::move(k));
            cursor = page.next;
        } while (cursor != 0);
        std::sort(all.begin(), all.end());
        all.erase(std::unique(all.begin(), all.end()), all.end());
        return all;
    }

    /// Removes every entry.
    void flush() { detail::check(nyc_flush(handle_)); }

    // ---- stats ----

    /// A snapshot of the counters (hits, misses, sets, entries, used_bytes,
    /// max_bytes, ...).
    nyc_cache_stats stats() const {
        nyc_cache_stats s{};
        detail::check(nyc_stats(handle_, &s));
        return s;
    }

    /// The counters in Prometheus text exposition format.
    std::string metrics_text() const {
        nyc_value* v = nullptr;
        detail::check(nyc_metrics_text(handle_, &v));
        return Value(v).str();
    }

    // ---- non-throwing variants: return the status; nyc_last_error() has
    // ---- the detail. A negative TTL returns NYC_INVALID_ARGUMENT (without
    // ---- touching nyc_last_error()). Out-arguments change only on NYC_OK.

    /// set without exceptions.
    nyc_status try_set(std::string_view key, std::string_view value,
                       std::chrono::milliseconds ttl = {}) noexcept {
        std::uint64_t ms = 0;
        if (!detail::to_ms(ttl, ms)) return NYC_INVALID_ARGUMENT;
        return nyc_set(handle_, key.data(), key.size(), value.data(), value.size(), ms);
    }

    /// add without exceptions (NYC_EXISTS if the key is present).
    nyc_status try_add(std::string_view key, std::string_view value,
                       std::chrono::milliseconds ttl = {}) noexcept {
        std::uint64_t ms = 0;
        if (!detail::to_ms(ttl, ms)) return NYC_INVALID_ARGUMENT;
        return nyc_add(handle_, key.data(), key.size(), value.data(), value.size(), ms);
    }

    /// replace without exceptions (NYC_NOT_FOUND if the key is absent).
    nyc_status try_replace(std::string_view key, std::string_view value,
                           std::chrono::milliseconds ttl = {}) noexcept {
        std::uint64_t ms = 0;
        if (!detail::to_ms(ttl, ms)) return NYC_INVALID_ARGUMENT;
        return nyc_replace(handle_, key.data(), key.size(), value.data(), value.size(), ms);
    }

    /// cas without exceptions (NYC_CAS_MISMATCH, NYC_NOT_FOUND).
    nyc_status try_cas(std::string_view key, std::string_view value, std::uint64_t version,
                       std::chrono::milliseconds ttl = {}) noexcept {
        std::uint64_t ms = 0;
        if (!detail::to_ms(ttl, ms)) return NYC_INVALID_ARGUMENT;
        return nyc_cas(handle_, key.data(), key.size(), value.data(), value.size(), ms, version);
    }

    /// get without exceptions from the cache: on NYC_OK `out` holds the
    /// value; on any other status `out` is unchanged. (May still throw
    /// std::bad_alloc.) Reads through nyc_get_value, so one call is one
    /// read in the stats whatever the value's size.
    nyc_status try_get(std::string_view key, std::string& out) const {
        nyc_value* v = nullptr;
        nyc_status st = nyc_get_value(handle_, key.data(), key.size(), &v);
        if (st != NYC_OK) return st;
        Value owned(v);
        out.assign(owned.data(), owned.size());
        return NYC_OK;
    }

    /// erase without exceptions (NYC_NOT_FOUND if the key was absent).
    nyc_status try_erase(std::string_view key) noexcept {
        return nyc_delete(handle_, key.data(), key.size());
    }

    /// Same as try_erase (named after nyc_delete).
    nyc_status try_delete(std::string_view key) noexcept { return try_erase(key); }

    /// incr without exceptions: on NYC_OK `out` holds the new value; on any
    /// other status it is unchanged.
    nyc_status try_incr(std::string_view key, std::int64_t delta, std::int64_t& out) noexcept {
        return nyc_incr(handle_, key.data(), key.size(), delta, &out);
    }

    /// decr without exceptions: on NYC_OK `out` holds the new value; on any
    /// other status it is unchanged. `delta` = INT64_MIN returns
    /// NYC_OVERFLOW without calling the library.
    nyc_status try_decr(std::string_view key, std::int64_t delta, std::int64_t& out) noexcept {
        if (delta == std::numeric_limits<std::int64_t>::min()) return NYC_OVERFLOW;
        return try_incr(key, -delta, out);
    }

    /// expire without exceptions (NYC_NOT_FOUND if the key is absent).
    nyc_status try_expire(std::string_view key, std::chrono::milliseconds ttl) noexcept {
        std::uint64_t ms = 0;
        if (!detail::to_ms(ttl, ms)) return NYC_INVALID_ARGUMENT;
        return nyc_expire(handle_, key.data(), key.size(), ms);
    }

    /// persist without exceptions (NYC_NOT_FOUND if the key is absent).
    nyc_status try_persist(std::string_view key) noexcept {
        return nyc_persist(handle_, key.data(), key.size());
    }

    /// touch without exceptions (NYC_NOT_FOUND if the key is absent).
    nyc_status try_touch(std::string_view key) noexcept {
        return nyc_touch(handle_, key.data(), key.size());
    }

    /// set_many without exceptions from the cache (may still throw
    /// std::bad_alloc, before anything is stored). A bad key or value
    /// stores nothing.
    nyc_status try_set_many(
        const std::vector<std::pair<std::string_view, std::string_view>>& pairs,
        std::chrono::milliseconds ttl = {}) {
        std::uint64_t ms = 0;
        if (!detail::to_ms(ttl, ms)) return NYC_INVALID_ARGUMENT;
        return mset(pairs, ms);
    }

    /// delete_many without exceptions from the cache (may still throw
    /// std::bad_alloc, before anything is deleted): on NYC_OK `deleted`
    /// holds how many keys existed; on any other status it is unchanged.
    nyc_status try_delete_many(const std::vector<std::string_view>& keys,
                               std::size_t& deleted) {
        std::vector<nyc_slice> ks(keys.size());
        std::transform(keys.begin(), keys.end(), ks.begin(), detail::slice);
        std::size_t n = 0;
        nyc_status st = nyc_mdelete(handle_, ks.data(), ks.size(), &n);
        if (st == NYC_OK) deleted = n;
        return st;
    }

    /// flush without exceptions.
    nyc_status try_flush() noexcept { return nyc_flush(handle_); }

    /// scan without exceptions from the cache (may still throw
    /// std::bad_alloc; the step's keys are then lost, so restart from
    /// `cursor`): on NYC_OK `out` holds the step; on any other status it is
    /// unchanged. A pattern holding a NUL byte returns NYC_INVALID_ARGUMENT.
    nyc_status try_scan(std::uint64_t cursor, const std::string& pattern, std::size_t count,
                        ScanPage& out) const {
        if (detail::has_nul(pattern)) return NYC_INVALID_ARGUMENT;
        ScanPage page;
        nyc_status st = scan_step(cursor, pattern.c_str(), count, page);
        if (st == NYC_OK) out = std::move(page);
        return st;
    }

    // ---- lists (Redis LPUSH ... LTRIM) ----
    //
    // Data-structure methods throw Error on failure (NYC_WRONG_TYPE when the
    // key holds another type, ...) and have no try_ variants; a nil reply
    // is std::nullopt. Element lists are views into the caller's strings.

    /// LPUSH: inserts the elements at the head (the last one ends up
    /// first); returns the new length.
    std::uint64_t lpush(std::string_view key, const std::vector<std::string_view>& elements) {
        auto s = detail::slices(elements);
        std::uint64_t n = 0;
        detail::check(nyc_lpush(handle_, key.data(), key.size(), s.data(), s.size(), &n));
        return n;
    }

    /// RPUSH: appends the elements at the tail; returns the new length.
    std::uint64_t rpush(std::string_view key, const std::vector<std::string_view>& elements) {
        auto s = detail::slices(elements);
        std::uint64_t n = 0;
        detail::check(nyc_rpush(handle_, key.data(), key.size(), s.data(), s.size(), &n));
        return n;
    }

    /// LPOP: the head element, or std::nullopt if the key is absent.
    std::optional<std::string> lpop(std::string_view key) {
        return value_or_nil(nyc_lpop, key);
    }

    /// RPOP: the tail element, or std::nullopt.
    std::optional<std::string> rpop(std::string_view key) {
        return value_or_nil(nyc_rpop, key);
    }

    /// LPOP with a count: up to `count` head elements; std::nullopt if the
    /// key is absent.
    std::optional<std::vector<std::string>> lpop(std::string_view key, std::size_t count) {
        return pop_many(nyc_lpop_count, key, count);
    }

    /// RPOP with a count: up to `count` tail elements, tail first.
    std::optional<std::vector<std::string>> rpop(std::string_view key, std::size_t count) {
        return pop_many(nyc_rpop_count, key, count);
    }

    /// LRANGE: elements `start..=stop` (negative from the end, clamped).
    std::vector<std::string> lrange(std::string_view key, std::int64_t start,
                                    std::int64_t stop) const {
        nyc_array* a = nullptr;
        detail::check(nyc_lrange(handle_, key.data(), key.size(), start, stop, &a));
        return detail::strings(a);
    }

    /// LLEN (0 for an absent key).
    std::uint64_t llen(std::string_view key) const {
        std::uint64_t n = 0;
        detail::check(nyc_llen(handle_, key.data(), key.size(), &n));
        return n;
    }

    /// LINDEX: the element at `index` (negative from the end), or nullopt.
    std::optional<std::string> lindex(std::string_view key, std::int64_t index) const {
        nyc_value* v = nullptr;
        nyc_status st = nyc_lindex(handle_, key.data(), key.size(), index, &v);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return detail::take(v);
    }

    /// LSET: throws Error NYC_NOT_FOUND (no such key) or
    /// NYC_INVALID_ARGUMENT (index out of range).
    void lset(std::string_view key, std::int64_t index, std::string_view element) {
        detail::check(nyc_lset(handle_, key.data(), key.size(), index, element.data(),
                               element.size()));
    }

    /// LREM: removes up to |count| occurrences (from the head for count > 0,
    /// the tail for < 0, all for 0); returns how many.
    std::uint64_t lrem(std::string_view key, std::int64_t count, std::string_view element) {
        std::uint64_t n = 0;
        detail::check(nyc_lrem(handle_, key.data(), key.size(), count, element.data(),
                               element.size(), &n));
        return n;
    }

    /// LTRIM: keeps only `start..=stop`.
    void ltrim(std::string_view key, std::int64_t start, std::int64_t stop) {
        detail::check(nyc_ltrim(handle_, key.data(), key.size(), start, stop));
    }

    // ---- sets ----

    /// SADD: returns how many members were new.
    std::uint64_t sadd(std::string_view key, const std::vector<std::string_view>& members) {
        auto s = detail::slices(members);
        std::uint64_t n = 0;
        detail::check(nyc_sadd(handle_, key.data(), key.size(), s.data(), s.size(), &n));
        return n;
    }

    /// SREM: returns how many members were removed.
    std::uint64_t srem(std::string_view key, const std::vector<std::string_view>& members) {
        auto s = detail::slices(members);
        std::uint64_t n = 0;
        detail::check(nyc_srem(handle_, key.data(), key.size(), s.data(), s.size(), &n));
        return n;
    }

    /// SISMEMBER.
    bool sismember(std::string_view key, std::string_view member) const {
        return expect(nyc_sismember(handle_, key.data(), key.size(), member.data(), member.size()),
                      NYC_NOT_FOUND);
    }

    /// SMEMBERS (no particular order).
    std::vector<std::string> smembers(std::string_view key) const {
        return array_of(nyc_smembers, key);
    }

    /// SCARD.
    std::uint64_t scard(std::string_view key) const {
        std::uint64_t n = 0;
        detail::check(nyc_scard(handle_, key.data(), key.size(), &n));
        return n;
    }

    /// SPOP: a random member, removed; std::nullopt if the key is absent.
    std::optional<std::string> spop(std::string_view key) { return value_or_nil(nyc_spop, key); }

    /// SPOP with a count: up to `count` random members, removed.
    std::vector<std::string> spop(std::string_view key, std::size_t count) {
        nyc_array* a = nullptr;
        detail::check(nyc_spop_count(handle_, key.data(), key.size(), count, &a));
        return detail::strings(a);
    }

    /// SRANDMEMBER: a random member (left in the set), or std::nullopt.
    std::optional<std::string> srandmember(std::string_view key) const {
        return value_or_nil(nyc_srandmember, key);
    }

    /// SRANDMEMBER with a count (negative: with repeats).
    std::vector<std::string> srandmember(std::string_view key, std::int64_t count) const {
        nyc_array* a = nullptr;
        detail::check(nyc_srandmember_count(handle_, key.data(), key.size(), count, &a));
        return detail::strings(a);
    }

    /// SINTER over `keys` (absent keys are empty sets).
    std::vector<std::string> sinter(const std::vector<std::string_view>& keys) const {
        return combine(nyc_sinter, keys);
    }

    /// SUNION over `keys`.
    std::vector<std::string> sunion(const std::vector<std::string_view>& keys) const {
        return combine(nyc_sunion, keys);
    }

    /// SDIFF: the first set minus the others.
    std::vector<std::string> sdiff(const std::vector<std::string_view>& keys) const {
        return combine(nyc_sdiff, keys);
    }

    // ---- hashes ----

    /// HSET: returns how many fields were new.
    std::uint64_t hset(std::string_view key,
                       const std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
        std::vector<nyc_slice> fs, vs;
        fs.reserve(pairs.size());
        vs.reserve(pairs.size());
        for (const auto& [f, v] : pairs) {
            fs.push_back(detail::slice(f));
            vs.push_back(detail::slice(v));
        }
        std::uint64_t n = 0;
        detail::check(nyc_hset(handle_, key.data(), key.size(), fs.data(), vs.data(),
                               pairs.size(), &n));
        return n;
    }

    /// HSETNX: true if the field was new (and so was set).
    bool hsetnx(std::string_view key, std::string_view field, std::string_view value) {
        return expect(nyc_hsetnx(handle_, key.data(), key.size(), field.data(), field.size(),
                                 value.data(), value.size()),
                      NYC_EXISTS);
    }

    /// HGET: the field's value, or std::nullopt.
    std::optional<std::string> hget(std::string_view key, std::string_view field) const {
        nyc_value* v = nullptr;
        nyc_status st = nyc_hget(handle_, key.data(), key.size(), field.data(), field.size(), &v);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return detail::take(v);
    }

    /// HDEL: returns how many fields were removed.
    std::uint64_t hdel(std::string_view key, const std::vector<std::string_view>& fields) {
        auto s = detail::slices(fields);
        std::uint64_t n = 0;
        detail::check(nyc_hdel(handle_, key.data(), key.size(), s.data(), s.size(), &n));
        return n;
    }

    /// HEXISTS.
    bool hexists(std::string_view key, std::string_view field) const {
        return expect(nyc_hexists(handle_, key.data(), key.size(), field.data(), field.size()),
                      NYC_NOT_FOUND);
    }

    /// HKEYS.
    std::vector<std::string> hkeys(std::string_view key) const { return array_of(nyc_hkeys, key); }

    /// HVALS (in hkeys' order).
    std::vector<std::string> hvals(std::string_view key) const { return array_of(nyc_hvals, key); }

    /// HLEN.
    std::uint64_t hlen(std::string_view key) const {
        std::uint64_t n = 0;
        detail::check(nyc_hlen(handle_, key.data(), key.size(), &n));
        return n;
    }

    /// HGETALL: (field, value) pairs.
    std::vector<std::pair<std::string, std::string>> hgetall(std::string_view key) const {
        auto flat = array_of(nyc_hgetall, key);
        std::vector<std::pair<std::string, std::string>> out;
        out.reserve(flat.size() / 2);
        for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
            out.emplace_back(std::move(flat[i]), std::move(flat[i + 1]));
        }
        return out;
    }

    /// HINCRBY: returns the new value; throws NYC_NOT_A_NUMBER or
    /// NYC_OVERFLOW.
    std::int64_t hincrby(std::string_view key, std::string_view field, std::int64_t delta) {
        std::int64_t n = 0;
        detail::check(nyc_hincrby(handle_, key.data(), key.size(), field.data(), field.size(),
                                  delta, &n));
        return n;
    }

    // ---- sorted sets ----

    /// ZADD of (score, member) pairs under `flags` (NYC_ZADD_NX, _XX, _GT,
    /// _LT, _CH, or'ed); returns the added (or, with _CH, changed) count.
    std::uint64_t zadd(std::string_view key,
                       const std::vector<std::pair<double, std::string_view>>& members,
                       std::uint32_t flags = 0) {
        std::vector<double> scores;
        std::vector<nyc_slice> names;
        scores.reserve(members.size());
        names.reserve(members.size());
        for (const auto& [score, m] : members) {
            scores.push_back(score);
            names.push_back(detail::slice(m));
        }
        std::uint64_t n = 0;
        detail::check(nyc_zadd(handle_, key.data(), key.size(), scores.data(), names.data(),
                               members.size(), flags, &n));
        return n;
    }

    /// ZADD INCR: the new score, or std::nullopt when `flags` prevented
    /// the change.
    std::optional<double> zadd_incr(std::string_view key, double increment,
                                    std::string_view member, std::uint32_t flags = 0) {
        double s = 0;
        nyc_status st = nyc_zadd_incr(handle_, key.data(), key.size(), increment, member.data(),
                                      member.size(), flags, &s);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return s;
    }

    /// ZINCRBY: returns the new score; throws NYC_NOT_A_NUMBER for NaN.
    double zincrby(std::string_view key, double increment, std::string_view member) {
        double s = 0;
        detail::check(nyc_zincrby(handle_, key.data(), key.size(), increment, member.data(),
                                  member.size(), &s));
        return s;
    }

    /// ZREM: returns how many members were removed.
    std::uint64_t zrem(std::string_view key, const std::vector<std::string_view>& members) {
        auto s = detail::slices(members);
        std::uint64_t n = 0;
        detail::check(nyc_zrem(handle_, key.data(), key.size(), s.data(), s.size(), &n));
        return n;
    }

    /// ZSCORE: the member's score, or std::nullopt.
    std::optional<double> zscore(std::string_view key, std::string_view member) const {
        double s = 0;
        nyc_status st = nyc_zscore(handle_, key.data(), key.size(), member.data(), member.size(), &s);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return s;
    }

    /// ZCARD.
    std::uint64_t zcard(std::string_view key) const {
        std::uint64_t n = 0;
        detail::check(nyc_zcard(handle_, key.data(), key.size(), &n));
        return n;
    }

    /// ZRANK: the 0-based ascending rank, or std::nullopt.
    std::optional<std::uint64_t> zrank(std::string_view key, std::string_view member) const {
        std::uint64_t r = 0;
        nyc_status st = nyc_zrank(handle_, key.data(), key.size(), member.data(), member.size(), &r);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return r;
    }

    /// ZRANGE by index with scores; descending with `rev`.
    std::vector<std::pair<std::string, double>> zrange(std::string_view key, std::int64_t start,
                                                       std::int64_t stop, bool rev = false) const {
        nyc_array* a = nullptr;
        std::uint32_t flags = NYC_ZRANGE_WITHSCORES | (rev ? NYC_ZRANGE_REV : 0u);
        detail::check(nyc_zrange(handle_, key.data(), key.size(), start, stop, flags, &a));
        return detail::scored(a);
    }

    /// ZRANGEBYSCORE with scores: `flags` may hold NYC_ZRANGE_MIN_EXCLUSIVE
    /// and NYC_ZRANGE_MAX_EXCLUSIVE; `offset`/`count` are Redis's LIMIT
    /// (count < 0: all).
    std::vector<std::pair<std::string, double>> zrangebyscore(
        std::string_view key, double min, double max, std::uint32_t flags = 0,
        std::int64_t offset = 0, std::int64_t count = -1) const {
        nyc_array* a = nullptr;
        detail::check(nyc_zrangebyscore(handle_, key.data(), key.size(), min, max,
                                        flags | NYC_ZRANGE_WITHSCORES, offset, count, &a));
        return detail::scored(a);
    }

    /// ZCOUNT (flags as zrangebyscore's exclusivity flags).
    std::uint64_t zcount(std::string_view key, double min, double max,
                         std::uint32_t flags = 0) const {
        std::uint64_t n = 0;
        detail::check(nyc_zcount(handle_, key.data(), key.size(), min, max, flags, &n));
        return n;
    }

    /// ZPOPMIN: up to `count` lowest members with scores, lowest first.
    std::vector<std::pair<std::string, double>> zpopmin(std::string_view key,
                                                        std::size_t count = 1) {
        nyc_array* a = nullptr;
        detail::check(nyc_zpopmin(handle_, key.data(), key.size(), count, &a));
        return detail::scored(a);
    }

    /// ZPOPMAX: up to `count` highest members with scores, highest first.
    std::vector<std::pair<std::string, double>> zpopmax(std::string_view key,
                                                        std::size_t count = 1) {
        nyc_array* a = nullptr;
        detail::check(nyc_zpopmax(handle_, key.data(), key.size(), count, &a));
        return detail::scored(a);
    }

private:
    using ValueCall = nyc_status (*)(const nyc_cache*, const void*, std::size_t, nyc_value**);
    using ArrayCall = nyc_status (*)(const nyc_cache*, const void*, std::size_t, nyc_array**);
    using CountCall = nyc_status (*)(const nyc_cache*, const void*, std::size_t, std::size_t,
                                     nyc_array**);
    using KeysCall = nyc_status (*)(const nyc_cache*, const nyc_slice*, std::size_t, nyc_array**);

    /// A one-element reply, std::nullopt for nil.
    std::optional<std::string> value_or_nil(ValueCall call, std::string_view key) const {
        nyc_value* v = nullptr;
        nyc_status st = call(handle_, key.data(), key.size(), &v);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return detail::take(v);
    }

    /// A pop with a count: std::nullopt for a missing key (null array).
    std::optional<std::vector<std::string>> pop_many(CountCall call, std::string_view key,
                                                     std::size_t count) {
        nyc_array* a = nullptr;
        nyc_status st = call(handle_, key.data(), key.size(), count, &a);
        if (st == NYC_NOT_FOUND) return std::nullopt;
        detail::check(st);
        return detail::strings(a);
    }

    /// A whole-collection read.
    std::vector<std::string> array_of(ArrayCall call, std::string_view key) const {
        nyc_array* a = nullptr;
        detail::check(call(handle_, key.data(), key.size(), &a));
        return detail::strings(a);
    }

    /// SINTER / SUNION / SDIFF.
    std::vector<std::string> combine(KeysCall call, const std::vector<std::string_view>& keys) const {
        auto s = detail::slices(keys);
        nyc_array* a = nullptr;
        detail::check(call(handle_, s.data(), s.size(), &a));
        return detail::strings(a);
    }

    /// First guess for gets' buffer; larger values cost one more call.
    static constexpr std::size_t initial_buffer = 256;

    /// nyc_mset over `pairs` with `ms`; may throw std::bad_alloc (before
    /// the call).
    nyc_status mset(const std::vector<std::pair<std::string_view, std::string_view>>& pairs,
                    std::uint64_t ms) {
        std::vector<nyc_slice> ks, vs;
        ks.reserve(pairs.size());
        vs.reserve(pairs.size());
        for (const auto& [k, v] : pairs) {
            ks.push_back(detail::slice(k));
            vs.push_back(detail::slice(v));
        }
        return nyc_mset(handle_, ks.data(), vs.data(), pairs.size(), ms);
    }

    /// One nyc_scan step into `page` (written only on NYC_OK). The array is
    /// freed even if copying its keys throws.
    nyc_status scan_step(std::uint64_t cursor, const char* glob, std::size_t count,
                         ScanPage& page) const {
        nyc_array* arr = nullptr;
        std::uint64_t next = 0;
        nyc_status st = nyc_scan(handle_, cursor, glob, count, &next, &arr);
        if (st != NYC_OK) return st;
        struct Free {
            nyc_array* a;
            ~Free() { nyc_array_free(a); }
        } guard{arr};
        std::size_t n = nyc_array_count(arr);
        std::vector<std::string> keys;
        keys.reserve(n);
        for (std::size_t i = 0; i < n; i++) {
            keys.emplace_back(static_cast<const char*>(nyc_array_item_data(arr, i)),
                              nyc_array_item_len(arr, i));
        }
        page.next = next;
        page.keys = std::move(keys);
        return NYC_OK;
    }

    Subscription queue(std::string_view topic, int is_pattern, std::size_t capacity) const {
        Subscription s;
        detail::check(nyc_subscribe(handle_, topic.data(), topic.size(), is_pattern, capacity,
                                    &s.handle_));
        return s;
    }

    Subscription with_callback(std::string_view topic, int is_pattern, MessageCallback cb) const {
        Subscription s;
        // Owned by the library from here on: it deletes it through
        // detail::release, on failure too.
        auto* owned = new MessageCallback(std::move(cb));
        detail::check(nyc_subscribe_callback(handle_, topic.data(), topic.size(), is_pattern,
                                             detail::deliver, owned, detail::release, &s.handle_));
        return s;
    }

    /// NYC_OK -> true, `no` -> false, anything else throws.
    static bool expect(nyc_status st, nyc_status no) {
        if (st == NYC_OK) return true;
        if (st == no) return false;
        detail::throw_status(st);
    }

    nyc_cache* handle_ = nullptr;
};

}  // namespace nycache

#endif  // NYCACHE_HPP
