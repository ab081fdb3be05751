//! The workload and the peers shared by the benches (`../shared/BENCHMARKS.md`):
//! 16-byte keys, 100-byte values, keys drawn Zipf(0.99) from 1,000,000 with
//! a fixed seed, capacity 100,000 entries.
//!
//! Peers store `Arc<[u8]>` values under `[u8; 16]` keys (their fast path: a
//! get clones an Arc, as nycache's `get` shares a refcounted block).
//! nycache is bounded by entry count here so every cache holds the same
//! number of entries.

#![allow(dead_code)]

use std::sync::Arc;

use nycache::{Cache, Config};

pub const KEYS: usize = 1_000_000;
pub const CAPACITY: usize = 100_000;
pub const OPS: usize = 1 << 16;
pub const VALUE: [u8; 100] = [b'v'; 100];

pub type Key = [u8; 16];

pub fn key(i: u64) -> Key {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&i.to_le_bytes());
    k[8..].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
    k
}

pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` key indices drawn Zipf(s) over `keys` ranks (rank 0 the most popular).
pub fn zipf(n: usize, keys: usize, s: f64, seed: u64) -> Vec<u64> {
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

/// The operations a peer offers, as the bench calls them. Every peer is
/// shared by the threads of the multi-thread bench (`examples/nycache_bench.rs`).
pub trait Peer: Sync {
    fn get(&self, k: &Key) -> bool;
    fn set(&self, k: &Key, v: &[u8]);
    /// Finishes bookkeeping the peer defers past an insert (moka applies
    /// inserts to its policy and bounds in batches), so that its memory and
    /// contents can be read. Nothing to do for the others.
    fn settle(&self) {}
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

/// nycache through the C ABI, calling the `extern "C"` functions exactly as
/// a C host does (pointer + length in, copy into the caller's buffer).
pub struct NyC(*mut nycache::ffi::nyc_cache);
impl NyC {
    /// Opens a cache through `nyc_open` with the given config text.
    pub fn open(config: &str) -> NyC {
        let config = std::ffi::CString::new(config).unwrap();
        let mut handle = std::ptr::null_mut();
        // SAFETY: a NUL-terminated config and a writable out-pointer.
        let st = unsafe { nycache::ffi::nyc_open(config.as_ptr(), &mut handle) };
        assert_eq!(st, nycache::ffi::nyc_status::NYC_OK);
        NyC(handle)
    }
}
impl Peer for NyC {
    #[inline]
    fn get(&self, k: &Key) -> bool {
        let mut buf = [0u8; 128];
        let mut len = 0usize;
        // SAFETY: a live handle, a readable key, a writable buffer and length.
        let st = unsafe {
            nycache::ffi::nyc_get(
                self.0,
                k.as_ptr().cast(),
                k.len(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut len,
            )
        };
        st == nycache::ffi::nyc_status::NYC_OK
    }
    #[inline]
    fn set(&self, k: &Key, v: &[u8]) {
        // SAFETY: a live handle and readable key and value ranges.
        let st = unsafe {
            nycache::ffi::nyc_set(
                self.0,
                k.as_ptr().cast(),
                k.len(),
                v.as_ptr().cast(),
                v.len(),
                0,
            )
        };
        assert_eq!(st, nycache::ffi::nyc_status::NYC_OK);
    }
}
// SAFETY: the C API allows any number of threads to use one handle at once
// (docs/c-api.md, "Threads and fork"); the pointer is only passed to it.
unsafe impl Send for NyC {}
// SAFETY: as above.
unsafe impl Sync for NyC {}
impl Drop for NyC {
    fn drop(&mut self) {
        // SAFETY: the handle came from nyc_open and is closed once.
        unsafe { nycache::ffi::nyc_close(self.0) }
    }
}

pub struct Quick(pub quick_cache::sync::Cache<Key, Arc<[u8]>>);
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

pub struct Moka(pub moka::sync::Cache<Key, Arc<[u8]>>);
impl Peer for Moka {
    #[inline]
    fn get(&self, k: &Key) -> bool {
        self.0.get(k).is_some()
    }
    #[inline]
    fn set(&self, k: &Key, v: &[u8]) {
        self.0.insert(*k, Arc::from(v));
    }
    fn settle(&self) {
        self.0.run_pending_tasks();
    }
}

pub struct Lru(pub parking_lot::Mutex<lru::LruCache<Key, Arc<[u8]>>>);
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

pub fn peers() -> Vec<(&'static str, Box<dyn Peer>)> {
    let ny = || {
        let cfg = Config::builder()
            .max_memory(1 << 30)
            .max_entries(CAPACITY as u64)
            .maintenance_ms(0);
        Cache::new(cfg.build().unwrap()).unwrap()
    };
    vec![
        ("nycache", Box::new(Ny(ny())) as Box<dyn Peer>),
        ("nycache_copy", Box::new(NyCopy(ny()))),
        (
            "nycache_c_abi",
            Box::new(NyC::open(&format!(
                "max_memory=1GiB max_entries={CAPACITY} maintenance_ms=0"
            ))),
        ),
        (
            "quick_cache",
            Box::new(Quick(quick_cache::sync::Cache::new(CAPACITY))),
        ),
        (
            "moka",
            Box::new(Moka(moka::sync::Cache::new(CAPACITY as u64))),
        ),
        (
            "lru_mutex",
            Box::new(Lru(parking_lot::Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(CAPACITY).unwrap(),
            )))),
        ),
    ]
}

/// The operation mixes, by name.
pub const WORKLOADS: [&str; 4] = ["get_hit", "get_miss", "set", "read_heavy_90_10"];

/// Pre-drawn key streams, the same for every peer.
pub struct Workload {
    /// Zipf(0.99) over the prefilled half of the capacity.
    hot: Vec<Key>,
    /// Zipf(0.99) over all 1,000,000 keys.
    keys: Vec<Key>,
    /// Keys never stored.
    misses: Vec<Key>,
    /// For read_heavy: true = get (then set on a miss), false = set.
    is_read: Vec<bool>,
}

impl Workload {
    /// Draws the streams from fixed seeds.
    pub fn new() -> Workload {
        let mut rng = Rng(99);
        Workload {
            hot: zipf(OPS, CAPACITY / 2, 0.99, 7)
                .into_iter()
                .map(key)
                .collect(),
            keys: zipf(OPS, KEYS, 0.99, 42).into_iter().map(key).collect(),
            misses: (0..OPS as u64).map(|i| key(u64::MAX - i)).collect(),
            is_read: (0..OPS).map(|_| rng.next() % 10 != 0).collect(),
        }
    }

    /// Stores the hot half of the capacity, so `get_hit` hits.
    pub fn prefill(&self, p: &dyn Peer) {
        for i in 0..(CAPACITY / 2) as u64 {
            p.set(&key(i), &VALUE);
        }
    }

    /// Runs `OPS` operations of the named mix on `p`; returns the hits.
    pub fn run(&self, workload: &str, p: &dyn Peer) -> usize {
        match workload {
            "get_hit" => {
                let n = self.hot.iter().filter(|k| p.get(k)).count();
                assert!(n > OPS * 9 / 10, "get_hit hit only {n}");
                n
            }
            "get_miss" => self.misses.iter().filter(|k| p.get(k)).count(),
            "set" => {
                self.keys.iter().for_each(|k| p.set(k, &VALUE));
                0
            }
            "read_heavy_90_10" => {
                let mut hits = 0;
                for (k, &read) in self.keys.iter().zip(&self.is_read) {
                    if read && p.get(k) {
                        hits += 1;
                    } else {
                        p.set(k, &VALUE);
                    }
                }
                hits
            }
            other => panic!("unknown workload {other}"),
        }
    }
}
