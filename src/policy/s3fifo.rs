//! S3-FIFO (Yang et al., SOSP '23): a small FIFO queue that new entries pass
//! through, a main FIFO queue with CLOCK-style reinsertion, and a ghost
//! queue of the fingerprints of entries recently evicted from the small one.
//!
//! Why it works: most keys in real traces are read once; they enter the
//! small queue (10% of the entries) and leave it quickly without disturbing
//! the main queue. A key read again while in the small queue, or seen again
//! while its fingerprint is in the ghost queue, has shown it is reused and
//! goes to the main queue. A hit only bumps a 2-bit counter in the entry's
//! policy bits: no list is touched on the read path.

use super::climber::Climber;
use super::ghost::Ghost;
use super::list::{List, NIL};
use super::sketch::Sketch;
use super::{PolicyNode, freq, seg, set_freq, set_seg};

const SMALL: u8 = 0;
const MAIN: u8 = 1;

/// The S3-FIFO state of one shard.
#[derive(Debug)]
pub(crate) struct S3Fifo {
    small: List,
    main: List,
    n_small: u64,
    n_main: u64,
    ghost: Ghost,
    /// The adaptive variant's frequency sketch: an entry leaving the small
    /// queue unread may still displace main's victim if it is more popular.
    sketch: Option<Sketch>,
    /// The small queue's share (fixed at 10% unless adaptive).
    climber: Climber,
    peak: u64,
}

impl Default for S3Fifo {
    fn default() -> Self {
        S3Fifo::new(false)
    }
}

impl S3Fifo {
    /// Share of the entries the small queue aims for, in percent.
    pub(crate) const SMALL_PERCENT: u64 = 10;

    /// Plain S3-FIFO, or (`adaptive`) the variant with TinyLFU admission
    /// from small to main and a hill-climbed small queue.
    pub(crate) fn new(adaptive: bool) -> S3Fifo {
        let mut climber = Climber::new(Self::SMALL_PERCENT as f64 / 100.0, 0.0, 0.9);
        climber.enabled = adaptive;
        S3Fifo {
            small: List::default(),
            main: List::default(),
            n_small: 0,
            n_main: 0,
            ghost: Ghost::default(),
            sketch: adaptive.then(|| Sketch::new(64)),
            climber,
            peak: 0,
        }
    }

    /// The small queue's target for `total` entries (at least 1).
    pub(crate) fn small_target(&self, total: u64) -> u64 {
        ((total as f64 * self.climber.share) as u64).max(1)
    }

    /// A new entry: to main if its key was evicted recently, else to small.
    pub(crate) fn on_insert<N: PolicyNode>(&mut self, nodes: &mut [N], i: u32, hash: u64) {
        if self.ghost.contains(hash) {
            set_seg(&mut nodes[i as usize], MAIN);
            self.main.push_front(nodes, i);
            self.n_main += 1;
        } else {
            set_seg(&mut nodes[i as usize], SMALL);
            self.small.push_front(nodes, i);
            self.n_small += 1;
        }
        set_freq(&mut nodes[i as usize], 0);
        let total = self.n_small + self.n_main;
        if total > self.peak {
            self.peak = total;
            if let Some(s) = &mut self.sketch
                && total > 2 * s.width()
            {
                *s = Sketch::new(total);
            }
        }
        if let Some(s) = &mut self.sketch {
            s.increment(hash);
        }
    }

    /// A hit: bump the 2-bit counter (saturating at 3).
    #[inline]
    pub(crate) fn on_hit<N: PolicyNode>(&mut self, nodes: &mut [N], i: u32, hash: u64) {
        let n = &mut nodes[i as usize];
        let f = freq(n);
        if f < 3 {
            set_freq(n, f + 1);
        }
        if let Some(s) = &mut self.sketch {
            s.increment(hash);
            self.climber.record(true, self.peak);
        }
    }

    /// A read that found nothing (feeds the adaptive variant's climber).
    #[inline]
    pub(crate) fn on_miss(&mut self) {
        if self.sketch.is_some() {
            self.climber.record(false, self.peak);
        }
    }

