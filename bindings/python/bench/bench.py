#!/usr/bin/env python3
"""nycache's Python bench: ns per call for get hit, get miss, set and
get_many(100), side by side with the Python caches a user would pick
instead (see shared BENCHMARKS.md, "Python").

Run from a checkout (the package is found through PYTHONPATH, the library
at target/release/libnycache.so or $NYCACHE_LIBRARY):

    PYTHONPATH=bindings/python python3 bindings/python/bench/bench.py
    ... bench.py --quick            # a few seconds: smoke test, numbers are rough
    ... bench.py --json out.json    # also write the results as JSON ("-" = stdout)
    ... bench.py --peers nycache,dict,redis

What is measured (the same for every peer):

* Keys are 16-byte ``bytes`` (b"key:%012d"), values 100 bytes. N keys are
  loaded first (default 100,000; the caches are sized to hold them all, so a
  "get hit" is a hit); the access sequence is drawn Zipf(s=0.99) over them
  from a fixed seed.
* ``get hit``: ``get(k)`` for keys present; ``get miss``: ``get(k)`` for keys
  never stored; ``set``: ``set(k, v)`` overwriting a present key (no
  eviction); ``get_many(100)``: one call for 100 present keys (ns per
  *batch*). Peers without a batch call do ``[get(k) for k in batch]``.
* Each figure is ns per call of a plain Python loop ``for k in keys: op(k)``
  with the bound method looked up once, so the loop's own cost (shown as
  "loop overhead", ~5-20 ns) is included for every peer alike. Each loop is
  calibrated to take >= --min-time seconds; then the --repeat runs go
  round-robin over every peer and op (all peers set up at once), so that the
  noise of a shared machine falls on all of them alike; the figure is the
  median of the repeats.
* ``nycache`` stores raw bytes (no serializer), like the peers;
  ``nycache[pickle]`` is the same with ``serializer="pickle"`` (what the
  Flask/Django backends use).
* ``functools.lru_cache``: "get hit" is a call of an ``lru_cache``-wrapped
  function with an argument already cached; "get miss" is a call with a new
  argument, which runs the (trivial) body and inserts the result, evicting
  the oldest (so it is miss + compute + insert); "set" has no equivalent (-);
  get_many(100) is 100 calls.
* ``redis``: redis-py (no pipelining; get_many = MGET) against a
  ``redis-server`` this script starts on 127.0.0.1, on a free port, with
  persistence off; skipped with a message when ``redis-server`` is absent.
* ``diskcache.Cache`` works in a temporary directory (SQLite + files).

Ratios are nycache / peer ns: below 1 means nycache is faster.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

OPS = ("get_hit", "get_miss", "set", "get_many_100")
OP_TITLES = {"get_hit": "get hit", "get_miss": "get miss", "set": "set", "get_many_100": "get_many(100)"}
ALL_PEERS = (
    "nycache",
    "nycache[pickle]",
    "dict",
    "lru-dict",
    "cachetools.LRUCache",
    "cachetools.TTLCache",
    "functools.lru_cache",
    "diskcache",
    "redis",
)
# Targets the project reports against (ns): nycache get hit <= 1.0 us,
# get_many(100) <= 20 us.
TARGETS = {"get_hit": 1000.0, "get_many_100": 20000.0}
KEY_LEN = 16
VALUE_LEN = 100
BATCH = 100


def make_key(i: int) -> bytes:
    k = b"key:%012d" % i
    assert len(k) == KEY_LEN
    return k


def make_miss_key(i: int) -> bytes:
    k = b"mis:%012d" % i
    assert len(k) == KEY_LEN
    return k


class Workload:
    def __init__(self, n_keys: int, n_access: int, seed: int = 42) -> None:
        rng = random.Random(seed)
        self.keys = [make_key(i) for i in range(n_keys)]
        self.value = bytes(rng.getrandbits(8) for _ in range(VALUE_LEN))
        # Zipf(0.99) ranks over the keys, shuffled so rank != key order.
        ranked = self.keys[:]
        rng.shuffle(ranked)
        weights = [1.0 / (r**0.99) for r in range(1, n_keys + 1)]
        cum = list(itertools.accumulate(weights))
        self.hits = rng.choices(ranked, cum_weights=cum, k=n_access)
        self.misses = [make_miss_key(i) for i in range(n_access)]
        self.sets = self.hits  # overwrite present keys
        n_batches = max(1, n_access // BATCH)
        self.batches = [self.hits[i * BATCH : (i + 1) * BATCH] for i in range(n_batches)]
        self.batches = [b for b in self.batches if len(b) == BATCH] or [rng.choices(ranked, cum_weights=cum, k=BATCH)]


# -- timing ------------------------------------------------------------------


def _loop1(fn: Callable[[Any], Any], args: list[Any]) -> Callable[[int], int]:
    def run(reps: int) -> int:
        t0 = time.perf_counter_ns()
        for _ in range(reps):
            for a in args:
                fn(a)
        return time.perf_counter_ns() - t0

    return run


def _loop2(fn: Callable[[Any, Any], Any], args: list[Any], value: Any) -> Callable[[int], int]:
    def run(reps: int) -> int:
        t0 = time.perf_counter_ns()
        for _ in range(reps):
            for a in args:
                fn(a, value)
        return time.perf_counter_ns() - t0

    return run


def _loop_empty(args: list[Any]) -> Callable[[int], int]:
    def run(reps: int) -> int:
        t0 = time.perf_counter_ns()
        for _ in range(reps):
            for _a in args:
                pass
        return time.perf_counter_ns() - t0

    return run


def calibrate(run: Callable[[int], int], min_time: float) -> int:
    """timeit-style: how many passes over the access list make one run last
    at least ``min_time`` seconds."""
    reps = 1
    while True:
        elapsed = run(reps)
        if elapsed >= min_time * 1e9 or reps >= 1 << 20:
            return reps
        # aim a bit past min_time, growing at most 10x per step
        reps = min(reps * 10, max(reps + 1, int(reps * min_time * 1.2e9 / max(elapsed, 1))))


def measure_all(jobs: list[tuple[Any, Callable[[int], int], int]], min_time: float, repeat: int) -> dict[Any, Any]:
    """Times every job ``(tag, runner, calls per pass)``: calibrates each, then
    runs the repeats round-robin over all jobs (repeat 1 of every job, then
    repeat 2, ...), so that a noisy stretch of a shared machine hits every
    peer alike instead of the one running then. Returns, per tag, the median
    ns per call, the runs, and the calls per run."""
    plan = []
    for tag, run, calls in jobs:
        plan.append((tag, run, calls, calibrate(run, min_time)))
    runs: dict[Any, list[float]] = {tag: [] for tag, _, _, _ in plan}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            for tag, run, calls, reps in plan:
                runs[tag].append(run(reps) / (reps * calls))
    finally:
        if gc_was:
            gc.enable()
    return {
        tag: {"ns": statistics.median(runs[tag]), "runs": runs[tag], "calls": reps * calls}
        for tag, _, calls, reps in plan
    }


# -- peers ---------------------------------------------------------------------
# Each peer factory gets the workload and returns (ops, close) where ops maps an
# op name to a runner, or to None when the op has no equivalent.


class Skip(Exception):
    pass


def _ops(w: Workload, get: Callable, set_: Callable | None, get_many: Callable | None = None) -> dict[str, Any]:
    """Runners for the four ops; peers without a batch get do a list comprehension."""
    if get_many is None:

        def get_many(batch: list[bytes]) -> list[Any]:
            return [get(k) for k in batch]

    return {
        "get_hit": _loop1(get, w.hits),
        "get_miss": _loop1(get, w.misses),
        "set": None if set_ is None else _loop2(set_, w.sets, w.value),
        "get_many_100": _loop1(get_many, w.batches),
    }


def _mapping_peer(c: Any, w: Workload):
    for k in w.keys:
        c[k] = w.value
    return _ops(w, c.get, c.__setitem__), None


def _import_nycache() -> Any:
    try:
        import nycache
    except ImportError:
        # run from a checkout without PYTHONPATH: bindings/python is our parent
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        import nycache
    return nycache


def peer_nycache(w: Workload, serializer: str | None = None):
    try:
        nycache = _import_nycache()
    except ImportError as e:  # the bench is about nycache: say how to run it
        raise Skip(f"cannot import nycache ({e}); run with PYTHONPATH=bindings/python") from e
    cache = nycache.Cache(max_memory=max(64 << 20, len(w.keys) * 1024), serializer=serializer)
    cache.set_many({k: w.value for k in w.keys})
    missing = sum(1 for k in w.keys if k not in cache)
    if missing:
        cache.close()
        raise RuntimeError(f"nycache dropped {missing} of {len(w.keys)} keys at load; size it larger")
    return _ops(w, cache.get, cache.set, cache.get_many), cache.close


def peer_dict(w: Workload):
    return _mapping_peer({}, w)


def peer_lru_dict(w: Workload):
    try:
        from lru import LRU
    except ImportError as e:
        raise Skip(f"lru-dict not installed ({e})") from e
    return _mapping_peer(LRU(len(w.keys) + 1), w)


def peer_cachetools_lru(w: Workload):
    try:
        import cachetools
    except ImportError as e:
        raise Skip(f"cachetools not installed ({e})") from e
    return _mapping_peer(cachetools.LRUCache(maxsize=len(w.keys) + 1), w)


def peer_cachetools_ttl(w: Workload):
    try:
        import cachetools
    except ImportError as e:
        raise Skip(f"cachetools not installed ({e})") from e
    return _mapping_peer(cachetools.TTLCache(maxsize=len(w.keys) + 1, ttl=3600), w)


def peer_lru_cache(w: Workload):
    import functools

    value = w.value

    @functools.lru_cache(maxsize=len(w.keys) + 1)
    def cached(k: bytes) -> bytes:
        return value

    def load() -> None:
        cached.cache_clear()
        for k in w.keys:
            cached(k)

    load()
    fresh = itertools.count()

    def miss_run(reps: int) -> int:
        # arguments never passed before: each call misses, runs the body and
        # inserts (evicting the oldest); the hot keys are reloaded afterwards,
        # outside the timed part.
        base = next(fresh) * 100_000_000
        args = [b"new:%012d" % (base + i) for i in range(reps * len(w.misses))]
        t0 = time.perf_counter_ns()
        for a in args:
            cached(a)
        elapsed = time.perf_counter_ns() - t0
        load()
        return elapsed

    ops = _ops(w, cached, None)
    ops["get_miss"] = miss_run
    return ops, None


def peer_diskcache(w: Workload):
    try:
        import diskcache
    except ImportError as e:
        raise Skip(f"diskcache not installed ({e})") from e
    tmp = tempfile.mkdtemp(prefix="nycache-bench-diskcache-")
    c = diskcache.Cache(tmp, size_limit=1 << 40, eviction_policy="none")
    with c.transact():
        for k in w.keys:
            c.set(k, w.value)

    def close() -> None:
        c.close()
        shutil.rmtree(tmp, ignore_errors=True)

    return _ops(w, c.get, c.set), close


class RedisServer:
    """A throwaway redis-server on 127.0.0.1 (free port, no persistence)."""

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise Skip("redis-server not found (apt-get install redis-server)")
        try:
            import redis
        except ImportError as e:
            raise Skip(f"redis-py not installed ({e})") from e
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = tempfile.mkdtemp(prefix="nycache-bench-redis-")
        self.proc = subprocess.Popen(
            [
                exe,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client.ping():
                    break
            except redis.exceptions.ConnectionError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                self.close()
                raise Skip(f"redis-server did not start: {err.strip()[:200]}")
            time.sleep(0.05)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def peer_redis(w: Workload):
    server = RedisServer()
    r = server.client
    try:
        pipe = r.pipeline(transaction=False)
        for i, k in enumerate(w.keys):
            pipe.set(k, w.value)
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
    except BaseException:
        server.close()
        raise
    return _ops(w, r.get, r.set, r.mget), server.close


PEER_FACTORIES: dict[str, Callable[[Workload], Any]] = {
    "nycache": lambda w: peer_nycache(w, None),
    "nycache[pickle]": lambda w: peer_nycache(w, "pickle"),
    "dict": peer_dict,
    "lru-dict": peer_lru_dict,
    "cachetools.LRUCache": peer_cachetools_lru,
    "cachetools.TTLCache": peer_cachetools_ttl,
    "functools.lru_cache": peer_lru_cache,
    "diskcache": peer_diskcache,
    "redis": peer_redis,
}

# Peers that are much slower per call: fewer accesses per loop so a run stays short.
SLOW_PEERS = {"diskcache", "redis"}


def calls_per_rep(op: str, w: Workload) -> int:
    return len(w.batches) if op == "get_many_100" else len(w.hits)


def run_peers(names: list[str], w: Workload, slow_w: Workload, args: argparse.Namespace) -> dict[str, Any]:
    """Sets every peer up (all live at once), times all their ops
    interleaved, then tears them down."""
    peers: dict[str, Any] = {}
    closers = []
    jobs: list[tuple[Any, Callable[[int], int], int]] = [("loop overhead", _loop_empty(w.hits), len(w.hits))]
    try:
        for name in names:
            print(f"... setting up {name}", file=sys.stderr, flush=True)
            wl = slow_w if name in SLOW_PEERS else w
            try:
                ops, close = PEER_FACTORIES[name](wl)
            except Skip as e:
                peers[name] = {"skipped": str(e)}
                continue
            if close is not None:
                closers.append(close)
            peers[name] = {"results": {op: None for op in OPS}}
            for op in OPS:
                if ops.get(op) is not None:
                    jobs.append(((name, op), ops[op], calls_per_rep(op, wl)))
        print(f"... timing {len(jobs)} loops x {args.repeat} repeats, interleaved", file=sys.stderr, flush=True)
        timed = measure_all(jobs, args.min_time, args.repeat)
    finally:
        for close in reversed(closers):
            close()
    for tag, result in timed.items():
        if tag != "loop overhead":
            name, op = tag
            peers[name]["results"][op] = result
    return {"peers": peers, "loop_overhead_ns": timed["loop overhead"]["ns"]}


# -- output --------------------------------------------------------------------


def fmt_ns(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}"


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def ratios(report: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    base = report["peers"].get("nycache", {}).get("results")
    out: dict[str, dict[str, float | None]] = {}
    if not base:
        return out
    for name, entry in report["peers"].items():
        res = entry.get("results")
        if name == "nycache" or not res:
            continue
        out[name] = {}
        for op in OPS:
            b, p = base.get(op), res.get(op)
            out[name][op] = (b["ns"] / p["ns"]) if b and p and p["ns"] > 0 else None
    return out


def render_table(report: dict[str, Any]) -> str:
    lines = []
    name_w = max(len(n) for n in list(report["peers"]) + ["loop overhead", "peer"])
    col_w = 14
    header = "peer".ljust(name_w) + "".join(OP_TITLES[op].rjust(col_w) for op in OPS)
    lines.append(f"ns per call (median of {report['params']['repeat']} repeats; lower is better)")
    lines.append(header)
    lines.append("-" * len(header))
    for name, entry in report["peers"].items():
        if "skipped" in entry:
            lines.append(name.ljust(name_w) + "  skipped: " + entry["skipped"])
            continue
        res = entry["results"]
        lines.append(
            name.ljust(name_w) + "".join(fmt_ns(res[op]["ns"] if res.get(op) else None).rjust(col_w) for op in OPS)
        )
    lines.append(
        "loop overhead".ljust(name_w)
        + fmt_ns(report["loop_overhead_ns"]).rjust(col_w)
        + "   (an empty `for k in keys` iteration, included in every figure above)"
    )
    rat = report["ratios"]
    if rat:
        lines.append("")
        lines.append("nycache / peer (below 1 = nycache faster)")
        lines.append(header)
        lines.append("-" * len(header))
        for name, r in rat.items():
            lines.append(name.ljust(name_w) + "".join(fmt_ratio(r[op]).rjust(col_w) for op in OPS))
    if report["targets"]:
        lines.append("")
        for op, t in report["targets"].items():
            lines.append(
                f"target nycache {OP_TITLES[op]} <= {t['target_ns']:,.0f} ns: measured {fmt_ns(t['ns'])} ns -> "
                + ("met" if t["met"] else "NOT met")
            )
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    info = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("cachetools", "lru-dict", "diskcache", "redis"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    try:
        nycache = _import_nycache()
        out["nycache"] = getattr(nycache, "__version__", "?")
        out["libnycache"] = nycache.version()
    except ImportError:
        pass
    exe = shutil.which("redis-server")
    if exe:
        try:
            v = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
            out["redis-server"] = v.split("v=")[1].split()[0] if "v=" in v else v.strip()
        except (OSError, subprocess.SubprocessError, IndexError):
            pass
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="small and short: a smoke test, not a measurement")
    p.add_argument(
        "--json", metavar="PATH", help="write the results as JSON to PATH ('-' = stdout, table then goes to stderr)"
    )
    p.add_argument("--peers", default=",".join(ALL_PEERS), help="comma-separated subset of: " + ", ".join(ALL_PEERS))
    p.add_argument("--keys", type=int, help="keys loaded (default 100000; --quick 2000)")
    p.add_argument("--access", type=int, help="accesses per loop (default 10000; --quick 1000)")
    p.add_argument("--repeat", type=int, help="repeats, median reported (default 7; --quick 3)")
    p.add_argument("--min-time", type=float, help="seconds per repeat at least (default 0.2; --quick 0.005)")
    args = p.parse_args(argv)
    args.keys = args.keys or (2000 if args.quick else 100_000)
    args.access = args.access or (1000 if args.quick else 10_000)
    args.repeat = args.repeat or (3 if args.quick else 7)
    args.min_time = args.min_time if args.min_time is not None else (0.005 if args.quick else 0.2)
    peers = [x.strip() for x in args.peers.split(",") if x.strip()]
    unknown = [x for x in peers if x not in PEER_FACTORIES]
    if unknown:
        p.error(f"unknown peer(s) {unknown}; choose from {list(ALL_PEERS)}")

    w = Workload(args.keys, args.access)
    # diskcache and redis are 10-100x slower per call: a shorter access list.
    slow_w = Workload(args.keys, max(BATCH, args.access // 10))
    out = sys.stderr if args.json == "-" else sys.stdout

    report: dict[str, Any] = {
        "params": {
            "keys": args.keys,
            "access": args.access,
            "key_bytes": KEY_LEN,
            "value_bytes": VALUE_LEN,
            "batch": BATCH,
            "repeat": args.repeat,
            "min_time_s": args.min_time,
            "quick": args.quick,
            "distribution": "zipf(0.99), seed 42",
        },
        "machine": machine_info(),
        "versions": versions(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "peers": {},
    }
    report.update(run_peers(peers, w, slow_w, args))
    report["ratios"] = ratios(report)
    report["targets"] = {}
    base = report["peers"].get("nycache", {}).get("results")
    if base:
        for op, target in TARGETS.items():
            if base.get(op):
                report["targets"][op] = {"target_ns": target, "ns": base[op]["ns"], "met": base[op]["ns"] <= target}

    print(render_table(report), file=out)
    print(
        f"\npython {report['machine']['python']}, {report['machine'].get('cpu', '?')}, "
        f"{report['machine']['cpus']} cpus; " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        file=out,
    )
    if args.json:
        text = json.dumps(report, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
