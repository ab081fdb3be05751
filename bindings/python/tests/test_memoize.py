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
    _wait_for_waiters(cache, 7)
    release.set()
    for t in threads:
        t.join()
    assert results == [42] * 8
    assert calls == [21]
    assert cache._flights == {}


def _wait_for_waiters(cache, n):
    (flight,) = cache._flights.values()
    deadline = time.monotonic() + 30
    while flight.waiters < n and time.monotonic() < deadline:
        time.sleep(0.001)
    assert flight.waiters == n


def test_waiters_see_the_leaders_exception(cache):
    started, release = threading.Event(), threading.Event()
    calls = []

    @cache.memoize()
    def boom():
        calls.append(1)
        started.set()
        release.wait(10)
        raise ValueError("boom")

    errors = []

    def call():
        try:
            boom()
        except ValueError as e:
            errors.append(e)

    leader = threading.Thread(target=call)
    leader.start()
    assert started.wait(10)
    waiters = [threading.Thread(target=call) for _ in range(3)]
    for t in waiters:
        t.start()
    _wait_for_waiters(cache, 3)
    release.set()
    for t in [leader, *waiters]:
        t.join()
    # One computation; all four callers got its error (each its own copy).
    assert calls == [1]
    assert [str(e) for e in errors] == ["boom"] * 4
    assert len({id(e) for e in errors}) == 4
    assert cache._flights == {}


def test_an_interrupted_leader_hands_over_to_a_waiter(cache):
    started, release = threading.Event(), threading.Event()
    calls = []

    class Interrupt(BaseException):
        pass

    @cache.memoize()
    def work():
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            started.set()
            release.wait(10)
            raise Interrupt()  # not an Exception: not the function's answer
        return "done"

    results = []

    def leader():
        try:
            work()
        except Interrupt:
            results.append("interrupted")

    t1 = threading.Thread(target=leader, name="leader")
    t1.start()
    assert started.wait(10)
    t2 = threading.Thread(target=lambda: results.append(work()), name="waiter")
    t2.start()
    _wait_for_waiters(cache, 1)
    release.set()
    t1.join()
    t2.join()
    assert sorted(results) == ["done", "interrupted"]
    assert calls == ["leader", "waiter"]  # the waiter computed it itself


def test_functions_with_the_same_name_never_share_results(cache):
    def make(n):
        @cache.memoize()
        def add(x):
            return x + n

        return add

    add1, add100 = make(1), make(100)
    assert (add1(5), add100(5)) == (6, 105)
    square = cache.memoize()(lambda x: x * x)
    negate = cache.memoize()(lambda x: -x)
    assert (square(3), negate(3)) == (9, -3)


def test_results_that_cannot_be_stored_are_returned_uncached():
    with nycache.Cache(max_value_size=1000) as cache:
        calls = []

        @cache.memoize()
        def unpicklable(x):
            calls.append(x)
            return threading.Lock()

        @cache.memoize()
        def big(x):
            calls.append(x)
            return b"x" * 5000

        assert unpicklable(1) is not None and unpicklable(1) is not None
        assert big(2) == b"x" * 5000 and big(2) == b"x" * 5000
        assert calls == [1, 1, 2, 2]  # computed each time, never an error


def test_a_bad_ttl_fails_at_decoration(cache):
    with pytest.raises(ValueError, match="ttl must be positive"):
        cache.memoize(ttl=0)
    with pytest.raises(TypeError):
        cache.memoize(ttl="60")


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


def test_cancelling_the_async_leader_does_not_cancel_the_waiters(cache):
    calls = []

    @cache.memoize()
    async def fetch(x):
        calls.append(x)
        if len(calls) == 1:
            await asyncio.sleep(3600)  # the leader: cancelled below
        return x * 2

    async def main():
        leader = asyncio.ensure_future(fetch(4))
        await asyncio.sleep(0)  # the leader starts its flight
        waiter = asyncio.ensure_future(fetch(4))
        await asyncio.sleep(0)  # the waiter joins it
        leader.cancel()
        result = await waiter
        return leader.cancelled(), result

    cancelled, result = asyncio.run(main())
    assert cancelled and result == 8
    assert calls == [4, 4]  # the waiter computed it after the leader went


def test_a_forked_child_is_not_stuck_on_a_parents_flight(cache):
    import os

    started, release = threading.Event(), threading.Event()

    @cache.memoize()
    def slow():
        started.set()
        release.wait(10)
        return "parent"

    t = threading.Thread(target=slow)
    t.start()
    assert started.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: its copy of the flight has no leader thread
        try:
            ok = cache._flights == {} and slow.__wrapped__ is not None
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    release.set()
    t.join()
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
