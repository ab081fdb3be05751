"""Pub/sub: ``Cache.subscribe`` / ``psubscribe`` / ``publish``.

A subscription either queues its messages (bounded; a full queue drops its
oldest message and counts it) behind a file descriptor that is readable
while messages wait, so that threads wait with ``wait()`` and asyncio with
``await sub.get()`` / ``async for msg in sub`` (``loop.add_reader``); or it
calls a Python function for each message (``callback=``), on the thread
that published it (or raised the keyspace event), after the library has
released its locks.
"""

from __future__ import annotations

import asyncio
import itertools
import select
import threading
from collections import deque
from ctypes import CFUNCTYPE, byref, c_size_t, c_void_p, cast, string_at
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Union

from . import _errors
from ._ffi import lib
from ._structures import _take_items

if TYPE_CHECKING:
    from ._cache import Cache

__all__ = ["Message", "Subscription"]

KeyT = Union[str, bytes]

_OK, _NOT_FOUND = 0, 1

# void (*)(void *user_data, const void *channel, size_t, const void *pattern,
#          size_t, const void *message, size_t): nyc_message_callback.
_CALLBACK = CFUNCTYPE(None, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t)

_GLOB_CHARACTERS = frozenset(b"*?[")

# The trampolines of live callback subscriptions, by the token passed to the
# library as user_data. The library owns a callback from the subscribe on:
# it calls `_release` with the token once no delivery can run any more
# (which, for an unsubscribe made from inside another callback, can be after
# `close()` returned, on another thread); only then is the trampoline let go.
_trampolines: dict[int, Any] = {}
_tokens = itertools.count(1)


def _release(token: int | None) -> None:
    _trampolines.pop(token or 0, None)


# Module-level: it must outlive every subscription.
_RELEASE = CFUNCTYPE(None, c_void_p)(_release)


class Message(NamedTuple):
    """One published message."""

    channel: bytes
    data: bytes
    #: The pattern of a pattern subscription, else None.
    pattern: bytes | None


