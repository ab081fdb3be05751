//! Eviction policies. Each one orders a shard's entries through intrusive
//! lists over slab indices (u32 links stored in the entries themselves, no
//! allocation per node) and names the next victim.
//!
//! Every policy answers the same events: insert, hit, miss, remove, and
//! one question, `victim`. Besides its links, a policy may keep 4 bits in
//! each entry ([`PolicyNode::policy_bits`]): a 2-bit access counter and a
//! 2-bit segment id. The non-LRU policies move no list link on a hit: they
//! set those bits, and the sketch policies count the key in their sketch
//! (the adaptive one also feeds its climber and, on sampled keys or in
//! shards of at most 1024 entries, its LRU guard). List work waits until
//! `victim`, which runs on the write path when room is needed.

pub(crate) mod climber;
pub(crate) mod ghost;
pub(crate) mod guard;
pub(crate) mod list;
pub(crate) mod lru;
pub(crate) mod s3fifo;
pub(crate) mod sketch;
pub(crate) mod tinylfu;
#[cfg(test)]
mod tests;

use crate::config::PolicyKind;
use list::{Linked, Slab};
#[cfg(test)]
use list::NIL;

/// A slab node a policy can order: its list links and 4 policy bits.
pub(crate) trait PolicyNode: Linked {
    /// The 4 policy bits (low nibble).
    fn policy_bits(&self) -> u8;
    /// Replaces the 4 policy bits with the low nibble of `bits`.
    fn set_policy_bits(&self, bits: u8);
}

/// The entry's 2-bit access counter.
#[inline]
pub(crate) fn freq<N: PolicyNode>(n: &N) -> u8 {
    n.policy_bits() & 3
}

/// Sets the entry's 2-bit access counter.
#[inline]
pub(crate) fn set_freq<N: PolicyNode>(n: &N, f: u8) {
    n.set_policy_bits((n.policy_bits() & !3) | (f & 3));
}

/// The entry's 2-bit segment id (which list it is in).
#[inline]
pub(crate) fn seg<N: PolicyNode>(n: &N) -> u8 {
    (n.policy_bits() >> 2) & 3
}

/// Sets the entry's 2-bit segment id.
#[inline]
pub(crate) fn set_seg<N: PolicyNode>(n: &N, s: u8) {
    n.set_policy_bits((n.policy_bits() & 3) | ((s & 3) << 2));
}

/// Walks a list both ways, checking every node carries segment `s` (in
/// the bits of `mask`); returns its length (tests only).
#[cfg(test)]
pub(crate) fn check_list<N: PolicyNode>(l: &list::List, nodes: &(impl Slab<N> + ?Sized), s: u8, mask: u8) -> u64 {
    let mut n = 0u64;
    let mut i = l.tail();
    let mut last = NIL;
    while i != NIL {
        assert_eq!(seg(&nodes[i as usize]) & mask, s, "node {i} in list {s} is marked {}", seg(&nodes[i as usize]));
        assert_eq!(nodes[i as usize].next(), last, "broken link at {i}");
        n += 1;
        last = i;
        i = nodes[i as usize].prev();
    }
    assert_eq!(last, l.head_index(), "head");
    n
}

/// Bytes a frequency sketch costs per cached entry: it is sized to the next
/// power of two of the peak entry count in 8-byte words plus a quarter of
/// that for the doorkeeper, so 10 to 20 B per entry.
pub(crate) const SKETCH_CHARGE: u64 = 16;
/// Bytes a ghost queue costs per cached entry: up to one 32-bit fingerprint
/// per main-queue entry, about 14 B each with its membership map.
pub(crate) const GHOST_CHARGE: u64 = 14;
/// The largest per-entry policy charge (config sizing uses it).
pub(crate) const MAX_POLICY_CHARGE: u64 = SKETCH_CHARGE + GHOST_CHARGE;

/// One shard's policy state: a closed set of policies, dispatched by match
/// (no virtual call on the hot path).
#[derive(Debug)]
pub(crate) enum Policy {
    /// Exact LRU.
    Lru(lru::Lru),
    /// W-TinyLFU with a hill-climbed window.
    TinyLfu(Box<tinylfu::TinyLfu>),
    /// S3-FIFO, plain or adaptive.
    S3Fifo(Box<s3fifo::S3Fifo>),
}

impl Policy {
    /// An empty policy of this kind; `seed` drives any randomness (0 = none).
    pub(crate) fn new(kind: PolicyKind, seed: u64, shards: usize) -> Policy {
        match kind {
            PolicyKind::Lru => Policy::Lru(lru::Lru::default()),
            PolicyKind::TinyLfu => Policy::TinyLfu(Box::new(tinylfu::TinyLfu::new(seed))),
            PolicyKind::S3Fifo => Policy::S3Fifo(Box::new(s3fifo::S3Fifo::with_shards(false, shards))),
            PolicyKind::Adaptive => Policy::S3Fifo(Box::new(s3fifo::S3Fifo::with_shards(true, shards))),
        }
    }

    /// Policy-bit values (bit `b` for bits `b`) whose read hit changes no
    /// policy state but read counts, so a reader may serve it without the
    /// shard's lock (see `engine::read`). 0 for `lru` (a hit reorders its
    /// list) and `tinylfu` (every hit counts in its sketch).
    pub(crate) fn quiet_hits(&self) -> u16 {
        match self {
            Policy::S3Fifo(p) => p.quiet_hits(),
            Policy::Lru(_) | Policy::TinyLfu(_) => 0,
        }
    }

