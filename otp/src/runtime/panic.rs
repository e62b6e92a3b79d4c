//! Panics inside processes: caught at the process boundary, turned into exit reasons.
//!
//! A process-wide panic hook (installed once, chaining to the previous one) notices panics on a
//! scheduler thread while a process runs, records the message and location for the exit reason,
//! and stays quiet: the runtime logs the crash once, through `tracing`, the way Elixir's Logger
//! reports a crashed process. Panics anywhere else go to the previous hook unchanged.

use std::{
    any::Any,
    cell::RefCell,
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

thread_local! {
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// Installs the hook (once per OS process).
pub(crate) fn install_hook() {
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let in_process =
                context::with_scheduler(|s| s.is_some_and(|s| !s.current.get().is_null()));
            if in_process {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                // What the process will exit with if nothing catches this panic, for
                // destructors that run during the unwind (see `process::dying`).
                if !info.payload().is::<ExitUnwind>() {
                    let message = message_of(info.payload());
                    dying::set_unwinding(ExitReason::Panic(Arc::new(PanicReason::new(
                        message,
                        location.clone(),
                    ))));
                }
                LAST_LOCATION.with(|c| *c.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, catching a panic.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Box<dyn Any + Send>> {
    LAST_LOCATION.with(|c| c.borrow_mut().take());
    dying::clear_unwinding();
    panic::catch_unwind(AssertUnwindSafe(f))
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
pub(crate) fn reason(payload: &(dyn Any + Send)) -> ExitReason {
    let location = LAST_LOCATION.with(|c| c.borrow_mut().take());
    match dying::take_unwinding() {
        Some(reason @ ExitReason::Panic(_)) => reason,
        _ => ExitReason::Panic(Arc::new(PanicReason::new(message_of(payload), location))),
    }
}