def _bytes_arg(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        return str.encode(value, "utf-8", "surrogateescape")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


class Subscription:
    """A subscription to a channel or a glob pattern (``Cache.subscribe``).

    Queue subscriptions: ``get_nowait()``, ``wait(timeout)`` (blocking),
    ``await get()``, ``async for message in sub``, ``fileno()`` for your own
    event loop, ``pending`` and ``dropped``. Callback subscriptions only
    deliver to their function. ``close()`` (or leaving a ``with`` block)
    unsubscribes; a subscription outlives its cache's ``close()`` and then
    receives nothing more.
    """

    def __init__(self, handle: c_void_p, topic: bytes, is_pattern: bool, callback: Any) -> None:
        self._handle: c_void_p | None = handle
        self.topic = topic
        self.is_pattern = is_pattern
        self._callback = callback  # a callback subscription (its trampoline lives in _trampolines)
        self._messages: deque[Message] = deque()
        self._waiters: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
        self._fd = -1 if callback is not None else int(lib.nyc_subscription_fd(handle))
        # The library forbids an unsubscribe racing with another call on the
        # same handle: drains and the close take this lock.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        kind = "pattern" if self.is_pattern else "channel"
        state = "closed" if self._handle is None else ("callback" if self._callback else "queue")
        return f"<nycache.Subscription {kind} {self.topic!r} {state}>"

    def _live(self) -> c_void_p:
        if self._handle is None:
            raise _errors.CacheClosed("the subscription is closed")
        if self._callback is not None:
            raise _errors.InvalidArgument("a callback subscription has no queue to read")
        return self._handle

    # -- reading -------------------------------------------------------------

    def _drain(self) -> None:
        """Moves every waiting message from the library into ``_messages``."""
        arr = c_void_p()
        with self._lock:
            status = lib.nyc_subscription_drain(self._live(), 0, byref(arr))
            if status == _NOT_FOUND:
                return
            if status != _OK:
                raise _errors.error_for(status, _last_error())
            items = _take_items(arr.value or 0)
        pattern = self.topic if self.is_pattern else None
        it = iter(items)
        self._messages.extend(Message(channel, data, pattern) for channel, data in zip(it, it))

    def get_nowait(self) -> Message | None:
        """The oldest waiting message, or None if none waits. It takes
        every message waiting in the library at once, so after the
        descriptor reads as ready, call it until it returns None."""
        if not self._messages:
            self._drain()
        return self._messages.popleft() if self._messages else None

    def wait(self, timeout: float | None = None) -> Message | None:
        """The oldest message, waiting for one up to ``timeout`` seconds
        (None: as long as it takes); None if none came."""
        message = self.get_nowait()
        if message is not None or timeout == 0:
            return message
        poller = select.poll()
        poller.register(self.fileno(), select.POLLIN)
        poller.poll(None if timeout is None else max(0, int(timeout * 1000)))
        return self.get_nowait()

    async def get(self) -> Message:
        """The oldest message, waiting for one without blocking the event
        loop: one reader per loop watches the descriptor
        (``loop.add_reader``) and wakes every task waiting in that loop.
        Raises ``CacheClosed`` if the subscription is closed meanwhile."""
        while True:
            message = self.get_nowait()
            if message is not None:
                return message
            loop = asyncio.get_running_loop()
            ready = loop.create_future()
            waiting = self._waiters.get(loop)
            if waiting is None:
                waiting = self._waiters[loop] = []
                loop.add_reader(self.fileno(), self._wake, loop)
            waiting.append(ready)
            try:
                await ready
            finally:
                if ready in waiting:  # cancelled: stop waiting
                    waiting.remove(ready)
                    if not waiting and self._waiters.get(loop) is waiting:
                        self._unwatch(loop)

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        """The descriptor is readable: wake this loop's waiting tasks (each
        then takes a message or waits again)."""
        self._unwatch(loop)

    def _unwatch(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting = self._waiters.pop(loop, [])
        if self._handle is not None:  # else close() removed the reader
            loop.remove_reader(self._fd)
        for ready in waiting:
            if not ready.done():
                ready.set_result(None)

    def _wake_waiters(self) -> None:
        """Called by ``close()`` before the descriptor goes: stops watching
        it in every loop and wakes the waiting tasks (they then see the
        subscription closed)."""
        for loop, waiting in list(self._waiters.items()):
            self._waiters.pop(loop, None)
            fd = self._fd
            def stop(loop: asyncio.AbstractEventLoop = loop, waiting: list = waiting, fd: int = fd) -> None:
                loop.remove_reader(fd)
                for ready in waiting:
                    if not ready.done():
                        ready.set_result(None)

            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                stop()  # the descriptor is still open: remove it now
            else:
                loop.call_soon_threadsafe(stop)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.get()
        except _errors.CacheClosed:
            if self._handle is None:
                raise StopAsyncIteration from None
            raise

    def fileno(self) -> int:
        """A descriptor readable exactly while messages wait in the
        library's queue (never read or close it)."""
        fd: int = lib.nyc_subscription_fd(self._live())
        if fd < 0:
            raise _errors.IOError("this platform gives subscriptions no descriptor")
        return fd

    @property
    def pending(self) -> int:
        """Messages waiting (in the library and already drained here)."""
        return len(self._messages) + int(lib.nyc_subscription_pending(self._live()))

    @property
    def dropped(self) -> int:
        """Messages dropped because the queue was full (oldest first)."""
        if self._handle is None:
            raise _errors.CacheClosed("the subscription is closed")
        return int(lib.nyc_subscription_dropped(self._handle))

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        """Unsubscribes: no delivery starts afterwards, and unless called
        from inside a callback, the deliveries running on other threads have
        ended when it returns. Tasks awaiting ``get()`` wake up with
        ``CacheClosed`` (``async for`` ends). Closing twice is harmless."""
        # The lock only keeps drains out; the unsubscribe runs outside it,
        # so a callback that closes its own subscription while another
        # thread closes it too cannot deadlock on the lock.
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            self._wake_waiters()
            lib.nyc_unsubscribe(handle)

    unsubscribe = close

    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._handle is None

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self.close()


def _last_error() -> str:
    from ._ffi import last_error

    return last_error()


class _PubSub:
    """The pub/sub methods of ``Cache`` (a mixin)."""

    _h: c_void_p | None

    def _fail(self, status: int) -> _errors.Error:  # provided by Cache
        raise NotImplementedError

    def subscribe(
        self,
        channel: KeyT,
        *,
        pattern: bool | None = None,
        capacity: int = 0,
        callback: Callable[[Message], Any] | None = None,
    ) -> Subscription:
        """Subscribes to a channel, or to a Redis glob pattern (``*``, ``?``,
        ``[..]``): ``pattern=None`` decides by whether the name holds one of
        those characters. Without ``callback`` the messages queue up
        (``capacity`` of them, 0 = 1024; then the oldest is dropped). With
        ``callback``, it is called with each ``Message`` on the publishing
        thread; an exception it raises is reported (``sys.unraisablehook``)
        and ignored."""
        topic = _bytes_arg(channel, "channel")
        is_pattern = bool(_GLOB_CHARACTERS.intersection(topic)) if pattern is None else bool(pattern)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
            raise ValueError(f"capacity must be a non-negative int (got {capacity!r})")
        handle = c_void_p()
        trampoline = None
        if callback is None:
            status = lib.nyc_subscribe(self._h, topic, len(topic), int(is_pattern), capacity, byref(handle))
        else:
            if not callable(callback):
                raise TypeError(f"callback must be callable, not {type(callback).__name__}")
            trampoline = _CALLBACK(_deliver_to(callback, topic if is_pattern else None))
            token = next(_tokens)
            _trampolines[token] = trampoline
            # On failure the library has already called _release(token).
            status = lib.nyc_subscribe_callback(
                self._h, topic, len(topic), int(is_pattern), cast(trampoline, c_void_p), token,
                cast(_RELEASE, c_void_p), byref(handle),
            )  # fmt: skip
        if status != _OK:
            raise self._fail(status)
        return Subscription(handle, topic, is_pattern, trampoline)

    def psubscribe(self, pattern: KeyT, **options: Any) -> Subscription:
        """``subscribe`` to a glob pattern, whatever characters it holds."""
        return self.subscribe(pattern, pattern=True, **options)

    def publish(self, channel: KeyT, message: Any) -> int:
        """Publishes ``message`` (bytes, or str as UTF-8) on ``channel``;
        returns how many subscriptions received it. Callback subscribers
        run before this returns."""
        ch = _bytes_arg(channel, "channel")
        data = _bytes_arg(message, "message")
        receivers = c_size_t()
        # The GIL is released: callbacks on other threads may need it.
        status = lib.nyc_publish(self._h, ch, len(ch), data, len(data), byref(receivers))
        if status != _OK:
            raise self._fail(status)
        return receivers.value


def _deliver_to(callback: Callable[[Message], Any], pattern: bytes | None) -> Callable[..., None]:
    def deliver(_user: Any, channel: int, channel_len: int, _pat: Any, _pat_len: int, data: int, data_len: int) -> None:
        # An exception escaping here is reported by ctypes and ignored: it
        # never unwinds into the library.
        callback(Message(string_at(channel, channel_len), string_at(data, data_len) if data_len else b"", pattern))

    return deliver
