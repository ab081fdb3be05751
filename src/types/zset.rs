//! Sorted sets (ZADD with NX/XX/GT/LT/CH/INCR, ZREM, ZSCORE, ZINCRBY,
//! ZCARD, ZRANK, ZRANGE, ZRANGEBYSCORE, ZCOUNT, ZPOPMIN, ZPOPMAX).
//!
//! Order is by score, then by member bytes (Redis's order; `-0` and `0`
//! compare equal). While small, member/score pairs sit in order in a packed
//! buffer (the score as 8 bytes). The full encoding keeps each member once,
//! in a [`Dense`] table (member -> score, O(1) lookups), and the order as a
//! list of sorted chunks of `(score, table position)` of at most
//! [`CHUNK`] records: finding a place is a binary search over the chunks'
//! last records and then inside one chunk (O(log n) comparisons, O(CHUNK)
//! moves), and a rank sums the chunk lengths before it (O(n / CHUNK)).
//! Redis's skiplist ranks in O(log n) but spends ~2 pointers per level per
//! member; here the order costs 16 bytes per member.

use std::cmp::Ordering;

use super::dense::{Dense, Keyed};
use super::packed::Packed;
use super::score::ScoreBound;
use super::{COMPACT_MAX_BYTES, COMPACT_MAX_ENTRIES, boxed, heap_of, size_class_of};
use crate::error::{Error, ErrorKind, Result};

/// Most records in one chunk of the full encoding's order.
pub const CHUNK: usize = 128;

/// ZADD's options (Redis's NX, XX, GT, LT, CH). INCR is a separate call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddFlags {
    /// Only add new members; never update existing ones.
    pub nx: bool,
    /// Only update existing members; never add new ones.
    pub xx: bool,
    /// Only update when the new score is greater than the current one.
    pub gt: bool,
    /// Only update when the new score is less than the current one.
    pub lt: bool,
    /// Count changed members as well as added ones in the reply.
    pub ch: bool,
}

impl ZAddFlags {
    /// Redis's checks of incompatible options, in Redis's order.
    pub fn check(&self) -> Result<()> {
        if self.nx && self.xx {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "XX and NX options at the same time are not compatible",
            ));
        }
        if (self.gt && self.nx) || (self.lt && self.nx) || (self.gt && self.lt) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "GT, LT, and/or NX options at the same time are not compatible",
            ));
        }
        Ok(())
    }
}

/// What one ZADD element did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    /// A new member with this score.
    Added(f64),
    /// An existing member's score changed to this.
    Updated(f64),
    /// An existing member kept its score (the same score was given).
    Same(f64),
    /// Nothing was done (NX/XX/GT/LT said no).
    Nop,
}

/// Redis's order: score, then member bytes.
fn order(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.1.cmp(b.1))
}

/// A member and its score in the full encoding's table.
#[derive(Clone)]
pub(crate) struct Member {
    name: Box<[u8]>,
    score: f64,
}

impl Keyed for Member {
    fn key(&self) -> &[u8] {
        &self.name
    }
    fn heap(&self) -> usize {
        heap_of(&self.name)
    }
}

/// The full encoding: see the module docs.
#[derive(Clone)]
pub(crate) struct Full {
    table: Dense<Member>,
    chunks: Vec<Vec<(f64, u32)>>,
}

impl Full {
    fn charge(&self) -> usize {
        let order: usize = self
            .chunks
            .iter()
            .map(|c| size_class_of(c.capacity() * 16))
            .sum();
        self.table.charge()
            + size_class_of(self.chunks.capacity() * size_of::<Vec<(f64, u32)>>())
            + order
    }

    /// (chunk, offset) of the first record not less than (score, member).
    fn locate(&self, score: f64, member: &[u8]) -> (usize, usize) {
        let table = &self.table;
        let less = |r: &(f64, u32)| {
            order((r.0, &table.get(r.1 as usize).name), (score, member)) == Ordering::Less
        };
        let c = self
            .chunks
            .partition_point(|ch| less(ch.last().expect("chunks are never empty")));
        if c == self.chunks.len() {
            return (c, 0);
        }
        (c, self.chunks[c].partition_point(less))
    }

