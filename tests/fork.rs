//! Behaviour across `fork()` (see `src/engine/fork.rs` and `docs/design.md`,
//! "Fork").
//!
//! Everything runs in ONE `#[test]` function, phase after phase: the test
//! harness runs the tests of a file on several threads, and forking while
//! other threads of this process are inside the cache (or inside the
//! harness's output capture) would make the children fragile for reasons
//! that have nothing to do with nycache.
//!
//! A child only uses the cache and then leaves with `libc::_exit(code)`: no
//! destructors, no printing. Each check in a child has its own exit code, and
//! the parent turns a non-zero code into a message naming the check. The
//! parent never waits without bound: it polls `waitpid(WNOHANG)` and kills a
//! child that does not finish in time ("child hung: lock held across fork?").
//!
//! All phases run even if an earlier one failed; the failures are collected
//! and reported together at the end.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use nycache::{Cache, Config, ManualClock};

/// How long a healthy child may take before the parent declares it hung.
/// A healthy child is done in milliseconds; this only bounds a hang.
const CHILD_LIMIT: Duration = Duration::from_secs(20);

/// Polls (1 ms sleeps, at most `POLL_STEPS`) for the restarted maintenance
/// thread to expire entries in a child: ~5 s in all.
const POLL_STEPS: u32 = 5_000;

/// Exit code of a child whose closure panicked (an assertion or an unexpected
/// error in the child).
const CHILD_PANICKED: i32 = 99;

/// Forks; the child runs `body` and `_exit`s with its result (or
/// `CHILD_PANICKED`). Returns the child's pid in the parent.
fn spawn_child(body: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: fork has no memory-safety preconditions; the child only runs
    // `body` (cache calls, sleeps, thread start by the cache) and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = catch_unwind(AssertUnwindSafe(body)).unwrap_or(CHILD_PANICKED);
        // SAFETY: `_exit` ends the process without running destructors or
        // atexit handlers (which could touch state inherited from the parent).
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Waits for `pid` with a bounded poll. `Ok(exit code)`, or `Err` with a
/// description if it was killed by a signal or had to be killed for hanging.
fn wait_child(pid: libc::pid_t, limit: Duration) -> Result<i32, String> {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: plain syscall on our own child with a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            if libc::WIFEXITED(status) {
                return Ok(libc::WEXITSTATUS(status));
            }
            if libc::WIFSIGNALED(status) {
                return Err(format!("child {pid} died of signal {}", libc::WTERMSIG(status)));
            }
            return Err(format!("child {pid}: unexpected wait status {status:#x}"));
        }
        if r < 0 {
            return Err(format!("waitpid({pid}) failed: {}", std::io::Error::last_os_error()));
        }
        if start.elapsed() > limit {
            let stacks = stacks_of(pid);
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Err(format!("child {pid} hung for {limit:?} and was killed: lock held across fork?{stacks}"));
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Best effort, for the failure message of a hung child: its threads'
/// stacks from gdb, if gdb is installed (bounded: gdb itself is killed after
/// 30 s). Empty if gdb is missing or fails.
fn stacks_of(pid: libc::pid_t) -> String {
    let spawned = std::process::Command::new("gdb")
        .args(["-p", &pid.to_string(), "-batch", "-nx", "-ex", "thread apply all bt 25"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut gdb) = spawned else { return String::new() };
    for _ in 0..30_000 {
        if let Ok(Some(_)) = gdb.try_wait() {
            let mut out = String::new();
            if let Some(mut stdout) = gdb.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
            }
            let frames: Vec<String> = out
                .lines()
                .filter(|l| l.starts_with('#') || l.starts_with("Thread "))
                .take(80)
                .map(|l| l.chars().take(160).collect())
                .collect();
            return format!("\n    child stacks (gdb):\n      {}", frames.join("\n      "));
        }
        thread::sleep(Duration::from_millis(1));
    }
    let _ = gdb.kill();
    let _ = gdb.wait();
    String::new()
}

/// Forks a child running `body`, waits for it, and records a failure (with
/// the meaning of its exit code from `codes`) unless it exits 0.
fn run_child(
    failures: &mut Vec<String>,
    phase: &str,
    limit: Duration,
    codes: &[(i32, &str)],
    body: impl FnOnce() -> i32,
) {
    let pid = spawn_child(body);
    match wait_child(pid, limit) {
        Ok(0) => {}
        Ok(code) => {
            let what = codes
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, w)| *w)
                .unwrap_or(if code == CHILD_PANICKED { "the child panicked" } else { "unknown exit code" });
            failures.push(format!("{phase}: child exited {code}: {what}"));
        }
        Err(e) => failures.push(format!("{phase}: {e}")),
    }
}

