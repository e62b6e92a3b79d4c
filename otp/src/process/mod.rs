//! Processes: spawning, identity, exits, names and introspection (Elixir's `Process` module).
//!
//! | Elixir | otp |
//! |---|---|
//! | `spawn(fn -> ... end)` | [`spawn`]`(\|\| ...)` or `spawn(\|mb: Mailbox<M>\| ...)` |
//! | `spawn(Mod, :fun, args)` | [`spawn_apply`]`(fun, args)` |
//! | `self()` | [`self_pid`], or [`Mailbox::pid`](crate::Mailbox::pid) typed |
//! | `send(pid, msg)` | [`Pid::send`](crate::Pid::send) |
//! | `send(:name, msg)` | [`send_named`] |
//! | `exit(reason)` | [`exit`](crate::exit) |
//! | `Process.exit(pid, reason)` | [`process::exit`](exit) |
//! | `Process.flag(:trap_exit, true)` | [`trap_exit`] |
//! | `Process.alive?(pid)` | [`alive`] |
//! | `Process.list()` | [`list`] |
//! | `Process.register/unregister/whereis/registered` | [`register`], [`unregister`], [`whereis`], [`registered`] |
//! | `Process.info(pid)` | [`info`] |
//! | `Process.sleep(ms)` | [`sleep`] |

pub(crate) mod core;
pub(crate) mod core_ref;
pub(crate) mod dying;
pub(crate) mod exit;
mod info;
pub(crate) mod name;
pub(crate) mod pid;
pub(crate) mod reference;
mod relations;
pub(crate) mod reply;
pub(crate) mod spawn;
pub(crate) mod state;

use std::sync::atomic::Ordering::Relaxed;

pub use self::{
    exit::{CustomReason, ExitReason, PanicReason},
    info::{info, ProcessInfo, Status},
    name::{
        register, registered, send_named, unregister, whereis, whereis_typed, NotRegistered,
        RegisterError, SendError, SendErrorKind,
    },
    pid::{AnyPid, Pid},
    reference::{make_ref, Ref},
    relations::{demonitor, demonitor_flush, link, monitor, unlink, NoProc},
    spawn::{
        spawn, spawn_apply, spawn_link, spawn_monitor, Apply, NoMailbox, ProcessFn, SpawnOptions,
    },
};
use crate::runtime::{context, shared};

/// The calling process's pid, untyped (Elixir's `self()`). For a typed pid, use
/// [`Mailbox::pid`](crate::Mailbox::pid).
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// otp::run(|| println!("I am {}", otp::self_pid()));
/// ```
#[track_caller]
pub fn self_pid() -> AnyPid {
    AnyPid::from_core(context::expect_process("otp::self_pid"))
}

/// Whether the process is alive (`Process.alive?/1`): false once it has exited, normally or not.
///
/// ```
/// otp::run(|| {
///     assert!(otp::process::alive(otp::self_pid()));
/// });
/// ```
pub fn alive(pid: impl AsRef<AnyPid>) -> bool {
    pid.as_ref().core().is_alive()
}

/// Every live process of this runtime, sorted by pid (`Process.list/0`).
///
/// ```
/// otp::run(|| {
///     assert!(otp::process::list().contains(&otp::self_pid()));
/// });
/// ```
pub fn list() -> Vec<AnyPid> {
    shared::current()
        .table
        .list()
        .into_iter()
        .map(AnyPid::from_core)
        .collect()
}

/// Ends the calling process with `reason` (Elixir's `exit/1`). Destructors on its stack run.
/// `exit(ExitReason::Normal)` is a normal exit; `exit(ExitReason::Kill)` ends it with `kill`,
/// which its links receive as an ordinary, trappable reason.
///
/// ```
/// otp::run(|| {
///     otp::spawn(|| otp::exit(otp::ExitReason::custom("boom")));
/// });
/// ```
#[track_caller]
pub fn exit_self(reason: ExitReason) -> ! {
    let core = context::expect_process("otp::exit");
    // SAFETY: we are the process; short borrow.
    let reason = (**unsafe { core.local() }.exit.get_or_insert(Box::new(reason))).clone();
    drop(core);
    crate::process::core::exit_unwind(reason)
}

/// Sends an exit signal to `pid` (`Process.exit/2`), following the BEAM's rules: `normal` is
/// ignored unless the target traps exits (or is the caller itself); `kill` cannot be trapped and
/// ends the target with `killed`; any other reason ends a non-trapping target with that reason
/// and becomes an `EXIT` message for a trapping one. Silent if `pid` is dead.
///
/// ```
/// otp::run(|| {
///     let pid = otp::spawn(|mut mb: otp::Mailbox<()>| mb.receive());
///     otp::process::exit(&pid, otp::ExitReason::Kill);
/// });
/// ```
#[track_caller]
pub fn exit(pid: impl AsRef<AnyPid>, reason: ExitReason) {
    let me = context::expect_process("otp::process::exit");
    let target = pid.as_ref().core();
    let from = AnyPid::from_core(me.clone());
    target.send_signal(core::Signal::Exit {
        from,
        reason,
        linked: false,
    });
    if core_ref::CoreRef::ptr_eq(target, &me) {
        // A signal to oneself takes effect at once, as on the BEAM.
        me.safepoint();
    }
    crate::runtime::budget::consume(1);
}

/// Sets whether the calling process traps exits; returns the previous value
/// (`Process.flag(:trap_exit, value)`). A trapping process receives exit signals (except an
/// untrappable `kill`) as [`Message::Exit`](crate::Message::Exit) messages instead of dying.
///
/// ```
/// use otp::{process, ExitReason, Message};
///
/// otp::run(|mut mb: otp::Mailbox<()>| {
///     assert!(!process::trap_exit(true)); // the previous value
///     otp::spawn_link(|| otp::exit(ExitReason::custom("boom")));
///     assert!(matches!(mb.receive_message(), Message::Exit { reason, .. } if reason == ExitReason::custom("boom")));
/// });
/// ```
#[track_caller]
pub fn trap_exit(value: bool) -> bool {
    context::expect_process("otp::process::trap_exit")
        .trap_exit
        .swap(value, Relaxed)
}

pub use crate::mailbox::sleep;
