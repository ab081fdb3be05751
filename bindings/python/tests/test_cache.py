"""nycache.Cache: the Python API of API.md over the C library."""

import pickle
import threading

import pytest

import nycache


@pytest.fixture
def cache():
    with nycache.Cache(max_memory="16MiB", hash_seed=7) as c:
        yield c


def test_get_set_with_str_and_bytes_keys(cache):
    cache.set("k", b"v")
    assert cache.get("k") == b"v"
    assert cache.get(b"k") == b"v"  # str keys are their UTF-8 bytes
    cache.set("ключ", b"unicode")
    assert cache.get("ключ".encode()) == b"unicode"
    assert cache.get("missing") is None
    assert cache.get("missing", default=b"d") == b"d"
    cache.set("empty", b"")
    assert cache.get("empty", default=None) == b""
    cache.set(bytearray(b"ba"), memoryview(b"mv"))
    assert cache.get(b"ba") == b"mv"


def test_mapping_protocol(cache):
    cache["a"] = b"1"
    assert cache["a"] == b"1"
    assert "a" in cache and "b" not in cache
    assert len(cache) == 1
    with pytest.raises(KeyError):
        cache["b"]
    del cache["a"]
    with pytest.raises(KeyError):
        del cache["a"]
    assert len(cache) == 0
    cache["x"], cache["y"] = b"1", b"2"
    assert sorted(cache) == ["x", "y"]


def test_add_replace_delete(cache):
    assert cache.add("k", b"1") is True
    assert cache.add("k", b"2") is False
    assert cache.get("k") == b"1"
    assert cache.replace("k", b"3") is True
    assert cache.replace("other", b"4") is False
    assert "other" not in cache
    assert cache.get("k") == b"3"
    assert cache.delete("k") is True
    assert cache.delete("k") is False


def test_cas(cache):
    cache.set("k", b"1")
    value, version = cache.gets("k")
    assert value == b"1"
    assert cache.cas("k", b"2", version) is True
    assert cache.cas("k", b"3", version) is False  # written since
    assert cache.get("k") == b"2"
    assert cache.gets("missing") is None
    assert cache.cas("missing", b"x", version) is False


def test_incr_decr(cache):
    assert cache.incr("n") == 1  # a missing key counts as 0
    assert cache.incr("n", 10) == 11
    assert cache.decr("n", 20) == -9
    assert cache.get("n") == b"-9"
    cache.set("text", b"abc")
    with pytest.raises(nycache.NotANumber) as e:
        cache.incr("text")
    assert isinstance(e.value, ValueError)
    assert cache.get("text") == b"abc"
    cache.set("big", str(2**63 - 1).encode())
    with pytest.raises(nycache.Overflow):
        cache.incr("big")
    assert cache.get("big") == str(2**63 - 1).encode()
    with pytest.raises(nycache.Overflow):
        cache.incr("n", 2**63)
    with pytest.raises(TypeError):
        cache.incr("n", 1.5)


def test_decr_by_int64_min_is_refused_like_redis(cache):
    # Redis's DECRBY refuses -2**63: its negation does not fit in 64 bits.
    cache.set("m", b"-1")
    with pytest.raises(nycache.Overflow, match="decrement would overflow"):
        cache.decr("m", -(2**63))
    assert cache.get("m") == b"-1"
    with pytest.raises(nycache.Overflow):
        cache.decr("absent", -(2**63))
    assert "absent" not in cache  # nothing was created
    assert cache.decr("m", -(2**63) + 1) == 2**63 - 2


def test_ttl_expire_persist_touch(cache):
    cache.set("k", b"v", ttl=100)
    assert 99 < cache.ttl("k") <= 100
    cache.set("f", b"v", ttl=0.25)
    assert 0 < cache.ttl("f") <= 0.25
    cache.set("forever", b"v")
    assert cache.ttl("forever") is None
    assert cache.ttl("missing") == 0
    assert cache.persist("k") is True
    assert cache.ttl("k") is None
    assert cache.expire("k", 50) is True
    assert 49 < cache.ttl("k") <= 50
    assert cache.expire("missing", 5) is False
    assert cache.touch("k") is True
    assert cache.touch("missing") is False
    assert cache.touch("k", ttl=None) is True
    assert cache.ttl("k") is None
    assert cache.touch("k", ttl=7) is True
    assert 6 < cache.ttl("k") <= 7
    # Zero or negative deletes, as Redis's EXPIRE does.
    assert cache.expire("k", 0) is True
    assert "k" not in cache
    # A TTL under a millisecond is 1 ms, never "no expiry".
    cache.set("tiny", b"v", ttl=1e-6)
    assert cache.ttl("tiny") != None  # noqa: E711


