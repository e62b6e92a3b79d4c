//! Test helpers in the spirit of ExUnit: mailbox assertions and supervised starts that are torn
//! down when the test ends.
//!
//! | ExUnit | otp |
//! |---|---|
//! | `test "name" do ... end` | [`#[otp::test]`](crate::test) on a `fn` (or [`run_test`]) |
//! | `assert_receive pattern, timeout` | [`assert_receive!`]`(mb, pattern, timeout)` |
//! | `refute_receive pattern, timeout` | [`refute_receive!`]`(mb, pattern, timeout)` |
//! | `assert_received pattern` | [`assert_received!`]`(mb, pattern)` |
//! | `refute_received pattern` | [`refute_received!`]`(mb, pattern)` |
//! | `start_supervised(child_spec)` | [`start_supervised`]`(child_spec)` |
//! | `start_link_supervised!(child_spec)` | [`start_link_supervised`]`(child_spec)` |
//! | `stop_supervised(id)` | [`stop_supervised`]`(id)` |
//!
//! ```
//! use otp::supervisor::ChildSpec;
//! use otp::testing::{assert_receive, start_supervised};
//!
//! #[derive(Debug)]
//! enum Event { Hello(otp::AnyPid) }
//!
//! #[otp::test]
//! fn greets_its_starter(mut mb: otp::Mailbox<Event>) {
//!     let me = mb.pid();
//!     let child = start_supervised(ChildSpec::new("greeter", move || {
//!         let me = me.clone();
//!         Ok(otp::spawn_link(move || me.send(Event::Hello(otp::self_pid()))))
//!     }))
//!     .unwrap();
//!     assert_receive!(mb, Event::Hello(from));
//!     assert_eq!(from, child);
//! } // the greeter's supervisor is stopped here
//! # fn main() { greets_its_starter() }
//! ```
//!
//! # How a test runs
//!
//! `#[otp::test]` (or [`run_test`]) starts a fresh runtime, runs the function as its root
//! process and waits for it on the test's thread, so a failure inside the process fails the test
//! with the process's panic message and location, and `#[should_panic(expected = "...")]` works.
//! A test that has not finished within its timeout (60 s unless set, as ExUnit's default) fails
//! with a message saying so instead of hanging the suite.
//!
//! The assertions panic in the process that calls them, so they belong in the test's process: in
//! another one a failure only ends that process (and fails the test only if it is linked to it).
//!
//! When the function returns or panics (not when its process is killed), the supervisor that
//! [`start_supervised`] started for it is stopped, which stops its children in reverse start
//! order and waits for them, running their `terminate` callbacks. Then the runtime shuts down,
//! killing whatever else is still running.
//!
//! # Invariants
//!
//! * The per-test supervisor belongs to the test's root process: it is looked up by the root's
//!   pid, so helpers called from any other process panic with a message saying so (as ExUnit's
//!   do outside the test process).
//! * The registry lock is never held across a runtime call (one that may switch processes), so
//!   a test on a one-scheduler runtime cannot deadlock on it.
//! * The supervisor is unlinked from the test process: a child that keeps crashing takes the
//!   supervisor down with it (restart intensity), not the test, as in ExUnit.

use std::{
    collections::HashMap,
    fmt, panic,
    sync::{mpsc, Mutex, PoisonError},
    thread,
    time::Duration,
};

use crate::{
    gen_server::StartError,
    process::{self, core::ExitUnwind, ProcessFn},
    runtime::panic as rt_panic,
    supervisor::{self, ChildError, ChildSpec, Options, Strategy, Supervisor},
    AnyPid, Builder, ExitReason, Mailbox, Timeout,
};

// ===== assertions =====

