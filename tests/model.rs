//! Model-based tests: random operation sequences are applied both to a real
//! one-shard [`Cache`] on a manual clock and to a tiny reference model (a
//! `Vec` of entries ordered most-recent-first), and every reply, `len`,
//! `used_bytes` and counter is compared after every operation.
//!
//! - `model_count_bounded`: `max_entries = 4`, a huge byte budget, so eviction
//!   is exact LRU by count.
//! - `model_byte_bounded`: no entry bound, a 1024-byte budget (about five
//!   entries), values of 0..=310 bytes, client flags and CAS versions (which
//!   are charged), oversized keys and values.
//!
//! The model is written from the documented semantics, independently of the
//! engine's code: its own size classes, its own strict integer parser, its own
//! three-pattern glob. Each sequence ends with a "drain" (fresh keys written
//! until everything old must have been evicted, then `exists` on every key),
//! which pins down the whole LRU order.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use nycache::{Cache, Config, ErrorKind, KeyTtl, ManualClock, NODE_CHARGE, PolicyKind};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError};

/// Bytes of block header in front of the key (see `engine/block.rs`).
const BLOCK_HEADER: usize = 12;
/// Charge of an entry's CAS version (after its first `gets`).
const VERSION_CHARGE: u64 = 16;
/// Charge of an entry's non-zero client flags.
const FLAGS_CHARGE: u64 = 16;
/// Charged while an entry has a TTL (its timer-wheel record).
const TIMER_CHARGE: u64 = 16;

/// jemalloc's size classes, written out independently of the engine: 8, then
/// multiples of 16 up to 128, then four evenly spaced classes per doubling.
fn size_class(n: usize) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) as u64 * 16;
    }
    let mut base = 128usize;
    loop {
        let step = base / 4;
        for i in 1..=4 {
            if n <= base + i * step {
                return (base + i * step) as u64;
            }
        }
        base *= 2;
    }
}

/// Redis-strict decimal i64: exactly the canonical text of some i64.
fn strict_i64(text: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(text).ok()?;
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// A value: a canned text (often numeric) or `len` copies of a byte.
#[derive(Clone, Copy)]
enum Val {
    Text(&'static str),
    Fill(u8, usize),
}

impl Val {
    fn bytes(self) -> Vec<u8> {
        match self {
            Val::Text(s) => s.as_bytes().to_vec(),
            Val::Fill(b, n) => vec![b; n],
        }
    }
}

impl std::fmt::Debug for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Text(s) => write!(f, "{s:?}"),
            Val::Fill(b, n) => write!(f, "{:?}x{n}", *b as char),
        }
    }
}

/// Which version a `cas` passes.
#[derive(Clone, Copy, Debug)]
enum VerSel {
    /// The last version `gets` returned for this key (possibly stale; 1 if none).
    Last,
    /// An arbitrary version (never 0: see `cas_with_version_zero_...` below).
    Any(u64),
}

/// Glob patterns for `keys`, with an obvious model.
#[derive(Clone, Copy, Debug)]
enum Pat {
    None,
    Star,
    PrefixA,
    OneByte,
}

impl Pat {
    fn glob(self) -> Option<&'static [u8]> {
        match self {
            Pat::None => None,
            Pat::Star => Some(b"*"),
            Pat::PrefixA => Some(b"a*"),
            Pat::OneByte => Some(b"?"),
        }
    }
    fn matches(self, key: &[u8]) -> bool {
        match self {
            Pat::None | Pat::Star => true,
            Pat::PrefixA => key.first() == Some(&b'a'),
            Pat::OneByte => key.len() == 1,
        }
    }
}

/// TTLs in ms (`None` = no expiry).
type Ttl = Option<u64>;

