# nycache — build, demo, test, bench, install.
#   make demo      builds and runs the quickstart examples (Rust, C, C++) end to end
#   make test      runs every test suite (Rust, C, C++, sanitizers, valgrind, install, Python, Django, Flask)
#   make install   PREFIX=/usr/local: shared + static library, headers, pkg-config file

CARGO ?= cargo
CC ?= cc
CXX ?= c++
PYTHON ?= python3
PREFIX ?= /usr/local
DESTDIR ?=
export CARGO_TERM_COLOR ?= never

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))

# Warnings are errors for everything we compile against the header.
CFLAGS_STRICT := -std=c11 -Wall -Wextra -Werror -pedantic -g -Iinclude
CXXFLAGS_STRICT := -std=c++17 -Wall -Wextra -Werror -pedantic -g -Iinclude -Ibindings/cpp
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# What `rustc --print native-static-libs` lists for a static link.
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl

# Library builds: debug (jemalloc, as shipped), sys (the system allocator,
# so AddressSanitizer and valgrind see every allocation), release.
DEBUG_DIR := target/debug
SYS_DIR := target/sys/debug
RELEASE_DIR := target/release
OUT := target/ctest

C_TESTS := test_api test_threads test_types test_pubsub
# --fair-sched=yes: valgrind runs one thread at a time, and its default
# hand-over lets a thread spinning on sched_yield() keep running while the
# thread it waits for never gets a turn (test_pubsub's spin-waits hung for
# minutes that way); the fair scheduler hands over in turn.
VALGRIND := valgrind -q --error-exitcode=1 --fair-sched=yes --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite

.PHONY: all build release demo test test-rust test-c test-cpp test-asan test-valgrind test-dlopen \
        test-install test-python bench-build bench header install lib-debug lib-sys venv wheel clean

# Python: a virtual environment with the pinned test dependencies (Django,
# Flask-Caching and cachelib are test dependencies of the adapters only).
VENV := .venv
VENV_PY := $(VENV)/bin/python
PY_REQUIREMENTS := bindings/python/requirements-test.txt
PY_LIB := bindings/python/nycache/_lib

all: build

build:
	$(CARGO) build --release

# Each build also gets the soname link (`libnycache.so.MAJOR`) that the
# programs linked against it ask the loader for.
release:
	$(CARGO) build --release --lib
	ln -sf libnycache.so $(RELEASE_DIR)/libnycache.so.$(MAJOR)

lib-debug:
	$(CARGO) build --lib
	ln -sf libnycache.so $(DEBUG_DIR)/libnycache.so.$(MAJOR)

lib-sys:
	CARGO_TARGET_DIR=target/sys $(CARGO) build --lib --no-default-features
	ln -sf libnycache.so $(SYS_DIR)/libnycache.so.$(MAJOR)

demo: release
	$(CARGO) run --quiet --release --example quickstart
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS_STRICT) -O2 examples/quickstart.c -L$(RELEASE_DIR) -lnycache -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -o $(OUT)/quickstart-c
	$(OUT)/quickstart-c
	$(CXX) $(CXXFLAGS_STRICT) -O2 examples/quickstart.cpp -L$(RELEASE_DIR) -lnycache -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -o $(OUT)/quickstart-cpp
	$(OUT)/quickstart-cpp
	NYCACHE_LIBRARY=$(CURDIR)/$(RELEASE_DIR)/libnycache.so PYTHONPATH=bindings/python $(PYTHON) examples/quickstart.py

test: test-rust test-c test-cpp test-asan test-valgrind test-dlopen test-install test-python bench-build

# Debug build on purpose: overflow checks and debug assertions catch more;
# dependencies are optimised (Cargo.toml) so the suites stay fast.
test-rust:
	$(CARGO) test --all-targets --no-fail-fast
	$(CARGO) test --doc

# The C suites against the shared and the static library.
test-c: lib-debug
	@mkdir -p $(OUT)
	@set -e; for t in $(C_TESTS); do \
	  $(CC) $(CFLAGS_STRICT) tests/c/$$t.c -L$(DEBUG_DIR) -lnycache -Wl,-rpath,$(CURDIR)/$(DEBUG_DIR) $(STATIC_LIBS) -o $(OUT)/$$t-shared; \
	  $(CC) $(CFLAGS_STRICT) tests/c/$$t.c $(DEBUG_DIR)/libnycache.a $(STATIC_LIBS) -o $(OUT)/$$t-static; \
	  echo "== $$t (shared)"; $(OUT)/$$t-shared; \
	  echo "== $$t (static)"; $(OUT)/$$t-static; \
	done

test-cpp: lib-debug
	@mkdir -p $(OUT)
	$(CXX) $(CXXFLAGS_STRICT) tests/cpp/test_cpp.cpp -L$(DEBUG_DIR) -lnycache -Wl,-rpath,$(CURDIR)/$(DEBUG_DIR) -o $(OUT)/test_cpp
	$(OUT)/test_cpp

# AddressSanitizer + UBSan over the C and C++ suites, library on the system allocator.
test-asan: lib-sys
	@mkdir -p $(OUT)
	@set -e; for t in $(C_TESTS); do \
	  $(CC) $(CFLAGS_STRICT) $(SANITIZE) tests/c/$$t.c -L$(SYS_DIR) -lnycache -Wl,-rpath,$(CURDIR)/$(SYS_DIR) $(STATIC_LIBS) -o $(OUT)/$$t-asan; \
	  echo "== $$t (asan+ubsan)"; ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(OUT)/$$t-asan; \
	done
	$(CXX) $(CXXFLAGS_STRICT) $(SANITIZE) tests/cpp/test_cpp.cpp -L$(SYS_DIR) -lnycache -Wl,-rpath,$(CURDIR)/$(SYS_DIR) -o $(OUT)/test_cpp-asan
	@echo "== test_cpp (asan+ubsan)"; ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 $(OUT)/test_cpp-asan

