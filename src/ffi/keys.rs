//! Single-key operations: writes, reads, deletes, TTLs and counters.
//!
//! Keys and values are `(pointer, length)` byte ranges; a key may be empty.
//! `ttl_ms == 0` means "no expiry" everywhere in the C API.

use std::ffi::c_void;
use std::time::Duration;

use super::boundary::{nyc_cache, with_cache};
use super::handles::nyc_value;
use super::slice::{Out, OutBuf, buffer, bytes, out_param};
use super::status::{fail_static, nyc_status};
use crate::KeyTtl;
use crate::codec::{self, Encoding};
use crate::error::{Error, ErrorKind, Result};

/// `ttl_ms` as the Rust API's TTL (0 = none).
#[inline]
pub(crate) fn ttl(ttl_ms: u64) -> Option<Duration> {
    (ttl_ms != 0).then(|| Duration::from_millis(ttl_ms))
}

/// `NYC_NOT_FOUND`, recorded as this thread's last error. An expected
/// outcome, so it is returned as a status rather than built as an `Error`.
#[inline]
pub(crate) fn missing() -> nyc_status {
    fail_static(ErrorKind::NotFound, "key not found")
}

#[cold]
fn too_small(needed: usize, cap: usize) -> Error {
    Error::with_message(
        ErrorKind::BufferTooSmall,
        format!(
            "the value is {needed} bytes but the buffer holds {cap}; the needed length was written to *len"
        ),
    )
}

/// Found → Ok, absent → NOT_FOUND.
#[inline]
fn found(yes: bool) -> Result<nyc_status> {
    Ok(if yes { nyc_status::NYC_OK } else { missing() })
}

macro_rules! key_arg {
    ($key:ident, $klen:ident) => {
        // SAFETY: the caller promises `key` is NULL or `klen` readable bytes.
        unsafe { bytes($key, $klen, "key") }?
    };
}

macro_rules! value_arg {
    ($val:ident, $vlen:ident) => {
        // SAFETY: the caller promises `val` is NULL or `vlen` readable bytes.
        unsafe { bytes($val, $vlen, "value") }?
    };
}

/// Stores `val` under `key`, replacing any previous value; `ttl_ms` 0 means
/// no expiry (TTLs are capped at about 557 years: 2^44 ms of the cache's
/// clock). Makes room by evicting if needed.
///
/// Statuses: `NYC_OK`; `NYC_TOO_LARGE` (key or value over the limits;
/// nothing is evicted); `NYC_INVALID_ARGUMENT` (NULL handle, NULL pointer
/// with a length); `NYC_OUT_OF_MEMORY` (the old value, if any, is kept).
///
/// # Safety
/// `cache` is NULL or live; `key`/`val` are NULL or point to `klen`/`vlen` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_set(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    val: *const c_void,
    vlen: usize,
    ttl_ms: u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        c.set(key_arg!(key, klen), value_arg!(val, vlen), ttl(ttl_ms))
    })
}

/// Stores only if `key` is absent. Statuses as `nyc_set`, plus `NYC_EXISTS`
/// if the key is present.
///
/// # Safety
/// As `nyc_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_add(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    val: *const c_void,
    vlen: usize,
    ttl_ms: u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        c.add(key_arg!(key, klen), value_arg!(val, vlen), ttl(ttl_ms))
    })
}

/// Stores only if `key` is present. Statuses as `nyc_set`, plus
/// `NYC_NOT_FOUND` if the key is absent.
///
/// # Safety
/// As `nyc_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_replace(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    val: *const c_void,
    vlen: usize,
    ttl_ms: u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        c.replace(key_arg!(key, klen), value_arg!(val, vlen), ttl(ttl_ms))
    })
}

/// Stores only if the key's version is still `version` (from `nyc_gets`).
/// Statuses as `nyc_set`, plus `NYC_CAS_MISMATCH` if someone wrote the key
/// since, `NYC_NOT_FOUND` if it is gone.
///
/// # Safety
/// As `nyc_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_cas(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    val: *const c_void,
    vlen: usize,
    ttl_ms: u64,
    version: u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        c.cas(
            key_arg!(key, klen),
            value_arg!(val, vlen),
            ttl(ttl_ms),
            version,
        )
    })
}

