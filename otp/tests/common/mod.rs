//! Shared test support: every test runs under a watchdog so a hang fails instead of stalling
//! the suite, on a fresh runtime, with helpers that wait for things within a generous bound.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::{
    panic::resume_unwind,
    sync::mpsc::{self, RecvTimeoutError},
    thread,
    time::{Duration, Instant},
};

use otp::{process::ProcessFn, Builder, ExitReason, Mailbox};

/// How long any one test may take before it counts as hung.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);
/// How long a test waits for something that should happen promptly.
pub const PROMPTLY: Duration = Duration::from_secs(10);

/// Runs `f` on its own thread; fails the test if it has not finished within [`HANG_LIMIT`].
pub fn watchdog<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(HANG_LIMIT) {
        Ok(r) => {
            let _ = handle.join();
            r
        }
        Err(RecvTimeoutError::Timeout) => panic!("test hung: no result within {HANG_LIMIT:?}"),
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => resume_unwind(payload),
            Ok(()) => unreachable!("the thread ended without sending"),
        },
    }
}

/// The root's result on a fresh runtime with `schedulers` schedulers, under the watchdog.
pub fn block_on_with<M, A, R, F>(schedulers: usize, f: F) -> Result<R, ExitReason>
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: Send + 'static,
{
    watchdog(move || {
        Builder::new()
            .schedulers(schedulers)
            .build()
            .expect("runtime starts")
            .block_on(f)
    })
}

/// [`block_on_with`] with two schedulers.
pub fn block_on<M, A, R, F>(f: F) -> Result<R, ExitReason>
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: Send + 'static,
{
    block_on_with(2, f)
}

/// Runs `f` as the root of a fresh runtime; fails the test if it does not return normally.
pub fn run_on<M, A, R, F>(schedulers: usize, f: F) -> R
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: Send + 'static,
{
    match block_on_with(schedulers, f) {
        Ok(v) => v,
        Err(reason) => panic!("root process exited: {reason}"),
    }
}

/// [`run_on`] with two schedulers.
pub fn run<M, A, R, F>(f: F) -> R
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: Send + 'static,
{
    run_on(2, f)
}

/// Receives within [`PROMPTLY`] or fails.
#[track_caller]
pub fn recv<M: Send + 'static>(mb: &mut Mailbox<M>) -> M {
    mb.receive_timeout(PROMPTLY)
        .unwrap_or_else(|| panic!("expected a message within {PROMPTLY:?}"))
}

/// Polls `cond` (inside a process) until it holds; fails after [`PROMPTLY`].
#[track_caller]
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PROMPTLY;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        otp::sleep(Duration::from_millis(1));
    }
}

/// A door a process waits at until the test opens it. (Polled: a task's function has no
/// mailbox to wait on. Whoever waits is slow on purpose; no test relies on how long it takes.)
#[derive(Clone, Default)]
pub struct Latch(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Latch {
    /// Lets every waiter through.
    pub fn open(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits (inside a process) until the gate is open.
    pub fn wait(&self) {
        while !self.0.load(std::sync::atomic::Ordering::SeqCst) {
            otp::sleep(Duration::from_millis(1));
        }
    }
}

/// Waits for the `DOWN` of `reference`, leaving every other message in place; fails after
/// [`PROMPTLY`].
#[track_caller]
pub fn down_of<M: Send + 'static>(mb: &mut Mailbox<M>, reference: otp::Ref) -> ExitReason {
    match mb.select(
        PROMPTLY,
        |m| matches!(m, otp::MessageRef::Down { reference: r, .. } if r == reference),
    ) {
        Some(otp::Message::Down { reason, .. }) => reason,
        _ => panic!("no DOWN within {PROMPTLY:?}"),
    }
}

/// The socket timeout rules every `otp::io` socket type shares (they mirror std's): a zero
/// timeout is refused with std's error, the setters and getters agree, and `try_clone` copies
/// the timeouts, after which the two handles' timeouts are independent.
#[macro_export]
macro_rules! assert_timeouts_validated_and_copied_by_try_clone {
    ($s:expr) => {{
        let s = &$s;
        let (r, w) = (
            std::time::Duration::from_millis(30),
            std::time::Duration::from_secs(2),
        );
        s.set_read_timeout(Some(r)).unwrap();
        s.set_write_timeout(Some(w)).unwrap();
        for e in [
            s.set_read_timeout(Some(std::time::Duration::ZERO))
                .unwrap_err(),
            s.set_write_timeout(Some(std::time::Duration::ZERO))
                .unwrap_err(),
        ] {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            assert_eq!(e.to_string(), "cannot set a 0 duration timeout");
        }
        assert_eq!(s.read_timeout().unwrap(), Some(r));
        assert_eq!(s.write_timeout().unwrap(), Some(w));
        let clone = s.try_clone().unwrap();
        assert_eq!(clone.read_timeout().unwrap(), Some(r));
        assert_eq!(clone.write_timeout().unwrap(), Some(w));
        clone.set_read_timeout(None).unwrap();
        assert_eq!(clone.read_timeout().unwrap(), None);
        assert_eq!(s.read_timeout().unwrap(), Some(r));
        s.set_write_timeout(None).unwrap();
        assert_eq!(s.write_timeout().unwrap(), None);
        assert_eq!(clone.write_timeout().unwrap(), Some(w));
    }};
}
