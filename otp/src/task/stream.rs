//! [`async_stream`]: a function mapped over an iterator by concurrent tasks, lazily, at most
//! `max_concurrency` at a time (`Task.async_stream/3`).
//!
//! The stream is an [`Iterator`] of [`Outcome`]s. Nothing runs until it is iterated; then it
//! keeps up to `max_concurrency` tasks running, starting the next item's task as soon as one
//! finishes, and hands out each result in input order (`ordered`, the default) or as it comes.
//! Each task gets `timeout` from its start. Its tasks are linked to the iterating process, as
//! in Elixir, so a crash ends a caller that does not trap exits; a trapping caller gets
//! `Exit(reason)` elements instead, and no `EXIT` messages are left in its mailbox (Elixir's
//! tasks are linked through an intermediate process that absorbs them; here the stream
//! unlinks each finished task and drops its `EXIT`). Dropping the stream early kills the tasks
//! still running and waits until they are gone.

use std::{
    collections::VecDeque, fmt, iter::FusedIterator, marker::PhantomData, panic::Location,
    sync::Arc, time::Instant,
};

use super::{
    async_await::spawn_linked,
    handle::{deadline, deliver_downs, send_exit, take_downs, unlink_now, Handle, Seen},
    outcome::{Outcome, TaskExit, DEFAULT_TIMEOUT},
    schedulers_online, supervisor,
};
use crate::process::core_ref::CoreRef;
use crate::{
    dynamic_supervisor::DynamicSupervisor,
    mailbox,
    process::{self, ExitReason},
    runtime::{budget, context},
    Timeout,
};

/// What an [`AsyncStream`] does with a task that runs past its timeout (`:on_timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnTimeout {
    /// The task is killed and the iterating process exits with
    /// `{:timeout, {Task.Supervised, :stream, [timeout]}}` (a [`TaskExit`]). The default.
    #[default]
    Exit,
    /// The task is killed and its element is `Outcome::Exit(:timeout)`
    /// (`ExitReason::custom("timeout")`); the stream goes on (`:kill_task`).
    KillTask,
}

/// How a stream starts its tasks.
#[derive(Debug, Clone)]
pub(super) enum Spawner {
    /// `Task.async_stream`: linked to the iterating process.
    Linked,
    /// Under a task supervisor, linked to the iterating process or not.
    Supervised {
        supervisor: DynamicSupervisor,
        link: bool,
    },
}

impl Spawner {
    fn linked(&self) -> bool {
        match self {
            Spawner::Linked => true,
            Spawner::Supervised { link, .. } => *link,
        }
    }

    #[track_caller]
    fn spawn<T, F>(&self, f: F) -> Handle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Spawner::Linked => spawn_linked(f),
            Spawner::Supervised { supervisor, link } => supervisor::spawn(supervisor, f, *link)
                .unwrap_or_else(|e| {
                    panic!(
                        "async_stream could not start a task under its task supervisor ({e}); \
                         keep max_concurrency at or below the supervisor's max_children"
                    )
                }),
        }
    }
}

/// One task of the stream.
struct Running<T> {
    /// Its item's position in the input.
    index: usize,
    handle: Handle<T>,
    deadline: Option<Instant>,
}

/// The iterator [`async_stream`] returns. Set its options before iterating, builder style:
/// [`max_concurrency`](AsyncStream::max_concurrency), [`ordered`](AsyncStream::ordered),
/// [`timeout`](AsyncStream::timeout), [`on_timeout`](AsyncStream::on_timeout).
///
/// It is not `Send`: its tasks report to, and are linked to, the process iterating it, so it
/// stays in the process that made it.
///
/// ```
/// use std::time::Duration;
/// use otp::task::{self, OnTimeout, Outcome};
///
/// otp::run(|| {
///     let lengths: Vec<_> = task::async_stream(["a", "bb", "ccc"], |s: &str| s.len())
///         .max_concurrency(2)
///         .timeout(Duration::from_secs(1))
///         .on_timeout(OnTimeout::KillTask)
///         .collect();
///     assert_eq!(lengths, [Outcome::Ok(1), Outcome::Ok(2), Outcome::Ok(3)]);
/// });
/// ```
pub struct AsyncStream<I: Iterator, T> {
    /// The input; `None` once it ran out.
    items: Option<I>,
    f: Arc<dyn Fn(I::Item) -> T + Send + Sync>,
    spawner: Spawner,
    /// `None`: the number of schedulers, read when iteration starts.
    max_concurrency: Option<usize>,
    ordered: bool,
    timeout: Timeout,
    on_timeout: OnTimeout,
    running: Vec<Running<T>>,
    /// Tasks started so far (the next item's index).
    started: usize,
    /// Ordered: one entry per started task not yet handed out, in input order (`None` until
    /// it finishes). Unordered: results in the order they came (all `Some`).
    results: VecDeque<Option<Outcome<T>>>,
    _not_send: PhantomData<*const ()>,
}

