//! Calls, casts and sends from the client's side: every `CallError` (`NoProc` for a dead pid
//! or a free name, `CallingSelf`, `Timeout` with its late reply dropped, `Exit` when the server
//! crashes, is killed or stops with the request queued or in hand, `NoReply` when the request
//! is dropped), the default timeout, and casts and sends that never block, with a free name an
//! error and a dead pid silent.

mod common;
mod gen_server_support;

use std::time::Duration;

use common::*;
use gen_server_support::*;
use otp::{
    gen_server::{
        self, CallError, CallResult, CastResult, From, GenServer, Server, StartOptions,
        DEFAULT_CALL_TIMEOUT,
    },
    process::{self, NotRegistered},
    AnyPid, ExitReason, Mailbox, Pid, Timeout,
};

/// What a [`Keeper`] is asked.
#[derive(Debug)]
enum Req {
    /// Reply `n`.
    Echo(u32),
    /// Keep the request, tell `events`, answer it at `Answer`.
    Keep,
    /// Answer the kept request with this; reply 0.
    Answer(u32),
    /// Drop the request unanswered.
    Drop,
    /// Hand the request to a process that drops it.
    GiveAway,
    Crash,
}

/// How a [`Keeper`] ends, by cast.
#[derive(Debug)]
enum Cmd {
    /// Block in the callback for a minute.
    Hang,
    Stop(ExitReason),
}

#[derive(Debug, PartialEq)]
enum Event {
    Kept,
    /// What a process spawned by the test got from its call.
    Got(Result<u32, CallError>),
}

struct Keeper {
    kept: Vec<From<u32>>,
    events: Pid<Event>,
}

impl Keeper {
    fn new(events: Pid<Event>) -> Keeper {
        Keeper {
            kept: Vec::new(),
            events,
        }
    }
}

impl GenServer for Keeper {
    type Call = Req;
    type Reply = u32;
    type Cast = Cmd;
    type Info = Cmd;
    type Continue = ();

    fn handle_call(&mut self, req: Req, from: From<u32>) -> CallResult<u32> {
        match req {
            Req::Echo(n) => CallResult::reply(n),
            Req::Keep => {
                self.kept.push(from);
                self.events.send(Event::Kept);
                CallResult::noreply()
            }
            Req::Answer(n) => {
                for kept in self.kept.drain(..) {
                    kept.reply(n);
                }
                CallResult::reply(0)
            }
            Req::Drop => {
                drop(from);
                CallResult::noreply()
            }
            Req::GiveAway => {
                otp::spawn(move || drop(from));
                CallResult::noreply()
            }
            Req::Crash => panic!("crashed in handle_call"),
        }
    }

    fn handle_cast(&mut self, cmd: Cmd) -> CastResult {
        match cmd {
            Cmd::Hang => {
                otp::sleep(Duration::from_secs(60));
                CastResult::noreply()
            }
            Cmd::Stop(reason) => CastResult::Stop(reason),
        }
    }
}

/// Spawns a process that makes `req` and reports what it got.
fn call_from_another_process(s: &Server<Keeper>, req: Req, events: Pid<Event>) -> Pid<()> {
    let s = s.clone();
    otp::spawn(move || events.send(Event::Got(s.call(req))))
}

// ===== NoProc =====

#[test]
fn a_call_to_a_dead_pid_is_noproc_and_a_cast_or_send_is_silent() {
    run(|mb: Mailbox<Event>| {
        let s = gen_server::start(Keeper::new(mb.pid())).unwrap();
        assert_eq!(s.stop(ExitReason::Normal, PROMPTLY), Ok(()));
        assert_eq!(s.call(Req::Echo(1)), Err(CallError::NoProc));
        assert_eq!(s.cast(Cmd::Hang), Ok(()));
        assert_eq!(s.send(Cmd::Hang), Ok(()));
    });
}

#[test]
fn a_name_nobody_holds_is_noproc_to_call_and_an_error_to_cast_or_send() {
    run(|| {
        let s = Server::<Keeper>::named("nobody");
        assert_eq!(s.call(Req::Echo(1)), Err(CallError::NoProc));
        assert_eq!(s.cast(Cmd::Hang), Err(NotRegistered("nobody".into())));
        assert_eq!(s.send(Cmd::Hang), Err(NotRegistered("nobody".into())));
        assert_eq!(s.pid(), None);
    });
}

