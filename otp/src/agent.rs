//! Agent: state in a process, read and changed with functions (Elixir's `Agent`).
//!
//! An agent is a GenServer whose requests are closures run against its state, so it has the
//! GenServer's semantics: `get`, `update` and `get_and_update` are calls (5 s default timeout,
//! typed errors when the agent is dead or dies meanwhile), `cast` never blocks, and a panic
//! in a function is the agent's crash.
//!
//! ```
//! use otp::agent::{self, Agent};
//!
//! otp::run(|| {
//!     let counter: Agent<i64> = agent::start_link(|| 0).unwrap();
//!     counter.update(|n| *n += 1).unwrap();
//!     assert_eq!(counter.get(|n| *n), Ok(1));
//!     assert_eq!(counter.get_and_update(|n| { let old = *n; *n = 10; old }), Ok(1));
//!     counter.cast(|n| *n *= 2).unwrap();
//!     assert_eq!(counter.get(|n| *n), Ok(20));
//! });
//! ```

use std::{any::Any, fmt};

use crate::{
    gen_server::{
        CallError, CallResult, CastResult, From, GenServer, InitResult, Name, Server, StartError,
        StartOptions,
    },
    process::{AnyPid, ExitReason, NotRegistered},
    supervisor::Child,
    Timeout,
};

/// A function run in the agent against its state, returning a value for the caller.
type Request<S> = Box<dyn FnOnce(&mut S) -> Box<dyn Any + Send> + Send>;

/// The agent's process: its state, made in `init` by the function it was started with.
pub(crate) struct AgentServer<S> {
    init: Option<Box<dyn FnOnce() -> S + Send>>,
    state: Option<S>,
}

impl<S> AgentServer<S> {
    fn state(&mut self) -> &mut S {
        self.state
            .as_mut()
            .expect("an agent's state is made in init, before any request")
    }
}

impl<S: Send + 'static> GenServer for AgentServer<S> {
    type Call = Request<S>;
    type Reply = Box<dyn Any + Send>;
    type Cast = Box<dyn FnOnce(&mut S) + Send>;
    type Info = std::convert::Infallible;
    type Continue = ();

    fn init(&mut self) -> InitResult {
        if let Some(init) = self.init.take() {
            self.state = Some(init());
        }
        InitResult::ok()
    }

    fn handle_call(
        &mut self,
        f: Request<S>,
        _: From<Box<dyn Any + Send>>,
    ) -> CallResult<Box<dyn Any + Send>> {
        CallResult::reply(f(self.state()))
    }

    fn handle_cast(&mut self, f: Box<dyn FnOnce(&mut S) + Send>) -> CastResult {
        f(self.state());
        CastResult::noreply()
    }
}

/// A handle to a running agent holding an `S`. Cheap to clone; `Send` and `Sync`.
pub struct Agent<S: Send + 'static> {
    server: Server<AgentServer<S>>,
}

impl<S: Send + 'static> Clone for Agent<S> {
    fn clone(&self) -> Self {
        Agent {
            server: self.server.clone(),
        }
    }
}

impl<S: Send + 'static> fmt::Debug for Agent<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Agent({:?})", self.server)
    }
}

impl<S: Send + 'static> Child for Agent<S> {
    fn child_pid(&self) -> Option<AnyPid> {
        self.server.pid()
    }
}

/// Starts an agent linked to the caller, its state made by `init` in the new process
/// (`Agent.start_link/2`).
///
/// # Errors
///
/// [`StartError::Stopped`] if `init` panicked.
///
/// # Panics
///
/// Outside a process.
#[track_caller]
pub fn start_link<S, F>(init: F) -> Result<Agent<S>, StartError>
where
    S: Send + 'static,
    F: FnOnce() -> S + Send + 'static,
{
    start_with(StartOptions::new(), init, true)
}

/// Starts an agent, not linked (`Agent.start/2`).
///
/// # Errors
///
/// As for [`start_link`].
///
/// # Panics
///
/// Outside a process.
#[track_caller]
pub fn start<S, F>(init: F) -> Result<Agent<S>, StartError>
where
    S: Send + 'static,
    F: FnOnce() -> S + Send + 'static,
{
    start_with(StartOptions::new(), init, false)
}