impl<I: Iterator, T> fmt::Debug for AsyncStream<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncStream")
            .field("max_concurrency", &self.max_concurrency)
            .field("ordered", &self.ordered)
            .field("timeout", &self.timeout)
            .field("on_timeout", &self.on_timeout)
            .field("started", &self.started)
            .field("running", &self.running.len())
            .finish_non_exhaustive()
    }
}

/// Maps `f` over `items` with one task per item, concurrently, as a lazy iterator of
/// [`Outcome`]s (`Task.async_stream/3`). Defaults: at most [`schedulers_online`] tasks at a
/// time, results in input order, 5 s per task, and [`OnTimeout::Exit`].
///
/// # Panics
///
/// Iterating it outside a process.
///
/// ```
/// use otp::task::{self, Outcome};
///
/// otp::run(|| {
///     let words = ["long string", "longer string", "there are many of these"];
///     let total: usize = task::async_stream(words, |w: &str| w.chars().count())
///         .map(|r| r.ok().unwrap())
///         .sum();
///     assert_eq!(total, 47);
/// });
/// ```
pub fn async_stream<I, F, T>(items: I, f: F) -> AsyncStream<I::IntoIter, T>
where
    I: IntoIterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    AsyncStream::new(items.into_iter(), Arc::new(f), Spawner::Linked)
}

impl<I: Iterator, T> AsyncStream<I, T> {
    pub(super) fn new(
        items: I,
        f: Arc<dyn Fn(I::Item) -> T + Send + Sync>,
        spawner: Spawner,
    ) -> AsyncStream<I, T> {
        AsyncStream {
            items: Some(items),
            f,
            spawner,
            max_concurrency: None,
            ordered: true,
            timeout: DEFAULT_TIMEOUT,
            on_timeout: OnTimeout::Exit,
            running: Vec::new(),
            started: 0,
            results: VecDeque::new(),
            _not_send: PhantomData,
        }
    }

    /// At most this many tasks at a time (`:max_concurrency`; default
    /// [`schedulers_online`]).
    ///
    /// # Panics
    ///
    /// If `n` is 0 (Elixir raises too).
    ///
    /// ```
    /// use otp::task;
    ///
    /// otp::run(|| {
    ///     let one_by_one: Vec<_> = task::async_stream(1..=3, |n: i32| n).max_concurrency(1).collect();
    ///     assert_eq!(one_by_one.len(), 3);
    /// });
    /// ```
    #[must_use]
    pub fn max_concurrency(mut self, n: usize) -> Self {
        assert!(n > 0, "max_concurrency must be at least 1");
        self.max_concurrency = Some(n);
        self
    }

    /// Whether results come in input order (`true`, the default) or as the tasks finish
    /// (`:ordered`). Unordered, a slow item does not hold back the others' results.
    ///
    /// # Panics
    ///
    /// If iteration has already begun.
    ///
    /// ```
    /// use otp::task;
    ///
    /// otp::run(|| {
    ///     let mut got: Vec<i32> = task::async_stream(1..=4, |n: i32| n * 10)
    ///         .ordered(false)
    ///         .filter_map(|r| r.ok())
    ///         .collect();
    ///     got.sort();
    ///     assert_eq!(got, [10, 20, 30, 40]);
    /// });
    /// ```
    #[must_use]
    pub fn ordered(mut self, ordered: bool) -> Self {
        assert!(
            self.started == 0,
            "the order of an async_stream is set before iterating it"
        );
        self.ordered = ordered;
        self
    }

    /// How long each task may run, from its start (`:timeout`; default 5 s;
    /// [`Timeout::Infinity`] for no limit). What happens then is [`on_timeout`](Self::on_timeout).
    ///
    /// ```
    /// use otp::{task, Timeout};
    ///
    /// otp::run(|| {
    ///     let all: Vec<_> = task::async_stream(0..2, |n: u8| n).timeout(Timeout::Infinity).collect();
    ///     assert_eq!(all.len(), 2);
    /// });
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: impl Into<Timeout>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// What to do with a task that runs past the timeout (`:on_timeout`; default
    /// [`OnTimeout::Exit`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use otp::{task::{self, OnTimeout, Outcome}, ExitReason};
    ///
    /// otp::run(|| {
    ///     let results: Vec<_> = task::async_stream([1u64, 60_000], |ms: u64| otp::sleep(Duration::from_millis(ms)))
    ///         .timeout(Duration::from_millis(200))
    ///         .on_timeout(OnTimeout::KillTask)
    ///         .collect();
    ///     assert_eq!(results, [Outcome::Ok(()), Outcome::Exit(ExitReason::custom("timeout"))]);
    /// });
    /// ```
    #[must_use]
    pub fn on_timeout(mut self, on_timeout: OnTimeout) -> Self {
        self.on_timeout = on_timeout;
        self
    }

    /// The next result ready to hand out, if any.
    fn take_ready(&mut self) -> Option<Outcome<T>> {
        if matches!(self.results.front(), Some(Some(_))) {
            self.results.pop_front().flatten()
        } else {
            None
        }
    }

    /// Records the result of the task for item `index`.
    fn complete(&mut self, index: usize, outcome: Outcome<T>) {
        if self.ordered {
            // Entries cover the items from `started - len` on, in order.
            let first = self.started - self.results.len();
            self.results[index - first] = Some(outcome);
        } else {
            self.results.push_back(Some(outcome));
        }
    }
}

