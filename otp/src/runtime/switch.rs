//! The one place a running process hands control back to its scheduler.

use crate::{process::core::Suspend, runtime::context};

/// Suspends the current process until its scheduler resumes it, then runs the safe-point work
/// (drains signals, unwinds if it must exit).
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
    let core = context::expect_process("suspend");
    // SAFETY: we are the running process; the borrow ends before the switch.
    let yielder = unsafe { core.local() }.yielder;
    debug_assert!(!yielder.is_null());
    // SAFETY: `yielder` was set by the coroutine's entry and stays valid while the coroutine
    // lives, which it does: we are running on it.
    unsafe { (*yielder).suspend(why) };
    core.safepoint();
}
