//! The process record: everything the runtime knows about one process.
//!
//! A record is shared (`CoreRef`) by every [`Pid`](crate::Pid) of the process, the run
//! queue it sits in, the process table and the timers that target it. Its fields fall in two
//! groups:
//!
//! * **Shared**: the id, the scheduling word ([`SchedState`]), the incoming queue (any thread
//!   pushes), counters and flags read by introspection (atomics).
//! * **Owned by the running thread** ([`Local`], in an `UnsafeCell`): the coroutine, the private
//!   message queue used by selective receive, the wait bookkeeping and the pending exit. Only the
//!   thread that currently runs the process touches it: the scheduler between two resumes, or
//!   the process itself while it runs. Once a process has started it is pinned to one scheduler
//!   thread (the migration rule in `book/src/internals/`), so in practice `Local` is only ever
//!   touched from that thread; before it starts, whoever dequeues it owns it (ownership of a run
//!   queue entry is exclusive).
//!
//! Borrows of `Local` are kept short and are never held across a context switch.

use std::{
    any::TypeId,
    cell::UnsafeCell,
    collections::VecDeque,
    marker::PhantomData,
    panic::Location,
    ptr::NonNull,
    sync::{
        atomic::{
            AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
            Ordering::{Acquire, Relaxed, Release},
        },
        Arc,
    },
};

use corosensei::{Coroutine, Yielder};

use crate::process::core_ref::CoreRef;
use crate::{
    mailbox::queue::{self, Head, Header, Node, Pop, Queue},
    process::{
        exit::ExitReason,
        pid::AnyPid,
        reference::Ref,
        relations::RelationsSlot,
        state::{Notify, SchedState},
    },
    runtime::{
        scheduler::SchedulerShared,
        stack::{ProcessStack, StackProbe, TOP_RESERVE},
    },
};

/// Node tags (see [`Header::tag`]).
pub(crate) const TAG_USER: u8 = 0;
/// A signal for the runtime to act on (exit signals; later link and monitor requests).
pub(crate) const TAG_SIGNAL: u8 = 1;
/// A signal turned into a message for the process (a trapped EXIT, a DOWN).
pub(crate) const TAG_SYSTEM: u8 = 2;

/// What one process sends another besides user messages. Travels in the same queue as messages,
/// so a sender's messages always arrive before its signals.
#[derive(Debug)]
pub(crate) enum Signal {
    /// An exit signal. `linked` is true when it comes from a dying linked process, false when
    /// sent with `exit(pid, reason)`; the difference matters only for `kill`.
    Exit {
        from: AnyPid,
        reason: ExitReason,
        linked: bool,
    },
    /// A monitored process exited.
    Down {
        reference: Ref,
        pid: AnyPid,
        reason: ExitReason,
    },
}

/// What [`ProcessCore::next_incoming`] found.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A message (user or system), now owned by the caller.
    Message(NonNull<Header>),
    /// A signal, already acted on.
    Signal,
    /// Nothing (for now).
    Empty,
}

/// Why a coroutine handed control back to its scheduler.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Suspend {
    /// Out of reductions, or `yield_now()`: run me again later.
    Yield,
    /// Nothing to do until a message, a signal or a timer arrives.
    Wait,
    /// The activation ended, its outcome left in the scheduler's hand-off cell: the coroutine
    /// (a worker, `runtime::worker`) can run another.
    Done,
}

/// Work a process does on a stack, from the moment it gets one until it can give it back.
///
/// A raw process is one activation from spawn to exit. A behaviour process (a `GenServer`) is
/// many: each runs the handlers for what is in its mailbox and, when nothing is left to do
/// without blocking, hands its state back as the next activation ([`Outcome::Idle`]). Between two
/// activations the process holds no stack, so it may move to another scheduler (the migration
/// rule in `book/src/internals/`).
pub(crate) trait Activation: Send + 'static {
    /// Runs on the process's stack, inside its coroutine.
    fn activate(self: Box<Self>) -> Outcome;
}

impl<F: FnOnce() -> Outcome + Send + 'static> Activation for F {
    fn activate(self: Box<Self>) -> Outcome {
        (*self)()
    }
}

/// How an activation ended.
pub(crate) enum Outcome {
    /// The process exited.
    Exit(ExitReason),
    /// Nothing to do without blocking: park the process without a stack until a message or a
    /// signal arrives, then run this.
    Idle(Box<dyn Activation>),
    /// Out of reductions between two pieces of work: run this later, without a stack meanwhile.
    Yield(Box<dyn Activation>),
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exit(r) => write!(f, "Exit({r:?})"),
            Outcome::Idle(_) => f.write_str("Idle"),
            Outcome::Yield(_) => f.write_str("Yield"),
        }
    }
}

