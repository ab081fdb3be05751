//! Single-key operations: writes, reads, deletes, TTLs and counters.
//!
//! Keys and values are `(pointer, length)` byte ranges; a key may be empty.
//! `ttl_ms == 0` means "no expiry" everywhere in the C API.

use std::ffi::c_void;
use std::time::Duration;

use super::boundary::{nyc_cache, with_cache};
use super::handles::nyc_value;
use super::slice::{OutBuf, buffer, bytes, out_param};
use super::status::{fail_static, nyc_status};
use crate::codec::{self, Encoding};
use crate::error::{Error, ErrorKind, Result};
use crate::{Cache, KeyTtl};

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
        let Some(n) = read_to_buffer::<false>(c, key, &buf, &mut 0)? else {
            return Ok(missing());
        };
        len.set(n);
        if n > buf.cap() {
            return Err(too_small(n, buf.cap()));
        }
        Ok(nyc_status::NYC_OK)
    })
}

/// The read behind `nyc_get` and `nyc_gets`: one lookup, and one copy
/// under the shard lock straight into the caller's memory through a raw
/// pointer (no reference on the block to take and drop: a `Value` handle
/// cost ~6 ns a hit; no Rust reference formed over the caller's buffer).
/// With `WITH_VERSION`, `version` receives the CAS version, which the shard
/// assigns only if the value fits. Returns the value's length (copied iff
/// it is at most `buf.cap()`), or `None` if absent.
#[inline]
pub(crate) fn read_to_buffer<const WITH_VERSION: bool>(
    c: &Cache,
    key: &[u8],
    buf: &OutBuf,
    version: &mut u64,
) -> Result<Option<usize>> {
    // The copy is made while the lookup still borrows the key, so a buffer
    // that overlaps the key (legal C) gets a private copy of the key first.
    let key_copy;
    let key = if buf.overlaps(key) {
        key_copy = key.to_vec();
        &key_copy[..]
    } else {
        key
    };
    c.read_with::<WITH_VERSION>(key, buf.cap(), |encoding, stored, n, v| {
        *version = v;
        match encoding {
            // (The shard refuses byte reads of collections before this.)
            Encoding::Raw | Encoding::Collection => buf.write(stored),
            Encoding::Lz4 => {
                let mut plain = Vec::new();
                plain.try_reserve_exact(n).map_err(|_| out_of_memory(n))?;
                plain.resize(n, 0);
                codec::decode_into(encoding, stored, &mut plain)?;
                buf.write(&plain);
            }
        }
        Ok(())
    })
}

#[cold]
fn out_of_memory(n: usize) -> Error {
    Error::with_message(
        ErrorKind::OutOfMemory,
        format!("no memory to decompress a value of {n} bytes"),
    )
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
        let mut v = 0;
        let Some(n) = read_to_buffer::<true>(c, key, &buf, &mut v)? else {
            return Ok(missing());
        };
        len.set(n);
        if n > buf.cap() {
            return Err(too_small(n, buf.cap()));
        }
        version.set(v);
        Ok(nyc_status::NYC_OK)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::{nyc_close, nyc_open, nyc_stats};

    #[test]
    fn gets_with_a_small_buffer_reads_once_and_assigns_no_version() {
        let mut c = std::ptr::null_mut();
        let (mut len, mut version, mut buf) = (0usize, 0u64, [0u8; 16]);
        let mut st = crate::ffi::nyc_cache_stats::default();
        // SAFETY: a live handle from nyc_open until nyc_close; valid keys, buffers and out-pointers.
        unsafe {
            assert_eq!(
                nyc_open(c"max_memory=1MiB maintenance_ms=0".as_ptr(), &mut c),
                nyc_status::NYC_OK
            );
            let value = b"a value of 24 bytes long";
            assert_eq!(
                nyc_set(
                    c,
                    b"k".as_ptr().cast(),
                    1,
                    value.as_ptr().cast(),
                    value.len(),
                    0
                ),
                nyc_status::NYC_OK
            );
            nyc_stats(c, &mut st);
            let used = st.used_bytes;
            let st_probe = nyc_gets(
                c,
                b"k".as_ptr().cast(),
                1,
                buf.as_mut_ptr().cast(),
                16,
                &mut len,
                &mut version,
            );
            assert_eq!(st_probe, nyc_status::NYC_BUFFER_TOO_SMALL);
            assert_eq!(
                (len, version),
                (value.len(), 0),
                "only the length is written"
            );
            nyc_stats(c, &mut st);
            assert_eq!(
                (st.used_bytes, st.hits),
                (used, 1),
                "no version charged, one lookup counted"
            );
            let mut big = [0u8; 32];
            let ok = nyc_gets(
                c,
                b"k".as_ptr().cast(),
                1,
                big.as_mut_ptr().cast(),
                32,
                &mut len,
                &mut version,
            );
            assert_eq!(ok, nyc_status::NYC_OK);
            assert!(version != 0 && &big[..len] == value);
            nyc_stats(c, &mut st);
            assert!(st.used_bytes > used, "a version assigned is charged");
            nyc_close(c);
        }
    }
}
