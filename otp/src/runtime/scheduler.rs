//! Scheduler threads: run queues, the migration rule, work stealing, parking.
//!
//! One scheduler per thread. Each owns:
//!
//! * `run_queue`: processes pinned to it (started processes: their stack holds live frames
//!   that may hold thread-bound state, so they never move). Other threads hand it pinned
//!   processes through its `inbox`.
//! * `movable`: a work-stealing deque of processes that hold no stack yet (spawned, not started).
//!   Only these move between schedulers: the **migration rule** (`book/src/internals/`).
//!   In front of its LIFO end sits `next`, a one-process slot for the movable process woken
//!   last (a behaviour process between messages: a call's server), which costs one swap to
//!   take where the deque's last entry costs a fence and a compare-exchange. A thief takes it
//!   only from a scheduler the watchdog marked stuck.
//! * a timer wheel, a stack pool, and the reduction budget of the process it is running.
//!
//! # Picking the next process
//!
//! The `woken` slot (the pinned process woken last here, at most [`WOKEN_STREAK`] times in a
//! row while others wait), the pinned run queue, then the inbox, then `next` and the movable
//! deque, then the global injector; every
//! 61st pick looks at timers and the injector first, and every 1021st at the *oldest* entry of
//! the (LIFO) movable deque, so nothing starves (Go's trick). An idle
//! scheduler spins a little, stealing from others, then parks until it is handed work or its
//! next timer is due. How long it spins is learnt from whether spinning pays (`spin`).
//!
//! # Stealing only from the busy
//!
//! A process that starts on a scheduler stays there for life, so stealing a process that its
//! scheduler would have run a microsecond later costs every later message a cross-core wake-up
//! (a ping-pong pair split over two cores). A thief therefore steals from a victim only if the
//! victim has held a backlog of two or more unstarted processes, without once draining its
//! movable deque, for several looks in a row (it is really behind), or the watchdog marked it
//! stuck.
//!
//! # I/O
//!
//! Each scheduler also owns a reactor (`io::reactor`): an epoll instance for the sockets its
//! processes wait on. A busy scheduler polls it without blocking where it looks at timers
//! (every 61st pick, and when its queues run dry, before it goes idle, and now and then while
//! it spins). Only schedulers with registered descriptors touch epoll at all: for the others
//! each of these points is one relaxed load.
//!
//! # Parking without lost wake-ups
//!
//! An idle scheduler sleeps in one of two places: on its parker (a futex) when its reactor has
//! no registrations, or in `epoll_wait` when it has some, so that socket readiness wakes it
//! too. In both cases the next timer deadline is the timeout. `sleeping` says which:
//! `AWAKE`, `PARKED` or `POLLING`.
//!
//! The sleeper stores `PARKED` or `POLLING` in `sleeping`, fences, re-checks its queues, then
//! sleeps. A waker pushes, fences, and loads `sleeping`: on `PARKED` it unparks, on `POLLING` it
//! writes the reactor's `mio::Waker` (an eventfd in the same epoll set). One of the two sees the
//! other (store-fence-load on both sides). Both wake-ups are tokens that survive until the
//! sleeper looks: the parker keeps an unpark token, and an eventfd written before
//! `epoll_wait` starts leaves an event queued for it. So a wake-up between the check and the
//! sleep is not lost in either mode. Of several wakers of one `POLLING` sleeper, only the one
//! that swaps it back to `AWAKE` writes the eventfd (a system call); the others' work is seen
//! because a woken scheduler looks at all its queues before it sleeps again.
//!
//! The mode is decided from the reactor's registration count, which only this thread
//! increases (sockets register on the reactor of the scheduler their process runs on). A
//! scheduler that saw no registrations has no descriptor that could produce an event while it
//! is parked; one that saw some and lost them meanwhile merely sleeps in epoll for nothing.
//! Keeping the futex path for schedulers without sockets keeps message-only workloads exactly
//! as fast as before (measured: `benches/README.md`).

use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    io,
    sync::{
        atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8,
            Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst},
        },
        Arc,
    },
    time::{Duration, Instant},
};

use corosensei::{Coroutine, CoroutineResult};
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::{
    sync::{Parker, Unparker},
    CachePadded,
};

use crate::process::core_ref::CoreRef;
use crate::{
    io::{Reactor, ReactorShared},
    process::{
        core::{
            Activation, Body, ExitUnwind, Outcome, Placement, ProcessCore, ProcessYielder, Running,
            StartedRef, Suspend, NOT_WAITING, NO_TIMER, WAIT_FOREVER, WAIT_PENDING,
        },
        dying,
        exit::ExitReason,
        pid::AnyPid,
    },
    runtime::{
        budget, context, panic as rt_panic,
        shared::RuntimeShared,
        spin::{self, SpinLimit},
        stack::{Canary, StackPool, StackProbe},
        timer::{TimerItem, Timers},
        trap,
        worker::{Parked, Workers},
    },
};

/// A process record as run queues hold it, and as the scheduler holds the process it runs:
/// a reference that does not count.
///
/// A process is in a run queue only between being made runnable (spawned, or woken from
/// `IDLE` by the scheduling word's `Enqueue`) and its next slice, and it exits only at the end
/// of a slice, on its scheduler ([`Scheduler::finish`]). The process table holds a counted
/// reference from spawn to that exit. So every `ProcRef` points to a record the table keeps
/// alive; `finish` takes a counted reference of its own before it removes the process from
/// the table, and nothing touches a `ProcRef` after the slice that exited it, or after a
/// successful `park` (from then on another thread may run, exit and free the process).
///
/// Counting would cost two atomic read-modify-writes per wake-up (one when queued, one when
/// the slice ends), a good share of a message's cost. `Deref` gives the record's
/// [`CoreRef`], so `p.clone()` is a counted reference where one must outlive the slice.
pub(crate) struct ProcRef(std::mem::ManuallyDrop<CoreRef>);

