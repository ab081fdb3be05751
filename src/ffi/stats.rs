//! Counters and metrics.

use super::boundary::{nyc_cache, with_cache};
use super::handles::nyc_value;
use super::slice::out_param;
use super::status::nyc_status;
use crate::Stats;

/// A snapshot of a cache's counters and sizes, filled by `nyc_stats`.
///
/// (Named `nyc_cache_stats`, not `nyc_stats`, because in C a typedef and a
/// function cannot share the name `nyc_stats`.)
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct nyc_cache_stats {
    /// Reads that found a live entry.
    pub hits: u64,
    /// Reads that found nothing (or an expired entry).
    pub misses: u64,
    /// Successful writes (set, add, replace, cas, incr, batches).
    pub sets: u64,
    /// Entries removed by delete.
    pub deletes: u64,
    /// Entries removed to make room.
    pub evictions: u64,
    /// Entries removed because their TTL passed (lazy + active).
    pub expirations: u64,
    /// Expired entries found by an access.
    pub expired_lazy: u64,
    /// Expired entries removed by the background timer wheel.
    pub expired_active: u64,
    /// Entries stored now.
    pub entries: u64,
    /// Bytes charged for the stored entries (keys, values, overhead).
    pub used_bytes: u64,
    /// The byte budget: `max_memory` rounded down to a multiple of the
    /// shard count.
    pub max_bytes: u64,
    /// Bytes saved by compression across the values stored now.
    pub compressed_bytes_saved: u64,
    /// Number of shards.
    pub shards: u64,
}

impl From<Stats> for nyc_cache_stats {
    fn from(s: Stats) -> Self {
        nyc_cache_stats {
            hits: s.hits,
            misses: s.misses,
            sets: s.sets,
            deletes: s.deletes,
            evictions: s.evictions,
            expirations: s.expirations,
            expired_lazy: s.expired_lazy,
            expired_active: s.expired_active,
            entries: s.entries,
            used_bytes: s.used_bytes,
            max_bytes: s.max_bytes,
            compressed_bytes_saved: s.compressed_bytes_saved,
            shards: s.shards,
        }
    }
}

/// Fills `*out` with the cache's counters (summed shard by shard: each
/// shard's figures are consistent, the whole is not one atomic snapshot).
/// Statuses: `NYC_OK`, `NYC_INVALID_ARGUMENT` (NULL handle or `out`).
///
/// # Safety
/// `cache` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_stats(
    cache: *const nyc_cache,
    out: *mut nyc_cache_stats,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `out` is NULL or writable.
        let slot = unsafe { out_param(out, "out") }?;
        slot.set(c.stats().into());
        Ok(())
    })
}

/// The counters in Prometheus text exposition format, as a value handle
/// (`*out`; free with `nyc_value_free`). Statuses: `NYC_OK`,
/// `NYC_INVALID_ARGUMENT`.
///
/// # Safety
/// `cache` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_metrics_text(
    cache: *const nyc_cache,
    out: *mut *mut nyc_value,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `out` is NULL or writable.
        let slot = unsafe { out_param(out, "out") }?;
        slot.set(nyc_value::owned(c.metrics_text().into_bytes()));
        Ok(())
    })
}
