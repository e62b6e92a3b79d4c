//! Waiting for SIGINT and SIGTERM without polling: [`ShutdownSignals`].
//!
//! A node stops when its operator asks: Ctrl-C (SIGINT) in a terminal, SIGTERM from `kill`,
//! systemd, `docker stop` or Kubernetes. A signal handler may do almost nothing, so instead the
//! signals are taken out of asynchronous delivery and read synchronously:
//!
//! 1. [`ShutdownSignals::install`] blocks SIGINT and SIGTERM in the calling thread with
//!    `pthread_sigmask`. Threads inherit their creator's mask, so every thread spawned after that
//!    (schedulers, timers, the signal thread itself) blocks them too.
//! 2. The first `install` starts the *signal thread*, which loops on `sigwait` for the two
//!    signals and sends each one it takes as a [`Signal`] through a channel. Whoever waits for
//!    shutdown blocks on [`ShutdownSignals::receiver`], or selects on it with other channels.
//!
//! # Invariants
//!
//! * **Install first.** A process-directed signal goes to some thread that does not block it,
//!   and there the default action ends the process. `install` must therefore run before the
//!   program starts any thread, first thing in `main`. Threads that already exist keep their
//!   mask.
//! * **One signal thread per process.** `install` is idempotent: later calls (from any thread)
//!   block the signals in *their* calling thread and return a handle to the same channel. The
//!   channel is multi-consumer: each signal goes to one receiver, not to all of them.
//! * **The signal thread never ends.** `sigwait` cannot be woken except by a signal, so the
//!   thread is a daemon that lives as long as the process; its handle is dropped on purpose and
//!   dropping a [`ShutdownSignals`] stops nothing. It holds no lock and no resource besides its
//!   stack, and the process exits without joining it.
//! * **Bounded queue.** Signals that arrive while [`QUEUE`] of them wait unread are dropped, as
//!   the kernel keeps at most one pending instance of each standard signal anyway.

use std::{
    fmt, io,
    mem::MaybeUninit,
    sync::{Mutex, PoisonError},
    thread,
};

use crossbeam_channel::{Receiver, Sender};

/// How many unread signals the channel holds before it drops new ones.
const QUEUE: usize = 16;

/// A termination signal the process received.
///
/// ```
/// use otp::application::Signal;
///
/// assert_eq!(Signal::Interrupt.to_string(), "SIGINT");
/// assert_eq!(Signal::Terminate.to_string(), "SIGTERM");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// SIGINT: Ctrl-C in a terminal.
    Interrupt,
    /// SIGTERM: a polite request to stop, from `kill`, systemd, `docker stop`, Kubernetes, ...
    Terminate,
}

impl Signal {
    fn from_raw(raw: libc::c_int) -> Option<Signal> {
        match raw {
            libc::SIGINT => Some(Signal::Interrupt),
            libc::SIGTERM => Some(Signal::Terminate),
            _ => None,
        }
    }

