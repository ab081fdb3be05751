//! `nycache-bench`: multi-thread throughput of nycache (through its C ABI)
//! beside quick_cache, moka and lru behind a `parking_lot::Mutex`, on the
//! workloads of `../shared/BENCHMARKS.md`, in one process and one run.
//!
//! Build once, copy the binary, run anywhere (x86-64 Linux, no cargo):
//!
//! ```text
//! cargo build --release --example nycache-bench
//! target/release/examples/nycache-bench --threads 1,2,4,8,16 [--json out.json]
//! ```
//!
//! Workloads (16-byte keys, 100-byte values, 1,000,000 keys drawn Zipf(0.99)
//! from fixed seeds, every cache bounded to 100,000 entries):
//! - `read_heavy`: 90% get / 10% set; a miss is followed by a set.
//! - `get_only`: 100% get of prefilled keys (hits).
//! - `mixed`: 50% get / 50% set.
//! - `churn`: 100% set of keys never seen (an eviction on every insert).
//!
//! Each thread replays its own stream (a different seed per thread). A cell
//! is total operations / wall time from a barrier to the last thread's end,
//! the median of `--rounds` runs; the peers take turns within each round so
//! that a noisy machine slows them alike. Ratios are nycache / peer.

use std::sync::Barrier;
use std::time::Instant;

#[path = "../benches/common/mod.rs"]
mod common;
use common::{Key, Lru, Moka, NyC, Peer, Quick, VALUE, key, zipf};

const WORKLOADS: [&str; 4] = ["read_heavy", "get_only", "mixed", "churn"];
const PEERS: [&str; 4] = ["nycache", "quick_cache", "moka", "lru_mutex"];

struct Args {
    threads: Vec<usize>,
    workloads: Vec<String>,
    peers: Vec<String>,
    ops: usize,
    rounds: usize,
    keys: usize,
    capacity: usize,
    shards: Option<usize>,
    json: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: nycache-bench [--threads 1,2,4] [--workloads read_heavy,get_only,mixed,churn]\n\
         \x20                    [--peers nycache,quick_cache,moka,lru_mutex] [--ops N per thread]\n\
         \x20                    [--rounds N] [--keys N] [--capacity N] [--shards N] [--json FILE|-] [--quick]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut a = Args {
        threads: [1, 2, 4, 8, 16].into_iter().filter(|&t| t <= cores.max(2)).collect(),
        workloads: WORKLOADS.iter().map(|s| s.to_string()).collect(),
        peers: PEERS.iter().map(|s| s.to_string()).collect(),
        ops: 1 << 20,
        rounds: 5,
        keys: 1_000_000,
        capacity: 100_000,
        shards: None,
        json: None,
    };
    let mut it = std::env::args().skip(1);
    let list = |v: Option<String>| -> Vec<String> {
        v.unwrap_or_else(|| usage()).split(',').map(str::to_string).collect()
    };
    let num = |v: Option<String>| -> usize { v.and_then(|s| s.parse().ok()).unwrap_or_else(|| usage()) };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--threads" => a.threads = list(it.next()).iter().map(|t| t.parse().unwrap_or_else(|_| usage())).collect(),
            "--workloads" => a.workloads = list(it.next()),
            "--peers" => a.peers = list(it.next()),
            "--ops" => a.ops = num(it.next()),
            "--rounds" => a.rounds = num(it.next()),
            "--keys" => a.keys = num(it.next()),
            "--capacity" => a.capacity = num(it.next()),
            "--shards" => a.shards = Some(num(it.next())),
            "--json" => a.json = Some(it.next().unwrap_or_else(|| usage())),
            // A smoke run: tiny sizes, one round (CI runs this; never a measurement).
            "--quick" => {
                a.ops = 1 << 14;
                a.rounds = 1;
                a.keys = 20_000;
                a.capacity = 2_000;
                a.threads.truncate(2);
            }
            "--bench" => {} // what `cargo bench` passes to harness-less targets
            _ => usage(),
        }
    }
    for w in &a.workloads {
        if !WORKLOADS.contains(&w.as_str()) {
            eprintln!("unknown workload {w}");
            usage();
        }
    }
    for p in &a.peers {
        if !PEERS.contains(&p.as_str()) {
            eprintln!("unknown peer {p}");
            usage();
        }
    }
    if a.threads.is_empty() || a.threads.contains(&0) || a.rounds == 0 || a.ops == 0 || a.capacity == 0 {
        usage();
    }
    a
}

