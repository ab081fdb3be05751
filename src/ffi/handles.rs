//! Handles the library returns to the host: `nyc_value` (one byte string)
//! and `nyc_array` (a list of byte strings). The host reads them with the
//! accessor functions and releases each with its `_free` function.

use std::ffi::c_void;

use super::boundary::guarded;
use crate::Value;

/// A value returned by the cache. It shares the stored bytes (no copy;
/// values stored compressed are decompressed into a fresh copy) and keeps
/// them alive: the handle stays valid after the entry is overwritten,
/// deleted, evicted or the cache is closed, until `nyc_value_free`. A handle
/// may be read from any thread; free it exactly once.
pub struct nyc_value {
    bytes: Payload,
}

enum Payload {
    /// Bytes shared with the cache (a reference on the stored block).
    Entry(Value),
    /// Bytes made for this reply (metrics text, ...).
    Owned(Box<[u8]>),
}

impl nyc_value {
    pub(crate) fn entry(value: Value) -> *mut nyc_value {
        Box::into_raw(Box::new(nyc_value {
            bytes: Payload::Entry(value),
        }))
    }

    pub(crate) fn owned(bytes: impl Into<Box<[u8]>>) -> *mut nyc_value {
        Box::into_raw(Box::new(nyc_value {
            bytes: Payload::Owned(bytes.into()),
        }))
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.bytes {
            Payload::Entry(v) => v.as_bytes(),
            Payload::Owned(b) => b,
        }
    }
}

/// The first byte of the value (never NULL for a live handle, even when the
/// value is empty); NULL if `value` is NULL. Valid until `nyc_value_free`.
///
/// # Safety
/// `value` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_value_data(value: *const nyc_value) -> *const c_void {
    // SAFETY: the caller promises NULL or a live handle.
    match unsafe { value.as_ref() } {
        Some(v) => v.as_bytes().as_ptr().cast(),
        None => std::ptr::null(),
    }
}

/// The value's length in bytes; 0 if `value` is NULL.
///
/// # Safety
/// `value` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_value_len(value: *const nyc_value) -> usize {
    // SAFETY: the caller promises NULL or a live handle.
    unsafe { value.as_ref() }.map_or(0, |v| v.as_bytes().len())
}

/// Releases a value handle; NULL is a no-op.
///
/// # Safety
/// `value` is NULL or a live handle from this library, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_value_free(value: *mut nyc_value) {
    if !value.is_null() {
        // SAFETY: a live handle was made by Box::into_raw and is freed once, as the caller promises.
        let value = unsafe { Box::from_raw(value) };
        // Dropping has nothing to report, and no panic may reach C.
        let _ = guarded(move || {
            drop(value);
            Ok(())
        });
    }
}

/// A list of byte strings returned by the cache (scan's keys, and the
/// multi-element replies of later APIs). Items are stored back to back in
/// one allocation. Free with `nyc_array_free`.
pub struct nyc_array {
    bytes: Vec<u8>,
    /// `ends[i]` is where item `i` ends in `bytes`.
    ends: Vec<usize>,
}

impl nyc_array {
    pub(crate) fn from_items<T: AsRef<[u8]>>(items: &[T]) -> *mut nyc_array {
        let total = items.iter().map(|i| i.as_ref().len()).sum();
        let mut bytes = Vec::with_capacity(total);
        let mut ends = Vec::with_capacity(items.len());
        for item in items {
            bytes.extend_from_slice(item.as_ref());
            ends.push(bytes.len());
        }
        Box::into_raw(Box::new(nyc_array { bytes, ends }))
    }

    fn item(&self, index: usize) -> Option<&[u8]> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        self.bytes.get(start..end)
    }
}

/// How many items the array holds; 0 if `array` is NULL.
///
/// # Safety
/// `array` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_array_count(array: *const nyc_array) -> usize {
    // SAFETY: the caller promises NULL or a live handle.
    unsafe { array.as_ref() }.map_or(0, |a| a.ends.len())
}

/// The first byte of item `index` (not NUL-terminated; see
/// `nyc_array_item_len`); NULL if `array` is NULL or `index` is out of range.
///
/// # Safety
/// `array` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_array_item_data(
    array: *const nyc_array,
    index: usize,
) -> *const c_void {
    // SAFETY: the caller promises NULL or a live handle.
    match unsafe { array.as_ref() }.and_then(|a| a.item(index)) {
        Some(item) => item.as_ptr().cast(),
        None => std::ptr::null(),
    }
}

/// The length of item `index`; 0 if `array` is NULL or `index` is out of
/// range.
///
/// # Safety
/// `array` is NULL or a live handle from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_array_item_len(array: *const nyc_array, index: usize) -> usize {
    // SAFETY: the caller promises NULL or a live handle.
    unsafe { array.as_ref() }
        .and_then(|a| a.item(index))
        .map_or(0, <[u8]>::len)
}

/// Releases an array and all its items; NULL is a no-op.
///
/// # Safety
/// `array` is NULL or a live handle from this library, not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nyc_array_free(array: *mut nyc_array) {
    if !array.is_null() {
        // SAFETY: made by Box::into_raw and freed once, as the caller promises.
        let array = unsafe { Box::from_raw(array) };
        let _ = guarded(move || {
            drop(array);
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(a: *const nyc_array, i: usize) -> Option<Vec<u8>> {
        // SAFETY: `a` is a live array in these tests; data/len describe one item.
        unsafe {
            let p = nyc_array_item_data(a, i);
            (!p.is_null()).then(|| {
                std::slice::from_raw_parts(p.cast::<u8>(), nyc_array_item_len(a, i)).to_vec()
            })
        }
    }

    #[test]
    fn arrays_hold_their_items_including_empty_ones() {
        let a = nyc_array::from_items(&[&b"ab"[..], b"", b"cde"]);
        // SAFETY: `a` is live until the free below.
        assert_eq!(unsafe { nyc_array_count(a) }, 3);
        assert_eq!(item(a, 0).unwrap(), b"ab");
        assert_eq!(item(a, 1).unwrap(), b"");
        assert_eq!(item(a, 2).unwrap(), b"cde");
        assert_eq!(item(a, 3), None);
        // SAFETY: freed once; NULL is allowed.
        unsafe {
            nyc_array_free(a);
            nyc_array_free(std::ptr::null_mut());
            assert_eq!(nyc_array_count(std::ptr::null()), 0);
        }
    }

    #[test]
    fn owned_values_read_back_and_null_handles_are_harmless() {
        let v = nyc_value::owned(b"text".to_vec());
        // SAFETY: `v` is live until freed; NULL is allowed.
        unsafe {
            assert_eq!(nyc_value_len(v), 4);
            assert_eq!(
                std::slice::from_raw_parts(nyc_value_data(v).cast::<u8>(), 4),
                b"text"
            );
            nyc_value_free(v);
            assert!(nyc_value_data(std::ptr::null()).is_null());
            assert_eq!(nyc_value_len(std::ptr::null()), 0);
            nyc_value_free(std::ptr::null_mut());
        }
    }
}
