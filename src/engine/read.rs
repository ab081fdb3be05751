//! Reads without a lock: the part of a shard that readers reach directly,
//! and the read path that uses it (copies out, `read_quiet`, and value
//! handles, `share_quiet`).
//!
//! A hit that copies the value out writes no cache line another core reads,
//! the hottest key's included: it pins the epoch (a write to this thread's
//! own record), probes the index, confirms the key on the block, checks the
//! node's word (expiry, policy bits), copies the value out and bumps this
//! thread's own hit counter. Nothing else: no lock word, no shared counter,
//! no policy state. (A value handle also increments the block's count, one
//! write to the hot block's line.) That is possible for the hits that change
//! no policy state (the "quiet" ones: an entry whose access counter is
//! already saturated, with the adaptive policy's other conditions) and whose
//! key the LRU guard does not sample; every other read (misses, expired
//! entries, the first hits of an entry in a CLOCK round, sampled keys, `lru`
//! and `tinylfu`, which record every hit) takes the shard's lock as before.
//! The policy learns of quiet hits in bulk, from the per-thread counters
//! (`QuietHits`), when its hill climber counts reads.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use std::mem::ManuallyDrop;

use crossbeam_epoch::{self as epoch, Guard};

use super::block::Block;
use super::index::Index;
use super::shard::{EXPIRY_MASK, ReadInto, policy_bits};
use super::slab::SharedNodes;
use crate::codec::{self, Encoding};
use crate::error::Result;
use crate::expiry::Clock;
use crate::policy::Policy;
use crate::types::wrong_type;

/// What lock-free readers of one shard see. Aligned to 128 bytes so that
/// no other allocation written often shares its lines.
#[repr(align(128))]
pub(crate) struct ShardShared {
    pub(crate) index: Index,
    pub(crate) nodes: SharedNodes,
    /// Bit `b` set: a read hit on an entry whose policy bits are `b`
    /// changes no policy state. 0: every hit takes the lock.
    quiet: AtomicU32,
    /// Reads of keys whose hash has its top 16 bits below this feed the
    /// policy's LRU guard, so they take the lock.
    sampled_below: AtomicU64,
}

impl ShardShared {
    pub(crate) fn new() -> ShardShared {
        ShardShared {
            index: Index::new(),
            nodes: SharedNodes::new(),
            quiet: AtomicU32::new(0),
            sampled_below: AtomicU64::new(u64::MAX),
        }
    }

    /// Copies what readers need to know of the policy (its quiet hits,
    /// its guard's sample). Stores only on a change: the writer calls it
    /// after every eviction round.
    #[inline]
    pub(crate) fn publish_policy(&self, policy: &Policy) {
        let quiet = u32::from(policy.quiet_hits());
        if self.quiet.load(Ordering::Relaxed) != quiet {
            self.quiet.store(quiet, Ordering::Relaxed);
        }
        let below = policy.sampled_below();
        if self.sampled_below.load(Ordering::Relaxed) != below {
            self.sampled_below.store(below, Ordering::Relaxed);
        }
    }

    /// The entry's block if a read of `key` now is a quiet hit: found,
    /// key confirmed, still in its node, not expired, policy bits quiet and
    /// the key not sampled by the LRU guard. `None`: take the lock (a miss
    /// included). The block is valid while `guard` is pinned.
    #[inline]
    fn quiet_hit(
        &self,
        guard: &Guard,
        hash: u64,
        key: &[u8],
        clock: &dyn Clock,
    ) -> Option<ManuallyDrop<Block>> {
        let quiet = self.quiet.load(Ordering::Relaxed);
        if quiet == 0 || (hash >> 48) < self.sampled_below.load(Ordering::Relaxed) {
            return None;
        }
        let mut found = None;
        self.index.find(guard, hash, |i| {
            let Some(node) = self.nodes.get(guard, i) else {
                return false;
            };
            match node.block_pinned(guard) {
                Some(b) if b.key_is(key) => {
                    found = Some((node, b));
                    true
                }
                _ => false,
            }
        });
        let (node, block) = found?;
        // The word must be this block's: the writer takes a block out before
        // it rewrites the word, and puts a new one in after, so if the node
        // still holds our block once we have the word (`Acquire`, pairing
        // with the writer's `Release`), the word is the block's own or that
        // of its replacement being installed, whose expiry and policy bits
        // are as valid for a read racing the overwrite.
        let word = node.word_acquire();
        if !node.holds(&block) || quiet >> policy_bits(word) & 1 == 0 {
            return None;
        }
        let at = word & EXPIRY_MASK;
        if at != 0 && at <= clock.now_ms() {
            return None;
        }
        Some(block)
    }

