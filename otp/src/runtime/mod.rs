//! The runtime: scheduler threads, stacks, timers, and the entry point [`run`].
//!
//! ```
//! let answer = otp::run(|| {
//!     let pid = otp::spawn(|| println!("hello from {}", otp::self_pid()));
//!     pid.number() > 0
//! });
//! assert!(answer);
//! ```

pub(crate) mod budget;
pub(crate) mod context;
pub(crate) mod panic;
pub(crate) mod scheduler;
pub(crate) mod shared;
pub(crate) mod spin;
pub(crate) mod stack;
pub(crate) mod switch;
pub(crate) mod table;
pub(crate) mod timer;
pub(crate) mod trap;
mod watchdog;
pub(crate) mod worker;

use std::{
    fmt, io,
    sync::{atomic::Ordering::Relaxed, Arc, Mutex, PoisonError},
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// [`Builder::blocking_threads`]'s default.
const DEFAULT_BLOCKING_THREADS: usize = 64;

use crate::{
    process::{
        core::Signal,
        exit::ExitReason,
        pid::AnyPid,
        spawn::{self, ProcessFn},
    },
    runtime::shared::RuntimeShared,
};

/// Runtime settings; see [`Builder`].
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) schedulers: usize,
    pub(crate) reductions: i64,
    pub(crate) stack_size: usize,
    pub(crate) long_schedule: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) blocking_threads: usize,
}

/// Configures and starts a [`Runtime`].
///
/// ```
/// use std::time::Duration;
///
/// let rt = otp::Builder::new()
///     .schedulers(2)
///     .stack_size(256 * 1024)
///     .long_schedule_threshold(Duration::from_millis(50))
///     .blocking_threads(8)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(|| 1 + 1).unwrap(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    config: Config,
    guard_budget: Option<usize>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: one scheduler per available core, 4000 reductions per slice, 128 KiB stacks,
    /// long-schedule reports after 100 ms, 5 s to stop every process at shutdown, at most 64
    /// blocking pool threads.
    pub fn new() -> Builder {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Builder {
            config: Config {
                schedulers: cores,
                reductions: budget::DEFAULT_REDUCTIONS,
                stack_size: stack::DEFAULT_STACK_SIZE,
                long_schedule: Duration::from_millis(100),
                shutdown_timeout: Duration::from_secs(5),
                blocking_threads: DEFAULT_BLOCKING_THREADS,
            },
            guard_budget: None,
        }
    }

    /// Number of scheduler threads (at least 1).
    pub fn schedulers(mut self, n: usize) -> Builder {
        self.config.schedulers = n.max(1);
        self
    }

    /// Reductions per slice before a process yields (at least 1).
    pub fn reductions(mut self, n: u32) -> Builder {
        self.config.reductions = i64::from(n.max(1));
        self
    }

    /// Default stack size of a process (virtual; only touched pages cost memory). Individual
    /// processes can ask for another size with [`SpawnOptions::stack_size`](crate::SpawnOptions::stack_size).
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.config.stack_size = bytes;
        self
    }

    /// How long a process may hold a scheduler before the watchdog reports it (as the BEAM's
    /// `system_monitor(long_schedule)` does) and lets the other schedulers take that
    /// scheduler's movable work.
    pub fn long_schedule_threshold(mut self, d: Duration) -> Builder {
        self.config.long_schedule = d;
        self
    }

    /// How long shutdown waits for killed processes to finish unwinding.
    pub fn shutdown_timeout(mut self, d: Duration) -> Builder {
        self.config.shutdown_timeout = d;
        self
    }

    /// The most threads the [blocking pool](crate::blocking) runs at once (at least 1); more
    /// closures wait in its queue. Threads start when needed and end after 10 s idle. (The
    /// BEAM has 10 dirty I/O schedulers by default; tokio allows 512 blocking threads.)
    ///
    /// ```
    /// let rt = otp::Builder::new().blocking_threads(2).build().unwrap();
    /// let max = rt.block_on(|| otp::blocking::stats().max_threads).unwrap();
    /// assert_eq!(max, 2);
    /// ```
    pub fn blocking_threads(mut self, n: usize) -> Builder {
        self.config.blocking_threads = n.max(1);
        self
    }

    /// How many stacks may have a guard page, process-wide (each costs two of the
    /// `vm.max_map_count` mappings). Beyond it stacks get a canary instead. The default is
    /// derived from `/proc/sys/vm/max_map_count` (16384 on a stock host).
    pub fn guard_page_budget(mut self, n: usize) -> Builder {
        self.guard_budget = Some(n);
        self
    }

    /// Starts the scheduler threads.
    pub fn build(self) -> io::Result<Runtime> {
        Runtime::start(self)
    }
}

