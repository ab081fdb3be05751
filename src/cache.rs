//! The Rust API: [`Cache`], a cheaply clonable handle to a sharded,
//! byte-bounded cache.
//!
//! A call hashes the key once with the cache's randomly seeded hasher, picks
//! the shard from the hash's middle bits (the table uses the low and top
//! bits), does any expensive work (allocation, compression) before taking
//! the shard's lock, and does the whole operation under that one lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

use crate::codec::{self, Encoding};
use crate::config::{Config, Resolved};
use crate::engine::block::{Block, Value};
use crate::engine::fork::{self, ForkLocks};
use crate::engine::read::{QuietHits, ShardShared};
use crate::engine::shard::{Access, Condition, ExpiryUpdate, KeyHasher, MAX_EXPIRY, Prepared, ReadInto, Shard, random_key_hasher, seeded_key_hasher};
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::{Clock, SystemClock};
use crate::pubsub::{Message, Registry, Subscription, Topic};
use crate::stats::Stats;

/// A shard padded to its own cache lines, so that two shards' locks never
/// share a line (false sharing would serialise unrelated keys).
#[repr(align(128))]
struct PaddedShard(Mutex<Shard>);

struct Inner {
    shards: Box<[PaddedShard]>,
    /// Each shard's lock-free side, apart from the locks: readers load these
    /// pointers from lines no lock acquisition writes.
    readers: Box<[Arc<ShardShared>]>,
    shard_bits: u32,
    /// Hits served without a lock, per shard, striped by thread.
    quiet_hits: Arc<QuietHits>,
    hasher: KeyHasher,
    clock: Arc<dyn Clock>,
    config: Config,
    resolved: Resolved,
    maintenance: Mutex<Maintenance>,
    fork_generation: AtomicU64,
    /// Subscriptions; an `Arc` so that they outlive the cache.
    pubsub: Arc<Registry>,
}

/// The background thread and its stop signal. The signal uses std's
/// futex-based primitives rather than parking_lot's, whose global wait
/// queues a fork could copy mid-update.
#[derive(Default)]
struct Maintenance {
    thread: Option<JoinHandle<()>>,
    stop: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

/// A sharded, byte-bounded, thread-safe cache. Clones share the same cache.
///
/// ```
/// let cache = nycache::Cache::open("max_memory=16MiB").unwrap();
/// cache.set(b"greeting", b"hello", None).unwrap();
/// assert_eq!(cache.get(b"greeting").unwrap().unwrap().as_bytes(), b"hello");
/// ```
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

/// A value with its CAS version and client flags, as returned by [`Cache::gets`].
#[derive(Debug, Clone)]
pub struct Versioned {
    /// The value.
    pub value: Value,
    /// Pass this to [`Cache::cas`] to write only if nobody wrote since.
    pub version: u64,
    /// The client flags stored with the value (0 if none).
    pub flags: u32,
}

/// The remaining lifetime of a key, as returned by [`Cache::ttl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTtl {
    /// The key does not exist.
    Missing,
    /// The key exists and never expires.
    Persistent,
    /// The key expires after this long.
    Expires(Duration),
}

impl Cache {
    /// Opens a cache from a config string such as `"max_memory=64MiB shards=16"`.
    pub fn open(config: &str) -> Result<Cache> {
        Cache::new(Config::parse(config)?)
    }

    /// Opens a cache with the given configuration and the system clock.
    pub fn new(config: Config) -> Result<Cache> {
        Cache::with_clock(config, Arc::new(SystemClock::new()))
    }

