//! Sets (SADD, SREM, SISMEMBER, SMEMBERS, SCARD, SPOP, SRANDMEMBER; the
//! multi-key SINTER, SUNION and SDIFF are in `Cache`): a sorted vector of
//! integers while every member is a canonical 64-bit integer (Redis's
//! intset), a packed buffer while small, a [`Dense`] table after.

use super::dense::Dense;
use super::packed::Packed;
use super::{
    COMPACT_MAX_BYTES, COMPACT_MAX_ENTRIES, INTSET_MAX_ENTRIES, boxed, random_below, size_class_of,
};
use crate::decimal::{format_i64, parse_i64};
use crate::error::{Error, ErrorKind, Result};

/// Most members SRANDMEMBER returns for a negative count (2^24).
pub(crate) const MAX_RANDOM_REPEATS: u64 = 1 << 24;

/// A set value.
#[derive(Clone)]
pub(crate) enum Set {
    Ints(Vec<i64>),
    Packed(Packed),
    Table(Dense<Box<[u8]>>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(Vec::new())
    }
}

fn int_text(v: i64) -> Vec<u8> {
    let mut buf = [0u8; 20];
    format_i64(v, &mut buf).to_vec()
}

impl Set {
    /// Number of members.
    pub(crate) fn len(&self) -> usize {
        match self {
            Set::Ints(v) => v.len(),
            Set::Packed(p) => p.len(),
            Set::Table(t) => t.len(),
        }
    }

    /// Heap bytes owned.
    pub(crate) fn charge(&self) -> usize {
        match self {
            Set::Ints(v) => size_class_of(v.capacity() * 8),
            Set::Packed(p) => p.charge(),
            Set::Table(t) => t.charge(),
        }
    }

    /// The member at storage position `i` (< len).
    fn at(&self, i: usize) -> Vec<u8> {
        match self {
            Set::Ints(v) => int_text(v[i]),
            Set::Packed(p) => p.get(i).expect("i < len").to_vec(),
            Set::Table(t) => t.get(i).to_vec(),
        }
    }

    fn position(&self, member: &[u8]) -> Option<usize> {
        match self {
            Set::Ints(v) => v.binary_search(&parse_i64(member)?).ok(),
            Set::Packed(p) => p.iter().position(|m| m == member),
            Set::Table(t) => t.find(member),
        }
    }

    fn remove_at(&mut self, i: usize) {
        match self {
            Set::Ints(v) => {
                v.remove(i);
                if v.capacity() > 2 * v.len() + 8 {
                    v.shrink_to_fit();
                }
            }
            Set::Packed(p) => p.remove_range(i, i + 1),
            Set::Table(t) => {
                t.swap_remove(i);
            }
        }
    }

    /// SISMEMBER.
    pub(crate) fn contains(&self, member: &[u8]) -> bool {
        self.position(member).is_some()
    }

    /// Leaves the integer encoding: packed if `extra` more members of at
    /// most `longest` bytes would fit, else a table.
    fn convert(&mut self, extra: usize, longest: usize, force_table: bool) -> Result<()> {
        let members: Vec<Vec<u8>> = (0..self.len()).map(|i| self.at(i)).collect();
        let compact = !force_table
            && members.len() + extra <= COMPACT_MAX_ENTRIES
            && longest <= COMPACT_MAX_BYTES
            && members.iter().all(|m| m.len() <= COMPACT_MAX_BYTES);
        *self = if compact {
            let mut p = Packed::default();
            members.iter().try_for_each(|m| p.push(m))?;
            Set::Packed(p)
        } else {
            let mut t = Dense::with_capacity(members.len() + extra.min(1024))?;
            for m in &members {
                t.push(boxed(m)?)?;
            }
            Set::Table(t)
        };
        Ok(())
    }

    /// Adds one member (`remaining` more, this one included, are coming);
    /// true if it was new.
    fn add_one(&mut self, member: &[u8], remaining: usize) -> Result<bool> {
        if let Set::Ints(v) = self
            && let Some(n) = parse_i64(member)
        {
            match v.binary_search(&n) {
                Ok(_) => return Ok(false),
                Err(at) if v.len() < INTSET_MAX_ENTRIES => {
                    super::try_reserve(v, 1)?;
                    v.insert(at, n);
                    return Ok(true);
                }
                Err(_) => {}
            }
        }
        if self.contains(member) {
            return Ok(false);
        }
        match self {
            Set::Ints(v) => {
                let force_table = v.len() >= INTSET_MAX_ENTRIES;
                self.convert(remaining, member.len(), force_table)?
            }
            Set::Packed(p)
                if p.len() + 1 > COMPACT_MAX_ENTRIES || member.len() > COMPACT_MAX_BYTES =>
            {
                self.convert(remaining, member.len(), true)?
            }
            _ => {}
        }
        match self {
            Set::Packed(p) => p.push(member)?,
            Set::Table(t) => {
                t.push(boxed(member)?)?;
            }
            Set::Ints(_) => unreachable!("converted above"),
        }
        Ok(true)
    }

    /// SADD: returns how many members were new.
    pub(crate) fn add(&mut self, members: &[&[u8]]) -> Result<usize> {
        let mut added = 0;
        for (i, m) in members.iter().enumerate() {
            added += usize::from(self.add_one(m, members.len() - i)?);
        }
        Ok(added)
    }

