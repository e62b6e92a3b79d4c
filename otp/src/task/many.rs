//! Waiting on several tasks at once: [`await_many`] and [`yield_many`]. Results come back in
//! the order of the input, whatever order the tasks finish in.

use std::panic::Location;

use super::{
    async_await::Task,
    handle::{deadline, deliver_downs, take_downs, wait_until, Seen},
    outcome::{AwaitError, Outcome, TaskExit, DEFAULT_TIMEOUT},
};
use crate::{
    process::{self, core::ProcessCore},
    Timeout,
};

/// Waits up to 5 s in all for every task's value, and returns the values in the order of
/// `tasks` (`Task.await_many/1`).
///
/// If the time runs out, the caller exits with `{:timeout, {Task, :await_many, [tasks,
/// 5000]}}` (a [`TaskExit`]); the tasks are not killed (but, being linked, they go down with
/// the caller). If a task dies first, a caller that does not trap exits is ended by the link
/// with the task's reason; one that traps exits exits with `{reason, {Task, :await_many,
/// ...}}`.
///
/// # Panics
///
/// If the caller does not own every task.
///
/// ```
/// use std::time::Duration;
/// use otp::task;
///
/// otp::run(|| {
///     let tasks: Vec<_> = [30u64, 1, 15]
///         .into_iter()
///         .map(|ms| task::async_(move || { otp::sleep(Duration::from_millis(ms)); ms }))
///         .collect();
///     assert_eq!(task::await_many(tasks), vec![30, 1, 15]); // input order
/// });
/// ```
#[track_caller]
pub fn await_many<T: Send + 'static>(tasks: impl IntoIterator<Item = Task<T>>) -> Vec<T> {
    await_many_at(
        tasks.into_iter().collect(),
        DEFAULT_TIMEOUT,
        Location::caller(),
    )
}

/// [`await_many`] with an explicit timeout for the whole wait (`Task.await_many/2`).
///
/// # Panics
///
/// If the caller does not own every task.
///
/// ```
/// use otp::{task, Timeout};
///
/// otp::run(|| {
///     let tasks = vec![task::async_(|| 'a'), task::async_(|| 'b')];
///     assert_eq!(task::await_many_timeout(tasks, Timeout::Infinity), vec!['a', 'b']);
/// });
/// ```
#[track_caller]
pub fn await_many_timeout<T: Send + 'static>(
    tasks: impl IntoIterator<Item = Task<T>>,
    timeout: impl Into<Timeout>,
) -> Vec<T> {
    await_many_at(
        tasks.into_iter().collect(),
        timeout.into(),
        Location::caller(),
    )
}

fn await_many_at<T: Send + 'static>(
    mut tasks: Vec<Task<T>>,
    timeout: Timeout,
    at: &'static Location<'static>,
) -> Vec<T> {
    let error = match try_await_many_at(&mut tasks, timeout, at) {
        Ok(values) => return values,
        Err(error) => error,
    };
    let ids = tasks.iter().map(Task::id).collect();
    let reason = match error {
        AwaitError::Timeout => TaskExit::timeout_reason(),
        AwaitError::Exit(reason) => reason,
    };
    crate::exit(TaskExit::await_many(reason, ids, timeout))
}

/// [`await_many`] that says why there are no values instead of exiting the caller.
///
/// # Errors
///
/// [`AwaitError::Timeout`] if some task had not replied in time (none of them is killed),
/// [`AwaitError::Exit`] with the reason of the first task seen to die (by a caller that traps
/// exits, or for tasks not linked to it).
///
/// # Panics
///
/// If the caller does not own every task.
///
/// ```
/// use std::time::Duration;
/// use otp::task::{self, AwaitError};
///
/// otp::run(|| {
///     let tasks = vec![task::async_(|| 1), task::async_(|| { otp::sleep(Duration::from_secs(5)); 2 })];
///     assert_eq!(task::try_await_many(tasks, Duration::from_millis(20)), Err(AwaitError::Timeout));
/// });
/// ```
#[track_caller]
pub fn try_await_many<T: Send + 'static>(
    tasks: impl IntoIterator<Item = Task<T>>,
    timeout: impl Into<Timeout>,
) -> Result<Vec<T>, AwaitError> {
    let mut tasks: Vec<_> = tasks.into_iter().collect();
    try_await_many_at(&mut tasks, timeout.into(), Location::caller())
}

