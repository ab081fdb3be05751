//! One shard: an index over a slab of entry nodes, the eviction policy's
//! lists threaded through those nodes, a timer wheel for active expiry, and
//! the shard's share of the memory budget. Everything here runs under the
//! shard's lock; the caller ([`crate::Cache`]) hashes the key, builds the
//! value block outside the lock, and picks the shard. The index and the slab
//! are also read without the lock by quiet hits (`super::read`), so blocks
//! leave nodes through `retire` (the epoch collector), never by a direct drop.
//!
//! ## Entry layout and what it costs
//!
//! An entry is a 24-byte [`Node`] in the slab (a pointer to its block, two
//! u32 list links, and one u64 word packing the expiry time, two flag bits,
//! the policy bits and a timer tag), a 4-byte slot plus a control byte in the
//! index, and its [`Block`] (12-byte header + key + stored value, rounded up
//! to the allocator's size class). CAS versions and client flags are rare,
//! so they live in side tables keyed by slab index and cost nothing for
//! entries that never use them.
//!
//! Each entry is charged `size_class(block) + NODE_CHARGE` (+ side-table
//! charges, + the policy's per-entry charge for its sketch and ghost);
//! `NODE_CHARGE` = 24 (node) + 8 (index slot and control byte at the
//! index's typical load). See `docs/design.md`.

use std::sync::Arc;

use hashbrown::HashMap;

use super::block::{BLOCK_HEADER, Block};
use super::index::IndexCounts;
use super::read::{QuietHits, ShardShared};
use super::slab::{Node, Nodes};
use super::size_class::size_class;
use crate::codec::{self, Encoding};
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::{Clock, Fired, TimerId, TimerWheel};
use crate::config::PolicyKind;
use crate::policy::list::{Linked, NIL};
use crate::policy::{MAX_POLICY_CHARGE, Policy, PolicyNode};
use crate::pubsub::{EventLog, KeyEvent};
use crate::stats::Counters;
use crate::types::{Collection, Typed, wrong_type};

/// Fixed bytes charged per entry on top of its block's size class.
pub const NODE_CHARGE: u64 = 32;
/// Bytes charged for an entry's slot in the CAS-version side table.
pub const VERSION_CHARGE: u64 = 16;
/// Bytes charged for an entry's slot in the client-flags side table.
pub const FLAGS_CHARGE: u64 = 16;
/// Bytes charged for an entry with a TTL: its 8-byte timer-wheel record
/// plus room for the stale records the wheel may hold (at most one more per
/// expiring entry, see `compact_wheel`).
pub const TIMER_CHARGE: u64 = 16;
/// Bytes charged for a collection's slot in the collections side table
/// (a u32 key and a box pointer); the collection itself is charged what it
/// allocates (`Collection::charge`).
pub(crate) const COLLECTION_CHARGE: u64 = 16;
/// Headroom under which a collection write first takes a copy of the
/// collection, so that a write that would outgrow the shard's budget can be
/// undone (see `Shard::collection`).
const SNAPSHOT_SLACK: u64 = 64 * 1024;

const EXPIRY_BITS: u32 = 44;
pub(super) const EXPIRY_MASK: u64 = (1 << EXPIRY_BITS) - 1;
/// The latest representable expiry (ms on the cache clock, ~557 years).
pub(crate) const MAX_EXPIRY: u64 = EXPIRY_MASK;
const HAS_VERSION: u64 = 1 << 48;
const HAS_FLAGS: u64 = 1 << 49;
/// Bits 50..54 belong to the eviction policy (see `PolicyNode`).
const POLICY_SHIFT: u32 = 50;
const POLICY_MASK: u64 = 0xf << POLICY_SHIFT;
/// A per-slot tag, bumped whenever the slot's timer record is replaced or
/// its entry leaves, so the wheel's older records for the slot are stale.
const TAG_SHIFT: u32 = 54;
const TAG_MASK: u64 = 0x3ff << TAG_SHIFT;
/// Wheel records beyond the expiring entries (per shard) before a compaction.
const WHEEL_SLACK: usize = 1024;
/// Retired blocks handed to the epoch collector at once (one deferred
/// closure per batch rather than per block).
const RETIRE_BATCH: usize = 64;
/// ... or once they hold this many bytes (they are no longer charged to the
/// budget, so large values must not wait for 63 more removals).
const RETIRE_BYTES: usize = 64 * 1024;
/// Locked reads between two absorptions of the readers' quiet hits.
const ABSORB_EVERY: u32 = 64;

impl Node {
    #[inline]
    fn expires_at(&self) -> u64 {
        self.word() & EXPIRY_MASK
    }
    #[inline]
    fn set_expires_at(&self, at: u64) {
        self.set_word((self.word() & !EXPIRY_MASK) | at.min(MAX_EXPIRY));
    }
    /// The stored value's encoding (kept in its block, see `block.rs`).
    #[inline]
    fn encoding(&self) -> Encoding {
        self.block().encoding()
    }
    #[inline]
    fn tag(&self) -> u64 {
        (self.word() & TAG_MASK) >> TAG_SHIFT
    }
    #[inline]
    fn bump_tag(&self) {
        let tag = (self.tag() + 1) & (TAG_MASK >> TAG_SHIFT);
        self.set_word((self.word() & !TAG_MASK) | (tag << TAG_SHIFT));
    }
    #[inline]
    fn has(&self, flag: u64) -> bool {
        self.word() & flag != 0
    }
    #[inline]
    fn is_live(&self) -> bool {
        self.block_opt().is_some()
    }
    #[inline]
    fn block(&self) -> &Block {
        self.block_opt().as_ref().expect("live node has a block")
    }
    #[inline]
    fn is_expired(&self, clock: &dyn Clock) -> bool {
        let at = self.expires_at();
        at != 0 && at <= clock.now_ms()
    }
}

impl Linked for Node {
    #[inline]
    fn prev(&self) -> u32 {
        Node::prev(self)
    }
    #[inline]
    fn next(&self) -> u32 {
        Node::next(self)
    }
    #[inline]
    fn set_prev(&self, i: u32) {
        Node::set_prev(self, i)
    }
    #[inline]
    fn set_next(&self, i: u32) {
        Node::set_next(self, i)
    }
}

impl PolicyNode for Node {
    #[inline]
    fn policy_bits(&self) -> u8 {
        policy_bits(self.word())
    }
    #[inline]
    fn set_policy_bits(&self, bits: u8) {
        self.set_word((self.word() & !POLICY_MASK) | ((u64::from(bits) & 0xf) << POLICY_SHIFT));
    }
}

/// The policy bits of a node word.
#[inline]
pub(super) fn policy_bits(word: u64) -> u8 {
    ((word & POLICY_MASK) >> POLICY_SHIFT) as u8
}

/// Why an entry leaves, for the counters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Removal {
    Deleted,
    Evicted,
    ExpiredLazy,
    ExpiredActive,
}

/// How a collection command treats its key (see `Shard::collection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads: an absent key is a miss.
    Read,
    /// Changes an existing collection only (LPOP, SREM, LSET, ...).
    Write,
    /// Creates the collection if the key is absent (LPUSH, SADD, ...).
    Create,
}

/// The condition a write is subject to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    /// Always write.
    Always,
    /// Only if absent (`add`).
    Absent,
    /// Only if present (`replace`).
    Present,
    /// Only if present with this CAS version.
    Version(u64),
}

