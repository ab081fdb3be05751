//! `nycache-sim`: replays real cache traces through the real engine and
//! prints hit ratios per policy next to the published figures.
//!
//! Each request is a `get` of an 8-byte key; a miss is followed by a `set`
//! of an empty value, exactly like the simulators that produced the
//! published numbers. The cache is the shipped engine with one shard,
//! `max_entries = size`, a memory budget too large to matter and no
//! maintenance thread, so the table measures the code that ships.
//!
//! ```text
//! cargo run --release --example nycache_sim -- [--traces DIR] [--trace NAME]
//!     [--policy lru,tinylfu,...] [--size N] [--extra] [--jobs N] [--verify-lru]
//! ```
//! Without filters it prints the table of `docs/performance.md`; `--extra`
//! adds the traces that have no published figures, at sizes we chose;
//! `--verify-lru` also replays each row through a textbook LRU written
//! outside the engine and prints its hit count beside the engine's.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nycache::{Cache, Config, PolicyKind};

/// How a trace file is encoded.
#[derive(Clone, Copy)]
enum Format {
    /// zstd text, `start n _ _` per line: requests start..start+n-1 (ARC).
    ArcZst,
    /// xz, big-endian i32 per request (cache2k).
    XzI32,
    /// xz, big-endian i64 per request.
    XzI64,
    /// gzip, big-endian i64 per request.
    GzI64,
    /// gzip text, one integer per line, `*` lines skipped (LIRS).
    LirsGz,
}

/// One row of the table: a trace at a cache size, with the published
/// figures when there are some.
struct Row {
    trace: &'static str,
    size: u64,
    /// Published LRU hit ratio (percent).
    lru: Option<f64>,
    /// Best published hit ratio of any policy (percent), and whose.
    best: Option<(f64, &'static str)>,
}

const TRACES: &[(&str, &str, Format)] = &[
    ("OLTP", "arc/OLTP.lis.zst", Format::ArcZst),
    ("P3", "arc/P3.lis.zst", Format::ArcZst),
    ("P6", "arc/P6.lis.zst", Format::ArcZst),
    ("scarab-recs", "misc/scarab-recs.trace.xz", Format::XzI64),
    ("loop", "lirs/loop.trace.gz", Format::LirsGz),
    ("web07", "cache2k/web07.trace.xz", Format::XzI32),
    ("orm-busy", "cache2k/orm-busy.trace.xz", Format::XzI32),
    ("vaultservice", "misc/trace_vaultservice.gz", Format::GzI64),
    ("sprite", "lirs/sprite.trace.gz", Format::LirsGz),
    ("multi1", "lirs/multi1.trace.gz", Format::LirsGz),
    ("multi2", "lirs/multi2.trace.gz", Format::LirsGz),
    ("multi3", "lirs/multi3.trace.gz", Format::LirsGz),
    ("2_pools", "lirs/2_pools.trace.gz", Format::LirsGz),
    ("gli", "lirs/gli.trace.gz", Format::LirsGz),
    ("cs", "lirs/cs.trace.gz", Format::LirsGz),
    ("ps", "lirs/ps.trace.gz", Format::LirsGz),
    ("cpp", "lirs/cpp.trace.gz", Format::LirsGz),
    ("scan", "lirs/scan.trace.gz", Format::LirsGz),
    ("zigzag", "lirs/zigzag.trace.gz", Format::LirsGz),
];

/// The rows of `shared/traces/README.md`'s published table.
fn published_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut add = |trace, size, lru, best| rows.push(Row { trace, size, lru: Some(lru), best: Some(best) });
    // OLTP: LRU, and the best of ARC / W-TinyLFU / S3-FIFO (otter) per size.
    add("OLTP", 250, 16.5, (26.6, "otter"));
    add("OLTP", 500, 23.5, (34.8, "otter"));
    add("OLTP", 1000, 32.8, (41.4, "otter"));
    add("OLTP", 2000, 42.5, (47.1, "otter"));
    add("OLTP", 2500, 45.07, (48.62, "Caffeine"));
    add("OLTP", 5000, 53.65, (55.46, "Caffeine"));
    add("OLTP", 10000, 60.70, (60.70, "LRU"));
    add("P3", 25_000, 2.6, (13.2, "otter"));
    add("P3", 100_000, 29.3, (41.3, "otter"));
    add("P3", 200_000, 59.4, (60.9, "otter"));
    add("P3", 400_000, 75.5, (77.0, "ARC"));
    add("scarab-recs", 100_000, 75.91, (76.09, "ARC"));
    add("loop", 256, 0.0, (24.33, "Caffeine"));
    add("loop", 512, 0.0, (49.47, "Caffeine"));
    rows
}