/// Copies the value of `key` into `buf` (capacity `cap`) and writes its
/// length to `*len`. `buf` may be uninitialised memory, and `buf` or `len`
/// may overlap the key (the key is read before anything is written).
///
/// Statuses: `NYC_OK`; `NYC_NOT_FOUND`; `NYC_BUFFER_TOO_SMALL` when the
/// value is longer than `cap`: nothing is copied and `*len` receives the
/// needed length (retry with a buffer that big; `buf` NULL with `cap` 0
/// asks for the length only); `NYC_INVALID_ARGUMENT` (NULL handle, NULL
/// `len`, NULL pointer with a length); `NYC_TOO_LARGE` (key over the
/// limit); `NYC_OUT_OF_MEMORY` (a compressed value could not be
/// decompressed for lack of memory).
///
/// # Safety
/// `cache` is NULL or live; `key` as in `nyc_set`; `buf` is NULL or `cap`
/// writable bytes; `len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_get(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    buf: *mut c_void,
    cap: usize,
    len: *mut usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        let key = key_arg!(key, klen);
        // SAFETY: the caller promises `buf` is NULL or `cap` writable bytes.
        let buf = unsafe { buffer(buf, cap, "buf") }?;
        // SAFETY: the caller promises `len` is NULL or writable.
        let len = unsafe { out_param(len, "len") }?;
        // One copy under the shard lock, straight into the caller's memory
        // through a raw pointer: no reference on the block to take and drop
        // (a `Value` handle cost ~6 ns a hit), and no Rust reference ever
        // formed over the caller's buffer.
        // The copy is made while the key is still borrowed by the lookup,
        // so a buffer that overlaps the key (legal C) gets a private copy
        // of the key first.
        let key_copy;
        let key = if buf.overlaps(key) {
            key_copy = key.to_vec();
            &key_copy[..]
        } else {
            key
        };
        let found = c.read_with(key, buf.cap(), |encoding, stored, n| match encoding {
            Encoding::Raw => {
                buf.write(stored);
                Ok(())
            }
            Encoding::Lz4 => {
                let mut plain = Vec::new();
                plain.try_reserve_exact(n).map_err(|_| out_of_memory(n))?;
                plain.resize(n, 0);
                codec::decode_into(encoding, stored, &mut plain)?;
                buf.write(&plain);
                Ok(())
            }
        })?;
        let Some(n) = found else {
            return Ok(missing());
        };
        len.set(n);
        if n > buf.cap() {
            return Err(too_small(n, buf.cap()));
        }
        Ok(nyc_status::NYC_OK)
    })
}

#[cold]
fn out_of_memory(n: usize) -> Error {
    Error::with_message(
        ErrorKind::OutOfMemory,
        format!("no memory to decompress a value of {n} bytes"),
    )
}

/// Writes the value's length to `len` and, if it fits, the value to `buf`.
fn copy_out(value: &[u8], buf: &OutBuf, len: Out<usize>) -> Result<nyc_status> {
    len.set(value.len());
    if value.len() > buf.cap() {
        return Err(too_small(value.len(), buf.cap()));
    }
    buf.write(value);
    Ok(nyc_status::NYC_OK)
}

/// Like `nyc_get`, also writing the value's CAS version to `*version` (for
/// `nyc_cas`). On `NYC_BUFFER_TOO_SMALL` only `*len` is written, and no
/// version is assigned (assigning one charges memory and could evict). A
/// NULL `len` or `version` is `NYC_INVALID_ARGUMENT`.
///
/// # Safety
/// As `nyc_get`; `version` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_gets(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    buf: *mut c_void,
    cap: usize,
    len: *mut usize,
    version: *mut u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        let key = key_arg!(key, klen);
        // SAFETY: the caller promises `buf` is NULL or `cap` writable bytes.
        let buf = unsafe { buffer(buf, cap, "buf") }?;
        // SAFETY: the caller promises `len` and `version` are NULL or writable.
        let (len, version) = unsafe { (out_param(len, "len")?, out_param(version, "version")?) };
        // A plain read first when the value might not fit, so that a
        // too-small buffer does not assign (and charge for) a version.
        if cap < c.max_value_size() as usize {
            let Some(value) = c.get(key)? else {
                return Ok(missing());
            };
            if value.len() > cap {
                len.set(value.len());
                return Err(too_small(value.len(), cap));
            }
        }
        let Some(found) = c.gets(key)? else {
            return Ok(missing());
        };
        let status = copy_out(&found.value, &buf, len)?;
        version.set(found.version);
        Ok(status)
    })
}

