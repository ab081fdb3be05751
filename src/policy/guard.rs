//! The adaptive policy's LRU guard: a sampled shadow of exact LRU that
//! tells when plain recency would beat the policy by a clear margin.
//!
//! Keys are sampled by hash (SHARDS-style spatial sampling): a key is in
//! the sample if the top 16 bits of its hash fall under a threshold, and
//! the shadow LRU holds the same share of the capacity. Its hit ratio over
//! the sampled keys estimates what exact LRU would score on the whole
//! stream; the policy's own hits and misses on the same sampled keys are
//! counted beside it. The shadow holds at most `MAX_SHADOW` fingerprints
//! (about 32 bytes each), so its cost is bounded whatever the cache size.

use std::cell::Cell;

use hashbrown::HashMap;

use super::list::{Linked, List, NIL};

/// Most entries a shadow holds (and so the fewest sampled per capacity).
const MAX_SHADOW: u64 = 1024;
/// The fewest a shadow holds when a cache's shards share `MAX_SHADOW`.
const MIN_SHADOW: u64 = 64;

/// The shadow size for one of `shards` shards: together they sample about
/// as many keys as one guard over the whole cache would. Per shard, the
/// whole budget would sample most keys of a small shard, and a sampled
/// key's reads must take the shard's lock (see `engine::read`); a single
/// shard (the hit-ratio simulator's) keeps the full shadow.
pub(crate) fn shadow_for(shards: usize) -> u64 {
    (MAX_SHADOW / shards.max(1) as u64).max(MIN_SHADOW)
}

struct Slot {
    prev: Cell<u32>,
    next: Cell<u32>,
    hash: u64,
}

impl Linked for Slot {
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

/// A sampled exact-LRU shadow and the two hit counts it is compared on.
pub(crate) struct LruGuard {
    /// Sample threshold on the top 16 bits of the hash (65536 = all keys).
    threshold: u64,
    cap: u64,
    slots: Vec<Slot>,
    map: HashMap<u64, u32, foldhash::fast::RandomState>,
    order: List,
    /// Sampled reads since the last verdict, and the hits of each side.
    reads: u64,
    lru_hits: u64,
    own_hits: u64,
}

impl std::fmt::Debug for LruGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LruGuard").field("cap", &self.cap).field("reads", &self.reads).finish()
    }
}

/// What a verdict says, after enough sampled reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    /// Not enough reads yet.
    Pending,
    /// Exact LRU would have hit this much more often (in points).
    LruAhead(f64),
    /// The policy did at least about as well as LRU.
    PolicyOk,
}

impl LruGuard {
    /// A guard for a cache of `capacity` entries.
    #[cfg(test)]
    pub(crate) fn new(capacity: u64) -> LruGuard {
        LruGuard::with_shadow(capacity, MAX_SHADOW)
    }

    /// A guard whose shadow holds at most `max_shadow` entries.
    pub(crate) fn with_shadow(capacity: u64, max_shadow: u64) -> LruGuard {
        let capacity = capacity.max(1);
        let threshold = if capacity <= max_shadow { 65_536 } else { (65_536 * max_shadow).div_ceil(capacity) };
        let cap = (capacity * threshold / 65_536).max(1);
        LruGuard {
            threshold,
            cap,
            slots: Vec::new(),
            map: HashMap::with_hasher(Default::default()),
            order: List::default(),
            reads: 0,
            lru_hits: 0,
            own_hits: 0,
        }
    }

    /// The entries this guard was sized for.
    pub(crate) fn capacity(&self) -> u64 {
        self.cap * 65_536 / self.threshold
    }

    /// Keys whose hash has its top 16 bits below this are in the sample.
    pub(crate) fn threshold(&self) -> u64 {
        self.threshold
    }

    /// True if the key (by hash) is in the sample.
    #[inline]
    pub(crate) fn sampled(&self, hash: u64) -> bool {
        (hash >> 48) < self.threshold
    }

