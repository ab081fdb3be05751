"""Smoke test of bindings/python/bench/bench.py: --quick runs end to end with
the peers that are installed and prints a well-formed table and JSON.
It asserts nothing about speed.

Run: PYTHONPATH=bindings/python python -m pytest bindings/python/tests/test_bench_smoke.py
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench.py"
OPS = ["get hit", "get miss", "set", "get_many(100)"]
# peer -> the module it needs (None: always available)
PEERS = {
    "nycache": None,
    "nycache[pickle]": None,
    "dict": None,
    "lru-dict": "lru",
    "cachetools.LRUCache": "cachetools",
    "cachetools.TTLCache": "cachetools",
    "functools.lru_cache": None,
    "diskcache": "diskcache",
    "redis": "redis",
}
NUMBER = r"(?:[\d,]+(?:\.\d+)?|-)"


def available(peer: str) -> bool:
    mod = PEERS[peer]
    if mod is not None and importlib.util.find_spec(mod) is None:
        return False
    if peer == "redis" and shutil.which("redis-server") is None:
        return False
    return True


def test_quick_bench_prints_a_well_formed_table(tmp_path):
    out_json = tmp_path / "bench.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH.parents[1]), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--keys", "500", "--access", "200", "--repeat", "2",
         "--min-time", "0.001", "--json", str(out_json)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()

    # ns table: title, header with the four ops, a rule, one row per peer
    i = lines.index(next(line for line in lines if line.startswith("ns per call")))
    header = lines[i + 1]
    assert header.split()[0] == "peer"
    positions = [header.index(op) for op in OPS]
    assert positions == sorted(positions)
    assert set(lines[i + 2]) == {"-"}
    rows = {}
    for line in lines[i + 3 :]:
        if not line.strip() or line.startswith("loop overhead"):
            break
        name = line.split()[0]
        rows[name] = line
    assert list(rows) == list(PEERS)
    for peer, line in rows.items():
        if available(peer):
            cells = line[len(peer) :].split()
            assert len(cells) == 4, line
            assert all(re.fullmatch(NUMBER, c) for c in cells), line
            expected_dashes = 1 if peer == "functools.lru_cache" else 0  # no "set"
            assert cells.count("-") == expected_dashes, line
        else:
            assert "skipped:" in line, line

    # ratio table: every measured peer but nycache, four ratios each
    j = lines.index("nycache / peer (below 1 = nycache faster)")
    ratio_rows = [line for line in lines[j + 3 :] if line.strip()][: len(rows) - 1]
    measured = [p for p in PEERS if available(p) and p != "nycache"]
    assert [r.split()[0] for r in ratio_rows[: len(measured)]] == measured
    for r in ratio_rows[: len(measured)]:
        assert all(re.fullmatch(r"\d+\.\d\d|-", c) for c in r.split()[1:5]), r
    assert any(line.startswith("target nycache get hit <=") for line in lines)
    assert any(line.startswith("target nycache get_many(100) <=") for line in lines)

    # JSON: the same peers, positive medians for the ops measured
    report = json.loads(out_json.read_text())
    assert report["params"]["quick"] is True
    assert list(report["peers"]) == list(PEERS)
    for peer, entry in report["peers"].items():
        if not available(peer):
            assert entry["skipped"]
            continue
        for op in ("get_hit", "get_miss", "set", "get_many_100"):
            res = entry["results"][op]
            if peer == "functools.lru_cache" and op == "set":
                assert res is None
                continue
            assert res["ns"] > 0 and len(res["runs"]) == 2 and res["calls"] > 0
    assert set(report["ratios"]) == set(measured)
    assert report["targets"]["get_hit"]["target_ns"] == 1000.0


def test_unknown_peer_is_an_error():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--peers", "nycache,nope"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "unknown peer" in proc.stderr
