//! Hash commands: `nyc_hset` `nyc_hsetnx` `nyc_hget` `nyc_hdel`
//! `nyc_hexists` `nyc_hkeys` `nyc_hvals` `nyc_hlen` `nyc_hgetall`
//! `nyc_hincrby`. Conventions as in `lists`.

use std::ffi::c_void;

use super::args::{nil, slices, value_or_nil, write_opt};
use super::boundary::{nyc_cache, with_cache};
use super::handles::{nyc_array, nyc_value};
use super::slice::{bytes, nyc_slice, out_param};
use super::status::{fail_static, nyc_status};
use crate::error::ErrorKind;

/// HSET: sets `fields[i]` to `values[i]` for the `n` pairs in the hash at
/// `key` (created if needed); `*added` (may be NULL) receives how many
/// fields were new.
///
/// Statuses: `NYC_OK`; `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT` (NULL
/// handle, NULL pointer with a length, `n` 0); `NYC_TOO_LARGE` (key, field
/// or value over the limits, or a hash that would outgrow its shard's
/// budget: nothing is set); `NYC_OUT_OF_MEMORY`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes;
/// `fields` and `values` are NULL or `n` slices each, each NULL or readable
/// for its length; `added` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hset(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    fields: *const nyc_slice,
    values: *const nyc_slice,
    n: usize,
    added: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key`, `fields` and `values` are NULL or readable as described.
        let (key, fields, values) = unsafe {
            (
                bytes(key, klen, "key")?,
                slices(fields, n, "fields")?,
                slices(values, n, "values")?,
            )
        };
        let pairs: Vec<(&[u8], &[u8])> = fields.into_iter().zip(values).collect();
        let count = c.hset(key, &pairs)?;
        // SAFETY: the caller promises `added` is NULL or writable.
        unsafe { write_opt(added, count) };
        Ok(())
    })
}

/// HSETNX: sets the field only if it is absent. Statuses: `NYC_OK` (set);
/// `NYC_EXISTS` (the field existed; nothing changed); `NYC_WRONG_TYPE`;
/// `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`; `NYC_OUT_OF_MEMORY`.
///
/// # Safety
/// `cache` is NULL or live; `key`, `field`, `val` are NULL or readable for
/// `klen`, `flen`, `vlen` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hsetnx(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    field: *const c_void,
    flen: usize,
    val: *const c_void,
    vlen: usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises the three ranges are NULL or readable for their lengths.
        let (key, field, val) = unsafe {
            (
                bytes(key, klen, "key")?,
                bytes(field, flen, "field")?,
                bytes(val, vlen, "value")?,
            )
        };
        Ok(if c.hsetnx(key, field, val)? {
            nyc_status::NYC_OK
        } else {
            fail_static(ErrorKind::Exists, "the field already exists")
        })
    })
}

/// HGET: the field's value in `*out`. Statuses: `NYC_OK`; `NYC_NOT_FOUND`
/// (no such key or field); `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`;
/// `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key`/`field` are NULL or `klen`/`flen`
/// readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hget(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    field: *const c_void,
    flen: usize,
    out: *mut *mut nyc_value,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key`/`field` are NULL or readable and `out` NULL or writable.
        let (key, field, out) = unsafe {
            (
                bytes(key, klen, "key")?,
                bytes(field, flen, "field")?,
                out_param(out, "out")?,
            )
        };
        Ok(value_or_nil(out, c.hget(key, field)?))
    })
}

/// HDEL: removes the `n` fields; `*removed` (may be NULL) receives how
/// many were there. A hash left empty is removed. Statuses as `nyc_hset`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes;
/// `fields` is NULL or `n` readable slices; `removed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hdel(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    fields: *const nyc_slice,
    n: usize,
    removed: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `fields` are NULL or readable as described.
        let (key, fields) = unsafe { (bytes(key, klen, "key")?, slices(fields, n, "fields")?) };
        let count = c.hdel(key, &fields)?;
        // SAFETY: the caller promises `removed` is NULL or writable.
        unsafe { write_opt(removed, count) };
        Ok(())
    })
}