# valgrind memcheck over the C and C++ suites, library on the system allocator.
test-valgrind: lib-sys
	@mkdir -p $(OUT)
	@set -e; for t in $(C_TESTS); do \
	  $(CC) $(CFLAGS_STRICT) tests/c/$$t.c -L$(SYS_DIR) -lnycache -Wl,-rpath,$(CURDIR)/$(SYS_DIR) $(STATIC_LIBS) -o $(OUT)/$$t-sys; \
	  echo "== $$t (valgrind)"; $(VALGRIND) $(OUT)/$$t-sys; \
	done
	$(CXX) $(CXXFLAGS_STRICT) tests/cpp/test_cpp.cpp -L$(SYS_DIR) -lnycache -Wl,-rpath,$(CURDIR)/$(SYS_DIR) -o $(OUT)/test_cpp-sys
	@echo "== test_cpp (valgrind)"; $(VALGRIND) $(OUT)/test_cpp-sys

# The shipped (jemalloc) library loaded at run time, from C and from Python
# ctypes: catches "cannot allocate memory in static TLS block".
test-dlopen: lib-debug
	@mkdir -p $(OUT)
	$(CC) $(CFLAGS_STRICT) tests/c/test_dlopen.c -ldl -o $(OUT)/test_dlopen
	$(OUT)/test_dlopen $(CURDIR)/$(DEBUG_DIR)/libnycache.so
	$(PYTHON) tests/c/ctypes_load.py $(CURDIR)/$(DEBUG_DIR)/libnycache.so

# Installs into a temporary prefix, then builds and runs the C quickstart
# with nothing but pkg-config's flags.
test-install:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX=$$tmp; \
	test "$$(readlink $$tmp/lib/libnycache.so)" = libnycache.so.$(MAJOR); \
	test "$$(readlink $$tmp/lib/libnycache.so.$(MAJOR))" = libnycache.so.$(VERSION); \
	readelf -d $$tmp/lib/libnycache.so.$(VERSION) | grep -q "SONAME.*libnycache.so.$(MAJOR)"; \
	export PKG_CONFIG_PATH=$$tmp/lib/pkgconfig; \
	test "$$(pkg-config --modversion nycache)" = $(VERSION); \
	$(CC) $(CFLAGS_STRICT) examples/quickstart.c $$(pkg-config --cflags --libs nycache) -o $$tmp/quickstart; \
	LD_LIBRARY_PATH=$$tmp/lib $$tmp/quickstart; \
	$(CC) $(CFLAGS_STRICT) examples/quickstart.c $$(pkg-config --cflags nycache) $$tmp/lib/libnycache.a $$(pkg-config --static --libs-only-l nycache | sed 's/-lnycache//') -o $$tmp/quickstart-static; \
	$$tmp/quickstart-static; \
	$(CXX) $(CXXFLAGS_STRICT) examples/quickstart.cpp $$(pkg-config --cflags --libs nycache) -o $$tmp/quickstart-cpp; \
	LD_LIBRARY_PATH=$$tmp/lib $$tmp/quickstart-cpp; \
	echo "install into a temporary prefix: ok"

install: release
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(RELEASE_DIR)/libnycache.so $(DESTDIR)$(PREFIX)/lib/libnycache.so.$(VERSION)
	ln -sf libnycache.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libnycache.so.$(MAJOR)
	ln -sf libnycache.so.$(MAJOR) $(DESTDIR)$(PREFIX)/lib/libnycache.so
	install -m 644 $(RELEASE_DIR)/libnycache.a $(DESTDIR)$(PREFIX)/lib/libnycache.a
	install -m 644 include/nycache.h bindings/cpp/nycache.hpp $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' nycache.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nycache.pc

$(VENV)/.installed: $(PY_REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -r $(PY_REQUIREMENTS)
	touch $@

venv: $(VENV)/.installed

# The wheel carries the release library, stripped of its debug info.
wheel: release venv
	mkdir -p $(PY_LIB) target/wheels
	strip --strip-debug -o $(PY_LIB)/libnycache.so $(RELEASE_DIR)/libnycache.so
	rm -rf bindings/python/build target/wheels/nycache-*.whl
	$(VENV_PY) -m build --wheel --no-isolation --outdir target/wheels bindings/python
	rm -rf $(PY_LIB) bindings/python/build bindings/python/*.egg-info

# The package, its Django and Flask-Caching backends (Django's own cache
# test suite included) and the wheel, against the release library.
test-python: wheel
	cd bindings/python && NYCACHE_LIBRARY=$(CURDIR)/$(RELEASE_DIR)/libnycache.so NYCACHE_REQUIRE_ADAPTERS=1 \
	  NYCACHE_WHEEL_DIR=$(CURDIR)/target/wheels $(CURDIR)/$(VENV_PY) -m pytest -q -p no:cacheprovider -rs tests

# CI compiles the benches but never times them.
bench-build:
	$(CARGO) bench --no-run
	$(CARGO) build --release --example nycache-bench
	target/release/examples/nycache-bench --quick > /dev/null

bench:
	$(CARGO) bench --bench ops

# Regenerates include/nycache.h with the pinned cbindgen (tests/header.rs).
header:
	NYCACHE_WRITE_HEADER=1 $(CARGO) test --test header

clean:
	$(CARGO) clean
