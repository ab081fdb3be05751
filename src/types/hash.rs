//! Hashes (HSET, HGET, HDEL, HEXISTS, HKEYS, HVALS, HLEN, HGETALL, HINCRBY,
//! HSETNX): field/value pairs in a packed buffer while small (insertion
//! order), a [`Dense`] table of pairs after.

use super::dense::{Dense, Keyed};
use super::packed::Packed;
use super::{COMPACT_MAX_BYTES, COMPACT_MAX_ENTRIES, boxed, heap_of};
use crate::decimal::{checked_incr, format_i64, parse_i64};
use crate::error::{Error, ErrorKind, Result};

/// One field and its value in a full hash.
#[derive(Clone)]
pub(crate) struct Pair {
    field: Box<[u8]>,
    value: Box<[u8]>,
}

impl Keyed for Pair {
    fn key(&self) -> &[u8] {
        &self.field
    }
    fn heap(&self) -> usize {
        heap_of(&self.field) + heap_of(&self.value)
    }
}

/// A hash value.
#[derive(Clone)]
pub(crate) enum Hash {
    /// Field, value, field, value, ...
    Packed(Packed),
    Table(Dense<Pair>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Packed(Packed::default())
    }
}

impl Hash {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        match self {
            Hash::Packed(p) => p.len() / 2,
            Hash::Table(t) => t.len(),
        }
    }

    /// Heap bytes owned.
    pub(crate) fn charge(&self) -> usize {
        match self {
            Hash::Packed(p) => p.charge(),
            Hash::Table(t) => t.charge(),
        }
    }

    /// The pair number of `field` in a packed hash.
    fn packed_position(p: &Packed, field: &[u8]) -> Option<usize> {
        p.iter().step_by(2).position(|f| f == field)
    }

    fn to_table(&mut self) -> Result<()> {
        if let Hash::Packed(p) = self {
            let mut t = Dense::with_capacity(p.len() / 2 + 1)?;
            let mut it = p.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                t.push(Pair {
                    field: boxed(f)?,
                    value: boxed(v)?,
                })?;
            }
            *self = Hash::Table(t);
        }
        Ok(())
    }

    /// Sets one field; true if it was new. With `only_new`, an existing
    /// field is left alone (HSETNX).
    fn set_one(&mut self, field: &[u8], value: &[u8], only_new: bool) -> Result<bool> {
        if let Hash::Packed(p) = self
            && (field.len() > COMPACT_MAX_BYTES
                || value.len() > COMPACT_MAX_BYTES
                || (p.len() / 2 >= COMPACT_MAX_ENTRIES
                    && Self::packed_position(p, field).is_none()))
        {
            self.to_table()?;
        }
        match self {
            Hash::Packed(p) => match Self::packed_position(p, field) {
                Some(k) => {
                    if !only_new {
                        p.replace(2 * k + 1, value)?;
                    }
                    Ok(false)
                }
                None => {
                    p.push(field)?;
                    if let Err(e) = p.push(value) {
                        p.remove_range(p.len() - 1, p.len());
                        return Err(e);
                    }
                    Ok(true)
                }
            },
            Hash::Table(t) => match t.find(field) {
                Some(pos) => {
                    if !only_new {
                        let v = boxed(value)?;
                        t.update(pos, |pair| pair.value = v);
                    }
                    Ok(false)
                }
                None => {
                    t.push(Pair {
                        field: boxed(field)?,
                        value: boxed(value)?,
                    })?;
                    Ok(true)
                }
            },
        }
    }

    /// HSET: returns how many fields were new.
    pub(crate) fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<usize> {
        let mut added = 0;
        for (f, v) in pairs {
            added += usize::from(self.set_one(f, v, false)?);
        }
        Ok(added)
    }

    /// HSETNX: true if the field was new (and so was set).
    pub(crate) fn set_if_new(&mut self, field: &[u8], value: &[u8]) -> Result<bool> {
        self.set_one(field, value, true)
    }

    /// HGET.
    pub(crate) fn get(&self, field: &[u8]) -> Option<Vec<u8>> {
        match self {
            Hash::Packed(p) => {
                Self::packed_position(p, field).map(|k| p.get(2 * k + 1).expect("pair").to_vec())
            }
            Hash::Table(t) => t.find(field).map(|pos| t.get(pos).value.to_vec()),
        }
    }

    /// HEXISTS.
    pub(crate) fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Packed(p) => Self::packed_position(p, field).is_some(),
            Hash::Table(t) => t.find(field).is_some(),
        }
    }

    /// HDEL: returns how many fields were removed.
    pub(crate) fn delete(&mut self, fields: &[&[u8]]) -> usize {
        let mut removed = 0;
        for f in fields {
            match self {
                Hash::Packed(p) => {
                    if let Some(k) = Self::packed_position(p, f) {
                        p.remove_range(2 * k, 2 * k + 2);
                        removed += 1;
                    }
                }
                Hash::Table(t) => {
                    if let Some(pos) = t.find(f) {
                        t.swap_remove(pos);
                        removed += 1;
                    }
                }
            }
        }
        removed
    }

    /// HGETALL: every (field, value) pair.
    pub(crate) fn pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        match self {
            Hash::Packed(p) => {
                let mut out = Vec::with_capacity(p.len() / 2);
                let mut it = p.iter();
                while let (Some(f), Some(v)) = (it.next(), it.next()) {
                    out.push((f.to_vec(), v.to_vec()));
                }
                out
            }
            Hash::Table(t) => t
                .items()
                .iter()
                .map(|pair| (pair.field.to_vec(), pair.value.to_vec()))
                .collect(),
        }
    }

    /// HKEYS (`values` false) or HVALS (`values` true).
    pub(crate) fn column(&self, values: bool) -> Vec<Vec<u8>> {
        match self {
            Hash::Packed(p) => p
                .iter()
                .skip(usize::from(values))
                .step_by(2)
                .map(<[u8]>::to_vec)
                .collect(),
            Hash::Table(t) => t
                .items()
                .iter()
                .map(|pair| {
                    if values {
                        pair.value.to_vec()
                    } else {
                        pair.field.to_vec()
                    }
                })
                .collect(),
        }
    }

    /// HINCRBY: adds `delta` to the field's integer value (a missing field
    /// counts as 0). `NotANumber` ("hash value is not an integer") if the
    /// value is not a canonical integer, `Overflow` past the i64 range.
    pub(crate) fn incr_by(&mut self, field: &[u8], delta: i64) -> Result<i64> {
        let current = match self.get(field) {
            None => 0,
            Some(v) => parse_i64(&v)
                .ok_or_else(|| Error::new(ErrorKind::NotANumber, "hash value is not an integer"))?,
        };
        let next = checked_incr(current, delta).ok_or_else(|| {
            Error::new(ErrorKind::Overflow, "increment or decrement would overflow")
        })?;
        let mut buf = [0u8; 20];
        self.set_one(field, format_i64(next, &mut buf), false)?;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(f: impl Fn(&mut Hash)) {
        let mut compact = Hash::default();
        f(&mut compact);
        let mut full = Hash::default();
        full.to_table().unwrap();
        f(&mut full);
    }

    #[test]
    fn set_get_delete_in_both_encodings() {
        both(|h| {
            assert_eq!(
                h.set(&[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]).unwrap(),
                2
            );
            assert_eq!(h.len(), 2);
            assert_eq!(h.get(b"a").unwrap(), b"3");
            assert!(!h.set_if_new(b"a", b"9").unwrap());
            assert!(h.set_if_new(b"c", b"x").unwrap());
            assert_eq!(h.incr_by(b"a", 4).unwrap(), 7);
            assert_eq!(h.incr_by(b"n", -2).unwrap(), -2);
            assert_eq!(
                h.incr_by(b"c", 1).unwrap_err().kind(),
                ErrorKind::NotANumber
            );
            assert_eq!(
                h.incr_by(b"a", i64::MAX).unwrap_err().kind(),
                ErrorKind::Overflow
            );
            assert_eq!(h.delete(&[b"b", b"zz", b"b"]), 1);
            let mut keys = h.column(false);
            keys.sort();
            assert_eq!(keys, vec![b"a".to_vec(), b"c".to_vec(), b"n".to_vec()]);
            assert_eq!(h.pairs().len(), 3);
            assert!(h.contains(b"c") && !h.contains(b"b"));
        });
    }

    #[test]
    fn a_long_value_switches_to_the_table() {
        let mut h = Hash::default();
        h.set(&[(b"f", b"v")]).unwrap();
        h.set(&[(b"g", &[b'v'; 65][..])]).unwrap();
        assert!(matches!(h, Hash::Table(_)));
        assert_eq!(h.get(b"f").unwrap(), b"v");
        assert_eq!(h.get(b"g").unwrap().len(), 65);
    }
}
