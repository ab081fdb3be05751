//! Pub/sub through the Rust API: publish counts, keyspace events for every
//! kind of key change (on a manual clock), callbacks that call back into
//! the cache, and unsubscribing while other threads publish.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nycache::{Cache, Config, KeyspaceEvents, ManualClock, Message, Topic};

fn clocked(events: &str, maintenance_ms: u64) -> (Cache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1));
    let cfg = Config::builder()
        .max_memory(32 << 20)
        .maintenance_ms(maintenance_ms)
        .notify_keyspace_events(KeyspaceEvents::parse(events).unwrap())
        .build()
        .unwrap();
    (Cache::with_clock(cfg, clock.clone()).unwrap(), clock)
}

fn texts(msgs: &[Message]) -> Vec<(String, String)> {
    msgs.iter()
        .map(|m| {
            (
                String::from_utf8_lossy(m.channel()).into_owned(),
                String::from_utf8_lossy(m.payload()).into_owned(),
            )
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

#[test]
fn zero_subscribers_means_zero_receivers() {
    let c = Cache::open("maintenance_ms=0").unwrap();
    assert_eq!(c.publish(b"nobody", b"hi").unwrap(), 0);
    let s = c.subscribe(Topic::Channel(b"somebody"), 0).unwrap();
    assert_eq!(c.publish(b"nobody", b"hi").unwrap(), 0);
    assert_eq!(c.publish(b"somebody", b"hi").unwrap(), 1);
    assert_eq!(c.stats().pubsub_subscriptions, 1);
    drop(s);
    assert_eq!(c.publish(b"somebody", b"hi").unwrap(), 0);
    let st = c.stats();
    assert_eq!((st.pubsub_subscriptions, st.pubsub_published), (0, 1));
    assert!(
        c.metrics_text()
            .contains("nycache_pubsub_published_total 1\n")
    );
}

#[test]
fn limits_are_errors() {
    let c = Cache::open("maintenance_ms=0 max_key_size=16 max_value_size=32").unwrap();
    let long = [b'c'; 81];
    assert_eq!(
        c.publish(&long, b"x").unwrap_err().kind(),
        nycache::ErrorKind::TooLarge
    );
    assert_eq!(
        c.publish(b"c", &[0; 33]).unwrap_err().kind(),
        nycache::ErrorKind::TooLarge
    );
    assert_eq!(
        c.subscribe(Topic::Pattern(&long), 0).unwrap_err().kind(),
        nycache::ErrorKind::TooLarge
    );
    assert_eq!(c.publish(&long[..80], &[0; 32]).unwrap(), 0);
}

#[test]
fn keyspace_events_for_set_del_and_expiry() {
    let (c, clock) = clocked("KEA", 0);
    let space = c.subscribe(Topic::Pattern(b"__keyspace__:*"), 0).unwrap();
    let event = c.subscribe(Topic::Pattern(b"__keyevent__:*"), 0).unwrap();
    c.set(b"a", b"1", None).unwrap();
    c.set(b"b", b"2", Some(Duration::from_millis(10))).unwrap();
    assert!(c.delete(b"a").unwrap());
    assert!(
        !c.delete(b"a").unwrap(),
        "deleting a missing key raises nothing"
    );
    clock.advance(10);
    assert!(c.get(b"b").unwrap().is_none(), "lazy expiry");
    c.set(b"d", b"4", Some(Duration::from_millis(5))).unwrap();
    clock.advance(5);
    assert_eq!(c.run_maintenance(), 1, "active expiry");
    assert_eq!(c.incr(b"n", 2).unwrap(), 2);
    assert_eq!(
        texts(&space.drain(0)),
        [
            pair("__keyspace__:a", "set"),
            pair("__keyspace__:b", "set"),
            pair("__keyspace__:a", "del"),
            pair("__keyspace__:b", "expired"),
            pair("__keyspace__:d", "set"),
            pair("__keyspace__:d", "expired"),
            pair("__keyspace__:n", "set"),
        ]
    );
    assert_eq!(
        texts(&event.drain(0)),
        [
            pair("__keyevent__:set", "a"),
            pair("__keyevent__:set", "b"),
            pair("__keyevent__:del", "a"),
            pair("__keyevent__:expired", "b"),
            pair("__keyevent__:set", "d"),
            pair("__keyevent__:expired", "d"),
            pair("__keyevent__:set", "n"),
        ]
    );
}

#[test]
fn a_write_with_a_ttl_already_past_is_an_expired_event() {
    let (c, _) = clocked("Kx", 0);
    let s = c.subscribe(Topic::Pattern(b"__keyspace__:*"), 0).unwrap();
    c.set(b"new", b"v", Some(Duration::ZERO)).unwrap(); // a new key
    c.set(b"old", b"v", None).unwrap();
    c.set(b"old", b"v", Some(Duration::ZERO)).unwrap(); // an existing one
    assert_eq!(
        texts(&s.drain(0)),
        [pair("__keyspace__:new", "expired"), pair("__keyspace__:old", "expired")]
    );
}

#[test]
fn keyspace_events_are_opt_in_and_filtered() {
    let (off, _) = clocked("", 0);
    let s = off.subscribe(Topic::Pattern(b"*"), 0).unwrap();
    off.set(b"k", b"v", None).unwrap();
    off.delete(b"k").unwrap();
    assert_eq!(s.pending(), 0, "no events unless configured");

    let (only_del, _) = clocked("Ed", 0);
    let s = only_del.subscribe(Topic::Pattern(b"*"), 0).unwrap();
    only_del.set(b"k", b"v", None).unwrap();
    only_del.delete(b"k").unwrap();
    assert_eq!(texts(&s.drain(0)), [pair("__keyevent__:del", "k")]);
}

#[test]
fn eviction_raises_evicted_and_the_callback_runs_outside_the_shard_lock() {
    let clock = Arc::new(ManualClock::new(1));
    let cfg = Config::parse("max_memory=64KiB shards=1 policy=lru max_key_size=64 max_value_size=2048 maintenance_ms=0 notify_keyspace_events=Ee").unwrap();
    let c = Cache::with_clock(cfg, clock).unwrap();
    let evicted = Arc::new(Mutex::new(Vec::new()));
    let (c2, ev2) = (c.clone(), evicted.clone());
    let _sub = c
        .subscribe_callback(Topic::Channel(b"__keyevent__:evicted"), move |m| {
            // The only shard: this would deadlock if the lock were held.
            assert!(c2.get(m.payload()).unwrap().is_none());
            c2.set(b"callback-was-here", b"1", None).unwrap();
            ev2.lock().unwrap().push(m.payload().to_vec());
        })
        .unwrap();
    for i in 0..200u32 {
        c.set(format!("key{i}").as_bytes(), &[7u8; 1000], None)
            .unwrap();
    }
    let evicted = evicted.lock().unwrap();
    assert!(!evicted.is_empty());
    assert_eq!(evicted[0], b"key0", "LRU evicts the oldest first");
    assert_eq!(evicted.len() as u64, c.stats().evictions);
}

#[test]
fn the_maintenance_thread_publishes_expiries_on_its_own_thread() {
    let (c, clock) = clocked("Kx", 2);
    let threads = Arc::new(Mutex::new(Vec::new()));
    let t2 = threads.clone();
    let _sub = c
        .subscribe_callback(Topic::Channel(b"__keyspace__:k"), move |m| {
            assert_eq!(m.payload(), b"expired");
            t2.lock()
                .unwrap()
                .push(std::thread::current().name().map(str::to_owned));
        })
        .unwrap();
    c.set(b"k", b"v", Some(Duration::from_millis(50))).unwrap();
    clock.advance(50);
    let deadline = Instant::now() + Duration::from_secs(10);
    while threads.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the maintenance thread never expired the key"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(*threads.lock().unwrap(), [Some("nycache-maint".to_owned())]);
}

#[test]
fn a_callback_may_publish_subscribe_and_unsubscribe() {
    let c = Cache::open("maintenance_ms=0").unwrap();
    let queue = c.subscribe(Topic::Channel(b"out"), 0).unwrap();
    let inner_subs = Arc::new(Mutex::new(Vec::new()));
    let self_slot: Arc<Mutex<Option<nycache::Subscription>>> = Arc::new(Mutex::new(None));
    let (c2, subs2, slot2) = (c.clone(), inner_subs.clone(), self_slot.clone());
    let sub = c
        .subscribe_callback(Topic::Pattern(b"in.*"), move |m| {
            // Publish to a queue and to this very subscription.
            c2.publish(b"out", m.payload()).unwrap();
            if m.channel() == b"in.first" {
                assert_eq!(c2.publish(b"in.second", b"nested").unwrap(), 1);
            }
            // Subscribe from inside a callback.
            subs2
                .lock()
                .unwrap()
                .push(c2.subscribe(Topic::Channel(b"late"), 0).unwrap());
            if m.channel() == b"in.last" {
                // Unsubscribe itself.
                drop(slot2.lock().unwrap().take());
            }
        })
        .unwrap();
    *self_slot.lock().unwrap() = Some(sub);
    assert_eq!(c.publish(b"in.first", b"one").unwrap(), 1);
    assert_eq!(c.publish(b"in.last", b"two").unwrap(), 1);
    assert_eq!(c.publish(b"in.after", b"three").unwrap(), 0, "unsubscribed");
    assert_eq!(
        texts(&queue.drain(0)),
        [
            pair("out", "one"),
            pair("out", "nested"),
            pair("out", "two")
        ]
    );
    assert_eq!(c.publish(b"late", b"x").unwrap(), 3);
}

#[test]
fn unsubscribing_while_others_publish() {
    let c = Cache::open("maintenance_ms=0").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicUsize::new(0));
    let publishers: Vec<_> = (0..3)
        .map(|t| {
            let (c, stop) = (c.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    c.publish(
                        format!("chan.{}", n % 4).as_bytes(),
                        format!("{t}:{n}").as_bytes(),
                    )
                    .unwrap();
                    n += 1;
                }
            })
        })
        .collect();
    for round in 0..200 {
        let q = c.subscribe(Topic::Pattern(b"chan.*"), 8).unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let r = calls.clone();
        let cb = c
            .subscribe_callback(Topic::Channel(b"chan.1"), move |_| {
                r.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
        if round % 2 == 0 {
            std::thread::yield_now();
        }
        let _ = q.drain(0);
        drop(cb);
        // Once unsubscribe returned, the callback is never called again,
        // although three threads keep publishing on its channel.
        let after = calls.load(Ordering::Relaxed);
        for _ in 0..20 {
            std::thread::yield_now();
        }
        assert_eq!(calls.load(Ordering::Relaxed), after, "round {round}");
        received.fetch_add(after, Ordering::Relaxed);
        drop(q);
    }
    stop.store(true, Ordering::Relaxed);
    for p in publishers {
        p.join().unwrap();
    }
    assert_eq!(c.stats().pubsub_subscriptions, 0);
}

#[test]
fn a_subscription_outlives_its_cache() {
    let c = Cache::open("maintenance_ms=0").unwrap();
    let s = c.subscribe(Topic::Channel(b"c"), 2).unwrap();
    c.publish(b"c", b"1").unwrap();
    c.close();
    drop(c);
    assert_eq!(s.try_recv().unwrap().payload(), b"1");
    assert!(s.try_recv().is_none());
    assert!(s.fd().is_some());
}
