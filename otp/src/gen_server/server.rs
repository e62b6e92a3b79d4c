//! [`Server`]: a handle to a running server, by pid or by name.

use std::{
    fmt,
    marker::PhantomData,
    panic::Location,
    pin::pin,
    time::{Duration, Instant},
};

use super::{
    call::{CallError, From},
    driver::Envelope,
    name::Name,
    GenServer, DEFAULT_CALL_TIMEOUT,
};
use crate::process::core_ref::CoreRef;
use crate::{
    process::{self, reply, AnyPid, ExitReason, NotRegistered, Pid},
    runtime::{
        budget, context,
        timer::{self, Deadline},
    },
    Timeout, TimerRef,
};

/// A handle to a server: `call`, `cast`, `send` and `stop` it. Cheap to clone, `Send` and
/// `Sync`; pass it to any process.
///
/// A handle from [`start`](super::start) points at that process. A handle from
/// [`Server::named`] (or [`Server::from_name`]) looks the name up at every use, so it stays
/// valid across restarts: the supervisor's new incarnation answers under the same name.
///
/// ```
/// use otp::gen_server::{self, CallResult, From, GenServer, Server, StartOptions};
///
/// struct Greeter;
/// impl GenServer for Greeter {
///     type Call = String;
///     type Reply = String;
///     type Cast = ();
///     type Info = ();
///     type Continue = ();
///     fn handle_call(&mut self, name: String, _: From<String>) -> CallResult<String> {
///         CallResult::reply(format!("Hello, {name}!"))
///     }
/// }
///
/// otp::run(|| {
///     StartOptions::new().name("greeter").start_link(Greeter).unwrap();
///     let greeter = Server::<Greeter>::named("greeter");
///     assert_eq!(greeter.call("Joe".into()).unwrap(), "Hello, Joe!");
/// });
/// ```
pub struct Server<G: GenServer> {
    target: Target<G>,
}

enum Target<G: GenServer> {
    Pid(Pid<Envelope<G>>),
    Name(Name),
}

impl<G: GenServer> Clone for Server<G> {
    fn clone(&self) -> Self {
        Server {
            target: match &self.target {
                Target::Pid(p) => Target::Pid(p.clone()),
                Target::Name(n) => Target::Name(n.clone()),
            },
        }
    }
}

impl<G: GenServer> fmt::Debug for Server<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Pid(p) => write!(f, "Server({p})"),
            Target::Name(n) => write!(f, "Server({n})"),
        }
    }
}

impl<G: GenServer> Server<G> {
    pub(crate) fn from_pid(pid: Pid<Envelope<G>>) -> Server<G> {
        Server {
            target: Target::Pid(pid),
        }
    }

    /// A handle to the process `pid`, if it is a server of this type (for a pid from
    /// `which_children`, a DOWN, a registry lookup, ...). `None` for any other process.
    ///
    /// ```
    /// use otp::gen_server::{self, GenServer, Server};
    ///
    /// struct Idle;
    /// impl GenServer for Idle {
    ///     type Call = ();
    ///     type Reply = ();
    ///     type Cast = ();
    ///     type Info = ();
    ///     type Continue = ();
    /// }
    ///
    /// otp::run(|| {
    ///     let pid = gen_server::start_link(Idle).unwrap().pid().unwrap();
    ///     assert!(Server::<Idle>::from_any_pid(&pid).is_some());
    ///     assert!(Server::<Idle>::from_any_pid(&otp::self_pid()).is_none());
    /// });
    /// ```
    pub fn from_any_pid(pid: &AnyPid) -> Option<Server<G>> {
        pid.downcast().map(Server::from_pid)
    }

    /// A handle to whichever process holds the local name `name` at each use.
    pub fn named(name: impl AsRef<str>) -> Server<G> {
        Server::from_name(Name::local(name))
    }

    /// A handle to whichever process holds `name` (local or `via`) at each use.
    pub fn from_name(name: Name) -> Server<G> {
        Server {
            target: Target::Name(name),
        }
    }

    /// The name this handle resolves, if it was made from one.
    pub fn name(&self) -> Option<&Name> {
        match &self.target {
            Target::Name(n) => Some(n),
            Target::Pid(_) => None,
        }
    }

    /// The server's process now: the pid this handle holds, or the current holder of its name.
    /// `None` if nobody holds the name (or holds it with another kind of server).
    pub fn pid(&self) -> Option<AnyPid> {
        self.resolve().map(|p| p.to_any())
    }

