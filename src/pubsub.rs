//! Publish/subscribe: channels, glob patterns, bounded queues with an
//! event descriptor, callbacks, and keyspace events.
//!
//! Each cache owns one [`Registry`]. A subscription names one channel (exact
//! bytes) or one pattern (a Redis glob, matched by [`crate::glob`]) and
//! receives its messages one of two ways:
//!
//! - **Queue**: a bounded FIFO polled by the host. While it holds at least
//!   one message its Linux `eventfd` is readable, so an event loop (epoll,
//!   asyncio's `add_reader`) can wait on it. When a message arrives at a
//!   full queue, the **oldest** waiting message is dropped to make room and
//!   the subscription's drop counter (and the cache's) goes up by one: a
//!   slow reader always sees the most recent `capacity` messages.
//! - **Callback**: a function called on the publishing thread, after every
//!   shard lock and the registry lock are released. It may call back into
//!   the cache (publish, subscribe, unsubscribe included).
//!
//! Keyspace events (opt-in, [`KeyspaceEvents`]) are recorded by a shard
//! while it holds its lock and published by the caller once the lock is
//! released; see `docs/design.md` ("Pub/sub").
//!
//! With no subscription at all, `publish` is one atomic load and keyspace
//! recording is one byte test plus one atomic load.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Condvar, Mutex, RwLock};

use crate::error::{Error, ErrorKind, Result};

/// Queue capacity used when a subscriber asks for 0.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;

/// The prefix of keyspace channels: `__keyspace__:<key>`, message = event name.
pub const KEYSPACE_PREFIX: &[u8] = b"__keyspace__:";
/// The prefix of keyevent channels: `__keyevent__:<event>`, message = key.
pub const KEYEVENT_PREFIX: &[u8] = b"__keyevent__:";

/// What a subscription listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic<'a> {
    /// Exactly this channel.
    Channel(&'a [u8]),
    /// Every channel matching this Redis glob (`news.*`, `user:[0-9]*`).
    Pattern(&'a [u8]),
}

/// One delivered message. Cloning is cheap: the bytes are shared by every
/// subscriber of one publish.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    channel: Arc<[u8]>,
    pattern: Option<Arc<[u8]>>,
    payload: Arc<[u8]>,
}

impl Message {
    /// The channel it was published on.
    pub fn channel(&self) -> &[u8] {
        &self.channel
    }

    /// The pattern that matched, for a pattern subscription; `None` for a
    /// channel subscription.
    pub fn pattern(&self) -> Option<&[u8]> {
        self.pattern.as_deref()
    }

    /// The message bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("channel", &String::from_utf8_lossy(&self.channel))
            .field(
                "pattern",
                &self.pattern.as_deref().map(String::from_utf8_lossy),
            )
            .field("payload", &String::from_utf8_lossy(&self.payload))
            .finish()
    }
}

/// A keyspace event: why a key changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEvent {
    /// A string write: set, add, replace, cas, incr/decr, batch sets.
    Set,
    /// A key removed by delete, or a collection removed because its last
    /// element went.
    Del,
    /// A key removed because its TTL passed (found on access, by the timer
    /// wheel, or written with a TTL already past).
    Expired,
    /// A key evicted to make room.
    Evicted,
}

impl KeyEvent {
    /// The event's name, as published: `set`, `del`, `expired`, `evicted`.
    pub fn name(self) -> &'static str {
        match self {
            KeyEvent::Set => "set",
            KeyEvent::Del => "del",
            KeyEvent::Expired => "expired",
            KeyEvent::Evicted => "evicted",
        }
    }

    fn bit(self) -> u8 {
        match self {
            KeyEvent::Set => KeyspaceEvents::SET,
            KeyEvent::Del => KeyspaceEvents::DEL,
            KeyEvent::Expired => KeyspaceEvents::EXPIRED,
            KeyEvent::Evicted => KeyspaceEvents::EVICTED,
        }
    }
}

