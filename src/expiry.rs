//! Time and active expiry: the [`Clock`] TTLs are measured on, and the
//! [`TimerWheel`] each shard uses to find expired entries without scanning.
//!
//! The wheel stores bare [`TimerId`]s, never expiry times: the entry itself
//! holds its real expiry, so a TTL change costs nothing here. The price is
//! that the wheel may hand an id back early (or twice), and the caller's
//! callback answers with the truth ([`Fired`]).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Source of time for expiry, in milliseconds on a monotonic scale. Tests replace it.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time in ms; never 0, because 0 means "no expiry" in the engine.
    fn now_ms(&self) -> u64;
}

/// Real monotonic time: ms elapsed since the clock was created, plus 1, so it
/// is never 0 (0 means "no expiry" in the engine).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose time 1 is now. `Instant` rather than wall time, so
    /// TTLs survive NTP steps and DST changes.
    #[must_use]
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // u128 -> u64 only saturates after ~584 million years; the `- 1`
        // leaves room for the `+ 1` that keeps 0 free.
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        ms + 1
    }
}

/// A clock that moves only when told to (for tests). Thread-safe: it is an
/// `AtomicU64`, so one thread can move time while others read it.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start_ms`; 0 is clamped to 1 because 0 means "no expiry".
    #[must_use]
    pub fn new(start_ms: u64) -> Self {
        Self {
            now: AtomicU64::new(start_ms.max(1)),
        }
    }

    /// Sets the time to `ms` (0 clamped to 1). Going backwards is allowed so
    /// tests can probe it; the engine's users of time must tolerate that.
    pub fn set(&self, ms: u64) {
        self.now.store(ms.max(1), Ordering::Release);
    }

    /// Moves time forward by `ms` (saturating) and returns the new time.
    pub fn advance(&self, ms: u64) -> u64 {
        // fetch_update so concurrent advances add up instead of overwriting.
        let prev = self
            .now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(ms))
            })
            .unwrap_or_else(|t| t);
        prev.saturating_add(ms)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        // Acquire pairs with set/advance, so data a test wrote before moving
        // time is visible to whoever sees the new time.
        self.now.load(Ordering::Acquire)
    }
}

/// Bits of time resolved per level: 64 slots.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Levels: 1 ms slots at level 0 up to ~12.4 day slots at level 5.
const LEVELS: usize = 6;
/// Bits of time the levels span together: 2^36 ms, about 2.2 years.
const SPAN_BITS: u32 = SLOT_BITS * LEVELS as u32;

/// What the wheel holds for an entry: the shard packs the entry's slab slot
/// and a per-slot tag into it, so a record left behind by an entry that has
/// gone can be recognised and dropped.
pub type TimerId = u64;

/// The callback's answer for an id that [`TimerWheel::advance`] handed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// Forget this id: the entry expired and the caller removed it, or it is
    /// gone, or it no longer has an expiry.
    Drop,
    /// The entry now expires at this time (ms): keep the id, placed for it.
    /// A time not later than the advance's `now_ms` is placed at
    /// `now_ms + 1`, so it fires at the next advance (never lost, never a
    /// busy loop inside one advance).
    Reschedule(u64),
}

/// Hierarchical, lazy timer wheel over [`TimerId`]s: a shard's index of entries
/// with a TTL, so expired ones are found without scanning the shard.
///
/// Six levels of 64 slots (1 ms, 64 ms, 4.1 s, 4.4 min, 4.7 h, 12.4 days wide)
/// cover 2^36 ms (~2.2 years) ahead; later times wait in an overflow list
/// re-examined each time the wheel's time crosses a 2^36 ms boundary.
/// An id sits in the level of the highest bit where its time differs from the
/// wheel's, so every slot at or before the current position is empty and a
/// slot's ids are all due once time reaches the slot's start.
///
/// Cost: `schedule` is O(1) (one `Vec` push, no per-id allocation);
/// `advance` is O(levels + due slots + ids handed back), however far it
/// jumps. Each callback that reschedules moves an id to a strictly lower
/// level, so an unchanged expiry costs at most 7 callbacks (plus one per
/// 2^36 ms boundary crossed while it waits in the overflow list).
pub struct TimerWheel {
    /// Current time: every held id is due strictly after it.
    now: u64,
    /// `LEVELS * SLOTS` buckets, level-major.
    buckets: Box<[Vec<TimerId>]>,
    /// Per level, bit `s` set when bucket `s` may be non-empty.
    occupied: [u64; LEVELS],
    /// Ids due 2^36 ms or more beyond the current rotation of the top level.
    overflow: Vec<TimerId>,
    /// Ids held, stale and duplicate ones included.
    len: usize,
    /// Reschedules gathered during an advance, placed once time has moved
    /// (kept here to reuse its allocation across advances).
    pending: Vec<(TimerId, u64)>,
}