    fn resolve(&self) -> Option<Pid<Envelope<G>>> {
        match &self.target {
            Target::Pid(p) => Some(p.clone()),
            Target::Name(n) => n.whereis()?.downcast(),
        }
    }

    fn resolve_or_unregistered(&self) -> Result<Option<Pid<Envelope<G>>>, NotRegistered> {
        match &self.target {
            Target::Pid(p) => Ok(Some(p.clone())),
            Target::Name(n) => match n.whereis().and_then(|p| p.downcast()) {
                Some(p) => Ok(Some(p)),
                None => Err(NotRegistered(n.to_string())),
            },
        }
    }

    /// Calls the server and waits up to 5 s for the reply (`GenServer.call/2`).
    ///
    /// # Errors
    ///
    /// [`CallError`]: no such server, the server calling itself, timeout, the server's exit
    /// reason if it died before replying, or a request dropped unanswered.
    ///
    /// # Panics
    ///
    /// Outside a process.
    #[track_caller]
    pub fn call(&self, request: G::Call) -> Result<G::Reply, CallError> {
        self.call_at(request, DEFAULT_CALL_TIMEOUT, Location::caller())
    }

    /// Calls the server with an explicit timeout (`GenServer.call/3`;
    /// [`Timeout::Infinity`] waits for ever).
    ///
    /// # Errors
    ///
    /// As for [`call`](Server::call).
    #[track_caller]
    pub fn call_timeout(
        &self,
        request: G::Call,
        timeout: impl Into<Timeout>,
    ) -> Result<G::Reply, CallError> {
        self.call_at(request, timeout.into(), Location::caller())
    }

    fn call_at(
        &self,
        request: G::Call,
        timeout: Timeout,
        at: &'static Location<'static>,
    ) -> Result<G::Reply, CallError> {
        // Made before the request goes out, so `wait` need not look at it before its first
        // sleep; relative, so the clock is read only if the call outlasts a scheduler's reading
        // (`runtime::timer::Deadline`).
        let deadline = pin!(Deadline::from_timeout(timeout));
        let waiter = self.request(request, "GenServer::call")?;
        answer(waiter.wait(deadline.as_ref(), at))
    }

    /// Sends `request` with a fresh reply slot and returns the slot's waiting half: the first
    /// half of both `call` and `send_request`. [`CallError::NoProc`] if there is no such server
    /// (now, or by the time the request lands), [`CallError::CallingSelf`] from the server.
    #[track_caller]
    fn request(&self, request: G::Call, what: &str) -> Result<reply::Waiter<G::Reply>, CallError> {
        let pid = self.resolve().ok_or(CallError::NoProc)?;
        let me = context::expect_process(what);
        if CoreRef::ptr_eq(&me, pid.as_any().core()) {
            return Err(CallError::CallingSelf);
        }
        let (promise, waiter) = reply::slot_for(me);
        if !pid
            .as_any()
            .core()
            .send_user(Envelope::<G>::Call(request, From::new(promise)))
        {
            return Err(CallError::NoProc);
        }
        Ok(waiter)
    }

    /// Sends a call without waiting for its reply (`:gen_server.send_request/2`); take the reply
    /// later with [`RequestId::receive_response`]. Several requests, to one server or many, can
    /// be in flight at once, so a process can ask N servers and wait once for all (the replies
    /// come through reply slots, not the mailbox, so the waits are O(1) each).
    ///
    /// ```
    /// use otp::gen_server::{self, CallResult, From, GenServer};
    ///
    /// struct Double;
    /// impl GenServer for Double {
    ///     type Call = u32;
    ///     type Reply = u32;
    ///     type Cast = ();
    ///     type Info = ();
    ///     type Continue = ();
    ///     fn handle_call(&mut self, n: u32, _: From<u32>) -> CallResult<u32> {
    ///         CallResult::reply(n * 2)
    ///     }
    /// }
    ///
    /// otp::run(|| {
    ///     let shards: Vec<_> = (0..4).map(|_| gen_server::start_link(Double).unwrap()).collect();
    ///     let requests: Vec<_> = shards.iter().zip(1..).map(|(s, n)| s.send_request(n).unwrap()).collect();
    ///     let replies: Vec<u32> = requests
    ///         .into_iter()
    ///         .map(|r| r.receive_response(otp::gen_server::DEFAULT_CALL_TIMEOUT).unwrap())
    ///         .collect();
    ///     assert_eq!(replies, [2, 4, 6, 8]);
    /// });
    /// ```
    ///
    /// # Errors
    ///
    /// [`CallError::NoProc`] if there is no such server now, [`CallError::CallingSelf`] from
    /// the server itself; every other outcome comes with the response.
    ///
    /// # Panics
    ///
    /// Outside a process.
    #[track_caller]
    pub fn send_request(&self, request: G::Call) -> Result<RequestId<G>, CallError> {
        Ok(RequestId {
            waiter: self.request(request, "GenServer::send_request")?,
            _owner: PhantomData,
        })
    }

