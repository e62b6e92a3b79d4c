//! Support for `#[otp::main]`. (`#[otp::test]` expands to the public
//! [`otp::testing::run_test`](crate::testing::run_test).)
//!
//! The user's `main` becomes a nested function run as the root process of a runtime built from
//! the attribute's settings. Its return value may be anything `main` may return (a
//! [`Termination`]), `Send` or not (`Box<dyn Error>` is not): it is turned into an [`ExitCode`]
//! inside the process, where `Termination::report` also prints an error the way `main` would.

use std::process::{ExitCode, Termination};

use crate::{process::ProcessFn, Builder, Mailbox};

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
    R: Termination,
{
    let rt = builder
        .build()
        .unwrap_or_else(|e| panic!("could not start the otp runtime: {e}"));
    match rt.block_on(move |mb: Mailbox<M>| f.call(mb).report()) {
        Ok(code) => code,
        Err(reason) => {
            eprintln!("** (EXIT) the root process exited: {reason}");
            ExitCode::FAILURE
        }
    }
}
