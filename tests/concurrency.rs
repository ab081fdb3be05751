//! Concurrency tests of the public `Cache` API: many threads, mixed
//! operations, invariants checked while they run and at the end.
//!
//! Rules kept here:
//! - Every value written encodes its key, the writer and a sequence number,
//!   and its body is a deterministic function of those, so every read can be
//!   checked byte for byte ("exactly what some writer wrote for this key").
//! - Time is a `ManualClock`; no assertion depends on wall-clock time.
//! - Every loop is bounded; every multi-thread test runs under a watchdog
//!   that panics with "deadlock?" instead of hanging CI.

use std::collections::{HashMap, HashSet};
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use nycache::{Cache, Config, ErrorKind, KeyTtl, ManualClock, NODE_CHARGE, Value};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A test that is not done after this long is treated as deadlocked. Only a
/// hang detector: a healthy run takes a few seconds in debug builds.
const WATCHDOG: Duration = Duration::from_secs(60);

/// Runs `f` on its own thread; panics with "deadlock?" if it is not done
/// within `WATCHDOG`, and re-raises its panic if it panicked.
fn with_watchdog(name: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::Builder::new()
        .name(format!("{name}-main"))
        .spawn(move || {
            f();
            let _ = tx.send(());
        })
        .unwrap();
    match rx.recv_timeout(WATCHDOG) {
        Ok(()) => handle.join().unwrap(),
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => resume_unwind(panic),
            Ok(()) => unreachable!("sender dropped without a send"),
        },
        // The stuck threads are left behind; the process ends with the panic.
        Err(RecvTimeoutError::Timeout) => panic!("deadlock? {name} not done after {WATCHDOG:?}"),
    }
}

/// Joins every handle, then re-raises the first panic (after all are joined,
/// so no thread is left running with the test's state).
fn join_all(handles: Vec<JoinHandle<()>>) {
    let mut first = None;
    for h in handles {
        if let Err(p) = h.join() {
            first.get_or_insert(p);
        }
    }
    if let Some(p) = first {
        resume_unwind(p);
    }
}

/// xorshift64*: deterministic, seedable, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// 64 KiB of pseudo-random bytes: incompressible value bodies are slices of it.
fn noise() -> &'static [u8] {
    static NOISE: OnceLock<Vec<u8>> = OnceLock::new();
    NOISE.get_or_init(|| {
        let mut rng = Rng::new(0xfeed);
        (0..65_536).map(|_| rng.next() as u8).collect()
    })
}

/// Longest value any test writes (header included).
const MAX_VALUE_LEN: usize = 2_100;

/// A value's self-description, parsed from its header.
#[derive(Debug, Clone, Copy)]
struct Header {
    writer: u64,
    seq: u64,
    flagged: bool,
}

/// Client flags stored with a flagged write, derived from writer and seq.
fn flags_for(writer: u64, seq: u64) -> u32 {
    0x8000_0000 | ((writer as u32 & 0x7f) << 24) | (seq as u32 & 0x00ff_ffff)
}

/// The body of a value: `kind` 0 is runs of 50 equal letters (lz4 shrinks it
/// far more than the 1/8 the codec requires), `kind` 1 is a slice of noise
/// (stays raw).
fn body(writer: u64, seq: u64, kind: u8, len: usize) -> Vec<u8> {
    match kind {
        0 => {
            let seed = (writer * 31 + seq) % 26;
            (0..len).map(|i| b'a' + ((seed + i as u64 / 50) % 26) as u8).collect()
        }
        _ => {
            let n = noise();
            let off = ((writer * 7_919 + seq * 104_729) % (n.len() - MAX_VALUE_LEN) as u64) as usize;
            n[off..off + len].to_vec()
        }
    }
}

/// `key|writer|seq|kind|flagged|len|body`.
fn make_value(key: &[u8], writer: u64, seq: u64, kind: u8, flagged: bool, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 48);
    v.extend_from_slice(key);
    v.extend_from_slice(format!("|{writer}|{seq}|{kind}|{}|{len}|", u8::from(flagged)).as_bytes());
    v.extend_from_slice(&body(writer, seq, kind, len));
    v
}

/// Checks that `bytes` is exactly a value `make_value` produced for `key`,
/// by a known writer, with a sequence number that writer has published.
fn check_value(key: &[u8], bytes: &[u8], published: &[AtomicU64]) -> Header {
    let fail = |why: &str| -> ! {
        panic!(
            "bad value for key {:?}: {why}; value starts {:?} ({} bytes)",
            String::from_utf8_lossy(key),
            String::from_utf8_lossy(&bytes[..bytes.len().min(80)]),
            bytes.len()
        )
    };
    if bytes.len() < key.len() + 1 || &bytes[..key.len()] != key || bytes[key.len()] != b'|' {
        fail("does not start with its own key");
    }
    let mut rest = &bytes[key.len() + 1..];
    let mut fields = [0u64; 5];
    for f in fields.iter_mut() {
        let Some(bar) = rest.iter().position(|&b| b == b'|') else { fail("truncated header") };
        let text = std::str::from_utf8(&rest[..bar]).unwrap_or_else(|_| fail("non-UTF-8 header"));
        *f = text.parse().unwrap_or_else(|_| fail("non-numeric header field"));
        rest = &rest[bar + 1..];
    }
    let [writer, seq, kind, flagged, len] = fields;
    if writer as usize >= published.len() {
        fail("unknown writer");
    }
    if seq > published[writer as usize].load(Ordering::Acquire) {
        fail("sequence number its writer never issued");
    }
    if kind > 1 || flagged > 1 {
        fail("bad kind/flag field");
    }
    if rest.len() as u64 != len {
        fail("body length differs from the header");
    }
    if rest != body(writer, seq, kind as u8, len as usize).as_slice() {
        fail("body bytes differ from what the writer wrote");
    }
    Header { writer, seq, flagged: flagged == 1 }
}

