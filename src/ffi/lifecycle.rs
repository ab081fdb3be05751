//! Opening and closing caches.

use std::ffi::c_char;

use super::boundary::{guarded, nyc_cache};
use super::slice::{c_text, out_param};
use super::status::nyc_status;
use crate::Cache;
use crate::error::Error;

/// Opens a cache. `config` is NULL (all defaults) or `key=value` pairs
/// separated by spaces, e.g. `"max_memory=64MiB shards=64 compress_min=1024"`.
/// On success `*out` receives the handle.
///
/// Statuses: `NYC_OK`; `NYC_INVALID_ARGUMENT` for an unknown key or a bad
/// value (the message names it) or a NULL `out`.
///
/// # Safety
/// `config` is NULL or NUL-terminated; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_open(config: *const c_char, out: *mut *mut nyc_cache) -> nyc_status {
    guarded(|| {
        // SAFETY: the caller promises NULL or a writable pointer.
        let slot = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller promises NULL or NUL-terminated text.
        let text = unsafe { c_text(config) }.unwrap_or(b"");
        let text = std::str::from_utf8(text)
            .map_err(|e| Error::invalid(format!("config is not UTF-8 text: {e}")))?;
        let cache = Cache::open(text)?;
        slot.set(Box::into_raw(Box::new(nyc_cache::new(cache))));
        Ok(())
    })
}

/// Closes a cache: stops its background thread and frees the handle. NULL
/// is a no-op. Values and arrays obtained from the cache stay valid until
/// they are freed. No other thread may be using the handle.
///
/// # Safety
/// `cache` is NULL or a handle from `nyc_open` that is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_close(cache: *mut nyc_cache) {
    if cache.is_null() {
        return;
    }
    // SAFETY: made by Box::into_raw in nyc_open and closed once, as the caller promises.
    let handle = unsafe { Box::from_raw(cache) };
    // Closing has no status to report; a panic while stopping the thread
    // (there is none known) must still not unwind into C.
    let _ = guarded(move || {
        handle.cache.close();
        drop(handle);
        Ok(())
    });
}
