//! Policy-level tests on a bare slab: each policy's own invariants (segment
//! sizes, ghost bounds), and the behaviours each one exists for.

use std::cell::Cell;

use hashbrown::HashMap;

use super::list::{Linked, NIL};
use super::{Policy, PolicyNode};
use crate::config::PolicyKind;
use crate::test_rng::XorShift;

/// A slab node for tests: links, policy bits and the key's hash.
#[derive(Clone)]
struct TNode {
    prev: Cell<u32>,
    next: Cell<u32>,
    bits: Cell<u8>,
    hash: u64,
}

impl Linked for TNode {
    fn prev(&self) -> u32 {
        self.prev.get()
    }
    fn next(&self) -> u32 {
        self.next.get()
    }
    fn set_prev(&self, i: u32) {
        self.prev.set(i)
    }
    fn set_next(&self, i: u32) {
        self.next.set(i)
    }
}

impl PolicyNode for TNode {
    fn policy_bits(&self) -> u8 {
        self.bits.get()
    }
    fn set_policy_bits(&self, bits: u8) {
        self.bits.set(bits & 0xf)
    }
}

/// A count-bounded cache driving a policy exactly as a shard does: evict
/// (victim, then remove) before inserting, a miss followed by an insert.
struct Sim {
    nodes: Vec<TNode>,
    free: Vec<u32>,
    map: HashMap<u64, u32>,
    policy: Policy,
    cap: usize,
    hits: u64,
}

/// Spreads small integer keys over 64 bits, as the key hasher would.
fn h(key: u64) -> u64 {
    let x = (key ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 29)
}

impl Sim {
    fn new(kind: PolicyKind, cap: usize) -> Sim {
        Sim { nodes: Vec::new(), free: Vec::new(), map: HashMap::new(), policy: Policy::new(kind, 7, 1), cap, hits: 0 }
    }

    fn evict_one(&mut self) {
        let v = self.policy.victim(&mut self.nodes, &|n: &TNode| n.hash);
        assert_ne!(v, NIL, "a full cache must name a victim");
        self.remove(v, true);
    }

    fn remove(&mut self, i: u32, evicted: bool) {
        let hash = self.nodes[i as usize].hash;
        self.policy.on_remove(&mut self.nodes, i, hash, evicted);
        self.map.remove(&hash);
        self.free.push(i);
    }

    fn delete(&mut self, key: u64) {
        if let Some(&i) = self.map.get(&h(key)) {
            self.remove(i, false);
        }
    }

    /// One read of `key`, inserted on a miss; true on a hit.
    fn access(&mut self, key: u64) -> bool {
        let hash = h(key);
        if let Some(&i) = self.map.get(&hash) {
            self.policy.on_hit(&mut self.nodes, i, hash);
            self.hits += 1;
            return true;
        }
        self.policy.on_miss(hash);
        while self.map.len() >= self.cap {
            self.evict_one();
        }
        let node = TNode { prev: NIL.into(), next: NIL.into(), bits: 0.into(), hash };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        self.map.insert(hash, i);
        self.policy.on_insert(&mut self.nodes, i, hash, &|n: &TNode| n.hash);
        false
    }

    fn check(&self) {
        assert_eq!(self.policy.check(&self.nodes), self.map.len() as u64);
        assert!(self.map.len() <= self.cap);
    }
}

const ALL: [PolicyKind; 4] = [PolicyKind::Lru, PolicyKind::TinyLfu, PolicyKind::S3Fifo, PolicyKind::Adaptive];

/// Random reads and deletes keep every list consistent with the entries,
/// for every policy, at every step.
#[test]
fn lists_hold_exactly_the_entries() {
    for kind in ALL {
        let mut sim = Sim::new(kind, 40);
        let mut rng = XorShift(0x5eed_1234);
        for step in 0..20_000 {
            let key = rng.below(if step % 3000 < 1500 { 60 } else { 400 }) as u64;
            if rng.below(10) == 0 {
                sim.delete(key);
            } else {
                sim.access(key);
            }
            if step % 97 == 0 {
                sim.check();
            }
        }
        sim.check();
    }
}

