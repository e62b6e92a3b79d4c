//! A wait's deadline, read off the clock only when the wait has to sleep past a clock reading.
//!
//! Most timed waits end long before their deadline: a `call`'s reply comes in microseconds and
//! its 5 s timeout never fires. Reading the clock for each (about 30 ns, a tenth of a call) is
//! waste, so a [`Deadline::after`] starts out relative: "`d` after a moment no earlier than
//! now". When its wait first sleeps, the deadline joins its scheduler's pending list
//! ([`Pending`]); the scheduler's next clock reading (it reads the clock whenever it fires timers:
//! when its queues run dry, every few dozen rounds, and after sleeping) fixes it at that reading
//! plus `d` and arms the wheel. A wait that ends before then just leaves the list: it never
//! reads the clock.
//!
//! Never early: the reading that fixes a deadline is taken after the deadline was made, so the
//! deadline is at least `d` after it. Late by at most the gap between two of the scheduler's
//! readings, which timers already are (a wheel only fires at those readings). And not reset:
//! however often the wait wakes and sleeps again before the reading, the one reading fixes it.
//!
//! Invariants: a registered deadline is pinned (it stays put until its `Drop`, which takes it
//! off the list), and it belongs to a process that holds a stack, hence stays on that
//! scheduler: the list is only touched from the scheduler's own thread. A process whose frames
//! are discarded without drops (a stack overflow) is purged from the list by the scheduler
//! ([`Pending::forget`]).

use std::{
    cell::{Cell, RefCell},
    marker::PhantomPinned,
    pin::Pin,
    ptr::NonNull,
    time::{Duration, Instant},
};

use crate::{process::core::ProcessCore, runtime::context, Timeout};

/// When a wait gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    Never,
    At(Instant),
    /// This long after a moment no earlier than the deadline's making, fixed at the scheduler's
    /// next clock reading.
    After(Duration),
}

/// A wait's deadline (module docs). Pin it (`std::pin::pin!`) to wait on it.
pub(crate) struct Deadline {
    when: Cell<When>,
    /// While on a scheduler's pending list: 1 + its index there; 0 otherwise.
    slot: Cell<usize>,
    _pinned: PhantomPinned,
}

impl Deadline {
    #[inline]
    fn new(when: When) -> Deadline {
        Deadline {
            when: Cell::new(when),
            slot: Cell::new(0),
            _pinned: PhantomPinned,
        }
    }

    /// No deadline.
    #[inline]
    pub(crate) fn never() -> Deadline {
        Deadline::new(When::Never)
    }

    /// At `at`, or never for `None`.
    #[inline]
    pub(crate) fn at(at: Option<Instant>) -> Deadline {
        Deadline::new(at.map_or(When::Never, When::At))
    }

    /// `d` from now, the clock read only if the wait outlasts the scheduler's next reading.
    #[inline]
    pub(crate) fn after(d: Duration) -> Deadline {
        Deadline::new(When::After(d))
    }

    /// [`Timeout::Infinity`] is never; [`Timeout::After`] is [`Deadline::after`].
    #[inline]
    pub(crate) fn from_timeout(timeout: Timeout) -> Deadline {
        match timeout {
            Timeout::Infinity => Deadline::never(),
            Timeout::After(d) => Deadline::after(d),
        }
    }

    #[inline]
    pub(crate) fn when(&self) -> When {
        self.when.get()
    }

    /// Whether the deadline has passed. One not fixed yet has not: its wait wakes when its
    /// timer says so.
    #[inline]
    pub(crate) fn passed(&self) -> bool {
        match self.when.get() {
            When::At(at) => Instant::now() >= at,
            When::Never | When::After(_) => false,
        }
    }

    #[inline]
    fn registered(&self) -> bool {
        self.slot.get() != 0
    }
}

impl Drop for Deadline {
    #[inline]
    fn drop(&mut self) {
        if self.registered() {
            context::with_scheduler(|s| {
                let s = s.expect("a registered deadline is dropped on its scheduler");
                s.timers.pending.remove(self);
            });
        }
    }
}

/// A scheduler's relative deadlines waiting for its next clock reading (module docs).
#[derive(Default)]
pub(crate) struct Pending {
    entries: RefCell<Vec<(NonNull<Deadline>, *const ProcessCore)>>,
}

impl Pending {
    /// Puts `deadline`, which `core` waits on, on the list (once).
    ///
    /// # Safety
    ///
    /// Called on the scheduler's thread by `core`, a process with a stack (so pinned to this
    /// scheduler), for a deadline on its stack.
    pub(crate) unsafe fn add(&self, deadline: Pin<&Deadline>, core: *const ProcessCore) {
        if deadline.registered() {
            return;
        }
        let mut entries = self.entries.borrow_mut();
        entries.push((NonNull::from(&*deadline), core));
        deadline.slot.set(entries.len());
    }

