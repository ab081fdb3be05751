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

use super::ghost::Ghost;
use super::list::List;
use super::{PolicyNode, freq, seg, set_freq, set_seg};

const SMALL: u8 = 0;
const MAIN: u8 = 1;

/// The S3-FIFO state of one shard.
#[derive(Debug, Default)]
pub(crate) struct S3Fifo {
    small: List,
    main: List,
    n_small: u64,
    n_main: u64,
    ghost: Ghost,
}

impl S3Fifo {
    /// Share of the entries the small queue aims for, in percent.
    pub(crate) const SMALL_PERCENT: u64 = 10;

    /// The small queue's target for `total` entries (at least 1).
    pub(crate) fn small_target(total: u64) -> u64 {
        (total * Self::SMALL_PERCENT / 100).max(1)
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
    }

    /// A hit: bump the 2-bit counter (saturating at 3).
    #[inline]
    pub(crate) fn on_hit<N: PolicyNode>(&mut self, nodes: &mut [N], i: u32) {
        let n = &mut nodes[i as usize];
        let f = freq(n);
        if f < 3 {
            set_freq(n, f + 1);
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
    pub(crate) fn victim<N: PolicyNode>(&mut self, nodes: &mut [N]) -> u32 {
        let total = self.n_small + self.n_main;
        if total == 0 {
            return super::list::NIL;
        }
        let small_target = Self::small_target(total);
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
                return t;
            }
            let t = self.main.tail();
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
        *self = S3Fifo::default();
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
