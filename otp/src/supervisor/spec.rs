//! Child specifications (`child_spec`): how a supervisor starts, restarts and stops a child.

use std::{fmt, sync::Arc, time::Duration};

use crate::{
    gen_server::{GenServer, Server, StartError},
    process::{AnyPid, ExitReason, Pid},
};

/// When a child that exited is restarted (`:restart` in a child spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Restart {
    /// Always (the default).
    #[default]
    Permanent,
    /// Only if it exited abnormally: not for `normal`, `shutdown` or `{:shutdown, _}`.
    Transient,
    /// Never; its spec is forgotten when it exits.
    Temporary,
}

impl Restart {
    /// Whether a child with this restart type that exited with `reason` is restarted.
    ///
    /// ```
    /// use otp::{supervisor::Restart, ExitReason};
    ///
    /// assert!(Restart::Permanent.restarts_after(&ExitReason::Normal));
    /// assert!(!Restart::Transient.restarts_after(&ExitReason::Shutdown));
    /// assert!(Restart::Transient.restarts_after(&ExitReason::Killed));
    /// assert!(!Restart::Temporary.restarts_after(&ExitReason::Killed));
    /// ```
    pub fn restarts_after(self, reason: &ExitReason) -> bool {
        match self {
            Restart::Permanent => true,
            Restart::Transient => !matches!(
                reason,
                ExitReason::Normal | ExitReason::Shutdown | ExitReason::ShutdownWith(_)
            ),
            Restart::Temporary => false,
        }
    }
}

/// How a supervisor stops a child (`:shutdown` in a child spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Kill it at once, untrappably (`:brutal_kill`).
    BrutalKill,
    /// Send it a `shutdown` exit signal and wait this long for it to exit, then kill it. The
    /// default for workers is 5 s.
    Timeout(Duration),
    /// Send it `shutdown` and wait as long as it takes (the default for supervisors).
    Infinity,
}

/// Whether a child is a worker or a supervisor (`:type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChildType {
    /// A worker (the default).
    #[default]
    Worker,
    /// A supervisor: its default shutdown is [`Shutdown::Infinity`], so it can stop its own
    /// children in order.
    Supervisor,
}

/// What a child's start function returns: something that names the started process.
/// Implemented for [`Server`], [`Supervisor`](super::Supervisor),
/// [`DynamicSupervisor`](crate::dynamic_supervisor::DynamicSupervisor), [`Pid`] and [`AnyPid`].
pub trait Child {
    /// The started process, linked to the supervisor.
    fn child_pid(&self) -> Option<AnyPid>;
}

impl<G: GenServer> Child for Server<G> {
    fn child_pid(&self) -> Option<AnyPid> {
        self.pid()
    }
}

impl<M> Child for Pid<M> {
    fn child_pid(&self) -> Option<AnyPid> {
        Some(self.to_any())
    }
}

impl Child for AnyPid {
    fn child_pid(&self) -> Option<AnyPid> {
        Some(self.clone())
    }
}

/// A start function, type-erased. Returns the new process (linked to the caller, which is the
/// supervisor), or `None` for a child whose `init` said `ignore`.
pub(crate) type StartFn = Arc<dyn Fn() -> Result<Option<AnyPid>, StartError> + Send + Sync>;

/// How to start, restart and stop one child (Elixir's child spec map).
///
/// The start function runs in the supervisor's process and must start the child *linked* to
/// it: `gen_server::start_link`, `supervisor::start_link`, `otp::spawn_link`, or anything built
/// on them.
///
/// ```
/// use std::time::Duration;
/// use otp::gen_server::{self, GenServer};
/// use otp::supervisor::{ChildSpec, Restart, Shutdown};
///
/// struct Cache;
/// impl GenServer for Cache {
///     type Call = ();
///     type Reply = ();
///     type Cast = ();
///     type Info = ();
///     type Continue = ();
/// }
///
/// let spec = ChildSpec::new("cache", || gen_server::start_link(Cache))
///     .restart(Restart::Transient)
///     .shutdown(Shutdown::Timeout(Duration::from_secs(1)));
/// assert_eq!(spec.id(), "cache");
/// ```
#[derive(Clone)]
pub struct ChildSpec {
    pub(crate) id: Arc<str>,
    pub(crate) start: StartFn,
    pub(crate) restart: Restart,
    pub(crate) shutdown: Shutdown,
    pub(crate) kind: ChildType,
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .field("type", &self.kind)
            .finish_non_exhaustive()
    }
}