fn open_peer(name: &str, a: &Args) -> Box<dyn Peer> {
    let cap = a.capacity;
    match name {
        "nycache" => {
            let shards = a.shards.map_or(String::new(), |s| format!(" shards={s}"));
            Box::new(NyC::open(&format!("max_memory=4GiB max_entries={cap} maintenance_ms=0{shards}")))
        }
        "quick_cache" => Box::new(Quick(quick_cache::sync::Cache::new(cap))),
        "moka" => Box::new(Moka(moka::sync::Cache::new(cap as u64))),
        "lru_mutex" => Box::new(Lru(parking_lot::Mutex::new(lru::LruCache::new(
            std::num::NonZeroUsize::new(cap).expect("capacity > 0"),
        )))),
        _ => unreachable!("peer names are checked"),
    }
}

/// One thread's operations: the key, and whether it is a read.
struct Stream {
    keys: Vec<Key>,
    reads: Vec<bool>,
}

fn stream(workload: &str, thread: usize, a: &Args) -> Stream {
    let seed = 1 + thread as u64;
    let mut rng = common::Rng(0x5eed ^ (seed << 32));
    let keys: Vec<Key> = match workload {
        // Keys no thread has used: each thread its own range above `keys`.
        "churn" => (0..a.ops as u64).map(|i| key(((thread as u64 + 1) << 40) + i)).collect(),
        // Hits: Zipf over the prefilled keys.
        "get_only" => zipf(a.ops, (a.capacity / 2).max(1), 0.99, seed).into_iter().map(key).collect(),
        _ => zipf(a.ops, a.keys, 0.99, seed).into_iter().map(key).collect(),
    };
    let read_share = match workload {
        "read_heavy" => 9,
        "mixed" => 5,
        "get_only" => 10,
        _ => 0,
    };
    let reads = (0..a.ops).map(|_| rng.next() % 10 < read_share).collect();
    Stream { keys, reads }
}

/// Runs one thread's stream; returns (gets, hits).
fn replay(p: &dyn Peer, s: &Stream, workload: &str) -> (usize, usize) {
    let (mut gets, mut hits) = (0, 0);
    for (k, &read) in s.keys.iter().zip(&s.reads) {
        if read {
            gets += 1;
            if p.get(k) {
                hits += 1;
            } else if workload == "read_heavy" {
                p.set(k, &VALUE);
            }
        } else {
            p.set(k, &VALUE);
        }
    }
    (gets, hits)
}

/// Mops/s of `threads` threads replaying their streams on `p`, and the hit ratio.
/// The time is from the first thread's start to the last one's end, each
/// stamped by the thread itself after the barrier.
fn run(p: &dyn Peer, streams: &[Stream], workload: &str) -> (f64, f64) {
    let barrier = Barrier::new(streams.len());
    let results: Vec<(Instant, Instant, usize, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = streams
            .iter()
            .map(|s| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    let (gets, hits) = replay(p, s, workload);
                    (start, Instant::now(), gets, hits)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("bench thread")).collect()
    });
    let start = results.iter().map(|r| r.0).min().expect("one thread at least");
    let end = results.iter().map(|r| r.1).max().expect("one thread at least");
    let elapsed = end - start;
    let ops: usize = streams.iter().map(|s| s.keys.len()).sum();
    let (gets, hits) = results.iter().fold((0, 0), |(g, h), r| (g + r.2, h + r.3));
    let hit_ratio = if gets == 0 { f64::NAN } else { hits as f64 / gets as f64 };
    (ops as f64 / elapsed.as_secs_f64() / 1e6, hit_ratio)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Cell {
    workload: String,
    threads: usize,
    peer: String,
    mops: f64,
    hit_ratio: f64,
}

