//! Links and monitors: who hears about a process's exit, and how.
//!
//! Each process keeps its relations (the processes it is linked to, the monitors it holds and
//! the monitors held on it) behind a small mutex, which is boxed on first use together with
//! them, so a process with none pays one word ([`RelationsSlot`]). The mutex also orders a
//! relation being set up against the target's exit:
//!
//! * An exiting process first marks itself `exiting`, then takes its relations under the lock,
//!   then sends an exit signal to each link and a `DOWN` to each monitor holder.
//! * `link`/`monitor` add the relation on their own side first, then on the target's side
//!   *under the target's lock*, checking `exiting` there. So either the target sees the new
//!   relation when it exits, or the caller sees that the target is gone and answers `noproc`
//!   itself. Never both, never neither.
//! * A process that exits before anyone made it a box of relations closes its slot instead
//!   (one compare-and-swap from empty to closed); a `link`/`monitor` that would create the box
//!   races on that same word, so exactly one of the two wins, and a closed slot answers as an
//!   exiting process does.
//!
//! Signals travel through the target's ordinary mailbox queue, after every message the dying
//! process sent it, so a sender's messages always arrive before its `EXIT` or `DOWN` (spec rule
//! 3.2). An `EXIT` or `DOWN` that arrives for a link or monitor its receiver has since removed
//! (`unlink`, `demonitor`) is dropped on arrival: after `unlink`/`demonitor` returns, the
//! relation has no further effect, as the BEAM guarantees.

use std::{
    fmt, ptr,
    sync::{
        atomic::{
            AtomicPtr,
            Ordering::{AcqRel, Acquire},
        },
        Mutex, MutexGuard, PoisonError,
    },
};

use crate::process::core_ref::CoreRef;
use crate::{
    process::{
        core::{ProcessCore, Signal},
        exit::ExitReason,
        pid::AnyPid,
        reference::{make_ref, Ref},
    },
    runtime::{budget, context},
};

/// One process's links and monitors.
#[derive(Default)]
pub(crate) struct Relations {
    /// Processes linked to this one (a set: linking twice is one link).
    pub(crate) links: Vec<AnyPid>,
    /// Monitors this process holds: `(ref, target)`.
    pub(crate) monitors: Vec<(Ref, AnyPid)>,
    /// Monitors held on this process: `(ref, watcher)`.
    pub(crate) monitored_by: Vec<(Ref, AnyPid)>,
}

type Guard<'a> = MutexGuard<'a, Relations>;

/// A process's relations as its record holds them: one pointer, null until the first relation,
/// then a box (mutex and relations) that lives as long as the record, or [`CLOSED`] if the
/// process exited before it ever had one. See the module docs for the protocol.
#[derive(Debug)]
pub(crate) struct RelationsSlot(AtomicPtr<Mutex<Relations>>);

/// [`RelationsSlot`] of a process that exited without ever having had a relation. Address 1:
/// never a real box (a `Mutex<Relations>` is pointer-aligned), and never dereferenced.
const CLOSED: *mut Mutex<Relations> = ptr::without_provenance_mut(1);

impl RelationsSlot {
    /// No relations yet.
    pub(crate) const fn new() -> RelationsSlot {
        RelationsSlot(AtomicPtr::new(ptr::null_mut()))
    }

    /// Locks the relations, if the process has a box of them.
    fn lock(&self) -> Option<Guard<'_>> {
        let p = self.0.load(Acquire);
        if p.is_null() || p == CLOSED {
            return None;
        }
        // SAFETY: a pointer other than null and CLOSED came from `Box::into_raw` in
        // `get_or_create`, and the box is only freed when the slot is dropped, which `&self`
        // rules out for the guard's lifetime.
        let mutex = unsafe { &*p };
        // Every update below is a single push/retain on a Vec: a panic cannot leave a relation
        // half made, so a poisoned lock still holds consistent data.
        Some(mutex.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Locks the relations, making the box if there is none yet; `None` if the slot is closed.
    fn lock_or_create(&self) -> Option<Guard<'_>> {
        let mut p = self.0.load(Acquire);
        if p.is_null() {
            let new = Box::into_raw(Box::new(Mutex::new(Relations::default())));
            p = match self
                .0
                .compare_exchange(ptr::null_mut(), new, AcqRel, Acquire)
            {
                Ok(_) => new,
                Err(theirs) => {
                    // SAFETY: `new` is ours: the exchange failed, so nobody else saw it.
                    drop(unsafe { Box::from_raw(new) });
                    theirs
                }
            };
        }
        if p == CLOSED {
            return None;
        }
        self.lock()
    }

