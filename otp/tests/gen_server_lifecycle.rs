//! How a GenServer ends, and who hears of it: `terminate` runs on `Stop` from any callback, on a
//! panic (which becomes an `ExitReason::Panic` for links, monitors and the caller), on
//! `Server::stop` and on its parent's `EXIT` while trapping; it does not run when the server is
//! killed or dies from an exit signal it does not trap. `Server::stop`'s results; a crash
//! leaves the runtime and other servers alone, and takes down a linked caller unless it traps;
//! a start timeout kills the server but not its caller.

mod common;
mod gen_server_support;

use std::time::Duration;

use common::*;
use gen_server_support::*;
use otp::{
    gen_server::{
        self, CallError, CallResult, CastResult, From, GenServer, Info, InitResult, Next, Server,
        StartError, StartOptions,
    },
    process, AnyPid, ExitReason, Mailbox, Message, MessageRef, Pid, Timeout,
};

/// What a [`Mortal`] reports.
#[derive(Debug, PartialEq)]
enum Event {
    Started(AnyPid),
    Terminated(ExitReason),
    /// A trapped `EXIT` that reached `handle_info`.
    Trapped {
        from: AnyPid,
        reason: ExitReason,
    },
    /// The `EXIT` a trapping caller got from the server.
    CallerGot(ExitReason),
}

/// How a [`Mortal`] is asked to end, from whichever callback gets it.
#[derive(Debug, Clone)]
enum Doom {
    Stop(ExitReason),
    Panic(&'static str),
    /// Block in the callback for a minute (to be killed meanwhile).
    Hang,
}

impl Doom {
    fn fall(self) -> ExitReason {
        match self {
            Doom::Stop(reason) => reason,
            Doom::Panic(message) => panic!("{message}"),
            Doom::Hang => {
                otp::sleep(Duration::from_secs(60));
                ExitReason::custom("woke_up")
            }
        }
    }
}

enum Ask {
    Ping,
    /// Meet this doom in `handle_call`.
    Doom(Doom),
    /// Reply, then meet this doom in `handle_continue`.
    ThenDoom(Doom),
}

/// A server that ends however it is told, reporting `init`, `terminate` and trapped exits to
/// `events`.
struct Mortal {
    events: Pid<Event>,
    trap: bool,
    /// What `terminate` does after reporting.
    last_words: Option<Doom>,
}

impl Mortal {
    fn new(events: Pid<Event>) -> Mortal {
        Mortal {
            events,
            trap: false,
            last_words: None,
        }
    }

    fn trapping(events: Pid<Event>) -> Mortal {
        Mortal {
            trap: true,
            ..Mortal::new(events)
        }
    }
}

impl GenServer for Mortal {
    type Call = Ask;
    type Reply = &'static str;
    type Cast = Doom;
    type Info = Doom;
    type Continue = Doom;

    fn init(&mut self) -> InitResult<Doom> {
        process::trap_exit(self.trap);
        self.events.send(Event::Started(otp::self_pid()));
        InitResult::ok()
    }

