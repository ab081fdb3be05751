//! Expiry on a manual clock: lazy on access, active through the timer
//! wheel, from milliseconds to days, and by the background thread.

use std::sync::Arc;
use std::time::Duration;

use nycache::{Cache, Config, KeyTtl, ManualClock};

fn clocked(maintenance_ms: u64) -> (Cache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1));
    let cfg = Config::builder().max_memory(32 << 20).maintenance_ms(maintenance_ms).build().unwrap();
    (Cache::with_clock(cfg, clock.clone()).unwrap(), clock)
}

#[test]
fn lazy_expiry_on_read() {
    let (c, clock) = clocked(0);
    c.set(b"k", b"v", Some(Duration::from_millis(100))).unwrap();
    clock.advance(99);
    assert!(c.get(b"k").unwrap().is_some());
    clock.advance(1);
    assert!(c.get(b"k").unwrap().is_none(), "expired exactly at its deadline");
    let st = c.stats();
    assert_eq!((st.expired_lazy, st.expired_active, st.entries), (1, 0, 0));
}

#[test]
fn every_access_path_honours_expiry() {
    let (c, clock) = clocked(0);
    let short = Some(Duration::from_millis(5));
    for k in [&b"get"[..], b"into", b"exists", b"touch", b"ttl", b"add", b"replace", b"incr", b"gets"] {
        c.set(k, b"1", short).unwrap();
    }
    clock.advance(5);
    let mut buf = [0u8; 8];
    assert!(c.get(b"get").unwrap().is_none());
    assert_eq!(c.get_into(b"into", &mut buf).unwrap(), None);
    assert!(!c.exists(b"exists").unwrap());
    assert!(!c.touch(b"touch").unwrap());
    assert_eq!(c.ttl(b"ttl").unwrap(), KeyTtl::Missing);
    c.add(b"add", b"new", None).unwrap();
    assert!(c.replace(b"replace", b"x", None).is_err());
    assert_eq!(c.incr(b"incr", 1).unwrap(), 1, "an expired counter starts again at 0");
    assert!(c.gets(b"gets").unwrap().is_none());
    assert_eq!(c.keys(None).unwrap().len(), 2, "scan skips expired keys");
}

#[test]
fn active_expiry_from_milliseconds_to_days() {
    let (c, clock) = clocked(0);
    let ttls_ms: [u64; 9] = [1, 63, 64, 5_000, 300_000, 18_000_000, 432_000_000, 2_592_000_000, 94_608_000_000];
    for (i, ms) in ttls_ms.iter().enumerate() {
        c.set(format!("k{i}").as_bytes(), b"v", Some(Duration::from_millis(*ms))).unwrap();
    }
    c.set(b"forever", b"v", None).unwrap();
    let mut expired = 0;
    for (i, ms) in ttls_ms.iter().enumerate() {
        // Just before the deadline nothing more has gone ...
        clock.set(1 + ms - 1);
        expired += c.run_maintenance();
        assert_eq!(expired, i, "before k{i}'s deadline");
        assert_eq!(c.len() as usize, ttls_ms.len() + 1 - i);
        // ... and at it, exactly this key goes, without being read.
        clock.set(1 + ms);
        expired += c.run_maintenance();
        assert_eq!(expired, i + 1, "at k{i}'s deadline ({ms} ms)");
    }
    let st = c.stats();
    assert_eq!(st.expired_active, ttls_ms.len() as u64);
    assert_eq!(st.expired_lazy, 0);
    assert_eq!(c.len(), 1);
    assert!(c.exists(b"forever").unwrap());
}

#[test]
fn extended_and_shortened_ttls_are_honoured_actively() {
    let (c, clock) = clocked(0);
    c.set(b"longer", b"v", Some(Duration::from_millis(100))).unwrap();
    c.set(b"shorter", b"v", Some(Duration::from_secs(3600))).unwrap();
    c.set(b"persisted", b"v", Some(Duration::from_millis(100))).unwrap();
    c.expire(b"longer", Some(Duration::from_secs(60))).unwrap();
    c.expire(b"shorter", Some(Duration::from_millis(50))).unwrap();
    c.persist(b"persisted").unwrap();
    clock.advance(50);
    assert_eq!(c.run_maintenance(), 1);
    assert!(!c.exists(b"shorter").unwrap());
    clock.advance(50);
    assert_eq!(c.run_maintenance(), 0, "the extended and persisted keys stay");
    clock.advance(60_000);
    assert_eq!(c.run_maintenance(), 1);
    assert!(c.exists(b"persisted").unwrap());
}

#[test]
fn overwrite_with_new_ttl_and_delete_leave_no_wrong_expiry() {
    let (c, clock) = clocked(0);
    c.set(b"k", b"v", Some(Duration::from_millis(10))).unwrap();
    c.set(b"k", b"v2", None).unwrap();
    c.set(b"d", b"v", Some(Duration::from_millis(10))).unwrap();
    c.delete(b"d").unwrap();
    // The slot of "d" is reused by a key with a later expiry.
    c.set(b"e", b"v", Some(Duration::from_millis(1000))).unwrap();
    clock.advance(10);
    assert_eq!(c.run_maintenance(), 0);
    assert!(c.exists(b"k").unwrap() && c.exists(b"e").unwrap());
    clock.advance(990);
    assert_eq!(c.run_maintenance(), 1);
    assert!(!c.exists(b"e").unwrap());
}

#[test]
fn many_entries_expire_in_one_pass_after_a_long_pause() {
    let (c, clock) = clocked(0);
    for i in 0..10_000u64 {
        c.set(&i.to_le_bytes(), b"v", Some(Duration::from_millis(1 + i % 5000))).unwrap();
    }
    clock.advance(10 * 24 * 3600 * 1000);
    assert_eq!(c.run_maintenance(), 10_000);
    assert!(c.is_empty());
    assert_eq!(c.stats().used_bytes, 0);
}

#[test]
fn background_thread_expires_without_reads() {
    let (c, clock) = clocked(1);
    c.set(b"k", b"v", Some(Duration::from_millis(10))).unwrap();
    clock.advance(10);
    // Wait for the thread, not for time: bounded polling of a counter.
    let mut waited = 0;
    while c.stats().expired_active == 0 && waited < 10_000 {
        std::thread::sleep(Duration::from_millis(1));
        waited += 1;
    }
    assert_eq!(c.stats().expired_active, 1, "the maintenance thread expired the key");
    c.close();
    c.set(b"j", b"v", Some(Duration::from_millis(10))).unwrap();
    clock.advance(10);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c.stats().expired_active, 1, "no background work after close");
    assert_eq!(c.len(), 1);
}