def test_bad_ttls_are_refused(cache):
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="ttl must be positive"):
            cache.set("k", b"v", ttl=bad)
    with pytest.raises(TypeError, match="ttl must be a number"):
        cache.set("k", b"v", ttl="10")
    with pytest.raises(TypeError):
        cache.set("k", b"v", ttl=True)
    assert "k" not in cache


def test_batches(cache):
    cache.set_many({"a": b"1", "b": b"2", b"c": b"3"}, ttl=60)
    assert cache.get_many(["a", "b", b"c", "missing"]) == {"a": b"1", "b": b"2", b"c": b"3"}
    assert cache.get_many([]) == {}
    assert 59 < cache.ttl("a") <= 60
    cache.set_many([("p", b"x"), ("q", b"y")])  # pairs work as well as a mapping
    assert cache.get_many(iter(["p", "q"])) == {"p": b"x", "q": b"y"}
    assert cache.delete_many(["a", "b", "missing"]) == 2
    assert cache.delete_many([]) == 0
    assert cache.get_many(["a", "b", "c"]) == {"c": b"3"}


def test_get_many_values_larger_than_the_buffers(cache):
    big = {f"k{i}": bytes([i]) * (300_000 + i) for i in range(5)}
    cache.set_many(big)
    assert cache.get_many(list(big) + ["nope"]) == big
    huge = b"h" * 3_000_000  # over the size a read buffer is kept at
    cache.set("huge", huge)
    assert cache.get("huge") == huge
    assert cache.get_many(["huge", "k0"]) == {"huge": huge, "k0": big["k0"]}
    assert cache.gets("huge")[0] == huge


def test_bad_batches_change_nothing():
    with nycache.Cache(max_key_size=8) as c:
        c.set("keep", b"1")
        with pytest.raises(nycache.KeyTooLarge):
            c.set_many({"ok": b"2", "much-too-long": b"3"})
        assert "ok" not in c
        with pytest.raises(nycache.KeyTooLarge):
            c.delete_many(["keep", "much-too-long"])
        assert c.get("keep") == b"1"
        with pytest.raises(TypeError, match="values must be bytes, not int"):
            c.set_many({"a": b"1", "b": 2})
        assert "a" not in c


def test_keys_scan_with_patterns(cache):
    for i in range(2500):
        cache.set(f"user:{i}", b"")
    cache.set("other", b"")
    keys = list(cache.keys("user:*"))
    assert len(keys) == len(set(keys)) == 2500
    assert set(keys) == {f"user:{i}" for i in range(2500)}
    assert list(cache.keys("user:1?")) and all(len(k) == 7 for k in cache.keys("user:1?"))
    assert sorted(cache.keys("oth*")) == ["other"]
    assert len(list(cache.keys())) == 2501
    with pytest.raises(ValueError):
        cache.keys("a\0b")


def test_non_utf8_keys_round_trip_through_keys(cache):
    cache.set(b"\xff\xfe", b"raw")
    (key,) = list(cache.keys())
    assert cache.get(key) == b"raw"


def test_clear_and_stats(cache):
    cache.set("a", b"1")
    cache.get("a")
    cache.get("nope")
    s = cache.stats()
    assert isinstance(s, nycache.CacheStats)
    assert (s.hits, s.misses, s.sets, s.entries) == (1, 1, 1, 1)
    assert s.hit_rate == 0.5
    assert 0 < s.used_bytes <= s.max_bytes
    assert s.utilization == s.used_bytes / s.max_bytes
    assert s.max_bytes == 16 * 2**20
    cache.clear()
    assert cache.stats().entries == 0 and "a" not in cache
    assert "nycache_hits_total 1" in cache.metrics_text()


def test_eviction_keeps_the_budget():
    with nycache.Cache(max_memory="1MiB", shards=1) as c:
        for i in range(20_000):
            c.set(f"k{i}", b"x" * 100)
        s = c.stats()
        assert s.evictions > 0
        assert s.used_bytes <= s.max_bytes
        assert c.get("k19999") == b"x" * 100  # the newest survives


