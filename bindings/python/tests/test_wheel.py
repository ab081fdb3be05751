"""The wheel built by `make wheel`: installed into a fresh virtual
environment, it imports and works with no environment variable set and
nothing from this checkout on the path."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import PACKAGE_ROOT, REPO_ROOT

WHEEL_DIR = Path(os.environ.get("NYCACHE_WHEEL_DIR", REPO_ROOT / "target" / "wheels"))


def _wheel() -> Path:
    wheels = sorted(WHEEL_DIR.glob("nycache-*.whl"))
    if not wheels:
        pytest.fail(f"no wheel in {WHEEL_DIR}: build it with `make wheel` (make test-python does)")
    return wheels[-1]


def test_the_wheel_is_tagged_for_the_platform_and_carries_the_library():
    wheel = _wheel()
    assert wheel.name.endswith("-py3-none-linux_x86_64.whl"), wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert "nycache/_lib/libnycache.so" in names
        assert "nycache/py.typed" in names
        assert {"nycache/__init__.py", "nycache/django.py", "nycache/flask.py"} <= names
        tag = z.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
        assert "Tag: py3-none-linux_x86_64" in tag and "Root-Is-Purelib: false" in tag


def test_the_wheel_installs_and_imports_in_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("NYCACHE_LIBRARY", "PYTHONPATH")}
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", str(_wheel())],
        check=True,
        env=env,
    )
    script = (
        "import nycache, sys\n"
        "c = nycache.Cache(max_memory='1MiB')\n"
        "c.set('k', b'v', ttl=5)\n"
        "assert c.get('k') == b'v'\n"
        "print(nycache.library_path)\n"
    )
    out = subprocess.run([str(py), "-c", script], check=True, env=env, cwd=tmp_path, capture_output=True, text=True)
    loaded = Path(out.stdout.strip())
    # The bundled copy inside the venv, not this checkout's build.
    assert loaded.is_relative_to(venv), loaded
    assert loaded.name == "libnycache.so" and loaded.parent.name == "_lib"


def test_a_missing_library_is_an_import_error_naming_where_it_looked(tmp_path):
    # A copy of the package outside any checkout, with no library bundled.
    pkg = tmp_path / "nycache"
    pkg.mkdir()
    for f in (PACKAGE_ROOT / "nycache").glob("*.py"):
        (pkg / f.name).write_bytes(f.read_bytes())
    env = {k: v for k, v in os.environ.items() if k not in ("NYCACHE_LIBRARY", "PYTHONPATH")}
    r = subprocess.run([sys.executable, "-c", "import nycache"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode != 0
    assert "ImportError: nycache: libnycache.so not found; looked in:" in r.stderr
    assert str(pkg / "_lib" / "libnycache.so") in r.stderr
    assert "NYCACHE_LIBRARY" in r.stderr


def test_the_environment_variable_overrides_and_a_bad_path_says_so(tmp_path):
    env = dict(os.environ, NYCACHE_LIBRARY=str(tmp_path / "nope.so"), PYTHONPATH=str(PACKAGE_ROOT))
    r = subprocess.run([sys.executable, "-c", "import nycache"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode != 0
    assert f"{tmp_path / 'nope.so'} (NYCACHE_LIBRARY)" in r.stderr
    bad = tmp_path / "bad.so"
    bad.write_bytes(b"not a library")
    env["NYCACHE_LIBRARY"] = str(bad)
    r = subprocess.run([sys.executable, "-c", "import nycache"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert "could not load" in r.stderr and str(bad) in r.stderr


def test_from_a_checkout_the_build_tree_is_found(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NYCACHE_LIBRARY"}
    env["PYTHONPATH"] = str(PACKAGE_ROOT)
    r = subprocess.run(
        [sys.executable, "-c", "import nycache; print(nycache.library_path)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(r.stdout.strip()).is_relative_to(REPO_ROOT / "target")
