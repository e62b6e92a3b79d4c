//! Mailboxes and `receive`: typed messages, selective receive, timeouts.
//!
//! Every process has one incoming queue (lock-free, any thread pushes) holding user
//! messages and signals in arrival order. When the process looks at its mailbox, it first moves
//! everything that arrived into a private queue, acting on signals as it goes (an exit signal
//! kills it; a trapped one becomes an `EXIT` message at its place in the order). Receiving then
//! scans the private queue **oldest first** and takes the first message that any of the
//! caller's clauses accepts, leaving the others where they are, in order: the BEAM's selective
//! receive. A receive that found nothing remembers how far it scanned, so after a wake-up it only
//! looks at what is new.
//!
//! Timeouts (`after`) are deadlines fixed when the receive starts: messages that arrive and do
//! not match never push them back. A zero timeout polls.

pub(crate) mod node_cache;
pub(crate) mod queue;
mod term;

use std::{
    marker::PhantomData,
    mem::ManuallyDrop,
    panic::Location,
    pin::{pin, Pin},
    ptr::NonNull,
    time::{Duration, Instant},
};

use self::queue::{Header, Node};
pub use self::term::Term;
use crate::process::core_ref::CoreRef;
use crate::{
    process::{
        core::{
            Incoming, ProcessCore, Signal, Suspend, NOT_WAITING, TAG_SYSTEM, TAG_USER,
            WAIT_FOREVER, WAIT_PENDING,
        },
        exit::ExitReason,
        pid::{AnyPid, Pid},
        reference::Ref,
    },
    runtime::{
        budget, context, switch,
        timer::{Deadline, When},
    },
};

/// How long a receive may wait.
///
/// ```
/// use std::time::Duration;
/// use otp::Timeout;
///
/// assert_eq!(Timeout::from(Duration::from_millis(5)), Timeout::After(Duration::from_millis(5)));
/// assert_eq!(Timeout::from(None::<Duration>), Timeout::Infinity);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Wait as long as it takes (`:infinity`).
    Infinity,
    /// Give up after this long; `Duration::ZERO` only looks (`after 0`).
    After(Duration),
}

impl From<Duration> for Timeout {
    fn from(d: Duration) -> Timeout {
        Timeout::After(d)
    }
}

impl From<Option<Duration>> for Timeout {
    fn from(d: Option<Duration>) -> Timeout {
        d.map_or(Timeout::Infinity, Timeout::After)
    }
}

/// What a mailbox can hold: a message of the process's type, or a system message (an `EXIT`
/// from a linked process while trapping exits).
#[derive(Debug)]
#[non_exhaustive]
pub enum Message<M> {
    /// A message sent with [`Pid::send`].
    User(M),
    /// `{:EXIT, from, reason}`: an exit signal received while trapping exits.
    Exit {
        /// The process the signal came from.
        from: AnyPid,
        /// Its reason.
        reason: ExitReason,
    },
    /// `{:DOWN, ref, :process, pid, reason}`: a monitored process exited.
    Down {
        /// The monitor's reference, as returned by `monitor`.
        reference: Ref,
        /// The process that exited.
        pid: AnyPid,
        /// Its exit reason (`noproc` if it was already dead when the monitor was set).
        reason: ExitReason,
    },
}

/// A borrowed view of a queued message, for choosing what to receive.
#[derive(Debug)]
#[non_exhaustive]
pub enum MessageRef<'a, M> {
    /// A user message.
    User(&'a M),
    /// A trapped exit signal.
    Exit {
        /// The process the signal came from.
        from: &'a AnyPid,
        /// Its reason.
        reason: &'a ExitReason,
    },
    /// A monitor's `DOWN`.
    Down {
        /// The monitor's reference.
        reference: Ref,
        /// The process that exited.
        pid: &'a AnyPid,
        /// Its exit reason.
        reason: &'a ExitReason,
    },
}

