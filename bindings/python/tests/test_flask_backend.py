"""nycache.flask.NycacheCache: cachelib semantics, and a real Flask app
through Flask-Caching (``CACHE_TYPE="nycache.flask.NycacheCache"``).

Run: PYTHONPATH=bindings/python python -m pytest bindings/python/tests/test_flask_backend.py
(needs Flask, Flask-Caching and cachelib; skipped without them).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from conftest import REQUIRE_ADAPTERS, require  # noqa: E402

require("cachelib")

import nycache  # noqa: E402
from cachelib.serializers import JSONSerializer  # noqa: E402
from nycache.flask import NycacheCache  # noqa: E402


@pytest.fixture(params=[None, "pfx:"], ids=["no_prefix", "prefix"])
def prefix(request):
    return request.param


@pytest.fixture
def cache(prefix):
    c = NycacheCache(default_timeout=300, key_prefix=prefix, max_memory="16MiB")
    yield c
    c.close()


def raw_key(prefix, key):
    return (prefix or "") + key


def test_a_failed_set_removes_the_old_value():
    c = NycacheCache(default_timeout=300, max_value_size=1000)
    assert c.set("page", b"old page")
    assert c.set("page", b"x" * 5000) is False
    assert c.get("page") is None  # never the stale value
    assert c.set_many({"a": b"x" * 5000, "b": b"small"}) == ["b"]
    c.close()


# -- cachelib semantics --------------------------------------------------------


def test_get_missing_is_none(cache):
    assert cache.get("nope") is None
    assert cache.get_many("nope", "nada") == [None, None]
    assert cache.get_dict("nope") == {"nope": None}


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None]},
        "text",
        b"bytes",
        b"123",  # bytes that look like a number stay bytes
        b"",
        True,
        False,
        0,
        -17,
        2**80,  # beyond int64: pickled, still an int
        1.5,
        (1, "two"),
        dt.date(2024, 1, 2),
    ],
    ids=repr,
)
def test_set_get_roundtrip(cache, value):
    assert cache.set("k", value) is True
    got = cache.get("k")
    assert got == value
    assert type(got) is type(value)


def test_keys_carry_the_prefix(cache, prefix):
    cache.set("k", 1)
    assert cache.nycache.exists(raw_key(prefix, "k"))
    if prefix:
        assert not cache.nycache.exists("k")


def test_add(cache):
    assert cache.add("k", "first") is True
    assert cache.add("k", "second") is False
    assert cache.get("k") == "first"


def test_has(cache):
    assert cache.has("k") is False
    cache.set("k", None)  # a stored None is present
    assert cache.has("k") is True


def test_set_many_get_many_get_dict(cache):
    mapping = {"a": 1, "b": "two", "c": [3]}
    assert cache.set_many(mapping) == ["a", "b", "c"]
    assert cache.get_many("c", "missing", "a") == [[3], None, 1]
    assert cache.get_dict("a", "b", "c") == mapping
    assert cache.set_many({}) == []
    assert cache.get_many() == []


def test_delete_and_delete_many(cache):
    cache.set_many({"a": 1, "b": 2, "c": 3})
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    # cachelib: missing keys count as deleted
    assert cache.delete_many("b", "missing", "c") == ["b", "missing", "c"]
    assert cache.get_many("a", "b", "c") == [None, None, None]
    assert cache.delete_many() == []


def test_delete_many_never_raises_when_errors_not_ignored(prefix):
    c = NycacheCache(key_prefix=prefix, ignore_delete_many_errors=False)
    c.set("x", 1)
    assert c.delete_many("x", "y") == ["x", "y"]
    c.close()


def test_inc_dec(cache):
    assert cache.inc("n") == 1  # missing key: starts from 0
    assert cache.inc("n", 10) == 11
    assert cache.dec("n", 4) == 7
    assert cache.get("n") == 7
    assert cache.dec("m", 3) == -3
    assert cache.set("s", 40)
    assert cache.inc("s", 2) == 42
    assert cache.get("s") == 42


def test_inc_is_native_and_keeps_ttl(cache, prefix):
    cache.set("n", 5, timeout=100)
    assert cache.inc("n") == 6
    ttl = cache.nycache.ttl(raw_key(prefix, "n"))
    assert ttl is not None and 90 < ttl <= 100
    # a counter created by inc has no expiry (as cachelib's RedisCache)
    cache.inc("fresh")
    assert cache.nycache.ttl(raw_key(prefix, "fresh")) is None


def test_inc_on_non_integer_raises(cache):
    cache.set("s", "text")
    with pytest.raises(nycache.NotANumber):
        cache.inc("s")
    assert cache.get("s") == "text"


def test_timeout_none_uses_default(cache, prefix):
    cache.set("k", 1)
    ttl = cache.nycache.ttl(raw_key(prefix, "k"))
    assert ttl is not None and 290 < ttl <= 300


def test_timeout_zero_is_forever(cache, prefix):
    cache.set("k", 1, timeout=0)
    cache.add("a", 1, timeout=0)
    cache.set_many({"m": 1}, timeout=0)
    for key in ("k", "a", "m"):
        assert cache.nycache.ttl(raw_key(prefix, key)) is None


def test_default_timeout_zero_is_forever(prefix):
    c = NycacheCache(default_timeout=0, key_prefix=prefix)
    c.set("k", 1)
    assert c.nycache.ttl(raw_key(prefix, "k")) is None
    c.close()


@pytest.mark.parametrize(
    "timeout, expected",
    [(7, 7.0), (2.5, 2.5), (dt.timedelta(seconds=3, milliseconds=250), 3.25)],
    ids=["int", "float", "timedelta"],
)
def test_explicit_timeouts_are_kept_exactly(cache, prefix, timeout, expected):
    cache.set("s", 1, timeout=timeout)
    cache.add("a", 1, timeout=timeout)
    cache.set_many({"m1": 1, "m2": 2}, timeout=timeout)
    for key in ("s", "a", "m1", "m2"):
        ttl = cache.nycache.ttl(raw_key(prefix, key))
        assert ttl is not None and expected - 1 < ttl <= expected


def test_timedelta_default_timeout(prefix):
    c = NycacheCache(default_timeout=dt.timedelta(minutes=2), key_prefix=prefix)
    c.set("k", 1)
    ttl = c.nycache.ttl(raw_key(prefix, "k"))
    assert ttl is not None and 110 < ttl <= 120
    c.close()


def test_negative_timeout_stores_nothing(cache):
    cache.set("k", "old")
    assert cache.set("k", "new", timeout=-1) is True
    assert cache.has("k") is False
    assert cache.add("a", 1, timeout=-1) is True  # absent: "added", already expired
    assert cache.has("a") is False
    cache.set("p", 1)
    assert cache.add("p", 2, timeout=-1) is False  # present: refused
    cache.set("m", 1)
    assert cache.set_many({"m": 2, "n": 3}, timeout=-5) == ["m", "n"]
    assert cache.get_many("m", "n") == [None, None]


def test_bad_timeouts_are_refused(prefix):
    c = NycacheCache(key_prefix=prefix)
    with pytest.raises(TypeError):
        c.set("k", 1, timeout="10")
    with pytest.raises(TypeError):
        c.set("k", 1, timeout=True)
    with pytest.raises(ValueError):
        NycacheCache(default_timeout=-1)
    c.close()


def test_entries_really_expire(cache):
    # The one short sleep: a 50 ms TTL really lapses in the engine.
    cache.set("k", "v", timeout=0.05)
    cache.set("keep", "v", timeout=60)
    assert cache.get("k") == "v"
    time.sleep(0.2)
    assert cache.get("k") is None
    assert cache.has("k") is False
    assert cache.add("k", "again") is True
    assert cache.get("keep") == "v"


def test_clear_without_prefix_flushes_everything():
    c = NycacheCache()
    c.set_many({"a": 1, "b": 2})
    c.nycache.set("raw", b"x")
    assert c.clear() is True
    assert len(c.nycache) == 0
    c.close()


def test_clear_with_prefix_only_clears_own_keys():
    shared = nycache.Cache(serializer="pickle")
    # glob metacharacters in a prefix are matched literally
    mine = NycacheCache(key_prefix="app[1]*:", cache=shared)
    other = NycacheCache(key_prefix="app1x:", cache=shared)
    mine.set_many({f"k{i}": i for i in range(2500)})  # more than one delete batch
    other.set("k0", "other")
    shared.set("unrelated", 1)
    assert mine.clear() is True
    assert mine.get_many("k0", "k1", "k2499") == [None, None, None]
    assert other.get("k0") == "other"
    assert shared.get("unrelated") == 1
    assert len(shared) == 2
    mine.close()  # does not close a cache it did not open
    assert not shared.closed
    shared.close()


def test_callable_prefix():
    tenant = ["t1:"]
    c = NycacheCache(key_prefix=lambda: tenant[0])
    c.set("k", 1)
    tenant[0] = "t2:"
    assert c.get("k") is None
    c.set("k", 2)
    assert c.nycache.get("t1:k") == 1 and c.nycache.get("t2:k") == 2
    c.close()


def test_too_large_value_makes_set_return_false():
    c = NycacheCache(max_value_size=1024)
    assert c.set("big", b"x" * 4096) is False
    assert c.add("big", b"x" * 4096) is False
    assert c.get("big") is None
    assert c.set_many({"small": 1, "big": b"x" * 4096, "small2": 2}) == ["small", "small2"]
    assert c.get_many("small", "big", "small2") == [1, None, 2]
    c.close()


def test_injected_cachelib_serializer(cache):
    cache.serializer = JSONSerializer()
    assert cache.set("k", {"a": [1, 2]})
    assert cache.get("k") == {"a": [1, 2]}
    assert cache.set_many({"x": "s", "y": 3}) == ["x", "y"]
    assert cache.get_many("x", "y", "z") == ["s", 3, None]
    assert cache.inc("y", 2) == 5
    assert cache.inc("new") == 1
    assert cache.get("y") == 5
    assert cache.set("bad", object()) is False  # JSONSerializer cannot encode it


def test_shared_cache_and_options_are_exclusive():
    shared = nycache.Cache(serializer="pickle")
    with pytest.raises(TypeError):
        NycacheCache(cache=shared, max_memory="1MiB")
    shared.close()


def test_bad_nycache_option_is_reported():
    with pytest.raises(nycache.InvalidArgument):
        NycacheCache(no_such_option=1)


def test_close_closes_owned_cache():
    c = NycacheCache()
    engine = c.nycache
    c.close()
    assert engine.closed
    with pytest.raises(nycache.CacheClosed):
        c.get("k")


def test_all_cachelib_methods_are_present():
    import inspect

    import cachelib

    public = [n for n, _ in inspect.getmembers(cachelib.BaseCache, inspect.isfunction) if not n.startswith("_")]
    assert "get_many" in public and "inc" in public
    for name in public:
        if name == "get_dict":  # the base's is dict(zip(keys, get_many(*keys)))
            continue
        # each is overridden here, not the base class's no-op / generic version
        assert getattr(NycacheCache, name) is not getattr(cachelib.BaseCache, name), name


def test_usable_from_threads():
    import threading

    c = NycacheCache(default_timeout=0)
    errors = []

    def worker(t):
        try:
            for i in range(500):
                c.set(f"{t}:{i}", i)
                assert c.get(f"{t}:{i}") == i
                c.inc("counter")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert c.get("counter") == 2000  # inc is atomic
    c.close()


# -- through Flask-Caching in a real Flask app ----------------------------------

try:
    import flask
    import flask_caching
except ImportError:  # the cachelib tests above still run
    if REQUIRE_ADAPTERS:
        raise
    flask = flask_caching = None

needs_flask = pytest.mark.skipif(flask_caching is None, reason="Flask / Flask-Caching not installed")


def make_app(**config):
    app = flask.Flask(__name__)
    app.config.update(CACHE_TYPE="nycache.flask.NycacheCache", **config)
    cache = flask_caching.Cache(app)
    return app, cache


def backend(app, cache):
    with app.app_context():
        return cache.cache


@needs_flask
def test_flask_caching_builds_the_backend_from_config():
    app, cache = make_app(
        CACHE_DEFAULT_TIMEOUT=42,
        CACHE_KEY_PREFIX="site:",
        CACHE_NYCACHE_MAX_MEMORY="8MiB",
        CACHE_OPTIONS={"shards": 4, "max_value_size": 64 << 10},
    )
    b = backend(app, cache)
    assert isinstance(b, NycacheCache)
    assert b.default_timeout == 42
    assert b.key_prefix == "site:"
    stats = b.nycache.stats()
    assert stats.max_bytes == 8 << 20
    assert stats.shards == 4
    with app.app_context():
        assert cache.set("k", {"v": 1})
        assert cache.get("k") == {"v": 1}
        assert b.nycache.exists("site:k")
        ttl = b.nycache.ttl("site:k")
        assert ttl is not None and 40 < ttl <= 42
    b.close()


@needs_flask
def test_flask_caching_config_string_and_max_memory_in_options():
    app, cache = make_app(CACHE_NYCACHE_CONFIG="max_memory=4MiB", CACHE_OPTIONS={"shards": 2})
    stats = backend(app, cache).nycache.stats()
    assert (stats.max_bytes, stats.shards) == (4 << 20, 2)


@needs_flask
def test_flask_caching_serializer_config_is_used():
    app, cache = make_app(CACHE_SERIALIZER=JSONSerializer)
    b = backend(app, cache)
    assert isinstance(b.serializer, JSONSerializer)
    with app.app_context():
        cache.set("k", [1, "a"])
        assert cache.get("k") == [1, "a"]
        # what is stored is JSON text (inside the core's pickle of bytes)
        assert b.nycache.get("flask_cache_k") == b'[1, "a"]'


@needs_flask
def test_cached_view_runs_once_then_is_served_from_cache():
    app, cache = make_app(CACHE_DEFAULT_TIMEOUT=300)
    calls = []

    @app.route("/hello/<name>")
    @cache.cached(timeout=60)
    def hello(name):
        calls.append(name)
        return f"hello {name} #{len(calls)}"

    client = app.test_client()
    first = client.get("/hello/ann")
    assert first.status_code == 200 and first.data == b"hello ann #1"
    assert client.get("/hello/ann").data == b"hello ann #1"  # from the cache
    assert calls == ["ann"]
    assert client.get("/hello/bob").data == b"hello bob #2"
    assert calls == ["ann", "bob"]

    b = backend(app, cache)
    keys = [k for k in b.nycache.keys("flask_cache_*") if "hello/ann" in k]
    assert len(keys) == 1
    ttl = b.nycache.ttl(keys[0])
    assert ttl is not None and 50 < ttl <= 60  # the view's timeout, not the default

    # the entry's TTL runs out (made to lapse now): the view runs again
    assert b.nycache.expire(keys[0], 0)
    assert client.get("/hello/ann").data == b"hello ann #3"
    assert calls == ["ann", "bob", "ann"]

    # delete_cached / clear through Flask-Caching
    with app.app_context():
        assert cache.clear()
    assert client.get("/hello/bob").data == b"hello bob #4"


@needs_flask
def test_cached_view_with_short_timeout_expires():
    app, cache = make_app()
    calls = []

    @app.route("/t")
    @cache.cached(timeout=0.05)
    def t():
        calls.append(1)
        return str(len(calls))

    client = app.test_client()
    assert client.get("/t").data == b"1"
    assert client.get("/t").data == b"1"
    time.sleep(0.2)
    assert client.get("/t").data == b"2"


@needs_flask
def test_memoize_runs_once_per_arguments_and_delete_memoized_works():
    app, cache = make_app(CACHE_KEY_PREFIX="memo:")
    calls = []

    @cache.memoize(timeout=120)
    def square(x):
        calls.append(x)
        return {"x": x, "sq": x * x}

    @app.route("/sq/<int:x>")
    def sq(x):
        return flask.jsonify(square(x))

    client = app.test_client()
    assert client.get("/sq/3").get_json() == {"x": 3, "sq": 9}
    assert client.get("/sq/3").get_json() == {"x": 3, "sq": 9}
    assert client.get("/sq/4").get_json() == {"x": 4, "sq": 16}
    assert calls == [3, 4]

    b = backend(app, cache)
    memo_keys = [k for k in b.nycache.keys("memo:*") if "square" in k]
    assert memo_keys  # the memoized values (and version key) live in nycache

    with app.app_context():
        cache.delete_memoized(square, 3)  # only x=3
    client.get("/sq/3")
    client.get("/sq/4")
    assert calls == [3, 4, 3]

    with app.app_context():
        cache.delete_memoized(square)  # every x (bumps the version key)
    client.get("/sq/3")
    client.get("/sq/4")
    assert calls == [3, 4, 3, 3, 4]


@needs_flask
def test_memoize_caches_none_and_counts_with_inc():
    app, cache = make_app()
    calls = []

    @cache.memoize(timeout=0, cache_none=True)
    def lookup(x):
        calls.append(x)
        return None

    with app.app_context():
        assert lookup(1) is None
        assert lookup(1) is None
        assert calls == [1]
        b = cache.cache
        assert b.inc("hits") == 1
        assert b.inc("hits") == 2
        assert cache.get("hits") == 2
