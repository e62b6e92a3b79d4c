//! GenServer callbacks, one test per return shape: `init`'s `Ok` with each `Next`, `Ignore`,
//! `Stop` and a panic; `handle_call`'s `Reply`, `NoReply` (answered later by the server or by
//! another process, the first reply winning) and `Stop` with and without a reply;
//! `handle_cast`'s `NoReply` and `Stop`; `handle_continue` chains; the idle timeout (fires when
//! idle, cancelled by any message, a stale one never swallows the next); what `handle_info`
//! receives (messages, trapped exits, `DOWN`s); and the default callbacks.

mod common;
mod gen_server_support;

use std::time::{Duration, Instant};

use common::*;
use gen_server_support::*;
use otp::{
    gen_server::{
        self, CallError, CallResult, CastResult, From, GenServer, Info, InitResult, Next, Server,
        StartError, StartOptions,
    },
    process, AnyPid, ExitReason, Mailbox, Pid, Ref,
};

// ===== Recorder: what the callbacks were given, in order =====

/// One thing a [`Recorder`] was given.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Continue(u32),
    Cast(u32),
    Message(u32),
    Timeout,
}

/// Records what its callbacks get. `init` returns `first`; continuation `n` chains to `n + 1`
/// up to 3. Each idle timeout is also reported to `events`.
struct Recorder {
    first: Option<Next<u32>>,
    seen: Vec<Seen>,
    events: Pid<Seen>,
}

enum Ask {
    /// Reply with what was seen so far.
    Seen,
    /// Reply with what was seen so far, then do this.
    SeenThen(Next<u32>),
}

impl Recorder {
    fn start(first: Next<u32>, events: Pid<Seen>) -> Server<Recorder> {
        gen_server::start_link(Recorder {
            first: Some(first),
            seen: Vec::new(),
            events,
        })
        .unwrap()
    }
}

impl GenServer for Recorder {
    type Call = Ask;
    type Reply = Vec<Seen>;
    type Cast = u32;
    type Info = u32;
    type Continue = u32;

    fn init(&mut self) -> InitResult<u32> {
        InitResult::Ok(self.first.take().unwrap())
    }

    fn handle_call(&mut self, ask: Ask, _: From<Vec<Seen>>) -> CallResult<Vec<Seen>, u32> {
        match ask {
            Ask::Seen => CallResult::reply(self.seen.clone()),
            Ask::SeenThen(next) => CallResult::Reply(self.seen.clone(), next),
        }
    }

    fn handle_cast(&mut self, n: u32) -> CastResult<u32> {
        self.seen.push(Seen::Cast(n));
        CastResult::noreply()
    }

    fn handle_info(&mut self, info: Info<u32>) -> CastResult<u32> {
        match info {
            Info::Message(n) => self.seen.push(Seen::Message(n)),
            Info::Timeout => {
                self.seen.push(Seen::Timeout);
                self.events.send(Seen::Timeout);
            }
            other => panic!("unexpected {other:?}"),
        }
        CastResult::noreply()
    }

    fn handle_continue(&mut self, n: u32) -> CastResult<u32> {
        self.seen.push(Seen::Continue(n));
        if n < 3 {
            CastResult::NoReply(Next::Continue(n + 1))
        } else {
            CastResult::noreply()
        }
    }
}

#[test]
fn init_ok_wait_serves_the_messages_that_come() {
    run(|mb: Mailbox<Seen>| {
        let s = Recorder::start(Next::Wait, mb.pid());
        assert_eq!(s.call(Ask::Seen), Ok(vec![]));
        s.cast(1).unwrap();
        s.send(2).unwrap();
        assert_eq!(s.call(Ask::Seen), Ok(vec![Seen::Cast(1), Seen::Message(2)]));
    });
}

#[test]
fn init_ok_continue_runs_the_whole_chain_before_any_message() {
    run(|mb: Mailbox<Seen>| {
        let s = Recorder::start(Next::Continue(1), mb.pid());
        // Sent as soon as `start` returns, while the chain may still be running: it waits.
        s.cast(7).unwrap();
        assert_eq!(
            s.call(Ask::Seen),
            Ok(vec![
                Seen::Continue(1),
                Seen::Continue(2),
                Seen::Continue(3),
                Seen::Cast(7)
            ])
        );
    });
}

