"""Set up Django to run its own cache tests (``tests/cache/tests.py``) under pytest.

What Django's ``tests/runtests.py`` does for the ``cache`` test app, reduced
to what those tests need: settings (an in-memory SQLite database,
``INSTALLED_APPS`` with the ``cache`` test app for its ``Poll`` model, a
template engine), ``django.setup()``, then, once per session, the test
environment and the test database. Settings must exist before the test
module imports Django's ``cache.tests`` (it reads ``settings.CACHES`` at
import time), hence the work at import time here.

Django's ``tests`` folder comes from its source distribution, downloaded on
first use into ``target/django-src`` (see ``fetch_django_tests.py``).
Without Django installed, nothing is set up and ``test_django_suite.py``
reports itself skipped.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

try:
    import django
except ImportError:  # test_django_suite.py skips itself
    django = None

HERE = Path(__file__).resolve().parent
BINDINGS_PYTHON = HERE.parents[1]

NYCACHE_BACKEND = "nycache.django.NycacheCache"


def _configure() -> None:
    from django.conf import settings
    from django.utils.log import DEFAULT_LOGGING

    from .fetch_django_tests import django_tests_dir

    tests_dir = django_tests_dir()
    # Django's test apps are imported as top-level packages (``cache``,
    # ``cache.tests``), as runtests.py does by running from that folder.
    sys.path.insert(0, str(tests_dir))
    if importlib.util.find_spec("nycache") is None:
        sys.path.insert(0, str(BINDINGS_PYTHON))

    logging = copy.deepcopy(DEFAULT_LOGGING)
    logging["loggers"]["django"]["level"] = "ERROR"
    settings.configure(
        # As tests/test_sqlite.py: no NAME, so the test database is in memory.
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3"}},
        SECRET_KEY="nycache-django-suite",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=False,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "cache",  # Django's test app: tests/cache (models.Poll)
        ],
        MIDDLEWARE=[],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
            }
        ],
        LANGUAGE_CODE="en",
        SITE_ID=1,
        LOGGING=logging,
        # Every test class overrides CACHES; this default is what the test
        # module sees when it imports (it looks for memcached/redis here).
        CACHES={"default": {"BACKEND": NYCACHE_BACKEND}},
    )
    django.setup()


if django is not None:
    _configure()


@pytest.fixture(scope="session", autouse=True)
def django_test_environment():
    """Django's test environment and test database for the whole session
    (what DiscoverRunner.setup_test_environment/setup_databases do)."""
    if django is None:
        yield
        return
    from django.test.utils import (
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        teardown_databases(old_config, verbosity=0)
        teardown_test_environment()
