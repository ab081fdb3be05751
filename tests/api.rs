//! Behaviour of each operation of the Rust API, one test per concern.

use std::sync::Arc;
use std::time::Duration;

use nycache::{Cache, Config, ErrorKind, KeyTtl, ManualClock, PolicyKind};

fn cache() -> Cache {
    Cache::new(Config::builder().max_memory(8 << 20).maintenance_ms(0).build().unwrap()).unwrap()
}

fn clocked() -> (Cache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1000));
    let c = Cache::with_clock(Config::builder().max_memory(8 << 20).maintenance_ms(0).build().unwrap(), clock.clone())
        .unwrap();
    (c, clock)
}

#[test]
fn set_get_overwrite_delete() {
    let c = cache();
    assert!(c.get(b"k").unwrap().is_none());
    c.set(b"k", b"v1", None).unwrap();
    assert_eq!(c.get(b"k").unwrap().unwrap().as_bytes(), b"v1");
    c.set(b"k", b"value two", None).unwrap();
    assert_eq!(c.get(b"k").unwrap().unwrap().as_bytes(), b"value two");
    assert_eq!(c.len(), 1);
    assert!(c.delete(b"k").unwrap());
    assert!(!c.delete(b"k").unwrap());
    assert!(c.get(b"k").unwrap().is_none());
    assert!(c.is_empty());
}

#[test]
fn empty_key_and_empty_value_are_values() {
    let c = cache();
    c.set(b"", b"", None).unwrap();
    assert_eq!(c.get(b"").unwrap().unwrap().len(), 0);
    assert!(c.exists(b"").unwrap());
}

#[test]
fn get_into_reports_needed_length() {
    let c = cache();
    c.set(b"k", b"0123456789", None).unwrap();
    let mut small = [0u8; 4];
    assert_eq!(c.get_into(b"k", &mut small).unwrap(), Some(10));
    assert_eq!(small, [0; 4], "nothing is written when the buffer is too small");
    let mut big = [0u8; 16];
    assert_eq!(c.get_into(b"k", &mut big).unwrap(), Some(10));
    assert_eq!(&big[..10], b"0123456789");
    assert_eq!(c.get_into(b"missing", &mut big).unwrap(), None);
}

#[test]
fn value_handle_survives_overwrite_delete_flush_and_drop() {
    let c = cache();
    c.set(b"k", b"first", None).unwrap();
    let v = c.get(b"k").unwrap().unwrap();
    c.set(b"k", b"second", None).unwrap();
    assert_eq!(v.as_bytes(), b"first");
    let w = c.get(b"k").unwrap().unwrap();
    c.delete(b"k").unwrap();
    c.flush();
    drop(c);
    assert_eq!(v.as_bytes(), b"first");
    assert_eq!(w.as_bytes(), b"second");
}

#[test]
fn add_and_replace_conditions() {
    let c = cache();
    assert_eq!(c.replace(b"k", b"x", None).unwrap_err().kind(), ErrorKind::NotFound);
    c.add(b"k", b"a", None).unwrap();
    assert_eq!(c.add(b"k", b"b", None).unwrap_err().kind(), ErrorKind::Exists);
    assert_eq!(c.get(b"k").unwrap().unwrap().as_bytes(), b"a");
    c.replace(b"k", b"c", None).unwrap();
    assert_eq!(c.get(b"k").unwrap().unwrap().as_bytes(), b"c");
}

#[test]
fn gets_and_cas() {
    let c = cache();
    assert!(c.gets(b"k").unwrap().is_none());
    assert_eq!(c.cas(b"k", b"x", None, 1).unwrap_err().kind(), ErrorKind::NotFound);
    c.set_with_flags(b"k", b"v", None, 0xdead_beef).unwrap();
    let g = c.gets(b"k").unwrap().unwrap();
    assert_eq!(g.flags, 0xdead_beef);
    assert_eq!(c.gets(b"k").unwrap().unwrap().version, g.version, "reading keeps the version");
    c.cas(b"k", b"v2", None, g.version).unwrap();
    // The write changed the version: the old one no longer works.
    assert_eq!(c.cas(b"k", b"v3", None, g.version).unwrap_err().kind(), ErrorKind::CasMismatch);
    assert_eq!(c.get(b"k").unwrap().unwrap().as_bytes(), b"v2");
    let g2 = c.gets(b"k").unwrap().unwrap();
    assert_ne!(g2.version, g.version);
    c.set(b"k", b"other", None).unwrap();
    assert_eq!(c.cas(b"k", b"v4", None, g2.version).unwrap_err().kind(), ErrorKind::CasMismatch);
}

