//! Bad input gets a typed error naming the problem, and nothing already
//! stored is lost.

use nycache::{Cache, Config, ErrorKind};

fn filled() -> Cache {
    let c = Cache::open("max_memory=4MiB max_key_size=128 maintenance_ms=0").unwrap();
    for i in 0..100 {
        c.set(format!("k{i}").as_bytes(), format!("v{i}").as_bytes(), None).unwrap();
    }
    c
}

fn intact(c: &Cache) {
    assert_eq!(c.len(), 100);
    for i in 0..100 {
        assert_eq!(c.get(format!("k{i}").as_bytes()).unwrap().unwrap().as_bytes(), format!("v{i}").as_bytes());
    }
    assert_eq!(c.stats().evictions, 0);
}

#[test]
fn oversized_key_is_too_large_on_every_operation() {
    let c = filled();
    let key = vec![b'x'; 129];
    let errs = [
        c.set(&key, b"v", None).unwrap_err(),
        c.add(&key, b"v", None).unwrap_err(),
        c.get(&key).unwrap_err(),
        c.delete(&key).unwrap_err(),
        c.exists(&key).unwrap_err(),
        c.incr(&key, 1).unwrap_err(),
        c.ttl(&key).unwrap_err(),
    ];
    for e in errs {
        assert_eq!(e.kind(), ErrorKind::TooLarge);
        assert!(e.message().contains("129") && e.message().contains("max_key_size"), "{e}");
    }
    // A key of exactly the limit is fine.
    c.set(&key[..128], b"v", None).unwrap();
    c.delete(&key[..128]).unwrap();
    intact(&c);
}

#[test]
fn oversized_value_evicts_nothing() {
    let c = filled();
    let max = c.max_value_size() as usize;
    let e = c.set(b"big", &vec![0u8; max + 1], None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge);
    assert!(e.message().contains("max_value_size"), "{e}");
    // Overwriting an existing key with a too-large value keeps the old value.
    assert_eq!(c.set(b"k1", &vec![0u8; max + 1], None).unwrap_err().kind(), ErrorKind::TooLarge);
    intact(&c);
}

#[test]
fn value_larger_than_the_whole_budget() {
    let c = Cache::open("max_memory=1MiB max_key_size=64 max_value_size=2MiB maintenance_ms=0");
    // Such a limit can never be honoured: the config is refused up front.
    let e = c.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("max_value_size"), "{e}");
    let c = filled();
    assert_eq!(c.set(b"huge", &vec![1u8; 8 << 20], None).unwrap_err().kind(), ErrorKind::TooLarge);
    intact(&c);
}

#[test]
fn a_default_64mib_cache_takes_a_2mib_value() {
    let c = Cache::open("max_memory=64MiB maintenance_ms=0").unwrap();
    let page = vec![3u8; 2 << 20];
    c.set(b"page", &page, None).unwrap();
    assert_eq!(c.get(b"page").unwrap().unwrap().len(), page.len());
}

#[test]
fn bad_config_strings_name_the_problem() {
    let cases: &[(&str, &str)] = &[
        ("max_memory=lots", "max_memory"),
        ("max_memory=12XB", "12XB"),
        ("colour=blue", "colour"),
        ("shards=3", "shards"),
        ("shards", "shards"),
        ("policy=random", "random"),
        ("max_entries=0", "max_entries"),
        ("max_memory=1MiB max_memory=2MiB", "max_memory"),
        ("maintenance_ms=-1", "maintenance_ms"),
        ("max_memory=99999999999999999999999", "max_memory"),
    ];
    for (text, needle) in cases {
        let e = Cache::open(text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{text}");
        assert!(e.message().contains(needle), "{text:?} -> {e}");
    }
    assert!(Config::builder().shards(6).build().is_err());
}

#[test]
fn incr_on_a_non_number_changes_nothing() {
    let c = filled();
    assert_eq!(c.incr(b"k5", 1).unwrap_err().kind(), ErrorKind::NotANumber);
    intact(&c);
}

#[test]
fn errors_display_kind_and_message() {
    let e = Cache::open("nope=1").unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("INVALID_ARGUMENT: "), "{s}");
}

#[test]
fn a_clock_too_far_in_the_future_is_refused() {
    let clock = std::sync::Arc::new(nycache::ManualClock::new(1 << 44));
    let e = Cache::with_clock(Config::default(), clock).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("clock"), "{e}");
}

#[test]
fn a_shard_holds_two_values_of_max_value_size() {
    // The sizing rule counts real charges (size classes and every fixed
    // charge), so two largest values never evict each other.
    let c = Cache::open("max_memory=4MiB shards=1 maintenance_ms=0").unwrap();
    let v = vec![7u8; c.max_value_size() as usize];
    c.set_with_flags(b"a", &v, Some(std::time::Duration::from_secs(60)), 1).unwrap();
    c.gets(b"a").unwrap();
    c.set_with_flags(b"b", &v, Some(std::time::Duration::from_secs(60)), 1).unwrap();
    c.gets(b"b").unwrap();
    assert!(c.exists(b"a").unwrap() && c.exists(b"b").unwrap());
    assert_eq!(c.stats().evictions, 0);
}
