# nycache — build, demo, test, bench.
#   make demo   builds and runs the quickstart examples end to end
#   make test   runs every test suite

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build demo test test-rust bench bench-build header fmt clean

all: build

build:
	$(CARGO) build --release

demo:
	$(CARGO) run --quiet --release --example quickstart

test: test-rust bench-build

# Debug build on purpose: overflow checks and debug assertions catch more;
# dependencies are optimised (Cargo.toml) so the suites stay fast.
test-rust:
	$(CARGO) test --all-targets --no-fail-fast
	$(CARGO) test --doc

# CI compiles the benches but never times them.
bench-build:
	$(CARGO) bench --no-run

bench:
	$(CARGO) bench --bench ops

# The C header arrives with the C ABI (cbindgen, pinned); until then this
# target only says so, rather than pretending.
header:
	@echo "include/nycache.h is generated once the C ABI lands (see issues)"; exit 1

clean:
	$(CARGO) clean
