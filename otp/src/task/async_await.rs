//! [`Task`]: one task and its owner. [`async_`] starts one; its methods wait for it
//! ([`await_`](Task::await_), [`try_await`](Task::try_await), [`yield_`](Task::yield_)),
//! stop it ([`shutdown`](Task::shutdown)) or let it go ([`ignore`](Task::ignore)).
//! [`start`] and [`start_link`] start tasks nobody waits for.

use std::{fmt, panic::Location, sync::Arc, time::Instant};

use super::{
    handle::{deadline, forget_monitor, send_exit, unlink_now, wait_until, Handle, Seen},
    outcome::{AwaitError, Outcome, TaskExit, TaskId, DEFAULT_TIMEOUT},
};
use crate::{
    gen_server::StartError,
    process::{self, reply, AnyPid, ExitReason, Ref, SpawnOptions},
    runtime::context,
    supervisor::{ChildSpec, Restart, Shutdown},
    Timeout,
};

/// A running computation whose result its owner (the process that started it) waits for:
/// Elixir's `%Task{}`. Made by [`async_`] (linked to the owner) or by a
/// [task supervisor](super::supervisor::TaskSupervisor).
///
/// The task is a process holding the promise of one value. Its owner monitors it and waits on
/// a reply slot, not on its mailbox, so a task works the same in any process whatever the
/// type of its mailbox, the reply never shows up there, and a reply that comes after the owner
/// stopped waiting is simply dropped. Awaiting removes the monitor and its `DOWN`, so nothing
/// is left behind.
///
/// Only the owner may wait on a task; the methods panic in any other process (Elixir raises
/// `ArgumentError`). A `Task` is `Send` so that it can live in a GenServer's state, or be
/// passed around; dropping it without waiting leaves the task running (and linked) and forgets
/// its monitor.
///
/// ```
/// use otp::task;
///
/// otp::run(|| {
///     let answer = task::async_(|| 6 * 7);
///     // ... meanwhile, other work ...
///     assert_eq!(answer.await_(), 42);
/// });
/// ```
#[must_use = "a task's result is lost unless it is awaited, yielded or shut down (use task::start to fire and forget)"]
pub struct Task<T> {
    handle: Handle<T>,
    owner: AnyPid,
    /// The monitor has been dealt with (awaited, shut down, ignored): dropping does nothing.
    settled: bool,
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.id(), f)
    }
}

/// Starts `f` in a new process linked to the caller and monitored by it, and returns the
/// [`Task`] to wait on (`Task.async/1`).
///
/// The link means the two share their fate: if the task crashes, a caller that does not trap
/// exits crashes with the same reason, and if the caller dies, so does the task. (`async` is
/// a Rust keyword, hence the underscore.)
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// use otp::task;
///
/// otp::run(|| {
///     let tasks: Vec<_> = (1..=3u64).map(|n| task::async_(move || n * n)).collect();
///     assert_eq!(task::await_many(tasks), vec![1, 4, 9]);
/// });
/// ```
#[track_caller]
pub fn async_<T, F>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Task::from_handle(spawn_linked(f))
}

/// Spawns `f` linked to and monitored by the caller, atomically, with a reply slot.
#[track_caller]
pub(super) fn spawn_linked<T, F>(f: F) -> Handle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (promise, waiter) = reply::slot("otp::task::async_");
    let starter = crate::self_pid();
    let (pid, reference) = SpawnOptions::new().link().spawn_monitor(move || {
        let _ = promise.fulfil(super::report::run(starter, f));
    });
    Handle::new(pid.to_any(), reference, waiter)
}

impl<T> Task<T> {
    pub(super) fn from_handle(handle: Handle<T>) -> Task<T> {
        Task {
            handle,
            owner: crate::self_pid(),
            settled: false,
        }
    }

    pub(super) fn handle_mut(&mut self) -> &mut Handle<T> {
        &mut self.handle
    }

    pub(super) fn settle(&mut self) {
        self.settled = true;
    }

