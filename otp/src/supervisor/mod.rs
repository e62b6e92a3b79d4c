//! Supervisors: processes that start children, watch them, and restart them when they fail
//! (OTP's `supervisor`, Elixir's `Supervisor`).
//!
//! ```
//! use otp::gen_server::{self, CallResult, From, GenServer, Server};
//! use otp::supervisor::{self, ChildSpec, Options, Strategy};
//!
//! struct Counter(u64);
//! impl GenServer for Counter {
//!     type Call = ();
//!     type Reply = u64;
//!     type Cast = ();
//!     type Info = ();
//!     type Continue = ();
//!     fn handle_call(&mut self, _: (), _: From<u64>) -> CallResult<u64> {
//!         self.0 += 1;
//!         CallResult::reply(self.0)
//!     }
//! }
//!
//! otp::run(|mut mb: otp::Mailbox<()>| {
//!     let children = vec![ChildSpec::new("counter", || {
//!         gen_server::StartOptions::new().name("counter").start_link(Counter(0))
//!     })];
//!     let sup = supervisor::start_link(children, Options::new(Strategy::OneForOne)).unwrap();
//!
//!     let counter = Server::<Counter>::named("counter");
//!     assert_eq!(counter.call(()), Ok(1));
//!
//!     // Kill it; the supervisor starts a fresh one under the same name.
//!     let old = counter.pid().unwrap();
//!     otp::process::monitor(&old);
//!     otp::process::exit(&old, otp::ExitReason::Kill);
//!     let _down = mb.receive_message();
//!     // The supervisor heard of the exit before we did, so it handles it before this call.
//!     assert_eq!(sup.count_children().unwrap().active, 1);
//!     assert_eq!(counter.call(()), Ok(1)); // a new incarnation, a new state
//! });
//! ```
//!
//! # The rules, as in OTP
//!
//! * Children start in order; if one fails to start, the ones already started are stopped
//!   (in reverse order) and the supervisor fails to start with
//!   `{:shutdown, {:failed_to_start_child, id, reason}}` ([`FailedToStartChild`]).
//! * When a child exits, its [`Restart`] type decides whether it is restarted; the
//!   [`Strategy`] decides which other children are stopped (in reverse order) and restarted
//!   with it (in order).
//! * More than `max_restarts` restarts within `max_seconds` (defaults 3 and 5 s, Elixir's) and
//!   the supervisor gives up: it stops all its children in reverse order and exits with
//!   `shutdown`, so its own supervisor sees it fail (escalation).
//! * Stopping a child: `shutdown` exit signal, wait up to its [`Shutdown`] timeout, then kill.
//!   A supervisor stops its children in reverse start order when it stops.
//! * A supervisor traps exits. An `EXIT` from its parent stops it (and its children) with the
//!   parent's reason.
//!
//! A child registered under a name is reachable through the name again as soon as it is
//! restarted: the dead child's name is released before the supervisor hears of its exit, and
//! the restart happens before the supervisor handles anything else. A message sent to the name
//! in between fails with a typed error ([`CallError::NoProc`](crate::gen_server::CallError),
//! [`NotRegistered`](crate::process::NotRegistered)) rather than being lost.

pub(crate) mod intensity;
mod server;
pub(crate) mod shutdown;
mod spec;

use std::time::Duration;

use self::server::{Request, Response, SupervisorServer};
pub use self::spec::{
    Child, ChildCounts, ChildError, ChildInfo, ChildSpec, ChildType, FailedToStartChild, Restart,
    Shutdown,
};
use crate::{
    gen_server::{CallError, Name, Server, StartError, StartOptions},
    process::{AnyPid, ExitReason},
    Timeout,
};

/// Which children are restarted when one exits and must be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Only that child (`:one_for_one`, the default).
    #[default]
    OneForOne,
    /// All children: the others are stopped (in reverse order), then all are started again
    /// (in order) (`:one_for_all`).
    OneForAll,
    /// That child and the ones started after it (`:rest_for_one`).
    RestForOne,
}

/// Supervisor flags: strategy, restart intensity, name.
///
/// ```
/// use std::time::Duration;
/// use otp::supervisor::{Options, Strategy};
///
/// let opts = Options::new(Strategy::RestForOne)
///     .max_restarts(10)
///     .max_seconds(Duration::from_secs(1))
///     .name("my_sup");
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) strategy: Strategy,
    pub(crate) max_restarts: u32,
    pub(crate) max_seconds: Duration,
    pub(crate) name: Option<Name>,
}

impl Default for Options {
    fn default() -> Self {
        Options::new(Strategy::OneForOne)
    }
}

impl Options {
    /// `strategy`, at most 3 restarts in 5 seconds (Elixir's defaults), no name.
    pub fn new(strategy: Strategy) -> Options {
        Options {
            strategy,
            max_restarts: 3,
            max_seconds: Duration::from_secs(5),
            name: None,
        }
    }

    /// At most this many restarts within [`max_seconds`](Options::max_seconds).
    pub fn max_restarts(mut self, n: u32) -> Options {
        self.max_restarts = n;
        self
    }

    /// The period of the restart intensity.
    pub fn max_seconds(mut self, period: Duration) -> Options {
        self.max_seconds = period;
        self
    }

    /// Registers the supervisor under `name`.
    pub fn name(mut self, name: impl Into<Name>) -> Options {
        self.name = Some(name.into());
        self
    }
}

/// Starts a supervisor linked to the caller, with `children` started in order
/// (`Supervisor.start_link(children, opts)`).
///
/// # Errors
///
/// [`StartError::Stopped`] with `{:shutdown, {:failed_to_start_child, ...}}` if a child failed
/// to start; [`StartError::AlreadyStarted`] if the name is taken.
///
/// # Panics
///
/// Outside a process.
#[track_caller]
pub fn start_link(children: Vec<ChildSpec>, options: Options) -> Result<Supervisor, StartError> {
    let mut start = StartOptions::new();
    if let Some(name) = &options.name {
        start = start.name(name.clone());
    }
    let server = start.start_link(SupervisorServer::new(children, &options))?;
    Ok(Supervisor { server })
}

