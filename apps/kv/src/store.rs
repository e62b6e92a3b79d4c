//! One shard's data: keys to string values, each with an optional expiry deadline.
//!
//! A [`Store`] is plain data, owned by one shard process; it knows nothing of processes,
//! protocols or files. Every operation takes the current time as an argument ([`Millis`]), so
//! the shard passes the clock and tests pass whatever time they like.
//!
//! # Expiry
//!
//! As in redis, a key past its deadline is gone for every operation the moment the deadline
//! passes (*lazy* expiry: an operation that meets such a key removes it first), and an *active*
//! [`sweep`](Store::sweep) that the shard runs periodically reclaims the ones nobody touches.
//! Redis samples random keys with a TTL because its hash table has no order; here the deadlines
//! are also kept in order in a `BTreeSet`, so a sweep removes exactly the keys that are due,
//! oldest first, in time proportional to their number.
//!
//! Every key removed because it expired is remembered until
//! [`take_expired`](Store::take_expired): the shard writes a `DEL` for it to the append-only
//! file, as redis propagates one, so that replaying the file never depends on when it is
//! replayed.
//!
//! The TTL rules are redis's: `TTL`/`PTTL` say -2 for a missing key and -1 for one without a
//! deadline; `SET` clears the deadline unless asked to keep it (`KEEPTTL`); `INCR` and friends
//! keep it; `EXPIRE` with a deadline that has already passed deletes the key; `MSET` clears
//! deadlines.
//!
//! # Invariants
//!
//! * `deadlines` holds `(t, k)` exactly when `entries[k]` exists with deadline `t`.
//! * `DBSIZE` ([`len`](Store::len)) counts keys not yet reclaimed, expired or not, as redis's
//!   does; everything else sees only live keys.
//!
//! Only strings exist, so redis's `WRONGTYPE` error cannot arise here (see `command`).

use std::collections::{BTreeSet, HashMap};

use crate::{clock::Millis, glob::Pattern, resp::string2ll};

/// A key: any bytes.
pub type Key = Vec<u8>;

/// A value: any bytes.
pub type Value = Vec<u8>;

#[derive(Debug, Clone)]
struct Entry {
    value: Value,
    expires_at: Option<Millis>,
}

/// One shard's keys (see the [module docs](self)).
///
/// ```
/// use kv::{clock::Millis, store::{SetOptions, Store, Ttl}};
///
/// let mut store = Store::default();
/// let now = Millis(1_000);
/// store.set(b"k".to_vec(), b"v".to_vec(), SetOptions::expire_at(Millis(3_000)), now);
/// assert_eq!(store.get(b"k", now), Some(&b"v"[..]));
/// assert_eq!(store.ttl(b"k", now), Ttl::Remaining(2_000));
/// assert_eq!(store.get(b"k", Millis(3_000)), None); // expired
/// ```
#[derive(Debug, Default)]
pub struct Store {
    entries: HashMap<Key, Entry>,
    deadlines: BTreeSet<(Millis, Key)>,
    expired: Vec<Key>,
}

/// What `SET` does with the key's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expiry {
    /// Remove it (plain `SET`).
    #[default]
    Clear,
    /// Keep the key's current deadline (`KEEPTTL`).
    Keep,
    /// Set this one (`EX`, `PX`, `EXAT`, `PXAT`, all turned into an absolute time).
    At(Millis),
}

/// `SET`'s condition on the key's existence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Only if the key does not exist (`NX`).
    Absent,
    /// Only if the key exists (`XX`).
    Present,
}

/// `SET`'s options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetOptions {
    /// The deadline to leave on the key.
    pub expiry: Expiry,
    /// `NX` / `XX`.
    pub condition: Option<Condition>,
    /// `GET`: return the previous value.
    pub get: bool,
}

impl SetOptions {
    /// A plain `SET` with a deadline.
    pub fn expire_at(at: Millis) -> SetOptions {
        SetOptions {
            expiry: Expiry::At(at),
            ..SetOptions::default()
        }
    }
}

/// What `SET` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetOutcome {
    /// Whether the value was written (false when `NX`/`XX` did not hold).
    pub written: bool,
    /// With `GET`: the value before (`None` if there was none).
    pub previous: Option<Value>,
}

/// Why `INCRBY` and friends failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrError {
    /// The value is not a base-10 `i64` as redis writes them.
    NotInteger,
    /// The result would not fit an `i64`.
    Overflow,
}