#[test]
fn init_ok_timeout_fires_when_no_message_comes() {
    run(|mut mb: Mailbox<Seen>| {
        let s = Recorder::start(Next::Timeout(Duration::from_millis(1)), mb.pid());
        assert_eq!(recv(&mut mb), Seen::Timeout);
        assert_eq!(s.call(Ask::Seen), Ok(vec![Seen::Timeout]));
    });
}

#[test]
fn init_ok_hibernate_keeps_serving_with_its_state() {
    run(|mb: Mailbox<Seen>| {
        let s = Recorder::start(Next::Hibernate, mb.pid());
        s.cast(1).unwrap();
        assert_eq!(
            s.call(Ask::SeenThen(Next::Hibernate)),
            Ok(vec![Seen::Cast(1)])
        );
        s.cast(2).unwrap();
        assert_eq!(s.call(Ask::Seen), Ok(vec![Seen::Cast(1), Seen::Cast(2)]));
    });
}

#[test]
fn a_reply_can_ask_for_a_continuation_that_runs_before_the_next_message() {
    run(|mb: Mailbox<Seen>| {
        let s = Recorder::start(Next::Wait, mb.pid());
        assert_eq!(s.call(Ask::SeenThen(Next::Continue(2))), Ok(vec![]));
        s.cast(9).unwrap();
        assert_eq!(
            s.call(Ask::Seen),
            Ok(vec![Seen::Continue(2), Seen::Continue(3), Seen::Cast(9)])
        );
    });
}

#[test]
fn a_reply_can_ask_for_the_idle_timeout() {
    run(|mut mb: Mailbox<Seen>| {
        let s = Recorder::start(Next::Wait, mb.pid());
        assert_eq!(
            s.call(Ask::SeenThen(Next::Timeout(Duration::from_millis(1)))),
            Ok(vec![])
        );
        assert_eq!(recv(&mut mb), Seen::Timeout);
        assert_eq!(s.call(Ask::Seen), Ok(vec![Seen::Timeout]));
    });
}

#[test]
fn a_long_idle_timeout_does_not_fire_before_a_message() {
    run(|mut mb: Mailbox<Seen>| {
        let s = Recorder::start(Next::Timeout(Duration::from_secs(30)), mb.pid());
        assert_eq!(s.call(Ask::Seen), Ok(vec![]));
        s.cast(1).unwrap();
        assert_eq!(s.call(Ask::Seen), Ok(vec![Seen::Cast(1)]));
        assert_empty(&mut mb);
    });
}

#[test]
fn send_reaches_handle_info_as_a_message_in_order_with_casts() {
    run(|mb: Mailbox<Seen>| {
        let s = Recorder::start(Next::Wait, mb.pid());
        for n in 0..10 {
            if n % 2 == 0 {
                s.cast(n).unwrap();
            } else {
                s.send(n).unwrap();
            }
        }
        let expected: Vec<Seen> = (0..10)
            .map(|n| {
                if n % 2 == 0 {
                    Seen::Cast(n)
                } else {
                    Seen::Message(n)
                }
            })
            .collect();
        assert_eq!(s.call(Ask::Seen), Ok(expected));
    });
}

// ===== Fuse: arming and cancelling the idle timeout =====

const FUSE: &str = "fuse";

#[derive(Debug, PartialEq)]
enum Spark {
    /// Arm the idle timeout; with `poke`, first queue a `Poke` to itself, so a message is
    /// already waiting when the timeout is armed.
    Arm {
        label: u32,
        after: Duration,
        poke: bool,
    },
    /// Any message; reports `Poked`.
    Poke,
    /// Reply with how many idle timeouts fired.
    Count,
}

#[derive(Debug, PartialEq)]
enum Fused {
    Poked,
    /// An idle timeout fired; the label of the last `Arm`.
    Fired(u32),
}

struct Fuse {
    label: u32,
    fired: u32,
    events: Pid<Fused>,
}

impl Fuse {
    fn start(events: Pid<Fused>) -> Server<Fuse> {
        StartOptions::new()
            .name(FUSE)
            .start_link(Fuse {
                label: 0,
                fired: 0,
                events,
            })
            .unwrap()
    }

