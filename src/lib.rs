//! nycache: an embeddable cache engine.
//!
//! A sharded, byte-bounded, thread-safe key-value cache with per-entry TTL,
//! exact LRU eviction, lz4 compression of large values, CAS, counters and
//! Prometheus metrics. The same engine is shipped as a C ABI shared library
//! for C, C++ and Python hosts; this crate is also usable directly from Rust
//! through [`Cache`].
//!
//! See `docs/design.md` for the design and the reasons behind it.

#![warn(missing_docs)]

mod cache;
mod codec;
mod commands;
pub mod config;
pub mod decimal;
mod engine;
pub mod error;
pub mod expiry;
pub mod ffi;
pub mod glob;
mod policy;
pub mod pubsub;
mod stats;
pub mod types;
#[cfg(test)]
mod test_rng;

pub use cache::{Cache, KeyTtl, Versioned};
pub use commands::Scored;
pub use config::{Config, ConfigBuilder, PolicyKind};
pub use engine::block::Value;
pub use engine::shard::NODE_CHARGE;
pub use error::{Error, ErrorKind, Result};
pub use expiry::{Clock, ManualClock, SystemClock};
pub use pubsub::{KeyspaceEvents, Message, Subscription, Topic};
pub use stats::Stats;
pub use types::{Kind, ScoreBound, ZAddFlags, format_score, parse_score};

/// jemalloc is the global allocator of the library (feature `jemalloc`, on by
/// default). Its symbols are prefixed, so a host's `malloc` is untouched,
/// and it is built without initial-exec TLS so `dlopen` works.
#[cfg(all(feature = "jemalloc", not(miri)))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

