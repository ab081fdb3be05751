"""``Cache.memoize``: caching a function's results, one computation per key
at a time (single flight)."""

from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import inspect
import itertools
import pickle
import threading
from typing import TYPE_CHECKING, Any, Callable

from ._errors import OutOfMemory, TooLarge

if TYPE_CHECKING:
    from ._cache import Cache

# Tells apart two decorations of functions with the same name (closures made
# by one factory, lambdas) so that they never share results.
_decorations = itertools.count(1)

# A leader that stopped without a result (cancelled, interrupted): its
# waiters try again themselves instead of failing with the leader's reason.
_RETRY: Any = object()


class _Flight:
    """One computation in progress; callers of the same key wait on it."""

    __slots__ = ("done", "result", "error", "waiters")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = _RETRY
        self.error: BaseException | None = None
        self.waiters = 0  # callers blocked on it (for tests and debugging)


def _arguments_key(prefix: bytes, args: tuple, kwargs: dict) -> bytes:
    """The cache key of one call: the decoration's prefix and a digest of
    the arguments' ``repr``. Arguments that are different but print the
    same share a result, so memoize only functions whose arguments have a
    faithful repr (numbers, strings, tuples of them, ...)."""
    text = repr((args, sorted(kwargs.items()))).encode("utf-8", "surrogateescape")
    return prefix + hashlib.blake2b(text, digest_size=16).hexdigest().encode()


def _raise_shared(error: BaseException) -> None:
    """Raises the leader's exception in a waiter: a copy where possible, so
    that threads raising it at once do not all grow one traceback."""
    try:
        mine = copy.copy(error)
    except Exception:  # noqa: BLE001 - an exception that cannot be copied is raised as is
        mine = error
    raise mine.with_traceback(error.__traceback__)


def memoize(cache: Cache, ttl: float | None, key_prefix: str | None) -> Callable:
    """The decorator behind ``Cache.memoize`` (see there)."""
    from ._cache import _ttl_ms

    _ttl_ms(ttl)  # a bad ttl fails at decoration, not at every call

    def decorate(fn: Callable) -> Callable:
        if key_prefix is not None:
            name = key_prefix
        else:
            name = f"{fn.__module__}.{fn.__qualname__}#{next(_decorations)}"
        prefix = b"memoize:" + name.encode("utf-8", "surrogateescape") + b":"

        def cached(key: bytes) -> tuple[bool, Any]:
            raw = cache._read(key)
            return (False, None) if raw is None else (True, pickle.loads(raw))

        def store(key: bytes, value: Any) -> None:
            # Results are pickled whatever the cache's own serializer, so
            # that None, ints and any picklable object round-trip. A result
            # that cannot be pickled or does not fit is returned uncached:
            # the computation succeeded.
            try:
                data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - whatever pickling raises
                return
            try:
                cache._set_raw(key, data, ttl)
            except (TooLarge, OutOfMemory):
                pass

        if inspect.iscoroutinefunction(fn):
            flights: dict[tuple[int, bytes], asyncio.Future] = {}

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                key = _arguments_key(prefix, args, kwargs)
                while True:
                    hit, value = cached(key)
                    if hit:
                        return value
                    loop = asyncio.get_running_loop()
                    slot = (id(loop), key)
                    waiting = flights.get(slot)
                    if waiting is None:
                        break
                    result = await asyncio.shield(waiting)
                    if result is not _RETRY:
                        return result
                future = loop.create_future()
                flights[slot] = future
                try:
                    hit, value = cached(key)  # a flight may have just landed
                    if not hit:
                        value = await fn(*args, **kwargs)
                        store(key, value)
                    future.set_result(value)
                    return value
                except Exception as e:
                    future.set_exception(e)
                    future.exception()  # retrieved: no "never retrieved" warning when nobody waits
                    raise
                except BaseException:
                    # Cancelled (one client went away): the others retry.
                    future.set_result(_RETRY)
                    raise
                finally:
                    del flights[slot]

            async_wrapper.invalidate = lambda *a, **kw: cache.delete(_arguments_key(prefix, a, kw))  # type: ignore[attr-defined]
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = _arguments_key(prefix, args, kwargs)
            lock, flights = cache._flights_lock, cache._flights
            while True:
                hit, value = cached(key)
                if hit:
                    return value
                with lock:
                    existing = flights.get(key)
                    leader = existing is None
                    if existing is None:
                        flight = flights[key] = _Flight()
                    else:
                        flight = existing
                        flight.waiters += 1
                if leader:
                    break
                flight.done.wait()
                if flight.error is not None:
                    _raise_shared(flight.error)
                if flight.result is not _RETRY:
                    return flight.result
                # The leader was interrupted: go round, maybe as the leader.
            try:
                hit, value = cached(key)  # a flight may have just landed
                if not hit:
                    value = fn(*args, **kwargs)
                    store(key, value)
                flight.result = value
                return value
            except Exception as e:
                flight.error = e
                raise
            finally:
                # KeyboardInterrupt and the like leave result at _RETRY.
                with lock:
                    del flights[key]
                flight.done.set()

        wrapper.invalidate = lambda *a, **kw: cache.delete(_arguments_key(prefix, a, kw))  # type: ignore[attr-defined]
        return wrapper

    return decorate