    pub(super) fn id(&self) -> TaskId {
        TaskId {
            owner: self.owner.clone(),
            pid: self.handle.pid.clone(),
            reference: self.handle.reference,
        }
    }

    /// Panics unless the calling process owns the task, as Elixir raises `ArgumentError`.
    #[track_caller]
    pub(super) fn check_owner(&self, what: &str) -> crate::process::core_ref::CoreRef {
        let me = context::expect_process(what);
        if !crate::process::core_ref::CoreRef::ptr_eq(&me, self.owner.core()) {
            panic!(
                "task {self:?} must be queried from the owner but was queried from {:?}",
                AnyPid::from_core(me)
            );
        }
        me
    }

    /// The task's process.
    ///
    /// ```
    /// otp::run(|| {
    ///     let t = otp::task::async_(|| 1);
    ///     assert!(otp::process::info(otp::self_pid()).unwrap().links.contains(t.pid()));
    ///     t.await_();
    /// });
    /// ```
    pub fn pid(&self) -> &AnyPid {
        &self.handle.pid
    }

    /// The process that started the task and may wait on it.
    ///
    /// ```
    /// otp::run(|| {
    ///     let t = otp::task::async_(|| 1);
    ///     assert_eq!(t.owner(), &otp::self_pid());
    ///     t.await_();
    /// });
    /// ```
    pub fn owner(&self) -> &AnyPid {
        &self.owner
    }

    /// The owner's monitor on the task. Its `DOWN` is how a process that does not block on
    /// the task (a GenServer, in `handle_info`) learns that the task is done; the result is
    /// then a [`yield_`](Task::yield_) with a zero timeout away.
    ///
    /// ```
    /// use std::time::Duration;
    /// use otp::{task, Mailbox, Message};
    ///
    /// otp::run(|mut mb: Mailbox<()>| {
    ///     let mut t = task::async_(|| "done");
    ///     let Message::Down { reference, .. } = mb.receive_message() else { unreachable!() };
    ///     assert_eq!(reference, t.reference());
    ///     assert_eq!(t.yield_(Duration::ZERO), Some(task::Outcome::Ok("done")));
    /// });
    /// ```
    pub fn reference(&self) -> Ref {
        self.handle.reference
    }

    /// Waits up to 5 s for the task's value (`Task.await/1`).
    ///
    /// If no value comes in time, the caller **exits** with
    /// `{:timeout, {Task, :await, [task, 5000]}}` (a [`TaskExit`]), which through the link
    /// also ends the task. If the task dies first, a caller that does not trap exits is ended
    /// by the link with the task's reason; one that traps exits exits here with
    /// `{reason, {Task, :await, [task, 5000]}}`, and the task's `EXIT` message stays in its
    /// mailbox. Use [`try_await`](Task::try_await) to get these as values instead.
    ///
    /// # Panics
    ///
    /// If the caller is not the task's owner.
    ///
    /// ```
    /// otp::run(|| {
    ///     let t = otp::task::async_(|| "hello".len());
    ///     assert_eq!(t.await_(), 5);
    /// });
    /// ```
    #[track_caller]
    pub fn await_(self) -> T {
        self.await_at(DEFAULT_TIMEOUT, Location::caller())
    }

    /// [`await_`](Task::await_) with an explicit timeout (`Task.await/2`;
    /// [`Timeout::Infinity`] waits for ever).
    ///
    /// # Panics
    ///
    /// If the caller is not the task's owner.
    ///
    /// ```
    /// use otp::{task, Timeout};
    ///
    /// otp::run(|| {
    ///     let t = task::async_(|| (1..=10u32).sum::<u32>());
    ///     assert_eq!(t.await_timeout(Timeout::Infinity), 55);
    /// });
    /// ```
    #[track_caller]
    pub fn await_timeout(self, timeout: impl Into<Timeout>) -> T {
        self.await_at(timeout.into(), Location::caller())
    }

    fn await_at(mut self, timeout: Timeout, at: &'static Location<'static>) -> T {
        let id = self.id();
        match self.try_await_at(timeout, at) {
            Ok(value) => value,
            Err(AwaitError::Timeout) => {
                crate::exit(TaskExit::await_(TaskExit::timeout_reason(), id, timeout))
            }
            Err(AwaitError::Exit(reason)) => crate::exit(TaskExit::await_(reason, id, timeout)),
        }
    }