    #[cfg(test)]
    fn to_raw(self) -> libc::c_int {
        match self {
            Signal::Interrupt => libc::SIGINT,
            Signal::Terminate => libc::SIGTERM,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// A handle on the process's signal thread: SIGINT and SIGTERM arrive on [`receiver`] as
/// [`Signal`]s. See the [module docs](self) for why [`install`] must run before any thread starts.
///
/// [`receiver`]: ShutdownSignals::receiver
/// [`install`]: ShutdownSignals::install
#[derive(Debug, Clone)]
pub(crate) struct ShutdownSignals {
    receiver: Receiver<Signal>,
    /// The signal thread, which never ends, so its id stays valid for the whole process.
    #[cfg(test)]
    thread: libc::pthread_t,
}

/// The handle of the first `install`, cloned by the later ones.
static INSTALLED: Mutex<Option<ShutdownSignals>> = Mutex::new(None);

impl ShutdownSignals {
    /// Blocks SIGINT and SIGTERM in the calling thread (and so in the threads it spawns from now
    /// on) and, on the first call in the process, starts the signal thread.
    ///
    /// # Errors
    ///
    /// The OS error if the signal mask cannot be changed or the thread cannot be started. A
    /// failed first call can be retried.
    pub(crate) fn install() -> io::Result<ShutdownSignals> {
        let set = shutdown_set();
        // SAFETY: `set` is an initialised signal set, and a null old-set pointer asks for none.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // Nothing below panics while the lock is held, so a poisoned lock still holds a whole value.
        let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(signals) = &*installed {
            return Ok(signals.clone());
        }
        let (sender, receiver) = crossbeam_channel::bounded(QUEUE);
        // Spawned after the mask change above, so the thread starts with both signals blocked,
        // which `sigwait` requires.
        let thread = thread::Builder::new()
            .name("otp-signals".to_owned())
            .spawn(move || wait_for_signals(&set, &sender))?;
        let signals = ShutdownSignals {
            receiver,
            #[cfg(test)]
            thread: std::os::unix::thread::JoinHandleExt::as_pthread_t(&thread),
        };
        drop(thread); // Detaches the daemon; see the module docs.
        *installed = Some(signals.clone());
        Ok(signals)
    }

    /// The channel that each received signal is sent to.
    pub(crate) fn receiver(&self) -> &Receiver<Signal> {
        &self.receiver
    }

    /// Sends `signal` to the signal thread alone, as `kill` from outside would send it to the
    /// process, but without any chance that a thread which does not block it takes it. For tests
    /// of shutdown paths.
    #[cfg(test)]
    pub(crate) fn raise(&self, signal: Signal) -> io::Result<()> {
        // SAFETY: `self.thread` names the signal thread, which runs `wait_for_signals` and so never
        // ends: the id is valid. The signal is blocked there and taken by its `sigwait`.
        let rc = unsafe { libc::pthread_kill(self.thread, signal.to_raw()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(rc))
        }
    }
}

/// The set {SIGINT, SIGTERM}.
fn shutdown_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigemptyset` initialises the set it points to, before `sigaddset` reads it and
    // before `assume_init`; both signal numbers are valid, so neither call can fail.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
        set.assume_init()
    }
}

/// The signal thread's body: takes each signal of `set` and sends it on, forever.
fn wait_for_signals(set: &libc::sigset_t, sender: &Sender<Signal>) -> ! {
    loop {
        let mut raw = 0;
        // SAFETY: `set` is an initialised signal set and `raw` a valid place for the result.
        let rc = unsafe { libc::sigwait(set, &mut raw) };
        // POSIX lets `sigwait` fail only with EINVAL, for a set holding an invalid signal, and
        // ours holds two valid ones; should some system fail anyway, waiting again is right.
        if rc != 0 {
            continue;
        }
        if let Some(signal) = Signal::from_raw(raw) {
            // A full queue drops the signal (see the module docs). The channel never disconnects:
            // the handle in `INSTALLED` keeps a receiver alive.
            let _ = sender.try_send(signal);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{process::Command, time::Duration};

    use super::*;

    /// Set in the child process that runs the real test.
    const CHILD: &str = "OTP_SIGNALS_TEST_CHILD";

    /// Signals are process-wide, so the test runs in a child process (this test binary, running
    /// only this test): whatever it does to signal masks and the signal thread stays there.
    #[test]
    fn delivers_sigint_and_sigterm_to_the_receiver() {
        if std::env::var_os(CHILD).is_none() {
            let module = module_path!().split_once("::").map_or("", |(_, path)| path);
            let name = format!("{module}::delivers_sigint_and_sigterm_to_the_receiver");
            let out = Command::new(std::env::current_exe().unwrap())
                .args([name.as_str(), "--exact", "--test-threads=1", "--nocapture"])
                .env(CHILD, "1")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("1 passed"),
                "child failed: {}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
            );
            return;
        }

        let signals = ShutdownSignals::install().unwrap();
        let again = thread::spawn(ShutdownSignals::install)
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(
            signals.thread, again.thread,
            "one signal thread per process"
        );

        // The timeouts only keep a broken build from hanging; the signals arrive at once.
        let guard = Duration::from_secs(10);
        signals.raise(Signal::Terminate).unwrap();
        assert_eq!(
            signals.receiver().recv_timeout(guard),
            Ok(Signal::Terminate)
        );
        again.raise(Signal::Interrupt).unwrap();
        assert_eq!(again.receiver().recv_timeout(guard), Ok(Signal::Interrupt));
    }
}