impl fmt::Debug for TimerWheel {
    // Hand-written: dumping 384 buckets would drown any log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("now", &self.now)
            .field("len", &self.len)
            .field("overflow", &self.overflow.len())
            .finish_non_exhaustive()
    }
}

impl TimerWheel {
    /// An empty wheel whose current time is `now_ms`.
    #[must_use]
    pub fn new(now_ms: u64) -> Self {
        Self {
            now: now_ms,
            buckets: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            overflow: Vec::new(),
            len: 0,
            pending: Vec::new(),
        }
    }

    /// Makes sure `id` is handed to `advance`'s callback no later than the
    /// first advance whose now >= `expires_at_ms`. A time not later than the
    /// wheel's now fires at the very next advance. Scheduling an id again
    /// adds a second entry; nothing is deduplicated.
    pub fn schedule(&mut self, id: TimerId, expires_at_ms: u64) {
        self.place(id, expires_at_ms);
    }

    /// Moves the wheel to `now_ms` (ignored, returning 0, if not later than
    /// the current time). For every held id whose bucket has come due, calls
    /// `on_due(id)`; the id may be early (its expiry may be later than
    /// `now_ms`), stale or a duplicate, and the answer says what to keep.
    /// Reschedules are placed after time has moved, so each id is called at
    /// most once per advance. Returns the number of callbacks made.
    ///
    /// If `on_due` panics, the wheel keeps its old time and only the id
    /// being handed over is lost; the rest fire on a later advance.
    pub fn advance(&mut self, now_ms: u64, mut on_due: impl FnMut(TimerId) -> Fired) -> usize {
        let then = self.now;
        if now_ms <= then {
            return 0;
        }
        // Leftovers of an advance whose callback panicked: place them first
        // so they fire in this advance if due.
        if !self.pending.is_empty() {
            self.place_pending();
        }
        let mut calls = 0;
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = SLOT_BITS * (level as u32 + 1);
            // Crossed into another rotation of this level: every slot started
            // before now. Otherwise slots up to now's digit have started
            // (those at or below the old digit are empty by construction).
            let due = if now_ms >> shift != then >> shift {
                u64::MAX
            } else {
                u64::MAX >> (63 - ((now_ms >> (shift - SLOT_BITS)) & 63))
            };
            let hits = occupied & due;
            let mut rest = hits;
            while rest != 0 {
                let slot = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                let bucket = &mut self.buckets[level * SLOTS + slot];
                calls += fire(bucket, &mut self.len, &mut self.pending, &mut on_due);
            }
            // Cleared only after the buckets are drained, so a panicking
            // callback leaves the remaining ids findable.
            self.occupied[level] &= !hits;
        }
        if !self.overflow.is_empty() && now_ms >> SPAN_BITS != then >> SPAN_BITS {
            calls += fire(
                &mut self.overflow,
                &mut self.len,
                &mut self.pending,
                &mut on_due,
            );
        }
        self.now = now_ms;
        self.place_pending();
        calls
    }

    /// Ids currently held, stale and duplicate ones included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no id is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops every id and releases the buckets' memory, keeping the time.
    pub fn clear(&mut self) {
        for level in 0..LEVELS {
            let mut bits = self.occupied[level];
            while bits != 0 {
                let slot = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                self.buckets[level * SLOTS + slot] = Vec::new();
            }
        }
        self.occupied = [0; LEVELS];
        self.overflow = Vec::new();
        self.pending = Vec::new();
        self.len = 0;
    }

    /// Takes every id out (in no particular order), leaving the wheel
    /// empty with its time unchanged; the caller re-schedules what it keeps.
    pub fn drain(&mut self) -> Vec<TimerId> {
        let mut ids = Vec::with_capacity(self.len);
        for level in 0..LEVELS {
            let mut bits = self.occupied[level];
            while bits != 0 {
                let slot = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                ids.append(&mut std::mem::take(&mut self.buckets[level * SLOTS + slot]));
            }
        }
        ids.append(&mut self.overflow);
        ids.extend(self.pending.drain(..).map(|(id, _)| id));
        self.occupied = [0; LEVELS];
        self.overflow = Vec::new();
        self.len = 0;
        ids
    }

    /// The wheel's current time: the last `now_ms` it advanced to.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Places the gathered reschedules, keeping `pending`'s allocation.
    fn place_pending(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        for &(id, at) in &pending {
            self.place(id, at);
        }
        pending.clear();
        self.pending = pending;
    }

    /// Puts `id` in the bucket whose start is <= `at`, clamping `at` to
    /// now + 1 so the slot is strictly ahead of the current position.
    fn place(&mut self, id: TimerId, at: u64) {
        let at = at.max(self.now.saturating_add(1));
        let diff = self.now ^ at;
        if diff >> SPAN_BITS != 0 {
            self.overflow.push(id);
        } else {
            // Level of the highest differing bit; `| 63` sends diffs below 64 to
            // level 0 (and keeps leading_zeros defined).
            let level = ((63 - (diff | 63).leading_zeros()) / SLOT_BITS) as usize;
            let slot = ((at >> (SLOT_BITS * level as u32)) & 63) as usize;
            self.buckets[level * SLOTS + slot].push(id);
            self.occupied[level] |= 1 << slot;
        }
        self.len += 1;
    }
}

