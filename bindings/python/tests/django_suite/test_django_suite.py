"""Django's own cache test suite, run against ``nycache.django.NycacheCache``.

The tests are Django's (``tests/cache/tests.py`` from the source
distribution of the installed Django, fetched by ``conftest.py``); this
module only points them at nycache, the way Django's file points its
``LocMemCacheTests`` at locmem:

* ``BaseCacheTests`` -- the tests every Django cache backend must pass --
  with ``CACHES = caches_setting_for_tests(BACKEND=nycache)``;
* the cache middleware / ``django.utils.cache`` tests (``CacheUtils``,
  ``PrefixedCacheUtils``, ``CacheHEADTest``, ``CacheI18nTest``,
  ``PrefixedCacheI18nTest``, ``CacheMiddlewareTest``,
  ``TestWithTemplateResponse``) with each class's own ``CACHES`` setting,
  every ``BACKEND`` in it swapped for nycache.

The classes here subclass Django's, so pytest collects only these (Django's
originals are reached through the module, never imported by name).
"""

from __future__ import annotations

import copy
import unittest

import pytest
from conftest import require  # noqa: E402

require("django")

from cache import tests as django_cache_tests  # noqa: E402  (tests/cache/tests.py)
from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.test import TestCase, override_settings  # noqa: E402

from nycache.django import NycacheCache  # noqa: E402

NYCACHE_BACKEND = "nycache.django.NycacheCache"
LOCMEM_BACKEND = "django.core.cache.backends.locmem.LocMemCache"


def nycache_caches(django_test_class: type) -> dict:
    """``django_test_class``'s ``CACHES`` setting with nycache as every backend.

    Reads the class's ``override_settings`` (kept by Django in
    ``_overridden_settings``) and checks that it was written for locmem, so
    that a Django release that changes these settings is noticed here.
    """
    setting = copy.deepcopy(django_test_class._overridden_settings["CACHES"])
    for alias, params in setting.items():
        assert params["BACKEND"] == LOCMEM_BACKEND, (django_test_class, alias, params)
        params["BACKEND"] = NYCACHE_BACKEND
    return setting


class OnNycache:
    """Checks, before each test, that every configured cache is nycache."""

    def setUp(self):
        super().setUp()
        for alias in settings.CACHES:
            self.assertIsInstance(caches[alias], NycacheCache, alias)


CULL_REASON = (
    "asserts the exact number of keys left by Django's own culling algorithm "
    "(when MAX_ENTRIES is reached, delete 1/CULL_FREQUENCY of the keys, or all "
    "of them for CULL_FREQUENCY=0): 49 sets into MAX_ENTRIES=30 must leave "
    "exactly {expected}. nycache bounds the entry count (MAX_ENTRIES is passed "
    "as max_entries) but makes room by its eviction policy, one victim at a "
    "time, so 30 keys remain."
)


@override_settings(CACHES=django_cache_tests.caches_setting_for_tests(BACKEND=NYCACHE_BACKEND))
class NycacheCacheTests(OnNycache, django_cache_tests.BaseCacheTests, TestCase):
    """Django's backend conformance tests (``BaseCacheTests``)."""

    @unittest.skip(CULL_REASON.format(expected=29))
    def test_cull(self):
        pass

    @unittest.skip(CULL_REASON.format(expected=19))
    def test_zero_cull(self):
        pass


@override_settings(CACHES=nycache_caches(django_cache_tests.CacheUtils))
class NycacheCacheUtils(OnNycache, django_cache_tests.CacheUtils):
    pass


@override_settings(CACHES=nycache_caches(django_cache_tests.PrefixedCacheUtils))
class NycachePrefixedCacheUtils(OnNycache, django_cache_tests.PrefixedCacheUtils):
    pass


@override_settings(CACHES=nycache_caches(django_cache_tests.CacheHEADTest))
class NycacheCacheHEADTest(OnNycache, django_cache_tests.CacheHEADTest):
    pass


@override_settings(CACHES=nycache_caches(django_cache_tests.CacheI18nTest))
class NycacheCacheI18nTest(OnNycache, django_cache_tests.CacheI18nTest):
    pass


@override_settings(CACHES=nycache_caches(django_cache_tests.PrefixedCacheI18nTest))
class NycachePrefixedCacheI18nTest(OnNycache, django_cache_tests.PrefixedCacheI18nTest):
    pass


@override_settings(CACHES=nycache_caches(django_cache_tests.CacheMiddlewareTest))
class NycacheCacheMiddlewareTest(OnNycache, django_cache_tests.CacheMiddlewareTest):
    pass


@override_settings(CACHES=nycache_caches(django_cache_tests.TestWithTemplateResponse))
class NycacheTestWithTemplateResponse(OnNycache, django_cache_tests.TestWithTemplateResponse):
    pass
