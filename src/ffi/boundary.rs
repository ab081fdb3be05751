//! The panic boundary and the cache handle.
//!
//! Every entry point that takes a `nyc_cache *` runs its body through
//! [`with_cache`]; the others through [`guarded`]. A panic is caught there
//! and never unwinds into C. Because a panic may have left a shard half
//! updated, it also poisons the handle: every later call on that handle
//! returns `NYC_INTERNAL` until the host closes it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

use super::status::{fail, nyc_status};
use crate::Cache;
use crate::error::{Error, ErrorKind, Result};

/// An open cache. Create with `nyc_open`, release with `nyc_close`; any
/// number of threads may use one handle at the same time.
pub struct nyc_cache {
    pub(crate) cache: Cache,
    poisoned: AtomicBool,
}

impl nyc_cache {
    pub(crate) fn new(cache: Cache) -> Self {
        nyc_cache {
            cache,
            poisoned: AtomicBool::new(false),
        }
    }
}

/// Runs `body` on the cache behind `handle` (the entry point's
/// `cache.as_ref()`): a NULL (`None`) or poisoned handle is refused, an
/// error becomes its status (and this thread's last error), a panic becomes
/// `NYC_INTERNAL` and poisons the handle.
#[inline]
pub(crate) fn with_cache<T: IntoStatus>(
    handle: Option<&nyc_cache>,
    body: impl FnOnce(&Cache) -> Result<T>,
) -> nyc_status {
    let Some(handle) = handle else {
        return fail(Error::new(
            ErrorKind::InvalidArgument,
            "the cache handle is NULL",
        ));
    };
    if handle.poisoned.load(Ordering::Relaxed) {
        return fail(Error::new(
            ErrorKind::Internal,
            "this cache handle was poisoned by an earlier internal error; close it and open a new one",
        ));
    }
    // The body's result becomes a status inside the unwinding frame, so
    // only a 4-byte status crosses `catch_unwind`'s memory slot (a wide
    // `Result` read back after a narrow store stalled store forwarding and
    // cost a miss through the C API about a third of its time).
    let run = || match body(&handle.cache) {
        Ok(done) => done.into_status(),
        Err(e) => fail(e),
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(status) => status,
        Err(payload) => {
            handle.poisoned.store(true, Ordering::Relaxed);
            fail(panic_error(&*payload))
        }
    }
}

/// What an entry point's body returns on success: `()` for `NYC_OK`, or a
/// status it has already recorded (see `status::fail_static`), which keeps
/// expected outcomes such as `NYC_NOT_FOUND` off the `Error` path.
pub(crate) trait IntoStatus {
    fn into_status(self) -> nyc_status;
}

impl IntoStatus for () {
    #[inline]
    fn into_status(self) -> nyc_status {
        nyc_status::NYC_OK
    }
}

impl IntoStatus for nyc_status {
    #[inline]
    fn into_status(self) -> nyc_status {
        self
    }
}

/// Runs `body` (which touches no cache handle) behind the panic boundary.
#[inline]
pub(crate) fn guarded(body: impl FnOnce() -> Result<()>) -> nyc_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => nyc_status::NYC_OK,
        Ok(Err(e)) => fail(e),
        Err(payload) => fail(panic_error(&*payload)),
    }
}

/// Like [`guarded`], for a body that reports a status of its own on
/// success (such as `NYC_NOT_FOUND` recorded with `status::fail_static`).
#[inline]
pub(crate) fn guarded_status(body: impl FnOnce() -> Result<nyc_status>) -> nyc_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => fail(e),
        Err(payload) => fail(panic_error(&*payload)),
    }
}

