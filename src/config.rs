//! Cache configuration: the knobs a user sets ([`Config`]), the `key=value`
//! text form they can also be given in ([`Config::parse`]), and the derived
//! values the engine actually runs with ([`Resolved`], from
//! [`Config::resolve`]).
//!
//! # Text form
//!
//! `key=value` items separated by any ASCII whitespace, for example
//! `"max_memory=64MiB policy=lru shards=64 compress_min=1024"`. Keys are the
//! field names of [`Config`], spelled exactly. Each key may appear once; keys
//! that are left out keep their defaults, so empty text is the default config.
//!
//! Size values (`max_memory`, `compress_min`, `max_key_size`,
//! `max_value_size`) are parsed by [`parse_size`]: a non-negative integer or
//! decimal fraction with an optional, case-insensitive unit — `B`; decimal
//! `K`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB`; binary `KiB`, `MiB`, `GiB`, `TiB`.
//! `max_entries`, `shards` and `maintenance_ms` are plain integers, and
//! `policy` is a policy name: `adaptive` (the default), `lru`, `tinylfu` or `s3fifo`.
//! `notify_keyspace_events` is a string of flag letters (`K`, `E`, `s`, `d`,
//! `x`, `e`, `A`; see [`KeyspaceEvents`]), e.g. `notify_keyspace_events=KEA`.
//!
//! # The sizing rule
//!
//! The engine splits `max_memory` evenly into one byte budget per shard,
//! `shard_budget = max_memory / shards`, and evicts within a shard only. So
//! that a shard can always make room for a new entry without evicting
//! everything it holds, **every shard must be able to hold at least two of the
//! largest possible entries**, where the largest entry is charged what the
//! engine would really charge it: the allocator size class of its block
//! (12-byte header + `max_key_size` + `max_value_size`) plus every fixed
//! per-entry charge (node, CAS version, flags, timer record; see
//! `docs/design.md`). [`Config::resolve`]
//! picks the shard count and the automatic `max_value_size` so that the rule
//! holds, and rejects explicit settings that break it:
//!
//! - Automatic shard count: `16 * available_parallelism`, rounded up to a power
//!   of two and clamped to `1..=1024`, halved (down to 1) while a shard could
//!   not hold two largest entries. When `max_value_size` is automatic too, the
//!   check uses a 2 MiB value. That keeps shards at roughly 4 MiB or more, so
//!   small caches get few shards, and it guarantees that a default 64 MiB
//!   cache accepts 2 MiB values on any machine. (A plain "at least 4 MiB per
//!   shard" floor would not: 16 shards of 4 MiB allow only
//!   values under 2 MiB.)
//! - Automatic `max_value_size`: the most the rule allows, capped at
//!   `u32::MAX`.

use std::fmt;
use std::str::FromStr;

use crate::engine::shard::{largest_value_within, max_entry_charge};
use crate::error::{Error, Result};
use crate::pubsub::KeyspaceEvents;


const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// 64 MiB: big enough to be useful, small enough to embed without surprise.
const DEFAULT_MAX_MEMORY: u64 = 64 * MIB;
/// 64 KiB keys: generous for real keys, yet small next to the default budget.
const DEFAULT_MAX_KEY_SIZE: usize = 64 * 1024;
/// A 100 ms tick keeps expiry and eviction timely without measurable load.
const DEFAULT_MAINTENANCE_MS: u64 = 100;
/// Below this the per-shard bookkeeping would dominate the budget.
const MIN_MAX_MEMORY: u64 = 1024;
/// Shards are selected by hash bits, so the count is a power of two; beyond
/// this, per-shard fixed costs outweigh any reduction in lock contention.
const MAX_SHARDS: usize = 65536;
/// Automatic sharding never goes above this: more shards than this do not
/// reduce contention any further on real machines.
const MAX_AUTO_SHARDS: usize = 1024;
/// Shards per CPU for automatic sharding, so that threads rarely collide:
/// on 16 cores, 256 shards beat 64 by 20-50% on the write-heavy workloads
/// at 16 threads and 1024 added nothing (`docs/design.md`, "Shards").
const AUTO_SHARDS_PER_CPU: usize = 16;
/// Automatic sharding keeps at least this many entries of `max_entries` per
/// shard.
const MIN_ENTRIES_PER_SHARD: u64 = 256;
/// With automatic `max_value_size`, automatic sharding keeps shards big enough
/// that the derived limit is at least this, so a default 64 MiB cache accepts
/// 2 MiB values however many cores the machine has.
const AUTO_VALUE_TARGET: u64 = 2 * MIB;
/// Keys, values and the compression threshold are stored as 32-bit lengths.
const MAX_LEN: u64 = u32::MAX as u64;

/// Eviction policy: how a shard chooses which entry to drop when it is over
/// its byte budget.
///
/// Marked `#[non_exhaustive]` because more policies will be added, and adding
/// one must not break callers that match on this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PolicyKind {
    /// Exact least recently used: evict the entry that was read or written
    /// longest ago. The baseline; a hit moves the entry in a list.
    Lru,
    /// W-TinyLFU: a window LRU in front of a segmented main space, with
    /// admission by a frequency sketch and a hill-climbed window size.
    TinyLfu,
    /// S3-FIFO: small and main FIFO queues plus a ghost queue of recently
    /// evicted keys.
    S3Fifo,
    /// The default: S3-FIFO with a hill-climbed small queue, TinyLFU
    /// admission for entries leaving the small queue unread, a ghost whose
    /// advice is graded, and a sampled LRU shadow that switches to CLOCK
    /// while plain recency is clearly ahead. Chosen by measurement on real traces (see
    /// `docs/performance.md`): it leads or ties on most of them and is never
    /// more than half a point below LRU.
    #[default]
    Adaptive,
}

impl PolicyKind {
    /// Every policy, so parsing and error messages cannot forget one.
    const ALL: [PolicyKind; 4] = [PolicyKind::Lru, PolicyKind::TinyLfu, PolicyKind::S3Fifo, PolicyKind::Adaptive];

    /// The stable lower-case name used in config text, e.g. `"lru"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Lru => "lru",
            PolicyKind::TinyLfu => "tinylfu",
            PolicyKind::S3Fifo => "s3fifo",
            PolicyKind::Adaptive => "adaptive",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a policy name, ignoring ASCII case (`"lru"`, `"LRU"`).
impl FromStr for PolicyKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        PolicyKind::ALL.into_iter().find(|p| text.eq_ignore_ascii_case(p.name())).ok_or_else(|| {
            let names: Vec<&str> = PolicyKind::ALL.iter().map(|p| p.name()).collect();
            Error::invalid(format!(
                "unknown policy {text:?} (expected one of: {})",
                names.join(", ")
            ))
        })
    }
}