#[test]
fn incr_follows_redis_incrby() {
    let (c, clock) = clocked();
    assert_eq!(c.incr(b"n", 5).unwrap(), 5, "a missing key starts at 0");
    assert_eq!(c.decr(b"n", 7).unwrap(), -2);
    assert_eq!(c.get(b"n").unwrap().unwrap().as_bytes(), b"-2");
    c.set(b"t", b"10", Some(Duration::from_secs(10))).unwrap();
    assert_eq!(c.incr(b"t", 1).unwrap(), 11);
    assert!(matches!(c.ttl(b"t").unwrap(), KeyTtl::Expires(d) if d == Duration::from_secs(10)), "TTL kept");
    clock.advance(10_000);
    assert!(c.get(b"t").unwrap().is_none());
    for bad in [&b"abc"[..], b" 1", b"01", b"1.5", b""] {
        c.set(b"s", bad, None).unwrap();
        assert_eq!(c.incr(b"s", 1).unwrap_err().kind(), ErrorKind::NotANumber, "{bad:?}");
        assert_eq!(c.get(b"s").unwrap().unwrap().as_bytes(), bad, "unchanged after the error");
    }
    c.set(b"max", i64::MAX.to_string().as_bytes(), None).unwrap();
    assert_eq!(c.incr(b"max", 1).unwrap_err().kind(), ErrorKind::Overflow);
    assert_eq!(c.decr(b"x", i64::MIN).unwrap_err().kind(), ErrorKind::Overflow);
    c.set(b"min", i64::MIN.to_string().as_bytes(), None).unwrap();
    assert_eq!(c.decr(b"min", 1).unwrap_err().kind(), ErrorKind::Overflow);
}

#[test]
fn incr_keeps_flags() {
    let c = cache();
    c.set_with_flags(b"n", b"1", None, 7).unwrap();
    c.incr(b"n", 1).unwrap();
    assert_eq!(c.gets(b"n").unwrap().unwrap().flags, 7);
}

#[test]
fn ttl_expire_persist_touch() {
    let (c, clock) = clocked();
    assert_eq!(c.ttl(b"k").unwrap(), KeyTtl::Missing);
    c.set(b"k", b"v", None).unwrap();
    assert_eq!(c.ttl(b"k").unwrap(), KeyTtl::Persistent);
    assert!(c.expire(b"k", Some(Duration::from_millis(500))).unwrap());
    assert_eq!(c.ttl(b"k").unwrap(), KeyTtl::Expires(Duration::from_millis(500)));
    clock.advance(200);
    assert_eq!(c.ttl(b"k").unwrap(), KeyTtl::Expires(Duration::from_millis(300)));
    assert!(c.persist(b"k").unwrap());
    assert!(!c.persist(b"k").unwrap(), "no TTL left to remove");
    clock.advance(10_000);
    assert!(c.touch(b"k").unwrap());
    assert!(!c.touch(b"nope").unwrap());
    assert!(!c.expire(b"nope", None).unwrap());
    // A zero TTL deletes at once.
    assert!(c.expire(b"k", Some(Duration::ZERO)).unwrap());
    assert!(!c.exists(b"k").unwrap());
    // Sub-millisecond TTLs round up rather than meaning "forever".
    c.set("µ".as_bytes(), b"v", Some(Duration::from_micros(10))).unwrap();
    assert_eq!(c.ttl("µ".as_bytes()).unwrap(), KeyTtl::Expires(Duration::from_millis(1)));
}