/// The coroutine type every process runs in.
pub(crate) type Co = Coroutine<(), Suspend, Outcome, ProcessStack>;

/// The yielder of a process's coroutine: how the process hands control back.
pub(crate) type ProcessYielder = Yielder<(), Suspend>;

/// An activation under way: its coroutine (which owns the stack) and the coroutine's yielder.
/// It lives in the top bytes of its own stack ([`TOP_RESERVE`]), reached through a
/// [`StartedRef`], so that a process holding no stack (a behaviour process between messages)
/// does not carry a coroutine's worth of bytes in its record, and one holding a stack pays no
/// allocation for it. Touched only by the scheduler (see [`ProcessCore::body`]).
pub(crate) struct Running {
    pub(crate) co: Co,
    /// Set by the coroutine's entry on its first resume (null before), valid while the
    /// coroutine lives. The scheduler publishes it for the process while it resumes it
    /// (`Scheduler::yielder`) and saves it here in between.
    pub(crate) yielder: *const ProcessYielder,
}

const _: () = assert!(std::mem::size_of::<Running>() <= TOP_RESERVE);
const _: () = assert!(std::mem::align_of::<Running>() <= 16);

/// The owner of a [`Running`] that sits in its own stack's top reserve.
///
/// # Invariant
///
/// The pointer is the [`ProcessStack::top_reserve`] of the stack that the `Running`'s own
/// coroutine owns, and that memory holds the `Running`, initialised, owned by this value alone.
/// The reserve is never part of the coroutine's stack (its base is below it), so running the
/// coroutine never overwrites the `Running`, and the stack cannot go back to a pool or be
/// reused while the `Running` is in it: only [`StartedRef::into_inner`] (or drop) gives the
/// stack up, and it moves the `Running` out first.
pub(crate) struct StartedRef(NonNull<Running>);

impl StartedRef {
    /// Moves `run` into the top reserve of its own stack, whose address `at` the caller took
    /// from that stack ([`ProcessStack::top_reserve`]) before handing the stack to the
    /// coroutine.
    ///
    /// # Safety
    ///
    /// `at` must be the top reserve of the stack `run.co` owns.
    pub(crate) unsafe fn place(at: NonNull<u8>, run: Running) -> StartedRef {
        let at = at.cast::<Running>();
        // SAFETY: the reserve is TOP_RESERVE >= size_of::<Running>() bytes of read-write slab
        // memory, 16-aligned (>= Running's alignment), which nothing else uses while the stack
        // is `run`'s (the caller's contract): writing there only makes it hold `run`.
        unsafe { at.write(run) };
        StartedRef(at)
    }

    /// Moves the `Running` out of its stack (which it still owns, through its coroutine).
    pub(crate) fn into_inner(self) -> Running {
        let me = std::mem::ManuallyDrop::new(self);
        // SAFETY: the invariant: the memory holds an initialised `Running` that only `me`
        // owns, and `me` is forgotten, so it is read (moved out) exactly once.
        unsafe { me.0.read() }
    }
}

impl std::ops::Deref for StartedRef {
    type Target = Running;
    #[inline]
    fn deref(&self) -> &Running {
        // SAFETY: the invariant (initialised, owned by `self`).
        unsafe { self.0.as_ref() }
    }
}

impl std::ops::DerefMut for StartedRef {
    #[inline]
    fn deref_mut(&mut self) -> &mut Running {
        // SAFETY: the invariant; `&mut self` is exclusive.
        unsafe { self.0.as_mut() }
    }
}

impl Drop for StartedRef {
    fn drop(&mut self) {
        // SAFETY: the invariant; moved out once, here. Dropping the coroutine (which unwinds it
        // if it is suspended) runs on its stack below the reserve, while the `Running` value is
        // already off that stack.
        drop(unsafe { self.0.read() });
    }
}

/// A process's body over its life. Two words: a box or a pointer into the stack, told apart
/// by the niche of the trait object's vtable pointer. (A third, dataless variant would cost a
/// third word, so an empty body is a `Ready` holding the zero-sized [`Taken`], which allocates
/// nothing.)
pub(crate) enum Body {
    /// Holds no stack: spawned and not yet run, or a behaviour process between messages. The
    /// next activation, boxed. Movable between schedulers. Or nothing ([`Body::empty`]).
    Ready(Box<dyn Activation>),
    /// Running on its coroutine, whose handle lives on its own stack; pinned to its scheduler
    /// until the activation ends.
    Started(StartedRef),
}

const _: () = assert!(std::mem::size_of::<Body>() == 2 * std::mem::size_of::<usize>());

/// The body of a process whose activation the scheduler has taken out, or that has finished.
/// Never run: a process is only resumed while it is alive, and a live process's body is
/// never left empty once `run_process` returns.
pub(crate) struct Taken;