    /// Waits up to `timeout` for the task's value, and says why there is none instead of
    /// exiting the caller.
    ///
    /// # Errors
    ///
    /// [`AwaitError::Timeout`]: no value in time; the task keeps running (still linked) and
    /// its late value is dropped. [`AwaitError::Exit`]: the task exited first (seen by a
    /// caller that traps exits, or for a task that is not linked to it).
    ///
    /// # Panics
    ///
    /// If the caller is not the task's owner.
    ///
    /// ```
    /// use otp::{process, task::{self, AwaitError}, ExitReason};
    ///
    /// otp::run(|| {
    ///     process::trap_exit(true); // see the task's crash instead of sharing it
    ///     let t = task::async_(|| -> u32 { otp::exit(ExitReason::custom("boom")) });
    ///     assert_eq!(t.try_await(task::DEFAULT_TIMEOUT), Err(AwaitError::Exit(ExitReason::custom("boom"))));
    /// });
    /// ```
    #[track_caller]
    pub fn try_await(mut self, timeout: impl Into<Timeout>) -> Result<T, AwaitError> {
        self.try_await_at(timeout.into(), Location::caller())
    }

    fn try_await_at(
        &mut self,
        timeout: Timeout,
        at: &'static Location<'static>,
    ) -> Result<T, AwaitError> {
        self.check_owner("otp::task::Task::await_");
        let handle = &mut self.handle;
        let seen = wait_until(deadline(timeout), at, |core| handle.poll(core, true));
        self.settled = true;
        match seen {
            Some(Seen::Reply(value)) => {
                process::demonitor_flush(self.handle.reference);
                Ok(value)
            }
            Some(Seen::Down(reason)) => Err(AwaitError::Exit(reason)),
            None => {
                process::demonitor_flush(self.handle.reference);
                Err(AwaitError::Timeout)
            }
        }
    }

    /// Waits up to `timeout` for the task without giving it up (`Task.yield/2`): `None` if it
    /// is still running (call again later), `Some(Ok(value))` once it has replied, or
    /// `Some(Exit(reason))` if it died without replying (seen by a caller that traps exits, or
    /// for a task that is not linked to it; a linked task's crash ends any other caller first).
    /// After it has returned `Some`, the task is done and later calls return `None`.
    ///
    /// (`yield` is a Rust keyword, hence the underscore.)
    ///
    /// # Panics
    ///
    /// If the caller is not the task's owner.
    ///
    /// ```
    /// use std::time::Duration;
    /// use otp::task::{self, Outcome};
    ///
    /// otp::run(|| {
    ///     let mut t = task::async_(|| {
    ///         otp::sleep(Duration::from_millis(50));
    ///         "done"
    ///     });
    ///     assert_eq!(t.yield_(Duration::ZERO), None); // still running
    ///     assert_eq!(t.yield_(Duration::from_secs(5)), Some(Outcome::Ok("done")));
    ///     assert_eq!(t.yield_(Duration::ZERO), None); // the value was taken
    /// });
    /// ```
    #[track_caller]
    pub fn yield_(&mut self, timeout: impl Into<Timeout>) -> Option<Outcome<T>> {
        let at = Location::caller();
        self.check_owner("otp::task::Task::yield_");
        let handle = &mut self.handle;
        match wait_until(deadline(timeout.into()), at, |core| handle.poll(core, true))? {
            Seen::Reply(value) => {
                process::demonitor_flush(self.handle.reference);
                Some(Outcome::Ok(value))
            }
            Seen::Down(reason) => Some(Outcome::Exit(reason)),
        }
    }