def test_pickle_serializer_round_trips_objects_and_keeps_ints_native():
    with nycache.Cache(serializer="pickle") as c:
        for value in ({"a": [1, 2]}, "text", 1.5, None, b"bytes", (1, "x"), True, 2**80, 10**5000, -(2**63)):
            c.set("k", value)
            assert c.get("k", default="absent") == value
            assert type(c.get("k", default="absent")) is type(value)
        c.set("n", 41)
        assert c.incr("n") == 42
        assert c.get("n") == 42
        c.set_many({"a": [1], "b": 2})
        assert c.get_many(["a", "b"]) == {"a": [1], "b": 2}
        assert c.add("a", 3) is False


def test_custom_serializer():
    class Upper:
        def dumps(self, v):
            return v.upper().encode()

        def loads(self, b):
            return b.decode()

    with nycache.Cache(serializer=Upper()) as c:
        c.set("k", "abc")
        assert c.get("k") == "ABC"
    with pytest.raises(ValueError, match="unknown serializer"):
        nycache.Cache(serializer="json")
    with pytest.raises(TypeError, match="no dumps"):
        nycache.Cache(serializer=object())


def test_options_and_config_text():
    with nycache.Cache("shards=4", max_memory=2**20, policy="lru") as c:
        assert c.stats().shards == 4
        assert c.stats().max_bytes == 2**20
    with pytest.raises(nycache.InvalidArgument, match="unknown config key"):
        nycache.Cache(bogus=1)
    with pytest.raises(nycache.InvalidArgument, match="policy"):
        nycache.Cache(policy="nope")
    with pytest.raises(nycache.InvalidArgument, match="whitespace"):
        nycache.Cache(policy="lru shards=2")


def test_context_manager_and_close():
    with nycache.Cache() as c:
        c.set("k", b"v")
    assert c.closed
    for call in (
        lambda: c.get("k"),
        lambda: c.set("k", b"v"),
        lambda: c.get_many(["k"]),
        lambda: list(c.keys()),
        lambda: c.stats(),
        lambda: c.incr("k"),
        lambda: "k" in c,
    ):
        with pytest.raises(nycache.CacheClosed):
            call()
    c.close()  # twice is harmless
    assert "closed" in repr(c)


def test_errors_form_a_hierarchy_with_the_status():
    with nycache.Cache(max_key_size=4, max_value_size=8) as c:
        with pytest.raises(nycache.KeyTooLarge) as e:
            c.set("toolong", b"v")
        assert isinstance(e.value, nycache.TooLarge) and isinstance(e.value, nycache.Error)
        assert e.value.status == 7 and e.value.status_name == "NYC_TOO_LARGE"
        assert "max_key_size" in str(e.value)
        with pytest.raises(nycache.ValueTooLarge, match="max_value_size"):
            c.set("k", b"123456789")
        with pytest.raises(nycache.KeyTooLarge):
            c.get("toolong")
        assert "k" not in c


def test_wrong_value_and_key_types_name_the_type(cache):
    with pytest.raises(TypeError, match="values must be bytes, not str"):
        cache.set("k", "text")
    with pytest.raises(TypeError, match="keys must be str or bytes, not int"):
        cache.set(5, b"v")
    with pytest.raises(TypeError, match="not NoneType"):
        cache.get(None)
    assert len(cache) == 0


def test_a_failed_call_leaves_stored_data_alone():
    with nycache.Cache(max_value_size=16) as c:
        c.set("k", b"old")
        with pytest.raises(nycache.ValueTooLarge):
            c.set("k", b"x" * 17)
        assert c.get("k") == b"old"
        with pytest.raises(TypeError):
            c.set("k", 12)
        assert c.get("k") == b"old"


def test_many_threads_share_one_cache():
    with nycache.Cache(max_memory="8MiB") as c:
        errors = []

        def worker(t):
            try:
                for i in range(2000):
                    key = f"t{t}:{i % 50}"
                    c.set(key, f"{t}:{i}".encode())
                    v = c.get(key)
                    # Only this thread writes its keys: it reads its own write.
                    assert v == f"{t}:{i}".encode(), (key, v)
                    c.incr("shared")
                    if i % 100 == 0:
                        assert set(c.get_many([key])) == {key}
                        list(c.keys(f"t{t}:*"))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert c.get("shared") == b"16000"  # incr is atomic