    /// At exit: closes an empty slot (`None`), or locks the relations so the caller can take
    /// them.
    fn close(&self) -> Option<Guard<'_>> {
        match self
            .0
            .compare_exchange(ptr::null_mut(), CLOSED, AcqRel, Acquire)
        {
            Ok(_) => None,
            Err(_) => self.lock(),
        }
    }
}

impl Drop for RelationsSlot {
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() && p != CLOSED {
            // SAFETY: from `Box::into_raw` in `lock_or_create`; `&mut self` means no guard
            // borrows it any more, and the slot goes away with this drop.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

impl ProcessCore {
    fn relations(&self) -> Option<Guard<'_>> {
        self.relations.lock()
    }

    /// Runs `f` on this process's relations, creating them if needed. `None` if the process is
    /// exiting (checked under the lock, or told by a closed slot; see the module docs).
    pub(crate) fn with_relations<R>(&self, f: impl FnOnce(&mut Relations) -> R) -> Option<R> {
        let mut guard = self.relations.lock_or_create()?;
        if self.exiting.load(Acquire) {
            return None;
        }
        Some(f(&mut guard))
    }

    /// Removes a link (from this side only); returns whether it was there.
    pub(crate) fn remove_link(&self, pid: &AnyPid) -> bool {
        let Some(mut r) = self.relations() else {
            return false;
        };
        let before = r.links.len();
        r.links.retain(|l| l != pid);
        r.links.len() != before
    }

    /// Removes a monitor this process holds; returns whether it was there.
    pub(crate) fn remove_monitor(&self, reference: Ref) -> Option<AnyPid> {
        let mut r = self.relations()?;
        let i = r.monitors.iter().position(|(m, _)| *m == reference)?;
        Some(r.monitors.swap_remove(i).1)
    }

    /// A snapshot for `process::info`: `(links, monitors, monitored_by)`.
    pub(crate) fn relation_snapshot(&self) -> (Vec<AnyPid>, Vec<AnyPid>, Vec<AnyPid>) {
        match self.relations() {
            None => (Vec::new(), Vec::new(), Vec::new()),
            Some(r) => (
                r.links.clone(),
                r.monitors.iter().map(|(_, p)| p.clone()).collect(),
                r.monitored_by.iter().map(|(_, p)| p.clone()).collect(),
            ),
        }
    }
}

impl CoreRef {
    /// Tells every link and monitor holder that this process exited with `reason`. Called once,
    /// by the exit path, after `exiting` is set.
    pub(crate) fn notify_exit(&self, reason: &ExitReason) {
        let Some(relations) = self.relations.close().map(|mut r| std::mem::take(&mut *r)) else {
            return;
        };
        let me = AnyPid::from_core(self.clone());
        for link in relations.links {
            link.core().send_signal(Signal::Exit {
                from: me.clone(),
                reason: reason.clone(),
                linked: true,
            });
        }
        for (reference, watcher) in relations.monitored_by {
            watcher.core().send_signal(Signal::Down {
                reference,
                pid: me.clone(),
                reason: reason.clone(),
            });
        }
        for (reference, target) in relations.monitors {
            // The target no longer needs to tell us anything.
            if let Some(mut r) = target.core().relations() {
                r.monitored_by.retain(|(m, _)| *m != reference);
            }
        }
    }
}

/// Links two processes that cannot be exiting yet (a spawn in progress).
pub(crate) fn link_new(parent: &CoreRef, child: &CoreRef) {
    let added = parent.with_relations(|r| r.links.push(AnyPid::from_core(child.clone())));
    debug_assert!(added.is_some(), "the spawning process is running");
    child.with_relations(|r| r.links.push(AnyPid::from_core(parent.clone())));
}

/// Makes `watcher` monitor a process that cannot be exiting yet (a spawn in progress).
pub(crate) fn monitor_new(watcher: &CoreRef, target: &CoreRef) -> Ref {
    let reference = make_ref();
    watcher.with_relations(|r| {
        r.monitors
            .push((reference, AnyPid::from_core(target.clone())))
    });
    target.with_relations(|r| {
        r.monitored_by
            .push((reference, AnyPid::from_core(watcher.clone())))
    });
    reference
}

/// [`link`] to a process that has already exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoProc(pub AnyPid);

impl fmt::Display for NoProc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "** (exit) :noproc: {} is not alive", self.0)
    }
}

