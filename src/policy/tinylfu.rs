//! W-TinyLFU (Einziger, Friedman & Manes, 2017), the design of Caffeine: a
//! small LRU "window" that new entries enter, in front of a segmented LRU
//! main space (probation and protected lists), and an admission filter
//! between the two: an entry leaving the window only displaces main's victim
//! if the frequency sketch says it is the more popular of the two.
//!
//! Departures from the textbook version, and why:
//! * A hit sets an access bit in the entry's policy bits and increments the
//!   sketch; it moves nothing. Each list is a CLOCK approximation of LRU:
//!   its tail, when examined, is given another round if its bit is set (and
//!   a probation entry with its bit set is promoted to protected then). So
//!   the read path does no list surgery.
//! * The window's share is adapted by hill climbing (as Caffeine does): every
//!   sample of `10 x capacity` requests, the window moves one step in the
//!   direction that raised the hit ratio, with a step that decays, and that
//!   restarts when the hit ratio jumps (a new workload phase).
//! * A candidate that loses on frequency but is fairly popular (>= 6) is
//!   admitted with probability 1/128: an attacker who floods the sketch to
//!   pin a victim cannot keep the cache closed to everything else.

use super::climber::Climber;
use super::list::{List, NIL, Slab};
use super::sketch::Sketch;
use super::{PolicyNode, freq, seg, set_freq, set_seg};

const WINDOW: u8 = 0;
const PROBATION: u8 = 1;
const PROTECTED: u8 = 2;

/// Protected list's share of the main space.
const PROTECTED_SHARE: f64 = 0.8;
/// Candidates at least this popular may win a lost duel at random.
const JITTER_MIN_FREQ: u64 = 6;

/// The W-TinyLFU state of one shard.
#[derive(Debug)]
pub(crate) struct TinyLfu {
    lists: [List; 3],
    counts: [u64; 3],
    sketch: Sketch,
    /// Tunes the window's share of the entries, in [0, 1].
    climber: Climber,
    /// The most entries seen at once: the capacity the sketch and the
    /// climber's sample are sized for.
    peak: u64,
    rng: u64,
}

impl TinyLfu {
    /// An empty policy; `seed` drives the admission jitter (0 disables it).
    pub(crate) fn new(seed: u64) -> TinyLfu {
        TinyLfu {
            lists: [List::default(); 3],
            counts: [0; 3],
            sketch: Sketch::empty(),
            climber: Climber::new(0.01, 0.0, 1.0, 10),
            peak: 0,
            rng: seed,
        }
    }

    /// Pins the window share and stops the climber (tests and experiments).
    #[cfg(test)]
    pub(crate) fn fix_window(&mut self, share: f64) {
        self.climber.share = share;
        self.climber.enabled = false;
    }

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The window share now (tests).
    #[cfg(test)]
    pub(crate) fn window_share(&self) -> f64 {
        self.climber.share
    }

    fn record(&mut self, hash: u64) {
        self.sketch.increment(hash);
    }