def test_close_while_other_threads_read_never_crashes():
    for _ in range(20):
        c = nycache.Cache()
        c.set("k", b"v")
        calls_before_close = threading.Semaphore(0)
        outcomes, errors = [], []

        def reader():
            try:
                while True:
                    c.get_many(["k"] * 50)
                    c.get("k")
                    calls_before_close.release()
            except nycache.CacheClosed:
                outcomes.append("closed")
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        for _ in threads:  # every reader is calling before the close
            assert calls_before_close.acquire(timeout=30)
        c.close()
        for t in threads:
            t.join()
        assert not errors, errors
        assert outcomes == ["closed"] * 3


def test_a_suspended_keys_iterator_does_not_keep_the_cache_open():
    c = nycache.Cache()
    for i in range(3000):
        c.set(f"k{i}", b"")
    it = c.keys(count=10)
    next(it)
    import weakref

    handle = weakref.ref(c._h)
    c.close()
    assert handle() is None  # freed at once, though the iterator lives
    with pytest.raises(nycache.CacheClosed):
        list(it)


def test_serializer_output_must_be_bytes():
    class Text:
        def dumps(self, v):
            return str(v)  # a str, not bytes

        def loads(self, b):
            return b

    class Liar(bytes):
        def __len__(self):
            return 4096

    class Lying:
        def dumps(self, v):
            return Liar(b"tiny")

        def loads(self, b):
            return b

    class Buffer:
        def dumps(self, v):
            return bytearray(b"ba")

        def loads(self, b):
            return b

    with nycache.Cache(serializer=Text()) as c:
        with pytest.raises(TypeError, match="returned str, not bytes"):
            c.set("k", 1)
        with pytest.raises(TypeError):
            c.set_many({"k": 1})
        assert "k" not in c
    with nycache.Cache(serializer=Lying()) as c:
        c.set("k", 1)
        assert c.get("k") == b"tiny"  # its bytes, not 4096 from its __len__
    with nycache.Cache(serializer=Buffer()) as c:
        c.add("k", 1)
        assert c.get("k") == b"ba"


def test_huge_ttls_and_bad_versions_and_counts(cache):
    cache.set("t", b"v", ttl=18446744073709552)  # ms past 2**64: capped, not wrapped
    assert cache.ttl("t") > 10**9
    cache.set("k", b"v")
    _, version = cache.gets("k")
    with pytest.raises(ValueError):
        cache.cas("k", b"w", version + 2**64)
    with pytest.raises(TypeError):
        cache.cas("k", b"w", "1")
    assert cache.get("k") == b"v"
    with pytest.raises(TypeError):
        cache.keys(count="5")
    with pytest.raises(ValueError):
        cache.keys(count=0)


def test_str_subclass_keys_are_their_characters_everywhere(cache):
    import enum

    class Color(str, enum.Enum):
        RED = "red"

    cache.set(Color.RED, b"1")
    assert list(cache.keys()) == ["red"]
    assert cache.get_many(["x", Color.RED]) == {Color.RED: b"1"}
    assert cache.delete_many(["x", Color.RED]) == 1


def test_large_values_are_read_at_most_twice(cache):
    big = b"b" * 100_000  # larger than a fresh read buffer
    cache.set("big", big)
    before = cache.stats().hits
    assert cache.get("big") == big
    assert cache.stats().hits - before <= 2
    huge = {f"h{i}": bytes([i]) * 20_000 for i in range(100)}  # 2 MB: over the kept buffers
    cache.set_many(huge)
    cache.get_many(list(huge))  # learns the size
    before = cache.stats().hits
    assert cache.get_many(list(huge)) == huge
    assert cache.stats().hits - before == 100  # sized from the last batch: read once


def test_config_text_is_checked(cache):
    with pytest.raises(nycache.InvalidArgument, match="NUL"):
        nycache.Cache("shards=4\0 shards=frobnicate")
    with pytest.raises(TypeError):
        nycache.Cache(b"shards=4")


def test_an_empty_cache_is_still_true():
    with nycache.Cache() as c:
        assert len(c) == 0 and bool(c) is True
    assert bool(c) is True  # also once closed


def test_import_star_leaves_builtins_alone():
    scope: dict = {}
    exec("from nycache import *", scope)
    assert "IOError" not in scope and "Cache" in scope


def test_library_and_version():
    assert nycache.version().count(".") == 2
    assert nycache.library_path.name == "libnycache.so"


def test_values_are_independent_copies(cache):
    cache.set("k", b"abc")
    v = cache.get("k")
    cache.set("k", b"xyz")
    assert v == b"abc"
    assert pickle.loads(pickle.dumps(v)) == b"abc"
