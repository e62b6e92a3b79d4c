//! DynamicSupervisor: a supervisor that starts with no children and takes them on demand
//! (Elixir's `DynamicSupervisor`): one per connection, per session, per job.
//!
//! Its children are `one_for_one` and have no order and no ids: they are known by pid. They are
//! restarted by their [`Restart`](crate::supervisor::Restart) type against the same restart
//! intensity as a [`Supervisor`](crate::supervisor::Supervisor)'s (3 in 5 s by default), and
//! stopped all at once when the supervisor stops.
//!
//! ```
//! use otp::dynamic_supervisor::{self, Options};
//! use otp::supervisor::{ChildSpec, Restart};
//!
//! otp::run(|| {
//!     let sup = dynamic_supervisor::start_link(Options::new().max_children(2)).unwrap();
//!     let job = ChildSpec::new("job", || Ok(otp::spawn_link(|mut mb: otp::Mailbox<()>| mb.receive())))
//!         .restart(Restart::Temporary);
//!     let a = sup.start_child(job.clone()).unwrap().unwrap();
//!     sup.start_child(job.clone()).unwrap();
//!     assert!(sup.start_child(job).is_err()); // max_children
//!     sup.terminate_child(&a).unwrap();
//!     assert_eq!(sup.count_children().unwrap().active, 1);
//! });
//! ```

use std::{collections::HashMap, convert::Infallible, time::Duration, time::Instant};

use crate::{
    gen_server::{
        CallError, CallResult, CastResult, From, GenServer, Info, InitResult, Name, Server,
        StartError, StartOptions,
    },
    process::{self, AnyPid, ExitReason},
    supervisor::{
        intensity::Intensity,
        shutdown::{shutdown_child, shutdown_children},
        Child, ChildCounts, ChildError, ChildInfo, ChildSpec, ChildType,
    },
    Timeout,
};

/// A dynamic supervisor's options.
///
/// ```
/// use std::time::Duration;
/// use otp::dynamic_supervisor::Options;
///
/// let opts = Options::new().max_children(1000).max_restarts(10).max_seconds(Duration::from_secs(1));
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    max_children: Option<usize>,
    max_restarts: u32,
    max_seconds: Duration,
    name: Option<Name>,
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

impl Options {
    /// No limit on children; at most 3 restarts in 5 s; no name.
    pub fn new() -> Options {
        Options {
            max_children: None,
            max_restarts: 3,
            max_seconds: Duration::from_secs(5),
            name: None,
        }
    }

