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
//!
//! # Memory per entry (`--memory`)
//!
//! ```text
//! target/release/examples/nycache-bench --memory [--keys N] [--peers ...] [--json out.json]
//! ```
//!
//! Instead of the throughput workloads, measures what each peer costs per
//! entry: the bench runs itself once per peer as a child
//! (`--memory-one PEER --keys N`), so that every peer starts from a fresh
//! process and no peer's freed memory or allocator caches count for the
//! next. The child opens the peer with capacity exactly N entries (nycache:
//! `max_entries=N`, `max_memory=4GiB`), inserts N distinct keys, and reads
//! jemalloc's `stats.allocated` and the process's resident set (RSS) before
//! opening the peer and after the last insert; so a table the peer sizes
//! for N up front counts. It then counts the keys still present (`get`
//! hits over all N): a peer that evicted some shows fewer entries.
//!
//! The table gives, per peer, bytes per entry *beyond key + value*:
//! (bytes − N × 116) / N, the 116 being the 16-byte key and 100-byte value
//! any cache must store. jemalloc's figure is what the peer asked for
//! (every allocation in this binary goes through jemalloc, the library's
//! global allocator); RSS adds allocator metadata and the freed pages
//! jemalloc keeps before returning them to the system (up to its
//! `dirty_decay_ms`, 10 s): every array a peer outgrew and copied while
//! filling is still there. `_RJEM_MALLOC_CONF=dirty_decay_ms:0` in the
//! environment (the children inherit it) returns them at once, for an RSS
//! of the live data alone.

use std::process::Command;
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
    /// `--memory`: measure memory per entry (one child process per peer).
    memory: bool,
    /// `--memory-one PEER`: the child's part of `--memory`, for one peer.
    memory_one: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: nycache-bench [--threads 1,2,4] [--workloads read_heavy,get_only,mixed,churn]\n\
         \x20                    [--peers nycache,quick_cache,moka,lru_mutex] [--ops N per thread]\n\
         \x20                    [--rounds N] [--keys N] [--capacity N] [--shards N] [--json FILE|-] [--quick]\n\
         \x20      nycache-bench --memory [--keys N] [--peers ...] [--shards N] [--json FILE|-]\n\
         \n\
         --memory: no throughput runs; bytes per entry of each peer holding --keys entries\n\
         \x20         (default 1,000,000), by jemalloc and by RSS, each peer in a fresh child process\n\
         \x20         (the bench runs itself with --memory-one PEER for each)"
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
        memory: false,
        memory_one: None,
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
            "--memory" => a.memory = true,
            "--memory-one" => a.memory_one = Some(it.next().unwrap_or_else(|| usage())),
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
    for p in a.peers.iter().chain(&a.memory_one) {
        if !PEERS.contains(&p.as_str()) {
            eprintln!("unknown peer {p}");
            usage();
        }
    }
    if a.threads.is_empty() || a.threads.contains(&0) || a.rounds == 0 || a.ops == 0 || a.capacity == 0 || a.keys == 0
    {
        usage();
    }
    // The memory modes fill a cache of exactly `keys` entries.
    if a.memory || a.memory_one.is_some() {
        a.capacity = a.keys;
    }
    a
}

