"""cachelib's own backend test-suite (tests/common.py etc. from its sdist),
run against nycache.flask.NycacheCache, as cachelib runs it against its
RedisCache.

The sdist of the installed cachelib version is downloaded once with pip into
<repo>/target/cachelib-suite/ (ignored by git) and only its tests/*.py are
unpacked; set NYCACHE_CACHELIB_SDIST=/path/to/cachelib-X.tar.gz to use a file
instead. Without network (or pip) the module is skipped, saying why.
Note: cachelib's test_expiration sleeps 4 s (once per key-prefix variant).

Run: PYTHONPATH=bindings/python python -m pytest bindings/python/tests/test_flask_cachelib_suite.py
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tarfile
import types
from pathlib import Path

import pytest
from conftest import require, unavailable

require("cachelib")

from nycache.flask import NycacheCache  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
SUITE_ROOT = REPO / "target" / "cachelib-suite"
SUITE_FILES = ("conftest.py", "common.py", "clear.py", "has.py", "serializer.py", "delete_many_with_prefix.py")


def _suite_dir() -> Path:
    version = importlib.metadata.version("cachelib")
    dest = SUITE_ROOT / f"cachelib-{version}" / "tests"
    if all((dest / f).is_file() for f in SUITE_FILES):
        return dest
    sdist = os.environ.get("NYCACHE_CACHELIB_SDIST")
    if not sdist:
        download = SUITE_ROOT / "download"
        download.mkdir(parents=True, exist_ok=True)
        found = sorted(download.glob(f"cachelib-{version}.tar.gz"))
        if not found:
            proc = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                 "--dest", str(download), f"cachelib=={version}"],
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            found = sorted(download.glob(f"cachelib-{version}.tar.gz"))
            if proc.returncode != 0 or not found:
                unavailable(
                    f"could not download the cachelib {version} sdist for its test-suite: "
                    + (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
                )
        sdist = str(found[0])
    prefix = f"cachelib-{version}/tests/"
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as tar:
        for name in SUITE_FILES:
            member = tar.getmember(prefix + name)  # KeyError if the suite's layout changed
            data = tar.extractfile(member)
            assert data is not None
            (dest / name).write_bytes(data.read())
    return dest


def _load_suite() -> types.SimpleNamespace:
    dest = _suite_dir()

    def load(name: str, path: Path) -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    # Their conftest imports pytest-xprocess for its server fixtures, which are
    # not used here: a stand-in module lets it import. The suite's files do
    # `from conftest import TestData`: point that name at theirs while loading.
    saved = {n: sys.modules.get(n) for n in ("xprocess", "conftest")}
    try:
        if saved["xprocess"] is None:
            sys.modules["xprocess"] = types.SimpleNamespace(ProcessStarter=object)  # type: ignore[assignment]
        sys.modules["conftest"] = load("cachelib_suite_conftest", dest / "conftest.py")
        mods = {n: load(f"cachelib_suite_{n}", dest / f"{n}.py")
                for n in ("common", "clear", "has", "serializer", "delete_many_with_prefix")}  # fmt: skip
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    return types.SimpleNamespace(**mods)


_suite = _load_suite()


@pytest.fixture(params=[None, "test-key-prefix:"], ids=["no_key_prefix", "with_key_prefix"])
def key_prefix(request):
    return request.param


@pytest.fixture(autouse=True)
def cache_factory(request, key_prefix):
    made = []

    def _factory(self, *args, **kwargs):
        kwargs.setdefault("key_prefix", key_prefix)
        c = NycacheCache(*args, **kwargs)
        made.append(c)
        return c

    request.cls.cache_factory = _factory
    yield
    for c in made:
        c.close()


class TestCachelibSuiteOnNycache(
    _suite.common.CommonTests,
    _suite.clear.ClearTests,
    _suite.has.HasTests,
    _suite.delete_many_with_prefix.DeleteManyWithPrefixTests,
    _suite.serializer.SerializerTests,
):
    """Every test of cachelib's shared suite, unchanged."""
