//! What waiting on a task gives: [`Outcome`] (Elixir's `{:ok, v}` / `{:exit, reason}`),
//! [`AwaitError`] (what [`try_await`](super::Task::try_await) returns instead of exiting) and
//! [`TaskExit`] (the reason `await_` exits its caller with).

use std::{fmt, time::Duration};

use crate::{
    process::{AnyPid, ExitReason, Ref},
    Timeout,
};

/// How a task ended, as [`yield_`](super::Task::yield_), [`shutdown`](super::Task::shutdown),
/// [`yield_many`](super::yield_many) and [`async_stream`](super::async_stream) report it:
/// Elixir's `{:ok, value}` and `{:exit, reason}`.
///
/// ```
/// use otp::{task::Outcome, ExitReason};
///
/// let done: Outcome<u32> = Outcome::Ok(42);
/// assert_eq!(done.clone().ok(), Some(42));
/// assert_eq!(done.into_result(), Ok(42));
///
/// let failed: Outcome<u32> = Outcome::Exit(ExitReason::custom("boom"));
/// assert!(failed.is_exit());
/// assert_eq!(failed.exit_reason(), Some(&ExitReason::custom("boom")));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Outcome<T> {
    /// The task returned this value (`{:ok, value}`).
    Ok(T),
    /// The task exited with this reason before replying (`{:exit, reason}`); for a stream
    /// element killed by [`OnTimeout::KillTask`](super::OnTimeout::KillTask), `:timeout`
    /// (`ExitReason::custom("timeout")`).
    Exit(ExitReason),
}

impl<T> Outcome<T> {
    /// Whether the task returned a value.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }

    /// Whether the task exited without a value.
    pub fn is_exit(&self) -> bool {
        matches!(self, Outcome::Exit(_))
    }

    /// The value, if there is one.
    pub fn ok(self) -> Option<T> {
        match self {
            Outcome::Ok(v) => Some(v),
            Outcome::Exit(_) => None,
        }
    }

    /// The exit reason, if the task exited without a value.
    pub fn exit_reason(&self) -> Option<&ExitReason> {
        match self {
            Outcome::Ok(_) => None,
            Outcome::Exit(reason) => Some(reason),
        }
    }

    /// As a `Result`: `Ok(value)` or `Err(reason)`.
    ///
    /// # Errors
    ///
    /// The task's exit reason, if it exited without a value.
    pub fn into_result(self) -> Result<T, ExitReason> {
        self.into()
    }
}

impl<T> From<Outcome<T>> for Result<T, ExitReason> {
    fn from(outcome: Outcome<T>) -> Self {
        match outcome {
            Outcome::Ok(v) => Ok(v),
            Outcome::Exit(reason) => Err(reason),
        }
    }
}

/// Why [`try_await`](super::Task::try_await) (or [`try_await_many`](super::try_await_many))
/// got no value: the two ways Elixir's `Task.await` exits its caller, as a value.
///
/// ```
/// use std::time::Duration;
/// use otp::task::{self, AwaitError};
///
/// otp::run(|| {
///     let slow = task::async_(|| otp::sleep(Duration::from_secs(1)));
///     assert_eq!(slow.try_await(Duration::from_millis(10)), Err(AwaitError::Timeout));
/// });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AwaitError {
    /// No reply within the timeout. The task keeps running (and stays linked); its late
    /// reply is dropped.
    Timeout,
    /// The task exited with this reason before replying. (A linked task's crash reaches a
    /// caller that does not trap exits through the link first, ending it; so this is seen by
    /// trapping callers and for unlinked tasks, such as a task supervisor's `async_nolink`.)
    Exit(ExitReason),
}

impl fmt::Display for AwaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AwaitError::Timeout => f.write_str("the task did not reply in time (:timeout)"),
            AwaitError::Exit(reason) => write!(f, "the task exited with {reason}"),
        }
    }
}

impl std::error::Error for AwaitError {}

/// The identity of a task, as Elixir prints a `%Task{}`.
#[derive(Clone, PartialEq)]
pub(crate) struct TaskId {
    pub(crate) owner: AnyPid,
    pub(crate) pid: AnyPid,
    pub(crate) reference: Ref,
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "%Task{{owner: {:?}, pid: {:?}, ref: {}}}",
            self.owner, self.pid, self.reference
        )
    }
}

/// Which function gave up.
#[derive(Clone, PartialEq)]
enum Call {
    Await(TaskId),
    AwaitMany(Vec<TaskId>),
    Stream,
}

