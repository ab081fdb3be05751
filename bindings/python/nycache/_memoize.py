"""``Cache.memoize``: caching a function's results, one computation per key
at a time (single flight)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import pickle
import threading
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ._cache import Cache


class _Flight:
    """One computation in progress; callers of the same key wait on it."""

    __slots__ = ("done", "result", "error", "waiters")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.waiters = 0  # callers blocked on it (for tests and debugging)
        self.result: Any = None
        self.error: BaseException | None = None


def _arguments_key(prefix: bytes, args: tuple, kwargs: dict) -> bytes:
    """The cache key of one call: the function's name and a digest of the
    arguments' ``repr`` (arguments whose repr changes between equal values
    should not be memoized)."""
    text = repr((args, sorted(kwargs.items()))).encode("utf-8", "surrogateescape")
    return prefix + hashlib.blake2b(text, digest_size=16).hexdigest().encode()


def memoize(cache: Cache, ttl: float | None, key_prefix: str | None) -> Callable:
    """The decorator behind ``Cache.memoize`` (see there)."""

    def decorate(fn: Callable) -> Callable:
        name = key_prefix if key_prefix is not None else f"{fn.__module__}.{fn.__qualname__}"
        prefix = b"memoize:" + name.encode("utf-8", "surrogateescape") + b":"
        # Results are pickled whatever the cache's own serializer, so that
        # None, ints and any picklable object round-trip.
        dumps = functools.partial(pickle.dumps, protocol=pickle.HIGHEST_PROTOCOL)

        def cached(key: bytes) -> tuple[bool, Any]:
            raw = cache._read(key)
            return (False, None) if raw is None else (True, pickle.loads(raw))

        if inspect.iscoroutinefunction(fn):
            flights: dict[tuple[int, bytes], asyncio.Future] = {}

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                key = _arguments_key(prefix, args, kwargs)
                hit, value = cached(key)
                if hit:
                    return value
                loop = asyncio.get_running_loop()
                slot = (id(loop), key)
                waiting = flights.get(slot)
                if waiting is not None:
                    return await asyncio.shield(waiting)
                future = loop.create_future()
                flights[slot] = future
                try:
                    hit, value = cached(key)  # a flight may have just landed
                    if not hit:
                        value = await fn(*args, **kwargs)
                        cache._set_raw(key, dumps(value), ttl)
                    future.set_result(value)
                    return value
                except BaseException as e:
                    future.set_exception(e)
                    future.exception()  # retrieved: no "never retrieved" warning when nobody waits
                    raise
                finally:
                    del flights[slot]

            async_wrapper.invalidate = lambda *a, **kw: cache.delete(_arguments_key(prefix, a, kw))  # type: ignore[attr-defined]
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = _arguments_key(prefix, args, kwargs)
            hit, value = cached(key)
            if hit:
                return value
            lock, flights = cache._flights_lock, cache._flights
            with lock:
                existing = flights.get(key)
                leader = existing is None
                if existing is None:
                    flight = flights[key] = _Flight()
                else:
                    flight = existing
                    flight.waiters += 1
            if not leader:
                flight.done.wait()
                if flight.error is not None:
                    raise flight.error
                return flight.result
            try:
                hit, value = cached(key)  # a flight may have just landed
                if not hit:
                    value = fn(*args, **kwargs)
                    cache._set_raw(key, dumps(value), ttl)
                flight.result = value
                return value
            except BaseException as e:
                flight.error = e
                raise
            finally:
                with lock:
                    del flights[key]
                flight.done.set()

        wrapper.invalidate = lambda *a, **kw: cache.delete(_arguments_key(prefix, a, kw))  # type: ignore[attr-defined]
        return wrapper

    return decorate
