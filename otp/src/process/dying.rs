//! Why the current process is dying, for destructors that must tell someone.
//!
//! When a process ends, whatever it owned is dropped: its state, the messages still in its
//! mailbox. Some of those are promises to other processes (the reply handle of a pending
//! `call`), and a broken promise must say *why* it broke: the caller of a server that crashed
//! gets the server's exit reason, exactly as a monitor would have told it. This module keeps that
//! reason where such a destructor can read it, on the dropping thread:
//!
//! * **scoped**: set around a drop that the runtime or a behaviour does knowingly (the mailbox
//!   of an exited process, the state of a server that stopped). It belongs to the process that
//!   set it (or to none, in the scheduler), so another process switched in meanwhile, if a
//!   destructor blocks, does not see it.
//! * **unwinding**: set as soon as a process starts to unwind (an exit signal, `exit`, or a
//!   panic, by the panic hook) and read only while the thread is panicking. Nothing switches
//!   processes during an unwind, and every unwind sets it first, so a value left from an
//!   earlier, caught unwind is never read for a later one.

use std::cell::{Cell, RefCell};

use crate::{process::exit::ExitReason, runtime::context};

thread_local! {
    static SCOPED: RefCell<Option<(usize, ExitReason)>> = const { RefCell::new(None) };
    static UNWINDING: RefCell<Option<ExitReason>> = const { RefCell::new(None) };
    /// The exiting process's crash was already reported (by its behaviour, in its own words).
    static REPORTED: Cell<bool> = const { Cell::new(false) };
}

/// The behaviour of the process that is exiting has logged its crash report; the runtime's
/// generic one would say it twice.
pub(crate) fn mark_reported() {
    REPORTED.with(|r| r.set(true));
}

/// Whether the exit being finished on this thread was already reported (and forgets it).
pub(crate) fn take_reported() -> bool {
    REPORTED.with(|r| r.replace(false))
}

fn current() -> usize {
    context::current_raw().addr()
}

/// Runs `f` (a drop) with `reason` as the dying reason of the current process.
pub(crate) fn scoped<R>(reason: &ExitReason, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<(usize, ExitReason)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCOPED.with(|s| *s.borrow_mut() = self.0.take());
        }
    }
    let previous = SCOPED.with(|s| s.borrow_mut().replace((current(), reason.clone())));
    let _restore = Restore(previous);
    f()
}

/// The current process starts to unwind with `reason`.
pub(crate) fn set_unwinding(reason: ExitReason) {
    UNWINDING.with(|u| *u.borrow_mut() = Some(reason));
}

/// Takes the unwinding reason (the catcher knows the outcome now).
pub(crate) fn take_unwinding() -> Option<ExitReason> {
    UNWINDING.with(|u| u.borrow_mut().take())
}

/// While unwinding: the panic the current process raised itself, if that is why it unwinds (not
/// an exit signal, even one carrying a linked process's panic, nor its own `exit`: those set
/// the process's pending exit before they unwind).
pub(crate) fn own_panic() -> Option<ExitReason> {
    if !std::thread::panicking() {
        return None;
    }
    let core = context::current_process()?;
    // SAFETY: we are the process (its code is unwinding on this thread); short borrow.
    if unsafe { core.local() }.exit.is_some() {
        return None;
    }
    UNWINDING
        .with(|u| u.borrow().clone())
        .filter(|r| matches!(r, ExitReason::Panic(_)))
}

/// Why the process dropping something is dying, if it is.
pub(crate) fn reason() -> Option<ExitReason> {
    let me = current();
    let scoped = SCOPED.with(|s| match &*s.borrow() {
        Some((owner, reason)) if *owner == me => Some(reason.clone()),
        _ => None,
    });
    if scoped.is_some() {
        return scoped;
    }
    if std::thread::panicking() {
        return UNWINDING.with(|u| u.borrow().clone());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_reason_is_seen_inside_and_restored_after() {
        assert!(reason().is_none());
        scoped(&ExitReason::Shutdown, || {
            assert_eq!(reason(), Some(ExitReason::Shutdown));
            scoped(&ExitReason::Killed, || {
                assert_eq!(reason(), Some(ExitReason::Killed));
            });
            assert_eq!(reason(), Some(ExitReason::Shutdown));
        });
        assert!(reason().is_none());
    }

    #[test]
    fn unwinding_reason_only_counts_while_panicking() {
        set_unwinding(ExitReason::Killed);
        assert!(reason().is_none(), "not panicking: stale");
        struct Probe(std::sync::mpsc::Sender<Option<ExitReason>>);
        impl Drop for Probe {
            fn drop(&mut self) {
                self.0.send(reason()).unwrap();
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let r = std::panic::catch_unwind(move || {
            let _p = Probe(tx);
            std::panic::resume_unwind(Box::new(()));
        });
        assert!(r.is_err());
        assert_eq!(rx.recv().unwrap(), Some(ExitReason::Killed));
        take_unwinding();
    }
}
