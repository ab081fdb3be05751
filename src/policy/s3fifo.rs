//! S3-FIFO (Yang et al., SOSP '23) and nycache's adaptive variant of it.
//!
//! **S3-FIFO**: a small FIFO queue that new entries pass through, a main
//! FIFO queue with CLOCK-style reinsertion, and a ghost queue of the
//! fingerprints of entries recently evicted from the small one. Most keys in
//! real traces are read once; they enter the small queue (10% of the
//! entries) and leave it without disturbing main. A key read at least twice
//! while in the small queue (as in otter; once was measured worse on OLTP
//! and P3), or seen again while its fingerprint is in the ghost, has shown
//! it is reused and goes to main. A hit only bumps a 2-bit counter in the
//! entry's policy bits: no list is touched on the read path.
//!
//! **Adaptive** (the default policy) adds, each for a measured reason (see
//! `docs/design.md`, "Policies"):
//! * a hill-climbed small-queue share (OLTP at small sizes gains 2 points);
//! * a TinyLFU frequency sketch. An entry leaving the small queue unread is
//!   not simply dropped: it fills main while main is below its share if the
//!   sketch has seen it before, or displaces main's victim if it is clearly
//!   (by more than 2) more frequent. That is what keeps a loop slightly
//!   larger than the cache from scoring 0% as LRU and S3-FIFO do;
//! * a graded ghost: entries the ghost sends to main are marked until first
//!   read. If more of them are evicted unread than read, the ghost's advice
//!   is failing (a loop just longer than the cache plus ghost), and a ghost
//!   hit must then also beat main's oldest entry on frequency;
//! * a ghost of 0.95 x main instead of 1 x (a loop just longer than the cache
//!   again), a 2-bit counter capped at 2, and a small queue within 30%;
//! * an LRU guard (`guard.rs`): a sampled exact-LRU shadow; when LRU is
//!   clearly ahead on it, CLOCK mode (everything in main, main's CLOCK
//!   decides) for a while, then the policy is tried again.

use super::climber::Climber;
use super::ghost::Ghost;
use super::guard::{LruGuard, Verdict};
use super::list::{List, NIL, Slab};
use super::sketch::Sketch;
use super::{PolicyNode, freq, seg, set_freq, set_seg};

const SMALL: u8 = 0;
const MAIN: u8 = 1;
/// Segment mark of a main entry that came in through the ghost and has not
/// been read since (the adaptive variant grades the ghost's advice by it).
pub(crate) const MAIN_GHOSTED: u8 = 3;

/// Initial share of the entries the small queue aims for.
const SMALL_SHARE: f64 = 0.1;
/// A small-queue entry read more than this many times moves to main.
const PROMOTE_ABOVE: u8 = 1;
/// An unread small-queue leaver displaces main's victim only if its
/// frequency estimate is higher by more than this.
const DUEL_MARGIN: u64 = 2;
/// An unread small-queue leaver fills free room in main only if the sketch
/// has counted it at least this often (i.e. it was seen before).
const FILL_MIN_FREQ: u64 = 2;
/// The adaptive variant's small queue stays within this share: above it,
/// OLTP @ 500 and 1000 lose 1 to 2 points to the climber's excursions.
const SMALL_MAX_SHARE: f64 = 0.3;
/// The adaptive variant's ghost, as a share of main's length: 0.98 and
/// above lose loop @ 512 ten points, 0.9 left OLTP @ 1000 bimodal (40.1 or
/// 40.9 by hash seed) and OLTP @ 250 0.3 lower.
const ADAPTIVE_GHOST_SHARE: f64 = 0.95;
/// The adaptive variant's climber judges samples of this many reads per
/// entry: loops and OLTP need long samples to see through their noise.
const CLIMB_SAMPLE: u64 = 40;

/// The S3-FIFO state of one shard.
#[derive(Debug)]
pub(crate) struct S3Fifo {
    small: List,
    main: List,
    n_small: u64,
    n_main: u64,
    ghost: Ghost,
    /// Ghost length as a share of main's.
    ghost_share: f64,
    /// Cap of the 2-bit access counter: 3 (plain), 2 (adaptive: one round
    /// less in main for entries read in a burst; P3 @ 200k +0.2).
    max_freq: u8,
    /// The adaptive variant's frequency sketch (None: plain S3-FIFO).
    sketch: Option<Sketch>,
    /// The small queue's share (fixed unless adaptive).
    climber: Climber,
    /// The most entries seen at once: sizes the sketch and the climber.
    peak: u64,
    /// Ghost admissions read again in main, since the last halving.
    ghost_good: u64,
    /// Ghost admissions evicted from main unread, since the last halving.
    ghost_bad: u64,
    /// The adaptive variant's sampled exact-LRU shadow.
    guard: Option<LruGuard>,
    /// CLOCK mode: the guard saw exact LRU clearly ahead, so every entry
    /// goes to main and main's CLOCK (an approximation of LRU) decides.
    clock_mode: bool,
    /// Guard verdicts left in CLOCK mode before the policy is tried again.
    clock_left: u32,
    /// Verdicts to stay in CLOCK mode next time (doubles up to 64 while
    /// LRU keeps winning, back to 1 once the policy holds its own).
    backoff: u32,
    /// The guard's shadow size (`guard::shadow_for` the shard count).
    max_shadow: u64,
}

