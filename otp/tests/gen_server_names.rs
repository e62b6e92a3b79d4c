//! Named servers: a name (local or `via`) is taken before `init` runs; a taken name fails the
//! start with `AlreadyStarted` and stays with its holder; the name is free again by the time
//! the server's `DOWN` or `EXIT` arrives, however it ended, and by the time a failed start
//! returns, so a new server can take it at once; a handle made from a name reaches whichever
//! server holds it at each use.

mod common;
mod gen_server_support;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use common::*;
use gen_server_support::*;
use otp::{
    gen_server::{
        self, CallError, CallResult, CastResult, From, GenServer, InitResult, Name, Server,
        StartError, StartOptions, Via,
    },
    process::{self, NotRegistered},
    AnyPid, ExitReason, Mailbox, Pid, Timeout,
};

// ===== a name service for `via` names =====

/// Bindings from names to pids. Unlike a real registry it does not watch its members, so the
/// tests see whether a server let its name go itself.
#[derive(Debug, Clone, Default)]
struct Registry(Arc<Mutex<HashMap<&'static str, AnyPid>>>);

impl Registry {
    fn name(&self, key: &'static str) -> Name {
        Name::via(Key(self.clone(), key))
    }

    fn bound(&self, key: &'static str) -> Option<AnyPid> {
        self.0.lock().unwrap().get(key).cloned()
    }
}

/// One name in a [`Registry`].
#[derive(Debug)]
struct Key(Registry, &'static str);

impl Via for Key {
    fn register_name(&self, pid: &AnyPid) -> Result<(), AnyPid> {
        let mut names = (self.0).0.lock().unwrap();
        match names.get(self.1) {
            Some(holder) if process::alive(holder) => Err(holder.clone()),
            _ => {
                names.insert(self.1, pid.clone());
                Ok(())
            }
        }
    }

    fn unregister_name(&self, pid: &AnyPid) {
        let mut names = (self.0).0.lock().unwrap();
        if names.get(self.1) == Some(pid) {
            names.remove(self.1);
        }
    }

    fn whereis_name(&self) -> Option<AnyPid> {
        self.0.bound(self.1)
    }
}

// ===== a named server =====

#[derive(Debug, PartialEq)]
enum Event {
    /// `init` ran in `pid`, and its name resolved to `holder` then.
    Started { pid: AnyPid, holder: Option<AnyPid> },
    /// A gate holds a call from this process.
    Held(AnyPid),
}

/// How a [`Named`] ends.
#[derive(Debug)]
enum End {
    Stop,
    Panic,
}

/// A server that reports, from `init`, who holds its name; replies to calls with its
/// generation.
struct Named {
    name: Name,
    generation: u32,
    refuse: bool,
    events: Pid<Event>,
}

impl Named {
    fn new(name: &Name, generation: u32, events: &Pid<Event>) -> Named {
        Named {
            name: name.clone(),
            generation,
            refuse: false,
            events: events.clone(),
        }
    }

    /// Starts it under its name, linked.
    fn start(self) -> Result<Server<Named>, StartError> {
        StartOptions::new().name(self.name.clone()).start_link(self)
    }
}

impl GenServer for Named {
    type Call = ();
    type Reply = u32;
    type Cast = End;
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        self.events.send(Event::Started {
            pid: otp::self_pid(),
            holder: self.name.whereis(),
        });
        if self.refuse {
            InitResult::Stop(ExitReason::custom("refused"))
        } else {
            InitResult::ok()
        }
    }

    fn handle_call(&mut self, (): (), _: From<u32>) -> CallResult<u32> {
        CallResult::reply(self.generation)
    }

    fn handle_cast(&mut self, end: End) -> CastResult {
        match end {
            End::Stop => CastResult::Stop(ExitReason::custom("stopped")),
            End::Panic => panic!("crashed"),
        }
    }
}

/// Takes the `Started` report of the server just started: its pid, checking that its name was
/// its own during `init`.
#[track_caller]
fn started_holding_its_name(mb: &mut Mailbox<Event>) -> AnyPid {
    let Event::Started { pid, holder } = recv(mb) else {
        panic!("expected Started")
    };
    assert_eq!(
        holder.as_ref(),
        Some(&pid),
        "init ran before the name was taken"
    );
    pid
}

/// Every way a server ends, done to `pid` (the server behind `s`).
const ENDINGS: [&str; 5] = ["stop", "cast_stop", "crash", "kill", "signal"];

fn end(s: &Server<Named>, pid: &AnyPid, how: &str) {
    match how {
        "stop" => s.stop(ExitReason::Shutdown, PROMPTLY).unwrap(),
        "cast_stop" => s.cast(End::Stop).unwrap(),
        "crash" => s.cast(End::Panic).unwrap(),
        "kill" => process::exit(pid, ExitReason::Kill),
        "signal" => process::exit(pid, ExitReason::custom("go_away")),
        other => unreachable!("{other}"),
    }
}

/// The names the tests run with: a local one, and a `via` one in `registry`.
fn names(registry: &Registry) -> [Name; 2] {
    [Name::local("server"), registry.name("server")]
}

// ===== registered before init =====

#[test]
fn a_name_is_taken_before_init_runs() {
    run(|mut mb: Mailbox<Event>| {
        let registry = Registry::default();
        for name in names(&registry) {
            let s = Named::new(&name, 1, &mb.pid()).start().unwrap();
            let pid = started_holding_its_name(&mut mb);
            assert_eq!(s.pid(), Some(pid.clone()));
            assert_eq!(Server::<Named>::from_name(name.clone()).call(()), Ok(1));
            if let Name::Local(local) = &name {
                assert_eq!(process::whereis(local), Some(pid.clone()));
            } else {
                assert_eq!(registry.bound("server"), Some(pid.clone()));
            }
            s.stop(ExitReason::Normal, PROMPTLY).unwrap();
        }
    });
}

// ===== taken names =====

#[test]
fn a_taken_name_fails_the_start_with_already_started_and_stays_with_its_holder() {
    run(|mut mb: Mailbox<Event>| {
        let registry = Registry::default();
        for name in names(&registry) {
            let first = Named::new(&name, 1, &mb.pid()).start().unwrap();
            let holder = started_holding_its_name(&mut mb);
            assert_eq!(
                Named::new(&name, 2, &mb.pid()).start().unwrap_err(),
                StartError::AlreadyStarted(holder.clone())
            );
            // The second never got to `init`...
            assert_empty(&mut mb);
            // ...and the name is still the first's, in the registry too.
            assert_eq!(name.whereis(), Some(holder.clone()));
            assert_eq!(Server::<Named>::from_name(name.clone()).call(()), Ok(1));
            first.stop(ExitReason::Normal, PROMPTLY).unwrap();
        }
    });
}

#[test]
fn a_name_held_by_a_plain_process_is_taken_too() {
    run(|mb: Mailbox<Event>| {
        let raw = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        process::register("server", &raw).unwrap();
        assert_eq!(
            Named::new(&Name::local("server"), 1, &mb.pid())
                .start()
                .unwrap_err(),
            StartError::AlreadyStarted(raw.to_any())
        );
        assert_eq!(process::whereis("server"), Some(raw.to_any()));
        raw.send(());
    });
}

// ===== freed on exit =====

#[test]
fn the_name_is_free_by_the_time_the_down_arrives() {
    run(|mut mb: Mailbox<Event>| {
        let registry = Registry::default();
        for name in names(&registry) {
            // Each start right after the previous server's DOWN.
            for (generation, how) in (0..).zip(ENDINGS.iter().cycle().take(25)) {
                let s = Named::new(&name, generation, &mb.pid())
                    .start()
                    .unwrap_or_else(|e| panic!("{name}, generation {generation}: {e}"));
                let pid = started_holding_its_name(&mut mb);
                assert_eq!(s.call(()), Ok(generation));
                let monitor = process::monitor(&pid);
                // Unlinked, so the endings by signal don't reach us.
                process::unlink(&pid);
                end(&s, &pid, how);
                down(&mut mb, monitor);
            }
        }
    });
}

#[test]
fn the_name_is_free_by_the_time_the_exit_arrives() {
    run(|mut mb: Mailbox<Event>| {
        process::trap_exit(true);
        let registry = Registry::default();
        for name in names(&registry) {
            // Each start right after the previous server's EXIT.
            for (generation, how) in (0..).zip(ENDINGS.iter().cycle().take(25)) {
                let s = Named::new(&name, generation, &mb.pid())
                    .start()
                    .unwrap_or_else(|e| panic!("{name}, generation {generation}: {e}"));
                let pid = started_holding_its_name(&mut mb);
                assert_eq!(s.call(()), Ok(generation));
                end(&s, &pid, how);
                exit_from(&mut mb, &pid);
            }
        }
    });
}

#[test]
fn a_via_name_is_let_go_by_the_server_itself_however_it_ends() {
    run(|mut mb: Mailbox<Event>| {
        let registry = Registry::default();
        let name = registry.name("server");
        for how in ENDINGS {
            let s = Named::new(&name, 1, &mb.pid()).start().unwrap();
            let pid = started_holding_its_name(&mut mb);
            let monitor = process::monitor(&pid);
            process::unlink(&pid);
            end(&s, &pid, how);
            down(&mut mb, monitor);
            assert_eq!(registry.bound("server"), None, "after {how}");
        }
        // And when `init` refuses to start.
        let refused = Named {
            refuse: true,
            ..Named::new(&name, 1, &mb.pid())
        };
        process::trap_exit(true);
        assert_eq!(
            refused.start().unwrap_err(),
            StartError::Stopped(ExitReason::custom("refused"))
        );
        let pid = started_holding_its_name(&mut mb);
        exit_from(&mut mb, &pid);
        assert_eq!(registry.bound("server"), None, "after a refused start");
    });
}

// ===== handles by name =====

#[test]
fn a_handle_by_name_reaches_whichever_server_holds_the_name_now() {
    run(|mut mb: Mailbox<Event>| {
        let registry = Registry::default();
        for name in names(&registry) {
            let handle = Server::<Named>::from_name(name.clone());
            assert_eq!(
                handle.name().map(ToString::to_string),
                Some(name.to_string())
            );
            for generation in 1..=3 {
                Named::new(&name, generation, &mb.pid()).start().unwrap();
                let pid = started_holding_its_name(&mut mb);
                assert_eq!(handle.pid(), Some(pid.clone()));
                assert_eq!(handle.call(()), Ok(generation));
                // Stopped through the handle, which resolves the name for that too.
                handle.stop(ExitReason::Normal, PROMPTLY).unwrap();
                // Between two holders: nobody to call or cast to.
                assert_eq!(handle.pid(), None);
                assert_eq!(handle.call(()), Err(CallError::NoProc));
                assert_eq!(handle.cast(End::Stop), Err(NotRegistered(name.to_string())));
            }
        }
    });
}

#[test]
fn a_handle_by_pid_stays_with_its_process() {
    run(|mut mb: Mailbox<Event>| {
        let name = Name::local("server");
        let old = Named::new(&name, 1, &mb.pid()).start().unwrap();
        started_holding_its_name(&mut mb);
        old.stop(ExitReason::Normal, PROMPTLY).unwrap();
        let new = Named::new(&name, 2, &mb.pid()).start().unwrap();
        started_holding_its_name(&mut mb);
        assert_eq!(old.call(()), Err(CallError::NoProc));
        assert_eq!(new.call(()), Ok(2));
        assert!(old.name().is_none());
    });
}

// ===== freed by a failed start =====

/// How [`Failing`]'s `init` fails.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Ignore,
    Stop,
    Panic,
}

