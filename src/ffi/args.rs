//! Arguments and replies shared by the data-structure entry points
//! (`lists`, `sets`, `hashes`, `zsets`): element arrays, optional count
//! out-parameters, nil replies and score-carrying arrays.

use super::handles::nyc_array;
use super::slice::{array, bytes, nyc_slice};
use super::status::{fail_static, nyc_status};
use crate::error::{ErrorKind, Result};

/// The byte ranges of `n` slices at `ptr` (NULL with n 0 is none).
///
/// # Safety
/// `ptr` is NULL or points to `n` slices, each NULL or readable for its
/// length, all valid for `'a`.
pub(crate) unsafe fn slices<'a>(
    ptr: *const nyc_slice,
    n: usize,
    what: &'static str,
) -> Result<Vec<&'a [u8]>> {
    // SAFETY: the caller promises `ptr` is NULL or `n` initialised slices.
    let items = unsafe { array(ptr, n, what) }?;
    items
        .iter()
        // SAFETY: the caller promises each slice is NULL or readable for its length.
        .map(|s| unsafe { bytes(s.ptr, s.len, what) })
        .collect()
}

/// Writes `value` through `ptr` unless it is NULL (optional outputs).
///
/// # Safety
/// `ptr` is NULL or points to a writable, aligned `T`.
pub(crate) unsafe fn write_opt<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: non-NULL, and the caller promises it is writable and aligned.
        unsafe { ptr.write(value) }
    }
}

/// `NYC_NOT_FOUND` for Redis's nil reply: the key, member, field or index
/// is absent (a static message, no allocation).
pub(crate) fn nil() -> nyc_status {
    fail_static(
        ErrorKind::NotFound,
        "no such key, element or field (a nil reply)",
    )
}

/// A single-element reply: the bytes as a value handle in `*out`, or nil.
pub(crate) fn value_or_nil(
    out: super::slice::Out<*mut super::handles::nyc_value>,
    reply: Option<Vec<u8>>,
) -> nyc_status {
    match reply {
        Some(v) => {
            out.set(super::handles::nyc_value::owned(v));
            nyc_status::NYC_OK
        }
        None => nil(),
    }
}

/// An array of members, each followed by its score as Redis's reply text
/// when `with_scores` (what `ZRANGE ... WITHSCORES` returns).
pub(crate) fn scored_array(items: Vec<(Vec<u8>, f64)>, with_scores: bool) -> *mut nyc_array {
    if !with_scores {
        let members: Vec<Vec<u8>> = items.into_iter().map(|(m, _)| m).collect();
        return nyc_array::from_items(&members);
    }
    let mut flat = Vec::with_capacity(items.len() * 2);
    for (m, s) in items {
        flat.push(m);
        flat.push(crate::types::format_score(s).into_bytes());
    }
    nyc_array::from_items(&flat)
}
