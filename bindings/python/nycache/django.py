"""Django cache backend backed by nycache.

Configuration::

    CACHES = {
        "default": {
            "BACKEND": "nycache.django.NycacheCache",
            "LOCATION": "default",      # optional: names the in-process store
            "TIMEOUT": 300,             # Django's default timeout (seconds)
            "OPTIONS": {"max_memory": "256MiB", "policy": "tinylfu"},
        }
    }

``OPTIONS`` are handed to :class:`nycache.Cache` (``max_memory``,
``max_entries``, ``policy``, ``shards``, ``compress_min``, ...; see
``docs/c-api.md``). Django's own option ``MAX_ENTRIES`` is taken as nycache's
``max_entries`` (when ``max_entries`` is not also given). ``CULL_FREQUENCY``
is accepted and ignored: nycache makes room by its eviction ``policy``, not
by deleting a fraction of the keys. Values are stored with the package's
``"pickle"`` serializer: any picklable object, with exact ``int``\\ s stored
as decimal text so that ``incr``/``decr`` are the cache's own atomic
increment.

Timeouts follow Django: ``None`` never expires, ``0`` (or a negative number)
expires at once (``set`` removes the key, ``add`` stores nothing, ``touch``
deletes it), and an omitted timeout is the cache's ``TIMEOUT`` (300 s unless
configured). A stored ``None`` is a hit (``get(key, default)`` returns
``None``, not ``default``).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured

from . import Cache, NotANumber, OutOfMemory, TooLarge

# A value the store cannot hold: not cached, as memcached does (and the key's
# old value is removed, so that a stale value is never served instead).
_STORE_ERRORS = (TooLarge, OutOfMemory)

__all__ = ["NycacheCache"]

_MISSING = object()
_EXPIRED = object()  # a timeout that means "gone at once"
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# One nycache.Cache per (LOCATION, nycache options) in this process, shared by
# every backend instance configured with them (see NycacheCache's docstring).
_stores: dict[tuple, Cache] = {}
_stores_lock = threading.Lock()


def _nycache_options(options: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments for nycache.Cache from a CACHES ``OPTIONS``."""
    result: dict[str, Any] = {}
    max_entries = None
    for name, value in options.items():
        if name == "MAX_ENTRIES":
            max_entries = value
        elif name == "CULL_FREQUENCY":
            continue  # nycache evicts by its policy; nothing to configure
        else:
            result[name] = value
    if max_entries is not None and "max_entries" not in result:
        result["max_entries"] = int(max_entries)
    serializer = result.pop("serializer", "pickle")
    if serializer != "pickle":
        raise ImproperlyConfigured(
            "nycache.django.NycacheCache stores values with the 'pickle' "
            f"serializer; OPTIONS['serializer'] = {serializer!r} is not supported"
        )
    return result


def _store_for(location: str, options: dict[str, Any]) -> Cache:
    """The process-wide nycache.Cache for ``location`` and ``options``."""
    key = (location, tuple(sorted((name, repr(value)) for name, value in options.items())))
    with _stores_lock:
        store = _stores.get(key)
        if store is None or store.closed:
            store = Cache(serializer="pickle", **options)
            _stores[key] = store
        return store