fn config(text: &str) -> Config {
    Config::parse(text).expect("valid config")
}

fn data_key(n: u64) -> Vec<u8> {
    format!("key:{n:04}").into_bytes()
}

fn counter_key(n: u64) -> Vec<u8> {
    format!("ctr:{n}").into_bytes()
}

/// Expects `Ok`, or an error of one of the `allowed` kinds.
fn allow<T>(r: nycache::Result<T>, allowed: &[ErrorKind], what: &str) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) if allowed.contains(&e.kind()) => None,
        Err(e) => panic!("{what}: unexpected error {e}"),
    }
}

// ---------------------------------------------------------------------------
// 1. Mixed random operations on a small cache
// ---------------------------------------------------------------------------

const MIXED_WRITERS: usize = 8;
const MIXED_OPS: u64 = 20_000;
const MIXED_KEYS: u64 = 8_000;
const MIXED_COUNTERS: u64 = 16;

struct Mixed {
    cache: Cache,
    clock: Arc<ManualClock>,
    /// Per writer: the highest sequence number it has issued (stored before
    /// the write, so a reader never sees a larger one).
    published: Vec<AtomicU64>,
}

impl Mixed {
    /// Verifies any value read for a data or counter key.
    fn check(&self, key: &[u8], bytes: &[u8]) -> Header {
        if key.starts_with(b"ctr:") {
            let text = std::str::from_utf8(bytes).expect("counter is UTF-8");
            text.parse::<i64>().unwrap_or_else(|_| panic!("counter {key:?} holds {text:?}"));
            Header { writer: 0, seq: 0, flagged: false }
        } else {
            check_value(key, bytes, &self.published)
        }
    }

    fn check_flags(&self, key: &[u8], bytes: &[u8], flags: u32) {
        let h = self.check(key, bytes);
        let expected = if h.flagged { flags_for(h.writer, h.seq) } else { 0 };
        assert_eq!(flags, expected, "flags of {:?} do not belong to its value {h:?}", String::from_utf8_lossy(key));
    }

    fn new_value(&self, w: usize, rng: &mut Rng, key: &[u8], seq: &mut u64, flagged: bool) -> Vec<u8> {
        *seq += 1;
        self.published[w].store(*seq, Ordering::Release);
        // Some small values, mostly large ones; a third compressible.
        let len = if rng.chance(40) { rng.below(256) } else { rng.below(2_000) } as usize;
        let kind = u8::from(!rng.chance(33));
        make_value(key, w as u64, *seq, kind, flagged, len)
    }

    fn ttl(rng: &mut Rng) -> Option<Duration> {
        rng.chance(50).then(|| Duration::from_millis(1 + rng.below(3_000)))
    }

