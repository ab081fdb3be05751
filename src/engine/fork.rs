//! Behaviour across `fork()`, for pre-fork web servers (gunicorn, uWSGI)
//! that open a cache in the master and fork workers.
//!
//! The rules (also in `docs/design.md`):
//! - A child gets a copy of every cache with its contents as of the fork;
//!   parent and child are independent afterwards (no shared memory).
//! - No shard lock is held in the child: a `pthread_atfork` prepare handler
//!   takes every shard lock of every live cache before the fork (waiting
//!   for the maintenance thread to leave the shard it is working on) and
//!   both sides release them after.
//! - The child has no maintenance thread (threads do not survive `fork`);
//!   the cache notices the new fork generation on its next call and starts
//!   a fresh one.
//! - As with any library that has locks, fork while another thread of the
//!   parent is inside a nycache call and the child may find that call's
//!   shard in its middle state; pre-fork masters fork from one thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once, Weak};

use parking_lot::Mutex;

/// Something whose locks must be held across a fork.
pub(crate) trait ForkLocks: Send + Sync {
    /// Takes every lock (called in the prepare handler).
    fn lock_all(&self);
    /// Releases what `lock_all` took.
    ///
    /// # Safety
    /// Only after `lock_all` on this object, once.
    unsafe fn unlock_all(&self);
}

struct Registry {
    live: Vec<Weak<dyn ForkLocks>>,
    held: Vec<Arc<dyn ForkLocks>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry { live: Vec::new(), held: Vec::new() });
static GENERATION: AtomicU64 = AtomicU64::new(0);
static INSTALL: Once = Once::new();

/// How many forks this process is removed from its original ancestor. A
/// cache compares it with the value it saw last to notice it is in a child.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// Registers a cache so that forks hold its locks. Installs the handlers
/// on first use.
pub(crate) fn register(cache: Weak<dyn ForkLocks>) {
    INSTALL.call_once(|| {
        // SAFETY: the three handlers are `extern "C" fn()` with no arguments that never unwind (they only lock, unlock and count).
        let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        debug_assert_eq!(rc, 0, "pthread_atfork failed");
    });
    let mut reg = REGISTRY.lock();
    reg.live.retain(|w| w.strong_count() > 0);
    reg.live.push(cache);
}

extern "C" fn prepare() {
    let guard = REGISTRY.lock();
    // The registry stays locked across the fork; `parent`/`child` unlock it.
    let reg = parking_lot::MutexGuard::leak(guard);
    let held: Vec<_> = reg.live.iter().filter_map(Weak::upgrade).collect();
    for c in &held {
        c.lock_all();
    }
    reg.held = held;
}

fn release() {
    // SAFETY: `prepare` leaked the registry guard; this thread (the one that forked) still owns the lock.
    let held = unsafe {
        let reg = &mut *REGISTRY.data_ptr();
        std::mem::take(&mut reg.held)
    };
    for c in &held {
        // SAFETY: `prepare` called `lock_all` on exactly these objects.
        unsafe { c.unlock_all() };
    }
    // SAFETY: as above, the lock taken in `prepare` is still ours.
    unsafe { REGISTRY.force_unlock(Default::default()) };
    // Dropping the strong references may drop a cache; do it unlocked.
    drop(held);
}

extern "C" fn parent() {
    release();
}

extern "C" fn child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    release();
}
