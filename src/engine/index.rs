//! A shard's hash index: slab indices by key hash, probed by readers that
//! hold no lock while the shard's lock holder changes it.
//!
//! Why our own table rather than `hashbrown`: a hit must not write any
//! cache line another core reads (see `docs/design.md`, "Reads without a
//! lock"), so readers cannot take the shard's lock, and a `hashbrown` table
//! may not be read while it is written. This one is hashbrown's idea cut
//! down to what a concurrent reader needs: one control byte per bucket
//! (`EMPTY`, `DELETED`, or `0x80 | 7 bits of the hash`), read 8 at a time as
//! atomic `u64` words and matched with SWAR arithmetic, triangular probing
//! over groups, and the slab index in an atomic `u32`. A group is 12 buckets
//! whose control bytes and slots share one 64-byte line (5.33 bytes per
//! bucket), so a probe costs one cache miss; same 7/8 maximum load.
//!
//! Concurrency: one writer at a time (the shard's lock holder; every
//! writing method takes `&mut IndexCounts`, which only the locked shard
//! owns) and any number of readers. A writer publishes a bucket by storing
//! its slot, then its control word with `Release`; a reader loads the
//! control word with `Acquire`, so a tag it sees comes with its slot. A
//! removed bucket becomes `DELETED` (a tombstone, so probes that passed it
//! still go on), or `EMPTY` when its group already has an empty bucket (no
//! probe ever went past such a group). Growing or cleaning out tombstones
//! builds a new table and swaps it in; the old one is freed through the
//! epoch collector once no reader can still be probing it. A reader may
//! find a slab index whose node has since been reused: it always confirms
//! the key on the node's block before trusting a match.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crossbeam_epoch::{self as epoch, Atomic, Guard, Owned, Shared};

const EMPTY: u8 = 0x00;
const DELETED: u8 = 0x01;
const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The control byte of a full bucket for `hash`: the top 7 bits, high bit set.
#[inline]
fn tag(hash: u64) -> u8 {
    0x80 | (hash >> 57) as u8
}

/// High bit set in each byte of `x` that is zero (exactly: no carries
/// cross bytes, unlike the classic `(x - LO) & !x & HI`).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    !(((x & !HI) + !HI) | x) & HI
}

/// Byte positions whose control byte equals `byte`.
#[inline]
fn matching(word: u64, byte: u8) -> u64 {
    zero_bytes(word ^ (LO * byte as u64))
}

/// Buckets per group: 12 slots and their control bytes fill one 64-byte
/// line (16 control bytes, the last 4 permanently `DELETED` so they never
/// match, never read as empty and are never handed out), so a lookup's
/// control word and slot come in one cache miss.
const GROUP: usize = 12;
/// Control bytes 12..16 (in the second word): the padding.
const PAD: u64 = 0x0101_0101_0000_0000;
/// The high bits of the second word's real bytes (buckets 8..12).
const REAL_HI: u64 = 0x0000_0000_8080_8080;

#[repr(C, align(64))]
struct Group {
    ctrl: [AtomicU64; 2],
    slots: [AtomicU32; GROUP],
}

impl Group {
    fn new() -> Group {
        Group {
            ctrl: [AtomicU64::new(0), AtomicU64::new(PAD)],
            slots: Default::default(),
        }
    }

    #[inline]
    fn load(&self, order: Ordering) -> Ctrl {
        Ctrl(self.ctrl[0].load(order), self.ctrl[1].load(order))
    }

    /// Sets bucket `pos`'s control byte (writer only; `Release`, after its slot).
    fn set_ctrl(&self, pos: usize, byte: u8) {
        let (w, shift) = (pos / 8, (pos % 8) * 8);
        let word = self.ctrl[w].load(Ordering::Relaxed);
        self.ctrl[w].store(
            (word & !(0xff << shift)) | ((byte as u64) << shift),
            Ordering::Release,
        );
    }
}