    fn handle_call(&mut self, ask: Ask, _: From<&'static str>) -> CallResult<&'static str, Doom> {
        match ask {
            Ask::Ping => CallResult::reply("pong"),
            Ask::Doom(doom) => CallResult::Stop(doom.fall(), None),
            Ask::ThenDoom(doom) => CallResult::Reply("pong", Next::Continue(doom)),
        }
    }

    fn handle_cast(&mut self, doom: Doom) -> CastResult<Doom> {
        CastResult::Stop(doom.fall())
    }

    fn handle_info(&mut self, info: Info<Doom>) -> CastResult<Doom> {
        match info {
            Info::Message(doom) => CastResult::Stop(doom.fall()),
            Info::Exit { from, reason } => {
                self.events.send(Event::Trapped { from, reason });
                CastResult::noreply()
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn handle_continue(&mut self, doom: Doom) -> CastResult<Doom> {
        CastResult::Stop(doom.fall())
    }

    fn terminate(&mut self, reason: &ExitReason) {
        self.events.send(Event::Terminated(reason.clone()));
        if let Some(doom) = self.last_words.take() {
            doom.fall();
        }
    }
}

/// The four callbacks a doom can be delivered to.
fn deliver(s: &Server<Mortal>, via: &str, doom: Doom) {
    match via {
        "call" => {
            let got = s.call(Ask::Doom(doom));
            assert!(matches!(got, Err(CallError::Exit(_))), "{got:?}");
        }
        "cast" => s.cast(doom).unwrap(),
        "info" => s.send(doom).unwrap(),
        "continue" => assert_eq!(s.call(Ask::ThenDoom(doom)), Ok("pong")),
        other => unreachable!("{other}"),
    }
}

const CALLBACKS: [&str; 4] = ["call", "cast", "info", "continue"];

/// Takes the `Started` report of a server just started.
#[track_caller]
fn started(mb: &mut Mailbox<Event>) -> AnyPid {
    match recv(mb) {
        Event::Started(pid) => pid,
        other => panic!("expected Started, got {other:?}"),
    }
}

/// Asserts that `terminate` did not run: it would have reported before the exit, so before
/// the `DOWN` or `EXIT` already taken. (Nothing else is expected either.)
#[track_caller]
fn assert_not_terminated(mb: &mut Mailbox<Event>) {
    assert_empty(mb);
}

// ===== terminate runs =====

#[test]
fn stop_from_any_callback_runs_terminate_with_the_reason() {
    run(|mut mb: Mailbox<Event>| {
        process::trap_exit(true);
        for via in CALLBACKS {
            let reason = ExitReason::shutdown_with(via);
            let s = gen_server::start_link(Mortal::new(mb.pid())).unwrap();
            let pid = started(&mut mb);
            deliver(&s, via, Doom::Stop(reason.clone()));
            assert_eq!(recv(&mut mb), Event::Terminated(reason.clone()), "{via}");
            assert_eq!(exit_from(&mut mb, &pid), reason, "{via}");
        }
    });
}

#[test]
fn a_panic_in_any_callback_runs_terminate_and_is_the_exit_reason_everyone_sees() {
    run(|mut mb: Mailbox<Event>| {
        process::trap_exit(true);
        for via in CALLBACKS {
            let s = gen_server::start_link(Mortal::new(mb.pid())).unwrap();
            let pid = started(&mut mb);
            let monitor = process::monitor(&pid);
            match via {
                // The caller gets the panic itself.
                "call" => {
                    let got = s.call(Ask::Doom(Doom::Panic("boom")));
                    assert!(
                        matches!(&got, Err(CallError::Exit(r)) if is_panic(r, "boom")),
                        "{got:?}"
                    );
                }
                _ => deliver(&s, via, Doom::Panic("boom")),
            }
            let Event::Terminated(terminated) = recv(&mut mb) else {
                panic!("{via}: terminate did not run")
            };
            assert!(is_panic(&terminated, "boom"), "{via}: {terminated:?}");
            // The link and the monitor see the same reason `terminate` got.
            assert_eq!(exit_from(&mut mb, &pid), terminated, "{via}");
            assert_eq!(down(&mut mb, monitor), terminated, "{via}");
        }
    });
}

#[test]
fn a_panic_in_terminate_becomes_the_exit_reason() {
    run(|mut mb: Mailbox<Event>| {
        process::trap_exit(true);
        let s = gen_server::start_link(Mortal {
            last_words: Some(Doom::Panic("in terminate")),
            ..Mortal::new(mb.pid())
        })
        .unwrap();
        let pid = started(&mut mb);
        s.cast(Doom::Stop(ExitReason::Shutdown)).unwrap();
        assert_eq!(recv(&mut mb), Event::Terminated(ExitReason::Shutdown));
        let reason = exit_from(&mut mb, &pid);
        assert!(is_panic(&reason, "in terminate"), "{reason:?}");
    });
}

#[test]
fn server_stop_runs_terminate_and_returns_once_the_server_is_gone() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start(Mortal::new(mb.pid())).unwrap();
        let pid = started(&mut mb);
        assert_eq!(s.stop(ExitReason::custom("bye"), Timeout::Infinity), Ok(()));
        assert!(!process::alive(&pid));
        // Reported before the exit `stop` waited for.
        assert_eq!(
            mb.try_receive(),
            Some(Event::Terminated(ExitReason::custom("bye")))
        );
        assert_empty(&mut mb);
    });
}

#[test]
fn terminate_runs_when_the_parent_exits_while_the_server_traps() {
    run(|mut mb: Mailbox<Event>| {
        for parent_reason in [ExitReason::custom("parent_gone"), ExitReason::Normal] {
            let server = Mortal::trapping(mb.pid());
            let monitor = with_parent(&mut mb, server, parent_reason.clone());
            assert_eq!(recv(&mut mb), Event::Terminated(parent_reason.clone()));
            assert_eq!(down(&mut mb, monitor), parent_reason);
        }
    });
}

/// Starts `server` from a parent process, monitors the server, then ends the parent with
/// `reason`; returns the monitor.
fn with_parent(mb: &mut Mailbox<Event>, server: Mortal, reason: ExitReason) -> otp::Ref {
    let parent = otp::spawn(move |mut pmb: Mailbox<()>| {
        let _server = gen_server::start_link(server).unwrap();
        pmb.receive();
        otp::exit(reason)
    });
    let pid = started(mb);
    let monitor = process::monitor(&pid);
    parent.send(());
    monitor
}

// ===== terminate does not run =====

#[test]
fn a_server_that_does_not_trap_dies_with_its_parent_without_terminate() {
    run(|mut mb: Mailbox<Event>| {
        let server = Mortal::new(mb.pid());
        let monitor = with_parent(&mut mb, server, ExitReason::custom("parent_gone"));
        assert_eq!(down(&mut mb, monitor), ExitReason::custom("parent_gone"));
        assert_not_terminated(&mut mb);
    });
}

#[test]
fn a_killed_server_does_not_run_terminate_even_if_it_traps() {
    run(|mut mb: Mailbox<Event>| {
        for server in [Mortal::new(mb.pid()), Mortal::trapping(mb.pid())] {
            let _s = gen_server::start(server).unwrap();
            let pid = started(&mut mb);
            let monitor = process::monitor(&pid);
            process::exit(&pid, ExitReason::Kill);
            assert_eq!(down(&mut mb, monitor), ExitReason::Killed);
            assert_not_terminated(&mut mb);
        }
    });
}

#[test]
fn a_server_killed_inside_a_callback_does_not_run_terminate() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start(Mortal::new(mb.pid())).unwrap();
        let pid = started(&mut mb);
        let monitor = process::monitor(&pid);
        s.cast(Doom::Hang).unwrap();
        process::exit(&pid, ExitReason::Kill);
        assert_eq!(down(&mut mb, monitor), ExitReason::Killed);
        assert_not_terminated(&mut mb);
    });
}

