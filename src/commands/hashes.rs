//! Hash commands: HSET HGET HDEL HEXISTS HKEYS HVALS HLEN HGETALL HINCRBY
//! HSETNX.

use super::no_elements;
use crate::Cache;
use crate::engine::shard::Access;
use crate::error::Result;
use crate::types::Hash;

impl Cache {
    /// HSET: sets the fields; returns how many were new.
    pub fn hset<F: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        key: &[u8],
        pairs: &[(F, V)],
    ) -> Result<u64> {
        if pairs.is_empty() {
            return Err(no_elements("hset"));
        }
        let items: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(f, v)| (f.as_ref(), v.as_ref()))
            .collect();
        for (f, v) in &items {
            self.check_value(f)?;
            self.check_value(v)?;
        }
        let growth = items
            .iter()
            .map(|(f, v)| (f.len() + v.len()) as u64 + 64)
            .sum();
        let n = self.with_collection(key, Access::Create, growth, |h: &mut Hash| h.set(&items))?;
        Ok(n.unwrap_or(0) as u64)
    }

    /// HSETNX: sets the field only if it is new; true if it did.
    pub fn hsetnx(&self, key: &[u8], field: &[u8], value: &[u8]) -> Result<bool> {
        self.check_value(field)?;
        self.check_value(value)?;
        let growth = (field.len() + value.len()) as u64 + 64;
        Ok(self
            .with_collection(key, Access::Create, growth, |h: &mut Hash| {
                h.set_if_new(field, value)
            })?
            .unwrap_or(false))
    }

    /// HGET.
    pub fn hget(&self, key: &[u8], field: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .with_collection(key, Access::Read, 0, |h: &mut Hash| Ok(h.get(field)))?
            .flatten())
    }

    /// HDEL: removes the fields; returns how many were there.
    pub fn hdel<F: AsRef<[u8]>>(&self, key: &[u8], fields: &[F]) -> Result<u64> {
        if fields.is_empty() {
            return Err(no_elements("hdel"));
        }
        let items: Vec<&[u8]> = fields.iter().map(AsRef::as_ref).collect();
        Ok(self
            .with_collection(key, Access::Write, 0, |h: &mut Hash| {
                Ok(h.delete(&items) as u64)
            })?
            .unwrap_or(0))
    }

    /// HEXISTS.
    pub fn hexists(&self, key: &[u8], field: &[u8]) -> Result<bool> {
        Ok(self
            .with_collection(key, Access::Read, 0, |h: &mut Hash| Ok(h.contains(field)))?
            .unwrap_or(false))
    }

    /// HKEYS (insertion order while compact, no particular order after).
    pub fn hkeys(&self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .with_collection(key, Access::Read, 0, |h: &mut Hash| Ok(h.column(false)))?
            .unwrap_or_default())
    }

    /// HVALS (in HKEYS's order).
    pub fn hvals(&self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .with_collection(key, Access::Read, 0, |h: &mut Hash| Ok(h.column(true)))?
            .unwrap_or_default())
    }

    /// HLEN.
    pub fn hlen(&self, key: &[u8]) -> Result<u64> {
        Ok(self
            .with_collection(key, Access::Read, 0, |h: &mut Hash| Ok(h.len() as u64))?
            .unwrap_or(0))
    }

    /// HGETALL: (field, value) pairs.
    pub fn hgetall(&self, key: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .with_collection(key, Access::Read, 0, |h: &mut Hash| Ok(h.pairs()))?
            .unwrap_or_default())
    }

    /// HINCRBY: adds `delta` to the field's integer (0 if absent); returns
    /// the result. `NotANumber` if the value is not an integer, `Overflow`
    /// past the i64 range.
    pub fn hincrby(&self, key: &[u8], field: &[u8], delta: i64) -> Result<i64> {
        self.check_value(field)?;
        let growth = field.len() as u64 + 84;
        Ok(self
            .with_collection(key, Access::Create, growth, |h: &mut Hash| {
                h.incr_by(field, delta)
            })?
            .unwrap_or(0))
    }
}