/// The receiving end of a process's mailbox. Each process gets exactly one, as the argument of
/// its function; it cannot leave the process (it is neither `Send` nor `Clone`).
///
/// ```
/// use otp::Mailbox;
///
/// #[derive(Debug, PartialEq)]
/// enum Msg { Low, High }
///
/// otp::run(|mut mb: Mailbox<Msg>| {
///     let me = mb.pid();
///     me.send(Msg::Low);
///     me.send(Msg::High);
///     // Selective receive: the oldest message that matches, the rest stay in order.
///     assert_eq!(mb.receive_if(|m| *m == Msg::High), Msg::High);
///     assert_eq!(mb.receive(), Msg::Low);
/// });
/// ```
pub struct Mailbox<M> {
    /// The process. Counted unless `counted` is false (a behaviour's activation, see
    /// [`Mailbox::attach_uncounted`]).
    core: ManuallyDrop<CoreRef>,
    counted: bool,
    _not_send: PhantomData<NotSend<M>>,
}

impl<M> Drop for Mailbox<M> {
    fn drop(&mut self) {
        if self.counted {
            // SAFETY: a counted reference, given up once, here; `core` is not used again.
            unsafe { ManuallyDrop::drop(&mut self.core) };
        }
    }
}

/// Makes `Mailbox` neither `Send` nor `Sync` (the raw pointer) without owning an `M`.
type NotSend<M> = (fn(M), *const ());

impl<M> std::fmt::Debug for Mailbox<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailbox(<0.{}.0>)", self.core.id)
    }
}

