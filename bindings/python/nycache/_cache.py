"""``nycache.Cache``: the cache as a Python object over the C ABI."""

from __future__ import annotations

import math
import os
import threading
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from ctypes import addressof, byref, c_int64, c_size_t, c_uint64, c_void_p, create_string_buffer, sizeof, string_at
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from . import _errors
from ._ffi import NYC_ABSENT, fast, last_error, lib, nyc_cache_stats
from ._serializers import PickleSerializer, Serializer, resolve
from ._pubsub import _PubSub
from ._structures import _Structures

__all__ = ["Cache", "CacheStats"]

KeyT = Union[str, bytes]
F = TypeVar("F", bound=Callable[..., Any])

# Status codes the hot paths test for by number.
_OK, _NOT_FOUND, _EXISTS, _CAS_MISMATCH, _BUFFER_TOO_SMALL = 0, 1, 2, 3, 8

# array.array's code for a C size_t (8 bytes on the 64-bit targets).
_SIZE_T = next(code for code in "LQ" if array(code).itemsize == sizeof(c_size_t))

# Reads copy into a per-thread buffer that grows to the largest value read,
# up to this size; larger values get a buffer of their own for the call.
_INITIAL_BUFFER = 16 * 1024
_MAX_KEPT_BUFFER = 1024 * 1024

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1
# Beyond the engine's cap (about 557 years) every TTL means the same.
_MAX_TTL_MS = 2**63
# Calls moving more bytes than this release the GIL (see `_ffi.fast`).
_LONG_CALL_BYTES = 64 * 1024

# Single-key calls keep the GIL (see _ffi.fast); bound once, as globals.
_nyc_get = fast.nyc_get
_nyc_gets = fast.nyc_gets
_nyc_set = fast.nyc_set
_nyc_add = fast.nyc_add
_nyc_replace = fast.nyc_replace
_nyc_cas = fast.nyc_cas
_nyc_delete = fast.nyc_delete
_nyc_exists = fast.nyc_exists
_nyc_incr = fast.nyc_incr
_nyc_expire = fast.nyc_expire
_nyc_ttl = fast.nyc_ttl
_nyc_touch = fast.nyc_touch
_nyc_mget_packed = lib.nyc_mget_packed
_slow_get = lib.nyc_get
_slow_set = lib.nyc_set

# Every open cache, so that a forked child can reset their single-flight
# state (the threads leading those flights do not exist in the child).
_live_caches: weakref.WeakSet[Cache] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for cache in list(_live_caches):
        cache._flights = {}
        cache._flights_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


class _ReadBuffer:
    """A reusable destination for reads, with its length slot. Taken from
    ``_free_buffers`` for the duration of one read, so that two threads never
    share one (list ``pop``/``append`` are atomic under the GIL, and cheaper
    than a ``threading.local``)."""

    # Calls get the buffer and the length slot as integer addresses:
    # ctypes converts a Python int faster than a ctypes object or a byref.
    __slots__ = ("buf", "addr", "cap", "view", "length", "length_addr")

    def __init__(self, cap: int = _INITIAL_BUFFER) -> None:
        self.resize(cap)
        self.length = c_size_t()
        self.length_addr = addressof(self.length)

    def resize(self, cap: int) -> None:
        self.cap = cap
        self.buf = create_string_buffer(cap)
        self.addr = addressof(self.buf)
        self.view = memoryview(self.buf).cast("B")


_free_buffers: list[_ReadBuffer] = []


def _take_buffer() -> _ReadBuffer:
    try:
        return _free_buffers.pop()
    except IndexError:
        return _ReadBuffer()


def _grown(b: _ReadBuffer, need: int) -> _ReadBuffer:
    """A buffer of at least ``need`` bytes in place of ``b``: ``b`` grown
    (kept for later reads) up to ``_MAX_KEPT_BUFFER``, a one-off beyond."""
    if need <= _MAX_KEPT_BUFFER:
        b.resize(max(need, 2 * b.cap))
        return b
    _give_back(b)
    return _OneOffBuffer(need)


class _OneOffBuffer(_ReadBuffer):
    """A buffer for one huge value, dropped after the read."""

    __slots__ = ()


def _give_back(b: _ReadBuffer) -> None:
    """Returns a buffer to the pool (one-off buffers are dropped)."""
    if type(b) is _ReadBuffer:
        _free_buffers.append(b)


