//! The blocking pool: run code that would block a scheduler (file I/O, DNS, C libraries,
//! long computations) on separate threads while the calling process waits.
//!
//! [`run`] hands a closure to the runtime's pool and suspends the calling process (not its
//! scheduler thread) until the closure returns; the process gets the closure's value. It is
//! the BEAM's dirty schedulers in library form (tokio calls it `spawn_blocking`).
//!
//! ```
//! otp::run(|| {
//!     let path = std::env::temp_dir().join("otp-blocking-doc.txt");
//!     let p = path.clone();
//!     otp::blocking::run(move || std::fs::write(&p, b"kept")).unwrap().unwrap();
//!     let text = otp::blocking::run(move || std::fs::read(path)).unwrap().unwrap();
//!     assert_eq!(text, b"kept");
//! });
//! ```
//!
//! # Semantics
//!
//! * **Waiting is a process wait.** The closure's result comes back through a reply slot, as
//!   a `GenServer` call's reply does, so the waiting process is suspended like one in
//!   `receive`: other processes run on its scheduler, and an exit signal still ends it at
//!   once. The closure is not interrupted (a thread cannot be); when it returns, its value is
//!   dropped, on the pool thread, since nobody waits for it any more.
//! * **A panic in the closure is a value:** [`BlockingError::Panicked`], with the panic's
//!   message and location, and the pool thread carries on. The hook does not print it; a
//!   process that cannot go on without the value `unwrap`s it and crashes the usual way,
//!   reported once.
//! * **Bounded:** at most [`Builder::blocking_threads`](crate::Builder::blocking_threads)
//!   threads (64 by default) run closures at once; more closures wait in a queue, in order.
//!   Threads start lazily, when a closure finds no idle thread, and an idle thread ends after
//!   10 seconds without work.
//! * **Shutdown:** closures still queued are dropped (their processes are gone by then);
//!   the runtime waits for running ones up to its shutdown timeout and joins the threads.
//!   A closure that never returns leaves its thread behind, reported through `tracing`.

use std::{
    collections::VecDeque,
    fmt,
    panic::Location,
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::{
    process::{exit::PanicReason, reply},
    runtime::{panic as rt_panic, shared, timer::Deadline},
};

/// How long an idle pool thread waits for work before it ends.
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Why [`run`] returned no value.
///
/// ```
/// use otp::blocking::{self, BlockingError};
///
/// otp::run(|| {
///     let r = blocking::run(|| -> u32 { panic!("disk on fire") });
///     let Err(BlockingError::Panicked(p)) = r else { unreachable!() };
///     assert_eq!(p.message(), "disk on fire");
/// });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BlockingError {
    /// The closure panicked: the panic's message and, when the hook saw it, its location.
    Panicked(Arc<PanicReason>),
    /// The closure never ran: the runtime was shutting down, or no pool thread could be
    /// started.
    Cancelled,
}

impl fmt::Display for BlockingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockingError::Panicked(p) => write!(f, "the blocking closure panicked: {p}"),
            BlockingError::Cancelled => f.write_str("the blocking closure was cancelled"),
        }
    }
}

impl std::error::Error for BlockingError {}

/// Runs `f` on a thread of the blocking pool and suspends the calling process until it
/// returns; `f`'s value, or why there is none (see the [module docs](self)).
///
/// # Panics
///
/// Outside a process (there is nothing to suspend: call `f` directly there).
///
/// ```
/// otp::run(|| {
///     let sum = otp::blocking::run(|| (1..=100u64).sum::<u64>()).unwrap();
///     assert_eq!(sum, 5050);
/// });
/// ```
#[track_caller]
pub fn run<T, F>(f: F) -> Result<T, BlockingError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let at = Location::caller();
    let (promise, waiter) = reply::slot::<Result<T, BlockingError>>("otp::blocking::run");
    let job: Job = Box::new(move || {
        let result = rt_panic::catch_quiet(f).map_err(BlockingError::Panicked);
        promise.fulfil(result);
    });
    if shared::current().blocking.submit(job).is_err() {
        // Dropping the job broke the promise; nothing to wait for.
        return Err(BlockingError::Cancelled);
    }
    match waiter.wait(std::pin::pin!(Deadline::never()).as_ref(), at) {
        Some(Ok(result)) => result,
        // The job was dropped unrun (shutdown); `None` cannot happen without a deadline.
        Some(Err(_)) | None => Err(BlockingError::Cancelled),
    }
}

