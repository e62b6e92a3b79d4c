//! Shared by the supervisor suites: workers that report what happens to them to the test, and
//! helpers that crash a child and wait until its supervisor has handled the crash.
//!
//! The collector is the test's root process: workers send it [`Report`]s, `(id, event)`, as
//! plain messages. A worker reports `Started` from its `init` (before its start function
//! returns to the supervisor) and `Terminated(reason)` from its `terminate` (before it exits,
//! so before the supervisor's wait for its `DOWN` ends), so causally ordered steps of a restart
//! arrive in the order the supervisor took them.
//!
//! Synchronisation, never sleeps: [`crash`] monitors the victim and waits for its `DOWN`. The
//! dying process sends its exit signals to its links before its `DOWN`s to its monitors, so
//! by then the supervisor's `EXIT` is in its mailbox, and any call made after the `DOWN` (such as
//! `which_children`) is answered after the supervisor has handled the exit, restarts included.
// Each suite uses its own subset.
#![allow(dead_code)]

use otp::{
    gen_server::{self, CastResult, GenServer, Info, InitResult},
    process,
    supervisor::{ChildSpec, Supervisor},
    AnyPid, ExitReason, Mailbox, Message, MessageRef, Pid, Ref,
};

use crate::common::PROMPTLY;

/// What happened to a worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Its `init` ran: it is up.
    Started,
    /// Its `terminate` ran with this reason: it is going down.
    Terminated(ExitReason),
    /// Anything else a test process wants to say, in order with the rest.
    Note(&'static str),
}

/// `(child id, what happened)`, as the test's root receives it.
pub type Report = (&'static str, Event);

/// `(id, Started)`.
pub fn started(id: &'static str) -> Report {
    (id, Event::Started)
}

/// `(id, Terminated(reason))`.
pub fn terminated(id: &'static str, reason: ExitReason) -> Report {
    (id, Event::Terminated(reason))
}

/// `(id, Terminated(shutdown))`: stopped by its supervisor.
pub fn shut(id: &'static str) -> Report {
    terminated(id, ExitReason::Shutdown)
}

/// The custom reason that makes a [`Worker`] panic instead of stopping with it.
pub fn panic_reason() -> ExitReason {
    ExitReason::custom("panic")
}

/// The reason the suites crash workers with.
pub fn boom() -> ExitReason {
    ExitReason::custom("boom")
}

/// How a worker's `init` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// `{:ok, state}`, after reporting `Started`.
    Ok,
    /// `:ignore` (nothing reported).
    Ignore,
    /// `{:stop, :nope}` (nothing reported).
    Fail,
}

/// A GenServer worker that traps exits and reports its life to `log`.
///
/// Its protocol: an exit signal from anyone but its parent (the supervisor, whose `shutdown`
/// the GenServer machinery handles: `terminate`, then exit) makes it stop with that reason,
/// `terminate` included, or panic if the reason is [`panic_reason`]. So
/// `process::exit(pid, reason)` crashes it with `reason` (`normal` included), and
/// `process::exit(pid, Kill)` kills it (no `terminate`, no report).
pub struct Worker {
    id: &'static str,
    log: Option<Pid<Report>>,
    init: Init,
}

impl Worker {
    /// A worker that starts normally.
    pub fn new(id: &'static str, log: Option<Pid<Report>>) -> Worker {
        Worker {
            id,
            log,
            init: Init::Ok,
        }
    }

    /// A worker whose `init` ends as `init` says.
    pub fn with_init(id: &'static str, log: Option<Pid<Report>>, init: Init) -> Worker {
        Worker { id, log, init }
    }

    fn report(&self, event: Event) {
        if let Some(log) = &self.log {
            log.send((self.id, event));
        }
    }
}

impl GenServer for Worker {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        process::trap_exit(true);
        match self.init {
            Init::Ok => {
                self.report(Event::Started);
                InitResult::ok()
            }
            Init::Ignore => InitResult::Ignore,
            Init::Fail => InitResult::Stop(ExitReason::custom("nope")),
        }
    }

    fn handle_call(&mut self, (): (), _: gen_server::From<()>) -> gen_server::CallResult<()> {
        gen_server::CallResult::reply(())
    }

    fn handle_info(&mut self, info: Info<()>) -> CastResult {
        match info {
            Info::Exit { reason, .. } if reason == panic_reason() => {
                panic!("worker {} panicked on purpose", self.id)
            }
            Info::Exit { reason, .. } => CastResult::Stop(reason),
            _ => CastResult::noreply(),
        }
    }

    fn terminate(&mut self, reason: &ExitReason) {
        self.report(Event::Terminated(reason.clone()));
    }
}

