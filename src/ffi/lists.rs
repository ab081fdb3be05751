//! List commands: `nyc_lpush` `nyc_rpush` `nyc_lpop` `nyc_rpop`
//! `nyc_lpop_count` `nyc_rpop_count` `nyc_lrange` `nyc_llen` `nyc_lindex`
//! `nyc_lset` `nyc_lrem` `nyc_ltrim` (Redis's LPUSH ... LTRIM).
//!
//! Conventions of every data-structure call (also `sets`, `hashes`,
//! `zsets`): the key is `(key, klen)`; element lists are `nyc_slice`
//! arrays with a count; integer replies go to out-parameters (those of
//! writes may be NULL); a nil reply is `NYC_NOT_FOUND`; several elements
//! come back as an `nyc_array` (free with `nyc_array_free`); a key holding
//! another type is `NYC_WRONG_TYPE` and changes nothing. Every pointer is
//! checked before the key is touched.

use std::ffi::c_void;

use super::args::{nil, slices, value_or_nil, write_opt};
use super::boundary::{nyc_cache, with_cache};
use super::handles::{nyc_array, nyc_value};
use super::slice::{bytes, nyc_slice, out_param};
use super::status::nyc_status;

/// LPUSH (`front` true) or RPUSH.
///
/// # Safety
/// As `nyc_lpush`.
unsafe fn push(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    elements: *const nyc_slice,
    n: usize,
    len: *mut u64,
    front: bool,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or `klen` readable bytes and `elements` NULL or `n` readable slices.
        let (key, items) = unsafe { (bytes(key, klen, "key")?, slices(elements, n, "elements")?) };
        let new_len = if front {
            c.lpush(key, &items)?
        } else {
            c.rpush(key, &items)?
        };
        // SAFETY: the caller promises `len` is NULL or writable.
        unsafe { write_opt(len, new_len) };
        Ok(())
    })
}

/// LPUSH: inserts the `n` elements at the head of the list at `key`, one
/// after the other (the last ends up first), creating the list if needed;
/// `*len` (may be NULL) receives the new length.
///
/// Statuses: `NYC_OK`; `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT` (NULL
/// handle, NULL pointer with a length, `n` 0); `NYC_TOO_LARGE` (a key or
/// element over the limits, or a list that would outgrow its shard's
/// budget: nothing is pushed); `NYC_OUT_OF_MEMORY`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes;
/// `elements` is NULL or `n` slices, each NULL or readable for its length;
/// `len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_lpush(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    elements: *const nyc_slice,
    n: usize,
    len: *mut u64,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_lpush`'s, which `push` needs.
    unsafe { push(cache, key, klen, elements, n, len, true) }
}

/// RPUSH: appends the elements at the tail. As `nyc_lpush` otherwise.
///
/// # Safety
/// As `nyc_lpush`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_rpush(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    elements: *const nyc_slice,
    n: usize,
    len: *mut u64,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_rpush`'s, which `push` needs.
    unsafe { push(cache, key, klen, elements, n, len, false) }
}

/// LPOP or RPOP of one element.
///
/// # Safety
/// As `nyc_lpop`.
unsafe fn pop_one(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_value,
    front: bool,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        Ok(value_or_nil(
            out,
            if front { c.lpop(key)? } else { c.rpop(key)? },
        ))
    })
}

/// LPOP without a count: removes the head element and returns it in
/// `*out` (free with `nyc_value_free`); the list goes when it empties.
///
/// Statuses: `NYC_OK`; `NYC_NOT_FOUND` (no such key); `NYC_WRONG_TYPE`;
/// `NYC_INVALID_ARGUMENT` (NULL handle or `out`, NULL key with a length);
/// `NYC_TOO_LARGE` (key over the limit).
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_lpop(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_value,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_lpop`'s.
    unsafe { pop_one(cache, key, klen, out, true) }
}

/// RPOP without a count: removes the tail element. As `nyc_lpop`.
///
/// # Safety
/// As `nyc_lpop`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_rpop(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_value,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_rpop`'s.
    unsafe { pop_one(cache, key, klen, out, false) }
}