#[derive(Clone, Debug)]
enum Op {
    Get(usize),
    GetInto(usize, usize),
    Gets(usize),
    Set(usize, Val, Ttl),
    SetFlags(usize, Val, Ttl, u32),
    Add(usize, Val, Ttl),
    Replace(usize, Val, Ttl),
    Cas(usize, Val, Ttl, VerSel),
    /// `gets` then at once `cas` with the version it returned.
    GetsCas(usize, Val, Ttl),
    Delete(usize),
    Exists(usize),
    Touch(usize),
    /// `Some(0)` is a zero TTL (deletes at once), `None` removes the TTL.
    Expire(usize, Ttl),
    Persist(usize),
    Ttl(usize),
    Incr(usize, i64),
    Decr(usize, i64),
    /// `get_many`: one `get` per key, in order.
    GetMany(Vec<usize>),
    /// `set_many`: one `set` per pair with one TTL, stopping at the first error.
    SetMany(Vec<(usize, Val)>, Ttl),
    /// `delete_many`: how many of the keys existed.
    DeleteMany(Vec<usize>),
    Advance(u64),
    Maintain,
    Flush,
    Keys(Pat),
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Entry {
    key: Vec<u8>,
    val: Vec<u8>,
    /// Absolute expiry in ms, 0 = never.
    exp: u64,
    /// CAS version, assigned by the first `gets` after the last write.
    ver: Option<u64>,
    flags: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counters {
    hits: u64,
    misses: u64,
    sets: u64,
    deletes: u64,
    evictions: u64,
    expired_lazy: u64,
    expired_active: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Why {
    Deleted,
    Evicted,
    Lazy,
    Active,
}

#[derive(Clone, Copy)]
enum Exp {
    At(u64),
    Keep,
}

#[derive(Clone, Copy)]
enum Cond {
    Always,
    Absent,
    Present,
    Version(u64),
}

struct Model {
    /// Most recently used first; the last one is the next victim.
    entries: Vec<Entry>,
    now: u64,
    max_entries: u64,
    budget: u64,
    max_key: usize,
    max_value: usize,
    used: u64,
    next_version: u64,
    c: Counters,
}

type R<T> = Result<T, ErrorKind>;

impl Model {
    fn charge(e: &Entry) -> u64 {
        size_class(BLOCK_HEADER + e.key.len() + e.val.len())
            + NODE_CHARGE
            + if e.ver.is_some() { VERSION_CHARGE } else { 0 }
            + if e.flags != 0 { FLAGS_CHARGE } else { 0 }
            + if e.exp != 0 { TIMER_CHARGE } else { 0 }
    }

    /// A live entry's TTL changes: its timer charge follows, and room is
    /// made by plain LRU order (the entry itself may go).
    fn set_exp(&mut self, i: usize, at: u64) {
        let before = Self::charge(&self.entries[i]);
        self.entries[i].exp = at;
        let after = Self::charge(&self.entries[i]);
        self.used = self.used - before + after;
        self.make_room(0, false, None);
    }

    fn expired(&self, e: &Entry) -> bool {
        e.exp != 0 && e.exp <= self.now
    }

    fn remove_at(&mut self, i: usize, why: Why) {
        let e = self.entries.remove(i);
        self.used -= Self::charge(&e);
        match why {
            Why::Deleted => self.c.deletes += 1,
            Why::Evicted => self.c.evictions += 1,
            Why::Lazy => self.c.expired_lazy += 1,
            Why::Active => self.c.expired_active += 1,
        }
    }

    /// Position of the live entry, removing it first if it has expired.
    fn lookup(&mut self, key: &[u8]) -> Option<usize> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        if self.expired(&self.entries[i]) {
            self.remove_at(i, Why::Lazy);
            return None;
        }
        Some(i)
    }

    fn move_to_front(&mut self, i: usize) {
        let e = self.entries.remove(i);
        self.entries.insert(0, e);
    }

    /// Evicts from the LRU end until `extra` bytes (and, for a new entry, one
    /// more entry) fit; never evicts `keep`. An expired victim counts as an
    /// expiry, not an eviction.
    fn make_room(&mut self, extra: u64, new_entry: bool, keep: Option<&[u8]>) {
        while self.used + extra > self.budget || (new_entry && self.entries.len() as u64 >= self.max_entries) {
            let Some(last) = self.entries.last() else { break };
            if keep == Some(last.key.as_slice()) {
                break;
            }
            let why = if self.expired(last) { Why::Lazy } else { Why::Evicted };
            self.remove_at(self.entries.len() - 1, why);
        }
    }

    fn check_key(&self, key: &[u8]) -> R<()> {
        if key.len() > self.max_key { Err(ErrorKind::TooLarge) } else { Ok(()) }
    }

    fn expires_at(&self, ttl: Ttl) -> u64 {
        ttl.map_or(0, |ms| self.now + ms)
    }

    fn store(&mut self, key: &[u8], val: Vec<u8>, exp: Exp, flags: u32, cond: Cond) -> R<()> {
        let base = size_class(BLOCK_HEADER + key.len() + val.len())
            + NODE_CHARGE
            + if flags != 0 { FLAGS_CHARGE } else { 0 };
        let charge = base + if matches!(exp, Exp::At(at) if at != 0) { TIMER_CHARGE } else { 0 };
        if charge > self.budget {
            return Err(ErrorKind::TooLarge);
        }
        let existing = self.lookup(key);
        match (cond, existing) {
            (Cond::Absent, Some(_)) => return Err(ErrorKind::Exists),
            (Cond::Present | Cond::Version(_), None) => return Err(ErrorKind::NotFound),
            (Cond::Version(v), Some(i)) if self.entries[i].ver != Some(v) => return Err(ErrorKind::CasMismatch),
            _ => {}
        }
        if let Exp::At(at) = exp
            && at != 0
            && at <= self.now
        {
            // Already expired: nothing stored, any old value goes.
            match existing {
                Some(i) => self.remove_at(i, Why::Lazy),
                None => self.c.expired_lazy += 1,
            }
            self.c.sets += 1;
            return Ok(());
        }
        match existing {
            Some(i) => {
                // Old charge released, version and flags dropped, moved to
                // the front, then room made for the new charge.
                let old = Self::charge(&self.entries[i]);
                self.used -= old;
                let new_exp = match exp {
                    Exp::At(at) => at,
                    Exp::Keep => self.entries[i].exp,
                };
                let charge = base + if new_exp != 0 { TIMER_CHARGE } else { 0 };
                self.entries[i].ver = None;
                self.entries[i].flags = 0;
                self.move_to_front(i);
                self.make_room(charge, false, Some(key));
                let e = &mut self.entries[0];
                e.val = val;
                e.flags = flags;
                e.exp = new_exp;
                self.used += charge;
            }
            None => {
                self.make_room(charge, true, None);
                let exp = match exp {
                    Exp::At(at) => at,
                    Exp::Keep => 0,
                };
                self.entries.insert(0, Entry { key: key.to_vec(), val, exp, ver: None, flags });
                self.used += charge;
            }
        }
        self.c.sets += 1;
        Ok(())
    }

    /// set / add / replace / cas / set_with_flags.
    fn write(&mut self, key: &[u8], val: Vec<u8>, ttl: Ttl, flags: u32, cond: Cond) -> R<()> {
        self.check_key(key)?;
        if val.len() > self.max_value {
            return Err(ErrorKind::TooLarge);
        }
        let at = self.expires_at(ttl);
        self.store(key, val, Exp::At(at), flags, cond)
    }

    fn get(&mut self, key: &[u8]) -> R<Option<Vec<u8>>> {
        self.check_key(key)?;
        match self.lookup(key) {
            None => {
                self.c.misses += 1;
                Ok(None)
            }
            Some(i) => {
                self.c.hits += 1;
                self.move_to_front(i);
                Ok(Some(self.entries[0].val.clone()))
            }
        }
    }

    fn gets(&mut self, key: &[u8]) -> R<Option<(Vec<u8>, u64, u32)>> {
        let Some(val) = self.get(key)? else { return Ok(None) };
        let version = match self.entries[0].ver {
            Some(v) => v,
            None => {
                let v = self.next_version;
                self.next_version += 1;
                self.entries[0].ver = Some(v);
                self.used += VERSION_CHARGE;
                self.make_room(0, false, Some(key));
                v
            }
        };
        Ok(Some((val, version, self.entries[0].flags)))
    }

    fn delete(&mut self, key: &[u8]) -> R<bool> {
        self.check_key(key)?;
        Ok(match self.lookup(key) {
            Some(i) => {
                self.remove_at(i, Why::Deleted);
                true
            }
            None => false,
        })
    }

    fn exists(&mut self, key: &[u8]) -> R<bool> {
        self.check_key(key)?;
        Ok(self.lookup(key).is_some())
    }

    fn touch(&mut self, key: &[u8]) -> R<bool> {
        self.check_key(key)?;
        Ok(match self.lookup(key) {
            Some(i) => {
                self.move_to_front(i);
                true
            }
            None => false,
        })
    }

    fn expire(&mut self, key: &[u8], ttl: Ttl) -> R<bool> {
        self.check_key(key)?;
        let at = match ttl {
            Some(0) => self.now,
            other => self.expires_at(other),
        };
        let Some(i) = self.lookup(key) else { return Ok(false) };
        if at != 0 && at <= self.now {
            self.remove_at(i, Why::Lazy);
        } else {
            self.set_exp(i, at);
        }
        Ok(true)
    }

    fn persist(&mut self, key: &[u8]) -> R<bool> {
        self.check_key(key)?;
        Ok(match self.lookup(key) {
            Some(i) if self.entries[i].exp != 0 => {
                self.set_exp(i, 0);
                true
            }
            _ => false,
        })
    }

    fn ttl(&mut self, key: &[u8]) -> R<KeyTtl> {
        self.check_key(key)?;
        Ok(match self.lookup(key) {
            None => KeyTtl::Missing,
            Some(i) if self.entries[i].exp == 0 => KeyTtl::Persistent,
            Some(i) => KeyTtl::Expires(Duration::from_millis(self.entries[i].exp - self.now)),
        })
    }

    fn incr(&mut self, key: &[u8], delta: i64) -> R<i64> {
        self.check_key(key)?;
        let (current, flags) = match self.lookup(key) {
            None => (0, 0),
            Some(i) => {
                let e = &self.entries[i];
                (strict_i64(&e.val).ok_or(ErrorKind::NotANumber)?, e.flags)
            }
        };
        let next = current.checked_add(delta).ok_or(ErrorKind::Overflow)?;
        let text = next.to_string().into_bytes();
        if text.len() > self.max_value {
            return Err(ErrorKind::TooLarge);
        }
        self.store(key, text, Exp::Keep, flags, Cond::Always)?;
        Ok(next)
    }

    fn decr(&mut self, key: &[u8], delta: i64) -> R<i64> {
        // Checked before the key is even looked at: no lazy expiry.
        let neg = delta.checked_neg().ok_or(ErrorKind::Overflow)?;
        self.incr(key, neg)
    }

    /// Active expiry: every expired entry goes, the rest keep their order.
    fn maintain(&mut self) -> usize {
        let mut n = 0;
        for i in (0..self.entries.len()).rev() {
            if self.expired(&self.entries[i]) {
                self.remove_at(i, Why::Active);
                n += 1;
            }
        }
        n
    }

    fn flush(&mut self) {
        self.entries.clear();
        self.used = 0;
    }

    /// What `keys`/`scan` return: live (not expired) keys; expired entries
    /// not yet reclaimed are skipped but stay stored (and counted by `len`).
    fn keys(&self, pat: Pat) -> BTreeSet<Vec<u8>> {
        self.entries.iter().filter(|e| !self.expired(e) && pat.matches(&e.key)).map(|e| e.key.clone()).collect()
    }
}

// ---------------------------------------------------------------------------
// The harness: one op on both sides, replies compared
// ---------------------------------------------------------------------------

struct Harness {
    cache: Cache,
    clock: Arc<ManualClock>,
    m: Model,
    keys: &'static [&'static [u8]],
    /// The last version `gets` returned per key index.
    last_ver: HashMap<usize, u64>,
}

fn kind<T>(r: nycache::Result<T>) -> R<T> {
    r.map_err(|e| e.kind())
}

fn ms(ttl: Ttl) -> Option<Duration> {
    ttl.map(Duration::from_millis)
}

impl Harness {
    fn new(config: Config, max_entries: Option<u64>, keys: &'static [&'static [u8]]) -> Harness {
        let clock = Arc::new(ManualClock::new(1));
        let budget = config.max_memory; // one shard: the whole budget
        let max_key = config.max_key_size;
        let cache = Cache::with_clock(config, clock.clone()).expect("valid config");
        let max_value = cache.max_value_size() as usize;
        Harness {
            cache,
            clock,
            m: Model {
                entries: Vec::new(),
                now: 1,
                max_entries: max_entries.unwrap_or(u64::MAX),
                budget,
                max_key,
                max_value,
                used: 0,
                next_version: 1,
                c: Counters::default(),
            },
            keys,
            last_ver: HashMap::new(),
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let cache = &self.cache;
        let m = &mut self.m;
        let key = |k: usize| self.keys[k];
        match *op {
            Op::Get(k) => {
                let got = kind(cache.get(key(k))).map(|v| v.map(|v| v.to_vec()));
                prop_assert_eq!(got, m.get(key(k)), "{:?}", op);
            }
            Op::GetInto(k, len) => {
                let mut buf = vec![0xEEu8; len];
                let got = kind(cache.get_into(key(k), &mut buf));
                let want = m.get(key(k));
                prop_assert_eq!(got, want.clone().map(|v| v.map(|v| v.len())), "{:?}", op);
                match want {
                    Ok(Some(v)) if v.len() <= len => {
                        prop_assert_eq!(&buf[..v.len()], &v[..], "{:?}: copied bytes", op);
                        prop_assert!(buf[v.len()..].iter().all(|&b| b == 0xEE), "{:?}: wrote past the value", op);
                    }
                    _ => prop_assert!(buf.iter().all(|&b| b == 0xEE), "{:?}: wrote into a small buffer", op),
                }
            }
            Op::Gets(k) => {
                let got = kind(cache.gets(key(k))).map(|v| v.map(|v| (v.value.to_vec(), v.version, v.flags)));
                prop_assert_eq!(got.clone(), m.gets(key(k)), "{:?}", op);
                if let Ok(Some((_, version, _))) = got {
                    self.last_ver.insert(k, version);
                }
            }
            Op::Set(k, v, ttl) => {
                let got = kind(cache.set(key(k), &v.bytes(), ms(ttl)));
                prop_assert_eq!(got, m.write(key(k), v.bytes(), ttl, 0, Cond::Always), "{:?}", op);
            }
            Op::SetFlags(k, v, ttl, flags) => {
                let got = kind(cache.set_with_flags(key(k), &v.bytes(), ms(ttl), flags));
                prop_assert_eq!(got, m.write(key(k), v.bytes(), ttl, flags, Cond::Always), "{:?}", op);
            }
            Op::Add(k, v, ttl) => {
                let got = kind(cache.add(key(k), &v.bytes(), ms(ttl)));
                prop_assert_eq!(got, m.write(key(k), v.bytes(), ttl, 0, Cond::Absent), "{:?}", op);
            }
            Op::Replace(k, v, ttl) => {
                let got = kind(cache.replace(key(k), &v.bytes(), ms(ttl)));
                prop_assert_eq!(got, m.write(key(k), v.bytes(), ttl, 0, Cond::Present), "{:?}", op);
            }
            Op::Cas(k, v, ttl, sel) => {
                let version = match sel {
                    VerSel::Last => self.last_ver.get(&k).copied().unwrap_or(1),
                    VerSel::Any(v) => v,
                };
                let got = kind(cache.cas(key(k), &v.bytes(), ms(ttl), version));
                let want = m.write(key(k), v.bytes(), ttl, 0, Cond::Version(version));
                prop_assert_eq!(got, want, "{:?} with version {}", op, version);
            }
            Op::GetsCas(k, v, ttl) => {
                self.step(&Op::Gets(k))?;
                return self.step(&Op::Cas(k, v, ttl, VerSel::Last));
            }
            Op::Delete(k) => prop_assert_eq!(kind(cache.delete(key(k))), m.delete(key(k)), "{:?}", op),
            Op::Exists(k) => prop_assert_eq!(kind(cache.exists(key(k))), m.exists(key(k)), "{:?}", op),
            Op::Touch(k) => prop_assert_eq!(kind(cache.touch(key(k))), m.touch(key(k)), "{:?}", op),
            Op::Expire(k, ttl) => {
                prop_assert_eq!(kind(cache.expire(key(k), ms(ttl))), m.expire(key(k), ttl), "{:?}", op);
            }
            Op::Persist(k) => prop_assert_eq!(kind(cache.persist(key(k))), m.persist(key(k)), "{:?}", op),
            Op::Ttl(k) => prop_assert_eq!(kind(cache.ttl(key(k))), m.ttl(key(k)), "{:?}", op),
            Op::Incr(k, d) => prop_assert_eq!(kind(cache.incr(key(k), d)), m.incr(key(k), d), "{:?}", op),
            Op::Decr(k, d) => prop_assert_eq!(kind(cache.decr(key(k), d)), m.decr(key(k), d), "{:?}", op),
            Op::GetMany(ref ks) => {
                let keys: Vec<&[u8]> = ks.iter().map(|&k| key(k)).collect();
                let got = kind(cache.get_many(&keys)).map(|vs| vs.into_iter().map(|v| v.map(|v| v.to_vec())).collect());
                let want: R<Vec<Option<Vec<u8>>>> = keys.iter().map(|k| m.get(k)).collect();
                prop_assert_eq!(got, want, "{:?}", op);
            }
            Op::SetMany(ref items, ttl) => {
                let pairs: Vec<(&[u8], Vec<u8>)> = items.iter().map(|&(k, v)| (key(k), v.bytes())).collect();
                let got = kind(cache.set_many(&pairs, ms(ttl)));
                let want = pairs.iter().try_for_each(|(k, v)| m.write(k, v.clone(), ttl, 0, Cond::Always));
                prop_assert_eq!(got, want, "{:?}", op);
            }
            Op::DeleteMany(ref ks) => {
                let keys: Vec<&[u8]> = ks.iter().map(|&k| key(k)).collect();
                let got = kind(cache.delete_many(&keys));
                let want = keys.iter().try_fold(0, |n, k| Ok(n + usize::from(m.delete(k)?)));
                prop_assert_eq!(got, want, "{:?}", op);
            }
            Op::Advance(d) => {
                m.now = self.clock.advance(d);
            }
            Op::Maintain => prop_assert_eq!(cache.run_maintenance(), m.maintain(), "{:?}", op),
            Op::Flush => {
                cache.flush();
                m.flush();
            }
            Op::Keys(pat) => {
                let got = kind(cache.keys(pat.glob())).expect("keys");
                let set: BTreeSet<Vec<u8>> = got.iter().cloned().collect();
                prop_assert_eq!(set.len(), got.len(), "{:?}: duplicate keys {:?}", op, got);
                prop_assert_eq!(set, m.keys(pat), "{:?}", op);
            }
        }
        self.check_sizes(op)
    }

    /// len, used bytes and every counter, after every op.
    fn check_sizes(&self, op: &Op) -> Result<(), TestCaseError> {
        let m = &self.m;
        prop_assert_eq!(self.cache.len(), m.entries.len() as u64, "len after {:?}", op);
        let st = self.cache.stats();
        prop_assert_eq!(st.entries, m.entries.len() as u64, "entries after {:?}", op);
        prop_assert_eq!(st.used_bytes, m.used, "used_bytes after {:?}", op);
        prop_assert!(st.used_bytes <= m.budget, "over budget after {:?}", op);
        let got = Counters {
            hits: st.hits,
            misses: st.misses,
            sets: st.sets,
            deletes: st.deletes,
            evictions: st.evictions,
            expired_lazy: st.expired_lazy,
            expired_active: st.expired_active,
        };
        prop_assert_eq!(got, m.c, "counters after {:?}", op);
        prop_assert_eq!(st.expirations, m.c.expired_lazy + m.c.expired_active);
        Ok(())
    }

    /// End of a case: `keys` and a small-step `scan` agree with the model;
    /// then fresh keys are written until every old entry must have been
    /// evicted, probing every key after each write, which checks the whole
    /// LRU order.
    fn finish(&mut self, drain: &[Op]) -> Result<(), TestCaseError> {
        let want = self.m.keys(Pat::None);
        let keys = self.cache.keys(None).expect("keys");
        prop_assert_eq!(keys.iter().cloned().collect::<BTreeSet<_>>(), want.clone());
        prop_assert_eq!(keys.len(), want.len(), "duplicates in {:?}", keys);
        let mut cursor = 0;
        let mut scanned = Vec::new();
        loop {
            let (next, mut got) = self.cache.scan(cursor, None, 1).expect("scan");
            scanned.append(&mut got);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        prop_assert_eq!(scanned.len(), want.len(), "scan {:?}", scanned);
        prop_assert_eq!(scanned.into_iter().collect::<BTreeSet<_>>(), want);
        for op in drain {
            self.step(op)?;
            for k in 0..self.keys.len() {
                self.step(&Op::Exists(k))?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Numeric (and almost numeric) texts for incr/decr.
const TEXTS: &[&str] = &[
    "0",
    "1",
    "-3",
    "42",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775806",
    "-9223372036854775807",
    "99999999999999999999",
    "-9223372036854775809",
    "01",
    "-0",
    "+1",
    " 1",
    "1 ",
    "1e3",
    "abc",
    "",
];

const DELTAS: &[i64] = &[0, 1, -1, 7, -100, 1 << 40, i64::MAX, i64::MIN, -i64::MAX, i64::MAX - 1];

fn ttl() -> impl Strategy<Value = Ttl> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(1)),
        1 => Just(Some(10)),
        1 => Just(Some(100)),
        1 => Just(Some(2000)),
        // Rarely, one in the timer wheel's third level (4.1 s slots).
        1 => Just(Some(100_000)),
    ]
}

fn expire_ttl() -> impl Strategy<Value = Ttl> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(0)),
        1 => Just(Some(1)),
        1 => Just(Some(10)),
        1 => Just(Some(100)),
        1 => Just(Some(2000)),
    ]
}

