//! A supervisor's life apart from restarts: starting its children in order (and failing to),
//! stopping them in reverse order (shutdown timeouts, `brutal_kill`, `infinity`), the child
//! API (`which_children`, `count_children`, `start_child`, `terminate_child`, `restart_child`,
//! `delete_child`), nested trees, and named children across restarts.

mod common;
mod supervisor_support;

use std::time::{Duration, Instant};

use common::*;
use otp::{
    gen_server::{CallError, CallResult, From, GenServer, Server, StartError, StartOptions},
    process,
    supervisor::{
        self, ChildCounts, ChildError, ChildSpec, ChildType, FailedToStartChild, Options, Restart,
        Shutdown, Strategy, Supervisor,
    },
    ExitReason, Mailbox, Timeout,
};
use supervisor_support::*;

fn counts(specs: usize, active: usize, supervisors: usize, workers: usize) -> ChildCounts {
    ChildCounts {
        specs,
        active,
        supervisors,
        workers,
    }
}

// ===== startup =====

#[test]
fn children_start_in_order() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![worker("a", &log), worker("b", &log), worker("c", &log)];
        let sup = supervisor::start_link(specs, Options::default()).unwrap();
        expect_reports(&mut mb, &[started("a"), started("b"), started("c")]);
        assert_eq!(ids(&sup), ["a", "b", "c"]);
        let sup_pid = sup.pid().unwrap();
        for (id, pid) in children(&sup) {
            let links = process::info(pid.unwrap()).unwrap().links;
            assert_eq!(
                links,
                std::slice::from_ref(&sup_pid),
                "{id} is linked to the supervisor"
            );
        }
        assert!(process::info(&sup_pid).unwrap().trap_exit);
    });
}

#[test]
fn a_child_that_fails_to_start_stops_the_others_and_fails_the_supervisor() {
    run(|mut mb: Mailbox<Report>| {
        process::trap_exit(true);
        let log = mb.pid();
        let specs = vec![
            worker("a", &log),
            worker("b", &log),
            worker_with("c", &log, Init::Fail),
            worker("d", &log),
        ];
        let err = supervisor::start_link(specs, Options::default()).unwrap_err();
        let reason = ExitReason::shutdown_with(FailedToStartChild {
            id: "c".to_owned(),
            error: StartError::Stopped(ExitReason::custom("nope")),
        });
        assert_eq!(err, StartError::Stopped(reason.clone()));
        let StartError::Stopped(ExitReason::ShutdownWith(detail)) = &err else {
            unreachable!()
        };
        let failed = detail.downcast_ref::<FailedToStartChild>().unwrap();
        assert_eq!(failed.id, "c");
        // The ones already started were stopped, last first; d never started.
        expect_reports(&mut mb, &[started("a"), started("b"), shut("b"), shut("a")]);
        // The supervisor exited with that reason (its linked, trapping starter sees it).
        match mb.select(PROMPTLY, |_| true) {
            Some(otp::Message::Exit { reason: r, .. }) => assert_eq!(r, reason),
            other => panic!("expected the supervisor's EXIT, got {other:?}"),
        }
        expect_no_reports(&mut mb);
    });
}

#[test]
fn a_start_function_that_fails_without_a_process_fails_the_supervisor() {
    run(|mut mb: Mailbox<Report>| {
        process::trap_exit(true);
        let log = mb.pid();
        let broken = ChildSpec::new("broken", || -> Result<otp::AnyPid, StartError> {
            Err(StartError::Stopped(ExitReason::custom("no_luck")))
        });
        let err = supervisor::start_link(vec![worker("a", &log), broken], Options::default())
            .unwrap_err();
        assert_eq!(
            err,
            StartError::Stopped(ExitReason::shutdown_with(FailedToStartChild {
                id: "broken".to_owned(),
                error: StartError::Stopped(ExitReason::custom("no_luck")),
            }))
        );
        expect_reports(&mut mb, &[started("a"), shut("a")]);
    });
}