#[test]
fn a_name_held_by_another_kind_of_process_counts_as_free() {
    run(|| {
        let raw = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        process::register("raw", &raw).unwrap();
        let s = Server::<Keeper>::named("raw");
        assert_eq!(s.call(Req::Echo(1)), Err(CallError::NoProc));
        assert_eq!(s.cast(Cmd::Hang), Err(NotRegistered("raw".into())));
        assert_eq!(s.pid(), None);
        raw.send(());
    });
}

// ===== CallingSelf =====

/// Calls itself from a callback, through a handle by name and one by pid.
struct Narcissus {
    by_pid: Option<Server<Narcissus>>,
}

impl GenServer for Narcissus {
    /// `true`: through the handle by pid; `false`: by name.
    type Call = bool;
    /// How the call to itself failed.
    type Reply = Option<CallError>;
    type Cast = Server<Narcissus>;
    type Info = bool;
    type Continue = ();

    fn handle_call(
        &mut self,
        by_pid: bool,
        _: From<Option<CallError>>,
    ) -> CallResult<Option<CallError>> {
        let me = if by_pid {
            self.by_pid.clone().expect("told its handle")
        } else {
            Server::named("narcissus")
        };
        CallResult::reply(me.call(by_pid).err())
    }

    fn handle_cast(&mut self, me: Server<Narcissus>) -> CastResult {
        self.by_pid = Some(me);
        CastResult::noreply()
    }
}

#[test]
fn a_server_calling_itself_gets_calling_self() {
    run(|| {
        let s = StartOptions::new()
            .name("narcissus")
            .start_link(Narcissus { by_pid: None })
            .unwrap();
        s.cast(s.clone()).unwrap();
        assert_eq!(s.call(false), Ok(Some(CallError::CallingSelf)));
        assert_eq!(s.call(true), Ok(Some(CallError::CallingSelf)));
    });
}

// ===== Timeout =====

#[test]
fn the_default_call_timeout_is_five_seconds() {
    assert_eq!(DEFAULT_CALL_TIMEOUT, Timeout::After(Duration::from_secs(5)));
}

#[test]
fn a_call_never_answered_times_out_and_its_late_reply_is_dropped() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start_link(Keeper::new(mb.pid())).unwrap();
        assert_eq!(
            s.call_timeout(Req::Keep, Duration::from_millis(10)),
            Err(CallError::Timeout)
        );
        assert_eq!(recv(&mut mb), Event::Kept);
        // Answered now, after we gave up: 99 goes nowhere.
        assert_eq!(s.call(Req::Answer(99)), Ok(0));
        // The next call gets its own reply, not the stale one...
        assert_eq!(s.call(Req::Echo(7)), Ok(7));
        // ...and nothing came to the mailbox.
        assert_empty(&mut mb);
        assert_eq!(process::info(otp::self_pid()).unwrap().message_queue_len, 0);
    });
}

#[test]
fn a_call_with_an_infinite_timeout_waits_for_a_late_answer() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start_link(Keeper::new(mb.pid())).unwrap();
        let events = mb.pid();
        otp::spawn({
            let s = s.clone();
            move || events.send(Event::Got(s.call_timeout(Req::Keep, Timeout::Infinity)))
        });
        assert_eq!(recv(&mut mb), Event::Kept);
        assert_eq!(s.call(Req::Answer(3)), Ok(0));
        assert_eq!(recv(&mut mb), Event::Got(Ok(3)));
    });
}

// ===== Exit =====

#[test]
fn a_crash_while_handling_the_call_fails_it_with_the_panic() {
    run(|mb: Mailbox<Event>| {
        let s = gen_server::start(Keeper::new(mb.pid())).unwrap();
        let got = s.call(Req::Crash);
        assert!(
            matches!(&got, Err(CallError::Exit(r)) if is_panic(r, "crashed in handle_call")),
            "{got:?}"
        );
    });
}

/// On one scheduler, so the killer spawned before the call can only run once this process is
/// blocked in it, with its request sent. The server is stuck in a slow callback meanwhile, so
/// the request is still in its mailbox.
#[test]
fn a_kill_with_the_request_queued_fails_the_call_with_killed() {
    run_on(1, |mb: Mailbox<Event>| {
        let s = gen_server::start(Keeper::new(mb.pid())).unwrap();
        s.cast(Cmd::Hang).unwrap();
        let pid = s.pid().unwrap();
        otp::spawn(move || process::exit(&pid, ExitReason::Kill));
        assert_eq!(
            s.call(Req::Echo(1)),
            Err(CallError::Exit(ExitReason::Killed))
        );
    });
}

