//! The data-structure commands of [`crate::Cache`], one module per type:
//! Redis's names, arguments and replies (Redis 7), on collections stored
//! as values of cache entries (see [`crate::types`]).
//!
//! Every command checks its arguments before touching the key (as Redis
//! parses a whole command before running it), runs under the key's shard
//! lock, and either does all of its work or none of it (an allocation
//! failure part way through a multi-element write may leave the elements
//! before it applied, and says `OutOfMemory`). A command on a key holding
//! another type returns `WrongType` and changes nothing; string commands
//! (`get`, `incr`, ...) on a collection do the same, and `set` replaces a
//! collection like any value. TTLs, eviction, `delete`, `exists`, `expire`
//! and `scan` treat a collection key like any other key.

mod hashes;
mod lists;
mod sets;
mod zsets;

pub use zsets::Scored;

use crate::Cache;
use crate::error::{Error, ErrorKind, Result};

/// Bytes a write of these elements may add, for the shard's budget check:
/// the bytes plus a generous per-element overhead.
pub(crate) fn growth<E: AsRef<[u8]>>(elements: &[E]) -> u64 {
    elements.iter().map(|e| e.as_ref().len() as u64 + 64).sum()
}

/// Redis's arity error, for a command given no elements.
pub(crate) fn no_elements(command: &str) -> Error {
    Error::with_message(
        ErrorKind::InvalidArgument,
        format!("wrong number of arguments for '{command}' command"),
    )
}