/// The exit reason of a caller that [`await_`](super::Task::await_),
/// [`await_many`](super::await_many) or an [`async_stream`](super::async_stream) ended:
/// `{reason, {Task, :await, [task, timeout]}}` and its siblings, where `reason` is `:timeout`
/// or the exit reason of the task that died. It travels inside
/// [`ExitReason::Custom`](crate::ExitReason::Custom) (read it back with
/// [`TaskExit::of`]) and prints as Elixir's.
///
/// ```
/// use std::time::Duration;
/// use otp::{task::{self, TaskExit}, Mailbox, Message};
///
/// otp::run(|mut mb: Mailbox<()>| {
///     let (_, watched) = otp::spawn_monitor(|| {
///         let slow = task::async_(|| otp::sleep(Duration::from_secs(5)));
///         slow.await_timeout(Duration::from_millis(10)); // exits this process
///     });
///     let Message::Down { reference, reason, .. } = mb.receive_message() else { unreachable!() };
///     assert_eq!(reference, watched);
///     let exit = TaskExit::of(&reason).expect("exited by await");
///     assert!(exit.is_timeout());
///     assert_eq!(exit.function(), "await");
///     assert!(reason.to_string().starts_with("{:timeout, {Task, :await, [%Task{"));
///     assert!(reason.to_string().ends_with(", 10]}}"));
/// });
/// ```
#[derive(Clone, PartialEq)]
pub struct TaskExit {
    reason: ExitReason,
    call: Call,
    timeout: Timeout,
}

impl TaskExit {
    pub(crate) fn timeout_reason() -> ExitReason {
        ExitReason::custom("timeout")
    }

    pub(crate) fn await_(reason: ExitReason, task: TaskId, timeout: Timeout) -> ExitReason {
        ExitReason::custom(TaskExit {
            reason,
            call: Call::Await(task),
            timeout,
        })
    }

    pub(crate) fn await_many(
        reason: ExitReason,
        tasks: Vec<TaskId>,
        timeout: Timeout,
    ) -> ExitReason {
        ExitReason::custom(TaskExit {
            reason,
            call: Call::AwaitMany(tasks),
            timeout,
        })
    }

    pub(crate) fn stream(timeout: Timeout) -> ExitReason {
        ExitReason::custom(TaskExit {
            reason: TaskExit::timeout_reason(),
            call: Call::Stream,
            timeout,
        })
    }

    /// The `TaskExit` inside an exit reason, if that is what it is.
    pub fn of(reason: &ExitReason) -> Option<&TaskExit> {
        match reason {
            ExitReason::Custom(c) => c.downcast_ref::<TaskExit>(),
            _ => None,
        }
    }

    /// `:timeout`, or the exit reason of the task that died.
    pub fn reason(&self) -> &ExitReason {
        &self.reason
    }

    /// Whether the caller gave up waiting (rather than the task dying).
    pub fn is_timeout(&self) -> bool {
        self.reason == TaskExit::timeout_reason()
    }

    /// The function that exited: `"await"`, `"await_many"` or `"stream"`.
    pub fn function(&self) -> &'static str {
        match self.call {
            Call::Await(_) => "await",
            Call::AwaitMany(_) => "await_many",
            Call::Stream => "stream",
        }
    }

    /// The timeout the function was given.
    pub fn timeout(&self) -> Timeout {
        self.timeout
    }

    /// The tasks it waited on (none for a stream).
    pub fn tasks(&self) -> Vec<AnyPid> {
        match &self.call {
            Call::Await(t) => vec![t.pid.clone()],
            Call::AwaitMany(ts) => ts.iter().map(|t| t.pid.clone()).collect(),
            Call::Stream => Vec::new(),
        }
    }
}

/// `5000` or `:infinity`, as Elixir prints a timeout.
struct Millis(Timeout);

impl fmt::Debug for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Timeout::Infinity => f.write_str(":infinity"),
            Timeout::After(d) => write!(f, "{}", d.as_millis()),
        }
    }
}

/// Prints `{:timeout, {Task, :await, [%Task{...}, 100]}}`, as Elixir does.
impl fmt::Debug for TaskExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timeout = Millis(self.timeout);
        match &self.call {
            Call::Await(task) => write!(
                f,
                "{{{}, {{Task, :await, [{task:?}, {timeout:?}]}}}}",
                self.reason
            ),
            Call::AwaitMany(tasks) => write!(
                f,
                "{{{}, {{Task, :await_many, [{tasks:?}, {timeout:?}]}}}}",
                self.reason
            ),
            Call::Stream => write!(
                f,
                "{{{}, {{Task.Supervised, :stream, [{timeout:?}]}}}}",
                self.reason
            ),
        }
    }
}

/// The default timeout of `await_`, `await_many` and `async_stream`: 5 seconds, as in Elixir.
pub const DEFAULT_TIMEOUT: Timeout = Timeout::After(Duration::from_secs(5));
