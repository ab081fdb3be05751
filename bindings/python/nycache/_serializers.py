"""Value serializers: how Python objects become the bytes the cache stores."""

from __future__ import annotations

import pickle
from typing import Any, Protocol


class Serializer(Protocol):
    """Anything with ``dumps(obj) -> bytes`` and ``loads(bytes) -> obj``."""

    def dumps(self, value: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


class PickleSerializer:
    """Pickles values, except exact 64-bit ``int``s, which are stored as decimal
    text so that the cache's atomic ``incr``/``decr`` work on them (and
    other languages reading the same cache see a number).

    The two cannot be confused on reading: a pickle (protocol 2 and up)
    always starts with the byte 0x80, and decimal text never does.
    """

    protocol = pickle.HIGHEST_PROTOCOL

    def dumps(self, value: Any) -> bytes:
        # Only ints that incr can work on: a larger one is pickled (Python
        # also refuses to format ints of more than 4300 digits as text).
        if type(value) is int and -(2**63) <= value < 2**63:
            return b"%d" % value
        return pickle.dumps(value, self.protocol)

    def loads(self, data: bytes) -> Any:
        if data[:1] == b"\x80":
            return pickle.loads(data)
        try:
            return int(data)
        except ValueError:
            # Not written by this serializer (e.g. bytes stored by a
            # program without one): hand back the raw bytes.
            return data


def resolve(serializer: None | str | Serializer) -> Serializer | None:
    """The serializer object for ``Cache(serializer=...)``."""
    if serializer is None:
        return None
    if serializer == "pickle":
        return PickleSerializer()
    if isinstance(serializer, str):
        raise ValueError(f"unknown serializer {serializer!r} (use None, 'pickle' or an object with dumps/loads)")
    if not (callable(getattr(serializer, "dumps", None)) and callable(getattr(serializer, "loads", None))):
        raise TypeError(f"serializer {serializer!r} has no dumps()/loads() methods")
    return serializer