/// Fails to start as told. Its state, when the failed process lets it go, blocks on a gate: so
/// the process is still there, exiting, when `start` has returned.
struct Failing {
    how: Failure,
    gate: Server<Gate>,
}

impl Drop for Failing {
    fn drop(&mut self) {
        let _ = self.gate.call_timeout((), Timeout::Infinity);
    }
}

impl GenServer for Failing {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        match self.how {
            Failure::Ignore => InitResult::Ignore,
            Failure::Stop => InitResult::Stop(ExitReason::custom("refused")),
            Failure::Panic => panic!("init failed"),
        }
    }
}

/// OTP's `gen_server` lets the name go before it tells the starter that `init` failed, so that
/// a starter (a supervisor) trying again at once does not find it taken.
#[test]
fn a_failed_start_frees_the_name_before_start_returns() {
    run(|mut mb: Mailbox<Event>| {
        let me = mb.pid();
        let gate =
            gen_server::start_link(Gate::new(move |caller| me.send(Event::Held(caller)))).unwrap();
        let registry = Registry::default();
        for name in names(&registry) {
            for how in [Failure::Ignore, Failure::Stop, Failure::Panic] {
                let failed = StartOptions::new().name(name.clone()).start(Failing {
                    how,
                    gate: gate.clone(),
                });
                assert!(failed.is_err(), "{how:?}");
                let Event::Held(failing) = recv(&mut mb) else {
                    panic!("expected Held")
                };
                assert!(process::alive(&failing), "still exiting");
                let again = Named::new(&name, 1, &mb.pid()).start();
                assert!(again.is_ok(), "{name} after {how:?}: {again:?}");
                started_holding_its_name(&mut mb);
                gate.cast(()).unwrap();
                exit_reason(&mut mb, &failing);
                again.unwrap().stop(ExitReason::Normal, PROMPTLY).unwrap();
            }
        }
    });
}
