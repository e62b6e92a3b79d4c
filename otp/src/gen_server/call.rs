//! The two ends of a call: [`From`], which a server replies through, and [`CallError`], what a
//! caller gets instead of a reply.
//!
//! A call does not go through the caller's mailbox: the caller waits on a reply slot
//! (`process::reply`) whose promise half travels with the request as a [`From`]. The server
//! keeps one copy while its handler runs and the handler gets another, so a handler may reply
//! now (return [`CallResult::Reply`](super::CallResult::Reply)), later (keep the `From`, call
//! [`From::reply`]), or from another process (send the `From` there). When every copy is gone
//! without a reply, the caller learns at once why: the server's exit reason if it died holding
//! the request, [`CallError::NoReply`] if it just dropped it.

use std::fmt;

use super::GenServer;
use crate::process::{reply::Promise, AnyPid, ExitReason};

/// Where a call came from, and the way to answer it (OTP's `From`). `Clone`: the first reply
/// wins, later ones are dropped.
///
/// ```
/// use otp::gen_server::{self, CallResult, From, GenServer};
///
/// /// Hands each request to a worker process, which answers the caller itself.
/// struct Dispatcher;
///
/// impl GenServer for Dispatcher {
///     type Call = u32;
///     type Reply = u32;
///     type Cast = ();
///     type Info = ();
///     type Continue = ();
///
///     fn handle_call(&mut self, n: u32, from: From<u32>) -> CallResult<u32> {
///         otp::spawn(move || {
///             from.reply(n * 2);
///         });
///         CallResult::noreply() // free for the next request meanwhile
///     }
/// }
///
/// otp::run(|| {
///     let server = gen_server::start_link(Dispatcher).unwrap();
///     assert_eq!(server.call(21), Ok(42));
/// });
/// ```
pub struct From<R> {
    promise: Promise<R>,
}

impl<R> From<R> {
    pub(crate) fn new(promise: Promise<R>) -> From<R> {
        From { promise }
    }

    /// The server's own copy of a call's `From`, made from the one in the request, which the
    /// driver owns outright (cheaper than [`Clone`]: no locked increment).
    pub(crate) fn split(&mut self) -> From<R> {
        From {
            promise: self.promise.split(),
        }
    }

    /// Answers the call (`GenServer.reply/2`). Returns false if it was already answered (by
    /// another copy, or by the server's `Reply`); the value is then dropped. A caller that has
    /// timed out never sees it either.
    pub fn reply(self, value: R) -> bool {
        self.promise.fulfil(value)
    }

    /// The calling process.
    pub fn caller(&self) -> AnyPid {
        AnyPid::from_core(self.promise.waiter().clone())
    }

    /// Whether the call has been answered already.
    pub fn is_answered(&self) -> bool {
        self.promise.is_done()
    }
}

impl<R> Clone for From<R> {
    fn clone(&self) -> Self {
        From {
            promise: self.promise.clone(),
        }
    }
}

impl<R> fmt::Debug for From<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "From({})", self.caller())
    }
}

/// A [`From`] for one kind of reply: what a handler written with
/// [`#[gen_server]`](macro@crate::gen_server) takes to answer later. The server's replies are one
/// generated enum; a `ReplyTo<S, T>` wraps a `T` into the right variant of it, so the handler
/// deals only in its own reply type. `Clone`: the first reply wins.
///
/// ```
/// use otp::gen_server::{CallResult, ReplyTo};
///
/// struct Deferred;
///
/// #[otp::gen_server]
/// impl Deferred {
///     /// Answers from another process, leaving the server free meanwhile.
///     #[call]
///     fn double(&mut self, n: u32, reply_to: ReplyTo<Self, u32>) -> CallResult<u32> {
///         otp::spawn(move || {
///             reply_to.reply(n * 2);
///         });
///         CallResult::noreply()
///     }
/// }
///
/// otp::run(|| {
///     let server = DeferredClient::start_link(Deferred).unwrap();
///     assert_eq!(server.double(21), Ok(42));
/// });
/// ```
pub struct ReplyTo<S: GenServer, T> {
    from: From<S::Reply>,
    wrap: fn(T) -> S::Reply,
}