    fn spark(&mut self, spark: Spark) -> Next {
        match spark {
            Spark::Arm { label, after, poke } => {
                self.label = label;
                if poke {
                    Server::<Fuse>::named(FUSE).cast(Spark::Poke).unwrap();
                }
                Next::Timeout(after)
            }
            Spark::Poke => {
                self.events.send(Fused::Poked);
                Next::Wait
            }
            Spark::Count => Next::Wait,
        }
    }
}

impl GenServer for Fuse {
    type Call = Spark;
    type Reply = u32;
    type Cast = Spark;
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, spark: Spark, _: From<u32>) -> CallResult<u32> {
        let next = self.spark(spark);
        CallResult::Reply(self.fired, next)
    }

    fn handle_cast(&mut self, spark: Spark) -> CastResult {
        CastResult::NoReply(self.spark(spark))
    }

    fn handle_info(&mut self, info: Info<()>) -> CastResult {
        assert!(matches!(info, Info::Timeout), "unexpected {info:?}");
        self.fired += 1;
        self.events.send(Fused::Fired(self.label));
        CastResult::noreply()
    }
}

#[test]
fn any_message_cancels_the_idle_timeout() {
    run(|mut mb: Mailbox<Fused>| {
        let fuse = Fuse::start(mb.pid());
        // The Poke is in the mailbox before the timeout is armed, so it comes first and
        // cancels it: the 1 ms timeout never fires.
        fuse.cast(Spark::Arm {
            label: 1,
            after: Duration::from_millis(1),
            poke: true,
        })
        .unwrap();
        assert_eq!(recv(&mut mb), Fused::Poked);
        assert_quiet(&mut mb, Duration::from_millis(50));
        assert_eq!(fuse.call(Spark::Count), Ok(0));
        // Armed with nothing behind it, it fires.
        fuse.cast(Spark::Arm {
            label: 2,
            after: Duration::from_millis(1),
            poke: false,
        })
        .unwrap();
        assert_eq!(recv(&mut mb), Fused::Fired(2));
        assert_eq!(fuse.call(Spark::Count), Ok(1));
    });
}

/// A timeout that had already fired when a message cancelled it leaves its message in the
/// mailbox, behind that message. That stale message must not disarm the timeout the message's
/// handler armed.
///
/// To get there deterministically: one scheduler; the timeout falls due while this process holds
/// the scheduler; the re-arming cast is queued; then the no-op processes spawned after it run
/// before the server (new processes are taken newest first) and, among them, the scheduler's
/// periodic timer check fires the due timeout, whose message lands behind the cast. Should the
/// scheduler's order change, the test still passes for a correct server, it just may stop
/// reaching the stale case.
#[test]
fn a_stale_timeout_message_does_not_swallow_the_next_timeout() {
    run_on(1, |mut mb: Mailbox<Fused>| {
        let fuse = Fuse::start(mb.pid());
        for round in 0..20 {
            let (first, second) = (2 * round, 2 * round + 1);
            fuse.call(Spark::Arm {
                label: first,
                after: Duration::ZERO,
                poke: false,
            })
            .unwrap();
            let due = Instant::now() + Duration::from_millis(2);
            while Instant::now() < due {
                std::hint::spin_loop();
            }
            fuse.cast(Spark::Arm {
                label: second,
                after: Duration::ZERO,
                poke: false,
            })
            .unwrap();
            for _ in 0..150 {
                otp::spawn(|| {});
            }
            // The first timeout may have fired before the cast arrived; the second must fire.
            loop {
                match recv(&mut mb) {
                    Fused::Fired(l) if l == second => break,
                    Fused::Fired(l) if l == first => {}
                    other => panic!("round {round}: unexpected {other:?}"),
                }
            }
        }
    });
}

// ===== init's other results =====

#[derive(Debug, PartialEq)]
enum Life {
    Started(AnyPid),
    Terminated(ExitReason),
}

/// What [`Refuser`]'s `init` does.
#[derive(Clone, Copy)]
enum Refusal {
    Ignore,
    Stop,
    Panic,
}

/// Tells `events` its pid, then refuses to start as told. Reports `terminate`.
struct Refuser {
    how: Refusal,
    events: Pid<Life>,
}