impl Activation for Taken {
    fn activate(self: Box<Self>) -> Outcome {
        unreachable!("an emptied process body was run")
    }
}

impl Body {
    /// No activation: a placeholder while the scheduler holds it, or a finished process. Costs
    /// no allocation (`Taken` is zero-sized).
    pub(crate) fn empty() -> Body {
        Body::Ready(Box::new(Taken))
    }
}

/// Static facts about a process: its mailbox type and what it was spawned with. One `'static`
/// instance per (message type, function type) pair, so a record pays one pointer for all of it.
#[derive(Debug)]
pub(crate) struct ProcessMeta {
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) type_name: fn() -> &'static str,
    /// Bytes one queued message costs (node header + payload).
    pub(crate) node_size: usize,
    /// The function the process was spawned with (its type name).
    pub(crate) initial_call: fn() -> &'static str,
    /// Bytes of the box a behaviour process keeps for its whole life, running or idle: its
    /// driver (the state and the loop's bookkeeping). 0 for a raw process, whose function's
    /// box is consumed when it first runs.
    pub(crate) activation_size: usize,
}

struct MetaOf<M, F: ?Sized, H>(PhantomData<M>, PhantomData<H>, PhantomData<F>);

trait HasMeta {
    const META: ProcessMeta;
}

impl<M: 'static, F: ?Sized, H> HasMeta for MetaOf<M, F, H> {
    const META: ProcessMeta = ProcessMeta {
        type_id: TypeId::of::<M>,
        type_name: std::any::type_name::<M>,
        node_size: std::mem::size_of::<Node<M>>(),
        initial_call: std::any::type_name::<F>,
        activation_size: std::mem::size_of::<H>(),
    };
}

/// The `'static` facts about a raw process with mailbox type `M` spawned with a function of
/// type `F`.
pub(crate) fn meta<M: 'static, F: ?Sized>() -> &'static ProcessMeta {
    &<MetaOf<M, F, ()> as HasMeta>::META
}

/// The `'static` facts about a behaviour process with mailbox type `M`, named after `F`, that
/// keeps a boxed `H` (its driver) for its whole life.
pub(crate) fn behaviour_meta<M: 'static, F: ?Sized, H>() -> &'static ProcessMeta {
    &<MetaOf<M, F, H> as HasMeta>::META
}

/// The private message queue: messages taken off the shared queue, oldest first, not yet
/// received. Boxed lazily so a process that has never had a message pays one word for it.
#[derive(Default)]
#[allow(
    clippy::box_collection,
    reason = "one word for processes that never get a message"
)]
pub(crate) struct PrivateQueue(Option<Box<VecDeque<NonNull<Header>>>>);

impl PrivateQueue {
    #[inline]
    pub(crate) fn push_back(&mut self, node: NonNull<Header>) {
        self.0.get_or_insert_with(Box::default).push_back(node);
    }

    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<NonNull<Header>> {
        self.0.as_ref()?.get(index).copied()
    }

    /// Takes the oldest node.
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<NonNull<Header>> {
        self.0.as_mut()?.pop_front()
    }

    /// Removes `node`, expected at `hint`.
    pub(crate) fn remove(&mut self, hint: usize, node: NonNull<Header>) {
        let Some(q) = self.0.as_mut() else { return };
        let index = if q.get(hint) == Some(&node) {
            Some(hint)
        } else {
            q.iter().position(|n| *n == node)
        };
        if let Some(i) = index {
            q.remove(i);
        }
    }

    /// Frees the queue's allocation if it holds nothing.
    pub(crate) fn release_if_empty(&mut self) {
        if self.0.as_ref().is_some_and(|q| q.is_empty()) {
            self.0 = None;
        }
    }

    pub(crate) fn take_all(&mut self) -> VecDeque<NonNull<Header>> {
        self.0.take().map(|b| *b).unwrap_or_default()
    }
}

/// [`Local::wait`]: not waiting.
pub(crate) const NOT_WAITING: u64 = 0;
/// [`Local::wait`]: waiting without a deadline.
pub(crate) const WAIT_FOREVER: u64 = u64::MAX;
/// [`Local::wait`] while the process waits on a relative deadline its scheduler has not fixed
/// yet (`runtime::timer::Deadline`).
pub(crate) const WAIT_PENDING: u64 = u64::MAX - 1;
/// [`Local::armed`]: no wait timer in the wheel.
pub(crate) const NO_TIMER: u64 = u64::MAX;

