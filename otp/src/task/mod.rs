//! Tasks: one computation in its own process, whose result its starter waits for (Elixir's
//! `Task` and `Task.Supervisor`).
//!
//! ```
//! use otp::task;
//!
//! otp::run(|| {
//!     // Start the work, do something else, then collect it.
//!     let report = task::async_(|| (1..=100u64).sum::<u64>());
//!     let other = 21 * 2;
//!     assert_eq!(report.await_() + other, 5092);
//! });
//! ```
//!
//! A [`Task`] is a process linked to the caller (its *owner*), monitored by it, and holding the
//! promise of one value. The owner waits on a reply slot, not on its mailbox: a task works in a
//! process with any mailbox type, its reply never lands among the owner's messages, and a reply
//! that comes after the owner gave up (a timeout, a shutdown) is dropped, as Elixir's process
//! aliases drop it. Awaiting takes the monitor's `DOWN` out of the mailbox too, so a finished
//! task leaves nothing behind.
//!
//! # Elixir and otp
//!
//! `async`, `await` and `yield` are Rust keywords, so those three names take a trailing
//! underscore; everything else keeps Elixir's name.
//!
//! | Elixir | otp |
//! |---|---|
//! | `Task.async(fun)` | [`task::async_`](async_)`(f)` → [`Task<T>`] |
//! | `Task.await(task, timeout \\\\ 5000)` (exits the caller on failure) | [`Task::await_`] / [`Task::await_timeout`] |
//! | `try do Task.await(...) catch :exit, _ -> ... end` | [`Task::try_await`] → `Result<T, `[`AwaitError`]`>` |
//! | `Task.await_many(tasks, timeout \\\\ 5000)` | [`await_many`] / [`await_many_timeout`] / [`try_await_many`] |
//! | `Task.yield(task, timeout)` → `{:ok, v}` \| `{:exit, r}` \| `nil` | [`Task::yield_`] → `Some(`[`Outcome::Ok`]`)` \| `Some(`[`Outcome::Exit`]`)` \| `None` |
//! | `Task.yield_many(tasks, timeout)` | [`yield_many`]`(&mut tasks, timeout)` |
//! | `Task.shutdown(task, 5000 \| :brutal_kill)` | [`Task::shutdown`] / [`Task::shutdown_with`]`(`[`Shutdown`](crate::supervisor::Shutdown)`)` |
//! | `Task.ignore(task)` | [`Task::ignore`] |
//! | `Task.start(fun)` / `Task.start_link(fun)` | [`start`] / [`start_link`] |
//! | `{Task, fun}` / `use Task` in a supervisor | [`child_spec`] |
//! | `Task.async_stream(enum, fun, opts)` | [`async_stream`]`(iter, f)` with [`max_concurrency`](AsyncStream::max_concurrency), [`ordered`](AsyncStream::ordered), [`timeout`](AsyncStream::timeout), [`on_timeout`](AsyncStream::on_timeout) |
//! | `System.schedulers_online()` | [`schedulers_online`] |
//! | `Task.Supervisor.start_link(opts)` | [`supervisor::start_link`] → [`TaskSupervisor`] |
//! | `Task.Supervisor.async` / `async_nolink` | [`TaskSupervisor::async_`] / [`TaskSupervisor::async_nolink`] |
//! | `Task.Supervisor.start_child` | [`TaskSupervisor::start_child`] |
//! | `Task.Supervisor.async_stream` / `async_stream_nolink` | [`TaskSupervisor::async_stream`] / [`TaskSupervisor::async_stream_nolink`] |
//! | `Task.Supervisor.children` | [`TaskSupervisor::children`] |
//!
//! # Failure, as on the BEAM
//!
//! * A crashing task linked to its owner ends an owner that does not trap exits, through the
//!   link, with the task's reason (whatever the owner is doing).
//! * An owner that traps exits sees the crash where it waits: [`Task::await_`] exits with
//!   `{reason, {Task, :await, [task, timeout]}}`, [`Task::yield_`] gives `Some(Exit(reason))`,
//!   and the task's `EXIT` message stays in the mailbox.
//! * [`Task::await_`] that times out exits the caller with
//!   `{:timeout, {Task, :await, [task, timeout]}}` (a [`TaskExit`]); through the link that also
//!   ends the task. [`Task::try_await`] returns [`AwaitError::Timeout`] instead, and the task
//!   keeps running.
//! * Waiting on a task from any process but its owner panics, as Elixir raises
//!   `ArgumentError`.
//! * Tasks started under a [`TaskSupervisor`] with `async_nolink` are not linked: their crash is
//!   only ever a value.
//!
//! A task's crash (a panic) is logged once, as Elixir logs it: `Task #PID<..> started from
//! #PID<..> terminating`, the panic, and the function.
//!
//! # Where we differ
//!
//! * Results are values: [`Outcome::Ok`] / [`Outcome::Exit`] for `{:ok, v}` / `{:exit, r}`;
//!   a task's reply is not a message (`{ref, result}`), so a GenServer that starts tasks
//!   learns that one finished from its monitor's `DOWN` (see [`Task::reference`]) and takes
//!   the value with [`Task::yield_`] and a zero timeout.
//! * [`AsyncStream`] is an [`Iterator`]; it stays in the process that made it (it is not
//!   `Send`). Dropping it early kills the tasks still running and waits until they are gone.
//!   `zip_input_on_exit` is not offered.
//! * Only panics (and the runtime's own limits) are logged as crashes, as for any process;
//!   Elixir also reports a task that calls `exit(reason)` with an abnormal reason.

mod async_await;
mod handle;
mod many;
mod outcome;
mod report;
mod stream;
pub mod supervisor;

pub use self::{
    async_await::{async_, child_spec, start, start_link, Task},
    many::{await_many, await_many_timeout, try_await_many, yield_many},
    outcome::{AwaitError, Outcome, TaskExit, DEFAULT_TIMEOUT},
    stream::{async_stream, AsyncStream, OnTimeout},
    supervisor::TaskSupervisor,
};

/// How many schedulers the calling process's runtime runs (`System.schedulers_online/0`):
/// the default `max_concurrency` of [`async_stream`].
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// let rt = otp::Builder::new().schedulers(3).build().unwrap();
/// assert_eq!(rt.block_on(otp::task::schedulers_online).unwrap(), 3);
/// ```
#[track_caller]
pub fn schedulers_online() -> usize {
    crate::runtime::shared::current().schedulers.len()
}
