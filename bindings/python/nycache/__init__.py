"""nycache: an embeddable cache engine, in process, through ctypes.

>>> import nycache
>>> cache = nycache.Cache(max_memory="64MiB")
>>> cache.set("greeting", b"hello", ttl=30)
>>> cache.get("greeting")
b'hello'
"""

from ._cache import Cache, CacheStats
from ._errors import (
    BufferTooSmall,
    CacheClosed,
    CasMismatch,
    CorruptSnapshot,
    Error,
    Exists,
    InternalError,
    InvalidArgument,
    IOError,
    KeyTooLarge,
    NotANumber,
    NotFound,
    OutOfMemory,
    Overflow,
    TooLarge,
    ValueTooLarge,
    WrongType,
)
from ._ffi import library_path, version
from ._pubsub import Message, Subscription
from ._serializers import PickleSerializer, Serializer

__version__ = "0.1.0"

__all__ = [
    "Cache",
    "CacheStats",
    "Message",
    "Subscription",
    "Serializer",
    "PickleSerializer",
    "library_path",
    "version",
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
    # `IOError` is nycache.IOError, left out of __all__ so that
    # `from nycache import *` does not shadow the builtin.
    "CorruptSnapshot",
    "InternalError",
    "CacheClosed",
]