/// `EXPIRE`'s conditions (redis 7's `NX | XX | GT | LT`, of which `XX` combines with `GT` or
/// `LT`; the parser rejects the other combinations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExpireIf {
    /// Only if the key has no deadline.
    pub nx: bool,
    /// Only if the key has a deadline.
    pub xx: bool,
    /// Only if the new deadline is later than the current one (none counts as infinitely late).
    pub gt: bool,
    /// Only if the new deadline is earlier than the current one (none counts as infinitely
    /// late).
    pub lt: bool,
}

/// What `EXPIRE` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireOutcome {
    /// No such key (reply 0).
    NoKey,
    /// A condition did not hold (reply 0).
    Unchanged,
    /// The deadline was set (reply 1).
    Set,
    /// The deadline had already passed: the key was deleted (reply 1).
    Deleted,
}

/// A key's time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// No such key (`TTL` says -2).
    Missing,
    /// The key has no deadline (-1).
    Persistent,
    /// Milliseconds left.
    Remaining(u64),
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// The entry under `key` if it is live at `now`; an expired one is removed first.
    fn live(&mut self, key: &[u8], now: Millis) -> Option<&mut Entry> {
        let expired = match self.entries.get(key) {
            None => return None,
            Some(e) => e.expires_at.is_some_and(|t| t <= now),
        };
        if expired {
            self.remove(key);
            self.expired.push(key.to_vec());
            return None;
        }
        self.entries.get_mut(key)
    }

    /// Removes `key` and its deadline; whether it was there (expired or not).
    fn remove(&mut self, key: &[u8]) -> bool {
        match self.entries.remove(key) {
            Some(Entry {
                expires_at: Some(t),
                ..
            }) => {
                self.deadlines.remove(&(t, key.to_vec()));
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Stores `entry` under `key`, keeping `deadlines` in step with the old and new deadlines.
    fn put(&mut self, key: Key, entry: Entry) {
        let new = entry.expires_at;
        if let Some(t) = new {
            self.deadlines.insert((t, key.clone()));
        }
        if let Some(Entry {
            expires_at: Some(old),
            ..
        }) = self.entries.insert(key.clone(), entry)
        {
            if Some(old) != new {
                self.deadlines.remove(&(old, key));
            }
        }
    }

    /// Changes the deadline of an existing, live key.
    fn set_deadline(&mut self, key: &[u8], at: Option<Millis>) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        let old = std::mem::replace(&mut entry.expires_at, at);
        if old == at {
            return;
        }
        if let Some(t) = old {
            self.deadlines.remove(&(t, key.to_vec()));
        }
        if let Some(t) = at {
            self.deadlines.insert((t, key.to_vec()));
        }
    }

    /// `GET`.
    pub fn get(&mut self, key: &[u8], now: Millis) -> Option<&[u8]> {
        self.live(key, now).map(|e| &e.value[..])
    }

    /// `SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT|KEEPTTL]`.
    ///
    /// ```
    /// use kv::{clock::Millis, store::{Condition, SetOptions, Store}};
    ///
    /// let mut store = Store::new();
    /// let nx = SetOptions { condition: Some(Condition::Absent), get: true, ..Default::default() };
    /// let now = Millis(0);
    /// assert!(store.set(b"k".to_vec(), b"1".to_vec(), nx, now).written);
    /// let again = store.set(b"k".to_vec(), b"2".to_vec(), nx, now);
    /// assert!(!again.written);
    /// assert_eq!(again.previous.as_deref(), Some(&b"1"[..]));
    /// ```
    pub fn set(&mut self, key: Key, value: Value, options: SetOptions, now: Millis) -> SetOutcome {
        let current = self.live(&key, now);
        let exists = current.is_some();
        let current_deadline = current.as_ref().and_then(|e| e.expires_at);
        let previous = if options.get {
            current.map(|e| e.value.clone())
        } else {
            None
        };
        let blocked = match options.condition {
            Some(Condition::Absent) => exists,
            Some(Condition::Present) => !exists,
            None => false,
        };
        if blocked {
            return SetOutcome {
                written: false,
                previous,
            };
        }
        let expires_at = match options.expiry {
            Expiry::Clear => None,
            Expiry::Keep => current_deadline,
            Expiry::At(t) => Some(t),
        };
        self.put(key, Entry { value, expires_at });
        SetOutcome {
            written: true,
            previous,
        }
    }

    /// `DEL`: how many of `keys` existed (each counted once) and are now gone.
    pub fn del(&mut self, keys: &[Key], now: Millis) -> u64 {
        let mut deleted = 0;
        for key in keys {
            if self.live(key, now).is_some() {
                self.remove(key);
                deleted += 1;
            }
        }
        deleted
    }

    /// `EXISTS`: how many of `keys` exist, counting a key named twice twice (as redis does).
    pub fn exists(&mut self, keys: &[Key], now: Millis) -> u64 {
        keys.iter()
            .filter(|key| self.live(key, now).is_some())
            .count() as u64
    }

    /// `INCRBY key by` (and `INCR`, `DECR`, `DECRBY`): the new value. A missing key counts as
    /// 0; the deadline is kept.
    ///
    /// # Errors
    ///
    /// [`IncrError::NotInteger`] if the value is not a base-10 integer as `string2ll` reads
    /// them; [`IncrError::Overflow`] if the result does not fit an `i64`.
    ///
    /// ```
    /// use kv::{clock::Millis, store::{IncrError, Store}};
    ///
    /// let mut store = Store::new();
    /// assert_eq!(store.incr_by(b"n", 5, Millis(0)), Ok(5));
    /// assert_eq!(store.incr_by(b"n", i64::MAX, Millis(0)), Err(IncrError::Overflow));
    /// ```
    pub fn incr_by(&mut self, key: &[u8], by: i64, now: Millis) -> Result<i64, IncrError> {
        let (current, expires_at) = match self.live(key, now) {
            None => (0, None),
            Some(e) => (
                string2ll(&e.value).ok_or(IncrError::NotInteger)?,
                e.expires_at,
            ),
        };
        let new = current.checked_add(by).ok_or(IncrError::Overflow)?;
        match self.entries.get_mut(key) {
            Some(e) => e.value = new.to_string().into_bytes(),
            None => self.put(
                key.to_vec(),
                Entry {
                    value: new.to_string().into_bytes(),
                    expires_at,
                },
            ),
        }
        Ok(new)
    }

    /// `MGET`: each key's value, `None` where there is none.
    pub fn mget(&mut self, keys: &[Key], now: Millis) -> Vec<Option<Value>> {
        keys.iter()
            .map(|key| self.live(key, now).map(|e| e.value.clone()))
            .collect()
    }

    /// `MSET`: sets every pair, clearing deadlines; later pairs win over earlier ones.
    pub fn mset(&mut self, pairs: Vec<(Key, Value)>) {
        for (key, value) in pairs {
            self.put(
                key,
                Entry {
                    value,
                    expires_at: None,
                },
            );
        }
    }

    /// `EXPIRE`/`PEXPIRE`/`EXPIREAT`/`PEXPIREAT`, with the deadline already made absolute.
    /// A deadline at or before `now` deletes the key.
    ///
    /// ```
    /// use kv::{clock::Millis, store::{ExpireIf, ExpireOutcome, Store}};
    ///
    /// let mut store = Store::new();
    /// store.mset(vec![(b"k".to_vec(), b"v".to_vec())]);
    /// let gt = ExpireIf { gt: true, ..Default::default() };
    /// // No deadline counts as an infinite one, so GT never holds.
    /// assert_eq!(store.expire(b"k", Millis(50), gt, Millis(10)), ExpireOutcome::Unchanged);
    /// assert_eq!(store.expire(b"k", Millis(50), ExpireIf::default(), Millis(10)), ExpireOutcome::Set);
    /// assert_eq!(store.expire(b"k", Millis(5), ExpireIf::default(), Millis(10)), ExpireOutcome::Deleted);
    /// ```
    pub fn expire(&mut self, key: &[u8], at: Millis, when: ExpireIf, now: Millis) -> ExpireOutcome {
        let Some(entry) = self.live(key, now) else {
            return ExpireOutcome::NoKey;
        };
        let current = entry.expires_at;
        let holds = !(when.nx && current.is_some()
            || when.xx && current.is_none()
            || when.gt && current.is_none_or(|c| at <= c)
            || when.lt && current.is_some_and(|c| at >= c));
        if !holds {
            return ExpireOutcome::Unchanged;
        }
        if at <= now {
            self.remove(key);
            return ExpireOutcome::Deleted;
        }
        self.set_deadline(key, Some(at));
        ExpireOutcome::Set
    }

    /// `TTL`/`PTTL`.
    pub fn ttl(&mut self, key: &[u8], now: Millis) -> Ttl {
        match self.live(key, now) {
            None => Ttl::Missing,
            Some(Entry {
                expires_at: None, ..
            }) => Ttl::Persistent,
            Some(Entry {
                expires_at: Some(t),
                ..
            }) => Ttl::Remaining(now.until(*t)),
        }
    }

    /// `PERSIST`: whether a deadline was removed.
    pub fn persist(&mut self, key: &[u8], now: Millis) -> bool {
        match self.live(key, now) {
            Some(Entry {
                expires_at: Some(_),
                ..
            }) => {
                self.set_deadline(key, None);
                true
            }
            _ => false,
        }
    }

    /// `KEYS`: the live keys matching `pattern`, in no particular order. Expired keys met on
    /// the way are removed.
    pub fn keys(&mut self, pattern: &Pattern, now: Millis) -> Vec<Key> {
        let mut found = Vec::new();
        let mut expired = Vec::new();
        for (key, entry) in &self.entries {
            if !pattern.matches(key) {
                continue;
            }
            if entry.expires_at.is_some_and(|t| t <= now) {
                expired.push(key.clone());
            } else {
                found.push(key.clone());
            }
        }
        for key in expired {
            self.remove(&key);
            self.expired.push(key);
        }
        found
    }

    /// The number of keys held, including expired ones not reclaimed yet (`DBSIZE`, as
    /// redis counts).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many keys have a deadline.
    pub fn expiring(&self) -> usize {
        self.deadlines.len()
    }

    /// A key's deadline, expired or not, without touching it: for writing the append-only file
    /// record of a change just made.
    pub fn deadline_of(&self, key: &[u8]) -> Option<Millis> {
        self.entries.get(key).and_then(|e| e.expires_at)
    }

    /// `FLUSHALL`: removes every key.
    pub fn flush(&mut self) {
        self.entries.clear();
        self.deadlines.clear();
    }

    /// The active expiry: removes up to `limit` keys whose deadline is at or before `now`,
    /// earliest first; returns how many.
    ///
    /// ```
    /// use kv::{clock::Millis, store::{SetOptions, Store}};
    ///
    /// let mut store = Store::new();
    /// for (i, t) in [30, 10, 20].into_iter().enumerate() {
    ///     store.set(vec![i as u8], vec![], SetOptions::expire_at(Millis(t)), Millis(0));
    /// }
    /// assert_eq!(store.sweep(Millis(25), 100), 2);
    /// assert_eq!(store.take_expired(), [vec![1], vec![2]]);
    /// assert_eq!(store.len(), 1);
    /// ```
    pub fn sweep(&mut self, now: Millis, limit: usize) -> usize {
        let mut removed = 0;
        while removed < limit {
            let due = match self.deadlines.first() {
                Some((t, key)) if *t <= now => key.clone(),
                _ => break,
            };
            self.remove(&due);
            self.expired.push(due);
            removed += 1;
        }
        removed
    }

    /// The keys removed because they expired (lazily or by a sweep) since the last call.
    pub fn take_expired(&mut self) -> Vec<Key> {
        std::mem::take(&mut self.expired)
    }

    /// Checks the invariant between the entries and the deadline index (for tests).
    #[cfg(test)]
    fn check(&self) {
        for (t, key) in &self.deadlines {
            assert_eq!(
                self.entries[key].expires_at,
                Some(*t),
                "index entry {key:?}"
            );
        }
        let with_deadline = self
            .entries
            .values()
            .filter(|e| e.expires_at.is_some())
            .count();
        assert_eq!(with_deadline, self.deadlines.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Key {
        s.as_bytes().to_vec()
    }

    const T0: Millis = Millis(1_000_000);

    fn at(ms: u64) -> Millis {
        T0.plus(ms).unwrap()
    }

    #[test]
    fn set_clears_the_ttl_unless_keepttl() {
        let mut s = Store::new();
        s.set(k("a"), k("1"), SetOptions::expire_at(at(10_000)), T0);
        assert_eq!(s.ttl(b"a", T0), Ttl::Remaining(10_000));
        let keep = SetOptions {
            expiry: Expiry::Keep,
            ..SetOptions::default()
        };
        s.set(k("a"), k("2"), keep, at(1_000));
        assert_eq!(s.ttl(b"a", at(1_000)), Ttl::Remaining(9_000));
        s.set(k("a"), k("3"), SetOptions::default(), at(1_000));
        assert_eq!(s.ttl(b"a", at(1_000)), Ttl::Persistent);
        assert_eq!(s.ttl(b"nope", T0), Ttl::Missing);
        s.check();
    }

    #[test]
    fn keepttl_on_a_new_key_sets_none() {
        let mut s = Store::new();
        let keep = SetOptions {
            expiry: Expiry::Keep,
            ..SetOptions::default()
        };
        s.set(k("a"), k("1"), keep, T0);
        assert_eq!(s.ttl(b"a", T0), Ttl::Persistent);
    }

    #[test]
    fn nx_and_xx() {
        let mut s = Store::new();
        let nx = SetOptions {
            condition: Some(Condition::Absent),
            ..SetOptions::default()
        };
        let xx = SetOptions {
            condition: Some(Condition::Present),
            ..SetOptions::default()
        };
        assert!(!s.set(k("a"), k("1"), xx, T0).written);
        assert!(s.set(k("a"), k("1"), nx, T0).written);
        assert!(!s.set(k("a"), k("2"), nx, T0).written);
        assert!(s.set(k("a"), k("3"), xx, T0).written);
        assert_eq!(s.get(b"a", T0), Some(&b"3"[..]));
    }

    #[test]
    fn an_expired_key_counts_as_absent_for_nx() {
        let mut s = Store::new();
        s.set(k("a"), k("1"), SetOptions::expire_at(at(5)), T0);
        let nx = SetOptions {
            condition: Some(Condition::Absent),
            get: true,
            ..SetOptions::default()
        };
        let out = s.set(k("a"), k("2"), nx, at(5));
        assert_eq!(
            out,
            SetOutcome {
                written: true,
                previous: None
            }
        );
        assert_eq!(s.take_expired(), [k("a")]);
        s.check();
    }

    #[test]
    fn expiry_is_lazy_and_exact() {
        let mut s = Store::new();
        s.set(k("a"), k("1"), SetOptions::expire_at(at(100)), T0);
        assert_eq!(s.get(b"a", at(99)), Some(&b"1"[..]));
        assert_eq!(s.len(), 1);
        assert_eq!(s.exists(&[k("a")], at(100)), 0);
        assert_eq!(s.len(), 0, "the access removed it");
        assert_eq!(s.take_expired(), [k("a")]);
        assert!(s.take_expired().is_empty());
    }

    #[test]
    fn dbsize_counts_expired_keys_until_they_are_reclaimed() {
        let mut s = Store::new();
        s.set(k("a"), k("1"), SetOptions::expire_at(at(100)), T0);
        s.set(k("b"), k("1"), SetOptions::default(), T0);
        assert_eq!(s.len(), 2);
        assert_eq!(s.sweep(at(100), 10), 1);
        assert_eq!(s.len(), 1);
        s.check();
    }

    #[test]
    fn sweep_respects_its_limit_and_order() {
        let mut s = Store::new();
        for i in 0..10u64 {
            s.set(
                vec![i as u8],
                vec![],
                SetOptions::expire_at(at(100 - i)),
                T0,
            );
        }
        assert_eq!(s.sweep(at(1_000), 3), 3);
        assert_eq!(s.take_expired(), [vec![9], vec![8], vec![7]]);
        assert_eq!(s.sweep(at(94), 100), 1);
        assert_eq!(s.take_expired(), [vec![6]]);
        s.check();
    }

    #[test]
    fn del_and_exists_count_like_redis() {
        let mut s = Store::new();
        s.mset(vec![(k("a"), k("1")), (k("b"), k("2"))]);
        assert_eq!(s.exists(&[k("a"), k("a"), k("b"), k("z")], T0), 3);
        assert_eq!(s.del(&[k("a"), k("a"), k("z")], T0), 1);
        assert_eq!(s.mget(&[k("a"), k("b")], T0), [None, Some(k("2"))]);
    }

    #[test]
    fn incr_keeps_the_ttl_and_checks_the_value() {
        let mut s = Store::new();
        s.set(k("n"), k("10"), SetOptions::expire_at(at(100)), T0);
        assert_eq!(s.incr_by(b"n", -3, T0), Ok(7));
        assert_eq!(s.ttl(b"n", T0), Ttl::Remaining(100));
        for bad in ["abc", " 1", "+1", "01", "", "-0", "99999999999999999999"] {
            s.set(k("x"), k(bad), SetOptions::default(), T0);
            assert_eq!(
                s.incr_by(b"x", 1, T0),
                Err(IncrError::NotInteger),
                "{bad:?}"
            );
        }
        s.set(k("m"), k("-9223372036854775808"), SetOptions::default(), T0);
        assert_eq!(s.incr_by(b"m", -1, T0), Err(IncrError::Overflow));
        assert_eq!(s.get(b"m", T0), Some(&b"-9223372036854775808"[..]));
        // An expired counter starts again from 0, without a deadline.
        assert_eq!(s.incr_by(b"n", 1, at(100)), Ok(1));
        assert_eq!(s.ttl(b"n", at(100)), Ttl::Persistent);
        s.check();
    }

    #[test]
    fn expire_conditions_follow_redis() {
        let mut s = Store::new();
        s.mset(vec![(k("a"), k("1"))]);
        let when = |nx, xx, gt, lt| ExpireIf { nx, xx, gt, lt };
        let e = ExpireOutcome::Set;
        let u = ExpireOutcome::Unchanged;
        assert_eq!(
            s.expire(b"a", at(100), when(false, true, false, false), T0),
            u
        );
        assert_eq!(
            s.expire(b"a", at(100), when(false, false, true, false), T0),
            u
        );
        assert_eq!(
            s.expire(b"a", at(100), when(false, false, false, true), T0),
            e
        );
        assert_eq!(
            s.expire(b"a", at(200), when(true, false, false, false), T0),
            u
        );
        assert_eq!(
            s.expire(b"a", at(200), when(false, true, true, false), T0),
            e
        );
        assert_eq!(
            s.expire(b"a", at(150), when(false, false, true, false), T0),
            u
        );
        assert_eq!(
            s.expire(b"a", at(150), when(false, false, false, true), T0),
            e
        );
        assert_eq!(s.ttl(b"a", T0), Ttl::Remaining(150));
        assert!(s.persist(b"a", T0));
        assert!(!s.persist(b"a", T0));
        assert_eq!(
            s.expire(b"zz", at(1), ExpireIf::default(), T0),
            ExpireOutcome::NoKey
        );
        s.check();
    }

    #[test]
    fn expire_in_the_past_deletes() {
        let mut s = Store::new();
        s.mset(vec![(k("a"), k("1"))]);
        assert_eq!(
            s.expire(b"a", T0, ExpireIf::default(), T0),
            ExpireOutcome::Deleted
        );
        assert_eq!(s.ttl(b"a", T0), Ttl::Missing);
        assert!(s.take_expired().is_empty(), "deleted, not expired");
        s.check();
    }

    #[test]
    fn at_time_zero_nothing_has_expired() {
        // What an append-only file replay relies on.
        let mut s = Store::new();
        s.set(
            k("a"),
            k("1"),
            SetOptions::expire_at(Millis(1)),
            Millis::ZERO,
        );
        assert_eq!(
            s.expire(b"a", Millis(1), ExpireIf::default(), Millis::ZERO),
            ExpireOutcome::Set
        );
        assert_eq!(s.incr_by(b"a", 1, Millis::ZERO), Ok(2));
        assert_eq!(s.deadline_of(b"a"), Some(Millis(1)));
    }

    #[test]
    fn keys_skips_and_reclaims_expired_ones() {
        let mut s = Store::new();
        s.mset(vec![
            (k("user:1"), k("a")),
            (k("user:2"), k("b")),
            (k("x"), k("c")),
        ]);
        s.expire(b"user:2", at(10), ExpireIf::default(), T0);
        let mut keys = s.keys(&Pattern::new("user:*"), at(10));
        keys.sort();
        assert_eq!(keys, [k("user:1")]);
        assert_eq!(s.take_expired(), [k("user:2")]);
        assert_eq!(s.keys(&Pattern::new("*"), T0).len(), 2);
        s.check();
    }

    #[test]
    fn flush_empties_everything() {
        let mut s = Store::new();
        s.set(k("a"), k("1"), SetOptions::expire_at(at(5)), T0);
        s.mset(vec![(k("b"), k("2"))]);
        s.flush();
        assert!(s.is_empty());
        assert_eq!(s.expiring(), 0);
        s.check();
    }
}
