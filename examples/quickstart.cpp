// nycache from C++: open a cache, store and read values, use a TTL, a
// counter and a value handle, then print the stats.
//
// Build: c++ -std=c++17 -Ibindings/cpp examples/quickstart.cpp $(pkg-config --cflags --libs nycache)

#include <chrono>
#include <iostream>

#include <nycache.hpp>

using namespace std::chrono_literals;

int main() try {
    nycache::Cache cache{"max_memory=64MiB compress_min=1024"};

    cache.set("greeting", "hello, world");
    std::cout << "greeting = " << cache.get("greeting").value() << '\n';

    cache.set("session:42", R"({"user": "ada"})", 30s);
    if (auto left = cache.ttl("session:42")) {
        std::cout << "session:42 expires in " << left->count() << " ms\n";
    }

    for (int i = 0; i < 3; i++) cache.incr("page_views");
    std::cout << "page_views = " << cache.incr("page_views", 0) << '\n';

    // A value handle: no copy, valid even after the key is overwritten.
    nycache::Value v = cache.get_value("greeting").value();
    cache.set("greeting", "bye");
    std::cout << "handle still reads: " << v.view() << '\n';

    if (!cache.get("nope")) std::cout << "nope: not found\n";
    if (!cache.add("greeting", "again")) std::cout << "add: greeting already exists\n";

    nyc_cache_stats s = cache.stats();
    std::cout << "stats: hits=" << s.hits << " misses=" << s.misses << " entries=" << s.entries
              << " used_bytes=" << s.used_bytes << '\n';
    return 0;
} catch (const nycache::Error& e) {
    std::cerr << "nycache error " << e.status_name() << ": " << e.what() << '\n';
    return 1;
} catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
}