def _close_handle(address: int) -> None:
    lib.nyc_close(c_void_p(address))


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of a cache's counters (``Cache.stats()``)."""

    hits: int
    misses: int
    sets: int
    deletes: int
    evictions: int
    expirations: int
    expired_lazy: int
    expired_active: int
    entries: int
    used_bytes: int
    max_bytes: int
    compressed_bytes_saved: int
    shards: int

    @property
    def hit_rate(self) -> float:
        """hits / (hits + misses); 0.0 before the first read."""
        reads = self.hits + self.misses
        return self.hits / reads if reads else 0.0

    @property
    def utilization(self) -> float:
        """used_bytes / max_bytes."""
        return self.used_bytes / self.max_bytes if self.max_bytes else 0.0


def _config_text(config: str | None, options: Mapping[str, Any]) -> bytes:
    if config is not None and not isinstance(config, str):
        raise TypeError(f"config must be a str, not {type(config).__name__}")
    if config and "\0" in config:
        raise _errors.InvalidArgument("the config text contains a NUL character")
    parts = [config] if config else []
    for name, value in options.items():
        if isinstance(value, bool):
            value = int(value)
        text = f"{name}={value}"
        if any(c.isspace() for c in text) or "\0" in text:
            raise _errors.InvalidArgument(f"config option {text!r} contains whitespace or NUL")
        parts.append(text)
    return " ".join(parts).encode()


def _ttl_ms(ttl: float | None) -> int:
    """Seconds (None = no expiry) as the C API's milliseconds (0 = none).
    A positive TTL shorter than a millisecond becomes 1 ms, never 0."""
    if ttl is None:
        return 0
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f"ttl must be a number of seconds or None, not {type(ttl).__name__}")
    if not ttl > 0:  # also refuses NaN
        raise ValueError(f"ttl must be positive (got {ttl!r}); use None for no expiry")
    if ttl == math.inf:
        return 0
    return min(max(1, math.ceil(ttl * 1000)), _MAX_TTL_MS)


def _key_bytes(key: Any) -> bytes:
    """A key as bytes: str is UTF-8 (lone surrogates kept, so keys read back
    from ``keys()`` round-trip), bytes-like is taken as is."""
    if type(key) is str:
        return key.encode("utf-8", "surrogateescape")
    if type(key) is bytes:
        return key
    if isinstance(key, str):  # a subclass (a str Enum, say): its characters, as batches use
        return str.encode(key, "utf-8", "surrogateescape")
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key)
    raise TypeError(f"keys must be str or bytes, not {type(key).__name__}")


def _packed_keys(keys: list | tuple) -> tuple[bytes, array]:
    """The keys joined back to back, and their lengths."""
    first = type(keys[0])
    if first is str:
        try:
            text = "".join(keys)  # all str: encode them in one go
        except TypeError:
            pass
        else:
            joined = text.encode("utf-8", "surrogateescape")
            if len(joined) == len(text):  # ASCII: a key's bytes are its characters
                return joined, array(_SIZE_T, map(len, keys))
    elif first is bytes:
        try:
            joined = b"".join(keys)
        except TypeError:
            pass
        else:
            lens = array(_SIZE_T, map(len, keys))
            # len() of an exotic memoryview counts items, not bytes.
            if len(joined) == sum(lens):
                return joined, lens
    encoded = [_key_bytes(k) for k in keys]
    return b"".join(encoded), array(_SIZE_T, map(len, encoded))


def _raw_bytes(value: Any) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(
        f"values must be bytes, not {type(value).__name__} "
        "(open the cache with serializer='pickle' to store other objects)"
    )


def _checked_dumps(dumps: Callable[[Any], Any]) -> Callable[[Any], bytes]:
    """A custom serializer's ``dumps``, made to return exact ``bytes``: the
    C call is handed the object's buffer and its ``len()``, which for
    anything else (a ``str``, a ``bytes`` subclass with its own ``__len__``)
    would not describe the same bytes."""

    def checked(value: Any) -> bytes:
        data = dumps(value)
        if type(data) is bytes:
            return data
        if isinstance(data, (bytes, bytearray, memoryview)):
            return bytes(data)
        raise TypeError(f"the serializer's dumps() returned {type(data).__name__}, not bytes")

    return checked


def _delta(delta: Any) -> int:
    if isinstance(delta, bool) or not isinstance(delta, int):
        raise TypeError(f"delta must be an int, not {type(delta).__name__}")
    if not _INT64_MIN <= delta <= _INT64_MAX:
        raise _errors.Overflow(f"delta {delta} does not fit in a signed 64-bit integer")
    return delta