/// Owned by the thread running the process; see the module docs.
pub(crate) struct Local {
    /// Messages taken off the shared queue, oldest first, not yet received.
    pub(crate) private: PrivateQueue,
    /// While the process waits: the timer tick of its deadline, [`WAIT_FOREVER`] or
    /// [`WAIT_PENDING`]; [`NOT_WAITING`] otherwise.
    pub(crate) wait: u64,
    /// The tick of the earliest wait timer this process has in its scheduler's wheel
    /// ([`NO_TIMER`]: none). A wait whose deadline is no earlier reuses it (a call in a loop
    /// adds one wheel entry per timeout period, not one per call); when it fires for a wait
    /// that is not due yet, it is re-armed at that wait's deadline.
    pub(crate) armed: u64,
    /// Set once the process must die; every later safe point unwinds again. Boxed: rare.
    pub(crate) exit: Option<Box<ExitReason>>,
}

/// The process record. See the module docs.
///
/// `repr(C)`, laid out for senders on other cores. Every send does a read-modify-write on
/// `state`, `sent` and the queue's tail, so those come first and fill the first 16 bytes of
/// the record's 16-aligned block (`CoreRef` keeps its count after the record), which never
/// straddle a cache line: a send moves one line, not three. The fields the process itself
/// writes on every receive (`head`, `current`, `taken`, its `Local`...) start 64 bytes into
/// the record, so they never share that line, whatever the allocation's alignment; between
/// the two sit fields written rarely. (Measured on `fan_in` across two schedulers: see `benches/README.md`.) The record
/// stays 152 bytes: one byte of padding in all.
#[repr(C)]
pub(crate) struct ProcessCore {
    pub(crate) state: SchedState,
    /// Messages sent to the process (any thread adds) and taken by it (only the owner writes,
    /// so a plain store, no read-modify-write): the difference is the mailbox length. Both
    /// wrap; the difference is taken with wrapping arithmetic.
    sent: AtomicU32,
    queue: Queue,
    /// Where the process sits in the process table.
    pub(crate) table_slot: AtomicU32,
    pub(crate) trap_exit: AtomicBool,
    /// Whether a name is registered for this process (the name itself lives in the registry).
    pub(crate) named: AtomicBool,
    /// Between its exit decision and its removal from the table.
    pub(crate) exiting: AtomicBool,
    /// The `N` of `<0.N.0>`; unique for the OS process's life.
    pub(crate) id: u64,
    pub(crate) meta: &'static ProcessMeta,
    /// Links and monitors (see `relations`); boxed on first use.
    pub(crate) relations: RelationsSlot,
    /// The stack while it has one, as [`StackProbe::to_word`] (zero otherwise): for the canary
    /// check, the overflow handler and introspection. One word: the top of the stack follows
    /// from `stack_size` ([`StackProbe::slot_end`]).
    stack: AtomicUsize,
    /// The consumer's end of `queue`, written by every receive: kept apart from it (below).
    head: Head,
    /// Where the process is blocked (`receive`/`sleep` call site), if it is.
    pub(crate) current: AtomicPtr<Location<'static>>,
    /// The scheduler the process last ran on, tagged with [`MOVABLE`] while it holds no stack.
    /// Untagged, it is the scheduler the process is pinned to (its coroutine lives there). An
    /// `Arc<SchedulerShared>` turned raw (the record owns one count, released on drop or when
    /// the process moves); a raw pointer rather than a lock to keep the record small. Only the
    /// thread that owns the process writes it (see the module docs).
    home: AtomicPtr<SchedulerShared>,
    pub(crate) reductions: AtomicU64,
    /// The function or coroutine: touched only by the scheduler that owns the process.
    body: UnsafeCell<Body>,
    local: UnsafeCell<Local>,
    taken: AtomicU32,
    /// Requested stack size in bytes (stacks are far below 4 GiB).
    pub(crate) stack_size: u32,
}

// SAFETY: the shared fields are atomics, `Sync` containers or immutable. `Local` is only touched
// by the single thread that owns the process at that moment (module docs), which the scheduling
// state machine makes exclusive; its `!Send` parts (the coroutine and its yielder) never
// leave the scheduler thread that pinned the process once it started.
unsafe impl Send for ProcessCore {}
// SAFETY: as above.
unsafe impl Sync for ProcessCore {}

/// The tag bit of [`ProcessCore::home`]: the process holds no stack, so it may run anywhere.
const MOVABLE: usize = 1;