/// S3-FIFO keeps its small queue near its share, its ghost within main's
/// length, promotes entries read twice in the small queue, and sends keys
/// seen again while in the ghost straight to main.
#[test]
fn s3fifo_queue_and_ghost_bounds() {
    let cap = 100;
    let mut sim = Sim::new(PolicyKind::S3Fifo, cap);
    let mut rng = XorShift(42);
    for _ in 0..50_000 {
        sim.access(rng.below(1000) as u64);
        let Policy::S3Fifo(p) = &sim.policy else { unreachable!() };
        let (small, main, ghost, ghost_cap) = p.lens();
        assert!(ghost <= ghost_cap && ghost_cap <= cap, "ghost {ghost} of {ghost_cap}");
        // Main only grows past its share by the entries the small queue
        // (or the ghost) hands it; the small queue never drops below 10%
        // for long, so main stays within 90% + 1 once full.
        if small + main == cap as u64 {
            assert!(main <= (cap as u64 * 9 / 10) + 1, "main {main}");
        }
    }
    sim.check();
    // A scan of new keys passes through the small queue only.
    let mut sim = Sim::new(PolicyKind::S3Fifo, cap);
    for k in 0..cap as u64 {
        for _ in 0..3 {
            sim.access(k); // hot: read twice more while in the small queue
        }
    }
    for k in 10_000..10_000 + 10 * cap as u64 {
        sim.access(k); // one-hit wonders
    }
    let Policy::S3Fifo(p) = &sim.policy else { unreachable!() };
    let (small, main, ..) = p.lens();
    assert_eq!(small + main, cap as u64);
    assert!(main >= 85, "the hot keys were promoted and survived the scan: main {main}");
    let kept = (0..cap as u64).filter(|k| sim.map.contains_key(&h(*k))).count();
    assert!(kept >= 85, "hot keys kept: {kept}");
    // A key evicted from the small queue comes back straight into main.
    let ghosted = 10_000 + 10 * cap as u64 - 20; // evicted recently, in the ghost
    assert!(!sim.map.contains_key(&h(ghosted)));
    let before = p.lens().1;
    sim.access(ghosted);
    let Policy::S3Fifo(p) = &sim.policy else { unreachable!() };
    assert_eq!(p.lens().1, before + 1, "ghost hit goes to main");
}

/// W-TinyLFU keeps protected within its share of main and the window at
/// its target after each eviction; its admission keeps a frequent working
/// set through a long scan that would flush LRU.
#[test]
fn tinylfu_segments_and_scan_resistance() {
    let cap = 200;
    let mut sim = Sim::new(PolicyKind::TinyLfu, cap);
    if let Policy::TinyLfu(p) = &mut sim.policy {
        p.fix_window(0.1);
    }
    let mut rng = XorShift(9);
    for step in 0..40_000u64 {
        // 100 hot keys (80% of reads) and a long tail.
        let key = if rng.below(5) != 0 { rng.below(100) as u64 } else { 1000 + step };
        sim.access(key);
        let Policy::TinyLfu(p) = &sim.policy else { unreachable!() };
        let [w, prob, prot] = p.lens();
        // Once it has been full and evicting for a while (before the first
        // eviction the window simply holds everything).
        if step >= 5_000 {
            assert_eq!(w + prob + prot, cap as u64);
            let main = cap as u64 - 20;
            assert!(prot <= main * 8 / 10 + 1, "protected {prot} of main {main}");
            assert!(w <= 20 + 1, "window {w}");
        }
    }
    sim.check();
    let Policy::TinyLfu(p) = &sim.policy else { unreachable!() };
    assert_eq!(p.window_share(), 0.1, "a pinned window stays put");
    let hot = (0..100u64).filter(|k| sim.map.contains_key(&h(*k))).count();
    assert!(hot >= 95, "hot keys resident: {hot}");
    // Scan 10x the capacity of new keys: the hot set stays.
    for k in 1_000_000..1_000_000 + 10 * cap as u64 {
        sim.access(k);
    }
    let hot = (0..100u64).filter(|k| sim.map.contains_key(&h(*k))).count();
    assert!(hot >= 90, "hot keys after the scan: {hot}");
    let mut lru = Sim::new(PolicyKind::Lru, cap);
    for k in 0..100u64 {
        lru.access(k);
    }
    for k in 1_000_000..1_000_000 + 10 * cap as u64 {
        lru.access(k);
    }
    assert_eq!((0..100u64).filter(|k| lru.map.contains_key(&h(*k))).count(), 0, "LRU loses them all");
}

