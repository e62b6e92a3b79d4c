//! The table of live processes, for `process::list` and for stopping everything at shutdown.
//!
//! Sharded by the scheduler that spawned the process: shard `i` belongs to scheduler `i`,
//! whose thread is the only one that inserts into it. Each shard is a slab: a process
//! remembers its slot, so removal is O(1). The table holds a strong reference to every live
//! process: that is what keeps a parked process alive, and a queued or running one too (run
//! queues and the scheduler hold uncounted references, `scheduler::ProcRef`).
//!
//! # Exits on another scheduler
//!
//! A process often exits on a scheduler other than its spawner's (its spawner's idle peer
//! stole it). If that exit took the spawner's shard lock, two schedulers would fight over it
//! at the rate of spawns: on `spawn_exit` across two schedulers the shard lock was 45% of all
//! samples once the allocator's lock was gone (`benches/README.md`). So such an exit only
//! marks the process removed (its `table_slot`, which `list` checks) and hands the slot number
//! to the shard's `remote` list, under a second, short lock that the owner takes once per
//! batch. The owner *reclaims* those slots (drops the table's references, frees the slots) when
//! it runs out of free slots, and before its scheduler goes idle, so a dead record is kept at
//! most until its spawner next needs a slot or has nothing to do.
//!
//! # Counting
//!
//! The live count is kept per acting thread, not per shard: a spawn adds one to its
//! scheduler's counter, an exit subtracts one from the counter of the scheduler it exits on.
//! Each counter is written by one thread only, so its cache line stays on that core; the count
//! is their sum. The read-modify-writes and loads are `SeqCst`, so the exit that brings the
//! count to zero sees every other one (the last in their total order reads every counter after
//! all of them) and is the one that wakes a shutdown waiting for the last process.

use std::sync::{
    atomic::{
        AtomicIsize, AtomicUsize,
        Ordering::{Relaxed, SeqCst},
    },
    Mutex, MutexGuard, PoisonError,
};

use crossbeam_utils::CachePadded;

use crate::process::{core::ProcessCore, core_ref::CoreRef};

/// Slot numbers carry their shard in the low bits.
const SHARD_BITS: u32 = 6;

/// A removed slot: [`ProcessCore::table_slot`] of a process not (or no longer) in the table.
const NO_SLOT: u32 = u32::MAX;

#[derive(Default)]
struct Slab {
    slots: Vec<Option<CoreRef>>,
    free: Vec<usize>,
}

#[derive(Default)]
struct Shard {
    slab: Mutex<Slab>,
    /// Slots of processes that exited on another scheduler, for the owner to reclaim.
    remote: Mutex<Vec<usize>>,
    /// How many slots `remote` holds (a hint, so the owner looks only when there are some).
    remote_len: AtomicUsize,
    /// Spawns on this scheduler minus exits on it (see "Counting").
    live: AtomicIsize,
}