/// One bit per real bucket (bit `p` for bucket `p`, 0..12) from the two
/// words' byte masks (high bit per flagged byte).
#[inline]
fn group_bits(m0: u64, m1: u64) -> u32 {
    // Gathers the 8 high bits of a byte mask into one byte: each flag,
    // shifted to the bottom of its byte, meets exactly one term of the
    // multiplier in the top byte, and no two terms share a bit position,
    // so nothing carries.
    let gather = |m: u64| ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32;
    gather(m0) | (gather(m1 & REAL_HI) << 8)
}

/// A group's 16 control bytes as loaded (two words; bytes 12..16 are
/// the padding, always `DELETED`).
#[derive(Clone, Copy)]
struct Ctrl(u64, u64);

impl Ctrl {
    /// One bit per real bucket whose control byte is `byte`.
    #[inline]
    fn matching(self, byte: u8) -> u32 {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8};
            // SSE2 (always there on x86-64): compare all 16 bytes at once
            // and take their high bits, 5 instructions where the SWAR
            // match and gather take about 30 (a third of a probe).
            // SAFETY: these intrinsics only need SSE2, which every x86-64 CPU has (it is in the target's baseline); they touch no memory.
            let mask = unsafe {
                let v = _mm_set_epi64x(self.1 as i64, self.0 as i64);
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(byte as i8)))
            };
            mask as u32 & REAL
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.matching_swar(byte)
    }

    /// `matching` in portable arithmetic (and its reference in tests).
    #[inline]
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn matching_swar(self, byte: u8) -> u32 {
        group_bits(matching(self.0, byte), matching(self.1, byte))
    }

    /// One bit per full bucket (control byte's high bit set).
    #[inline]
    fn full(self) -> u32 {
        group_bits(self.0 & HI, self.1 & HI)
    }

    /// Whether a bucket is `EMPTY`.
    #[inline]
    fn has_empty(self) -> bool {
        self.matching(EMPTY) != 0
    }
}

/// The real buckets' bits.
const REAL: u32 = (1 << GROUP) - 1;

/// The positions of the set bits, lowest first.
#[inline]
fn positions(mut bits: u32) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if bits == 0 {
            return None;
        }
        let pos = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        Some(pos)
    })
}

struct Table {
    /// Groups minus one (groups are a power of two).
    mask: usize,
    groups: Box<[Group]>,
}

impl Table {
    /// A table of `groups` empty groups; `Err` if the allocation fails.
    fn try_new(groups: usize) -> Result<Table, std::collections::TryReserveError> {
        debug_assert!(groups.is_power_of_two());
        let mut v = Vec::new();
        v.try_reserve_exact(groups)?;
        v.extend((0..groups).map(|_| Group::new()));
        Ok(Table {
            mask: groups - 1,
            groups: v.into_boxed_slice(),
        })
    }

    fn buckets(&self) -> usize {
        (self.mask + 1) * GROUP
    }

    /// The groups `hash` probes, in order (triangular steps visit every
    /// group of a power-of-two table once).
    #[inline]
    fn probe(&self, hash: u64) -> impl Iterator<Item = &Group> + '_ {
        let mut g = hash as usize & self.mask;
        let mut stride = 0;
        std::iter::from_fn(move || {
            if stride > self.mask {
                return None;
            }
            let here = g;
            stride += 1;
            g = (g + stride) & self.mask;
            Some(&self.groups[here])
        })
    }

    #[inline]
    fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<(&Group, usize, u32)> {
        let t = tag(hash);
        for g in self.probe(hash) {
            let ctrl = g.load(Ordering::Acquire);
            for pos in positions(ctrl.matching(t)) {
                let i = g.slots[pos].load(Ordering::Relaxed);
                if eq(i) {
                    return Some((g, pos, i));
                }
            }
            if ctrl.has_empty() {
                return None;
            }
        }
        None
    }

    /// Puts `i` in the first free bucket of `hash`'s probe sequence; returns
    /// whether that bucket was `EMPTY` (rather than a reused tombstone).
    #[inline]
    fn insert(&self, hash: u64, i: u32) -> bool {
        for g in self.probe(hash) {
            let ctrl = g.load(Ordering::Relaxed);
            let empty = ctrl.matching(EMPTY);
            let free = empty | ctrl.matching(DELETED);
            if free != 0 {
                let pos = free.trailing_zeros() as usize;
                let was_empty = empty >> pos & 1 == 1;
                g.slots[pos].store(i, Ordering::Relaxed);
                g.set_ctrl(pos, tag(hash));
                return was_empty;
            }
        }
        unreachable!("the index grows before it fills")
    }

    /// Every slot of a full bucket.
    fn full(&self) -> impl Iterator<Item = u32> + '_ {
        self.groups.iter().flat_map(|g| {
            positions(g.load(Ordering::Relaxed).full()).map(move |pos| g.slots[pos].load(Ordering::Relaxed))
        })
    }
}