impl GenServer for Refuser {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        self.events.send(Life::Started(otp::self_pid()));
        match self.how {
            Refusal::Ignore => InitResult::Ignore,
            Refusal::Stop => InitResult::Stop(ExitReason::custom("not_today")),
            Refusal::Panic => panic!("init failed"),
        }
    }

    fn terminate(&mut self, reason: &ExitReason) {
        self.events.send(Life::Terminated(reason.clone()));
    }
}

/// Starts a [`Refuser`] linked (the caller traps exits); returns the error and how it exited,
/// having checked that `terminate` was not called.
fn refused(mb: &mut Mailbox<Life>, how: Refusal) -> (StartError, ExitReason) {
    let err = gen_server::start_link(Refuser {
        how,
        events: mb.pid(),
    })
    .unwrap_err();
    let Life::Started(pid) = recv(mb) else {
        panic!("init did not run")
    };
    let reason = exit_from(mb, &pid);
    assert!(!process::alive(&pid));
    // `terminate` would have reported before the process exited, so before its EXIT.
    assert_empty(mb);
    (err, reason)
}

#[test]
fn init_ignore_fails_the_start_and_the_process_exits_normally() {
    run(|mut mb: Mailbox<Life>| {
        process::trap_exit(true);
        let (err, reason) = refused(&mut mb, Refusal::Ignore);
        assert_eq!(err, StartError::Ignore);
        assert_eq!(reason, ExitReason::Normal);
    });
}

#[test]
fn init_stop_fails_the_start_with_its_reason_without_terminate() {
    run(|mut mb: Mailbox<Life>| {
        process::trap_exit(true);
        let (err, reason) = refused(&mut mb, Refusal::Stop);
        assert_eq!(err, StartError::Stopped(ExitReason::custom("not_today")));
        assert_eq!(reason, ExitReason::custom("not_today"));
    });
}

#[test]
fn a_panic_in_init_fails_the_start_with_the_panic_without_terminate() {
    run(|mut mb: Mailbox<Life>| {
        process::trap_exit(true);
        let (err, reason) = refused(&mut mb, Refusal::Panic);
        let StartError::Stopped(stopped) = &err else {
            panic!("expected Stopped, got {err:?}")
        };
        assert!(is_panic(stopped, "init failed"), "{stopped:?}");
        assert_eq!(reason, *stopped);
    });
}

#[test]
fn init_stop_with_an_unlinked_start_leaves_the_caller_alone() {
    run(|mut mb: Mailbox<Life>| {
        let err = gen_server::start(Refuser {
            how: Refusal::Stop,
            events: mb.pid(),
        })
        .unwrap_err();
        assert_eq!(err, StartError::Stopped(ExitReason::custom("not_today")));
        let Life::Started(pid) = recv(&mut mb) else {
            panic!("init did not run")
        };
        let reason = exit_reason(&mut mb, &pid);
        assert!(
            reason == ExitReason::custom("not_today") || reason == ExitReason::NoProc,
            "{reason:?}"
        );
        assert_empty(&mut mb);
    });
}

// ===== handle_call =====

/// What a [`Teller`] is asked.
enum Tell {
    /// Keep the request and tell `events`; answer it at the next `Release`.
    Hold,
    /// Answer the held request with this; reply 0.
    Release(u32),
    /// Give the request to a new process, which answers it with twice this.
    Delegate(u32),
    /// Answer through a copy of the `From`, then try another copy, then return `Reply(3)`.
    Race,
    /// Whether the other two answers of the last `Race` were taken: 1 per taken answer.
    RaceResult,
    /// Give a copy of the `From` to each of two new processes, which answer 1 and 2 at once.
    RaceAcross,
    /// Stop with reason `done`, replying `Some(5)` or nothing.
    Stop(Option<u32>),
}

#[derive(Debug, PartialEq)]
enum Told {
    Holding,
    /// What a caller spawned by the test got.
    CallerGot(Result<u32, CallError>),
    /// A process answered `value`; `taken` if its answer was the one the caller got.
    Answered {
        value: u32,
        taken: bool,
    },
    Terminated(ExitReason),
}