    fn remove(&self, deadline: &Deadline) {
        let mut entries = self.entries.borrow_mut();
        let index = deadline.slot.get() - 1;
        debug_assert!(std::ptr::eq(entries[index].0.as_ptr(), deadline));
        entries.swap_remove(index);
        if let Some((moved, _)) = entries.get(index) {
            // SAFETY: a listed deadline is alive and pinned (module invariants).
            unsafe { moved.as_ref() }.slot.set(index + 1);
        }
        deadline.slot.set(0);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Fixes every listed deadline at `now` plus its duration and empties the list; calls
    /// `fixed` with each one's process and the instant (`None`: too far to represent, never).
    pub(crate) fn resolve(&self, now: Instant, mut fixed: impl FnMut(*const ProcessCore, Instant)) {
        let entries = std::mem::take(&mut *self.entries.borrow_mut());
        for (deadline, core) in entries {
            // SAFETY: a listed deadline is alive and pinned (module invariants), and only this
            // thread touches it: its process is not running (the scheduler is).
            let deadline = unsafe { deadline.as_ref() };
            deadline.slot.set(0);
            let When::After(d) = deadline.when.get() else {
                unreachable!("only relative deadlines are listed")
            };
            match now.checked_add(d) {
                Some(at) => {
                    deadline.when.set(When::At(at));
                    fixed(core, at);
                }
                None => deadline.when.set(When::Never),
            }
        }
    }

    /// Drops `core`'s entries without touching them: its frames are gone.
    pub(crate) fn forget(&self, core: *const ProcessCore) {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|&(_, c)| c != core);
        for (i, (deadline, _)) in entries.iter().enumerate() {
            // SAFETY: as in `remove`.
            unsafe { deadline.as_ref() }.slot.set(i + 1);
        }
    }