/// What the user asked for: every knob, before the derived values (shard
/// count, automatic value limit) are worked out by [`Config::resolve`].
///
/// The fields are public so that a config can be written as a struct literal
/// with `..Config::default()`; such a config is only checked when it is
/// validated or resolved, whereas [`Config::builder`] and [`Config::parse`]
/// return validated configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Total byte budget for keys, values and per-entry overhead; at least
    /// 1024. Default 64 MiB.
    pub max_memory: u64,
    /// Optional bound on the number of entries; `None` (the default) means
    /// only `max_memory` bounds the cache. `Some(0)` is invalid.
    pub max_entries: Option<u64>,
    /// Number of shards, a power of two in `1..=65536`; `None` (the default)
    /// lets [`Config::resolve`] choose from the parallelism and memory.
    pub shards: Option<usize>,
    /// Eviction policy. Default [`PolicyKind::Adaptive`].
    pub policy: PolicyKind,
    /// Values of at least this many bytes are compressed; 0 (the default)
    /// turns compression off. At most `u32::MAX`.
    pub compress_min: usize,
    /// Largest accepted key in bytes, in `1..=u32::MAX`. Default 64 KiB.
    pub max_key_size: usize,
    /// Largest accepted value in bytes, in `1..=u32::MAX`; `None` (the
    /// default) derives it from the shard budget (see [`Config::resolve`]).
    pub max_value_size: Option<u64>,
    /// Period of the background maintenance thread in milliseconds; 0 runs no
    /// background thread. Default 100.
    pub maintenance_ms: u64,
    /// Seed of the cache's keyed hash. `None` (the default) draws it from
    /// the operating system's randomness, which keeps keys crafted to
    /// collide in one process from colliding in another; set it only for
    /// reproducible simulations and tests (the sketch policies' choices
    /// then repeat exactly).
    pub hash_seed: Option<u64>,
    /// Keyspace events to publish (text key `notify_keyspace_events`, flag
    /// letters such as `KEA`; see [`KeyspaceEvents`]). Default: none.
    pub notify_keyspace_events: KeyspaceEvents,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_memory: DEFAULT_MAX_MEMORY,
            max_entries: None,
            shards: None,
            policy: PolicyKind::Adaptive,
            compress_min: 0,
            max_key_size: DEFAULT_MAX_KEY_SIZE,
            max_value_size: None,
            maintenance_ms: DEFAULT_MAINTENANCE_MS,
            hash_seed: None,
            notify_keyspace_events: KeyspaceEvents::NONE,
        }
    }
}

/// Values the engine actually runs with, derived from a [`Config`] by
/// [`Config::resolve`]. They always satisfy the sizing rule:
/// `shard_budget >= 2 * charge(max_key_size, max_value_size)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// Number of shards, a power of two.
    pub shards: usize,
    /// Byte budget of each shard, `max_memory / shards` (rounded down, so
    /// `shards * shard_budget <= max_memory`).
    pub shard_budget: u64,
    /// Largest accepted value in bytes: the explicit setting or the derived
    /// one.
    pub max_value_size: u64,
    /// The total entry bound, when `max_entries` is set; see
    /// [`Resolved::shard_entry_limit`] for how it is split.
    pub max_entries: Option<u64>,
}

impl Resolved {
    /// Shard `i`'s share of `max_entries`: `max_entries / shards`, plus one
    /// for the first `max_entries % shards` shards, so the shares add up to
    /// exactly `max_entries` and none is 0 (`resolve` keeps
    /// `shards <= max_entries`).
    pub fn shard_entry_limit(&self, i: usize) -> Option<u64> {
        let shards = self.shards as u64;
        self.max_entries.map(|n| n / shards + u64::from((i as u64) < n % shards))
    }
}

/// The config keys of the text form, one per [`Config`] field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    MaxMemory,
    MaxEntries,
    Shards,
    Policy,
    CompressMin,
    MaxKeySize,
    MaxValueSize,
    MaintenanceMs,
    HashSeed,
    NotifyKeyspaceEvents,
}

impl Key {
    /// Every key, indexed by `Key as usize`, for lookup and duplicate checks.
    const ALL: [Key; 10] = [
        Key::MaxMemory,
        Key::MaxEntries,
        Key::Shards,
        Key::Policy,
        Key::CompressMin,
        Key::MaxKeySize,
        Key::MaxValueSize,
        Key::MaintenanceMs,
        Key::HashSeed,
        Key::NotifyKeyspaceEvents,
    ];