    /// Sends an asynchronous request (`GenServer.cast/2`); never blocks. Silent if the server's
    /// pid is dead, as `send` is.
    ///
    /// # Errors
    ///
    /// For a handle made from a name: [`NotRegistered`] if nobody holds the name now, so a cast
    /// made while a supervisor restarts the server is never silently lost.
    pub fn cast(&self, request: G::Cast) -> Result<(), NotRegistered> {
        self.deliver(Envelope::Cast(request))
    }

    /// Sends a plain message, for [`handle_info`](GenServer::handle_info) (`send/2`).
    ///
    /// # Errors
    ///
    /// As for [`cast`](Server::cast).
    pub fn send(&self, message: G::Info) -> Result<(), NotRegistered> {
        self.deliver(Envelope::Info(message))
    }

    /// Sends a plain message for [`handle_info`](GenServer::handle_info) after `after`
    /// (`Process.send_after(server, msg, ms)`); cancel it with [`cancel_timer`](crate::cancel_timer).
    /// A handle made from a name looks the name up when the timer fires; if nobody holds it
    /// then, the message is dropped, as `send_after` to a name is.
    ///
    /// The usual use is a server scheduling work for itself, through [`Server::current`]:
    ///
    /// ```
    /// use std::time::Duration;
    /// use otp::gen_server::{self, CastResult, GenServer, Info, Server};
    ///
    /// /// Ticks three times, telling `watcher` each time.
    /// struct Ticker { left: u32, watcher: otp::Pid<u32> }
    ///
    /// impl GenServer for Ticker {
    ///     type Call = ();
    ///     type Reply = ();
    ///     type Cast = ();
    ///     type Info = &'static str;
    ///     type Continue = ();
    ///
    ///     fn init(&mut self) -> gen_server::InitResult {
    ///         Server::<Self>::current().unwrap().send_after("tick", Duration::from_millis(1));
    ///         gen_server::InitResult::ok()
    ///     }
    ///
    ///     fn handle_info(&mut self, info: Info<&'static str>) -> CastResult {
    ///         if let Info::Message("tick") = info {
    ///             self.left -= 1;
    ///             self.watcher.send(self.left);
    ///             if self.left > 0 {
    ///                 Server::<Self>::current().unwrap().send_after("tick", Duration::from_millis(1));
    ///             }
    ///         }
    ///         CastResult::noreply()
    ///     }
    /// }
    ///
    /// otp::run(|mut mb: otp::Mailbox<u32>| {
    ///     gen_server::start_link(Ticker { left: 3, watcher: mb.pid() }).unwrap();
    ///     assert_eq!((mb.receive(), mb.receive(), mb.receive()), (2, 1, 0));
    /// });
    /// ```
    pub fn send_after(&self, message: G::Info, after: Duration) -> TimerRef {
        let envelope = Envelope::<G>::Info(message);
        match &self.target {
            Target::Pid(pid) => crate::send_after(pid, envelope, after),
            Target::Name(name) => {
                let name = name.clone();
                timer::set(
                    after,
                    None,
                    Box::new(move || {
                        if let Some(pid) = name.whereis().and_then(|p| p.downcast()) {
                            pid.send(envelope);
                        }
                    }),
                )
            }
        }
    }

    /// The server whose callback is running now, as a handle (`self()` in a GenServer
    /// callback); `None` if the calling process is not a server of this type. See
    /// [`send_after`](Server::send_after) for an example.
    ///
    /// # Panics
    ///
    /// Outside a process.
    pub fn current() -> Option<Server<G>> {
        Server::from_any_pid(&crate::self_pid())
    }

    fn deliver(&self, envelope: Envelope<G>) -> Result<(), NotRegistered> {
        if let Some(pid) = self.resolve_or_unregistered()? {
            let _ = pid.as_any().core().send_user::<Envelope<G>>(envelope);
        }
        budget::consume(1);
        Ok(())
    }

