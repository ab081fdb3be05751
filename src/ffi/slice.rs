//! Turning a host's pointers into Rust slices, strings and out-parameters,
//! with the checks the C API promises: `NULL` with length 0 is the empty
//! range, `NULL` with a length is an invalid argument, and so is a length
//! no allocation can have.

use std::ffi::{CStr, c_char, c_void};

use crate::error::{Error, ErrorKind, Result};

/// A byte range owned by the caller (batches pass arrays of these).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nyc_slice {
    /// First byte; may be NULL when `len` is 0.
    pub ptr: *const c_void,
    /// Length in bytes.
    pub len: usize,
}

/// The bytes at `ptr..ptr+len`; `what` names the argument in errors.
///
/// # Safety
/// Unless NULL, `ptr` points to `len` readable bytes that stay valid and
/// unmodified for `'a`.
#[inline]
pub(crate) unsafe fn bytes<'a>(
    ptr: *const c_void,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8]> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(null_with_length(what, len));
    }
    if len > isize::MAX as usize {
        return Err(Error::with_message(
            ErrorKind::InvalidArgument,
            format!("{what} length {len} is impossible"),
        ));
    }
    // SAFETY: non-NULL, length within isize::MAX, and the caller promises the range is readable for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// A caller's writable buffer, checked but kept as a raw pointer: no Rust
/// reference is ever formed over it, because C callers pass uninitialised
/// memory and may even pass a buffer that overlaps the key.
pub(crate) struct OutBuf {
    ptr: *mut u8,
    cap: usize,
}

impl OutBuf {
    /// The capacity in bytes.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// True if the buffer shares memory with `bytes`.
    pub(crate) fn overlaps(&self, bytes: &[u8]) -> bool {
        let (a, b) = (self.ptr as usize, bytes.as_ptr() as usize);
        self.cap > 0 && !bytes.is_empty() && a < b + bytes.len() && b < a + self.cap
    }

    /// The part of the buffer from byte `offset` on (`offset <= cap`), for
    /// filling a buffer with several values back to back.
    pub(crate) fn tail(&self, offset: usize) -> OutBuf {
        assert!(offset <= self.cap, "OutBuf::tail past the capacity");
        OutBuf {
            // `wrapping_add` keeps this safe code; the pointer is only written through after `write`'s check.
            ptr: self.ptr.wrapping_add(offset),
            cap: self.cap - offset,
        }
    }

    /// Copies `bytes` to the start of the buffer; the caller checked that
    /// they fit (`bytes.len() <= cap`).
    pub(crate) fn write(&self, bytes: &[u8]) {
        assert!(bytes.len() <= self.cap, "OutBuf::write past the capacity");
        if !bytes.is_empty() {
            // SAFETY: `buffer` checked ptr is non-NULL when cap > 0, and its caller promised `cap` writable bytes;
            // `copy` (memmove) is correct even if they overlap `bytes`.
            unsafe { std::ptr::copy(bytes.as_ptr(), self.ptr, bytes.len()) }
        }
    }
}

/// The writable buffer at `ptr..ptr+cap` (NULL with cap 0 is empty).
///
/// # Safety
/// Unless NULL, `ptr` points to `cap` writable bytes (initialised or not)
/// for as long as the returned value is used.
#[inline]
pub(crate) unsafe fn buffer(ptr: *mut c_void, cap: usize, what: &'static str) -> Result<OutBuf> {
    if ptr.is_null() && cap > 0 {
        return Err(null_with_length(what, cap));
    }
    if cap > isize::MAX as usize {
        return Err(Error::with_message(
            ErrorKind::InvalidArgument,
            format!("{what} capacity {cap} is impossible"),
        ));
    }
    Ok(OutBuf {
        ptr: ptr.cast(),
        cap,
    })
}

/// A checked, non-NULL out-parameter. Written with [`Out::set`] through the
/// raw pointer, so it may alias the caller's other arguments harmlessly.
#[derive(Debug)]
pub(crate) struct Out<T> {
    ptr: *mut T,
}

impl<T> Out<T> {
    /// Writes the result (the previous contents are not dropped: C memory).
    #[inline]
    pub(crate) fn set(self, value: T) {
        // SAFETY: `out_param` checked non-NULL, and its caller promised a writable, aligned `T`.
        unsafe { self.ptr.write(value) }
    }
}

