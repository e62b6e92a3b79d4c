//! GenServer: a server process with state, synchronous calls, asynchronous casts and plain
//! messages, as OTP's `gen_server` and Elixir's `GenServer`.
//!
//! You write the callbacks of [`GenServer`]; the framework runs the process: it receives, calls
//! the right callback, replies, handles timeouts, stops cleanly, and turns a panic in a callback
//! into the server's exit (after calling [`terminate`](GenServer::terminate)).
//!
//! ```
//! use otp::gen_server::{self, CallResult, CastResult, From, GenServer};
//!
//! struct Counter(u64);
//!
//! impl GenServer for Counter {
//!     type Call = ();        // the only request: "increment and tell me"
//!     type Reply = u64;
//!     type Cast = u64;       // "add this much"
//!     type Info = ();
//!     type Continue = ();
//!
//!     fn handle_call(&mut self, _: (), _from: From<u64>) -> CallResult<u64> {
//!         self.0 += 1;
//!         CallResult::reply(self.0)
//!     }
//!
//!     fn handle_cast(&mut self, n: u64) -> CastResult {
//!         self.0 += n;
//!         CastResult::noreply()
//!     }
//! }
//!
//! otp::run(|| {
//!     let counter = gen_server::start_link(Counter(0)).unwrap();
//!     counter.cast(10).unwrap();
//!     assert_eq!(counter.call(()), Ok(11));
//! });
//! ```
//!
//! # Elixir and otp
//!
//! | Elixir | otp |
//! |---|---|
//! | `use GenServer` + callbacks | `impl GenServer for T` |
//! | `init(arg)` → `{:ok, state}` | the value you start is the state; [`init`](GenServer::init) runs in the new process → [`InitResult::Ok`] |
//! | `{:ok, state, timeout \| :hibernate \| {:continue, c}}` | [`InitResult::Ok`]`(`[`Next`]`)` |
//! | `:ignore` / `{:stop, reason}` from init | [`InitResult::Ignore`] / [`InitResult::Stop`] |
//! | `{:reply, r, state}` / `{:noreply, state}` | [`CallResult::Reply`] / [`CallResult::NoReply`] |
//! | `{:stop, reason, reply, state}` / `{:stop, reason, state}` | [`CallResult::Stop`]`(reason, Some(r))` / `(reason, None)` |
//! | `GenServer.reply(from, r)` | [`From::reply`] or [`reply`] |
//! | `GenServer.start_link(M, arg, name: :x)` | [`StartOptions::new`]`().name("x").start_link(state)` |
//! | `{:via, Registry, {reg, key}}` | [`StartOptions::via`] with a [`Via`] |
//! | `GenServer.call(s, req, timeout \\\\ 5000)` | [`Server::call`] / [`Server::call_timeout`] |
//! | `GenServer.cast(s, msg)` | [`Server::cast`] |
//! | `send(s, msg)` → `handle_info` | [`Server::send`] → [`handle_info`](GenServer::handle_info) with [`Info::Message`] |
//! | `:timeout` in `handle_info` | [`Info::Timeout`] |
//! | `GenServer.stop(s, reason, timeout)` | [`Server::stop`] |
//!
//! Where we differ, on purpose:
//!
//! * `call` returns a `Result` ([`CallError`]) instead of exiting the caller; `?` or `unwrap`
//!   gives back Elixir's behaviour. The default timeout is the same 5 s.
//! * A request the server drops without replying (its [`From`] and every clone of it gone) fails
//!   the call at once with [`CallError::NoReply`] instead of leaving the caller to time out.
//! * A call follows its [`From`], not the server: a server that hands the `From` to another
//!   process and then dies leaves the caller waiting for that process's answer (or its exit
//!   reason, or the timeout). OTP's caller monitors the server and would fail at once.
//! * Casting or sending to a *name* nobody holds is an error ([`NotRegistered`]), so a message
//!   sent during a restart is never silently lost; casting to a dead pid is silent, as `send` is.
//!
//! # Stackless when idle
//!
//! A server holds no stack between messages: its state lives on the heap and each batch of
//! messages is handled on a pooled stack that goes back to the pool when the mailbox is empty. A
//! callback that blocks (a call to another server) keeps its stack until it returns. So an idle
//! server costs its state plus the process record, and idle servers move freely between
//! schedulers. See `book/src/internals/` for the mechanism.
//!
//! [`NotRegistered`]: crate::process::NotRegistered

