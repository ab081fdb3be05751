//! A ghost queue: 32-bit fingerprints (the low half of the key hash, which
//! varies within a shard; the shard is picked by bits 32..) of recently
//! evicted entries,
//! in FIFO order, with a bounded length. It remembers that a key was here
//! without keeping the key or its value, so a policy can tell "evicted a
//! moment ago and wanted again" (a sign it was evicted too early) from "new".

use std::collections::VecDeque;

/// FIFO of at most `cap` fingerprints, with O(1) membership. About 14
/// bytes per fingerprint (4 in the queue, 4 per slot of the membership
/// table at a quarter to a half full); a false "recently evicted" needs a
/// 32-bit collision among at most `cap` keys.
#[derive(Debug, Default)]
pub(crate) struct Ghost {
    fifo: VecDeque<u32>,
    /// The fingerprints in `fifo`, as a multiset (a key evicted twice
    /// within the window is queued twice and stays until both leave).
    set: Fingerprints,
    cap: usize,
}

/// A multiset of 32-bit fingerprints: open addressing with linear probing,
/// at most half full, one slot per copy, and deletion by backward shift,
/// so a removal leaves no tombstone. Fingerprint 0 marks an empty slot, so
/// its copies are only counted.
///
/// Why not a `hashbrown` map of counts (the first version): the ghost adds
/// one fingerprint and drops one on every eviction from the small queue,
/// forever. hashbrown's removal leaves a tombstone when the probe group is
/// full, tombstones use up its growth room, and it then rehashes the whole
/// map in place (after doubling it once): under steady churn that was the
/// only `reserve_rehash` left (8 rehashes of ~10k fingerprints per 200k
/// evictions at 100k entries), and every operation paid a hash and a SIMD
/// group probe. Here an operation is a multiply and, at this load, a probe
/// or two of adjacent slots, and the table only grows (when full to half).
#[derive(Debug, Default)]
struct Fingerprints {
    /// Fingerprints (copies of one in separate slots); 0 = empty slot.
    slots: Vec<u32>,
    /// Occupied slots.
    len: usize,
    /// Copies of fingerprint 0.
    zeros: usize,
    /// log2 of `slots.len()` (0 while empty).
    bits: u32,
}

impl Fingerprints {
    /// The slot a fingerprint's probe starts at (Fibonacci hashing: the top
    /// bits of the product mix every bit of the fingerprint).
    #[inline]
    fn home(&self, fp: u32) -> usize {
        (fp.wrapping_mul(0x9e37_79b9) >> (32 - self.bits)) as usize
    }