impl Default for S3Fifo {
    fn default() -> Self {
        S3Fifo::new(false)
    }
}

impl S3Fifo {
    /// Plain S3-FIFO, or (`adaptive`) nycache's variant.
    pub(crate) fn new(adaptive: bool) -> S3Fifo {
        S3Fifo::with_shards(adaptive, 1)
    }

    /// As `new`, for one shard of `shards` (sizes the LRU guard's shadow).
    pub(crate) fn with_shards(adaptive: bool, shards: usize) -> S3Fifo {
        let mut climber = Climber::new(SMALL_SHARE, 0.0, SMALL_MAX_SHARE, CLIMB_SAMPLE);
        climber.enabled = adaptive;
        S3Fifo {
            small: List::default(),
            main: List::default(),
            n_small: 0,
            n_main: 0,
            ghost: Ghost::default(),
            ghost_share: if adaptive { ADAPTIVE_GHOST_SHARE } else { 1.0 },
            max_freq: if adaptive { 2 } else { 3 },
            sketch: adaptive.then(Sketch::empty),
            climber,
            peak: 0,
            ghost_good: 0,
            ghost_bad: 0,
            guard: None,
            clock_mode: false,
            clock_left: 0,
            backoff: 1,
            max_shadow: super::guard::shadow_for(shards),
        }
    }

    /// Policy-bit values whose read hit changes nothing but read counts
    /// (bit `b` for bits `b`): the access counter saturated and, when
    /// adaptive, not a ghost admission's first read in main.
    pub(crate) fn quiet_hits(&self) -> u16 {
        // Bits `b` with `b & 3 == max_freq` (one per segment), less the
        // ghost admissions' segment when adaptive. Closed form: the writer
        // publishes this after every eviction round.
        let saturated = 0x1111u16 << self.max_freq;
        if self.sketch.is_some() {
            saturated & !(1 << ((MAIN_GHOSTED << 2) | self.max_freq))
        } else {
            saturated
        }
    }

    /// Keys sampled by the LRU guard (top 16 hash bits below this).
    pub(crate) fn sampled_below(&self) -> u64 {
        self.guard.as_ref().map_or(0, LruGuard::threshold)
    }

    /// `n` read hits served without the lock: only the climber's sample
    /// counts them (a quiet hit changes nothing else).
    pub(crate) fn absorb_quiet_hits(&mut self, n: u64) {
        if self.sketch.is_some() {
            self.climber.record_hits(n, self.peak);
        }
    }

    /// The small queue's target for `total` entries (at least 1).
    pub(crate) fn small_target(&self, total: u64) -> u64 {
        ((total as f64 * self.climber.share) as u64).max(1)
    }