/// HEXISTS: `NYC_OK` if the field exists, `NYC_NOT_FOUND` if not (or no
/// such key); `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key`/`field` are NULL or `klen`/`flen`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hexists(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    field: *const c_void,
    flen: usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `field` are NULL or readable for their lengths.
        let (key, field) = unsafe { (bytes(key, klen, "key")?, bytes(field, flen, "field")?) };
        Ok(if c.hexists(key, field)? {
            nyc_status::NYC_OK
        } else {
            nil()
        })
    })
}

/// What a whole-hash read returns.
#[derive(Clone, Copy)]
enum Part {
    Keys,
    Values,
    All,
}

/// HKEYS / HVALS / HGETALL.
///
/// # Safety
/// As `nyc_hkeys`.
unsafe fn read_all(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_array,
    part: Part,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `out` NULL or writable.
        let (key, out) = unsafe { (bytes(key, klen, "key")?, out_param(out, "out")?) };
        let items = match part {
            Part::Keys => c.hkeys(key)?,
            Part::Values => c.hvals(key)?,
            Part::All => c
                .hgetall(key)?
                .into_iter()
                .flat_map(|(f, v)| [f, v])
                .collect(),
        };
        out.set(nyc_array::from_items(&items));
        Ok(())
    })
}

/// HKEYS: the fields in `*out` (empty for an absent key; insertion order
/// while the hash is small, no particular order after). Statuses:
/// `NYC_OK`; `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `out`
/// is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hkeys(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_hkeys`'s.
    unsafe { read_all(cache, key, klen, out, Part::Keys) }
}

/// HVALS: the values, in `nyc_hkeys`'s order. As `nyc_hkeys`.
///
/// # Safety
/// As `nyc_hkeys`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hvals(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_hvals`'s.
    unsafe { read_all(cache, key, klen, out, Part::Values) }
}

/// HGETALL: field, value, field, value, ... in `*out`. As `nyc_hkeys`.
///
/// # Safety
/// As `nyc_hkeys`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hgetall(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_array,
) -> nyc_status {
    // SAFETY: the caller's promises are `nyc_hgetall`'s.
    unsafe { read_all(cache, key, klen, out, Part::All) }
}

/// HLEN: `*n` receives the number of fields (0 for an absent key).
/// Statuses as `nyc_hkeys`.
///
/// # Safety
/// `cache` is NULL or live; `key` is NULL or `klen` readable bytes; `n` is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hlen(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    n: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` is NULL or readable and `n` NULL or writable.
        let (key, n) = unsafe { (bytes(key, klen, "key")?, out_param(n, "n")?) };
        n.set(c.hlen(key)?);
        Ok(())
    })
}

/// HINCRBY: adds `delta` to the field's integer value (an absent field
/// counts as 0) and writes the result to `*out` (may be NULL).
///
/// Statuses: `NYC_OK`; `NYC_NOT_A_NUMBER` (the value is not a decimal
/// 64-bit integer: "hash value is not an integer"); `NYC_OVERFLOW`;
/// `NYC_WRONG_TYPE`; `NYC_INVALID_ARGUMENT`; `NYC_TOO_LARGE`;
/// `NYC_OUT_OF_MEMORY`. Nothing changes on failure.
///
/// # Safety
/// `cache` is NULL or live; `key`/`field` are NULL or `klen`/`flen`
/// readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_hincrby(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    field: *const c_void,
    flen: usize,
    delta: i64,
    out: *mut i64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        // SAFETY: the caller promises `key` and `field` are NULL or readable for their lengths.
        let (key, field) = unsafe { (bytes(key, klen, "key")?, bytes(field, flen, "field")?) };
        let n = c.hincrby(key, field, delta)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        unsafe { write_opt(out, n) };
        Ok(())
    })
}