#[test]
fn an_exit_signal_a_server_does_not_trap_ends_it_without_terminate() {
    run(|mut mb: Mailbox<Event>| {
        let _s = gen_server::start(Mortal::new(mb.pid())).unwrap();
        let pid = started(&mut mb);
        let monitor = process::monitor(&pid);
        process::exit(&pid, ExitReason::custom("go_away"));
        assert_eq!(down(&mut mb, monitor), ExitReason::custom("go_away"));
        assert_not_terminated(&mut mb);
    });
}

#[test]
fn a_trapping_server_gets_an_exit_signal_from_a_non_parent_in_handle_info() {
    run(|mut mb: Mailbox<Event>| {
        // Not linked: we are not its parent.
        let s = gen_server::start(Mortal::trapping(mb.pid())).unwrap();
        let _pid = started(&mut mb);
        process::exit(s.pid().unwrap(), ExitReason::custom("go_away"));
        assert_eq!(
            recv(&mut mb),
            Event::Trapped {
                from: otp::self_pid(),
                reason: ExitReason::custom("go_away")
            }
        );
        assert_eq!(s.call(Ask::Ping), Ok("pong"));
    });
}

// ===== Server::stop =====

#[test]
fn server_stop_of_a_dead_server_is_noproc() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start(Mortal::new(mb.pid())).unwrap();
        let _pid = started(&mut mb);
        assert_eq!(s.stop(ExitReason::Normal, PROMPTLY), Ok(()));
        assert_eq!(s.stop(ExitReason::Normal, PROMPTLY), Err(CallError::NoProc));
        let nobody = Server::<Mortal>::named("nobody");
        assert_eq!(
            nobody.stop(ExitReason::Normal, PROMPTLY),
            Err(CallError::NoProc)
        );
    });
}