class NycacheCache(BaseCache):
    """A Django cache backend storing entries in an in-process nycache.

    **One store per process and LOCATION.** Django's ``CacheHandler`` creates
    one backend instance per thread (and per async task context), and calls
    ``close()`` on every one of them at the end of each request. So that all
    threads of a process see the same data, the backend keeps a module-level
    registry, like Django's locmem backend does with its module-level dict:
    every backend instance with the same ``LOCATION`` and the same nycache
    options uses the same :class:`nycache.Cache` (``self._cache``), which is
    thread-safe. Aliases that differ only in ``KEY_PREFIX``, ``VERSION``,
    ``KEY_FUNCTION`` or ``TIMEOUT`` therefore share one store (their keys
    differ by prefix/version), exactly as locmem aliases with one LOCATION
    do; a different ``LOCATION``, or different nycache options (a store's
    ``max_memory``, ``policy``, ... are fixed when it is opened), gives a
    separate store. ``close()`` does nothing: the store lives until the
    process exits. Like any in-process cache, the data is per process: the
    workers of a multi-process server each have their own copy (a process
    forked after the store was opened starts with a copy of its contents).

    ``clear()`` empties the whole store, i.e. every alias sharing it (as
    locmem's ``clear()`` does).

    **Atomicity.** ``get``/``set``/``add``/``delete``/``touch`` are single
    nycache operations. ``incr``/``decr`` on an integer are nycache's atomic
    increment (the TTL is kept); the "key must exist" check before it is a
    separate call (as in Django's Redis backend), so a key deleted or
    expiring between the two is re-created holding ``delta``. On values that
    are not 64-bit integers (floats, ``Decimal``, huge ints, ...)
    ``incr`` falls back to read-add-write like ``BaseCache.incr`` (keeping
    the TTL), which is not atomic.

    The ``a*`` coroutine methods call the synchronous operations directly:
    each is one in-memory C call that does not block, so a thread hop through
    ``sync_to_async`` would cost far more than the call itself.
    """

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._location = location
        self._nycache_options = _nycache_options(params.get("OPTIONS") or {})
        self._cache = _store_for(location, self._nycache_options)

    # -- helpers ------------------------------------------------------------

    def _ttl(self, timeout: Any) -> Any:
        """nycache's ttl for a Django timeout: seconds, None, or _EXPIRED."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return None
        if timeout <= 0:
            return _EXPIRED
        # nycache takes int or float seconds; accept Decimal, Fraction, ...
        return timeout if type(timeout) in (int, float) else float(timeout)

    def _incr(self, key: Any, made_key: Any, delta: Any) -> Any:
        cache = self._cache
        if not cache.exists(made_key):
            raise ValueError("Key '%s' not found" % (key,))
        if type(delta) is int and _INT64_MIN <= delta <= _INT64_MAX:
            try:
                return cache.incr(made_key, delta)
            except (NotANumber, OverflowError):
                pass  # not a 64-bit decimal integer: do it in Python below
        value = cache.get(made_key, _MISSING)
        if value is _MISSING:
            raise ValueError("Key '%s' not found" % (key,))
        new_value = value + delta
        ttl = cache.ttl(made_key)
        if ttl == 0 or not cache.replace(made_key, new_value, ttl=ttl):
            raise ValueError("Key '%s' not found" % (key,))
        return new_value

    # -- the BaseCache API --------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        ttl = self._ttl(timeout)
        if ttl is _EXPIRED:
            # Stored and expired at once: "added" if nothing was there.
            return not self._cache.exists(key)
        try:
            return self._cache.add(key, value, ttl=ttl)
        except _STORE_ERRORS:
            return False

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        return self._cache.get(key, default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        ttl = self._ttl(timeout)
        if ttl is _EXPIRED:
            self._cache.delete(key)
            return
        try:
            self._cache.set(key, value, ttl=ttl)
        except _STORE_ERRORS:
            self._cache.delete(key)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        ttl = self._ttl(timeout)
        if ttl is _EXPIRED:
            return self._cache.delete(key)
        return self._cache.touch(key, ttl=ttl)

    def delete(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        return self._cache.delete(key)

    def has_key(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        return self._cache.exists(key)

    def incr(self, key, delta=1, version=None):
        made_key = self.make_and_validate_key(key, version=version)
        return self._incr(key, made_key, delta)

    def decr(self, key, delta=1, version=None):
        return self.incr(key, -delta, version=version)

    def get_many(self, keys, version=None):
        made = {}
        for key in keys:
            made[self.make_and_validate_key(key, version=version)] = key
        if not made:
            return {}
        found = self._cache.get_many(list(made))
        return {made[made_key]: value for made_key, value in found.items()}

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        """Stores every pair in one call; returns the keys that could not be
        stored (values too large for the store), as Django's contract asks."""
        made = {self.make_and_validate_key(key, version=version): key for key in data}
        mapping = {made_key: data[key] for made_key, key in made.items()}
        if not mapping:
            return []
        ttl = self._ttl(timeout)
        if ttl is _EXPIRED:
            self._cache.delete_many(list(mapping))
            return []
        try:
            self._cache.set_many(mapping, ttl=ttl)
            return []
        except _STORE_ERRORS:
            pass  # the batch is checked before anything is stored: go one by one
        failed = []
        for made_key, value in mapping.items():
            try:
                self._cache.set(made_key, value, ttl=ttl)
            except _STORE_ERRORS:
                self._cache.delete(made_key)
                failed.append(made[made_key])
        return failed

    def delete_many(self, keys, version=None):
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        if made:
            self._cache.delete_many(made)

    def clear(self):
        self._cache.clear()

    def close(self, **kwargs):
        """Does nothing: the store is shared by the process (see the class
        docstring) and Django calls this after every request."""

    # -- async: the same calls, without a thread hop -------------------------

    async def aadd(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.add(key, value, timeout, version)

    async def aget(self, key, default=None, version=None):
        return self.get(key, default, version)

    async def aset(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.set(key, value, timeout, version)

    async def atouch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self.touch(key, timeout, version)

    async def adelete(self, key, version=None):
        return self.delete(key, version)

    async def aget_many(self, keys, version=None):
        return self.get_many(keys, version)

    async def aget_or_set(self, key, default, timeout=DEFAULT_TIMEOUT, version=None):
        return self.get_or_set(key, default, timeout, version)

    async def ahas_key(self, key, version=None):
        return self.has_key(key, version)

    async def aincr(self, key, delta=1, version=None):
        return self.incr(key, delta, version)

    async def adecr(self, key, delta=1, version=None):
        return self.decr(key, delta, version)

    async def aset_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self.set_many(data, timeout, version)

    async def adelete_many(self, keys, version=None):
        return self.delete_many(keys, version)

    async def aclear(self):
        return self.clear()

    async def aincr_version(self, key, delta=1, version=None):
        return self.incr_version(key, delta, version)

    async def adecr_version(self, key, delta=1, version=None):
        return self.decr_version(key, delta, version)

    async def aclose(self, **kwargs):
        return self.close(**kwargs)
