//! Single-thread operation costs, nycache beside its peers in the same run
//! (`../shared/BENCHMARKS.md`): 16-byte keys, 100-byte values, keys drawn
//! Zipf(0.99) from 1,000,000 with a fixed seed, capacity 100,000 entries.
//!
//! Peers store `Arc<[u8]>` values under `[u8; 16]` keys (their fast path: a
//! get clones an Arc, as nycache's `get` shares a refcounted block).
//! nycache is bounded by entry count here so every cache holds the same
//! number of entries.
//!
//! Run: `cargo bench --bench ops` (or `make bench`).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use nycache::{Cache, Config};

const KEYS: usize = 1_000_000;
const CAPACITY: usize = 100_000;
const OPS: usize = 1 << 16;
const VALUE: [u8; 100] = [b'v'; 100];

type Key = [u8; 16];

fn key(i: u64) -> Key {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&i.to_le_bytes());
    k[8..].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
    k
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` key indices drawn Zipf(s) over `keys` ranks (rank 0 the most popular).
fn zipf(n: usize, keys: usize, s: f64, seed: u64) -> Vec<u64> {
    let mut cdf = Vec::with_capacity(keys);
    let mut sum = 0.0;
    for r in 1..=keys {
        sum += 1.0 / (r as f64).powf(s);
        cdf.push(sum);
    }
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| {
            let u = rng.unit() * sum;
            cdf.partition_point(|&c| c < u) as u64
        })
        .collect()
}

/// The operations a peer offers, as the bench calls them.
trait Peer {
    fn get(&self, k: &Key) -> bool;
    fn set(&self, k: &Key, v: &[u8]);
}

struct Ny(Cache);
impl Peer for Ny {
    #[inline]
    fn get(&self, k: &Key) -> bool {
        self.0.get(k).unwrap().is_some()
    }
    #[inline]
    fn set(&self, k: &Key, v: &[u8]) {
        self.0.set(k, v, None).unwrap();
    }
}

/// nycache reading into the caller's buffer (the C API's `nyc_get`).
struct NyCopy(Cache);
impl Peer for NyCopy {
    #[inline]
    fn get(&self, k: &Key) -> bool {
        let mut buf = [0u8; 128];
        self.0.get_into(k, &mut buf).unwrap().is_some()
    }
    #[inline]
    fn set(&self, k: &Key, v: &[u8]) {
        self.0.set(k, v, None).unwrap();
    }
}

struct Quick(quick_cache::sync::Cache<Key, Arc<[u8]>>);
impl Peer for Quick {
    #[inline]
    fn get(&self, k: &Key) -> bool {
        self.0.get(k).is_some()
    }
    #[inline]
    fn set(&self, k: &Key, v: &[u8]) {
        self.0.insert(*k, Arc::from(v));
    }
}

struct Moka(moka::sync::Cache<Key, Arc<[u8]>>);
impl Peer for Moka {
    #[inline]
    fn get(&self, k: &Key) -> bool {
        self.0.get(k).is_some()
    }
    #[inline]
    fn set(&self, k: &Key, v: &[u8]) {
        self.0.insert(*k, Arc::from(v));
    }
}

struct Lru(parking_lot::Mutex<lru::LruCache<Key, Arc<[u8]>>>);
impl Peer for Lru {
    #[inline]
    fn get(&self, k: &Key) -> bool {
        self.0.lock().get(k).is_some()
    }
    #[inline]
    fn set(&self, k: &Key, v: &[u8]) {
        self.0.lock().put(*k, Arc::from(v));
    }
}

fn peers() -> Vec<(&'static str, Box<dyn Peer>)> {
    let ny = || {
        let cfg = Config::builder().max_memory(1 << 30).max_entries(CAPACITY as u64).maintenance_ms(0);
        Cache::new(cfg.build().unwrap()).unwrap()
    };
    vec![
        ("nycache", Box::new(Ny(ny())) as Box<dyn Peer>),
        ("nycache_copy", Box::new(NyCopy(ny()))),
        ("quick_cache", Box::new(Quick(quick_cache::sync::Cache::new(CAPACITY)))),
        ("moka", Box::new(Moka(moka::sync::Cache::new(CAPACITY as u64)))),
        (
            "lru_mutex",
            Box::new(Lru(parking_lot::Mutex::new(lru::LruCache::new(std::num::NonZeroUsize::new(CAPACITY).unwrap())))),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let stream = zipf(OPS, KEYS, 0.99, 42);
    let hot: Vec<Key> = zipf(OPS, CAPACITY / 2, 0.99, 7).into_iter().map(key).collect();
    let keys: Vec<Key> = stream.iter().map(|&i| key(i)).collect();
    let misses: Vec<Key> = (0..OPS as u64).map(|i| key(u64::MAX - i)).collect();
    let mut rng = Rng(99);
    let is_read: Vec<bool> = (0..OPS).map(|_| rng.next() % 10 != 0).collect();

    let peers = peers();
    for (_, p) in &peers {
        // Prefill the hot half of the capacity so "get hit" hits.
        for i in 0..(CAPACITY / 2) as u64 {
            p.set(&key(i), &VALUE);
        }
    }
    // One group per operation, so the peers of an operation run close
    // together in time (this machine is shared and noisy).
    let mut group = |op: &str, run: &dyn Fn(&dyn Peer) -> usize| {
        let mut g = c.benchmark_group(op);
        g.throughput(criterion::Throughput::Elements(OPS as u64));
        for (name, p) in &peers {
            g.bench_function(*name, |b| b.iter(|| black_box(run(p.as_ref()))));
        }
        g.finish();
    };
    group("get_hit", &|p| {
        let n = hot.iter().filter(|k| p.get(k)).count();
        assert!(n > OPS * 9 / 10, "get_hit hit only {n}");
        n
    });
    group("get_miss", &|p| misses.iter().filter(|k| p.get(k)).count());
    group("set", &|p| {
        keys.iter().for_each(|k| p.set(k, &VALUE));
        0
    });
    group("read_heavy_90_10", &|p| {
        let mut hits = 0;
        for (k, &read) in keys.iter().zip(&is_read) {
            if read && p.get(k) {
                hits += 1;
            } else {
                p.set(k, &VALUE);
            }
        }
        hits
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(20);
    targets = bench
}
criterion_main!(benches);