/// The writer's bookkeeping, kept in the locked shard: holding `&mut` to
/// it is what allows changing the index.
#[derive(Default)]
pub(crate) struct IndexCounts {
    items: usize,
    tombstones: usize,
}

impl IndexCounts {
    /// Entries in the index.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items
    }
}

/// The index. See the module docs.
pub(crate) struct Index {
    table: Atomic<Table>,
}

impl Index {
    /// An empty index (no table until the first insert).
    pub(crate) fn new() -> Index {
        Index {
            table: Atomic::null(),
        }
    }

    /// Readers' lookup: the slab index for which `eq` confirms the key.
    #[inline]
    pub(crate) fn find(
        &self,
        guard: &Guard,
        hash: u64,
        eq: impl FnMut(u32) -> bool,
    ) -> Option<u32> {
        let t = self.table.load(Ordering::Acquire, guard);
        // SAFETY: the table stays allocated while `guard` is pinned: a replaced table is freed through `defer_destroy` only.
        let t = unsafe { t.as_ref() }?;
        t.find(hash, eq).map(|(_, _, i)| i)
    }

    /// The writer's current table, read without pinning. (Private: the
    /// callers here never hold it across their own `rebuild` or `swap`.)
    #[inline]
    fn current<'a>(&'a self, _counts: &IndexCounts) -> Option<&'a Table> {
        // SAFETY: only the writer (who holds `counts`, so the shard's lock) replaces or frees the table, so it lives at least as long as this borrow; `unprotected` is only used to load, never to defer.
        unsafe {
            self.table
                .load(Ordering::Acquire, epoch::unprotected())
                .as_ref()
        }
    }

    /// Writer's lookup (same as `find`, under the lock).
    #[inline]
    pub(crate) fn find_locked(
        &self,
        counts: &IndexCounts,
        hash: u64,
        eq: impl FnMut(u32) -> bool,
    ) -> Option<u32> {
        self.current(counts)?.find(hash, eq).map(|(_, _, i)| i)
    }

    /// Makes room for one more entry (rebuilding the table if it would pass
    /// 7/8 full), so that the next `insert` allocates nothing; `Err` (and
    /// the index unchanged) if the allocation fails. Removals in between
    /// keep the room: each trades an item for a tombstone or an empty.
    pub(crate) fn reserve_one(
        &self,
        counts: &mut IndexCounts,
        rehash: impl Fn(u32) -> u64,
    ) -> Result<(), std::collections::TryReserveError> {
        let buckets = self.current(counts).map_or(0, Table::buckets);
        if (counts.items + counts.tombstones + 1) * 8 > buckets * 7 {
            // Double when live entries fill more than 7/16 (hashbrown's
            // rule: half the 7/8 maximum); otherwise the tombstones are the
            // problem and the same size will do.
            let groups = buckets / GROUP;
            let groups = if groups == 0 {
                1
            } else if (counts.items + 1) * 16 > buckets * 7 {
                groups * 2
            } else {
                groups
            };
            self.rebuild(counts, groups, &rehash)?;
        }
        Ok(())
    }

    /// Adds slab index `i` under `hash` (the caller checked the key is
    /// absent and called `reserve_one` since the last insert). `rehash`
    /// gives the hash of a stored index if the table must be rebuilt anyway.
    #[inline]
    pub(crate) fn insert(
        &self,
        counts: &mut IndexCounts,
        hash: u64,
        i: u32,
        rehash: impl Fn(u32) -> u64,
    ) {
        if self.reserve_one(counts, rehash).is_err() {
            // Only reachable without `reserve_one` first: there is no error
            // to return from here, as from any failed allocation in Rust.
            std::alloc::handle_alloc_error(std::alloc::Layout::new::<Group>());
        }
        let t = self.current(counts).expect("reserved above");
        if !t.insert(hash, i) {
            counts.tombstones -= 1;
        }
        counts.items += 1;
    }

    /// Removes slab index `i`, stored under `hash`.
    #[inline]
    pub(crate) fn remove(&self, counts: &mut IndexCounts, hash: u64, i: u32) {
        let Some(t) = self.current(counts) else {
            return;
        };
        let Some((g, pos, _)) = t.find(hash, |j| j == i) else {
            debug_assert!(false, "removing an index that is not there");
            return;
        };
        if g.load(Ordering::Relaxed).has_empty() {
            g.set_ctrl(pos, EMPTY);
        } else {
            counts.tombstones += 1;
            g.set_ctrl(pos, DELETED);
        }
        counts.items -= 1;
    }

    /// Drops every entry (and the table).
    pub(crate) fn clear(&self, counts: &mut IndexCounts) {
        self.swap(counts, None);
        *counts = IndexCounts::default();
    }

    /// Bytes the table holds.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self, counts: &IndexCounts) -> usize {
        self.current(counts)
            .map_or(0, |t| t.groups.len() * std::mem::size_of::<Group>())
    }

    #[cold]
    #[inline(never)]
    fn rebuild(
        &self,
        counts: &mut IndexCounts,
        groups: usize,
        rehash: &impl Fn(u32) -> u64,
    ) -> Result<(), std::collections::TryReserveError> {
        let new = Table::try_new(groups)?;
        if let Some(old) = self.current(counts) {
            for i in old.full() {
                new.insert(rehash(i), i);
            }
        }
        counts.tombstones = 0;
        self.swap(counts, Some(new));
        Ok(())
    }

    fn swap(&self, _counts: &mut IndexCounts, new: Option<Table>) {
        let guard = epoch::pin();
        let old = match new {
            Some(t) => self.table.swap(Owned::new(t), Ordering::AcqRel, &guard),
            None => self.table.swap(Shared::null(), Ordering::AcqRel, &guard),
        };
        if !old.is_null() {
            // SAFETY: `old` is unreachable from the index now; readers that loaded it before the swap are pinned, and the collector frees it only after they all unpin.
            unsafe { guard.defer_destroy(old) };
            drop(guard);
            super::reclaim::collect();
        }
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no reader or writer can reach the table any more.
        unsafe {
            let t = self.table.load(Ordering::Relaxed, epoch::unprotected());
            if !t.is_null() {
                drop(t.into_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(k: u32) -> u64 {
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::with_seed(7).hash_one(k)
    }

    #[test]
    fn group_bits_gathers_every_flag() {
        for bits in 0..1u32 << 12 {
            let (mut m0, mut m1) = (0u64, 0u64);
            for p in 0..12 {
                if bits >> p & 1 == 1 {
                    if p < 8 {
                        m0 |= 0x80 << (p * 8)
                    } else {
                        m1 |= 0x80 << ((p - 8) * 8)
                    }
                }
            }
            // Padding flags (bytes 12..16) never show.
            assert_eq!(group_bits(m0, m1 | 0x8080_8080_0000_0000), bits);
        }
    }

    #[test]
    fn ctrl_matching_is_exact_on_real_buckets() {
        let mut rng = crate::test_rng::XorShift(7);
        let bytes = [EMPTY, DELETED, 0x80, 0x81, 0xff, 0x7f, 0x42];
        for _ in 0..20_000 {
            let mut b = [DELETED; 16];
            for x in &mut b[..GROUP] {
                *x = bytes[rng.below(bytes.len())];
            }
            let ctrl = Ctrl(
                u64::from_le_bytes(b[..8].try_into().unwrap()),
                u64::from_le_bytes(b[8..].try_into().unwrap()),
            );
            for &probe in &bytes {
                let want = (0..GROUP).filter(|&p| b[p] == probe).fold(0u32, |m, p| m | 1 << p);
                assert_eq!(ctrl.matching(probe), want, "{b:x?} for {probe:#x}");
                assert_eq!(ctrl.matching_swar(probe), want, "(SWAR) {b:x?} for {probe:#x}");
            }
            let full = (0..GROUP).filter(|&p| b[p] & 0x80 != 0).fold(0u32, |m, p| m | 1 << p);
            assert_eq!(ctrl.full(), full);
            assert_eq!(ctrl.has_empty(), b[..GROUP].contains(&EMPTY));
        }
    }

    #[test]
    fn zero_bytes_is_exact() {
        for b in 0..=255u8 {
            for other in [0u8, 1, 0x7f, 0x80, 0xff] {
                let word = u64::from_le_bytes([other, b, other, b, 0xff, 0x80, 1, b]);
                let got = zero_bytes(word);
                for (pos, byte) in word.to_le_bytes().iter().enumerate() {
                    assert_eq!(
                        got >> (pos * 8 + 7) & 1 == 1,
                        *byte == 0,
                        "word {word:#x} byte {pos}"
                    );
                }
            }
        }
    }

    /// Inserts, removes and re-inserts through growth and tombstone
    /// clean-ups, checking every key against a model each step.
    #[test]
    fn agrees_with_a_set_through_growth_and_tombstones() {
        let index = Index::new();
        let mut counts = IndexCounts::default();
        let mut live = std::collections::BTreeSet::new();
        let guard = epoch::pin();
        for round in 0..6u32 {
            for k in 0..3000u32 {
                if (k + round) % 3 != 0 && !live.contains(&k) {
                    index.insert(&mut counts, h(k), k, h);
                    live.insert(k);
                } else if (k * 7 + round) % 5 == 0 && live.remove(&k) {
                    index.remove(&mut counts, h(k), k);
                }
            }
            for k in 0..3000u32 {
                assert_eq!(
                    index.find(&guard, h(k), |i| i == k).is_some(),
                    live.contains(&k),
                    "key {k} round {round}"
                );
            }
            assert_eq!(counts.items, live.len());
            let buckets = index.heap_bytes(&counts) / 64 * GROUP;
            assert!(
                (counts.items + counts.tombstones) * 8 <= buckets * 7,
                "over 7/8 full"
            );
        }
        index.clear(&mut counts);
        assert!(index.find(&guard, h(1), |_| true).is_none());
    }

    /// A reader probing while the writer inserts, removes and rebuilds
    /// always finds the keys that stay, and never a removed one once the
    /// removal happened before its lookup started.
    #[test]
    fn readers_see_stable_keys_while_the_writer_churns() {
        use std::sync::atomic::AtomicBool;
        let index = Index::new();
        let mut counts = IndexCounts::default();
        // Keys 0..500 stay for the whole test.
        for k in 0..500u32 {
            index.insert(&mut counts, h(k), k, h);
        }
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut lookups = 0u64;
                while !stop.load(Ordering::Relaxed) || lookups < 10_000 {
                    let guard = epoch::pin();
                    let k = (lookups % 500) as u32;
                    assert!(
                        index.find(&guard, h(k), |i| i == k).is_some(),
                        "stable key {k} lost"
                    );
                    lookups += 1;
                }
            });
            for round in 0..40u32 {
                for k in 500..2500u32 {
                    index.insert(&mut counts, h(k ^ round << 16), k ^ round << 16, h);
                }
                for k in 500..2500u32 {
                    index.remove(&mut counts, h(k ^ round << 16), k ^ round << 16);
                }
            }
            stop.store(true, Ordering::Relaxed);
            reader.join().unwrap();
        });
        assert_eq!(counts.items, 500);
    }
}