fn config(text: &str) -> Config {
    Config::parse(text).expect("valid config")
}

fn persistent_value(i: usize) -> Vec<u8> {
    format!("persistent value {i} ").repeat(1 + i % 7).into_bytes()
}

/// Polls (bounded) until `cond` holds; true if it did.
fn poll(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..POLL_STEPS {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(1));
    }
    cond()
}

/// Phase 1: a child sees the inherited contents, can write, and gets a fresh
/// maintenance thread (proved by active expiry without `run_maintenance`);
/// the parent is unaffected by the child's writes.
fn phase_basic(failures: &mut Vec<String>) {
    const N: usize = 200;
    let clock = Arc::new(ManualClock::new(1_000));
    let cache = Cache::with_clock(
        config("max_memory=16MiB shards=8 max_key_size=256 maintenance_ms=1"),
        clock.clone(),
    )
    .unwrap();
    for i in 0..N {
        cache.set(format!("p:{i}").as_bytes(), &persistent_value(i), None).unwrap();
        cache.set(format!("t:{i}").as_bytes(), format!("ttl {i}").as_bytes(), Some(Duration::from_secs(1))).unwrap();
    }
    assert_eq!(cache.len(), 2 * N as u64);

    let codes = [
        (10, "an inherited persistent key was missing or had other bytes"),
        (11, "an inherited TTL key (not yet due) was missing or had other bytes"),
        (12, "set/get of a new key failed in the child"),
        (13, "no active expiry within ~5 s after advancing the clock: maintenance thread not restarted in the child"),
        (14, "a TTL key was still readable after its expiry"),
        (15, "a persistent key vanished after the expiry pass"),
        (16, "stats().entries != len() in the child"),
    ];
    let child_cache = cache.clone();
    let child_clock = clock.clone();
    run_child(failures, "basic fork", CHILD_LIMIT, &codes, move || {
        let cache = child_cache;
        // The first keyed call notices the new fork generation.
        for i in 0..N {
            match cache.get(format!("p:{i}").as_bytes()) {
                Ok(Some(v)) if v.as_bytes() == persistent_value(i) => {}
                _ => return 10,
            }
        }
        for i in 0..N {
            match cache.get(format!("t:{i}").as_bytes()) {
                Ok(Some(v)) if v.as_bytes() == format!("ttl {i}").as_bytes() => {}
                _ => return 11,
            }
        }
        for i in 0..N {
            let k = format!("child:{i}");
            if cache.set(k.as_bytes(), k.as_bytes(), None).is_err() {
                return 12;
            }
            match cache.get(k.as_bytes()) {
                Ok(Some(v)) if v.as_bytes() == k.as_bytes() => {}
                _ => return 12,
            }
        }
        // Only the background thread may expire now: no read of a t: key
        // (lazy expiry) and no run_maintenance until the poll is done.
        let base = cache.stats().expired_active;
        child_clock.advance(5_000);
        if !poll(|| cache.stats().expired_active >= base + N as u64) {
            return 13;
        }
        for i in 0..N {
            if cache.exists(format!("t:{i}").as_bytes()) != Ok(false) {
                return 14;
            }
            if cache.exists(format!("p:{i}").as_bytes()) != Ok(true) {
                return 15;
            }
        }
        if cache.stats().entries != cache.len() {
            return 16;
        }
        0
    });

    // The parent: its clock never moved, the child's keys are not here, and
    // everything it stored is intact.
    assert_eq!(nycache::Clock::now_ms(&*clock), 1_000, "the child's clock advance leaked into the parent");
    let mut bad = Vec::new();
    for i in 0..N {
        if cache.exists(format!("child:{i}").as_bytes()).unwrap() {
            bad.push(format!("child:{i} present"));
        }
        match cache.get(format!("p:{i}").as_bytes()).unwrap() {
            Some(v) if v.as_bytes() == persistent_value(i) => {}
            other => bad.push(format!("p:{i} = {other:?}")),
        }
        match cache.get(format!("t:{i}").as_bytes()).unwrap() {
            Some(v) if v.as_bytes() == format!("ttl {i}").as_bytes() => {}
            other => bad.push(format!("t:{i} = {other:?}")),
        }
    }
    let st = cache.stats();
    if st.entries != 2 * N as u64 || st.expired_active != 0 || st.expired_lazy != 0 {
        bad.push(format!("parent stats changed by the child: {st:?}"));
    }
    if !bad.is_empty() {
        failures.push(format!("basic fork: parent's cache affected by the child: {:?}", &bad[..bad.len().min(5)]));
    }
}