    fn insert_record(&mut self, score: f64, pos: u32) -> Result<()> {
        let member = &self.table.get(pos as usize).name;
        let (mut c, mut o) = self.locate(score, member);
        if self.chunks.is_empty() {
            super::try_reserve(&mut self.chunks, 1)?;
            self.chunks.push(Vec::new());
        } else if c == self.chunks.len() {
            c -= 1;
            o = self.chunks[c].len();
        }
        super::try_reserve(&mut self.chunks[c], 1)?;
        self.chunks[c].insert(o, (score, pos));
        if self.chunks[c].len() > CHUNK {
            super::try_reserve(&mut self.chunks, 1)?;
            let tail = self.chunks[c].split_off(CHUNK / 2);
            self.chunks[c].shrink_to(CHUNK + 1);
            self.chunks.insert(c + 1, tail);
        }
        Ok(())
    }

    /// The (chunk, offset) of the record of (score, member), which exists.
    fn find_record(&self, score: f64, member: &[u8]) -> (usize, usize) {
        let (c, o) = self.locate(score, member);
        debug_assert!(
            c < self.chunks.len() && o < self.chunks[c].len(),
            "record missing from the order"
        );
        (c, o)
    }

    fn remove_record(&mut self, score: f64, member: &[u8]) {
        let (c, o) = self.find_record(score, member);
        self.chunks[c].remove(o);
        if self.chunks[c].is_empty() {
            self.chunks.remove(c);
        } else if self.chunks[c].capacity() > 2 * self.chunks[c].len() + 8 {
            self.chunks[c].shrink_to_fit();
        }
    }

    fn add(&mut self, score: f64, member: &[u8]) -> Result<()> {
        let pos = self.table.push(Member {
            name: boxed(member)?,
            score,
        })?;
        if let Err(e) = self.insert_record(score, pos as u32) {
            self.table.swap_remove(pos);
            return Err(e);
        }
        Ok(())
    }

    fn remove_at(&mut self, pos: usize) {
        let m = self.table.get(pos);
        let (score, name) = (m.score, m.name.clone());
        self.remove_record(score, &name);
        let last = self.table.len() - 1;
        if pos != last {
            // The last member is about to move to `pos`: repoint its record
            // (found while the table still has it at `last`).
            let moved = self.table.get(last);
            let (c, o) = self.find_record(moved.score, &moved.name);
            self.chunks[c][o].1 = pos as u32;
        }
        self.table.swap_remove(pos);
    }

    /// The record at rank `rank` (< len).
    fn at_rank(&self, mut rank: usize) -> (usize, usize) {
        for (c, ch) in self.chunks.iter().enumerate() {
            if rank < ch.len() {
                return (c, rank);
            }
            rank -= ch.len();
        }
        unreachable!("rank past the end")
    }

    fn rank_of(&self, c: usize, o: usize) -> usize {
        self.chunks[..c].iter().map(Vec::len).sum::<usize>() + o
    }

    /// Number of records for which `pred` holds, `pred` being true for a
    /// prefix of the order.
    fn prefix_len(&self, pred: impl Fn(f64) -> bool) -> usize {
        let c = self
            .chunks
            .partition_point(|ch| pred(ch.last().expect("non-empty").0));
        if c == self.chunks.len() {
            return self.table.len();
        }
        self.rank_of(c, self.chunks[c].partition_point(|r| pred(r.0)))
    }
}

/// A sorted-set value.
#[derive(Clone)]
pub(crate) enum ZSet {
    /// Member, score (8 bytes, little-endian), ... in order.
    Packed(Packed),
    Full(Full),
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Packed(Packed::default())
    }
}

/// Integral scores below this magnitude are stored as zigzag LEB128 in at
/// most 7 bytes; every other score as its 8 IEEE bytes. The length tells
/// the two apart.
const SMALL_INT: f64 = (1u64 << 48) as f64;

/// The packed form of a score (bytes, length): an integral score such as
/// a leaderboard's takes 1-7 bytes instead of 8 (Redis's listpack stores
/// integers compactly too).
fn score_bytes(s: f64) -> ([u8; 8], usize) {
    let mut out = [0u8; 8];
    if s.fract() == 0.0 && s.abs() < SMALL_INT && !(s == 0.0 && s.is_sign_negative()) {
        let v = s as i64;
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        let mut n = 0;
        loop {
            let byte = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out[n] = byte;
                return (out, n + 1);
            }
            out[n] = byte | 0x80;
            n += 1;
        }
    }
    (s.to_bits().to_le_bytes(), 8)
}