_MISSING: Any = object()


class Cache(_Structures, _PubSub):
    """An in-process cache backed by ``libnycache``.

    ``Cache(config=None, *, serializer=None, **options)``: ``config`` is the
    C API's ``"key=value key=value"`` text and ``options`` the same keys as
    keyword arguments (``max_memory=64 * 2**20`` or ``"64MiB"``,
    ``max_entries``, ``shards``, ``policy``, ``compress_min``,
    ``max_key_size``, ``max_value_size``, ``maintenance_ms``,
    ``hash_seed``). Keys are ``str`` (UTF-8) or ``bytes``; values are bytes
    unless ``serializer`` is ``"pickle"`` or an object with
    ``dumps``/``loads``. TTLs are seconds (int or float); ``None`` means
    no expiry.

    Any number of threads may share one cache: the C calls release the GIL
    and the engine locks per shard.
    """

    def __init__(
        self,
        config: str | None = None,
        *,
        serializer: None | str | Serializer = None,
        **options: Any,
    ) -> None:
        self._h: c_void_p | None = None
        self._serializer = resolve(serializer)
        if self._serializer is None:
            self._dumps: Callable[[Any], bytes] = _raw_bytes
        elif type(self._serializer) is PickleSerializer:
            self._dumps = self._serializer.dumps  # always returns bytes
        else:
            self._dumps = _checked_dumps(self._serializer.dumps)
        self._loads = self._serializer.loads if self._serializer else None
        handle = c_void_p()
        status = lib.nyc_open(_config_text(config, options), byref(handle))
        if status != _OK:
            raise _errors.error_for(status, last_error())
        # `nyc_close` runs when the handle object dies, i.e. once `close()`
        # dropped it AND no call still running on another thread holds it
        # (each call passes `self._h`, keeping it alive until it returns):
        # closing can never free the cache under a running call.
        assert handle.value, "nyc_open returned NYC_OK without a handle"
        close = weakref.finalize(handle, _close_handle, handle.value)
        close.atexit = False  # at exit, threads may still be in calls
        self._h = handle
        self._flights: dict[bytes, Any] = {}
        self._flights_lock = threading.Lock()
        self._batch_hint = 0  # the size of the last get_many over _MAX_KEPT_BUFFER
        _live_caches.add(self)

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        """Closes the cache and frees its memory (at once, or when calls
        still running on other threads return). Later calls raise
        ``CacheClosed``; closing twice is harmless."""
        self._h = None  # the handle's last reference closes it

    @property
    def closed(self) -> bool:
        """True after ``close()``."""
        return self._h is None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<nycache.Cache {'closed' if self._h is None else hex(self._h.value or 0)}>"

    def _fail(self, status: int) -> _errors.Error:
        """The exception for a failed call (raised by the caller)."""
        if self._h is None:
            return _errors.CacheClosed("the cache is closed")
        return _errors.error_for(status, last_error())

    # -- reads -------------------------------------------------------------

    def _read(self, k: bytes, need: int = 0) -> bytes | None:
        """The stored bytes of key ``k``, or None if absent. ``need`` is a
        length the value was just found to have (a buffer that size is used
        at once). A read that moves a large value releases the GIL."""
        b = _take_buffer()
        if need > b.cap:
            b = _grown(b, need)
        try:
            while True:
                call = _nyc_get if b.cap <= _LONG_CALL_BYTES else _slow_get
                status = call(self._h, k, len(k), b.addr, b.cap, b.length_addr)
                if status == _OK:
                    return b.view[: b.length.value].tobytes()
                if status == _NOT_FOUND:
                    return None
                if status != _BUFFER_TOO_SMALL:
                    raise self._fail(status)
                b = _grown(b, b.length.value)  # it grew in between
        finally:
            _give_back(b)

    def get(self, key: KeyT, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` if it is absent or expired."""
        if type(key) is str:
            k = key.encode("utf-8", "surrogateescape")
        elif type(key) is bytes:
            k = key
        else:
            k = _key_bytes(key)
        try:
            b = _free_buffers.pop()
        except IndexError:
            b = _ReadBuffer()
        status = _nyc_get(self._h, k, len(k), b.addr, b.cap, b.length_addr)
        raw: bytes | None
        if status == _OK:
            raw = b.view[: b.length.value].tobytes()
            _free_buffers.append(b)
        else:
            _free_buffers.append(b)
            if status == _NOT_FOUND:
                return default
            if status != _BUFFER_TOO_SMALL:
                raise self._fail(status)
            # Read again into a buffer of the value's size (so a value larger
            # than this thread's buffer is read, and counted, twice).
            raw = self._read(k, b.length.value)
            if raw is None:
                return default
        return raw if self._loads is None else self._loads(raw)

    def __getitem__(self, key: KeyT) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def exists(self, key: KeyT) -> bool:
        """True if ``key`` is present (not counted as a use for eviction)."""
        k = _key_bytes(key)
        status = _nyc_exists(self._h, k, len(k))
        if status == _OK:
            return True
        if status == _NOT_FOUND:
            return False
        raise self._fail(status)

    __contains__ = exists

    def gets(self, key: KeyT) -> tuple[Any, int] | None:
        """``(value, version)`` for a later ``cas``, or None if absent."""
        k = _key_bytes(key)
        version = c_uint64()
        b = _take_buffer()
        try:
            while True:
                status = _nyc_gets(self._h, k, len(k), b.addr, b.cap, b.length_addr, byref(version))
                if status == _OK:
                    raw = b.view[: b.length.value].tobytes()
                    return (raw if self._loads is None else self._loads(raw)), version.value
                if status == _NOT_FOUND:
                    return None
                if status != _BUFFER_TOO_SMALL:
                    raise self._fail(status)
                b = _grown(b, b.length.value)
        finally:
            _give_back(b)

    # -- writes ------------------------------------------------------------

    def set(self, key: KeyT, value: Any, ttl: float | None = None) -> None:
        """Stores ``value`` under ``key`` (replacing any old value)."""
        if type(key) is str:
            k = key.encode("utf-8", "surrogateescape")
        elif type(key) is bytes:
            k = key
        else:
            k = _key_bytes(key)
        v = self._dumps(value)
        call = _nyc_set if len(v) <= _LONG_CALL_BYTES else _slow_set
        status = call(self._h, k, len(k), v, len(v), _ttl_ms(ttl) if ttl is not None else 0)
        if status != _OK:
            raise self._fail(status)

    def _set_raw(self, k: bytes, v: bytes, ttl: float | None) -> None:
        call = _nyc_set if len(v) <= _LONG_CALL_BYTES else _slow_set
        status = call(self._h, k, len(k), v, len(v), _ttl_ms(ttl))
        if status != _OK:
            raise self._fail(status)

    def __setitem__(self, key: KeyT, value: Any) -> None:
        self.set(key, value)

    def _conditional(self, fn: Any, key: KeyT, value: Any, ttl: float | None, refused: int) -> bool:
        k = _key_bytes(key)
        v = self._dumps(value)
        status = fn(self._h, k, len(k), v, len(v), _ttl_ms(ttl))
        if status == _OK:
            return True
        if status == refused:
            return False
        raise self._fail(status)

    def add(self, key: KeyT, value: Any, ttl: float | None = None) -> bool:
        """Stores only if ``key`` is absent; False if it was present."""
        return self._conditional(_nyc_add, key, value, ttl, _EXISTS)

    def replace(self, key: KeyT, value: Any, ttl: float | None = None) -> bool:
        """Stores only if ``key`` is present; False if it was absent."""
        return self._conditional(_nyc_replace, key, value, ttl, _NOT_FOUND)

    def cas(self, key: KeyT, value: Any, version: int, ttl: float | None = None) -> bool:
        """Stores only if ``key`` still has ``version`` (from ``gets``);
        False if it was written since or is gone."""
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError(f"version must be an int from gets(), not {type(version).__name__}")
        if not 0 <= version <= _UINT64_MAX:
            raise ValueError(f"version {version} is not a version gets() returns")
        k = _key_bytes(key)
        v = self._dumps(value)
        status = _nyc_cas(self._h, k, len(k), v, len(v), _ttl_ms(ttl), version)
        if status == _OK:
            return True
        if status in (_CAS_MISMATCH, _NOT_FOUND):
            return False
        raise self._fail(status)

    def delete(self, key: KeyT) -> bool:
        """Removes ``key``; True if it existed."""
        k = _key_bytes(key)
        status = _nyc_delete(self._h, k, len(k))
        if status == _OK:
            return True
        if status == _NOT_FOUND:
            return False
        raise self._fail(status)

    def __delitem__(self, key: KeyT) -> None:
        if not self.delete(key):
            raise KeyError(key)

    def incr(self, key: KeyT, delta: int = 1) -> int:
        """Adds ``delta`` to the integer at ``key`` and returns the result
        (Redis INCRBY: a missing key counts as 0; the TTL is kept). Raises
        ``NotANumber`` if the value is not a decimal integer and
        ``Overflow`` if the result would not fit in 64 bits."""
        k = _key_bytes(key)
        out = c_int64()
        status = _nyc_incr(self._h, k, len(k), _delta(delta), byref(out))
        if status != _OK:
            raise self._fail(status)
        return out.value

    def decr(self, key: KeyT, delta: int = 1) -> int:
        """Subtracts ``delta``; as ``incr``. Like Redis's DECRBY, a
        ``delta`` of -2**63 is refused (its negation does not fit)."""
        if _delta(delta) == _INT64_MIN:
            raise _errors.Overflow("decrement would overflow")
        return self.incr(key, -delta)

    # -- expiry ------------------------------------------------------------

    def expire(self, key: KeyT, ttl: float | None) -> bool:
        """Gives ``key`` a new TTL in seconds (None removes it; zero or
        negative deletes the key, as Redis does). True if the key exists."""
        if ttl is not None and not isinstance(ttl, bool) and isinstance(ttl, (int, float)) and ttl <= 0:
            return self.delete(key)
        k = _key_bytes(key)
        status = _nyc_expire(self._h, k, len(k), _ttl_ms(ttl))
        if status == _OK:
            return True
        if status == _NOT_FOUND:
            return False
        raise self._fail(status)

    def persist(self, key: KeyT) -> bool:
        """Removes the TTL of ``key``; True if the key exists."""
        return self.expire(key, None)

    def ttl(self, key: KeyT) -> float | None:
        """Seconds until ``key`` expires; None if it never does; 0 if it
        does not exist."""
        k = _key_bytes(key)
        ms = c_int64()
        status = _nyc_ttl(self._h, k, len(k), byref(ms))
        if status == _NOT_FOUND:
            return 0
        if status != _OK:
            raise self._fail(status)
        return None if ms.value < 0 else ms.value / 1000

    def touch(self, key: KeyT, ttl: Any = _MISSING) -> bool:
        """Marks ``key`` as just used; with ``ttl`` also gives it a new
        TTL (seconds, None = no expiry). True if the key exists."""
        if ttl is not _MISSING:
            return self.expire(key, ttl)
        k = _key_bytes(key)
        status = _nyc_touch(self._h, k, len(k))
        if status == _OK:
            return True
        if status == _NOT_FOUND:
            return False
        raise self._fail(status)

    # -- batches -----------------------------------------------------------

    def get_many(self, keys: Iterable[KeyT]) -> dict[Any, Any]:
        """``{key: value}`` for the keys found, in one C call."""
        keys = keys if isinstance(keys, (list, tuple)) else list(keys)
        n = len(keys)
        if not n:
            return {}
        joined, klens = _packed_keys(keys)
        vlens = array(_SIZE_T, bytes(8 * n))
        b = _take_buffer()
        if self._batch_hint > b.cap:
            # The last batch outgrew the kept buffers: size this one like it
            # at once rather than reading every key twice again.
            b = _grown(b, self._batch_hint)
        try:
            while True:
                status = _nyc_mget_packed(
                    self._h, joined, klens.buffer_info()[0], n,
                    b.addr, b.cap, vlens.buffer_info()[0], b.length_addr,
                )  # fmt: skip
                if status == _OK:
                    break
                if status != _BUFFER_TOO_SMALL:
                    raise self._fail(status)
                b = _grown(b, b.length.value)
            total = b.length.value
            raw = b.view[:total].tobytes()
            self._batch_hint = total if total > _MAX_KEPT_BUFFER else 0
        finally:
            _give_back(b)
        # A plain loop: measured faster than cutting with map/accumulate.
        found: dict[Any, Any] = {}
        at = 0
        loads = self._loads
        for key, length in zip(keys, vlens):
            if length != NYC_ABSENT:
                end = at + length
                found[key] = raw[at:end] if loads is None else loads(raw[at:end])
                at = end
        return found

    def set_many(self, mapping: Mapping[KeyT, Any] | Iterable[tuple[KeyT, Any]], ttl: float | None = None) -> None:
        """Stores every pair with one TTL, in one C call. Bad keys or values
        are found before anything is stored."""
        items = mapping.items() if isinstance(mapping, Mapping) else mapping
        keys, values = [], []
        dumps = self._dumps
        for k, v in items:
            keys.append(_key_bytes(k))
            values.append(dumps(v))
        if not keys:
            return
        # The length arrays are named so that they outlive the call: C reads
        # them through their addresses.
        klens, vlens = array(_SIZE_T, map(len, keys)), array(_SIZE_T, map(len, values))
        status = lib.nyc_mset_packed(
            self._h, b"".join(keys), klens.buffer_info()[0],
            b"".join(values), vlens.buffer_info()[0], len(keys), _ttl_ms(ttl),
        )  # fmt: skip
        if status != _OK:
            raise self._fail(status)

    def delete_many(self, keys: Iterable[KeyT]) -> int:
        """Removes the keys, in one C call; returns how many existed."""
        keys = keys if isinstance(keys, (list, tuple)) else list(keys)
        if not keys:
            return 0
        deleted = c_size_t()
        joined, klens = _packed_keys(keys)
        status = lib.nyc_mdelete_packed(self._h, joined, klens.buffer_info()[0], len(keys), byref(deleted))
        if status != _OK:
            raise self._fail(status)
        return deleted.value

    # -- the whole cache ---------------------------------------------------

    def keys(self, pattern: KeyT = "*", *, count: int = 1000) -> Iterator[str]:
        """Iterates over the keys matching a Redis glob (``*``, ``?``,
        ``[a-z]``, ``\\`` escapes) with a scan cursor: safe while other
        threads write; a key present throughout is seen at least once.
        Keys come back as ``str`` (bytes that are not UTF-8 are kept as
        lone surrogates, so they work as keys again)."""
        glob = _key_bytes(pattern)
        if b"\0" in glob:
            raise _errors.InvalidArgument("the pattern contains a NUL byte")
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"count must be an int, not {type(count).__name__}")
        if count < 1:
            raise ValueError(f"count must be at least 1 (got {count})")
        return self._scan(glob, min(count, 2**32))

    def _scan(self, glob: bytes, count: int) -> Iterator[str]:
        cursor = c_uint64(0)
        arr = c_void_p()
        while True:
            # `self._h` each step, never kept across a `yield`: a suspended
            # iterator must not keep a closed cache alive.
            status = lib.nyc_scan(self._h, cursor.value, glob, count, byref(cursor), byref(arr))
            if status != _OK:
                raise self._fail(status)
            try:
                batch = [
                    string_at(lib.nyc_array_item_data(arr, i), lib.nyc_array_item_len(arr, i))
                    for i in range(lib.nyc_array_count(arr))
                ]
            finally:
                lib.nyc_array_free(arr)
            for k in batch:
                yield k.decode("utf-8", "surrogateescape")
            if cursor.value == 0:
                return

    def __iter__(self) -> Iterator[str]:
        return self.keys()

    def __len__(self) -> int:
        """The number of entries stored (entries that expired but were not
        yet removed by the background sweep included)."""
        return self.stats().entries

    def __bool__(self) -> bool:
        # A cache object is always true (an empty cache is still a cache);
        # without this, `if cache:` would ask the library for its length.
        return True

    def clear(self) -> None:
        """Removes every entry."""
        status = lib.nyc_flush(self._h)
        if status != _OK:
            raise self._fail(status)

    def stats(self) -> CacheStats:
        """The cache's counters and sizes."""
        s = nyc_cache_stats()
        status = lib.nyc_stats(self._h, byref(s))
        if status != _OK:
            raise self._fail(status)
        return CacheStats(**{name: getattr(s, name) for name, *_ in nyc_cache_stats._fields_})

    def metrics_text(self) -> str:
        """The counters in Prometheus text exposition format."""
        value = c_void_p()
        status = lib.nyc_metrics_text(self._h, byref(value))
        if status != _OK:
            raise self._fail(status)
        try:
            return string_at(lib.nyc_value_data(value), lib.nyc_value_len(value)).decode()
        finally:
            lib.nyc_value_free(value)

    # -- memoize -----------------------------------------------------------

    def memoize(self, ttl: float | None = None, *, key_prefix: str | None = None) -> Callable[[F], F]:
        """Decorator caching a function's results by its arguments, with
        per-key single flight: concurrent callers with the same arguments
        wait for one computation. Works on ``def`` and ``async def``."""
        from ._memoize import memoize

        return memoize(self, ttl, key_prefix)
