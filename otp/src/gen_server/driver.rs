//! The server process itself: the loop OTP's `gen_server` module runs, as an activation.
//!
//! A server is a behaviour process (see `process::core::Activation`): each activation takes
//! the messages waiting in its mailbox one at a time, oldest first, and runs the callback for
//! each; when the mailbox is empty it hands its state back ([`Outcome::Idle`]) and the scheduler
//! returns the stack to the pool. Out of reductions between two messages, it hands itself back
//! as [`Outcome::Yield`], also without a stack. So the only stack a server ever keeps is the one
//! a callback blocks on.
//!
//! Stopping, in every way a server can stop, goes through one place, [`Driver::exit`]:
//! `terminate` (unless the server died from a signal), then the state is dropped with the
//! exit reason set as the dying reason, so every request the server still held (in its state, or
//! the one in hand) fails its caller with that reason.

use std::time::Duration;

use super::{
    call::From, name::Name, start::StartError, CallResult, CastResult, GenServer, Info, InitResult,
    Next,
};
use crate::{
    mailbox::{Mailbox, Message},
    process::{
        core::{Activation, ExitUnwind, Outcome},
        dying,
        reply::Promise,
        AnyPid, ExitReason, Pid,
    },
    runtime::timer::{cancel_timer, send_after, TimerRef},
    runtime::{budget, panic as rt_panic},
};

/// What a server's mailbox holds.
pub(crate) enum Envelope<G: GenServer> {
    Call(G::Call, From<G::Reply>),
    Cast(G::Cast),
    Info(G::Info),
    /// The idle timeout armed with this sequence number fired.
    Timeout(u32),
    /// `GenServer.stop/3`.
    Stop(ExitReason),
}

/// A server between callbacks: its state and the little the loop needs. An idle server is
/// this box, so it is kept to the state and two words.
pub(crate) struct Driver<G: GenServer> {
    server: G,
    /// The process that started it linked (`start_link`): an EXIT from it ends the server.
    parent: Option<AnyPid>,
    /// What few servers use, boxed the first time one does; then kept for the server's life
    /// (the timeout sequence number must never restart).
    rare: Option<Box<Rare>>,
}

/// The rarely used part of a [`Driver`].
#[derive(Default)]
struct Rare {
    /// The name to register at start, and (for `via` names) to unregister at exit.
    name: Option<Name>,
    /// The armed idle timeout, with its sequence number.
    timeout: Option<(TimerRef, u32)>,
    timeout_seq: u32,
}

/// What to do after a message.
enum Flow<R> {
    Go,
    /// Stop with this reason; the request in hand (if any) learns the reason after
    /// `terminate`.
    Stop(ExitReason, Option<From<R>>),
    /// A callback panicked.
    Crash(ExitReason, Option<From<R>>),
}

/// Runs a callback, turning a panic into the reason the server will exit with. Exit unwinds
/// (a kill, an exit signal) keep unwinding: the server dies without `terminate`, as in OTP.
fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, ExitReason> {
    match rt_panic::catch(f) {
        Ok(r) => Ok(r),
        Err(payload) if payload.is::<ExitUnwind>() => std::panic::resume_unwind(payload),
        Err(payload) => Err(rt_panic::reason(&*payload)),
    }
}

impl<G: GenServer> Driver<G> {
    pub(crate) fn new(server: G, parent: Option<AnyPid>, name: Option<Name>) -> Driver<G> {
        let rare = name.map(|name| {
            Box::new(Rare {
                name: Some(name),
                ..Rare::default()
            })
        });
        Driver {
            server,
            parent,
            rare,
        }
    }

    /// The first activation: register, `init`, tell the starter, then serve.
    pub(crate) fn start(mut self: Box<Self>, started: Promise<Result<(), StartError>>) -> Outcome {
        let mb = Mailbox::<Envelope<G>>::attach();
        // Killed before it ever ran: no registration, no init.
        mb.core().safepoint();
        if let Some(rare) = &mut self.rare {
            let registered = rare.name.as_ref().map(|n| n.register(&mb.pid().to_any()));
            if let Some(Err(holder)) = registered {
                started.fulfil(Err(StartError::AlreadyStarted(holder)));
                // Not ours to unregister.
                rare.name = None;
                return self.exit_quietly(ExitReason::Normal);
            }
        }
        // OTP doesn't call `terminate` when `init` fails. It does let the name go before it
        // tells the starter, so that a starter trying again at once finds the name free.
        match guarded(|| self.server.init()) {
            Ok(InitResult::Ok(next)) => {
                started.fulfil(Ok(()));
                drop(started);
                match self.after(next) {
                    Flow::Go => self.serve(mb),
                    Flow::Stop(reason, _) => self.exit(reason, None, INIT),
                    Flow::Crash(reason, _) => self.crash(reason, None, INIT),
                }
            }
            Ok(InitResult::Ignore) => {
                self.unregister(&mb);
                started.fulfil(Err(StartError::Ignore));
                self.exit_quietly(ExitReason::Normal)
            }
            Ok(InitResult::Stop(reason)) => {
                self.unregister(&mb);
                started.fulfil(Err(StartError::Stopped(reason.clone())));
                self.exit_quietly(reason)
            }
            Err(reason) => {
                self.unregister(&mb);
                started.fulfil(Err(StartError::Stopped(reason.clone())));
                self.exit_quietly(reason)
            }
        }
    }