/// Asserts that a message matching `pattern` arrives within `timeout` (default 100 ms) and takes
/// it out of the mailbox; the pattern's bindings are then in scope, as with ExUnit's
/// `assert_receive`.
///
/// ```text
/// assert_receive!(mailbox, pattern [if guard] [, timeout]);
/// ```
///
/// The pattern and guard are those of a [`receive!`](crate::receive) clause: `EXIT(from, reason)`
/// and `DOWN(reference, pid, reason)` match system messages, `pattern: Type` downcasts in a
/// `Mailbox<Term>`. The timeout is anything that converts into a [`Timeout`]. Other messages
/// stay in the mailbox, in order. To keep the whole message, bind it: `msg @ Reply::Ok(_)`.
///
/// On failure it panics with what *is* in the mailbox, oldest first (messages without `Debug`
/// by their type name):
///
/// ```text
/// assert_receive!: no message matching `Reply::Ok(n) if n > 1` within 100ms
/// the mailbox holds 2 messages (oldest first):
///     Reply::Ok(1)
///     Reply::Error("busy")
/// ```
///
/// ```
/// use std::time::Duration;
/// use otp::testing::assert_receive;
///
/// #[derive(Debug)]
/// enum Reply { Ok(u32), Error(String) }
///
/// #[otp::test]
/// fn replies(mut mb: otp::Mailbox<Reply>) {
///     let me = mb.pid();
///     otp::spawn(move || {
///         me.send(Reply::Error("busy".into()));
///         me.send(Reply::Ok(2));
///     });
///     assert_receive!(mb, Reply::Ok(n) if n > 1, Duration::from_secs(5));
///     assert_eq!(n, 2);
///     assert_receive!(mb, Reply::Error(why)); // was skipped over, still there
///     assert_eq!(why, "busy");
/// }
/// # fn main() { replies() }
/// ```
///
/// It expands to `let` statements, so use it as a statement (with its `;`), not as a value.
#[doc(inline)]
pub use crate::__otp_assert_receive as assert_receive;

/// Asserts that a message matching `pattern` is *already* in the mailbox (ExUnit's
/// `assert_received`): [`assert_receive!`] with a zero timeout.
///
/// ```text
/// assert_received!(mailbox, pattern [if guard]);
/// ```
///
/// ```
/// use otp::testing::assert_received;
///
/// #[otp::test]
/// fn sent_to_self(mut mb: otp::Mailbox<(u8, String)>) {
///     mb.pid().send((1, "one".to_owned()));
///     assert_received!(mb, (1, name));
///     assert_eq!(name, "one");
/// }
/// # fn main() { sent_to_self() }
/// ```
#[doc(inline)]
pub use crate::__otp_assert_received as assert_received;

/// Asserts that no message matching `pattern` arrives within `timeout` (default 100 ms), as
/// ExUnit's `refute_receive`. A matching message that does arrive is taken out of the mailbox and
/// shown in the panic message; other messages stay.
///
/// ```text
/// refute_receive!(mailbox, pattern [if guard] [, timeout]);
/// ```
///
/// ```
/// use std::time::Duration;
/// use otp::testing::refute_receive;
///
/// #[otp::test]
/// fn quiet(mut mb: otp::Mailbox<u32>) {
///     mb.pid().send(1);
///     refute_receive!(mb, n if n > 10, Duration::from_millis(10));
///     assert_eq!(mb.receive(), 1);
/// }
/// # fn main() { quiet() }
/// ```
#[doc(inline)]
pub use crate::__otp_refute_receive as refute_receive;

/// Asserts that no message matching `pattern` is already in the mailbox (ExUnit's
/// `refute_received`): [`refute_receive!`] with a zero timeout.
///
/// ```text
/// refute_received!(mailbox, pattern [if guard]);
/// ```
///
/// ```
/// use otp::testing::refute_received;
///
/// #[otp::test]
/// fn nothing_yet(mut mb: otp::Mailbox<u32>) {
///     refute_received!(mb, _);
/// }
/// # fn main() { nothing_yet() }
/// ```
#[doc(inline)]
pub use crate::__otp_refute_received as refute_received;