    /// Unlists everything (the scheduler is stopping): a later drop leaves the list alone.
    pub(crate) fn clear(&self) {
        for (deadline, _) in self.entries.borrow_mut().drain(..) {
            // SAFETY: as in `remove`.
            unsafe { deadline.as_ref() }.slot.set(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;

    const A: *const ProcessCore = std::ptr::without_provenance(0x1000);
    const B: *const ProcessCore = std::ptr::without_provenance(0x2000);

    /// The list outside a scheduler: every deadline is taken off before it drops.
    #[test]
    fn resolve_fixes_each_listed_deadline_at_the_reading_plus_its_duration() {
        let pending = Pending::default();
        let one = pin!(Deadline::after(Duration::from_millis(5)));
        let two = pin!(Deadline::after(Duration::from_secs(1)));
        let huge = pin!(Deadline::after(Duration::MAX));
        // SAFETY: (test) the deadlines outlive their listing; the cores are never dereferenced.
        unsafe {
            pending.add(one.as_ref(), A);
            pending.add(two.as_ref(), B);
            pending.add(two.as_ref(), B);
            pending.add(huge.as_ref(), A);
        }
        assert_eq!(
            pending.entries.borrow().len(),
            3,
            "a deadline is listed once"
        );
        assert!(
            !one.passed(),
            "a relative deadline has not passed before it is fixed"
        );
        let now = Instant::now();
        let mut seen = Vec::new();
        pending.resolve(now, |core, at| seen.push((core, at)));
        assert!(pending.is_empty());
        assert_eq!(
            seen,
            [
                (A, now + Duration::from_millis(5)),
                (B, now + Duration::from_secs(1))
            ]
        );
        assert_eq!(one.when(), When::At(now + Duration::from_millis(5)));
        assert_eq!(huge.when(), When::Never);
        assert!(!one.registered() && !two.registered() && !huge.registered());
    }

    #[test]
    fn removing_keeps_the_other_entries_findable() {
        let pending = Pending::default();
        let ds = [
            pin!(Deadline::after(Duration::from_millis(1))),
            pin!(Deadline::after(Duration::from_millis(2))),
            pin!(Deadline::after(Duration::from_millis(3))),
        ];
        // SAFETY: (test) as above.
        unsafe {
            for d in &ds {
                pending.add(d.as_ref(), A);
            }
        }
        // The first goes: the last moves into its place and must know it.
        pending.remove(&ds[0]);
        assert!(!ds[0].registered());
        pending.remove(&ds[2]);
        pending.remove(&ds[1]);
        assert!(pending.is_empty());
        assert!(ds.iter().all(|d| !d.registered()));
    }

    #[test]
    fn forget_drops_one_process_entries_and_reindexes_the_rest() {
        let pending = Pending::default();
        let a1 = pin!(Deadline::after(Duration::from_millis(1)));
        let b1 = pin!(Deadline::after(Duration::from_millis(2)));
        let a2 = pin!(Deadline::after(Duration::from_millis(3)));
        let b2 = pin!(Deadline::after(Duration::from_millis(4)));
        // SAFETY: (test) as above.
        unsafe {
            pending.add(a1.as_ref(), A);
            pending.add(b1.as_ref(), B);
            pending.add(a2.as_ref(), A);
            pending.add(b2.as_ref(), B);
        }
        pending.forget(A);
        // A's deadlines are not touched (their frames would be gone): they still think they
        // are listed, so mark them off by hand before they drop.
        a1.slot.set(0);
        a2.slot.set(0);
        pending.remove(&b2);
        pending.remove(&b1);
        assert!(pending.is_empty());
        pending.clear();
    }

    /// Whether the calling process's scheduler lists a deadline of `core`'s.
    fn listed(core: &crate::process::core_ref::CoreRef) -> bool {
        let p = crate::process::core_ref::CoreRef::as_ptr(core);
        context::with_scheduler(|s| {
            let entries = s.expect("on a scheduler").timers.pending.entries.borrow();
            entries.iter().any(|&(_, c)| c == p)
        })
    }

    /// Whether `core`, waiting on this thread's scheduler, has a wake-up in the wheel: what
    /// a reading that fixed its deadline leaves.
    fn armed(core: &crate::process::core_ref::CoreRef) -> bool {
        // SAFETY: (test) `core` waits on this scheduler, and the caller runs there.
        unsafe { core.local() }.armed != crate::process::core::NO_TIMER
    }

    #[test]
    fn a_timed_wait_lists_its_deadline_until_a_reading_fixes_it_or_the_wait_ends() {
        let rt = crate::Builder::new().schedulers(1).build().unwrap();
        rt.block_on(|mut mb: crate::Mailbox<u8>| {
            let me = mb.pid();
            crate::spawn(move || {
                let root = me.as_any().core();
                // The root waits by now (one scheduler: it runs until it waits). Its deadline
                // is listed, unless a reading came between (every few dozen rounds): then it
                // is fixed, and armed.
                assert!(!armed(root) && listed(root) || armed(root) && !listed(root));
                me.send(1);
            });
            assert_eq!(mb.receive_timeout(Duration::from_secs(60)), Some(1));
            assert!(
                !listed(mb.pid().as_any().core()),
                "an ended wait leaves the list"
            );
        })
        .unwrap();
    }

    /// Recurses until the stack runs out.
    fn recurse(depth: u64) -> u64 {
        if depth == u64::MAX {
            return 0; // never: the stack runs out long before
        }
        let frame = std::hint::black_box([depth as u8; 1024]);
        std::hint::black_box(u64::from(frame[0])) + recurse(std::hint::black_box(depth + 1))
    }

    /// An overflow discards the frames, drops and all: the scheduler must forget a deadline
    /// listed in them (it would later write into a stack someone else runs on).
    #[test]
    fn an_overflow_inside_a_timed_receive_leaves_no_deadline_listed() {
        let rt = crate::Builder::new().schedulers(1).build().unwrap();
        rt.block_on(|mut mb: crate::Mailbox<()>| {
            let (pid, _r) = crate::SpawnOptions::new()
                .stack_size(64 * 1024)
                .spawn_monitor(|mut mb: crate::Mailbox<u8>| {
                    mb.select(Duration::from_secs(60), |_| recurse(0) == 1);
                });
            let child = pid.as_any().core().clone();
            crate::spawn(move || {
                while crate::process::info(&pid).map(|i| i.status)
                    != Some(crate::process::Status::Waiting)
                {
                    crate::yield_now();
                }
                pid.send(1);
            });
            let down = mb.select(Duration::from_secs(60), |_| true);
            assert!(
                matches!(&down, Some(crate::Message::Down { reason, .. }) if *reason == crate::ExitReason::StackOverflow),
                "{down:?}"
            );
            assert!(!listed(&child));
        })
        .unwrap();
    }

    #[test]
    fn clear_unlists_everything() {
        let pending = Pending::default();
        let d = pin!(Deadline::after(Duration::from_millis(1)));
        // SAFETY: (test) as above.
        unsafe { pending.add(d.as_ref(), A) };
        pending.clear();
        assert!(!d.registered() && pending.is_empty());
    }
}
