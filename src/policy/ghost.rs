//! A ghost queue: 32-bit fingerprints (the low half of the key hash, which
//! varies within a shard; the shard is picked by bits 32..) of recently
//! evicted entries,
//! in FIFO order, with a bounded length. It remembers that a key was here
//! without keeping the key or its value, so a policy can tell "evicted a
//! moment ago and wanted again" (a sign it was evicted too early) from "new".

use std::collections::VecDeque;

use hashbrown::HashMap;

/// FIFO of at most `cap` fingerprints, with O(1) membership. About 14
/// bytes per fingerprint (4 in the queue, ~10 in the count map); a false
/// "recently evicted" needs a 32-bit collision among at most `cap` keys.
#[derive(Debug, Default)]
pub(crate) struct Ghost {
    fifo: VecDeque<u32>,
    /// How many times each fingerprint is in `fifo` (a key evicted twice
    /// within the window is queued twice and stays until both leave).
    count: HashMap<u32, u32, foldhash::fast::RandomState>,
    cap: usize,
}

impl Ghost {
    /// Sets the bound, dropping the oldest fingerprints beyond it.
    pub(crate) fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
        self.trim();
    }

    fn trim(&mut self) {
        while self.fifo.len() > self.cap {
            let Some(old) = self.fifo.pop_front() else { break };
            if let hashbrown::hash_map::Entry::Occupied(mut e) = self.count.entry(old) {
                *e.get_mut() -= 1;
                if *e.get() == 0 {
                    e.remove();
                }
            }
        }
    }

    /// Remembers an evicted key, by its hash.
    pub(crate) fn push(&mut self, hash: u64) {
        if self.cap == 0 {
            return;
        }
        let fp = hash as u32;
        // The ghost only advises: when its memory cannot grow, it forgets
        // this key rather than abort the host under the shard lock.
        if self.fifo.try_reserve(1).is_err() || self.count.try_reserve(1).is_err() {
            return;
        }
        self.fifo.push_back(fp);
        *self.count.entry(fp).or_insert(0) += 1;
        self.trim();
    }

    /// True if the key (by its hash) was evicted recently.
    pub(crate) fn contains(&self, hash: u64) -> bool {
        self.count.contains_key(&(hash as u32))
    }

    /// Fingerprints held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.fifo.len()
    }

    /// The bound.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Checks the count map agrees with the queue (tests only).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        assert!(self.fifo.len() <= self.cap);
        let total: u32 = self.count.values().sum();
        assert_eq!(total as usize, self.fifo.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_fifo_membership() {
        let mut g = Ghost::default();
        g.set_cap(3);
        for fp in [1, 2, 3, 1, 4] {
            g.push(fp);
            g.check();
        }
        // Queue is now [3, 1, 4]: 2 left, 1 stays (its second copy).
        assert!(!g.contains(2));
        assert!(g.contains(1) && g.contains(3) && g.contains(4));
        assert_eq!(g.len(), 3);
        g.set_cap(1);
        g.check();
        assert!(g.contains(4) && !g.contains(1) && !g.contains(3));
        g.set_cap(0);
        g.push(9);
        assert_eq!(g.len(), 0);
    }
}