    fn worker(&self, w: usize) {
        let c = &self.cache;
        let mut rng = Rng::new(1_000 + w as u64);
        let mut seq = 0u64;
        let mut cursor = 0u64;
        let mut buf = vec![0u8; 4_096];
        for _ in 0..MIXED_OPS {
            let key = data_key(rng.below(MIXED_KEYS));
            match rng.below(100) {
                0..18 => {
                    if let Some(v) = c.get(&key).unwrap() {
                        self.check(&key, &v);
                    }
                }
                18..26 => {
                    let size = [0, 16, 300, 4_096][rng.below(4) as usize];
                    if let Some(n) = c.get_into(&key, &mut buf[..size]).unwrap() {
                        assert!(n <= MAX_VALUE_LEN, "get_into reported {n} bytes");
                        if n <= size {
                            self.check(&key, &buf[..n]);
                        }
                    }
                }
                26..44 => {
                    let flagged = rng.chance(20);
                    let v = self.new_value(w, &mut rng, &key, &mut seq, flagged);
                    let ttl = Self::ttl(&mut rng);
                    if flagged {
                        c.set_with_flags(&key, &v, ttl, flags_for(w as u64, seq)).unwrap();
                    } else {
                        c.set(&key, &v, ttl).unwrap();
                    }
                }
                44..48 => {
                    let v = self.new_value(w, &mut rng, &key, &mut seq, false);
                    allow(c.add(&key, &v, Self::ttl(&mut rng)), &[ErrorKind::Exists], "add");
                }
                48..52 => {
                    let v = self.new_value(w, &mut rng, &key, &mut seq, false);
                    allow(c.replace(&key, &v, Self::ttl(&mut rng)), &[ErrorKind::NotFound], "replace");
                }
                52..58 => {
                    c.delete(&key).unwrap();
                }
                58..62 => {
                    c.exists(&key).unwrap();
                }
                62..65 => {
                    c.touch(&key).unwrap();
                }
                65..69 => {
                    let ttl = match rng.below(10) {
                        0 => Some(Duration::ZERO),
                        1..4 => None,
                        _ => Some(Duration::from_millis(1 + rng.below(3_000))),
                    };
                    c.expire(&key, ttl).unwrap();
                }
                69..77 => {
                    let ck = counter_key(rng.below(MIXED_COUNTERS));
                    match rng.below(10) {
                        0 => {
                            c.delete(&ck).unwrap();
                        }
                        1 | 2 => {
                            if let Some(v) = c.get(&ck).unwrap() {
                                self.check(&ck, &v);
                            }
                        }
                        3 => {
                            c.decr(&ck, rng.below(50) as i64).unwrap();
                        }
                        _ => {
                            c.incr(&ck, rng.below(101) as i64 - 50).unwrap();
                        }
                    }
                }
                77..83 => {
                    if let Some(got) = c.gets(&key).unwrap() {
                        self.check_flags(&key, &got.value, got.flags);
                        let v = self.new_value(w, &mut rng, &key, &mut seq, false);
                        allow(
                            c.cas(&key, &v, Self::ttl(&mut rng), got.version),
                            &[ErrorKind::CasMismatch, ErrorKind::NotFound],
                            "cas",
                        );
                    }
                }
                83..87 => {
                    let keys: Vec<Vec<u8>> = (0..4).map(|_| data_key(rng.below(MIXED_KEYS))).collect();
                    let got = c.get_many(&keys).unwrap();
                    assert_eq!(got.len(), keys.len());
                    for (k, v) in keys.iter().zip(&got) {
                        if let Some(v) = v {
                            self.check(k, v);
                        }
                    }
                }
                87..90 => {
                    let items: Vec<(Vec<u8>, Vec<u8>)> = (0..3)
                        .map(|_| {
                            let k = data_key(rng.below(MIXED_KEYS));
                            let v = self.new_value(w, &mut rng, &k, &mut seq, false);
                            (k, v)
                        })
                        .collect();
                    c.set_many(&items, Self::ttl(&mut rng)).unwrap();
                }
                90..93 => {
                    let keys: Vec<Vec<u8>> = (0..3).map(|_| data_key(rng.below(MIXED_KEYS))).collect();
                    let n = c.delete_many(&keys).unwrap();
                    assert!(n <= keys.len());
                }
                93..97 => {
                    let pattern: Option<&[u8]> = if rng.chance(50) { Some(b"key:1*") } else { None };
                    let (next, keys) = c.scan(cursor, pattern, 1 + rng.below(32) as usize).unwrap();
                    for k in &keys {
                        let ok = match pattern {
                            Some(_) => k.starts_with(b"key:1") && k.len() == 8,
                            None => (k.starts_with(b"key:") && k.len() == 8) || k.starts_with(b"ctr:"),
                        };
                        assert!(ok, "scan({pattern:?}) returned {:?}", String::from_utf8_lossy(k));
                    }
                    cursor = next;
                }
                _ => match c.ttl(&key).unwrap() {
                    KeyTtl::Expires(d) => assert!(d <= Duration::from_millis(3_000), "ttl {d:?} longer than any set"),
                    KeyTtl::Missing | KeyTtl::Persistent => {
                        if rng.chance(30) {
                            c.persist(&key).unwrap();
                        }
                    }
                },
            }
        }
    }
}

/// With one shard, `stats().used_bytes <= max_bytes` is exactly the shard's
/// own budget rule; with eight, shards race each other (and one shard over
/// its budget can hide behind others under theirs).
#[test]
fn mixed_operations_one_shard() {
    mixed_operations(1);
}

#[test]
fn mixed_operations_eight_shards() {
    mixed_operations(8);
}