    /// A quiet hit, served without the lock: hands `fill` the stored form
    /// (encoding, stored bytes, decoded length, version 0) as
    /// `Shard::read_with` does. `Err(fill)`: not a quiet hit (a miss
    /// included), take the lock.
    #[inline]
    pub(crate) fn read_quiet<F>(
        &self,
        hash: u64,
        key: &[u8],
        cap: usize,
        clock: &dyn Clock,
        fill: F,
    ) -> std::result::Result<Result<ReadInto>, F>
    where
        F: FnOnce(Encoding, &[u8], usize, u64) -> Result<()>,
    {
        let guard = epoch::pin();
        let Some(block) = self.quiet_hit(&guard, hash, key, clock) else {
            return Err(fill);
        };
        let enc = block.encoding();
        if enc == Encoding::Collection {
            return Ok(Err(wrong_type()));
        }
        let n = codec::decoded_len(enc, block.value());
        if n > cap {
            return Ok(Ok(ReadInto::TooSmall(n)));
        }
        Ok(fill(enc, block.value(), n, 0).map(|()| ReadInto::Copied(n)))
    }

    /// A quiet hit's block, shared for a value handle (`Cache::get`): one
    /// atomic increment of its count, which is sound without the lock
    /// because a block reachable under the guard still holds a count (its
    /// node's, or the retired batch's until the grace period ends). `None`:
    /// take the lock (not a quiet hit, or a compressed value, which the
    /// locked path decodes into a fresh block).
    #[inline]
    pub(crate) fn share_quiet(&self, hash: u64, key: &[u8], clock: &dyn Clock) -> Option<Result<Block>> {
        let guard = epoch::pin();
        let block = self.quiet_hit(&guard, hash, key, clock)?;
        match block.encoding() {
            Encoding::Raw => Some(block.share()),
            Encoding::Collection => Some(Err(wrong_type())),
            Encoding::Lz4 => None,
        }
    }
}

/// Stripes of per-thread counters: a thread counts its quiet hits in its
/// own stripe, so counting writes no line another core writes (up to
/// `STRIPES` threads; more share stripes, atomically).
const STRIPES: usize = 32;

/// Quiet hits per shard, striped by thread. Layout `[stripe][shard]`,
/// each stripe starting on its own 128-byte boundary (two lines: the
/// adjacent-line prefetcher pairs them), so two threads' stripes never
/// share a line.
pub(crate) struct QuietHits {
    /// Lines per stripe.
    stride: usize,
    lines: Box<[Line]>,
}

/// 16 counters on one aligned 128-byte pair of lines.
#[repr(align(128))]
#[derive(Default)]
struct Line([AtomicU64; 16]);

fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|s| *s)
}

impl QuietHits {
    pub(crate) fn new(shards: usize) -> QuietHits {
        let stride = shards.div_ceil(16);
        QuietHits {
            stride,
            lines: (0..stride * STRIPES).map(|_| Line::default()).collect(),
        }
    }

    #[inline]
    fn cell(&self, stripe: usize, shard: usize) -> &AtomicU64 {
        &self.lines[stripe * self.stride + shard / 16].0[shard % 16]
    }

    /// Counts one quiet hit on `shard` for this thread.
    #[inline]
    pub(crate) fn add(&self, shard: usize) {
        // Atomic because threads beyond `STRIPES` share stripes; the line
        // is this thread's alone otherwise, so the add never waits.
        self.cell(stripe(), shard).fetch_add(1, Ordering::Relaxed);
    }

    /// Quiet hits on `shard` so far.
    pub(crate) fn total(&self, shard: usize) -> u64 {
        (0..STRIPES)
            .map(|s| self.cell(s, shard).load(Ordering::Relaxed))
            .sum()
    }

    /// Quiet hits on every shard so far.
    pub(crate) fn sum(&self) -> u64 {
        self.lines
            .iter()
            .flat_map(|l| l.0.iter())
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}
