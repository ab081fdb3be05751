"""Unit tests of nycache.django.NycacheCache (Django's own cache tests run
against it in django_suite/). The backend is built directly or through a
CacheHandler with explicit settings, so no Django settings are needed."""

from __future__ import annotations

import asyncio
import pickle
import threading
import uuid
import warnings
from decimal import Decimal

import pytest
from conftest import require  # noqa: E402

require("django")

import nycache  # noqa: E402
from django.core.cache import CacheHandler, CacheKeyWarning  # noqa: E402
from django.core.cache.backends import base as django_base  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from nycache import django as nycache_django  # noqa: E402
from nycache.django import NycacheCache  # noqa: E402

BACKEND = "nycache.django.NycacheCache"


@pytest.fixture(autouse=True)
def close_new_stores():
    """Closes the stores a test opened (the registry keeps them otherwise)."""
    before = set(nycache_django._stores)
    yield
    with nycache_django._stores_lock:
        for key in set(nycache_django._stores) - before:
            nycache_django._stores.pop(key).close()


def make(**params) -> NycacheCache:
    """A backend on a store of its own (a fresh LOCATION)."""
    return NycacheCache(params.pop("LOCATION", uuid.uuid4().hex), params)


def ttl_of(backend: NycacheCache, key: str, version=None):
    """The TTL nycache holds for a Django key (seconds, None, 0 = absent)."""
    return backend._cache.ttl(backend.make_key(key, version=version))


# -- timeouts ------------------------------------------------------------------


def test_default_timeout_is_300_seconds():
    c = make()
    assert c.default_timeout == 300
    c.set("k", "v")
    assert 299 < ttl_of(c, "k") <= 300
    assert c.add("a", "v") is True
    assert 299 < ttl_of(c, "a") <= 300
    c.set_many({"m": 1})
    assert 299 < ttl_of(c, "m") <= 300


def test_configured_default_timeout():
    c = make(TIMEOUT=60)
    c.set("k", "v")
    assert 59 < ttl_of(c, "k") <= 60
    c.set("k2", "v", timeout=5)
    assert 4 < ttl_of(c, "k2") <= 5


def test_timeout_none_never_expires():
    c = make()
    c.set("k", "v", timeout=None)
    assert ttl_of(c, "k") is None
    assert c.add("a", "v", timeout=None) is True
    assert ttl_of(c, "a") is None
    c.set_many({"m": 1}, timeout=None)
    assert ttl_of(c, "m") is None
    forever = make(TIMEOUT=None)
    assert forever.default_timeout is None
    forever.set("k", "v")
    assert ttl_of(forever, "k") is None


def test_float_timeout():
    c = make()
    c.set("k", "v", timeout=2.5)
    assert 2 < ttl_of(c, "k") <= 2.5
    assert c.get("k") == "v"
    c.set("d", "v", timeout=Decimal("7.5"))
    assert 7 < ttl_of(c, "d") <= 7.5


@pytest.mark.parametrize("timeout", [0, -1, -0.5])
def test_zero_or_negative_timeout_expires_at_once(timeout):
    c = make()
    c.set("k", "old")
    c.set("k", "new", timeout=timeout)  # replaces, and is gone at once
    assert c.get("k") is None
    assert c.has_key("k") is False

    assert c.add("a", "v", timeout=timeout) is True  # absent: "added", expired
    assert c.has_key("a") is False
    c.set("p", "present")
    assert c.add("p", "v", timeout=timeout) is False  # present: untouched
    assert c.get("p") == "present"

    c.set_many({"m1": 1, "m2": 2})
    c.set_many({"m1": 10, "m2": 20}, timeout=timeout)
    assert c.get_many(["m1", "m2"]) == {}

    c.set("t", "v")
    assert c.touch("t", timeout=timeout) is True
    assert c.has_key("t") is False
    assert c.touch("t", timeout=timeout) is False


def test_default_timeout_zero_stores_nothing():
    c = make(TIMEOUT=0)
    c.set("k", "v")
    assert c.has_key("k") is False
    assert c.get_or_set("g", "value") == "value"
    assert c.has_key("g") is False


def test_touch_sets_the_timeout():
    c = make()
    c.set("k", "v", timeout=10)
    assert c.touch("k") is True  # default timeout
    assert 299 < ttl_of(c, "k") <= 300
    assert c.touch("k", timeout=None) is True
    assert ttl_of(c, "k") is None
    assert c.touch("k", timeout=20) is True
    assert 19 < ttl_of(c, "k") <= 20
    assert c.touch("missing") is False
    assert c.has_key("missing") is False


# -- values --------------------------------------------------------------------


def test_stored_none_is_a_hit():
    c = make()
    c.set("n", None)
    assert c.get("n", "default") is None
    assert c.has_key("n") is True
    assert "n" in c
    assert c.get_many(["n", "missing"]) == {"n": None}
    assert c.get_or_set("n", "other") is None
    assert c.add("n", "other") is False
    assert c.get("missing", "default") == "default"


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