impl Cache {
    /// Checks each element against `max_value_size`.
    pub(crate) fn check_elements<E: AsRef<[u8]>>(&self, elements: &[E]) -> Result<()> {
        elements
            .iter()
            .try_for_each(|e| self.check_value(e.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use crate::test_rng::XorShift;
    use crate::{Cache, ErrorKind, ScoreBound, ZAddFlags};

    fn cache(config: &str) -> Cache {
        Cache::open(&format!("{config} maintenance_ms=0 policy=lru")).unwrap()
    }

    #[test]
    fn wrong_type_both_ways_and_set_overwrites() {
        let c = cache("max_memory=4MiB");
        c.rpush(b"l", &[b"a"]).unwrap();
        c.set(b"s", b"text", None).unwrap();
        assert_eq!(c.get(b"l").unwrap_err().kind(), ErrorKind::WrongType);
        assert_eq!(c.incr(b"l", 1).unwrap_err().kind(), ErrorKind::WrongType);
        assert_eq!(
            c.sadd(b"l", &[b"x"]).unwrap_err().kind(),
            ErrorKind::WrongType
        );
        assert_eq!(
            c.lpush(b"s", &[b"x"]).unwrap_err().kind(),
            ErrorKind::WrongType
        );
        assert_eq!(c.hget(b"s", b"f").unwrap_err().kind(), ErrorKind::WrongType);
        assert_eq!(
            c.get(b"s").unwrap().unwrap().as_bytes(),
            b"text",
            "a failed command changes nothing"
        );
        assert_eq!(
            c.get_many(&[b"l", b"s"]).unwrap()[0].is_none(),
            true,
            "MGET reads a list as absent"
        );
        c.set(b"l", b"now a string", None).unwrap();
        assert_eq!(c.llen(b"l").unwrap_err().kind(), ErrorKind::WrongType);
        assert!(c.exists(b"l").unwrap());
        c.check_invariants();
    }

    #[test]
    fn last_element_removes_the_key_and_ttl_applies_to_the_key() {
        let c = cache("max_memory=4MiB");
        c.sadd(b"k", &[b"m"]).unwrap();
        c.expire(b"k", Some(std::time::Duration::from_secs(60)))
            .unwrap();
        c.sadd(b"k", &[b"n"]).unwrap();
        assert!(
            matches!(c.ttl(b"k").unwrap(), crate::KeyTtl::Expires(_)),
            "a write keeps the TTL"
        );
        assert_eq!(c.srem(b"k", &[b"m", b"n"]).unwrap(), 2);
        assert!(!c.exists(b"k").unwrap());
        assert_eq!(c.stats().used_bytes, 0);
        assert_eq!(
            c.zadd(
                b"z",
                &[(1.0, b"a")],
                ZAddFlags {
                    xx: true,
                    ..Default::default()
                }
            )
            .unwrap(),
            0
        );
        assert!(
            !c.exists(b"z").unwrap(),
            "ZADD XX on a missing key creates nothing"
        );
        c.check_invariants();
    }

    #[test]
    fn memory_is_charged_as_collections_grow_and_shrink() {
        let c = cache("max_memory=64MiB shards=1");
        let mut last = 0;
        for i in 0..1000u32 {
            c.rpush(b"list", &[format!("element-{i}")]).unwrap();
            let used = c.stats().used_bytes;
            assert!(used >= last, "charge never drops while growing");
            last = used;
        }
        assert!(last > 1000 * 16, "{last}");
        c.ltrim(b"list", 0, 9).unwrap();
        assert!(c.stats().used_bytes < last / 4, "trim gives memory back");
        c.check_invariants();
    }

    #[test]
    fn a_collection_cannot_outgrow_its_shard_and_loses_nothing() {
        let c = cache("max_memory=256KiB shards=1 max_value_size=1KiB");
        let big = vec![b'x'; 1000];
        let mut pushed = 0;
        let err = loop {
            match c.rpush(b"l", &[&big]) {
                Ok(n) => pushed = n,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::TooLarge);
        assert_eq!(
            c.llen(b"l").unwrap(),
            pushed,
            "the failed push changed nothing"
        );
        c.check_invariants();
    }

    /// Commands from several threads on the same keys are each atomic:
    /// no increment or push is lost, and the shard's invariants hold.
    #[test]
    fn concurrent_commands_on_shared_keys_lose_nothing() {
        let c = cache("max_memory=64MiB");
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for i in 0..2000u32 {
                        c.hincrby(b"counter", b"n", 1).unwrap();
                        c.rpush(b"queue", &[format!("{t}:{i}")]).unwrap();
                        c.zincrby(b"board", 1.0, format!("p{}", i % 10).as_bytes())
                            .unwrap();
                        c.sadd(b"seen", &[format!("{}", i % 300)]).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(c.hget(b"counter", b"n").unwrap().unwrap(), b"8000");
        assert_eq!(c.llen(b"queue").unwrap(), 8000);
        assert_eq!(c.zscore(b"board", b"p3").unwrap(), Some(800.0));
        assert_eq!(c.scard(b"seen").unwrap(), 300);
        c.check_invariants();
    }

    /// Random commands on a small key space under a tight budget: the
    /// shard's invariants (charges add up, budget kept, no empty
    /// collection stored) hold after every step, while eviction runs.
    #[test]
    fn invariants_hold_under_random_commands_and_eviction() {
        let c = cache("max_memory=16KiB shards=1 max_key_size=64 max_value_size=1KiB");
        let mut r = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let op = r.below(14);
            // Mostly one type per key, with a few collisions (and `set`s).
            let group = if r.below(20) == 0 {
                r.below(4)
            } else {
                [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0, 3][op]
            };
            let key = format!("{group}:{}", r.below(6));
            let k = key.as_bytes();
            let elem = format!("{}", r.below(40)).repeat(1 + r.below(3) * r.below(30));
            let e = elem.as_bytes();
            let _ = match op {
                0 => c.lpush(k, &[e, e, e]).map(drop),
                1 => c.rpop_count(k, r.below(4)).map(drop),
                2 => c.ltrim(k, r.below(5) as i64, -(r.below(5) as i64)),
                3 => c.sadd(k, &[e, b"7"]).map(drop),
                4 => c.srem(k, &[e]).map(drop),
                5 => c.spop_count(k, r.below(3)).map(drop),
                6 => c.hset(k, &[(e, e)]).map(drop),
                7 => c.hdel(k, &[e]).map(drop),
                8 => c.hincrby(k, b"n", 3).map(drop),
                9 => c
                    .zadd(k, &[(r.below(9) as f64, e)], ZAddFlags::default())
                    .map(drop),
                10 => c.zpopmin(k, r.below(3)).map(drop),
                11 => c.zrem(k, &[e]).map(drop),
                12 => c.set(k, e, None),
                _ => c
                    .zrangebyscore(
                        k,
                        ScoreBound::inclusive(1.0),
                        ScoreBound::exclusive(5.0),
                        None,
                    )
                    .map(drop),
            };
            c.check_invariants();
        }
        assert!(
            c.stats().evictions > 0,
            "the budget made the policy evict: {:?}",
            c.stats()
        );
    }
}
