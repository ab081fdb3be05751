//! Sorted-set commands: `nyc_zadd` `nyc_zadd_incr` `nyc_zincrby` `nyc_zrem`
//! `nyc_zscore` `nyc_zcard` `nyc_zrank` `nyc_zrange` `nyc_zrangebyscore`
//! `nyc_zcount` `nyc_zpopmin` `nyc_zpopmax`. Conventions as in `lists`;
//! scores are `double`s. Replies that carry scores (`NYC_ZRANGE_WITHSCORES`,
//! the pops) put each score after its member as Redis's reply text (`"1"`,
//! `"1.5"`, `"0.10000000000000001"`, `"inf"`): `strtod` reads it back to
//! the exact double.

use std::ffi::c_void;

use super::args::{nil, scored_array, slices, write_opt};
use super::boundary::{nyc_cache, with_cache};
use super::handles::nyc_array;
use super::slice::{array, bytes, nyc_slice, out_param};
use super::status::nyc_status;
use crate::error::{Error, Result};
use crate::types::{ScoreBound, ZAddFlags};

/// `nyc_zadd` flag: only add new members (Redis's NX).
pub const NYC_ZADD_NX: u32 = 1;
/// `nyc_zadd` flag: only update existing members (XX).
pub const NYC_ZADD_XX: u32 = 2;
/// `nyc_zadd` flag: only update to a greater score (GT).
pub const NYC_ZADD_GT: u32 = 4;
/// `nyc_zadd` flag: only update to a smaller score (LT).
pub const NYC_ZADD_LT: u32 = 8;
/// `nyc_zadd` flag: count updated members too (CH).
pub const NYC_ZADD_CH: u32 = 16;
/// Range flag: highest scores first (`nyc_zrange`'s REV).
pub const NYC_ZRANGE_REV: u32 = 1;
/// Range flag: each member is followed by its score's text (WITHSCORES).
pub const NYC_ZRANGE_WITHSCORES: u32 = 2;
/// Score-range flag: the minimum itself is excluded (Redis's `(min`).
pub const NYC_ZRANGE_MIN_EXCLUSIVE: u32 = 4;
/// Score-range flag: the maximum itself is excluded (Redis's `(max`).
pub const NYC_ZRANGE_MAX_EXCLUSIVE: u32 = 8;

/// The ZADD flags in `bits`; unknown bits are an invalid argument.
fn zadd_flags(bits: u32) -> Result<ZAddFlags> {
    let known = NYC_ZADD_NX | NYC_ZADD_XX | NYC_ZADD_GT | NYC_ZADD_LT | NYC_ZADD_CH;
    if bits & !known != 0 {
        return Err(Error::invalid(format!(
            "unknown nyc_zadd flag bits {:#x}",
            bits & !known
        )));
    }
    Ok(ZAddFlags {
        nx: bits & NYC_ZADD_NX != 0,
        xx: bits & NYC_ZADD_XX != 0,
        gt: bits & NYC_ZADD_GT != 0,
        lt: bits & NYC_ZADD_LT != 0,
        ch: bits & NYC_ZADD_CH != 0,
    })
}

/// Checks range flags against the ones a call knows.
fn range_flags(bits: u32, known: u32, what: &str) -> Result<u32> {
    if bits & !known != 0 {
        return Err(Error::invalid(format!(
            "unknown {what} flag bits {:#x}",
            bits & !known
        )));
    }
    Ok(bits)
}

fn bounds(min: f64, max: f64, flags: u32) -> (ScoreBound, ScoreBound) {
    (
        ScoreBound {
            value: min,
            exclusive: flags & NYC_ZRANGE_MIN_EXCLUSIVE != 0,
        },
        ScoreBound {
            value: max,
            exclusive: flags & NYC_ZRANGE_MAX_EXCLUSIVE != 0,
        },
    )
}

