//! Set commands: `nyc_sadd` `nyc_srem` `nyc_sismember` `nyc_smembers`
//! `nyc_scard` `nyc_spop` `nyc_spop_count` `nyc_srandmember`
//! `nyc_srandmember_count` `nyc_sinter` `nyc_sunion` `nyc_sdiff`.
//! Conventions as in `lists`.

use std::ffi::c_void;

use super::args::{nil, slices, value_or_nil, write_opt};
use super::boundary::{nyc_cache, with_cache};
use super::handles::{nyc_array, nyc_value};
use super::slice::{bytes, nyc_slice, out_param};
use super::status::nyc_status;

/// SADD: adds the `n` members to the set at `key` (created if needed);
/// `*added` (may be NULL) receives how many were new.
///
/// Statuses: `NYC_OK`; `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT` (NULL
/// handle, NULL pointer with a length, `n` 0); `NYC_TOO_LARGE` (key or
/// member over the limits, or a set that would outgrow its shard's budget:
/// nothing is added); `NYC_OUT_OF_MEMORY`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes;
/// `members` is NULL or `n` slices, each NULL or readable for its length;
/// `added` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_sadd(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    members: *const nyc_slice,
    n: usize,
    added: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `members` are NULL or readable as described.
        let (key, items) = unsafe { (bytes(key, klen, "key")?, slices(members, n, "members")?) };
        let count = c.sadd(key, &items)?;
        // SAFETY: the caller promises `added` is NULL or writable.
        unsafe { write_opt(added, count) };
        Ok(())
    })
}

/// SREM: removes the `n` members; `*removed` (may be NULL) receives how
/// many were there. A set left empty is removed. Statuses as `nyc_sadd`.
///
/// # Safety
/// As `nyc_sadd`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_srem(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    members: *const nyc_slice,
    n: usize,
    removed: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `members` are NULL or readable as described.
        let (key, items) = unsafe { (bytes(key, klen, "key")?, slices(members, n, "members")?) };
        let count = c.srem(key, &items)?;
        // SAFETY: the caller promises `removed` is NULL or writable.
        unsafe { write_opt(removed, count) };
        Ok(())
    })
}

/// SISMEMBER: `NYC_OK` if `(member, mlen)` is in the set, `NYC_NOT_FOUND`
/// if not (or no such key); `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`;
/// `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key`/`member` are NULL or `klen`/`mlen`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_sismember(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    member: *const c_void,
    mlen: usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `member` are NULL or readable for their lengths.
        let (key, member) = unsafe { (bytes(key, klen, "key")?, bytes(member, mlen, "member")?) };
        Ok(if c.sismember(key, member)? {
            nyc_status::NYC_OK
        } else {
            nil()
        })
    })
}

/// SMEMBERS: every member in `*out` (no particular order; empty for an
/// absent key). Statuses: `NYC_OK`; `NYC_WRONG_TYPE`;
/// `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_smembers(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        out.set(nyc_array::from_items(&c.smembers(key)?));
        Ok(())
    })
}

/// SCARD: `*n` receives the number of members (0 for an absent key).
/// Statuses as `nyc_smembers`.
///
/// # Safety
/// As `nyc_smembers`, with `n` a writable count.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_scard(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    n: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `n` NULL or writable.
        let (key, n) = unsafe { (bytes(key, klen, "key")?, out_param(n, "n")?) };
        n.set(c.scard(key)?);
        Ok(())
    })
}

/// SPOP without a count: removes a random member and returns it in
/// `*out`. Statuses: `NYC_OK`; `NYC_NOT_FOUND` (no such key);
/// `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_spop(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_value,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        Ok(value_or_nil(out, c.spop(key)?))
    })
}

/// SPOP with a count: removes up to `count` random members and returns
/// them in `*out` (empty for an absent key). Statuses as `nyc_smembers`.
///
/// # Safety
/// As `nyc_smembers`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_spop_count(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    count: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        out.set(nyc_array::from_items(&c.spop_count(key, count)?));
        Ok(())
    })
}

/// SRANDMEMBER without a count: a random member in `*out`, left in the
/// set. Statuses as `nyc_spop`.
///
/// # Safety
/// As `nyc_spop`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_srandmember(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_value,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        Ok(value_or_nil(out, c.srandmember(key)?))
    })
}

/// SRANDMEMBER with a count: `count >= 0` gives up to `count` distinct
/// members, `count < 0` exactly `-count` members with repeats (at most
/// 2^24; beyond is `NYC_INVALID_ARGUMENT`). Statuses as `nyc_smembers`.
///
/// # Safety
/// As `nyc_smembers`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_srandmember_count(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    count: i64,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        out.set(nyc_array::from_items(&c.srandmember_count(key, count)?));
        Ok(())
    })
}

/// Which multi-key operation.
#[derive(Clone, Copy)]
enum Combine {
    Inter,
    Union,
    Diff,
}

/// SINTER / SUNION / SDIFF.
///
/// # Safety
/// As `nyc_sinter`.
unsafe fn combine(
    cache: *const nyc_cache,
    keys: *const nyc_slice,
    n: usize,
    out: *mut *mut nyc_array,
    op: Combine,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `keys` is NULL or `n` readable slices and `out` NULL or writable.
        let (keys, out) = unsafe { (slices(keys, n, "keys")?, out_param(out, "out")?) };
        let found = match op {
            Combine::Inter => c.sinter(&keys)?,
            Combine::Union => c.sunion(&keys)?,
            Combine::Diff => c.sdiff(&keys)?,
        };
        out.set(nyc_array::from_items(&found));
        Ok(())
    })
}

/// SINTER: the members in every one of the `n` sets (an absent key is an
/// empty set) in `*out`. Each key is read under its own shard lock in turn
/// (not atomic against other threads' writes).
///
/// Statuses: `NYC_OK`; `NYC_WRONG_TYPE` (any key holds another type);
/// `NYC_INVALID_ARGUMENT` (NULL handle or `out`, `n` 0, bad slices);
/// `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `keys` is NULL or `n` slices, each NULL or
/// readable for its length; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_sinter(
    cache: *const nyc_cache,
    keys: *const nyc_slice,
    n: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_sinter`'s.
    unsafe { combine(cache, keys, n, out, Combine::Inter) }
}

/// SUNION: the members of any of the sets. As `nyc_sinter`.
///
/// # Safety
/// As `nyc_sinter`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_sunion(
    cache: *const nyc_cache,
    keys: *const nyc_slice,
    n: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_sunion`'s.
    unsafe { combine(cache, keys, n, out, Combine::Union) }
}

/// SDIFF: the members of the first set in none of the others. As
/// `nyc_sinter`.
///
/// # Safety
/// As `nyc_sinter`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_sdiff(
    cache: *const nyc_cache,
    keys: *const nyc_slice,
    n: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_sdiff`'s.
    unsafe { combine(cache, keys, n, out, Combine::Diff) }
}
