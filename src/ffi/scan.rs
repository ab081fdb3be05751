//! Whole-keyspace operations: cursor scans and flush.

use std::ffi::c_char;

use super::boundary::{nyc_cache, with_cache};
use super::handles::nyc_array;
use super::slice::{c_text, out_param};
use super::status::nyc_status;

/// The most slots one `nyc_scan` step visits, whatever `count` asks: a
/// step holds a shard's lock, so it must stay short for writers.
pub const NYC_MAX_SCAN_COUNT: usize = 65536;
const MAX_SCAN_COUNT: usize = NYC_MAX_SCAN_COUNT;

/// One step of a cursor iteration over the keys (Redis SCAN). Start with
/// `cursor` 0 and pass each `*next` back until it is 0 again. `glob` is a
/// Redis glob (`*`, `?`, `[a-z]`, `\` escapes) or NULL for all keys;
/// `count` is how many slots to visit per step (a hint, capped at
/// `NYC_MAX_SCAN_COUNT`: a step may return fewer keys, even none, without
/// the iteration being over).
///
/// Safe while other threads write: every key present for the whole
/// iteration is returned at least once; a key deleted and re-added during
/// it may be returned twice.
///
/// On success `*next` receives the next cursor and `*keys` an array of the
/// keys found (free it with `nyc_array_free`). Statuses: `NYC_OK`;
/// `NYC_INVALID_ARGUMENT` (NULL handle or out-parameters, or a cursor whose
/// shard part is out of range; other made-up cursors are not detected and
/// simply resume from the slot they name).
///
/// # Safety
/// `cache` is NULL or live; `glob` is NULL or NUL-terminated; `next` and
/// `keys` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_scan(
    cache: *const nyc_cache,
    cursor: u64,
    glob: *const c_char,
    count: usize,
    next: *mut u64,
    keys: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `next` and `keys` are NULL or writable, `glob` NULL or NUL-terminated.
        let (next, keys, glob) = unsafe {
            (
                out_param(next, "next")?,
                out_param(keys, "keys")?,
                c_text(glob),
            )
        };
        let (cursor, found) = c.scan(cursor, glob, count.min(MAX_SCAN_COUNT))?;
        keys.set(nyc_array::from_items(&found));
        next.set(cursor);
        Ok(())
    })
}

/// Removes every entry. Statuses: `NYC_OK`, `NYC_INVALID_ARGUMENT` (NULL
/// handle).
///
/// # Safety
/// `cache` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_flush(cache: *const nyc_cache) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        c.flush();
        Ok(())
    })
}