fn main() {
    let a = parse_args();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "nycache-bench: {} keys Zipf(0.99), capacity {}, {} ops/thread, median of {} rounds, {} cores",
        a.keys, a.capacity, a.ops, a.rounds, cores
    );
    let mut cells = Vec::new();
    for workload in &a.workloads {
        for &threads in &a.threads {
            let streams: Vec<Stream> = (0..threads).map(|t| stream(workload, t, &a)).collect();
            // Fresh caches per cell, prefilled with the keys get_only reads:
            // half the capacity, so that every peer holds them all (the
            // others start from the same prefill, so no peer starts cold).
            let peers: Vec<(String, Box<dyn Peer>)> = a.peers.iter().map(|n| (n.clone(), open_peer(n, &a))).collect();
            for (_, p) in &peers {
                for i in 0..(a.capacity / 2).max(1) as u64 {
                    p.set(&key(i), &VALUE);
                }
            }
            let mut rates = vec![Vec::new(); peers.len()];
            let mut hit = vec![f64::NAN; peers.len()];
            for _ in 0..a.rounds {
                for (i, (_, p)) in peers.iter().enumerate() {
                    let (mops, h) = run(p.as_ref(), &streams, workload);
                    rates[i].push(mops);
                    hit[i] = h;
                }
            }
            for (i, (name, _)) in peers.iter().enumerate() {
                cells.push(Cell {
                    workload: workload.clone(),
                    threads,
                    peer: name.clone(),
                    mops: median(rates[i].clone()),
                    hit_ratio: hit[i],
                });
            }
        }
    }
    print_tables(&a, &cells);
    if let Some(path) = &a.json {
        let json = to_json(&cells, cores);
        if path == "-" {
            println!("{json}");
        } else {
            std::fs::write(path, json + "\n").unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        }
    }
}

fn find<'a>(cells: &'a [Cell], w: &str, t: usize, p: &str) -> Option<&'a Cell> {
    cells.iter().find(|c| c.workload == w && c.threads == t && c.peer == p)
}

fn print_tables(a: &Args, cells: &[Cell]) {
    let others: Vec<&String> = a.peers.iter().filter(|p| *p != "nycache").collect();
    for w in &a.workloads {
        println!("\n{w}: Mops/s (hit ratio)");
        println!("| threads | {} |", a.peers.iter().map(String::as_str).collect::<Vec<_>>().join(" | "));
        println!("|---|{}", "---|".repeat(a.peers.len()));
        for &t in &a.threads {
            let row: Vec<String> = a
                .peers
                .iter()
                .map(|p| {
                    let c = find(cells, w, t, p).expect("every cell was run");
                    if c.hit_ratio.is_nan() {
                        format!("{:.2}", c.mops)
                    } else {
                        format!("{:.2} ({:.3})", c.mops, c.hit_ratio)
                    }
                })
                .collect();
            println!("| {t} | {} |", row.join(" | "));
        }
        if a.peers.iter().any(|p| p == "nycache") && !others.is_empty() {
            println!("\n{w}: nycache / peer");
            println!("| threads | {} |", others.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" | "));
            println!("|---|{}", "---|".repeat(others.len()));
            for &t in &a.threads {
                let ny = find(cells, w, t, "nycache").expect("nycache ran").mops;
                let row: Vec<String> = others
                    .iter()
                    .map(|p| format!("{:.2}", ny / find(cells, w, t, p).expect("peer ran").mops))
                    .collect();
                println!("| {t} | {} |", row.join(" | "));
            }
        }
    }
    if a.threads.len() > 1 && a.peers.iter().any(|p| p == "nycache") {
        let (lo, hi) = (a.threads[0], *a.threads.last().expect("non-empty"));
        println!();
        for w in &a.workloads {
            let r = find(cells, w, hi, "nycache").expect("ran").mops / find(cells, w, lo, "nycache").expect("ran").mops;
            println!("nycache {w}: {hi} threads / {lo} thread(s) = {r:.2}x");
        }
    }
}

fn to_json(cells: &[Cell], cores: usize) -> String {
    let rows: Vec<String> = cells
        .iter()
        .map(|c| {
            let hit = if c.hit_ratio.is_nan() { "null".to_string() } else { format!("{:.5}", c.hit_ratio) };
            format!(
                r#"{{"workload":"{}","threads":{},"peer":"{}","mops":{:.4},"hit_ratio":{}}}"#,
                c.workload, c.threads, c.peer, c.mops, hit
            )
        })
        .collect();
    format!(r#"{{"cores":{cores},"results":[{}]}}"#, rows.join(","))
}