impl<I, T> AsyncStream<I, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    T: Send + 'static,
{
    /// Starts tasks until `max_concurrency` run or the input runs out.
    #[track_caller]
    fn fill(&mut self) {
        let max = *self.max_concurrency.get_or_insert_with(schedulers_online);
        while self.running.len() < max {
            let Some(item) = self.items.as_mut().and_then(Iterator::next) else {
                self.items = None;
                return;
            };
            let f = self.f.clone();
            let handle = self.spawner.spawn(move || f(item));
            self.running.push(Running {
                index: self.started,
                handle,
                deadline: deadline(self.timeout),
            });
            self.started += 1;
            if self.ordered {
                self.results.push_back(None);
            }
        }
    }

    /// Waits until at least one running task has finished (or timed out) and records it.
    fn wait_any(&mut self, at: &'static Location<'static>) {
        let core = context::expect_process("otp::task::async_stream");
        budget::consume(1);
        loop {
            // A linked task's crash ends a caller that does not trap exits here.
            core.safepoint();
            let downs = take_downs(&core, |r| {
                self.running.iter().any(|t| t.handle.reference == r)
            });
            deliver_downs(downs, self.running.iter_mut().map(|t| &mut t.handle));
            let mut finished = false;
            let mut i = 0;
            while i < self.running.len() {
                match self.running[i].handle.poll(&core, false) {
                    Some(seen) => {
                        let task = self.running.remove(i);
                        self.finish(&core, task, seen);
                        finished = true;
                    }
                    None => i += 1,
                }
            }
            if finished {
                // A drain in `finish` may have doomed the caller: that comes before results.
                core.check_exit();
                break;
            }
            let now = Instant::now();
            if let Some(i) = self
                .running
                .iter()
                .position(|t| t.deadline.is_some_and(|d| d <= now))
            {
                let task = self.running.remove(i);
                self.time_out(&core, task, at);
                break;
            }
            let next_deadline = self.running.iter().filter_map(|t| t.deadline).min();
            mailbox::wait_until(&core, next_deadline, at);
        }
        core.set_current(None);
    }

    /// A task replied or died: cut it loose and record its result.
    fn finish(&mut self, core: &CoreRef, task: Running<T>, seen: Seen<T>) {
        let outcome = match seen {
            Seen::Reply(value) => {
                if self.spawner.linked() {
                    // It is about to exit `normal`: its EXIT is of no interest.
                    unlink_now(core, &task.handle.pid);
                }
                process::demonitor_flush(task.handle.reference);
                Outcome::Ok(value)
            }
            Seen::Down(reason) => {
                if self.spawner.linked() {
                    // A trapping caller: the EXIT is already queued; the element says it all.
                    unlink_now(core, &task.handle.pid);
                }
                Outcome::Exit(reason)
            }
        };
        self.complete(task.index, outcome);
    }

    /// A task ran past its deadline: kill it, then deliver `:timeout` or exit.
    fn time_out(&mut self, core: &CoreRef, mut task: Running<T>, at: &'static Location<'static>) {
        if self.spawner.linked() {
            unlink_now(core, &task.handle.pid);
        }
        send_exit(core, &task.handle.pid, ExitReason::Kill);
        let _ = task.handle.wait_down(None, at);
        if let Some(value) = task.handle.take_reply() {
            // It replied at the last moment: the value stands.
            self.complete(task.index, Outcome::Ok(value));
            return;
        }
        match self.on_timeout {
            OnTimeout::KillTask => {
                self.complete(task.index, Outcome::Exit(TaskExit::timeout_reason()));
            }
            OnTimeout::Exit => crate::exit(TaskExit::stream(self.timeout)),
        }
    }
}

impl<I, T> Iterator for AsyncStream<I, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    T: Send + 'static,
{
    type Item = Outcome<T>;

    #[track_caller]
    fn next(&mut self) -> Option<Outcome<T>> {
        let at = Location::caller();
        loop {
            if let Some(outcome) = self.take_ready() {
                return Some(outcome);
            }
            self.fill();
            if self.running.is_empty() {
                return None;
            }
            self.wait_any(at);
        }
    }
}

impl<I, T> FusedIterator for AsyncStream<I, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    T: Send + 'static,
{
}

impl<I: Iterator, T> Drop for AsyncStream<I, T> {
    /// Kills the tasks still running. Unless the caller is itself exiting, waits until they
    /// are gone, so none of them outlives the stream.
    fn drop(&mut self) {
        if self.running.is_empty() {
            return;
        }
        let Some(core) = context::current_process() else {
            return;
        };
        let linked = self.spawner.linked();
        for task in &self.running {
            if linked {
                unlink_now(&core, &task.handle.pid);
            }
            send_exit(&core, &task.handle.pid, ExitReason::Kill);
        }
        if std::thread::panicking() {
            // Exiting: no waiting during an unwind; its monitors go with it.
            return;
        }
        let at = Location::caller();
        for task in &mut self.running {
            let _ = task.handle.wait_down(None, at);
        }
    }
}