/// Where a woken process must be queued.
#[derive(Debug)]
pub(crate) enum Placement<'a> {
    /// It has a coroutine on this scheduler: only that scheduler may run it.
    Pinned(&'a SchedulerShared),
    /// It holds no stack; it last ran on this scheduler.
    Movable(&'a SchedulerShared),
}

impl Drop for ProcessCore {
    fn drop(&mut self) {
        // Messages sent after the exit's `discard_mailbox` (or to a process that never ran).
        // SAFETY: `&mut self`: no sender or receiver is left; the record's own head.
        unsafe { self.queue.drop_all(&self.head) };
        let home = self.home.get_mut().map_addr(|a| a & !MOVABLE);
        if !home.is_null() {
            // SAFETY: set by `set_home` from `Arc::into_raw`; this is the count it owns.
            drop(unsafe { Arc::from_raw(home) });
        }
    }
}

impl ProcessCore {
    pub(crate) fn new(
        id: u64,
        meta: &'static ProcessMeta,
        stack_size: usize,
        body: Box<dyn Activation>,
    ) -> ProcessCore {
        ProcessCore {
            id,
            state: SchedState::new_queued(),
            queue: Queue::new(),
            head: Head::new(),
            sent: AtomicU32::new(0),
            taken: AtomicU32::new(0),
            meta,
            current: AtomicPtr::new(std::ptr::null_mut()),
            home: AtomicPtr::new(std::ptr::null_mut()),
            body: UnsafeCell::new(Body::Ready(body)),
            local: UnsafeCell::new(Local {
                private: PrivateQueue::default(),
                wait: NOT_WAITING,
                armed: NO_TIMER,
                exit: None,
            }),
            reductions: AtomicU64::new(0),
            trap_exit: AtomicBool::new(false),
            named: AtomicBool::new(false),
            exiting: AtomicBool::new(false),
            stack_size: u32::try_from(stack_size).unwrap_or(u32::MAX),
            stack: AtomicUsize::new(0),
            table_slot: AtomicU32::new(u32::MAX),
            relations: RelationsSlot::new(),
        }
    }

    /// The thread-owned part.
    ///
    /// # Safety
    ///
    /// The caller must be the thread that currently owns the process (module docs), and must not
    /// keep the reference across a context switch or while another reference from `local` lives.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn local(&self) -> &mut Local {
        // SAFETY: exclusivity is the caller's contract.
        unsafe { &mut *self.local.get() }
    }

    /// The process's body.
    ///
    /// # Safety
    ///
    /// Only the scheduler that owns the process may call this (it dequeued it and has not
    /// parked or requeued it since), and never from process code.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn body(&self) -> &mut Body {
        // SAFETY: exclusivity is the caller's contract.
        unsafe { &mut *self.body.get() }
    }
}

/// Sending: these need the counted reference (a woken process is queued through it).
impl CoreRef {
    // ===== sending =====

    /// Enqueues a user message. Callable from any thread. Returns false if the process had
    /// already exited (then nobody will ever read the message; it is dropped with the record).
    /// True means the process either reads it or drops it when it exits, with its exit reason
    /// known to destructors (`dying`).
    #[inline]
    pub(crate) fn send_user<M: Send + 'static>(&self, msg: M) -> bool {
        debug_assert_eq!((self.meta.type_id)(), TypeId::of::<M>());
        self.push(Node::alloc(TAG_USER, msg))
    }

    /// Enqueues a signal. Callable from any thread.
    pub(crate) fn send_signal(&self, signal: Signal) {
        self.push(Node::alloc(TAG_SIGNAL, signal));
    }

    #[inline]
    fn push(&self, node: NonNull<Header>) -> bool {
        self.sent.fetch_add(1, Relaxed);
        self.queue.push(node);
        self.wake()
    }

    /// Makes the process look at its mailbox and reply slots again: queues it if it was parked.
    /// Whatever the waker published before this call (a message, a reply) is seen by the
    /// process when it next runs (the scheduling protocol in `state`). Callable from any thread.
    /// Returns false if the process had exited.
    #[inline]
    pub(crate) fn wake(&self) -> bool {
        match self.state.notify() {
            Notify::Enqueue => {
                // SAFETY: `Enqueue` means the process was parked, so it has not exited and the
                // process table still holds it.
                unsafe { crate::runtime::scheduler::schedule(self) };
                true
            }
            Notify::Nothing => true,
            Notify::Exited => false,
        }
    }
}

impl ProcessCore {
    /// Messages waiting (shared queue + private queue). A snapshot.
    pub(crate) fn message_queue_len(&self) -> usize {
        self.sent
            .load(Relaxed)
            .wrapping_sub(self.taken.load(Relaxed)) as usize
    }

    // ===== the process's own side =====

    /// Moves everything from the shared queue into the private one, acting on signals, then
    /// unwinds if the process must exit. Must be called by the process itself (on its stack).
    pub(crate) fn safepoint(&self) {
        self.drain();
        // Already unwinding (a destructor calling the runtime during an exit): raising again
        // inside a destructor would abort; the exit is under way anyway. `check_exit` skips it.
        self.check_exit();
    }

    /// Takes everything off the shared queue into the private one. Owner thread only.
    pub(crate) fn drain(&self) {
        loop {
            match self.next_incoming() {
                // SAFETY: owner thread, short borrow.
                Incoming::Message(node) => unsafe { self.local() }.private.push_back(node),
                Incoming::Signal => {}
                Incoming::Empty => return,
            }
        }
    }

