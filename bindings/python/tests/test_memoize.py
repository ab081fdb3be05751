"""Cache.memoize: cached results and single flight per key."""

import asyncio
import threading
import time

import pytest

import nycache


@pytest.fixture
def cache():
    with nycache.Cache() as c:
        yield c


def test_results_are_cached_per_arguments(cache):
    calls = []

    @cache.memoize(ttl=60)
    def square(x, *, offset=0):
        calls.append((x, offset))
        return x * x + offset

    assert square(3) == 9
    assert square(3) == 9
    assert square(4) == 16
    assert square(3, offset=1) == 10
    assert calls == [(3, 0), (4, 0), (3, 1)]
    assert square.__name__ == "square"


def test_none_and_objects_are_cached(cache):
    calls = []

    @cache.memoize()
    def lookup(k):
        calls.append(k)
        return None if k == "none" else {"k": k}

    assert lookup("none") is None
    assert lookup("none") is None
    assert lookup("a") == {"k": "a"} == lookup("a")
    assert calls == ["none", "a"]


def test_invalidate_and_ttl(cache):
    calls = []

    @cache.memoize(ttl=30)
    def f(x):
        calls.append(x)
        return x

    f(1)
    keys = [k for k in cache.keys("memoize:*")]
    assert len(keys) == 1 and 29 < cache.ttl(keys[0]) <= 30
    assert f.invalidate(1) is True
    f(1)
    assert calls == [1, 1]


def test_exceptions_are_not_cached(cache):
    attempts = []

    @cache.memoize()
    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first call fails")
        return "ok"

    with pytest.raises(RuntimeError):
        flaky()
    assert flaky() == "ok"
    assert len(attempts) == 2


def test_concurrent_callers_of_one_key_compute_once(cache):
    started, release = threading.Event(), threading.Event()
    calls = []

    @cache.memoize()
    def slow(x):
        calls.append(x)
        started.set()
        release.wait(10)
        return x * 2

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(21))) for _ in range(8)]
    threads[0].start()
    assert started.wait(10)
    for t in threads[1:]:
        t.start()
    # Hold the leader until the seven others are waiting on its flight.
    (flight,) = cache._flights.values()
    deadline = time.monotonic() + 30
    while flight.waiters < 7 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert flight.waiters == 7
    release.set()
    for t in threads:
        t.join()
    assert results == [42] * 8
    assert calls == [21]
    assert cache._flights == {}


def test_waiters_see_the_leaders_exception(cache):
    started, release = threading.Event(), threading.Event()

    @cache.memoize()
    def boom():
        started.set()
        release.wait(10)
        raise ValueError("boom")

    errors = []

    def call():
        try:
            boom()
        except ValueError as e:
            errors.append(str(e))

    leader = threading.Thread(target=call)
    leader.start()
    assert started.wait(10)
    waiters = [threading.Thread(target=call) for _ in range(3)]
    for t in waiters:
        t.start()
    release.set()
    for t in [leader, *waiters]:
        t.join()
    # The waiters that joined the flight got its error; any that arrived
    # after it ended ran boom() themselves, which also raised.
    assert errors == ["boom"] * 4
    assert cache._flights == {}


def test_async_functions_are_memoized_with_single_flight(cache):
    calls = []

    @cache.memoize(ttl=60)
    async def fetch(x):
        calls.append(x)
        await asyncio.sleep(0)  # yield, so the other callers arrive mid-flight
        await asyncio.sleep(0)
        return {"x": x}

    async def main():
        results = await asyncio.gather(*(fetch(1) for _ in range(10)), fetch(2))
        again = await fetch(1)
        return results, again

    results, again = asyncio.run(main())
    assert results == [{"x": 1}] * 10 + [{"x": 2}]
    assert again == {"x": 1}
    assert calls == [1, 2]
    assert fetch.invalidate(1) is True
