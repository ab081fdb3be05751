"""Lists, sets, hashes and sorted sets: redis-py's methods over the C ABI.

``_Structures`` is a mixin of ``nycache.Cache``: every method here follows
redis-py's name, argument order and reply shape (without
``decode_responses``), and Redis's semantics come from the library (see
``docs/c-api.md``, "Data structures").

- Keys (``name``) are ``str`` (UTF-8) or ``bytes``, as everywhere.
- Elements (list elements, set members, hash fields and values, sorted-set
  members) are bytes in, bytes out: ``bytes``-like objects as they are,
  ``str`` as UTF-8, and, as redis-py sends them, ``int`` and ``float`` as
  their decimal text. The cache's serializer does not apply to them.
- Replies: counts are ``int``; Redis's nil is ``None``; several elements
  are a ``list`` of ``bytes`` (a ``set`` for SMEMBERS, SINTER, SUNION,
  SDIFF; a ``dict`` for HGETALL); scores are ``float``; replies with
  scores are lists of ``(member, score)`` tuples.
- Failures raise ``nycache.Error`` subclasses mapped from the status:
  WRONGTYPE → ``WrongType``; LSET on a missing key → ``NotFound``;
  "index out of range", syntax errors and incompatible ZADD flags →
  ``InvalidArgument``; a score or bound that is not a number, or a hash
  value that is not an integer → ``NotANumber``; HINCRBY past 64 bits →
  ``Overflow``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from ctypes import byref, c_double, c_int64, c_uint64, c_void_p, sizeof, string_at
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Callable, Union, cast, overload

from . import _cache, _errors
from ._ffi import fast, lib, nyc_slice

__all__ = ["_Structures"]

KeyT = Union[str, bytes]
#: What may be given as an element: bytes-like, str (UTF-8), int or float
#: (their decimal text, as redis-py sends them).
ElementT = Union[bytes, bytearray, memoryview, str, int, float]
#: A score: a number, or its text as Redis reads it ("1.5", "-inf").
ScoreT = Union[float, int, str, bytes]
#: A score bound: a score, or its text with "(" in front for an exclusive one.
BoundT = Union[float, int, str, bytes]

_OK, _NOT_FOUND, _EXISTS = 0, 1, 2
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# Flags of nyc_zadd / nyc_zrange / nyc_zrangebyscore (include/nycache.h).
_ZADD_NX, _ZADD_XX, _ZADD_GT, _ZADD_LT, _ZADD_CH = 1, 2, 4, 8, 16
_ZRANGE_REV, _ZRANGE_WITHSCORES, _ZRANGE_MIN_EXCLUSIVE, _ZRANGE_MAX_EXCLUSIVE = 1, 2, 4, 8

# array.array's code for a word as wide as a pointer and a size_t: a
# `struct nyc_slice` array is built as an array of (ptr, len) words.
_WORD = next(code for code in "LQ" if array(code).itemsize == sizeof(c_void_p))
assert sizeof(nyc_slice) == 2 * array(_WORD).itemsize

# Calls that write at most this many elements (and at most
# _cache._LONG_CALL_BYTES bytes) keep the GIL, as the single-key calls of
# _cache.py do; longer ones, and every call that replies with an array
# (whose length is not known in advance) or may walk a whole collection
# (LREM, LTRIM, set algebra), release it.
_FAST_ITEMS = 16

# Handle accessors: constant-time, so they keep the GIL.
_value_data = fast.nyc_value_data
_value_len = fast.nyc_value_len
_value_free = fast.nyc_value_free
_array_count = fast.nyc_array_count
_item_data = fast.nyc_array_item_data
_item_len = fast.nyc_array_item_len
_array_free = fast.nyc_array_free


def _name(key: Any) -> bytes:
    """A key (``name``) as bytes, as ``_cache._key_bytes``."""
    if type(key) is str:
        return key.encode("utf-8", "surrogateescape")
    if type(key) is bytes:
        return key
    return _cache._key_bytes(key)


def _elem(value: Any) -> bytes:
    """An element as the bytes stored: bytes-like as is, str as UTF-8,
    int and float as their text (redis-py's encoding)."""
    t = type(value)
    if t is bytes:
        return cast(bytes, value)
    if t is str:
        return cast(str, value).encode("utf-8", "surrogateescape")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return str.encode(value, "utf-8", "surrogateescape")
    if isinstance(value, bool):
        raise TypeError("elements must be bytes, str, int or float, not bool (convert it explicitly)")
    if isinstance(value, int):
        return int.__repr__(value).encode()
    if isinstance(value, float):
        return float.__repr__(value).encode()
    raise TypeError(f"elements must be bytes, str, int or float, not {type(value).__name__}")


class _Slices:
    """A ``struct nyc_slice`` array over byte strings, for a C call: the
    items are copied back to back into one buffer and the array is an
    ``array.array`` of (address, length) words, so no ctypes object is made
    per item. ``addr`` is the array's address (None for no items), ``size``
    the items' total length. Keep the object alive until the call returns."""

    __slots__ = ("addr", "size", "_data", "_words")

    def __init__(self, items: Sequence[bytes]) -> None:
        n = len(items)
        if not n:
            self.addr, self.size = None, 0
            return
        self._data = data = array("B", items[0] if n == 1 else b"".join(items))
        base, self.size = data.buffer_info()  # base may be 0 for no bytes: NULL with length 0 is fine
        if n == 1:
            words = array(_WORD, (base, self.size))
        else:
            lens = array(_WORD, map(len, items))
            words = array(_WORD, bytes(2 * n * lens.itemsize))
            words[0::2] = array(_WORD, accumulate(lens[:-1], initial=base))
            words[1::2] = lens
        self._words = words
        self.addr = words.buffer_info()[0]


def _int64(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise _errors.InvalidArgument(f"{what} {value}: value is not an integer or out of range")
    return int(value)


def _positive(value: Any, what: str) -> int:
    """A count that Redis requires to be >= 0."""
    n = _int64(value, what)
    if n < 0:
        raise _errors.InvalidArgument(f"{what} {n}: value is out of range, must be positive")
    return n


def _parse_float(text: str, bounded: bool) -> float:
    """Redis's reading of a number's text; NaN when it is not one, so that
    the library reports it (after the checks Redis makes first).
    ``bounded``: a finite text that overflows is refused, as ZADD does."""
    # ASCII only: Python's float() also reads other scripts' digits.
    if not text or not text.isascii() or "_" in text or text[0].isspace() or text[-1].isspace():
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return math.nan
    if bounded and math.isinf(value) and "inf" not in text.lower():
        return math.nan
    if value == 0.0 and any(c in "123456789" for c in text.lower().partition("e")[0]):
        return math.nan  # underflow ("1e-400"): strtod's ERANGE, refused by Redis
    return value


def _score(value: Any) -> float:
    """A score or an increment as a double (NaN: not a number)."""
    if type(value) is float:
        return value
    if isinstance(value, bool):
        raise TypeError("scores must be numbers, not bool")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return math.nan
    if isinstance(value, str):
        return _parse_float(value, True)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _parse_float(bytes(value).decode("latin-1"), True)
    raise TypeError(f"scores must be numbers, not {type(value).__name__}")


def _bound(value: Any) -> tuple[float, bool]:
    """A ZRANGEBYSCORE/ZCOUNT bound: (score, exclusive). Text as Redis's:
    ``"(1.5"`` is exclusive, ``"-inf"``/``"+inf"`` are the open ends."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("latin-1")
    if isinstance(value, str):
        if value.startswith("("):
            return _parse_float(value[1:], False), True
        return _parse_float(value, False), False
    return _score(value), False


def _key_list(keys: Any, args: tuple[Any, ...]) -> list[bytes]:
    """redis-py's ``list_or_args``: one key or an iterable of keys, then more."""
    if isinstance(keys, (str, bytes, bytearray, memoryview)):
        found = [keys]
    else:
        found = list(keys)
    found.extend(args)
    return [_name(k) for k in found]


def _take_value(handle: int) -> bytes:
    """The bytes of an ``nyc_value`` handle, which is freed."""
    try:
        return string_at(_value_data(handle), _value_len(handle))
    finally:
        _value_free(handle)


def _take_items(handle: int) -> list[bytes]:
    """The items of an ``nyc_array`` handle, which is freed. The header
    says the items lie back to back in one allocation: when they do (the
    first and last items' addresses agree with the lengths), they are
    copied out in one ``string_at`` and cut in Python, so reading an array
    of n items takes n + 4 C calls rather than 3n + 2."""
    try:
        n = _array_count(handle)
        if not n:
            return []
        lens = [_item_len(handle, i) for i in range(n)]
        first = _item_data(handle, 0)
        total = sum(lens)
        if n == 1:
            return [string_at(first, total)]
        if _item_data(handle, n - 1) - first == total - lens[-1]:
            blob = string_at(first, total)
            ends = list(accumulate(lens))
            return [blob[end - length : end] for end, length in zip(ends, lens)]
        return [string_at(_item_data(handle, i), length) for i, length in enumerate(lens)]
    finally:
        _array_free(handle)


def _scored(items: list[bytes], cast_score: Callable[[bytes], Any] = float) -> list[tuple[bytes, Any]]:
    """member, score text, member, ... as [(member, score)]."""
    it = iter(items)
    return list(zip(it, map(cast_score, it)))


class _Structures:
    """The data-structure methods of ``nycache.Cache`` (redis-py style)."""

    if TYPE_CHECKING:
        _h: c_void_p | None

        def _fail(self, status: int) -> _errors.Error: ...

    # -- call shapes -------------------------------------------------------

    def _write_many(self, name: KeyT, fn: str, items: list[bytes]) -> int:
        """A call taking the key, a slice array with its count, and a count
        out-parameter: pushes, SADD, SREM, HDEL, ZREM."""
        k = _name(name)
        arr = _Slices(items)
        out = c_uint64()
        call = getattr(fast if len(items) <= _FAST_ITEMS and arr.size <= _cache._LONG_CALL_BYTES else lib, fn)
        status = call(self._h, k, len(k), arr.addr, len(items), byref(out))
        if status != _OK:
            raise self._fail(status)
        return out.value

    def _one(self, fn: Any, name: KeyT, *args: Any) -> bytes | None:
        """A call replying with one element (an ``nyc_value``) or nil."""
        k = _name(name)
        out = c_void_p()
        status = fn(self._h, k, len(k), *args, byref(out))
        if status == _OK:
            return _take_value(out.value or 0)
        if status == _NOT_FOUND:
            return None
        raise self._fail(status)

    def _items(self, fn: Any, name: KeyT, *args: Any) -> list[bytes]:
        """A call replying with an array (``lib``: the GIL is released)."""
        k = _name(name)
        out = c_void_p()
        status = fn(self._h, k, len(k), *args, byref(out))
        if status != _OK:
            raise self._fail(status)
        return _take_items(out.value or 0)

    def _count(self, fn: Any, name: KeyT, *args: Any) -> int:
        """A call replying with an unsigned integer."""
        k = _name(name)
        out = c_uint64()
        status = fn(self._h, k, len(k), *args, byref(out))
        if status != _OK:
            raise self._fail(status)
        return out.value

    def _test(self, fn: Any, name: KeyT, member: Any) -> bool:
        """SISMEMBER, HEXISTS: NYC_OK or NYC_NOT_FOUND."""
        k = _name(name)
        m = _elem(member)
        status = fn(self._h, k, len(k), m, len(m))
        if status == _OK:
            return True
        if status == _NOT_FOUND:
            return False
        raise self._fail(status)

    def _set_algebra(self, fn: Any, keys: Any, args: tuple[Any, ...]) -> set[bytes]:
        names = _key_list(keys, args)
        arr = _Slices(names)
        out = c_void_p()
        status = fn(self._h, arr.addr, len(names), byref(out))
        if status != _OK:
            raise self._fail(status)
        return set(_take_items(out.value or 0))

    # -- lists -------------------------------------------------------------

    def lpush(self, name: KeyT, *values: ElementT) -> int:
        """LPUSH: inserts the values at the head, one after the other (the
        last ends up first); returns the list's new length."""
        return self._write_many(name, "nyc_lpush", [_elem(v) for v in values])

    def rpush(self, name: KeyT, *values: ElementT) -> int:
        """RPUSH: appends the values at the tail; returns the new length."""
        return self._write_many(name, "nyc_rpush", [_elem(v) for v in values])

    @overload
    def lpop(self, name: KeyT, count: None = None) -> bytes | None: ...
    @overload
    def lpop(self, name: KeyT, count: int) -> list[bytes] | None: ...

    def lpop(self, name: KeyT, count: int | None = None) -> bytes | list[bytes] | None:
        """LPOP: removes and returns the head element (None if no such
        key); with ``count``, a list of up to ``count`` elements (None if
        no such key). The list goes when it empties."""
        if count is None:
            return self._one(fast.nyc_lpop, name)
        return self._pop_count(lib.nyc_lpop_count, name, count)

    @overload
    def rpop(self, name: KeyT, count: None = None) -> bytes | None: ...
    @overload
    def rpop(self, name: KeyT, count: int) -> list[bytes] | None: ...

    def rpop(self, name: KeyT, count: int | None = None) -> bytes | list[bytes] | None:
        """RPOP: as ``lpop``, from the tail (tail first)."""
        if count is None:
            return self._one(fast.nyc_rpop, name)
        return self._pop_count(lib.nyc_rpop_count, name, count)

    def _pop_count(self, fn: Any, name: KeyT, count: Any) -> list[bytes] | None:
        n = _positive(count, "count")
        k = _name(name)
        out = c_void_p()
        status = fn(self._h, k, len(k), n, byref(out))
        if status == _OK:
            return _take_items(out.value or 0)
        if status == _NOT_FOUND:
            return None  # Redis's null array: no such key
        raise self._fail(status)

    def lrange(self, name: KeyT, start: int, end: int) -> list[bytes]:
        """LRANGE: elements ``start`` to ``end`` inclusive; negative indexes
        count from the end; out-of-range ends are clamped."""
        return self._items(lib.nyc_lrange, name, _int64(start, "start"), _int64(end, "end"))

    def llen(self, name: KeyT) -> int:
        """LLEN: the list's length (0 if no such key)."""
        return self._count(fast.nyc_llen, name)

    def lindex(self, name: KeyT, index: int) -> bytes | None:
        """LINDEX: the element at ``index`` (negative from the end), or None."""
        return self._one(fast.nyc_lindex, name, _int64(index, "index"))

    def lset(self, name: KeyT, index: int, value: ElementT) -> bool:
        """LSET: replaces the element at ``index``; returns True. Raises
        ``NotFound`` if there is no such key (Redis's "no such key") and
        ``InvalidArgument`` if the index is out of range."""
        k = _name(name)
        v = _elem(value)
        status = fast.nyc_lset(self._h, k, len(k), _int64(index, "index"), v, len(v))
        if status != _OK:
            raise self._fail(status)
        return True

    def lrem(self, name: KeyT, count: int, value: ElementT) -> int:
        """LREM: removes up to ``|count|`` elements equal to ``value`` (from
        the head if count > 0, the tail if < 0, all if 0); returns how many."""
        v = _elem(value)
        return self._count(lib.nyc_lrem, name, _int64(count, "count"), v, len(v))

    def ltrim(self, name: KeyT, start: int, end: int) -> bool:
        """LTRIM: keeps only elements ``start`` to ``end`` (LRANGE's rules);
        returns True."""
        k = _name(name)
        status = lib.nyc_ltrim(self._h, k, len(k), _int64(start, "start"), _int64(end, "end"))
        if status != _OK:
            raise self._fail(status)
        return True

    # -- sets --------------------------------------------------------------

    def sadd(self, name: KeyT, *values: ElementT) -> int:
        """SADD: adds the members; returns how many were new."""
        return self._write_many(name, "nyc_sadd", [_elem(v) for v in values])

    def srem(self, name: KeyT, *values: ElementT) -> int:
        """SREM: removes the members; returns how many were there."""
        return self._write_many(name, "nyc_srem", [_elem(v) for v in values])

    def sismember(self, name: KeyT, value: ElementT) -> bool:
        """SISMEMBER: True if ``value`` is a member (redis-py: 1 or 0)."""
        return self._test(fast.nyc_sismember, name, value)

    def smembers(self, name: KeyT) -> set[bytes]:
        """SMEMBERS: every member (an empty set if no such key)."""
        return set(self._items(lib.nyc_smembers, name))

    def scard(self, name: KeyT) -> int:
        """SCARD: the number of members."""
        return self._count(fast.nyc_scard, name)

    @overload
    def spop(self, name: KeyT, count: None = None) -> bytes | None: ...
    @overload
    def spop(self, name: KeyT, count: int) -> list[bytes]: ...

    def spop(self, name: KeyT, count: int | None = None) -> bytes | list[bytes] | None:
        """SPOP: removes and returns a random member (None if no such key);
        with ``count``, a list of up to ``count`` members (empty if no such key)."""
        if count is None:
            return self._one(fast.nyc_spop, name)
        return self._items(lib.nyc_spop_count, name, _positive(count, "count"))

    @overload
    def srandmember(self, name: KeyT, number: None = None) -> bytes | None: ...
    @overload
    def srandmember(self, name: KeyT, number: int) -> list[bytes]: ...

    def srandmember(self, name: KeyT, number: int | None = None) -> bytes | list[bytes] | None:
        """SRANDMEMBER: a random member, left in the set (None if no such
        key); with ``number`` >= 0, up to ``number`` distinct members; with
        ``number`` < 0, exactly ``-number`` members, repeats allowed."""
        if number is None:
            return self._one(fast.nyc_srandmember, name)
        return self._items(lib.nyc_srandmember_count, name, _int64(number, "number"))

    def sinter(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> set[bytes]:
        """SINTER: the members in every set (an absent key is empty)."""
        return self._set_algebra(lib.nyc_sinter, keys, args)

    def sunion(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> set[bytes]:
        """SUNION: the members of any of the sets."""
        return self._set_algebra(lib.nyc_sunion, keys, args)

    def sdiff(self, keys: KeyT | Iterable[KeyT], *args: KeyT) -> set[bytes]:
        """SDIFF: the members of the first set in none of the others."""
        return self._set_algebra(lib.nyc_sdiff, keys, args)

    # -- hashes ------------------------------------------------------------

    def hset(
        self,
        name: KeyT,
        key: ElementT | None = None,
        value: ElementT | None = None,
        mapping: Mapping[Any, ElementT] | None = None,
        items: Sequence[ElementT] | None = None,
    ) -> int:
        """HSET: sets ``key`` to ``value``, and/or every pair of ``mapping``,
        and/or the flat field, value, ... pairs of ``items`` (applied in
        redis-py's order: items, key, mapping); returns how many fields
        were new."""
        if key is None and not mapping and not items:
            raise _errors.InvalidArgument("'hset' with no key value pairs")
        fields: list[bytes] = []
        values: list[bytes] = []
        if items:
            flat = [_elem(x) for x in items]
            if len(flat) % 2:
                raise _errors.InvalidArgument("hset items must be field, value pairs")
            fields.extend(flat[0::2])
            values.extend(flat[1::2])
        if key is not None:
            fields.append(_elem(key))
            values.append(_elem(value))
        if mapping:
            for f, v in mapping.items():
                fields.append(_elem(f))
                values.append(_elem(v))
        k = _name(name)
        farr, varr = _Slices(fields), _Slices(values)
        size = farr.size + varr.size
        call = fast.nyc_hset if len(fields) <= _FAST_ITEMS and size <= _cache._LONG_CALL_BYTES else lib.nyc_hset
        out = c_uint64()
        status = call(self._h, k, len(k), farr.addr, varr.addr, len(fields), byref(out))
        if status != _OK:
            raise self._fail(status)
        return out.value

    def hsetnx(self, name: KeyT, key: ElementT, value: ElementT) -> bool:
        """HSETNX: sets the field only if it is absent; True if it was set
        (redis-py: 1 or 0)."""
        k = _name(name)
        f = _elem(key)
        v = _elem(value)
        status = fast.nyc_hsetnx(self._h, k, len(k), f, len(f), v, len(v))
        if status == _OK:
            return True
        if status == _EXISTS:
            return False
        raise self._fail(status)

    def hget(self, name: KeyT, key: ElementT) -> bytes | None:
        """HGET: the field's value, or None."""
        f = _elem(key)
        return self._one(fast.nyc_hget, name, f, len(f))

    def hdel(self, name: KeyT, *keys: ElementT) -> int:
        """HDEL: removes the fields; returns how many were there."""
        return self._write_many(name, "nyc_hdel", [_elem(f) for f in keys])

    def hexists(self, name: KeyT, key: ElementT) -> bool:
        """HEXISTS: True if the field exists."""
        return self._test(fast.nyc_hexists, name, key)

    def hkeys(self, name: KeyT) -> list[bytes]:
        """HKEYS: the fields (insertion order while the hash is small)."""
        return self._items(lib.nyc_hkeys, name)

    def hvals(self, name: KeyT) -> list[bytes]:
        """HVALS: the values, in ``hkeys``' order."""
        return self._items(lib.nyc_hvals, name)

    def hlen(self, name: KeyT) -> int:
        """HLEN: the number of fields."""
        return self._count(fast.nyc_hlen, name)

    def hgetall(self, name: KeyT) -> dict[bytes, bytes]:
        """HGETALL: ``{field: value}`` (empty if no such key)."""
        it = iter(self._items(lib.nyc_hgetall, name))
        return dict(zip(it, it))

    def hincrby(self, name: KeyT, key: ElementT, amount: int = 1) -> int:
        """HINCRBY: adds ``amount`` to the field's integer (an absent field
        counts as 0) and returns the result. ``NotANumber`` if the value is
        not a decimal 64-bit integer, ``Overflow`` past 64 bits."""
        k = _name(name)
        f = _elem(key)
        out = c_int64()
        status = fast.nyc_hincrby(self._h, k, len(k), f, len(f), _cache._delta(amount), byref(out))
        if status != _OK:
            raise self._fail(status)
        return out.value

    # -- sorted sets -------------------------------------------------------

    def zadd(
        self,
        name: KeyT,
        mapping: Mapping[Any, ScoreT],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> int | float | None:
        """ZADD: adds or updates ``{member: score}`` pairs; returns how many
        were added (added or changed with ``ch``). With ``incr`` (one pair
        only) the score is an increment and the new score is returned, or
        None when ``nx``/``xx``/``gt``/``lt`` kept it from happening.
        ``nx`` with ``xx``, ``gt`` with ``lt``, or ``nx`` with ``gt``/``lt``
        raise ``InvalidArgument``; a NaN score raises ``NotANumber``."""
        flags = (
            (_ZADD_NX if nx else 0)
            | (_ZADD_XX if xx else 0)
            | (_ZADD_GT if gt else 0)
            | (_ZADD_LT if lt else 0)
            | (_ZADD_CH if ch else 0)
        )
        k = _name(name)
        if incr:
            if len(mapping) != 1:
                raise _errors.InvalidArgument("INCR option supports a single increment-element pair")
            ((member, increment),) = mapping.items()
            m = _elem(member)
            score = c_double()
            status = fast.nyc_zadd_incr(self._h, k, len(k), _score(increment), m, len(m), flags, byref(score))
            if status == _OK:
                return score.value
            if status == _NOT_FOUND:
                return None
            raise self._fail(status)
        members = [_elem(m) for m in mapping]
        scores = array("d", [_score(s) for s in mapping.values()])
        n = len(members)
        marr = _Slices(members)
        call = fast.nyc_zadd if n <= _FAST_ITEMS and marr.size <= _cache._LONG_CALL_BYTES else lib.nyc_zadd
        out = c_uint64()
        status = call(self._h, k, len(k), scores.buffer_info()[0] if n else None, marr.addr, n, flags, byref(out))
        if status != _OK:
            raise self._fail(status)
        return out.value

    def zrem(self, name: KeyT, *values: ElementT) -> int:
        """ZREM: removes the members; returns how many were there."""
        return self._write_many(name, "nyc_zrem", [_elem(v) for v in values])

    def zscore(self, name: KeyT, value: ElementT) -> float | None:
        """ZSCORE: the member's score, or None."""
        k = _name(name)
        m = _elem(value)
        out = c_double()
        status = fast.nyc_zscore(self._h, k, len(k), m, len(m), byref(out))
        if status == _OK:
            return out.value
        if status == _NOT_FOUND:
            return None
        raise self._fail(status)

    def zincrby(self, name: KeyT, amount: ScoreT, value: ElementT) -> float:
        """ZINCRBY: adds ``amount`` to the member's score (a new member
        starts at 0); returns the new score. ``NotANumber`` for a NaN
        amount or result."""
        k = _name(name)
        m = _elem(value)
        out = c_double()
        status = fast.nyc_zincrby(self._h, k, len(k), _score(amount), m, len(m), byref(out))
        if status != _OK:
            raise self._fail(status)
        return out.value

    def zcard(self, name: KeyT) -> int:
        """ZCARD: the number of members."""
        return self._count(fast.nyc_zcard, name)

    def zrank(self, name: KeyT, value: ElementT) -> int | None:
        """ZRANK: the member's 0-based rank by ascending score, or None."""
        k = _name(name)
        m = _elem(value)
        out = c_uint64()
        status = fast.nyc_zrank(self._h, k, len(k), m, len(m), byref(out))
        if status == _OK:
            return out.value
        if status == _NOT_FOUND:
            return None
        raise self._fail(status)

    def zrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: Callable[[bytes], Any] = float,
    ) -> list[Any]:
        """ZRANGE by index: members ``start`` to ``end`` (LRANGE's index
        rules) by ascending score, or descending with ``desc`` (indexes
        then count from the highest); equal scores order by member bytes.
        With ``withscores``, ``(member, score)`` tuples, the score passed
        through ``score_cast_func`` (given the score's text)."""
        flags = (_ZRANGE_REV if desc else 0) | (_ZRANGE_WITHSCORES if withscores else 0)
        items = self._items(lib.nyc_zrange, name, _int64(start, "start"), _int64(end, "end"), flags)
        return _scored(items, score_cast_func) if withscores else items

    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        withscores: bool = False,
        score_cast_func: Callable[[bytes], Any] = float,
    ) -> list[Any]:
        """ZREVRANGE: ``zrange(name, start, end, desc=True, ...)``."""
        return self.zrange(name, start, end, True, withscores, score_cast_func)

    def zrangebyscore(
        self,
        name: KeyT,
        min: BoundT,
        max: BoundT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: Callable[[bytes], Any] = float,
    ) -> list[Any]:
        """ZRANGEBYSCORE: members with ``min <= score <= max`` by ascending
        score. Bounds are numbers or Redis's text: ``"(1.5"`` excludes the
        bound, ``"-inf"``/``"+inf"`` are open ends. ``start``/``num`` are
        LIMIT (both or neither; a negative ``num`` is all the rest, a
        negative ``start`` gives nothing). ``NotANumber`` for a bound that
        is not a number."""
        lo, lo_ex = _bound(min)
        hi, hi_ex = _bound(max)
        if (start is None) != (num is None):
            raise _errors.InvalidArgument("start and num must both be specified")
        offset = 0 if start is None else _int64(start, "start")
        count = -1 if num is None else _int64(num, "num")
        flags = (
            (_ZRANGE_WITHSCORES if withscores else 0)
            | (_ZRANGE_MIN_EXCLUSIVE if lo_ex else 0)
            | (_ZRANGE_MAX_EXCLUSIVE if hi_ex else 0)
        )
        items = self._items(lib.nyc_zrangebyscore, name, lo, hi, flags, offset, count)
        return _scored(items, score_cast_func) if withscores else items

    def zcount(self, name: KeyT, min: BoundT, max: BoundT) -> int:
        """ZCOUNT: how many members score within the bounds (as
        ``zrangebyscore``'s)."""
        lo, lo_ex = _bound(min)
        hi, hi_ex = _bound(max)
        flags = (_ZRANGE_MIN_EXCLUSIVE if lo_ex else 0) | (_ZRANGE_MAX_EXCLUSIVE if hi_ex else 0)
        return self._count(fast.nyc_zcount, name, lo, hi, flags)

    def zpopmin(self, name: KeyT, count: int | None = None) -> list[tuple[bytes, float]]:
        """ZPOPMIN: removes and returns up to ``count`` (default 1)
        lowest-scored members as ``[(member, score)]``, lowest first."""
        n = 1 if count is None else _positive(count, "count")
        return _scored(self._items(lib.nyc_zpopmin, name, n))

    def zpopmax(self, name: KeyT, count: int | None = None) -> list[tuple[bytes, float]]:
        """ZPOPMAX: as ``zpopmin``, highest first."""
        n = 1 if count is None else _positive(count, "count")
        return _scored(self._items(lib.nyc_zpopmax, name, n))