#[doc(hidden)]
#[macro_export]
macro_rules! __otp_assert_receive {
    ($($input:tt)*) => { $crate::__private::receive_assert! { assert_receive, $($input)* } };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __otp_assert_received {
    ($($input:tt)*) => { $crate::__private::receive_assert! { assert_received, $($input)* } };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __otp_refute_receive {
    ($($input:tt)*) => { $crate::__private::receive_assert! { refute_receive, $($input)* } };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __otp_refute_received {
    ($($input:tt)*) => { $crate::__private::receive_assert! { refute_received, $($input)* } };
}

/// Panics for an `assert_receive!` that found nothing. Called by the macro's expansion with
/// the mailbox's contents, described oldest first.
#[doc(hidden)]
#[track_caller]
pub fn __assert_receive_failed(
    macro_name: &str,
    pattern: &str,
    timeout: Timeout,
    mailbox: &[String],
) -> ! {
    let within = crate::__private::receive::describe_timeout(timeout);
    let mut text = format!("{macro_name}!: no message matching `{pattern}` {within}\n");
    text.push_str(&describe_mailbox(mailbox));
    panic!("{text}")
}

/// Panics for a `refute_receive!` that found a message.
#[doc(hidden)]
#[track_caller]
pub fn __refute_receive_failed(macro_name: &str, pattern: &str, message: &str) -> ! {
    panic!("{macro_name}!: received a message matching `{pattern}`:\n    {message}")
}

/// At most this many messages are listed in a failure message (ExUnit shows 10).
const SHOWN: usize = 10;

fn describe_mailbox(messages: &[String]) -> String {
    match messages.len() {
        0 => "the mailbox is empty".to_owned(),
        n => {
            let plural = if n == 1 { "" } else { "s" };
            let mut text = format!("the mailbox holds {n} message{plural} (oldest first):");
            for m in messages.iter().take(SHOWN) {
                text.push_str("\n    ");
                text.push_str(m);
            }
            if n > SHOWN {
                text.push_str(&format!("\n    ... and {} more", n - SHOWN));
            }
            text
        }
    }
}

// ===== supervised starts =====

/// The test supervisor of each running test, by the number of the test's root process. `None`
/// until the test's first [`start_supervised`].
static TESTS: Mutex<Option<HashMap<u64, Option<Supervisor>>>> = Mutex::new(None);

fn with_tests<R>(f: impl FnOnce(&mut HashMap<u64, Option<Supervisor>>) -> R) -> R {
    let mut tests = TESTS.lock().unwrap_or_else(PoisonError::into_inner);
    f(tests.get_or_insert_with(HashMap::new))
}

/// The calling test's supervisor, started on first use.
#[track_caller]
fn test_supervisor(function: &str) -> Supervisor {
    let me = process::self_pid().number();
    let existing = with_tests(|t| t.get(&me).cloned());
    match existing {
        Some(Some(sup)) => sup,
        Some(None) => {
            // ExUnit's test supervisor: one_for_one, restarts effectively unlimited.
            let options = Options::new(Strategy::OneForOne)
                .max_restarts(1_000_000)
                .max_seconds(Duration::from_secs(1));
            let sup = supervisor::start_link(Vec::new(), options)
                .unwrap_or_else(|e| panic!("{function}: the test supervisor did not start: {e}"));
            if let Some(pid) = sup.pid() {
                process::unlink(pid);
            }
            with_tests(|t| t.insert(me, Some(sup.clone())));
            sup
        }
        None => panic!(
            "{function} must be called from the process of an #[otp::test] function (or of \
             otp::testing::run_test), which owns the test supervisor"
        ),
    }
}

/// Starts a child under the test's supervisor (ExUnit's `start_supervised`); it is stopped, in
/// reverse start order with the test's other supervised children, when the test function
/// returns or panics. Returns the child's pid.
///
/// The child is not linked to the test process: if it crashes it is restarted and the test
/// carries on (use [`start_link_supervised`] to fail the test instead).
///
/// ```
/// use otp::supervisor::ChildSpec;
/// use otp::testing::start_supervised;
///
/// struct Counter(u64);
///
/// #[otp::gen_server]
/// impl Counter {
///     #[call]
///     fn bump(&mut self) -> u64 {
///         self.0 += 1;
///         self.0
///     }
/// }
///
/// #[otp::test]
/// fn counts() {
///     let spec = CounterClient::child_spec("counter", || Counter(0));
///     let pid = start_supervised(spec).unwrap();
///     let counter = CounterClient::from_any_pid(&pid).unwrap();
///     assert_eq!(counter.bump(), Ok(1));
/// }
/// # fn main() { counts() }
/// ```
///
/// # Errors
///
/// As [`Supervisor::start_child`]: the id is taken, or the child failed to start. A child
/// whose `init` ignored the start is `ChildError::Start(StartError::Ignore)`.
///
/// # Panics
///
/// Outside the root process of an `#[otp::test]` function.
#[track_caller]
pub fn start_supervised(spec: ChildSpec) -> Result<AnyPid, ChildError> {
    let sup = test_supervisor("otp::testing::start_supervised");
    match sup.start_child(spec)? {
        Some(pid) => Ok(pid),
        None => Err(ChildError::Start(StartError::Ignore)),
    }
}

/// [`start_supervised`], then links the child to the test process (ExUnit's
/// `start_link_supervised!`): if the child crashes, the test fails.
///
/// # Errors
///
/// As [`start_supervised`].
///
/// # Panics
///
/// Outside the root process of an `#[otp::test]` function.
#[track_caller]
pub fn start_link_supervised(spec: ChildSpec) -> Result<AnyPid, ChildError> {
    let pid = start_supervised(spec)?;
    // A child that already exited: linking to it kills the test with `noproc`, as on the BEAM.
    let _ = process::link(&pid);
    Ok(pid)
}

/// Stops a child started with [`start_supervised`] and forgets its spec (ExUnit's
/// `stop_supervised`), waiting until it has exited.
///
/// ```
/// use otp::supervisor::ChildSpec;
/// use otp::testing::{start_supervised, stop_supervised};
///
/// #[otp::test]
/// fn stops_it() {
///     let spec = ChildSpec::new("sleeper", || {
///         Ok(otp::spawn_link(|mut mb: otp::Mailbox<()>| mb.receive()))
///     });
///     let pid = start_supervised(spec).unwrap();
///     stop_supervised("sleeper").unwrap();
///     assert!(!otp::process::alive(&pid));
/// }
/// # fn main() { stops_it() }
/// ```
///
/// # Errors
///
/// [`ChildError::NotFound`] if the test supervisor has no child with that id.
///
/// # Panics
///
/// Outside the root process of an `#[otp::test]` function.
#[track_caller]
pub fn stop_supervised(id: &str) -> Result<(), ChildError> {
    let sup = test_supervisor("otp::testing::stop_supervised");
    sup.terminate_child(id)?;
    sup.delete_child(id)
}

/// Stops the test's supervisor, if it started one, and forgets the test.
fn teardown(me: u64) {
    let sup = with_tests(|t| t.remove(&me)).flatten();
    if let Some(sup) = sup {
        // Already gone (escalated after too many restarts): nothing to stop.
        let _ = sup.stop(ExitReason::Shutdown, Timeout::Infinity);
    }
}

// ===== running a test =====

/// What a test function may return: `()`, or a `Result` whose error fails the test, as with
/// `#[test]`.
#[diagnostic::on_unimplemented(
    message = "an #[otp::test] function returns `()` or `Result<(), E>` with `E: Debug`, not `{Self}`",
    label = "returns `{Self}`"
)]
pub trait TestResult {
    /// `Err` with the error's `Debug` text if the test failed.
    ///
    /// # Errors
    ///
    /// The test's error, as text.
    fn into_result(self) -> Result<(), String>;
}

impl TestResult for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Debug> TestResult for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| format!("{e:?}"))
    }
}

