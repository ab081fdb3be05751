//! Every policy honours both bounds exactly: `max_entries` by count and
//! `max_memory` by bytes, whatever the mix of entry weights.

use nycache::{Cache, Config, PolicyKind};

const POLICIES: [PolicyKind; 4] = [PolicyKind::Lru, PolicyKind::TinyLfu, PolicyKind::S3Fifo, PolicyKind::Adaptive];

#[test]
fn max_entries_bounds_the_count_exactly() {
    for policy in POLICIES {
        let cfg = Config::builder().policy(policy).max_entries(100).shards(1).maintenance_ms(0).build().unwrap();
        let c = Cache::new(cfg).unwrap();
        for i in 0..1000u32 {
            c.set(&i.to_le_bytes(), b"v", None).unwrap();
            // Reads in between, so the policies' hit paths run too.
            let _ = c.get(&(i / 2).to_le_bytes()).unwrap();
            assert!(c.len() <= 100, "{policy}: {} entries", c.len());
        }
        assert_eq!(c.len(), 100, "{policy}");
        assert_eq!(c.stats().evictions, 900, "{policy}");
    }
}

#[test]
fn byte_budget_holds_with_mixed_weights() {
    for policy in POLICIES {
        let budget = 64 * 1024;
        let cfg = Config::builder()
            .policy(policy)
            .max_memory(budget)
            .shards(1)
            .max_key_size(16)
            .max_value_size(16 * 1024)
            .maintenance_ms(0)
            .build()
            .unwrap();
        let c = Cache::new(cfg).unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly small values, some large: one large entry must evict
            // as many small ones as it needs.
            let len = if x % 16 == 0 { 8 * 1024 + (x % 8192) as usize } else { (x % 200) as usize };
            let key = (x % 600).to_le_bytes();
            // Writes that add side charges too: a TTL's timer record, client
            // flags, and a CAS version assigned by `gets` (which makes room
            // while the entry it reads is set aside).
            match (x >> 20) % 4 {
                0 => c.set(&key, &vec![b'w'; len], Some(std::time::Duration::from_secs(60))).unwrap(),
                1 => c.set_with_flags(&key, &vec![b'w'; len], None, 3).unwrap(),
                _ => c.set(&key, &vec![b'w'; len], None).unwrap(),
            }
            let other = ((x >> 7) % 600).to_le_bytes();
            if (x >> 30) % 3 == 0 {
                let _ = c.gets(&other).unwrap();
            } else {
                let _ = c.get(&other).unwrap();
            }
            let st = c.stats();
            assert!(st.used_bytes <= budget, "{policy} step {i}: {} > {budget}", st.used_bytes);
        }
        // A value of a quarter of the budget still fits, by evicting.
        c.set(b"big", &vec![b'b'; 16 * 1024], None).unwrap();
        assert!(c.exists(b"big").unwrap(), "{policy}");
        assert!(c.stats().used_bytes <= budget, "{policy}");
    }
}

#[test]
fn each_entry_pays_for_its_policy_sketch_and_ghost() {
    // One identical entry under each policy: the charge above exact LRU is
    // the policy's per-entry share of its sketch (tinylfu), ghost (s3fifo)
    // or both (adaptive), so `max_memory` bounds those structures too.
    let used = |policy| {
        let cfg = Config::builder().policy(policy).shards(1).maintenance_ms(0).build().unwrap();
        let c = Cache::new(cfg).unwrap();
        c.set(b"key", b"value", None).unwrap();
        c.stats().used_bytes
    };
    let [lru, tinylfu, s3fifo, adaptive] = POLICIES.map(used);
    let (sketch, ghost) = (tinylfu - lru, s3fifo - lru);
    assert!(sketch > 0 && ghost > 0, "lru {lru}, tinylfu {tinylfu}, s3fifo {s3fifo}");
    assert_eq!(adaptive - lru, sketch + ghost, "adaptive keeps both a sketch and a ghost");
}