#[cold]
fn panic_error(payload: &(dyn std::any::Any + Send)) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    Error::with_message(
        ErrorKind::Internal,
        format!("internal error (a panic inside nycache): {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::status::nyc_last_error;
    use std::ffi::CStr;

    fn last_error() -> String {
        // SAFETY: nyc_last_error returns a valid thread-local C string.
        unsafe { CStr::from_ptr(nyc_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_internal_and_poisons_the_handle() {
        let handle = nyc_cache::new(Cache::open("max_memory=1MiB maintenance_ms=0").unwrap());
        let ok = with_cache(Some(&handle), |c| c.set(b"k", b"v", None));
        assert_eq!(ok, nyc_status::NYC_OK);
        let st = with_cache(Some(&handle), |_| -> Result<()> { panic!("boom") });
        assert_eq!(st, nyc_status::NYC_INTERNAL);
        assert!(last_error().contains("boom"), "{}", last_error());
        let after = with_cache(Some(&handle), |c| c.get(b"k").map(drop));
        assert_eq!(after, nyc_status::NYC_INTERNAL);
        assert!(last_error().contains("poisoned"), "{}", last_error());
    }

    /// A clock that panics while armed: a real panic deep inside a shard
    /// operation, reached through the exported C functions.
    #[derive(Debug)]
    struct TrapClock(std::sync::atomic::AtomicBool);
    impl crate::Clock for TrapClock {
        fn now_ms(&self) -> u64 {
            assert!(!self.0.load(Ordering::Relaxed), "trap clock sprung");
            1
        }
    }

    #[test]
    fn a_panic_inside_a_c_call_poisons_the_handle_for_later_calls() {
        use crate::ffi::*;
        let clock = std::sync::Arc::new(TrapClock(AtomicBool::new(false)));
        let config = crate::Config::parse("max_memory=1MiB maintenance_ms=0").unwrap();
        let cache = Cache::with_clock(config, clock.clone()).unwrap();
        let handle = Box::into_raw(Box::new(nyc_cache::new(cache)));
        let (mut buf, mut len, mut value) = ([0u8; 8], 0usize, std::ptr::null_mut());
        // SAFETY: `handle` is live until nyc_close below; keys, buffers and out-pointers are valid.
        unsafe {
            assert_eq!(
                nyc_set(handle, b"k".as_ptr().cast(), 1, b"v".as_ptr().cast(), 1, 0),
                nyc_status::NYC_OK
            );
            assert_eq!(
                nyc_get_value(handle, b"k".as_ptr().cast(), 1, &mut value),
                nyc_status::NYC_OK
            );
            clock.0.store(true, Ordering::Relaxed);
            let st = nyc_set(
                handle,
                b"k".as_ptr().cast(),
                1,
                b"w".as_ptr().cast(),
                1,
                5_000,
            );
            assert_eq!(st, nyc_status::NYC_INTERNAL);
            assert!(
                last_error().contains("trap clock sprung"),
                "{}",
                last_error()
            );
            clock.0.store(false, Ordering::Relaxed);
            let st = nyc_get(
                handle,
                b"k".as_ptr().cast(),
                1,
                buf.as_mut_ptr().cast(),
                8,
                &mut len,
            );
            assert_eq!(
                st,
                nyc_status::NYC_INTERNAL,
                "a poisoned handle refuses later calls"
            );
            assert!(last_error().contains("poisoned"), "{}", last_error());
            assert_eq!(len, 0, "no out-parameter is written on failure");
            // Handles taken before the panic stay readable; closing still frees.
            assert_eq!(
                std::slice::from_raw_parts(
                    nyc_value_data(value).cast::<u8>(),
                    nyc_value_len(value)
                ),
                b"v"
            );
            nyc_value_free(value);
            nyc_close(handle);
        }
    }

    #[test]
    fn null_handles_are_invalid_arguments() {
        let st = with_cache(None, |_| Ok::<(), Error>(()));
        assert_eq!(st, nyc_status::NYC_INVALID_ARGUMENT);
        assert!(last_error().contains("NULL"));
    }

    #[test]
    fn guarded_catches_panics_too() {
        assert_eq!(
            guarded(|| panic!("{}", String::from("owned"))),
            nyc_status::NYC_INTERNAL
        );
        assert!(last_error().contains("owned"));
    }
}