    /// Opens a cache whose expiry runs on `clock` (tests use a manual clock).
    pub fn with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Cache> {
        config.validate()?;
        // Expiry times are 44-bit milliseconds on the clock's scale; a clock
        // that starts past half of that range could wrap them.
        if clock.now_ms() >= MAX_EXPIRY / 2 {
            return Err(Error::invalid(format!(
                "the clock reads {} ms; nycache clocks must start below 2^43 ms (~278 years)",
                clock.now_ms()
            )));
        }
        let parallelism = std::thread::available_parallelism().map_or(1, |n| n.get());
        let resolved = config.resolve(parallelism)?;
        let hasher = config.hash_seed.map_or_else(random_key_hasher, seeded_key_hasher);
        let now = clock.now_ms();
        let pubsub = Arc::new(Registry::new(config.notify_keyspace_events));
        let quiet_hits = Arc::new(QuietHits::new(resolved.shards));
        let mut readers = Vec::with_capacity(resolved.shards);
        let shards: Box<[PaddedShard]> = (0..resolved.shards)
            .map(|i| {
                let shard = Shard::new(
                    hasher.clone(),
                    resolved.shard_budget,
                    resolved.shard_entry_limit(i),
                    config.policy,
                    resolved.shards,
                    i,
                    quiet_hits.clone(),
                    now,
                    pubsub.event_log(),
                );
                readers.push(shard.shared().clone());
                PaddedShard(Mutex::new(shard))
            })
            .collect();
        let inner = Arc::new(Inner {
            shard_bits: resolved.shards.trailing_zeros(),
            shards,
            readers: readers.into_boxed_slice(),
            quiet_hits,
            hasher,
            clock,
            config,
            resolved,
            maintenance: Mutex::new(Maintenance::default()),
            fork_generation: AtomicU64::new(fork::generation()),
            pubsub,
        });
        let weak: Weak<dyn ForkLocks> = Arc::downgrade(&inner) as Weak<dyn ForkLocks>;
        fork::register(weak);
        inner.start_maintenance(&inner);
        Ok(Cache { inner })
    }

    /// The configuration this cache was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The number of shards in use.
    pub fn shard_count(&self) -> usize {
        self.inner.shards.len()
    }

    /// The largest value accepted, in bytes.
    pub fn max_value_size(&self) -> u64 {
        self.inner.resolved.max_value_size
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.inner.hasher.hash_one(key)
    }

    /// Notices a fork since the last call (see `engine::fork`): every
    /// public method passes here first.
    #[inline]
    fn check_fork(&self) {
        if fork::generation() != self.inner.fork_generation.load(Ordering::Relaxed) {
            self.inner.after_fork(&self.inner);
        }
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Mutex<Shard> {
        &self.inner.shards[self.shard_index(hash)].0
    }

    #[inline]
    fn shard_index(&self, hash: u64) -> usize {
        self.check_fork();
        // Bits 32.. choose the shard; the index uses the low bits for the
        // group and the top 7 for its tag, so the three stay independent.
        ((hash >> 32) as usize) & ((1usize << self.inner.shard_bits) - 1)
    }

    /// Runs `f` on the shard of `hash` under its lock, then publishes the
    /// keyspace events it raised, once the lock is released.
    #[inline]
    fn on_shard<R>(&self, hash: u64, f: impl FnOnce(&mut Shard) -> R) -> R {
        let mut shard = self.shard(hash).lock();
        let r = f(&mut shard);
        self.inner.release(shard);
        r
    }

    #[inline]
    pub(crate) fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() > self.inner.config.max_key_size {
            return Err(self.key_too_large(key.len()));
        }
        Ok(())
    }

    // Out of line, so the formatting stays off every operation's hot path.
    #[cold]
    #[inline(never)]
    fn key_too_large(&self, len: usize) -> Error {
        Error::with_message(
            ErrorKind::TooLarge,
            format!("key of {len} bytes exceeds max_key_size ({} bytes)", self.inner.config.max_key_size),
        )
    }

    pub(crate) fn check_value(&self, value: &[u8]) -> Result<()> {
        let max = self.inner.resolved.max_value_size;
        if value.len() as u64 > max {
            return Err(Error::with_message(
                ErrorKind::TooLarge,
                format!("value of {} bytes exceeds max_value_size ({max} bytes)", value.len()),
            ));
        }
        Ok(())
    }

    fn expires_at(&self, ttl: Option<Duration>) -> u64 {
        match ttl {
            None => 0,
            Some(d) => {
                // Round up, so a sub-millisecond TTL is not "no expiry".
                let ms = d.as_nanos().div_ceil(1_000_000).min(MAX_EXPIRY as u128) as u64;
                self.inner.clock.now_ms().saturating_add(ms).min(MAX_EXPIRY)
            }
        }
    }

    fn prepare(&self, key: &[u8], value: &[u8]) -> Result<Prepared> {
        self.check_key(key)?;
        self.check_value(value)?;
        match codec::compress(value, self.inner.config.compress_min) {
            Some(packed) => Ok(Prepared { block: Block::new(key, &packed)?, encoding: Encoding::Lz4, raw_len: value.len() }),
            None => Ok(Prepared { block: Block::new(key, value)?, encoding: Encoding::Raw, raw_len: value.len() }),
        }
    }