    /// Stops the task: unlinks it, sends it a `shutdown` exit signal, waits up to 5 s for it
    /// to exit and kills it if it has not (`Task.shutdown/1`). See
    /// [`shutdown_with`](Task::shutdown_with).
    ///
    /// # Panics
    ///
    /// If the caller is not the task's owner.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// otp::run(|| {
    ///     let t = otp::task::async_(|| otp::sleep(Duration::from_secs(60)));
    ///     assert_eq!(t.shutdown(), None); // it had not replied
    /// });
    /// ```
    #[track_caller]
    pub fn shutdown(self) -> Option<Outcome<T>> {
        self.shutdown_at(
            Shutdown::Timeout(std::time::Duration::from_secs(5)),
            Location::caller(),
        )
    }

    /// Stops the task as `how` says (`Task.shutdown/2`): [`Shutdown::BrutalKill`] kills it at
    /// once; [`Shutdown::Timeout`] sends `shutdown` and kills it if it is still alive after
    /// the timeout; [`Shutdown::Infinity`] sends `shutdown` and waits.
    ///
    /// Returns `Some(Ok(value))` if the task replied before it stopped (a value that arrived
    /// is never lost), `None` if it stopped as asked without replying, or `Some(Exit(reason))`
    /// if it exited another way (it crashed meanwhile, or was killed after the timeout:
    /// `killed`). The task is unlinked first, so its death is no signal to the caller.
    ///
    /// # Panics
    ///
    /// If the caller is not the task's owner.
    ///
    /// ```
    /// use std::time::Duration;
    /// use otp::{supervisor::Shutdown, task::{self, Outcome}};
    ///
    /// otp::run(|mut mb: otp::Mailbox<()>| {
    ///     let t = task::async_(|| "finished");
    ///     let watch = otp::process::monitor(t.pid());
    ///     mb.select(None, |m| matches!(m, otp::MessageRef::Down { reference, .. } if reference == watch));
    ///     // Already done: shutting it down hands over its value.
    ///     assert_eq!(t.shutdown_with(Shutdown::BrutalKill), Some(Outcome::Ok("finished")));
    /// });
    /// ```
    #[track_caller]
    pub fn shutdown_with(self, how: Shutdown) -> Option<Outcome<T>> {
        self.shutdown_at(how, Location::caller())
    }

    fn shutdown_at(mut self, how: Shutdown, at: &'static Location<'static>) -> Option<Outcome<T>> {
        let me = self.check_owner("otp::task::Task::shutdown");
        self.settled = true;
        if self.handle.finished {
            // Its monitor is spent: how it ended cannot be known any more (Elixir's answer).
            return Some(Outcome::Exit(ExitReason::NoProc));
        }
        let pid = self.handle.pid.clone();
        // Unlink and signal with no safe point in between: the caller cannot be stopped
        // half-way and leave the task running unlinked.
        unlink_now(&me, &pid);
        let (first, until) = match how {
            Shutdown::BrutalKill => (ExitReason::Kill, None),
            Shutdown::Timeout(d) => (ExitReason::Shutdown, Some(Instant::now() + d)),
            Shutdown::Infinity => (ExitReason::Shutdown, None),
        };
        send_exit(&me, &pid, first);
        let reason = match self.handle.wait_down(until, at) {
            Some(reason) => reason,
            None => {
                send_exit(&me, &pid, ExitReason::Kill);
                self.handle
                    .wait_down(None, at)
                    .unwrap_or(ExitReason::Killed)
            }
        };
        if let Some(value) = self.handle.take_reply() {
            return Some(Outcome::Ok(value));
        }
        // Stopped the way it was asked to: no value, nothing to report. (Killed after the
        // timeout ran out, it reports `killed`, as Elixir's does.)
        let as_asked = match how {
            Shutdown::BrutalKill => reason == ExitReason::Killed,
            Shutdown::Timeout(_) | Shutdown::Infinity => reason == ExitReason::Shutdown,
        };
        (!as_asked).then_some(Outcome::Exit(reason))
    }

