//! Panics inside processes: caught at the process boundary, turned into exit reasons.
//!
//! A process-wide panic hook (installed once, chaining to the previous one) notices panics on a
//! scheduler thread while a process runs, records the exit reason (message and location),
//! and stays quiet: the runtime logs the crash once, through `tracing`, the way Elixir's Logger
//! reports a crashed process. A panic in a closure run by the blocking pool ([`catch_quiet`])
//! is recorded the same way and handed back to the waiting process as a value. Panics anywhere
//! else go to the previous hook unchanged.

use std::{
    any::Any,
    cell::{Cell, RefCell},
    panic::{self, AssertUnwindSafe},
    sync::{Arc, Once},
};

use crate::{
    process::{
        core::ExitUnwind,
        dying,
        exit::{ExitReason, PanicReason},
    },
    runtime::context,
};

static INSTALL: Once = Once::new();

thread_local! {
    /// Set while [`catch_quiet`] runs a closure on this thread.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The panic [`catch_quiet`]'s closure raised, as the hook saw it.
    static CAUGHT: RefCell<Option<PanicReason>> = const { RefCell::new(None) };
}

/// Installs the hook (once per OS process).
pub(crate) fn install_hook() {
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let in_process =
                context::with_scheduler(|s| s.is_some_and(|s| !s.current.get().is_null()));
            if QUIET.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                let reason = PanicReason::new(message_of(info.payload()), location);
                CAUGHT.with(|c| *c.borrow_mut() = Some(reason));
            } else if in_process {
                // What the process will exit with if nothing catches this panic, recorded
                // now (the payload no longer knows its location once caught) and read by
                // destructors that run during the unwind (see `process::dying`).
                if !info.payload().is::<ExitUnwind>() {
                    let location = info
                        .location()
                        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                    dying::set_unwinding(ExitReason::Panic(Arc::new(PanicReason::new(
                        message_of(info.payload()),
                        location,
                    ))));
                }
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, catching a panic.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Box<dyn Any + Send>> {
    panic::catch_unwind(AssertUnwindSafe(f))
}

/// Runs `f` on a thread that is not a scheduler (the blocking pool), catching a panic
/// without printing it: the panic's message and location come back as the error. Requires the
/// hook ([`install_hook`]) for the location.
pub(crate) fn catch_quiet<R>(f: impl FnOnce() -> R) -> Result<R, Arc<PanicReason>> {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            QUIET.with(|q| q.set(self.0));
        }
    }
    let _reset = Reset(QUIET.with(|q| q.replace(true)));
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        // The hook's record is this panic's unless the closure caught one of its own and
        // then raised with `resume_unwind` (no hook ran): the messages tell them apart.
        let message = message_of(&*payload);
        match CAUGHT.with(|c| c.borrow_mut().take()) {
            Some(seen) if seen.message() == message => Arc::new(seen),
            _ => Arc::new(PanicReason::new(message, None)),
        }
    })
}

fn message_of(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// The exit reason for a caught panic (not an exit unwind): the one the hook recorded when the
/// panic began, so destructors that ran during the unwind reported the same value.
///
/// Every unwind on a process's thread begins by recording its reason (the hook for a panic,
/// the exit path for an exit), so the recorded one is this panic's unless the payload came
/// from `resume_unwind` without a panic (no hook ran): then its message tells them apart, and
/// the reason has no location.
pub(crate) fn reason(payload: &(dyn Any + Send)) -> ExitReason {
    let message = message_of(payload);
    match dying::take_unwinding() {
        Some(ExitReason::Panic(p)) if p.message() == message => ExitReason::Panic(p),
        _ => ExitReason::Panic(Arc::new(PanicReason::new(message, None))),
    }
}