#[test]
fn a_child_that_ignores_its_start_is_kept_without_a_process() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![
            worker("a", &log),
            worker_with("quiet", &log, Init::Ignore),
            worker("c", &log),
        ];
        let sup = supervisor::start_link(specs, Options::default()).unwrap();
        expect_reports(&mut mb, &[started("a"), started("c")]);
        let kids = children(&sup);
        assert_eq!(ids(&sup), ["a", "quiet", "c"]);
        assert!(kids[0].1.is_some() && kids[1].1.is_none() && kids[2].1.is_some());
        assert_eq!(sup.count_children().unwrap(), counts(3, 2, 0, 3));
        // Restarting it ignores again.
        assert_eq!(sup.restart_child("quiet"), Ok(None));
        assert_eq!(children(&sup)[1].1, None);
    });
}

#[test]
fn a_temporary_child_that_ignores_its_start_is_not_kept() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let quiet = || worker_with("quiet", &log, Init::Ignore).restart(Restart::Temporary);
        let sup =
            supervisor::start_link(vec![worker("a", &log), quiet()], Options::default()).unwrap();
        expect_reports(&mut mb, &[started("a")]);
        assert_eq!(ids(&sup), ["a"]);
        assert_eq!(sup.start_child(quiet()), Ok(None));
        assert_eq!(ids(&sup), ["a"]);
    });
}

// ===== shutdown =====

#[test]
fn stop_stops_the_children_in_reverse_order() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![worker("a", &log), worker("b", &log), worker("c", &log)];
        let sup = supervisor::start_link(specs, Options::default()).unwrap();
        expect_reports(&mut mb, &[started("a"), started("b"), started("c")]);
        let pids: Vec<_> = children(&sup)
            .into_iter()
            .map(|(_, p)| p.unwrap())
            .collect();
        sup.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
        expect_reports(&mut mb, &[shut("c"), shut("b"), shut("a")]);
        assert!(pids.iter().all(|p| !process::alive(p)));
        assert_eq!(sup.which_children(), Err(CallError::NoProc));
        assert_eq!(
            sup.terminate_child("a"),
            Err(ChildError::Call(CallError::NoProc))
        );
    });
}

#[test]
fn a_stopping_parent_supervisor_stops_the_child_supervisor_s_children_in_reverse() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let inner = supervisor::child_spec(
            "inner",
            vec![worker("i1", &log), worker("i2", &log), worker("i3", &log)],
            Options::new(Strategy::OneForAll),
        );
        let top = supervisor::start_link(
            vec![worker("first", &log), inner, worker("last", &log)],
            Options::default(),
        )
        .unwrap();
        expect_reports(
            &mut mb,
            &[
                started("first"),
                started("i1"),
                started("i2"),
                started("i3"),
                started("last"),
            ],
        );
        let inner = pid_of(&top, "inner");
        let inner_monitor = process::monitor(&inner);
        top.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
        expect_reports(
            &mut mb,
            &[
                shut("last"),
                shut("i3"),
                shut("i2"),
                shut("i1"),
                shut("first"),
            ],
        );
        assert_eq!(await_down(&mut mb, inner_monitor), ExitReason::Shutdown);
    });
}

#[test]
fn a_parent_s_exit_stops_the_supervisor_with_the_parent_s_reason() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let parent = otp::spawn(move |mut pmb: Mailbox<()>| {
            let specs = vec![worker("a", &log), worker("b", &log)];
            supervisor::start_link(specs, Options::default().name("sup")).unwrap();
            pmb.receive();
            otp::exit(ExitReason::custom("parent_gone"));
        });
        expect_reports(&mut mb, &[started("a"), started("b")]);
        let sup = Supervisor::named("sup").pid().unwrap();
        let monitor = process::monitor(&sup);
        parent.send(());
        expect_reports(&mut mb, &[shut("b"), shut("a")]);
        assert_eq!(
            await_down(&mut mb, monitor),
            ExitReason::custom("parent_gone")
        );
    });
}

/// A child that traps exits and ignores them (its shutdown never ends it); reports `Started`
/// once it traps.
fn stubborn(id: &'static str, log: &otp::Pid<Report>, shutdown: Shutdown) -> ChildSpec {
    let log = log.clone();
    ChildSpec::new(id, move || {
        let log = log.clone();
        Ok(otp::spawn_link(move |mut mb: Mailbox<()>| {
            process::trap_exit(true);
            log.send(started(id));
            loop {
                let _ = mb.receive_message();
            }
        }))
    })
    .shutdown(shutdown)
}

