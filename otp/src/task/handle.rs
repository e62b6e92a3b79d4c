//! The owner's end of one task, and how the owner waits on one or many.
//!
//! A task reports to its owner along two paths that never touch the owner's typed mailbox as
//! user messages:
//!
//! * its **reply slot** (`process::reply`): the value, written once, read in O(1). If the task
//!   dies first, the slot is broken with the task's exit reason (the promise is dropped while
//!   the task unwinds);
//! * its **monitor**: a `DOWN` system message, which any mailbox holds whatever its type.
//!
//! The slot decides "did it reply", the `DOWN` decides "is it dead, and why". The owner waits
//! for the `DOWN` rather than trusting a broken slot at once because of ordering: a dying task
//! sends its link's `EXIT` before its `DOWN`, so an owner that does not trap exits is ended by
//! the link (with the task's reason) before it can see the `DOWN`, exactly as on the BEAM. The
//! slot's reason stands in for the `DOWN`'s when the `DOWN` says `noproc` (the task was gone
//! before the owner could monitor it: a task supervisor starts the task, then the owner
//! monitors it) or when somebody else took the `DOWN` (a `receive`, a GenServer's
//! `handle_info`).

use std::{panic::Location, time::Instant};

use crate::process::core_ref::CoreRef;
use crate::{
    mailbox,
    process::{
        core::{ProcessCore, Signal},
        reply::{Broken, Waiter},
        AnyPid, ExitReason, Ref,
    },
    runtime::{budget, context},
    Timeout,
};

/// What the owner learnt about a task.
pub(crate) enum Seen<T> {
    /// It returned this value.
    Reply(T),
    /// It exited with this reason without replying.
    Down(ExitReason),
}

/// The owner's end of a task: the task's pid, the owner's monitor on it and the reply slot.
pub(crate) struct Handle<T> {
    pub(crate) pid: AnyPid,
    pub(crate) reference: Ref,
    waiter: Waiter<T>,
    /// The reply, taken from the slot and not reported yet.
    replied: Option<T>,
    /// The slot was broken: the task died without replying (and why, if it knew).
    broken: Option<Broken>,
    /// The task's `DOWN`, taken by a sweep over several tasks and not looked at yet.
    pub(crate) down: Option<ExitReason>,
    /// The reply or the exit has been reported: nothing more will come.
    pub(crate) finished: bool,
}

impl<T> Handle<T> {
    pub(crate) fn new(pid: AnyPid, reference: Ref, waiter: Waiter<T>) -> Handle<T> {
        Handle {
            pid,
            reference,
            waiter,
            replied: None,
            broken: None,
            down: None,
            finished: false,
        }
    }

    /// Moves whatever the slot holds into `replied` / `broken`.
    fn look_at_slot(&mut self) {
        match self.waiter.try_take() {
            Some(Ok(value)) => self.replied = Some(value),
            Some(Err(broken)) => self.broken = Some(broken),
            None => {}
        }
    }

    /// The reason to report for a `DOWN` with `reason`: a `noproc` `DOWN` only says the task
    /// was gone when the monitor was set, so the slot's reason is the better one.
    fn reason_of(&self, reason: ExitReason) -> ExitReason {
        match (reason, &self.broken) {
            (ExitReason::NoProc, Some(Some(why))) => why.clone(),
            (reason, _) => reason,
        }
    }

    /// Whether the task replied or died, without waiting. `look_for_down`: search the
    /// mailbox for this task's `DOWN` (false when a sweep over several tasks already did).
    /// Owner only, after a safe point.
    pub(crate) fn poll(&mut self, core: &ProcessCore, look_for_down: bool) -> Option<Seen<T>> {
        if self.finished {
            return None;
        }
        let seen = self.look(core, look_for_down)?;
        self.finished = true;
        Some(seen)
    }

    fn look(&mut self, core: &ProcessCore, look_for_down: bool) -> Option<Seen<T>> {
        self.look_at_slot();
        if let Some(value) = self.replied.take() {
            return Some(Seen::Reply(value));
        }
        let down = match self.down.take() {
            Some(reason) => Some(reason),
            None if look_for_down => take_down(core, self.reference),
            None => None,
        };
        if let Some(reason) = down {
            // A reply sent just before the exit is in the slot by now (written before the
            // task's stack unwound, so before its DOWN went out).
            self.look_at_slot();
            if let Some(value) = self.replied.take() {
                return Some(Seen::Reply(value));
            }
            return Some(Seen::Down(self.reason_of(reason)));
        }
        if self.broken.is_some() && !monitor_active(core, self.reference) {
            // Dead, and its DOWN was either taken by somebody else or moved into the mailbox
            // since the last sweep (by a drain for another task): take it if it is there.
            let reason = take_down(core, self.reference).unwrap_or(ExitReason::NoProc);
            return Some(Seen::Down(self.reason_of(reason)));
        }
        None
    }