    /// A new entry: to main if its key was evicted recently (and, when
    /// adaptive, the ghost is trusted or the key is popular), else to small.
    pub(crate) fn on_insert<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, hash: u64, hash_of: &dyn Fn(&N) -> u64) {
        if let Some(s) = &mut self.sketch {
            s.increment(hash);
        }
        if self.clock_mode {
            set_seg(&nodes[i as usize], MAIN);
            self.main.push_front(nodes, i);
            self.n_main += 1;
        } else if self.ghost.contains(hash) && self.ghost_admits(nodes, hash, hash_of) {
            set_seg(&nodes[i as usize], if self.sketch.is_some() { MAIN_GHOSTED } else { MAIN });
            self.main.push_front(nodes, i);
            self.n_main += 1;
        } else {
            set_seg(&nodes[i as usize], SMALL);
            self.small.push_front(nodes, i);
            self.n_small += 1;
        }
        set_freq(&nodes[i as usize], 0);
        let total = self.n_small + self.n_main;
        if total > self.peak {
            self.peak = total;
            // Grow the sketch with the cache (only while it fills up).
            if let Some(s) = &mut self.sketch
                && total > 2 * s.width()
                && let Some(bigger) = Sketch::try_new(total)
            {
                *s = bigger;
            }
        }
    }

    /// Whether a key found in the ghost goes straight to main: always in
    /// plain S3-FIFO; when adaptive, while the ghost's admissions mostly get
    /// read, or else if the sketch ranks the key above main's oldest entry.
    fn ghost_admits<N: PolicyNode>(&self, nodes: &(impl Slab<N> + ?Sized), hash: u64, hash_of: &dyn Fn(&N) -> u64) -> bool {
        let Some(s) = &self.sketch else { return true };
        if self.ghost_bad <= self.ghost_good + 16 {
            return true;
        }
        let t = self.main.tail();
        t == NIL || s.frequency(hash) > s.frequency(hash_of(&nodes[t as usize]))
    }

    /// A hit: bump the 2-bit counter (saturating at `max_freq`: 3 for plain
    /// S3-FIFO, 2 for the adaptive variant).
    #[inline]
    pub(crate) fn on_hit<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, hash: u64, read: bool) {
        let n = &nodes[i as usize];
        let f = freq(n);
        if f < self.max_freq {
            set_freq(n, f + 1);
        }
        if let Some(s) = &mut self.sketch {
            if seg(n) == MAIN_GHOSTED && read {
                set_seg(n, MAIN);
                self.ghost_good += 1;
            }
            // A hit on an entry whose counter is already saturated is not
            // counted in the sketch: the entry is safe in this CLOCK round
            // anyway, and skipping the sketch's cache misses on the hottest
            // keys is most of the hit path's cost (get-hit throughput +25%).
            if f < self.max_freq {
                s.increment(hash);
            }
            // Only reads grade the ghost and feed the climber and the
            // guard: they judge the hit ratio, and a write is no read hit.
            if read {
                self.climber.record(true, self.peak);
                self.guard_record(hash, true);
            }
        }
    }

    /// A read that found nothing (feeds the adaptive variant's climber and
    /// LRU guard).
    #[inline]
    pub(crate) fn on_miss(&mut self, hash: u64) {
        if self.sketch.is_some() {
            self.climber.record(false, self.peak);
            self.guard_record(hash, false);
        }
    }

    /// Feeds a sampled read to the LRU guard and acts on its verdict: LRU
    /// clearly ahead switches to CLOCK mode for `backoff` verdicts, after
    /// which the policy is tried again. The sample test is inlined into
    /// every read; the rest (a sampled read, one in
    /// `1024 / capacity` above 1024 entries) stays out of line.
    #[inline(always)]
    fn guard_record(&mut self, hash: u64, hit: bool) {
        if self.guard.as_ref().is_some_and(|g| g.sampled(hash)) {
            self.guard_record_sampled(hash, hit);
        }
    }

    #[inline(never)]
    fn guard_record_sampled(&mut self, hash: u64, hit: bool) {
        let Some(g) = &mut self.guard else { return };
        let verdict = g.record(hash, hit);
        if verdict == Verdict::Pending {
            return;
        }
        if self.clock_mode {
            self.clock_left = self.clock_left.saturating_sub(1);
            if self.clock_left == 0 {
                self.clock_mode = false;
            }
        } else if matches!(verdict, Verdict::LruAhead(_)) {
            self.clock_mode = true;
            self.clock_left = self.backoff;
            self.backoff = (self.backoff * 2).min(64);
        } else {
            self.backoff = 1;
        }
    }

    /// The entry leaves; an eviction from the small queue leaves its
    /// fingerprint in the ghost queue.
    pub(crate) fn on_remove<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, hash: u64, evicted: bool) {
        let s = seg(&nodes[i as usize]);
        if s == SMALL {
            self.small.unlink(nodes, i);
            self.n_small -= 1;
            if evicted {
                self.ghost.push(hash);
            }
        } else {
            if s == MAIN_GHOSTED && evicted {
                self.ghost_bad += 1;
            }
            self.main.unlink(nodes, i);
            self.n_main -= 1;
        }
    }

    /// Takes the entry out of its queue (keeping its marks) while it must
    /// not be evicted.
    pub(crate) fn detach<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        if seg(&nodes[i as usize]) == SMALL {
            self.small.unlink(nodes, i);
            self.n_small -= 1;
        } else {
            self.main.unlink(nodes, i);
            self.n_main -= 1;
        }
    }

    /// Puts a detached entry back at the head of its queue.
    pub(crate) fn reattach<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        if seg(&nodes[i as usize]) == SMALL {
            self.small.push_front(nodes, i);
            self.n_small += 1;
        } else {
            self.main.push_front(nodes, i);
            self.n_main += 1;
        }
    }

    /// The next entry to evict, after promoting reused small entries to
    /// main and giving reused main entries another round.
    pub(crate) fn victim<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), hash_of: &dyn Fn(&N) -> u64) -> u32 {
        let total = self.n_small + self.n_main;
        if total == 0 {
            return NIL;
        }
        let small_target = self.small_target(total);
        let main_target = total - small_target.min(total);
        // The ghost remembers a share of main's length.
        let ghost_cap = (main_target as f64 * self.ghost_share) as usize;
        if self.ghost.cap() != ghost_cap {
            self.ghost.set_cap(ghost_cap);
        }
        if self.sketch.is_some() && self.guard.as_ref().is_none_or(|g| total > g.capacity() + g.capacity() / 8) {
            self.guard = Some(LruGuard::with_shadow(total, self.max_shadow));
        }
        if self.clock_mode {
            // Fold the small queue into main (every call while it holds
            // entries; it empties on the first), then CLOCK.
            while self.n_small > 0 {
                let t = self.small.tail();
                self.move_to_main(nodes, t);
            }
            return self.main_victim(nodes);
        }
        // Old verdicts on the ghost fade, so a change of workload shows.
        if self.ghost_good + self.ghost_bad > total.max(64) {
            self.ghost_good /= 2;
            self.ghost_bad /= 2;
        }
        loop {
            if self.n_small >= small_target || self.n_main == 0 {
                let t = self.small.tail();
                if freq(&nodes[t as usize]) > PROMOTE_ABOVE {
                    // Reused while in the small queue: keep it, in main.
                    self.move_to_main(nodes, t);
                    continue;
                }
                if let Some(sketch) = &self.sketch
                    && self.n_small > 1
                {
                    let tf = sketch.frequency(hash_of(&nodes[t as usize]));
                    if self.n_main < main_target && tf >= FILL_MIN_FREQ {
                        // Main has room and the key was seen before.
                        self.move_to_main(nodes, t);
                        continue;
                    }
                    // Main's CLOCK hand turns whatever the duel's outcome
                    // (its rotation is part of the policy's state), but a
                    // candidate at or under the margin cannot win (the
                    // victim's estimate is >= 0): skip the victim's key hash
                    // and sketch lookup then. Under churn most candidates
                    // are new keys (estimate 0 or 1), so this is most duels.
                    let v = self.main_victim(nodes);
                    let sketch = self.sketch.as_ref().expect("adaptive");
                    if v != NIL && tf > DUEL_MARGIN && tf > sketch.frequency(hash_of(&nodes[v as usize])) + DUEL_MARGIN {
                        self.move_to_main(nodes, t);
                        return v;
                    }
                }
                return t;
            }
            return self.main_victim(nodes);
        }
    }

    fn move_to_main<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), t: u32) {
        self.small.unlink(nodes, t);
        self.n_small -= 1;
        set_seg(&nodes[t as usize], MAIN);
        set_freq(&nodes[t as usize], 0);
        self.main.push_front(nodes, t);
        self.n_main += 1;
    }

    /// Main's CLOCK hand: entries read since they last passed get another
    /// round (their counter decremented); the first unread one is returned.
    fn main_victim<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized)) -> u32 {
        loop {
            let t = self.main.tail();
            if t == NIL {
                return NIL;
            }
            let f = freq(&nodes[t as usize]);
            if f > 0 {
                set_freq(&nodes[t as usize], f - 1);
                self.main.move_to_front(nodes, t);
                continue;
            }
            return t;
        }
    }

    /// Forgets every entry and the ghost.
    pub(crate) fn clear(&mut self) {
        let max_shadow = self.max_shadow;
        *self = S3Fifo::new(self.sketch.is_some());
        // The guard's shadow size stays what the shard count made it.
        self.max_shadow = max_shadow;
    }

    /// Checks queue lengths against the lists and the ghost bound (tests).
    #[cfg(test)]
    pub(crate) fn check<N: PolicyNode>(&self, nodes: &(impl Slab<N> + ?Sized)) -> u64 {
        let ns = super::check_list(&self.small, nodes, SMALL, 3);
        let nm = super::check_list(&self.main, nodes, MAIN, 1);
        assert_eq!((ns, nm), (self.n_small, self.n_main));
        self.ghost.check();
        ns + nm
    }

    /// (small, main, ghost) lengths and the ghost's bound, for tests.
    #[cfg(test)]
    pub(crate) fn lens(&self) -> (u64, u64, usize, usize) {
        (self.n_small, self.n_main, self.ghost.len(), self.ghost.cap())
    }
}
