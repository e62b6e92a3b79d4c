//! A task's crash report, in Elixir's words: `Task #PID<0.112.0> started from #PID<0.96.0>
//! terminating`, the panic, and the function (`Function:` / `Args:`), as `Task.Supervised`
//! logs it, instead of the generic `Process ... raised an exception`.
//!
//! Every task body runs inside [`run`], which holds a guard for the length of the function. The
//! guard only acts if it is dropped while the task unwinds from a panic it raised itself (not
//! an exit signal, which is not reported, as on the BEAM); it then logs the report and marks the
//! exit as reported so the runtime does not log it a second time.

use crate::process::{dying, AnyPid, ExitReason};

/// Runs a task's function `f`, reporting a panic in it as a task crash. `starter` is the
/// process that started the task.
pub(super) fn run<T, F: FnOnce() -> T>(starter: AnyPid, f: F) -> T {
    let _guard = Guard {
        starter,
        function: std::any::type_name::<F>(),
    };
    f()
}

struct Guard {
    starter: AnyPid,
    function: &'static str,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(ExitReason::Panic(panic)) = dying::own_panic() else {
            return;
        };
        let me = crate::self_pid();
        crate::logger::error(
            &me,
            format_args!(
                "Task {me:?} started from {:?} terminating\n** (panic) {}\n    {}\nFunction: {}\n    Args: []",
                self.starter,
                panic.message(),
                panic.location().unwrap_or("(unknown location)"),
                self.function,
            ),
        );
        dying::mark_reported();
    }
}