    /// At most this many running children; `start_child` beyond it fails with
    /// [`ChildError::MaxChildren`].
    pub fn max_children(mut self, n: usize) -> Options {
        self.max_children = Some(n);
        self
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

/// Starts a dynamic supervisor linked to the caller (`DynamicSupervisor.start_link/1`).
///
/// # Errors
///
/// [`StartError::AlreadyStarted`] if the name is taken.
///
/// # Panics
///
/// Outside a process.
#[track_caller]
pub fn start_link(options: Options) -> Result<DynamicSupervisor, StartError> {
    let mut start = StartOptions::new();
    if let Some(name) = &options.name {
        start = start.name(name.clone());
    }
    let server = start.start_link(DynamicServer {
        children: HashMap::new(),
        max_children: options.max_children,
        intensity: Intensity::new(options.max_restarts, options.max_seconds),
    })?;
    Ok(DynamicSupervisor { server })
}

/// A child spec for a dynamic supervisor, to place it in a supervision tree.
pub fn child_spec(id: impl AsRef<str>, options: Options) -> ChildSpec {
    ChildSpec::supervisor(id, move || start_link(options.clone()))
}

/// A handle to a running dynamic supervisor. Cheap to clone; `Send` and `Sync`.
#[derive(Debug, Clone)]
pub struct DynamicSupervisor {
    server: Server<DynamicServer>,
}

impl Child for DynamicSupervisor {
    fn child_pid(&self) -> Option<AnyPid> {
        self.server.pid()
    }
}

impl DynamicSupervisor {
    /// A handle to whichever dynamic supervisor holds `name` at each use.
    pub fn named(name: impl Into<Name>) -> DynamicSupervisor {
        DynamicSupervisor {
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

    /// Starts a child under the supervisor (`DynamicSupervisor.start_child/2`). `Ok(None)` if
    /// its init ignored the start.
    ///
    /// # Errors
    ///
    /// [`ChildError::MaxChildren`], [`ChildError::Start`], or [`ChildError::Call`] if the
    /// supervisor is gone.
    pub fn start_child(&self, spec: ChildSpec) -> Result<Option<AnyPid>, ChildError> {
        match self.ask(Request::StartChild(spec))? {
            Response::Started(r) => r,
            _ => unreachable!("start_child answers with a start result"),
        }
    }

    /// Stops a child (`DynamicSupervisor.terminate_child/2`); it is not restarted.
    ///
    /// # Errors
    ///
    /// [`ChildError::NotFound`] if `pid` is not one of its children.
    pub fn terminate_child(&self, pid: &AnyPid) -> Result<(), ChildError> {
        match self.ask(Request::TerminateChild(pid.clone()))? {
            Response::Done(r) => r,
            _ => unreachable!("terminate_child answers with a result"),
        }
    }

    /// Every running child, by pid order (`which_children/1`).
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

    /// Stops the supervisor and all its children.
    ///
    /// # Errors
    ///
    /// As for [`Server::stop`].
    pub fn stop(&self, reason: ExitReason, timeout: impl Into<Timeout>) -> Result<(), CallError> {
        self.server.stop(reason, timeout)
    }
}

/// The dynamic supervisor's state: its running children, by pid.
struct DynamicServer {
    children: HashMap<AnyPid, ChildSpec>,
    max_children: Option<usize>,
    intensity: Intensity,
}

enum Request {
    StartChild(ChildSpec),
    TerminateChild(AnyPid),
    WhichChildren,
    CountChildren,
}

enum Response {
    Started(Result<Option<AnyPid>, ChildError>),
    Done(Result<(), ChildError>),
    Children(Vec<ChildInfo>),
    Counts(ChildCounts),
}

impl DynamicServer {
    fn start_child(&mut self, spec: ChildSpec) -> Result<Option<AnyPid>, ChildError> {
        if self
            .max_children
            .is_some_and(|max| self.children.len() >= max)
        {
            return Err(ChildError::MaxChildren);
        }
        let pid = (spec.start)().map_err(ChildError::Start)?;
        if let Some(pid) = &pid {
            self.children.insert(pid.clone(), spec);
        }
        Ok(pid)
    }
}

impl GenServer for DynamicServer {
    type Call = Request;
    type Reply = Response;
    type Cast = Infallible;
    type Info = Infallible;
    type Continue = ();

    fn init(&mut self) -> InitResult {
        process::trap_exit(true);
        InitResult::ok()
    }

    fn handle_call(&mut self, request: Request, _: From<Response>) -> CallResult<Response> {
        CallResult::reply(match request {
            Request::StartChild(spec) => Response::Started(self.start_child(spec)),
            Request::TerminateChild(pid) => Response::Done(match self.children.remove(&pid) {
                Some(spec) => {
                    shutdown_child(&pid, spec.shutdown);
                    Ok(())
                }
                None => Err(ChildError::NotFound),
            }),
            Request::WhichChildren => {
                let mut children: Vec<_> = self
                    .children
                    .iter()
                    .map(|(pid, spec)| ChildInfo {
                        id: None,
                        pid: Some(pid.clone()),
                        kind: spec.kind,
                    })
                    .collect();
                children.sort_by(|a, b| a.pid.cmp(&b.pid));
                Response::Children(children)
            }
            Request::CountChildren => {
                let supervisors = self
                    .children
                    .values()
                    .filter(|s| s.kind == ChildType::Supervisor)
                    .count();
                Response::Counts(ChildCounts {
                    specs: self.children.len(),
                    active: self.children.len(),
                    supervisors,
                    workers: self.children.len() - supervisors,
                })
            }
        })
    }

    fn handle_info(&mut self, info: Info<Infallible>) -> CastResult {
        let Info::Exit { from, reason } = info else {
            return CastResult::noreply();
        };
        let Some(spec) = self.children.remove(&from) else {
            return CastResult::noreply();
        };
        if !spec.restart.restarts_after(&reason) {
            return CastResult::noreply();
        }
        if !self.intensity.add(Instant::now()) {
            tracing::debug!("dynamic supervisor reached max restart intensity; shutting down");
            return CastResult::Stop(ExitReason::Shutdown);
        }
        match self.intensity.restart(&spec) {
            Ok(Some(pid)) => {
                self.children.insert(pid, spec);
                CastResult::noreply()
            }
            Ok(None) => CastResult::noreply(),
            Err(reason) => CastResult::Stop(reason),
        }
    }

    fn terminate(&mut self, _reason: &ExitReason) {
        let children: Vec<_> = self
            .children
            .drain()
            .map(|(pid, spec)| (pid, spec.shutdown))
            .collect();
        shutdown_children(&children);
    }
}