    fn write(&self, key: &[u8], value: &[u8], ttl: Option<Duration>, flags: u32, cond: Condition) -> Result<()> {
        let prepared = self.prepare(key, value)?;
        let hash = self.hash(key);
        let at = self.expires_at(ttl);
        let clock = &*self.inner.clock;
        self.on_shard(hash, |s| s.store(hash, prepared, ExpiryUpdate::At(at), flags, cond, clock))
    }

    /// Stores `value` under `key`, replacing any previous value. `ttl`
    /// `None` means no expiry.
    pub fn set(&self, key: &[u8], value: &[u8], ttl: Option<Duration>) -> Result<()> {
        self.write(key, value, ttl, 0, Condition::Always)
    }

    /// Like [`set`](Self::set), also storing 32 bits of client flags
    /// (memcached's flags), returned by [`gets`](Self::gets).
    pub fn set_with_flags(&self, key: &[u8], value: &[u8], ttl: Option<Duration>, flags: u32) -> Result<()> {
        self.write(key, value, ttl, flags, Condition::Always)
    }

    /// Stores only if the key is absent; `Exists` otherwise.
    pub fn add(&self, key: &[u8], value: &[u8], ttl: Option<Duration>) -> Result<()> {
        self.write(key, value, ttl, 0, Condition::Absent)
    }

    /// Stores only if the key is present; `NotFound` otherwise.
    pub fn replace(&self, key: &[u8], value: &[u8], ttl: Option<Duration>) -> Result<()> {
        self.write(key, value, ttl, 0, Condition::Present)
    }

    /// Stores only if the key's version is still `version` (from
    /// [`gets`](Self::gets)); `CasMismatch` if it changed, `NotFound` if gone.
    pub fn cas(&self, key: &[u8], value: &[u8], ttl: Option<Duration>, version: u64) -> Result<()> {
        self.write(key, value, ttl, 0, Condition::Version(version))
    }

    /// A shared handle to the value, or `None` if absent or expired.
    pub fn get(&self, key: &[u8]) -> Result<Option<Value>> {
        self.check_key(key)?;
        let hash = self.hash(key);
        // A quiet hit shares its block without the shard's lock (see
        // `engine::read`); anything else takes the lock.
        let i = self.shard_index(hash);
        if let Some(block) = self.inner.readers[i].share_quiet(hash, key, &*self.inner.clock) {
            let block = block?;
            self.inner.quiet_hits.add(i);
            return Ok(Some(Value::from_block(block)));
        }
        let found = self.on_shard(hash, |s| s.read_block(hash, key, false, &*self.inner.clock))?;
        Ok(found.map(|(b, _, _)| Value::from_block(b)))
    }

    /// Copies the value into `buf`. Returns `None` if absent, else the
    /// value's length: the bytes were copied iff that length fits in `buf`
    /// (otherwise nothing is written, and the caller can retry with a buffer
    /// of that size).
    pub fn get_into(&self, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>> {
        let cap = buf.len();
        self.read_with::<false>(key, cap, |enc, stored, n, _| crate::codec::decode_into(enc, stored, &mut buf[..n]))
    }

    /// Like [`get_into`](Self::get_into) for a destination that is not a
    /// Rust slice: `fill` receives the stored form (encoding, bytes, decoded
    /// length) and, if `WITH_VERSION`, the CAS version, under the shard lock
    /// when the decoded length is at most `cap`. Returns the decoded length,
    /// or `None` if absent.
    #[inline]
    pub(crate) fn read_with<const WITH_VERSION: bool>(
        &self,
        key: &[u8],
        cap: usize,
        fill: impl FnOnce(crate::codec::Encoding, &[u8], usize, u64) -> Result<()>,
    ) -> Result<Option<usize>> {
        self.check_key(key)?;
        let hash = self.hash(key);
        let clock = &*self.inner.clock;
        // A plain read first tries the shard's lock-free side (a "quiet"
        // hit, see `engine::read`); anything else takes the lock.
        let fill = if WITH_VERSION {
            fill
        } else {
            let i = self.shard_index(hash);
            match self.inner.readers[i].read_quiet(hash, key, cap, clock, fill) {
                Ok(found) => {
                    let found = found?;
                    self.inner.quiet_hits.add(i);
                    return Ok(match found {
                        ReadInto::Missing => None,
                        ReadInto::Copied(n) | ReadInto::TooSmall(n) => Some(n),
                    });
                }
                Err(fill) => fill,
            }
        };
        match self.on_shard(hash, |s| s.read_with::<WITH_VERSION>(hash, key, cap, clock, fill))? {
            ReadInto::Missing => Ok(None),
            ReadInto::Copied(n) | ReadInto::TooSmall(n) => Ok(Some(n)),
        }
    }

    /// The value with its CAS version and flags.
    pub fn gets(&self, key: &[u8]) -> Result<Option<Versioned>> {
        self.check_key(key)?;
        let hash = self.hash(key);
        let found = self.on_shard(hash, |s| s.read_block(hash, key, true, &*self.inner.clock))?;
        Ok(found.map(|(b, version, flags)| Versioned { value: Value::from_block(b), version, flags }))
    }

    /// Runs a collection command on the collection of type `T` at `key`,
    /// under its shard's lock (see `Shard::collection`): `None` when the key
    /// is absent and `access` does not create, `WrongType` when it holds
    /// another type. `growth` bounds the bytes the command adds.
    pub(crate) fn with_collection<T: crate::types::Typed, R>(
        &self,
        key: &[u8],
        access: Access,
        growth: u64,
        f: impl FnOnce(&mut T) -> Result<R>,
    ) -> Result<Option<R>> {
        self.check_key(key)?;
        let hash = self.hash(key);
        self.on_shard(hash, |s| s.collection(hash, key, access, growth, &*self.inner.clock, f))
    }

    /// Removes the key; true if it existed.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        let hash = self.hash(key);
        Ok(self.on_shard(hash, |s| s.delete(hash, key, &*self.inner.clock)))
    }