impl std::error::Error for NoProc {}

/// Links the calling process to `pid` (`Process.link/1`). Links are bidirectional and a set:
/// linking twice is one link, linking to oneself does nothing.
///
/// When either process exits with a reason other than `normal`, the other one exits with the
/// same reason, unless it traps exits, in which case it receives
/// [`Message::Exit`](crate::Message::Exit) instead (for `normal` too).
///
/// If `pid` has already exited: a caller that traps exits gets `Ok` and an `EXIT` message with
/// reason `noproc`, exactly as on the BEAM; any other caller gets `Err(NoProc)` (where Elixir
/// raises, which kills the caller unless it rescues).
///
/// ```
/// use otp::{process, ExitReason, Mailbox, Message};
///
/// otp::run(|mut mb: Mailbox<()>| {
///     process::trap_exit(true);
///     let worker = otp::spawn(|| otp::exit(ExitReason::custom("boom")));
///     // Linking may race with the worker's exit; either way we hear about it.
///     process::link(&worker).unwrap();
///     match mb.receive_message() {
///         Message::Exit { from, reason } => {
///             assert_eq!(from, worker);
///             assert!(reason == ExitReason::custom("boom") || reason == ExitReason::NoProc);
///         }
///         other => panic!("unexpected {other:?}"),
///     }
/// });
/// ```
#[track_caller]
pub fn link(pid: impl AsRef<AnyPid>) -> Result<(), NoProc> {
    let me = context::expect_process("otp::process::link");
    let target = pid.as_ref();
    budget::consume(1);
    if CoreRef::ptr_eq(&me, target.core()) {
        return Ok(());
    }
    let me_pid = AnyPid::from_core(me.clone());
    // Our side first, so an EXIT from the target is never ignored for want of the link.
    me.with_relations(|r| {
        if !r.links.contains(target) {
            r.links.push(target.clone());
        }
    });
    let linked = target.core().with_relations(|r| {
        if !r.links.contains(&me_pid) {
            r.links.push(me_pid.clone());
        }
    });
    if linked.is_some() {
        return Ok(());
    }
    me.remove_link(target);
    if me.trap_exit.load(std::sync::atomic::Ordering::Relaxed) {
        deliver_now(
            &me,
            Signal::Exit {
                from: target.clone(),
                reason: ExitReason::NoProc,
                linked: true,
            },
        );
        Ok(())
    } else {
        Err(NoProc(target.clone()))
    }
}

/// Removes the link between the calling process and `pid`, if any (`Process.unlink/1`). Once it
/// returns, the link has no further effect on the caller, even if `pid` exited just before.
///
/// ```
/// use otp::process;
///
/// otp::run(|| {
///     let pid = otp::spawn_link(|mut mb: otp::Mailbox<()>| mb.receive());
///     process::unlink(&pid);
///     process::exit(&pid, otp::ExitReason::Kill); // no longer takes us down
/// });
/// ```
#[track_caller]
pub fn unlink(pid: impl AsRef<AnyPid>) {
    let me = context::expect_process("otp::process::unlink");
    let target = pid.as_ref();
    me.remove_link(target);
    target.core().remove_link(&AnyPid::from_core(me));
    budget::consume(1);
}