    /// Waits until the task is gone (its `DOWN`, or the monitor found spent) or `deadline`
    /// passes (`None`). A reply seen meanwhile is kept for [`Handle::take_reply`].
    pub(crate) fn wait_down(
        &mut self,
        deadline: Option<Instant>,
        at: &'static Location<'static>,
    ) -> Option<ExitReason> {
        let reason = wait_until(deadline, at, |core| {
            self.look_at_slot();
            if let Some(reason) = self.down.take().or_else(|| take_down(core, self.reference)) {
                self.look_at_slot();
                return Some(self.reason_of(reason));
            }
            // Demonitored, or its DOWN taken by somebody else: nothing more will come.
            (!monitor_active(core, self.reference)).then(|| self.reason_of(ExitReason::NoProc))
        })?;
        self.finished = true;
        Some(reason)
    }

    /// The reply, if [`Handle::wait_down`] saw one.
    pub(crate) fn take_reply(&mut self) -> Option<T> {
        self.look_at_slot();
        self.replied.take()
    }
}

/// Takes the `DOWN` of monitor `reference` out of the mailbox, if it is there. Owner only.
fn take_down(core: &ProcessCore, reference: Ref) -> Option<ExitReason> {
    match core
        .take_system_message(|s| matches!(s, Signal::Down { reference: r, .. } if *r == reference))
    {
        Some(Signal::Down { reason, .. }) => Some(reason),
        _ => None,
    }
}

/// Takes every `DOWN` whose monitor `ours` accepts, in one pass per message. Owner only.
pub(crate) fn take_downs(
    core: &ProcessCore,
    mut ours: impl FnMut(Ref) -> bool,
) -> Vec<(Ref, ExitReason)> {
    let mut downs = Vec::new();
    while let Some(Signal::Down {
        reference, reason, ..
    }) = core
        .take_system_message(|s| matches!(s, Signal::Down { reference, .. } if ours(*reference)))
    {
        downs.push((reference, reason));
    }
    downs
}

/// Hands each `DOWN` of `downs` to the handle it belongs to.
pub(crate) fn deliver_downs<'a, T: 'a>(
    downs: Vec<(Ref, ExitReason)>,
    handles: impl Iterator<Item = &'a mut Handle<T>>,
) {
    if downs.is_empty() {
        return;
    }
    let mut downs = downs;
    for handle in handles {
        if let Some(i) = downs.iter().position(|(r, _)| *r == handle.reference) {
            handle.down = Some(downs.swap_remove(i).1);
        }
    }
}

/// Whether the calling process still holds monitor `reference` (its `DOWN` not handled yet).
/// A monitor leaves the holder's relations only on the holder's own thread, when its `DOWN`
/// is handled (and then queued as a message) or when it is demonitored, so after a safe point
/// "not held and no `DOWN` queued" means the `DOWN` was taken by somebody else.
fn monitor_active(core: &ProcessCore, reference: Ref) -> bool {
    core.with_relations(|r| r.monitors.iter().any(|(m, _)| *m == reference))
        .unwrap_or(false)
}

/// The deadline `timeout` from now (`None`: never).
pub(crate) fn deadline(timeout: Timeout) -> Option<Instant> {
    match timeout {
        Timeout::Infinity => None,
        Timeout::After(d) => Some(Instant::now() + d),
    }
}

/// Runs `step` after a safe point until it returns something, or until `deadline` passes
/// (`None`). Parks between tries: a reply, a message or a signal wakes the process. The safe
/// point is what makes a linked task's crash end an owner that does not trap exits.
pub(crate) fn wait_until<R>(
    deadline: Option<Instant>,
    at: &'static Location<'static>,
    mut step: impl FnMut(&CoreRef) -> Option<R>,
) -> Option<R> {
    let core = context::expect_process("otp::task");
    budget::consume(1);
    loop {
        core.safepoint();
        if let Some(r) = step(&core) {
            // A drain inside `step` may have doomed the process (a linked task's crash): that
            // comes before any result.
            core.check_exit();
            core.set_current(None);
            return Some(r);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            core.set_current(None);
            return None;
        }
        mailbox::wait_until(&core, deadline, at);
    }
}

/// Removes the link between the calling process and `pid` without spending reductions, so
/// that nothing (no yield, no safe point) comes between it and what the caller does next.
/// An `EXIT` from `pid` already queued as a message is removed too.
pub(crate) fn unlink_now(me: &CoreRef, pid: &AnyPid) {
    me.remove_link(pid);
    pid.core().remove_link(&AnyPid::from_core(me.clone()));
    me.drain();
    me.remove_system_message(|s| matches!(s, Signal::Exit { from, .. } if from == pid));
}

/// Sends an exit signal to `pid` (as `process::exit` does) without spending reductions.
pub(crate) fn send_exit(me: &CoreRef, pid: &AnyPid, reason: ExitReason) {
    pid.core().send_signal(Signal::Exit {
        from: AnyPid::from_core(me.clone()),
        reason,
        linked: false,
    });
}

/// Forgets monitor `reference` of `owner` on `target` from outside the owner (a task handle
/// dropped by another process): its `DOWN`, if it comes, is dropped on arrival.
pub(crate) fn forget_monitor(owner: &ProcessCore, target: &ProcessCore, reference: Ref) {
    if owner.remove_monitor(reference).is_some() {
        target.with_relations(|r| r.monitored_by.retain(|(m, _)| *m != reference));
    }
}