/// ZADD: adds or updates the `n` members `members[i]` with `scores[i]` in
/// the sorted set at `key` under `flags` (`NYC_ZADD_*`); `*count` (may be
/// NULL) receives the number added, or added plus changed with
/// `NYC_ZADD_CH`.
///
/// Statuses: `NYC_OK`; `NYC_INVALID_ARGUMENT` (NX with XX, GT/LT with NX,
/// GT with LT: Redis's errors; unknown flag bits; `n` 0; bad pointers);
/// `NYC_NOT_A_NUMBER` (a NaN score); `NYC_WRONG_TYPE`; `NYC_TOO_LARGE`;
/// `NYC_OUT_OF_MEMORY`. Flags and scores are checked before the key is
/// looked at.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes;
/// `scores` is NULL or `n` doubles; `members` is NULL or `n` slices, each
/// NULL or readable for its length; `count` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zadd(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    scores: *const f64,
    members: *const nyc_slice,
    n: usize,
    flags: u32,
    count: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key`, `scores` and `members` are NULL or readable as described.
        let (key, scores, members) = unsafe {
            (
                bytes(key, klen, "key")?,
                array(scores, n, "scores")?,
                slices(members, n, "members")?,
            )
        };
        let flags = zadd_flags(flags)?;
        let pairs: Vec<(f64, &[u8])> = scores.iter().copied().zip(members).collect();
        let n = c.zadd(key, &pairs, flags)?;
        // SAFETY: the caller promises `count` is NULL or writable.
        unsafe { write_opt(count, n) };
        Ok(())
    })
}

/// ZADD INCR: adds `increment` to the member's score (a new member starts
/// at 0) under `flags` and writes the new score to `*score` (may be NULL).
///
/// Statuses: `NYC_OK`; `NYC_NOT_FOUND` when the flags kept the change from
/// happening (Redis's nil reply: NX on an existing member, XX on a new one,
/// GT/LT not met); `NYC_NOT_A_NUMBER` (a NaN increment, or a NaN result
/// such as `inf + -inf`: nothing changes); the others as `nyc_zadd`.
///
/// # Safety
/// `cache` is NULL or live; `key`/`member` are NULL or `klen`/`mlen`
/// readable bytes; `score` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zadd_incr(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    increment: f64,
    member: *const c_void,
    mlen: usize,
    flags: u32,
    score: *mut f64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `member` are NULL or readable for their lengths.
        let (key, member) = unsafe { (bytes(key, klen, "key")?, bytes(member, mlen, "member")?) };
        match c.zadd_incr(key, increment, member, zadd_flags(flags)?)? {
            Some(s) => {
                // SAFETY: the caller promises `score` is NULL or writable.
                unsafe { write_opt(score, s) };
                Ok(nyc_status::NYC_OK)
            }
            None => Ok(nil()),
        }
    })
}

/// ZINCRBY: adds `increment` to the member's score (a new member starts at
/// 0); `*score` (may be NULL) receives the new score. Statuses as
/// `nyc_zadd_incr`, never `NYC_NOT_FOUND`.
///
/// # Safety
/// As `nyc_zadd_incr`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zincrby(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    increment: f64,
    member: *const c_void,
    mlen: usize,
    score: *mut f64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `member` are NULL or readable for their lengths.
        let (key, member) = unsafe { (bytes(key, klen, "key")?, bytes(member, mlen, "member")?) };
        let s = c.zincrby(key, increment, member)?;
        // SAFETY: the caller promises `score` is NULL or writable.
        unsafe { write_opt(score, s) };
        Ok(())
    })
}

/// ZREM: removes the `n` members; `*removed` (may be NULL) receives how
/// many were there. A sorted set left empty is removed. Statuses:
/// `NYC_OK`; `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes;
/// `members` is NULL or `n` readable slices; `removed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zrem(
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
        let (key, members) = unsafe { (bytes(key, klen, "key")?, slices(members, n, "members")?) };
        let count = c.zrem(key, &members)?;
        // SAFETY: the caller promises `removed` is NULL or writable.
        unsafe { write_opt(removed, count) };
        Ok(())
    })
}

/// ZSCORE: the member's score in `*score`. Statuses: `NYC_OK`;
/// `NYC_NOT_FOUND` (no such key or member); `NYC_WRONG_TYPE`;
/// `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key`/`member` are NULL or `klen`/`mlen`
/// readable bytes; `score` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zscore(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    member: *const c_void,
    mlen: usize,
    score: *mut f64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key`/`member` are NULL or readable and `score` NULL or writable.
        let (key, member, score) = unsafe {
            (
                bytes(key, klen, "key")?,
                bytes(member, mlen, "member")?,
                out_param(score, "score")?,
            )
        };
        match c.zscore(key, member)? {
            Some(s) => {
                score.set(s);
                Ok(nyc_status::NYC_OK)
            }
            None => Ok(nil()),
        }
    })
}

/// ZRANK: the member's 0-based rank by ascending score in `*rank`.
/// Statuses as `nyc_zscore`.
///
/// # Safety
/// As `nyc_zscore`, with `rank` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zrank(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    member: *const c_void,
    mlen: usize,
    rank: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key`/`member` are NULL or readable and `rank` NULL or writable.
        let (key, member, rank) = unsafe {
            (
                bytes(key, klen, "key")?,
                bytes(member, mlen, "member")?,
                out_param(rank, "rank")?,
            )
        };
        match c.zrank(key, member)? {
            Some(r) => {
                rank.set(r);
                Ok(nyc_status::NYC_OK)
            }
            None => Ok(nil()),
        }
    })
}