impl ProcRef {
    /// An uncounted reference to `p`.
    ///
    /// # Safety
    ///
    /// `p` must be in the process table (spawned and not yet exited), and the reference must
    /// be used only as the type's docs allow.
    #[inline]
    pub(crate) unsafe fn new(p: &CoreRef) -> ProcRef {
        // SAFETY: `CoreRef::as_ptr` of a live `CoreRef` is what `from_raw` takes;
        // `ManuallyDrop` keeps the count as it is, so the table's reference is never given up
        // by us.
        ProcRef(std::mem::ManuallyDrop::new(unsafe {
            CoreRef::from_raw(CoreRef::as_ptr(p))
        }))
    }
}

impl ProcRef {
    /// The record's address, for a slot that holds the reference as a pointer.
    fn into_ptr(self) -> *mut ProcessCore {
        CoreRef::as_ptr(&self.0).cast_mut()
    }

    /// The reference [`into_ptr`](Self::into_ptr) gave.
    ///
    /// # Safety
    ///
    /// `p` comes from `into_ptr`, and is taken back once.
    unsafe fn from_ptr(p: *mut ProcessCore) -> ProcRef {
        // SAFETY: the caller's contract: a live record's `as_ptr`; uncounted as before.
        ProcRef(std::mem::ManuallyDrop::new(unsafe { CoreRef::from_raw(p) }))
    }
}

impl std::ops::Deref for ProcRef {
    type Target = CoreRef;
    #[inline]
    fn deref(&self) -> &CoreRef {
        &self.0
    }
}

impl std::fmt::Debug for ProcRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProcRef(<0.{}.0>)", self.0.id)
    }
}

/// While spinning, a scheduler with sockets looks at its reactor every this many rounds.
const SPIN_POLL_EVERY: u32 = 4;
/// A spin round: one look at the peers (stealing), then this many looks at the scheduler's own
/// queues, each followed by [`SPIN_PAUSES_PER_LOOK`] pause instructions (64 pauses a round).
const SPIN_LOOKS_PER_ROUND: u32 = 8;
const SPIN_PAUSES_PER_LOOK: u32 = 8;
/// `sleeping`: running or spinning.
const AWAKE: u8 = 0;
/// `sleeping`: parked on the parker.
const PARKED: u8 = 1;
/// `sleeping`: blocked in the reactor's `epoll_wait`.
const POLLING: u8 = 2;
/// A thief steals from a scheduler only after this many looks in a row (a few microseconds of
/// spinning) in which that scheduler held two or more unstarted processes and never once
/// emptied that queue.
const STEAL_PATIENCE: u32 = 8;
/// Every this many picks, look at the injector and timers first.
const FAIRNESS_TICK: u64 = 61;
/// Every this many picks, start the oldest unstarted process rather than the newest.
const OLDEST_TICK: u64 = 1021;
/// The `woken` slot goes first at most this many times in a row while other pinned processes
/// wait (two processes that keep waking each other would otherwise starve the rest).
const WOKEN_STREAK: u32 = 16;

/// The part of a scheduler other threads see.
#[derive(Debug)]
pub(crate) struct SchedulerShared {
    pub(crate) index: usize,
    /// Pinned processes woken by other threads.
    inbox: Injector<ProcRef>,
    stealer: Stealer<ProcRef>,
    unparker: Unparker,
    /// `AWAKE`, `PARKED` or `POLLING`: where to wake it (module docs).
    sleeping: AtomicU8,
    /// This scheduler's reactor, for registering sockets and waking it out of `epoll_wait`.
    pub(crate) io: Arc<ReactorShared>,
    /// Context switches so far: the watchdog's epoch. Written on every slice, so on a cache
    /// line of its own: thieves spinning on the other cores read this struct's other fields
    /// on every look, and a line they share with these two would move between the cores at
    /// every slice (on `ring` across two schedulers it cost about a fifth of a hop).
    pub(crate) switches: CachePadded<AtomicU64>,
    /// Id of the process being run, 0 when idle (for the watchdog's report). Its own line, as
    /// `switches`.
    pub(crate) running: CachePadded<AtomicU64>,
    /// Times the movable deque was found empty (the stealing heuristic).
    drained: AtomicU64,
    /// Set by the watchdog while one process holds this scheduler too long.
    pub(crate) stuck: AtomicBool,
    /// The movable process woken last on this scheduler (null: none), run before its movable
    /// deque: a slot in front of the deque's LIFO end, which a call's server goes through on
    /// every call. Taking the deque's last entry costs a fence and a compare-exchange (the
    /// deque must fend off thieves); the slot costs one swap, and nothing when empty. Only
    /// the owner fills it (a plain store when empty); the owner empties it with a swap, a
    /// thief with a compare-exchange, and only while the scheduler is `stuck`: otherwise the
    /// slot holds the partner of the process running (the steal rule for a lone unstarted
    /// process). Its own line: the owner writes it on every call, thieves read the fields
    /// above on every look.
    next: CachePadded<AtomicPtr<ProcessCore>>,
}

impl SchedulerShared {
    /// A thief's take of the `next` slot (only while the scheduler is stuck).
    fn steal_next(&self) -> Option<ProcRef> {
        let p = self.next.load(Acquire);
        if p.is_null() {
            return None;
        }
        self.next
            .compare_exchange(p, std::ptr::null_mut(), Acquire, Relaxed)
            .ok()
            // SAFETY: it was in the slot, which we emptied: ours to take, once.
            .map(|p| unsafe { ProcRef::from_ptr(p) })
    }

    /// Hands a pinned process to this scheduler from another thread.
    fn push_remote(&self, p: ProcRef) {
        self.inbox.push(p);
        self.wake();
    }

    /// Wakes the scheduler if it sleeps, wherever it sleeps (module docs).
    pub(crate) fn wake(&self) {
        fence(SeqCst);
        match self.sleeping.load(SeqCst) {
            AWAKE => {}
            PARKED => self.unparker.unpark(),
            // One eventfd write per sleep, not one per waker: the winner of the swap wakes
            // it, and the sleeper looks at all its queues once it is up.
            _ => {
                if self
                    .sleeping
                    .compare_exchange(POLLING, AWAKE, SeqCst, SeqCst)
                    .is_ok()
                {
                    self.io.wake();
                }
            }
        }
    }
}