/// How [`run_test`] runs a test: the runtime's settings and a timeout.
///
/// ```
/// use std::time::Duration;
/// use otp::testing::TestOptions;
///
/// let options = TestOptions::new()
///     .name("my_test")
///     .builder(otp::Builder::new().schedulers(1))
///     .timeout(Duration::from_secs(5));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct TestOptions {
    name: &'static str,
    builder: Builder,
    timeout: Timeout,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions::new()
    }
}

impl TestOptions {
    /// The test's timeout, as ExUnit's default (`@moduletag timeout: 60_000`).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// The default runtime ([`Builder::new`]), a 60 s timeout, no name.
    pub fn new() -> TestOptions {
        TestOptions {
            name: "test",
            builder: Builder::new(),
            timeout: Timeout::After(Self::DEFAULT_TIMEOUT),
        }
    }

    /// The test's name, for failure messages.
    pub fn name(mut self, name: &'static str) -> TestOptions {
        self.name = name;
        self
    }

    /// The runtime to run the test on.
    pub fn builder(mut self, builder: Builder) -> TestOptions {
        self.builder = builder;
        self
    }

    /// How long the test may run before it fails as hung (`Timeout::Infinity`: as long as it
    /// takes).
    pub fn timeout(mut self, timeout: impl Into<Timeout>) -> TestOptions {
        self.timeout = timeout.into();
        self
    }
}

