//! Status codes, their names, the per-thread last-error text and the
//! library version.

use std::cell::{Cell, RefCell};
use std::ffi::{CString, c_char, c_int};

use crate::error::{Error, ErrorKind};

/// The result of every fallible `nyc_*` call; 0 is success.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum nyc_status {
    /// Success.
    NYC_OK = 0,
    /// The key does not exist (or has expired).
    NYC_NOT_FOUND = 1,
    /// `nyc_add` on a key that exists.
    NYC_EXISTS = 2,
    /// `nyc_cas` with a version that no longer matches.
    NYC_CAS_MISMATCH = 3,
    /// The operation does not apply to the type stored at the key.
    NYC_WRONG_TYPE = 4,
    /// `nyc_incr` on a value that is not a decimal 64-bit integer.
    NYC_NOT_A_NUMBER = 5,
    /// `nyc_incr` would leave the signed 64-bit range.
    NYC_OVERFLOW = 6,
    /// A key or value over the configured limits.
    NYC_TOO_LARGE = 7,
    /// The caller's buffer is too small; the needed length was written.
    NYC_BUFFER_TOO_SMALL = 8,
    /// A malformed argument: NULL pointer, bad config, bad cursor, ...
    NYC_INVALID_ARGUMENT = 9,
    /// An allocation failed; nothing stored was lost.
    NYC_OUT_OF_MEMORY = 10,
    /// An operating-system I/O error.
    NYC_IO = 11,
    /// A file that is corrupt or truncated.
    NYC_CORRUPT = 12,
    /// A bug in nycache (a caught panic); the cache handle is poisoned.
    NYC_INTERNAL = 13,
}

use nyc_status::*;

/// Every status, in code order.
#[cfg(test)]
pub(crate) const ALL_STATUSES: [nyc_status; 14] = [
    NYC_OK,
    NYC_NOT_FOUND,
    NYC_EXISTS,
    NYC_CAS_MISMATCH,
    NYC_WRONG_TYPE,
    NYC_NOT_A_NUMBER,
    NYC_OVERFLOW,
    NYC_TOO_LARGE,
    NYC_BUFFER_TOO_SMALL,
    NYC_INVALID_ARGUMENT,
    NYC_OUT_OF_MEMORY,
    NYC_IO,
    NYC_CORRUPT,
    NYC_INTERNAL,
];

impl From<ErrorKind> for nyc_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::NotFound => NYC_NOT_FOUND,
            ErrorKind::Exists => NYC_EXISTS,
            ErrorKind::CasMismatch => NYC_CAS_MISMATCH,
            ErrorKind::WrongType => NYC_WRONG_TYPE,
            ErrorKind::NotANumber => NYC_NOT_A_NUMBER,
            ErrorKind::Overflow => NYC_OVERFLOW,
            ErrorKind::TooLarge => NYC_TOO_LARGE,
            ErrorKind::BufferTooSmall => NYC_BUFFER_TOO_SMALL,
            ErrorKind::InvalidArgument => NYC_INVALID_ARGUMENT,
            ErrorKind::OutOfMemory => NYC_OUT_OF_MEMORY,
            ErrorKind::Io => NYC_IO,
            ErrorKind::Corrupt => NYC_CORRUPT,
            ErrorKind::Internal => NYC_INTERNAL,
            // ErrorKind is non_exhaustive only towards other crates.
        }
    }
}

const STATUS_NAMES: [&std::ffi::CStr; 14] = [
    c"NYC_OK",
    c"NYC_NOT_FOUND",
    c"NYC_EXISTS",
    c"NYC_CAS_MISMATCH",
    c"NYC_WRONG_TYPE",
    c"NYC_NOT_A_NUMBER",
    c"NYC_OVERFLOW",
    c"NYC_TOO_LARGE",
    c"NYC_BUFFER_TOO_SMALL",
    c"NYC_INVALID_ARGUMENT",
    c"NYC_OUT_OF_MEMORY",
    c"NYC_IO",
    c"NYC_CORRUPT",
    c"NYC_INTERNAL",
];

/// The name of a status code, e.g. `"NYC_NOT_FOUND"`; `"NYC_UNKNOWN"` for
/// a number that is no status. The text is static: never free it.
///
/// Takes an `int` rather than `nyc_status` so that any number a host passes
/// is defined behaviour.
#[unsafe(no_mangle)]
pub extern "C" fn nyc_status_name(status: c_int) -> *const c_char {
    usize::try_from(status)
        .ok()
        .and_then(|i| STATUS_NAMES.get(i))
        .map_or(c"NYC_UNKNOWN".as_ptr(), |name| name.as_ptr())
}