    /// Lets the server's name go now, rather than when the process is gone.
    fn unregister(&mut self, mb: &Mailbox<Envelope<G>>) {
        if let Some(name) = self.rare.as_mut().and_then(|r| r.name.take()) {
            name.unregister(&mb.pid().to_any());
        }
    }

    /// Handles what is in the mailbox, then gives the stack back.
    fn serve(mut self: Box<Self>, mut mb: Mailbox<Envelope<G>>) -> Outcome {
        loop {
            let Some(message) = mb.next_now() else {
                // Idle: no stack, and no spare mailbox memory either.
                mb.release_spare_capacity();
                return Outcome::Idle(self);
            };
            let last = last_message(&message);
            match self.dispatch(message) {
                Flow::Go => {}
                Flow::Stop(reason, pending) => return self.exit(reason, pending, last),
                Flow::Crash(reason, pending) => return self.crash(reason, pending, last),
            }
            if budget::remaining() <= 0 {
                return Outcome::Yield(self);
            }
        }
    }

    fn dispatch(&mut self, message: Message<Envelope<G>>) -> Flow<G::Reply> {
        // Any message cancels an armed idle timeout; only the timeout's own message, if it is
        // still the armed one, becomes `Info::Timeout`.
        let armed = self.rare.as_mut().and_then(|r| r.timeout.take());
        if let Message::User(Envelope::Timeout(seq)) = &message {
            return match armed {
                Some((_, armed_seq)) if armed_seq == *seq => self.info(Info::Timeout),
                // A timeout cancelled too late: it had fired with a message ahead of it, whose
                // handler may have armed a new one. Not a message from anyone: it leaves that
                // one armed.
                armed => {
                    if let Some(rare) = &mut self.rare {
                        rare.timeout = armed;
                    }
                    Flow::Go
                }
            };
        }
        if let Some((timer, _)) = armed {
            cancel_timer(&timer);
        }
        match message {
            Message::User(Envelope::Call(request, mut from)) => {
                let keep = from.split();
                match guarded(|| self.server.handle_call(request, from)) {
                    Ok(CallResult::Reply(reply, next)) => {
                        keep.reply(reply);
                        self.after(next)
                    }
                    Ok(CallResult::NoReply(next)) => {
                        drop(keep);
                        self.after(next)
                    }
                    Ok(CallResult::Stop(reason, Some(reply))) => {
                        keep.reply(reply);
                        Flow::Stop(reason, None)
                    }
                    Ok(CallResult::Stop(reason, None)) => Flow::Stop(reason, Some(keep)),
                    Err(reason) => Flow::Crash(reason, Some(keep)),
                }
            }
            Message::User(Envelope::Cast(request)) => {
                let result = guarded(|| self.server.handle_cast(request));
                self.handled(result)
            }
            Message::User(Envelope::Info(m)) => self.info(Info::Message(m)),
            Message::User(Envelope::Stop(reason)) => Flow::Stop(reason, None),
            Message::User(Envelope::Timeout(_)) => unreachable!("handled above"),
            Message::Exit { from, reason } => {
                if self.parent.as_ref() == Some(&from) {
                    // The parent is going: so are we, with its reason (OTP's rule).
                    Flow::Stop(reason, None)
                } else {
                    self.info(Info::Exit { from, reason })
                }
            }
            Message::Down {
                reference,
                pid,
                reason,
            } => self.info(Info::Down {
                reference,
                pid,
                reason,
            }),
        }
    }

    fn info(&mut self, info: Info<G::Info>) -> Flow<G::Reply> {
        let result = guarded(|| self.server.handle_info(info));
        self.handled(result)
    }

    fn handled(&mut self, result: Result<CastResult<G::Continue>, ExitReason>) -> Flow<G::Reply> {
        match result {
            Ok(CastResult::NoReply(next)) => self.after(next),
            Ok(CastResult::Stop(reason)) => Flow::Stop(reason, None),
            Err(reason) => Flow::Crash(reason, None),
        }
    }

    /// Carries out what a callback asked for besides waiting.
    fn after(&mut self, mut next: Next<G::Continue>) -> Flow<G::Reply> {
        loop {
            match next {
                Next::Wait | Next::Hibernate => return Flow::Go,
                Next::Timeout(after) => {
                    self.arm_timeout(after);
                    return Flow::Go;
                }
                Next::Continue(c) => match guarded(|| self.server.handle_continue(c)) {
                    Ok(CastResult::NoReply(n)) => next = n,
                    Ok(CastResult::Stop(reason)) => return Flow::Stop(reason, None),
                    Err(reason) => return Flow::Crash(reason, None),
                },
            }
        }
    }

