"""Loading ``libnycache`` and declaring its C functions for ctypes.

Every function of ``include/nycache.h`` is declared here with its
``argtypes``/``restype``; ``tests/test_ffi_header.py`` parses the header and
fails when a declaration here disagrees with it, so the two cannot drift.

Pointer arguments that the package fills from Python buffers are declared
``c_void_p``: they accept ``bytes`` (a pointer to the bytes, no copy), an
integer address (``array.buffer_info()``) or ``None`` (NULL).
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_int,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

__all__ = ["lib", "fast", "library_path", "nyc_slice", "nyc_cache_stats", "NYC_ABSENT", "STATUS"]

#: ``vlens[i]`` of ``nyc_mget_packed`` for an absent key (``SIZE_MAX``).
NYC_ABSENT = (1 << (8 * ctypes.sizeof(c_size_t))) - 1

#: Status codes of ``enum nyc_status``.
STATUS = {
    "NYC_OK": 0,
    "NYC_NOT_FOUND": 1,
    "NYC_EXISTS": 2,
    "NYC_CAS_MISMATCH": 3,
    "NYC_WRONG_TYPE": 4,
    "NYC_NOT_A_NUMBER": 5,
    "NYC_OVERFLOW": 6,
    "NYC_TOO_LARGE": 7,
    "NYC_BUFFER_TOO_SMALL": 8,
    "NYC_INVALID_ARGUMENT": 9,
    "NYC_OUT_OF_MEMORY": 10,
    "NYC_IO": 11,
    "NYC_CORRUPT": 12,
    "NYC_INTERNAL": 13,
}


class nyc_slice(Structure):
    """``struct nyc_slice``: a byte range owned by the caller."""

    _fields_ = [("ptr", c_void_p), ("len", c_size_t)]


class nyc_cache_stats(Structure):
    """``struct nyc_cache_stats``: the counters filled by ``nyc_stats``."""

    _fields_ = [
        ("hits", c_uint64),
        ("misses", c_uint64),
        ("sets", c_uint64),
        ("deletes", c_uint64),
        ("evictions", c_uint64),
        ("expirations", c_uint64),
        ("expired_lazy", c_uint64),
        ("expired_active", c_uint64),
        ("entries", c_uint64),
        ("used_bytes", c_uint64),
        ("max_bytes", c_uint64),
        ("compressed_bytes_saved", c_uint64),
        ("shards", c_uint64),
    ]


_LIB_NAME = "libnycache.so"


def _candidates() -> list[tuple[str, Path]]:
    """Where the library may be, in the order it is looked for."""
    found: list[tuple[str, Path]] = []
    override = os.environ.get("NYCACHE_LIBRARY")
    if override:
        found.append(("NYCACHE_LIBRARY", Path(override)))
        return found  # an explicit override is never second-guessed
    here = Path(__file__).resolve().parent
    found.append(("bundled", here / "_lib" / _LIB_NAME))
    # A checkout: bindings/python/nycache -> the repository root.
    root = here.parents[2] if len(here.parents) > 2 else None
    if root is not None and (root / "Cargo.toml").is_file():
        builds = [root / "target" / kind / _LIB_NAME for kind in ("release", "debug")]
        # The newer build wins: a developer may have rebuilt only one.
        builds.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0, reverse=True)
        found.extend(("build tree", p) for p in builds)
    return found


def _load() -> tuple[ctypes.CDLL, Path]:
    tried = []
    for origin, path in _candidates():
        if path.is_file():
            try:
                return ctypes.CDLL(str(path)), path
            except OSError as e:
                raise ImportError(f"nycache: could not load {path} ({origin}): {e}") from e
        tried.append(f"{path} ({origin})")
    raise ImportError(
        "nycache: libnycache.so not found; looked in: "
        + "; ".join(tried)
        + ". Set NYCACHE_LIBRARY to the library's path, or build it with `make release`."
    )


lib, library_path = _load()
#: The same library, for the short single-key calls: functions reached
#: through a ``PyDLL`` keep the GIL during the call. A lookup or a store
#: takes well under a microsecond, less than releasing and re-taking the
#: GIL costs; calls that can take long (batches, scans, flush, close,
#: stats) go through ``lib``, which releases it.
fast = ctypes.PyDLL(str(library_path))

_cache = c_void_p  # const struct nyc_cache *
_status = c_int  # enum nyc_status
_bytes = c_void_p  # const void * filled from bytes / addresses
_size_out = POINTER(c_size_t)
_value_out = POINTER(c_void_p)  # struct nyc_value **


def _declare(name: str, restype, *argtypes) -> None:
    for dll in (lib, fast):
        try:
            fn = getattr(dll, name)
        except AttributeError:
            raise ImportError(
                f"nycache: {library_path} has no function {name}: it is an older or "
                "different build of libnycache than this package expects"
            ) from None
        fn.restype = restype
        fn.argtypes = list(argtypes)


# Status, version.
_declare("nyc_status_name", c_char_p, c_int)
_declare("nyc_last_error", c_char_p)
_declare("nyc_version", c_char_p)
# Lifecycle.
_declare("nyc_open", _status, c_char_p, POINTER(c_void_p))
_declare("nyc_close", None, _cache)
# Keys and values.
for _name in ("nyc_set", "nyc_add", "nyc_replace"):
    _declare(_name, _status, _cache, _bytes, c_size_t, _bytes, c_size_t, c_uint64)
_declare("nyc_cas", _status, _cache, _bytes, c_size_t, _bytes, c_size_t, c_uint64, c_uint64)
# Reads take the buffer and the length slot as addresses (see _cache._ReadBuffer).
_declare("nyc_get", _status, _cache, _bytes, c_size_t, c_void_p, c_size_t, c_void_p)
_declare("nyc_gets", _status, _cache, _bytes, c_size_t, c_void_p, c_size_t, c_void_p, POINTER(c_uint64))
_declare("nyc_get_value", _status, _cache, _bytes, c_size_t, _value_out)
for _name in ("nyc_delete", "nyc_exists", "nyc_touch", "nyc_persist"):
    _declare(_name, _status, _cache, _bytes, c_size_t)
_declare("nyc_expire", _status, _cache, _bytes, c_size_t, c_uint64)
_declare("nyc_ttl", _status, _cache, _bytes, c_size_t, POINTER(c_int64))
_declare("nyc_incr", _status, _cache, _bytes, c_size_t, c_int64, POINTER(c_int64))
# Handles.
_declare("nyc_value_data", c_void_p, c_void_p)
_declare("nyc_value_len", c_size_t, c_void_p)
_declare("nyc_value_free", None, c_void_p)
_declare("nyc_array_count", c_size_t, c_void_p)
_declare("nyc_array_item_data", c_void_p, c_void_p, c_size_t)
_declare("nyc_array_item_len", c_size_t, c_void_p, c_size_t)
_declare("nyc_array_free", None, c_void_p)
# Batches.
_declare("nyc_mget", _status, _cache, POINTER(nyc_slice), c_size_t, _value_out)
_declare("nyc_mset", _status, _cache, POINTER(nyc_slice), POINTER(nyc_slice), c_size_t, c_uint64)
_declare("nyc_mdelete", _status, _cache, POINTER(nyc_slice), c_size_t, _size_out)
_declare("nyc_mget_packed", _status, _cache, _bytes, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_void_p)
_declare("nyc_mset_packed", _status, _cache, _bytes, c_void_p, _bytes, c_void_p, c_size_t, c_uint64)
_declare("nyc_mdelete_packed", _status, _cache, _bytes, c_void_p, c_size_t, _size_out)
# Scan, stats.
_declare("nyc_scan", _status, _cache, c_uint64, c_char_p, c_size_t, POINTER(c_uint64), POINTER(c_void_p))
_declare("nyc_flush", _status, _cache)
_declare("nyc_stats", _status, _cache, POINTER(nyc_cache_stats))
_declare("nyc_metrics_text", _status, _cache, _value_out)
# Data structures (lists, sets, hashes, sorted sets), used by _structures.py.
# Slice arrays and score arrays are passed as addresses (of an array.array
# of (ptr, len) words, of an array('d')): no ctypes object per call.
_array_out = POINTER(c_void_p)  # struct nyc_array **
_count_out = POINTER(c_uint64)
_slices = c_void_p  # const struct nyc_slice *
for _name in ("nyc_lpush", "nyc_rpush", "nyc_sadd", "nyc_srem", "nyc_hdel", "nyc_zrem"):
    _declare(_name, _status, _cache, _bytes, c_size_t, _slices, c_size_t, _count_out)
for _name in ("nyc_lpop", "nyc_rpop", "nyc_spop", "nyc_srandmember"):
    _declare(_name, _status, _cache, _bytes, c_size_t, _value_out)
for _name in ("nyc_lpop_count", "nyc_rpop_count", "nyc_spop_count", "nyc_zpopmin", "nyc_zpopmax"):
    _declare(_name, _status, _cache, _bytes, c_size_t, c_size_t, _array_out)
for _name in ("nyc_llen", "nyc_scard", "nyc_hlen", "nyc_zcard"):
    _declare(_name, _status, _cache, _bytes, c_size_t, _count_out)
for _name in ("nyc_smembers", "nyc_hkeys", "nyc_hvals", "nyc_hgetall"):
    _declare(_name, _status, _cache, _bytes, c_size_t, _array_out)
for _name in ("nyc_sismember", "nyc_hexists"):
    _declare(_name, _status, _cache, _bytes, c_size_t, _bytes, c_size_t)
for _name in ("nyc_sinter", "nyc_sunion", "nyc_sdiff"):
    _declare(_name, _status, _cache, _slices, c_size_t, _array_out)
_declare("nyc_lrange", _status, _cache, _bytes, c_size_t, c_int64, c_int64, _array_out)
_declare("nyc_lindex", _status, _cache, _bytes, c_size_t, c_int64, _value_out)
_declare("nyc_lset", _status, _cache, _bytes, c_size_t, c_int64, _bytes, c_size_t)
_declare("nyc_lrem", _status, _cache, _bytes, c_size_t, c_int64, _bytes, c_size_t, _count_out)
_declare("nyc_ltrim", _status, _cache, _bytes, c_size_t, c_int64, c_int64)
_declare("nyc_srandmember_count", _status, _cache, _bytes, c_size_t, c_int64, _array_out)
_declare("nyc_hset", _status, _cache, _bytes, c_size_t, _slices, _slices, c_size_t, _count_out)
_declare("nyc_hsetnx", _status, _cache, _bytes, c_size_t, _bytes, c_size_t, _bytes, c_size_t)
_declare("nyc_hget", _status, _cache, _bytes, c_size_t, _bytes, c_size_t, _value_out)
_declare("nyc_hincrby", _status, _cache, _bytes, c_size_t, _bytes, c_size_t, c_int64, POINTER(c_int64))
_declare("nyc_zadd", _status, _cache, _bytes, c_size_t, c_void_p, _slices, c_size_t, c_uint32, _count_out)
_declare("nyc_zadd_incr", _status, _cache, _bytes, c_size_t, c_double, _bytes, c_size_t, c_uint32, POINTER(c_double))
_declare("nyc_zincrby", _status, _cache, _bytes, c_size_t, c_double, _bytes, c_size_t, POINTER(c_double))
_declare("nyc_zscore", _status, _cache, _bytes, c_size_t, _bytes, c_size_t, POINTER(c_double))
_declare("nyc_zrank", _status, _cache, _bytes, c_size_t, _bytes, c_size_t, _count_out)
_declare("nyc_zrange", _status, _cache, _bytes, c_size_t, c_int64, c_int64, c_uint32, _array_out)
_declare("nyc_zrangebyscore", _status, _cache, _bytes, c_size_t, c_double, c_double, c_uint32, c_int64, c_int64, _array_out)
_declare("nyc_zcount", _status, _cache, _bytes, c_size_t, c_double, c_double, c_uint32, _count_out)
# Pub/sub: declared for the header check; the Python subscriptions over
# them (callbacks, `async for` through loop.add_reader on the descriptor)
# come with the package's pub/sub work. The callback is passed as an
# address (ctypes.cast of a CFUNCTYPE object, kept alive by the caller).
_sub = c_void_p  # struct nyc_subscription *
_declare("nyc_subscribe", _status, _cache, _bytes, c_size_t, c_int, c_size_t, POINTER(c_void_p))
_declare("nyc_subscribe_callback", _status, _cache, _bytes, c_size_t, c_int, c_void_p, c_void_p, c_void_p, POINTER(c_void_p))
_declare("nyc_publish", _status, _cache, _bytes, c_size_t, _bytes, c_size_t, _size_out)
_declare("nyc_subscription_drain", _status, _sub, c_size_t, _array_out)
_declare("nyc_subscription_fd", c_int, _sub)
_declare("nyc_subscription_pending", c_size_t, _sub)
_declare("nyc_subscription_dropped", c_uint64, _sub)
_declare("nyc_unsubscribe", None, _sub)
del _name


def last_error() -> str:
    """This thread's detail text for the last failed call."""
    return (lib.nyc_last_error() or b"").decode("utf-8", "replace")


def version() -> str:
    """The loaded library's version, e.g. ``"0.1.0"``."""
    return lib.nyc_version().decode()