fn mixed_operations(shards: usize) {
    with_watchdog(&format!("mixed-{shards}"), move || {
        let clock = Arc::new(ManualClock::new(1_000));
        let cache = Cache::with_clock(
            config(&format!(
                "max_memory=2MiB shards={shards} max_key_size=64 max_value_size=4096 compress_min=256 maintenance_ms=1"
            )),
            clock.clone(),
        )
        .unwrap();
        let m = Arc::new(Mixed {
            cache,
            clock,
            published: (0..MIXED_WRITERS).map(|_| AtomicU64::new(0)).collect(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(AtomicU64::new(0));

        let workers: Vec<_> = (0..MIXED_WRITERS)
            .map(|w| {
                let m = m.clone();
                thread::spawn(move || m.worker(w))
            })
            .collect();
        let mut aux = Vec::new();
        // Sampler: the byte budget holds at every sample.
        aux.push({
            let (m, stop, samples) = (m.clone(), stop.clone(), samples.clone());
            thread::spawn(move || {
                for _ in 0..10_000_000u64 {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let st = m.cache.stats();
                    assert!(st.used_bytes <= st.max_bytes, "used_bytes {} > max_bytes {}: {st:?}", st.used_bytes, st.max_bytes);
                    assert!(st.used_bytes >= st.entries * NODE_CHARGE, "used_bytes below the node charges: {st:?}");
                    samples.fetch_add(1, Ordering::Relaxed);
                    thread::sleep(Duration::from_micros(200));
                }
            })
        });
        // Explicit maintenance passes, racing the background thread.
        aux.push({
            let (m, stop) = (m.clone(), stop.clone());
            thread::spawn(move || {
                for _ in 0..10_000_000u64 {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    m.cache.run_maintenance();
                    thread::sleep(Duration::from_micros(300));
                }
            })
        });
        // Time moves while everything runs.
        aux.push({
            let (m, stop) = (m.clone(), stop.clone());
            thread::spawn(move || {
                let mut rng = Rng::new(77);
                for _ in 0..10_000_000u64 {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    m.clock.advance(1 + rng.below(20));
                    thread::sleep(Duration::from_micros(200));
                }
            })
        });

        let worker_result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| join_all(workers)));
        stop.store(true, Ordering::Release);
        join_all(aux);
        if let Err(p) = worker_result {
            resume_unwind(p);
        }
        assert!(samples.load(Ordering::Relaxed) > 0, "the sampler never ran");

        // Quiescent: everything due is removed, then the views must agree.
        let c = &m.cache;
        c.run_maintenance();
        let st = c.stats();
        assert_eq!(st.entries, c.len(), "{st:?}");
        assert!(st.used_bytes <= st.max_bytes, "{st:?}");
        assert!(st.used_bytes >= st.entries * NODE_CHARGE, "{st:?}");
        // The run really exercised eviction, expiry and compression.
        assert!(st.evictions > 0, "no eviction happened; the test is too gentle: {st:?}");
        assert!(st.expirations > 0 && st.expired_active > 0, "no expiry happened: {st:?}");
        assert!(st.hits > 0 && st.misses > 0 && st.sets > 0, "{st:?}");

        let keys = c.keys(None).unwrap();
        let unique: HashSet<&Vec<u8>> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "keys() listed a key twice with no concurrent writes");
        assert_eq!(keys.len() as u64, c.len(), "keys() and len() disagree after a maintenance pass");
        let mut compressible_live = 0;
        for k in &keys {
            let v = c.get(k).unwrap().unwrap_or_else(|| panic!("listed key {:?} is not readable", String::from_utf8_lossy(k)));
            m.check(k, &v);
            if v.len() >= 256 && v.windows(50).any(|w| w.iter().all(|&b| b == w[0])) {
                compressible_live += 1;
            }
        }
        // Flags travel with their value. (A key may be gone by now: `gets`
        // assigns a CAS version, whose charge can evict an older entry.)
        for k in &keys {
            if let Some(got) = c.gets(k).unwrap() {
                m.check_flags(k, &got.value, got.flags);
            }
        }
        if compressible_live > 0 {
            assert!(c.stats().compressed_bytes_saved > 0, "compressible values live but nothing saved");
        }

        c.flush();
        let st = c.stats();
        assert_eq!((st.entries, st.used_bytes, st.compressed_bytes_saved, c.len()), (0, 0, 0, 0), "{st:?}");
        assert!(c.keys(None).unwrap().is_empty());
    });
}

// ---------------------------------------------------------------------------
// 2. incr never loses an increment
// ---------------------------------------------------------------------------

#[test]
fn incr_never_loses_an_increment() {
    const THREADS: u64 = 8;
    const OPS: u64 = 5_000;
    const KEYS: u64 = 4;
    with_watchdog("incr", || {
        let clock = Arc::new(ManualClock::new(1_000));
        let cache = Cache::with_clock(config("max_memory=64MiB shards=8 max_key_size=64"), clock).unwrap();
        // One counter starts from a value and has a TTL, which incr must keep.
        cache.set(&counter_key(0), b"1000", Some(Duration::from_secs(3_600))).unwrap();

        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let cache = cache.clone();
                thread::spawn(move || {
                    let mut rng = Rng::new(500 + t);
                    let mut sums = [0i64; KEYS as usize];
                    for _ in 0..OPS {
                        let k = rng.below(KEYS);
                        let delta = rng.below(201) as i64 - 100;
                        let after = if rng.chance(25) {
                            cache.decr(&counter_key(k), -delta).unwrap()
                        } else {
                            cache.incr(&counter_key(k), delta).unwrap()
                        };
                        // Whatever others did, the result is a plausible total.
                        assert!(after.abs() <= 1000 + (THREADS * OPS * 100) as i64);
                        sums[k as usize] += delta;
                    }
                    sums
                })
            })
            .collect();
        let mut expected = [0i64; KEYS as usize];
        expected[0] = 1000;
        for h in handles {
            let sums = h.join().unwrap_or_else(|p| resume_unwind(p));
            for (e, s) in expected.iter_mut().zip(sums) {
                *e += s;
            }
        }
        for k in 0..KEYS {
            let v = cache.get(&counter_key(k)).unwrap().expect("counter present");
            let text = std::str::from_utf8(&v).unwrap();
            assert_eq!(text, expected[k as usize].to_string(), "counter {k} lost increments");
            assert_eq!(cache.incr(&counter_key(k), 0).unwrap(), expected[k as usize]);
        }
        assert!(matches!(cache.ttl(&counter_key(0)).unwrap(), KeyTtl::Expires(_)), "incr dropped the TTL");
        assert_eq!(cache.ttl(&counter_key(1)).unwrap(), KeyTtl::Persistent);
        let st = cache.stats();
        assert_eq!(st.evictions, 0, "counters were evicted; the test needs a bigger cache");
        assert_eq!(st.entries, KEYS);
    });
}