    /// The entry leaves; an eviction from the small queue leaves its
    /// fingerprint in the ghost queue.
    pub(crate) fn on_remove<N: PolicyNode>(&mut self, nodes: &mut [N], i: u32, hash: u64, evicted: bool) {
        if seg(&nodes[i as usize]) == SMALL {
            self.small.unlink(nodes, i);
            self.n_small -= 1;
            if evicted {
                self.ghost.push(hash);
            }
        } else {
            self.main.unlink(nodes, i);
            self.n_main -= 1;
        }
    }

    /// The next entry to evict, after promoting reused small entries to
    /// main and giving reused main entries another round.
    pub(crate) fn victim<N: PolicyNode>(&mut self, nodes: &mut [N], hash_of: &dyn Fn(&N) -> u64) -> u32 {
        let total = self.n_small + self.n_main;
        if total == 0 {
            return NIL;
        }
        let small_target = self.small_target(total);
        // The ghost remembers about as many keys as the main queue holds.
        if self.ghost.cap() as u64 != total - small_target.min(total) {
            self.ghost.set_cap((total - small_target.min(total)) as usize);
        }
        loop {
            if self.n_small >= small_target || self.n_main == 0 {
                let t = self.small.tail();
                if freq(&nodes[t as usize]) > 0 {
                    // Reused while in the small queue: keep it, in main.
                    self.small.unlink(nodes, t);
                    self.n_small -= 1;
                    set_seg(&mut nodes[t as usize], MAIN);
                    set_freq(&mut nodes[t as usize], 0);
                    self.main.push_front(nodes, t);
                    self.n_main += 1;
                    continue;
                }
                if self.sketch.is_some() && self.n_small > 1 {
                    if self.n_main < total - small_target {
                        // Main has room: fill it rather than lose the entry.
                        self.to_main(nodes, t);
                        continue;
                    }
                    let v = self.main_victim(nodes);
                    let sketch = self.sketch.as_ref().expect("adaptive");
                    if v != NIL && sketch.frequency(hash_of(&nodes[t as usize])) > sketch.frequency(hash_of(&nodes[v as usize])) {
                        self.to_main(nodes, t);
                        return v;
                    }
                }
                return t;
            }
            return self.main_victim(nodes);
        }
    }

    fn to_main<N: PolicyNode>(&mut self, nodes: &mut [N], t: u32) {
        self.small.unlink(nodes, t);
        self.n_small -= 1;
        set_seg(&mut nodes[t as usize], MAIN);
        set_freq(&mut nodes[t as usize], 0);
        self.main.push_front(nodes, t);
        self.n_main += 1;
    }

    /// Main's CLOCK hand: entries read since they last passed get another
    /// round (their counter decremented); the first unread one is returned.
    fn main_victim<N: PolicyNode>(&mut self, nodes: &mut [N]) -> u32 {
        loop {
            let t = self.main.tail();
            if t == NIL {
                return NIL;
            }
            let f = freq(&nodes[t as usize]);
            if f > 0 {
                set_freq(&mut nodes[t as usize], f - 1);
                self.main.move_to_front(nodes, t);
                continue;
            }
            return t;
        }
    }

    /// Forgets every entry and the ghost.
    pub(crate) fn clear(&mut self) {
        *self = S3Fifo::new(self.sketch.is_some());
    }

    /// Checks queue lengths against the lists and the ghost bound (tests).
    #[cfg(test)]
    pub(crate) fn check<N: PolicyNode>(&self, nodes: &[N]) -> u64 {
        let ns = super::check_list(&self.small, nodes, SMALL);
        let nm = super::check_list(&self.main, nodes, MAIN);
        assert_eq!((ns, nm), (self.n_small, self.n_main));
        self.ghost.check();
        assert!(self.ghost.len() <= self.ghost.cap());
        ns + nm
    }

    /// (small, main, ghost) lengths, for tests.
    #[cfg(test)]
    pub(crate) fn lens(&self) -> (u64, u64, usize) {
        (self.n_small, self.n_main, self.ghost.len())
    }
}