/// Traces without published figures, at sizes around their working sets.
fn extra_rows() -> Vec<Row> {
    let sizes: &[(&str, &[u64])] = &[
        ("P6", &[25_000, 100_000, 400_000]),
        ("web07", &[500, 2_000, 8_000]),
        ("orm-busy", &[2_000, 10_000, 40_000]),
        ("vaultservice", &[5_000, 25_000, 50_000]),
        ("sprite", &[500, 1_000, 2_000]),
        ("multi1", &[500, 1_000, 2_000]),
        ("multi2", &[500, 1_000, 2_000]),
        ("multi3", &[500, 1_000, 2_000]),
        ("2_pools", &[200, 500, 1_000]),
        ("gli", &[250, 500, 1_000]),
        ("cs", &[100, 300, 600]),
        ("ps", &[500, 1_000, 2_000]),
        ("cpp", &[100, 200, 400]),
        ("scan", &[100, 200, 400]),
        ("zigzag", &[100, 200, 400]),
    ];
    let mut rows = Vec::new();
    for &(trace, list) in sizes {
        for &size in list {
            rows.push(Row { trace, size, lru: None, best: None });
        }
    }
    rows
}

fn open(path: &Path) -> Box<dyn Read> {
    Box::new(BufReader::new(File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))))
}

fn decompressed(path: &Path, f: Format) -> Vec<u8> {
    let mut out = Vec::new();
    match f {
        Format::ArcZst => {
            let mut d = ruzstd::decoding::StreamingDecoder::new(open(path)).expect("zstd header");
            d.read_to_end(&mut out).expect("zstd");
        }
        Format::XzI32 | Format::XzI64 => {
            let mut r = BufReader::new(File::open(path).expect("trace"));
            lzma_rs::xz_decompress(&mut r, &mut out).expect("xz");
        }
        Format::GzI64 | Format::LirsGz => {
            flate2::read::MultiGzDecoder::new(open(path)).read_to_end(&mut out).expect("gzip");
        }
    }
    out
}

/// The trace's requests as integer keys.
fn load(path: &Path, f: Format) -> Vec<u64> {
    let bytes = decompressed(path, f);
    match f {
        Format::ArcZst => {
            let mut keys = Vec::new();
            for line in bytes.lines() {
                let line = line.expect("utf-8");
                let mut it = line.split_ascii_whitespace();
                let (Some(start), Some(n)) = (it.next(), it.next()) else { continue };
                let start: u64 = start.parse().expect("start");
                let n: u64 = n.parse().expect("count");
                keys.extend(start..start + n);
            }
            keys
        }
        Format::XzI32 => bytes.chunks_exact(4).map(|c| i32::from_be_bytes(c.try_into().unwrap()) as u32 as u64).collect(),
        Format::XzI64 | Format::GzI64 => bytes.chunks_exact(8).map(|c| u64::from_be_bytes(c.try_into().unwrap())).collect(),
        Format::LirsGz => bytes
            .lines()
            .map(|l| l.expect("utf-8"))
            .filter(|l| !l.trim().is_empty() && l.trim() != "*")
            .map(|l| l.trim().parse::<u64>().expect("lirs key"))
            .collect(),
    }
}

/// Replays `keys` through a one-shard cache of `size` entries; returns hits.
fn replay(keys: &[u64], size: u64, policy: PolicyKind) -> u64 {
    let config = Config {
        max_memory: 1 << 40,
        max_entries: Some(size),
        shards: Some(1),
        policy,
        maintenance_ms: 0,
        max_value_size: Some(64),
        // NYCACHE_SIM_SEED pins the hash seed (reproducible rows).
        hash_seed: std::env::var("NYCACHE_SIM_SEED").ok().map(|s| s.parse().expect("NYCACHE_SIM_SEED")),
        ..Config::default()
    };
    let cache = Cache::new(config).expect("config");
    let mut hits = 0;
    let mut buf = [0u8; 0];
    for &k in keys {
        let key = k.to_le_bytes();
        if cache.get_into(&key, &mut buf).expect("get").is_some() {
            hits += 1;
        } else {
            cache.set(&key, b"", None).expect("set");
        }
    }
    hits
}

/// Textbook LRU outside the engine (a map of last-use times and an ordered
/// map of times), for `--verify-lru`: an independent check of the replay.
fn reference_lru(keys: &[u64], size: u64) -> u64 {
    use std::collections::BTreeMap;
    let mut last: HashMap<u64, u64> = HashMap::new();
    let mut order: BTreeMap<u64, u64> = BTreeMap::new();
    let mut hits = 0;
    for (t, &k) in keys.iter().enumerate() {
        let t = t as u64;
        if let Some(old) = last.insert(k, t) {
            hits += 1;
            order.remove(&old);
        } else if last.len() as u64 > size {
            let (_, victim) = order.pop_first().expect("non-empty");
            last.remove(&victim);
        }
        order.insert(t, k);
    }
    hits
}