// ---------------------------------------------------------------------------
// 3. Value handles stay valid
// ---------------------------------------------------------------------------

#[test]
fn value_handles_survive_overwrite_delete_flush() {
    const KEYS: u64 = 32;
    const WRITERS: usize = 3;
    const WRITER_OPS: u64 = 6_000;
    const READS: usize = 6_000;
    const HELD: usize = 200;
    with_watchdog("handles", || {
        let cache = Cache::open("max_memory=8MiB shards=4 max_key_size=64 compress_min=256").unwrap();
        let published: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
        let key = |n: u64| format!("h:{n}").into_bytes();

        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (cache, published) = (cache.clone(), published.clone());
                thread::spawn(move || {
                    let mut rng = Rng::new(900 + w as u64);
                    for seq in 1..=WRITER_OPS {
                        let k = key(rng.below(KEYS));
                        match rng.below(100) {
                            // One writer also flushes now and then.
                            0 if w == 0 => cache.flush(),
                            0..15 => {
                                cache.delete(&k).unwrap();
                            }
                            _ => {
                                published[w].store(seq, Ordering::Release);
                                let len = rng.below(2_000) as usize;
                                let v = make_value(&k, w as u64, seq, rng.below(2) as u8, false, len);
                                cache.set(&k, &v, None).unwrap();
                            }
                        }
                    }
                })
            })
            .collect();

        // The holder: keeps up to HELD handles (and clones of some) with a
        // private copy of their bytes, re-checking all of them as it goes.
        let holder = {
            let (cache, published) = (cache.clone(), published.clone());
            thread::spawn(move || {
                let mut rng = Rng::new(4242);
                let mut held: Vec<(Value, Vec<u8>)> = Vec::new();
                let mut checked = 0u64;
                // At least READS reads, and on until something was held and
                // checked: on a loaded machine the writers may start late.
                for i in 0..READS * 100 {
                    if i >= READS && checked > 0 {
                        break;
                    }
                    let k = key(rng.below(KEYS));
                    if let Some(v) = cache.get(&k).unwrap() {
                        check_value(&k, &v, &published);
                        let copy = v.to_vec();
                        let v = if rng.chance(30) {
                            let c = v.clone();
                            drop(v);
                            c
                        } else {
                            v
                        };
                        if held.len() < HELD {
                            held.push((v, copy));
                        } else {
                            let j = rng.below(HELD as u64) as usize;
                            held[j] = (v, copy);
                        }
                    }
                    if i % 64 == 0 {
                        for (v, copy) in &held {
                            assert_eq!(v.as_bytes(), copy.as_slice(), "a held Value's bytes changed");
                            checked += 1;
                        }
                    }
                }
                assert!(checked > 0 && !held.is_empty(), "the holder never held a value");
                held
            })
        };
        join_all(writers);
        let held = holder.join().unwrap_or_else(|p| resume_unwind(p));
        // Still valid after the entries are gone and every cache handle is dropped.
        cache.flush();
        cache.close();
        drop(cache);
        for (v, copy) in &held {
            assert_eq!(v.as_bytes(), copy.as_slice(), "a held Value changed after flush/close/drop");
            assert_eq!(v.len(), copy.len());
        }
    });
}

// ---------------------------------------------------------------------------
// 4. Scan during concurrent writes
// ---------------------------------------------------------------------------

/// A full scan by cursor with small random counts.
fn full_scan(cache: &Cache, pattern: Option<&[u8]>, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    let mut cursor = 0;
    // Bound: far more steps than slots a scan could ever visit here.
    for _ in 0..1_000_000 {
        let (next, mut keys) = cache.scan(cursor, pattern, 1 + rng.below(8) as usize).unwrap();
        all.append(&mut keys);
        if next == 0 {
            return all;
        }
        cursor = next;
    }
    panic!("scan did not finish within 1,000,000 steps");
}