struct Teller {
    held: Option<From<u32>>,
    raced: u32,
    events: Pid<Told>,
}

impl Teller {
    fn start(events: Pid<Told>) -> Server<Teller> {
        gen_server::start_link(Teller {
            held: None,
            raced: 0,
            events,
        })
        .unwrap()
    }
}

impl GenServer for Teller {
    type Call = Tell;
    type Reply = u32;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, tell: Tell, from: From<u32>) -> CallResult<u32> {
        match tell {
            Tell::Hold => {
                self.held = Some(from);
                self.events.send(Told::Holding);
                CallResult::noreply()
            }
            Tell::Release(n) => {
                self.held.take().expect("a held request").reply(n);
                CallResult::reply(0)
            }
            Tell::Delegate(n) => {
                otp::spawn(move || {
                    from.reply(n * 2);
                });
                CallResult::noreply()
            }
            Tell::Race => {
                let copy = from.clone();
                let first = copy.reply(1);
                let answered = from.is_answered();
                let second = from.clone().reply(2);
                self.raced = u32::from(first) + u32::from(answered) * 10 + u32::from(second) * 100;
                CallResult::reply(3)
            }
            Tell::RaceResult => CallResult::reply(self.raced),
            Tell::RaceAcross => {
                for value in [1, 2] {
                    let (from, events) = (from.clone(), self.events.clone());
                    otp::spawn(move || {
                        let taken = from.reply(value);
                        events.send(Told::Answered { value, taken });
                    });
                }
                CallResult::noreply()
            }
            Tell::Stop(reply) => CallResult::Stop(ExitReason::custom("done"), reply),
        }
    }

    fn terminate(&mut self, reason: &ExitReason) {
        self.events.send(Told::Terminated(reason.clone()));
    }
}

#[test]
fn noreply_then_the_server_answers_later_through_the_kept_from() {
    run(|mut mb: Mailbox<Told>| {
        let s = Teller::start(mb.pid());
        let me = mb.pid();
        otp::spawn({
            let s = s.clone();
            move || me.send(Told::CallerGot(s.call(Tell::Hold)))
        });
        assert_eq!(recv(&mut mb), Told::Holding);
        // The server is free while the request waits.
        assert_eq!(s.call(Tell::Release(42)), Ok(0));
        assert_eq!(recv(&mut mb), Told::CallerGot(Ok(42)));
    });
}

#[test]
fn noreply_then_another_process_answers() {
    run(|mb: Mailbox<Told>| {
        let s = Teller::start(mb.pid());
        assert_eq!(s.call(Tell::Delegate(21)), Ok(42));
        assert_eq!(s.call(Tell::Delegate(1)), Ok(2));
    });
}

#[test]
fn the_first_reply_wins_between_copies_of_a_from() {
    run(|mb: Mailbox<Told>| {
        let s = Teller::start(mb.pid());
        // The copy's reply (1) wins; the other copy's (2) and the `Reply(3)` are dropped.
        assert_eq!(s.call(Tell::Race), Ok(1));
        // first taken, answered seen, second refused.
        assert_eq!(s.call(Tell::RaceResult), Ok(11));
    });
}

#[test]
fn the_first_reply_wins_between_processes_racing_with_copies_of_a_from() {
    run(|mut mb: Mailbox<Told>| {
        let s = Teller::start(mb.pid());
        for _ in 0..100 {
            let got = s.call(Tell::RaceAcross).unwrap();
            let answers = [recv(&mut mb), recv(&mut mb)];
            let taken: Vec<u32> = answers
                .iter()
                .filter_map(|a| match a {
                    Told::Answered { value, taken: true } => Some(*value),
                    Told::Answered { taken: false, .. } => None,
                    other => panic!("unexpected {other:?}"),
                })
                .collect();
            assert_eq!(
                taken,
                [got],
                "exactly one answer taken: the one the caller got"
            );
        }
    });
}

#[test]
fn from_names_the_caller() {
    run(|| {
        /// Answers with the pid `From` names.
        struct Who;
        impl GenServer for Who {
            type Call = ();
            type Reply = AnyPid;
            type Cast = ();
            type Info = ();
            type Continue = ();
            fn handle_call(&mut self, (): (), from: From<AnyPid>) -> CallResult<AnyPid> {
                CallResult::reply(from.caller())
            }
        }
        let s = gen_server::start_link(Who).unwrap();
        assert_eq!(s.call(()), Ok(otp::self_pid()));
    });
}

