"""Pub/sub from Python: queues (poll, threads, asyncio), callbacks,
keyspace events, overflow, closing."""

import asyncio
import select
import threading

import pytest

import nycache
from nycache import Message


@pytest.fixture
def cache():
    with nycache.Cache() as c:
        yield c


def readable(fd):
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(0))


def test_channels_and_patterns(cache):
    exact = cache.subscribe("news")
    pattern = cache.subscribe("news.*")  # a glob character: a pattern
    forced = cache.psubscribe("news")  # a pattern though it has none
    literal = cache.subscribe("a*b", pattern=False)
    assert (exact.is_pattern, pattern.is_pattern, forced.is_pattern, literal.is_pattern) == (False, True, True, False)
    assert cache.publish("news", b"1") == 2  # exact + the pattern "news"
    assert cache.publish("news.x", "2") == 1
    assert cache.publish("a*b", b"3") == 1
    assert cache.publish("axxb", b"4") == 0
    assert exact.get_nowait() == Message(b"news", b"1", None)
    assert exact.get_nowait() is None
    assert pattern.get_nowait() == Message(b"news.x", b"2", b"news.*")
    assert forced.get_nowait() == Message(b"news", b"1", b"news")
    assert literal.get_nowait() == Message(b"a*b", b"3", None)
    assert cache.publish("nobody", b"x") == 0


def test_the_descriptor_is_readable_exactly_while_messages_wait(cache):
    sub = cache.subscribe("ch")
    fd = sub.fileno()
    assert not readable(fd)
    cache.publish("ch", b"a")
    cache.publish("ch", b"b")
    assert readable(fd) and sub.pending == 2
    assert sub.get_nowait().data == b"a"  # drains both into the subscription
    assert not readable(fd) and sub.pending == 1
    assert sub.get_nowait().data == b"b"
    assert sub.pending == 0 and sub.get_nowait() is None


def test_a_full_queue_drops_its_oldest_and_counts(cache):
    sub = cache.subscribe("ch", capacity=3)
    for i in range(5):
        assert cache.publish("ch", b"%d" % i) == 1  # a full queue still receives
    assert sub.dropped == 2
    assert [sub.get_nowait().data for _ in range(3)] == [b"2", b"3", b"4"]


def test_wait_blocks_until_another_thread_publishes(cache):
    sub = cache.subscribe("ch")
    assert sub.wait(timeout=0) is None
    assert sub.wait(timeout=0.01) is None
    started = threading.Event()

    def publisher():
        started.wait()
        cache.publish("ch", b"from a thread")

    t = threading.Thread(target=publisher)
    t.start()
    started.set()
    assert sub.wait(timeout=30) == Message(b"ch", b"from a thread", None)
    t.join()


def test_asyncio_get_and_async_for(cache):
    sub = cache.subscribe("jobs.*")

    async def main():
        loop = asyncio.get_running_loop()
        for i in range(3):
            loop.call_soon(cache.publish, f"jobs.{i}", b"%d" % i)
        first = await asyncio.wait_for(sub.get(), 30)
        rest = []
        async for message in sub:
            rest.append(message)
            if len(rest) == 2:
                break
        return first, rest

    first, rest = asyncio.run(main())
    assert first == Message(b"jobs.0", b"0", b"jobs.*")
    assert [m.channel for m in rest] == [b"jobs.1", b"jobs.2"]


def test_callbacks_run_on_the_publishing_thread(cache):
    seen = []
    sub = cache.subscribe("ch", callback=lambda m: seen.append((m, threading.current_thread().name)))
    t = threading.Thread(target=lambda: cache.publish("ch", b"x"), name="publisher")
    t.start()
    t.join()
    assert seen == [(Message(b"ch", b"x", None), "publisher")]
    with pytest.raises(nycache.InvalidArgument, match="no queue"):
        sub.get_nowait()
    sub.close()
    cache.publish("ch", b"after close")
    assert len(seen) == 1  # never called once close() returned


def test_a_callback_may_use_the_cache_and_its_exceptions_are_contained(cache, monkeypatch):
    reported = []
    monkeypatch.setattr("sys.unraisablehook", lambda args: reported.append(args.exc_value))

    def relay(m):
        cache.set("last", m.data)
        if m.data == b"boom":
            raise RuntimeError("the callback failed")
        cache.publish("relayed", m.data)

    sub = cache.subscribe("in", callback=relay)
    out = cache.subscribe("relayed")
    cache.publish("in", b"hello")
    assert cache.get("last") == b"hello"
    assert out.get_nowait().data == b"hello"
    cache.publish("in", b"boom")  # reported by ctypes, not raised here
    assert cache.get("last") == b"boom"
    assert [str(e) for e in reported] == ["the callback failed"]
    cache.publish("in", b"still alive")
    assert out.get_nowait().data == b"still alive"
    sub.close()


def test_keyspace_events():
    with nycache.Cache(notify_keyspace_events="KEA", max_entries=2, shards=1, policy="lru") as c:
        keyspace = c.subscribe("__keyspace__:*")
        keyevent = c.subscribe("__keyevent__:evicted")
        c.set("a", b"1")
        c.delete("a")
        assert [keyspace.get_nowait().data for _ in range(2)] == [b"set", b"del"]
        for k in ("x", "y", "z"):  # the third evicts the oldest
            c.set(k, b"")
        assert keyevent.get_nowait() == Message(b"__keyevent__:evicted", b"x", None)
    with pytest.raises(nycache.InvalidArgument):
        nycache.Cache(notify_keyspace_events="Q")