/// Runs `f` as the root process of a fresh runtime, as `#[otp::test]` does, and fails (panics)
/// if it panics, returns an error, exits abnormally or does not finish in time. The test's
/// supervised children are stopped before the runtime shuts down.
///
/// ```
/// use otp::testing::{run_test, TestOptions};
///
/// run_test(TestOptions::new().name("adds"), || {
///     assert_eq!(1 + 1, 2);
/// });
/// ```
///
/// # Panics
///
/// When the test fails, with the reason; or if the runtime cannot start.
pub fn run_test<M, A, R, F>(options: TestOptions, f: F)
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: TestResult,
{
    let TestOptions {
        name,
        builder,
        timeout,
    } = options;
    let root = move |mb: Mailbox<M>| root(f, mb);
    let (tx, rx) = mpsc::channel();
    let runner = thread::Builder::new()
        .name(format!("{name} (otp runtime)"))
        .spawn(move || {
            let rt = builder
                .build()
                .unwrap_or_else(|e| panic!("{name}: could not start the otp runtime: {e}"));
            let outcome = rt.block_on(root);
            // Shut the runtime down before reporting: nothing of this test outlives it.
            drop(rt);
            let _ = tx.send(outcome);
        })
        .unwrap_or_else(|e| panic!("{name}: could not start the runtime's thread: {e}"));
    let outcome = match timeout {
        Timeout::Infinity => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        Timeout::After(t) => rx.recv_timeout(t),
    };
    match outcome {
        Ok(Ok(Ok(()))) => {
            let _ = runner.join();
        }
        Ok(Ok(Err(error))) => panic!("{name} returned an error: {error}"),
        Ok(Err(ExitReason::Panic(p))) => match p.location() {
            Some(at) => panic!("{}\n(in {name}'s process, at {at})", p.message()),
            None => panic!("{}\n(in {name}'s process)", p.message()),
        },
        Ok(Err(reason)) => panic!("{name}'s process exited: {reason}"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{name} timed out after {timeout:?}: it did not return (a receive that never matched? \
             a process that never yields?); its runtime was left running. Set another limit with \
             #[otp::test(timeout = \"..\")]",
            timeout = match timeout {
                Timeout::After(t) => t,
                Timeout::Infinity => Duration::MAX,
            }
        ),
        Err(mpsc::RecvTimeoutError::Disconnected) => match runner.join() {
            Err(payload) => panic::resume_unwind(payload),
            Ok(()) => unreachable!("the runtime's thread ended without an outcome"),
        },
    }
}

/// The test's root process: the function, then the teardown of its supervised children, whether
/// it returned or panicked.
fn root<M, A, R, F>(f: F, mb: Mailbox<M>) -> Result<(), String>
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: TestResult,
{
    let me = process::self_pid().number();
    with_tests(|t| t.insert(me, None));
    let result = rt_panic::catch(move || f.call(mb).into_result());
    match result {
        Ok(r) => {
            teardown(me);
            r
        }
        // Killed or exiting: the process must not block any more. Its supervisor is stopped
        // with the runtime.
        Err(payload) if payload.is::<ExitUnwind>() => {
            with_tests(|t| t.remove(&me));
            panic::resume_unwind(payload)
        }
        Err(payload) => {
            // The reason the panic hook recorded (message and location), before anything else
            // runs on this thread.
            let reason = rt_panic::reason(&*payload);
            drop(payload);
            teardown(me);
            crate::exit(reason)
        }
    }
}
