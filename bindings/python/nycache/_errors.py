"""Exceptions raised by nycache, one class per C status code."""

from __future__ import annotations

__all__ = [
    "Error",
    "NotFound",
    "Exists",
    "CasMismatch",
    "WrongType",
    "NotANumber",
    "Overflow",
    "TooLarge",
    "KeyTooLarge",
    "ValueTooLarge",
    "BufferTooSmall",
    "InvalidArgument",
    "OutOfMemory",
    "IOError",
    "CorruptSnapshot",
    "InternalError",
    "CacheClosed",
]


class Error(Exception):
    """Base class of every nycache error.

    ``status`` is the C status code (``nyc_status``), ``status_name`` its
    name (e.g. ``"NYC_TOO_LARGE"``) and ``message`` the library's detail
    text for the failed call.
    """

    status: int = -1
    status_name: str = "NYC_UNKNOWN"

    def __init__(self, message: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(Error, KeyError):
    """The key does not exist (only raised where absence is an error)."""

    status, status_name = 1, "NYC_NOT_FOUND"

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class Exists(Error):
    """The key already exists."""

    status, status_name = 2, "NYC_EXISTS"


class CasMismatch(Error):
    """The key was written since its version was read."""

    status, status_name = 3, "NYC_CAS_MISMATCH"


class WrongType(Error, TypeError):
    """The operation does not apply to the type of the stored value."""

    status, status_name = 4, "NYC_WRONG_TYPE"


class NotANumber(Error, ValueError):
    """incr/decr on a value that is not a decimal 64-bit integer."""

    status, status_name = 5, "NYC_NOT_A_NUMBER"


class Overflow(Error, OverflowError):
    """The result of incr/decr does not fit in a signed 64-bit integer."""

    status, status_name = 6, "NYC_OVERFLOW"


class TooLarge(Error, ValueError):
    """A key or value is over the cache's size limits."""

    status, status_name = 7, "NYC_TOO_LARGE"


class KeyTooLarge(TooLarge):
    """The key is longer than ``max_key_size``."""


class ValueTooLarge(TooLarge):
    """The value is longer than ``max_value_size``, or the entry would not
    fit in a shard's share of ``max_memory``."""


class BufferTooSmall(Error):
    """Internal: a result did not fit the buffer (the package retries)."""

    status, status_name = 8, "NYC_BUFFER_TOO_SMALL"


class InvalidArgument(Error, ValueError):
    """A bad argument or configuration; the message names it."""

    status, status_name = 9, "NYC_INVALID_ARGUMENT"


class OutOfMemory(Error, MemoryError):
    """The library could not allocate memory; stored data is unchanged."""

    status, status_name = 10, "NYC_OUT_OF_MEMORY"


class IOError(Error, OSError):  # noqa: A001 - mirrors NYC_IO
    """A file could not be read or written."""

    status, status_name = 11, "NYC_IO"


class CorruptSnapshot(Error):
    """A snapshot file is corrupt or truncated."""

    status, status_name = 12, "NYC_CORRUPT"


class InternalError(Error):
    """A bug inside the library (a caught panic); the cache is now unusable."""

    status, status_name = 13, "NYC_INTERNAL"


class CacheClosed(Error):
    """The cache was used after ``close()``."""


#: Exception class for each status code.
BY_STATUS: dict[int, type[Error]] = {
    cls.status: cls
    for cls in (
        NotFound,
        Exists,
        CasMismatch,
        WrongType,
        NotANumber,
        Overflow,
        TooLarge,
        BufferTooSmall,
        InvalidArgument,
        OutOfMemory,
        IOError,
        CorruptSnapshot,
        InternalError,
    )
}


def error_for(status: int, message: str) -> Error:
    """The exception for a failed call's status and detail text."""
    cls = BY_STATUS.get(status, Error)
    if cls is TooLarge:
        # The library's text says which argument was too large.
        detail = message.partition(": ")[2] or message
        # Anything but the key (the value, the whole entry, an incr
        # result) is the value's size.
        cls = KeyTooLarge if detail.startswith("key") else ValueTooLarge
    return cls(message, status)