#[test]
fn stop_with_a_reply_answers_the_caller_then_exits_through_terminate() {
    run(|mut mb: Mailbox<Told>| {
        process::trap_exit(true);
        let s = Teller::start(mb.pid());
        assert_eq!(s.call(Tell::Stop(Some(5))), Ok(5));
        assert_eq!(recv(&mut mb), Told::Terminated(ExitReason::custom("done")));
        assert_eq!(
            exit_from(&mut mb, s.pid().unwrap()),
            ExitReason::custom("done")
        );
    });
}

#[test]
fn stop_without_a_reply_fails_the_call_with_the_reason() {
    run(|mut mb: Mailbox<Told>| {
        process::trap_exit(true);
        let s = Teller::start(mb.pid());
        assert_eq!(
            s.call(Tell::Stop(None)),
            Err(CallError::Exit(ExitReason::custom("done")))
        );
        assert_eq!(recv(&mut mb), Told::Terminated(ExitReason::custom("done")));
        assert_eq!(
            exit_from(&mut mb, s.pid().unwrap()),
            ExitReason::custom("done")
        );
    });
}

// ===== handle_cast and handle_continue ending the server =====

/// Counts down its continuations from `n`, then stops with `done`; a cast stops it with the
/// reason cast. Reports what it saw.
struct Countdown {
    seen: Vec<u32>,
    events: Pid<(Vec<u32>, ExitReason)>,
}

impl GenServer for Countdown {
    type Call = ();
    type Reply = ();
    type Cast = ExitReason;
    type Info = ();
    type Continue = u32;

    fn handle_call(&mut self, (): (), _: From<()>) -> CallResult<(), u32> {
        CallResult::Reply((), Next::Continue(3))
    }

    fn handle_cast(&mut self, reason: ExitReason) -> CastResult<u32> {
        CastResult::Stop(reason)
    }

    fn handle_continue(&mut self, n: u32) -> CastResult<u32> {
        self.seen.push(n);
        match n {
            0 => CastResult::Stop(ExitReason::custom("done")),
            n => CastResult::NoReply(Next::Continue(n - 1)),
        }
    }

    fn terminate(&mut self, reason: &ExitReason) {
        self.events.send((self.seen.clone(), reason.clone()));
    }
}

#[test]
fn cast_stop_ends_the_server_through_terminate() {
    run(|mut mb: Mailbox<(Vec<u32>, ExitReason)>| {
        process::trap_exit(true);
        let s = gen_server::start_link(Countdown {
            seen: vec![],
            events: mb.pid(),
        })
        .unwrap();
        s.cast(ExitReason::shutdown_with("cast")).unwrap();
        assert_eq!(recv(&mut mb), (vec![], ExitReason::shutdown_with("cast")));
        assert_eq!(
            exit_from(&mut mb, s.pid().unwrap()),
            ExitReason::shutdown_with("cast")
        );
    });
}

#[test]
fn a_continue_chain_can_end_in_stop() {
    run(|mut mb: Mailbox<(Vec<u32>, ExitReason)>| {
        process::trap_exit(true);
        let s = gen_server::start_link(Countdown {
            seen: vec![],
            events: mb.pid(),
        })
        .unwrap();
        assert_eq!(s.call(()), Ok(()));
        assert_eq!(
            recv(&mut mb),
            (vec![3, 2, 1, 0], ExitReason::custom("done"))
        );
        assert_eq!(
            exit_from(&mut mb, s.pid().unwrap()),
            ExitReason::custom("done")
        );
    });
}

// ===== handle_info: trapped exits and DOWNs =====

#[derive(Debug, PartialEq)]
enum Noticed {
    Child(AnyPid),
    Exit {
        from: AnyPid,
        reason: ExitReason,
    },
    Down {
        reference: Ref,
        pid: AnyPid,
        reason: ExitReason,
    },
}

