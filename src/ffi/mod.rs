//! The C ABI: every `nyc_*` function of `include/nycache.h`.
//!
//! This is the only place where raw pointers from a host become Rust
//! references and slices. The rules every entry point follows:
//!
//! - It runs behind a panic boundary ([`boundary`]): a panic never unwinds
//!   into C; it becomes `NYC_INTERNAL` and poisons the cache handle.
//! - Pointer/length pairs go through [`slice`]: `NULL` with length 0 is the
//!   empty range, `NULL` with a length is `NYC_INVALID_ARGUMENT`.
//! - Out-parameters are written only on success (and, for
//!   `NYC_BUFFER_TOO_SMALL`, the needed length).
//! - A failure leaves a message for `nyc_last_error()` on the calling thread.
//!
//! One module per concern: status codes and errors, the boundary, slices,
//! lifecycle, keys and values, returned handles, batches, scan, stats, pub/sub,
//! and one per data-structure family (lists, sets, hashes, zsets).

#![allow(non_camel_case_types)]

pub(crate) mod args;
pub mod batch;
pub mod boundary;
pub mod handles;
pub mod hashes;
pub mod keys;
pub mod lifecycle;
pub mod lists;
pub mod packed;
pub mod pubsub;
pub mod scan;
pub mod sets;
pub mod slice;
pub mod stats;
pub mod status;
pub mod zsets;

pub use batch::*;
pub use boundary::nyc_cache;
pub use handles::*;
pub use hashes::*;
pub use keys::*;
pub use lifecycle::*;
pub use lists::*;
pub use pubsub::*;
pub use scan::*;
pub use sets::*;
pub use slice::nyc_slice;
pub use stats::*;
pub use status::*;
pub use zsets::*;