/// See the module docs.
pub(crate) struct ProcessTable {
    shards: Vec<CachePadded<Shard>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a shard lock cannot leave it half-updated (every update is a
    // single push/assignment), so a poisoned lock is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ProcessTable {
    /// A table for `shards` schedulers.
    pub(crate) fn new(shards: usize) -> ProcessTable {
        let n = shards.clamp(1, 1 << SHARD_BITS);
        ProcessTable {
            shards: (0..n).map(|_| CachePadded::default()).collect(),
        }
    }

    /// Adds a process spawned on scheduler `owner`'s thread (the caller's).
    pub(crate) fn insert(&self, p: &CoreRef, owner: usize) {
        let index = owner % self.shards.len();
        let shard = &self.shards[index];
        let mut slab = lock(&shard.slab);
        // Out of free slots: first take back those of processes that exited elsewhere.
        let dead = if slab.free.is_empty() && shard.remote_len.load(Relaxed) > 0 {
            Self::reclaim_into(shard, &mut slab)
        } else {
            Vec::new()
        };
        let slot = match slab.free.pop() {
            Some(i) => {
                slab.slots[i] = Some(p.clone());
                i
            }
            None => {
                slab.slots.push(Some(p.clone()));
                slab.slots.len() - 1
            }
        };
        let packed =
            u32::try_from(slot << SHARD_BITS | index).expect("fewer than 2^26 processes per shard");
        // Under the lock, so `list` never sees the entry without its slot (as removed).
        p.table_slot.store(packed, Relaxed);
        drop(slab);
        // The table's references to exited processes, dropped outside the lock (dropping a
        // record drops its queued messages, whose destructors may spawn).
        drop(dead);
        shard.live.fetch_add(1, SeqCst);
    }

    /// Removes a process that exits on scheduler `by`'s thread (the caller's). Whoever waits
    /// for the table to empty reads [`ProcessTable::len`] after this.
    pub(crate) fn remove(&self, p: &ProcessCore, by: usize) {
        let packed = p.table_slot.swap(NO_SLOT, Relaxed);
        if packed != NO_SLOT {
            let packed = packed as usize;
            let (slot, index) = (packed >> SHARD_BITS, packed & ((1 << SHARD_BITS) - 1));
            let shard = &self.shards[index];
            if index == by % self.shards.len() {
                let removed = {
                    let mut slab = lock(&shard.slab);
                    let removed = slab.slots[slot].take();
                    slab.free.push(slot);
                    Self::shrink_if_empty(&mut slab);
                    removed
                };
                drop(removed);
            } else {
                let mut remote = lock(&shard.remote);
                remote.push(slot);
                shard.remote_len.store(remote.len(), Relaxed);
            }
            self.shards[by % self.shards.len()]
                .live
                .fetch_sub(1, SeqCst);
        }
    }

    /// Reclaims the slots other schedulers handed back to scheduler `owner`'s shard (called
    /// by that scheduler's thread, e.g. before it goes idle). Cheap when there are none.
    pub(crate) fn reclaim(&self, owner: usize) {
        let shard = &self.shards[owner % self.shards.len()];
        if shard.remote_len.load(Relaxed) == 0 {
            return;
        }
        let dead = {
            let mut slab = lock(&shard.slab);
            Self::reclaim_into(shard, &mut slab)
        };
        drop(dead);
    }

    /// Frees the slots in `remote`; returns the table's references to their processes, for
    /// the caller to drop once it has let go of the lock.
    fn reclaim_into(shard: &Shard, slab: &mut Slab) -> Vec<CoreRef> {
        let remote = {
            let mut remote = lock(&shard.remote);
            shard.remote_len.store(0, Relaxed);
            std::mem::take(&mut *remote)
        };
        let mut dead = Vec::with_capacity(remote.len());
        for slot in remote {
            dead.extend(slab.slots[slot].take());
            slab.free.push(slot);
        }
        Self::shrink_if_empty(slab);
        dead
    }

    /// Everything in this shard exited: give the memory back. (No slot can be on the `remote`
    /// list then: a slot stays occupied until it is reclaimed.)
    fn shrink_if_empty(slab: &mut Slab) {
        if slab.free.len() == slab.slots.len() && slab.slots.len() > 1024 {
            *slab = Slab::default();
        }
    }

    /// Every live process, sorted by pid.
    pub(crate) fn list(&self) -> Vec<CoreRef> {
        let mut all = Vec::with_capacity(self.len());
        for shard in &self.shards {
            all.extend(
                lock(&shard.slab)
                    .slots
                    .iter()
                    .flatten()
                    // Exited on another scheduler, not reclaimed yet.
                    .filter(|p| p.table_slot.load(Relaxed) != NO_SLOT)
                    .cloned(),
            );
        }
        all.sort_by_key(|p| p.id);
        all
    }

    /// How many processes are live.
    pub(crate) fn len(&self) -> usize {
        let sum: isize = self.shards.iter().map(|s| s.live.load(SeqCst)).sum();
        usize::try_from(sum).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        mpsc::{Receiver, Sender},
        Arc,
    };

    use super::*;
    use crate::process::spawn::new_core;

    /// Sets its flag when dropped: tells when a record (which owns it, in its unstarted body)
    /// is freed.
    struct DropFlag(Arc<AtomicBool>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.store(true, SeqCst);
        }
    }

