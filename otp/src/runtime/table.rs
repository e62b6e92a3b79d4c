//! The table of live processes, for `process::list` and for stopping everything at shutdown.
//!
//! Sharded by the scheduler that spawned the process, so spawn and exit on the same scheduler
//! (the common case) touch an uncontended lock. Each shard is a slab: a process remembers its
//! slot, so removal is O(1). The table holds a strong reference to every live process: that is
//! what keeps a parked process alive, and a queued or running one too (run queues and the
//! scheduler hold uncounted references, `scheduler::ProcRef`).

use std::sync::{
    atomic::{
        AtomicUsize,
        Ordering::{Relaxed, SeqCst},
    },
    Arc, Mutex,
};

use crate::process::core::ProcessCore;

/// Slot numbers carry their shard in the low bits.
const SHARD_BITS: u32 = 6;

#[derive(Default)]
struct Shard {
    slots: Vec<Option<Arc<ProcessCore>>>,
    free: Vec<usize>,
}

/// See the module docs.
pub(crate) struct ProcessTable {
    shards: Vec<Mutex<Shard>>,
    count: AtomicUsize,
}

impl ProcessTable {
    pub(crate) fn new(shards: usize) -> ProcessTable {
        let n = shards.clamp(1, 1 << SHARD_BITS);
        ProcessTable {
            shards: (0..n).map(|_| Mutex::default()).collect(),
            count: AtomicUsize::new(0),
        }
    }

    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, Shard> {
        // A panic while holding a shard lock cannot leave a slab half-updated (every update is
        // a single push/assignment), so a poisoned lock is still consistent.
        self.shards[shard]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a process; `hint` picks the shard (the spawning scheduler).
    pub(crate) fn insert(&self, p: &Arc<ProcessCore>, hint: usize) {
        let shard = hint % self.shards.len();
        let mut s = self.lock(shard);
        let slot = match s.free.pop() {
            Some(i) => {
                s.slots[i] = Some(p.clone());
                i
            }
            None => {
                s.slots.push(Some(p.clone()));
                s.slots.len() - 1
            }
        };
        drop(s);
        let packed =
            u32::try_from(slot << SHARD_BITS | shard).expect("fewer than 2^26 processes per shard");
        p.table_slot.store(packed, Relaxed);
        self.count.fetch_add(1, SeqCst);
    }

    /// Removes a process; returns the number left.
    pub(crate) fn remove(&self, p: &ProcessCore) -> usize {
        let packed = p.table_slot.swap(u32::MAX, Relaxed);
        if packed == u32::MAX {
            return self.count.load(SeqCst);
        }
        let packed = packed as usize;
        let (slot, shard) = (packed >> SHARD_BITS, packed & ((1 << SHARD_BITS) - 1));
        let removed = {
            let mut s = self.lock(shard);
            let removed = s.slots[slot].take();
            s.free.push(slot);
            if s.free.len() == s.slots.len() && s.slots.len() > 1024 {
                // Everything in this shard exited: give the memory back.
                *s = Shard::default();
            }
            removed
        };
        drop(removed);
        self.count.fetch_sub(1, SeqCst) - 1
    }

    /// Every live process, sorted by pid.
    pub(crate) fn list(&self) -> Vec<Arc<ProcessCore>> {
        let mut all = Vec::with_capacity(self.len());
        for i in 0..self.shards.len() {
            all.extend(self.lock(i).slots.iter().flatten().cloned());
        }
        all.sort_by_key(|p| p.id);
        all
    }

    /// How many processes are live.
    pub(crate) fn len(&self) -> usize {
        self.count.load(SeqCst)
    }
}