mod call;
mod driver;
mod name;
mod server;
mod start;

use std::time::Duration;

pub use self::{
    call::{reply, CallError, From, ReplyTo},
    name::{Name, Via},
    server::{RequestId, Server},
    start::{start, start_link, StartError, StartOptions},
};
use crate::{
    process::{AnyPid, ExitReason, Ref},
    Timeout,
};

/// The default `call` timeout: 5 seconds, as in OTP.
pub const DEFAULT_CALL_TIMEOUT: Timeout = Timeout::After(Duration::from_secs(5));

/// What a server does after a callback, besides waiting for the next message (OTP's optional
/// last element of a callback's return: `timeout`, `:hibernate`, `{:continue, c}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Next<C = ()> {
    /// Wait for the next message.
    #[default]
    Wait,
    /// Wait, but if no message arrives within this time, get [`Info::Timeout`]. Any message
    /// cancels it.
    Timeout(Duration),
    /// Wait, holding as little memory as possible. Every idle server already holds no stack
    /// and gives back its mailbox's spare memory, so this is the same as [`Next::Wait`]; it is
    /// here so code written for OTP reads the same.
    Hibernate,
    /// Call [`handle_continue`](GenServer::handle_continue) with this before any message.
    Continue(C),
}

/// What [`init`](GenServer::init) decided.
#[derive(Debug)]
#[must_use]
pub enum InitResult<C = ()> {
    /// Started: the starter's `start` returns `Ok`.
    Ok(Next<C>),
    /// Don't run after all: the process exits `normal` and `start` returns
    /// [`StartError::Ignore`] (a supervisor keeps the child spec but no process).
    Ignore,
    /// Failed: the process exits with this reason and `start` returns
    /// [`StartError::Stopped`] with it.
    Stop(ExitReason),
}

impl<C> InitResult<C> {
    /// `{:ok, state}`.
    pub fn ok() -> Self {
        InitResult::Ok(Next::Wait)
    }
}

/// What [`handle_call`](GenServer::handle_call) decided.
#[derive(Debug)]
#[must_use]
pub enum CallResult<R, C = ()> {
    /// `{:reply, r, state}`: answer the caller now.
    Reply(R, Next<C>),
    /// `{:noreply, state}`: answer later with [`From::reply`] (or never: if every copy of the
    /// [`From`] is dropped, the caller gets [`CallError::NoReply`]).
    NoReply(Next<C>),
    /// `{:stop, reason, reply, state}` with `Some(reply)` (the reply is sent before
    /// [`terminate`](GenServer::terminate) runs), or `{:stop, reason, state}` with `None` (the
    /// caller gets [`CallError::Exit`] with `reason`).
    Stop(ExitReason, Option<R>),
}

impl<R, C> CallResult<R, C> {
    /// `{:reply, r, state}`.
    pub fn reply(r: R) -> Self {
        CallResult::Reply(r, Next::Wait)
    }

    /// `{:noreply, state}`.
    pub fn noreply() -> Self {
        CallResult::NoReply(Next::Wait)
    }