/// A permanent [`Worker`] child that reports to `log`.
pub fn worker(id: &'static str, log: &Pid<Report>) -> ChildSpec {
    worker_with(id, log, Init::Ok)
}

/// A permanent [`Worker`] child whose `init` ends as `init` says.
pub fn worker_with(id: &'static str, log: &Pid<Report>, init: Init) -> ChildSpec {
    let log = log.clone();
    ChildSpec::new(id, move || {
        gen_server::start_link(Worker::with_init(id, Some(log.clone()), init))
    })
}

/// Receives exactly `expected.len()` reports (each within the guard time) and compares them
/// all at once, so a failure shows the whole sequence.
#[track_caller]
pub fn expect_reports(mb: &mut Mailbox<Report>, expected: &[Report]) {
    let got: Vec<Report> = expected
        .iter()
        .map_while(|_| mb.receive_timeout(PROMPTLY))
        .collect();
    assert_eq!(got, expected, "the reports, in order");
}

/// No report is waiting. Only meaningful after a barrier (a call the supervisor answered after
/// everything that could have produced a report).
#[track_caller]
pub fn expect_no_reports(mb: &mut Mailbox<Report>) {
    if let Some(r) = mb.try_receive() {
        panic!("unexpected report {r:?}");
    }
}

/// Waits for the `DOWN` of `reference`; returns its reason. Other messages stay queued.
#[track_caller]
pub fn await_down<M: Send + 'static>(mb: &mut Mailbox<M>, reference: Ref) -> ExitReason {
    match mb.select(
        PROMPTLY,
        |m| matches!(m, MessageRef::Down { reference: r, .. } if r == reference),
    ) {
        Some(Message::Down { reason, .. }) => reason,
        _ => panic!("no DOWN within {PROMPTLY:?}"),
    }
}

/// Waits for an `EXIT` from `from` (the caller traps exits); returns its reason.
#[track_caller]
pub fn await_exit<M: Send + 'static>(mb: &mut Mailbox<M>, from: &AnyPid) -> ExitReason {
    match mb.select(
        PROMPTLY,
        |m| matches!(m, MessageRef::Exit { from: f, .. } if f == from),
    ) {
        Some(Message::Exit { reason, .. }) => reason,
        _ => panic!("no EXIT from {from} within {PROMPTLY:?}"),
    }
}

/// Sends `reason` to `pid` as an exit signal and waits until it is dead; returns how it died.
/// Afterwards its supervisor has the `EXIT` in its mailbox (see the module doc).
#[track_caller]
pub fn crash<M: Send + 'static>(
    mb: &mut Mailbox<M>,
    pid: &AnyPid,
    reason: ExitReason,
) -> ExitReason {
    let reference = process::monitor(pid);
    process::exit(pid, reason);
    await_down(mb, reference)
}

/// The running child `id` of `sup`.
#[track_caller]
pub fn pid_of(sup: &Supervisor, id: &str) -> AnyPid {
    let children = sup.which_children().expect("the supervisor answers");
    children
        .into_iter()
        .find(|c| c.id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no child {id:?}"))
        .pid
        .unwrap_or_else(|| panic!("child {id:?} is not running"))
}

/// `(id, pid)` of every child of `sup`, in its order.
#[track_caller]
pub fn children(sup: &Supervisor) -> Vec<(String, Option<AnyPid>)> {
    sup.which_children()
        .expect("the supervisor answers")
        .into_iter()
        .map(|c| (c.id.expect("a supervisor's children have ids"), c.pid))
        .collect()
}

/// The ids of `sup`'s children, in its order.
#[track_caller]
pub fn ids(sup: &Supervisor) -> Vec<String> {
    children(sup).into_iter().map(|(id, _)| id).collect()
}

/// Every process that has not exited (`process::list` also shows processes that are exiting
/// but not yet gone, as `Process.list/0` does on the BEAM).
pub fn live_processes() -> Vec<AnyPid> {
    process::list()
        .into_iter()
        .filter(|p| process::alive(p))
        .collect()
}
