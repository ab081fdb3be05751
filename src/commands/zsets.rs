//! Sorted-set commands: ZADD (NX XX GT LT CH, and INCR as `zadd_incr`)
//! ZREM ZSCORE ZINCRBY ZCARD ZRANK ZRANGE ZRANGEBYSCORE ZCOUNT ZPOPMIN
//! ZPOPMAX. Scores are `f64`; [`crate::format_score`] renders them as
//! Redis replies do.

use super::{growth, no_elements};
use crate::Cache;
use crate::engine::shard::Access;
use crate::error::{Error, ErrorKind, Result};
use crate::types::zset::Outcome;
use crate::types::{ScoreBound, ZAddFlags, ZSet, index_range};

fn not_a_float() -> Error {
    Error::new(ErrorKind::NotANumber, "value is not a valid float")
}

/// A member with its score, as range and pop replies give them.
pub type Scored = (Vec<u8>, f64);

impl Cache {
    /// ZADD: adds or updates members under `flags`. Returns the number of
    /// members added, or added plus updated with `flags.ch`. Incompatible
    /// flags are `InvalidArgument` and a NaN score `NotANumber`, checked
    /// before the key is looked at (as Redis does).
    pub fn zadd<M: AsRef<[u8]>>(
        &self,
        key: &[u8],
        members: &[(f64, M)],
        flags: ZAddFlags,
    ) -> Result<u64> {
        if members.is_empty() {
            return Err(no_elements("zadd"));
        }
        flags.check()?;
        if members.iter().any(|(s, _)| s.is_nan()) {
            return Err(not_a_float());
        }
        let names: Vec<&[u8]> = members.iter().map(|(_, m)| m.as_ref()).collect();
        self.check_elements(&names)?;
        let counted = self.with_collection(
            key,
            Access::Create,
            growth(&names) + 16 * names.len() as u64,
            |z: &mut ZSet| {
                let (mut added, mut updated) = (0, 0);
                for ((score, _), name) in members.iter().zip(&names) {
                    match z.add(*score, name, flags, false)? {
                        Outcome::Added(_) => added += 1,
                        Outcome::Updated(_) => updated += 1,
                        Outcome::Same(_) | Outcome::Nop => {}
                    }
                }
                Ok(if flags.ch { added + updated } else { added })
            },
        )?;
        Ok(counted.unwrap_or(0))
    }

    /// ZADD with INCR: adds `increment` to the member's score (a new member
    /// starts from 0) under `flags`; returns the new score, or `None` when
    /// the flags prevented the change (Redis's null reply). `NotANumber` if
    /// the result would be NaN.
    pub fn zadd_incr(
        &self,
        key: &[u8],
        increment: f64,
        member: &[u8],
        flags: ZAddFlags,
    ) -> Result<Option<f64>> {
        flags.check()?;
        if increment.is_nan() {
            return Err(not_a_float());
        }
        self.check_value(member)?;
        let outcome = self.with_collection(
            key,
            Access::Create,
            member.len() as u64 + 80,
            |z: &mut ZSet| z.add(increment, member, flags, true),
        )?;
        Ok(match outcome {
            Some(Outcome::Added(s) | Outcome::Updated(s) | Outcome::Same(s)) => Some(s),
            Some(Outcome::Nop) | None => None,
        })
    }

    /// ZINCRBY: adds `increment` to the member's score; returns the new score.
    pub fn zincrby(&self, key: &[u8], increment: f64, member: &[u8]) -> Result<f64> {
        self.zadd_incr(key, increment, member, ZAddFlags::default())?
            .ok_or_else(|| Error::new(ErrorKind::Internal, "ZINCRBY without flags always applies"))
    }

    /// ZREM: removes the members; returns how many were there.
    pub fn zrem<M: AsRef<[u8]>>(&self, key: &[u8], members: &[M]) -> Result<u64> {
        if members.is_empty() {
            return Err(no_elements("zrem"));
        }
        let removed = self.with_collection(key, Access::Write, 0, |z: &mut ZSet| {
            Ok(members.iter().filter(|m| z.remove(m.as_ref())).count() as u64)
        })?;
        Ok(removed.unwrap_or(0))
    }