    /// Stops the server with `reason` and waits until it has exited (`GenServer.stop/3`):
    /// [`terminate`](GenServer::terminate) runs first. If it takes longer than `timeout`,
    /// returns [`CallError::Timeout`] (the server keeps stopping).
    ///
    /// # Errors
    ///
    /// [`CallError::NoProc`] if there is no such server; [`CallError::CallingSelf`];
    /// [`CallError::Timeout`]; [`CallError::Exit`] if it exited with another reason than
    /// `reason` (it crashed in `terminate`, or died otherwise meanwhile).
    ///
    /// # Panics
    ///
    /// Outside a process.
    ///
    /// ```
    /// use otp::{gen_server::{self, GenServer}, ExitReason, Timeout};
    ///
    /// struct Idle;
    /// impl GenServer for Idle {
    ///     type Call = ();
    ///     type Reply = ();
    ///     type Cast = ();
    ///     type Info = ();
    ///     type Continue = ();
    /// }
    ///
    /// otp::run(|| {
    ///     let s = gen_server::start(Idle).unwrap();
    ///     s.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
    ///     assert!(s.pid().map_or(true, |p| !otp::process::alive(&p)));
    /// });
    /// ```
    #[track_caller]
    pub fn stop(&self, reason: ExitReason, timeout: impl Into<Timeout>) -> Result<(), CallError> {
        let at = Location::caller();
        let pid = self.resolve().ok_or(CallError::NoProc)?;
        let me = context::expect_process("GenServer::stop");
        if CoreRef::ptr_eq(&me, pid.as_any().core()) {
            return Err(CallError::CallingSelf);
        }
        let deadline = match timeout.into() {
            Timeout::Infinity => None,
            Timeout::After(d) => Some(Instant::now() + d),
        };
        let reference = process::monitor(&pid);
        let _ = pid
            .as_any()
            .core()
            .send_user(Envelope::<G>::Stop(reason.clone()));
        match crate::mailbox::await_down(&me, reference, deadline, at) {
            None => {
                process::demonitor_flush(reference);
                Err(CallError::Timeout)
            }
            Some(ExitReason::NoProc) => Err(CallError::NoProc),
            Some(r) if r == reason => Ok(()),
            Some(r) => Err(CallError::Exit(r)),
        }
    }
}

fn answer<R>(waited: Option<Result<R, reply::Broken>>) -> Result<R, CallError> {
    match waited {
        Some(Ok(reply)) => Ok(reply),
        Some(Err(Some(reason))) => Err(CallError::Exit(reason)),
        Some(Err(None)) => Err(CallError::NoReply),
        None => Err(CallError::Timeout),
    }
}

/// A call in flight, from [`Server::send_request`] (`:gen_server.send_request/2`'s request
/// id). It belongs to the process that sent it (it is not `Send`); dropping it forgets the
/// request (a reply that comes later is dropped).
#[must_use = "the reply is only seen through receive_response"]
pub struct RequestId<G: GenServer> {
    waiter: reply::Waiter<G::Reply>,
    /// Only the sender can wait: its pid is where the wake-up goes.
    _owner: PhantomData<*const ()>,
}

impl<G: GenServer> RequestId<G> {
    /// Waits up to `timeout` (from now) for the reply (`:gen_server.receive_response/2`).
    ///
    /// # Errors
    ///
    /// As for [`Server::call`]: [`CallError::Timeout`], the server's exit reason
    /// ([`CallError::Exit`]) if it died holding the request, [`CallError::NoReply`] if it
    /// dropped it.
    #[track_caller]
    pub fn receive_response(self, timeout: impl Into<Timeout>) -> Result<G::Reply, CallError> {
        let deadline = pin!(Deadline::from_timeout(timeout.into()));
        answer(self.waiter.wait(deadline.as_ref(), Location::caller()))
    }

    /// The reply if it has come, without waiting (`:gen_server.check_response/2`); the request
    /// back otherwise.
    ///
    /// # Errors
    ///
    /// `Err(Ok(self))` while no reply has come; `Err(Err(e))` if the request failed.
    pub fn check_response(self) -> Result<G::Reply, Result<Self, CallError>> {
        match self.waiter.try_take() {
            Some(outcome) => answer(Some(outcome)).map_err(Err),
            None => Err(Ok(self)),
        }
    }
}

impl<G: GenServer> fmt::Debug for RequestId<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({:?})", self.waiter)
    }
}