    /// True if the key exists (does not count as a use for eviction).
    pub fn exists(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        let hash = self.hash(key);
        Ok(self.on_shard(hash, |s| s.exists(hash, key, &*self.inner.clock)))
    }

    /// Marks the key as just used (Redis TOUCH); true if it exists.
    pub fn touch(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        let hash = self.hash(key);
        Ok(self.on_shard(hash, |s| s.touch(hash, key, &*self.inner.clock)))
    }

    /// Sets the key's TTL (`None` removes it, a zero TTL deletes the key at
    /// once). Returns false if the key does not exist.
    pub fn expire(&self, key: &[u8], ttl: Option<Duration>) -> Result<bool> {
        self.check_key(key)?;
        let hash = self.hash(key);
        let at = match ttl {
            Some(d) if d.is_zero() => self.inner.clock.now_ms(),
            other => self.expires_at(other),
        };
        Ok(self.on_shard(hash, |s| s.set_expiry(hash, key, at, &*self.inner.clock)))
    }

    /// Removes the key's TTL (Redis PERSIST). True if the key existed and
    /// had a TTL.
    pub fn persist(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        let hash = self.hash(key);
        let clock = &*self.inner.clock;
        self.on_shard(hash, |shard| match shard.expiry(hash, key, clock) {
            Some(at) if at != 0 => Ok(shard.set_expiry(hash, key, 0, clock)),
            _ => Ok(false),
        })
    }

    /// The key's remaining lifetime.
    pub fn ttl(&self, key: &[u8]) -> Result<KeyTtl> {
        self.check_key(key)?;
        let hash = self.hash(key);
        let clock = &*self.inner.clock;
        let at = self.on_shard(hash, |s| s.expiry(hash, key, clock));
        Ok(match at {
            None => KeyTtl::Missing,
            Some(0) => KeyTtl::Persistent,
            Some(at) => KeyTtl::Expires(Duration::from_millis(at.saturating_sub(clock.now_ms()))),
        })
    }

    /// Adds `delta` to the decimal integer at `key` (Redis INCRBY): a
    /// missing key starts at 0, the TTL is kept; `NotANumber` if the value
    /// is not a decimal i64, `Overflow` if the result would not fit.
    pub fn incr(&self, key: &[u8], delta: i64) -> Result<i64> {
        self.check_key(key)?;
        let hash = self.hash(key);
        let max = self.inner.resolved.max_value_size;
        self.on_shard(hash, |s| s.incr(hash, key, delta, max, &*self.inner.clock))
    }

    /// Subtracts `delta` (Redis DECRBY).
    pub fn decr(&self, key: &[u8], delta: i64) -> Result<i64> {
        let neg = delta
            .checked_neg()
            .ok_or_else(|| Error::new(ErrorKind::Overflow, "decrement would overflow"))?;
        self.incr(key, neg)
    }