@pytest.mark.parametrize(
    "value",
    [
        "text",
        "",
        b"\x00\x80bytes",
        b"42",
        "42",
        42,
        -7,
        0,
        2**63,
        -(2**63) - 1,
        1.5,
        True,
        False,
        [1, "two", None],
        {"a": (1, 2)},
        Point(1, 2),
    ],
)
def test_values_round_trip_with_their_type(value):
    c = make()
    c.set("k", value)
    got = c.get("k")
    assert got == value
    assert type(got) is type(value)


def test_huge_int_round_trips():
    c = make()
    value = 10**5000
    c.set("k", value)
    assert c.get("k") == value


def test_unpicklable_value_raises_pickle_error():
    class Unpicklable:
        def __reduce__(self):
            raise pickle.PickleError("no")

    c = make()
    with pytest.raises(pickle.PickleError):
        c.set("k", Unpicklable())
    with pytest.raises(pickle.PickleError):
        c.add("k", Unpicklable())
    assert c.has_key("k") is False


# -- incr / decr ---------------------------------------------------------------


def test_incr_decr_missing_key_raises_value_error_and_creates_nothing():
    c = make()
    with pytest.raises(ValueError):
        c.incr("missing")
    with pytest.raises(ValueError):
        c.decr("missing", 5)
    assert c.has_key("missing") is False


def test_incr_decr_ints_natively_keeping_the_ttl():
    c = make()
    c.set("n", 41, timeout=100)
    assert c.incr("n") == 42
    assert c.incr("n", 10) == 52
    assert c.decr("n", 2) == 50
    assert c.decr("n", -5) == 55
    assert c.get("n") == 55
    assert 99 < ttl_of(c, "n") <= 100
    # Stored as decimal text: the store's own incr works on it.
    assert c._cache.incr(c.make_key("n"), 0) == 55


def test_incr_is_atomic_across_threads():
    c = make()
    c.set("counter", 0)
    threads_n, per_thread = 8, 2000

    def work():
        for _ in range(per_thread):
            c.incr("counter")

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.get("counter") == threads_n * per_thread


def test_incr_on_non_int_values_falls_back_like_base_cache():
    c = make()
    c.set("f", 1.5, timeout=100)
    assert c.incr("f") == 2.5
    assert c.get("f") == 2.5
    assert 99 < ttl_of(c, "f") <= 100
    c.set("big", 2**63 - 1)
    assert c.incr("big") == 2**63  # past int64: Python arithmetic
    assert c.get("big") == 2**63
    assert c.decr("big", 2**64) == 2**63 - 2**64
    c.set("n", 1)
    assert c.incr("n", 0.5) == 1.5  # a float delta
    c.set("none", None)
    with pytest.raises(TypeError):
        c.incr("none")
    c.set("s", "text")
    with pytest.raises(TypeError):
        c.incr("s")
    assert c.get("s") == "text"


# -- keys, versions, batches -----------------------------------------------------


def test_versions_and_prefixes_are_separate_keys():
    location = uuid.uuid4().hex
    c = make(LOCATION=location)
    prefixed = make(LOCATION=location, KEY_PREFIX="p")
    v2 = make(LOCATION=location, VERSION=2)
    c.set("k", "v1")
    c.set("k", "v2", version=2)
    assert c.get("k") == "v1"
    assert c.get("k", version=2) == "v2"
    assert v2.get("k") == "v2"  # same store, default version 2
    assert prefixed.get("k") is None
    assert c.incr_version("k") == 2
    assert c.get("k") is None
    assert c.get("k", version=2) == "v1"


def test_batches():
    c = make()
    assert c.set_many({"a": 1, "b": None, "c": "x"}) == []
    assert c.get_many(iter(["a", "b", "c", "d"])) == {"a": 1, "b": None, "c": "x"}
    assert c.get_many([]) == {}
    assert c.delete_many(["a", "b", "nope"]) is None
    assert c.get_many(["a", "b", "c"]) == {"c": "x"}
    c.delete_many([])
    c.clear()
    assert c.get("c") is None