/// A handle to the value of `key` without copying it (`*out`; a value
/// stored compressed is decompressed into a fresh copy), valid until
/// `nyc_value_free` even if the entry is overwritten, evicted or the cache
/// closed. Statuses: `NYC_OK`, `NYC_NOT_FOUND`, `NYC_INVALID_ARGUMENT`,
/// `NYC_TOO_LARGE` (key over the limit), `NYC_OUT_OF_MEMORY` (no memory to
/// decompress).
///
/// # Safety
/// `cache` is NULL or live; `key` as in `nyc_set`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_get_value(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    out: *mut *mut nyc_value,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        let key = key_arg!(key, klen);
        // SAFETY: the caller promises `out` is NULL or writable.
        let slot = unsafe { out_param(out, "out") }?;
        let Some(value) = c.get(key)? else {
            return Ok(missing());
        };
        slot.set(nyc_value::entry(value));
        Ok(nyc_status::NYC_OK)
    })
}

/// Removes `key`. `NYC_OK` if it existed, `NYC_NOT_FOUND` if not.
///
/// # Safety
/// `cache` is NULL or live; `key` as in `nyc_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_delete(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        found(c.delete(key_arg!(key, klen))?)
    })
}

/// `NYC_OK` if `key` exists, `NYC_NOT_FOUND` if not. Does not count as a
/// use of the entry for eviction.
///
/// # Safety
/// `cache` is NULL or live; `key` as in `nyc_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_exists(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        found(c.exists(key_arg!(key, klen))?)
    })
}

/// Marks `key` as just used (Redis TOUCH). `NYC_OK` or `NYC_NOT_FOUND`.
///
/// # Safety
/// `cache` is NULL or live; `key` as in `nyc_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_touch(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        found(c.touch(key_arg!(key, klen))?)
    })
}

/// Sets the TTL of an existing `key` to `ttl_ms` from now; `ttl_ms` 0
/// removes the TTL (as everywhere in this API, 0 means "no expiry").
/// `NYC_OK` or `NYC_NOT_FOUND`.
///
/// # Safety
/// `cache` is NULL or live; `key` as in `nyc_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_expire(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    ttl_ms: u64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        found(c.expire(key_arg!(key, klen), ttl(ttl_ms))?)
    })
}

/// Removes the TTL of `key` (Redis PERSIST); same as `nyc_expire` with 0.
/// `NYC_OK` if the key exists (with or without a TTL), else `NYC_NOT_FOUND`.
///
/// # Safety
/// `cache` is NULL or live; `key` as in `nyc_set`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_persist(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        found(c.expire(key_arg!(key, klen), None)?)
    })
}

/// Writes the remaining lifetime of `key` in milliseconds to `*ms`, or -1
/// if the key never expires. `NYC_OK`, `NYC_NOT_FOUND`, or
/// `NYC_INVALID_ARGUMENT` (NULL `ms`, NULL handle or key pointer).
///
/// # Safety
/// `cache` is NULL or live; `key` as in `nyc_set`; `ms` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_ttl(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    ms: *mut i64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        let key = key_arg!(key, klen);
        // SAFETY: the caller promises `ms` is NULL or writable.
        let ms = unsafe { out_param(ms, "ms") }?;
        ms.set(match c.ttl(key)? {
            KeyTtl::Missing => return Ok(missing()),
            KeyTtl::Persistent => -1,
            KeyTtl::Expires(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        });
        Ok(nyc_status::NYC_OK)
    })
}

/// Adds `delta` (may be negative) to the decimal integer stored at `key`
/// (Redis INCRBY: a missing key counts as 0; the TTL is kept) and writes
/// the new value to `*out` (which may be NULL if not wanted).
///
/// Statuses: `NYC_OK`; `NYC_NOT_A_NUMBER` (the value is not a decimal
/// 64-bit integer); `NYC_OVERFLOW` (the result would not fit); the value is
/// unchanged on either; `NYC_OUT_OF_MEMORY`.
///
/// # Safety
/// `cache` is NULL or live; `key` as in `nyc_set`; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_incr(
    cache: *const nyc_cache,
    key: *const c_void,
    klen: usize,
    delta: i64,
    out: *mut i64,
) -> nyc_status {
    // SAFETY: `cache` is NULL or live, as the caller promises.
    with_cache(unsafe { cache.as_ref() }, |c| {
        let n = c.incr(key_arg!(key, klen), delta)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        if let Some(slot) = unsafe { out.as_mut() } {
            *slot = n;
        }
        Ok(())
    })
}