/// The loop that defeats LRU and S3-FIFO (cyclic reads of 2x the capacity
/// score 0 with both) keeps most of a cache's worth of keys under the
/// adaptive policy and W-TinyLFU.
#[test]
fn loops_larger_than_the_cache_still_hit() {
    let cap = 256;
    for (kind, min) in [(PolicyKind::Lru, 0.0), (PolicyKind::S3Fifo, 0.0), (PolicyKind::Adaptive, 0.35), (PolicyKind::TinyLfu, 0.25)] {
        let mut sim = Sim::new(kind, cap);
        let n = 100 * 2 * cap as u64;
        for r in 0..n {
            sim.access(r % (2 * cap as u64));
        }
        let ratio = sim.hits as f64 / n as f64;
        if min == 0.0 {
            assert!(ratio < 0.01, "{kind}: {ratio}");
        } else {
            assert!(ratio >= min, "{kind}: hit ratio {ratio} on a loop of 2x the cache (best possible ~0.5)");
        }
        sim.check();
    }
}

/// Every policy under concurrent use with every core operation (get, set
/// with and without TTL, add, delete, expire, persist, touch, incr, active
/// expiry and a moving clock), with invariant checks (under each shard's
/// lock) while the threads run and after. Both bounds bind: the count
/// (`max_entries`) and the bytes (values up to 300 bytes).
#[test]
fn every_policy_under_concurrency_with_every_operation() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use crate::expiry::ManualClock;
    use crate::{Cache, Config};

    for kind in ALL {
        let clock = Arc::new(ManualClock::new(1));
        let config = Config::builder()
            .policy(kind)
            .shards(2)
            .max_entries(150)
            .max_memory(48 * 1024)
            .max_key_size(32)
            .max_value_size(300)
            .maintenance_ms(0)
            .build()
            .unwrap();
        let cache = Cache::with_clock(config, clock.clone()).unwrap();
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let checker = scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    clock.advance(3);
                    cache.expire_all_due();
                    cache.check_invariants();
                    std::thread::yield_now();
                }
            });
            std::thread::scope(|workers| {
                for t in 0..4u64 {
                    let cache = cache.clone();
                    workers.spawn(move || {
                        let mut rng = XorShift(0x1234_5678 + t);
                        for _ in 0..4_000 {
                            let key = format!("k{}", rng.below(400));
                            let key = key.as_bytes();
                            let ttl = (rng.below(4) == 0).then(|| Duration::from_millis(1 + rng.below(50) as u64));
                            match rng.below(17) {
                                0..=2 => drop(cache.get(key).unwrap()),
                                3..=4 => cache.set(key, &vec![b'v'; rng.below(300)], ttl).unwrap(),
                                5 => drop(cache.add(key, b"a", ttl)),
                                6 => drop(cache.delete(key).unwrap()),
                                7 => drop(cache.expire(key, ttl).unwrap()),
                                8 => drop(cache.persist(key).unwrap()),
                                9 => drop(cache.touch(key).unwrap()),
                                10 => drop(cache.replace(key, &vec![b'r'; rng.below(200)], ttl)),
                                11 => cache.set_with_flags(key, b"f", ttl, 7).unwrap(),
                                // gets makes room for a CAS version while
                                // the entry it reads is set aside.
                                12 => {
                                    if let Some(v) = cache.gets(key).unwrap() {
                                        drop(cache.cas(key, b"c", ttl, v.version));
                                    }
                                }
                                13 => drop(cache.scan(0, Some(b"k1*"), 64).unwrap()),
                                14 if rng.below(50) == 0 => cache.flush(),
                                // Values that are not numbers fail; that is fine.
                                _ => drop(cache.incr(key, 1 + rng.below(5) as i64)),
                            }
                        }
                    });
                }
            });
            done.store(true, Ordering::Relaxed);
            checker.join().unwrap();
        });
        cache.check_invariants();
        let st = cache.stats();
        assert!(st.entries <= 150, "{kind}: {} entries", st.entries);
        assert!(st.used_bytes <= 48 * 1024, "{kind}: {} bytes", st.used_bytes);
        assert!(st.evictions > 0 && st.hits > 0, "{kind}: the run must evict and hit: {st:?}");
        clock.advance(1_000);
        cache.expire_all_due();
        cache.check_invariants();
    }
}

