//! A hill climber for one share of the cache (TinyLFU's window, the
//! adaptive policy's small queue), after Caffeine's.
//!
//! Every sample of reads (a multiple of the capacity) it compares the sample's hit ratio
//! with the previous one's, and moves the share one step in the direction
//! that raised it (reversing when it fell). The step decays while the hit
//! ratio is stable, so the share settles, and restarts at full size when the
//! hit ratio jumps (a new phase of the workload).

/// Initial (and restart) step, as a share of the capacity.
const STEP: f64 = 0.0625;
/// The step shrinks by this factor each sample.
const DECAY: f64 = 0.98;
/// A hit-ratio change this large restarts the climb with a full step.
const RESTART: f64 = 0.05;

/// The climber's state.
#[derive(Debug, Clone)]
pub(crate) struct Climber {
    /// The share being tuned, within `[min, max]`.
    pub(crate) share: f64,
    min: f64,
    max: f64,
    step: f64,
    prev_rate: f64,
    hits: u64,
    misses: u64,
    /// Off: the share stays where it is.
    pub(crate) enabled: bool,
    /// A sample is this many reads per entry of capacity.
    sample_per_entry: u64,
}

impl Climber {
    /// A climber starting at `share`, kept within `[min, max]`, judging
    /// the hit ratio over samples of `sample_per_entry x capacity` reads.
    pub(crate) fn new(share: f64, min: f64, max: f64, sample_per_entry: u64) -> Climber {
        Climber { share, min, max, step: STEP, prev_rate: 0.0, hits: 0, misses: 0, enabled: true, sample_per_entry }
    }

    /// Counts a read; `capacity` sizes the sample. Returns true when the
    /// share moved.
    #[inline]
    pub(crate) fn record(&mut self, hit: bool, capacity: u64) -> bool {
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        self.settle(capacity)
    }

    /// Counts `n` read hits at once (those served without the shard's
    /// lock, reported in bulk). Returns true when the share moved.
    pub(crate) fn record_hits(&mut self, n: u64, capacity: u64) -> bool {
        self.hits += n;
        self.settle(capacity)
    }

    /// Ends the sample if it is complete: moves the share.
    #[inline]
    fn settle(&mut self, capacity: u64) -> bool {
        let n = self.hits + self.misses;
        if !self.enabled || n < self.sample_per_entry * capacity.max(64) {
            return false;
        }
        let rate = self.hits as f64 / n as f64;
        let change = rate - self.prev_rate;
        let amount = if change >= 0.0 { self.step } else { -self.step };
        self.step = if change.abs() >= RESTART { STEP * amount.signum() } else { DECAY * amount };
        self.prev_rate = rate;
        let next = self.share + amount;
        if next < self.min || next > self.max {
            // At a bound the hit ratio cannot change any more, so "no worse"
            // would push into the wall for ever: turn back instead.
            self.step = -self.step;
        }
        self.share = next.clamp(self.min, self.max);
        self.hits = 0;
        self.misses = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The climber keeps going while the hit ratio improves, turns back
    /// when it falls, and never leaves its bounds.
    #[test]
    fn climbs_towards_better_hit_ratio_within_bounds() {
        let mut c = Climber::new(0.1, 0.0, 0.5, 10);
        let cap = 100;
        // Hit ratio grows with the share: the climber should push up.
        for _ in 0..200 {
            let rate = c.share;
            for r in 0..1000u64 {
                c.record((r as f64) < rate * 1000.0, cap);
            }
            assert!((0.0..=0.5).contains(&c.share));
        }
        assert!(c.share > 0.4, "climbed to {}", c.share);
        // Now the hit ratio falls as the share grows: it must come down.
        for _ in 0..400 {
            let rate = 1.0 - c.share;
            for r in 0..1000u64 {
                c.record((r as f64) < rate * 1000.0, cap);
            }
        }
        assert!(c.share < 0.1, "came down to {}", c.share);
    }
}