    /// The same decision with the reply (if any) passed through `f`.
    ///
    /// ```
    /// use otp::gen_server::{CallResult, Next};
    ///
    /// let r: CallResult<u8> = CallResult::reply(7);
    /// assert!(matches!(r.map_reply(u32::from), CallResult::Reply(7u32, Next::Wait)));
    /// ```
    pub fn map_reply<R2>(self, f: impl FnOnce(R) -> R2) -> CallResult<R2, C> {
        match self {
            CallResult::Reply(r, next) => CallResult::Reply(f(r), next),
            CallResult::NoReply(next) => CallResult::NoReply(next),
            CallResult::Stop(reason, r) => CallResult::Stop(reason, r.map(f)),
        }
    }
}

/// What [`handle_cast`](GenServer::handle_cast), [`handle_info`](GenServer::handle_info) and
/// [`handle_continue`](GenServer::handle_continue) decided.
#[derive(Debug)]
#[must_use]
pub enum CastResult<C = ()> {
    /// `{:noreply, state}`.
    NoReply(Next<C>),
    /// `{:stop, reason, state}`.
    Stop(ExitReason),
}

impl<C> CastResult<C> {
    /// `{:noreply, state}`.
    pub fn noreply() -> Self {
        CastResult::NoReply(Next::Wait)
    }
}

/// What [`handle_info`](GenServer::handle_info) receives: a plain message, a trapped exit, a
/// monitor's `DOWN`, or the idle timeout.
#[derive(Debug)]
#[non_exhaustive]
pub enum Info<M> {
    /// A message sent with [`Server::send`].
    Message(M),
    /// `{:EXIT, from, reason}` while trapping exits (an EXIT from the server's parent is not
    /// delivered: the server terminates with that reason, as OTP's do).
    Exit {
        /// The process the signal came from.
        from: AnyPid,
        /// Its reason.
        reason: ExitReason,
    },
    /// `{:DOWN, ref, :process, pid, reason}`.
    Down {
        /// The monitor's reference.
        reference: Ref,
        /// The process that exited.
        pid: AnyPid,
        /// Its exit reason.
        reason: ExitReason,
    },
    /// No message arrived within the [`Next::Timeout`] the last callback asked for.
    Timeout,
}

