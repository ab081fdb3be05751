//! Packed batches: the batch calls with every key (and value) laid back to
//! back in one buffer plus an array of lengths, and `nyc_mget_packed`
//! copying the found values back to back into one caller buffer.
//!
//! They exist for bindings in interpreted languages (the Python package
//! first): building an array of `nyc_slice` structs costs such a host a
//! foreign-object write per item, and a value handle per found key costs it
//! three more calls, which for a batch of 100 keys is more than the lookups
//! themselves. Joined bytes and an array of integers are each one cheap
//! operation there. The checks are those of `nyc_mget`/`nyc_mset`/
//! `nyc_mdelete`: every argument is validated before any key is touched.

use std::ffi::c_void;

use super::boundary::{nyc_cache, with_cache};
use super::keys::{read_to_buffer, ttl};
use super::slice::{array, buffer, bytes, out_param};
use super::status::nyc_status;
use crate::Cache;
use crate::error::{Error, ErrorKind, Result};

/// The length `nyc_mget_packed` writes for a key that is absent.
pub const NYC_ABSENT: usize = 0xFFFF_FFFF_FFFF_FFFF;
// Written out in hex so that cbindgen renders it as an unsigned C constant;
// this is `SIZE_MAX` on the 64-bit targets the library is built for.
const _: () = assert!(NYC_ABSENT == usize::MAX);

/// The packed buffer at `ptr` and a copy of its `n` item lengths (copied,
/// so that no reference into the caller's length array stays alive while
/// results are written); `what` names the argument in errors.
///
/// # Safety
/// `lens` is NULL or `n` readable lengths; `ptr` is NULL or readable for
/// their sum, for `'a`.
unsafe fn unpack<'a>(
    ptr: *const c_void,
    lens: *const usize,
    n: usize,
    what: &'static str,
) -> Result<(&'a [u8], Vec<usize>)> {
    // SAFETY: the caller promises `lens` is NULL or `n` readable lengths.
    let lens = unsafe { array(lens, n, what) }?;
    let total = lens
        .iter()
        .try_fold(0usize, |sum, &l| sum.checked_add(l))
        .ok_or_else(|| {
            Error::with_message(
                ErrorKind::InvalidArgument,
                format!("the {what} lengths overflow when added"),
            )
        })?;
    let mut copy = Vec::new();
    copy.try_reserve_exact(n).map_err(|_| no_memory(n))?;
    copy.extend_from_slice(lens);
    // SAFETY: the caller promises `ptr` is NULL or readable for the sum of the lengths.
    Ok((unsafe { bytes(ptr, total, what) }?, copy))
}

/// `all` cut into items of the given lengths (which sum to its length).
fn split<'b>(all: &'b [u8], lens: &[usize]) -> Vec<&'b [u8]> {
    let mut rest = all;
    lens.iter()
        .map(|&l| {
            let (item, tail) = rest.split_at(l);
            rest = tail;
            item
        })
        .collect()
}

#[cold]
fn no_memory(n: usize) -> Error {
    Error::with_message(ErrorKind::OutOfMemory, format!("no memory for {n} lengths"))
}

/// True if the `len` bytes at `a` and the `len_b` bytes at `b` share memory.
fn ranges_overlap(a: usize, len: usize, b: usize, len_b: usize) -> bool {
    len > 0 && len_b > 0 && a < b.saturating_add(len_b) && b < a.saturating_add(len)
}

fn check_keys(c: &Cache, keys: &[&[u8]]) -> Result<()> {
    keys.iter().try_for_each(|k| c.check_key(k))
}

