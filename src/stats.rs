//! Counters and their Prometheus text rendering.
//!
//! Each shard keeps plain `u64` counters updated under its own lock (no
//! shared atomic is written on any path); [`Stats`] is their sum, taken one
//! shard at a time, so it is a consistent view of each shard but not an
//! atomic snapshot of the whole cache.

use std::fmt::Write;

/// Per-shard counters, summed into [`Stats`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    pub hits: u64,
    pub misses: u64,
    pub sets: u64,
    pub deletes: u64,
    pub evictions: u64,
    pub expired_lazy: u64,
    pub expired_active: u64,
    pub compressed_bytes_saved: u64,
}

/// A snapshot of the cache's counters and sizes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Reads that found a live entry.
    pub hits: u64,
    /// Reads that found nothing (or an expired entry).
    pub misses: u64,
    /// Successful writes (set, add, replace, cas, incr, ...).
    pub sets: u64,
    /// Entries removed by delete.
    pub deletes: u64,
    /// Entries removed to make room.
    pub evictions: u64,
    /// Entries removed because their TTL passed: found on access (lazy) or
    /// by the timer wheel (active).
    pub expirations: u64,
    /// The lazy part of `expirations`.
    pub expired_lazy: u64,
    /// The active part of `expirations`.
    pub expired_active: u64,
    /// Entries stored now.
    pub entries: u64,
    /// Bytes charged for the stored entries (keys, stored values, overhead).
    pub used_bytes: u64,
    /// The byte budget.
    pub max_bytes: u64,
    /// Bytes saved by compression across the values stored now.
    pub compressed_bytes_saved: u64,
    /// Number of shards.
    pub shards: u64,
    /// Live pub/sub subscriptions.
    pub pubsub_subscriptions: u64,
    /// Messages published (keyspace events included) that reached at least
    /// one subscription.
    pub pubsub_published: u64,
    /// Messages dropped from full subscription queues (the oldest goes).
    pub pubsub_dropped: u64,
}

impl Stats {
    pub(crate) fn add_counters(&mut self, c: &Counters) {
        self.hits += c.hits;
        self.misses += c.misses;
        self.sets += c.sets;
        self.deletes += c.deletes;
        self.evictions += c.evictions;
        self.expired_lazy += c.expired_lazy;
        self.expired_active += c.expired_active;
        self.expirations += c.expired_lazy + c.expired_active;
        self.compressed_bytes_saved += c.compressed_bytes_saved;
    }

    /// hits / (hits + misses), or 0 with no reads.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 { 0.0 } else { self.hits as f64 / total as f64 }
    }

    /// The Prometheus text exposition format (version 0.0.4), every metric
    /// prefixed `nycache_`.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(1024);
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP nycache_{name} {help}");
            let _ = writeln!(out, "# TYPE nycache_{name} {kind}");
            let _ = writeln!(out, "nycache_{name} {value}");
        };
        metric("hits_total", "counter", "Reads that found a live entry.", self.hits);
        metric("misses_total", "counter", "Reads that found no live entry.", self.misses);
        metric("sets_total", "counter", "Successful writes.", self.sets);
        metric("deletes_total", "counter", "Entries removed by delete.", self.deletes);
        metric("evictions_total", "counter", "Entries evicted to make room.", self.evictions);
        metric("expirations_total", "counter", "Entries removed because their TTL passed.", self.expirations);
        metric("entries", "gauge", "Entries stored.", self.entries);
        metric("used_bytes", "gauge", "Bytes charged for stored entries.", self.used_bytes);
        metric("max_bytes", "gauge", "The memory budget in bytes.", self.max_bytes);
        metric("compressed_bytes_saved", "gauge", "Bytes saved by compression in stored values.", self.compressed_bytes_saved);
        metric("pubsub_subscriptions", "gauge", "Live pub/sub subscriptions.", self.pubsub_subscriptions);
        metric("pubsub_published_total", "counter", "Messages published that reached a subscription.", self.pubsub_published);
        metric("pubsub_dropped_total", "counter", "Messages dropped from full subscription queues.", self.pubsub_dropped);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_renders() {
        let mut s = Stats::default();
        s.add_counters(&Counters { hits: 3, misses: 1, expired_lazy: 2, expired_active: 5, ..Default::default() });
        s.add_counters(&Counters { hits: 1, ..Default::default() });
        assert_eq!(s.hits, 4);
        assert_eq!(s.expirations, 7);
        assert!((s.hit_rate() - 0.8).abs() < 1e-9);
        let text = s.to_prometheus();
        assert!(text.contains("# TYPE nycache_hits_total counter\nnycache_hits_total 4\n"));
        assert!(text.contains("nycache_expirations_total 7\n"));
        // Every sample line is `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let parts: Vec<_> = line.split(' ').collect();
            assert_eq!(parts.len(), 2, "{line}");
            parts[1].parse::<u64>().unwrap();
        }
    }

    #[test]
    fn hit_rate_without_reads_is_zero() {
        assert_eq!(Stats::default().hit_rate(), 0.0);
    }
}
