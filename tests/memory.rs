//! Memory accounting against jemalloc's own statistics, at 1M entries of
//! 16-byte keys and 100-byte values (the workload of docs/performance.md).
//!
//! One test in this file on purpose: jemalloc's counters are process-wide,
//! so no other test may allocate while it measures. It has two phases: the
//! engine's own accounting (exact LRU, no evictions), then the default
//! policy on a full cache under churn, where its sketch and ghost are at
//! their working size and must be covered by the per-entry policy charge.

#![cfg(all(feature = "jemalloc", not(miri)))]

use nycache::{Cache, Config};
use tikv_jemalloc_ctl::{epoch, stats};

fn allocated() -> u64 {
    epoch::advance().unwrap();
    stats::allocated::read().unwrap() as u64
}

#[test]
fn used_bytes_agrees_with_jemalloc() {
    jemalloc_has_the_projects_options();
    engine_accounting_at_one_million_entries();
    default_policy_on_a_full_cache_under_churn();
    collections_as_they_grow_and_shrink();
}

/// The options `.cargo/config.toml` compiles into jemalloc
/// (`JEMALLOC_SYS_WITH_MALLOC_CONF`): thread caches of small classes 4x
/// deeper than the default, which the epoch collector's batched frees need
/// (docs/design.md, "Reads without a lock").
fn jemalloc_has_the_projects_options() {
    use tikv_jemalloc_ctl::raw;
    // SAFETY: both names are jemalloc options of these C types (ssize_t, unsigned).
    let (mul, max) = unsafe {
        (
            raw::read::<isize>(b"opt.lg_tcache_nslots_mul\0").unwrap(),
            raw::read::<u32>(b"opt.tcache_nslots_small_max\0").unwrap(),
        )
    };
    assert_eq!((mul, max), (3, 1024), "jemalloc was built without the options of .cargo/config.toml");
}

/// Lists, sets, hashes and sorted sets, compact and full: `used_bytes`
/// follows jemalloc as they grow, as they shrink, and nothing stays behind:
/// later rounds end where the first did (memory that jemalloc's caches keep
/// after the first is no leak; they move by ±300 KB from round to round, so
/// the check spans two more rounds: a leak of even the 16,800 collections'
/// headers alone, ~0.8 MB a round, would exceed it).
fn collections_as_they_grow_and_shrink() {
    let start = allocated();
    collections_round();
    let after_one = allocated();
    collections_round();
    collections_round();
    let after_three = allocated();
    println!(
        "collections: {} B held after one round, {} B after three",
        after_one as i64 - start as i64,
        after_three as i64 - start as i64
    );
    assert!(after_three < after_one + (768 << 10), "two more rounds kept more: {after_one} then {after_three}");
}

fn collections_round() {
    let before = allocated();
    let cfg = Config::builder().max_memory(4 << 30).maintenance_ms(0).policy(nycache::PolicyKind::Lru).build().unwrap();
    let c = Cache::new(cfg).unwrap();
    let check = |phase: &str| {
        let real = allocated() - before;
        let used = c.stats().used_bytes;
        let ratio = used as f64 / real as f64;
        println!("collections, {phase}: jemalloc allocated {real} B, used_bytes {used} B, ratio {ratio:.4}");
        assert!((0.9..=1.1).contains(&ratio), "{phase}: used_bytes {used} vs jemalloc {real}: ratio {ratio:.3}");
    };
    // 200 full collections of 1000 elements and 4000 compact ones of 50, per type.
    for (keys, size) in [(200u32, 1000u32), (4000, 50)] {
        for k in 0..keys {
            let key = |t: &str| format!("{t}:{size}:{k}");
            for i in 0..size {
                let e = format!("element:{i:08}");
                c.rpush(key("l").as_bytes(), &[&e]).unwrap();
                c.sadd(key("s").as_bytes(), &[&e]).unwrap();
                c.hset(key("h").as_bytes(), &[(&e, &e)]).unwrap();
                c.zadd(key("z").as_bytes(), &[(f64::from(i), &e)], Default::default()).unwrap();
            }
        }
    }
    check("grown");
    for k in 0..200u32 {
        let key = |t: &str| format!("{t}:1000:{k}");
        c.ltrim(key("l").as_bytes(), 0, 99).unwrap();
        c.spop_count(key("s").as_bytes(), 900).unwrap();
        let fields: Vec<String> = (100..1000).map(|i| format!("element:{i:08}")).collect();
        c.hdel(key("h").as_bytes(), &fields).unwrap();
        c.zpopmax(key("z").as_bytes(), 900).unwrap();
    }
    check("shrunk to a tenth");
    c.flush();
    assert_eq!(c.stats().used_bytes, 0);
}

fn key_of(i: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&i.to_le_bytes());
    key[8..].copy_from_slice(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
    key
}

fn default_policy_on_a_full_cache_under_churn() {
    const MAX: u64 = 64 << 20;
    let before = allocated();
    let c = Cache::open(&format!("max_memory={MAX} maintenance_ms=0")).unwrap();
    let value = [b'v'; 100];
    // Three times what fits: the ghost queue fills up with the evicted.
    for i in 0..1_500_000u64 {
        c.set(&key_of(i), &value, None).unwrap();
    }
    let real = allocated() - before;
    let st = c.stats();
    assert!(st.evictions > 500_000, "the cache must be churning: {st:?}");
    assert!(st.used_bytes <= MAX, "{st:?}");
    let ratio = st.used_bytes as f64 / real as f64;
    println!(
        "default policy, full at {MAX} B: {} entries, jemalloc allocated {real} B, used_bytes {} B, ratio {ratio:.4}",
        st.entries, st.used_bytes
    );
    assert!((0.9..=1.1).contains(&ratio), "used_bytes {} vs jemalloc {real}: ratio {ratio:.3}", st.used_bytes);
    drop(c);
}

fn engine_accounting_at_one_million_entries() {
    const N: u64 = 1_000_000;
    let before = allocated();
    let cfg = Config::builder().max_memory(4 << 30).maintenance_ms(0).policy(nycache::PolicyKind::Lru).build().unwrap();
    let c = Cache::new(cfg).unwrap();
    let mut key = [0u8; 16];
    let value = [b'v'; 100];
    for i in 0..N {
        key[..8].copy_from_slice(&i.to_le_bytes());
        key[8..].copy_from_slice(&(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
        c.set(&key, &value, None).unwrap();
    }
    let after = allocated();
    let st = c.stats();
    assert_eq!(st.entries, N);
    assert_eq!(st.evictions, 0);
    let real = after - before;
    let used = st.used_bytes;
    let overhead_per_entry = (real as f64 - (N * 116) as f64) / N as f64;
    println!(
        "entries {N}: jemalloc allocated {real} B, cache used_bytes {used} B, ratio {:.4}, \
         overhead beyond key+value {overhead_per_entry:.1} B/entry, shards {}",
        used as f64 / real as f64,
        st.shards
    );
    let ratio = used as f64 / real as f64;
    assert!((0.9..=1.1).contains(&ratio), "used_bytes {used} vs jemalloc {real}: ratio {ratio:.3}");
    // Nothing is leaked: dropping the cache gives the memory back.
    drop(c);
    let end = allocated();
    assert!(end < before + (1 << 20), "after drop {end} vs before {before}");
}