#[test]
fn scan_returns_every_stable_key_under_churn() {
    const STABLE: usize = 300;
    const CHURNERS: u64 = 3;
    const ROUNDS: usize = 5;
    with_watchdog("scan", || {
        let clock = Arc::new(ManualClock::new(1_000));
        // Big budget, few keys: nothing is ever evicted.
        let cache = Cache::with_clock(config("max_memory=64MiB shards=8 max_key_size=64"), clock.clone()).unwrap();
        let stable: Vec<Vec<u8>> = (0..STABLE).map(|i| format!("stable:{i:04}").into_bytes()).collect();
        for k in &stable {
            cache.set(k, k, None).unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let churn_ops = Arc::new(AtomicU64::new(0));
        let churners: Vec<_> = (0..CHURNERS)
            .map(|w| {
                let (cache, stop, clock, churn_ops) = (cache.clone(), stop.clone(), clock.clone(), churn_ops.clone());
                thread::spawn(move || {
                    let mut rng = Rng::new(77 + w);
                    for n in 0..2_000_000u64 {
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        // A sliding window of 600 live keys per thread: new
                        // keys take freed slots or grow the slab.
                        let k = format!("churn:{w}:{n}").into_bytes();
                        let ttl = rng.chance(20).then(|| Duration::from_millis(1 + rng.below(50)));
                        cache.set(&k, &k, ttl).unwrap();
                        if n >= 600 {
                            cache.delete(format!("churn:{w}:{}", n - 600).as_bytes()).unwrap();
                        }
                        if rng.chance(20) {
                            // Overwrite a recent key in place.
                            let back = rng.below(n.min(599) + 1);
                            let k = format!("churn:{w}:{}", n - back).into_bytes();
                            cache.set(&k, b"overwritten", None).unwrap();
                        }
                        if w == 0 && n % 64 == 0 {
                            clock.advance(5);
                            cache.run_maintenance();
                        }
                        churn_ops.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();

        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut rng = Rng::new(31337);
            let subset: Vec<&Vec<u8>> = stable.iter().filter(|k| k.starts_with(b"stable:01")).collect();
            for round in 0..ROUNDS {
                let ops_before = churn_ops.load(Ordering::Relaxed);
                for (pattern, expected) in [
                    (None, stable.iter().collect::<Vec<_>>()),
                    (Some(&b"stable:*"[..]), stable.iter().collect()),
                    (Some(&b"stable:01*"[..]), subset.clone()),
                ] {
                    let got = full_scan(&cache, pattern, &mut rng);
                    let mut seen: HashMap<&[u8], usize> = HashMap::new();
                    for k in &got {
                        if let Some(p) = pattern {
                            assert!(
                                nycache::glob::glob_match(p, k),
                                "round {round}: scan({:?}) returned non-matching {:?}",
                                String::from_utf8_lossy(p),
                                String::from_utf8_lossy(k)
                            );
                        }
                        *seen.entry(k.as_slice()).or_default() += 1;
                    }
                    for k in &expected {
                        match seen.get(k.as_slice()) {
                            Some(1) => {}
                            None => panic!(
                                "round {round}: scan({:?}) missed stable key {:?}",
                                pattern.map(String::from_utf8_lossy),
                                String::from_utf8_lossy(k)
                            ),
                            // docs/design.md: a key present for the whole scan
                            // is visited exactly once.
                            Some(n) => panic!(
                                "round {round}: scan({:?}) returned stable key {:?} {n} times",
                                pattern.map(String::from_utf8_lossy),
                                String::from_utf8_lossy(k)
                            ),
                        }
                    }
                }
                // Make sure the scans really overlapped with churn (bounded wait).
                for _ in 0..10_000 {
                    if churn_ops.load(Ordering::Relaxed) > ops_before + 100 {
                        break;
                    }
                    thread::sleep(Duration::from_micros(500));
                }
            }
        }));
        stop.store(true, Ordering::Release);
        join_all(churners);
        if let Err(p) = result {
            resume_unwind(p);
        }
        assert!(churn_ops.load(Ordering::Relaxed) > 0);
        assert_eq!(cache.stats().evictions, 0, "stable keys could have been evicted; use a bigger budget");
        for k in &stable {
            assert_eq!(cache.get(k).unwrap().as_deref(), Some(k.as_slice()));
        }
    });
}

// ---------------------------------------------------------------------------
// 5. Whole-cache calls racing writes: no deadlock, sane results
// ---------------------------------------------------------------------------

/// One round of a whole-cache caller: (cache, round number).
type AuxFn = Box<dyn Fn(&Cache, u64) + Send>;

#[test]
fn flush_stats_len_keys_race_writes_without_deadlock() {
    const WRITERS: u64 = 3;
    const WRITER_OPS: u64 = 8_000;
    const AUX_MIN: u64 = 2_000;
    with_watchdog("whole-cache", || {
        let clock = Arc::new(ManualClock::new(1_000));
        let cache = Cache::with_clock(
            config("max_memory=1MiB shards=4 max_key_size=64 compress_min=128 maintenance_ms=1"),
            clock.clone(),
        )
        .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (cache, clock) = (cache.clone(), clock.clone());
                thread::spawn(move || {
                    let mut rng = Rng::new(123 + w);
                    for i in 0..WRITER_OPS {
                        let k = format!("w:{}", rng.below(2_000)).into_bytes();
                        match rng.below(10) {
                            0..5 => {
                                let v = vec![b'a' + (i % 26) as u8; rng.below(1_500) as usize];
                                let ttl = rng.chance(30).then(|| Duration::from_millis(1 + rng.below(100)));
                                cache.set(&k, &v, ttl).unwrap();
                            }
                            5..7 => {
                                if let Some(v) = cache.get(&k).unwrap() {
                                    assert!(v.iter().all(|&b| b == v[0]), "torn value");
                                }
                            }
                            7 => {
                                cache.delete(&k).unwrap();
                            }
                            8 => {
                                cache.incr(format!("n:{}", rng.below(8)).as_bytes(), 1).unwrap();
                            }
                            _ => {
                                clock.advance(1);
                            }
                        }
                    }
                })
            })
            .collect();
        let mut aux = Vec::new();
        let spawn_aux = |aux: &mut Vec<JoinHandle<()>>, f: AuxFn| {
            let (cache, stop) = (cache.clone(), stop.clone());
            aux.push(thread::spawn(move || {
                // At least AUX_MIN rounds (so the whole-cache calls really
                // overlap each other), then until the writers are done.
                for i in 0..1_000_000u64 {
                    if i >= AUX_MIN && stop.load(Ordering::Acquire) {
                        break;
                    }
                    f(&cache, i);
                    thread::yield_now();
                }
            }));
        };
        spawn_aux(&mut aux, Box::new(|c: &Cache, i| {
            if i % 4 == 0 {
                c.flush();
            }
        }));
        spawn_aux(&mut aux, Box::new(|c: &Cache, _| {
            let st = c.stats();
            assert!(st.used_bytes <= st.max_bytes, "{st:?}");
            assert!(st.used_bytes >= st.entries * NODE_CHARGE, "{st:?}");
            let _ = c.metrics_text();
        }));
        spawn_aux(&mut aux, Box::new(|c: &Cache, _| {
            let n = c.len();
            assert!(n <= 2_008, "len {n} exceeds the key space");
            let _ = c.is_empty();
        }));
        spawn_aux(&mut aux, Box::new(|c: &Cache, i| {
            let pattern: Option<&[u8]> = if i % 2 == 0 { Some(b"w:1*") } else { None };
            let keys = c.keys(pattern).unwrap();
            for k in &keys {
                assert!(k.starts_with(b"w:") || k.starts_with(b"n:"), "keys() returned {k:?}");
                if pattern.is_some() {
                    assert!(k.starts_with(b"w:1"), "keys(w:1*) returned {k:?}");
                }
            }
            c.run_maintenance();
        }));

        let worker_result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| join_all(writers)));
        stop.store(true, Ordering::Release);
        join_all(aux);
        if let Err(p) = worker_result {
            resume_unwind(p);
        }
        let st = cache.stats();
        assert_eq!(st.entries, cache.len(), "{st:?}");
        assert!(st.used_bytes <= st.max_bytes);
        cache.flush();
        let st = cache.stats();
        assert_eq!((st.entries, st.used_bytes, st.compressed_bytes_saved), (0, 0, 0), "{st:?}");
        assert!(cache.keys(None).unwrap().is_empty() && cache.is_empty());
    });
}