    /// Reads many keys; the result has one slot per key, in order (`None`
    /// for a key that is absent or holds a collection, as Redis's MGET).
    pub fn get_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Option<Value>>> {
        // As Redis's MGET: a key holding a collection reads as absent.
        keys.iter()
            .map(|k| match self.get(k.as_ref()) {
                Err(e) if e.kind() == ErrorKind::WrongType => Ok(None),
                other => other,
            })
            .collect()
    }

    /// Writes many pairs with one TTL. Stops at the first error, which it
    /// returns; the pairs before it are stored.
    pub fn set_many<K: AsRef<[u8]>, V: AsRef<[u8]>>(&self, items: &[(K, V)], ttl: Option<Duration>) -> Result<()> {
        items.iter().try_for_each(|(k, v)| self.set(k.as_ref(), v.as_ref(), ttl))
    }

    /// Deletes many keys; returns how many existed.
    pub fn delete_many<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<usize> {
        let mut n = 0;
        for k in keys {
            n += usize::from(self.delete(k.as_ref())?);
        }
        Ok(n)
    }

    /// One step of a cursor iteration over the keys (Redis SCAN): start with
    /// cursor 0, pass each returned cursor back, stop when it is 0 again.
    /// `pattern` is a Redis glob (`None` = all); `count` is how many slots to
    /// visit (a hint, as in Redis: a step may return fewer keys, even none).
    /// Every key present for the whole iteration is returned at least once,
    /// whatever other threads write meanwhile; a key may be returned twice if
    /// it was deleted and re-added during the scan.
    pub fn scan(&self, cursor: u64, pattern: Option<&[u8]>, count: usize) -> Result<(u64, Vec<Vec<u8>>)> {
        self.check_fork();
        let shard_count = self.inner.shards.len() as u64;
        let mut shard = cursor >> 32;
        let mut slot = cursor & 0xffff_ffff;
        if shard >= shard_count {
            return Err(Error::invalid(format!("scan cursor {cursor} is not one this cache returned")));
        }
        let pattern = pattern.filter(|p| !crate::glob::is_match_all(p));
        let count = count.max(1);
        let mut keys = Vec::new();
        let clock = &*self.inner.clock;
        loop {
            let next = self.inner.shards[shard as usize].0.lock().scan(slot, count, pattern, &mut keys, clock);
            match next {
                Some(s) if s <= u32::MAX as u64 => return Ok(((shard << 32) | s, keys)),
                _ => {
                    shard += 1;
                    slot = 0;
                    if shard == shard_count {
                        return Ok((0, keys));
                    }
                    if !keys.is_empty() {
                        return Ok((shard << 32, keys));
                    }
                }
            }
        }
    }

    /// All keys matching `pattern`, by a full scan.
    pub fn keys(&self, pattern: Option<&[u8]>) -> Result<Vec<Vec<u8>>> {
        let mut all = Vec::new();
        let mut cursor = 0;
        loop {
            let (next, mut keys) = self.scan(cursor, pattern, 1024)?;
            all.append(&mut keys);
            if next == 0 {
                return Ok(all);
            }
            cursor = next;
        }
    }

    /// Removes every entry.
    pub fn flush(&self) {
        self.check_fork();
        for s in self.inner.shards.iter() {
            s.0.lock().flush();
        }
    }