    fn name(self) -> &'static str {
        match self {
            Key::MaxMemory => "max_memory",
            Key::MaxEntries => "max_entries",
            Key::Shards => "shards",
            Key::Policy => "policy",
            Key::CompressMin => "compress_min",
            Key::MaxKeySize => "max_key_size",
            Key::MaxValueSize => "max_value_size",
            Key::MaintenanceMs => "maintenance_ms",
            Key::HashSeed => "hash_seed",
            Key::NotifyKeyspaceEvents => "notify_keyspace_events",
        }
    }

    fn from_name(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl Config {
    /// A builder starting from the defaults; its `build` validates.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Parses the `key=value` text form (see the module docs) on top of the
    /// defaults, and validates the result (see [`validate`](Config::validate)).
    ///
    /// # Errors
    ///
    /// [`InvalidArgument`](crate::error::ErrorKind::InvalidArgument), with a
    /// message naming the offending key and/or value, for: an item without
    /// `=`, an unknown key, a duplicate key, an empty value, a malformed
    /// number, an unknown unit or policy, a value that overflows, or a config
    /// that fails validation.
    pub fn parse(text: &str) -> Result<Config> {
        let mut config = Config::default();
        let mut seen = [false; Key::ALL.len()];
        for item in text.split_ascii_whitespace() {
            let Some((name, value)) = item.split_once('=') else {
                return Err(Error::invalid(format!(
                    "config item {item:?} has no \"=\" (expected key=value)"
                )));
            };
            let Some(key) = Key::from_name(name) else {
                let names: Vec<&str> = Key::ALL.iter().map(|k| k.name()).collect();
                return Err(Error::invalid(format!(
                    "unknown config key {name:?} in {item:?} (expected one of: {})",
                    names.join(", ")
                )));
            };
            // A repeated key is almost always a mistake (two sources merged),
            // and silently letting the last one win would hide it.
            if std::mem::replace(&mut seen[key as usize], true) {
                return Err(Error::invalid(format!("duplicate config key {name:?}")));
            }
            if value.is_empty() {
                return Err(Error::invalid(format!("empty value for config key {name:?}")));
            }
            config.set(key, value)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets one field from its text value, without cross-field validation.
    fn set(&mut self, key: Key, value: &str) -> Result<()> {
        let bad = |reason: String| {
            Error::invalid(format!("bad value {value:?} for {}: {reason}", key.name()))
        };
        match key {
            Key::MaxMemory => self.max_memory = size_value(value).map_err(bad)?,
            Key::MaxEntries => self.max_entries = Some(integer_value(value).map_err(bad)?),
            Key::Shards => {
                self.shards = Some(integer_value(value).and_then(to_usize).map_err(bad)?);
            }
            Key::Policy => {
                self.policy = value.parse().map_err(|e: Error| bad(e.message().to_owned()))?;
            }
            Key::CompressMin => {
                self.compress_min = size_value(value).and_then(to_usize).map_err(bad)?;
            }
            Key::MaxKeySize => {
                self.max_key_size = size_value(value).and_then(to_usize).map_err(bad)?;
            }
            Key::MaxValueSize => self.max_value_size = Some(size_value(value).map_err(bad)?),
            Key::MaintenanceMs => self.maintenance_ms = integer_value(value).map_err(bad)?,
            Key::HashSeed => self.hash_seed = Some(integer_value(value).map_err(bad)?),
            Key::NotifyKeyspaceEvents => {
                self.notify_keyspace_events =
                    KeyspaceEvents::parse(value).map_err(|e: Error| bad(e.message().to_owned()))?;
            }
        }
        Ok(())
    }

    /// Checks every field's range and the sizing rule (see
    /// [`resolve`](Config::resolve)).
    ///
    /// Whether the sizing rule can be met does not depend on the machine: the
    /// automatic shard count can always fall back to one shard, so a config
    /// that validates here resolves on any machine.
    ///
    /// # Errors
    ///
    /// [`InvalidArgument`](crate::error::ErrorKind::InvalidArgument), naming
    /// the key, when `max_memory < 1024`, `max_entries == Some(0)`, `shards` is
    /// not a power of two in `1..=65536`, `max_key_size` is not in
    /// `1..=u32::MAX`, `max_value_size` is not in `1..=u32::MAX`,
    /// `compress_min > u32::MAX`, or the sizing rule cannot be met.
    pub fn validate(&self) -> Result<()> {
        self.resolve(1).map(|_| ())
    }

    /// Checks each field on its own (no cross-field rules).
    fn check_fields(&self) -> Result<()> {
        if self.max_memory < MIN_MAX_MEMORY {
            return Err(Error::invalid(format!(
                "max_memory must be at least {MIN_MAX_MEMORY} bytes, got {}",
                self.max_memory
            )));
        }
        if self.max_entries == Some(0) {
            return Err(Error::invalid(
                "max_entries must be at least 1 (leave it unset for no entry bound)".to_owned(),
            ));
        }
        if let Some(shards) = self.shards {
            if !(1..=MAX_SHARDS).contains(&shards) || !shards.is_power_of_two() {
                return Err(Error::invalid(format!(
                    "shards must be a power of two from 1 to {MAX_SHARDS}, got {shards}"
                )));
            }
        }
        if self.max_key_size == 0 || self.max_key_size > crate::engine::block::MAX_KEY_LEN {
            return Err(Error::invalid(format!(
                "max_key_size must be from 1 to {} bytes, got {}",
                crate::engine::block::MAX_KEY_LEN,
                self.max_key_size
            )));
        }
        if let Some(size) = self.max_value_size {
            if !(1..=MAX_LEN).contains(&size) {
                return Err(Error::invalid(format!(
                    "max_value_size must be from 1 to {MAX_LEN} bytes, got {size}"
                )));
            }
        }
        if self.compress_min as u64 > MAX_LEN {
            return Err(Error::invalid(format!(
                "compress_min must be at most {MAX_LEN} bytes, got {}",
                self.compress_min
            )));
        }
        Ok(())
    }

    /// Works out the values the engine runs with, given the number of CPUs
    /// the engine may use (`std::thread::available_parallelism`; 0 is treated
    /// as 1). Validates every field first, so it is safe on a config built as
    /// a struct literal.
    ///
    /// Each shard gets `shard_budget = max_memory / shards`, and **every shard
    /// must be able to hold at least two of the largest possible entries**:
    /// `shard_budget >= 2 * charge(max_key_size, max_value_size)`, the
    /// largest charge the engine can give such an entry.
    ///
    /// - Automatic shards: start from `16 * available_parallelism` rounded up
    ///   to a power of two and clamped to `1..=1024`, then halve (down to 1)
    ///   while the rule fails. With automatic `max_value_size`, the rule is
    ///   checked against a 2 MiB value, which keeps each shard at about 4 MiB
    ///   or more, so small caches get few shards and a default 64 MiB cache
    ///   accepts 2 MiB values on any machine (see the module docs for why
    ///   this replaces a flat 4 MiB floor).
    /// - Explicit shards are used as given.
    /// - Automatic `max_value_size` is the most the rule allows, capped at
    ///   `u32::MAX`.
    ///
    /// # Errors
    ///
    /// [`InvalidArgument`](crate::error::ErrorKind::InvalidArgument) when a
    /// field is out of range (as in [`validate`](Config::validate)) or the
    /// rule cannot be met: an explicit `max_value_size` too large for
    /// `max_memory` even with one shard (names both), an explicit
    /// `max_value_size` too large for the explicit `shards` (names `shards`,
    /// `max_value_size` and `max_memory`), or a `max_key_size` that leaves no
    /// room for even a 1-byte value (names `max_key_size` and `max_memory`).
    pub fn resolve(&self, available_parallelism: usize) -> Result<Resolved> {
        self.check_fields()?;
        let key_size = self.max_key_size as u64;
        let memory = self.max_memory;
        let budget_for = |shards: usize| memory / shards as u64;
        // The charge of the largest entry with a value of `value` bytes; the
        // inputs are at most u32::MAX each, so the sum cannot overflow.
        let largest = |value: u64| max_entry_charge(key_size, value);
        // `budget >= 2 * entry`, written so that it cannot overflow.
        let holds_two = |budget: u64, entry: u64| budget / 2 >= entry;

        let shards = match self.shards {
            Some(shards) => {
                if let Some(n) = self.max_entries
                    && (shards as u64) > n
                {
                    return Err(Error::invalid(format!(
                        "shards {shards} is more than max_entries {n}: every shard must be able \
                         to hold an entry"
                    )));
                }
                if let Some(value) = self.max_value_size {
                    let budget = budget_for(shards);
                    if !holds_two(budget, largest(value)) {
                        return Err(Error::invalid(format!(
                            "shards {shards} is too many for max_value_size {value} and \
                             max_memory {memory}: each shard gets {budget} bytes but must hold \
                             at least two of the largest entries (max_value_size + max_key_size \
                             {key_size}, overhead and allocator rounding: {} bytes each); use \
                             fewer shards, a smaller max_value_size or a larger max_memory",
                            largest(value)
                        )));
                    }
                }
                shards
            }
            None => {
                let target = self.max_value_size.unwrap_or(AUTO_VALUE_TARGET);
                let mut shards = available_parallelism
                    .max(1)
                    .saturating_mul(AUTO_SHARDS_PER_CPU)
                    .min(MAX_AUTO_SHARDS)
                    .next_power_of_two();
                while shards > 1 && !holds_two(budget_for(shards), largest(target)) {
                    shards /= 2;
                }
                // A count bound split over many shards evicts by each
                // shard's small share rather than by the whole cache's
                // order: keep at least MIN_ENTRIES_PER_SHARD per shard.
                if let Some(n) = self.max_entries {
                    while shards > 1 && n / (shards as u64) < MIN_ENTRIES_PER_SHARD {
                        shards /= 2;
                    }
                }
                if let Some(value) = self.max_value_size {
                    if !holds_two(budget_for(shards), largest(value)) {
                        return Err(Error::invalid(format!(
                            "max_value_size {value} is too large for max_memory {memory}: even a \
                             single shard must hold at least two of the largest entries \
                             (max_value_size + max_key_size {key_size}, overhead and allocator \
                             rounding: {} bytes each)",
                            largest(value)
                        )));
                    }
                }
                shards
            }
        };

        let shard_budget = budget_for(shards);
        let max_value_size = match self.max_value_size {
            Some(value) => value,
            None => {
                let derived = largest_value_within(key_size, shard_budget / 2).min(MAX_LEN);
                if derived < 1 {
                    let place = match self.shards {
                        Some(n) => format!("shards {n} and max_memory {memory}"),
                        None => format!("max_memory {memory}"),
                    };
                    return Err(Error::invalid(format!(
                        "max_key_size {key_size} is too large for {place}: each shard gets \
                         {shard_budget} bytes but must hold at least two entries of \
                         max_key_size + a 1-byte value + overhead ({} bytes \
                         each)",
                        largest(1)
                    )));
                }
                derived
            }
        };

        Ok(Resolved {
            shards,
            shard_budget,
            max_value_size,
            max_entries: self.max_entries,
        })
    }
}

/// Same as [`Config::parse`].
impl FromStr for Config {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Config::parse(text)
    }
}

/// Builds a [`Config`] one field at a time, starting from the defaults, and
/// validates it in [`build`](ConfigBuilder::build) so that a bad combination
/// is reported once, with all fields known.
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Sets [`Config::max_memory`] (bytes).
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.config.max_memory = bytes;
        self
    }

    /// Sets [`Config::max_entries`].
    pub fn max_entries(mut self, entries: u64) -> Self {
        self.config.max_entries = Some(entries);
        self
    }

    /// Sets [`Config::shards`] explicitly (otherwise it is automatic).
    pub fn shards(mut self, shards: usize) -> Self {
        self.config.shards = Some(shards);
        self
    }

    /// Sets [`Config::policy`].
    pub fn policy(mut self, policy: PolicyKind) -> Self {
        self.config.policy = policy;
        self
    }

    /// Sets [`Config::compress_min`] (bytes; 0 turns compression off).
    pub fn compress_min(mut self, bytes: usize) -> Self {
        self.config.compress_min = bytes;
        self
    }

    /// Sets [`Config::max_key_size`] (bytes).
    pub fn max_key_size(mut self, bytes: usize) -> Self {
        self.config.max_key_size = bytes;
        self
    }

    /// Sets [`Config::max_value_size`] explicitly (otherwise it is automatic).
    pub fn max_value_size(mut self, bytes: u64) -> Self {
        self.config.max_value_size = Some(bytes);
        self
    }

    /// Sets [`Config::hash_seed`] (reproducible runs only; see there).
    pub fn hash_seed(mut self, seed: u64) -> Self {
        self.config.hash_seed = Some(seed);
        self
    }

    /// Sets [`Config::maintenance_ms`] (0 runs no background thread).
    pub fn maintenance_ms(mut self, ms: u64) -> Self {
        self.config.maintenance_ms = ms;
        self
    }

    /// Sets [`Config::notify_keyspace_events`].
    pub fn notify_keyspace_events(mut self, events: KeyspaceEvents) -> Self {
        self.config.notify_keyspace_events = events;
        self
    }

    /// Validates and returns the config.
    ///
    /// # Errors
    ///
    /// Whatever [`Config::validate`] reports.
    pub fn build(self) -> Result<Config> {
        self.config.validate()?;
        Ok(self.config)
    }
}

