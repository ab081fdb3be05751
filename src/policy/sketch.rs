//! TinyLFU's frequency sketch: a 4-bit count-min sketch (four counters per
//! key, the estimate is their minimum) behind a one-bit "doorkeeper" Bloom
//! filter, with periodic aging.
//!
//! Why each part: the count-min sketch estimates how often a key was seen in
//! about 8 bytes per cached entry; 4-bit counters are enough because only
//! the comparison of two small counts matters. The doorkeeper absorbs the
//! first sighting of every key, so the flood of one-hit wonders in most
//! traces never reaches (and never pollutes) the counters. Aging halves every
//! counter after `10 x width` increments, so the sketch follows a workload
//! whose popular keys change.

/// A frequency sketch sized for a cache of about `width` entries.
#[derive(Debug, Clone)]
pub(crate) struct Sketch {
    /// 16 four-bit counters per word.
    table: Vec<u64>,
    /// One-bit Bloom filter of the keys seen once since the last aging.
    door: Vec<u64>,
    /// Increments since the last aging.
    additions: u64,
    /// Increments between agings.
    sample: u64,
}

/// The fewest table words a sketch has.
const MIN_WIDTH: u64 = 1024;

/// Row seeds: each row indexes with a different mix of the key hash.
const SEEDS: [u64; 4] = [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f, 0x1656_67b1_9e37_79f9, 0x27d4_eb2f_1656_67c5];

#[inline]
fn mix(hash: u64, seed: u64) -> u64 {
    let x = (hash ^ seed).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 31)
}

impl Sketch {
    /// A sketch for about `entries` cached entries (at least 1024).
    pub(crate) fn new(entries: u64) -> Sketch {
        // At least 1024 counters' words (8 KiB): below that, the 10 x width
        // aging period is too short a memory for small caches (OLTP @ 250
        // and 500 gain 1 to 2 points, and run-to-run noise shrinks).
        let width = entries.clamp(MIN_WIDTH, 1 << 30).next_power_of_two() as usize;
        Sketch { table: vec![0; width], door: vec![0; width.div_ceil(4)], additions: 0, sample: 10 * width as u64 }
    }

    /// The number of entries the sketch was sized for.
    pub(crate) fn width(&self) -> u64 {
        self.table.len() as u64
    }

    /// Increments between two agings.
    #[cfg(test)]
    pub(crate) fn sample(&self) -> u64 {
        self.sample
    }

    #[inline]
    fn slot(&self, hash: u64, row: usize) -> (usize, u32) {
        let x = mix(hash, SEEDS[row]);
        ((x as usize) & (self.table.len() - 1), ((x >> 60) as u32) * 4)
    }

    #[inline]
    fn door_bits(&self, hash: u64) -> [(usize, u64); 2] {
        let bits = self.door.len() * 64;
        let a = (mix(hash, 0x5851_f42d_4c95_7f2d) as usize) % bits;
        let b = (mix(hash, 0x1405_7b7e_f767_814f) as usize) % bits;
        [(a / 64, 1u64 << (a % 64)), (b / 64, 1u64 << (b % 64))]
    }

    fn in_door(&self, hash: u64) -> bool {
        self.door_bits(hash).iter().all(|&(w, m)| self.door[w] & m != 0)
    }

    /// Records one sighting of the key.
    pub(crate) fn increment(&mut self, hash: u64) {
        if !self.in_door(hash) {
            for (w, m) in self.door_bits(hash) {
                self.door[w] |= m;
            }
        } else {
            // Conservative update: only the smallest counters grow, which
            // keeps the over-estimates of colliding keys down.
            let min = self.counters(hash);
            for row in 0..4 {
                let (w, shift) = self.slot(hash, row);
                let c = (self.table[w] >> shift) & 0xf;
                if c == min && c < 15 {
                    self.table[w] += 1 << shift;
                }
            }
        }
        self.additions += 1;
        if self.additions >= self.sample {
            self.age();
        }
    }

    fn counters(&self, hash: u64) -> u64 {
        (0..4)
            .map(|row| {
                let (w, shift) = self.slot(hash, row);
                (self.table[w] >> shift) & 0xf
            })
            .min()
            .unwrap_or(0)
    }

    /// The estimated count of the key since the last aging (0..=16).
    pub(crate) fn frequency(&self, hash: u64) -> u64 {
        self.counters(hash) + u64::from(self.in_door(hash))
    }

    /// Halves every counter and clears the doorkeeper: old popularity fades.
    pub(crate) fn age(&mut self) {
        for w in &mut self.table {
            *w = (*w >> 1) & 0x7777_7777_7777_7777;
        }
        self.door.fill(0);
        self.additions /= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_and_age() {
        let mut s = Sketch::new(1000);
        let k = 0x1234_5678_9abc_def0;
        assert_eq!(s.frequency(k), 0);
        s.increment(k);
        assert_eq!(s.frequency(k), 1, "the doorkeeper takes the first sighting");
        for _ in 0..40 {
            s.increment(k);
        }
        assert_eq!(s.frequency(k), 16, "15 in the counters + the doorkeeper bit");
        s.age();
        assert_eq!(s.frequency(k), 7, "halved, and the doorkeeper is cleared");
    }

    #[test]
    fn aging_runs_every_sample_increments() {
        let mut s = Sketch::new(64);
        let hot = 42u64;
        for _ in 0..20 {
            s.increment(hot);
        }
        assert_eq!(s.frequency(hot), 16);
        // Distinct keys until just before the sample: no aging yet.
        let mut n = 20;
        let mut k = 1_000u64;
        while n + 1 < s.sample() {
            s.increment(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            k += 1;
            n += 1;
        }
        assert!(s.frequency(hot) >= 15, "not aged before the sample is reached");
        s.increment(7);
        assert!(s.frequency(hot) <= 8, "aged at the sample: {}", s.frequency(hot));
        assert_eq!(s.additions, s.sample() / 2);
    }

    #[test]
    fn estimates_separate_hot_from_cold() {
        let mut s = Sketch::new(4096);
        for round in 0..8u64 {
            for k in 0..100u64 {
                s.increment(mix(k, 1));
            }
            for k in 0..2000u64 {
                s.increment(mix(10_000 + round * 2000 + k, 1));
            }
        }
        let hot: u64 = (0..100u64).map(|k| s.frequency(mix(k, 1))).sum();
        let cold: u64 = (0..100u64).map(|k| s.frequency(mix(10_000 + k, 1))).sum();
        assert!(hot > 5 * cold, "hot {hot} cold {cold}");
    }
}