/// The array of `n` elements at `ptr` (NULL with n 0 is empty).
///
/// # Safety
/// Unless NULL, `ptr` points to `n` initialised `T`s valid for `'a`.
pub(crate) unsafe fn array<'a, T>(ptr: *const T, n: usize, what: &'static str) -> Result<&'a [T]> {
    if ptr.is_null() {
        if n == 0 {
            return Ok(&[]);
        }
        return Err(null_with_length(what, n));
    }
    if n.checked_mul(size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Error::with_message(
            ErrorKind::InvalidArgument,
            format!("{what} count {n} is impossible"),
        ));
    }
    // SAFETY: non-NULL, the byte size fits isize, and the caller promises `n` initialised elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// The NUL-terminated text at `ptr` as bytes, or `None` for NULL.
///
/// # Safety
/// Unless NULL, `ptr` points to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn c_text<'a>(ptr: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: non-NULL here, and the caller promises NUL termination.
    (!ptr.is_null()).then(|| unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// The out-parameter at `ptr`, or an error naming it if NULL.
///
/// # Safety
/// Unless NULL, `ptr` points to a writable, aligned `T` for as long as the
/// returned value is used.
#[inline]
pub(crate) unsafe fn out_param<T>(ptr: *mut T, what: &'static str) -> Result<Out<T>> {
    if ptr.is_null() {
        Err(null_out(what))
    } else {
        Ok(Out { ptr })
    }
}

#[cold]
fn null_with_length(what: &'static str, len: usize) -> Error {
    Error::with_message(
        ErrorKind::InvalidArgument,
        format!("{what} is NULL but its length is {len}"),
    )
}

#[cold]
fn null_out(what: &'static str) -> Error {
    Error::with_message(
        ErrorKind::InvalidArgument,
        format!("{what} (an out-parameter) is NULL"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_with_zero_length_is_empty_and_with_a_length_is_refused() {
        // SAFETY: NULL pointers are allowed inputs.
        unsafe {
            assert_eq!(bytes(std::ptr::null(), 0, "key").unwrap(), b"");
            let e = bytes(std::ptr::null(), 3, "key").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(e.message().contains("key is NULL but its length is 3"));
            assert_eq!(buffer(std::ptr::null_mut(), 0, "buf").unwrap().cap(), 0);
            assert!(buffer(std::ptr::null_mut(), 1, "buf").is_err());
            assert!(
                array::<nyc_slice>(std::ptr::null(), 0, "keys")
                    .unwrap()
                    .is_empty()
            );
            assert!(array::<nyc_slice>(std::ptr::null(), 2, "keys").is_err());
            assert!(c_text(std::ptr::null()).is_none());
            assert!(
                out_param::<u64>(std::ptr::null_mut(), "version")
                    .unwrap_err()
                    .message()
                    .contains("version")
            );
        }
    }

    #[test]
    fn impossible_lengths_are_refused_without_touching_memory() {
        let b = [1u8];
        // SAFETY: the length is refused before any slice is formed.
        let e = unsafe { bytes(b.as_ptr().cast(), usize::MAX, "value") }.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let s = [nyc_slice {
            ptr: std::ptr::null(),
            len: 0,
        }];
        // SAFETY: as above.
        assert!(unsafe { array(s.as_ptr(), usize::MAX / 2, "keys") }.is_err());
    }

    #[test]
    fn buffers_take_overlapping_copies_and_out_params_write_through() {
        let mut b = *b"key-and-room";
        let p = b.as_mut_ptr();
        // SAFETY: `b` is 12 writable bytes; the source range lies inside it too.
        let out = unsafe { buffer(p.add(4).cast(), 8, "buf") }.unwrap();
        // SAFETY: the first 3 bytes of `b` are readable; the copy may overlap them.
        // SAFETY: as above.
        let key = unsafe { std::slice::from_raw_parts(p, 3) };
        // SAFETY: bytes 3..5 of `b`, read only.
        let straddling = unsafe { std::slice::from_raw_parts(p.add(3), 2) };
        assert!(!out.overlaps(key) && out.overlaps(straddling));
        out.write(key);
        assert_eq!(&b, b"key-key-room");
        let mut n = 0usize;
        // SAFETY: `n` is a writable usize.
        unsafe { out_param(&mut n, "len") }.unwrap().set(7);
        assert_eq!(n, 7);
    }

    #[test]
    fn real_ranges_come_back_as_slices() {
        let b = *b"hello";
        // SAFETY: `b` is 5 readable bytes.
        assert_eq!(
            unsafe { bytes(b.as_ptr().cast(), 5, "k") }.unwrap(),
            b"hello"
        );
        // SAFETY: a static NUL-terminated string.
        assert_eq!(unsafe { c_text(c"a*".as_ptr()) }, Some(&b"a*"[..]));
    }
}