/// Traps exits; a cast makes it spawn a linked child that exits with the reason cast; a call
/// makes it monitor a pid. Reports every `EXIT` and `DOWN` it gets.
struct Noticer {
    events: Pid<Noticed>,
}

impl GenServer for Noticer {
    type Call = AnyPid;
    type Reply = Ref;
    type Cast = ExitReason;
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        process::trap_exit(true);
        InitResult::ok()
    }

    fn handle_call(&mut self, pid: AnyPid, _: From<Ref>) -> CallResult<Ref> {
        CallResult::reply(process::monitor(pid))
    }

    fn handle_cast(&mut self, reason: ExitReason) -> CastResult {
        let child = otp::spawn_link(move || otp::exit(reason));
        self.events.send(Noticed::Child(child.to_any()));
        CastResult::noreply()
    }

    fn handle_info(&mut self, info: Info<()>) -> CastResult {
        match info {
            Info::Exit { from, reason } => self.events.send(Noticed::Exit { from, reason }),
            Info::Down {
                reference,
                pid,
                reason,
            } => self.events.send(Noticed::Down {
                reference,
                pid,
                reason,
            }),
            other => panic!("unexpected {other:?}"),
        }
        CastResult::noreply()
    }
}

#[test]
fn a_trapping_server_gets_a_linked_childs_exit_in_handle_info() {
    run(|mut mb: Mailbox<Noticed>| {
        // Linked to us, its parent: the child is not its parent, so its EXIT is an `Info`.
        let s = gen_server::start_link(Noticer { events: mb.pid() }).unwrap();
        for reason in [ExitReason::custom("bye"), ExitReason::Normal] {
            s.cast(reason.clone()).unwrap();
            let Noticed::Child(child) = recv(&mut mb) else {
                panic!("no child")
            };
            assert_eq!(
                recv(&mut mb),
                Noticed::Exit {
                    from: child,
                    reason
                }
            );
        }
        assert!(process::alive(s.pid().unwrap()));
    });
}

#[test]
fn a_monitor_set_by_a_server_delivers_down_to_handle_info() {
    run(|mut mb: Mailbox<Noticed>| {
        let s = gen_server::start_link(Noticer { events: mb.pid() }).unwrap();
        let watched = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        // The call returns once the monitor is set.
        let reference = s.call(watched.to_any()).unwrap();
        watched.send(());
        assert_eq!(
            recv(&mut mb),
            Noticed::Down {
                reference,
                pid: watched.to_any(),
                reason: ExitReason::Normal
            }
        );
    });
}

// ===== the default callbacks =====

/// Implements no callback at all.
struct Bare;

impl GenServer for Bare {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();
}

/// Implements only `init`, asking for a continuation it does not handle.
struct Unfinished;

impl GenServer for Unfinished {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        InitResult::Ok(Next::Continue(()))
    }
}

#[test]
fn without_handle_call_a_call_stops_the_server_with_bad_call() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let s = gen_server::start_link(Bare).unwrap();
        let err = s.call(()).unwrap_err();
        let CallError::Exit(reason) = &err else {
            panic!("expected Exit, got {err:?}")
        };
        assert!(reason.to_string().contains("bad_call"), "{reason}");
        assert_eq!(exit_from(&mut mb, s.pid().unwrap()), *reason);
    });
}

#[test]
fn without_handle_cast_a_cast_stops_the_server_with_bad_cast() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let s = gen_server::start_link(Bare).unwrap();
        s.cast(()).unwrap();
        let reason = exit_from(&mut mb, s.pid().unwrap());
        assert!(reason.to_string().contains("bad_cast"), "{reason}");
    });
}

#[test]
fn without_handle_info_a_message_is_logged_and_the_server_carries_on() {
    run(|| {
        let s = gen_server::start_link(Bare).unwrap();
        s.send(()).unwrap();
        // Handled after the message: it was still alive, and stops with our reason.
        assert_eq!(s.stop(ExitReason::Normal, PROMPTLY), Ok(()));
    });
}

#[test]
fn without_handle_continue_a_continuation_stops_the_server_with_bad_continue() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let s = gen_server::start_link(Unfinished).unwrap();
        let reason = exit_from(&mut mb, s.pid().unwrap());
        assert!(reason.to_string().contains("bad_continue"), "{reason}");
    });
}
