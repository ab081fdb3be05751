"""Flask-Caching / cachelib backend on top of :class:`nycache.Cache`.

Use it from Flask-Caching by its dotted path::

    app.config.update(
        CACHE_TYPE="nycache.flask.NycacheCache",
        CACHE_DEFAULT_TIMEOUT=300,          # seconds, 0 = never expires
        CACHE_KEY_PREFIX="myapp:",          # Flask-Caching's default is "flask_cache_"
        CACHE_NYCACHE_MAX_MEMORY="256MiB",  # shorthand for CACHE_OPTIONS["max_memory"]
        CACHE_OPTIONS={"policy": "tinylfu", "shards": 16},  # -> nycache.Cache(**options)
    )
    # also: CACHE_NYCACHE_MAX_ENTRIES, CACHE_NYCACHE_POLICY, CACHE_NYCACHE_SHARDS,
    # CACHE_NYCACHE_CONFIG="max_memory=64MiB policy=tinylfu" (nyc_open's text)
    cache = flask_caching.Cache(app)

or directly, as any cachelib cache::

    from nycache.flask import NycacheCache
    cache = NycacheCache(default_timeout=60, max_memory="64MiB")

Semantics are cachelib's (``cachelib.BaseCache``):

* ``timeout``: ``None`` means the cache's ``default_timeout``; ``0`` means the
  entry never expires; a positive number of seconds (int, float or
  ``datetime.timedelta``) is kept exactly (nycache has millisecond TTLs, so
  unlike cachelib's own backends a float is not rounded up to whole seconds);
  a negative timeout stores nothing (the entry is expired at once, as in
  cachelib's ``SimpleCache``).
* ``get`` returns ``None`` for a missing key; ``add`` returns ``False`` when
  the key is present; ``set_many`` returns the keys it set; ``delete_many``
  returns the keys that are gone afterwards (missing keys count as deleted).
* ``inc``/``dec`` are atomic (nycache's native ``incr``, Redis ``INCRBY``
  semantics): a missing key starts from 0 (so ``inc`` on it returns
  ``delta``) and gets no expiry, an existing key keeps its TTL, as with
  cachelib's ``RedisCache``. A value that is not an integer raises
  :class:`nycache.NotANumber` (a ``ValueError``).
* Values are arbitrary picklable objects (the core's ``serializer="pickle"``:
  exact ``int``s are stored as decimal text, which is what makes ``inc``
  native). Assigning a cachelib serializer to ``cache.serializer`` (what
  Flask-Caching does for ``CACHE_SERIALIZER``) makes the backend use it
  instead.
* ``clear()`` with a key prefix removes only the keys under that prefix;
  without one it flushes the whole nycache instance.

The backend owns the :class:`nycache.Cache` it opens (``close()`` closes it);
pass ``cache=`` to share an already open one (opened with
``serializer="pickle"``) with other code instead.
"""

from __future__ import annotations

import datetime as _dt
import threading
import typing as _t

import cachelib

import nycache as _nycache

try:  # Flask-Caching resolves CACHE_TYPE through ``factory`` only for its own BaseCache
    from flask_caching.backends.base import BaseCache as _Base
except ImportError:  # cachelib alone is enough to use the class directly
    _Base = cachelib.BaseCache  # type: ignore[misc,assignment]

__all__ = ["NycacheCache"]

# The errors that mean "this one entry could not be stored" (cachelib's
# ``set`` returns False for backend errors); everything else propagates.
_STORE_ERRORS = (_nycache.TooLarge, _nycache.OutOfMemory)

# Flask-Caching config keys read by ``factory`` -> nycache.Cache options.
_CONFIG_OPTIONS = {
    "CACHE_NYCACHE_MAX_MEMORY": "max_memory",
    "CACHE_NYCACHE_MAX_ENTRIES": "max_entries",
    "CACHE_NYCACHE_POLICY": "policy",
    "CACHE_NYCACHE_SHARDS": "shards",
}

def _glob_escape(text: str) -> str:
    """Escape Redis glob metacharacters so ``text`` matches literally."""
    out = []
    for ch in text:
        if ch in "*?[]\\":
            out.append("\\")
        out.append(ch)
    return "".join(out)


class _Unserializable(Exception):
    """A custom serializer returned None (cachelib's 'cannot serialize')."""