/// Which keyspace events a cache publishes (config key
/// `notify_keyspace_events`, a subset of Redis's flag letters):
///
/// - `K`: publish on `__keyspace__:<key>`, the message being the event name;
/// - `E`: publish on `__keyevent__:<event>`, the message being the key;
/// - `s` set, `d` del, `x` expired, `e` evicted; `A` = all four (`sdxe`).
///
/// Nothing is published unless at least one of `K`/`E` and one event are
/// given (as in Redis). The default publishes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyspaceEvents(u8);

impl KeyspaceEvents {
    const KEYSPACE: u8 = 1;
    const KEYEVENT: u8 = 2;
    const SET: u8 = 4;
    const DEL: u8 = 8;
    const EXPIRED: u8 = 16;
    const EVICTED: u8 = 32;
    const EVENTS: u8 = Self::SET | Self::DEL | Self::EXPIRED | Self::EVICTED;

    /// None: the default.
    pub const NONE: KeyspaceEvents = KeyspaceEvents(0);

    /// Parses the flag letters (see the type's docs).
    ///
    /// # Errors
    ///
    /// `InvalidArgument` naming the first letter that is not one of `KEsdxeA`.
    pub fn parse(text: &str) -> Result<KeyspaceEvents> {
        let mut bits = 0;
        for c in text.chars() {
            bits |= match c {
                'K' => Self::KEYSPACE,
                'E' => Self::KEYEVENT,
                's' => Self::SET,
                'd' => Self::DEL,
                'x' => Self::EXPIRED,
                'e' => Self::EVICTED,
                'A' => Self::EVENTS,
                other => {
                    return Err(Error::invalid(format!(
                        "unknown keyspace event flag {other:?} (expected letters from \"KEsdxeA\")"
                    )));
                }
            };
        }
        Ok(KeyspaceEvents(bits))
    }

    /// True if `K` (the `__keyspace__:<key>` channels) is on.
    pub fn keyspace(self) -> bool {
        self.0 & Self::KEYSPACE != 0
    }

    /// True if `E` (the `__keyevent__:<event>` channels) is on.
    pub fn keyevent(self) -> bool {
        self.0 & Self::KEYEVENT != 0
    }

    /// True if `event` is published (a channel kind and the event are on).
    pub fn publishes(self, event: KeyEvent) -> bool {
        self.recorded_mask() & event.bit() != 0
    }

    /// The event bits a shard records: none without a channel kind.
    fn recorded_mask(self) -> u8 {
        if self.0 & (Self::KEYSPACE | Self::KEYEVENT) == 0 {
            0
        } else {
            self.0 & Self::EVENTS
        }
    }
}