    /// Lets the task go on alone (`Task.ignore/1`): unlinks it and forgets its monitor, so
    /// neither its value nor its crash will reach the caller. Returns what had already
    /// happened: `Some(Ok(value))` if it had replied, `Some(Exit(reason))` if it had died,
    /// `None` if it is still running.
    ///
    /// # Panics
    ///
    /// If the caller is not the task's owner.
    ///
    /// ```
    /// use std::time::Duration;
    /// use otp::{process, task, ExitReason};
    ///
    /// otp::run(|| {
    ///     let t = task::async_(|| otp::sleep(Duration::from_secs(60)));
    ///     let pid = t.pid().clone();
    ///     assert!(t.ignore().is_none()); // still running
    ///     assert!(!process::info(otp::self_pid()).unwrap().links.contains(&pid));
    ///     process::exit(&pid, ExitReason::Kill); // no longer linked: its end is not ours
    /// });
    /// ```
    #[track_caller]
    pub fn ignore(mut self) -> Option<Outcome<T>> {
        let me = self.check_owner("otp::task::Task::ignore");
        self.settled = true;
        me.safepoint();
        match self.handle.poll(&me, true) {
            Some(Seen::Down(reason)) => Some(Outcome::Exit(reason)),
            seen => {
                process::unlink(&self.handle.pid);
                process::demonitor_flush(self.handle.reference);
                match seen {
                    Some(Seen::Reply(value)) => Some(Outcome::Ok(value)),
                    _ => None,
                }
            }
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if self.settled || self.handle.finished {
            return;
        }
        let me = context::current_process();
        if me.is_some_and(|me| crate::process::core_ref::CoreRef::ptr_eq(&me, self.owner.core())) {
            // An owner that is exiting takes its monitors with it.
            if !std::thread::panicking() {
                process::demonitor_flush(self.handle.reference);
            }
        } else {
            forget_monitor(
                self.owner.core(),
                self.handle.pid.core(),
                self.handle.reference,
            );
        }
    }
}

/// Starts `f` in a new process nobody waits for, not linked to the caller (`Task.start/1`):
/// fire and forget. Its crash does not reach the caller (the runtime logs it).
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// otp::run(|mut mb: otp::Mailbox<String>| {
///     let me = mb.pid();
///     let pid = otp::task::start(move || me.send("sent from a task".into()));
///     assert!(!otp::process::info(otp::self_pid()).unwrap().links.contains(&pid));
///     assert_eq!(mb.receive(), "sent from a task");
/// });
/// ```
#[track_caller]
pub fn start<F>(f: F) -> AnyPid
where
    F: FnOnce() + Send + 'static,
{
    let starter = crate::self_pid();
    crate::spawn(move || super::report::run(starter, f)).to_any()
}

/// Starts `f` in a new process nobody waits for, linked to the caller (`Task.start_link/1`),
/// typically by a supervisor (see [`child_spec`]).
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// otp::run(|| {
///     let pid = otp::task::start_link(|| println!("working"));
///     let _ = pid; // linked until it exits
/// });
/// ```
#[track_caller]
pub fn start_link<F>(f: F) -> AnyPid
where
    F: FnOnce() + Send + 'static,
{
    let starter = crate::self_pid();
    crate::spawn_link(move || super::report::run(starter, f)).to_any()
}

/// A child spec that runs `f` as a task under a supervisor (`use Task` in a module, or
/// `{Task, fun}` in a children list): started with [`start_link`], and
/// [`Restart::Temporary`] by default, as Elixir's, so a task that finishes is not started
/// again. Give it [`Restart::Transient`] to have it restarted until it finishes normally.
///
/// ```
/// use otp::supervisor::{self, Options};
///
/// otp::run(|mut mb: otp::Mailbox<()>| {
///     let me = mb.pid();
///     let warm_up = otp::task::child_spec("warm_up", move || me.send(()));
///     let _sup = supervisor::start_link(vec![warm_up], Options::default()).unwrap();
///     mb.receive(); // the task ran
/// });
/// ```
pub fn child_spec<F>(id: impl AsRef<str>, f: F) -> ChildSpec
where
    F: Fn() + Send + Sync + 'static,
{
    let f = Arc::new(f);
    ChildSpec::new(id, move || {
        let f = f.clone();
        Ok::<_, StartError>(start_link(move || f()))
    })
    .restart(Restart::Temporary)
}