def test_closing(cache):
    sub = cache.subscribe("ch")
    with sub:
        cache.publish("ch", b"1")
    assert sub.closed
    for call in (sub.get_nowait, sub.fileno, lambda: sub.dropped):
        with pytest.raises(nycache.CacheClosed):
            call()
    sub.close()  # twice is harmless
    assert cache.publish("ch", b"2") == 0

    other = nycache.Cache()
    survivor = other.subscribe("ch")
    other.publish("ch", b"before")
    other.close()  # the subscription outlives its cache
    assert survivor.get_nowait().data == b"before"
    assert survivor.get_nowait() is None
    survivor.close()
    with pytest.raises(nycache.CacheClosed):
        other.publish("ch", b"x")


def test_bad_input(cache):
    with pytest.raises(ValueError):
        cache.subscribe("ch", capacity=-1)
    with pytest.raises(TypeError, match="channel must be str or bytes"):
        cache.subscribe(5)
    with pytest.raises(TypeError, match="message must be str or bytes"):
        cache.publish("ch", 5)
    with pytest.raises(TypeError, match="callback must be callable"):
        cache.subscribe("ch", callback=5)
    with pytest.raises(nycache.TooLarge):
        cache.subscribe("c" * 70_000)


def test_many_threads_publish_while_others_unsubscribe(cache):
    from nycache import _pubsub

    received = []
    stop = threading.Event()
    errors = []
    before = len(_pubsub._trampolines)

    def publisher():
        try:
            while not stop.is_set():
                cache.publish("load", b"m")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=publisher) for _ in range(2)]
    for t in threads:
        t.start()
    queued = 0
    for _ in range(200):
        sub = cache.subscribe("load", callback=received.append)
        queue = cache.subscribe("load", capacity=8)
        queued += queue.wait(timeout=30) is not None
        sub.close()
        queue.close()
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert queued == 200  # every queue got messages while others came and went
    assert received  # and callbacks were delivered
    count = len(received)
    cache.publish("load", b"m")
    assert len(received) == count  # every callback subscription is gone
    assert len(_pubsub._trampolines) == before  # every callback was released


def test_two_tasks_waiting_on_one_subscription_both_get_messages(cache):
    sub = cache.subscribe("ch")

    async def main():
        tasks = [asyncio.ensure_future(sub.get()) for _ in range(2)]
        await asyncio.sleep(0)  # both wait now
        await asyncio.sleep(0)
        cache.publish("ch", b"one")
        cache.publish("ch", b"two")
        return await asyncio.wait_for(asyncio.gather(*tasks), 30)

    got = asyncio.run(main())
    assert sorted(m.data for m in got) == [b"one", b"two"]


def test_closing_wakes_the_tasks_waiting_on_it(cache):
    sub = cache.subscribe("ch")

    async def main():
        waiter = asyncio.ensure_future(sub.get())

        async def iterate():
            return [m async for m in sub]

        iterating = asyncio.ensure_future(iterate())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        sub.close()
        with pytest.raises(nycache.CacheClosed):
            await asyncio.wait_for(waiter, 30)
        return await asyncio.wait_for(iterating, 30)  # async for simply ends

    assert asyncio.run(main()) == []


def test_a_callback_closing_its_subscription_while_another_thread_closes_it(cache):
    entered, go_on = threading.Event(), threading.Event()

    def once(m):
        entered.set()
        go_on.wait(30)
        sub.close()  # a one-shot subscription closes itself

    sub = cache.subscribe("ch", callback=once)
    t = threading.Thread(target=cache.publish, args=("ch", b"m"))
    t.start()
    assert entered.wait(30)
    closer = threading.Thread(target=sub.close)  # waits for the running callback
    closer.start()
    go_on.set()
    closer.join(30)
    t.join(30)
    assert not closer.is_alive() and not t.is_alive()  # no deadlock
    assert sub.closed


def test_a_callback_closed_from_another_callback_stays_alive_until_it_returns(cache):
    from nycache import _pubsub

    running, finish = threading.Event(), threading.Event()
    seen = []
    before = len(_pubsub._trampolines)

    def slow(m):
        running.set()
        finish.wait(30)
        seen.append(m.data)  # still runs, after its subscription was closed

    b = cache.subscribe("b", callback=slow)
    a = cache.subscribe("a", callback=lambda m: b.close())
    t = threading.Thread(target=cache.publish, args=("b", b"late"))
    t.start()
    assert running.wait(30)
    cache.publish("a", b"close b")  # returns at once: inside a callback, close does not wait
    assert b.closed
    assert len(_pubsub._trampolines) == before + 2  # b's trampoline is kept while it runs
    finish.set()
    t.join(30)
    assert seen == [b"late"]
    assert len(_pubsub._trampolines) == before + 1  # released by the delivering thread
    a.close()
    assert len(_pubsub._trampolines) == before


def test_expired_events_reach_a_callback_on_the_maintenance_thread():
    import time

    with nycache.Cache(notify_keyspace_events="Ex", maintenance_ms=5) as c:
        got = threading.Event()
        where = []

        def on_expired(m):
            where.append((m.data, threading.current_thread() is threading.main_thread()))
            got.set()

        sub = c.subscribe("__keyevent__:expired", callback=on_expired)
        c.set("short", b"v", ttl=0.01)
        # The background pass, not a read, must find it: wait for it.
        deadline = time.monotonic() + 30
        while not got.wait(0.01) and time.monotonic() < deadline:
            pass
        assert where == [(b"short", False)]
        sub.close()