class NycacheCache(_Base):  # type: ignore[misc,valid-type]
    """A cachelib ``BaseCache`` (and Flask-Caching backend) backed by nycache.

    :param default_timeout: seconds (or ``timedelta``) used when ``set`` gets
        no timeout; ``0`` = never expire.
    :param key_prefix: prepended to every key (a string, or a callable
        returning one, as in cachelib's ``RedisCache``).
    :param ignore_delete_many_errors: accepted for cachelib compatibility;
        ``delete_many`` here cannot leave a key behind, so it never raises.
    :param cache: an open :class:`nycache.Cache` to use instead of opening one
        (it is not closed by :meth:`close`).
    :param config: a nycache config string (``"max_memory=64MiB ..."``).
    :param options: nycache.Cache keyword options (``max_memory``,
        ``max_entries``, ``policy``, ``shards``, ...).
    """

    def __init__(
        self,
        default_timeout: int | float | _dt.timedelta | None = 300,
        key_prefix: str | _t.Callable[[], str] | None = None,
        ignore_delete_many_errors: bool = False,
        cache: _nycache.Cache | None = None,
        config: str | None = None,
        **options: _t.Any,
    ) -> None:
        cachelib.BaseCache.__init__(self, default_timeout=0, ignore_delete_many_errors=ignore_delete_many_errors)
        # Kept exact (cachelib would round a float up and warn).
        self.default_timeout = self._seconds(default_timeout if default_timeout is not None else 0)
        if self.default_timeout < 0:
            raise ValueError(f"default_timeout must be >= 0, got {default_timeout!r}")
        self.key_prefix = key_prefix or ""
        if cache is not None:
            if config is not None or options:
                raise TypeError("pass either cache= or nycache options, not both")
            self._cache = cache
            self._owns_cache = False
        else:
            self._cache = _nycache.Cache(config, serializer="pickle", **options)
            self._owns_cache = True
        self._serializer: _t.Any = None
        self._lock = threading.Lock()  # only for inc/dec through a custom serializer

    # -- Flask-Caching ----------------------------------------------------

    @classmethod
    def factory(
        cls,
        app: _t.Any,
        config: dict[str, _t.Any],
        args: list[_t.Any],
        kwargs: dict[str, _t.Any],
    ) -> NycacheCache:
        """Build the backend from a Flask app's config (Flask-Caching calls
        this for ``CACHE_TYPE="nycache.flask.NycacheCache"``). ``kwargs``
        already holds ``default_timeout``, ``ignore_delete_many_errors`` and
        the ``CACHE_OPTIONS`` entries (which go to :class:`nycache.Cache`)."""
        kwargs = dict(kwargs)
        kwargs.setdefault("key_prefix", config.get("CACHE_KEY_PREFIX"))
        if config.get("CACHE_NYCACHE_CONFIG") is not None:
            kwargs.setdefault("config", config["CACHE_NYCACHE_CONFIG"])
        for config_key, option in _CONFIG_OPTIONS.items():
            if config.get(config_key) is not None:
                kwargs.setdefault(option, config[config_key])
        return cls(*args, **kwargs)

    # -- helpers ----------------------------------------------------------

    @property
    def nycache(self) -> _nycache.Cache:
        """The underlying :class:`nycache.Cache` (keys carry the prefix)."""
        return self._cache

    @property
    def serializer(self) -> _t.Any:
        """``None``: the core's pickle serializer (ints as decimal text).
        A cachelib serializer (``dumps``/``loads``) assigned here is used
        instead; Flask-Caching assigns ``CACHE_SERIALIZER`` this way."""
        return self._serializer

    @serializer.setter
    def serializer(self, value: _t.Any) -> None:
        self._serializer = value

    @staticmethod
    def _seconds(timeout: int | float | _dt.timedelta) -> float:
        if isinstance(timeout, _dt.timedelta):
            return timeout.total_seconds()
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(
                f"timeout must be a number of seconds or a datetime.timedelta, got {type(timeout).__name__!r}"
            )
        return timeout

    def _ttl(self, timeout: int | float | _dt.timedelta | None) -> float | None:
        """nycache ttl for a cachelib timeout: None = no expiry, < 0 = expired now."""
        seconds = self.default_timeout if timeout is None else self._seconds(timeout)
        if seconds == 0:
            return None
        if seconds < 0:
            return -1
        return seconds

    def _prefix(self) -> str:
        return self.key_prefix if isinstance(self.key_prefix, str) else self.key_prefix()

    def _k(self, key: str) -> str:
        prefix = self._prefix()
        return prefix + key if prefix else key

    def _dumps(self, value: _t.Any) -> _t.Any:
        if self._serializer is None:
            return value  # the core pickles it
        data = self._serializer.dumps(value)
        if data is None:  # cachelib serializers return None when they cannot serialize
            raise _Unserializable
        return data

    def _loads(self, stored: _t.Any) -> _t.Any:
        if self._serializer is None or not isinstance(stored, (bytes, bytearray, memoryview)):
            return stored
        return self._serializer.loads(bytes(stored))

    # -- cachelib API -----------------------------------------------------

    def get(self, key: str) -> _t.Any:
        return self._loads(self._cache.get(self._k(key)))

    def get_many(self, *keys: str) -> list[_t.Any]:
        if not keys:
            return []
        full = [self._k(k) for k in keys]
        found = self._cache.get_many(full)
        loads = self._loads
        return [loads(found[k]) if k in found else None for k in full]

    def has(self, key: str) -> bool:
        return self._cache.exists(self._k(key))

    def set(self, key: str, value: _t.Any, timeout: int | float | _dt.timedelta | None = None) -> bool:
        ttl = self._ttl(timeout)
        try:
            data = self._dumps(value)
        except _Unserializable:
            return False
        k = self._k(key)
        if ttl is not None and ttl < 0:
            self._cache.delete(k)
            return True
        try:
            self._cache.set(k, data, ttl=ttl)
        except _STORE_ERRORS:
            # Never serve the old value after a failed set (memcached's rule).
            self._cache.delete(k)
            return False
        return True

    def add(self, key: str, value: _t.Any, timeout: int | float | _dt.timedelta | None = None) -> bool:
        ttl = self._ttl(timeout)
        try:
            data = self._dumps(value)
        except _Unserializable:
            return False
        k = self._k(key)
        if ttl is not None and ttl < 0:
            return not self._cache.exists(k)
        try:
            return self._cache.add(k, data, ttl=ttl)
        except _STORE_ERRORS:
            return False

    def set_many(
        self, mapping: _t.Mapping[str, _t.Any], timeout: int | float | _dt.timedelta | None = None
    ) -> list[_t.Any]:
        if not mapping:
            return []
        ttl = self._ttl(timeout)
        if ttl is not None and ttl < 0:
            self._cache.delete_many([self._k(k) for k in mapping])
            return list(mapping)
        try:
            items = {self._k(k): self._dumps(v) for k, v in mapping.items()}
        except _Unserializable:
            return [k for k, v in mapping.items() if self.set(k, v, timeout)]
        try:
            self._cache.set_many(items, ttl=ttl)
        except _STORE_ERRORS:
            # One entry did not fit: store them one by one, reporting the ones set.
            return [k for k, v in mapping.items() if self.set(k, v, timeout)]
        return list(mapping)

    def delete(self, key: str) -> bool:
        return self._cache.delete(self._k(key))

    def delete_many(self, *keys: str) -> list[_t.Any]:
        if not keys:
            return []
        self._cache.delete_many([self._k(k) for k in keys])
        # One call removes every key; cachelib counts an absent key as deleted.
        return list(keys)

    def clear(self) -> bool:
        prefix = self._prefix()
        if not prefix:
            self._cache.clear()
            return True
        batch: list[str] = []
        for k in self._cache.keys(_glob_escape(prefix) + "*"):
            batch.append(k)
            if len(batch) >= 1000:
                self._cache.delete_many(batch)
                batch = []
        if batch:
            self._cache.delete_many(batch)
        return True

    def inc(self, key: str, delta: int = 1) -> int | None:
        if self._serializer is not None:
            with self._lock:
                return _t.cast(int, cachelib.BaseCache.inc(self, key, delta))
        return self._cache.incr(self._k(key), delta)

    def dec(self, key: str, delta: int = 1) -> int | None:
        if self._serializer is not None:
            with self._lock:
                return _t.cast(int, cachelib.BaseCache.dec(self, key, delta))
        return self._cache.decr(self._k(key), delta)

    # -- lifecycle --------------------------------------------------------

    def close(self) -> None:
        """Close the nycache instance if this backend opened it."""
        if self._owns_cache:
            self._cache.close()

    def __repr__(self) -> str:
        return f"<NycacheCache prefix={self._prefix()!r} default_timeout={self.default_timeout!r}>"