/// A running set of schedulers: one node. Dropping it stops every process and joins the
/// threads.
pub struct Runtime {
    shared: Arc<RuntimeShared>,
    threads: Vec<JoinHandle<()>>,
    watchdog: Option<watchdog::Watchdog>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("schedulers", &self.shared.schedulers.len())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    fn start(builder: Builder) -> io::Result<Runtime> {
        panic::install_hook();
        if let Some(n) = builder.guard_budget {
            stack::set_guard_budget(n);
        }
        let config = builder.config;
        let (shareds, locals) = scheduler::create(config.schedulers)?;
        let shared = Arc::new(RuntimeShared::new(config, shareds));
        let mut threads = Vec::new();
        for (index, (worker, parker, reactor)) in locals.into_iter().enumerate() {
            let rt = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("otp-scheduler-{index}"))
                .spawn(move || {
                    let s = scheduler::Scheduler::new(rt, index, worker, parker, reactor);
                    let _in = context::enter(&s);
                    s.run();
                });
            match handle {
                Ok(h) => threads.push(h),
                Err(e) => {
                    shared.stop();
                    for t in threads {
                        let _ = t.join();
                    }
                    return Err(e);
                }
            }
        }
        let watchdog = Some(watchdog::Watchdog::start(shared.clone())?);
        Ok(Runtime {
            shared,
            threads,
            watchdog,
        })
    }

    /// Runs `f` as the root process and waits for it to exit. `Ok` with its return value, or
    /// `Err` with its exit reason if it crashed or was killed.
    ///
    /// The root may take a [`Mailbox`](crate::Mailbox) argument, like any process.
    pub fn block_on<M, A, R, F>(&self, f: F) -> Result<R, ExitReason>
    where
        F: ProcessFn<M, A, R>,
        M: Send + 'static,
        R: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let body = move |mb| {
            let r = f.call(mb);
            *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(r);
        };
        let id = self.shared.id_block();
        let core = spawn::new_core::<M, F, _>(id, self.shared.config.stack_size, body);
        {
            let mut root = self
                .shared
                .root
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            root.exit = None;
            self.shared
                .root_id
                .store(id, std::sync::atomic::Ordering::Release);
        }
        self.shared
            .table
            .insert(&core, self.shared.schedulers.len());
        // SAFETY: just put in the process table, and not run yet, so not exited.
        self.shared
            .inject(unsafe { crate::runtime::scheduler::ProcRef::new(&core) });
        let mut root = self
            .shared
            .root
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while root.exit.is_none() {
            root = self
                .shared
                .changed
                .wait(root)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let reason = root.exit.take().unwrap_or(ExitReason::Normal);
        drop(root);
        let value = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        match value {
            Some(v) => Ok(v),
            None => Err(reason),
        }
    }

    /// Stops every process (an untrappable kill, so each unwinds and runs its destructors), waits
    /// for them up to the shutdown timeout, then stops the schedulers. Also done on drop.
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        let rt = &self.shared;
        rt.shutting_down.store(true, Relaxed);
        let deadline = Instant::now() + rt.config.shutdown_timeout;
        // The kills come from a record that never runs, not from each target itself: a kill
        // that lands in the queue of a process that has just finished exiting stays there until
        // the record is freed, and if it named that very process, the record would hold
        // itself, and with it its scheduler and that scheduler's reactor descriptors, forever.
        let killer = AnyPid::from_core(spawn::new_core::<(), ShutdownKill, _>(
            rt.id_block(),
            0,
            |_: crate::Mailbox<()>| {},
        ));
        loop {
            let live = rt.table.list();
            if live.is_empty() {
                break;
            }
            for p in live {
                p.send_signal(Signal::Exit {
                    from: killer.clone(),
                    reason: ExitReason::Kill,
                    linked: false,
                });
            }
            let root = rt.root.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            if now >= deadline {
                drop(root);
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(50));
            drop(
                rt.changed
                    .wait_timeout_while(root, wait, |_| rt.table.len() > 0),
            );
        }
        let stuck = rt.table.len();
        // The processes are gone: closures still queued have nobody to answer; running ones
        // get the shutdown timeout to finish.
        rt.blocking.shutdown(rt.config.shutdown_timeout);
        rt.stop();
        if let Some(w) = self.watchdog.take() {
            w.stop();
        }
        if stuck == 0 {
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        } else {
            tracing::error!(
                processes = stuck,
                "shutdown: {stuck} processes did not stop within {:?} (stuck in code that never calls the runtime); leaving their schedulers behind",
                rt.config.shutdown_timeout
            );
            self.threads.clear();
        }
    }
}

/// Names the record that sends the shutdown kills (its "initial call").
struct ShutdownKill;

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.threads.is_empty() && self.watchdog.is_none() {
            return;
        }
        self.stop_all();
    }
}

/// Starts a runtime with the default [`Builder`] settings, runs `f` as its root process, stops
/// everything when the root exits, and returns the root's value.
///
/// # Panics
///
/// If the root process crashes or is killed, with its exit reason (the way an Elixir script
/// exits when its main process dies), or if the scheduler threads cannot be started.
///
/// ```
/// let n = otp::run(|mut mb: otp::Mailbox<u32>| {
///     let me = mb.pid();
///     otp::spawn(move || me.send(7));
///     mb.receive()
/// });
/// assert_eq!(n, 7);
/// ```
pub fn run<M, A, R, F>(f: F) -> R
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: Send + 'static,
{
    let rt = Builder::new()
        .build()
        .unwrap_or_else(|e| panic!("could not start the otp runtime: {e}"));
    match rt.block_on(f) {
        Ok(v) => v,
        Err(reason) => panic!("** (EXIT) the root process exited: {reason}"),
    }
}