/// ZCARD: `*n` receives the number of members (0 for an absent key).
/// Statuses: `NYC_OK`; `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`;
/// `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `n` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zcard(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    n: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `n` NULL or writable.
        let (key, n) = unsafe { (bytes(key, klen, "key")?, out_param(n, "n")?) };
        n.set(c.zcard(key)?);
        Ok(())
    })
}

/// ZRANGE by index: members `start..=stop` (LRANGE's index rules) in
/// ascending order, or descending with `NYC_ZRANGE_REV` (indexes then count
/// from the highest); with `NYC_ZRANGE_WITHSCORES` each member is followed
/// by its score's text. Statuses: `NYC_OK`; `NYC_WRONG_TYPE`;
/// `NYC_INVALID_ARGUMENT` (also unknown flag bits); `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zrange(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    start: i64,
    stop: i64,
    flags: u32,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        let flags = range_flags(flags, NYC_ZRANGE_REV | NYC_ZRANGE_WITHSCORES, "nyc_zrange")?;
        let items = c.zrange(key, start, stop, flags & NYC_ZRANGE_REV != 0)?;
        out.set(scored_array(items, flags & NYC_ZRANGE_WITHSCORES != 0));
        Ok(())
    })
}

/// ZRANGEBYSCORE: members with `min <= score <= max` in ascending order
/// (`NYC_ZRANGE_MIN_EXCLUSIVE`/`MAX_EXCLUSIVE` make a bound strict; pass
/// `-INFINITY`/`INFINITY` for open ends), skipping `offset` and returning
/// at most `count` (Redis's LIMIT: a negative `count` means all the rest,
/// a negative `offset` returns nothing; `0, -1` is no limit), with scores
/// under `NYC_ZRANGE_WITHSCORES`.
///
/// Statuses: `NYC_OK`; `NYC_NOT_A_NUMBER` (a NaN bound); `NYC_WRONG_TYPE`;
/// `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// As `nyc_zrange`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zrangebyscore(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    min: f64,
    max: f64,
    flags: u32,
    offset: i64,
    count: i64,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        let known = NYC_ZRANGE_WITHSCORES | NYC_ZRANGE_MIN_EXCLUSIVE | NYC_ZRANGE_MAX_EXCLUSIVE;
        let flags = range_flags(flags, known, "nyc_zrangebyscore")?;
        let (min, max) = bounds(min, max, flags);
        let items = c.zrangebyscore(key, min, max, Some((offset, count)))?;
        out.set(scored_array(items, flags & NYC_ZRANGE_WITHSCORES != 0));
        Ok(())
    })
}

/// ZCOUNT: `*n` receives how many members score within the bounds (flags
/// `NYC_ZRANGE_MIN_EXCLUSIVE`/`MAX_EXCLUSIVE`). Statuses as
/// `nyc_zrangebyscore`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `n` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zcount(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    min: f64,
    max: f64,
    flags: u32,
    n: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `n` NULL or writable.
        let (key, n) = unsafe { (bytes(key, klen, "key")?, out_param(n, "n")?) };
        let flags = range_flags(
            flags,
            NYC_ZRANGE_MIN_EXCLUSIVE | NYC_ZRANGE_MAX_EXCLUSIVE,
            "nyc_zcount",
        )?;
        let (min, max) = bounds(min, max, flags);
        n.set(c.zcount(key, min, max)?);
        Ok(())
    })
}

/// ZPOPMIN / ZPOPMAX.
///
/// # Safety
/// As `nyc_zpopmin`.
unsafe fn pop(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    count: usize,
    out: *mut *mut nyc_array,
    max: bool,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        let items = if max {
            c.zpopmax(key, count)?
        } else {
            c.zpopmin(key, count)?
        };
        out.set(scored_array(items, true));
        Ok(())
    })
}

/// ZPOPMIN: removes up to `count` lowest-scored members and returns them,
/// lowest first, each followed by its score's text (Redis's reply; ZPOPMIN
/// without a count is `count` 1). An absent key gives an empty array.
/// Statuses: `NYC_OK`; `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`;
/// `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zpopmin(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    count: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_zpopmin`'s.
    unsafe { pop(cache, key, klen, count, out, false) }
}

/// ZPOPMAX: as `nyc_zpopmin`, highest first.
///
/// # Safety
/// As `nyc_zpopmin`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_zpopmax(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    count: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_zpopmax`'s.
    unsafe { pop(cache, key, klen, count, out, true) }
}