/// The scheduler-thread side. Lives on its thread's stack for the thread's whole life; process
/// code reaches it through [`context`].
pub(crate) struct Scheduler {
    pub(crate) shared: Arc<SchedulerShared>,
    pub(crate) rt: Arc<RuntimeShared>,
    /// The pinned process woken last on this thread (null: none), run before the run queue:
    /// a message's receiver runs next, as the BEAM's and Go's schedulers run it, at the cost
    /// of a pointer swap instead of a trip through the queue. [`Scheduler::take_woken`] keeps
    /// it from starving the queue.
    woken: Cell<*mut ProcessCore>,
    /// How many times in a row `woken` went first while others waited.
    woken_streak: Cell<u32>,
    /// Pinned runnable processes, with whether each got here by yielding (vs being woken).
    run_queue: RefCell<VecDeque<(ProcRef, bool)>>,
    movable: Worker<ProcRef>,
    pub(crate) stacks: RefCell<StackPool>,
    /// Coroutines between activations (`worker` module).
    pub(crate) workers: Workers,
    /// The hand-off cells between this scheduler and its workers: the activation a worker is
    /// resumed to run (with the process it runs for), and the outcome it suspends with
    /// (`Suspend::Done`). (A worker unwound by a drop while its process waits leaves an
    /// outcome here, which the next one replaces: only at a runtime's teardown.)
    job: Cell<Option<(*const ProcessCore, Box<dyn Activation>)>>,
    outcome: Cell<Option<Outcome>>,
    pub(crate) timers: Timers,
    parker: Parker,
    reactor: Reactor,
    /// The process being run (kept alive by the process table meanwhile, see [`ProcRef`]).
    pub(crate) current: Cell<*const ProcessCore>,
    /// The yielder of the coroutine being resumed, for [`switch::suspend`]: copied from its
    /// [`Running`] box before each resume and back after it (null until the coroutine's entry
    /// sets it, on the first resume). One per scheduler rather than one per process record:
    /// only the process being resumed needs it.
    ///
    /// [`switch::suspend`]: crate::runtime::switch::suspend
    pub(crate) yielder: Cell<*const ProcessYielder>,
    tick: Cell<u64>,
    /// Per victim: its `drained` count when this scheduler last looked, and how many looks in
    /// a row it has not changed.
    last_seen: RefCell<Vec<(u64, u32)>>,
    /// Process ids are handed out in blocks: `(next, end)`.
    ids: Cell<(u64, u64)>,
    /// How long to spin when idle (learnt: `spin` module).
    spin: SpinLimit,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("index", &self.shared.index)
            .finish_non_exhaustive()
    }
}

/// What a scheduler thread takes with it: its movable deque, its parker and its reactor.
pub(crate) type ThreadParts = (Worker<ProcRef>, Parker, Reactor);

/// Builds the shared halves and the thread-side parts of `n` schedulers. Fails if an epoll
/// instance cannot be made (out of descriptors).
pub(crate) fn create(n: usize) -> io::Result<(Vec<Arc<SchedulerShared>>, Vec<ThreadParts>)> {
    (0..n)
        .map(|index| {
            // LIFO: the newest spawn runs next (depth first, hot in cache, few live stacks in a
            // spawn tree); thieves take the oldest, the biggest pieces of work.
            let worker = Worker::new_lifo();
            let parker = Parker::new();
            let reactor = Reactor::new()?;
            let shared = Arc::new(SchedulerShared {
                index,
                inbox: Injector::new(),
                stealer: worker.stealer(),
                unparker: parker.unparker().clone(),
                sleeping: AtomicU8::new(AWAKE),
                io: reactor.shared.clone(),
                switches: CachePadded::new(AtomicU64::new(0)),
                running: CachePadded::new(AtomicU64::new(0)),
                drained: AtomicU64::new(0),
                stuck: AtomicBool::new(false),
                next: CachePadded::new(AtomicPtr::new(std::ptr::null_mut())),
            });
            Ok((shared, (worker, parker, reactor)))
        })
        .collect::<io::Result<Vec<_>>>()
        .map(|v| v.into_iter().unzip())
}

impl Scheduler {
    pub(crate) fn new(
        rt: Arc<RuntimeShared>,
        index: usize,
        movable: Worker<ProcRef>,
        parker: Parker,
        reactor: Reactor,
    ) -> Scheduler {
        let n = rt.schedulers.len();
        Scheduler {
            shared: rt.schedulers[index].clone(),
            woken: Cell::new(std::ptr::null_mut()),
            woken_streak: Cell::new(0),
            run_queue: RefCell::new(VecDeque::new()),
            movable,
            stacks: RefCell::new(StackPool::new()),
            workers: Workers::default(),
            job: Cell::new(None),
            outcome: Cell::new(None),
            timers: Timers::new(rt.epoch),
            parker,
            reactor,
            current: Cell::new(std::ptr::null()),
            yielder: Cell::new(std::ptr::null()),
            tick: Cell::new(0),
            last_seen: RefCell::new(vec![(0, 0); n]),
            ids: Cell::new((0, 0)),
            spin: SpinLimit::default(),
            rt,
        }
    }

    /// The thread's main loop. Returns when the runtime stops.
    pub(crate) fn run(&self) {
        trap::install_thread();
        loop {
            if let Some(p) = self.next_process() {
                self.run_process(p);
                continue;
            }
            if self.rt.stopping() {
                break;
            }
            self.idle();
        }
        // Processes left waiting (only those stuck past the shutdown timeout) keep their
        // deadlines; a deadline dropped after this must not reach for the list.
        self.timers.pending.clear();
        for item in self.timers.drain() {
            drop(item);
        }
        for worker in self.workers.drain() {
            self.retire(worker.run);
        }
    }

    /// A fresh process id.
    pub(crate) fn next_id(&self) -> u64 {
        let (mut next, mut end) = self.ids.get();
        if next == end {
            next = self.rt.id_block();
            end = next + crate::runtime::shared::ID_BLOCK;
        }
        self.ids.set((next + 1, end));
        next
    }