impl<M: Send + 'static> Mailbox<M> {
    /// The mailbox of the calling process. Called once, by the process's entry.
    pub(crate) fn attach() -> Mailbox<M> {
        let core = context::expect_process("Mailbox::attach");
        Mailbox {
            core: ManuallyDrop::new(core),
            counted: true,
            _not_send: PhantomData,
        }
    }

    /// The mailbox of the calling process, holding an uncounted reference to it: for a
    /// behaviour's activation, which makes one per message batch (a counted one would cost two
    /// atomic read-modify-writes per `call`).
    ///
    /// # Safety
    ///
    /// The mailbox must be dropped before the activation that made it ends (the process may
    /// exit and be freed after that): it must not be handed to user code, stored, or leaked.
    pub(crate) unsafe fn attach_uncounted() -> Mailbox<M> {
        let core = context::current_raw();
        assert!(
            !core.is_null(),
            "`Mailbox::attach` must be called from inside an otp process (see otp::run)"
        );
        Mailbox {
            // SAFETY: `core` is the running process's record, from `CoreRef::as_ptr`; the
            // process table keeps it alive while the process runs, which covers the caller's
            // activation. `ManuallyDrop` and `counted: false` keep the count untouched.
            core: ManuallyDrop::new(unsafe { CoreRef::from_raw(core) }),
            counted: false,
            _not_send: PhantomData,
        }
    }

    pub(crate) fn core(&self) -> &CoreRef {
        &self.core
    }

    /// Frees the memory an empty mailbox keeps for skipped messages (a behaviour process going
    /// idle, or hibernating).
    pub(crate) fn release_spare_capacity(&mut self) {
        // SAFETY: we are the process (a `Mailbox` never leaves it); short borrow.
        unsafe { self.core.local() }.private.release_if_empty();
    }

    /// This process's own pid, typed (Elixir's `self()`).
    pub fn pid(&self) -> Pid<M> {
        Pid::from_core(CoreRef::clone(&self.core))
    }

    /// How many messages are waiting.
    pub fn len(&self) -> usize {
        self.core.message_queue_len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the oldest user message, waiting for one if needed. System messages (`EXIT`) are
    /// left in the mailbox; see [`Mailbox::receive_message`].
    #[track_caller]
    pub fn receive(&mut self) -> M {
        let at = Location::caller();
        match self.select_at(Timeout::Infinity, at, |m| matches!(m, MessageRef::User(_))) {
            Some(Message::User(m)) => m,
            _ => unreachable!("an infinite receive returns a matching message"),
        }
    }

    /// Like [`receive`](Mailbox::receive), giving up after `timeout` (`receive ... after`).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// otp::run(|mut mb: otp::Mailbox<u32>| {
    ///     match mb.receive_timeout(Duration::from_millis(20)) {
    ///         Some(n) => println!("got {n}"),
    ///         None => println!("Timed out after 20ms"),
    ///     }
    /// });
    /// ```
    #[track_caller]
    pub fn receive_timeout(&mut self, timeout: impl Into<Timeout>) -> Option<M> {
        let at = Location::caller();
        user(self.select_at(timeout.into(), at, |m| matches!(m, MessageRef::User(_))))
    }

    /// Takes a user message if one is already there (`after 0`).
    #[track_caller]
    pub fn try_receive(&mut self) -> Option<M> {
        self.receive_timeout(Duration::ZERO)
    }

    /// Selective receive: the oldest user message for which `accept` returns true, waiting for
    /// one if needed. Messages it skips stay in the mailbox, in order.
    #[track_caller]
    pub fn receive_if(&mut self, mut accept: impl FnMut(&M) -> bool) -> M {
        let at = Location::caller();
        let found = self.select_at(Timeout::Infinity, at, |m| match m {
            MessageRef::User(u) => accept(u),
            MessageRef::Exit { .. } | MessageRef::Down { .. } => false,
        });
        match user(found) {
            Some(m) => m,
            None => unreachable!("an infinite receive returns a matching message"),
        }
    }

    /// Selective receive with a timeout.
    #[track_caller]
    pub fn receive_if_timeout(
        &mut self,
        timeout: impl Into<Timeout>,
        mut accept: impl FnMut(&M) -> bool,
    ) -> Option<M> {
        let at = Location::caller();
        user(self.select_at(timeout.into(), at, |m| match m {
            MessageRef::User(u) => accept(u),
            MessageRef::Exit { .. } | MessageRef::Down { .. } => false,
        }))
    }

    /// The oldest message of any kind, user or system, waiting for one if needed.
    #[track_caller]
    pub fn receive_message(&mut self) -> Message<M> {
        let at = Location::caller();
        match self.select_at(Timeout::Infinity, at, |_| true) {
            Some(m) => m,
            None => unreachable!("an infinite receive returns a matching message"),
        }
    }

    /// The general receive: the oldest message (user or system) that `accept` takes, within
    /// `timeout`. `None` on timeout. Every other receive is this with a particular `accept`.
    ///
    /// `accept` must not itself receive from this mailbox.
    #[track_caller]
    pub fn select(
        &mut self,
        timeout: impl Into<Timeout>,
        accept: impl FnMut(MessageRef<'_, M>) -> bool,
    ) -> Option<Message<M>> {
        self.select_at(timeout.into(), Location::caller(), accept)
    }

    fn select_at(
        &mut self,
        timeout: Timeout,
        at: &'static Location<'static>,
        mut accept: impl FnMut(MessageRef<'_, M>) -> bool,
    ) -> Option<Message<M>> {
        // `after 0` only looks: no clock reads.
        let poll = timeout == Timeout::After(Duration::ZERO);
        // Fixed at the scheduler's next clock reading, if the receive lasts that long.
        let deadline = pin!(if poll {
            Deadline::never()
        } else {
            Deadline::from_timeout(timeout)
        });
        let core = &self.core;
        let mut scanned = 0;
        'wait: loop {
            core.check_exit();
            // Older messages first: those already in the private queue...
            while let Some(node) = next_unscanned(core, scanned) {
                // SAFETY: the node is in our private queue, so we own it and it stays valid
                // while `accept` looks at it (only we can remove it).
                if accept(unsafe { view::<M>(node) }) {
                    // SAFETY: short borrow again; `accept` has returned.
                    unsafe { core.local() }.private.remove(scanned, node);
                    return Some(self.taken(node));
                }
                scanned += 1;
            }
            // ...then whatever has arrived since, one at a time: a match is taken straight off
            // the incoming queue (the common case costs no private-queue traffic), the rest are
            // parked in the private queue in order.
            loop {
                match core.next_incoming() {
                    Incoming::Message(node) => {
                        // SAFETY: we own the popped node; it is a user or system node.
                        if accept(unsafe { view::<M>(node) }) {
                            return Some(self.taken(node));
                        }
                        // SAFETY: owner thread, short borrow.
                        unsafe { core.local() }.private.push_back(node);
                        scanned += 1;
                    }
                    // A signal may have queued a system message or doomed the process.
                    Incoming::Signal => continue 'wait,
                    Incoming::Empty => break,
                }
            }
            // The wake-up timer fires at or after the deadline, so the clock alone decides.
            if poll || deadline.passed() {
                core.set_current(None);
                budget::consume(1);
                return None;
            }
            wait(core, deadline.as_ref(), at);
        }
    }
}

impl<M: Send + 'static> Mailbox<M> {
    /// The oldest message of any kind, if one is waiting: `select(Duration::ZERO, |_| true)`
    /// without the scan's bookkeeping, for a behaviour's loop, which takes every message in
    /// order.
    pub(crate) fn next_now(&mut self) -> Option<Message<M>> {
        let core = &self.core;
        loop {
            core.check_exit();
            // SAFETY: we are the process; short borrow.
            if let Some(node) = unsafe { core.local() }.private.pop_front() {
                return Some(self.taken(node));
            }
            match core.next_incoming() {
                Incoming::Message(node) => return Some(self.taken(node)),
                // A signal may have queued a system message or doomed the process.
                Incoming::Signal => {}
                Incoming::Empty => {
                    core.set_current(None);
                    budget::consume(1);
                    return None;
                }
            }
        }
    }
}

