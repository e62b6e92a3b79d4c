//! Task.Supervisor: tasks started under a supervisor, so that they can outlive their caller's
//! interest, be found ([`children`](TaskSupervisor::children)) and be stopped with the rest of
//! a supervision tree. [`async_nolink`](TaskSupervisor::async_nolink) is the one to use when a
//! task's crash must not take the caller down.
//!
//! A task supervisor is a [`DynamicSupervisor`] whose children are temporary tasks (never
//! restarted, 5 s to stop). The supervisor starts each task linked to itself; the caller then
//! monitors it (and links to it, for [`async_`](TaskSupervisor::async_)) and only then lets it
//! run, so the task's function never runs before its caller is watching it.
//!
//! ```
//! use otp::{dynamic_supervisor::Options, process, task::{self, Outcome}, ExitReason};
//!
//! otp::run(|| {
//!     let tasks = task::supervisor::start_link(Options::new()).unwrap();
//!     let mut risky = tasks.async_nolink(|| -> u32 { otp::exit(ExitReason::custom("boom")) }).unwrap();
//!     // Not linked: the crash is a value, the caller lives on.
//!     assert_eq!(risky.yield_(task::DEFAULT_TIMEOUT), Some(Outcome::Exit(ExitReason::custom("boom"))));
//!     assert!(process::alive(otp::self_pid()));
//! });
//! ```

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use super::{
    async_await::Task,
    handle::Handle,
    stream::{AsyncStream, Spawner},
};
use crate::{
    dynamic_supervisor::{self, DynamicSupervisor, Options},
    gen_server::{CallError, Name, StartError},
    mailbox::{Mailbox, Message, MessageRef},
    process::{
        self,
        reply::{self, Promise},
        AnyPid, ExitReason, SpawnOptions,
    },
    supervisor::{Child, ChildError, ChildSpec, Restart, Shutdown},
    Timeout,
};

/// Starts a task supervisor linked to the caller (`Task.Supervisor.start_link/1`). Its
/// options are a [`DynamicSupervisor`]'s: a name, `max_children`, the restart intensity.
///
/// # Errors
///
/// [`StartError::AlreadyStarted`] if the name is taken.
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// use otp::{dynamic_supervisor::Options, task};
///
/// otp::run(|| {
///     let tasks = task::supervisor::start_link(Options::new().max_children(100)).unwrap();
///     assert_eq!(tasks.async_nolink(|| 2 + 2).unwrap().await_(), 4);
/// });
/// ```
#[track_caller]
pub fn start_link(options: Options) -> Result<TaskSupervisor, StartError> {
    Ok(TaskSupervisor {
        supervisor: dynamic_supervisor::start_link(options)?,
    })
}

/// A child spec for a task supervisor, to start it under a supervisor (`{Task.Supervisor,
/// name: ...}` in a children list).
///
/// ```
/// use otp::{dynamic_supervisor, supervisor::{self, Options}, task::supervisor::{child_spec, TaskSupervisor}};
///
/// otp::run(|| {
///     let spec = child_spec("tasks", dynamic_supervisor::Options::new().name("tasks"));
///     let _tree = supervisor::start_link(vec![spec], Options::default()).unwrap();
///     let tasks = TaskSupervisor::named("tasks");
///     assert_eq!(tasks.async_nolink(|| "hi").unwrap().await_(), "hi");
/// });
/// ```
pub fn child_spec(id: impl AsRef<str>, options: Options) -> ChildSpec {
    ChildSpec::supervisor(id, move || start_link(options.clone()))
}

/// A handle to a running task supervisor. Cheap to clone; `Send` and `Sync`.
#[derive(Debug, Clone)]
pub struct TaskSupervisor {
    supervisor: DynamicSupervisor,
}

impl Child for TaskSupervisor {
    fn child_pid(&self) -> Option<AnyPid> {
        self.supervisor.pid()
    }
}

/// What the caller sends a supervised task once it watches it: go, and where to reply.
struct Go<T>(Promise<T>);

