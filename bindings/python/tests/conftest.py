"""Test setup: import the package from this checkout.

The adapters' tests need Django, Flask-Caching and cachelib (and the suites
they download); the data structures' differential test needs redis-py and
redis-server. A developer without them gets those tests skipped; with
``NYCACHE_REQUIRE_ADAPTERS=1`` (set by ``make test``) a missing dependency or
a failed download is a failure, so CI can never pass by skipping them.
"""

import importlib
import os
import sys
from pathlib import Path

import pytest

REQUIRE_ADAPTERS = os.environ.get("NYCACHE_REQUIRE_ADAPTERS") == "1"


def require(module: str):
    """Imports an adapter's dependency: skips without it, or fails under
    ``NYCACHE_REQUIRE_ADAPTERS=1``."""
    if REQUIRE_ADAPTERS:
        return importlib.import_module(module)
    return pytest.importorskip(module)


def unavailable(reason: str) -> None:
    """A dependency or download is missing: skip the module, or fail it
    under ``NYCACHE_REQUIRE_ADAPTERS=1``."""
    if REQUIRE_ADAPTERS:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_ROOT.parents[1]
if str(PACKAGE_ROOT) not in sys.path:
    sys.path.insert(0, str(PACKAGE_ROOT))