// ---------------------------------------------------------------------------
// 7. Lock-free reads race every kind of write
// ---------------------------------------------------------------------------

/// Readers copying values out with `get_into` and taking value handles with
/// `get` (hot keys: most of these hits are served without the shard's lock,
/// see `engine::read`) while writers
/// overwrite them with values of other lengths and encodings, delete them,
/// evict them (a small budget) and flush the cache. Every value a reader
/// copies must be exactly one some writer wrote for that key, and the
/// hit counter must count every hit, lock-free ones included.
#[test]
fn lock_free_reads_race_overwrites_deletes_evictions_and_flushes() {
    const KEYS: u64 = 24;
    const WRITERS: usize = 2;
    const READERS: usize = 3;
    const WRITER_OPS: u64 = 8_000;
    const READS: u64 = 40_000;
    with_watchdog("lock-free-reads", || {
        let cache = Cache::open("max_memory=2MiB shards=2 max_key_size=64 compress_min=256 maintenance_ms=0").unwrap();
        let published: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
        let key = |n: u64| format!("hot:{n}").into_bytes();
        // Start with every key present and read a few times, so that reads
        // find saturated access counters (the lock-free case) from the start.
        for n in 0..KEYS {
            let k = key(n);
            published[0].store(n + 1, Ordering::Release);
            cache.set(&k, &make_value(&k, 0, n + 1, 1, false, 100), None).unwrap();
            let mut buf = vec![0u8; 4_096];
            for _ in 0..4 {
                cache.get_into(&k, &mut buf).unwrap();
            }
        }
        let hits_before = cache.stats().hits;
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let (cache, published, stop) = (cache.clone(), published.clone(), stop.clone());
                thread::spawn(move || {
                    let mut rng = Rng::new(77 + r as u64);
                    let mut buf = vec![0u8; 4_096];
                    let mut held: Vec<Option<(Vec<u8>, nycache::Value)>> = (0..8).map(|_| None).collect();
                    let mut hits = 0u64;
                    let mut i = 0u64;
                    while i < READS || !stop.load(Ordering::Relaxed) {
                        // Mostly the hottest few keys, like a Zipf head.
                        let n = if rng.chance(80) { rng.below(4) } else { rng.below(KEYS) };
                        let k = key(n);
                        if rng.chance(30) {
                            // A value handle: shares the block (lock-free
                            // for quiet hits too). Some are kept a while and
                            // checked again after writers replaced, evicted
                            // or flushed their entry: the bytes stay.
                            if let Some(v) = cache.get(&k).unwrap() {
                                hits += 1;
                                check_value(&k, &v, &published);
                                let slot = (i % held.len() as u64) as usize;
                                if let Some((old_key, old)) = held[slot].replace((k.clone(), v)) {
                                    check_value(&old_key, &old, &published);
                                }
                            }
                        } else {
                            // Now and then a buffer too small: the length alone.
                            let size = if rng.chance(5) { 8 } else { buf.len() };
                            if let Some(len) = cache.get_into(&k, &mut buf[..size]).unwrap() {
                                hits += 1;
                                if len <= size {
                                    check_value(&k, &buf[..len], &published);
                                }
                            }
                        }
                        i += 1;
                        if i > 100 * READS {
                            break;
                        }
                    }
                    hits
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (cache, published) = (cache.clone(), published.clone());
                thread::spawn(move || {
                    let mut rng = Rng::new(900 + w as u64);
                    for seq in KEYS + 1..=KEYS + WRITER_OPS {
                        let k = key(rng.below(KEYS));
                        match rng.below(100) {
                            0 if w == 0 => cache.flush(),
                            0..10 => {
                                cache.delete(&k).unwrap();
                            }
                            10..14 => {
                                // Filler under other keys: evictions.
                                let filler = format!("fill:{w}:{seq}").into_bytes();
                                published[w].store(seq, Ordering::Release);
                                cache.set(&filler, &make_value(&filler, w as u64, seq, 0, false, 2_000), None).unwrap();
                            }
                            _ => {
                                published[w].store(seq, Ordering::Release);
                                let len = rng.below(2_000) as usize;
                                let v = make_value(&k, w as u64, seq, rng.below(2) as u8, false, len);
                                cache.set(&k, &v, None).unwrap();
                            }
                        }
                    }
                })
            })
            .collect();
        join_all(writers);
        stop.store(true, Ordering::Relaxed);
        let mut reader_hits = 0;
        for r in readers {
            reader_hits += r.join().unwrap_or_else(|p| resume_unwind(p));
        }
        assert!(reader_hits > 0, "the readers never hit");
        assert_eq!(cache.stats().hits - hits_before, reader_hits, "every hit is counted, lock-free ones included");
    });
}