/// Phase 2: the docs say the cache notices the fork "on its next call". A
/// child whose first calls are the unkeyed ones (`stats`, `len`, `keys`)
/// must get a maintenance thread too.
fn phase_unkeyed_first_call(failures: &mut Vec<String>) {
    const N: usize = 100;
    let clock = Arc::new(ManualClock::new(1_000));
    let cache =
        Cache::with_clock(config("max_memory=16MiB shards=8 max_key_size=256 maintenance_ms=1"), clock.clone())
            .unwrap();
    for i in 0..N {
        cache.set(format!("t:{i}").as_bytes(), b"v", Some(Duration::from_millis(100))).unwrap();
    }
    let codes = [
        (20, "keys() in the child did not list the inherited keys"),
        (21, "no active expiry within ~5 s when the child's only calls were stats/len/keys: \
              the fork generation is only checked on keyed calls (Cache::shard), so the \
              maintenance thread is never restarted"),
    ];
    let child_cache = cache.clone();
    let child_clock = clock.clone();
    run_child(failures, "unkeyed first call", CHILD_LIMIT, &codes, move || {
        let cache = child_cache;
        if cache.keys(None).map(|k| k.len()) != Ok(N) || cache.len() != N as u64 {
            return 20;
        }
        let base = cache.stats().expired_active;
        child_clock.advance(1_000);
        // Only unkeyed calls; never run_maintenance, never a keyed read.
        if !poll(|| cache.stats().expired_active >= base + N as u64) {
            return 21;
        }
        0
    });
}

/// Phase 3: `close()`, or dropping the last handle, in a child before any
/// keyed call. `close()` joins the maintenance thread; in the child that
/// thread is the parent's, which does not exist here, so joining it would
/// wait forever. Each must return promptly and leave a usable cache
/// (`close` documents "further calls still work").
fn phase_close_and_drop_in_child(failures: &mut Vec<String>) {
    // Short limit: a healthy child is done in milliseconds; a join of a
    // thread that does not exist never returns.
    let limit = Duration::from_secs(10);
    let clock = Arc::new(ManualClock::new(1_000));
    let cache =
        Cache::with_clock(config("max_memory=4MiB shards=4 max_key_size=256 maintenance_ms=1"), clock.clone())
            .unwrap();
    cache.set(b"k", b"v", None).unwrap();

    let codes = [
        (30, "after close() the cache no longer answers reads/writes"),
        (31, "close() panicked: stop_maintenance joins the parent's maintenance thread handle, \
              which is not a thread of the child (std: 'threads should not terminate unexpectedly')"),
    ];
    let child_cache = cache.clone();
    run_child(failures, "close() as the child's first call", limit, &codes, move || {
        let cache = child_cache;
        if catch_unwind(AssertUnwindSafe(|| cache.close())).is_err() {
            return 31;
        }
        match cache.get(b"k") {
            Ok(Some(v)) if v.as_bytes() == b"v" => {}
            _ => return 30,
        }
        if cache.set(b"k2", b"v2", None).is_err() {
            return 30;
        }
        0
    });

    // Dropping the last handle of a cache in the child: the same join.
    let solo = Cache::with_clock(config("max_memory=4MiB shards=4 max_key_size=256 maintenance_ms=1"), clock).unwrap();
    solo.set(b"k", b"v", None).unwrap();
    let mut solo = Some(solo);
    let codes = [(32, "dropping the last handle panicked: Inner::drop -> stop_maintenance joins the parent's \
                       maintenance thread handle, which is not a thread of the child")];
    run_child(failures, "drop of the last handle as the child's first call", limit, &codes, || {
        if catch_unwind(AssertUnwindSafe(|| drop(solo.take()))).is_err() {
            return 32;
        }
        0
    });
    drop(solo);
    drop(cache);
}

