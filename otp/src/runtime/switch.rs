//! The one place a running process hands control back to its scheduler.

use crate::{process::core::Suspend, runtime::context};

/// Suspends the current process until its scheduler resumes it. After a yield, runs the
/// safe-point work (drains signals, unwinds if it must exit); after a wait, the caller does.
///
/// Must be called on a process's own stack.
pub(crate) fn suspend(why: Suspend) {
    if std::thread::panicking() {
        // The process is unwinding (a panic, a kill, an exit) and a destructor called the
        // runtime. Switching away now would leave this thread "panicking" for whichever process
        // runs next (a panic there would abort the node), so runtime calls made during an unwind
        // never switch: yields return at once, waits poll.
        return;
    }
    let (core, yielder) = context::current_for_switch();
    assert!(!core.is_null(), "suspend called outside a process");
    // SAFETY: the process table holds a strong reference to the running process for the whole
    // slice, and this process is the one running (we are on its stack); it is also the same
    // process after the switch, since a started process never migrates. No refcount traffic.
    let core = unsafe { &*core };
    debug_assert!(!yielder.is_null());
    // SAFETY: `yielder` is the yielder of the coroutine being resumed, which is ours (we are
    // running on it): set by its entry, published by the scheduler for this resume, valid
    // while the coroutine lives, which it does.
    unsafe { (*yielder).suspend(why) };
    match why {
        // A yield is a safe point: look at signals (a kill must reach a compute loop).
        Suspend::Yield => core.safepoint(),
        // A waiter (receive, sleep) goes on to look at its mailbox itself, taking signals in
        // arrival order as it does.
        Suspend::Wait => {}
        Suspend::Done => unreachable!("only a worker's loop is done"),
    }
}