/// The private-queue node at `index`, if any. Called by the process itself.
#[inline]
fn next_unscanned(core: &ProcessCore, index: usize) -> Option<NonNull<Header>> {
    // SAFETY: we are the process; the borrow ends before we return.
    unsafe { core.local() }.private.get(index)
}

impl<M: Send + 'static> Mailbox<M> {
    /// Bookkeeping for a message leaving the mailbox, then the message itself.
    fn taken(&self, node: NonNull<Header>) -> Message<M> {
        self.core.mark_taken();
        self.core.set_current(None);
        budget::consume(1);
        // SAFETY: out of both queues: we own it and nothing else refers to it.
        unsafe { take::<M>(node) }
    }
}

fn user<M>(m: Option<Message<M>>) -> Option<M> {
    match m {
        Some(Message::User(m)) => Some(m),
        _ => None,
    }
}

/// Reads a private-queue node.
///
/// # Safety
///
/// `node` must be owned by the calling process and be a `Node<M>` (tag `TAG_USER`) or a
/// `Node<Signal>` (tag `TAG_SYSTEM`).
unsafe fn view<'a, M>(node: NonNull<Header>) -> MessageRef<'a, M> {
    // SAFETY: caller's contract.
    match unsafe { node.as_ref() }.tag {
        // SAFETY: user nodes of this mailbox are `Node<M>` (pids are typed).
        TAG_USER => MessageRef::User(unsafe { Node::<M>::value(node) }),
        // SAFETY: system nodes are `Node<Signal>`.
        _ => match unsafe { Node::<Signal>::value(node) } {
            Signal::Exit { from, reason, .. } => MessageRef::Exit { from, reason },
            Signal::Down {
                reference,
                pid,
                reason,
            } => MessageRef::Down {
                reference: *reference,
                pid,
                reason,
            },
        },
    }
}

/// Takes a private-queue node.
///
/// # Safety
///
/// As for [`view`], and the node must already be out of the private queue.
unsafe fn take<M>(node: NonNull<Header>) -> Message<M> {
    // SAFETY: caller's contract.
    let tag = unsafe { node.as_ref() }.tag;
    debug_assert!(tag == TAG_USER || tag == TAG_SYSTEM);
    if tag == TAG_USER {
        // SAFETY: as in `view`.
        Message::User(unsafe { Node::<M>::take(node) })
    } else {
        // SAFETY: as in `view`.
        match unsafe { Node::<Signal>::take(node) } {
            Signal::Exit { from, reason, .. } => Message::Exit { from, reason },
            Signal::Down {
                reference,
                pid,
                reason,
            } => Message::Down {
                reference,
                pid,
                reason,
            },
        }
    }
}

/// Waits until the `DOWN` of the monitor `reference` arrives (and takes it out of the mailbox),
/// or `deadline` passes (`None`). Whatever the process's message type; other messages stay.
pub(crate) fn await_down(
    core: &CoreRef,
    reference: Ref,
    deadline: Option<Instant>,
    at: &'static Location<'static>,
) -> Option<ExitReason> {
    loop {
        core.safepoint();
        let down = core.take_system_message(
            |s| matches!(s, Signal::Down { reference: r, .. } if *r == reference),
        );
        if let Some(Signal::Down { reason, .. }) = down {
            core.set_current(None);
            return Some(reason);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            core.set_current(None);
            return None;
        }
        wait_until(core, deadline, at);
    }
}