/// Hands every id of `bucket` to `on_due`, queueing reschedules in
/// `pending` (placed once the advance has moved time, which clamps them). Pops one at a time so that a panic leaves the
/// unvisited ids in place. Returns the number of callbacks.
fn fire(
    bucket: &mut Vec<TimerId>,
    len: &mut usize,
    pending: &mut Vec<(TimerId, u64)>,
    on_due: &mut impl FnMut(TimerId) -> Fired,
) -> usize {
    let mut calls = 0;
    while let Some(id) = bucket.pop() {
        *len -= 1;
        calls += 1;
        if let Fired::Reschedule(at) = on_due(id) {
            pending.push((id, at));
        }
    }
    // A burst of same-time expiries must not pin its memory for good; a
    // small bucket keeps its allocation for the next round.
    if bucket.capacity() > 64 {
        *bucket = Vec::new();
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const SEC: u64 = 1000;
    const MIN: u64 = 60 * SEC;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    const YEAR: u64 = 365 * DAY;

    /// xorshift64: deterministic randomness without crates.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        /// A delay spread over every level: pick a scale, then a value in it.
        fn delay(&mut self) -> u64 {
            let scale = [64, 4 * SEC, 5 * MIN, 5 * HOUR, 13 * DAY, 2 * YEAR, 5 * YEAR];
            let s = scale[self.below(scale.len() as u64) as usize];
            1 + self.below(s)
        }
    }

    /// The caller's side: real expiries, checked on every callback.
    struct Model {
        live: BTreeMap<u64, u64>,
        /// (id, expiry, now at drop)
        dropped: Vec<(u64, u64, u64)>,
    }

    impl Model {
        fn new() -> Self {
            Self {
                live: BTreeMap::new(),
                dropped: Vec::new(),
            }
        }

        /// Advances the wheel like the engine would and checks nothing due
        /// is left behind. Returns the callbacks made.
        fn advance(&mut self, wheel: &mut TimerWheel, now: u64) -> usize {
            let prev = wheel.now();
            let calls = wheel.advance(now, |id| match self.live.get(&id) {
                Some(&exp) if exp > now => Fired::Reschedule(exp),
                Some(&exp) => {
                    self.live.remove(&id);
                    self.dropped.push((id, exp, now));
                    Fired::Drop
                }
                None => Fired::Drop,
            });
            if now > prev {
                assert_eq!(wheel.now(), now);
                if let Some((id, exp)) = self.live.iter().find(|&(_, &exp)| exp <= now) {
                    panic!("id {id} due at {exp} still live after advance to {now}");
                }
            }
            calls
        }
    }

    #[test]
    fn drain_takes_everything_and_keeps_time() {
        let mut w = TimerWheel::new(5);
        for id in 0..100u64 {
            w.schedule(id, 6 + id * 1_000_003);
        }
        let mut ids = w.drain();
        ids.sort_unstable();
        assert_eq!(ids, (0..100).collect::<Vec<_>>());
        assert!(w.is_empty());
        assert_eq!(w.now(), 5);
        assert_eq!(w.advance(u64::MAX / 2, |_| Fired::Drop), 0);
    }

    #[test]
    fn random_model_never_late() {
        for seed in [1u64, 0x9e37_79b9_7f4a_7c15, 42, 7_777_777] {
            let mut rng = Rng(seed);
            let start = 1 + rng.below(1 << 40);
            let mut wheel = TimerWheel::new(start);
            let mut model = Model::new();
            let mut now = start;
            for _ in 0..2_000 {
                for _ in 0..rng.below(20) {
                    let id = rng.below(3_000);
                    let exp = now + rng.delay() - 32; // some already due
                    match rng.below(4) {
                        // Shorter or new expiry: the caller must schedule.
                        0 | 1 => {
                            model.live.insert(id, exp);
                            wheel.schedule(id, exp);
                        }
                        // Extension without scheduling, when already
                        // scheduled earlier: the early callback reschedules.
                        2 => match model.live.get_mut(&id) {
                            Some(old) if exp > *old => *old = exp,
                            _ => {
                                model.live.insert(id, exp);
                                wheel.schedule(id, exp);
                            }
                        },
                        // Deleted or persisted: the wheel's id goes stale.
                        _ => {
                            model.live.remove(&id);
                        }
                    }
                }
                let step = match rng.below(4) {
                    0 => 1 + rng.below(64),
                    1 => 1 + rng.below(10 * SEC),
                    2 => 1 + rng.below(DAY),
                    _ => 1 + rng.below(30 * DAY),
                };
                now += step;
                model.advance(&mut wheel, now);
            }
            for &(_, exp, at) in &model.dropped {
                assert!(exp <= at, "dropped before due");
            }
            assert!(!model.dropped.is_empty());
            now += 6 * YEAR;
            model.advance(&mut wheel, now);
            assert!(model.live.is_empty());
            // Stale ids may still sit in buckets after one big jump; they go
            // once their slots come due.
            now += 6 * YEAR;
            model.advance(&mut wheel, now);
            assert!(wheel.is_empty(), "left: {}", wheel.len());
        }
    }

    #[test]
    fn each_level_fires_at_the_right_advance() {
        let delays = [
            1,
            63,
            64,
            65,
            5 * SEC,
            5 * MIN,
            5 * HOUR,
            5 * DAY,
            30 * DAY,
            3 * YEAR,
            100 * YEAR,
        ];
        for start in [1, 1_234_567, (1 << 36) - 3, 5 << 36] {
            for &d in &delays {
                let mut wheel = TimerWheel::new(start);
                let mut model = Model::new();
                model.live.insert(9, start + d);
                wheel.schedule(9, start + d);
                // Approach through several advances, then stop 1 ms short.
                for part in [d / 4, d / 2] {
                    if part > 0 && part < d - 1 {
                        model.advance(&mut wheel, start + part);
                    }
                }
                model.advance(&mut wheel, start + d - 1);
                assert!(
                    model.dropped.is_empty(),
                    "delay {d} start {start}: early drop"
                );
                model.advance(&mut wheel, start + d);
                assert_eq!(model.dropped, vec![(9, start + d, start + d)]);
                assert!(wheel.is_empty());
            }
        }
    }

    #[test]
    fn small_steps_call_each_id_a_bounded_number_of_times() {
        let mut rng = Rng(99);
        let mut wheel = TimerWheel::new(1);
        let mut model = Model::new();
        let n = 2_000u64;
        for id in 0..n {
            let exp = 1 + rng.delay();
            model.live.insert(id, exp);
            wheel.schedule(id, exp);
        }
        let mut calls = 0;
        let mut now = 1;
        while !model.live.is_empty() {
            now += 1 + rng.below(6 * HOUR);
            calls += model.advance(&mut wheel, now);
        }
        // Overflow, then one callback per level at most, then the drop.
        assert!(calls <= n as usize * (LEVELS + 2), "{calls} callbacks");
        assert!(wheel.is_empty());
    }

    #[test]
    fn big_jump_does_no_per_ms_work() {
        let mut rng = Rng(5);
        let start = 777_777;
        let mut wheel = TimerWheel::new(start);
        let mut model = Model::new();
        let n = 10_000u64;
        for id in 0..n {
            let exp = start + 1 + rng.below(10 * DAY);
            model.live.insert(id, exp);
            wheel.schedule(id, exp);
        }
        let mut later = 0;
        for id in n..n + 100 {
            let exp = start + 10 * DAY + 1 + rng.below(YEAR);
            model.live.insert(id, exp);
            wheel.schedule(id, exp);
            later += 1;
        }
        let calls = model.advance(&mut wheel, start + 10 * DAY);
        assert_eq!(model.dropped.len(), n as usize);
        assert_eq!(model.live.len(), later);
        assert_eq!(wheel.len(), later);
        // 864 million ms crossed; callbacks stay proportional to the ids.
        assert!(
            calls <= 2 * (n as usize + later) * LEVELS,
            "{calls} callbacks"
        );
    }

    #[test]
    fn duplicates_and_stale_ids_are_handed_back_and_dropped() {
        let mut wheel = TimerWheel::new(10);
        wheel.schedule(7, 100);
        wheel.schedule(7, 100);
        wheel.schedule(7, 5_000);
        wheel.schedule(8, 50);
        assert_eq!(wheel.len(), 4);
        let mut seen = Vec::new();
        let calls = wheel.advance(100, |id| {
            seen.push(id);
            Fired::Drop
        });
        seen.sort_unstable();
        assert_eq!((calls, seen), (3, vec![7, 7, 8]));
        assert_eq!(wheel.len(), 1);
        let mut seen = Vec::new();
        wheel.advance(6_000, |id| {
            seen.push(id);
            Fired::Drop
        });
        assert_eq!(seen, vec![7]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn past_schedules_and_reschedules_fire_next_advance_without_looping() {
        let mut wheel = TimerWheel::new(1_000);
        wheel.schedule(1, 0);
        wheel.schedule(2, 1_000);
        assert_eq!(wheel.advance(1_001, |_| Fired::Reschedule(0)), 2);
        assert_eq!(wheel.len(), 2);
        // Time not moving: ignored, nothing fires.
        assert_eq!(wheel.advance(1_001, |_| Fired::Drop), 0);
        assert_eq!(wheel.advance(500, |_| Fired::Drop), 0);
        assert_eq!(wheel.now(), 1_001);
        // A callback that always answers "now" is called once per advance.
        assert_eq!(wheel.advance(1_002, |_| Fired::Reschedule(1_002)), 2);
        assert_eq!(wheel.advance(1_003, |_| Fired::Drop), 2);
        assert!(wheel.is_empty());
        // Far in the past (more than the wheel's span): still the next advance.
        let mut wheel = TimerWheel::new(5 << 36);
        wheel.schedule(3, 1);
        assert_eq!(wheel.advance((5 << 36) + 1, |_| Fired::Drop), 1);
    }

    #[test]
    fn clear_drops_everything_and_keeps_time() {
        let mut wheel = TimerWheel::new(50);
        for (id, d) in [(1, 1), (2, 5 * SEC), (3, 5 * DAY), (4, 4 * YEAR)] {
            wheel.schedule(id, 50 + d);
        }
        wheel.clear();
        assert!(wheel.is_empty());
        assert_eq!(wheel.now(), 50);
        assert_eq!(wheel.advance(50 + 10 * YEAR, |_| Fired::Drop), 0);
        wheel.schedule(5, 20 * YEAR);
        assert_eq!(wheel.advance(21 * YEAR, |_| Fired::Drop), 1);
    }

    #[test]
    fn panicking_callback_loses_at_most_one_id() {
        let mut wheel = TimerWheel::new(1);
        for id in 0..10 {
            wheel.schedule(id, 5);
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wheel.advance(10, |id| {
                if id == 4 {
                    panic!("boom")
                } else {
                    Fired::Reschedule(20)
                }
            })
        }));
        assert!(r.is_err());
        assert_eq!(wheel.now(), 1);
        let mut seen = 0;
        wheel.advance(30, |_| {
            seen += 1;
            Fired::Drop
        });
        // The 5 rescheduled before the panic (for 20) and the 4 unvisited.
        assert_eq!(seen, 9);
        assert!(wheel.is_empty());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(0);
        assert_eq!(c.now_ms(), 1);
        assert_eq!(c.advance(99), 100);
        assert_eq!(c.now_ms(), 100);
        c.set(5);
        assert_eq!(c.now_ms(), 5);
        c.set(0);
        assert_eq!(c.now_ms(), 1);
        assert_eq!(c.advance(u64::MAX), u64::MAX);
    }

    #[test]
    fn system_clock_starts_at_one_and_never_goes_back() {
        let c = SystemClock::new();
        let a = c.now_ms();
        assert!(a >= 1);
        std::thread::sleep(std::time::Duration::from_millis(3));
        let b = c.now_ms();
        assert!(b >= a + 3, "{a} -> {b}");
        let dynamic: Box<dyn Clock> = Box::new(SystemClock::default());
        assert!(dynamic.now_ms() >= 1);
    }
}