impl ChildSpec {
    /// A permanent worker with a 5 s shutdown, started by `start`.
    pub fn new<F, C>(id: impl AsRef<str>, start: F) -> ChildSpec
    where
        F: Fn() -> Result<C, StartError> + Send + Sync + 'static,
        C: Child,
    {
        ChildSpec {
            id: Arc::from(id.as_ref()),
            start: Arc::new(move || match start() {
                Ok(child) => child
                    .child_pid()
                    .map(Some)
                    .ok_or(StartError::Stopped(ExitReason::NoProc)),
                Err(StartError::Ignore) => Ok(None),
                Err(e) => Err(e),
            }),
            restart: Restart::Permanent,
            shutdown: Shutdown::Timeout(Duration::from_secs(5)),
            kind: ChildType::Worker,
        }
    }

    /// A supervisor child: type [`ChildType::Supervisor`], shutdown [`Shutdown::Infinity`].
    pub fn supervisor<F, C>(id: impl AsRef<str>, start: F) -> ChildSpec
    where
        F: Fn() -> Result<C, StartError> + Send + Sync + 'static,
        C: Child,
    {
        ChildSpec::new(id, start)
            .child_type(ChildType::Supervisor)
            .shutdown(Shutdown::Infinity)
    }

    /// The child's id, unique within its supervisor.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When to restart it.
    pub fn restart(mut self, restart: Restart) -> ChildSpec {
        self.restart = restart;
        self
    }

    /// How to stop it.
    pub fn shutdown(mut self, shutdown: Shutdown) -> ChildSpec {
        self.shutdown = shutdown;
        self
    }

    /// Worker or supervisor (this does not change the shutdown; see
    /// [`ChildSpec::supervisor`]).
    pub fn child_type(mut self, kind: ChildType) -> ChildSpec {
        self.kind = kind;
        self
    }
}

/// One child as [`which_children`](super::Supervisor::which_children) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInfo {
    /// Its id (for a `DynamicSupervisor` child: `None`, as Elixir's `:undefined`).
    pub id: Option<String>,
    /// Its process, or `None` if it is not running (terminated, or its init ignored).
    pub pid: Option<AnyPid>,
    /// Worker or supervisor.
    pub kind: ChildType,
}

/// What [`count_children`](super::Supervisor::count_children) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildCounts {
    /// Child specs held, running or not.
    pub specs: usize,
    /// Children running.
    pub active: usize,
    /// Specs of supervisor children.
    pub supervisors: usize,
    /// Specs of worker children.
    pub workers: usize,
}

/// Why a supervisor operation on a child failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ChildError {
    /// No child with that id (or pid).
    NotFound,
    /// The child is running (for `restart_child` / `delete_child`).
    Running,
    /// A child spec with that id exists already, not running (`:already_present`).
    AlreadyPresent,
    /// A child with that id is running as this process (`{:already_started, pid}`).
    AlreadyStarted(AnyPid),
    /// The child's start function failed.
    Start(StartError),
    /// The supervisor has `max_children` children already.
    MaxChildren,
    /// The supervisor itself could not be reached.
    Call(crate::gen_server::CallError),
}

impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChildError::NotFound => f.write_str("no such child (:not_found)"),
            ChildError::Running => f.write_str("the child is running (:running)"),
            ChildError::AlreadyPresent => {
                f.write_str("a child with that id exists (:already_present)")
            }
            ChildError::AlreadyStarted(pid) => write!(f, "the child is already started as {pid}"),
            ChildError::Start(e) => write!(f, "the child failed to start: {e}"),
            ChildError::MaxChildren => f.write_str("the supervisor has its maximum of children"),
            ChildError::Call(e) => write!(f, "the supervisor could not be reached: {e}"),
        }
    }
}

impl std::error::Error for ChildError {}

impl std::convert::From<crate::gen_server::CallError> for ChildError {
    fn from(e: crate::gen_server::CallError) -> ChildError {
        ChildError::Call(e)
    }
}

/// The detail of a supervisor's exit reason when a child failed to start during its `init`:
/// `{:shutdown, {:failed_to_start_child, id, reason}}`. Its `Debug` form, which the exit
/// reason prints, is Elixir's.
///
/// ```
/// use otp::gen_server::StartError;
/// use otp::supervisor::FailedToStartChild;
///
/// let f = FailedToStartChild { id: "db".into(), error: StartError::Timeout };
/// assert_eq!(format!("{f:?}"), r#"{:failed_to_start_child, "db", :timeout}"#);
/// ```
#[derive(Clone, PartialEq)]
pub struct FailedToStartChild {
    /// The child's id.
    pub id: String,
    /// Why it failed.
    pub error: StartError,
}

impl fmt::Debug for FailedToStartChild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{:failed_to_start_child, {:?}, ", self.id)?;
        match &self.error {
            StartError::Stopped(reason) => write!(f, "{reason}")?,
            StartError::AlreadyStarted(pid) => write!(f, "{{:already_started, {pid:?}}}")?,
            StartError::Timeout => f.write_str(":timeout")?,
            StartError::Ignore => f.write_str(":ignore")?,
        }
        f.write_str("}")
    }
}
