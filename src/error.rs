//! The error type of the Rust API. Each kind maps one-to-one onto a C status
//! code (`nyc_status`), so the FFI layer never has to guess.

use std::borrow::Cow;
use std::fmt;

/// What went wrong, as a small closed set that C callers can switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The key does not exist (or has expired).
    NotFound,
    /// `add` on a key that already exists.
    Exists,
    /// `cas` with a version that no longer matches the stored one.
    CasMismatch,
    /// The operation does not apply to the type of value stored at the key.
    WrongType,
    /// `incr`/`decr` on a value that is not a decimal 64-bit integer.
    NotANumber,
    /// `incr`/`decr` would leave the signed 64-bit range.
    Overflow,
    /// A key or value larger than the configured limits, or larger than the
    /// whole memory budget.
    TooLarge,
    /// A caller's buffer is too small for the value (the C API reports the
    /// needed length alongside).
    BufferTooSmall,
    /// A malformed argument: bad config text, NULL pointer, bad glob, ...
    InvalidArgument,
    /// An allocation failed.
    OutOfMemory,
    /// An operating-system I/O error.
    Io,
    /// A file that is not what it claims to be (bad magic, CRC, truncated).
    Corrupt,
    /// A bug in nycache (a caught panic, a broken invariant).
    Internal,
}

impl ErrorKind {
    /// A short, stable, upper-case name, e.g. `"NOT_FOUND"`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Exists => "EXISTS",
            ErrorKind::CasMismatch => "CAS_MISMATCH",
            ErrorKind::WrongType => "WRONG_TYPE",
            ErrorKind::NotANumber => "NOT_A_NUMBER",
            ErrorKind::Overflow => "OVERFLOW",
            ErrorKind::TooLarge => "TOO_LARGE",
            ErrorKind::BufferTooSmall => "BUFFER_TOO_SMALL",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::OutOfMemory => "OUT_OF_MEMORY",
            ErrorKind::Io => "IO",
            ErrorKind::Corrupt => "CORRUPT",
            ErrorKind::Internal => "INTERNAL",
        }
    }
}

/// An error: a kind plus a message that names the problem (the key that was
/// too large, the config key that was unknown, ...).
///
/// Messages on hot paths are `&'static str`, so returning an error such as
/// `Exists` from `add` does not allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

impl Error {
    /// An error with a fixed message.
    pub fn new(kind: ErrorKind, message: &'static str) -> Self {
        Error { kind, message: Cow::Borrowed(message) }
    }

    /// An error with a formatted message.
    pub fn with_message(kind: ErrorKind, message: String) -> Self {
        Error { kind, message: Cow::Owned(message) }
    }

    /// The kind, which maps onto a C status code.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable detail.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message when it is a static string (no allocation behind it);
    /// the C API records such errors without touching the heap.
    pub(crate) fn static_message(&self) -> Option<&'static str> {
        match self.message {
            Cow::Borrowed(m) => Some(m),
            Cow::Owned(_) => None,
        }
    }

    pub(crate) fn invalid(message: String) -> Self {
        Error::with_message(ErrorKind::InvalidArgument, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::with_message(ErrorKind::Io, e.to_string())
    }
}

/// The result type of every fallible nycache operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