    /// Reads of keys whose hash has its top 16 bits below this are sampled
    /// (by the adaptive policy's LRU guard) and must take the lock.
    pub(crate) fn sampled_below(&self) -> u64 {
        match self {
            Policy::S3Fifo(p) => p.sampled_below(),
            Policy::Lru(_) | Policy::TinyLfu(_) => 0,
        }
    }

    /// `n` quiet hits served without the lock since the last call.
    pub(crate) fn absorb_quiet_hits(&mut self, n: u64) {
        if let Policy::S3Fifo(p) = self {
            p.absorb_quiet_hits(n);
        }
    }

    /// What each entry is charged for the policy's own structures (sketch,
    /// ghost), which grow with the entry count: charging them per entry
    /// keeps `max_memory` a bound on everything the cache holds.
    pub(crate) fn entry_charge(kind: PolicyKind) -> u64 {
        match kind {
            PolicyKind::Lru => 0,
            PolicyKind::TinyLfu => SKETCH_CHARGE,
            PolicyKind::S3Fifo => GHOST_CHARGE,
            PolicyKind::Adaptive => SKETCH_CHARGE + GHOST_CHARGE,
        }
    }

    /// A new entry `i` with key hash `hash`.
    #[inline]
    pub(crate) fn on_insert<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, hash: u64, hash_of: &dyn Fn(&N) -> u64) {
        match self {
            Policy::Lru(p) => p.on_insert(nodes, i),
            Policy::TinyLfu(p) => p.on_insert(nodes, i, hash),
            Policy::S3Fifo(p) => p.on_insert(nodes, i, hash, hash_of),
        }
    }

    /// A read that found entry `i`.
    #[inline]
    pub(crate) fn on_hit<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, hash: u64) {
        match self {
            Policy::Lru(p) => p.on_access(nodes, i),
            Policy::TinyLfu(p) => p.on_hit(nodes, i, hash, true),
            Policy::S3Fifo(p) => p.on_hit(nodes, i, hash, true),
        }
    }

    /// A use of entry `i` that is not a read (overwrite, incr, touch): it
    /// counts as an access for eviction, but not as a read hit in the
    /// adaptive machinery's hit-ratio samples.
    #[inline]
    pub(crate) fn on_write<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, hash: u64) {
        match self {
            Policy::Lru(p) => p.on_access(nodes, i),
            Policy::TinyLfu(p) => p.on_hit(nodes, i, hash, false),
            Policy::S3Fifo(p) => p.on_hit(nodes, i, hash, false),
        }
    }

    /// A read that found no entry.
    #[inline]
    pub(crate) fn on_miss(&mut self, hash: u64) {
        match self {
            Policy::Lru(_) => {}
            Policy::TinyLfu(p) => p.on_miss(),
            Policy::S3Fifo(p) => p.on_miss(hash),
        }
    }

    /// Entry `i` leaves; `evicted` if the policy chose it as a victim.
    #[inline]
    pub(crate) fn on_remove<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32, hash: u64, evicted: bool) {
        match self {
            Policy::Lru(p) => p.on_remove(nodes, i),
            Policy::TinyLfu(p) => p.on_remove(nodes, i),
            Policy::S3Fifo(p) => p.on_remove(nodes, i, hash, evicted),
        }
    }

    /// Takes entry `i` out of the policy's order while room is made for its
    /// own new value (an overwrite, a CAS version): it must not be chosen.
    #[inline]
    pub(crate) fn detach<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        match self {
            Policy::Lru(p) => p.detach(nodes, i),
            Policy::TinyLfu(p) => p.detach(nodes, i),
            Policy::S3Fifo(p) => p.detach(nodes, i),
        }
    }

    /// Puts a detached entry back, at the head of its list.
    #[inline]
    pub(crate) fn reattach<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), i: u32) {
        match self {
            Policy::Lru(p) => p.reattach(nodes, i),
            Policy::TinyLfu(p) => p.reattach(nodes, i),
            Policy::S3Fifo(p) => p.reattach(nodes, i),
        }
    }

    /// The entry to evict next (NIL when empty). May reorder the lists.
    pub(crate) fn victim<N: PolicyNode>(&mut self, nodes: &(impl Slab<N> + ?Sized), hash_of: &dyn Fn(&N) -> u64) -> u32 {
        match self {
            Policy::Lru(p) => p.victim(),
            Policy::TinyLfu(p) => p.victim(nodes, hash_of),
            Policy::S3Fifo(p) => p.victim(nodes, hash_of),
        }
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        match self {
            Policy::Lru(p) => p.clear(),
            Policy::TinyLfu(p) => p.clear(),
            Policy::S3Fifo(p) => p.clear(),
        }
    }

    /// Checks the policy's own invariants; returns how many entries its
    /// lists hold (tests only).
    #[cfg(test)]
    pub(crate) fn check<N: PolicyNode>(&self, nodes: &(impl Slab<N> + ?Sized)) -> u64 {
        match self {
            Policy::Lru(p) => p.check(nodes),
            Policy::TinyLfu(p) => p.check(nodes),
            Policy::S3Fifo(p) => p.check(nodes),
        }
    }
}