/// What a write does to the entry's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpiryUpdate {
    /// Expire at this absolute time (0 = never).
    At(u64),
    /// Keep the existing entry's expiry (a new entry gets none).
    Keep,
}

/// A value ready to be stored: its block (key + stored bytes) and encoding.
pub(crate) struct Prepared {
    pub block: Block,
    pub encoding: Encoding,
    /// Bytes of the value before encoding (for the compression counter).
    pub raw_len: usize,
}

/// What `read` found: a copy, or the length when the buffer was too small.
pub(crate) enum ReadInto {
    Missing,
    Copied(usize),
    TooSmall(usize),
}

/// The hash of slot `j`'s key, for the index when it is rebuilt.
fn rehash<'a>(hasher: &'a KeyHasher, nodes: &'a Nodes) -> impl Fn(u32) -> u64 + 'a {
    use std::hash::BuildHasher;
    move |j| hasher.hash_one(nodes[j as usize].block().key())
}

/// Hints the CPU to start loading slab node `i` (ignored for NIL).
#[inline(always)]
fn prefetch(nodes: &Nodes, i: u32) {
    #[cfg(target_arch = "x86_64")]
    if let Some(node) = nodes.get(i as usize) {
        // SAFETY: a prefetch is only a hint: it never faults, never writes and has no effect on program semantics; the pointer comes from a live reference anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                node as *const Node as *const i8,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (nodes, i);
}

/// A fresh block (empty key) holding the decoded form of a stored value;
/// out of line, off the raw-value hot path.
#[cold]
#[inline(never)]
fn decoded_copy(enc: Encoding, stored: &[u8]) -> Result<Block> {
    let n = codec::decoded_len(enc, stored);
    let mut res = Ok(());
    let b = Block::build(b"", n, |dst| res = codec::decode_into(enc, stored, dst))?;
    res.map(|()| b)
}

/// The most an entry with a key of `key_len` and a value of `value_len`
/// bytes can be charged: its block's size class plus every fixed charge
/// (node, CAS version, client flags, timer record, the largest policy
/// charge). Config sizing uses it so
/// that "a shard holds two of the largest entries" holds for real charges.
pub(crate) fn max_entry_charge(key_len: u64, value_len: u64) -> u64 {
    let block = (BLOCK_HEADER as u64).saturating_add(key_len).saturating_add(value_len);
    let block = usize::try_from(block).unwrap_or(usize::MAX / 2).min(usize::MAX / 2);
    size_class(block) as u64 + NODE_CHARGE + VERSION_CHARGE + FLAGS_CHARGE + TIMER_CHARGE + MAX_POLICY_CHARGE
}

/// The largest value length whose `max_entry_charge` with this key length
/// is at most `charge` (0 if none is).
pub(crate) fn largest_value_within(key_len: u64, charge: u64) -> u64 {
    // The charge grows with the value length: binary search it.
    let (mut lo, mut hi) = (0u64, charge);
    if max_entry_charge(key_len, 0) > charge {
        return 0;
    }
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if max_entry_charge(key_len, mid) <= charge { lo = mid } else { hi = mid - 1 }
    }
    lo
}

/// The keyed hash of a cache: foldhash (fast on short keys) with a 64-bit
/// per-cache seed drawn from std's `RandomState`, whose keys come from the
/// operating system's random source. Keys crafted to collide in one cache
/// (one bucket, one shard) do not collide in another process or cache.
pub(crate) type KeyHasher = foldhash::fast::SeedableRandomState;

/// A fresh, unpredictable per-cache hasher.
pub(crate) fn random_key_hasher() -> KeyHasher {
    use std::hash::BuildHasher;
    let seed = std::collections::hash_map::RandomState::new().hash_one(0x6e79_6361_6368_6521u64);
    foldhash::fast::SeedableRandomState::with_seed(seed, foldhash::SharedSeed::global_random())
}

/// A hasher with a fixed seed (`hash_seed=`): the same keys hash the same
/// in every run, for reproducible simulations and tests.
pub(crate) fn seeded_key_hasher(seed: u64) -> KeyHasher {
    static SHARED: foldhash::SharedSeed = foldhash::SharedSeed::from_u64(0x6e79_6361_6368_6521);
    foldhash::fast::SeedableRandomState::with_seed(seed, &SHARED)
}

/// The wheel id of slot `i`'s record with tag `tag`.
#[inline]
fn timer_id(i: u32, tag: u64) -> TimerId {
    (tag << 32) | i as u64
}

/// The slot and current expiry named by a wheel record, or `None` if the
/// record is stale (the slot is empty or its tag moved on).
#[inline]
fn current_record(nodes: &Nodes, id: TimerId) -> Option<(u32, u64)> {
    let i = id as u32;
    let node = nodes.get(i as usize)?;
    (node.is_live() && node.tag() == id >> 32).then(|| (i, node.expires_at()))
}

fn oom() -> Error {
    Error::new(ErrorKind::OutOfMemory, "allocation failed while growing a shard's tables")
}

/// A shard of the cache. See the module docs.
pub(crate) struct Shard {
    hasher: KeyHasher,
    /// What lock-free readers see: the index and the slab (see `ShardShared`).
    shared: Arc<ShardShared>,
    /// The index's writer bookkeeping (its holder may change the index).
    counts: IndexCounts,
    /// The writer's view of the slab's current array.
    nodes: Nodes,
    /// Slab slots handed out so far (the array may be longer).
    slab_len: usize,
    /// Blocks taken out of nodes, released in batches through the epoch
    /// collector (a lock-free reader may still be copying one).
    retired: Vec<Block>,
    /// Bytes of the blocks in `retired`.
    retired_bytes: usize,
    free: u32,
    len: u64,
    policy: Policy,
    /// Bytes charged per entry for the policy's own structures.
    policy_charge: u64,
    wheel: TimerWheel,
    versions: HashMap<u32, u64, foldhash::fast::RandomState>,
    flags: HashMap<u32, u32, foldhash::fast::RandomState>,
    /// Collection values (lists, sets, hashes, sorted sets) by slab index:
    /// their entries' nodes say `Encoding::Collection`.
    collections: HashMap<u32, Box<Collection>, foldhash::fast::RandomState>,
    next_version: u64,
    /// Live entries with a TTL (each has exactly one current wheel record).
    expiring: usize,
    used: u64,
    budget: u64,
    max_entries: u64,
    pub(crate) counters: Counters,
    /// Hits served without the lock, counted by the readers per thread;
    /// the policy is told of them in bulk (`absorb_quiet_hits`).
    quiet_hits: Arc<QuietHits>,
    shard_index: usize,
    quiet_seen: u64,
    /// Locked reads since the quiet hits were last absorbed.
    reads_since_absorb: u32,
    /// Keyspace events raised under this shard's lock, published by the
    /// cache once the lock is released (see `crate::pubsub`).
    pub(crate) events: EventLog,
}