    /// Checks every shard's invariants, each under its lock (tests only).
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        for s in self.inner.shards.iter() {
            s.0.lock().check_invariants();
        }
    }

    /// Active expiry on every shard now (tests only; no maintenance thread).
    #[cfg(test)]
    pub(crate) fn expire_all_due(&self) -> usize {
        let clock = &*self.inner.clock;
        self.inner
            .shards
            .iter()
            .map(|s| {
                let mut shard = s.0.lock();
                let n = shard.expire_due(clock);
                self.inner.release(shard);
                n
            })
            .sum()
    }

    /// Entries stored now (expired entries not yet reclaimed included).
    pub fn len(&self) -> u64 {
        self.check_fork();
        self.inner.shards.iter().map(|s| s.0.lock().len()).sum()
    }

    /// True when no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of the counters and sizes.
    pub fn stats(&self) -> Stats {
        self.check_fork();
        let mut st = Stats {
            max_bytes: self.inner.resolved.shard_budget * self.inner.shards.len() as u64,
            shards: self.inner.shards.len() as u64,
            ..Stats::default()
        };
        for s in self.inner.shards.iter() {
            let s = s.0.lock();
            st.add_counters(&s.counters);
            st.entries += s.len();
            st.used_bytes += s.used();
        }
        st.hits += self.inner.quiet_hits.sum();
        st.pubsub_subscriptions = self.inner.pubsub.subscriptions();
        st.pubsub_published = self.inner.pubsub.published();
        st.pubsub_dropped = self.inner.pubsub.dropped();
        st
    }

    /// The stats in Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.stats().to_prometheus()
    }

    /// Runs one maintenance pass now (active expiry on every shard); returns
    /// how many entries expired. The background thread does the same every
    /// `maintenance_ms`.
    pub fn run_maintenance(&self) -> usize {
        self.check_fork();
        self.inner.maintain(false)
    }

    fn check_channel(&self, what: &str, bytes: &[u8]) -> Result<()> {
        // Room for a reserved prefix around a key of the largest size.
        let max = self.inner.config.max_key_size + 64;
        if bytes.len() > max {
            return Err(Error::with_message(
                ErrorKind::TooLarge,
                format!("{what} of {} bytes exceeds max_key_size + 64 ({max} bytes)", bytes.len()),
            ));
        }
        Ok(())
    }

    fn check_topic(&self, topic: Topic<'_>) -> Result<()> {
        match topic {
            Topic::Channel(c) => self.check_channel("channel", c),
            Topic::Pattern(p) => self.check_channel("pattern", p),
        }
    }

    /// Subscribes a queue of up to `capacity` messages (0: the default,
    /// [`DEFAULT_QUEUE_CAPACITY`](crate::pubsub::DEFAULT_QUEUE_CAPACITY)) to
    /// a channel or a pattern. A full queue drops its oldest message (see
    /// [`Subscription::dropped`]). Dropping the subscription unsubscribes.
    ///
    /// ```
    /// use nycache::pubsub::Topic;
    /// let cache = nycache::Cache::open("").unwrap();
    /// let sub = cache.subscribe(Topic::Pattern(b"news.*"), 0).unwrap();
    /// assert_eq!(cache.publish(b"news.rust", b"hello").unwrap(), 1);
    /// assert_eq!(sub.try_recv().unwrap().payload(), b"hello");
    /// ```
    ///
    /// # Errors
    ///
    /// `TooLarge` for a topic longer than `max_key_size + 64` bytes; `Io` if
    /// the event descriptor cannot be made.
    pub fn subscribe(&self, topic: Topic<'_>, capacity: usize) -> Result<Subscription> {
        self.check_fork();
        self.check_topic(topic)?;
        self.inner.pubsub.subscribe_queue(topic, capacity)
    }

    /// Subscribes a callback to a channel or a pattern. It is called on the
    /// publishing thread (for keyspace events raised by the maintenance
    /// pass, on the maintenance thread), after every lock of the cache is
    /// released, so it may call the cache, publish and unsubscribe included.
    /// Calls for one subscription may run concurrently on several threads.
    /// Dropping the subscription unsubscribes and waits for the calls under
    /// way (unless dropped from inside a callback).
    ///
    /// # Errors
    ///
    /// `TooLarge` for a topic longer than `max_key_size + 64` bytes.
    pub fn subscribe_callback(
        &self,
        topic: Topic<'_>,
        callback: impl Fn(&Message) + Send + Sync + 'static,
    ) -> Result<Subscription> {
        self.check_fork();
        self.check_topic(topic)?;
        Ok(self.inner.pubsub.subscribe_callback(topic, Box::new(callback)))
    }

    /// Publishes `message` on `channel`; returns how many subscriptions
    /// received it (a subscription to the channel and one to a matching
    /// pattern count twice; a full queue still receives). Callbacks run
    /// before this returns, on this thread.
    ///
    /// # Errors
    ///
    /// `TooLarge` for a channel longer than `max_key_size + 64` bytes or a
    /// message longer than the largest value.
    pub fn publish(&self, channel: &[u8], message: &[u8]) -> Result<usize> {
        self.check_fork();
        self.check_channel("channel", channel)?;
        if message.len() as u64 > self.inner.resolved.max_value_size {
            return Err(Error::with_message(
                ErrorKind::TooLarge,
                format!(
                    "message of {} bytes exceeds max_value_size ({} bytes)",
                    message.len(),
                    self.inner.resolved.max_value_size
                ),
            ));
        }
        Ok(self.inner.pubsub.publish(channel, message))
    }

    /// Stops the background thread. Further calls still work (the cache
    /// lives until its last clone is dropped) but nothing expires actively.
    pub fn close(&self) {
        self.check_fork();
        self.inner.stop_maintenance();
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("shards", &self.inner.shards.len()).field("config", &self.inner.config).finish()
    }
}