/// The `Started` reports of `ids`, in any order: a spawned child runs after its start function
/// has returned, so it may report after the children started after it.
#[track_caller]
fn expect_started(mb: &mut Mailbox<Report>, ids: &[&'static str]) {
    let mut got: Vec<Report> = ids.iter().map(|_| recv(mb)).collect();
    let mut expected: Vec<Report> = ids.iter().map(|&id| started(id)).collect();
    got.sort_by_key(|r| r.0);
    expected.sort_by_key(|r| r.0);
    assert_eq!(got, expected);
}

#[test]
fn a_child_that_ignores_its_shutdown_is_killed_after_the_timeout() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let timeout = Shutdown::Timeout(Duration::from_millis(20));
        let specs = vec![
            stubborn("s1", &log, timeout),
            worker("w", &log),
            stubborn("s2", &log, timeout),
        ];
        let sup = supervisor::start_link(specs, Options::default()).unwrap();
        expect_started(&mut mb, &["s1", "w", "s2"]);

        // terminate_child kills it once the timeout is over.
        let s2 = pid_of(&sup, "s2");
        let s2_monitor = process::monitor(&s2);
        sup.terminate_child("s2").unwrap();
        assert_eq!(await_down(&mut mb, s2_monitor), ExitReason::Killed);

        // So does the supervisor's own stop; the others still stop in reverse order.
        let s1 = pid_of(&sup, "s1");
        let s1_monitor = process::monitor(&s1);
        sup.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
        expect_reports(&mut mb, &[shut("w")]);
        assert_eq!(await_down(&mut mb, s1_monitor), ExitReason::Killed);
    });
}

#[test]
fn brutal_kill_kills_at_once_without_terminate() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![
            worker("w", &log).shutdown(Shutdown::BrutalKill),
            stubborn("s", &log, Shutdown::BrutalKill),
        ];
        let sup = supervisor::start_link(specs, Options::default()).unwrap();
        expect_started(&mut mb, &["w", "s"]);
        for id in ["w", "s"] {
            let pid = pid_of(&sup, id);
            let monitor = process::monitor(&pid);
            sup.terminate_child(id).unwrap();
            assert_eq!(await_down(&mut mb, monitor), ExitReason::Killed, "{id}");
        }
        // The trapping worker's terminate never ran.
        expect_no_reports(&mut mb);
    });
}

#[test]
fn shutdown_infinity_waits_for_a_child_that_takes_its_time() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        // On `shutdown`, says so, waits to be released, then exits with `shutdown`.
        let slow = {
            let log = log.clone();
            ChildSpec::new("slow", move || {
                let log = log.clone();
                Ok(otp::spawn_link(move |mut mb: Mailbox<()>| {
                    process::trap_exit(true);
                    log.send(started("slow"));
                    let _exit = mb.receive_message();
                    log.send(("slow", Event::Note("stopping")));
                    mb.receive();
                    otp::exit(ExitReason::Shutdown);
                }))
            })
            .shutdown(Shutdown::Infinity)
        };
        supervisor::start_link(vec![slow], Options::default().name("sup")).unwrap();
        expect_reports(&mut mb, &[started("slow")]);
        let sup = Supervisor::named("sup");
        let child = pid_of(&sup, "slow");
        let monitor = process::monitor(&child);

        otp::spawn(move || {
            Supervisor::named("sup").terminate_child("slow").unwrap();
            log.send(("terminate_child", Event::Note("returned")));
        });
        expect_reports(&mut mb, &[("slow", Event::Note("stopping"))]);
        assert!(process::alive(&child), "not killed");
        expect_no_reports(&mut mb); // terminate_child has not returned
        child.downcast::<()>().unwrap().send(());
        expect_reports(&mut mb, &[("terminate_child", Event::Note("returned"))]);
        assert_eq!(await_down(&mut mb, monitor), ExitReason::Shutdown);
    });
}

// ===== the child API =====

