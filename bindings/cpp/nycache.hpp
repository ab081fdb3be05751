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
//  - One Cache may be used by many threads at once (the C handle is
//    thread-safe); moving, assigning or closing it must not race with use.

#ifndef NYCACHE_HPP
#define NYCACHE_HPP

#include <nycache.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
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

private:
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
