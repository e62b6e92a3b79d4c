//! Stopping children the way OTP's supervisors do.
//!
//! For each child: monitor it, unlink it (so its exit reaches us once, as the `DOWN`), drop an
//! `EXIT` it may already have sent, then send `shutdown` (or an untrappable `kill` for
//! `brutal_kill`) and wait for the `DOWN`; a child that has not exited when its shutdown timeout
//! runs out is killed. Runs inside the supervisor's process (a callback that blocks: it keeps its
//! stack until it is done).

use std::{panic::Location, time::Instant};

use super::spec::Shutdown;
use crate::{
    mailbox,
    process::{self, core::Signal, AnyPid, ExitReason, Ref},
    runtime::context,
};

/// Stops one child; returns the reason it exited with.
#[track_caller]
pub(crate) fn shutdown_child(pid: &AnyPid, shutdown: Shutdown) -> ExitReason {
    let at = Location::caller();
    let (reference, wait) = begin(pid, shutdown);
    finish(pid, reference, wait, at)
}

/// Stops several children at once (a `DynamicSupervisor`'s children have no order): every
/// signal goes out first, then the waits.
#[track_caller]
pub(crate) fn shutdown_children(children: &[(AnyPid, Shutdown)]) {
    let at = Location::caller();
    let started: Vec<_> = children
        .iter()
        .map(|(pid, shutdown)| (pid, begin(pid, *shutdown)))
        .collect();
    for (pid, (reference, wait)) in started {
        finish(pid, reference, wait, at);
    }
}

/// How long to wait for a child that was sent its shutdown signal.
enum Wait {
    /// It was killed: its `DOWN` is on the way.
    Killed,
    /// Until this deadline (`None`: as long as it takes), then kill it.
    Until(Option<Instant>),
}

fn begin(pid: &AnyPid, shutdown: Shutdown) -> (Ref, Wait) {
    let me = context::expect_process("supervisor shutdown");
    let reference = process::monitor(pid);
    process::unlink(pid);
    // An EXIT it sent before the unlink may be in the mailbox already; the DOWN now tells us
    // how it ended. (One sent after the unlink is dropped on arrival.)
    me.drain();
    me.remove_system_message(|s| matches!(s, Signal::Exit { from, .. } if from == pid));
    match shutdown {
        Shutdown::BrutalKill => {
            process::exit(pid, ExitReason::Kill);
            (reference, Wait::Killed)
        }
        Shutdown::Timeout(t) => {
            process::exit(pid, ExitReason::Shutdown);
            (reference, Wait::Until(Some(Instant::now() + t)))
        }
        Shutdown::Infinity => {
            process::exit(pid, ExitReason::Shutdown);
            (reference, Wait::Until(None))
        }
    }
}

fn finish(pid: &AnyPid, reference: Ref, wait: Wait, at: &'static Location<'static>) -> ExitReason {
    let me = context::expect_process("supervisor shutdown");
    if let Wait::Until(deadline) = wait {
        if let Some(reason) = mailbox::await_down(&me, reference, deadline, at) {
            return reason;
        }
        tracing::debug!(child = %pid, "child ignored its shutdown; killing it");
        process::exit(pid, ExitReason::Kill);
    }
    mailbox::await_down(&me, reference, None, at).unwrap_or(ExitReason::Killed)
}