    /// Takes the next node off the shared queue: a message for the caller to place, or a
    /// signal, acted on here (which may queue a system message or mark the process exiting).
    /// Owner thread only.
    #[inline]
    pub(crate) fn next_incoming(&self) -> Incoming {
        // SAFETY: only the owning thread takes from the queue (caller's contract), so we are the
        // single consumer.
        let node = match unsafe { self.queue.pop(&self.head) } {
            Pop::Node(n) => n,
            Pop::Empty | Pop::Busy => return Incoming::Empty,
        };
        // SAFETY: popped, so we own the node; nodes with TAG_SIGNAL are `Node<Signal>`.
        if unsafe { node.as_ref() }.tag == TAG_SIGNAL {
            self.handle_signal(node);
            Incoming::Signal
        } else {
            Incoming::Message(node)
        }
    }

    /// Unwinds if the process must exit (and is not already unwinding). Owner thread only.
    #[inline]
    pub(crate) fn check_exit(&self) {
        // SAFETY: owner thread, short borrow.
        if unsafe { self.local() }.exit.is_some() {
            self.exit_now();
        }
    }

    /// The rare half of [`check_exit`](Self::check_exit), out of line so that the check itself
    /// stays a load and a branch in every receive.
    #[cold]
    #[inline(never)]
    fn exit_now(&self) {
        // SAFETY: owner thread, short borrow.
        let reason = match &unsafe { self.local() }.exit {
            Some(reason) if !std::thread::panicking() => (**reason).clone(),
            _ => return,
        };
        exit_unwind(reason);
    }

    /// Acts on a signal taken off the queue. Out of line (signals are rare next to messages),
    /// so that `next_incoming` inlines into every receive.
    #[cold]
    #[inline(never)]
    fn handle_signal(&self, node: NonNull<Header>) {
        // SAFETY: the node is a `Node<Signal>` we own (see `drain`).
        let signal = unsafe { Node::<Signal>::value(node) };
        let trapping = self.trap_exit.load(Relaxed);
        let outcome = match signal {
            // A link's signal counts only while the link stands (`unlink` may have removed it),
            // and it ends the link.
            Signal::Exit {
                from, linked: true, ..
            } if !self.remove_link(from) => SignalOutcome::Ignore,
            Signal::Exit {
                from,
                reason,
                linked,
            } => exit_outcome(self.id, trapping, from, reason, *linked),
            // Likewise a DOWN only for a monitor still held.
            Signal::Down { reference, .. } => {
                if self.remove_monitor(*reference).is_some() {
                    SignalOutcome::Deliver
                } else {
                    SignalOutcome::Ignore
                }
            }
        };
        // SAFETY: owner thread, short borrow.
        let local = unsafe { self.local() };
        match outcome {
            SignalOutcome::Deliver => {
                // The signal becomes a message (`EXIT`), in arrival order.
                // SAFETY: we own the node; the tag says how the receiver reads it, its type
                // (`Node<Signal>`) is unchanged.
                unsafe { (*node.as_ptr()).tag = TAG_SYSTEM };
                local.private.push_back(node);
            }
            SignalOutcome::Ignore => {
                self.mark_taken();
                // SAFETY: we own the node; `signal` is no longer used.
                unsafe { queue::drop_node(node) };
            }
            SignalOutcome::Die(reason) => {
                self.mark_taken();
                // SAFETY: as above.
                unsafe { queue::drop_node(node) };
                local.exit.get_or_insert(Box::new(reason));
            }
        }
    }

    /// Appends a signal to the private queue as a message (an `EXIT` or `DOWN` the process
    /// produces for itself). Owner thread only.
    pub(crate) fn push_system_message(&self, signal: Signal) {
        self.sent.fetch_add(1, Relaxed);
        // SAFETY: owner thread (caller's contract), short borrow.
        unsafe { self.local() }
            .private
            .push_back(Node::alloc(TAG_SYSTEM, signal));
    }

    /// Removes the first system message for which `pick` is true. Owner thread only.
    pub(crate) fn remove_system_message(&self, pick: impl FnMut(&Signal) -> bool) -> bool {
        self.take_system_message(pick).is_some()
    }

