//! Set commands: SADD SREM SISMEMBER SMEMBERS SCARD SPOP SRANDMEMBER SINTER
//! SUNION SDIFF.
//!
//! The multi-key commands read each key under its own shard's lock in turn:
//! unlike Redis (one thread), they are not atomic against writers on other
//! threads.

use std::collections::HashSet;

use super::{growth, no_elements};
use crate::Cache;
use crate::engine::shard::Access;
use crate::error::Result;
use crate::types::Set;

impl Cache {
    /// SADD: adds the members; returns how many were new.
    pub fn sadd<M: AsRef<[u8]>>(&self, key: &[u8], members: &[M]) -> Result<u64> {
        if members.is_empty() {
            return Err(no_elements("sadd"));
        }
        self.check_elements(members)?;
        let items: Vec<&[u8]> = members.iter().map(AsRef::as_ref).collect();
        let n = self.with_collection(key, Access::Create, growth(members), |s: &mut Set| {
            s.add(&items)
        })?;
        Ok(n.unwrap_or(0) as u64)
    }

    /// SREM: removes the members; returns how many were there.
    pub fn srem<M: AsRef<[u8]>>(&self, key: &[u8], members: &[M]) -> Result<u64> {
        if members.is_empty() {
            return Err(no_elements("srem"));
        }
        let items: Vec<&[u8]> = members.iter().map(AsRef::as_ref).collect();
        Ok(self
            .with_collection(key, Access::Write, 0, |s: &mut Set| {
                Ok(s.remove(&items) as u64)
            })?
            .unwrap_or(0))
    }

    /// SISMEMBER.
    pub fn sismember(&self, key: &[u8], member: &[u8]) -> Result<bool> {
        Ok(self
            .with_collection(key, Access::Read, 0, |s: &mut Set| Ok(s.contains(member)))?
            .unwrap_or(false))
    }

    /// SMEMBERS (in no particular order; empty for an absent key).
    pub fn smembers(&self, key: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .with_collection(key, Access::Read, 0, |s: &mut Set| Ok(s.members()))?
            .unwrap_or_default())
    }

    /// SCARD.
    pub fn scard(&self, key: &[u8]) -> Result<u64> {
        Ok(self
            .with_collection(key, Access::Read, 0, |s: &mut Set| Ok(s.len() as u64))?
            .unwrap_or(0))
    }

    /// SPOP without a count: removes and returns a random member, or `None`.
    pub fn spop(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.spop_count(key, 1)?.pop())
    }

    /// SPOP with a count: removes and returns up to `count` random members
    /// (empty for an absent key).
    pub fn spop_count(&self, key: &[u8], count: usize) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .with_collection(key, Access::Write, 0, |s: &mut Set| Ok(s.pop(count)))?
            .unwrap_or_default())
    }

    /// SRANDMEMBER without a count: a random member, or `None`.
    pub fn srandmember(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.srandmember_count(key, 1)?.pop())
    }

    /// SRANDMEMBER with a count: `count >= 0` gives up to `count` distinct
    /// members, `count < 0` exactly `-count` members with repeats (at most
    /// 2^24: `InvalidArgument` beyond).
    pub fn srandmember_count(&self, key: &[u8], count: i64) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .with_collection(key, Access::Read, 0, |s: &mut Set| s.random(count))?
            .unwrap_or_default())
    }

    /// The members of every key (absent keys as empty sets); `WrongType`
    /// if any key holds another type.
    fn all_members<K: AsRef<[u8]>>(&self, keys: &[K], command: &str) -> Result<Vec<Vec<Vec<u8>>>> {
        if keys.is_empty() {
            return Err(no_elements(command));
        }
        keys.iter().map(|k| self.smembers(k.as_ref())).collect()
    }

    /// SINTER: the members in every set (an absent key is an empty set).
    pub fn sinter<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Vec<u8>>> {
        let mut sets = self.all_members(keys, "sinter")?;
        sets.sort_by_key(Vec::len);
        let mut iter = sets.into_iter();
        let first = iter.next().unwrap_or_default();
        let rest: Vec<HashSet<Vec<u8>>> = iter.map(|s| s.into_iter().collect()).collect();
        Ok(first
            .into_iter()
            .filter(|m| rest.iter().all(|s| s.contains(m)))
            .collect())
    }

    /// SUNION: the members in any set.
    pub fn sunion<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Vec<u8>>> {
        let sets = self.all_members(keys, "sunion")?;
        let mut seen = HashSet::new();
        Ok(sets
            .into_iter()
            .flatten()
            .filter(|m| seen.insert(m.clone()))
            .collect())
    }

    /// SDIFF: the members of the first set in none of the others.
    pub fn sdiff<K: AsRef<[u8]>>(&self, keys: &[K]) -> Result<Vec<Vec<u8>>> {
        let mut sets = self.all_members(keys, "sdiff")?.into_iter();
        let first = sets.next().unwrap_or_default();
        let others: HashSet<Vec<u8>> = sets.flatten().collect();
        Ok(first.into_iter().filter(|m| !others.contains(m)).collect())
    }
}