/// Phase 4: fork many times while the parent's maintenance thread is busy
/// expiring entries (maintenance_ms=1, many TTL entries, a thread moving the
/// clock). Each child must be able to take every shard lock and exit 0
/// promptly.
///
/// Only the maintenance thread touches the cache while we fork. A variant
/// with another parent thread hammering the cache is deliberately left out:
/// the prepare handler does make that thread finish its critical section
/// before the fork, but such a thread is then parked inside parking_lot's
/// global parking table (or in the allocator, or anywhere else outside
/// nycache) at the fork instant, and none of that is fork-protected. The
/// documented rule (docs/design.md, "Fork") is that pre-fork masters fork from
/// one thread, so a failure there would not be a nycache bug.
fn phase_repeated_forks(failures: &mut Vec<String>) {
    const FORKS: usize = 30;
    const TTL_PER_ROUND: usize = 2_000;
    const CHILD_KEYS: usize = 256; // with 8 shards, every shard gets keys
    let clock = Arc::new(ManualClock::new(1_000));
    let cache =
        Cache::with_clock(config("max_memory=32MiB shards=8 max_key_size=256 maintenance_ms=1"), clock.clone())
            .unwrap();
    for i in 0..200 {
        cache.set(format!("p:{i}").as_bytes(), &persistent_value(i), None).unwrap();
    }

    // Moves time only (an atomic): not a cache call, so it is safe while forking.
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (clock, stop) = (clock.clone(), stop.clone());
        thread::spawn(move || {
            // Bounded: the main thread stops it long before this runs out.
            for _ in 0..10_000_000u64 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                clock.advance(1);
                thread::sleep(Duration::from_micros(50));
            }
        })
    };

    let codes = [
        (40, "stats() in the child was inconsistent (entries != len)"),
        (41, "set/get across all shards failed in the child"),
        (42, "an inherited persistent key was missing or had other bytes"),
        (43, "flush() in the child left entries or bytes"),
        (44, "the cache did not work after flush() in the child"),
    ];
    for round in 0..FORKS {
        // Refill TTL entries due over the next ~100 ms of (manual) time,
        // which the ticker covers in a few real ms: the maintenance thread
        // is expiring entries, shard lock in hand, around every fork.
        for j in 0..TTL_PER_ROUND {
            let k = format!("ttl:{round}:{j}");
            let ttl = Duration::from_millis(1 + (j as u64 * 7919) % 100);
            cache.set(k.as_bytes(), k.as_bytes(), Some(ttl)).unwrap();
        }
        let child_cache = cache.clone();
        run_child(failures, &format!("repeated fork {round}"), CHILD_LIMIT, &codes, move || {
            let cache = child_cache;
            // The child's fresh maintenance thread starts on this first call
            // and may expire entries already due; the clock is frozen here
            // (the ticker thread did not survive the fork), so one explicit
            // pass leaves nothing that can expire between the two reads.
            cache.run_maintenance();
            let st = cache.stats();
            if st.entries != cache.len() {
                return 40;
            }
            for i in 0..CHILD_KEYS {
                let k = format!("child:{i}");
                if cache.set(k.as_bytes(), k.as_bytes(), None).is_err() {
                    return 41;
                }
            }
            for i in 0..CHILD_KEYS {
                let k = format!("child:{i}");
                match cache.get(k.as_bytes()) {
                    Ok(Some(v)) if v.as_bytes() == k.as_bytes() => {}
                    _ => return 41,
                }
            }
            for i in 0..200 {
                match cache.get(format!("p:{i}").as_bytes()) {
                    Ok(Some(v)) if v.as_bytes() == persistent_value(i) => {}
                    _ => return 42,
                }
            }
            cache.flush();
            let st = cache.stats();
            if !cache.is_empty() || st.entries != 0 || st.used_bytes != 0 {
                return 43;
            }
            if cache.set(b"after", b"flush", None).is_err() || cache.get(b"after").ok().flatten().is_none() {
                return 44;
            }
            0
        });
    }
    stop.store(true, Ordering::Relaxed);
    ticker.join().unwrap();

    // The parent kept working, its maintenance thread included: move time
    // past every TTL and wait (bounded) for the background thread alone to
    // expire every TTL entry (nothing here reads a TTL key, so nothing
    // expires lazily).
    let total_ttl = (FORKS * TTL_PER_ROUND) as u64;
    clock.advance(10_000);
    // (A write whose TTL had already passed when it took the lock, as the
    // ticker races the writer, counts as an immediate lazy expiration.)
    if !poll(|| {
        let st = cache.stats();
        st.expirations == total_ttl && st.entries == 200 && st.expired_active > 0
    }) {
        failures.push(format!(
            "repeated forks: the parent's maintenance thread did not expire all {total_ttl} TTL entries: {:?}",
            cache.stats()
        ));
    }
    if cache.len() != 200 {
        failures.push(format!("repeated forks: parent holds {} entries, expected the 200 persistent ones", cache.len()));
    }
    for i in 0..CHILD_KEYS {
        if cache.exists(format!("child:{i}").as_bytes()).unwrap() {
            failures.push(format!("repeated forks: a child's key child:{i} appeared in the parent"));
            break;
        }
    }
    for i in 0..200 {
        match cache.get(format!("p:{i}").as_bytes()).unwrap() {
            Some(v) if v.as_bytes() == persistent_value(i) => {}
            other => {
                failures.push(format!("repeated forks: parent's p:{i} = {other:?} (a child's flush leaked?)"));
                break;
            }
        }
    }
    let st = cache.stats();
    if st.entries != cache.len() || st.used_bytes > st.max_bytes {
        failures.push(format!("repeated forks: parent stats inconsistent: {st:?} len {}", cache.len()));
    }
}

