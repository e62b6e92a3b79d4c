//! Shared by the `gen_server_*` tests: watching processes end, and [`Gate`], a server that holds
//! the calls it gets until told to let them go.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use otp::{
    gen_server::{CallResult, CastResult, From, GenServer},
    process, AnyPid, ExitReason, Mailbox, Message, MessageRef, Ref,
};

use crate::common::PROMPTLY;

/// Monitors `pid` and waits for its `DOWN`: how it ended (`NoProc` if it already had).
#[track_caller]
pub fn exit_reason<M: Send + 'static>(mb: &mut Mailbox<M>, pid: impl AsRef<AnyPid>) -> ExitReason {
    let reference = process::monitor(pid);
    down(mb, reference)
}

/// Waits for the `DOWN` of `reference`, leaving every other message where it is.
#[track_caller]
pub fn down<M: Send + 'static>(mb: &mut Mailbox<M>, reference: Ref) -> ExitReason {
    let found = mb.select(
        PROMPTLY,
        |m| matches!(m, MessageRef::Down { reference: r, .. } if r == reference),
    );
    match found {
        Some(Message::Down { reason, .. }) => reason,
        _ => panic!("no DOWN for {reference:?} within {PROMPTLY:?}"),
    }
}

/// Waits for the `EXIT` from `pid` (the caller traps exits), leaving every other message where
/// it is.
#[track_caller]
pub fn exit_from<M: Send + 'static>(mb: &mut Mailbox<M>, pid: impl AsRef<AnyPid>) -> ExitReason {
    let pid = pid.as_ref();
    let found = mb.select(
        PROMPTLY,
        |m| matches!(m, MessageRef::Exit { from, .. } if from == pid),
    );
    match found {
        Some(Message::Exit { reason, .. }) => reason,
        _ => panic!("no EXIT from {pid} within {PROMPTLY:?}"),
    }
}

/// Asserts that nothing at all (message, `EXIT` or `DOWN`) is in the mailbox now.
#[track_caller]
pub fn assert_empty<M: Send + std::fmt::Debug + 'static>(mb: &mut Mailbox<M>) {
    if let Some(m) = mb.select(Duration::ZERO, |_| true) {
        panic!("expected an empty mailbox, found {m:?}");
    }
}

/// Asserts that nothing arrives for `quiet`: the bound for "this does not happen", used only
/// where the thing, if it happened at all, would happen well within it.
#[track_caller]
pub fn assert_quiet<M: Send + std::fmt::Debug + 'static>(mb: &mut Mailbox<M>, quiet: Duration) {
    let deadline = Instant::now() + quiet;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(m) = mb.select(left, |_| true) {
            panic!("expected nothing for {quiet:?}, got {m:?}");
        }
        if left.is_zero() {
            return;
        }
    }
}

/// Whether `reason` is a panic with this message.
pub fn is_panic(reason: &ExitReason, message: &str) -> bool {
    matches!(reason, ExitReason::Panic(p) if p.message() == message)
}

/// A server that holds every call it gets (never answering) until it gets a cast, and calls
/// `on_hold` each time it takes one: the way to block a caller, a callback or an `init` for as
/// long as a test wants, and to know when it is blocked.
pub struct Gate {
    held: Vec<From<()>>,
    on_hold: Box<dyn Fn(AnyPid) + Send>,
}

impl Gate {
    /// A gate that tells `on_hold` the pid of each caller it holds.
    pub fn new(on_hold: impl Fn(AnyPid) + Send + 'static) -> Gate {
        Gate {
            held: Vec::new(),
            on_hold: Box::new(on_hold),
        }
    }
}

impl GenServer for Gate {
    type Call = ();
    type Reply = ();
    /// Let every held call go.
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, (): (), from: From<()>) -> CallResult<()> {
        (self.on_hold)(from.caller());
        self.held.push(from);
        CallResult::noreply()
    }

    fn handle_cast(&mut self, (): ()) -> CastResult {
        for from in self.held.drain(..) {
            from.reply(());
        }
        CastResult::noreply()
    }
}
