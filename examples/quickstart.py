"""nycache from Python: store and read values, TTLs, counters, batches,
a memoized function, data structures, pub/sub and the stats.

Run from a checkout: make demo (or PYTHONPATH=bindings/python python3 examples/quickstart.py
after `make release`); from an installed wheel: python3 quickstart.py.
"""

import threading
import time

import nycache

with nycache.Cache(max_memory="64MiB", policy="adaptive") as cache:
    print(f"nycache {nycache.version()} from {nycache.library_path}")

    # Keys are str or bytes; values are bytes.
    cache.set("greeting", b"hello, world", ttl=30)
    print("greeting:", cache.get("greeting"), f"(expires in {cache.ttl('greeting'):.0f} s)")
    print("missing :", cache.get("missing", default=b"<default>"))

    # Dict-like.
    cache["color"] = b"blue"
    print("'color' in cache:", "color" in cache, "| len:", len(cache))

    # Atomic counters.
    for _ in range(3):
        cache.incr("visits")
    print("visits:", cache.get("visits"))

    # Batches: one call into the library for many keys.
    cache.set_many({f"user:{i}": f"name-{i}".encode() for i in range(5)}, ttl=60)
    print("get_many:", cache.get_many(["user:1", "user:3", "user:99"]))
    print("keys('user:*'):", sorted(cache.keys("user:*")))

    # Bad input is an exception, never a crash, and changes nothing.
    try:
        cache.set("greeting", "not bytes")
    except TypeError as e:
        print("TypeError:", e)

    # Memoize with single flight: four threads, one computation.
    calls = []

    @cache.memoize(ttl=60)
    def slow_square(x):
        calls.append(x)
        time.sleep(0.05)
        return x * x

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow_square(12))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"slow_square(12) -> {results}, computed {len(calls)} time(s)")

    # Any picklable object, with serializer="pickle".
    objects = nycache.Cache(serializer="pickle")
    objects.set("session", {"user": "ada", "roles": ["admin"]})
    print("session:", objects.get("session"))
    objects.close()

    # Redis-style data structures (redis-py names): bytes in, bytes out.
    cache.rpush("queue", "job-1", "job-2")
    print("lpop:", cache.lpop("queue"), "| left:", cache.lrange("queue", 0, -1))
    cache.zadd("board", {"ada": 31, "bob": 27, "cy": 35})
    print("top 2:", cache.zrange("board", 0, 1, desc=True, withscores=True))

    # Pub/sub: a pattern subscription read from a queue.
    with cache.subscribe("news.*") as sub:
        receivers = cache.publish("news.python", b"3.14 is out")
        print(f"published to {receivers}: {sub.get_nowait()}")

    s = cache.stats()
    print(f"stats: {s.entries} entries, {s.hits} hits, {s.misses} misses, hit rate {s.hit_rate:.0%}, "
          f"{s.used_bytes} of {s.max_bytes} bytes used")
