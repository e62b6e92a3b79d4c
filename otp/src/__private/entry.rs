//! Support for `#[otp::main]`. (`#[otp::test]` expands to the public
//! [`otp::testing::run_test`](crate::testing::run_test).)
//!
//! The user's `main` becomes a nested function run as the root process of a runtime built from
//! the attribute's settings. Its return value may be anything `main` may return (a
//! [`Termination`]), `Send` or not (`Box<dyn Error>` is not): it is turned into an [`ExitCode`]
//! inside the process, where `Termination::report` also prints an error the way `main` would.
//! [`MainResult`] is `Termination` under another name, so that a wrong return type is reported
//! in words about `#[otp::main]`.

use std::process::{ExitCode, Termination};

use crate::{process::ProcessFn, Builder, Mailbox};

/// What `#[otp::main]` may return: what `main` may return.
#[diagnostic::on_unimplemented(
    message = "an #[otp::main] function returns what `main` may: `()`, `Result<(), E>` with `E: Debug`, an `ExitCode`, not `{Self}`",
    label = "returns `{Self}`"
)]
pub trait MainResult {
    /// The exit code, after printing an error as `main` would.
    fn __report(self) -> ExitCode;
}

impl<T: Termination> MainResult for T {
    fn __report(self) -> ExitCode {
        self.report()
    }
}

/// Runs `f` as the root process of the runtime `builder` makes; the process's exit code, or
/// failure (with the exit reason on stderr) if it crashed or was killed.
///
/// # Panics
///
/// If the runtime cannot start, as [`otp::run`](crate::run) does.
pub fn run_main<M, A, R, F>(builder: Builder, f: F) -> ExitCode
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: MainResult,
{
    let rt = builder
        .build()
        .unwrap_or_else(|e| panic!("could not start the otp runtime: {e}"));
    match rt.block_on(move |mb: Mailbox<M>| f.call(mb).__report()) {
        Ok(code) => code,
        Err(reason) => {
            eprintln!("** (EXIT) the root process exited: {reason}");
            ExitCode::FAILURE
        }
    }
}