impl Inner {
    /// Releases a shard's lock, then publishes the keyspace events raised
    /// under it (on this thread: callbacks never run under a shard lock).
    #[inline]
    fn release(&self, mut shard: MutexGuard<'_, Shard>) {
        if shard.events.has_pending() {
            let events = shard.events.take();
            drop(shard);
            self.pubsub.publish_events(events);
        }
    }

    /// One pass of active expiry. With `try_only` a shard busy with other
    /// work is skipped this round (the background thread never waits on a
    /// shard lock, so it can't be parked on one when the process forks).
    fn maintain(&self, try_only: bool) -> usize {
        let clock = &*self.clock;
        let mut removed = 0;
        for s in self.shards.iter() {
            let guard = if try_only { s.0.try_lock() } else { Some(s.0.lock()) };
            if let Some(mut shard) = guard {
                removed += shard.expire_due(clock);
                self.release(shard);
            }
        }
        removed
    }

    fn start_maintenance(&self, this: &Arc<Inner>) {
        let period = self.config.maintenance_ms;
        if period == 0 {
            return;
        }
        let mut m = self.maintenance.lock();
        let stop = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        m.stop = stop.clone();
        let weak = Arc::downgrade(this);
        let spawned = std::thread::Builder::new().name("nycache-maint".into()).spawn(move || {
            let (lock, cv) = &*stop;
            loop {
                {
                    let stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                    let (stopped, _) = cv
                        .wait_timeout_while(stopped, Duration::from_millis(period), |stopped| !*stopped)
                        .unwrap_or_else(|e| e.into_inner());
                    if *stopped {
                        return;
                    }
                }
                let Some(inner) = weak.upgrade() else { return };
                inner.maintain(true);
            }
        });
        // If the OS refuses a thread, the cache still works: lazy expiry
        // keeps reads correct and `run_maintenance` can be called by hand.
        m.thread = spawned.ok();
    }

    fn stop_maintenance(&self) {
        let (thread, stop) = {
            let mut m = self.maintenance.lock();
            (m.thread.take(), m.stop.clone())
        };
        let Some(t) = thread else { return };
        if self.fork_generation.load(Ordering::Relaxed) != fork::generation() {
            // We are in a fork child that has not noticed the fork yet: the
            // handle names the parent's thread, which does not exist here
            // and must not be joined; its stop mutex may have been copied
            // mid-use, so it is not touched either.
            std::mem::forget(t);
            std::mem::forget(stop);
            return;
        }
        *stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
        stop.1.notify_all();
        // (The thread may be the one dropping the last handle; it can't
        // join itself.)
        if t.thread().id() != std::thread::current().id() {
            let _ = t.join();
        }
    }

    #[cold]
    fn after_fork(&self, this: &Arc<Inner>) {
        let generation = fork::generation();
        let seen = self.fork_generation.swap(generation, Ordering::Relaxed);
        if seen == generation {
            return;
        }
        // The parent's thread does not exist here; its handle must not be
        // joined (or detached) in this process.
        let had_thread = {
            let mut m = self.maintenance.lock();
            let old = m.thread.take();
            let had = old.is_some();
            std::mem::forget(old);
            had
        };
        if had_thread {
            self.start_maintenance(this);
        }
    }
}

impl ForkLocks for Inner {
    fn lock_all(&self) {
        std::mem::forget(self.maintenance.lock());
        for s in self.shards.iter() {
            std::mem::forget(s.0.lock());
        }
        self.pubsub.lock_for_fork();
    }

    unsafe fn unlock_all(&self) {
        // SAFETY: `lock_all` took the registry's lock, once.
        unsafe { self.pubsub.unlock_after_fork() };
        for s in self.shards.iter() {
            // SAFETY: `lock_all` took this lock and forgot the guard.
            unsafe { s.0.force_unlock(Default::default()) };
        }
        // SAFETY: as above.
        unsafe { self.maintenance.force_unlock(Default::default()) };
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_maintenance();
    }
}