/// Parks the process until something arrives or `deadline` passes. On return the caller
/// re-examines the mailbox.
pub(crate) fn wait(core: &CoreRef, deadline: Pin<&Deadline>, at: &'static Location<'static>) {
    if std::thread::panicking() {
        // Never switch away while this thread unwinds (another process's panic on the same
        // thread would then abort the node): runtime calls in destructors during an exit don't
        // block.
        std::thread::yield_now();
        return;
    }
    let wait = match deadline.when() {
        When::Never => WAIT_FOREVER,
        When::At(_) | When::After(_) => arm(core, deadline),
    };
    // SAFETY: we are the process; short borrow.
    unsafe { core.local() }.wait = wait;
    core.set_current(Some(at));
    switch::suspend(Suspend::Wait);
    // SAFETY: we are the process again; short borrow.
    unsafe { core.local() }.wait = NOT_WAITING;
}

/// The wake-up for a wait with a deadline: a timer in the wheel for a fixed one, an entry in
/// the scheduler's pending list for a relative one not fixed yet. Returns the `Local::wait`
/// word. Out of line: a wait for ever, the common case, needs neither.
#[inline(never)]
fn arm(core: &CoreRef, deadline: Pin<&Deadline>) -> u64 {
    context::with_scheduler(|s| {
        let s = s.expect("a process runs on a scheduler");
        match deadline.when() {
            When::Never => WAIT_FOREVER,
            When::At(d) => {
                let tick = s.timers.tick_of(d).max(1);
                // SAFETY: we are the process; short borrow.
                let local = unsafe { core.local() };
                s.timers.arm_wake(local, || core.clone(), tick);
                tick
            }
            When::After(_) => {
                // SAFETY: we are the process, waiting on our own stack's deadline (a process
                // that can wait holds a stack, so it stays on this scheduler).
                unsafe { s.timers.pending.add(deadline, CoreRef::as_ptr(core)) };
                WAIT_PENDING
            }
        }
    })
}

/// [`wait`] for an absolute deadline (`None`: for ever).
pub(crate) fn wait_until(
    core: &CoreRef,
    deadline: Option<Instant>,
    at: &'static Location<'static>,
) {
    wait(core, pin!(Deadline::at(deadline)).as_ref(), at);
}

/// Suspends the calling process for `duration` (`Process.sleep/1`). Messages that arrive wait
/// in the mailbox; an exit signal ends the sleep (and the process) at once. Outside a process it
/// sleeps the OS thread.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// otp::run(|| {
///     let t = Instant::now();
///     otp::sleep(Duration::from_millis(10));
///     assert!(t.elapsed() >= Duration::from_millis(10));
/// });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) {
    let Some(core) = context::current_process() else {
        std::thread::sleep(duration);
        return;
    };
    let at = Location::caller();
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        core.safepoint();
        wait_until(&core, Some(deadline), at);
    }
    core.set_current(None);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{Builder, ExitReason, Mailbox, Message};

    /// `next_now` takes every message in arrival order, parked ones (skipped by a selective
    /// receive) first, a system message among them, and says `None` when nothing waits.
    #[test]
    fn next_now_takes_everything_in_arrival_order() {
        let rt = Builder::new().schedulers(1).build().unwrap();
        rt.block_on(|mut mb: Mailbox<u8>| {
            let me = mb.pid();
            me.send(1);
            // Skips 1 (parks it in the private queue), finds nothing else.
            assert_eq!(mb.receive_if_timeout(Duration::ZERO, |m| *m == 9), None);
            me.send(2);
            let (child, reference) = crate::spawn_monitor(|| {});
            // Gone from the table only after its DOWN was sent.
            while crate::process::alive(&child) {
                crate::yield_now();
            }
            me.send(3);
            let mut got = Vec::new();
            while let Some(m) = mb.next_now() {
                got.push(match m {
                    Message::User(n) => n.to_string(),
                    Message::Down {
                        reference: r,
                        reason,
                        ..
                    } => {
                        assert_eq!((r, reason), (reference, ExitReason::Normal));
                        "DOWN".to_owned()
                    }
                    other => panic!("{other:?}"),
                });
            }
            assert_eq!(got, ["1", "2", "DOWN", "3"]);
        })
        .unwrap();
    }
}