/// Parses a byte size such as `"64MiB"`, `"1.5GiB"`, `"10kb"` or `"4096"`
/// (see the module docs for the units). Surrounding ASCII whitespace is
/// ignored; a fraction is truncated to whole bytes.
///
/// # Errors
///
/// [`InvalidArgument`](crate::error::ErrorKind::InvalidArgument), with a
/// message naming the text, for a missing or malformed number, an unknown
/// unit, or a value beyond `u64::MAX` (never clamped).
pub fn parse_size(text: &str) -> Result<u64> {
    size_value(text).map_err(|reason| Error::invalid(format!("bad size {text:?}: {reason}")))
}

/// Units accepted by [`parse_size`], matched ignoring ASCII case. The decimal
/// and binary spellings both exist because users copy sizes from places that
/// mean either.
const UNITS: [(&str, u64); 14] = [
    ("", 1),
    ("b", 1),
    ("k", 1000),
    ("kb", 1000),
    ("kib", 1 << 10),
    ("m", 1_000_000),
    ("mb", 1_000_000),
    ("mib", 1 << 20),
    ("g", 1_000_000_000),
    ("gb", 1_000_000_000),
    ("gib", 1 << 30),
    ("t", 1_000_000_000_000),
    ("tb", 1_000_000_000_000),
    ("tib", 1 << 40),
];

/// The reason for an overflow, shared by the size and integer parsers.
const TOO_LARGE: &str = "too large (more than 18446744073709551615)";

/// Parses a size; the error is a reason that the caller prefixes with the
/// text and, in config text, the key.
fn size_value(text: &str) -> std::result::Result<u64, String> {
    let text = text.trim_ascii();
    let (int_digits, rest) = split_digits(text);
    if int_digits.is_empty() {
        return Err(
            "expected a non-negative number with an optional unit such as KiB or MB".to_owned()
        );
    }
    let (frac_digits, unit) = match rest.strip_prefix('.') {
        Some(after) => {
            let (frac, unit) = split_digits(after);
            if frac.is_empty() {
                return Err("expected digits after the decimal point".to_owned());
            }
            (frac, unit)
        }
        None => ("", rest),
    };
    let multiplier = UNITS
        .iter()
        .find(|(name, _)| unit.eq_ignore_ascii_case(name))
        .map(|&(_, m)| m)
        .ok_or_else(|| {
            format!(
                "unknown unit {unit:?} (expected B, K, KB, KiB, M, MB, MiB, G, GB, GiB, T, TB \
                 or TiB, any case)"
            )
        })?;
    digits_value(int_digits)
        .and_then(|whole| whole.checked_mul(multiplier))
        .and_then(|whole| whole.checked_add(fraction_times(frac_digits, multiplier)))
        .ok_or_else(|| TOO_LARGE.to_owned())
}