/// Phase 5: a subscription made before the fork keeps its descriptor to the
/// parent. The child's copy of the cache delivers keyspace events into the
/// child's copy of the queue, but must not touch the shared eventfd: the
/// parent's descriptor stays unreadable while its queue is empty, and a
/// child's drain does not swallow the parent's wake-up.
fn phase_subscription_descriptor(failures: &mut Vec<String>) {
    let cache = Cache::new(config("notify_keyspace_events=Es maintenance_ms=0")).unwrap();
    let sub = cache.subscribe(nycache::Topic::Channel(b"__keyevent__:set"), 16).unwrap();
    let fd = sub.fd().expect("an eventfd on Linux");
    let readable = move || {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    };
    cache.set(b"before", b"1", None).unwrap(); // the parent has one message waiting
    run_child(failures, "subscription descriptor", CHILD_LIMIT, &[(1, "the child's set produced no event in its queue"), (2, "the child's drain left the queue non-empty")], || {
        cache.set(b"in-child", b"1", None).unwrap();
        if sub.pending() != 2 {
            return 1;
        }
        sub.drain(0);
        if sub.pending() != 0 {
            return 2;
        }
        0
    });
    if !readable() {
        failures.push("subscription descriptor: the child's drain cleared the parent's wake-up".into());
    }
    let got = sub.drain(0);
    if got.len() != 1 || got[0].payload() != b"before" {
        failures.push(format!("subscription descriptor: the parent's queue changed: {} messages", got.len()));
    }
    if readable() {
        failures.push("subscription descriptor: readable with an empty queue after the child's events".into());
    }
}

#[test]
fn fork_protocol() {
    let mut failures = Vec::new();
    phase_basic(&mut failures);
    phase_unkeyed_first_call(&mut failures);
    phase_close_and_drop_in_child(&mut failures);
    phase_repeated_forks(&mut failures);
    phase_subscription_descriptor(&mut failures);
    assert!(failures.is_empty(), "fork checks failed:\n  - {}", failures.join("\n  - "));
}
