//! Starting a server: [`start`], [`start_link`], [`StartOptions`] and [`StartError`].
//!
//! Starting is synchronous, as in OTP: the new process registers its name (if any), runs
//! [`init`](super::GenServer::init), and only then does `start` return. The two processes meet
//! through a reply slot, like a call, so a server killed before it answers makes `start` fail
//! with the reason at once.

use std::{fmt, panic::Location};

use super::{driver::Driver, name::Name, server::Server, GenServer};
use crate::{
    process::{self, reply, AnyPid, ExitReason, SpawnOptions},
    runtime::{context, timer::Deadline},
    Timeout,
};

/// Why a server did not start.
///
/// ```
/// use otp::gen_server::{self, GenServer, InitResult, StartError};
/// use otp::ExitReason;
///
/// struct Picky;
/// impl GenServer for Picky {
///     type Call = ();
///     type Reply = ();
///     type Cast = ();
///     type Info = ();
///     type Continue = ();
///     fn init(&mut self) -> InitResult {
///         InitResult::Stop(ExitReason::custom("not_today"))
///     }
/// }
///
/// otp::run(|| {
///     let err = gen_server::start(Picky).unwrap_err();
///     assert_eq!(err, StartError::Stopped(ExitReason::custom("not_today")));
/// });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StartError {
    /// The name is held by this live process (`{:error, {:already_started, pid}}`).
    AlreadyStarted(AnyPid),
    /// [`init`](super::GenServer::init) returned [`InitResult::Ignore`](super::InitResult::Ignore)
    /// (`:ignore`).
    Ignore,
    /// The process exited before it finished starting: `init` returned
    /// [`InitResult::Stop`](super::InitResult::Stop), panicked, or the process was killed
    /// (`{:error, reason}`).
    Stopped(ExitReason),
    /// `init` did not finish within the start timeout; the process was killed.
    Timeout,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::AlreadyStarted(pid) => write!(f, "already started as {pid}"),
            StartError::Ignore => f.write_str("init returned :ignore"),
            StartError::Stopped(reason) => write!(f, "failed to start: {reason}"),
            StartError::Timeout => f.write_str("init did not finish in time"),
        }
    }
}

impl std::error::Error for StartError {}

/// How to start a server, builder style: name, start timeout, stack size.
///
/// ```
/// use std::time::Duration;
/// use otp::gen_server::{GenServer, Server, StartOptions};
///
/// struct Quiet;
/// impl GenServer for Quiet {
///     type Call = ();
///     type Reply = ();
///     type Cast = ();
///     type Info = ();
///     type Continue = ();
/// }
///
/// otp::run(|| {
///     let s = StartOptions::new()
///         .name("quiet")
///         .timeout(Duration::from_secs(1))
///         .start_link(Quiet)
///         .unwrap();
///     assert_eq!(Server::<Quiet>::named("quiet").pid(), s.pid());
/// });
/// ```
#[derive(Debug, Clone)]
pub struct StartOptions {
    name: Option<Name>,
    timeout: Timeout,
    stack_size: Option<usize>,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions::new()
    }
}

impl StartOptions {
    /// No name, no start timeout (`:infinity`, OTP's default), the runtime's stack size.
    pub fn new() -> StartOptions {
        StartOptions {
            name: None,
            timeout: Timeout::Infinity,
            stack_size: None,
        }
    }

    /// Registers the server under `name` (a `&str` for a local name, or a [`Name`]) before
    /// `init` runs. If a live process holds it, `start` fails with
    /// [`StartError::AlreadyStarted`].
    pub fn name(mut self, name: impl Into<Name>) -> StartOptions {
        self.name = Some(name.into());
        self
    }

    /// Registers the server through a name service ([`Name::via`]).
    pub fn via(self, service: impl super::Via) -> StartOptions {
        self.name(Name::via(service))
    }

    /// How long `init` may take; beyond it the process is killed and `start` fails with
    /// [`StartError::Timeout`].
    pub fn timeout(mut self, timeout: impl Into<Timeout>) -> StartOptions {
        self.timeout = timeout.into();
        self
    }

    /// The stack size for the server's callbacks (see
    /// [`SpawnOptions::stack_size`](crate::SpawnOptions::stack_size)).
    pub fn stack_size(mut self, bytes: usize) -> StartOptions {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts `server`, not linked (`GenServer.start/3`).
    ///
    /// # Errors
    ///
    /// [`StartError`].
    ///
    /// # Panics
    ///
    /// Outside a process.
    #[track_caller]
    pub fn start<G: GenServer>(self, server: G) -> Result<Server<G>, StartError> {
        self.start_at(server, false, Location::caller())
    }

    /// Starts `server` linked to the caller (`GenServer.start_link/3`). As in OTP, if `init`
    /// fails the server exits with the reason, which (through the link) also ends a caller
    /// that does not trap exits.
    ///
    /// # Errors
    ///
    /// [`StartError`].
    ///
    /// # Panics
    ///
    /// Outside a process.
    #[track_caller]
    pub fn start_link<G: GenServer>(self, server: G) -> Result<Server<G>, StartError> {
        self.start_at(server, true, Location::caller())
    }

    fn start_at<G: GenServer>(
        self,
        server: G,
        link: bool,
        at: &'static Location<'static>,
    ) -> Result<Server<G>, StartError> {
        let me = context::expect_process("gen_server::start");
        let deadline = std::pin::pin!(Deadline::from_timeout(self.timeout));
        let (started, waiter) = reply::slot("gen_server::start");
        let parent = link.then(|| AnyPid::from_core(me));
        let driver = Box::new(Driver::new(server, parent, self.name));
        let mut spawn = SpawnOptions::new();
        if link {
            spawn = spawn.link();
        }
        if let Some(bytes) = self.stack_size {
            spawn = spawn.stack_size(bytes);
        }
        let pid =
            spawn.spawn_activation::<_, G, Driver<G>>(Box::new(move || driver.start(started)));
        match waiter.wait(deadline.as_ref(), at) {
            Some(Ok(Ok(()))) => Ok(Server::from_pid(pid)),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(reason)) => Err(StartError::Stopped(reason.unwrap_or(ExitReason::Normal))),
            None => {
                // Unlinked first, as OTP's `proc_lib` does: the kill is ours, and must not come
                // back through the link to end (or, trapping, notify) the caller.
                if link {
                    process::unlink(&pid);
                }
                process::exit(&pid, ExitReason::Kill);
                Err(StartError::Timeout)
            }
        }
    }
}

/// Starts `server`, not linked (`GenServer.start/2`).
///
/// # Errors
///
/// [`StartError`].
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// use otp::gen_server::{self, GenServer};
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
///     assert!(otp::process::alive(&s.pid().unwrap()));
/// });
/// ```
#[track_caller]
pub fn start<G: GenServer>(server: G) -> Result<Server<G>, StartError> {
    StartOptions::new().start_at(server, false, Location::caller())
}

/// Starts `server` linked to the caller (`GenServer.start_link/2`).
///
/// # Errors
///
/// [`StartError`].
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// use otp::gen_server::{self, GenServer};
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
///     let s = gen_server::start_link(Idle).unwrap();
///     let info = otp::process::info(&s.pid().unwrap()).unwrap();
///     assert!(info.links.contains(&otp::self_pid()));
/// });
/// ```
#[track_caller]
pub fn start_link<G: GenServer>(server: G) -> Result<Server<G>, StartError> {
    StartOptions::new().start_at(server, true, Location::caller())
}