impl Shard {
    /// An empty shard with its own byte budget, entry bound and policy.
    /// (Called from one place, `Cache::new`, which names every argument.)
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        hasher: KeyHasher,
        budget: u64,
        max_entries: Option<u64>,
        policy_kind: PolicyKind,
        shards: usize,
        shard_index: usize,
        quiet_hits: Arc<QuietHits>,
        now_ms: u64,
        events: EventLog,
    ) -> Shard {
        use std::hash::BuildHasher;
        // The policy's randomness (TinyLFU's admission jitter) is seeded
        // from the per-cache random hash seed: unpredictable, never 0.
        let seed = hasher.hash_one(0x6a69_7474_6572u64) | 1;
        let policy = Policy::new(policy_kind, seed, shards);
        let shared = Arc::new(ShardShared::new());
        shared.publish_policy(&policy);
        Shard {
            hasher,
            nodes: Nodes::of(&shared.nodes),
            shared,
            counts: IndexCounts::default(),
            slab_len: 0,
            retired: Vec::new(),
            retired_bytes: 0,
            free: NIL,
            len: 0,
            policy,
            policy_charge: Policy::entry_charge(policy_kind),
            wheel: TimerWheel::new(now_ms),
            versions: HashMap::with_hasher(Default::default()),
            flags: HashMap::with_hasher(Default::default()),
            collections: HashMap::with_hasher(Default::default()),
            next_version: 1,
            expiring: 0,
            used: 0,
            budget,
            max_entries: max_entries.unwrap_or(u64::MAX),
            counters: Counters::default(),
            quiet_hits,
            shard_index,
            quiet_seen: 0,
            reads_since_absorb: 0,
            events,
        }
    }

    /// Entries stored (expired ones not yet removed included).
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Bytes charged for the stored entries.
    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    /// Ids waiting in the timer wheel (for tests of its bounds).
    #[cfg(test)]
    pub(crate) fn wheel_len(&self) -> usize {
        self.wheel.len()
    }

    /// What lock-free readers of this shard use.
    pub(crate) fn shared(&self) -> &Arc<ShardShared> {
        &self.shared
    }

    /// Hands a block taken out of a node to the epoch collector, in batches:
    /// a lock-free reader may still be copying it.
    fn retire(&mut self, block: Block) {
        self.retired_bytes += block.alloc_len();
        self.retired.push(block);
        if self.retired.len() >= RETIRE_BATCH || self.retired_bytes >= RETIRE_BYTES {
            self.flush_retired();
        }
    }

    fn flush_retired(&mut self) {
        if self.retired.is_empty() {
            return;
        }
        self.retired_bytes = 0;
        let batch = std::mem::take(&mut self.retired);
        let guard = crossbeam_epoch::pin();
        guard.defer(move || drop(batch));
        // Hand the batch to the collector now (and free older batches no
        // reader can hold): retired blocks are still allocated memory.
        guard.flush();
    }

    /// Counts a read under the lock; every `ABSORB_EVERY` of them, tells the
    /// policy of the quiet hits readers served meanwhile, so its hit-ratio
    /// samples see every read.
    #[inline]
    fn count_locked_read(&mut self) {
        self.reads_since_absorb += 1;
        if self.reads_since_absorb >= ABSORB_EVERY {
            self.absorb_quiet_hits();
        }
    }

    #[inline(never)]
    fn absorb_quiet_hits(&mut self) {
        self.reads_since_absorb = 0;
        let total = self.quiet_hits.total(self.shard_index);
        let new = total.saturating_sub(self.quiet_seen);
        self.quiet_seen = total;
        if new > 0 {
            self.policy.absorb_quiet_hits(new);
        }
    }

    fn hash_key(&self, key: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(key)
    }

    fn charge_of(&self, i: u32) -> u64 {
        let node = &self.nodes[i as usize];
        let mut c = size_class(node.block().alloc_len()) as u64 + NODE_CHARGE + self.policy_charge;
        if node.encoding() == Encoding::Collection {
            c += COLLECTION_CHARGE + self.collections.get(&i).map_or(0, |b| b.charge());
        }
        if node.has(HAS_VERSION) {
            c += VERSION_CHARGE;
        }
        if node.has(HAS_FLAGS) {
            c += FLAGS_CHARGE;
        }
        if node.expires_at() != 0 {
            c += TIMER_CHARGE;
        }
        c
    }

    /// What an entry with this block, flags and expiry will be charged.
    pub(crate) fn charge_for(&self, block: &Block, flags: u32, expires: bool) -> u64 {
        size_class(block.alloc_len()) as u64
            + NODE_CHARGE
            + self.policy_charge
            + if flags != 0 { FLAGS_CHARGE } else { 0 }
            + if expires { TIMER_CHARGE } else { 0 }
    }

    #[inline(always)]
    fn find(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        let lru = matches!(self.policy, Policy::Lru(_));
        self.shared
            .index
            .find_locked(&self.counts, hash, |i| {
                let node = &nodes[i as usize];
                // Under LRU a hit moves this node to the front of the list,
                // which writes its neighbours: start loading them now, so
                // their cache misses overlap the key comparison's miss on
                // the block instead of following it. (The other policies
                // only write the node itself on a hit.)
                if lru {
                    prefetch(nodes, node.prev());
                    prefetch(nodes, node.next());
                }
                node.block_opt().as_ref().is_some_and(|b| b.key_is(key))
            })
    }

    /// The slab index of the live entry for `key`, removing it first if it
    /// has expired (lazy expiry).
    #[inline(always)]
    fn lookup(&mut self, hash: u64, key: &[u8], clock: &dyn Clock) -> Option<u32> {
        let i = self.find(hash, key)?;
        if self.nodes[i as usize].is_expired(clock) {
            self.remove_hashed(i, Removal::ExpiredLazy, hash);
            return None;
        }
        Some(i)
    }

    fn remove(&mut self, i: u32, why: Removal) {
        let hash = self.hash_key(self.nodes[i as usize].block().key());
        self.remove_hashed(i, why, hash);
    }

    /// `remove` for a caller that already holds the hash of entry `i`'s key.
    fn remove_hashed(&mut self, i: u32, why: Removal, hash: u64) {
        let key = self.nodes[i as usize].block().key();
        debug_assert_eq!(hash, self.hash_key(key));
        let event = match why {
            Removal::Deleted => KeyEvent::Del,
            Removal::Evicted => KeyEvent::Evicted,
            Removal::ExpiredLazy | Removal::ExpiredActive => KeyEvent::Expired,
        };
        self.events.record(event, key);
        self.shared.index.remove(&mut self.counts, hash, i);
        self.policy.on_remove(&self.nodes, i, hash, why == Removal::Evicted);
        self.remove_payload(i);
        // The block leaves before the word changes: a lock-free reader that
        // sees the new word sees the block gone too (see `read_quiet`).
        if let Some(old) = self.nodes.set_block(i, None) {
            self.retire(old);
        }
        let node = &self.nodes[i as usize];
        node.set_word(node.word() & (TAG_MASK | POLICY_MASK));
        // Only the tag survives the slot's reuse, bumped: this entry's wheel
        // record is stale from now on.
        node.bump_tag();
        node.set_prev(NIL);
        node.set_next(self.free);
        self.free = i;
        self.len -= 1;
        match why {
            Removal::Deleted => self.counters.deletes += 1,
            Removal::Evicted => self.counters.evictions += 1,
            Removal::ExpiredLazy => self.counters.expired_lazy += 1,
            Removal::ExpiredActive => self.counters.expired_active += 1,
        }
    }

    /// Evicts policy victims until `extra` more bytes (and, if `new_entry`,
    /// one more entry) fit. `keep` is never evicted: it is taken out of the
    /// policy's order meanwhile (a policy's victim search reorders entries,
    /// so skipping it when named would stop short of room while others
    /// could still go) and put back at the head of its list after.
    fn make_room(&mut self, extra: u64, new_entry: bool, keep: u32, clock: &dyn Clock) {
        if !(self.used + extra > self.budget || (new_entry && self.len >= self.max_entries)) {
            return;
        }
        if keep != NIL {
            self.policy.detach(&self.nodes, keep);
        }
        self.evict_until(extra, new_entry, clock);
        if keep != NIL {
            self.policy.reattach(&self.nodes, keep);
        }
    }

    fn evict_until(&mut self, extra: u64, new_entry: bool, clock: &dyn Clock) {
        while self.used + extra > self.budget || (new_entry && self.len >= self.max_entries) {
            let hasher = &self.hasher;
            // The policy hashes the keys it compares, usually the victim's
            // last (the small queue's tail, before it names it): keep the
            // last hash and whose node it was, so that `remove` need not
            // hash the victim's key again.
            let last = std::cell::Cell::new((std::ptr::null::<Node>(), 0u64));
            let v = self.policy.victim(&self.nodes, &|n: &Node| {
                use std::hash::BuildHasher;
                let h = hasher.hash_one(n.block().key());
                last.set((n as *const Node, h));
                h
            });
            if v == NIL {
                break;
            }
            let why = if self.nodes[v as usize].is_expired(clock) { Removal::ExpiredLazy } else { Removal::Evicted };
            let (node, h) = last.get();
            if std::ptr::eq(node, &self.nodes[v as usize]) {
                self.remove_hashed(v, why, h);
            } else {
                self.remove(v, why);
            }
        }
        // A victim search may have changed what readers must know (the
        // guard's sample is sized from the entry count it sees here).
        self.shared.publish_policy(&self.policy);
    }

    /// Makes sure one more entry fits in the table and the slab without
    /// allocating later: an allocation failure is an `OutOfMemory` error
    /// (never an abort) and leaves the shard as it was.
    fn reserve_one(&mut self) -> Result<()> {
        self.shared.index.reserve_one(&mut self.counts, rehash(&self.hasher, &self.nodes)).map_err(|_| oom())?;
        if self.free == NIL {
            if self.slab_len >= NIL as usize {
                return Err(Error::new(ErrorKind::OutOfMemory, "shard holds the maximum of 2^32-1 entries"));
            }
            // One more chunk (see `slab`): nothing is copied, and the slab
            // wastes at most one part-filled chunk.
            if self.slab_len == self.nodes.len() {
                self.nodes.grow(&self.shared.nodes).map_err(|_| oom())?;
            }
        }
        Ok(())
    }

    /// A free slab slot; `reserve_one` made room for it.
    fn alloc_slot(&mut self) -> u32 {
        if self.free != NIL {
            let i = self.free;
            self.free = self.nodes[i as usize].next();
            return i;
        }
        let i = self.slab_len as u32;
        self.slab_len += 1;
        let node = &self.nodes[i as usize];
        node.set_prev(NIL);
        node.set_next(NIL);
        i
    }

    /// Keeps the wheel in step with a live entry's expiry going from `old`
    /// to `new` (0 = none). Invariant: an entry with an expiry has exactly
    /// one current record (its slot and tag) in the wheel, due no later than
    /// the expiry. A later expiry keeps the record (it fires early and
    /// reschedules); an earlier one replaces it, the old one going stale.
    #[inline(always)]
    fn schedule_expiry(&mut self, i: u32, old: u64, new: u64) {
        // An unchanged expiry (0 -> 0 on every write without a TTL) needs
        // nothing: keep that case free of a call.
        if old != new {
            self.reschedule_expiry(i, old, new);
        }
    }

    #[inline(never)]
    fn reschedule_expiry(&mut self, i: u32, old: u64, new: u64) {
        if new != 0 && (old == 0 || new < old) {
            let node = &self.nodes[i as usize];
            node.bump_tag();
            self.wheel.schedule(timer_id(i, node.tag()), new);
            if self.wheel.len() > 2 * self.expiring + WHEEL_SLACK {
                self.compact_wheel();
            }
        } else if new == 0 && old != 0 {
            // The TTL is gone: its record is stale from now on.
            self.nodes[i as usize].bump_tag();
        }
    }

    /// Drops the wheel's stale records (slots emptied, reused or given a new
    /// record since). Runs only when they outnumber the live ones, so its
    /// O(records) cost is amortised over the schedules that made them, and
    /// the wheel never holds more than `2 * expiring + WHEEL_SLACK` records
    /// after a schedule.
    fn compact_wheel(&mut self) {
        // Rebuild from the current records: exactly one per expiring entry,
        // due at its expiry. (Deduplicating by slot also clears records that
        // a wrapped 10-bit tag made look current again.)
        let mut ids = self.wheel.drain();
        ids.retain(|&id| matches!(current_record(&self.nodes, id), Some((_, at)) if at != 0));
        ids.sort_unstable_by_key(|&id| id as u32);
        ids.dedup_by_key(|id| *id as u32);
        for id in ids {
            let at = self.nodes[id as u32 as usize].expires_at();
            self.wheel.schedule(id, at);
        }
    }

    /// Sets a live entry's expiry, keeping its charge, the count of expiring
    /// entries and the wheel in step.
    fn change_expiry(&mut self, i: u32, at: u64) {
        let node = &self.nodes[i as usize];
        let old = node.expires_at();
        node.set_expires_at(at);
        match (old != 0, at != 0) {
            (false, true) => {
                self.expiring += 1;
                self.used += TIMER_CHARGE;
            }
            (true, false) => {
                self.expiring -= 1;
                self.used -= TIMER_CHARGE;
            }
            _ => {}
        }
        self.schedule_expiry(i, old, at);
    }

    /// Looks the value up and, if its decoded length `n` is at most `cap`,
    /// hands `fill` its stored form (encoding, stored bytes, `n`) and, if
    /// `WITH_VERSION`, its CAS version, under the shard lock, so a caller
    /// can copy it out without taking a reference on the block (the C API
    /// writes through a raw pointer this way). A value that does not fit
    /// gets no version: assigning one charges memory and may evict. (A
    /// const parameter, so plain reads carry no version code at all: as a
    /// runtime flag it cost the C API's hit path 15%.)
    #[inline]
    pub(crate) fn read_with<const WITH_VERSION: bool>(
        &mut self,
        hash: u64,
        key: &[u8],
        cap: usize,
        clock: &dyn Clock,
        fill: impl FnOnce(Encoding, &[u8], usize, u64) -> Result<()>,
    ) -> Result<ReadInto> {
        let Some(i) = self.lookup(hash, key, clock) else {
            self.counters.misses += 1;
            self.policy.on_miss(hash);
            self.count_locked_read();
            return Ok(ReadInto::Missing);
        };
        if self.nodes[i as usize].encoding() == Encoding::Collection {
            return Err(wrong_type());
        }
        self.counters.hits += 1;
        self.policy.on_hit(&self.nodes, i, hash);
        self.count_locked_read();
        let node = &self.nodes[i as usize];
        let n = codec::decoded_len(node.encoding(), node.block().value());
        if n > cap {
            return Ok(ReadInto::TooSmall(n));
        }
        let version = if WITH_VERSION { self.version_of(i, clock) } else { 0 };
        let node = &self.nodes[i as usize];
        fill(node.encoding(), node.block().value(), n, version)?;
        Ok(ReadInto::Copied(n))
    }

    /// A shared handle to the value (decompressed into a fresh block if it
    /// was stored compressed), plus its CAS version if `with_version`.
    #[inline]
    pub(crate) fn read_block(
        &mut self,
        hash: u64,
        key: &[u8],
        with_version: bool,
        clock: &dyn Clock,
    ) -> Result<Option<(Block, u64, u32)>> {
        let Some(i) = self.lookup(hash, key, clock) else {
            self.counters.misses += 1;
            self.policy.on_miss(hash);
            self.count_locked_read();
            return Ok(None);
        };
        if self.nodes[i as usize].encoding() == Encoding::Collection {
            return Err(wrong_type());
        }
        self.counters.hits += 1;
        self.policy.on_hit(&self.nodes, i, hash);
        self.count_locked_read();
        let version = if with_version { self.version_of(i, clock) } else { 0 };
        let node = &self.nodes[i as usize];
        let flags = if node.has(HAS_FLAGS) { self.flags.get(&i).copied().unwrap_or(0) } else { 0 };
        let block = match node.encoding() {
            Encoding::Raw | Encoding::Collection => node.block().share()?,
            enc => decoded_copy(enc, node.block().value())?,
        };
        Ok(Some((block, version, flags)))
    }

    /// The entry's CAS version, assigning one (and charging for it) on first use.
    fn version_of(&mut self, i: u32, clock: &dyn Clock) -> u64 {
        if self.nodes[i as usize].has(HAS_VERSION) {
            return self.versions[&i];
        }
        let v = self.next_version;
        self.next_version += 1;
        self.versions.insert(i, v);
        let node = &self.nodes[i as usize];
        node.set_word(node.word() | HAS_VERSION);
        self.used += VERSION_CHARGE;
        self.make_room(0, false, i, clock);
        v
    }

    /// Stores a prepared value under the condition; returns the error the
    /// condition dictates (`Exists`, `NotFound`, `CasMismatch`) or `TooLarge`.
    pub(crate) fn store(
        &mut self,
        hash: u64,
        value: Prepared,
        expiry: ExpiryUpdate,
        flags: u32,
        cond: Condition,
        clock: &dyn Clock,
    ) -> Result<()> {
        let charge = self.charge_for(&value.block, flags, matches!(expiry, ExpiryUpdate::At(at) if at != 0));
        if charge > self.budget {
            return Err(Error::with_message(
                ErrorKind::TooLarge,
                format!("entry of {charge} bytes exceeds the shard budget of {} bytes", self.budget),
            ));
        }
        let existing = self.lookup(hash, value.block.key(), clock);
        match (cond, existing) {
            (Condition::Absent, Some(_)) => return Err(Error::new(ErrorKind::Exists, "key already exists")),
            (Condition::Present, None) | (Condition::Version(_), None) => {
                return Err(Error::new(ErrorKind::NotFound, "key not found"));
            }
            (Condition::Version(_), Some(i)) if self.nodes[i as usize].encoding() == Encoding::Collection => {
                // As `gets` says of this key: it holds another type.
                return Err(wrong_type());
            }
            (Condition::Version(v), Some(i)) => {
                // An entry without a version was written since any `gets`
                // (or never read with one): no version the caller holds can
                // match it, 0 included.
                let current = if self.nodes[i as usize].has(HAS_VERSION) { self.versions.get(&i) } else { None };
                if current != Some(&v) {
                    return Err(Error::new(ErrorKind::CasMismatch, "the entry changed since its version was read"));
                }
            }
            _ => {}
        }
        if let ExpiryUpdate::At(at) = expiry
            && at != 0
            && at <= clock.now_ms()
        {
            // Already expired (a zero TTL): the write succeeds and leaves no
            // value, as if it expired at once; nothing is evicted for it.
            match existing {
                Some(i) => self.remove_hashed(i, Removal::ExpiredLazy, hash),
                None => {
                    self.counters.expired_lazy += 1;
                    // As `remove` records for an existing key.
                    self.events.record(KeyEvent::Expired, value.block.key());
                }
            }
            self.counters.sets += 1;
            return Ok(());
        }
        let saved = match value.encoding {
            Encoding::Raw => 0,
            _ => (value.raw_len - value.block.value().len()) as u64,
        };
        match existing {
            Some(i) => {
                // Overwrite in place: the slot (and so a scan cursor's view of
                // the key) stays; the old block is released, or kept alive by
                // any Value handle that still shares it.
                let old_expiry = self.nodes[i as usize].expires_at();
                let new_expiry = match expiry {
                    ExpiryUpdate::At(at) => at,
                    ExpiryUpdate::Keep => old_expiry,
                };
                self.remove_payload(i);
                self.policy.on_write(&self.nodes, i, hash);
                let charge = self.charge_for(&value.block, flags, new_expiry != 0);
                self.make_room(charge, false, i, clock);
                self.install(i, value, flags, new_expiry, Some(charge));
                self.schedule_expiry(i, old_expiry, new_expiry);
                self.events.record(KeyEvent::Set, self.nodes[i as usize].block().key());
            }
            None => {
                let at = match expiry {
                    ExpiryUpdate::At(at) => at,
                    ExpiryUpdate::Keep => 0,
                };
                self.reserve_one()?;
                self.make_room(charge, true, NIL, clock);
                let i = self.alloc_slot();
                self.install(i, value, flags, at, Some(charge));
                self.shared.index.insert(&mut self.counts, hash, i, rehash(&self.hasher, &self.nodes));
                let hasher = &self.hasher;
                self.policy.on_insert(&self.nodes, i, hash, &|n: &Node| {
                    use std::hash::BuildHasher;
                    hasher.hash_one(n.block().key())
                });
                self.len += 1;
                self.schedule_expiry(i, 0, at);
                self.events.record(KeyEvent::Set, self.nodes[i as usize].block().key());
            }
        }
        self.counters.compressed_bytes_saved += saved;
        self.counters.sets += 1;
        Ok(())
    }

    /// Releases an entry's charge and side-table state and clears its word
    /// but the timer tag, keeping its block, slot, links and table position:
    /// an overwrite (which installs a new block) or `remove` follows.
    fn remove_payload(&mut self, i: u32) {
        self.used -= self.charge_of(i);
        let node = &self.nodes[i as usize];
        if node.encoding() == Encoding::Lz4 {
            let saved = codec::decoded_len(Encoding::Lz4, node.block().value()) - node.block().value().len();
            self.counters.compressed_bytes_saved -= saved as u64;
        }
        if node.has(HAS_VERSION) {
            self.versions.remove(&i);
        }
        if node.has(HAS_FLAGS) {
            self.flags.remove(&i);
        }
        if node.encoding() == Encoding::Collection {
            self.collections.remove(&i);
        }
        if node.expires_at() != 0 {
            self.expiring -= 1;
        }
        // The tag stays: the slot's wheel record remains current for the
        // overwrite (see `schedule_expiry`). So do the policy bits: the
        // entry keeps its place in the policy's lists. The expiry stays too
        // while the block does: a lock-free reader must never see the old
        // block with "no expiry" (`install` or `remove_hashed` rewrite it).
        node.set_word(node.word() & (TAG_MASK | POLICY_MASK | EXPIRY_MASK));
    }

    /// Fills slot `i` (empty, or emptied by `remove_payload`) and charges it
    /// `charge` when the caller computed it already (`charge_for` with the
    /// same block, flags and expiry: a plain value's whole charge), else
    /// what `charge_of` finds.
    fn install(&mut self, i: u32, value: Prepared, flags: u32, expires_at: u64, charge: Option<u64>) {
        let mut block = value.block;
        block.set_encoding(value.encoding);
        let node = &self.nodes[i as usize];
        let mut word = node.word() & (TAG_MASK | POLICY_MASK);
        if flags != 0 {
            word |= HAS_FLAGS;
            self.flags.insert(i, flags);
        }
        // One store with the new expiry: while the old block is still in
        // the node, a lock-free reader must never see it with "no expiry"
        // (review: two stores left that window open).
        node.set_word(word | expires_at.min(MAX_EXPIRY));
        if expires_at != 0 {
            self.expiring += 1;
        }
        if let Some(old) = self.nodes.set_block(i, Some(block)) {
            self.retire(old);
        }
        let charge = match charge {
            Some(c) => {
                debug_assert_eq!(c, self.charge_of(i));
                c
            }
            None => self.charge_of(i),
        };
        self.used += charge;
    }

    /// Removes the key; true if it was there.
    pub(crate) fn delete(&mut self, hash: u64, key: &[u8], clock: &dyn Clock) -> bool {
        match self.lookup(hash, key, clock) {
            Some(i) => {
                self.remove_hashed(i, Removal::Deleted, hash);
                true
            }
            None => false,
        }
    }

    /// True if the key is live. Does not count as an access.
    pub(crate) fn exists(&mut self, hash: u64, key: &[u8], clock: &dyn Clock) -> bool {
        self.lookup(hash, key, clock).is_some()
    }

    /// Marks the key as just used (Redis TOUCH); true if it exists.
    pub(crate) fn touch(&mut self, hash: u64, key: &[u8], clock: &dyn Clock) -> bool {
        match self.lookup(hash, key, clock) {
            Some(i) => {
                self.policy.on_write(&self.nodes, i, hash);
                true
            }
            None => false,
        }
    }

    /// Sets the key's absolute expiry (0 = never). An expiry not later than
    /// now removes the key at once. Returns false if the key is absent.
    pub(crate) fn set_expiry(&mut self, hash: u64, key: &[u8], at: u64, clock: &dyn Clock) -> bool {
        let Some(i) = self.lookup(hash, key, clock) else { return false };
        if at != 0 && at <= clock.now_ms() {
            self.remove(i, Removal::ExpiredLazy);
            return true;
        }
        self.change_expiry(i, at);
        // A TTL added to an entry charges its timer record: make room in
        // the policy's order (which may pick this very entry).
        self.make_room(0, false, NIL, clock);
        true
    }

    /// `None`: absent; `Some(0)`: no expiry; `Some(at)`: absolute expiry.
    pub(crate) fn expiry(&mut self, hash: u64, key: &[u8], clock: &dyn Clock) -> Option<u64> {
        let i = self.lookup(hash, key, clock)?;
        Some(self.nodes[i as usize].expires_at())
    }

    /// Adds `delta` to the decimal integer stored at the key (Redis INCRBY):
    /// a missing key counts as 0; the entry's TTL and flags are kept.
    pub(crate) fn incr(
        &mut self,
        hash: u64,
        key: &[u8],
        delta: i64,
        max_value_len: u64,
        clock: &dyn Clock,
    ) -> Result<i64> {
        let not_a_number = || Error::new(ErrorKind::NotANumber, "value is not an integer or out of range");
        let (current, flags) = match self.lookup(hash, key, clock) {
            None => (0, 0),
            Some(i) => {
                let node = &self.nodes[i as usize];
                if node.encoding() == Encoding::Collection {
                    return Err(wrong_type());
                }
                // A decimal i64 is at most 20 bytes; a longer value (or one
                // that decodes longer) cannot be one.
                let stored = node.block().value();
                let len = codec::decoded_len(node.encoding(), stored);
                if len > 20 {
                    return Err(not_a_number());
                }
                let mut text = [0u8; 20];
                codec::decode_into(node.encoding(), stored, &mut text[..len])?;
                let n = crate::decimal::parse_i64(&text[..len]).ok_or_else(not_a_number)?;
                let flags = if node.has(HAS_FLAGS) { self.flags[&i] } else { 0 };
                (n, flags)
            }
        };
        let next = crate::decimal::checked_incr(current, delta)
            .ok_or_else(|| Error::new(ErrorKind::Overflow, "increment or decrement would overflow"))?;
        let mut digits = [0u8; 20];
        let text = crate::decimal::format_i64(next, &mut digits);
        if text.len() as u64 > max_value_len {
            return Err(Error::new(ErrorKind::TooLarge, "the result exceeds max_value_size"));
        }
        let block = Block::new(key, text)?;
        let raw_len = text.len();
        self.store(
            hash,
            Prepared { block, encoding: Encoding::Raw, raw_len },
            ExpiryUpdate::Keep,
            flags,
            Condition::Always,
            clock,
        )?;
        Ok(next)
    }

    /// Runs a collection command `f` on the collection of type `T` at the
    /// key, under this shard's lock.
    ///
    /// - An absent key: `Read` counts a miss and `Write` does nothing (both
    ///   return `None`); `Create` runs `f` on a new, empty collection and
    ///   stores it unless it is still empty.
    /// - A key holding a string or another type: `WrongType`, nothing
    ///   changes.
    /// - After a write the entry is charged anew from the collection's
    ///   size; a collection left empty is removed with its key (Redis); the
    ///   policy then evicts other entries if the shard is over budget.
    ///
    /// A write that would make the entry alone larger than the shard's
    /// budget is undone and fails with `TooLarge`: when the entry's charge,
    /// doubled (tripled while under `SNAPSHOT_SLACK`), plus `growth` (a
    /// bound on the bytes the command adds) comes within `SNAPSHOT_SLACK` of
    /// the budget, the collection is copied first and the copy put back.
    /// (Doubled: a full structure can double its tables while growing;
    /// tripled: a small compact one grows a few times when it converts.)
    /// Commands with `growth` 0 only shrink a collection and are never
    /// copied.
    pub(crate) fn collection<T: Typed, R>(
        &mut self,
        hash: u64,
        key: &[u8],
        access: Access,
        growth: u64,
        clock: &dyn Clock,
        f: impl FnOnce(&mut T) -> Result<R>,
    ) -> Result<Option<R>> {
        let Some(i) = self.lookup(hash, key, clock) else {
            match access {
                Access::Read => {
                    self.counters.misses += 1;
                    self.policy.on_miss(hash);
                    return Ok(None);
                }
                Access::Write => return Ok(None),
                Access::Create => {}
            }
            let mut fresh = Collection::new(T::KIND);
            let r = f(T::from_mut(&mut fresh).expect("fresh collection of the right type"))?;
            if fresh.len() > 0 {
                self.insert_collection(hash, key, fresh, clock)?;
                self.counters.sets += 1;
            }
            return Ok(Some(r));
        };
        if self.nodes[i as usize].encoding() != Encoding::Collection {
            return Err(wrong_type());
        }
        let coll = self.collections.get_mut(&i).expect("collection entry has its collection");
        if coll.kind() != T::KIND {
            return Err(wrong_type());
        }
        if let Access::Read = access {
            let r = f(T::from_mut(coll).expect("kind checked"))?;
            self.counters.hits += 1;
            self.policy.on_hit(&self.nodes, i, hash);
            return Ok(Some(r));
        }
        let old = self.charge_of(i);
        // A command that adds nothing (pops, removals, trims: `growth` 0)
        // cannot grow the charge, so it never needs the copy; that keeps a
        // queue consumer's LPOP O(1) on a collection near the budget.
        let worst = if old < SNAPSHOT_SLACK { old.saturating_mul(3) } else { old.saturating_mul(2) };
        let risky = growth > 0 && worst.saturating_add(growth).saturating_add(SNAPSHOT_SLACK) > self.budget;
        let coll = self.collections.get_mut(&i).expect("collection entry has its collection");
        let snapshot = if risky { Some(coll.clone()) } else { None };
        let r = f(T::from_mut(coll).expect("kind checked"));
        let now_empty = coll.len() == 0;
        let new = self.charge_of(i);
        self.used = self.used - old + new;
        if now_empty {
            self.remove(i, Removal::Deleted);
            return r.map(Some);
        }
        if new > self.budget {
            let message = format!("the collection would take {new} bytes, over the shard budget of {} bytes", self.budget);
            match snapshot {
                Some(copy) => {
                    self.used -= new;
                    **self.collections.get_mut(&i).expect("still there") = *copy;
                    self.used += self.charge_of(i);
                }
                // Unreachable by the snapshot rule; if it ever is reached,
                // the over-budget key goes rather than the budget.
                None => self.remove(i, Removal::Deleted),
            }
            return Err(Error::with_message(ErrorKind::TooLarge, message));
        }
        self.policy.on_write(&self.nodes, i, hash);
        self.make_room(0, false, i, clock);
        if r.is_ok() {
            self.counters.sets += 1;
        }
        r.map(Some)
    }

    /// Stores a new, non-empty collection under `key` (absent).
    fn insert_collection(&mut self, hash: u64, key: &[u8], coll: Collection, clock: &dyn Clock) -> Result<()> {
        let block = Block::new(key, b"")?;
        let charge = size_class(block.alloc_len()) as u64 + NODE_CHARGE + self.policy_charge + COLLECTION_CHARGE + coll.charge();
        if charge > self.budget {
            return Err(Error::with_message(
                ErrorKind::TooLarge,
                format!("a collection of {charge} bytes exceeds the shard budget of {} bytes", self.budget),
            ));
        }
        self.reserve_one()?;
        self.collections.try_reserve(1).map_err(|_| oom())?;
        self.make_room(charge, true, NIL, clock);
        let i = self.alloc_slot();
        self.collections.insert(i, Box::new(coll));
        self.install(i, Prepared { block, encoding: Encoding::Collection, raw_len: 0 }, 0, 0, None);
        self.shared.index.insert(&mut self.counts, hash, i, rehash(&self.hasher, &self.nodes));
        let hasher = &self.hasher;
        self.policy.on_insert(&self.nodes, i, hash, &|n: &Node| {
            use std::hash::BuildHasher;
            hasher.hash_one(n.block().key())
        });
        self.len += 1;
        Ok(())
    }

    /// Visits up to `count` slots from `slot`, appending the live keys that
    /// match `pattern`. Returns the next slot to visit, or `None` when the
    /// shard is done. A key keeps its slot for as long as it exists
    /// (overwrites reuse the slot), so every key present for a whole scan is
    /// returned at least once, whatever other threads write meanwhile.
    pub(crate) fn scan(
        &mut self,
        slot: u64,
        count: usize,
        pattern: Option<&[u8]>,
        out: &mut Vec<Vec<u8>>,
        clock: &dyn Clock,
    ) -> Option<u64> {
        let start = slot as usize;
        let end = start.saturating_add(count).min(self.slab_len);
        for i in start..end {
            let node = &self.nodes[i];
            let Some(block) = node.block_opt() else { continue };
            if node.is_expired(clock) {
                continue;
            }
            let key = block.key();
            if pattern.is_none_or(|p| crate::glob::glob_match(p, key)) {
                out.push(key.to_vec());
            }
        }
        (end < self.slab_len).then_some(end as u64)
    }

    /// Removes every entry and releases the memory of the shard's tables.
    pub(crate) fn flush(&mut self) {
        for i in 0..self.slab_len as u32 {
            if let Some(old) = self.nodes.set_block(i, None) {
                self.retired.push(old);
            }
        }
        self.shared.index.clear(&mut self.counts);
        self.nodes.reset(&self.shared.nodes);
        self.slab_len = 0;
        self.flush_retired();
        super::reclaim::collect();
        self.free = NIL;
        self.len = 0;
        self.used = 0;
        self.expiring = 0;
        self.policy.clear();
        self.shared.publish_policy(&self.policy);
        self.wheel.clear();
        self.versions = HashMap::with_hasher(Default::default());
        self.flags = HashMap::with_hasher(Default::default());
        self.collections = HashMap::with_hasher(Default::default());
        self.counters.compressed_bytes_saved = 0;
    }

    /// Active expiry: advances the timer wheel to now and removes the
    /// entries that have expired. Returns how many it removed.
    pub(crate) fn expire_due(&mut self, clock: &dyn Clock) -> usize {
        let now = clock.now_ms();
        let mut due = Vec::new();
        let nodes = &self.nodes;
        self.wheel.advance(now, |id| match current_record(nodes, id) {
            // Stale: the entry left, or got a newer record.
            None => Fired::Drop,
            Some((_, 0)) => Fired::Drop,
            Some((i, at)) if at <= now => {
                due.push(i);
                Fired::Drop
            }
            Some((_, at)) => Fired::Reschedule(at),
        });
        let mut removed = 0;
        for i in due {
            let node = &self.nodes[i as usize];
            if node.is_live() && node.expires_at() != 0 && node.expires_at() <= now {
                self.remove(i, Removal::ExpiredActive);
                removed += 1;
            }
        }
        // Maintenance also hands over what removals left waiting, so a quiet
        // shard does not keep dead blocks until its 64th removal.
        self.flush_retired();
        removed
    }

    /// Checks the shard's invariants (tests only): links, counts, charges.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let mut live = 0u64;
        let mut charged = 0u64;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.is_live() {
                assert!(i < self.slab_len);
                live += 1;
                charged += self.charge_of(i as u32);
                let h = self.hash_key(n.block().key());
                assert_eq!(self.shared.index.find_locked(&self.counts, h, |j| j == i as u32), Some(i as u32));
            }
        }
        assert_eq!(live, self.len);
        let collections = self.nodes.iter().filter(|n| n.is_live() && n.encoding() == Encoding::Collection).count();
        assert_eq!(collections, self.collections.len());
        assert!(self.collections.values().all(|c| c.len() > 0), "no empty collection is stored");
        let expiring = self.nodes.iter().filter(|n| n.is_live() && n.expires_at() != 0).count();
        assert_eq!(expiring, self.expiring);
        // Every expiring entry has its current record in the wheel, and
        // stale records stay bounded.
        assert!(self.wheel.len() <= 2 * self.expiring + WHEEL_SLACK + 1, "wheel {} for {}", self.wheel.len(), self.expiring);
        assert_eq!(self.counts.len() as u64, self.len);
        assert_eq!(charged, self.used);
        assert!(self.used <= self.budget, "used {} > budget {}", self.used, self.budget);
        // The policy's lists hold exactly the live nodes (each live node is
        // in one list, so a count equal to `len` over live nodes is exact).
        assert_eq!(self.policy.check(&self.nodes), self.len);
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        // The cache is going away: no reader can reach these blocks any
        // more, so they are released directly.
        for i in 0..self.slab_len as u32 {
            drop(self.nodes.set_block(i, None));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expiry::ManualClock;

    fn prepared(key: &[u8], len: usize) -> Prepared {
        Prepared { block: Block::new(key, &vec![b'x'; len]).unwrap(), encoding: Encoding::Raw, raw_len: len }
    }

    fn hash(s: &Shard, key: &[u8]) -> u64 {
        s.hash_key(key)
    }

    /// Churn of expiring entries through reused slots must not pile up
    /// timer records (each removal leaves a stale one behind).
    #[test]
    fn wheel_records_stay_bounded_under_churn() {
        let clock = ManualClock::new(1);
        let mut s = Shard::new(random_key_hasher(), 1 << 20, Some(100), PolicyKind::Lru, 1, 0, Arc::new(QuietHits::new(1)), 1, EventLog::off());
        for round in 0..50_000u64 {
            let key = format!("k{}", round % 300);
            let h = hash(&s, key.as_bytes());
            s.delete(h, key.as_bytes(), &clock);
            let at = clock.now_ms() + 60_000;
            s.store(h, prepared(key.as_bytes(), 10), ExpiryUpdate::At(at), 0, Condition::Always, &clock).unwrap();
            if round % 7 == 0 {
                // Shorten a TTL (a new record) and lengthen it (none).
                s.set_expiry(h, key.as_bytes(), at - 1_000, &clock);
                s.set_expiry(h, key.as_bytes(), at + 1_000, &clock);
            }
            clock.advance(1);
            assert!(s.wheel_len() <= 2 * 100 + WHEEL_SLACK, "round {round}: {} records", s.wheel_len());
        }
        s.check_invariants();
        // Every entry still expires on time through its one current record.
        clock.advance(61_001);
        assert_eq!(s.expire_due(&clock), 100);
        assert_eq!(s.len(), 0);
    }

    /// TTLs dropped (persist, overwrite without TTL) and tags wrapped by
    /// many removals must not leave records that survive compaction.
    #[test]
    fn wheel_stays_bounded_when_ttls_are_dropped_or_tags_wrap() {
        let clock = ManualClock::new(1);
        let mut s = Shard::new(random_key_hasher(), 1 << 24, None, PolicyKind::Lru, 1, 0, Arc::new(QuietHits::new(1)), 1, EventLog::off());
        let day = 86_400_000;
        for round in 0..3000u32 {
            let key = format!("p{round}");
            let h = hash(&s, key.as_bytes());
            let at = clock.now_ms() + day;
            s.store(h, prepared(key.as_bytes(), 4), ExpiryUpdate::At(at), 0, Condition::Always, &clock).unwrap();
            if round % 2 == 0 {
                s.set_expiry(h, key.as_bytes(), 0, &clock);
            } else {
                s.store(h, prepared(key.as_bytes(), 4), ExpiryUpdate::At(0), 0, Condition::Always, &clock).unwrap();
            }
        }
        s.check_invariants();
        assert!(s.wheel_len() <= WHEEL_SLACK + 1, "{} records for no expiring entry", s.wheel_len());
        // One slot whose tag wraps every round: 1023 removals plus the
        // schedule's own bump make 1024 bumps of a 10-bit tag.
        let h = hash(&s, b"w");
        for _ in 0..300 {
            for _ in 0..1022 {
                s.delete(h, b"w", &clock);
                s.store(h, prepared(b"w", 4), ExpiryUpdate::At(0), 0, Condition::Always, &clock).unwrap();
            }
            s.delete(h, b"w", &clock);
            let at = clock.now_ms() + day;
            s.store(h, prepared(b"w", 4), ExpiryUpdate::At(at), 0, Condition::Always, &clock).unwrap();
        }
        s.compact_wheel();
        assert_eq!(s.wheel_len(), 1, "exactly the one expiring entry's record");
        clock.advance(day);
        assert_eq!(s.expire_due(&clock), 1);
    }

    #[test]
    fn every_cache_gets_its_own_hash_seed() {
        use std::hash::BuildHasher;
        let (a, b) = (random_key_hasher(), random_key_hasher());
        let same = (0..64u32).filter(|i| a.hash_one(i.to_le_bytes()) == b.hash_one(i.to_le_bytes())).count();
        assert_eq!(same, 0, "two caches must not share a hash function");
    }

    /// Random operations keep every invariant, under every policy: table
    /// and slab agree, the policy's lists hold exactly the live entries,
    /// charges add up to `used`, `used` never exceeds the budget, and the
    /// count never exceeds `max_entries`. Values of 0..400 bytes in an
    /// 8 KiB budget make the byte budget bind as often as the count.
    #[test]
    fn invariants_hold_under_random_operations() {
        for policy in [PolicyKind::Lru, PolicyKind::TinyLfu, PolicyKind::S3Fifo, PolicyKind::Adaptive] {
            random_operations(policy);
        }
    }

    fn random_operations(policy: PolicyKind) {
        let clock = ManualClock::new(1);
        let mut s = Shard::new(random_key_hasher(), 8 * 1024, Some(40), policy, 1, 0, Arc::new(QuietHits::new(1)), 1, EventLog::off());
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for step in 0..20_000 {
            let key = format!("k{}", rnd(64));
            let h = hash(&s, key.as_bytes());
            match rnd(10) {
                0..=3 => {
                    let ttl = if rnd(3) == 0 { clock.now_ms() + 1 + rnd(50) } else { 0 };
                    let flags = if rnd(5) == 0 { 9 } else { 0 };
                    let _ = s.store(h, prepared(key.as_bytes(), rnd(400) as usize), ExpiryUpdate::At(ttl), flags, Condition::Always, &clock);
                }
                4 => {
                    s.delete(h, key.as_bytes(), &clock);
                }
                5 => {
                    let _ = s.read_block(h, key.as_bytes(), true, &clock);
                }
                6 => {
                    let at = if rnd(2) == 0 { 0 } else { clock.now_ms() + rnd(100) };
                    s.set_expiry(h, key.as_bytes(), at, &clock);
                }
                7 => {
                    let _ = s.incr(h, key.as_bytes(), 1, 1 << 20, &clock);
                }
                8 => {
                    clock.advance(rnd(20));
                }
                _ => {
                    s.expire_due(&clock);
                }
            }
            s.check_invariants();
            assert!(s.len() <= 40, "{policy} step {step}");
        }
        // Stale wheel records stay bounded by what was scheduled and are
        // all drained once time passes every expiry.
        clock.advance(1_000);
        s.expire_due(&clock);
        clock.advance(1_000);
        s.expire_due(&clock);
        assert_eq!(s.wheel_len(), 0);
        s.flush();
        s.check_invariants();
        assert_eq!(s.used(), 0);
    }
}
