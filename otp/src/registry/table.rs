//! The registry's tables: the entries under each key, and the keys each process holds, split
//! into partitions that each have their own lock.
//!
//! * **By key**: partition `hash(key) % n` maps a key to its entries, oldest first. For a
//!   unique registry a key has at most one entry. Every read of one key takes one read lock.
//! * **By pid**: partition `pid number % n` maps a process to the keys it holds, one copy per
//!   registration. It answers [`keys`](super::Registry::keys) and tells the cleanup which
//!   entries to remove; partition `i` of it is watched by partition process `i`.
//!
//! Locks are never nested, never held across a runtime call that can switch processes, and
//! never held while user code runs, other than the `Hash`, `Eq`, `Clone` and `Drop` of keys and
//! values. A process that blocked under one of them would stall its scheduler thread, and
//! deadlock any other process of that thread that wanted the lock.
//!
//! Every read leaves out entries of processes that are no longer alive, so a process is gone
//! from every answer the moment it is dead, whether or not its cleanup has run yet.

use std::{
    borrow::Borrow,
    collections::{hash_map::Entry as Slot, HashMap},
    hash::{BuildHasher, Hash, RandomState},
    sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use super::options::Keys;
use crate::process::{self, AnyPid};

/// One registration: who, and with what value.
struct Entry<V> {
    pid: AnyPid,
    value: V,
}

/// The keys one process holds, one copy per registration.
struct Owner<K> {
    pid: AnyPid,
    keys: Vec<K>,
}

type ByKey<K, V> = HashMap<K, Vec<Entry<V>>>;
type ByPid<K> = HashMap<u64, Owner<K>>;

/// The tables of one registry.
pub(super) struct Table<K, V> {
    kind: Keys,
    hasher: RandomState,
    by_key: Box<[RwLock<ByKey<K, V>>]>,
    by_pid: Box<[RwLock<ByPid<K>>]>,
}

// Each write below is one map or vector operation. The std collections stay whole when a user's
// `Hash`, `Eq` or `Drop` panics inside one, so the data behind a poisoned lock is consistent.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl<K, V> Table<K, V> {
    pub(super) fn new(kind: Keys, partitions: usize) -> Table<K, V> {
        Table {
            kind,
            hasher: RandomState::new(),
            by_key: (0..partitions).map(|_| RwLock::default()).collect(),
            by_pid: (0..partitions).map(|_| RwLock::default()).collect(),
        }
    }

    pub(super) fn kind(&self) -> Keys {
        self.kind
    }

    pub(super) fn partitions(&self) -> usize {
        self.by_key.len()
    }

    /// The pid partition of `pid`, and so the partition process that watches it.
    pub(super) fn pid_partition(&self, pid: &AnyPid) -> usize {
        // Pid numbers are handed out in sequence, so they spread evenly as they are.
        (pid.number() % self.by_pid.len() as u64) as usize
    }

    fn owners_of(&self, pid: &AnyPid) -> &RwLock<ByPid<K>> {
        &self.by_pid[self.pid_partition(pid)]
    }

    /// Every process that holds keys in pid partition `partition`.
    pub(super) fn owners(&self, partition: usize) -> Vec<AnyPid> {
        read(&self.by_pid[partition])
            .values()
            .map(|o| o.pid.clone())
            .collect()
    }

    /// Whether `pid` holds any key.
    pub(super) fn is_owner(&self, pid: &AnyPid) -> bool {
        read(self.owners_of(pid)).contains_key(&pid.number())
    }

    /// Entries stored, counting those of exited processes not yet cleaned up.
    pub(super) fn len(&self) -> usize {
        self.by_key
            .iter()
            .map(|p| read(p).values().map(Vec::len).sum::<usize>())
            .sum()
    }

    /// Live entries.
    pub(super) fn count(&self) -> usize {
        self.by_key
            .iter()
            .map(|p| {
                read(p)
                    .values()
                    .flatten()
                    .filter(|e| process::alive(&e.pid))
                    .count()
            })
            .sum()
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Table<K, V> {
    fn entries_of<Q: Hash + ?Sized>(&self, key: &Q) -> &RwLock<ByKey<K, V>> {
        // `K: Borrow<Q>` promises that a key and its borrowed form hash alike, so both find the
        // same partition.
        let n = self.by_key.len() as u64;
        &self.by_key[(self.hasher.hash_one(key) % n) as usize]
    }

    /// Step 1 of a registration: adds the entry. In a unique registry, `Err(holder)` if a live
    /// process holds `key`; an exited holder's entry is replaced, so its key is free the moment
    /// it is dead.
    pub(super) fn insert(&self, key: K, pid: &AnyPid, value: V) -> Result<(), AnyPid> {
        let mut partition = write(self.entries_of(&key));
        let entries = partition.entry(key).or_default();
        if self.kind == Keys::Unique {
            if let Some(holder) = entries.iter().find(|e| process::alive(&e.pid)) {
                return Err(holder.pid.clone());
            }
            entries.clear();
        }
        entries.push(Entry {
            pid: pid.clone(),
            value,
        });
        Ok(())
    }

    /// Step 2 of a registration: notes that `pid` holds `key`. True if `pid` held no key
    /// before, in which case the caller must ask its partition process to watch it.
    pub(super) fn add_owned(&self, pid: &AnyPid, key: K) -> bool {
        match write(self.owners_of(pid)).entry(pid.number()) {
            Slot::Occupied(mut owner) => {
                owner.get_mut().keys.push(key);
                false
            }
            Slot::Vacant(slot) => {
                slot.insert(Owner {
                    pid: pid.clone(),
                    keys: vec![key],
                });
                true
            }
        }
    }

    /// Removes `pid`'s entries under `key`; returns how many there were.
    pub(super) fn remove<Q>(&self, key: &Q, pid: &AnyPid) -> usize
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut partition = write(self.entries_of(key));
        let Some(entries) = partition.get_mut(key) else {
            return 0;
        };
        let before = entries.len();
        entries.retain(|e| e.pid != *pid);
        let removed = before - entries.len();
        if entries.is_empty() {
            partition.remove(key);
        }
        removed
    }

    /// Forgets `n` of `pid`'s registrations under `key`. True if `pid` now holds no key at all.
    pub(super) fn disown<Q>(&self, pid: &AnyPid, key: &Q, n: usize) -> bool
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let mut owners = write(self.owners_of(pid));
        let Some(owner) = owners.get_mut(&pid.number()) else {
            return false;
        };
        let mut left = n;
        owner.keys.retain(|k| {
            let drop_it = left > 0 && k.borrow() == key;
            left -= usize::from(drop_it);
            !drop_it
        });
        let empty = owner.keys.is_empty();
        if empty {
            owners.remove(&pid.number());
        }
        empty
    }

    /// `pid` has exited: removes the keys it held and its entries under them. Entries another
    /// process holds under the same keys stay.
    pub(super) fn purge(&self, pid: &AnyPid) {
        let Some(owner) = write(self.owners_of(pid)).remove(&pid.number()) else {
            return;
        };
        for key in &owner.keys {
            let mut partition = write(self.entries_of(key));
            if let Some(entries) = partition.get_mut(key) {
                entries.retain(|e| e.pid != *pid);
                if entries.is_empty() {
                    partition.remove(key);
                }
            }
        }
    }

    /// The live entries under `key`, oldest first.
    pub(super) fn lookup<Q>(&self, key: &Q) -> Vec<(AnyPid, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        read(self.entries_of(key))
            .get(key)
            .map_or_else(Vec::new, |entries| {
                entries
                    .iter()
                    .filter(|e| process::alive(&e.pid))
                    .map(|e| (e.pid.clone(), e.value.clone()))
                    .collect()
            })
    }

    /// The live holder of `key` in a unique registry (the first live one in a duplicate one).
    pub(super) fn whereis<Q>(&self, key: &Q) -> Option<AnyPid>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        read(self.entries_of(key))
            .get(key)?
            .iter()
            .find(|e| process::alive(&e.pid))
            .map(|e| e.pid.clone())
    }

    /// The values `pid` registered under `key` (none if it is dead).
    pub(super) fn values<Q>(&self, key: &Q, pid: &AnyPid) -> Vec<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !process::alive(pid) {
            return Vec::new();
        }
        read(self.entries_of(key))
            .get(key)
            .map_or_else(Vec::new, |entries| {
                entries
                    .iter()
                    .filter(|e| e.pid == *pid)
                    .map(|e| e.value.clone())
                    .collect()
            })
    }

    /// Replaces the value of `pid`'s entry under `key`. False if it has none.
    pub(super) fn set_value<Q>(&self, key: &Q, pid: &AnyPid, value: V) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut partition = write(self.entries_of(key));
        let entry = partition
            .get_mut(key)
            .and_then(|entries| entries.iter_mut().find(|e| e.pid == *pid));
        match entry {
            Some(e) => {
                e.value = value;
                true
            }
            None => false,
        }
    }

    /// The keys `pid` holds, in registration order, once per registration (none if it is
    /// dead).
    pub(super) fn keys_of(&self, pid: &AnyPid) -> Vec<K> {
        if !process::alive(pid) {
            return Vec::new();
        }
        read(self.owners_of(pid))
            .get(&pid.number())
            .map_or_else(Vec::new, |o| o.keys.clone())
    }

    /// Every live entry of key partition `partition`.
    pub(super) fn snapshot(&self, partition: usize) -> Vec<(K, AnyPid, V)> {
        read(&self.by_key[partition])
            .iter()
            .flat_map(|(k, entries)| {
                entries
                    .iter()
                    .filter(|e| process::alive(&e.pid))
                    .map(move |e| (k.clone(), e.pid.clone(), e.value.clone()))
            })
            .collect()
    }
}