/// A snapshot of the pool's load, from [`stats`].
///
/// ```
/// otp::run(|| {
///     let s = otp::blocking::stats();
///     assert!(s.threads <= s.max_threads);
///     assert!(s.busy <= s.threads);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockingStats {
    /// Pool threads alive (busy or idle).
    pub threads: usize,
    /// Threads running a closure.
    pub busy: usize,
    /// Closures waiting for a thread.
    pub queued: usize,
    /// The bound on `threads` ([`Builder::blocking_threads`](crate::Builder::blocking_threads)).
    pub max_threads: usize,
}

/// The load of the calling process's runtime's blocking pool. All four numbers are read at
/// one instant, under the pool's lock.
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// otp::run(|| {
///     assert_eq!(otp::blocking::stats().queued, 0);
/// });
/// ```
pub fn stats() -> BlockingStats {
    shared::current().blocking.stats()
}

type Job = Box<dyn FnOnce() + Send>;

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    busy: usize,
    closed: bool,
    handles: Vec<JoinHandle<()>>,
    spawned: usize,
}

/// The pool itself, one per runtime (in `RuntimeShared`).
pub(crate) struct BlockingPool {
    state: Mutex<State>,
    /// Idle threads wait here for a job (or for shutdown).
    work: Condvar,
    /// Shutdown waits here for the last thread to end.
    ended: Condvar,
    max: usize,
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl BlockingPool {
    /// A pool of at most `max` threads (at least 1), none started yet.
    pub(crate) fn new(max: usize) -> Arc<BlockingPool> {
        Arc::new(BlockingPool {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                busy: 0,
                closed: false,
                handles: Vec::new(),
                spawned: 0,
            }),
            work: Condvar::new(),
            ended: Condvar::new(),
            max: max.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and every update under it is a few assignments: a
        // poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a job, starting a thread if every live one is taken and the bound allows.
    /// Gives the job back if the pool is shut down or has no thread and cannot start one.
    fn submit(self: &Arc<Self>, job: Job) -> Result<(), Job> {
        let mut st = self.lock();
        if st.closed {
            return Err(job);
        }
        st.queue.push_back(job);
        // Idle threads still counted in `idle` may already be promised to earlier jobs: only
        // jobs beyond them need a thread of their own.
        if st.queue.len() > st.idle && st.threads < self.max {
            st.handles.retain(|h| !h.is_finished());
            let pool = self.clone();
            let name = format!("otp-blocking-{}", st.spawned);
            match std::thread::Builder::new()
                .name(name)
                .spawn(move || pool.work_loop())
            {
                Ok(h) => {
                    st.threads += 1;
                    st.spawned += 1;
                    st.handles.push(h);
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not start a blocking pool thread");
                    if st.threads == 0 {
                        return Err(st.queue.pop_back().expect("just pushed"));
                    }
                }
            }
        }
        if st.idle > 0 {
            self.work.notify_one();
        }
        Ok(())
    }

    fn work_loop(&self) {
        let mut st = self.lock();
        loop {
            if let Some(job) = st.queue.pop_front() {
                st.busy += 1;
                drop(st);
                job();
                st = self.lock();
                st.busy -= 1;
                continue;
            }
            if st.closed {
                break;
            }
            st.idle += 1;
            let (guard, wait) = self
                .work
                .wait_timeout(st, KEEP_ALIVE)
                .unwrap_or_else(PoisonError::into_inner);
            st = guard;
            st.idle -= 1;
            if wait.timed_out() && st.queue.is_empty() {
                break;
            }
        }
        st.threads -= 1;
        if st.threads == 0 {
            self.ended.notify_all();
        }
    }

    fn stats(&self) -> BlockingStats {
        let st = self.lock();
        BlockingStats {
            threads: st.threads,
            busy: st.busy,
            queued: st.queue.len(),
            max_threads: self.max,
        }
    }

    /// Closes the pool: drops queued jobs, waits up to `timeout` for running ones, joins the
    /// threads. Threads still running a job then are left behind (reported).
    pub(crate) fn shutdown(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let dropped: Vec<Job> = {
            let mut st = self.lock();
            st.closed = true;
            self.work.notify_all();
            st.queue.drain(..).collect()
        };
        // Outside the lock: dropping a job breaks its promise, which wakes its process.
        drop(dropped);
        let mut st = self.lock();
        while st.threads > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .ended
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let left = st.threads;
        let handles = std::mem::take(&mut st.handles);
        drop(st);
        if left == 0 {
            for h in handles {
                let _ = h.join();
            }
        } else {
            tracing::error!(
                threads = left,
                "shutdown: {left} blocking pool threads still run a closure after {timeout:?}; leaving them behind"
            );
        }
    }
}
