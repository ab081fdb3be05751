//! Collection values: lists, sets, hashes and sorted sets with Redis 7
//! semantics, stored as the value of a cache entry.
//!
//! A collection lives in its shard's side table (`Shard::collections`),
//! keyed by the entry's slab slot; the entry's block then holds only the
//! key and its node's encoding says [`crate::codec::Encoding::Collection`].
//! Every command runs under the shard lock on the collection in place, and
//! the shard re-charges the entry from [`Collection::charge`] after each
//! write, so memory is charged exactly as a collection grows and shrinks.
//!
//! Small collections use a compact encoding (one packed buffer, or a sorted
//! vector of integers for integer sets) and switch to their full structure
//! once they grow past these thresholds (Redis's defaults):
//!
//! | type | compact | full | switch when |
//! |---|---|---|---|
//! | list | [`packed::Packed`] | `VecDeque` of boxed elements | > 128 elements or an element > 64 bytes |
//! | set | sorted `Vec<i64>`, else packed | [`dense::Dense`] | > 512 integers; > 128 members or a member > 64 bytes |
//! | hash | packed field/value pairs | `Dense` of pairs | > 128 fields or a field/value > 64 bytes |
//! | sorted set | packed member/score pairs in order | `Dense` + [`zset`]'s ordered chunks | > 128 members or a member > 64 bytes |
//!
//! Collections never switch back (as in Redis 7.0, but for lists).

pub(crate) mod dense;
pub(crate) mod hash;
pub(crate) mod list;
pub(crate) mod packed;
pub mod score;
pub(crate) mod set;
pub mod zset;

use crate::engine::size_class::size_class;
use crate::error::{Error, ErrorKind, Result};

pub(crate) use hash::Hash;
pub(crate) use list::List;
pub use score::{ScoreBound, format_score, parse_score};
pub(crate) use set::Set;
pub use zset::ZAddFlags;
pub(crate) use zset::ZSet;

/// Most elements a compact list, hash, sorted set or non-integer set holds.
pub const COMPACT_MAX_ENTRIES: usize = 128;
/// Longest element (member, field or value) a compact encoding holds.
pub const COMPACT_MAX_BYTES: usize = 64;
/// Most integers an integer set holds before it becomes a full set.
pub const INTSET_MAX_ENTRIES: usize = 512;

/// The type of a collection, for `WRONGTYPE` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A list (LPUSH, LRANGE, ...).
    List,
    /// A set (SADD, SMEMBERS, ...).
    Set,
    /// A hash (HSET, HGET, ...).
    Hash,
    /// A sorted set (ZADD, ZRANGE, ...).
    ZSet,
}

/// A collection value of any type.
#[derive(Clone)]
pub(crate) enum Collection {
    List(List),
    Set(Set),
    Hash(Hash),
    ZSet(ZSet),
}

impl Collection {
    /// A new, empty collection of `kind`.
    pub(crate) fn new(kind: Kind) -> Collection {
        match kind {
            Kind::List => Collection::List(List::default()),
            Kind::Set => Collection::Set(Set::default()),
            Kind::Hash => Collection::Hash(Hash::default()),
            Kind::ZSet => Collection::ZSet(ZSet::default()),
        }
    }

    /// Its type.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Collection::List(_) => Kind::List,
            Collection::Set(_) => Kind::Set,
            Collection::Hash(_) => Kind::Hash,
            Collection::ZSet(_) => Kind::ZSet,
        }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        match self {
            Collection::List(c) => c.len(),
            Collection::Set(c) => c.len(),
            Collection::Hash(c) => c.len(),
            Collection::ZSet(c) => c.len(),
        }
    }

    /// Heap bytes the collection owns, by the allocator's size classes
    /// (its box included).
    pub(crate) fn charge(&self) -> u64 {
        let inner = match self {
            Collection::List(c) => c.charge(),
            Collection::Set(c) => c.charge(),
            Collection::Hash(c) => c.charge(),
            Collection::ZSet(c) => c.charge(),
        };
        (size_class(size_of::<Collection>()) + inner) as u64
    }
}

/// Access to one typed collection inside a [`Collection`]: the shard's
/// generic code reaches each command's type through this.
pub(crate) trait Typed: Sized {
    /// The type's kind.
    const KIND: Kind;
    /// The collection as this type, or `None` if it holds another type.
    fn from_mut(c: &mut Collection) -> Option<&mut Self>;
}

macro_rules! typed {
    ($t:ident, $kind:ident) => {
        impl Typed for $t {
            const KIND: Kind = Kind::$kind;
            fn from_mut(c: &mut Collection) -> Option<&mut Self> {
                match c {
                    Collection::$kind(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}
typed!(List, List);
typed!(Set, Set);
typed!(Hash, Hash);
typed!(ZSet, ZSet);

/// The allocator's size class of a request of `n` bytes (nothing for 0).
pub(crate) fn size_class_of(n: usize) -> usize {
    if n == 0 { 0 } else { size_class(n) }
}

/// Heap bytes of a boxed element.
pub(crate) fn heap_of(b: &[u8]) -> usize {
    size_class_of(b.len())
}

/// An owned copy of `b` (an allocation failure is an error, not an abort).
pub(crate) fn boxed(b: &[u8]) -> Result<Box<[u8]>> {
    let mut v = Vec::new();
    try_reserve(&mut v, b.len())?;
    v.extend_from_slice(b);
    Ok(v.into_boxed_slice())
}

/// `Vec::try_reserve` with our error.
pub(crate) fn try_reserve<T>(v: &mut Vec<T>, extra: usize) -> Result<()> {
    v.try_reserve(extra).map_err(|_| {
        Error::new(
            ErrorKind::OutOfMemory,
            "allocation failed while growing a collection",
        )
    })
}

/// Redis's index range (LRANGE, LTRIM, ZRANGE): negative indexes count
/// from the end; returns the inclusive positions, or `None` when empty.
pub(crate) fn index_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 {
        len.saturating_add(start)
    } else {
        start
    };
    let mut stop = if stop < 0 {
        len.saturating_add(stop)
    } else {
        stop
    };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

/// A uniformly random number in `0..n` (n > 0), from a per-thread
/// xorshift generator seeded from the OS (SPOP, SRANDMEMBER).
pub(crate) fn random_below(n: usize) -> usize {
    use std::cell::Cell;
    use std::hash::BuildHasher;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64) | 1,
        );
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        // Multiply-shift maps 64 random bits onto 0..n without modulo bias
        // worth mentioning at collection sizes.
        ((u128::from(x) * n as u128) >> 64) as usize
    })
}

/// The error of a command on a key holding another type.
pub(crate) fn wrong_type() -> Error {
    Error::new(
        ErrorKind::WrongType,
        "WRONGTYPE Operation against a key holding the wrong kind of value",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_ranges_follow_redis() {
        assert_eq!(index_range(0, -1, 5), Some((0, 4)));
        assert_eq!(index_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(index_range(3, 1, 5), None);
        assert_eq!(index_range(5, 10, 5), None);
        assert_eq!(index_range(-2, -1, 5), Some((3, 4)));
        assert_eq!(index_range(0, 0, 0), None);
        assert_eq!(index_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }

    #[test]
    fn random_below_stays_in_range() {
        for n in 1..50 {
            assert!(random_below(n) < n);
        }
    }
}