/// A child spec for a supervisor with these children and options, for nesting supervisors
/// (`Supervisor.child_spec/2` on a supervisor module).
///
/// ```
/// use otp::supervisor::{self, Options, Strategy};
///
/// otp::run(|| {
///     let inner = supervisor::child_spec("inner", vec![], Options::new(Strategy::OneForAll));
///     let outer = supervisor::start_link(vec![inner], Options::default()).unwrap();
///     assert_eq!(outer.count_children().unwrap().supervisors, 1);
/// });
/// ```
pub fn child_spec(id: impl AsRef<str>, children: Vec<ChildSpec>, options: Options) -> ChildSpec {
    ChildSpec::supervisor(id, move || start_link(children.clone(), options.clone()))
}

/// A handle to a running supervisor. Cheap to clone; `Send` and `Sync`.
#[derive(Debug, Clone)]
pub struct Supervisor {
    server: Server<SupervisorServer>,
}

impl Child for Supervisor {
    fn child_pid(&self) -> Option<AnyPid> {
        self.server.pid()
    }
}

impl Supervisor {
    /// A handle to the process `pid`, if it is a supervisor (a child listed by a parent's
    /// `which_children`, say).
    ///
    /// ```
    /// use otp::supervisor::{self, Options, Supervisor};
    ///
    /// otp::run(|| {
    ///     let inner = supervisor::child_spec("inner", vec![], Options::default());
    ///     let top = supervisor::start_link(vec![inner], Options::default()).unwrap();
    ///     let pid = top.which_children().unwrap()[0].pid.clone().unwrap();
    ///     let inner = Supervisor::from_any_pid(&pid).unwrap();
    ///     assert_eq!(inner.count_children().unwrap().specs, 0);
    /// });
    /// ```
    pub fn from_any_pid(pid: &AnyPid) -> Option<Supervisor> {
        Server::from_any_pid(pid).map(|server| Supervisor { server })
    }

    /// A handle to whichever supervisor holds `name` at each use.
    pub fn named(name: impl Into<Name>) -> Supervisor {
        Supervisor {
            server: Server::from_name(name.into()),
        }
    }

    /// The supervisor's process, if it is running.
    pub fn pid(&self) -> Option<AnyPid> {
        self.server.pid()
    }

    fn ask(&self, request: Request) -> Result<Response, CallError> {
        self.server.call_timeout(request, Timeout::Infinity)
    }

    /// Every child, in start order (`which_children/1`).
    ///
    /// # Errors
    ///
    /// The supervisor could not be reached.
    pub fn which_children(&self) -> Result<Vec<ChildInfo>, CallError> {
        match self.ask(Request::WhichChildren)? {
            Response::Children(c) => Ok(c),
            _ => unreachable!("which_children answers with children"),
        }
    }

    /// How many children, by kind (`count_children/1`).
    ///
    /// # Errors
    ///
    /// The supervisor could not be reached.
    pub fn count_children(&self) -> Result<ChildCounts, CallError> {
        match self.ask(Request::CountChildren)? {
            Response::Counts(c) => Ok(c),
            _ => unreachable!("count_children answers with counts"),
        }
    }

    /// Adds a child and starts it (`start_child/2`). `Ok(None)` if its init ignored the start
    /// (the spec is kept).
    ///
    /// # Errors
    ///
    /// [`ChildError::AlreadyStarted`] / [`ChildError::AlreadyPresent`] if the id is in use,
    /// [`ChildError::Start`] if it failed to start (the spec is not kept).
    pub fn start_child(&self, spec: ChildSpec) -> Result<Option<AnyPid>, ChildError> {
        self.started(Request::StartChild(spec))
    }

    /// Stops a child; its spec stays, so it can be restarted (`terminate_child/2`; a temporary
    /// child's spec goes).
    ///
    /// # Errors
    ///
    /// [`ChildError::NotFound`].
    pub fn terminate_child(&self, id: &str) -> Result<(), ChildError> {
        self.done(Request::TerminateChild(id.to_owned()))
    }

    /// Starts a stopped child again (`restart_child/2`).
    ///
    /// # Errors
    ///
    /// [`ChildError::NotFound`], [`ChildError::Running`], [`ChildError::Start`].
    pub fn restart_child(&self, id: &str) -> Result<Option<AnyPid>, ChildError> {
        self.started(Request::RestartChild(id.to_owned()))
    }

    /// Forgets a stopped child's spec (`delete_child/2`).
    ///
    /// # Errors
    ///
    /// [`ChildError::NotFound`], [`ChildError::Running`].
    pub fn delete_child(&self, id: &str) -> Result<(), ChildError> {
        self.done(Request::DeleteChild(id.to_owned()))
    }

    /// Stops the supervisor and its children, in reverse order (`Supervisor.stop/3`).
    ///
    /// # Errors
    ///
    /// As for [`Server::stop`].
    pub fn stop(&self, reason: ExitReason, timeout: impl Into<Timeout>) -> Result<(), CallError> {
        self.server.stop(reason, timeout)
    }

    fn started(&self, request: Request) -> Result<Option<AnyPid>, ChildError> {
        match self.ask(request)? {
            Response::Started(r) => r,
            _ => unreachable!("answers with a start result"),
        }
    }

    fn done(&self, request: Request) -> Result<(), ChildError> {
        match self.ask(request)? {
            Response::Done(r) => r,
            _ => unreachable!("answers with a result"),
        }
    }
}
