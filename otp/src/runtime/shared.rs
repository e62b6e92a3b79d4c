//! State shared by all schedulers of one runtime (one "node").

use std::{
    sync::{
        atomic::{
            AtomicBool, AtomicU64, AtomicUsize,
            Ordering::{Acquire, Relaxed, Release, SeqCst},
        },
        Arc, Condvar, Mutex, PoisonError,
    },
    time::Instant,
};

use crossbeam_deque::Injector;

use crate::process::core_ref::CoreRef;
use crate::{
    blocking::BlockingPool,
    process::{core::ProcessCore, exit::ExitReason, name::Names},
    runtime::{
        context,
        scheduler::{ProcRef, SchedulerShared},
        table::ProcessTable,
        timer::{TimerItem, Timers},
        Config,
    },
};

/// Process ids are handed to schedulers in blocks of this many.
pub(crate) const ID_BLOCK: u64 = 1024;

/// What the thread waiting in `block_on` / shutdown watches.
#[derive(Debug, Default)]
pub(crate) struct RootState {
    pub(crate) exit: Option<ExitReason>,
}

/// See the module docs.
pub(crate) struct RuntimeShared {
    pub(crate) schedulers: Vec<Arc<SchedulerShared>>,
    /// New processes from outside the runtime (the root).
    pub(crate) injector: Injector<ProcRef>,
    pub(crate) table: ProcessTable,
    pub(crate) names: Names,
    /// Time zero of every timer wheel.
    pub(crate) epoch: Instant,
    pub(crate) config: Config,
    stop: AtomicBool,
    pub(crate) shutting_down: AtomicBool,
    pub(crate) spinning: AtomicUsize,
    pub(crate) sleepers: AtomicUsize,
    /// Timers set from threads that are not schedulers.
    timer_inbox: Mutex<Vec<(Instant, TimerItem)>>,
    timer_inbox_len: AtomicUsize,
    pub(crate) root: Mutex<RootState>,
    /// The root's id, readable without the lock (every exit checks it).
    pub(crate) root_id: AtomicU64,
    pub(crate) changed: Condvar,
    /// The blocking pool (`otp::blocking`).
    pub(crate) blocking: Arc<BlockingPool>,
}

impl RuntimeShared {
    pub(crate) fn new(config: Config, schedulers: Vec<Arc<SchedulerShared>>) -> RuntimeShared {
        RuntimeShared {
            table: ProcessTable::new(schedulers.len() + 1),
            schedulers,
            injector: Injector::new(),
            names: Names::default(),
            epoch: Instant::now(),
            blocking: BlockingPool::new(config.blocking_threads),
            config,
            stop: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            spinning: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            timer_inbox: Mutex::new(Vec::new()),
            timer_inbox_len: AtomicUsize::new(0),
            root: Mutex::new(RootState::default()),
            root_id: AtomicU64::new(0),
            changed: Condvar::new(),
        }
    }

    /// The first id of a fresh block. Blocks come from one counter for the whole OS process,
    /// so pids of different runtimes never compare equal. Ids start at 1 (`<0.1.0>`).
    pub(crate) fn id_block(&self) -> u64 {
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(0);
        (NEXT_BLOCK.fetch_add(1, Relaxed) * ID_BLOCK).max(1)
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Acquire)
    }

    pub(crate) fn stop(&self) {
        self.stop.store(true, Release);
        for s in &self.schedulers {
            s.wake();
        }
    }

    /// Wakes a sleeping scheduler (other than `except`) if none is already looking for work.
    pub(crate) fn wake_idle_scheduler(&self, except: usize) {
        if self.sleepers.load(SeqCst) == 0 || self.spinning.load(SeqCst) > 0 {
            return;
        }
        if let Some(s) = self.schedulers.iter().find(|s| s.index != except) {
            s.wake();
        }
    }

    /// Queues a process spawned outside any scheduler.
    pub(crate) fn inject(&self, p: ProcRef) {
        self.injector.push(p);
        if let Some(s) = self.schedulers.first() {
            s.wake();
        }
        self.wake_idle_scheduler(0);
    }

    /// Hands a timer set outside the schedulers to one of them.
    pub(crate) fn add_remote_timer(&self, at: Instant, item: TimerItem) {
        self.timer_inbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((at, item));
        self.timer_inbox_len.fetch_add(1, SeqCst);
        if let Some(s) = self.schedulers.first() {
            s.wake();
        }
    }

    pub(crate) fn timers_inbox_empty(&self) -> bool {
        self.timer_inbox_len.load(SeqCst) == 0
    }

    /// Moves timers set from outside into this scheduler's wheel.
    pub(crate) fn take_timer_inbox(&self, timers: &Timers) {
        if self.timers_inbox_empty() {
            return;
        }
        let items = std::mem::take(
            &mut *self
                .timer_inbox
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.timer_inbox_len.fetch_sub(items.len(), SeqCst);
        for (at, item) in items {
            timers.insert(at, item);
        }
    }

    /// Releases the exited process's registered name, if it had one.
    pub(crate) fn release_name(&self, p: &ProcessCore) {
        if p.named.load(Relaxed) {
            self.names.release(p.id);
        }
    }

    /// Bookkeeping after a process exited (its name already released): table, root, shutdown.
    /// `by` is the scheduler it exited on.
    pub(crate) fn process_exited(&self, p: &CoreRef, reason: &ExitReason, by: usize) {
        self.table.remove(p, by);
        // Only the root's exit and the last exit during shutdown interest the waiting thread;
        // every other exit stays off the lock.
        let is_root = self.root_id.load(Acquire) == p.id;
        if is_root || (self.shutting_down.load(Relaxed) && self.table.len() == 0) {
            let mut root = self.root.lock().unwrap_or_else(PoisonError::into_inner);
            if is_root {
                root.exit = Some(reason.clone());
            }
            self.changed.notify_all();
        }
    }
}

/// The runtime of the calling process.
#[track_caller]
pub(crate) fn current() -> Arc<RuntimeShared> {
    context::with_scheduler(|s| s.map(|s| s.rt.clone())).unwrap_or_else(|| {
        panic!("this function must be called from inside an otp process (see otp::run)")
    })
}