/// A server's callbacks. The implementing type is the server's state.
///
/// Every callback has a default except [`handle_call`](GenServer::handle_call)'s and
/// [`handle_cast`](GenServer::handle_cast)'s useful behaviour: by default a call or a cast
/// stops the server with reason `{:bad_call, _}` / `{:bad_cast, _}` (OTP raises in the same
/// place), so a server that never gets calls can name `std::convert::Infallible` as its
/// [`Call`](GenServer::Call) type and skip the callback.
///
/// A panic in any callback ends the server: [`terminate`](GenServer::terminate) runs, then the
/// process exits with an [`ExitReason::Panic`] that its links, monitors and supervisor see (and
/// that a caller waiting on it gets as [`CallError::Exit`]).
///
/// ```
/// use std::time::Duration;
/// use otp::gen_server::{self, CallResult, CastResult, From, GenServer, Info, InitResult, Next};
///
/// /// A stack that forgets everything after 50 ms without a message.
/// struct Stack(Vec<i32>);
///
/// enum Request { Pop }
///
/// impl GenServer for Stack {
///     type Call = Request;
///     type Reply = Option<i32>;
///     type Cast = i32;
///     type Info = ();
///     type Continue = ();
///
///     fn init(&mut self) -> InitResult {
///         InitResult::Ok(Next::Timeout(Duration::from_millis(50)))
///     }
///
///     fn handle_call(&mut self, Request::Pop: Request, _: From<Option<i32>>) -> CallResult<Option<i32>> {
///         CallResult::Reply(self.0.pop(), Next::Timeout(Duration::from_millis(50)))
///     }
///
///     fn handle_cast(&mut self, x: i32) -> CastResult {
///         self.0.push(x);
///         CastResult::NoReply(Next::Timeout(Duration::from_millis(50)))
///     }
///
///     fn handle_info(&mut self, info: Info<()>) -> CastResult {
///         if let Info::Timeout = info {
///             self.0.clear();
///         }
///         CastResult::noreply()
///     }
/// }
///
/// otp::run(|| {
///     let s = gen_server::start_link(Stack(vec![])).unwrap();
///     s.cast(1).unwrap();
///     assert_eq!(s.call(Request::Pop), Ok(Some(1)));
/// });
/// ```
pub trait GenServer: Sized + Send + 'static {
    /// Requests for [`handle_call`](GenServer::handle_call).
    type Call: Send + 'static;
    /// Replies to calls.
    type Reply: Send + 'static;
    /// Messages for [`handle_cast`](GenServer::handle_cast).
    type Cast: Send + 'static;
    /// Plain messages for [`handle_info`](GenServer::handle_info).
    type Info: Send + 'static;
    /// What [`Next::Continue`] carries to [`handle_continue`](GenServer::handle_continue).
    type Continue: Send + 'static;

    /// Runs first, in the new process, before `start` returns. Default: `{:ok, state}`.
    fn init(&mut self) -> InitResult<Self::Continue> {
        InitResult::ok()
    }

    /// A synchronous request. Default: stops the server with `{:bad_call, _}`.
    fn handle_call(
        &mut self,
        request: Self::Call,
        from: From<Self::Reply>,
    ) -> CallResult<Self::Reply, Self::Continue> {
        drop((request, from));
        CallResult::Stop(not_implemented::<Self>("bad_call"), None)
    }

    /// An asynchronous request. Default: stops the server with `{:bad_cast, _}`.
    fn handle_cast(&mut self, request: Self::Cast) -> CastResult<Self::Continue> {
        drop(request);
        CastResult::Stop(not_implemented::<Self>("bad_cast"))
    }

    /// Everything else: plain messages, trapped exits, `DOWN`s, the idle timeout. Default: logs
    /// the unexpected message (as OTP does) and carries on.
    fn handle_info(&mut self, info: Info<Self::Info>) -> CastResult<Self::Continue> {
        let what = match &info {
            Info::Message(_) => "a message".to_owned(),
            Info::Exit { from, reason } => format!("{{:EXIT, {from}, {reason}}}"),
            Info::Down { pid, reason, .. } => format!("{{:DOWN, _, :process, {pid}, {reason}}}"),
            Info::Timeout => ":timeout".to_owned(),
        };
        tracing::warn!(
            server = std::any::type_name::<Self>(),
            "{} received unexpected {what} in handle_info (no handle_info implemented)",
            std::any::type_name::<Self>()
        );
        CastResult::noreply()
    }

    /// Work asked for with [`Next::Continue`]. Default: stops the server with
    /// `{:bad_continue, _}`.
    fn handle_continue(&mut self, continuation: Self::Continue) -> CastResult<Self::Continue> {
        drop(continuation);
        CastResult::Stop(not_implemented::<Self>("bad_continue"))
    }

    /// The server is stopping with `reason`: a callback returned `Stop`, a callback panicked,
    /// [`Server::stop`] was called, or (while trapping exits) its parent exited. Not called
    /// when the server is killed or dies from an exit signal it doesn't trap. Default: nothing.
    fn terminate(&mut self, reason: &ExitReason) {
        let _ = reason;
    }
}

/// Used by `#[gen_server]`'s expansion: a compile-time check, spanned at the user's type, that
/// a message or reply can travel between processes.
#[doc(hidden)]
pub fn __assert_message<T: Send + 'static>() {}

/// The reason a default callback stops with: `{:bad_call, Server}` and the like.
fn not_implemented<G>(what: &'static str) -> ExitReason {
    #[derive(Debug)]
    #[allow(dead_code, reason = "read through Debug, in the exit reason")]
    struct NotImplemented(&'static str, &'static str);
    tracing::error!(
        "{} received a request but does not implement the callback for it ({what})",
        std::any::type_name::<G>()
    );
    ExitReason::custom(NotImplemented(what, std::any::type_name::<G>()))
}