/// Starts an agent with GenServer start options (a name, a start timeout), linked or not.
///
/// # Errors
///
/// As for [`start_link`], and [`StartError::AlreadyStarted`] if the name is taken.
///
/// ```
/// use otp::agent::{self, Agent};
/// use otp::gen_server::StartOptions;
///
/// otp::run(|| {
///     agent::start_with(StartOptions::new().name("config"), || vec!["a"], true).unwrap();
///     let config = Agent::<Vec<&str>>::named("config");
///     assert_eq!(config.get(|v| v.len()), Ok(1));
/// });
/// ```
#[track_caller]
pub fn start_with<S, F>(options: StartOptions, init: F, link: bool) -> Result<Agent<S>, StartError>
where
    S: Send + 'static,
    F: FnOnce() -> S + Send + 'static,
{
    let server = AgentServer {
        init: Some(Box::new(init)),
        state: None,
    };
    let server = if link {
        options.start_link(server)
    } else {
        options.start(server)
    }?;
    Ok(Agent { server })
}

impl<S: Send + 'static> Agent<S> {
    /// A handle to whichever agent holds `name` at each use.
    pub fn named(name: impl Into<Name>) -> Agent<S> {
        Agent {
            server: Server::from_name(name.into()),
        }
    }

    /// The agent's process, if it is running.
    pub fn pid(&self) -> Option<AnyPid> {
        self.server.pid()
    }

    /// Runs `f` on the state and returns what it returns (`Agent.get/3`), within 5 s.
    ///
    /// # Errors
    ///
    /// [`CallError`], as for a GenServer call.
    pub fn get<R: Send + 'static>(
        &self,
        f: impl FnOnce(&S) -> R + Send + 'static,
    ) -> Result<R, CallError> {
        self.get_and_update(move |s| f(s))
    }

    /// Like [`get`](Agent::get) with an explicit timeout.
    ///
    /// # Errors
    ///
    /// [`CallError`].
    pub fn get_timeout<R: Send + 'static>(
        &self,
        f: impl FnOnce(&S) -> R + Send + 'static,
        timeout: impl Into<Timeout>,
    ) -> Result<R, CallError> {
        self.get_and_update_timeout(move |s| f(s), timeout)
    }

    /// Changes the state with `f` and waits until it is done (`Agent.update/3`).
    ///
    /// # Errors
    ///
    /// [`CallError`].
    pub fn update(&self, f: impl FnOnce(&mut S) + Send + 'static) -> Result<(), CallError> {
        self.get_and_update(f)
    }

    /// Runs `f` on the state, which it may change, and returns its result
    /// (`Agent.get_and_update/3`; Elixir's function returns `{value, new_state}`).
    ///
    /// # Errors
    ///
    /// [`CallError`].
    pub fn get_and_update<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S) -> R + Send + 'static,
    ) -> Result<R, CallError> {
        self.get_and_update_timeout(f, crate::gen_server::DEFAULT_CALL_TIMEOUT)
    }

    /// [`get_and_update`](Agent::get_and_update) with an explicit timeout.
    ///
    /// # Errors
    ///
    /// [`CallError`].
    pub fn get_and_update_timeout<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S) -> R + Send + 'static,
        timeout: impl Into<Timeout>,
    ) -> Result<R, CallError> {
        let request: Request<S> = Box::new(move |s: &mut S| Box::new(f(s)) as Box<dyn Any + Send>);
        let reply = self.server.call_timeout(request, timeout)?;
        Ok(*reply
            .downcast::<R>()
            .unwrap_or_else(|_| unreachable!("the agent answers with the function's result")))
    }

    /// Changes the state with `f` without waiting (`Agent.cast/2`).
    ///
    /// # Errors
    ///
    /// For a handle made from a name: [`NotRegistered`] if nobody holds it.
    pub fn cast(&self, f: impl FnOnce(&mut S) + Send + 'static) -> Result<(), NotRegistered> {
        self.server.cast(Box::new(f))
    }

    /// Stops the agent (`Agent.stop/3`).
    ///
    /// # Errors
    ///
    /// As for [`Server::stop`].
    pub fn stop(&self, reason: ExitReason, timeout: impl Into<Timeout>) -> Result<(), CallError> {
        self.server.stop(reason, timeout)
    }
}