/// The calling thread's last failure. Most failures on hot paths
/// (`NYC_NOT_FOUND`, `NYC_EXISTS`, ...) carry a static message: those are
/// recorded in [`LAST_STATIC`], a plain `Cell` with no destructor, so a miss
/// through the C API costs one thread-local store and no allocation. Other
/// messages go to [`LAST_OWNED`]. The C text is built only when
/// `nyc_last_error` asks for it.
#[derive(Clone, Copy)]
enum Last {
    None,
    Static(ErrorKind, &'static str),
    /// The error in `LAST_OWNED`.
    Owned,
}

thread_local! {
    static LAST_STATIC: Cell<Last> = const { Cell::new(Last::None) };
    static LAST_OWNED: RefCell<(Option<Error>, Option<CString>)> = const { RefCell::new((None, None)) };
}

/// Records `error` as this thread's last failure and returns its status.
pub(crate) fn fail(error: Error) -> nyc_status {
    let status = nyc_status::from(error.kind());
    let last = match error.static_message() {
        Some(message) => Last::Static(error.kind(), message),
        None => {
            // `try_with`: during thread teardown the slot may be gone; the
            // status still reaches the caller.
            let stored = LAST_OWNED
                .try_with(|slot| slot.try_borrow_mut().map(|mut s| s.0 = Some(error)).is_ok());
            if stored == Ok(true) {
                Last::Owned
            } else {
                Last::None
            }
        }
    };
    let _ = LAST_STATIC.try_with(|cell| cell.set(last));
    status
}

/// Records a failure whose message is static (cheap: no `Error` is built)
/// and returns its status.
#[inline]
pub(crate) fn fail_static(kind: ErrorKind, message: &'static str) -> nyc_status {
    let _ = LAST_STATIC.try_with(|cell| cell.set(Last::Static(kind, message)));
    nyc_status::from(kind)
}

/// The detail text of the calling thread's last failed `nyc_*` call (for
/// example `"TOO_LARGE: key of 70000 bytes exceeds max_key_size (65536 bytes)"`),
/// or `""` if this thread has had no failure. The text stays valid until
/// this thread's next `nyc_*` call that fails; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn nyc_last_error() -> *const c_char {
    // Formatting cannot panic in practice, but no panic may cross into C.
    std::panic::catch_unwind(last_error_text).unwrap_or(c"".as_ptr())
}

fn last_error_text() -> *const c_char {
    let last = LAST_STATIC.try_with(Cell::get).unwrap_or(Last::None);
    let text = match last {
        Last::None => return c"".as_ptr(),
        Last::Static(kind, message) => format!("{}: {message}", kind.name()),
        Last::Owned => {
            let owned = LAST_OWNED.try_with(|slot| {
                slot.try_borrow()
                    .ok()
                    .and_then(|s| s.0.as_ref().map(Error::to_string))
            });
            match owned {
                Ok(Some(text)) => text,
                _ => return c"".as_ptr(),
            }
        }
    };
    // Interior NULs (from a key echoed in a message) would cut the C string
    // short; show them as U+FFFD instead.
    let text = CString::new(text.replace('\0', "\u{fffd}")).unwrap_or_default();
    LAST_OWNED
        .try_with(|slot| match slot.try_borrow_mut() {
            // Asking twice must not invalidate the first pointer: keep the
            // stored text when it is already this one.
            Ok(mut slot) => match &slot.1 {
                Some(old) if *old == text => old.as_ptr(),
                _ => slot.1.insert(text).as_ptr(),
            },
            Err(_) => c"".as_ptr(),
        })
        .unwrap_or(c"".as_ptr())
}

/// Major version of the library this header belongs to.
pub const NYC_VERSION_MAJOR: u32 = 0;
/// Minor version.
pub const NYC_VERSION_MINOR: u32 = 1;
/// Patch version.
pub const NYC_VERSION_PATCH: u32 = 0;

const VERSION: &std::ffi::CStr = c"0.1.0";

/// The version of the loaded library as text, e.g. `"0.1.0"` (compare it
/// with the `NYC_VERSION_*` macros of the header you compiled against).
#[unsafe(no_mangle)]
pub extern "C" fn nyc_version() -> *const c_char {
    VERSION.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn text(p: *const c_char) -> String {
        // SAFETY: the pointers under test are static or thread-local C strings.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
    }

    #[test]
    fn names_match_codes_and_unknown_numbers_are_named_unknown() {
        for (i, s) in ALL_STATUSES.iter().enumerate() {
            assert_eq!(*s as usize, i);
            let name = text(nyc_status_name(i as c_int));
            assert_eq!(name, format!("{s:?}"));
        }
        assert_eq!(text(nyc_status_name(-1)), "NYC_UNKNOWN");
        assert_eq!(text(nyc_status_name(14)), "NYC_UNKNOWN");
    }

    #[test]
    fn every_error_kind_maps_to_the_status_of_the_same_name() {
        use ErrorKind::*;
        for kind in [
            NotFound,
            Exists,
            CasMismatch,
            WrongType,
            NotANumber,
            Overflow,
            TooLarge,
            BufferTooSmall,
            InvalidArgument,
            OutOfMemory,
            Io,
            Corrupt,
            Internal,
        ] {
            let name = text(nyc_status_name(nyc_status::from(kind) as c_int));
            assert_eq!(name, format!("NYC_{}", kind.name()));
        }
    }

    #[test]
    fn last_error_is_per_thread_and_survives_successes() {
        assert_eq!(text(nyc_last_error()), "");
        assert_eq!(
            fail(Error::new(ErrorKind::Exists, "key exists")),
            NYC_EXISTS
        );
        assert_eq!(text(nyc_last_error()), "EXISTS: key exists");
        std::thread::spawn(|| assert_eq!(text(nyc_last_error()), ""))
            .join()
            .unwrap();
        fail(Error::with_message(
            ErrorKind::InvalidArgument,
            "a\0b".into(),
        ));
        assert_eq!(text(nyc_last_error()), "INVALID_ARGUMENT: a\u{fffd}b");
    }

    #[test]
    fn version_constants_match_the_crate_version() {
        let v = format!("{NYC_VERSION_MAJOR}.{NYC_VERSION_MINOR}.{NYC_VERSION_PATCH}");
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        assert_eq!(text(nyc_version()), v);
    }
}