def test_invalid_keys_warn():
    c = make()
    with pytest.warns(CacheKeyWarning):
        c.set("has space", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c.set("no_space", 1)


# -- options, sharing, close ------------------------------------------------------


def test_options_are_passed_to_nycache():
    c = make(OPTIONS={"max_memory": "1MiB", "policy": "lru", "shards": 1})
    stats = c._cache.stats()
    assert 0 < stats.max_bytes <= 1 << 20
    assert stats.shards == 1
    with pytest.raises(nycache.InvalidArgument):
        make(OPTIONS={"no_such_option": 1})
    with pytest.raises(ImproperlyConfigured):
        make(OPTIONS={"serializer": None})


def test_django_max_entries_bounds_the_store():
    c = make(OPTIONS={"MAX_ENTRIES": 10, "CULL_FREQUENCY": 3})
    for i in range(100):
        c.set(f"k{i}", i)
    kept = sum(c.has_key(f"k{i}") for i in range(100))
    assert 0 < kept <= 10
    assert len(c._cache) <= 10


def test_same_location_and_options_share_one_store():
    location = uuid.uuid4().hex
    a = make(LOCATION=location, OPTIONS={"max_memory": "2MiB"})
    b = make(LOCATION=location, OPTIONS={"max_memory": "2MiB"}, KEY_PREFIX="x")
    other_options = make(LOCATION=location, OPTIONS={"max_memory": "4MiB"})
    other_location = make(OPTIONS={"max_memory": "2MiB"})
    assert a._cache is b._cache
    assert other_options._cache is not a._cache
    assert other_location._cache is not a._cache
    a.set("k", "v")
    assert other_location.get("k") is None


def test_threads_share_data_through_the_cache_handler():
    location = uuid.uuid4().hex
    handler = CacheHandler({"default": {"BACKEND": BACKEND, "LOCATION": location}})
    main = handler["default"]
    main.set("from-main", 1)
    seen = {}

    def worker():
        mine = handler["default"]
        seen["same_instance"] = mine is main
        seen["value"] = mine.get("from-main")
        mine.set("from-thread", 2)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == {"same_instance": False, "value": 1}
    assert main.get("from-thread") == 2

    other = CacheHandler({"default": {"BACKEND": BACKEND, "LOCATION": uuid.uuid4().hex}})
    assert other["default"].get("from-main") is None


def test_close_keeps_the_shared_store_open():
    location = uuid.uuid4().hex
    handler = CacheHandler({"default": {"BACKEND": BACKEND, "LOCATION": location}})
    c = handler["default"]
    c.set("k", "v")
    handler.close_all()  # what Django does at the end of every request
    c.close()
    asyncio.run(c.aclose())
    assert c._cache.closed is False
    assert c.get("k") == "v"
    assert make(LOCATION=location).get("k") == "v"


# -- async ------------------------------------------------------------------------

ASYNC_METHODS = [
    "aadd", "aget", "aset", "atouch", "adelete", "aget_many", "aget_or_set", "ahas_key",
    "aincr", "adecr", "aset_many", "adelete_many", "aclear", "aincr_version",
    "adecr_version", "aclose",
]  # fmt: skip


def test_async_methods_are_native(monkeypatch):
    for name in ASYNC_METHODS:
        assert name in NycacheCache.__dict__, name
        assert asyncio.iscoroutinefunction(getattr(NycacheCache, name)), name

    def no_thread_hop(*args, **kwargs):
        raise AssertionError("sync_to_async used")

    monkeypatch.setattr(django_base, "sync_to_async", no_thread_hop)
    c = make()

    async def scenario():
        assert await c.aadd("k", "v") is True
        assert await c.aadd("k", "w") is False
        assert await c.aget("k") == "v"
        assert await c.aget("missing", "d") == "d"
        await c.aset("n", None, timeout=30)
        assert await c.aget("n", "d") is None
        assert await c.ahas_key("n") is True
        assert await c.atouch("n", timeout=None) is True
        assert ttl_of(c, "n") is None
        await c.aset("z", "v", timeout=0)
        assert await c.ahas_key("z") is False
        assert await c.aset_many({"a": 1, "b": 2}) == []
        assert await c.aget_many(["a", "b", "x"]) == {"a": 1, "b": 2}
        assert await c.aincr("a", 5) == 6
        assert await c.adecr("a") == 5
        with pytest.raises(ValueError):
            await c.aincr("missing")
        assert await c.aget_or_set("g", lambda: "made") == "made"
        assert await c.aget_or_set("g", "other") == "made"
        assert await c.aincr_version("g") == 2
        assert await c.aget("g", version=2) == "made"
        assert await c.adecr_version("g", version=2) == 1
        assert await c.adelete("g") is True
        assert await c.adelete("g") is False
        await c.adelete_many(["a", "b"])
        assert await c.aget_many(["a", "b"]) == {}
        await c.aclear()
        assert await c.aget("k") is None
        await c.aclose()

    asyncio.run(scenario())


def test_a_value_too_large_is_not_cached_and_the_old_one_goes():
    # As Django's memcached backends do: no exception (a cached page must not
    # become a 500), and never the stale old value afterwards.
    c = make(OPTIONS={"max_value_size": 1000})
    c.set("page", b"old page")
    c.set("page", b"x" * 5000)
    assert c.get("page") is None
    assert c.add("other", b"x" * 5000) is False
    assert c.has_key("other") is False
    c.set("a", b"old a")
    failed = c.set_many({"a": b"x" * 5000, "b": b"small"})
    assert failed == ["a"]
    assert c.get("a") is None and c.get("b") == b"small"