    fn arm_timeout(&mut self, after: Duration) {
        let me: Pid<Envelope<G>> = Mailbox::<Envelope<G>>::attach().pid();
        let rare = self.rare.get_or_insert_with(Box::default);
        rare.timeout_seq = rare.timeout_seq.wrapping_add(1);
        let timer = send_after(&me, Envelope::Timeout(rare.timeout_seq), after);
        rare.timeout = Some((timer, rare.timeout_seq));
    }

    /// A callback panicked: `terminate`, then exit with the panic (OTP's crash path).
    fn crash(
        self: Box<Self>,
        reason: ExitReason,
        pending: Option<From<G::Reply>>,
        last: &'static str,
    ) -> Outcome {
        self.exit(reason, pending, last)
    }

    /// The server stops with `reason`: `terminate` (whose own panic, if any, becomes the
    /// reason), then the state goes, and with it every request still held.
    /// `last` says what the server was handling, for the crash report.
    fn exit(
        mut self: Box<Self>,
        reason: ExitReason,
        pending: Option<From<G::Reply>>,
        last: &'static str,
    ) -> Outcome {
        let reason = match guarded(|| self.server.terminate(&reason)) {
            Ok(()) => reason,
            Err(crash) => crash,
        };
        report(std::any::type_name::<G>(), last, &reason);
        dying::scoped(&reason, move || drop((pending, self)));
        Outcome::Exit(reason)
    }

    /// Exits without `terminate` (a failed start).
    fn exit_quietly(self: Box<Self>, reason: ExitReason) -> Outcome {
        dying::scoped(&reason, move || drop(self));
        Outcome::Exit(reason)
    }
}

/// What the crash report says the server was handling when it stopped in `init`.
const INIT: &str = "none (init)";

/// What the crash report says the server was handling when `message` made it stop.
fn last_message<G: GenServer>(message: &Message<Envelope<G>>) -> &'static str {
    match message {
        Message::User(Envelope::Call(..)) => "a call",
        Message::User(Envelope::Cast(_)) => "a cast",
        Message::User(Envelope::Info(_)) => "a message (handle_info)",
        Message::User(Envelope::Timeout(_)) => ":timeout",
        Message::User(Envelope::Stop(_)) => "a stop request",
        Message::Exit { .. } => "an EXIT",
        Message::Down { .. } => "a DOWN",
    }
}

/// Elixir's `GenServer ... terminating` report, for any reason but `normal` and the
/// shutdowns (a crash, or a `Stop` with a reason of the server's own).
fn report(server: &str, last: &str, reason: &ExitReason) {
    if matches!(
        reason,
        ExitReason::Normal | ExitReason::Shutdown | ExitReason::ShutdownWith(_)
    ) {
        return;
    }
    let pid = crate::self_pid();
    match reason {
        ExitReason::Panic(p) => crate::logger::error(
            &pid,
            format_args!(
                "GenServer {pid:?} terminating\n** (panic) {}\n    {}\nLast message: {last}\nServer: {server}",
                p.message(),
                p.location().unwrap_or("(unknown location)"),
            ),
        ),
        other => crate::logger::error(
            &pid,
            format_args!(
                "GenServer {pid:?} terminating\n** (stop) {other}\nLast message: {last}\nServer: {server}"
            ),
        ),
    }
    dying::mark_reported();
}

impl<G: GenServer> Drop for Driver<G> {
    fn drop(&mut self) {
        let Some(rare) = &mut self.rare else {
            return;
        };
        if let Some((timer, _)) = rare.timeout.take() {
            cancel_timer(&timer);
        }
        if let Some(Name::Via(service)) = &rare.name {
            if let Some(me) = crate::runtime::context::current_process() {
                service.unregister_name(&AnyPid::from_core(me));
            }
        }
    }
}

impl<G: GenServer> Activation for Driver<G> {
    fn activate(self: Box<Self>) -> Outcome {
        // SAFETY: `serve` keeps the mailbox to itself (the callbacks never see it) and drops
        // it before it returns, which ends the activation.
        let mb = unsafe { Mailbox::<Envelope<G>>::attach_uncounted() };
        self.serve(mb)
    }
}

#[cfg(test)]
mod tests {
    /// An idle server is its boxed driver: the state and two words.
    #[test]
    fn driver_is_the_state_and_two_words() {
        struct Counter(#[allow(dead_code, reason = "only its size matters")] u64);
        impl super::GenServer for Counter {
            type Call = ();
            type Reply = ();
            type Cast = ();
            type Info = ();
            type Continue = ();
        }
        assert_eq!(
            std::mem::size_of::<super::Driver<Counter>>(),
            8 + 2 * std::mem::size_of::<usize>()
        );
    }
}