#[test]
fn server_stop_times_out_while_terminate_blocks_and_leaves_no_down_behind() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start(Mortal {
            last_words: Some(Doom::Hang),
            ..Mortal::new(mb.pid())
        })
        .unwrap();
        let pid = started(&mut mb);
        assert_eq!(
            s.stop(ExitReason::Shutdown, Duration::from_millis(20)),
            Err(CallError::Timeout)
        );
        // Still stopping: in `terminate`, which began.
        assert_eq!(recv(&mut mb), Event::Terminated(ExitReason::Shutdown));
        assert!(process::alive(&pid));
        let monitor = process::monitor(&pid);
        process::exit(&pid, ExitReason::Kill);
        assert_eq!(down(&mut mb, monitor), ExitReason::Killed);
        // `stop` took its monitor back: no second DOWN.
        assert_empty(&mut mb);
    });
}

#[test]
fn server_stop_reports_a_different_exit_reason() {
    run(|mut mb: Mailbox<Event>| {
        let s = gen_server::start(Mortal {
            last_words: Some(Doom::Panic("in terminate")),
            ..Mortal::new(mb.pid())
        })
        .unwrap();
        let _pid = started(&mut mb);
        let got = s.stop(ExitReason::Normal, PROMPTLY);
        assert!(
            matches!(&got, Err(CallError::Exit(r)) if is_panic(r, "in terminate")),
            "{got:?}"
        );
    });
}

#[test]
fn a_server_stopping_itself_gets_calling_self() {
    run(|mut mb: Mailbox<Event>| {
        /// Tries to stop itself (through its name) from a callback.
        struct Suicidal;
        impl GenServer for Suicidal {
            type Call = ();
            type Reply = Result<(), CallError>;
            type Cast = ();
            type Info = ();
            type Continue = ();
            fn handle_call(
                &mut self,
                (): (),
                _: From<Result<(), CallError>>,
            ) -> CallResult<Result<(), CallError>> {
                let me = Server::<Suicidal>::named("suicidal");
                CallResult::reply(me.stop(ExitReason::Normal, PROMPTLY))
            }
        }
        let s = StartOptions::new()
            .name("suicidal")
            .start_link(Suicidal)
            .unwrap();
        assert_eq!(s.call(()), Ok(Err(CallError::CallingSelf)));
        assert!(process::alive(s.pid().unwrap()));
        assert_empty(&mut mb);
    });
}

// ===== crashes: isolation and links =====

#[test]
fn a_crashing_server_takes_down_neither_the_runtime_nor_other_servers() {
    run(|mut mb: Mailbox<Event>| {
        let servers: Vec<(Server<Mortal>, AnyPid)> = (0..20)
            .map(|_| {
                let s = gen_server::start(Mortal::new(mb.pid())).unwrap();
                (s, started(&mut mb))
            })
            .collect();
        for (i, (s, pid)) in servers.iter().enumerate() {
            if i % 2 == 0 {
                let monitor = process::monitor(pid);
                s.cast(Doom::Panic("crash")).unwrap();
                let reason = down(&mut mb, monitor);
                assert!(is_panic(&reason, "crash"), "{reason:?}");
            }
        }
        for (i, (s, _)) in servers.iter().enumerate() {
            let got = s.call(Ask::Ping);
            if i % 2 == 0 {
                assert_eq!(got, Err(CallError::NoProc));
            } else {
                assert_eq!(got, Ok("pong"));
            }
        }
        // And new servers start as before.
        let s = gen_server::start(Mortal::new(mb.pid())).unwrap();
        assert_eq!(s.call(Ask::Ping), Ok("pong"));
    });
}