#[test]
fn a_kill_with_the_request_kept_fails_the_call_with_killed() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start(Keeper::new(mb.pid())).unwrap();
        call_from_another_process(&s, Req::Keep, mb.pid());
        assert_eq!(recv(&mut mb), Event::Kept);
        process::exit(s.pid().unwrap(), ExitReason::Kill);
        assert_eq!(
            recv(&mut mb),
            Event::Got(Err(CallError::Exit(ExitReason::Killed)))
        );
    });
}

#[test]
fn a_server_stopping_with_requests_kept_fails_them_with_its_reason() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start(Keeper::new(mb.pid())).unwrap();
        for _ in 0..3 {
            call_from_another_process(&s, Req::Keep, mb.pid());
            assert_eq!(recv(&mut mb), Event::Kept);
        }
        s.cast(Cmd::Stop(ExitReason::custom("closing"))).unwrap();
        for _ in 0..3 {
            assert_eq!(
                recv(&mut mb),
                Event::Got(Err(CallError::Exit(ExitReason::custom("closing"))))
            );
        }
    });
}

#[test]
fn a_server_dying_from_an_exit_signal_fails_a_kept_request_with_the_signals_reason() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start(Keeper::new(mb.pid())).unwrap();
        call_from_another_process(&s, Req::Keep, mb.pid());
        assert_eq!(recv(&mut mb), Event::Kept);
        process::exit(s.pid().unwrap(), ExitReason::custom("go_away"));
        assert_eq!(
            recv(&mut mb),
            Event::Got(Err(CallError::Exit(ExitReason::custom("go_away"))))
        );
    });
}

// ===== NoReply =====

#[test]
fn a_request_dropped_unanswered_fails_at_once_with_noreply() {
    run(|mb: Mailbox<Event>| {
        let s = gen_server::start_link(Keeper::new(mb.pid())).unwrap();
        // With no timeout to end the wait, only the dropped request can.
        assert_eq!(
            s.call_timeout(Req::Drop, Timeout::Infinity),
            Err(CallError::NoReply)
        );
        assert_eq!(
            s.call_timeout(Req::GiveAway, Timeout::Infinity),
            Err(CallError::NoReply)
        );
        // The server is fine.
        assert_eq!(s.call(Req::Echo(5)), Ok(5));
    });
}

// ===== casts and sends =====

#[test]
fn casts_and_sends_never_block_even_on_a_server_stuck_in_a_callback() {
    run(|mut mb: Mailbox<AnyPid>| {
        let me = mb.pid();
        let gate = gen_server::start_link(Gate::new(move |caller| me.send(caller))).unwrap();
        /// Calls the gate from a cast, and stays there.
        struct Blocked(Server<Gate>);
        impl GenServer for Blocked {
            type Call = ();
            type Reply = ();
            type Cast = u32;
            type Info = u32;
            type Continue = ();
            fn handle_cast(&mut self, _: u32) -> CastResult {
                self.0.call_timeout((), Timeout::Infinity).unwrap();
                CastResult::noreply()
            }
        }
        let s = gen_server::start_link(Blocked(gate)).unwrap();
        let pid = s.pid().unwrap();
        s.cast(0).unwrap();
        assert_eq!(recv(&mut mb), pid);
        // A blocking cast or send would hang here for good.
        for n in 0..1000 {
            s.cast(n).unwrap();
            s.send(n).unwrap();
        }
        assert_eq!(process::info(&pid).unwrap().message_queue_len, 2000);
    });
}

#[test]
fn concurrent_callers_each_get_their_own_replies() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start_link(Keeper::new(mb.pid())).unwrap();
        let me = mb.pid();
        for caller in 0..8u32 {
            let s = s.clone();
            let me = me.clone();
            otp::spawn(move || {
                for i in 0..200 {
                    let n = caller * 1000 + i;
                    if s.call(Req::Echo(n)) != Ok(n) {
                        me.send(Event::Got(Err(CallError::NoReply)));
                        return;
                    }
                }
                me.send(Event::Got(Ok(caller)));
            });
        }
        let mut done: Vec<u32> = (0..8)
            .map(|_| match recv(&mut mb) {
                Event::Got(Ok(caller)) => caller,
                other => panic!("a caller got a wrong reply: {other:?}"),
            })
            .collect();
        done.sort_unstable();
        assert_eq!(done, (0..8).collect::<Vec<_>>());
    });
}
