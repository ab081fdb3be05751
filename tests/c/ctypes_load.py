"""Loads the shipped shared library with Python's ctypes (dlopen at run time,
as the Python package will) and uses it: catches the "cannot allocate memory
in static TLS block" class of failure. Usage: ctypes_load.py PATH/libnycache.so
"""
import ctypes
import sys

lib = ctypes.CDLL(sys.argv[1])
lib.nyc_last_error.restype = ctypes.c_char_p
lib.nyc_version.restype = ctypes.c_char_p

cache = ctypes.c_void_p()
st = lib.nyc_open(b"max_memory=1MiB", ctypes.byref(cache))
assert st == 0, (st, lib.nyc_last_error())
st = lib.nyc_set(cache, b"k", ctypes.c_size_t(1), b"value", ctypes.c_size_t(5), ctypes.c_uint64(0))
assert st == 0, (st, lib.nyc_last_error())
buf = ctypes.create_string_buffer(16)
n = ctypes.c_size_t()
st = lib.nyc_get(cache, b"k", ctypes.c_size_t(1), buf, ctypes.c_size_t(16), ctypes.byref(n))
assert st == 0 and buf.raw[: n.value] == b"value", (st, buf.raw, n.value)
st = lib.nyc_open(b"bogus=1", ctypes.byref(ctypes.c_void_p()))
assert st == 9 and b"bogus" in lib.nyc_last_error(), (st, lib.nyc_last_error())
lib.nyc_close(cache)
print("ctypes load of", sys.argv[1], "version", lib.nyc_version().decode(), ": ok")