fn delta() -> impl Strategy<Value = i64> {
    prop::sample::select(DELTAS)
}

fn text() -> impl Strategy<Value = Val> {
    prop::sample::select(TEXTS).prop_map(Val::Text)
}

fn ver_sel() -> impl Strategy<Value = VerSel> {
    prop_oneof![3 => Just(VerSel::Last), 1 => (1u64..24).prop_map(VerSel::Any)]
}

fn pat() -> impl Strategy<Value = Pat> {
    prop_oneof![Just(Pat::None), Just(Pat::Star), Just(Pat::PrefixA), Just(Pat::OneByte)]
}

/// Every operation, over keys from `key` and values from `val`.
fn ops(
    key: impl Strategy<Value = usize> + Clone + 'static,
    val: impl Strategy<Value = Val> + Clone + 'static,
    buf: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Vec<Op>> {
    let k = key;
    let flags = prop_oneof![Just(0u32), 1u32..4];
    let op = prop_oneof![
        6 => k.clone().prop_map(Op::Get),
        2 => (k.clone(), buf).prop_map(|(k, n)| Op::GetInto(k, n)),
        4 => k.clone().prop_map(Op::Gets),
        8 => (k.clone(), val.clone(), ttl()).prop_map(|(k, v, t)| Op::Set(k, v, t)),
        2 => (k.clone(), val.clone(), ttl(), flags).prop_map(|(k, v, t, f)| Op::SetFlags(k, v, t, f)),
        3 => (k.clone(), val.clone(), ttl()).prop_map(|(k, v, t)| Op::Add(k, v, t)),
        3 => (k.clone(), val.clone(), ttl()).prop_map(|(k, v, t)| Op::Replace(k, v, t)),
        4 => (k.clone(), val.clone(), ttl(), ver_sel()).prop_map(|(k, v, t, s)| Op::Cas(k, v, t, s)),
        2 => (k.clone(), val.clone(), ttl()).prop_map(|(k, v, t)| Op::GetsCas(k, v, t)),
        2 => k.clone().prop_map(Op::Delete),
        3 => k.clone().prop_map(Op::Exists),
        2 => k.clone().prop_map(Op::Touch),
        3 => (k.clone(), expire_ttl()).prop_map(|(k, t)| Op::Expire(k, t)),
        1 => k.clone().prop_map(Op::Persist),
        2 => k.clone().prop_map(Op::Ttl),
        4 => (k.clone(), delta()).prop_map(|(k, d)| Op::Incr(k, d)),
        1 => (k.clone(), delta()).prop_map(|(k, d)| Op::Decr(k, d)),
        1 => prop::collection::vec(k.clone(), 0..4).prop_map(Op::GetMany),
        1 => (prop::collection::vec((k.clone(), val.clone()), 0..4), ttl()).prop_map(|(kv, t)| Op::SetMany(kv, t)),
        1 => prop::collection::vec(k.clone(), 0..4).prop_map(Op::DeleteMany),
        4 => prop_oneof![
            10 => prop::sample::select(&[0u64, 1, 5, 50, 1000][..]),
            // Rarely far enough to cross the timer wheel's higher levels.
            1 => Just(70_000u64),
        ].prop_map(Op::Advance),
        2 => Just(Op::Maintain),
        1 => pat().prop_map(Op::Keys),
        1 => Just(Op::Flush),
    ];
    prop::collection::vec(op, 0..60)
}

/// 256 cases, unless `PROPTEST_CASES` asks for another number (for a long
/// soak: `PROPTEST_CASES=100000 cargo test --release --test model`).
fn proptest_config() -> ProptestConfig {
    let base = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() { base.cases } else { 256 };
    // No regression files: this test must not write into the source tree.
    ProptestConfig { cases, failure_persistence: None, ..base }
}

// ---------------------------------------------------------------------------
// Count-bounded: max_entries = 4, exact LRU by count
// ---------------------------------------------------------------------------

/// Six keys (the empty one included), then the drain's fresh keys.
const COUNT_KEYS: &[&[u8]] = &[b"", b"a", b"b", b"c", b"ab", b"k5", b"z0", b"z1", b"z2", b"z3", b"z4"];
const COUNT_LIVE_KEYS: usize = 6;

fn count_cache() -> Harness {
    // The model checks exact LRU eviction order: pin the policy.
    let config = Config::builder()
        .policy(PolicyKind::Lru)
        .shards(1)
        .max_entries(4)
        .max_memory(64 * 1024 * 1024)
        .max_key_size(1024)
        .maintenance_ms(0)
        .build()
        .expect("config");
    Harness::new(config, Some(4), COUNT_KEYS)
}

fn count_ops() -> impl Strategy<Value = Vec<Op>> {
    let val = prop_oneof![
        3 => text(),
        2 => (prop::sample::select(&b"xyz"[..]), 0usize..=4).prop_map(|(b, n)| Val::Fill(b, n)),
    ];
    ops(0..COUNT_LIVE_KEYS, val, 0..=24)
}

fn count_drain() -> Vec<Op> {
    (COUNT_LIVE_KEYS..COUNT_KEYS.len()).map(|k| Op::Set(k, Val::Text("drain"), None)).collect()
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn model_count_bounded(ops in count_ops()) {
        let mut h = count_cache();
        for op in &ops {
            h.step(op)?;
        }
        h.finish(&count_drain())?;
    }
}

// ---------------------------------------------------------------------------
// Byte-bounded: a 1024-byte budget, about five entries
// ---------------------------------------------------------------------------

/// Eight keys (the empty one included) of which about five fit; keys up to
/// 16 bytes are accepted, index 8 is 17 bytes (TooLarge); then
/// the drain's fresh keys.
const BYTE_KEYS: &[&[u8]] = &[
    b"", b"a", b"b", b"cc", b"ddd", b"e", b"ff", b"g", b"0123456789abcdefX", b"z0", b"z1", b"z2", b"z3", b"z4", b"z5",
];
const BYTE_OVERSIZE_KEY: usize = 8;
const BYTE_MAX_VALUE: u64 = 300;
/// The least that config validation allows: each shard must hold two of the
/// largest entries (300 + 16 + 128 = 444 bytes each), and at least 1024.
const BYTE_BUDGET: u64 = 1024;

fn byte_cache() -> Harness {
    // The model checks exact LRU eviction order: pin the policy.
    let config = Config::builder()
        .policy(PolicyKind::Lru)
        .shards(1)
        .max_memory(BYTE_BUDGET)
        .max_key_size(16)
        .max_value_size(BYTE_MAX_VALUE)
        .maintenance_ms(0)
        .build()
        .expect("config");
    let h = Harness::new(config, None, BYTE_KEYS);
    assert_eq!(h.cache.max_value_size(), BYTE_MAX_VALUE);
    assert_eq!(h.cache.stats().max_bytes, BYTE_BUDGET);
    h
}

fn byte_ops() -> impl Strategy<Value = Vec<Op>> {
    let key = prop_oneof![12 => 0..BYTE_OVERSIZE_KEY, 1 => Just(BYTE_OVERSIZE_KEY)];
    let val = prop_oneof![
        2 => text(),
        3 => (prop::sample::select(&b"pqrs"[..]), 0usize..=300).prop_map(|(b, n)| Val::Fill(b, n)),
        3 => (prop::sample::select(&b"pqrs"[..]), 150usize..=300).prop_map(|(b, n)| Val::Fill(b, n)),
        1 => (prop::sample::select(&b"pqrs"[..]), 301usize..=310).prop_map(|(b, n)| Val::Fill(b, n)),
    ];
    ops(key, val, 0..=320)
}

fn byte_drain() -> Vec<Op> {
    // 6 * (size_class(12 + 2 + 120) + 32) = 6 * 192 > 1024: everything old goes.
    (BYTE_OVERSIZE_KEY + 1..BYTE_KEYS.len()).map(|k| Op::Set(k, Val::Fill(b'z', 120), None)).collect()
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn model_byte_bounded(ops in byte_ops()) {
        let mut h = byte_cache();
        for op in &ops {
            h.step(op)?;
        }
        h.finish(&byte_drain())?;
    }
}

// ---------------------------------------------------------------------------
// Deterministic tests
// ---------------------------------------------------------------------------

#[test]
fn size_classes_of_the_model() {
    let cases = [(0, 8), (8, 8), (9, 16), (128, 128), (129, 160), (256, 256), (257, 320), (513, 640), (4097, 5120)];
    for (n, want) in cases {
        assert_eq!(size_class(n), want, "size_class({n})");
    }
}

/// Fills four keys, reads some in a given order, inserts new keys and checks
/// exactly which keys were evicted, and that reads without use (`exists`)
/// do not change the order.
#[test]
fn lru_eviction_order_is_exact() {
    let h = count_cache();
    let c = &h.cache;
    let present = |keys: &[&str]| {
        let mut got: Vec<String> =
            c.keys(None).unwrap().into_iter().map(|k| String::from_utf8(k).unwrap()).collect();
        got.sort();
        let mut want: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want);
    };
    for k in ["a", "b", "c", "d"] {
        c.set(k.as_bytes(), b"v", None).unwrap();
    }
    // Order, most recent first: d c b a.
    assert!(c.get(b"a").unwrap().is_some()); // a d c b
    assert!(c.get(b"c").unwrap().is_some()); // c a d b
    c.set(b"e", b"v", None).unwrap(); // evicts b -> e c a d
    present(&["a", "c", "d", "e"]);
    assert!(c.touch(b"d").unwrap()); // d e c a
    assert!(c.exists(b"a").unwrap()); // no use: still d e c a
    assert!(c.ttl(b"a").unwrap() == KeyTtl::Persistent); // no use either
    c.set(b"f", b"v", None).unwrap(); // evicts a -> f d e c
    present(&["c", "d", "e", "f"]);
    c.set(b"c", b"v2", None).unwrap(); // overwrite: no eviction -> c f d e
    present(&["c", "d", "e", "f"]);
    assert!(c.expire(b"e", Some(Duration::from_secs(5))).unwrap()); // no use: c f d e
    assert_eq!(c.add(b"c", b"x", None).unwrap_err().kind(), ErrorKind::Exists); // no use
    c.add(b"g", b"v", None).unwrap(); // evicts e -> g c f d
    present(&["c", "d", "f", "g"]);
    let mut buf = [0u8; 1];
    assert_eq!(c.get_into(b"d", &mut buf).unwrap(), Some(1)); // d g c f
    assert_eq!(c.incr(b"h", 3).unwrap(), 3); // evicts f -> h d g c
    present(&["c", "d", "g", "h"]);
    let v = c.gets(b"c").unwrap().unwrap().version; // c h d g
    assert_eq!(c.cas(b"g", b"y", None, v).unwrap_err().kind(), ErrorKind::CasMismatch); // no use
    c.set(b"i", b"v", None).unwrap(); // evicts g -> i c h d
    present(&["c", "d", "h", "i"]);
    c.cas(b"c", b"z", None, v).unwrap(); // c i h d
    // An expired entry at the LRU end is the victim, counted as an expiry.
    assert!(c.expire(b"d", Some(Duration::from_millis(10))).unwrap());
    h.clock.advance(10);
    assert_eq!(c.len(), 4);
    c.set(b"j", b"v", None).unwrap(); // removes d (expired) -> j c i h
    present(&["c", "h", "i", "j"]);
    c.set(b"k", b"v", None).unwrap(); // evicts h -> k j c i
    present(&["c", "i", "j", "k"]);
    let st = c.stats();
    assert_eq!((st.evictions, st.expired_lazy, st.entries), (6, 1, 4));
    assert_eq!((st.hits, st.misses), (4, 0));
}

