//! List commands: LPUSH RPUSH LPOP RPOP LRANGE LLEN LINDEX LSET LREM LTRIM.

use super::{growth, no_elements};
use crate::Cache;
use crate::engine::shard::Access;
use crate::error::{Error, ErrorKind, Result};
use crate::types::List;

impl Cache {
    fn push<E: AsRef<[u8]>>(&self, key: &[u8], elements: &[E], front: bool) -> Result<u64> {
        if elements.is_empty() {
            return Err(no_elements(if front { "lpush" } else { "rpush" }));
        }
        self.check_elements(elements)?;
        let items: Vec<&[u8]> = elements.iter().map(AsRef::as_ref).collect();
        let n = self.with_collection(key, Access::Create, growth(elements), |l: &mut List| {
            l.push(&items, front)
        })?;
        Ok(n.unwrap_or(0) as u64)
    }

    /// LPUSH: inserts the elements at the head, one after the other (the
    /// last one ends up first); returns the list's new length.
    pub fn lpush<E: AsRef<[u8]>>(&self, key: &[u8], elements: &[E]) -> Result<u64> {
        self.push(key, elements, true)
    }

    /// RPUSH: appends the elements at the tail; returns the new length.
    pub fn rpush<E: AsRef<[u8]>>(&self, key: &[u8], elements: &[E]) -> Result<u64> {
        self.push(key, elements, false)
    }

    /// LPOP without a count: the head element, or `None` if the key is absent.
    pub fn lpop(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.lpop_count(key, 1)?.and_then(|mut v| v.pop()))
    }

    /// RPOP without a count: the tail element, or `None`.
    pub fn rpop(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.rpop_count(key, 1)?.and_then(|mut v| v.pop()))
    }

    /// LPOP with a count: up to `count` elements from the head, in order;
    /// `None` if the key is absent (Redis's null array), an empty vector
    /// for a count of 0.
    pub fn lpop_count(&self, key: &[u8], count: usize) -> Result<Option<Vec<Vec<u8>>>> {
        self.with_collection(key, Access::Write, 0, |l: &mut List| Ok(l.pop(count, true)))
    }

    /// RPOP with a count: up to `count` elements from the tail.
    pub fn rpop_count(&self, key: &[u8], count: usize) -> Result<Option<Vec<Vec<u8>>>> {
        self.with_collection(
            key,
            Access::Write,
            0,
            |l: &mut List| Ok(l.pop(count, false)),
        )
    }

    /// LRANGE: elements `start..=stop`; negative indexes count from the
    /// end, out-of-range ends are clamped, an absent key is empty.
    pub fn lrange(&self, key: &[u8], start: i64, stop: i64) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .with_collection(
                key,
                Access::Read,
                0,
                |l: &mut List| Ok(l.range(start, stop)),
            )?
            .unwrap_or_default())
    }

    /// LLEN (0 for an absent key).
    pub fn llen(&self, key: &[u8]) -> Result<u64> {
        Ok(self
            .with_collection(key, Access::Read, 0, |l: &mut List| Ok(l.len() as u64))?
            .unwrap_or(0))
    }

    /// LINDEX: the element at `index` (negative from the end), or `None`.
    pub fn lindex(&self, key: &[u8], index: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .with_collection(key, Access::Read, 0, |l: &mut List| Ok(l.index(index)))?
            .flatten())
    }

    /// LSET: replaces the element at `index`. `NotFound` ("no such key")
    /// for an absent key, `InvalidArgument` ("index out of range").
    pub fn lset(&self, key: &[u8], index: i64, element: &[u8]) -> Result<()> {
        self.check_value(element)?;
        self.with_collection(key, Access::Write, growth(&[element]), |l: &mut List| {
            l.set(index, element)
        })?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such key"))
    }

    /// LREM: removes up to |count| occurrences of `element` (from the head
    /// if count > 0, from the tail if < 0, all if 0); returns how many.
    pub fn lrem(&self, key: &[u8], count: i64, element: &[u8]) -> Result<u64> {
        Ok(self
            .with_collection(key, Access::Write, 0, |l: &mut List| {
                Ok(l.rem(count, element) as u64)
            })?
            .unwrap_or(0))
    }

    /// LTRIM: keeps only elements `start..=stop` (LRANGE's index rules); a
    /// list left empty is removed.
    pub fn ltrim(&self, key: &[u8], start: i64, stop: i64) -> Result<()> {
        self.with_collection(key, Access::Write, 0, |l: &mut List| {
            l.trim(start, stop);
            Ok(())
        })?;
        Ok(())
    }
}