/// Once main holds entries (here: keys read three times at the start),
/// S3-FIFO's small queue is 10 entries. Then every key read twice, 40
/// steps apart, in a cache of 100: exact LRU keeps each key for its second
/// read (50% hits), while the small queue drops it first and the ghost
/// only re-admits it on a miss (about 0%). The adaptive policy's LRU guard
/// sees LRU's lead on its shadow and switches to CLOCK mode.
#[test]
fn lru_guard_catches_a_workload_lru_wins() {
    let cap = 100;
    let run = |kind| {
        let mut sim = Sim::new(kind, cap);
        for _ in 0..3 {
            for k in 0..cap as u64 {
                for _ in 0..3 {
                    sim.access(k);
                }
            }
        }
        sim.hits = 0;
        let steps = 30_000u64;
        for t in 0..steps {
            sim.access(1_000_000 + t);
            if t >= 40 {
                sim.access(1_000_000 + t - 40);
            }
            if t % 1000 == 0 {
                sim.check();
            }
        }
        sim.hits as f64 / (2 * steps) as f64
    };
    let lru = run(PolicyKind::Lru);
    let s3 = run(PolicyKind::S3Fifo);
    let adaptive = run(PolicyKind::Adaptive);
    assert!(lru > 0.49, "lru {lru}");
    assert!(s3 < 0.1, "s3fifo {s3}");
    assert!(adaptive > 0.4, "adaptive {adaptive} (lru {lru})");
}

/// Requirement of the read path: under every policy but exact LRU, a hit
/// writes only the entry's own policy bits (and the sketch): no list link
/// of any entry changes.
#[test]
fn hits_do_no_list_surgery() {
    for kind in [PolicyKind::TinyLfu, PolicyKind::S3Fifo, PolicyKind::Adaptive] {
        let mut sim = Sim::new(kind, 64);
        let mut rng = XorShift(77);
        for _ in 0..5_000 {
            sim.access(rng.below(200) as u64);
        }
        let links = |s: &Sim| s.nodes.iter().map(|n| (n.prev.get(), n.next.get())).collect::<Vec<_>>();
        let before = links(&sim);
        let resident: Vec<u64> = (0..200u64).filter(|k| sim.map.contains_key(&h(*k))).collect();
        for _ in 0..3 {
            for &k in &resident {
                assert!(sim.access(k), "{kind}: resident key must hit");
            }
        }
        assert_eq!(links(&sim), before, "{kind}: a hit moved a list link");
        sim.check();
    }
    // Exact LRU does move the entry (that is its definition).
    let mut sim = Sim::new(PolicyKind::Lru, 8);
    for k in 0..8 {
        sim.access(k);
    }
    let before: Vec<(u32, u32)> = sim.nodes.iter().map(|n| (n.prev.get(), n.next.get())).collect();
    sim.access(0);
    assert_ne!(sim.nodes.iter().map(|n| (n.prev.get(), n.next.get())).collect::<Vec<_>>(), before);
}

#[test]
fn quiet_hits_are_the_saturated_counters_outside_ghost_admissions() {
    use super::s3fifo::{MAIN_GHOSTED, S3Fifo};
    for adaptive in [false, true] {
        let p = S3Fifo::new(adaptive);
        let max_freq = if adaptive { 2 } else { 3 };
        let want = (0..16u16)
            .filter(|b| b & 3 == max_freq && !(adaptive && b >> 2 == u16::from(MAIN_GHOSTED)))
            .fold(0, |m, b| m | 1 << b);
        assert_eq!(p.quiet_hits(), want, "adaptive {adaptive}");
        assert_eq!(want.count_ones(), if adaptive { 3 } else { 4 });
    }
}