/// Starts monitoring `pid` (`Process.monitor/1`): when it exits, the caller receives
/// [`Message::Down`](crate::Message::Down) with the returned reference and the exit reason. A
/// monitor is one-way; each call makes a new one. Monitoring a dead process gives an immediate
/// `DOWN` with reason `noproc`; monitoring oneself does nothing.
///
/// ```
/// use otp::{process, ExitReason, Mailbox, Message};
///
/// otp::run(|mut mb: Mailbox<()>| {
///     let pid = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
///     let reference = process::monitor(&pid);
///     pid.send(());
///     match mb.receive_message() {
///         Message::Down { reference: r, reason, .. } => {
///             assert_eq!(r, reference);
///             assert_eq!(reason, ExitReason::Normal);
///         }
///         other => panic!("unexpected {other:?}"),
///     }
/// });
/// ```
#[track_caller]
pub fn monitor(pid: impl AsRef<AnyPid>) -> Ref {
    let me = context::expect_process("otp::process::monitor");
    let target = pid.as_ref();
    budget::consume(1);
    let reference = make_ref();
    if CoreRef::ptr_eq(&me, target.core()) {
        return reference;
    }
    me.with_relations(|r| r.monitors.push((reference, target.clone())));
    let me_pid = AnyPid::from_core(me.clone());
    if target
        .core()
        .with_relations(|r| r.monitored_by.push((reference, me_pid)))
        .is_none()
    {
        // Already gone: an immediate DOWN, and the monitor has fired (it must not linger in
        // our list, nor make `demonitor` say it was active).
        me.remove_monitor(reference);
        deliver_now(
            &me,
            Signal::Down {
                reference,
                pid: target.clone(),
                reason: ExitReason::NoProc,
            },
        );
    }
    reference
}

/// Stops a monitor (`Process.demonitor/2` with `:info`): `true` if it was active, `false` if
/// it had already fired (its `DOWN` may then be in the mailbox; see [`demonitor_flush`]) or never
/// existed. Once it returns, no `DOWN` for this monitor arrives.
///
/// ```
/// use otp::process;
///
/// otp::run(|| {
///     let pid = otp::spawn(|mut mb: otp::Mailbox<()>| mb.receive());
///     let reference = process::monitor(&pid);
///     assert!(process::demonitor(reference)); // it was active
///     assert!(!process::demonitor(reference)); // not any more
///     pid.send(());
/// });
/// ```
#[track_caller]
pub fn demonitor(reference: Ref) -> bool {
    let me = context::expect_process("otp::process::demonitor");
    budget::consume(1);
    match me.remove_monitor(reference) {
        Some(target) => {
            if let Some(mut r) = target.core().relations() {
                r.monitored_by.retain(|(m, _)| *m != reference);
            }
            true
        }
        None => false,
    }
}

/// [`demonitor`] that also removes a `DOWN` for this monitor already in the mailbox
/// (`Process.demonitor(ref, [:flush, :info])`).
///
/// ```
/// use std::time::Duration;
/// use otp::{process, Mailbox};
///
/// otp::run(|mut mb: Mailbox<()>| {
///     let (pid, reference) = otp::spawn_monitor(|| {});
///     // Wait for the exit through a second monitor, so the first one's DOWN is queued.
///     let second = process::monitor(&pid);
///     mb.select(None, |m| matches!(m, otp::MessageRef::Down { reference: r, .. } if r == second));
///     process::demonitor_flush(reference);
///     assert!(mb.select(Duration::ZERO, |_| true).is_none(), "the DOWN was flushed");
/// });
/// ```
#[track_caller]
pub fn demonitor_flush(reference: Ref) -> bool {
    let active = demonitor(reference);
    let me = context::expect_process("otp::process::demonitor_flush");
    me.drain();
    me.remove_system_message(
        |signal| matches!(signal, Signal::Down { reference: r, .. } if *r == reference),
    );
    active
}

/// Puts a signal straight into the calling process's own mailbox, as a message, after
/// everything that has already arrived.
fn deliver_now(me: &CoreRef, signal: Signal) {
    me.drain();
    me.push_system_message(signal);
}