    /// A record that was never run, and a flag that says whether it has been freed.
    fn record(id: u64) -> (CoreRef, Arc<AtomicBool>) {
        let freed = Arc::new(AtomicBool::new(false));
        let flag = DropFlag(freed.clone());
        let core = new_core::<(), (), _>(id, 0, move |_: crate::Mailbox<()>| drop(flag));
        (core, freed)
    }

    #[test]
    fn an_exit_on_the_spawners_scheduler_frees_the_slot_at_once() {
        let table = ProcessTable::new(2);
        let (p, freed) = record(1);
        table.insert(&p, 0);
        assert_eq!(table.len(), 1);
        assert_eq!(table.list().len(), 1);
        table.remove(&p, 0);
        assert_eq!(table.len(), 0);
        assert!(table.list().is_empty());
        drop(p);
        assert!(freed.load(SeqCst), "the table kept no reference");
    }

    #[test]
    fn an_exit_elsewhere_is_gone_from_list_and_len_and_freed_when_the_owner_reclaims() {
        let table = ProcessTable::new(2);
        let (p, freed) = record(1);
        let (q, _) = record(2);
        table.insert(&p, 0);
        table.insert(&q, 0);
        // `p` exits on scheduler 1: not listed or counted, but its record waits for the owner.
        table.remove(&p, 1);
        assert_eq!(table.len(), 1);
        let listed: Vec<u64> = table.list().iter().map(|r| r.id).collect();
        assert_eq!(listed, [2]);
        drop(p);
        assert!(
            !freed.load(SeqCst),
            "kept until its spawner reclaims the slot"
        );
        // Another scheduler reclaiming does nothing to shard 0.
        table.reclaim(1);
        assert!(!freed.load(SeqCst));
        table.reclaim(0);
        assert!(freed.load(SeqCst), "freed by the owner's reclaim");
        table.remove(&q, 0);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn a_spawn_that_finds_no_free_slot_reuses_the_slots_of_remote_exits() {
        let table = ProcessTable::new(2);
        let (p, freed) = record(1);
        table.insert(&p, 0);
        table.remove(&p, 1);
        drop(p);
        let (q, _) = record(2);
        table.insert(&q, 0);
        assert!(
            freed.load(SeqCst),
            "the insert reclaimed the remote exit's slot first"
        );
        assert_eq!(
            q.table_slot.load(SeqCst) >> SHARD_BITS,
            0,
            "and reused it rather than growing the shard"
        );
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn removing_twice_counts_once() {
        let table = ProcessTable::new(1);
        let (p, _) = record(1);
        table.insert(&p, 0);
        table.remove(&p, 0);
        table.remove(&p, 0);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn the_count_is_exact_across_threads_that_insert_and_remove_each_others_processes() {
        let table = Arc::new(ProcessTable::new(2));
        let per_thread = 2_000;
        // Each thread spawns on its own shard; the other thread removes them.
        let (to_1, from_0) = std::sync::mpsc::channel::<CoreRef>();
        let (to_0, from_1) = std::sync::mpsc::channel::<CoreRef>();
        let scheduler = |me: usize, to_other: Sender<CoreRef>, from_other: Receiver<CoreRef>| {
            let table = table.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let (p, _) = record(me as u64 * per_thread + i);
                    table.insert(&p, me);
                    to_other.send(p).unwrap();
                }
                drop(to_other);
                for p in from_other {
                    table.remove(&p, me);
                }
                table.reclaim(me);
            })
        };
        let t0 = scheduler(0, to_1, from_1);
        let t1 = scheduler(1, to_0, from_0);
        t0.join().unwrap();
        t1.join().unwrap();
        assert_eq!(table.len(), 0);
        assert!(table.list().is_empty());
    }
}