/// LPOP or RPOP with a count.
///
/// # Safety
/// As `nyc_lpop_count`.
unsafe fn pop_many(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    count: usize,
    out: *mut *mut nyc_array,
    front: bool,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        match if front {
            c.lpop_count(key, count)?
        } else {
            c.rpop_count(key, count)?
        } {
            Some(items) => {
                out.set(nyc_array::from_items(&items));
                Ok(nyc_status::NYC_OK)
            }
            None => Ok(nil()),
        }
    })
}

/// LPOP with a count: removes up to `count` elements from the head and
/// returns them in order in `*out` (an empty array for a count of 0).
/// Statuses as `nyc_lpop` (`NYC_NOT_FOUND`: no such key, Redis's null
/// array).
///
/// # Safety
/// As `nyc_lpop`, with `out` an array out-parameter.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_lpop_count(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    count: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_lpop_count`'s.
    unsafe { pop_many(cache, key, klen, count, out, true) }
}

/// RPOP with a count: up to `count` elements from the tail, tail first.
/// As `nyc_lpop_count`.
///
/// # Safety
/// As `nyc_lpop_count`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_rpop_count(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    count: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_rpop_count`'s.
    unsafe { pop_many(cache, key, klen, count, out, false) }
}

/// LRANGE: the elements from `start` to `stop` inclusive in `*out`.
/// Negative indexes count from the end (-1 is the last); out-of-range
/// ends are clamped; an absent key or empty range gives an empty array.
///
/// Statuses: `NYC_OK`; `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`;
/// `NYC_TOO_LARGE` (key over the limit).
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_lrange(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    start: i64,
    stop: i64,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        out.set(nyc_array::from_items(&c.lrange(key, start, stop)?));
        Ok(())
    })
}

/// LLEN: `*len` receives the list's length (0 for an absent key).
/// Statuses: `NYC_OK`; `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`;
/// `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `len`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_llen(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    len: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `len` NULL or writable.
        let (key, len) = unsafe { (bytes(key, klen, "key")?, out_param(len, "len")?) };
        len.set(c.llen(key)?);
        Ok(())
    })
}

/// LINDEX: the element at `index` (negative from the end) in `*out`.
/// Statuses: `NYC_OK`; `NYC_NOT_FOUND` (no such key or index);
/// `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// As `nyc_lpop`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_lindex(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    index: i64,
    out: *mut *mut nyc_value,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        Ok(value_or_nil(out, c.lindex(key, index)?))
    })
}

/// LSET: replaces the element at `index` with `(elem, elen)`.
/// Statuses: `NYC_OK`; `NYC_NOT_FOUND` (no such key: Redis's "no such
/// key"); `NYC_INVALID_ARGUMENT` (index out of range, or a bad pointer);
/// `NYC_WRONG_TYPE`; `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key`/`elem` are NULL or `klen`/`elen`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_lset(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    index: i64,
    elem: *const c_void,
    elen: usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `elem` are NULL or readable for their lengths.
        let (key, elem) = unsafe { (bytes(key, klen, "key")?, bytes(elem, elen, "element")?) };
        c.lset(key, index, elem)
    })
}

/// LREM: removes up to |count| elements equal to `(elem, elen)` (from the
/// head for count > 0, from the tail for count < 0, all for 0);
/// `*removed` (may be NULL) receives how many. Statuses: `NYC_OK`;
/// `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// As `nyc_lset`; `removed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_lrem(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    count: i64,
    elem: *const c_void,
    elen: usize,
    removed: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `elem` are NULL or readable for their lengths.
        let (key, elem) = unsafe { (bytes(key, klen, "key")?, bytes(elem, elen, "element")?) };
        let n = c.lrem(key, count, elem)?;
        // SAFETY: the caller promises `removed` is NULL or writable.
        unsafe { write_opt(removed, n) };
        Ok(())
    })
}

/// LTRIM: keeps only the elements from `start` to `stop` (LRANGE's index
/// rules); a list left empty is removed. Statuses: `NYC_OK`;
/// `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_ltrim(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    start: i64,
    stop: i64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or `klen` readable bytes.
        let key = unsafe { bytes(key, klen, "key") }?;
        c.ltrim(key, start, stop)
    })
}