impl<S: GenServer, T> ReplyTo<S, T> {
    /// Used by generated code: `from`, answering with `wrap(value)`.
    #[doc(hidden)]
    pub fn new(from: From<S::Reply>, wrap: fn(T) -> S::Reply) -> ReplyTo<S, T> {
        ReplyTo { from, wrap }
    }

    /// Answers the call; false if it was already answered (see [`From::reply`]).
    pub fn reply(self, value: T) -> bool {
        self.from.reply((self.wrap)(value))
    }

    /// The calling process.
    pub fn caller(&self) -> AnyPid {
        self.from.caller()
    }

    /// Whether the call has been answered already.
    pub fn is_answered(&self) -> bool {
        self.from.is_answered()
    }

    /// The untyped [`From`] underneath.
    pub fn into_from(self) -> From<S::Reply> {
        self.from
    }
}

impl<S: GenServer, T> Clone for ReplyTo<S, T> {
    fn clone(&self) -> Self {
        ReplyTo {
            from: self.from.clone(),
            wrap: self.wrap,
        }
    }
}

impl<S: GenServer, T> fmt::Debug for ReplyTo<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplyTo({})", self.caller())
    }
}

/// Answers a call (`GenServer.reply(from, reply)`); the same as [`From::reply`].
///
/// ```
/// use otp::gen_server::{self, CallResult, From, GenServer};
///
/// struct Echo;
///
/// impl GenServer for Echo {
///     type Call = String;
///     type Reply = String;
///     type Cast = ();
///     type Info = ();
///     type Continue = ();
///
///     fn handle_call(&mut self, s: String, from: From<String>) -> CallResult<String> {
///         gen_server::reply(from, s);
///         CallResult::noreply()
///     }
/// }
///
/// otp::run(|| {
///     let echo = gen_server::start_link(Echo).unwrap();
///     assert_eq!(echo.call("hi".to_owned()).as_deref(), Ok("hi"));
/// });
/// ```
pub fn reply<R>(from: From<R>, value: R) -> bool {
    from.reply(value)
}

/// Why a call got no reply. Elixir's `GenServer.call` exits the caller with these reasons; here
/// they are values (use `?`, or `unwrap` to crash like Elixir).
///
/// ```
/// use otp::gen_server::{self, CallError, GenServer, Server};
///
/// struct Nothing;
/// impl GenServer for Nothing {
///     type Call = ();
///     type Reply = ();
///     type Cast = ();
///     type Info = ();
///     type Continue = ();
/// }
///
/// otp::run(|| {
///     let nobody = Server::<Nothing>::named("nobody");
///     assert_eq!(nobody.call(()), Err(CallError::NoProc));
/// });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CallError {
    /// No such server: the pid is dead, or nobody holds the name (`:noproc`).
    NoProc,
    /// A server called itself (`:calling_self`): it could never answer.
    CallingSelf,
    /// No reply within the timeout (`:timeout`). The request may still be handled; a late reply
    /// is dropped.
    Timeout,
    /// The server exited with this reason before replying (it stopped, crashed, or was killed
    /// with the request in its mailbox or in hand).
    ///
    /// A request that was already queued behind the signal that killed the server fails this
    /// way too (with `killed`, say): the server was alive when the request reached it. The
    /// BEAM, whose call sets up a monitor that arrives after the kill, reports `noproc` in that
    /// case.
    Exit(ExitReason),
    /// The server is alive but dropped the request without replying (every copy of its
    /// [`From`] is gone). OTP would leave the caller to time out.
    NoReply,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::NoProc => f.write_str("call failed: no process (:noproc)"),
            CallError::CallingSelf => f.write_str("call failed: process attempted to call itself"),
            CallError::Timeout => f.write_str("call failed: no reply in time (:timeout)"),
            CallError::Exit(reason) => write!(f, "call failed: the server exited with {reason}"),
            CallError::NoReply => {
                f.write_str("call failed: the server dropped the request without replying")
            }
        }
    }
}

impl std::error::Error for CallError {}