    /// Queues a new (movable) process spawned on this thread.
    pub(crate) fn push_new(&self, p: ProcRef) {
        self.movable.push(p);
        if self.movable.len() > 1 {
            self.rt.wake_idle_scheduler(self.shared.index);
        }
    }

    /// Queues a movable process woken on this thread: into the `next` slot; one already there
    /// moves on to the movable deque.
    fn push_woken(&self, p: ProcRef) {
        let slot = &self.shared.next;
        if slot.load(Relaxed).is_null() {
            // Only this thread fills the slot, so it stays empty until this store.
            slot.store(p.into_ptr(), Release);
            return;
        }
        let older = slot.swap(p.into_ptr(), AcqRel);
        if !older.is_null() {
            // SAFETY: taken out of the slot by the swap: ours, once.
            self.push_new(unsafe { ProcRef::from_ptr(older) });
        }
    }

    /// The owner's take of the `next` slot.
    #[inline]
    fn take_next(&self) -> Option<ProcRef> {
        let slot = &self.shared.next;
        if slot.load(Relaxed).is_null() {
            return None;
        }
        let p = slot.swap(std::ptr::null_mut(), Acquire);
        // SAFETY: taken out of the slot by the swap: ours, once.
        (!p.is_null()).then(|| unsafe { ProcRef::from_ptr(p) })
    }

    /// The next movable process to run here: the `next` slot, else the deque's newest.
    #[inline]
    fn take_movable(&self) -> Option<ProcRef> {
        self.take_next().or_else(|| self.movable.pop())
    }

    /// Queues a pinned process woken on this thread: into the `woken` slot; one already there
    /// moves on to the back of the run queue.
    fn push_local(&self, p: ProcRef) {
        let older = self.woken.replace(p.into_ptr());
        if !older.is_null() {
            // SAFETY: taken out of the slot: ours, once.
            let older = unsafe { ProcRef::from_ptr(older) };
            self.run_queue.borrow_mut().push_back((older, false));
        }
    }

    /// The process in the `woken` slot, unless it has gone first [`WOKEN_STREAK`] times in a
    /// row while others waited in the run queue or the inbox: then those go first (the oldest
    /// of them), and it goes to the back of the run queue.
    #[inline]
    fn take_woken(&self) -> Option<ProcRef> {
        let p = self.woken.get();
        if p.is_null() {
            return None;
        }
        self.woken.set(std::ptr::null_mut());
        // SAFETY: taken out of the slot: ours, once.
        let p = unsafe { ProcRef::from_ptr(p) };
        let others_wait = !self.run_queue.borrow().is_empty() || !self.shared.inbox.is_empty();
        if !others_wait {
            self.woken_streak.set(0);
            return Some(p);
        }
        let streak = self.woken_streak.get() + 1;
        if streak <= WOKEN_STREAK {
            self.woken_streak.set(streak);
            return Some(p);
        }
        self.woken_streak.set(0);
        let first = self.run_queue.borrow_mut().pop_front().map(|(q, _)| q);
        let first = first.or_else(|| self.take_inbox());
        self.run_queue.borrow_mut().push_back((p, false));
        first.or_else(|| self.run_queue.borrow_mut().pop_front().map(|(q, _)| q))
    }

    /// Queues a pinned process that yielded.
    fn push_yielded(&self, p: ProcRef) {
        self.run_queue.borrow_mut().push_back((p, true));
    }

