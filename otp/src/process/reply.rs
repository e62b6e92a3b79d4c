//! Reply slots: how a `call`'s answer reaches its caller without going through its mailbox.
//!
//! A caller allocates a [`Slot`], keeps the [`Waiter`] half and sends the [`Promise`] half with
//! its request. The promise is settled exactly once: by the first [`Promise::fulfil`] with the
//! reply, or, when the last of its clones is dropped unfulfilled, with the reason it was broken
//! ([`Broken`]): the exit reason of the process that dropped it, if that process is dying (see
//! [`dying`]), or nothing if a live process just let it go. (A server keeps one clone while its
//! handler holds another, so a handler that returns a reply never breaks the promise by
//! dropping its copy first.)
//!
//! Keeping the promise writes the value, publishes it with one release store, and wakes the
//! caller through the scheduling word (the same protocol a message push uses, without a queue
//! node), so the caller's wake-up cannot be lost and its wait costs O(1) however many messages
//! sit in its mailbox. The BEAM needs a compiler trick (the receive-marker optimisation) for the
//! same property.
//!
//! A reply that arrives after the caller gave up (timeout) lands in a slot nobody reads and is
//! dropped with it.

use std::{
    cell::UnsafeCell,
    fmt,
    mem::MaybeUninit,
    panic::Location,
    sync::{
        atomic::{
            AtomicU8, AtomicUsize,
            Ordering::{AcqRel, Acquire, Relaxed, Release},
        },
        Arc,
    },
    time::Instant,
};

use crate::{
    mailbox,
    process::{core::ProcessCore, dying, exit::ExitReason},
    runtime::{budget, context},
};

const EMPTY: u8 = 0;
/// A promise holder won the right to write and is writing.
const WRITING: u8 = 1;
const FULL: u8 = 2;
const TAKEN: u8 = 3;

/// Why a promise was not kept: the exit reason of the process that held it, if it died holding
/// it; `None` if a live process dropped it.
pub(crate) type Broken = Option<ExitReason>;

/// One answer, written once by a promise holder, read once by the waiter.
pub(crate) struct Slot<T> {
    state: AtomicU8,
    /// Live [`Promise`] handles. The last one to go breaks the promise if nobody kept it.
    holders: AtomicUsize,
    value: UnsafeCell<MaybeUninit<Result<T, Broken>>>,
    waiter: Arc<ProcessCore>,
}

// SAFETY: the value is written by one thread (the holder that wins `EMPTY -> WRITING`, once)
// and read by one thread (the waiter, after an acquire load sees FULL); `T: Send` is what moving
// it across threads needs. No `&T` is ever shared.
unsafe impl<T: Send> Send for Slot<T> {}
// SAFETY: as above; the shared parts are atomics and an `Arc<ProcessCore>` (Sync).
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        if *self.state.get_mut() == FULL {
            // SAFETY: FULL means the value was written and not taken; we are the last owner.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

/// Creates a slot whose answer wakes the calling process.
///
/// # Panics
///
/// Outside a process.
#[track_caller]
pub(crate) fn slot<T>(what: &str) -> (Promise<T>, Waiter<T>) {
    let slot = Arc::new(Slot {
        state: AtomicU8::new(EMPTY),
        holders: AtomicUsize::new(1),
        value: UnsafeCell::new(MaybeUninit::uninit()),
        waiter: context::expect_process(what),
    });
    (Promise(slot.clone()), Waiter(slot))
}

/// The writing half. Clones share the promise: the first to [`fulfil`](Promise::fulfil) it
/// wins, and when the last clone is dropped unfulfilled, the promise is broken.
pub(crate) struct Promise<T>(Arc<Slot<T>>);

impl<T> Promise<T> {
    /// Keeps the promise: the waiter gets `value` (unless it gave up). Returns false, dropping
    /// `value`, if the promise had already been kept (or broken).
    pub(crate) fn fulfil(&self, value: T) -> bool {
        complete(&self.0, Ok(value))
    }

    /// The process that waits on this promise.
    pub(crate) fn waiter(&self) -> &Arc<ProcessCore> {
        &self.0.waiter
    }

    /// Whether the promise has been kept or broken.
    pub(crate) fn is_done(&self) -> bool {
        self.0.state.load(Acquire) != EMPTY
    }
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        self.0.holders.fetch_add(1, Relaxed);
        Promise(self.0.clone())
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        if self.0.holders.fetch_sub(1, AcqRel) == 1 && self.0.state.load(Relaxed) == EMPTY {
            complete(&self.0, Err(dying::reason()));
        }
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Promise(<0.{}.0>)", self.0.waiter.id)
    }
}

/// Writes the answer if nobody has; wakes the waiter. Returns whether this call wrote it.
fn complete<T>(slot: &Slot<T>, value: Result<T, Broken>) -> bool {
    if slot
        .state
        .compare_exchange(EMPTY, WRITING, Acquire, Relaxed)
        .is_err()
    {
        return false;
    }
    // SAFETY: winning EMPTY -> WRITING gives this thread the only right to write, once; the
    // waiter reads only after seeing FULL, which is stored below, after the write.
    unsafe { (*slot.value.get()).write(value) };
    slot.state.store(FULL, Release);
    slot.waiter.wake();
    true
}

/// The reading half, held by the waiting process.
pub(crate) struct Waiter<T>(Arc<Slot<T>>);

impl<T> fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Waiter(<0.{}.0>)", self.0.waiter.id)
    }
}

impl<T> Waiter<T> {
    /// The answer, if it has come.
    pub(crate) fn try_take(&self) -> Option<Result<T, Broken>> {
        if self.0.state.load(Acquire) != FULL {
            return None;
        }
        self.0.state.store(TAKEN, Relaxed);
        // SAFETY: FULL was published with release after the write (acquired above), and only
        // this waiter takes, once: the state is TAKEN from now on, so `Slot::drop` won't drop it
        // again.
        Some(unsafe { (*self.0.value.get()).assume_init_read() })
    }

    /// Waits for the answer until `deadline` (`None`: forever). Runs the caller's safe points
    /// meanwhile (an exit signal still ends it). `None` if the deadline passed first.
    ///
    /// Must be called by the process that created the slot.
    pub(crate) fn wait(
        &self,
        deadline: Option<Instant>,
        at: &'static Location<'static>,
    ) -> Option<Result<T, Broken>> {
        let core = &self.0.waiter;
        debug_assert!(std::ptr::eq(context::current_raw(), Arc::as_ptr(core)));
        budget::consume(1);
        // The deadline was set just before the request went out: the clock need not be read
        // before the first wait.
        let mut first = true;
        loop {
            core.safepoint();
            if let Some(answer) = self.try_take() {
                core.set_current(None);
                return Some(answer);
            }
            if !first && deadline.is_some_and(|d| Instant::now() >= d) {
                core.set_current(None);
                return None;
            }
            first = false;
            mailbox::wait(core, deadline, at);
        }
    }
}