/// Reads `n` keys packed back to back in `keys` (key `i` is the next
/// `klens[i]` bytes) and copies the values found back to back into `buf`
/// (capacity `cap`): `vlens[i]` receives the length of key `i`'s value, or
/// `NYC_ABSENT` if it is absent, and `*needed` the total length of the
/// values found. Value `i` starts where the found values before it end.
/// `buf` and `vlens` may overlap the keys and their lengths (the keys are
/// then read from a private copy).
///
/// Statuses: `NYC_OK`; `NYC_BUFFER_TOO_SMALL` when the values found do not
/// fit in `cap` bytes: `*needed` and `vlens` are written, `buf` holds only
/// a prefix (retry with `*needed` bytes or more; each key is read again,
/// and values may change in between); `NYC_INVALID_ARGUMENT` (NULL handle,
/// `vlens` or `needed`, a NULL range with a length); `NYC_TOO_LARGE` (a key
/// over the limit; nothing is read); `NYC_OUT_OF_MEMORY` (no memory to
/// decompress a value stored compressed).
///
/// # Safety
/// `cache` is NULL or live; `klens` is NULL or `n` readable lengths; `keys`
/// is NULL or readable for their sum; `buf` is NULL or `cap` writable
/// bytes; `vlens` is NULL or `n` writable lengths; `needed` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_mget_packed(
    cache: *const nyc_cache,
    keys: *const c_void,
    klens: *const usize,
    n: usize,
    buf: *mut c_void,
    cap: usize,
    vlens: *mut usize,
    needed: *mut usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `klens`/`keys` describe readable packed keys.
        let (all, klens) = unsafe { unpack(keys, klens, n, "keys") }?;
        // SAFETY: the caller promises `buf` is NULL or `cap` writable bytes.
        let buf = unsafe { buffer(buf, cap, "buf") }?;
        // SAFETY: the caller promises `needed` is NULL or writable.
        let needed = unsafe { out_param(needed, "needed") }?;
        if vlens.is_null() && n > 0 {
            return Err(Error::invalid(format!("vlens is NULL but n is {n}")));
        }
        // Values written into `buf` (or lengths into `vlens`) must not
        // change keys not yet read: keys sharing memory with an output are
        // read from a private copy.
        let owned;
        let all = if buf.overlaps(all)
            || ranges_overlap(
                vlens as usize,
                n.saturating_mul(size_of::<usize>()),
                all.as_ptr() as usize,
                all.len(),
            ) {
            owned = all.to_vec();
            &owned[..]
        } else {
            all
        };
        let keys = split(all, &klens);
        check_keys(c, &keys)?;
        // Lengths are gathered here and written out only once every read
        // succeeded, so a failure leaves `vlens` untouched.
        let mut lens = Vec::new();
        lens.try_reserve_exact(n).map_err(|_| no_memory(n))?;
        let (mut total, mut fits) = (0usize, true);
        for key in &keys {
            // Once a value has not fitted, the rest are only measured.
            let room = if fits {
                buf.tail(total)
            } else {
                buf.tail(buf.cap())
            };
            // A key holding a collection reads as absent (Redis's MGET).
            let read = match read_to_buffer::<false>(c, key, &room, &mut 0) {
                Err(e) if e.kind() == ErrorKind::WrongType => None,
                other => other?,
            };
            match read {
                None => lens.push(NYC_ABSENT),
                Some(len) => {
                    fits &= len <= room.cap();
                    // A repeated huge key could in theory sum past usize.
                    total = total.saturating_add(len);
                    lens.push(len);
                }
            }
        }
        // SAFETY: `vlens` is non-NULL (checked) or n == 0, and the caller promises `n` writable lengths.
        unsafe { std::ptr::copy_nonoverlapping(lens.as_ptr(), vlens, n) };
        needed.set(total);
        if fits {
            Ok(nyc_status::NYC_OK)
        } else {
            Err(Error::with_message(
                ErrorKind::BufferTooSmall,
                format!(
                    "the values found total {total} bytes but the buffer holds {cap}; *needed says how many"
                ),
            ))
        }
    })
}

/// Stores `n` pairs with one TTL (`ttl_ms` 0 = no expiry): key `i` is the
/// next `klens[i]` bytes of `keys`, its value the next `vlens[i]` bytes of
/// `vals`.
///
/// Statuses: `NYC_OK`; `NYC_INVALID_ARGUMENT` / `NYC_TOO_LARGE` for a bad
/// argument, found before anything is stored; `NYC_OUT_OF_MEMORY` (the
/// pairs before the failing one are stored).
///
/// # Safety
/// `cache` is NULL or live; `klens` and `vlens` are NULL or `n` readable
/// lengths; `keys` and `vals` are NULL or readable for the sums of theirs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_mset_packed(
    cache: *const nyc_cache,
    keys: *const c_void,
    klens: *const usize,
    vals: *const c_void,
    vlens: *const usize,
    n: usize,
    ttl_ms: u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises both packed buffers are readable as described by their lengths.
        let ((keys, klens), (vals, vlens)) = unsafe {
            (
                unpack(keys, klens, n, "keys")?,
                unpack(vals, vlens, n, "vals")?,
            )
        };
        let (keys, vals) = (split(keys, &klens), split(vals, &vlens));
        check_keys(c, &keys)?;
        vals.iter().try_for_each(|v| c.check_value(v))?;
        let ttl = ttl(ttl_ms);
        keys.iter()
            .zip(&vals)
            .try_for_each(|(k, v)| c.set(k, v, ttl))
    })
}

/// Deletes `n` keys packed back to back in `keys` (key `i` is the next
/// `klens[i]` bytes); writes how many existed to `*deleted` (may be NULL).
/// Statuses: `NYC_OK`, `NYC_INVALID_ARGUMENT`, `NYC_TOO_LARGE` (a key over
/// the limit; nothing is deleted).
///
/// # Safety
/// `cache` is NULL or live; `klens` is NULL or `n` readable lengths; `keys`
/// is NULL or readable for their sum; `deleted` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_mdelete_packed(
    cache: *const nyc_cache,
    keys: *const c_void,
    klens: *const usize,
    n: usize,
    deleted: *mut usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `klens`/`keys` describe readable packed keys.
        let (all, klens) = unsafe { unpack(keys, klens, n, "keys") }?;
        let keys = split(all, &klens);
        check_keys(c, &keys)?;
        let count = c.delete_many(&keys)?;
        // SAFETY: the caller promises `deleted` is NULL or writable.
        if let Some(slot) = unsafe { deleted.as_mut() } {
            *slot = count;
        }
        Ok(())
    })
}