impl fmt::Display for KeyspaceEvents {
    /// The flag letters, in the order `KEsdxe`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [
            (Self::KEYSPACE, 'K'),
            (Self::KEYEVENT, 'E'),
            (Self::SET, 's'),
            (Self::DEL, 'd'),
            (Self::EXPIRED, 'x'),
            (Self::EVICTED, 'e'),
        ] {
            if self.0 & bit != 0 {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Keyspace events a shard raised under its lock, to publish after the lock
/// is released (see `Cache::release`).
pub(crate) struct EventLog {
    /// Event bits to record (0: keyspace events off).
    mask: u8,
    /// Subscriptions that could hear a keyspace event (the registry's count).
    listeners: Arc<AtomicUsize>,
    pending: Vec<(KeyEvent, Box<[u8]>)>,
}

impl EventLog {
    /// A log recording `events` while `listeners` is non-zero.
    pub(crate) fn new(events: KeyspaceEvents, listeners: Arc<AtomicUsize>) -> EventLog {
        EventLog {
            mask: events.recorded_mask(),
            listeners,
            pending: Vec::new(),
        }
    }

    /// A log that records nothing (shard unit tests).
    #[cfg(test)]
    pub(crate) fn off() -> EventLog {
        EventLog::new(KeyspaceEvents::NONE, Arc::new(AtomicUsize::new(0)))
    }

    /// Records `event` on `key` if it is published and someone could hear it.
    #[inline]
    pub(crate) fn record(&mut self, event: KeyEvent, key: &[u8]) {
        if self.mask & event.bit() != 0 && self.listeners.load(Ordering::Relaxed) != 0 {
            self.pending.push((event, key.into()));
        }
    }

    /// True if events wait to be published.
    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes the waiting events.
    pub(crate) fn take(&mut self) -> Vec<(KeyEvent, Box<[u8]>)> {
        std::mem::take(&mut self.pending)
    }
}

/// A subscriber's callback (Rust side; the C ABI wraps its function pointer).
pub(crate) type Callback = Box<dyn Fn(&Message) + Send + Sync>;

thread_local! {
    /// How many callbacks this thread is inside (an unsubscribe from inside
    /// one does not wait for callbacks to finish: see `Registry::remove`).
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

/// The registry of a cache's subscriptions.
pub(crate) struct Registry {
    subs: RwLock<Subs>,
    /// Live subscriptions (the zero-subscriber fast path of `publish`).
    live: AtomicUsize,
    /// Live subscriptions that could hear a keyspace event: patterns, and
    /// channels starting with `__key`. Shared with every shard's `EventLog`.
    listeners: Arc<AtomicUsize>,
    next_id: AtomicU64,
    published: AtomicU64,
    dropped: AtomicU64,
    events: KeyspaceEvents,
}

#[derive(Default)]
struct Subs {
    exact: HashMap<Box<[u8]>, Vec<Arc<SubState>>>,
    patterns: Vec<Arc<SubState>>,
}

/// One subscription's shared state: the registry holds it while it is
/// subscribed, a publisher while it delivers, the host's handle until it
/// unsubscribes.
pub(crate) struct SubState {
    id: u64,
    topic: Arc<[u8]>,
    is_pattern: bool,
    closed: AtomicBool,
    sink: Sink,
}

enum Sink {
    Queue(Queue),
    Callback {
        /// Deliveries under way (see `Registry::deliver` and `remove`).
        in_flight: AtomicUsize,
        /// Where an unsubscribe waits for `in_flight` to reach 0.
        idle: (Mutex<()>, Condvar),
        f: Callback,
    },
}

struct Queue {
    items: Mutex<VecDeque<Message>>,
    capacity: usize,
    dropped: AtomicU64,
    signal: Signal,
}

impl Registry {
    /// An empty registry publishing `events` as keyspace events.
    pub(crate) fn new(events: KeyspaceEvents) -> Registry {
        Registry {
            subs: RwLock::new(Subs::default()),
            live: AtomicUsize::new(0),
            listeners: Arc::new(AtomicUsize::new(0)),
            next_id: AtomicU64::new(1),
            published: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            events,
        }
    }

    /// A shard's event log, sharing this registry's listener count.
    pub(crate) fn event_log(&self) -> EventLog {
        EventLog::new(self.events, self.listeners.clone())
    }

    /// Live subscriptions.
    pub(crate) fn subscriptions(&self) -> u64 {
        self.live.load(Ordering::Relaxed) as u64
    }

    /// Messages published (keyspace events included) that had at least one
    /// receiver.
    pub(crate) fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Messages dropped from full queues, all subscriptions together.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn hears_keyspace(topic: Topic<'_>) -> bool {
        match topic {
            Topic::Pattern(_) => true,
            Topic::Channel(c) => c.starts_with(b"__key"),
        }
    }

    /// Adds a subscription delivering through `sink`.
    fn add(self: &Arc<Self>, topic: Topic<'_>, sink: Sink) -> Subscription {
        let (bytes, is_pattern) = match topic {
            Topic::Channel(c) => (c, false),
            Topic::Pattern(p) => (p, true),
        };
        let state = Arc::new(SubState {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            topic: bytes.into(),
            is_pattern,
            closed: AtomicBool::new(false),
            sink,
        });
        {
            let mut subs = self.subs.write();
            if is_pattern {
                subs.patterns.push(state.clone());
            } else {
                subs.exact
                    .entry(bytes.into())
                    .or_default()
                    .push(state.clone());
            }
            self.live.fetch_add(1, Ordering::Release);
            if Self::hears_keyspace(topic) {
                self.listeners.fetch_add(1, Ordering::Relaxed);
            }
        }
        Subscription {
            state,
            registry: self.clone(),
        }
    }

    /// A queue subscription holding up to `capacity` messages (0: the default).
    pub(crate) fn subscribe_queue(
        self: &Arc<Self>,
        topic: Topic<'_>,
        capacity: usize,
    ) -> Result<Subscription> {
        let capacity = if capacity == 0 {
            DEFAULT_QUEUE_CAPACITY
        } else {
            capacity
        };
        let queue = Queue {
            items: Mutex::new(VecDeque::new()),
            capacity,
            dropped: AtomicU64::new(0),
            signal: Signal::new()?,
        };
        Ok(self.add(topic, Sink::Queue(queue)))
    }

    /// A callback subscription.
    pub(crate) fn subscribe_callback(
        self: &Arc<Self>,
        topic: Topic<'_>,
        f: Callback,
    ) -> Subscription {
        self.add(
            topic,
            Sink::Callback {
                in_flight: AtomicUsize::new(0),
                idle: (Mutex::new(()), Condvar::new()),
                f,
            },
        )
    }

    /// Delivers `payload` on `channel` to every matching subscription, on
    /// this thread; returns how many received it. The caller holds no shard
    /// lock; the registry lock is released before any delivery.
    pub(crate) fn publish(&self, channel: &[u8], payload: &[u8]) -> usize {
        if self.live.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let targets: Vec<Arc<SubState>> = {
            let subs = self.subs.read();
            let mut t: Vec<Arc<SubState>> =
                subs.exact.get(channel).map_or_else(Vec::new, |v| v.clone());
            t.extend(
                subs.patterns
                    .iter()
                    .filter(|s| crate::glob::glob_match(&s.topic, channel))
                    .cloned(),
            );
            t
        };
        if targets.is_empty() {
            return 0;
        }
        let channel: Arc<[u8]> = channel.into();
        let payload: Arc<[u8]> = payload.into();
        let mut received = 0;
        for sub in &targets {
            let msg = Message {
                channel: channel.clone(),
                pattern: sub.is_pattern.then(|| sub.topic.clone()),
                payload: payload.clone(),
            };
            received += usize::from(self.deliver(sub, msg));
        }
        if received > 0 {
            self.published.fetch_add(1, Ordering::Relaxed);
        }
        received
    }

    /// Publishes keyspace events recorded under a shard lock (now released).
    pub(crate) fn publish_events(&self, events: Vec<(KeyEvent, Box<[u8]>)>) {
        for (event, key) in events {
            let name = event.name().as_bytes();
            if self.events.keyspace() {
                self.publish(&[KEYSPACE_PREFIX, &key].concat(), name);
            }
            if self.events.keyevent() {
                self.publish(&[KEYEVENT_PREFIX, name].concat(), &key);
            }
        }
    }

    fn deliver(&self, sub: &SubState, msg: Message) -> bool {
        match &sub.sink {
            Sink::Queue(q) => {
                let mut items = q.items.lock();
                if sub.closed.load(Ordering::Acquire) {
                    return false;
                }
                let was_empty = items.is_empty();
                if items.len() >= q.capacity {
                    // The overflow rule: the oldest message goes.
                    items.pop_front();
                    q.dropped.fetch_add(1, Ordering::Relaxed);
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                items.push_back(msg);
                if was_empty {
                    q.signal.raise();
                }
                true
            }
            Sink::Callback { in_flight, idle, f } => {
                // Announce the delivery, then look at `closed` (both SeqCst,
                // as `remove` does the reverse): either `remove` sees this
                // delivery in flight and waits for it, or this delivery sees
                // `closed` and backs off. No lock is held while the callback
                // runs, so it may publish to itself, and a stream of
                // deliveries cannot starve an unsubscribe: once `closed` is
                // set no new call starts.
                in_flight.fetch_add(1, Ordering::SeqCst);
                let call = !sub.closed.load(Ordering::SeqCst);
                if call {
                    IN_CALLBACK.with(|d| d.set(d.get() + 1));
                    // A panicking Rust callback must not take the publisher
                    // (or the maintenance thread) down with it; the panic
                    // hook has already reported it.
                    let _ = catch_unwind(AssertUnwindSafe(|| f(&msg)));
                    IN_CALLBACK.with(|d| d.set(d.get() - 1));
                }
                if in_flight.fetch_sub(1, Ordering::SeqCst) == 1
                    && sub.closed.load(Ordering::SeqCst)
                {
                    let _guard = idle.0.lock();
                    idle.1.notify_all();
                }
                call
            }
        }
    }

    /// Removes a subscription. When this returns, a queue receives nothing
    /// more and a callback is neither running nor called again, except when
    /// called from inside a callback on this thread: it then does not wait
    /// for deliveries under way on other threads (waiting there could
    /// deadlock two callbacks that unsubscribe each other).
    fn remove(&self, sub: &Arc<SubState>) {
        if sub.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        {
            let mut subs = self.subs.write();
            if sub.is_pattern {
                subs.patterns.retain(|s| s.id != sub.id);
            } else if let Some(list) = subs.exact.get_mut(&sub.topic[..]) {
                list.retain(|s| s.id != sub.id);
                if list.is_empty() {
                    subs.exact.remove(&sub.topic[..]);
                }
            }
            self.live.fetch_sub(1, Ordering::Release);
            let topic = if sub.is_pattern {
                Topic::Pattern(&sub.topic)
            } else {
                Topic::Channel(&sub.topic)
            };
            if Self::hears_keyspace(topic) {
                self.listeners.fetch_sub(1, Ordering::Relaxed);
            }
        }
        match &sub.sink {
            Sink::Queue(q) => {
                let mut items = q.items.lock();
                items.clear();
                items.shrink_to_fit();
                q.signal.clear();
            }
            Sink::Callback {
                in_flight, idle, ..
            } => {
                if IN_CALLBACK.with(Cell::get) == 0 {
                    // `closed` is set (SeqCst, above): wait for the calls
                    // that started before. The notifier takes `idle.0`, so
                    // a decrement between the check and the wait is not lost.
                    let mut guard = idle.0.lock();
                    while in_flight.load(Ordering::SeqCst) != 0 {
                        idle.1.wait(&mut guard);
                    }
                }
            }
        }
    }

    /// Locks the registry for a fork (see `engine::fork`).
    pub(crate) fn lock_for_fork(&self) {
        std::mem::forget(self.subs.write());
    }

    /// Releases what `lock_for_fork` took.
    ///
    /// # Safety
    /// Only after `lock_for_fork`, once.
    pub(crate) unsafe fn unlock_after_fork(&self) {
        // SAFETY: `lock_for_fork` took the write lock and forgot its guard.
        unsafe { self.subs.force_unlock_write(Default::default()) };
    }
}

/// A subscription; dropping it unsubscribes. It stays usable after its
/// cache is closed or dropped (it then receives nothing more).
pub struct Subscription {
    state: Arc<SubState>,
    registry: Arc<Registry>,
}

impl Subscription {
    fn queue(&self) -> Option<&Queue> {
        match &self.state.sink {
            Sink::Queue(q) => Some(q),
            Sink::Callback { .. } => None,
        }
    }

    /// The channel or pattern subscribed to.
    pub fn topic(&self) -> Topic<'_> {
        if self.state.is_pattern {
            Topic::Pattern(&self.state.topic)
        } else {
            Topic::Channel(&self.state.topic)
        }
    }

    /// True for a queue subscription, false for a callback one.
    pub fn is_queue(&self) -> bool {
        self.queue().is_some()
    }

    /// The oldest waiting message, if any (always `None` for a callback
    /// subscription).
    pub fn try_recv(&self) -> Option<Message> {
        let mut out = self.drain(1);
        out.pop()
    }

    /// Up to `max` waiting messages, oldest first (`max == 0`: all of them).
    pub fn drain(&self, max: usize) -> Vec<Message> {
        let Some(q) = self.queue() else {
            return Vec::new();
        };
        let mut items = q.items.lock();
        let n = if max == 0 {
            items.len()
        } else {
            max.min(items.len())
        };
        let out: Vec<Message> = items.drain(..n).collect();
        // Whenever the queue is empty, even if this drain took nothing: a
        // stray wake-up must not leave the descriptor readable for ever.
        if items.is_empty() {
            q.signal.clear();
        }
        out
    }

    /// Messages waiting in the queue (0 for a callback subscription).
    pub fn pending(&self) -> usize {
        self.queue().map_or(0, |q| q.items.lock().len())
    }

    /// The queue's capacity (0 for a callback subscription).
    pub fn capacity(&self) -> usize {
        self.queue().map_or(0, |q| q.capacity)
    }

    /// Messages dropped because the queue was full (the oldest goes).
    pub fn dropped(&self) -> u64 {
        self.queue()
            .map_or(0, |q| q.dropped.load(Ordering::Relaxed))
    }

    /// A file descriptor readable exactly while messages wait (Linux
    /// `eventfd`, non-blocking, close-on-exec); `None` for a callback
    /// subscription or where eventfd does not exist. Owned by the
    /// subscription: do not read or close it.
    pub fn fd(&self) -> Option<i32> {
        self.queue().and_then(|q| q.signal.fd())
    }

    /// Unsubscribes (the same as dropping it).
    pub fn unsubscribe(self) {}
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry.remove(&self.state);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &String::from_utf8_lossy(&self.state.topic))
            .field("pattern", &self.state.is_pattern)
            .field("queue", &self.is_queue())
            .finish()
    }
}

/// An eventfd whose counter is non-zero exactly while its queue holds
/// messages; raised and cleared under the queue's lock.
struct Signal {
    fd: i32,
    /// The process that made the descriptor. A child forked later shares
    /// the descriptor's counter with this process (the file description is
    /// inherited), so it must never raise or clear it: events its own copy
    /// of the cache delivers would wake the parent on an empty queue, and
    /// its drains would swallow the parent's wake-ups.
    pid: u32,
}

impl Signal {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn new() -> Result<Signal> {
        // SAFETY: eventfd takes no pointers; a negative return is an error.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(Error::with_message(
                ErrorKind::Io,
                format!("eventfd failed: {e}"),
            ));
        }
        Ok(Signal {
            fd,
            pid: std::process::id(),
        })
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn new() -> Result<Signal> {
        Ok(Signal {
            fd: -1,
            pid: std::process::id(),
        })
    }

    fn fd(&self) -> Option<i32> {
        (self.fd >= 0).then_some(self.fd)
    }

    /// Makes the descriptor readable.
    fn raise(&self) {
        if self.fd >= 0 && std::process::id() == self.pid {
            let one: u64 = 1;
            // SAFETY: `fd` is our open eventfd; the buffer is 8 readable bytes. A failure (counter saturated) leaves it readable, which is the goal.
            let _ = unsafe { libc::write(self.fd, (&raw const one).cast(), 8) };
        }
    }

    /// Makes the descriptor not readable (resets the counter to 0).
    fn clear(&self) {
        if self.fd >= 0 && std::process::id() == self.pid {
            let mut n: u64 = 0;
            // SAFETY: `fd` is our open, non-blocking eventfd; the buffer is 8 writable bytes. EAGAIN (already 0) is fine.
            let _ = unsafe { libc::read(self.fd, (&raw mut n).cast(), 8) };
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        if self.fd >= 0 {
            // SAFETY: we own `fd` and close it once; every user holds the Arc that owns this Signal.
            unsafe { libc::close(self.fd) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: i32) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; timeout 0 never blocks.
        let n = unsafe { libc::poll(&raw mut p, 1, 0) };
        n == 1 && p.revents & libc::POLLIN != 0
    }

    #[test]
    fn keyspace_flags_parse_and_print() {
        let k = KeyspaceEvents::parse("KEA").unwrap();
        assert!(k.keyspace() && k.keyevent());
        assert!(k.publishes(KeyEvent::Evicted));
        assert_eq!(k.to_string(), "KEsdxe");
        let s = KeyspaceEvents::parse("Kx").unwrap();
        assert!(s.publishes(KeyEvent::Expired) && !s.publishes(KeyEvent::Set));
        // Events without a channel kind publish nothing, as in Redis.
        assert!(!KeyspaceEvents::parse("A").unwrap().publishes(KeyEvent::Set));
        let e = KeyspaceEvents::parse("Kz").unwrap_err();
        assert!(e.message().contains("'z'"), "{}", e.message());
    }

    #[test]
    fn exact_and_pattern_matching() {
        let r = Arc::new(Registry::new(KeyspaceEvents::NONE));
        assert_eq!(r.publish(b"news.x", b"nobody"), 0);
        let exact = r.subscribe_queue(Topic::Channel(b"news.x"), 0).unwrap();
        let pat = r.subscribe_queue(Topic::Pattern(b"news.*"), 0).unwrap();
        let other = r.subscribe_queue(Topic::Pattern(b"sport.[ab]"), 0).unwrap();
        assert_eq!(r.publish(b"news.x", b"1"), 2);
        assert_eq!(r.publish(b"news.y", b"2"), 1);
        assert_eq!(r.publish(b"sport.b", b"3"), 1);
        assert_eq!(r.publish(b"sport.c", b"4"), 0);
        let m = exact.drain(0);
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].channel(), m[0].pattern(), m[0].payload()),
            (&b"news.x"[..], None, &b"1"[..])
        );
        let m = pat.drain(0);
        assert_eq!(
            m.iter().map(|m| m.payload().to_vec()).collect::<Vec<_>>(),
            [b"1".to_vec(), b"2".to_vec()]
        );
        assert_eq!(m[1].pattern(), Some(&b"news.*"[..]));
        assert_eq!(m[1].channel(), b"news.y");
        assert_eq!(other.try_recv().unwrap().channel(), b"sport.b");
        assert!(other.try_recv().is_none());
        assert_eq!(r.subscriptions(), 3);
        drop((exact, pat, other));
        assert_eq!(r.subscriptions(), 0);
        assert_eq!(r.publish(b"news.x", b"gone"), 0);
        assert_eq!(r.published(), 3);
    }

    #[test]
    fn a_full_queue_drops_its_oldest_and_counts() {
        let r = Arc::new(Registry::new(KeyspaceEvents::NONE));
        let s = r.subscribe_queue(Topic::Channel(b"c"), 3).unwrap();
        let t = r.subscribe_queue(Topic::Channel(b"c"), 10).unwrap();
        for i in 0..5u8 {
            assert_eq!(
                r.publish(b"c", &[b'0' + i]),
                2,
                "a full queue still receives"
            );
        }
        assert_eq!((s.dropped(), s.pending(), s.capacity()), (2, 3, 3));
        assert_eq!((t.dropped(), t.pending()), (0, 5));
        assert_eq!(r.dropped(), 2);
        let got: Vec<u8> = s.drain(0).iter().map(|m| m.payload()[0]).collect();
        assert_eq!(got, b"234", "the newest three are kept");
        assert_eq!(t.drain(2).len(), 2);
        assert_eq!(t.pending(), 3);
    }

    #[test]
    fn the_descriptor_is_readable_exactly_while_messages_wait() {
        let r = Arc::new(Registry::new(KeyspaceEvents::NONE));
        let s = r.subscribe_queue(Topic::Pattern(b"*"), 4).unwrap();
        let fd = s.fd().expect("a queue has a descriptor");
        assert!(!readable(fd));
        r.publish(b"a", b"1");
        assert!(readable(fd));
        r.publish(b"b", b"2");
        assert_eq!(s.drain(1).len(), 1);
        assert!(readable(fd), "one message still waits");
        assert_eq!(s.drain(1).len(), 1);
        assert!(!readable(fd), "drained");
        assert!(s.try_recv().is_none());
        assert!(!readable(fd));
        for _ in 0..10 {
            r.publish(b"x", b"overflowing");
        }
        assert!(readable(fd));
        assert_eq!(s.drain(0).len(), 4);
        assert!(!readable(fd));
    }

    #[test]
    fn callbacks_run_on_the_publishing_thread_and_may_reenter() {
        let r = Arc::new(Registry::new(KeyspaceEvents::NONE));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r2, seen2) = (r.clone(), seen.clone());
        let me = std::thread::current().id();
        let slot: Arc<Mutex<Option<Subscription>>> = Arc::new(Mutex::new(None));
        let slot2 = slot.clone();
        let sub = r.subscribe_callback(
            Topic::Pattern(b"ping.*"),
            Box::new(move |m: &Message| {
                assert_eq!(std::thread::current().id(), me);
                seen2.lock().push(m.channel().to_vec());
                if m.channel() == b"ping.1" {
                    // Re-entrant publish to itself, and to a queue.
                    assert_eq!(r2.publish(b"ping.2", b""), 1);
                }
                if m.channel() == b"ping.2" {
                    // Unsubscribing itself from inside its own callback.
                    drop(slot2.lock().take());
                }
            }),
        );
        *slot.lock() = Some(sub);
        assert_eq!(r.publish(b"ping.1", b""), 1);
        assert_eq!(*seen.lock(), [b"ping.1".to_vec(), b"ping.2".to_vec()]);
        assert_eq!(r.subscriptions(), 0, "it unsubscribed itself");
        assert_eq!(r.publish(b"ping.3", b""), 0);
    }

    #[test]
    fn unsubscribe_waits_for_a_running_callback_then_none_follow() {
        let r = Arc::new(Registry::new(KeyspaceEvents::NONE));
        let running = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let (running2, calls2) = (running.clone(), calls.clone());
        let sub = r.subscribe_callback(
            Topic::Channel(b"c"),
            Box::new(move |_| {
                running2.fetch_add(1, Ordering::SeqCst);
                calls2.fetch_add(1, Ordering::SeqCst);
                std::thread::yield_now();
                running2.fetch_sub(1, Ordering::SeqCst);
            }),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let publishers: Vec<_> = (0..2)
            .map(|_| {
                let (r, stop) = (r.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        r.publish(b"c", b"m");
                    }
                })
            })
            .collect();
        while calls.load(Ordering::SeqCst) < 100 {
            std::thread::yield_now();
        }
        drop(sub);
        assert_eq!(
            running.load(Ordering::SeqCst),
            0,
            "no callback runs once unsubscribe returned"
        );
        let after = calls.load(Ordering::SeqCst);
        for _ in 0..1000 {
            std::thread::yield_now();
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            after,
            "and none is called later"
        );
        stop.store(true, Ordering::Relaxed);
        for p in publishers {
            p.join().unwrap();
        }
    }

    #[test]
    fn a_panicking_callback_does_not_stop_the_others() {
        let r = Arc::new(Registry::new(KeyspaceEvents::NONE));
        let _bad = r.subscribe_callback(
            Topic::Channel(b"c"),
            Box::new(|_| panic!("callback panic (expected)")),
        );
        let good = r.subscribe_queue(Topic::Channel(b"c"), 0).unwrap();
        assert_eq!(r.publish(b"c", b"m"), 2);
        assert_eq!(good.pending(), 1);
    }

    #[test]
    fn listeners_count_only_who_could_hear_keyspace_events() {
        let r = Arc::new(Registry::new(KeyspaceEvents::parse("KA").unwrap()));
        let mut log = r.event_log();
        let plain = r.subscribe_queue(Topic::Channel(b"news"), 0).unwrap();
        log.record(KeyEvent::Set, b"k");
        assert!(!log.has_pending(), "nobody listens to keyspace channels");
        let ks = r
            .subscribe_queue(Topic::Channel(b"__keyspace__:k"), 0)
            .unwrap();
        log.record(KeyEvent::Set, b"k");
        assert!(log.has_pending());
        r.publish_events(log.take());
        assert_eq!(ks.try_recv().unwrap().payload(), b"set");
        drop((plain, ks));
        log.record(KeyEvent::Set, b"k");
        assert!(!log.has_pending());
    }
}