/// A version `gets` never handed out must not match. Versions start at 1, and
/// an entry that was never read with `gets` (or was written since) has no
/// version; `cas` with version 0 should then fail like any other stale
/// version, instead of overwriting unconditionally.
#[test]
fn cas_with_version_zero_on_an_unversioned_entry_is_rejected() {
    let h = count_cache();
    let c = &h.cache;
    c.set(b"k", b"v1", None).unwrap();
    let got = c.cas(b"k", b"v2", None, 0).map_err(|e| e.kind());
    assert_eq!(got, Err(ErrorKind::CasMismatch), "cas with version 0 overwrote a never-read entry");
    assert_eq!(c.get(b"k").unwrap().unwrap().as_bytes(), b"v1");
}

/// Same hole after a write: a client holding the version from `gets` is
/// correctly refused after someone else's `set`, but version 0 still wins.
#[test]
fn cas_with_version_zero_after_an_overwrite_is_rejected() {
    let h = count_cache();
    let c = &h.cache;
    c.set(b"k", b"v1", None).unwrap();
    let v = c.gets(b"k").unwrap().unwrap().version;
    assert!(v >= 1);
    c.set(b"k", b"v2", None).unwrap();
    assert_eq!(c.cas(b"k", b"mine", None, v).unwrap_err().kind(), ErrorKind::CasMismatch);
    let got = c.cas(b"k", b"v3", None, 0).map_err(|e| e.kind());
    assert_eq!(got, Err(ErrorKind::CasMismatch));
}
