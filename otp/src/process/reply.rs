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
    alloc::Layout,
    cell::UnsafeCell,
    fmt,
    mem::MaybeUninit,
    panic::Location,
    pin::Pin,
    ptr::{self, NonNull},
    sync::atomic::{
        AtomicU8,
        Ordering::{Acquire, Relaxed, Release},
    },
};

use crate::process::core_ref::CoreRef;
use crate::{
    loom::{fence, AtomicUsize},
    mailbox::{self, node_cache},
    process::{dying, exit::ExitReason},
    runtime::{budget, context, timer::Deadline},
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
    holders: SoleCount,
    /// Owners of the slot's memory: the [`Waiter`], and the promises together (one reference
    /// for all of them, given up by the last). Whoever takes it to zero frees the slot.
    owners: SoleCount,
    value: UnsafeCell<MaybeUninit<Result<T, Broken>>>,
    waiter: CoreRef,
}

// SAFETY: the value is written by one thread (the holder that wins `EMPTY -> WRITING`, once)
// and read by one thread (the waiter, after an acquire load sees FULL); `T: Send` is what moving
// it across threads needs. No `&T` is ever shared.
unsafe impl<T: Send> Send for Slot<T> {}
// SAFETY: as above; the shared parts are atomics and an `CoreRef` (Sync).
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        if *self.state.get_mut() == FULL {
            // SAFETY: FULL means the value was written and not taken; we are the last owner.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

/// A reference count that only its counted parties change, each holding one reference: so a
/// party that reads 1 is the only one left, and nobody can change the count under it.
///
/// That makes the common cases plain loads and stores instead of locked read-modify-writes
/// (about 20 cycles each): a server's copy of a fresh `From` (the count is 1, the server's,
/// and the server holds that `From` by value: [`SoleCount::add_exclusive`]), the last
/// holder's drop, and the second owner's release after the first is gone (drops own their
/// reference exclusively). Arc's
/// `get_mut` rests on the same fact. The acquire load of 1 synchronises with the release
/// decrement of the party that left, so what it did to the slot happens before what the
/// remaining one does. Model-checked below (`loom_sole_count`).
pub(crate) struct SoleCount(AtomicUsize);

impl SoleCount {
    pub(crate) fn new(n: usize) -> SoleCount {
        SoleCount(AtomicUsize::new(n))
    }

    /// One more reference, made by a party that holds one and may share it with other threads
    /// (a `&Promise` can be shared): always a locked increment.
    pub(crate) fn add(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    /// One more reference, made by a party that holds one **exclusively** (no other thread can
    /// use the same reference meanwhile, as `&mut` guarantees): if the count is 1, that party
    /// is the only one, and nobody can add or release under it, so a plain store will do.
    /// (Through a shared reference two threads could both read 1 and both store 2.)
    pub(crate) fn add_exclusive(&self) {
        if self.0.load(Acquire) == 1 {
            self.0.store(2, Relaxed);
        } else {
            self.0.fetch_add(1, Relaxed);
        }
    }

    /// Gives up the caller's reference; true if it was the last one.
    pub(crate) fn release(&self) -> bool {
        if self.0.load(Acquire) == 1 {
            // The only reference left is ours: nothing to decrement for anyone to see.
            return true;
        }
        if self.0.fetch_sub(1, Release) != 1 {
            return false;
        }
        // Whatever the other parties did before their release happens before ours (Arc's
        // protocol).
        fence(Acquire);
        true
    }
}

/// Creates a slot whose answer wakes the calling process.
///
/// The slot is one block from the per-thread node cache (`mailbox::node_cache`), not an `Arc`:
/// a `call` makes one per request, and the malloc/free pair was about a tenth of a call's
/// instructions.
///
/// # Panics
///
/// Outside a process.
#[track_caller]
pub(crate) fn slot<T>(what: &str) -> (Promise<T>, Waiter<T>) {
    slot_for(context::expect_process(what))
}

/// [`slot`] for `waiter`, which must be the calling process.
pub(crate) fn slot_for<T>(waiter: CoreRef) -> (Promise<T>, Waiter<T>) {
    debug_assert!(std::ptr::eq(
        context::current_raw(),
        CoreRef::as_ptr(&waiter)
    ));
    let block = node_cache::alloc(Layout::new::<Slot<T>>()).cast::<Slot<T>>();
    // SAFETY: `block` is fresh memory with `Slot<T>`'s layout, ours alone until we hand out the
    // two owners below.
    unsafe {
        block.as_ptr().write(Slot {
            state: AtomicU8::new(EMPTY),
            holders: SoleCount::new(1),
            owners: SoleCount::new(2),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            waiter,
        })
    };
    (Promise(block), Waiter(block))
}

/// Gives up one owner's reference to `slot`; the last one drops and frees it.
///
/// # Safety
///
/// The caller owns one reference (the waiter's, or the promises' shared one) and does not use
/// `slot` afterwards.
unsafe fn release<T>(slot: NonNull<Slot<T>>) {
    // SAFETY: the caller's reference keeps the slot alive until it is given up here.
    if !unsafe { slot.as_ref() }.owners.release() {
        return;
    }
    // SAFETY: the last owner: no other reference exists. The block came from
    // `node_cache::alloc` with this layout in `slot`.
    unsafe {
        ptr::drop_in_place(slot.as_ptr());
        node_cache::free(slot.cast(), Layout::new::<Slot<T>>());
    }
}

/// The writing half. Clones share the promise: the first to [`fulfil`](Promise::fulfil) it
/// wins, and when the last clone is dropped unfulfilled, the promise is broken.
pub(crate) struct Promise<T>(NonNull<Slot<T>>);

// SAFETY: a promise is a shared handle to a `Slot<T>`, which is Send + Sync for `T: Send`; the
// memory is freed only by the last owner (`release`).
unsafe impl<T: Send> Send for Promise<T> {}
// SAFETY: as above; `&Promise` only reaches the slot's atomics and its waiter.
unsafe impl<T: Send> Sync for Promise<T> {}

impl<T> Promise<T> {
    fn slot(&self) -> &Slot<T> {
        // SAFETY: the promises' shared owner reference keeps the slot alive while any promise
        // exists.
        unsafe { self.0.as_ref() }
    }

    /// Keeps the promise: the waiter gets `value` (unless it gave up). Returns false, dropping
    /// `value`, if the promise had already been kept (or broken).
    pub(crate) fn fulfil(&self, value: T) -> bool {
        complete(self.slot(), Ok(value))
    }

    /// The process that waits on this promise.
    pub(crate) fn waiter(&self) -> &CoreRef {
        &self.slot().waiter
    }

    /// Whether the promise has been kept or broken.
    pub(crate) fn is_done(&self) -> bool {
        self.slot().state.load(Acquire) != EMPTY
    }
}

impl<T> Promise<T> {
    /// A second handle, made from one the caller holds exclusively (`&mut`): the cheap
    /// [`SoleCount::add_exclusive`], for the server's own copy of each call's `From`.
    pub(crate) fn split(&mut self) -> Promise<T> {
        self.slot().holders.add_exclusive();
        Promise(self.0)
    }
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        self.slot().holders.add();
        Promise(self.0)
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        let slot = self.slot();
        if !slot.holders.release() {
            return;
        }
        if slot.state.load(Relaxed) == EMPTY {
            complete(slot, Err(dying::reason()));
        }
        // SAFETY: the last promise gives up the promises' owner reference, once.
        unsafe { release(self.0) };
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Promise(<0.{}.0>)", self.slot().waiter.id)
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
pub(crate) struct Waiter<T>(NonNull<Slot<T>>);

// SAFETY: as for `Promise`: a shared handle to a Send + Sync slot, freed by its last owner.
unsafe impl<T: Send> Send for Waiter<T> {}
// SAFETY: as above; `&Waiter` only reaches the slot's atomics (taking needs the waiting process).
unsafe impl<T: Send> Sync for Waiter<T> {}

impl<T> Drop for Waiter<T> {
    fn drop(&mut self) {
        // SAFETY: the waiter's owner reference, given up once.
        unsafe { release(self.0) };
    }
}

impl<T> fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Waiter(<0.{}.0>)", self.slot().waiter.id)
    }
}

impl<T> Waiter<T> {
    fn slot(&self) -> &Slot<T> {
        // SAFETY: the waiter's owner reference keeps the slot alive while it exists.
        unsafe { self.0.as_ref() }
    }

    /// The answer, if it has come.
    pub(crate) fn try_take(&self) -> Option<Result<T, Broken>> {
        let slot = self.slot();
        if slot.state.load(Acquire) != FULL {
            return None;
        }
        slot.state.store(TAKEN, Relaxed);
        // SAFETY: FULL was published with release after the write (acquired above), and only
        // this waiter takes, once: the state is TAKEN from now on, so `Slot::drop` won't drop it
        // again.
        Some(unsafe { (*slot.value.get()).assume_init_read() })
    }

    /// Waits for the answer until `deadline`. Runs the caller's safe points meanwhile (an exit
    /// signal still ends it). `None` if the deadline passed first.
    ///
    /// Must be called by the process that created the slot.
    pub(crate) fn wait(
        &self,
        deadline: Pin<&Deadline>,
        at: &'static Location<'static>,
    ) -> Option<Result<T, Broken>> {
        let core = &self.slot().waiter;
        debug_assert!(std::ptr::eq(context::current_raw(), CoreRef::as_ptr(core)));
        budget::consume(1);
        // The deadline was made just before the request went out: the clock need not be read
        // before the first wait.
        let mut first = true;
        loop {
            core.safepoint();
            if let Some(answer) = self.try_take() {
                core.set_current(None);
                return Some(answer);
            }
            if !first && deadline.passed() {
                core.set_current(None);
                return None;
            }
            first = false;
            mailbox::wait(core, deadline, at);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use loom::{
        cell::UnsafeCell,
        sync::{atomic::AtomicUsize, Arc},
        thread,
    };

    use super::SoleCount;

    /// Two owners on two threads, each writing its own part of the shared memory before it
    /// lets go: exactly one is last, and the last one sees both writes (it frees the memory).
    #[test]
    fn loom_sole_count_two_owners() {
        loom::model(|| {
            let count = Arc::new(SoleCount::new(2));
            let parts = Arc::new([UnsafeCell::new(0u32), UnsafeCell::new(0u32)]);
            let lasts = Arc::new(AtomicUsize::new(0));
            let owner = |me: usize| {
                let (count, parts, lasts) = (count.clone(), parts.clone(), lasts.clone());
                move || {
                    // SAFETY (model): each owner writes only its part, before it releases;
                    // only the last reads, after both releases.
                    parts[me].with_mut(|p| unsafe { *p = 1 });
                    if count.release() {
                        lasts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        for part in parts.iter() {
                            part.with(|p| assert_eq!(unsafe { *p }, 1));
                        }
                    }
                }
            };
            let other = thread::spawn(owner(1));
            owner(0)();
            other.join().unwrap();
            assert_eq!(lasts.load(std::sync::atomic::Ordering::Relaxed), 1);
        });
    }

    /// A holder clones (the fast path: it is alone), hands the clone to another thread, and
    /// both let go; a third reference is added meanwhile on the other side: exactly one last.
    #[test]
    fn loom_sole_count_clone_and_release() {
        loom::model(|| {
            let count = Arc::new(SoleCount::new(1));
            count.add_exclusive();
            let lasts = Arc::new(AtomicUsize::new(0));
            let other = {
                let (count, lasts) = (count.clone(), lasts.clone());
                thread::spawn(move || {
                    count.add();
                    if count.release() {
                        lasts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    if count.release() {
                        lasts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
            };
            if count.release() {
                lasts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            other.join().unwrap();
            assert_eq!(lasts.load(std::sync::atomic::Ordering::Relaxed), 1);
        });
    }

    /// Two threads clone through one shared handle (a `&From` shared across threads), then
    /// each drops its clone, and the shared handle is dropped last: exactly one last. (A plain
    /// store in `add` would let both read 1 and both store 2, and the count would reach its
    /// last with a handle still alive.)
    #[test]
    fn loom_sole_count_shared_handle_clones() {
        loom::model(|| {
            let count = Arc::new(SoleCount::new(1));
            let lasts = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let (count, lasts) = (count.clone(), lasts.clone());
                    thread::spawn(move || {
                        count.add();
                        if count.release() {
                            lasts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            if count.release() {
                lasts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            assert_eq!(lasts.load(std::sync::atomic::Ordering::Relaxed), 1);
        });
    }
}