#[test]
fn a_caller_linked_to_a_crashing_server_dies_with_its_panic() {
    run(|mut mb: Mailbox<Event>| {
        let events = mb.pid();
        let (caller, monitor) = otp::spawn_monitor(move |mut cmb: Mailbox<()>| {
            let s = gen_server::start_link(Mortal::new(events)).unwrap();
            s.cast(Doom::Panic("crash")).unwrap();
            cmb.receive();
        });
        let _server = started(&mut mb);
        let reason = down(&mut mb, monitor);
        assert!(is_panic(&reason, "crash"), "{reason:?}");
        assert!(!process::alive(&caller));
    });
}

#[test]
fn a_trapping_caller_linked_to_a_crashing_server_gets_its_exit_and_lives() {
    run(|mut mb: Mailbox<Event>| {
        let events = mb.pid();
        let (_caller, monitor) = otp::spawn_monitor(move |mut cmb: Mailbox<()>| {
            process::trap_exit(true);
            let s = gen_server::start_link(Mortal::new(events.clone())).unwrap();
            s.cast(Doom::Panic("crash")).unwrap();
            events.send(Event::CallerGot(exit_from(&mut cmb, s.pid().unwrap())));
        });
        let _server = started(&mut mb);
        let Event::Terminated(reason) = recv(&mut mb) else {
            panic!("terminate did not run")
        };
        assert!(is_panic(&reason, "crash"), "{reason:?}");
        assert_eq!(recv(&mut mb), Event::CallerGot(reason));
        assert_eq!(down(&mut mb, monitor), ExitReason::Normal);
    });
}

// ===== start timeouts =====

/// A server whose `init` never finishes: it starts a [`Witness`] linked to itself (so
/// something sees how it ends, whenever that is), then blocks.
struct Stuck {
    events: Pid<Event>,
}

impl GenServer for Stuck {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        gen_server::start_link(Witness {
            events: self.events.clone(),
        })
        .unwrap();
        otp::sleep(Duration::from_secs(60));
        InitResult::ok()
    }
}

/// Traps exits, so it stops with its parent's reason and reports it from `terminate`.
struct Witness {
    events: Pid<Event>,
}

impl GenServer for Witness {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        process::trap_exit(true);
        InitResult::ok()
    }

    fn terminate(&mut self, reason: &ExitReason) {
        self.events.send(Event::Terminated(reason.clone()));
    }
}

const START_TIMEOUT: Duration = Duration::from_millis(50);

#[test]
fn a_start_timeout_kills_the_server() {
    run(|mut mb: Mailbox<Event>| {
        let got = StartOptions::new()
            .timeout(START_TIMEOUT)
            .start(Stuck { events: mb.pid() });
        assert_eq!(got.unwrap_err(), StartError::Timeout);
        assert_eq!(recv(&mut mb), Event::Terminated(ExitReason::Killed));
    });
}

/// The server is killed, but its caller, linked to it, must not die of that: the kill is the
/// caller's own doing. The server's links are told in order, the caller before the witness, so
/// by the time the witness's report is here, the caller has been told too (if it was still
/// linked).
#[test]
fn a_start_link_timeout_kills_the_server_but_not_the_caller() {
    run(|mut mb: Mailbox<Event>| {
        let got = StartOptions::new()
            .timeout(START_TIMEOUT)
            .start_link(Stuck { events: mb.pid() });
        assert_eq!(got.unwrap_err(), StartError::Timeout);
        assert_eq!(recv(&mut mb), Event::Terminated(ExitReason::Killed));
        // Still here (`run` fails the test if the root was killed) and unlinked.
        assert!(process::info(otp::self_pid()).unwrap().links.is_empty());
    });
}

#[test]
fn a_start_link_timeout_leaves_no_exit_in_a_trapping_callers_mailbox() {
    run(|mut mb: Mailbox<Event>| {
        process::trap_exit(true);
        let got = StartOptions::new()
            .timeout(START_TIMEOUT)
            .start_link(Stuck { events: mb.pid() });
        assert_eq!(got.unwrap_err(), StartError::Timeout);
        assert_eq!(recv(&mut mb), Event::Terminated(ExitReason::Killed));
        let exit = mb.select(Duration::ZERO, |m| matches!(m, MessageRef::Exit { .. }));
        assert!(
            !matches!(exit, Some(Message::Exit { .. })),
            "unexpected {exit:?}"
        );
    });
}