/// The score a packed form holds (see `score_bytes`).
fn score_of(b: &[u8]) -> f64 {
    if b.len() == 8 {
        return f64::from_bits(u64::from_le_bytes(b.try_into().expect("8 bytes")));
    }
    let z = b
        .iter()
        .rev()
        .fold(0u64, |acc, &byte| (acc << 7) | u64::from(byte & 0x7f));
    (((z >> 1) as i64) ^ -((z & 1) as i64)) as f64
}

/// The pairs of a packed sorted set, in order.
fn packed_pairs(p: &Packed) -> Vec<(&[u8], f64)> {
    let mut out = Vec::with_capacity(p.len() / 2);
    let mut it = p.iter();
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        out.push((m, score_of(s)));
    }
    out
}

impl ZSet {
    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        match self {
            ZSet::Packed(p) => p.len() / 2,
            ZSet::Full(f) => f.table.len(),
        }
    }

    /// Heap bytes owned.
    pub(crate) fn charge(&self) -> usize {
        match self {
            ZSet::Packed(p) => p.charge(),
            ZSet::Full(f) => f.charge(),
        }
    }

    fn to_full(&mut self) -> Result<()> {
        if let ZSet::Packed(p) = self {
            let pairs = packed_pairs(p);
            let mut full = Full {
                table: Dense::with_capacity(pairs.len() + 1)?,
                chunks: Vec::new(),
            };
            for (m, s) in pairs {
                full.add(s, m)?;
            }
            *self = ZSet::Full(full);
        }
        Ok(())
    }

    /// ZSCORE.
    pub(crate) fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Packed(p) => packed_pairs(p)
                .into_iter()
                .find(|(m, _)| *m == member)
                .map(|(_, s)| s),
            ZSet::Full(f) => f.table.find(member).map(|pos| f.table.get(pos).score),
        }
    }

    /// Inserts a member known to be absent.
    fn insert(&mut self, score: f64, member: &[u8]) -> Result<()> {
        if let ZSet::Packed(p) = self
            && (p.len() / 2 >= COMPACT_MAX_ENTRIES || member.len() > COMPACT_MAX_BYTES)
        {
            self.to_full()?;
        }
        match self {
            ZSet::Packed(p) => {
                let k = packed_pairs(p)
                    .iter()
                    .position(|&(m, s)| order((s, m), (score, member)) == Ordering::Greater);
                let k = k.unwrap_or(p.len() / 2);
                // Redis's listpack keeps scores as text that reads back
                // `-0` as `0`; its skiplist keeps the double. Same here.
                let score = if score == 0.0 { 0.0 } else { score };
                let (bytes, n) = score_bytes(score);
                p.insert(2 * k, member)?;
                if let Err(e) = p.insert(2 * k + 1, &bytes[..n]) {
                    p.remove_range(2 * k, 2 * k + 1);
                    return Err(e);
                }
                Ok(())
            }
            ZSet::Full(f) => f.add(score, member),
        }
    }

    /// ZREM of one member; true if it was there.
    pub(crate) fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Packed(p) => {
                let Some(k) = packed_pairs(p).iter().position(|(m, _)| *m == member) else {
                    return false;
                };
                p.remove_range(2 * k, 2 * k + 2);
                true
            }
            ZSet::Full(f) => {
                let Some(pos) = f.table.find(member) else {
                    return false;
                };
                f.remove_at(pos);
                true
            }
        }
    }

    /// One element of ZADD (Redis's `zsetAdd`): `incr` adds `score` to the
    /// current score (ZADD INCR, ZINCRBY). Errors only if an increment makes
    /// NaN (`inf + -inf`), changing nothing.
    pub(crate) fn add(
        &mut self,
        score: f64,
        member: &[u8],
        flags: ZAddFlags,
        incr: bool,
    ) -> Result<Outcome> {
        match self.score(member) {
            Some(current) => {
                if flags.nx {
                    return Ok(Outcome::Nop);
                }
                let new = if incr { score + current } else { score };
                if new.is_nan() {
                    return Err(Error::new(
                        ErrorKind::NotANumber,
                        "resulting score is not a number (NaN)",
                    ));
                }
                if (flags.lt && new >= current) || (flags.gt && new <= current) {
                    return Ok(Outcome::Nop);
                }
                #[allow(clippy::float_cmp)]
                if new == current {
                    return Ok(Outcome::Same(current));
                }
                self.remove(member);
                self.insert(new, member)?;
                Ok(Outcome::Updated(new))
            }
            None if flags.xx => Ok(Outcome::Nop),
            None => {
                self.insert(score, member)?;
                Ok(Outcome::Added(score))
            }
        }
    }

    /// ZRANK: the member's 0-based position in ascending order.
    pub(crate) fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            ZSet::Packed(p) => packed_pairs(p).iter().position(|(m, _)| *m == member),
            ZSet::Full(f) => {
                let pos = f.table.find(member)?;
                let (c, o) = f.find_record(f.table.get(pos).score, member);
                Some(f.rank_of(c, o))
            }
        }
    }

    /// The members at ranks `from..=to` (< len) of ascending order, or of
    /// descending order with `rev`, with their scores.
    pub(crate) fn by_rank(&self, from: usize, to: usize, rev: bool) -> Vec<(Vec<u8>, f64)> {
        let len = self.len();
        if from > to || to >= len {
            return Vec::new();
        }
        // Ascending ranks covering the request.
        let (lo, hi) = if rev {
            (len - 1 - to, len - 1 - from)
        } else {
            (from, to)
        };
        let mut out: Vec<(Vec<u8>, f64)> = match self {
            ZSet::Packed(p) => packed_pairs(p)[lo..=hi]
                .iter()
                .map(|&(m, s)| (m.to_vec(), s))
                .collect(),
            ZSet::Full(f) => {
                let (mut c, mut o) = f.at_rank(lo);
                let mut out = Vec::with_capacity(hi - lo + 1);
                for _ in lo..=hi {
                    let (score, pos) = f.chunks[c][o];
                    out.push((f.table.get(pos as usize).name.to_vec(), score));
                    o += 1;
                    if o == f.chunks[c].len() {
                        c += 1;
                        o = 0;
                    }
                }
                out
            }
        };
        if rev {
            out.reverse();
        }
        out
    }

    /// How many members score below `min` (the rank of the first member in
    /// range) and how many are at or below `max` (one past the last).
    pub(crate) fn score_ranks(&self, min: ScoreBound, max: ScoreBound) -> (usize, usize) {
        match self {
            ZSet::Packed(p) => {
                let pairs = packed_pairs(p);
                (
                    pairs.partition_point(|&(_, s)| !min.below_ok(s)),
                    pairs.partition_point(|&(_, s)| max.above_ok(s)),
                )
            }
            ZSet::Full(f) => (
                f.prefix_len(|s| !min.below_ok(s)),
                f.prefix_len(|s| max.above_ok(s)),
            ),
        }
    }

    /// ZPOPMIN (`max` false) or ZPOPMAX: removes and returns up to `count`
    /// members from that end, in pop order.
    pub(crate) fn pop(&mut self, count: usize, max: bool) -> Vec<(Vec<u8>, f64)> {
        let n = count.min(self.len());
        if n == 0 {
            return Vec::new();
        }
        let out = self.by_rank(0, n - 1, max);
        for (m, _) in &out {
            self.remove(m);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[(Vec<u8>, f64)]) -> Vec<String> {
        v.iter()
            .map(|(m, _)| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    fn both(f: impl Fn(&mut ZSet)) {
        let mut compact = ZSet::default();
        f(&mut compact);
        let mut full = ZSet::default();
        full.to_full().unwrap();
        f(&mut full);
    }

    const PLAIN: ZAddFlags = ZAddFlags {
        nx: false,
        xx: false,
        gt: false,
        lt: false,
        ch: false,
    };

    #[test]
    fn order_ranks_and_ranges() {
        both(|z| {
            for (s, m) in [
                (2.0, "b"),
                (1.0, "z"),
                (2.0, "a"),
                (-1.0, "neg"),
                (f64::INFINITY, "top"),
            ] {
                assert_eq!(
                    z.add(s, m.as_bytes(), PLAIN, false).unwrap(),
                    Outcome::Added(s)
                );
            }
            assert_eq!(
                names(&z.by_rank(0, 4, false)),
                ["neg", "z", "a", "b", "top"]
            );
            assert_eq!(names(&z.by_rank(0, 1, true)), ["top", "b"]);
            assert_eq!(z.rank(b"a"), Some(2));
            assert_eq!(z.rank(b"q"), None);
            assert_eq!(
                z.score_ranks(ScoreBound::inclusive(1.0), ScoreBound::inclusive(2.0)),
                (1, 4)
            );
            assert_eq!(
                z.score_ranks(ScoreBound::exclusive(1.0), ScoreBound::exclusive(2.0)),
                (2, 2)
            );
            assert_eq!(
                z.add(5.0, b"a", PLAIN, false).unwrap(),
                Outcome::Updated(5.0)
            );
            assert_eq!(
                names(&z.by_rank(0, 4, false)),
                ["neg", "z", "b", "a", "top"]
            );
            assert_eq!(
                z.add(1.0, b"a", ZAddFlags { gt: true, ..PLAIN }, false)
                    .unwrap(),
                Outcome::Nop
            );
            assert_eq!(
                z.add(1.0, b"a", PLAIN, true).unwrap(),
                Outcome::Updated(6.0)
            );
            assert_eq!(
                z.add(1.0, b"new", ZAddFlags { xx: true, ..PLAIN }, false)
                    .unwrap(),
                Outcome::Nop
            );
            assert_eq!(
                z.add(f64::NEG_INFINITY, b"top", PLAIN, true)
                    .unwrap_err()
                    .kind(),
                ErrorKind::NotANumber
            );
            assert_eq!(names(&z.pop(2, false)), ["neg", "z"]);
            assert_eq!(names(&z.pop(1, true)), ["top"]);
            assert!(z.remove(b"a") && !z.remove(b"a"));
            assert_eq!(z.len(), 1);
        });
    }

    #[test]
    fn packed_scores_round_trip() {
        for s in [
            0.0,
            1.0,
            -1.0,
            63.0,
            64.0,
            -64.0,
            -65.0,
            1e10,
            -(2f64.powi(48) - 1.0),
            2f64.powi(48),
            0.5,
            -0.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let (bytes, n) = score_bytes(s);
            let back = score_of(&bytes[..n]);
            assert_eq!(back.to_bits(), s.to_bits(), "{s}");
            assert!(
                n < 8
                    || s.fract() != 0.0
                    || s.abs() >= SMALL_INT
                    || s.is_sign_negative() && s == 0.0
                    || s.is_infinite()
            );
        }
        assert_eq!(score_bytes(5.0).1, 1);
        assert_eq!(score_bytes(1e6).1, 3);
    }

    #[test]
    fn big_sets_split_chunks_and_stay_ordered() {
        let mut z = ZSet::default();
        for i in 0..2000u32 {
            let s = f64::from((i * 7919) % 1000);
            z.add(s, format!("m{i}").as_bytes(), PLAIN, false).unwrap();
        }
        assert!(matches!(z, ZSet::Full(_)));
        let all = z.by_rank(0, 1999, false);
        assert!(
            all.windows(2)
                .all(|w| order((w[0].1, &w[0].0), (w[1].1, &w[1].0)) == Ordering::Less)
        );
        for (r, (m, _)) in all.iter().enumerate().step_by(97) {
            assert_eq!(z.rank(m), Some(r));
        }
        for i in (0..2000u32).step_by(2) {
            assert!(z.remove(format!("m{i}").as_bytes()));
        }
        assert_eq!(z.len(), 1000);
        let rest = z.by_rank(0, 999, false);
        assert!(rest.iter().all(|(m, s)| z.score(m) == Some(*s)));
        assert_eq!(
            z.score_ranks(
                ScoreBound::inclusive(f64::NEG_INFINITY),
                ScoreBound::inclusive(f64::INFINITY)
            ),
            (0, 1000)
        );
    }
}