#[test]
fn batches() {
    let c = cache();
    c.set_many(&[(&b"a"[..], &b"1"[..]), (b"b", b"2"), (b"c", b"3")], None).unwrap();
    let got = c.get_many(&[&b"a"[..], b"x", b"c"]).unwrap();
    assert_eq!(got[0].as_ref().unwrap().as_bytes(), b"1");
    assert!(got[1].is_none());
    assert_eq!(got[2].as_ref().unwrap().as_bytes(), b"3");
    assert_eq!(c.delete_many(&[&b"a"[..], b"b", b"zz"]).unwrap(), 2);
    assert_eq!(c.len(), 1);
}

#[test]
fn scan_visits_all_keys_with_glob() {
    let c = cache();
    for i in 0..500 {
        c.set(format!("user:{i}").as_bytes(), b"x", None).unwrap();
        c.set(format!("item:{i}").as_bytes(), b"y", None).unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0;
    let mut steps = 0;
    loop {
        let (next, keys) = c.scan(cursor, Some(b"user:*"), 37).unwrap();
        for k in keys {
            assert!(k.starts_with(b"user:"));
            seen.insert(k);
        }
        steps += 1;
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen.len(), 500);
    assert!(steps > 1, "count bounds the work of one step");
    assert_eq!(c.keys(Some(b"item:1?")).unwrap().len(), 10);
    assert_eq!(c.keys(None).unwrap().len(), 1000);
    assert_eq!(c.scan(u64::MAX, None, 10).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn compression_is_transparent_and_counted() {
    let c = Cache::new(Config::builder().max_memory(8 << 20).compress_min(256).maintenance_ms(0).build().unwrap())
        .unwrap();
    let text = b"<li class=\"row\">hello</li>".repeat(100);
    c.set(b"html", &text, None).unwrap();
    let st = c.stats();
    assert!(st.compressed_bytes_saved > (text.len() / 2) as u64, "{st:?}");
    assert!(st.used_bytes < text.len() as u64 / 2, "stored compressed: {st:?}");
    assert_eq!(c.get(b"html").unwrap().unwrap().as_bytes(), &text[..]);
    let mut buf = vec![0u8; text.len()];
    assert_eq!(c.get_into(b"html", &mut buf).unwrap(), Some(text.len()));
    assert_eq!(buf, text);
    // Small values and incompressible ones are stored raw.
    let mut x = 1u32;
    let noise: Vec<u8> = (0..4000).map(|_| { x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223); (x >> 24) as u8 }).collect();
    c.set(b"noise", &noise, None).unwrap();
    c.set(b"small", b"aaaaaaaaaaaaaaaaaaaa", None).unwrap();
    assert_eq!(c.stats().compressed_bytes_saved, st.compressed_bytes_saved);
    assert_eq!(c.get(b"noise").unwrap().unwrap().as_bytes(), &noise[..]);
    c.delete(b"html").unwrap();
    assert_eq!(c.stats().compressed_bytes_saved, 0, "savings leave with the entry");
}

#[test]
fn stats_and_prometheus() {
    let c = cache();
    c.set(b"a", b"1", None).unwrap();
    c.get(b"a").unwrap();
    c.get(b"b").unwrap();
    c.delete(b"a").unwrap();
    let st = c.stats();
    assert_eq!((st.hits, st.misses, st.sets, st.deletes, st.entries), (1, 1, 1, 1, 0));
    assert_eq!(st.max_bytes, 8 << 20);
    assert_eq!(st.used_bytes, 0);
    let text = c.metrics_text();
    assert!(text.contains("nycache_hits_total 1\n"), "{text}");
    assert!(text.contains("nycache_max_bytes 8388608\n"), "{text}");
}

#[test]
fn lru_evicts_least_recently_used_by_bytes() {
    // One shard, room for a handful of 1 KiB values.
    let cfg = Config::builder()
        .policy(nycache::PolicyKind::Lru)
        .max_memory(16 * 1024)
        .shards(1)
        .max_key_size(64)
        .max_value_size(1100)
        .maintenance_ms(0);
    let c = Cache::new(cfg.build().unwrap()).unwrap();
    let v = vec![7u8; 1000];
    let mut i = 0;
    while c.stats().evictions == 0 {
        c.set(format!("k{i}").as_bytes(), &v, None).unwrap();
        c.get(b"k0").unwrap(); // keep k0 hot
        i += 1;
    }
    assert!(c.exists(b"k0").unwrap(), "the hot key survives");
    assert!(!c.exists(b"k1").unwrap(), "the least recently used key went first");
    assert!(c.stats().used_bytes <= 16 * 1024);
}

#[test]
fn max_entries_bounds_the_count() {
    for policy in [PolicyKind::Lru, PolicyKind::Adaptive] {
        let cfg = Config::builder().max_entries(100).shards(1).maintenance_ms(0).policy(policy);
        let c = Cache::new(cfg.build().unwrap()).unwrap();
        for i in 0..1000 {
            c.set(format!("{i}").as_bytes(), b"v", None).unwrap();
        }
        assert_eq!(c.len(), 100, "{policy}");
        assert_eq!(c.stats().evictions, 900, "{policy}");
        assert!(c.exists(b"999").unwrap(), "{policy}: the newest key stays");
        if policy == PolicyKind::Lru {
            // Which older keys survive is the policy's choice; under exact
            // LRU, only the last 100.
            assert!(!c.exists(b"899").unwrap());
        }
    }
}

#[test]
fn flush_empties_and_cache_still_works() {
    let c = cache();
    for i in 0..100 {
        c.set(format!("{i}").as_bytes(), b"v", Some(Duration::from_secs(5))).unwrap();
    }
    c.flush();
    assert_eq!(c.len(), 0);
    assert_eq!(c.stats().used_bytes, 0);
    c.set(b"a", b"b", None).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c.run_maintenance(), 0);
}

#[test]
fn clones_share_one_cache_and_close_stops_only_background_work() {
    let c = Cache::open("max_memory=1MiB maintenance_ms=5").unwrap();
    let d = c.clone();
    c.set(b"k", b"v", None).unwrap();
    assert!(d.exists(b"k").unwrap());
    c.close();
    c.close();
    assert!(d.exists(b"k").unwrap());
}

#[test]
fn incr_reads_an_integer_that_was_stored_compressed() {
    let c = Cache::open("max_memory=1MiB compress_min=16 maintenance_ms=0").unwrap();
    c.set(b"n", b"1000000000000000000", None).unwrap();
    assert!(c.stats().compressed_bytes_saved > 0, "the value is stored compressed");
    assert_eq!(c.incr(b"n", 1).unwrap(), 1_000_000_000_000_000_001);
}

#[test]
fn a_zero_ttl_write_stores_nothing_and_evicts_nothing() {
    let c = Cache::open("max_entries=1 shards=1 maintenance_ms=0").unwrap();
    c.set(b"live", b"v", None).unwrap();
    c.set(b"dead", b"v", Some(Duration::ZERO)).unwrap();
    assert!(c.exists(b"live").unwrap());
    assert!(!c.exists(b"dead").unwrap());
    // Over an existing key, the old value goes.
    c.set(b"live", b"v2", Some(Duration::ZERO)).unwrap();
    assert!(!c.exists(b"live").unwrap());
    assert_eq!(c.stats().evictions, 0);
}

#[test]
fn max_entries_is_an_exact_bound_across_shards() {
    for text in ["max_entries=1000 shards=8 maintenance_ms=0", "max_entries=1001 maintenance_ms=0", "max_entries=10 maintenance_ms=0"] {
        let c = Cache::open(text).unwrap();
        let n: u64 = text.split(' ').next().unwrap()["max_entries=".len()..].parse().unwrap();
        for i in 0..20_000 {
            c.set(format!("key-{i}").as_bytes(), b"v", None).unwrap();
            assert!(c.len() <= n, "{text}: {} entries", c.len());
        }
        // Every shard is full, so the total is the bound itself.
        assert_eq!(c.len(), n, "{text}");
    }
    assert_eq!(Cache::open("max_entries=4 shards=16").unwrap_err().kind(), ErrorKind::InvalidArgument);
}