    /// Takes the first system message for which `pick` is true. Owner thread only.
    pub(crate) fn take_system_message(
        &self,
        mut pick: impl FnMut(&Signal) -> bool,
    ) -> Option<Signal> {
        let mut index = 0;
        loop {
            // SAFETY: owner thread, short borrow.
            let node = unsafe { self.local() }.private.get(index)?;
            // SAFETY: we own the nodes in the private queue; system nodes are `Node<Signal>`.
            let is_system = unsafe { node.as_ref() }.tag == TAG_SYSTEM;
            // SAFETY: as above.
            if is_system && pick(unsafe { Node::<Signal>::value(node) }) {
                // SAFETY: owner thread, short borrow.
                unsafe { self.local() }.private.remove(index, node);
                self.mark_taken();
                // SAFETY: out of the queue, so we own it alone; system nodes are
                // `Node<Signal>`.
                return Some(unsafe { Node::<Signal>::take(node) });
            }
            index += 1;
        }
    }

    /// Counts one message as received (it left the private queue).
    #[inline]
    pub(crate) fn mark_taken(&self) {
        // Only the owner writes `taken`: load + store instead of a locked add.
        self.taken
            .store(self.taken.load(Relaxed).wrapping_add(1), Relaxed);
    }

    /// Frees every queued message. Called once, at exit, on the owner thread.
    pub(crate) fn discard_mailbox(&self) {
        // SAFETY: exit path on the owner thread.
        let private = unsafe { self.local() }.private.take_all();
        for node in private {
            // SAFETY: nodes in the private queue are owned by the process.
            unsafe { queue::drop_node(node) };
        }
        loop {
            // SAFETY: single consumer (owner thread).
            match unsafe { self.queue.pop(&self.head) } {
                // SAFETY: popped, so owned.
                Pop::Node(n) => unsafe { queue::drop_node(n) },
                Pop::Empty => break,
                // A producer is between its two steps. It saw us alive (the state was not
                // yet EXITED when it notified), so its message, and any behind it, must be
                // dropped here, with the exit reason known: wait for it to link.
                Pop::Busy => std::thread::yield_now(),
            }
        }
    }

    /// Whether the process has not exited yet.
    pub(crate) fn is_alive(&self) -> bool {
        self.state.load() & !crate::process::state::NOTIFIED != crate::process::state::EXITED
            && !self.exiting.load(Acquire)
    }

    /// Pins the process to `home` for the activation that starts now. Called by the scheduler
    /// that gives the process a stack (it owns the process).
    pub(crate) fn set_home(&self, home: &Arc<SchedulerShared>) {
        let old = self.home.load(Relaxed);
        if std::ptr::eq(old.map_addr(|a| a & !MOVABLE), Arc::as_ptr(home)) {
            // Back on the scheduler it last ran on: keep the count, drop the tag.
            self.home.store(old.map_addr(|a| a & !MOVABLE), Release);
            return;
        }
        let raw = Arc::into_raw(home.clone()).cast_mut();
        self.home.store(raw, Release);
        let old = old.map_addr(|a| a & !MOVABLE);
        if !old.is_null() {
            // SAFETY: a non-null `home` always came from `Arc::into_raw` and the record holds
            // its count; nobody else can read the old value as untagged any more (we replaced
            // it, and only the owner writes).
            drop(unsafe { Arc::from_raw(old) });
        }
    }

    /// The activation ended and the stack went back to the pool: the process may move.
    /// Called by the scheduler that owns it.
    pub(crate) fn unpin(&self) {
        // SAFETY: the caller owns the process (it is the scheduler ending its activation).
        // A wait timer still in this scheduler's wheel is ignored from now on (the process is
        // not pinned here), so the next activation must arm its own.
        unsafe { self.local() }.armed = NO_TIMER;
        let home = self.home.load(Relaxed);
        self.home.store(home.map_addr(|a| a | MOVABLE), Release);
        self.stack.store(0, Release);
    }

    /// Where a woken process goes; `None` if it never ran (then it is never parked).
    #[inline]
    pub(crate) fn placement(&self) -> Option<Placement<'_>> {
        let home = self.home.load(Acquire);
        let movable = home.addr() & MOVABLE != 0;
        // SAFETY: non-null only after `set_home`, and the count the record owns keeps that
        // scheduler alive. Callers hold the right to enqueue the process (`Notify::Enqueue`):
        // it is parked, so no owner is replacing (and releasing) `home` meanwhile.
        let s = unsafe { home.map_addr(|a| a & !MOVABLE).as_ref() }?;
        Some(if movable {
            Placement::Movable(s)
        } else {
            Placement::Pinned(s)
        })
    }

    /// Whether the process has a live coroutine on `s`. Read by `s`'s own thread, this is
    /// exact: only `s` pins a process to `s` and only `s` unpins it from there.
    pub(crate) fn is_pinned_to(&self, s: &SchedulerShared) -> bool {
        std::ptr::eq(self.home.load(Acquire), s)
    }

    /// Publishes the process's stack.
    pub(crate) fn set_stack(&self, probe: StackProbe) {
        self.stack.store(probe.to_word(), Release);
    }

    /// The process's stack, if it has one.
    #[inline]
    pub(crate) fn stack(&self) -> Option<StackProbe> {
        StackProbe::from_word(self.stack.load(Acquire))
    }

    /// Records where the process is blocked (for `process::info`).
    #[inline]
    pub(crate) fn set_current(&self, at: Option<&'static Location<'static>>) {
        let p = at.map_or(std::ptr::null_mut(), |l| std::ptr::from_ref(l).cast_mut());
        self.current.store(p, Release);
    }
}