fn main() {
    let mut dir = PathBuf::from("../shared/traces");
    let mut only_trace: Option<String> = None;
    let mut policies: Vec<PolicyKind> = vec![PolicyKind::Lru, PolicyKind::TinyLfu, PolicyKind::S3Fifo, PolicyKind::Adaptive];
    let mut only_size: Option<u64> = None;
    let mut extra = false;
    let mut verify = false;
    let mut jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--traces" => dir = PathBuf::from(val()),
            "--trace" => only_trace = Some(val()),
            "--policy" => policies = val().split(',').map(|p| p.parse().expect("policy")).collect(),
            "--size" => only_size = Some(val().parse().expect("size")),
            "--extra" => extra = true,
            "--verify-lru" => verify = true,
            "--jobs" => jobs = val().parse().expect("jobs"),
            _ => panic!("unknown argument {a}"),
        }
    }
    if !dir.exists() && Path::new("/work/shared/traces").exists() {
        dir = PathBuf::from("/work/shared/traces");
    }
    let default = Config::default().policy;
    let mut rows = published_rows();
    if extra {
        rows.extend(extra_rows());
    }
    rows.retain(|r| only_trace.as_deref().is_none_or(|t| r.trace.eq_ignore_ascii_case(t)));
    if let Some(s) = only_size {
        rows.retain(|r| r.size == s);
        if rows.is_empty() {
            if let Some(t) = &only_trace {
                let name = TRACES.iter().find(|x| x.0.eq_ignore_ascii_case(t)).expect("trace").0;
                rows.push(Row { trace: name, size: s, lru: None, best: None });
            }
        }
    }
    // Decode each trace once.
    let mut traces: HashMap<&str, Arc<Vec<u64>>> = HashMap::new();
    for r in &rows {
        if !traces.contains_key(r.trace) {
            let &(_, file, f) = TRACES.iter().find(|x| x.0 == r.trace).expect("known trace");
            traces.insert(r.trace, Arc::new(load(&dir.join(file), f)));
        }
    }
    // Every (row, policy) is one job; a few threads run them.
    let work: Vec<(usize, usize)> =
        (0..rows.len()).flat_map(|r| (0..policies.len()).map(move |p| (r, p))).collect();
    let results = Mutex::new(vec![vec![0u64; policies.len()]; rows.len()]);
    let next = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let j = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        *n - 1
                    };
                    let Some(&(r, p)) = work.get(j) else { break };
                    let hits = replay(&traces[rows[r].trace], rows[r].size, policies[p]);
                    results.lock().unwrap()[r][p] = hits;
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    if verify {
        for row in &rows {
            let keys = &traces[row.trace];
            let r = reference_lru(keys, row.size);
            let pct = 100.0 * r as f64 / keys.len() as f64;
            let engine = policies.iter().position(|p| *p == PolicyKind::Lru).map(|i| results[rows.iter().position(|x| std::ptr::eq(x, row)).unwrap()][i]);
            println!("reference LRU {} @ {}: {pct:.2}% ({r} hits; engine {engine:?})", row.trace, row.size);
        }
    }
    // Print the table (markdown).
    let mut head = String::from("| trace @ size |");
    for p in &policies {
        head += &format!(" {p}{} |", if *p == default { " (default)" } else { "" });
    }
    head += " LRU published | best published | default − best | default − LRU |";
    println!("{head}");
    println!("|{}", "---|".repeat(policies.len() + 5));
    let dpos = policies.iter().position(|p| *p == default);
    for (r, row) in rows.iter().enumerate() {
        let n = traces[row.trace].len() as f64;
        let pct: Vec<f64> = results[r].iter().map(|&h| 100.0 * h as f64 / n).collect();
        let mut line = format!("| {} @ {} |", row.trace, row.size);
        for v in &pct {
            line += &format!(" {v:.2} |");
        }
        let fmt = |x: Option<f64>| x.map_or("–".to_owned(), |v| format!("{v:.2}"));
        line += &format!(" {} |", fmt(row.lru));
        line += &format!(" {} |", row.best.map_or("–".to_owned(), |(v, who)| format!("{v:.2} ({who})")));
        let d = dpos.map(|i| pct[i]);
        let lru_here = policies.iter().position(|p| *p == PolicyKind::Lru).map(|i| pct[i]).or(row.lru);
        line += &format!(" {} |", fmt(d.zip(row.best).map(|(d, b)| d - b.0)));
        line += &format!(" {} |", fmt(d.zip(lru_here).map(|(d, l)| d - l)));
        println!("{line}");
    }
}
