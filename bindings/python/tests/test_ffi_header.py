"""_ffi.py's declarations against include/nycache.h: a function, a struct
field or a status code that differs from the header fails here."""

import ctypes
import re
from ctypes import POINTER, c_char_p, c_double, c_int, c_int64, c_size_t, c_uint32, c_uint64, c_void_p

import pytest
from conftest import REPO_ROOT

from nycache import _ffi

HEADER = (REPO_ROOT / "include" / "nycache.h").read_text()


def _code(text: str) -> str:
    """The header without comments or preprocessor lines, on one line."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return re.sub(r"\s+", " ", text)


CODE = _code(HEADER)


def _functions() -> dict[str, tuple[str, list[str]]]:
    found = {}
    for m in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(nyc_\w+)\s*\(([^()]*)\)\s*;", CODE):
        ret, name, params = m.group(1).strip(), m.group(2), m.group(3).strip()
        types = []
        if params and params != "void":
            for p in params.split(","):
                # Drop the parameter's name: the last identifier.
                types.append(re.sub(r"\b\w+\s*$", "", p.strip()).strip())
        found[name] = (ret, types)
    return found


FUNCTIONS = _functions()

# The ctypes types that may stand for each C type. Pointers the package
# fills from bytes or addresses may be declared c_void_p.
_OPAQUE = {"nyc_cache", "nyc_value", "nyc_array", "nyc_subscription"}


def _allowed(ctype: str) -> tuple:
    t = re.sub(r"\s+", " ", ctype.replace("*", " * ")).strip()
    t = t.replace("const ", "").replace("struct ", "").replace("enum ", "").strip()
    scalars = {
        "nyc_status": (c_int,),
        "int": (c_int,),
        "size_t": (c_size_t,),
        "uint64_t": (c_uint64,),
        "uint32_t": (c_uint32,),
        "int64_t": (c_int64,),
        "double": (c_double,),
        "void": (None,),
        # A function-pointer typedef: passed as an address.
        "nyc_message_callback": (c_void_p,),
        "nyc_free_callback": (c_void_p,),
    }
    if t in scalars:
        return scalars[t]
    base, stars = t.replace(" *", "*").rstrip("*").strip(), t.count("*")
    if base == "char" and stars == 1:
        return (c_char_p,)
    if stars == 1:
        if base in _OPAQUE or base == "void":
            return (c_void_p,)
        target = {"size_t": c_size_t, "uint64_t": c_uint64, "int64_t": c_int64, "double": c_double}.get(base) or getattr(_ffi, base)
        return (POINTER(target), c_void_p)
    if stars == 2 and base in _OPAQUE:
        return (POINTER(c_void_p),)
    raise AssertionError(f"no ctypes mapping for C type {ctype!r}")


def test_the_header_declares_the_functions_we_expect():
    # A broken parser would make every other test here vacuous.
    assert len(FUNCTIONS) >= 36
    assert FUNCTIONS["nyc_get"] == (
        "enum nyc_status",
        ["const struct nyc_cache *", "const void *", "size_t", "void *", "size_t", "size_t *"],
    )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("dll", ["lib", "fast"])
def test_each_function_is_declared_as_in_the_header(name, dll):
    fn = getattr(getattr(_ffi, dll), name)
    ret, params = FUNCTIONS[name]
    assert fn.restype in _allowed(ret), f"{name} returns {ret}, declared {fn.restype}"
    assert fn.argtypes is not None, f"{name} has no argtypes"
    assert len(fn.argtypes) == len(params), f"{name} takes {len(params)} arguments, declared {len(fn.argtypes)}"
    for i, (c, py) in enumerate(zip(params, fn.argtypes)):
        assert py in _allowed(c), f"{name} argument {i}: header {c!r}, declared {py}"


def test_no_function_is_declared_that_the_header_lacks():
    declared = {name for name in vars(_ffi.lib) if name.startswith("nyc_")}
    assert declared <= set(FUNCTIONS), declared - set(FUNCTIONS)
    assert set(FUNCTIONS) <= declared, set(FUNCTIONS) - declared


def _struct_fields(name: str) -> list[tuple[str, str]]:
    m = re.search(r"typedef struct %s \{(.*?)\} %s;" % (name, name), CODE)
    assert m, f"struct {name} not in the header"
    fields = []
    for decl in m.group(1).split(";"):
        decl = decl.strip()
        if decl:
            ctype, field = decl.rsplit(" ", 1)
            fields.append((field.lstrip("*"), ctype + (" *" if field.startswith("*") else "")))
    return fields


@pytest.mark.parametrize("struct", ["nyc_slice", "nyc_cache_stats"])
def test_structs_match_the_header(struct):
    fields = _struct_fields(struct)
    ours = getattr(_ffi, struct)._fields_
    assert [f for f, _ in ours] == [f for f, _ in fields]
    for (field, ctype), (_, py) in zip(fields, ours):
        assert py in _allowed(ctype), f"{struct}.{field}: header {ctype!r}, declared {py}"


def test_status_codes_match_the_header():
    body = re.search(r"typedef enum nyc_status \{(.*?)\} nyc_status;", CODE).group(1)
    header = {n: int(v) for n, v in re.findall(r"(NYC_\w+) = (\d+)", body)}
    assert header == _ffi.STATUS
    from nycache._errors import BY_STATUS

    for name, code in header.items():
        if code:
            assert BY_STATUS[code].status_name == name
            assert _ffi.lib.nyc_status_name(code).decode() == name


def test_absent_length_matches_the_header():
    value = re.search(r"#define NYC_ABSENT (\w+)", HEADER).group(1)
    assert int(value.rstrip("uUlL"), 0) == _ffi.NYC_ABSENT == 2 ** (8 * ctypes.sizeof(c_size_t)) - 1


def test_the_loaded_library_is_this_version():
    major, minor, patch = (re.search(r"#define NYC_VERSION_%s (\d+)" % p, HEADER).group(1) for p in ("MAJOR", "MINOR", "PATCH"))
    assert _ffi.version() == f"{major}.{minor}.{patch}"