/// What receiving a signal does to a process.
#[derive(Debug, PartialEq)]
enum SignalOutcome {
    /// It becomes a message in the mailbox.
    Deliver,
    /// Nothing.
    Ignore,
    /// The process exits with this reason.
    Die(ExitReason),
}

/// The BEAM's exit-signal rules (`spec/semantics.md` 3.4).
fn exit_outcome(
    me: u64,
    trapping: bool,
    from: &AnyPid,
    reason: &ExitReason,
    linked: bool,
) -> SignalOutcome {
    match reason {
        // `Process.exit(pid, :kill)` is untrappable and turns into `:killed`.
        ExitReason::Kill if !linked => SignalOutcome::Die(ExitReason::Killed),
        _ if trapping => SignalOutcome::Deliver,
        // `:normal` never kills another process; only a process sending it to itself.
        ExitReason::Normal if from.core().id == me => SignalOutcome::Die(ExitReason::Normal),
        ExitReason::Normal => SignalOutcome::Ignore,
        other => SignalOutcome::Die(other.clone()),
    }
}

/// The panic payload that unwinds a process that must exit. Never seen by users unless they
/// `catch_unwind` inside a process, in which case the exit resumes at the next runtime call.
pub(crate) struct ExitUnwind;

/// Unwinds the current process's stack up to its entry point, running destructors, which can
/// learn `reason` from [`dying`](crate::process::dying).
pub(crate) fn exit_unwind(reason: ExitReason) -> ! {
    crate::process::dying::set_unwinding(reason);
    std::panic::resume_unwind(Box::new(ExitUnwind))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle raw process costs its record plus one stack page; keep the record small.
    #[test]
    fn record_stays_small() {
        let size = std::mem::size_of::<ProcessCore>();
        assert!(
            size <= 152,
            "ProcessCore grew to {size} bytes (an idle process must stay within 4.3 KB)"
        );
    }

    /// Sets its flag when dropped.
    struct Dropped(std::rc::Rc<std::cell::Cell<bool>>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    const SENTINEL: usize = 0x5eed_0010;

    /// A coroutine that holds a `Dropped` across one suspension, then returns.
    fn suspended_once(flag: &std::rc::Rc<std::cell::Cell<bool>>) -> (Running, NonNull<u8>, usize) {
        let stack = crate::runtime::stack::StackPool::new()
            .get(16 * 1024)
            .unwrap();
        let (reserve, base) = (stack.top_reserve(), stack.base_addr());
        let guard = Dropped(flag.clone());
        let mut co = Co::with_stack(stack, move |y: &ProcessYielder, ()| {
            let _guard = guard;
            y.suspend(Suspend::Wait);
            Outcome::Exit(ExitReason::Normal)
        });
        assert!(co.resume(()).as_yield().is_some());
        // A recognisable yielder value, to see that running the coroutine leaves it alone.
        let run = Running {
            co,
            yielder: SENTINEL as *const ProcessYielder,
        };
        (run, reserve, base)
    }

    #[test]
    fn a_started_activation_lives_in_its_stacks_top_reserve() {
        let flag = std::rc::Rc::new(std::cell::Cell::new(false));
        let (run, reserve, base) = suspended_once(&flag);
        // SAFETY: `reserve` is the top reserve of the stack `run.co` owns.
        let mut started = unsafe { StartedRef::place(reserve, run) };
        let at = &*started as *const Running as usize;
        assert_eq!(
            at, base,
            "the Running sits just above the coroutine's stack base"
        );
        assert!(at + std::mem::size_of::<Running>() <= base + TOP_RESERVE);
        // Resuming the coroutine (its frames are below `base`) leaves the Running intact.
        assert!(started.co.resume(()).as_return().is_some());
        assert!(flag.get());
        assert_eq!(started.yielder as usize, SENTINEL);
        let stack = started.into_inner().co.into_stack();
        assert_eq!(stack.base_addr(), base);
    }

    #[test]
    fn dropping_a_started_activation_unwinds_its_coroutine() {
        let flag = std::rc::Rc::new(std::cell::Cell::new(false));
        let (run, reserve, _) = suspended_once(&flag);
        // SAFETY: as above.
        let started = unsafe { StartedRef::place(reserve, run) };
        assert!(!flag.get());
        drop(started);
        assert!(flag.get(), "the suspended frames were unwound");
    }
}
