//! Memory accounting against jemalloc's own statistics, at 1M entries of
//! 16-byte keys and 100-byte values (the workload of docs/performance.md).
//!
//! One test in this file on purpose: jemalloc's counters are process-wide,
//! so no other test may allocate while it measures.

#![cfg(all(feature = "jemalloc", not(miri)))]

use nycache::{Cache, Config};
use tikv_jemalloc_ctl::{epoch, stats};

fn allocated() -> u64 {
    epoch::advance().unwrap();
    stats::allocated::read().unwrap() as u64
}

#[test]
fn used_bytes_agrees_with_jemalloc_at_one_million_entries() {
    const N: u64 = 1_000_000;
    let before = allocated();
    let cfg = Config::builder().max_memory(4 << 30).maintenance_ms(0).build().unwrap();
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