#[test]
fn start_child_appends_and_refuses_an_id_in_use() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let sup = supervisor::start_link(vec![worker("a", &log)], Options::default()).unwrap();
        expect_reports(&mut mb, &[started("a")]);

        let b = sup.start_child(worker("b", &log)).unwrap().unwrap();
        expect_reports(&mut mb, &[started("b")]);
        assert_eq!(ids(&sup), ["a", "b"]);
        assert_eq!(pid_of(&sup, "b"), b);
        assert!(process::info(&b)
            .unwrap()
            .links
            .contains(&sup.pid().unwrap()));

        assert_eq!(
            sup.start_child(worker("b", &log)),
            Err(ChildError::AlreadyStarted(b))
        );
        sup.terminate_child("b").unwrap();
        expect_reports(&mut mb, &[shut("b")]);
        assert_eq!(
            sup.start_child(worker("b", &log)),
            Err(ChildError::AlreadyPresent)
        );

        // A failed start keeps nothing.
        assert_eq!(
            sup.start_child(worker_with("c", &log, Init::Fail)),
            Err(ChildError::Start(StartError::Stopped(ExitReason::custom(
                "nope"
            ))))
        );
        assert_eq!(ids(&sup), ["a", "b"]);
        assert_eq!(sup.count_children().unwrap(), counts(2, 1, 0, 2));
        // An ignored start keeps the spec.
        assert_eq!(
            sup.start_child(worker_with("d", &log, Init::Ignore)),
            Ok(None)
        );
        assert_eq!(children(&sup)[2], ("d".to_owned(), None));
        expect_no_reports(&mut mb);
    });
}

#[test]
fn terminate_restart_and_delete_child() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![worker("a", &log), worker("b", &log), worker("c", &log)];
        let sup = supervisor::start_link(specs, Options::new(Strategy::OneForAll)).unwrap();
        expect_reports(&mut mb, &[started("a"), started("b"), started("c")]);
        let a = pid_of(&sup, "a");
        let old_b = pid_of(&sup, "b");

        // terminate_child stops only that child (whatever the strategy) and keeps its spec.
        sup.terminate_child("b").unwrap();
        expect_reports(&mut mb, &[shut("b")]);
        assert!(!process::alive(&old_b));
        assert_eq!(children(&sup)[1], ("b".to_owned(), None));
        assert_eq!(sup.count_children().unwrap(), counts(3, 2, 0, 3));
        assert_eq!(pid_of(&sup, "a"), a);
        // Terminating a stopped child is fine.
        assert_eq!(sup.terminate_child("b"), Ok(()));

        // restart_child starts it again, in its place.
        let new_b = sup.restart_child("b").unwrap().unwrap();
        expect_reports(&mut mb, &[started("b")]);
        assert_ne!(new_b, old_b);
        assert_eq!(children(&sup)[1], ("b".to_owned(), Some(new_b)));
        assert_eq!(sup.restart_child("b"), Err(ChildError::Running));
        assert_eq!(sup.delete_child("b"), Err(ChildError::Running));

        // delete_child forgets a stopped child.
        sup.terminate_child("b").unwrap();
        expect_reports(&mut mb, &[shut("b")]);
        assert_eq!(sup.delete_child("b"), Ok(()));
        assert_eq!(ids(&sup), ["a", "c"]);
        assert_eq!(sup.count_children().unwrap(), counts(2, 2, 0, 2));

        for missing in ["b", "nobody"] {
            assert_eq!(sup.terminate_child(missing), Err(ChildError::NotFound));
            assert_eq!(sup.restart_child(missing), Err(ChildError::NotFound));
            assert_eq!(sup.delete_child(missing), Err(ChildError::NotFound));
        }
        // The id is free again.
        sup.start_child(worker("b", &log)).unwrap();
        expect_reports(&mut mb, &[started("b")]);
        assert_eq!(ids(&sup), ["a", "c", "b"]);
        expect_no_reports(&mut mb);
    });
}

#[test]
fn terminate_child_forgets_a_temporary_child() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![worker("t", &log).restart(Restart::Temporary)];
        let sup = supervisor::start_link(specs, Options::default()).unwrap();
        expect_reports(&mut mb, &[started("t")]);
        sup.terminate_child("t").unwrap();
        expect_reports(&mut mb, &[shut("t")]);
        assert!(ids(&sup).is_empty());
        assert_eq!(sup.restart_child("t"), Err(ChildError::NotFound));
    });
}