/// Parses a plain non-negative integer (no sign, no unit).
fn integer_value(text: &str) -> std::result::Result<u64, String> {
    let (digits, rest) = split_digits(text);
    if digits.is_empty() || !rest.is_empty() {
        return Err("expected a non-negative integer".to_owned());
    }
    digits_value(digits).ok_or_else(|| TOO_LARGE.to_owned())
}

/// Narrows a parsed value to `usize`, which only fails on 32-bit targets.
fn to_usize(value: u64) -> std::result::Result<usize, String> {
    usize::try_from(value)
        .map_err(|_| format!("too large for this platform (more than {})", usize::MAX))
}

/// Splits `text` into its leading ASCII digits and the rest.
fn split_digits(text: &str) -> (&str, &str) {
    let end = text.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(text.len());
    // Digits are ASCII, so `end` is a char boundary.
    text.split_at(end)
}

/// The value of a string of ASCII digits, or `None` on overflow. Hand-written
/// rather than `u64::from_str` because that also accepts a leading `+`.
fn digits_value(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |acc, b| acc.checked_mul(10)?.checked_add(u64::from(b - b'0')))
}

/// `floor(0.<digits> * multiplier)`, exactly, for any number of digits.
///
/// This is long multiplication from the last digit: the carry out of the
/// last step is the integer part of the product. The carry stays below
/// `multiplier` (at most 2^40), so no step can overflow, and unlike floating
/// point the result is exact, e.g. `1.0009765625KiB` is exactly 1025 bytes.
fn fraction_times(digits: &str, multiplier: u64) -> u64 {
    digits.bytes().rev().fold(0u64, |carry, b| (u64::from(b - b'0') * multiplier + carry) / 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const GIB: u64 = 1024 * MIB;
    const TIB: u64 = 1024 * GIB;

    /// Asserts an `InvalidArgument` error whose message contains every needle.
    #[track_caller]
    fn assert_invalid<T: fmt::Debug>(result: Result<T>, needles: &[&str]) {
        let err = result.expect_err("expected an error");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        for needle in needles {
            assert!(err.message().contains(needle), "{needle:?} not in {:?}", err.message());
        }
    }

    #[test]
    fn defaults() {
        let c = Config::default();
        assert_eq!(c.max_memory, 64 * 1024 * 1024);
        assert_eq!(c.max_entries, None);
        assert_eq!(c.shards, None);
        assert_eq!(c.policy, PolicyKind::Adaptive);
        assert_eq!(c.compress_min, 0);
        assert_eq!(c.max_key_size, 65536);
        assert_eq!(c.max_value_size, None);
        assert_eq!(c.maintenance_ms, 100);
        c.validate().unwrap();
        assert_eq!(Config::builder().build().unwrap(), c);
        assert_eq!(Config::parse("").unwrap(), c);
        assert_eq!(Config::parse(" \t\n\r ").unwrap(), c);
        assert_eq!(PolicyKind::default(), PolicyKind::Adaptive);
    }

    #[test]
    fn every_key_parsed() {
        let c = Config::parse(
            "max_memory=128MiB max_entries=1000 shards=16 policy=lru compress_min=1KiB \
             max_key_size=256 max_value_size=1MiB maintenance_ms=0 notify_keyspace_events=Kx",
        )
        .unwrap();
        assert_eq!(
            c,
            Config {
                max_memory: 128 * MIB,
                max_entries: Some(1000),
                shards: Some(16),
                policy: PolicyKind::Lru,
                compress_min: 1024,
                max_key_size: 256,
                max_value_size: Some(MIB),
                maintenance_ms: 0,
                hash_seed: None,
                notify_keyspace_events: KeyspaceEvents::parse("Kx").unwrap(),
            }
        );
        // FromStr is the same parser.
        assert_eq!("max_memory=128MiB shards=16".parse::<Config>().unwrap().shards, Some(16));
        assert_invalid("foo=1".parse::<Config>(), &["\"foo\""]);
        assert_invalid(Config::parse("notify_keyspace_events=KQ"), &["notify_keyspace_events", "'Q'"]);
    }

    #[test]
    fn example_from_docs() {
        let c = Config::parse("max_memory=64MiB policy=lru shards=64 compress_min=1024").unwrap();
        assert_eq!(c.max_memory, 64 * MIB);
        assert_eq!(c.shards, Some(64));
        assert_eq!(c.compress_min, 1024);
    }

    #[test]
    fn every_unit() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("7", 7),
            ("7B", 7),
            ("3K", 3_000),
            ("3KB", 3_000),
            ("3KiB", 3 * 1024),
            ("3M", 3_000_000),
            ("3MB", 3_000_000),
            ("3MiB", 3 * MIB),
            ("3G", 3_000_000_000),
            ("3GB", 3_000_000_000),
            ("3GiB", 3 * GIB),
            ("3T", 3_000_000_000_000),
            ("3TB", 3_000_000_000_000),
            ("3TiB", 3 * TIB),
            ("18446744073709551615", u64::MAX),
            ("18446744073709551615B", u64::MAX),
            ("0TiB", 0),
            ("007KiB", 7 * 1024),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_size(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn fractions() {
        let cases: &[(&str, u64)] = &[
            ("1.5GiB", 3 * GIB / 2),
            ("1.5KB", 1500),
            ("0.5KiB", 512),
            ("0.1KiB", 102), // 102.4 truncated
            ("2.999B", 2),
            ("1.5", 1),
            ("0.0001K", 0),
            ("1.0009765625KiB", 1025), // exact: 1/1024 KiB is one byte
            ("1.0009765624KiB", 1024), // just below: truncated
            ("0.25TiB", TIB / 4),
            ("0.000000000000000000000000000001TiB", 0),
            ("1.99999999999999999999999999999999MiB", 2 * MIB - 1),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_size(text).unwrap(), want, "{text}");
        }
        // The largest TiB value that fits, fraction included.
        let max_tib = u64::MAX / TIB; // 16777215
        // .9999999999999999 TiB is 2^40 - 0.00011 bytes, truncated to 2^40 - 1.
        assert_eq!(parse_size(&format!("{max_tib}.9999999999999999TiB")).unwrap(), u64::MAX);
        assert_eq!(
            parse_size(&format!("{max_tib}.99999999999999999999999999999999999TiB")).unwrap(),
            u64::MAX
        );
        assert_eq!(Config::parse("max_memory=1.5MiB").unwrap().max_memory, 3 * MIB / 2);
    }

    #[test]
    fn case_insensitive_units_and_policy() {
        for text in ["2kib", "2KIB", "2Kib", "2kIb"] {
            assert_eq!(parse_size(text).unwrap(), 2048, "{text}");
        }
        for text in ["2mb", "2Mb", "2mB", "2m"] {
            assert_eq!(parse_size(text).unwrap(), 2_000_000, "{text}");
        }
        assert_eq!(parse_size("1b").unwrap(), 1);
        assert_eq!(parse_size("1gib").unwrap(), GIB);
        assert_eq!(parse_size("1tib").unwrap(), TIB);
        for text in ["lru", "LRU", "Lru"] {
            assert_eq!(text.parse::<PolicyKind>().unwrap(), PolicyKind::Lru);
            let c = Config::parse(&format!("policy={text}")).unwrap();
            assert_eq!(c.policy, PolicyKind::Lru);
        }
        assert_eq!(PolicyKind::Lru.name(), "lru");
        assert_eq!(PolicyKind::Lru.to_string(), "lru");
        assert_eq!(Config::parse("max_memory=2mIb").unwrap().max_memory, 2 * MIB);
    }

    #[test]
    fn keys_are_case_sensitive() {
        assert_invalid(Config::parse("MAX_MEMORY=1MiB"), &["\"MAX_MEMORY\""]);
    }

    #[test]
    fn whitespace() {
        let want = Config { max_memory: 2 * MIB, shards: Some(4), ..Config::default() };
        for text in [
            "max_memory=2MiB shards=4",
            "max_memory=2MiB\tshards=4",
            "  max_memory=2MiB    shards=4  ",
            "\t\tmax_memory=2MiB\t \n\r\x0cshards=4\n",
        ] {
            assert_eq!(Config::parse(text).unwrap(), want, "{text:?}");
        }
        assert_eq!(parse_size(" 4KiB\t").unwrap(), 4096);
    }

    #[test]
    fn error_unknown_key() {
        assert_invalid(Config::parse("max_memory=1MiB foo=3"), &["unknown config key", "\"foo\""]);
        assert_invalid(Config::parse("=3"), &["unknown config key", "\"=3\""]);
    }

    #[test]
    fn error_missing_equals() {
        assert_invalid(Config::parse("shards=4 max_memory"), &["\"max_memory\"", "="]);
        assert_invalid(Config::parse("shards 4"), &["\"shards\""]);
    }

    #[test]
    fn error_empty_value() {
        assert_invalid(Config::parse("shards="), &["empty value", "\"shards\""]);
        assert_invalid(Config::parse("max_memory= shards=4"), &["empty value", "\"max_memory\""]);
    }

    #[test]
    fn error_duplicate_key() {
        assert_invalid(
            Config::parse("shards=4 max_memory=1MiB shards=4"),
            &["duplicate", "\"shards\""],
        );
        assert_invalid(Config::parse("policy=lru policy=LRU"), &["duplicate", "\"policy\""]);
    }

    #[test]
    fn error_bad_number() {
        for (text, key, value) in [
            ("max_memory=abc", "max_memory", "\"abc\""),
            ("max_memory=-5MiB", "max_memory", "\"-5MiB\""),
            ("max_memory=+5MiB", "max_memory", "\"+5MiB\""),
            ("max_memory=.5MiB", "max_memory", "\".5MiB\""),
            ("max_memory=1.MiB", "max_memory", "\"1.MiB\""),
            ("max_memory=1.5.5MiB", "max_memory", "\"1.5.5MiB\""),
            ("max_entries=ten", "max_entries", "\"ten\""),
            ("max_entries=-1", "max_entries", "\"-1\""),
            ("max_entries=+1", "max_entries", "\"+1\""),
            ("max_entries=1.5", "max_entries", "\"1.5\""),
            ("shards=4k", "shards", "\"4k\""),
            ("maintenance_ms=100ms", "maintenance_ms", "\"100ms\""),
            ("max_key_size=x", "max_key_size", "\"x\""),
        ] {
            assert_invalid(Config::parse(text), &["bad value", key, value]);
        }
        assert_invalid(parse_size("abc"), &["\"abc\""]);
        assert_invalid(parse_size(""), &["bad size \"\""]);
        assert_invalid(parse_size("1."), &["\"1.\"", "decimal point"]);
    }

    #[test]
    fn error_bad_unit() {
        assert_invalid(
            Config::parse("max_memory=12XB"),
            &["bad value \"12XB\" for max_memory", "\"XB\""],
        );
        assert_invalid(Config::parse("compress_min=1KIBB"), &["\"1KIBB\"", "compress_min"]);
        assert_invalid(Config::parse("max_value_size=1PB"), &["\"1PB\"", "max_value_size"]);
        assert_invalid(parse_size("5 MiB"), &["\"5 MiB\"", "unit"]);
        assert_invalid(parse_size("1e6"), &["\"1e6\"", "\"e6\""]);
        assert_invalid(parse_size("4ki"), &["\"4ki\""]);
    }

    #[test]
    fn error_overflow() {
        assert_invalid(
            parse_size("18446744073709551616"),
            &["\"18446744073709551616\"", "too large"],
        );
        assert_invalid(parse_size("16777216TiB"), &["\"16777216TiB\"", "too large"]);
        assert_invalid(parse_size("18446744073709551615.5KB"), &["too large"]);
        assert_invalid(parse_size("99999999999999999999999999999"), &["too large"]);
        assert_invalid(
            Config::parse("max_memory=20000000TB"),
            &["bad value \"20000000TB\" for max_memory", "too large"],
        );
        assert_invalid(
            Config::parse("max_entries=18446744073709551616"),
            &["max_entries", "\"18446744073709551616\"", "too large"],
        );
        assert_invalid(
            Config::parse("maintenance_ms=99999999999999999999"),
            &["maintenance_ms", "too large"],
        );
        // A fraction can push the total over, too.
        assert_eq!(parse_size("18446744073709551.615KB").unwrap(), u64::MAX);
        assert_invalid(
            parse_size("18446744073709551.616KB"),
            &["\"18446744073709551.616KB\"", "too large"],
        );
    }

    #[test]
    fn error_bad_policy() {
        assert_invalid(Config::parse("policy=lfu"), &["bad value \"lfu\" for policy", "lru"]);
        assert_invalid("fifo".parse::<PolicyKind>(), &["\"fifo\""]);
        // The message lists every policy.
        assert_invalid(Config::parse("policy=x"), &["lru", "tinylfu", "s3fifo", "adaptive"]);
    }

    #[test]
    fn every_policy_parses_by_name() {
        for (text, kind) in [
            ("lru", PolicyKind::Lru),
            ("TinyLFU", PolicyKind::TinyLfu),
            ("s3fifo", PolicyKind::S3Fifo),
            ("ADAPTIVE", PolicyKind::Adaptive),
        ] {
            assert_eq!(text.parse::<PolicyKind>().unwrap(), kind);
            assert_eq!(Config::parse(&format!("policy={text}")).unwrap().policy, kind);
            assert_eq!(kind.name().parse::<PolicyKind>().unwrap(), kind);
        }
    }

    #[test]
    fn parse_validates() {
        assert_invalid(Config::parse("max_memory=1000"), &["max_memory", "1000"]);
        assert_invalid(Config::parse("max_entries=0"), &["max_entries"]);
        assert_invalid(Config::parse("shards=3"), &["shards", "3"]);
        assert_invalid(Config::parse("max_key_size=0"), &["max_key_size"]);
        assert_invalid(Config::parse("max_value_size=0"), &["max_value_size"]);
        assert_invalid(Config::parse("compress_min=5GiB"), &["compress_min"]);
        assert_invalid(
            Config::parse("max_memory=1MiB max_value_size=1MiB"),
            &["max_value_size", "max_memory"],
        );
    }

    #[test]
    fn builder_sets_every_field() {
        let c = Config::builder()
            .max_memory(256 * MIB)
            .max_entries(10)
            .shards(8)
            .policy(PolicyKind::Lru)
            .compress_min(4096)
            .max_key_size(1024)
            .max_value_size(8 * MIB)
            .maintenance_ms(0)
            .build()
            .unwrap();
        assert_eq!(
            c,
            Config {
                max_memory: 256 * MIB,
                max_entries: Some(10),
                shards: Some(8),
                policy: PolicyKind::Lru,
                compress_min: 4096,
                max_key_size: 1024,
                max_value_size: Some(8 * MIB),
                maintenance_ms: 0,
                hash_seed: None,
                notify_keyspace_events: KeyspaceEvents::NONE,
            }
        );
    }

    #[test]
    fn builder_validates() {
        assert_invalid(Config::builder().max_memory(1023).build(), &["max_memory", "1023"]);
        Config::builder().max_memory(1024).max_key_size(64).build().unwrap();
        assert_invalid(Config::builder().max_entries(0).build(), &["max_entries"]);
        Config::builder().max_entries(1).build().unwrap();
        for bad in [0, 3, 6, 12, 131_072] {
            assert_invalid(Config::builder().shards(bad).build(), &["shards", &bad.to_string()]);
        }
        for good in [1, 2, 64, 256] {
            Config::builder().shards(good).build().unwrap();
        }
        // 1024 shards of 64 KiB cannot hold two default 64 KiB keys, but can hold small ones.
        assert_invalid(Config::builder().shards(1024).build(), &["max_key_size", "shards"]);
        Config::builder().shards(1024).max_key_size(1024).build().unwrap();
        Config::builder().max_memory(64 * GIB).shards(65536).build().unwrap();
        assert_invalid(Config::builder().max_key_size(0).build(), &["max_key_size"]);
        assert_invalid(
            Config::builder().max_key_size(u32::MAX as usize + 1).build(),
            &["max_key_size", "4294967296"],
        );
        assert_invalid(Config::builder().max_value_size(0).build(), &["max_value_size"]);
        assert_invalid(
            Config::builder().max_memory(64 * GIB).max_value_size(MAX_LEN + 1).build(),
            &["max_value_size", "4294967296"],
        );
        Config::builder().max_memory(64 * GIB).max_value_size(MAX_LEN).build().unwrap();
        assert_invalid(
            Config::builder().compress_min(u32::MAX as usize + 1).build(),
            &["compress_min", "4294967296"],
        );
        Config::builder().compress_min(u32::MAX as usize).build().unwrap();
        // Cross-field: the sizing rule.
        assert_invalid(
            Config::builder().max_memory(MIB).max_value_size(MIB).build(),
            &["max_value_size", "max_memory"],
        );
        // The default 64 KiB keys do not fit twice into a 1 KiB cache.
        assert_invalid(Config::builder().max_memory(1024).build(), &["max_key_size", "max_memory"]);
    }

    /// Checks the invariants every `Resolved` must satisfy.
    #[track_caller]
    fn check_resolved(c: &Config, r: &Resolved) {
        assert!(r.shards.is_power_of_two() && r.shards <= MAX_SHARDS, "{r:?}");
        assert_eq!(r.shard_budget, c.max_memory / r.shards as u64);
        assert!(r.shard_budget * r.shards as u64 <= c.max_memory);
        assert!(r.max_value_size >= 1 && r.max_value_size <= MAX_LEN);
        let largest = max_entry_charge(c.max_key_size as u64, r.max_value_size);
        assert!(r.shard_budget >= 2 * largest, "rule broken: {c:?} -> {r:?}");
        if let Some(n) = c.shards {
            assert_eq!(r.shards, n);
        }
        if let Some(v) = c.max_value_size {
            assert_eq!(r.max_value_size, v);
        }
    }

    #[test]
    fn default_64mib_cache_accepts_2mib_values_on_any_machine() {
        let c = Config::default();
        for p in [1, 2, 16, 256] {
            let r = c.resolve(p).unwrap();
            check_resolved(&c, &r);
            assert!(r.max_value_size >= 2 * 1024 * 1024, "parallelism {p}: {r:?}");
        }
        for p in 0..=256 {
            let r = c.resolve(p).unwrap();
            check_resolved(&c, &r);
            assert!(r.max_value_size >= 2 * 1024 * 1024, "parallelism {p}: {r:?}");
        }
        // The exact outcome for one machine, so a change to the rule shows up.
        let r = c.resolve(1).unwrap();
        assert_eq!(r.shards, 8);
        assert_eq!(r.shard_budget, 8 * MIB);
        assert_eq!(r.max_value_size, largest_value_within(65536, 4 * MIB));
        let r = c.resolve(256).unwrap();
        assert_eq!(r.shards, 8);
        assert_eq!(r.max_value_size, largest_value_within(65536, 4 * MIB));
    }

    #[test]
    fn automatic_shards_scale_with_parallelism() {
        let c = Config { max_memory: 64 * GIB, ..Config::default() };
        assert_eq!(c.resolve(1).unwrap().shards, 16);
        assert_eq!(c.resolve(3).unwrap().shards, 64);
        assert_eq!(c.resolve(16).unwrap().shards, 256);
        assert_eq!(c.resolve(256).unwrap().shards, 1024);
        assert_eq!(c.resolve(usize::MAX).unwrap().shards, 1024);
        assert_eq!(c.resolve(0).unwrap().shards, 16);
        // Huge shards: the automatic value limit is capped at u32::MAX.
        let c = Config { max_memory: 64 * TIB, ..Config::default() };
        let r = c.resolve(1).unwrap();
        assert_eq!(r.max_value_size, MAX_LEN);
        check_resolved(&c, &r);
    }

    #[test]
    fn explicit_shards_honoured() {
        for shards in [1, 2, 4, 64, 1024, 4096] {
            let c = Config { shards: Some(shards), max_key_size: 16, ..Config::default() };
            for p in [1, 16, 256] {
                let r = c.resolve(p).unwrap();
                assert_eq!(r.shards, shards);
                check_resolved(&c, &r);
            }
        }
        // Even when far more than automatic sharding would choose for a small cache.
        let c =
            Config { max_memory: MIB, shards: Some(64), max_key_size: 100, ..Config::default() };
        let r = c.resolve(1).unwrap();
        assert_eq!((r.shards, r.shard_budget), (64, 16 * 1024));
        assert_eq!(r.max_value_size, largest_value_within(100, 8 * 1024));
    }

    #[test]
    fn explicit_shards_with_explicit_value_size() {
        // 64 MiB / 16 = 4 MiB per shard: two 1 MiB entries fit.
        let ok = Config { shards: Some(16), max_value_size: Some(MIB), ..Config::default() };
        check_resolved(&ok, &ok.resolve(4).unwrap());
        // 64 MiB / 32 = 2 MiB per shard: two 1 MiB values plus keys and slack do not.
        let bad = Config { shards: Some(32), ..ok.clone() };
        assert_invalid(bad.resolve(4), &["shards", "32", "max_value_size", "max_memory"]);
        assert_invalid(bad.validate(), &["shards", "max_value_size", "max_memory"]);
        assert_invalid(
            Config::parse("shards=32 max_value_size=1MiB"),
            &["shards", "max_value_size", "max_memory"],
        );
        // The boundary: exactly two largest entries per shard is enough.
        let key = 16u64;
        let value = 1000u64;
        let budget = 2 * max_entry_charge(key, value);
        let exact = Config {
            max_memory: budget * 4,
            shards: Some(4),
            max_key_size: key as usize,
            max_value_size: Some(value),
            ..Config::default()
        };
        assert_eq!(exact.resolve(1).unwrap().shard_budget, budget);
        // Charges move in allocator size classes: the first value over the
        // boundary is the first one in the next class.
        let over = Config { max_value_size: Some(largest_value_within(key, budget / 2) + 1), ..exact.clone() };
        assert_invalid(over.resolve(1), &["shards", "max_value_size"]);
    }

    #[test]
    fn automatic_shards_shrink_for_explicit_value_size() {
        // 1 MiB values in 64 MiB: a shard needs >= 2 * (1 MiB + 64 KiB + 128),
        // so 16 shards (4 MiB each) at most.
        let c = Config { max_value_size: Some(MIB), ..Config::default() };
        for p in [1, 2, 16, 256] {
            let r = c.resolve(p).unwrap();
            check_resolved(&c, &r);
            assert!(r.shards <= 16, "{r:?}");
        }
        assert_eq!(c.resolve(256).unwrap().shards, 16);
        assert_eq!(c.resolve(1).unwrap().shards, 16);
        // Too large for even one shard: rejected, naming both keys.
        let c = Config { max_value_size: Some(32 * MIB), ..Config::default() };
        assert_invalid(c.resolve(8), &["max_value_size", "max_memory"]);
    }

    #[test]
    fn small_cache_gets_one_shard() {
        let c = Config { max_memory: MIB, ..Config::default() };
        for p in [1, 2, 16, 256] {
            let r = c.resolve(p).unwrap();
            assert_eq!(r.shards, 1, "parallelism {p}");
            assert_eq!(r.shard_budget, MIB);
            assert_eq!(r.max_value_size, largest_value_within(65536, MIB / 2));
            check_resolved(&c, &r);
        }
        // 16 MiB: 2 shards of 8 MiB at most (4 would leave 4 MiB, under 2 * (2 MiB + key + slack)).
        let c = Config { max_memory: 16 * MIB, ..Config::default() };
        assert_eq!(c.resolve(256).unwrap().shards, 2);
        assert_eq!(c.resolve(1).unwrap().shards, 2);
    }

    #[test]
    fn key_size_too_large_for_cache() {
        let c = Config { max_memory: 64 * 1024, ..Config::default() };
        assert_invalid(c.resolve(4), &["max_key_size", "65536", "max_memory"]);
        let c = Config { max_memory: 4 * MIB, shards: Some(128), ..Config::default() };
        assert_invalid(c.resolve(4), &["max_key_size", "shards", "max_memory"]);
        // The smallest cache that still fits two default-size keys with 1-byte values.
        let min = 2 * max_entry_charge(65536, 1);
        let c = Config { max_memory: min, ..Config::default() };
        assert_eq!(c.resolve(64).unwrap().max_value_size, largest_value_within(65536, min / 2));
        let c = Config { max_memory: min - 1, ..Config::default() };
        assert_invalid(c.resolve(64), &["max_key_size"]);
    }

    #[test]
    fn resolve_checks_fields() {
        let c = Config { shards: Some(3), ..Config::default() };
        assert_invalid(c.resolve(1), &["shards"]);
        let c = Config { max_memory: 10, ..Config::default() };
        assert_invalid(c.resolve(1), &["max_memory"]);
    }

    #[test]
    fn budgets_never_exceed_max_memory() {
        let memories =
            [1024, 4095, 65537, MIB - 1, 3 * MIB + 7, 64 * MIB, 1_000_000_007, 5 * GIB + 3];
        for memory in memories {
            for shards in [None, Some(1), Some(2), Some(8), Some(64)] {
                for value in [None, Some(1), Some(100), Some(4096), Some(MIB)] {
                    for key in [1usize, 16, 250, 65536] {
                        let c = Config {
                            max_memory: memory,
                            shards,
                            max_value_size: value,
                            max_key_size: key,
                            ..Config::default()
                        };
                        for p in [1, 3, 16, 256] {
                            match c.resolve(p) {
                                Ok(r) => check_resolved(&c, &r),
                                // A failure must not depend on the machine.
                                Err(e) => assert_eq!(c.validate().unwrap_err(), e),
                            }
                            assert_eq!(c.validate().is_ok(), c.resolve(p).is_ok(), "{c:?} p={p}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn max_entries_split_exactly_over_shards() {
        let base = Config { shards: Some(8), ..Config::default() };
        let limits = |n: u64| {
            let r = Config { max_entries: Some(n), ..base.clone() }.resolve(1).unwrap();
            (0..r.shards).map(|i| r.shard_entry_limit(i).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(limits(8), vec![1; 8]);
        assert_eq!(limits(9), vec![2, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(limits(17), vec![3, 2, 2, 2, 2, 2, 2, 2]);
        for n in [8u64, 9, 100, 1001, u64::MAX] {
            assert_eq!(limits(n).iter().sum::<u64>(), n);
        }
        assert_eq!(base.resolve(1).unwrap().shard_entry_limit(0), None);
        // More explicit shards than entries is refused.
        assert_invalid(Config { max_entries: Some(7), ..base.clone() }.resolve(1), &["shards", "max_entries"]);
        // Automatic sharding keeps at least 256 entries per shard.
        let c = Config { max_entries: Some(1000), ..Config::default() };
        assert_eq!(c.resolve(256).unwrap().shards, 2);
        let c = Config { max_entries: Some(100), ..Config::default() };
        assert_eq!(c.resolve(256).unwrap().shards, 1);
    }
}