/// An expired entry never reads as a hit, whether a reader finds it with or
/// without the lock, while maintenance (active expiry) and lazy expiry
/// remove it under the readers' feet: every read below starts after the
/// clock passed every key's expiry.
#[test]
fn lock_free_reads_never_return_an_expired_value() {
    const KEYS: u64 = 2_000;
    const ROUNDS: u64 = 5;
    with_watchdog("lock-free-expiry", || {
        let clock = Arc::new(ManualClock::new(1_000));
        let cache = Cache::with_clock(config("max_memory=64MiB shards=4 maintenance_ms=0"), clock.clone()).unwrap();
        let key = |round: u64, n: u64| format!("ttl:{round}:{n}").into_bytes();
        for round in 0..ROUNDS {
            let mut buf = [0u8; 64];
            for n in 0..KEYS {
                let k = key(round, n);
                cache.set(&k, b"short-lived", Some(Duration::from_millis(100))).unwrap();
                // Saturate the access counter: later reads are quiet hits.
                for _ in 0..4 {
                    assert!(cache.get_into(&k, &mut buf).unwrap().is_some());
                }
            }
            clock.advance(101);
            let readers: Vec<_> = (0..2)
                .map(|r| {
                    let cache = cache.clone();
                    thread::spawn(move || {
                        let mut buf = [0u8; 64];
                        for pass in 0..3 {
                            for n in 0..KEYS {
                                let k = key(round, (n * 7 + r + pass) % KEYS);
                                assert_eq!(cache.get_into(&k, &mut buf).unwrap(), None, "expired key {k:?} read as a hit");
                            }
                        }
                    })
                })
                .collect();
            let reaper = {
                let cache = cache.clone();
                thread::spawn(move || {
                    cache.run_maintenance();
                })
            };
            join_all(readers);
            join_all(vec![reaper]);
            assert_eq!(cache.stats().entries, 0, "round {round}: every key expired and was removed");
        }
    });
}