    /// A slot holding `fp` (not 0), if any.
    #[inline]
    fn find(&self, fp: u32) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(fp);
        loop {
            let f = self.slots[i];
            if f == fp {
                return Some(i);
            }
            if f == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    fn contains(&self, fp: u32) -> bool {
        if fp == 0 { self.zeros > 0 } else { self.find(fp).is_some() }
    }

    /// Makes room for one more copy (keeping the table at most half full);
    /// false if the memory cannot be had.
    fn reserve_one(&mut self) -> bool {
        if 2 * (self.len + 1) <= self.slots.len() {
            return true;
        }
        let bits = (self.bits + 1).max(4);
        let mut slots = Vec::new();
        if slots.try_reserve_exact(1usize << bits).is_err() {
            return false;
        }
        slots.resize(1usize << bits, 0u32);
        let old = std::mem::replace(&mut self.slots, slots);
        self.bits = bits;
        self.len = 0;
        for f in old {
            if f != 0 {
                self.place(f);
            }
        }
        true
    }

    /// Puts a copy of `fp` (not 0) in the first free slot of its run.
    #[inline]
    fn place(&mut self, fp: u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(fp);
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = fp;
        self.len += 1;
    }

    /// Adds a copy of `fp`; `reserve_one` made room.
    fn insert(&mut self, fp: u32) {
        if fp == 0 {
            self.zeros += 1;
        } else {
            self.place(fp);
        }
    }

    /// Removes a copy of `fp`, if any.
    fn remove(&mut self, fp: u32) {
        if fp == 0 {
            self.zeros = self.zeros.saturating_sub(1);
            return;
        }
        let Some(mut hole) = self.find(fp) else { return };
        self.len -= 1;
        // Backward shift: move later entries of the run into the hole when
        // their probe started at or before it, so every remaining entry
        // stays reachable from its home slot without a tombstone.
        let mask = self.slots.len() - 1;
        let mut i = hole;
        loop {
            i = (i + 1) & mask;
            let f = self.slots[i];
            if f == 0 {
                break;
            }
            // Distance from f's home to i versus from the hole to i (cyclic).
            if (i.wrapping_sub(self.home(f)) & mask) >= (i.wrapping_sub(hole) & mask) {
                self.slots[hole] = f;
                hole = i;
            }
        }
        self.slots[hole] = 0;
    }

    /// Copies held (tests only).
    #[cfg(test)]
    fn total(&self) -> usize {
        self.len + self.zeros
    }

    /// Every occupied slot is reachable from its home (tests only).
    #[cfg(test)]
    fn check(&self) {
        assert_eq!(self.slots.iter().filter(|&&f| f != 0).count(), self.len);
        assert!(self.slots.is_empty() || 2 * self.len <= self.slots.len());
        let mask = self.slots.len().wrapping_sub(1);
        for (i, &f) in self.slots.iter().enumerate() {
            if f != 0 {
                // No empty slot between its home and i.
                let mut j = self.home(f);
                while j != i {
                    assert_ne!(self.slots[j], 0, "fingerprint {f} at {i} cut off from its home");
                    j = (j + 1) & mask;
                }
            }
        }
    }
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
            self.set.remove(old);
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
        if self.fifo.try_reserve(1).is_err() || !self.set.reserve_one() {
            return;
        }
        self.fifo.push_back(fp);
        self.set.insert(fp);
        self.trim();
    }

    /// True if the key (by its hash) was evicted recently.
    pub(crate) fn contains(&self, hash: u64) -> bool {
        self.set.contains(hash as u32)
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

    /// Checks the membership table agrees with the queue (tests only).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        assert!(self.fifo.len() <= self.cap);
        assert_eq!(self.set.total(), self.fifo.len());
        self.set.check();
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

    /// Membership against a `HashMap` model of counts, with fingerprints
    /// drawn from a small range (0 and many repeats, long probe runs, which
    /// exercise the backward shift) and from the whole range, under a
    /// changing cap.
    #[test]
    fn counts_match_a_model_under_churn() {
        use std::collections::HashMap;
        for range in [64u64, 1 << 32] {
            let mut g = Ghost::default();
            let mut model: HashMap<u32, usize> = HashMap::new();
            let mut fifo: VecDeque<u32> = VecDeque::new();
            let mut x = 0x2545_f491_4f6c_dd1du64;
            let mut cap = 40;
            g.set_cap(cap);
            for step in 0..20_000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if step % 2_500 == 0 {
                    cap = [40, 200, 7, 1000][(step / 2_500 % 4) as usize];
                    g.set_cap(cap);
                    while fifo.len() > cap {
                        let old = fifo.pop_front().unwrap();
                        *model.get_mut(&old).unwrap() -= 1;
                    }
                }
                // Keep the high half random: only the low 32 bits count.
                let fp = (x % range) as u32;
                g.push((x & !0xffff_ffff) | u64::from(fp));
                fifo.push_back(fp);
                *model.entry(fp).or_default() += 1;
                while fifo.len() > cap {
                    let old = fifo.pop_front().unwrap();
                    *model.get_mut(&old).unwrap() -= 1;
                }
                let probe = ((x >> 20) % range) as u32;
                assert_eq!(g.contains(u64::from(probe)), model.get(&probe).is_some_and(|&c| c > 0));
                assert!(g.contains(u64::from(fp)));
                if step % 97 == 0 {
                    g.check();
                    for (&f, &c) in &model {
                        assert_eq!(g.contains(u64::from(f)), c > 0);
                    }
                }
            }
        }
    }
}