#[test]
fn a_nested_tree_reports_its_kinds_and_restarts_as_a_unit() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let inner = supervisor::child_spec(
            "inner",
            vec![worker("i1", &log), worker("i2", &log)],
            Options::default().name("inner"),
        );
        let top =
            supervisor::start_link(vec![worker("w", &log), inner], Options::default()).unwrap();
        expect_reports(&mut mb, &[started("w"), started("i1"), started("i2")]);

        assert_eq!(top.count_children().unwrap(), counts(2, 2, 1, 1));
        let kinds: Vec<_> = top
            .which_children()
            .unwrap()
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(kinds, [ChildType::Worker, ChildType::Supervisor]);
        let inner = Supervisor::named("inner");
        assert_eq!(ids(&inner), ["i1", "i2"]);
        assert_eq!(inner.count_children().unwrap(), counts(2, 2, 0, 2));
        let inner_pid = pid_of(&top, "inner");
        assert_eq!(inner.pid(), Some(inner_pid.clone()));
        assert!(process::info(&inner_pid)
            .unwrap()
            .links
            .contains(&top.pid().unwrap()));

        top.terminate_child("inner").unwrap();
        expect_reports(&mut mb, &[shut("i2"), shut("i1")]);
        assert_eq!(inner.pid(), None, "its name went with it");
        top.restart_child("inner").unwrap().unwrap();
        expect_reports(&mut mb, &[started("i1"), started("i2")]);
        assert_eq!(ids(&inner), ["i1", "i2"]);
    });
}

// ===== names =====

/// Counts the calls this incarnation has answered.
struct Counter(u64);

impl GenServer for Counter {
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, (): (), _: From<u64>) -> CallResult<u64> {
        self.0 += 1;
        CallResult::reply(self.0)
    }
}

fn counter_spec() -> ChildSpec {
    ChildSpec::new("counter", || {
        StartOptions::new().name("counter").start_link(Counter(0))
    })
}

#[test]
fn a_restarted_named_child_answers_under_its_name_right_after_the_restart() {
    run(|mut mb: Mailbox<Report>| {
        let sup =
            supervisor::start_link(vec![counter_spec()], Options::default().max_restarts(1000))
                .unwrap();
        let counter = Server::<Counter>::named("counter");
        for round in 0..20 {
            assert_eq!(
                counter.call(()),
                Ok(1),
                "round {round}: a fresh incarnation"
            );
            assert_eq!(counter.call(()), Ok(2));
            let old = counter.pid().unwrap();
            let reason = if round % 2 == 0 {
                ExitReason::Kill
            } else {
                ExitReason::custom("boom")
            };
            crash(&mut mb, &old, reason);
            // The supervisor has handled the EXIT by now (see supervisor_support).
            let new = pid_of(&sup, "counter");
            assert_ne!(new, old);
            assert_eq!(counter.pid(), Some(new));
        }
    });
}

/// Calls by name, starting the moment the old incarnation is killed: each either fails with a
/// typed error or reaches the new one. Never a hang, never an answer from the old one.
fn call_through_the_restart_window() {
    run(move |_mb: Mailbox<Report>| {
        supervisor::start_link(vec![counter_spec()], Options::default().max_restarts(1000))
            .unwrap();
        let counter = Server::<Counter>::named("counter");
        assert_eq!(counter.call(()), Ok(1));
        for round in 0..200 {
            // The incarnation that answered last round's first call is still there.
            assert_eq!(counter.call(()), Ok(2), "round {round}");
            let old = counter.pid().unwrap();
            process::exit(&old, ExitReason::Kill);
            let deadline = Instant::now() + PROMPTLY;
            loop {
                match counter.call_timeout((), PROMPTLY) {
                    Ok(n) => {
                        assert_eq!(n, 1, "round {round}: the first answer is the new one's");
                        break;
                    }
                    Err(CallError::NoProc) => {}
                    Err(CallError::Exit(ExitReason::Killed)) => {}
                    Err(e) => panic!("round {round}: {e:?}"),
                }
                assert!(Instant::now() < deadline, "round {round}: never restarted");
                otp::yield_now();
            }
            assert_ne!(counter.pid(), Some(old));
        }
    });
}

/// No hang, no lost call, and the first answer is the new incarnation's. A call that reaches
/// the old one's mailbox behind the kill fails with the old one's reason, `killed` (the BEAM,
/// whose call sets up a monitor after the kill, says `noproc` there; see `CallError::Exit`).
#[test]
fn a_call_by_name_during_a_restart_never_hangs_and_never_reaches_the_old_child() {
    call_through_the_restart_window();
}
