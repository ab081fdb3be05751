"""Fetch the cache tests of Django's own test suite for the installed Django.

Django's test suite is not part of its wheel; it ships in the source
distribution (``django-X.Y.Z.tar.gz``, folder ``tests/``). This helper
downloads that sdist with pip, for exactly the installed version::

    python -m pip download django==X.Y.Z --no-binary :all: --no-deps -d target/django-src

and extracts ``tests/cache/`` (all the suite needs) to
``target/django-src/django-X.Y.Z/tests/cache``. Nothing is downloaded when
that folder is already there, and nothing of Django's is kept in the
repository (``target/`` is ignored by git).

Run it directly to fetch ahead of time (it prints the ``tests`` folder)::

    python bindings/python/tests/django_suite/fetch_django_tests.py

``NYCACHE_DJANGO_TESTS=/path/to/django/tests`` uses an existing checkout's
``tests`` folder instead (nothing is downloaded).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_DEST = REPO_ROOT / "target" / "django-src"


def _sdist_in(dest: Path, version: str) -> Path | None:
    for name in (f"django-{version}.tar.gz", f"Django-{version}.tar.gz"):
        if (dest / name).is_file():
            return dest / name
    return None


def _download(dest: Path, version: str) -> Path:
    cmd = [
        sys.executable, "-m", "pip", "download", f"django=={version}",
        "--no-binary", ":all:", "--no-deps", "--disable-pip-version-check",
        "-d", str(dest),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sdist = _sdist_in(dest, version)
    if proc.returncode != 0 or sdist is None:
        raise RuntimeError(
            f"could not download Django {version}'s source distribution "
            f"(needed for its test suite); `{' '.join(cmd)}` said:\n{proc.stdout}{proc.stderr}"
        )
    return sdist


def _extract_cache_tests(sdist: Path, root: Path, version: str) -> None:
    """Extract ``django-<version>/tests/cache/`` from ``sdist`` into ``root``
    (``root`` is ``dest/django-<version>``), atomically."""
    prefixes = (f"django-{version}/tests/cache/", f"Django-{version}/tests/cache/")
    with tarfile.open(sdist, "r:gz") as tar:
        members = []
        for member in tar.getmembers():
            if not member.name.startswith(prefixes):
                continue
            if not (member.isfile() or member.isdir()) or ".." in Path(member.name).parts:
                raise RuntimeError(f"unexpected entry {member.name!r} in {sdist}")
            members.append(member)
        if not any(m.name.endswith("/tests/cache/tests.py") for m in members):
            raise RuntimeError(f"{sdist} has no tests/cache/tests.py")
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=root.parent))
        try:
            if hasattr(tarfile, "data_filter"):  # Python 3.8.17+/3.11.4+/3.12
                tar.extractall(tmp, members=members, filter="data")
            else:  # pragma: no cover - old Pythons; members were checked above
                tar.extractall(tmp, members=members)
            top = tmp / members[0].name.split("/", 1)[0]
            (root / "tests").mkdir(parents=True, exist_ok=True)
            target = root / "tests" / "cache"
            if not target.exists():
                os.replace(top / "tests" / "cache", target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def django_tests_dir(dest: Path | None = None) -> Path:
    """The ``tests`` folder of Django's source for the installed Django,
    fetched into ``dest`` (``target/django-src``) when missing."""
    override = os.environ.get("NYCACHE_DJANGO_TESTS")
    if override:
        tests = Path(override)
        if not (tests / "cache" / "tests.py").is_file():
            raise RuntimeError(f"NYCACHE_DJANGO_TESTS={override}: no cache/tests.py there")
        return tests

    import django

    version = django.__version__
    dest = Path(dest) if dest is not None else DEFAULT_DEST
    root = dest / f"django-{version}"
    tests = root / "tests"
    if (tests / "cache" / "tests.py").is_file():
        return tests
    dest.mkdir(parents=True, exist_ok=True)
    sdist = _sdist_in(dest, version) or _download(dest, version)
    _extract_cache_tests(sdist, root, version)
    return tests


if __name__ == "__main__":
    print(django_tests_dir())