    fn next_process(&self) -> Option<ProcRef> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick % FAIRNESS_TICK == 0 {
            self.fire_timers();
            self.poll_io_now();
            // A busy scheduler that no longer spawns still frees what its children left.
            self.rt.table.reclaim(self.shared.index);
            if let Some(p) = self.take_global() {
                return Some(p);
            }
        }
        // The movable deque is LIFO (depth first: a spawn tree keeps few stacks live and its
        // caches hot); once in a longer while take its oldest entry instead, so a process
        // spawned before a long run of short-lived spawns still starts.
        if tick % OLDEST_TICK == 0 {
            if let Some(p) = self.take_oldest_movable() {
                return Some(p);
            }
        }
        // The pinned process woken last first (its waker has just blocked, most likely on
        // its answer: Go's `runnext`).
        if let Some(p) = self.take_woken() {
            return Some(p);
        }
        // Woken processes first (message latency), then unstarted ones. A process that merely
        // yielded (out of reductions) goes behind the unstarted ones: otherwise a process that
        // keeps yielding would keep new spawns from ever starting.
        let yielder_first = self
            .run_queue
            .borrow()
            .front()
            .is_some_and(|(_, yielded)| *yielded);
        if !yielder_first {
            if let Some(p) = self.take_started() {
                return Some(p);
            }
        }
        if let Some(p) = self.take_movable() {
            return Some(p);
        }
        if let Some(p) = self.take_started() {
            return Some(p);
        }
        self.shared.drained.fetch_add(1, Relaxed);
        if self.fire_timers() + self.poll_io_now() > 0 {
            if let Some(p) = self.take_started() {
                return Some(p);
            }
            if let Some(p) = self.take_movable() {
                return Some(p);
            }
        }
        self.take_global()
    }

    /// A pinned process: woken here, yielded, or handed over by another thread.
    fn take_started(&self) -> Option<ProcRef> {
        if let Some((p, _)) = self.run_queue.borrow_mut().pop_front() {
            return Some(p);
        }
        self.take_inbox()
    }

    fn take_inbox(&self) -> Option<ProcRef> {
        if self.shared.inbox.is_empty() {
            return None;
        }
        loop {
            match self.shared.inbox.steal() {
                Steal::Success(p) => return Some(p),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    /// The oldest entry of this scheduler's own movable deque (the end thieves take from).
    fn take_oldest_movable(&self) -> Option<ProcRef> {
        loop {
            match self.shared.stealer.steal() {
                Steal::Success(p) => return Some(p),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    fn take_global(&self) -> Option<ProcRef> {
        loop {
            match self.rt.injector.steal_batch_and_pop(&self.movable) {
                Steal::Success(p) => return Some(p),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    fn has_local_work(&self) -> bool {
        !self.woken.get().is_null()
            || !self.run_queue.borrow().is_empty()
            || !self.shared.inbox.is_empty()
            || !self.movable.is_empty()
            || !self.shared.next.load(Relaxed).is_null()
            || !self.rt.injector.is_empty()
    }

    /// Steals movable processes from a busy or stuck scheduler.
    fn try_steal(&self) -> Option<ProcRef> {
        let n = self.rt.schedulers.len();
        let me = self.shared.index;
        let mut last_seen = self.last_seen.borrow_mut();
        for k in 1..n {
            let v = (me + k) % n;
            let victim = &self.rt.schedulers[v];
            let drained = victim.drained.load(Relaxed);
            // A lone unstarted process is most likely the partner of the one its scheduler is
            // running (a spawner's newest children run first): leave it there unless that
            // scheduler is stuck. A backlog of two or more is worth spreading, once it has
            // lasted: patience counts only looks that saw one, so looks from a quiet spell
            // before a spawn don't make a thief take one of two processes spawned a moment
            // ago (which split a ping-pong pair over two cores now and then).
            let backlog = victim.stealer.len() >= 2;
            let (seen, looks) = &mut last_seen[v];
            if drained == *seen && backlog {
                *looks += 1;
            } else {
                (*seen, *looks) = (drained, 0);
            }
            let stuck = victim.stuck.load(Relaxed);
            if (*looks < STEAL_PATIENCE || !backlog) && !stuck {
                continue;
            }
            if stuck {
                if let Some(p) = victim.steal_next() {
                    return Some(p);
                }
            }
            loop {
                match victim.stealer.steal_batch_and_pop(&self.movable) {
                    Steal::Success(p) => return Some(p),
                    Steal::Empty => break,
                    Steal::Retry => {}
                }
            }
        }
        None
    }

    fn idle(&self) {
        self.shared.running.store(0, Relaxed);
        // Records of processes spawned here that exited on other schedulers: free them now
        // rather than keep them until this scheduler next spawns (`table` module docs).
        self.rt.table.reclaim(self.shared.index);
        self.rt.spinning.fetch_add(1, SeqCst);
        // Spin for the learnt number of rounds (`spin` module docs).
        for round in 0..self.spin.rounds() {
            if round % SPIN_POLL_EVERY == SPIN_POLL_EVERY - 1 {
                self.poll_io_now();
            }
            if let Some(p) = self.try_steal() {
                self.rt.spinning.fetch_sub(1, SeqCst);
                self.spin.paid();
                self.push_local_front_movable(p);
                return;
            }
            // Our own queues are looked at every few pauses, the peers once a round: work a
            // peer hands over (a pinned process it woke) starts within a few hundred
            // nanoseconds, not half a round (a ring split over two schedulers pays that at
            // every crossing).
            for _ in 0..SPIN_LOOKS_PER_ROUND {
                if self.has_local_work() || self.rt.stopping() {
                    self.rt.spinning.fetch_sub(1, SeqCst);
                    if self.has_peer_work() {
                        self.spin.paid();
                    } else {
                        self.spin.wasted();
                    }
                    return;
                }
                for _ in 0..SPIN_PAUSES_PER_LOOK {
                    std::hint::spin_loop();
                }
            }
        }
        self.rt.spinning.fetch_sub(1, SeqCst);
        // Sleep: in epoll if sockets may wake us, else on the parker (module docs). Whether
        // the spin that ran out was wasted is judged by how the sleep ends (`spin` docs).
        let polling = self.reactor.shared.has_registrations();
        self.shared
            .sleeping
            .store(if polling { POLLING } else { PARKED }, SeqCst);
        self.rt.sleepers.fetch_add(1, SeqCst);
        fence(SeqCst);
        let short_by_peer =
            if !self.has_local_work() && !self.rt.stopping() && self.rt.timers_inbox_empty() {
                // (The last `fire_timers` fixed every relative deadline; none has begun since.)
                debug_assert!(self.timers.pending.is_empty());
                let timeout = match self.timers.next_deadline() {
                    Some(at) => at
                        .checked_duration_since(Instant::now())
                        .filter(|d| !d.is_zero()),
                    None => Some(Duration::from_millis(100)),
                };
                if let Some(timeout) = timeout {
                    let slept = Instant::now();
                    if polling {
                        self.reactor.poll(Some(timeout));
                    } else {
                        self.parker.park_timeout(timeout);
                    }
                    // A peer woke us sooner than a long spin would have lasted.
                    slept.elapsed() < spin::SHORT_SLEEP && self.has_peer_work()
                } else {
                    // A timer is due now: nothing a peer did.
                    false
                }
            } else {
                // Work came between the spin and the sleep: from a peer, the spin nearly paid.
                self.has_peer_work()
            };
        self.spin.ran_out(short_by_peer);
        self.rt.sleepers.fetch_sub(1, SeqCst);
        self.shared.sleeping.store(AWAKE, SeqCst);
        self.rt.take_timer_inbox(&self.timers);
        self.fire_timers();
    }

    /// Whether another thread has handed this scheduler work: a pinned process woken
    /// elsewhere, or processes in the global injector. (Work from its own sockets and timers
    /// lands in `run_queue`.)
    fn has_peer_work(&self) -> bool {
        !self.shared.inbox.is_empty() || !self.rt.injector.is_empty()
    }

    /// Looks at the reactor without blocking, if any socket is registered there; returns how
    /// many processes that woke.
    fn poll_io_now(&self) -> usize {
        if !self.reactor.shared.has_registrations() {
            return 0;
        }
        self.reactor.poll(Some(Duration::ZERO))
    }

    /// A stolen process goes to the front of the local movable deque's consumer side.
    fn push_local_front_movable(&self, p: ProcRef) {
        self.movable.push(p);
    }

    /// Fires due timers; returns how many processes that woke here.
    fn fire_timers(&self) -> usize {
        let mut woke = 0;
        let now = Instant::now();
        // This reading fixes the relative deadlines of the waits that began since the last.
        self.timers.resolve_pending(now);
        let now_tick = self.timers.now_tick(now);
        for item in self.timers.expire(now) {
            match item {
                TimerItem::Send(entry) => entry.fire(),
                TimerItem::Wake { process, tick } => {
                    // The wait that set this timer belongs to an activation on this
                    // scheduler; if the process is no longer pinned here, that activation has
                    // ended and the timer is stale.
                    if !process.is_pinned_to(&self.shared) {
                        continue;
                    }
                    // SAFETY: the process is pinned to this thread and is not running now (we
                    // are in the scheduler loop), so this thread owns its `Local`.
                    let local = unsafe { process.local() };
                    if local.armed == tick {
                        local.armed = NO_TIMER;
                    }
                    match local.wait {
                        NOT_WAITING | WAIT_FOREVER | WAIT_PENDING => {}
                        due if due <= now_tick => {
                            if process.state.notify() == crate::process::state::Notify::Enqueue {
                                // SAFETY: `Enqueue` means it was parked, so not exited: it is
                                // in the table.
                                self.push_local(unsafe { ProcRef::new(&process) });
                                woke += 1;
                            }
                        }
                        // A later wait reused this timer: arm one for its own deadline.
                        later => {
                            if later < local.armed {
                                local.armed = later;
                                self.timers.insert_tick(
                                    later,
                                    TimerItem::Wake {
                                        process,
                                        tick: later,
                                    },
                                );
                            }
                        }
                    }
                }
            }
        }
        woke
    }

    /// Runs one process for one slice.
    fn run_process(&self, p: ProcRef) {
        if !p.state.start_running() {
            return;
        }
        self.shared.running.store(p.id, Relaxed);
        self.current.set(CoreRef::as_ptr(&p));
        let budget = self.rt.config.reductions;
        budget::start_slice(budget);

        // SAFETY: we dequeued the process, so this thread owns it until it parks or exits, and
        // nothing but the scheduler touches the body (process code only uses `Local`); the
        // coroutine stays in place while it runs.
        let body = unsafe { p.body() };
        if let Body::Ready(_) = body {
            if !self.start(&p, body) {
                self.current.set(std::ptr::null());
                self.finish(&p, ExitReason::SystemLimit);
                return;
            }
        }
        let Body::Started(run) = body else {
            unreachable!("process {} has no coroutine", p.id)
        };
        let run: &mut Running = run;
        let co = &mut run.co;

        let probe = p.stack();
        trap::set_current(co, probe.map_or(0..0, |s| s.guard_range()));
        self.yielder.set(run.yielder);
        let result = co.resume(());
        run.yielder = self.yielder.get();
        trap::clear_current();
        // Only this thread writes these two: plain stores, no locked read-modify-write.
        let switches = &self.shared.switches;
        switches.store(switches.load(Relaxed).wrapping_add(1), Relaxed);
        self.current.set(std::ptr::null());
        let used = budget - budget::end_slice();
        let used = u64::try_from(used.max(0)).unwrap_or(0);
        // Only the thread running the process writes its reductions.
        p.reductions
            .store(p.reductions.load(Relaxed) + used, Relaxed);

        match result {
            CoroutineResult::Yield(why) => {
                // SAFETY: the probed stack belongs to `co`, which is alive and suspended on
                // this thread.
                match probe.map_or(Canary::Intact, |s| unsafe { s.check_canary() }) {
                    Canary::Intact => {}
                    Canary::Overflowed => {
                        tracing::error!(pid = %AnyPid::from_core(p.clone()), "process overflowed its stack (canary broken); ending it");
                        // Its frames sit below the usable stack: never resume or unwind it
                        // (its slot is leaked with it), nor touch a deadline in them, nor
                        // run or drop what it finished with (written through the overflow).
                        std::mem::forget(std::mem::replace(body, Body::empty()));
                        std::mem::forget(self.outcome.take());
                        self.timers.pending.forget(CoreRef::as_ptr(&p));
                        self.finish(&p, ExitReason::StackOverflow);
                        return;
                    }
                    Canary::Corrupted => {
                        tracing::error!(pid = %AnyPid::from_core(p.clone()), "process overflowed its stack past the gap into a neighbour; memory is corrupt, aborting");
                        std::process::abort();
                    }
                }
                match why {
                    Suspend::Yield => {
                        p.state.requeue();
                        self.push_yielded(p);
                    }
                    Suspend::Wait => {
                        if !p.state.park() {
                            p.state.requeue();
                            self.push_local(p);
                        }
                    }
                    Suspend::Done => {
                        let outcome = self
                            .outcome
                            .take()
                            .expect("a finished activation's outcome");
                        let Body::Started(run) = std::mem::replace(body, Body::empty()) else {
                            unreachable!()
                        };
                        self.park(&p, run, probe.expect("a started process has a stack"));
                        self.ended(p, outcome);
                    }
                }
            }
            // A worker's loop only returns when retired, or through a trap (a guard-page hit
            // makes the coroutine return `StackOverflow`).
            CoroutineResult::Return(outcome) => {
                let Body::Started(run) = std::mem::replace(body, Body::empty()) else {
                    unreachable!()
                };
                let stack = run.into_inner().co.into_stack();
                let outcome = match stack.check_canary() {
                    Canary::Intact => outcome,
                    Canary::Overflowed => {
                        if !matches!(outcome, Outcome::Exit(_)) {
                            tracing::error!(pid = %AnyPid::from_core(p.clone()), "process overflowed its stack (canary broken); ending it");
                        }
                        // Its state may have been written through the overflow: never run
                        // (or drop) it again.
                        std::mem::forget(outcome);
                        Outcome::Exit(ExitReason::StackOverflow)
                    }
                    Canary::Corrupted => {
                        tracing::error!(pid = %AnyPid::from_core(p.clone()), "process overflowed its stack past the gap into a neighbour; memory is corrupt, aborting");
                        std::process::abort();
                    }
                };
                self.stacks.borrow_mut().put(stack);
                self.ended(p, outcome);
            }
        }
    }

    /// What follows an activation's end: the process exits, or waits without a stack for its
    /// next message (`Idle`), or for its next turn (`Yield`).
    #[inline]
    fn ended(&self, p: ProcRef, outcome: Outcome) {
        let yielded = matches!(outcome, Outcome::Yield(_));
        let task = match outcome {
            Outcome::Exit(reason) => {
                // A stack overflow discards the frames without drops: forget any deadline
                // that was in them.
                self.timers.pending.forget(CoreRef::as_ptr(&p));
                self.finish(&p, reason);
                return;
            }
            Outcome::Idle(task) | Outcome::Yield(task) => task,
        };
        // SAFETY: as in `run_process`: this thread owns the process until it parks.
        *unsafe { p.body() } = Body::Ready(task);
        p.unpin();
        if yielded {
            p.state.requeue();
            self.push_yielded(p);
        } else if !p.state.park() {
            // Something arrived while it was finishing: run it again.
            p.state.requeue();
            self.push_local(p);
        }
    }

    /// Gives a process a coroutine for its next activation, a parked worker if there is one
    /// (`worker` module), and hands it the activation: turns its `Ready` body into a `Started`
    /// one. False if no stack could be had (the activation is then dropped).
    fn start(&self, p: &ProcRef, body: &mut Body) -> bool {
        let worker = match self.workers.take(p.stack_size) {
            Some(w) => w,
            None => match self.new_worker(p.stack_size as usize) {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(pid = p.id, error = %e, "could not allocate a process stack");
                    *body = Body::empty();
                    return false;
                }
            },
        };
        // Pin it here from now on.
        p.set_home(&self.shared);
        p.set_stack(worker.probe);
        let Body::Ready(task) = std::mem::replace(body, Body::empty()) else {
            unreachable!("only a Ready body is started")
        };
        self.job.set(Some((CoreRef::as_ptr(p), task)));
        *body = Body::Started(worker.run);
        true
    }

    /// A new worker coroutine on a stack of at least `size` bytes (`worker` module): it runs
    /// the activations it finds in the hand-off cell until it finds none.
    fn new_worker(&self, size: usize) -> std::io::Result<Parked> {
        let stack = self.stacks.borrow_mut().get(size)?;
        let probe = stack.probe();
        let me: *const Scheduler = self;
        let reserve = stack.top_reserve();
        let co = Coroutine::with_stack(stack, move |yielder: &ProcessYielder, ()| {
            // SAFETY: `me` is this scheduler, which outlives its workers (it retires them
            // before its loop returns), and a worker only runs on its thread, resumed by it
            // (workers never migrate). The cells are only used from that thread.
            let me = unsafe { &*me };
            me.yielder.set(yielder);
            while let Some((core, task)) = me.job.take() {
                // SAFETY: the process table holds the record while the process runs, and it
                // runs until this activation ends.
                me.outcome.set(Some(entry(unsafe { &*core }, task)));
                yielder.suspend(Suspend::Done);
            }
            // Retired.
            Outcome::Exit(ExitReason::Normal)
        });
        let run = Running {
            co,
            yielder: std::ptr::null(),
        };
        // SAFETY: `reserve` is the top reserve of the stack `co` now owns.
        let run = unsafe { StartedRef::place(reserve, run) };
        Ok(Parked { run, probe })
    }

    /// Ends a worker: resumed with no activation, its loop returns; its stack goes back to the
    /// pool.
    fn retire(&self, mut run: StartedRef) {
        debug_assert!(self.job.take().is_none());
        if matches!(run.co.resume(()), CoroutineResult::Return(_)) {
            self.stacks
                .borrow_mut()
                .put(run.into_inner().co.into_stack());
        } else {
            unreachable!("a worker with no activation returns");
        }
    }

    /// After an activation ended well: a worker goes back to the pool (or is retired).
    fn park(&self, p: &ProcRef, run: StartedRef, probe: StackProbe) {
        if let Err(w) = self.workers.park(p.stack_size, Parked { run, probe }) {
            self.retire(w.run);
        }
    }

    /// Everything that happens when a process has exited.
    fn finish(&self, p: &ProcRef, reason: ExitReason) {
        // Counted from here: removing the process from the table below may drop the last
        // other reference (`ProcRef`'s docs).
        let p: &CoreRef = &CoreRef::clone(p);
        p.exiting.store(true, Release);
        p.state.exit();
        // Messages still queued (calls among them) learn why their receiver is gone.
        dying::scoped(&reason, || p.discard_mailbox());
        // The name goes before anyone hears of the exit, so a supervisor that restarts the
        // process on its EXIT finds the name free.
        self.rt.release_name(p);
        // Report first, then tell links and monitors: whoever hears of the crash can find its
        // report.
        if !dying::take_reported() && reason.is_crash() {
            log_crash(p, &reason);
        }
        p.notify_exit(&reason);
        self.rt.process_exited(p, &reason, self.shared.index);
    }
}

/// The root of every activation's coroutine: runs it and turns how it ended into an outcome.
fn entry(core: &ProcessCore, task: Box<dyn Activation>) -> Outcome {
    // A kill that arrived while the process was queued is acted on by the activation: a raw
    // process's first one looks at its signals before running its function; a behaviour's
    // takes its mailbox in order, signals included.
    let result = rt_panic::catch(move || task.activate());
    // SAFETY: still the process itself; short borrow.
    let pending = unsafe { core.local() }.exit.take().map(|r| *r);
    // Only a crash raised by the process itself is reported (as the BEAM reports only the
    // process that raised): an exit signal's reason, even a panic from a linked process, or
    // the process's own `exit(reason)`, is not. `finish` skips the report when marked.
    let signalled =
        pending.is_some() || matches!(&result, Err(payload) if payload.is::<ExitUnwind>());
    if signalled {
        dying::mark_reported();
    }
    match result {
        Ok(Outcome::Exit(reason)) => Outcome::Exit(pending.unwrap_or(reason)),
        Ok(next) => match pending {
            // Doomed while finishing its work: drop its state here, on its own stack.
            Some(reason) => {
                dying::scoped(&reason, || drop(next));
                Outcome::Exit(reason)
            }
            None => next,
        },
        Err(payload) => Outcome::Exit(if payload.is::<ExitUnwind>() {
            pending.unwrap_or(ExitReason::Normal)
        } else {
            rt_panic::reason(&*payload)
        }),
    }
}

/// Elixir's crash report, once (see [`crate::logger`]).
fn log_crash(p: &CoreRef, reason: &ExitReason) {
    let pid = AnyPid::from_core(p.clone());
    match reason {
        ExitReason::Panic(panic) => crate::logger::error(
            &pid,
            format_args!(
                "Process {pid:?} raised an exception\n** (panic) {}\n    {}",
                panic.message(),
                panic.location().unwrap_or("(unknown location)")
            ),
        ),
        other => crate::logger::error(
            &pid,
            format_args!("Process {pid:?} terminating\n** (exit) {other}"),
        ),
    }
}

/// Puts a woken process on a run queue: its home scheduler's, locally if that is this thread.
///
/// A process that holds no stack (a behaviour process between messages) is movable: it goes to
/// the waker's scheduler, where it is hot in cache and where idle schedulers can steal it.
///
/// The caller must hold the right to enqueue `p` (`Notify::Enqueue`).
///
/// # Safety
///
/// As [`ProcRef::new`]: `p` is in the process table (the scheduling word said `Enqueue`).
pub(crate) unsafe fn schedule(p: &CoreRef) {
    // SAFETY: the caller's contract.
    let p = unsafe { ProcRef::new(p) };
    let (home, movable): (*const SchedulerShared, bool) = match p.placement() {
        Some(Placement::Pinned(s)) => (s, false),
        Some(Placement::Movable(s)) => (s, true),
        // Never started yet is never parked (it is queued from its spawn until it first
        // runs), so a process being woken always has run somewhere.
        None => unreachable!("woke process {} that never ran", p.id),
    };
    context::with_scheduler(|s| match s {
        Some(s) if movable => s.push_woken(p),
        Some(s) if std::ptr::eq(Arc::as_ptr(&s.shared), home) => s.push_local(p),
        // SAFETY: `home` points into `p`'s own counted reference, and `p` is alive here.
        _ => unsafe { &*home }.push_remote(p),
    });
}

/// Acquire-load helper for tests and introspection.
pub(crate) fn switches(s: &SchedulerShared) -> u64 {
    s.switches.load(Acquire)
}

#[cfg(test)]
mod tests {
    use std::{sync::mpsc, time::Duration};

    use crate::{Builder, Mailbox, Message, SpawnOptions};

    /// How many workers the calling process's scheduler has parked.
    fn parked() -> usize {
        super::context::with_scheduler(|s| s.expect("on a scheduler").workers.len())
    }

    /// An address in the caller's frame: the same for the same frame on the same stack.
    #[inline(never)]
    fn frame_address() -> usize {
        let here = 0u8;
        std::hint::black_box(&here as *const u8 as usize)
    }

    fn down(mb: &mut Mailbox<()>) -> crate::ExitReason {
        match mb.select(Duration::from_secs(60), |_| true) {
            Some(Message::Down { reason, .. }) => reason,
            other => panic!("expected a DOWN, got {other:?}"),
        }
    }

    #[test]
    fn a_finished_activation_parks_its_worker_and_the_next_one_runs_on_it() {
        let rt = Builder::new().schedulers(1).build().unwrap();
        rt.block_on(|mut mb: Mailbox<()>| {
            let (tx, rx) = mpsc::channel();
            let report = move || {
                let tx = tx.clone();
                move || tx.send((parked(), frame_address())).unwrap()
            };
            crate::spawn_monitor(report());
            assert_eq!(down(&mut mb), crate::ExitReason::Normal);
            let after_first = parked();
            assert!(after_first >= 1, "the first child's worker is parked");
            crate::spawn_monitor(report());
            assert_eq!(down(&mut mb), crate::ExitReason::Normal);
            let (first, second) = (rx.recv().unwrap(), rx.recv().unwrap());
            assert_eq!(
                second.0,
                after_first - 1,
                "the second child took a parked worker"
            );
            assert_eq!(second.1, first.1, "the same worker, last in first out");
            assert_eq!(parked(), after_first, "and gave it back");
        })
        .unwrap();
    }

    #[test]
    fn workers_are_kept_by_stack_size_and_an_overflowed_one_is_not_parked() {
        const SMALL: usize = 64 * 1024;
        fn recurse(depth: u64) -> u64 {
            if depth == u64::MAX {
                return 0; // never: the stack runs out long before
            }
            let frame = std::hint::black_box([depth as u8; 1024]);
            std::hint::black_box(u64::from(frame[0])) + recurse(std::hint::black_box(depth + 1))
        }
        let rt = Builder::new().schedulers(1).build().unwrap();
        rt.block_on(|mut mb: Mailbox<()>| {
            let small = || {
                super::context::with_scheduler(|s| {
                    let s = s.unwrap();
                    match s.workers.take(SMALL as u32) {
                        Some(w) => {
                            s.workers.park(SMALL as u32, w).ok().unwrap();
                            true
                        }
                        None => false,
                    }
                })
            };
            assert!(!small());
            SpawnOptions::new().stack_size(SMALL).spawn_monitor(|| {});
            assert_eq!(down(&mut mb), crate::ExitReason::Normal);
            assert!(small(), "a small-stack worker is parked under its size");
            let before = parked();
            SpawnOptions::new().stack_size(SMALL).spawn_monitor(|| {
                std::hint::black_box(recurse(0));
            });
            assert_eq!(down(&mut mb), crate::ExitReason::StackOverflow);
            assert_eq!(
                parked(),
                before - 1,
                "the overflowed worker is gone, not parked"
            );
        })
        .unwrap();
    }
}