    /// A new entry enters the window.
    pub(crate) fn on_insert<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, hash: u64) {
        let n = &nodes[i as usize];
        set_seg(n, WINDOW);
        set_freq(n, 0);
        self.lists[WINDOW as usize].push_front(nodes, i);
        self.counts[WINDOW as usize] += 1;
        let total = self.total();
        // While the cache fills, keep the window at its share one entry per
        // insert (a hit tail gets its second chance first). Left to the
        // first eviction, the whole backlog (almost every entry) moved to
        // probation in one call: milliseconds under the shard lock.
        let window_cap = ((total as f64 * self.climber.share) as u64).clamp(1, total);
        if self.counts[WINDOW as usize] > window_cap {
            let c = self.lists[WINDOW as usize].tail();
            if freq(&nodes[c as usize]) != 0 {
                set_freq(&nodes[c as usize], 0);
                self.lists[WINDOW as usize].move_to_front(nodes, c);
            } else {
                self.move_to(nodes, c, PROBATION);
            }
        }
        if total > self.peak {
            self.peak = total;
            // Grow the sketch with the cache (only while it fills up).
            if total > 2 * self.sketch.width()
                && let Some(bigger) = Sketch::try_new(total)
            {
                self.sketch = bigger;
            }
        }
        self.record(hash);
    }

    /// A hit: set the access bit and count the key.
    #[inline]
    pub(crate) fn on_hit<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, hash: u64, read: bool) {
        set_freq(&nodes[i as usize], 1);
        self.record(hash);
        if read {
            self.climber.record(true, self.peak);
        }
    }

    /// A read that found nothing: only the climber's sample counts it.
    #[inline]
    pub(crate) fn on_miss(&mut self) {
        self.climber.record(false, self.peak);
    }

    /// The entry leaves.
    pub(crate) fn on_remove<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        let s = seg(&nodes[i as usize]) as usize;
        self.lists[s].unlink(nodes, i);
        self.counts[s] -= 1;
    }

    /// Takes the entry out of its list (keeping its marks) while it must
    /// not be evicted.
    pub(crate) fn detach<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        self.on_remove(nodes, i);
    }

    /// Puts a detached entry back at the head of its list.
    pub(crate) fn reattach<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        let s = seg(&nodes[i as usize]) as usize;
        self.lists[s].push_front(nodes, i);
        self.counts[s] += 1;
    }

    fn move_to<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, to: u8) {
        let from = seg(&nodes[i as usize]);
        self.lists[from as usize].unlink(nodes, i);
        self.counts[from as usize] -= 1;
        set_seg(&nodes[i as usize], to);
        set_freq(&nodes[i as usize], 0);
        self.lists[to as usize].push_front(nodes, i);
        self.counts[to as usize] += 1;
    }

    /// Main's next victim: probation's CLOCK tail, after promoting the
    /// entries of its tail that were hit (and demoting protected's overflow
    /// back to probation).
    fn main_victim<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), main_cap: u64) -> u32 {
        let protected_cap = (main_cap as f64 * PROTECTED_SHARE) as u64;
        loop {
            let p = self.lists[PROBATION as usize].tail();
            if p == NIL {
                // Everything in main is protected: its CLOCK tail goes.
                let t = self.lists[PROTECTED as usize].tail();
                if t == NIL {
                    return NIL;
                }
                if freq(&nodes[t as usize]) != 0 {
                    set_freq(&nodes[t as usize], 0);
                    self.lists[PROTECTED as usize].move_to_front(nodes, t);
                    // One full turn clears every bit, so this ends.
                    if self.counts[PROTECTED as usize] > 1 {
                        continue;
                    }
                }
                return t;
            }
            if freq(&nodes[p as usize]) == 0 {
                return p;
            }
            self.move_to(nodes, p, PROTECTED);
            while self.counts[PROTECTED as usize] > protected_cap.max(1) {
                let t = self.lists[PROTECTED as usize].tail();
                if freq(&nodes[t as usize]) != 0 && self.counts[PROTECTED as usize] > 1 {
                    set_freq(&nodes[t as usize], 0);
                    self.lists[PROTECTED as usize].move_to_front(nodes, t);
                    continue;
                }
                self.move_to(nodes, t, PROBATION);
            }
        }
    }

    fn admit(&mut self, candidate: u64, victim: u64) -> bool {
        let (c, v) = (self.sketch.frequency(candidate), self.sketch.frequency(victim));
        if c > v {
            return true;
        }
        if c >= JITTER_MIN_FREQ && self.rng != 0 {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            return self.rng & 127 == 0;
        }
        false
    }

    /// The next entry to evict. Window overflow goes to main while main has
    /// room; once it is full, each entry leaving the window duels main's
    /// victim and the less frequent of the two is returned.
    pub(crate) fn victim<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), hash_of: &dyn Fn(&N) -> u64) -> u32 {
        let total = self.total();
        if total == 0 {
            return NIL;
        }
        // The caller evicts *before* it inserts, and the new entry will
        // join the window: a window at its target now overflows then, so
        // its tail is the admission candidate.
        let window_cap = ((total as f64 * self.climber.share) as u64).clamp(1, total);
        let main_cap = total - window_cap;
        loop {
            let w = self.counts[WINDOW as usize];
            let main_len = self.counts[PROBATION as usize] + self.counts[PROTECTED as usize];
            if w == 0 || (w < window_cap && main_len > 0) {
                return self.main_victim(nodes, main_cap);
            }
            let c = self.lists[WINDOW as usize].tail();
            if freq(&nodes[c as usize]) != 0 && w > 1 {
                set_freq(&nodes[c as usize], 0);
                self.lists[WINDOW as usize].move_to_front(nodes, c);
                continue;
            }
            if w > window_cap || main_len == 0 {
                // Main has room for the window's surplus: no duel.
                self.move_to(nodes, c, PROBATION);
                continue;
            }
            let v = self.main_victim(nodes, main_cap);
            if self.admit(hash_of(&nodes[c as usize]), hash_of(&nodes[v as usize])) {
                self.move_to(nodes, c, PROBATION);
                return v;
            }
            return c;
        }
    }

    /// Forgets every entry (the sketch and the window share too).
    pub(crate) fn clear(&mut self) {
        let climber = self.climber.enabled;
        *self = TinyLfu::new(self.rng);
        self.climber.enabled = climber;
    }

    /// Checks list lengths and segment marks (tests); returns the entries.
    #[cfg(test)]
    pub(crate) fn check<N: PolicyNode>(&self, nodes: &(impl Slab<N> + ?Sized)) -> u64 {
        let mut total = 0;
        for s in [WINDOW, PROBATION, PROTECTED] {
            let n = super::check_list(&self.lists[s as usize], nodes, s, 3);
            assert_eq!(n, self.counts[s as usize]);
            total += n;
        }
        assert!((0.0..=1.0).contains(&self.climber.share));
        total
    }

    /// (window, probation, protected) lengths, for tests.
    #[cfg(test)]
    pub(crate) fn lens(&self) -> [u64; 3] {
        self.counts
    }
}