    /// ZSCORE.
    pub fn zscore(&self, key: &[u8], member: &[u8]) -> Result<Option<f64>> {
        Ok(self
            .with_collection(key, Access::Read, 0, |z: &mut ZSet| Ok(z.score(member)))?
            .flatten())
    }

    /// ZCARD.
    pub fn zcard(&self, key: &[u8]) -> Result<u64> {
        Ok(self
            .with_collection(key, Access::Read, 0, |z: &mut ZSet| Ok(z.len() as u64))?
            .unwrap_or(0))
    }

    /// ZRANK: the member's 0-based rank by ascending score, or `None`.
    pub fn zrank(&self, key: &[u8], member: &[u8]) -> Result<Option<u64>> {
        Ok(self
            .with_collection(key, Access::Read, 0, |z: &mut ZSet| {
                Ok(z.rank(member).map(|r| r as u64))
            })?
            .flatten())
    }

    /// ZRANGE by index (`start..=stop`, LRANGE's index rules), ascending,
    /// or descending with `rev` (indexes then count from the highest).
    pub fn zrange(&self, key: &[u8], start: i64, stop: i64, rev: bool) -> Result<Vec<Scored>> {
        let found = self.with_collection(key, Access::Read, 0, |z: &mut ZSet| {
            Ok(match index_range(start, stop, z.len()) {
                Some((from, to)) => z.by_rank(from, to, rev),
                None => Vec::new(),
            })
        })?;
        Ok(found.unwrap_or_default())
    }

    /// ZRANGEBYSCORE: members with `min <= score <= max` (or strictly,
    /// for exclusive bounds), ascending; `limit` is Redis's LIMIT offset
    /// count (a negative count means all the rest, a negative offset gives
    /// nothing).
    pub fn zrangebyscore(
        &self,
        key: &[u8],
        min: ScoreBound,
        max: ScoreBound,
        limit: Option<(i64, i64)>,
    ) -> Result<Vec<Scored>> {
        check_bounds(min, max)?;
        let (offset, count) = limit.unwrap_or((0, -1));
        let found = self.with_collection(key, Access::Read, 0, |z: &mut ZSet| {
            let (lo, hi) = z.score_ranks(min, max);
            if offset < 0 || lo >= hi {
                return Ok(Vec::new());
            }
            let from = lo.saturating_add(usize::try_from(offset).unwrap_or(usize::MAX));
            let to = if count < 0 {
                hi
            } else {
                hi.min(from.saturating_add(usize::try_from(count).unwrap_or(usize::MAX)))
            };
            Ok(if from >= to {
                Vec::new()
            } else {
                z.by_rank(from, to - 1, false)
            })
        })?;
        Ok(found.unwrap_or_default())
    }

    /// ZCOUNT: how many members score within the bounds.
    pub fn zcount(&self, key: &[u8], min: ScoreBound, max: ScoreBound) -> Result<u64> {
        check_bounds(min, max)?;
        let n = self.with_collection(key, Access::Read, 0, |z: &mut ZSet| {
            let (lo, hi) = z.score_ranks(min, max);
            Ok(hi.saturating_sub(lo) as u64)
        })?;
        Ok(n.unwrap_or(0))
    }

    /// ZPOPMIN: removes and returns up to `count` lowest members, lowest
    /// first (Redis's ZPOPMIN without a count is `count` 1).
    pub fn zpopmin(&self, key: &[u8], count: usize) -> Result<Vec<Scored>> {
        Ok(self
            .with_collection(
                key,
                Access::Write,
                0,
                |z: &mut ZSet| Ok(z.pop(count, false)),
            )?
            .unwrap_or_default())
    }

    /// ZPOPMAX: removes and returns up to `count` highest members, highest
    /// first.
    pub fn zpopmax(&self, key: &[u8], count: usize) -> Result<Vec<Scored>> {
        Ok(self
            .with_collection(key, Access::Write, 0, |z: &mut ZSet| Ok(z.pop(count, true)))?
            .unwrap_or_default())
    }
}

fn check_bounds(min: ScoreBound, max: ScoreBound) -> Result<()> {
    if min.value.is_nan() || max.value.is_nan() {
        return Err(Error::new(
            ErrorKind::NotANumber,
            "min or max is not a float",
        ));
    }
    Ok(())
}