    /// SREM: returns how many members were removed.
    pub(crate) fn remove(&mut self, members: &[&[u8]]) -> usize {
        let mut removed = 0;
        for m in members {
            if let Some(i) = self.position(m) {
                self.remove_at(i);
                removed += 1;
            }
        }
        removed
    }

    /// SMEMBERS (in storage order: ascending for integer sets).
    pub(crate) fn members(&self) -> Vec<Vec<u8>> {
        match self {
            Set::Ints(v) => v.iter().map(|&n| int_text(n)).collect(),
            Set::Packed(p) => p.iter().map(<[u8]>::to_vec).collect(),
            Set::Table(t) => t.items().iter().map(|m| m.to_vec()).collect(),
        }
    }

    /// SPOP with a count: removes and returns up to `count` random members.
    pub(crate) fn pop(&mut self, count: usize) -> Vec<Vec<u8>> {
        if count >= self.len() {
            let all = self.members();
            *self = Set::default();
            return all;
        }
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let i = random_below(self.len());
            out.push(self.at(i));
            self.remove_at(i);
        }
        out
    }

    /// SRANDMEMBER with a count: for `count >= 0`, up to `count` distinct
    /// random members (all of them if `count >= len`); for `count < 0`,
    /// exactly `-count` members, repeats allowed, at most
    /// [`MAX_RANDOM_REPEATS`] (a reply that size would not fit in memory
    /// anyway; Redis also refuses `i64::MIN`).
    pub(crate) fn random(&self, count: i64) -> Result<Vec<Vec<u8>>> {
        let len = self.len();
        if count < 0 && count.unsigned_abs() > MAX_RANDOM_REPEATS {
            return Err(Error::with_message(
                ErrorKind::InvalidArgument,
                format!(
                    "count {count} is out of range (at most {MAX_RANDOM_REPEATS} members with repeats)"
                ),
            ));
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        if count < 0 {
            return Ok((0..count.unsigned_abs())
                .map(|_| self.at(random_below(len)))
                .collect());
        }
        let count = count as u64;
        if count >= len as u64 {
            return Ok(self.members());
        }
        let count = count as usize;
        if count.saturating_mul(4) <= len {
            // Few of many: draw positions, rejecting repeats, so a call
            // costs O(count) rather than O(len) (SRANDMEMBER of one member
            // on a set of millions).
            let mut seen = std::collections::HashSet::with_capacity(count);
            while seen.len() < count {
                seen.insert(random_below(len));
            }
            return Ok(seen.into_iter().map(|i| self.at(i)).collect());
        }
        // Most of them: a partial Fisher-Yates shuffle of the positions.
        let mut positions: Vec<usize> = (0..len).collect();
        for k in 0..count {
            let j = k + random_below(len - k);
            positions.swap(k, j);
        }
        Ok(positions[..count].iter().map(|&i| self.at(i)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        v.sort();
        v
    }

    #[test]
    fn random_members_are_distinct_whether_few_or_most_are_asked() {
        let mut s = Set::default();
        let members: Vec<Vec<u8>> = (0..1000).map(|i| format!("m{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = members.iter().map(|m| m.as_slice()).collect();
        s.add(&refs).unwrap();
        for count in [1i64, 3, 250, 251, 999] {
            let got = s.random(count).unwrap();
            assert_eq!(got.len(), count as usize);
            let distinct: std::collections::HashSet<_> = got.iter().collect();
            assert_eq!(distinct.len(), got.len(), "count {count}: a member came twice");
            assert!(got.iter().all(|m| s.contains(m)));
        }
    }

    #[test]
    fn integers_then_strings_then_a_table() {
        let mut s = Set::default();
        assert_eq!(s.add(&[b"3", b"1", b"2", b"1"]).unwrap(), 3);
        assert!(matches!(s, Set::Ints(_)));
        assert_eq!(
            s.members(),
            vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]
        );
        // "01" is not a canonical integer: the set switches encoding.
        assert_eq!(s.add(&[b"01"]).unwrap(), 1);
        assert!(matches!(s, Set::Packed(_)));
        assert!(s.contains(b"01") && s.contains(b"1") && !s.contains(b"4"));
        s.add(&[&[b'x'; 65][..]]).unwrap();
        assert!(matches!(s, Set::Table(_)));
        assert_eq!(s.len(), 5);
        assert!(s.contains(b"2"));
        assert_eq!(s.remove(&[b"2", b"2", b"nope"]), 1);
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn many_integers_become_a_table() {
        let mut s = Set::default();
        let texts: Vec<String> = (0..600).map(|i| i.to_string()).collect();
        let refs: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
        assert_eq!(s.add(&refs).unwrap(), 600);
        assert!(matches!(s, Set::Table(_)));
        assert!(refs.iter().all(|m| s.contains(m)));
    }

    #[test]
    fn pop_and_random_members() {
        let mut s = Set::default();
        s.add(&[b"a", b"b", b"c", b"d"]).unwrap();
        let r = s.random(3).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            sorted(r.clone())
                .windows(2)
                .filter(|w| w[0] == w[1])
                .count(),
            0
        );
        assert_eq!(s.random(-7).unwrap().len(), 7);
        assert_eq!(sorted(s.random(10).unwrap()), sorted(s.members()));
        assert_eq!(
            s.random(i64::MIN).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let popped = s.pop(3);
        assert_eq!(popped.len(), 3);
        assert_eq!(s.len(), 1);
        assert!(popped.iter().all(|m| !s.contains(m)));
        assert_eq!(s.pop(5).len(), 1);
        assert_eq!(s.len(), 0);
    }
}