fn open_peer(name: &str, a: &Args) -> Box<dyn Peer> {
    let cap = a.capacity;
    match name {
        "nycache" => {
            let shards = a.shards.map_or(String::new(), |s| format!(" shards={s}"));
            Box::new(NyC::open(&format!("max_memory=4GiB max_entries={cap} maintenance_ms=0{shards} {}", std::env::var("NYC_EXTRA").unwrap_or_default())))
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
    if let Some(peer) = &a.memory_one {
        memory_one(peer, &a);
        return;
    }
    if a.memory {
        memory(&a);
        return;
    }
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

/// Bytes every cache must hold for an entry: the 16-byte key and the value.
const KEY_VALUE_BYTES: u64 = (std::mem::size_of::<Key>() + VALUE.len()) as u64;

/// One peer's figures from `--memory-one`, as its child process reports them.
struct Memory {
    peer: String,
    /// Keys inserted (N).
    keys: u64,
    /// Of those, the keys still present after the last insert.
    entries: u64,
    /// Growth of jemalloc's `stats.allocated` from before opening the peer.
    jemalloc_bytes: u64,
    /// Growth of the resident set from before opening the peer.
    rss_bytes: u64,
}

impl Memory {
    /// The line a child prints, one `name=value` per field after the tag.
    fn to_line(&self) -> String {
        format!(
            "memory-one peer={} keys={} entries={} jemalloc_bytes={} rss_bytes={}",
            self.peer, self.keys, self.entries, self.jemalloc_bytes, self.rss_bytes
        )
    }

    /// Reads back what `to_line` wrote; `None` if `line` is not such a line.
    fn from_line(line: &str) -> Option<Memory> {
        let mut fields = line.strip_prefix("memory-one ")?.split(' ');
        let mut field = |name: &str| fields.next()?.strip_prefix(name)?.strip_prefix('=').map(str::to_string);
        let peer = field("peer")?;
        let mut num = |name: &str| field(name)?.parse().ok();
        Some(Memory {
            peer,
            keys: num("keys")?,
            entries: num("entries")?,
            jemalloc_bytes: num("jemalloc_bytes")?,
            rss_bytes: num("rss_bytes")?,
        })
    }

    /// Bytes per inserted key beyond its key and value: (bytes − N × 116) / N.
    fn per_entry(&self, bytes: u64) -> f64 {
        (bytes as f64 - (self.keys * KEY_VALUE_BYTES) as f64) / self.keys as f64
    }
}

/// jemalloc's `stats.allocated`: bytes the program holds from it, refreshed
/// by advancing the statistics epoch first (as `tests/memory.rs` does).
fn jemalloc_allocated() -> u64 {
    tikv_jemalloc_ctl::epoch::advance().expect("jemalloc epoch");
    tikv_jemalloc_ctl::stats::allocated::read().expect("jemalloc stats.allocated") as u64
}

/// This process's resident set in bytes: the resident pages of
/// `/proc/self/statm` (its second field) times the page size.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm (Linux only)");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("statm's resident pages");
    // SAFETY: sysconf takes no pointers and only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).expect("a page size")
}

/// `--memory-one PEER` (a child of `--memory`): fills one peer of capacity
/// N with N distinct keys and prints its figures as one `Memory` line.
fn memory_one(name: &str, a: &Args) {
    if !cfg!(feature = "jemalloc") {
        eprintln!("--memory needs the jemalloc feature (on by default): jemalloc must be the global allocator");
        std::process::exit(2);
    }
    let n = a.keys as u64;
    let (jemalloc_before, rss_before) = (jemalloc_allocated(), rss_bytes());
    let p = open_peer(name, a); // capacity = N (parse_args sets it in this mode)
    for i in 0..n {
        p.set(&key(i), &VALUE);
    }
    p.settle();
    let (jemalloc_after, rss_after) = (jemalloc_allocated(), rss_bytes());
    // After the readings: a get allocates nothing, but keeps the count apart.
    let entries = (0..n).filter(|&i| p.get(&key(i))).count() as u64;
    let m = Memory {
        peer: name.to_string(),
        keys: n,
        entries,
        jemalloc_bytes: jemalloc_after.saturating_sub(jemalloc_before),
        rss_bytes: rss_after.saturating_sub(rss_before),
    };
    println!("{}", m.to_line());
}

/// `--memory`: runs `--memory-one` for each peer in a child process of its
/// own, then prints the table (and the JSON with `--json`).
fn memory(a: &Args) {
    let exe = std::env::current_exe().expect("path of this executable");
    println!(
        "nycache-bench --memory: {} distinct keys inserted into each peer of capacity {} (16-byte keys, \
         100-byte values), each peer in a fresh process",
        a.keys, a.keys
    );
    let mut results = Vec::new();
    for peer in &a.peers {
        let mut cmd = Command::new(&exe);
        cmd.args(["--memory-one", peer, "--keys", &a.keys.to_string()]);
        if let Some(s) = a.shards {
            cmd.args(["--shards", &s.to_string()]);
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let m = stdout.lines().find_map(Memory::from_line);
        match (out.status.success(), m) {
            (true, Some(m)) => results.push(m),
            _ => {
                eprintln!("--memory-one {peer} failed ({}):\n{stdout}{}", out.status, String::from_utf8_lossy(&out.stderr));
                std::process::exit(1);
            }
        }
    }
    println!("\nmemory per entry: bytes beyond key + value ((bytes - N*{KEY_VALUE_BYTES}) / N)");
    println!("| peer | entries | jemalloc bytes/entry beyond key+value | RSS bytes/entry beyond key+value |");
    println!("|---|---|---|---|");
    for m in &results {
        println!(
            "| {} | {} | {:.1} | {:.1} |",
            m.peer,
            m.entries,
            m.per_entry(m.jemalloc_bytes),
            m.per_entry(m.rss_bytes)
        );
    }
    for m in results.iter().filter(|m| m.entries < m.keys) {
        println!("{} evicted {} of the {} keys it was given", m.peer, m.keys - m.entries, m.keys);
    }
    if let Some(path) = &a.json {
        let json = memory_json(&results);
        if path == "-" {
            println!("{json}");
        } else {
            std::fs::write(path, json + "\n").unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        }
    }
}

/// The `--memory` figures as JSON, in the style of `to_json`.
fn memory_json(results: &[Memory]) -> String {
    let rows: Vec<String> = results
        .iter()
        .map(|m| {
            format!(
                r#"{{"peer":"{}","keys":{},"entries":{},"jemalloc_bytes":{},"rss_bytes":{},"jemalloc_bytes_per_entry":{:.2},"rss_bytes_per_entry":{:.2}}}"#,
                m.peer,
                m.keys,
                m.entries,
                m.jemalloc_bytes,
                m.rss_bytes,
                m.per_entry(m.jemalloc_bytes),
                m.per_entry(m.rss_bytes)
            )
        })
        .collect();
    format!(r#"{{"mode":"memory","key_value_bytes":{KEY_VALUE_BYTES},"results":[{}]}}"#, rows.join(","))
}