/// Awaits every task of `tasks`; on failure, those not finished are forgotten when `tasks` is
/// dropped (monitor and `DOWN` removed) and keep running.
fn try_await_many_at<T: Send + 'static>(
    tasks: &mut [Task<T>],
    timeout: Timeout,
    at: &'static Location<'static>,
) -> Result<Vec<T>, AwaitError> {
    for t in tasks.iter() {
        t.check_owner("otp::task::await_many");
    }
    let mut values: Vec<Option<T>> = tasks.iter().map(|_| None).collect();
    let mut left = tasks.len();
    let ended = wait_until(deadline(timeout), at, |core| loop {
        sweep_downs(core, tasks);
        let before = left;
        for (task, value) in tasks.iter_mut().zip(values.iter_mut()) {
            match task.handle_mut().poll(core, false) {
                Some(Seen::Reply(v)) => {
                    process::demonitor_flush(task.reference());
                    *value = Some(v);
                    left -= 1;
                }
                Some(Seen::Down(reason)) => return Some(Err(reason)),
                None => {}
            }
        }
        if left == 0 {
            return Some(Ok(()));
        }
        // `demonitor_flush` drains the mailbox: look again before parking, or a DOWN it moved
        // in could wait there unseen.
        if left == before {
            return None;
        }
    });
    match ended {
        Some(Ok(())) => {
            for t in tasks.iter_mut() {
                t.settle();
            }
            Ok(values.into_iter().flatten().collect())
        }
        Some(Err(reason)) => Err(AwaitError::Exit(reason)),
        None => Err(AwaitError::Timeout),
    }
}

/// Waits up to `timeout` in all for the tasks, without giving them up (`Task.yield_many/2`):
/// one result per task, in the order of `tasks`, as [`Task::yield_`] gives it: `Some(Ok(v))`,
/// `Some(Exit(reason))`, or `None` for a task still running (which can be yielded again, or
/// shut down).
///
/// # Panics
///
/// If the caller does not own every task.
///
/// ```
/// use std::time::Duration;
/// use otp::{supervisor::Shutdown, task::{self, Outcome}};
///
/// otp::run(|| {
///     let mut tasks = vec![
///         task::async_(|| 1),
///         task::async_(|| { otp::sleep(Duration::from_secs(60)); 2 }),
///     ];
///     let results = task::yield_many(&mut tasks, Duration::from_millis(100));
///     assert_eq!(results[0], Some(Outcome::Ok(1)));
///     assert_eq!(results[1], None);
///     for (t, r) in tasks.into_iter().zip(results) {
///         if r.is_none() {
///             t.shutdown_with(Shutdown::BrutalKill);
///         }
///     }
/// });
/// ```
#[track_caller]
pub fn yield_many<T: Send + 'static>(
    tasks: &mut [Task<T>],
    timeout: impl Into<Timeout>,
) -> Vec<Option<Outcome<T>>> {
    let at = Location::caller();
    for t in tasks.iter() {
        t.check_owner("otp::task::yield_many");
    }
    let mut results: Vec<Option<Outcome<T>>> = tasks.iter().map(|_| None).collect();
    // A task yielded before never answers again: as in Elixir, it is waited for until the
    // timeout.
    let mut left = tasks.len();
    wait_until(deadline(timeout.into()), at, |core| loop {
        sweep_downs(core, tasks);
        let before = left;
        for (task, result) in tasks.iter_mut().zip(results.iter_mut()) {
            match task.handle_mut().poll(core, false) {
                Some(Seen::Reply(v)) => {
                    process::demonitor_flush(task.reference());
                    *result = Some(Outcome::Ok(v));
                    left -= 1;
                }
                Some(Seen::Down(reason)) => {
                    *result = Some(Outcome::Exit(reason));
                    left -= 1;
                }
                None => {}
            }
        }
        if left == 0 {
            return Some(());
        }
        // As in `await_many`: look again after a drain before parking.
        if left == before {
            return None;
        }
    });
    results
}

/// Takes the `DOWN`s of the tasks not finished yet out of the mailbox, in one pass, and hands
/// each to its task.
fn sweep_downs<T>(core: &ProcessCore, tasks: &mut [Task<T>]) {
    let downs = take_downs(core, |r| {
        tasks
            .iter_mut()
            .any(|t| !t.handle_mut().finished && t.reference() == r)
    });
    deliver_downs(downs, tasks.iter_mut().map(Task::handle_mut));
}