    /// A sampled read: `hit` says whether the policy hit. Returns
    /// `LruAhead` as soon as LRU's lead is clear (more than 1% of the reads
    /// plus three standard deviations of a fair coin, once the shadow has
    /// had time to fill), `PolicyOk` after `16 x shadow capacity` sampled
    /// reads (at least 1024) without such a lead; both start a new count.
    pub(crate) fn record(&mut self, hash: u64, hit: bool) -> Verdict {
        self.reads += 1;
        self.own_hits += u64::from(hit);
        if let Some(&i) = self.map.get(&hash) {
            self.lru_hits += 1;
            self.order.move_to_front(&self.slots, i);
        } else {
            let i = if self.map.len() as u64 >= self.cap {
                let t = self.order.tail();
                self.order.unlink(&self.slots, t);
                self.map.remove(&self.slots[t as usize].hash);
                self.slots[t as usize].hash = hash;
                t
            } else {
                self.slots.push(Slot { prev: NIL.into(), next: NIL.into(), hash });
                (self.slots.len() - 1) as u32
            };
            self.map.insert(hash, i);
            self.order.push_front(&self.slots, i);
        }
        let n = self.reads as f64;
        let lead = self.lru_hits as f64 - self.own_hits as f64;
        let verdict = if self.reads >= 2 * self.cap && lead > 0.01 * n + 3.0 * n.sqrt() {
            Verdict::LruAhead(100.0 * lead / n)
        } else if self.reads >= (16 * self.cap).max(1024) {
            Verdict::PolicyOk
        } else {
            return Verdict::Pending;
        };
        self.reads = 0;
        self.lru_hits = 0;
        self.own_hits = 0;
        verdict
    }

    /// Entries in the shadow (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The shadow's bound (tests).
    #[cfg(test)]
    pub(crate) fn cap(&self) -> u64 {
        self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(k: u64) -> u64 {
        let x = (k ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^ (x >> 29)
    }

    /// Small caches are shadowed whole; large ones by a sample whose
    /// shadow stays within MAX_SHADOW, at the same share of the capacity.
    #[test]
    fn shadow_is_bounded_and_scaled() {
        let g = LruGuard::new(500);
        assert_eq!((g.cap(), g.threshold), (500, 65_536));
        let g = LruGuard::new(1_000_000);
        assert!(g.cap() <= MAX_SHADOW + MAX_SHADOW / 32 && g.cap() >= MAX_SHADOW, "{}", g.cap());
        let sampled = (0..100_000u64).filter(|k| g.sampled(h(*k))).count();
        let want = 100_000.0 * g.threshold as f64 / 65_536.0;
        assert!((sampled as f64 - want).abs() < want * 0.2, "{sampled} vs {want}");
    }

    /// The shadow is an exact LRU: a loop that fits hits after one pass,
    /// one that does not never hits; the verdict compares it with the
    /// policy's own hits.
    #[test]
    fn shadow_is_exact_lru_and_verdicts_compare() {
        let mut g = LruGuard::new(100);
        let mut verdicts = vec![];
        for r in 0..8192u64 {
            let v = g.record(h(r % 100), false);
            if v != Verdict::Pending {
                verdicts.push(v);
            }
        }
        assert_eq!(g.len(), 100);
        // LRU hits everything after the first 100 reads, the "policy"
        // never: the lead is clear as soon as the shadow had 2 x 100 reads.
        assert!(verdicts.len() > 10, "{verdicts:?}");
        assert!(verdicts.iter().all(|v| matches!(v, Verdict::LruAhead(a) if *a > 40.0)), "{verdicts:?}");
        let mut g = LruGuard::new(100);
        let mut seen = vec![];
        for r in 0..4096u64 {
            let v = g.record(h(r % 101), true);
            if v != Verdict::Pending {
                seen.push(v);
            }
        }
        assert_eq!(seen, vec![Verdict::PolicyOk; 2], "a loop of 101 never hits in an LRU of 100");
    }
}