impl TaskSupervisor {
    /// A handle to whichever task supervisor holds `name` at each use.
    ///
    /// ```
    /// use otp::{dynamic_supervisor::Options, task::supervisor::{self, TaskSupervisor}};
    ///
    /// otp::run(|| {
    ///     supervisor::start_link(Options::new().name("jobs")).unwrap();
    ///     assert!(TaskSupervisor::named("jobs").pid().is_some());
    /// });
    /// ```
    pub fn named(name: impl Into<Name>) -> TaskSupervisor {
        TaskSupervisor {
            supervisor: DynamicSupervisor::named(name),
        }
    }

    /// The supervisor's process, if it is running.
    ///
    /// ```
    /// otp::run(|| {
    ///     let tasks = otp::task::supervisor::start_link(Default::default()).unwrap();
    ///     assert!(otp::process::alive(tasks.pid().unwrap()));
    /// });
    /// ```
    pub fn pid(&self) -> Option<AnyPid> {
        self.supervisor.pid()
    }

    /// Runs `f` as a supervised task linked to the caller and returns the [`Task`] to wait on
    /// (`Task.Supervisor.async/2`): like [`task::async_`](super::async_), but the task is the
    /// supervisor's child.
    ///
    /// # Errors
    ///
    /// [`ChildError::MaxChildren`], or [`ChildError::Call`] if the supervisor is gone.
    ///
    /// # Panics
    ///
    /// Outside a process.
    ///
    /// ```
    /// otp::run(|| {
    ///     let tasks = otp::task::supervisor::start_link(Default::default()).unwrap();
    ///     let t = tasks.async_(|| 'x').unwrap();
    ///     assert!(otp::process::info(otp::self_pid()).unwrap().links.contains(t.pid()));
    ///     assert_eq!(t.await_(), 'x');
    /// });
    /// ```
    #[track_caller]
    pub fn async_<T, F>(&self, f: F) -> Result<Task<T>, ChildError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Ok(Task::from_handle(spawn(&self.supervisor, f, true)?))
    }

    /// Runs `f` as a supervised task *not* linked to the caller and returns the [`Task`] to
    /// wait on (`Task.Supervisor.async_nolink/2`). Its crash reaches the caller only as a
    /// value: `Some(Exit(reason))` from [`yield_`](Task::yield_),
    /// [`AwaitError::Exit`](super::AwaitError::Exit) from [`try_await`](Task::try_await) (and
    /// [`await_`](Task::await_) exits with `{reason, {Task, :await, ...}}`).
    ///
    /// # Errors
    ///
    /// [`ChildError::MaxChildren`], or [`ChildError::Call`] if the supervisor is gone.
    ///
    /// # Panics
    ///
    /// Outside a process.
    ///
    /// ```
    /// use otp::{task::AwaitError, ExitReason};
    ///
    /// otp::run(|| {
    ///     let tasks = otp::task::supervisor::start_link(Default::default()).unwrap();
    ///     let t = tasks.async_nolink(|| -> () { panic!("flaky service") }).unwrap();
    ///     match t.try_await(otp::task::DEFAULT_TIMEOUT) {
    ///         Err(AwaitError::Exit(ExitReason::Panic(p))) => assert_eq!(p.message(), "flaky service"),
    ///         other => panic!("{other:?}"),
    ///     }
    /// });
    /// ```
    #[track_caller]
    pub fn async_nolink<T, F>(&self, f: F) -> Result<Task<T>, ChildError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Ok(Task::from_handle(spawn(&self.supervisor, f, false)?))
    }

    /// Runs `f` as a supervised task nobody waits for (`Task.Supervisor.start_child/2`):
    /// fire and forget, not linked to the caller, never restarted.
    ///
    /// # Errors
    ///
    /// [`ChildError::MaxChildren`], or [`ChildError::Call`] if the supervisor is gone.
    ///
    /// ```
    /// otp::run(|mut mb: otp::Mailbox<&'static str>| {
    ///     let tasks = otp::task::supervisor::start_link(Default::default()).unwrap();
    ///     let me = mb.pid();
    ///     tasks.start_child(move || me.send("job done")).unwrap();
    ///     assert_eq!(mb.receive(), "job done");
    /// });
    /// ```
    pub fn start_child<F>(&self, f: F) -> Result<AnyPid, ChildError>
    where
        F: FnOnce() + Send + 'static,
    {
        let body = Mutex::new(Some(f));
        let starter = crate::self_pid();
        let spec = temporary(move || {
            let f = take(&body)?;
            let starter = starter.clone();
            Ok(crate::spawn_link(move || super::report::run(starter, f)))
        });
        self.supervisor
            .start_child(spec)?
            .ok_or(ChildError::Start(StartError::Ignore))
    }

    /// [`task::async_stream`](super::async_stream) with supervised tasks linked to the caller
    /// (`Task.Supervisor.async_stream/4`).
    ///
    /// # Panics
    ///
    /// While iterating, if the supervisor cannot start a task (it is gone, or has
    /// `max_children` already; Elixir raises too).
    ///
    /// ```
    /// use otp::task::Outcome;
    ///
    /// otp::run(|| {
    ///     let tasks = otp::task::supervisor::start_link(Default::default()).unwrap();
    ///     let doubled: Vec<_> = tasks.async_stream(1..=3, |n: i32| n * 2).collect();
    ///     assert_eq!(doubled, [Outcome::Ok(2), Outcome::Ok(4), Outcome::Ok(6)]);
    /// });
    /// ```
    pub fn async_stream<I, F, T>(&self, items: I, f: F) -> AsyncStream<I::IntoIter, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        self.stream(items, f, true)
    }

    /// [`task::async_stream`](super::async_stream) with supervised tasks *not* linked to the
    /// caller (`Task.Supervisor.async_stream_nolink/4`): a task's crash is an
    /// `Outcome::Exit(reason)` element, whether the caller traps exits or not.
    ///
    /// # Panics
    ///
    /// As for [`async_stream`](TaskSupervisor::async_stream).
    ///
    /// ```
    /// use otp::{task::Outcome, ExitReason};
    ///
    /// otp::run(|| {
    ///     let tasks = otp::task::supervisor::start_link(Default::default()).unwrap();
    ///     let results: Vec<_> = tasks
    ///         .async_stream_nolink([1, 2, 3], |n: i32| if n == 2 { otp::exit(ExitReason::custom("item2")) } else { n })
    ///         .collect();
    ///     assert_eq!(results, [Outcome::Ok(1), Outcome::Exit(ExitReason::custom("item2")), Outcome::Ok(3)]);
    /// });
    /// ```
    pub fn async_stream_nolink<I, F, T>(&self, items: I, f: F) -> AsyncStream<I::IntoIter, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        self.stream(items, f, false)
    }

    fn stream<I, F, T>(&self, items: I, f: F, link: bool) -> AsyncStream<I::IntoIter, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        let spawner = Spawner::Supervised {
            supervisor: self.supervisor.clone(),
            link,
        };
        AsyncStream::new(items.into_iter(), Arc::new(f), spawner)
    }

    /// The tasks running under the supervisor (`Task.Supervisor.children/1`).
    ///
    /// # Errors
    ///
    /// The supervisor could not be reached.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// otp::run(|| {
    ///     let tasks = otp::task::supervisor::start_link(Default::default()).unwrap();
    ///     let pid = tasks.start_child(|| otp::sleep(Duration::from_secs(60))).unwrap();
    ///     assert_eq!(tasks.children().unwrap(), vec![pid]);
    /// });
    /// ```
    pub fn children(&self) -> Result<Vec<AnyPid>, CallError> {
        Ok(self
            .supervisor
            .which_children()?
            .into_iter()
            .filter_map(|c| c.pid)
            .collect())
    }

    /// Stops one of its tasks (`Task.Supervisor.terminate_child/2`): `shutdown`, then a kill
    /// after 5 s.
    ///
    /// # Errors
    ///
    /// [`ChildError::NotFound`] if `pid` is not one of its tasks.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// otp::run(|| {
    ///     let tasks = otp::task::supervisor::start_link(Default::default()).unwrap();
    ///     let pid = tasks.start_child(|| otp::sleep(Duration::from_secs(60))).unwrap();
    ///     tasks.terminate_child(&pid).unwrap();
    ///     assert!(!otp::process::alive(&pid));
    /// });
    /// ```
    pub fn terminate_child(&self, pid: &AnyPid) -> Result<(), ChildError> {
        self.supervisor.terminate_child(pid)
    }

    /// Stops the supervisor and every task under it.
    ///
    /// # Errors
    ///
    /// As for [`Server::stop`](crate::gen_server::Server::stop).
    ///
    /// ```
    /// otp::run(|| {
    ///     let tasks = otp::task::supervisor::start_link(Default::default()).unwrap();
    ///     tasks.stop(otp::ExitReason::Normal, otp::Timeout::Infinity).unwrap();
    ///     assert!(tasks.pid().map_or(true, |p| !otp::process::alive(&p)));
    /// });
    /// ```
    pub fn stop(&self, reason: ExitReason, timeout: impl Into<Timeout>) -> Result<(), CallError> {
        self.supervisor.stop(reason, timeout)
    }
}

