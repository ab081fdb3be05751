//! Batches: many keys in one call, which saves FFI hosts (Python above all)
//! a crossing per key.
//!
//! Every argument of a batch is checked (pointers, key and value limits)
//! before any key is touched, so bad input changes nothing.

use super::boundary::{nyc_cache, with_cache};
use super::handles::{nyc_value, nyc_value_free};
use super::keys::ttl;
use super::slice::{array, bytes, nyc_slice};
use super::status::nyc_status;
use crate::Cache;
use crate::error::Result;

/// The byte ranges of `items`, checked.
///
/// # Safety
/// Each slice's `ptr` is NULL or points to `len` readable bytes.
unsafe fn ranges<'a>(items: &[nyc_slice], what: &'static str) -> Result<Vec<&'a [u8]>> {
    items
        .iter()
        // SAFETY: the caller promises every slice is NULL or readable for its length.
        .map(|s| unsafe { bytes(s.ptr, s.len, what) })
        .collect()
}

fn check_keys(c: &Cache, keys: &[&[u8]]) -> Result<()> {
    keys.iter().try_for_each(|k| c.check_key(k))
}

/// Reads `n` keys. `values` is an array of `n` slots; slot `i` receives a
/// value handle for `keys[i]` (free each with `nyc_value_free`) or NULL if
/// that key is absent (or holds a collection, as in Redis's MGET).
///
/// Statuses: `NYC_OK` (whatever was found); `NYC_INVALID_ARGUMENT` (NULL
/// handle or arrays, a NULL key with a length); `NYC_TOO_LARGE` (a key over
/// the limit); `NYC_OUT_OF_MEMORY` (no memory to decompress a value stored
/// compressed). On failure no slot is written.
///
/// # Safety
/// `cache` is NULL or live; `keys` is NULL or `n` slices, each NULL or
/// readable for its length; `values` is NULL or `n` writable slots.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_mget(
    cache: *const nyc_cache,
    keys: *const nyc_slice,
    n: usize,
    values: *mut *mut nyc_value,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `keys` holds `n` slices of readable ranges.
        let keys = unsafe { ranges(array(keys, n, "keys")?, "key") }?;
        if values.is_null() && n > 0 {
            return Err(crate::Error::invalid(format!(
                "values is NULL but n is {n}"
            )));
        }
        check_keys(c, &keys)?;
        let mut found: Vec<*mut nyc_value> = Vec::with_capacity(n);
        for key in &keys {
            match c.get(key) {
                Ok(v) => found.push(v.map_or(std::ptr::null_mut(), nyc_value::entry)),
                // A key holding a collection reads as absent (Redis's MGET).
                Err(e) if e.kind() == crate::ErrorKind::WrongType => found.push(std::ptr::null_mut()),
                Err(e) => {
                    // SAFETY: these handles were made above and never reached the caller.
                    found.into_iter().for_each(|v| unsafe { nyc_value_free(v) });
                    return Err(e);
                }
            }
        }
        // SAFETY: `values` is non-NULL (checked) or n == 0, and the caller promises `n` writable slots.
        unsafe { std::ptr::copy_nonoverlapping(found.as_ptr(), values, n) };
        Ok(())
    })
}

/// Stores `n` pairs (`keys[i]` → `vals[i]`) with one TTL (`ttl_ms` 0 = no
/// expiry).
///
/// Statuses: `NYC_OK`; `NYC_INVALID_ARGUMENT` / `NYC_TOO_LARGE` for a bad
/// argument, found before anything is stored; `NYC_OUT_OF_MEMORY` (the
/// pairs before the failing one are stored).
///
/// # Safety
/// `cache` is NULL or live; `keys` and `vals` are NULL or `n` slices, each
/// NULL or readable for its length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_mset(
    cache: *const nyc_cache,
    keys: *const nyc_slice,
    vals: *const nyc_slice,
    n: usize,
    ttl_ms: u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises both arrays hold `n` slices of readable ranges.
        let (keys, vals) = unsafe {
            (
                ranges(array(keys, n, "keys")?, "key")?,
                ranges(array(vals, n, "vals")?, "value")?,
            )
        };
        check_keys(c, &keys)?;
        vals.iter().try_for_each(|v| c.check_value(v))?;
        let ttl = ttl(ttl_ms);
        keys.iter()
            .zip(&vals)
            .try_for_each(|(k, v)| c.set(k, v, ttl))
    })
}

/// Deletes `n` keys; writes how many existed to `*deleted` (may be NULL).
/// Statuses: `NYC_OK`, `NYC_INVALID_ARGUMENT`, `NYC_TOO_LARGE` (a key over
/// the limit; nothing is deleted).
///
/// # Safety
/// `cache` is NULL or live; `keys` is NULL or `n` slices, each NULL or
/// readable for its length; `deleted` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_mdelete(
    cache: *const nyc_cache,
    keys: *const nyc_slice,
    n: usize,
    deleted: *mut usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `keys` holds `n` slices of readable ranges.
        let keys = unsafe { ranges(array(keys, n, "keys")?, "key") }?;
        check_keys(c, &keys)?;
        let count = c.delete_many(&keys)?;
        // SAFETY: the caller promises `deleted` is NULL or writable.
        if let Some(slot) = unsafe { deleted.as_mut() } {
            *slot = count;
        }
        Ok(())
    })
}