/// A temporary task child, 5 s to stop (Elixir's defaults for Task.Supervisor children).
fn temporary<F, C>(start: F) -> ChildSpec
where
    F: Fn() -> Result<C, StartError> + Send + Sync + 'static,
    C: Child,
{
    ChildSpec::new("task", start)
        .restart(Restart::Temporary)
        .shutdown(Shutdown::Timeout(Duration::from_secs(5)))
}

/// The task's function, the one time its (temporary) spec is started.
fn take<F>(body: &Mutex<Option<F>>) -> Result<F, StartError> {
    body.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .ok_or(StartError::Ignore)
}

/// Starts `f` under `supervisor` as a task of the caller: the supervisor spawns it (linked to
/// itself); the caller links to it if `link`, monitors it, then sends it its reply slot, which
/// is its signal to run `f`.
#[track_caller]
pub(super) fn spawn<T, F>(
    supervisor: &DynamicSupervisor,
    f: F,
    link: bool,
) -> Result<Handle<T>, ChildError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (promise, waiter) = reply::slot("otp::task::supervisor");
    let owner = crate::self_pid();
    let body = Mutex::new(Some(f));
    let spec = temporary(move || {
        let f = take(&body)?;
        let owner = owner.clone();
        Ok(SpawnOptions::new()
            .link()
            .spawn(move |mb: Mailbox<Go<T>>| supervised(mb, &owner, f)))
    });
    let pid = supervisor
        .start_child(spec)?
        .ok_or(ChildError::Start(StartError::Ignore))?;
    if link {
        // Gone already (killed before it could start)? Then its DOWN says so.
        let _ = process::link(&pid);
    }
    let reference = process::monitor(&pid);
    if let Some(task) = pid.downcast::<Go<T>>() {
        // To a dead task this drops the promise, which the DOWN's `noproc` then stands for.
        task.send(Go(promise));
    }
    Ok(Handle::new(pid, reference, waiter))
}

/// A supervised task's body: wait until the owner watches it, run, reply. If the owner dies
/// first, there is nobody to run for.
fn supervised<T, F>(mut mb: Mailbox<Go<T>>, owner: &AnyPid, f: F)
where
    F: FnOnce() -> T,
    T: Send + 'static,
{
    let watching = process::monitor(owner);
    let first = mb.select(Timeout::Infinity, |m| match m {
        MessageRef::User(_) => true,
        MessageRef::Down { reference, .. } => reference == watching,
        MessageRef::Exit { .. } => false,
    });
    match first {
        Some(Message::User(Go(promise))) => {
            process::demonitor_flush(watching);
            let _ = promise.fulfil(super::report::run(owner.clone(), f));
        }
        Some(Message::Down { reason, .. }) => crate::exit(ExitReason::shutdown_with(reason)),
        _ => unreachable!("an infinite select returns what it accepted"),
    }
}
