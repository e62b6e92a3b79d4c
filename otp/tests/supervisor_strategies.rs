//! Supervisor strategies, restart types, restart intensity and escalation (spec 3.13): which
//! children a crash stops and restarts, in which order, and when the supervisor gives up.
//!
//! Every worker reports `(id, Started)` from `init` and `(id, Terminated(reason))` from
//! `terminate` to the test's root, so each test asserts the exact sequence of what the
//! supervisor did (see `supervisor_support`).

mod common;
mod supervisor_support;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

use common::*;
use otp::{
    gen_server, process,
    supervisor::{self, ChildCounts, ChildSpec, Options, Restart, Strategy, Supervisor},
    ExitReason, Mailbox, Message,
};
use supervisor_support::*;

/// Starts `specs` under a supervisor with `options`, then takes the `Started` reports.
fn start(
    mb: &mut Mailbox<Report>,
    specs: Vec<ChildSpec>,
    options: Options,
    ids: &[&'static str],
) -> Supervisor {
    let sup = supervisor::start_link(specs, options).expect("the supervisor starts");
    let expected: Vec<Report> = ids.iter().map(|&id| started(id)).collect();
    expect_reports(mb, &expected);
    sup
}

fn lenient(strategy: Strategy) -> Options {
    Options::new(strategy).max_restarts(100)
}

// ===== strategies =====

#[test]
fn one_for_one_restarts_only_the_crashed_child() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![worker("a", &log), worker("b", &log), worker("c", &log)];
        let sup = start(
            &mut mb,
            specs,
            lenient(Strategy::OneForOne),
            &["a", "b", "c"],
        );
        let before = children(&sup);

        assert_eq!(crash(&mut mb, &pid_of(&sup, "b"), boom()), boom());
        expect_reports(&mut mb, &[terminated("b", boom()), started("b")]);

        let after = children(&sup);
        expect_no_reports(&mut mb);
        assert_eq!(after[0], before[0], "a untouched");
        assert_ne!(after[1].1, before[1].1, "b is a new process");
        assert_eq!(after[2], before[2], "c untouched");
    });
}

#[test]
fn one_for_all_stops_the_others_in_reverse_then_starts_all_in_order() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![
            worker("a", &log),
            worker("b", &log),
            worker("c", &log),
            worker("d", &log),
        ];
        let sup = start(
            &mut mb,
            specs,
            lenient(Strategy::OneForAll),
            &["a", "b", "c", "d"],
        );
        let before = children(&sup);

        crash(&mut mb, &pid_of(&sup, "b"), boom());
        expect_reports(
            &mut mb,
            &[
                terminated("b", boom()),
                shut("d"),
                shut("c"),
                shut("a"),
                started("a"),
                started("b"),
                started("c"),
                started("d"),
            ],
        );
        let after = children(&sup);
        expect_no_reports(&mut mb);
        for (old, new) in before.iter().zip(&after) {
            assert_eq!(old.0, new.0, "same order");
            assert_ne!(old.1, new.1, "{} is a new process", old.0);
            assert!(
                !process::alive(old.1.as_ref().unwrap()),
                "{} is dead",
                old.0
            );
        }
    });
}

#[test]
fn rest_for_one_restarts_the_crashed_child_and_the_later_ones() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![
            worker("a", &log),
            worker("b", &log),
            worker("c", &log),
            worker("d", &log),
        ];
        let sup = start(
            &mut mb,
            specs,
            lenient(Strategy::RestForOne),
            &["a", "b", "c", "d"],
        );
        let before = children(&sup);

        crash(&mut mb, &pid_of(&sup, "b"), boom());
        expect_reports(
            &mut mb,
            &[
                terminated("b", boom()),
                shut("d"),
                shut("c"),
                started("b"),
                started("c"),
                started("d"),
            ],
        );
        let after = children(&sup);
        expect_no_reports(&mut mb);
        assert_eq!(after[0], before[0], "a, before b, untouched");
        for i in 1..4 {
            assert_ne!(after[i].1, before[i].1, "{} is a new process", before[i].0);
        }

        // The last child crashing takes nobody with it.
        crash(&mut mb, &pid_of(&sup, "d"), boom());
        expect_reports(&mut mb, &[terminated("d", boom()), started("d")]);
        let last = children(&sup);
        expect_no_reports(&mut mb);
        assert_eq!(last[..3], after[..3]);
    });
}

#[test]
fn a_panic_is_a_crash_like_any_other() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let sup = start(
            &mut mb,
            vec![worker("a", &log), worker("b", &log)],
            lenient(Strategy::OneForAll),
            &["a", "b"],
        );
        let reason = crash(&mut mb, &pid_of(&sup, "a"), panic_reason());
        let ExitReason::Panic(p) = &reason else {
            panic!("expected a panic, got {reason}")
        };
        assert!(p.message().contains("panicked on purpose"), "{p}");
        expect_reports(
            &mut mb,
            &[
                terminated("a", reason.clone()),
                shut("b"),
                started("a"),
                started("b"),
            ],
        );
    });
}

#[test]
fn a_group_restart_starts_stopped_children_too_and_forgets_temporary_ones() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let specs = vec![
            worker("a", &log),
            worker("t", &log).restart(Restart::Temporary),
            worker("b", &log),
            worker("s", &log),
        ];
        let sup = start(
            &mut mb,
            specs,
            lenient(Strategy::OneForAll),
            &["a", "t", "b", "s"],
        );
        sup.terminate_child("s").unwrap();
        expect_reports(&mut mb, &[shut("s")]);

        crash(&mut mb, &pid_of(&sup, "a"), boom());
        expect_reports(
            &mut mb,
            &[
                terminated("a", boom()),
                shut("b"),
                shut("t"),
                started("a"),
                started("b"),
                // Stopped with terminate_child, but part of the group: OTP starts it again.
                started("s"),
            ],
        );
        let after = children(&sup);
        expect_no_reports(&mut mb);
        let ids: Vec<&str> = after.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "s"], "the temporary child is gone");
        assert!(
            after.iter().all(|(_, pid)| pid.is_some()),
            "all of them run"
        );
    });
}

// ===== restart types =====

#[test]
fn permanent_is_restarted_after_normal_shutdown_and_crash() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let sup = start(
            &mut mb,
            vec![worker("p", &log)],
            lenient(Strategy::OneForOne),
            &["p"],
        );
        for reason in [
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::shutdown_with("detail"),
            boom(),
        ] {
            let old = pid_of(&sup, "p");
            assert_eq!(crash(&mut mb, &old, reason.clone()), reason);
            expect_reports(&mut mb, &[terminated("p", reason.clone()), started("p")]);
            assert_ne!(pid_of(&sup, "p"), old, "restarted after {reason}");
        }
        let old = pid_of(&sup, "p");
        assert_eq!(crash(&mut mb, &old, ExitReason::Kill), ExitReason::Killed);
        expect_reports(&mut mb, &[started("p")]);
        assert_ne!(pid_of(&sup, "p"), old, "restarted after a kill");
    });
}

#[test]
fn transient_is_restarted_only_after_an_abnormal_exit() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let sup = start(
            &mut mb,
            vec![worker("t", &log).restart(Restart::Transient)],
            lenient(Strategy::OneForOne),
            &["t"],
        );
        // Abnormal: restarted.
        for reason in [boom(), ExitReason::Kill] {
            let old = pid_of(&sup, "t");
            crash(&mut mb, &old, reason.clone());
            if reason != ExitReason::Kill {
                expect_reports(&mut mb, &[terminated("t", reason.clone())]);
            }
            expect_reports(&mut mb, &[started("t")]);
            assert_ne!(pid_of(&sup, "t"), old, "restarted after {reason}");
        }
        // Normal or a shutdown: not restarted; the spec stays.
        for reason in [
            ExitReason::Normal,
            ExitReason::Shutdown,
            ExitReason::shutdown_with("detail"),
        ] {
            crash(&mut mb, &pid_of(&sup, "t"), reason.clone());
            expect_reports(&mut mb, &[terminated("t", reason.clone())]);
            assert_eq!(children(&sup), [("t".to_owned(), None)], "after {reason}");
            expect_no_reports(&mut mb);
            assert_eq!(
                sup.count_children().unwrap(),
                ChildCounts {
                    specs: 1,
                    active: 0,
                    supervisors: 0,
                    workers: 1
                }
            );
            assert!(sup.restart_child("t").unwrap().is_some());
            expect_reports(&mut mb, &[started("t")]);
        }
    });
}

#[test]
fn temporary_is_never_restarted_and_its_spec_goes() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let temporary = |id| worker(id, &log).restart(Restart::Temporary);
        let specs = vec![
            worker("keep", &log),
            temporary("crash"),
            temporary("normal"),
            temporary("kill"),
        ];
        let sup = start(
            &mut mb,
            specs,
            lenient(Strategy::OneForOne),
            &["keep", "crash", "normal", "kill"],
        );
        crash(&mut mb, &pid_of(&sup, "crash"), boom());
        expect_reports(&mut mb, &[terminated("crash", boom())]);
        assert_eq!(ids(&sup), ["keep", "normal", "kill"]);

        crash(&mut mb, &pid_of(&sup, "normal"), ExitReason::Normal);
        expect_reports(&mut mb, &[terminated("normal", ExitReason::Normal)]);
        assert_eq!(ids(&sup), ["keep", "kill"]);

        crash(&mut mb, &pid_of(&sup, "kill"), ExitReason::Kill);
        assert_eq!(ids(&sup), ["keep"]);
        assert_eq!(
            sup.count_children().unwrap(),
            ChildCounts {
                specs: 1,
                active: 1,
                supervisors: 0,
                workers: 1
            }
        );
        expect_no_reports(&mut mb);
    });
}

// ===== intensity =====

/// Crashes `id` `times` times, each time waiting for the restart.
fn crash_and_restart(mb: &mut Mailbox<Report>, sup: &Supervisor, id: &'static str, times: usize) {
    for _ in 0..times {
        crash(mb, &pid_of(sup, id), boom());
        expect_reports(mb, &[terminated(id, boom()), started(id)]);
    }
}

/// The supervisor has given up: the next messages are `expected` (the remaining children
/// stopping), then its `EXIT` with `shutdown` (the caller is its trapping parent), then a
/// monitor's `DOWN` with `shutdown`.
#[track_caller]
fn expect_shutdown(
    mb: &mut Mailbox<Report>,
    expected: &[Report],
    sup: &otp::AnyPid,
    monitor: otp::Ref,
) {
    let mut reports = vec![];
    let reason = loop {
        match mb.select(PROMPTLY, |_| true) {
            Some(Message::User(r)) => reports.push(r),
            Some(Message::Exit { from, reason }) if &from == sup => break reason,
            other => panic!("expected a report or the supervisor's EXIT, got {other:?}"),
        }
    };
    assert_eq!(reports, expected, "the reports before the EXIT");
    assert_eq!(reason, ExitReason::Shutdown, "the EXIT's reason");
    assert_eq!(await_down(mb, monitor), ExitReason::Shutdown, "the DOWN's");
    assert!(!process::alive(sup));
    expect_no_reports(mb);
}

#[test]
fn max_restarts_2_allows_two_restarts_and_the_third_crash_shuts_it_down() {
    run(|mut mb: Mailbox<Report>| {
        process::trap_exit(true);
        let log = mb.pid();
        let specs = vec![worker("a", &log), worker("b", &log), worker("c", &log)];
        let options = Options::new(Strategy::OneForOne).max_restarts(2);
        let sup = start(&mut mb, specs, options, &["a", "b", "c"]);
        let sup_pid = sup.pid().unwrap();
        let monitor = process::monitor(&sup_pid);
        crash_and_restart(&mut mb, &sup, "b", 2);

        crash(&mut mb, &pid_of(&sup, "b"), boom());
        // No restart: the remaining children stopped in reverse order, then the exit.
        expect_shutdown(
            &mut mb,
            &[terminated("b", boom()), shut("c"), shut("a")],
            &sup_pid,
            monitor,
        );
    });
}

#[test]
fn the_default_intensity_is_3_restarts_in_5_seconds() {
    run(|mut mb: Mailbox<Report>| {
        process::trap_exit(true);
        let log = mb.pid();
        let sup = start(
            &mut mb,
            vec![worker("a", &log), worker("b", &log)],
            Options::new(Strategy::OneForOne),
            &["a", "b"],
        );
        let sup_pid = sup.pid().unwrap();
        let monitor = process::monitor(&sup_pid);
        crash_and_restart(&mut mb, &sup, "a", 3);
        crash(&mut mb, &pid_of(&sup, "a"), boom());
        expect_shutdown(
            &mut mb,
            &[terminated("a", boom()), shut("b")],
            &sup_pid,
            monitor,
        );
    });
}

/// A restart of several children is one restart: OTP counts restarts, not children started.
#[test]
fn a_group_restart_counts_once_against_the_intensity() {
    for strategy in [Strategy::OneForAll, Strategy::RestForOne] {
        run(move |mut mb: Mailbox<Report>| {
            process::trap_exit(true);
            let log = mb.pid();
            let specs = vec![worker("a", &log), worker("b", &log), worker("c", &log)];
            let options = Options::new(strategy).max_restarts(2);
            let sup = start(&mut mb, specs, options, &["a", "b", "c"]);
            let sup_pid = sup.pid().unwrap();
            let monitor = process::monitor(&sup_pid);
            for _ in 0..2 {
                crash(&mut mb, &pid_of(&sup, "a"), boom());
                expect_reports(
                    &mut mb,
                    &[
                        terminated("a", boom()),
                        shut("c"),
                        shut("b"),
                        started("a"),
                        started("b"),
                        started("c"),
                    ],
                );
            }
            assert_eq!(sup.count_children().unwrap().active, 3, "{strategy:?}");
            crash(&mut mb, &pid_of(&sup, "a"), boom());
            expect_shutdown(
                &mut mb,
                &[terminated("a", boom()), shut("c"), shut("b")],
                &sup_pid,
                monitor,
            );
        });
    }
}

#[test]
fn a_non_trapping_parent_dies_with_the_supervisors_shutdown() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let parent = otp::spawn(move |mut pmb: Mailbox<()>| {
            let options = Options::new(Strategy::OneForOne)
                .max_restarts(0)
                .name("sup");
            supervisor::start_link(vec![worker("w", &log)], options).unwrap();
            pmb.receive();
        });
        let monitor = process::monitor(&parent);
        expect_reports(&mut mb, &[started("w")]);
        let w = pid_of(&Supervisor::named("sup"), "w");
        crash(&mut mb, &w, boom());
        expect_reports(&mut mb, &[terminated("w", boom())]);
        assert_eq!(await_down(&mut mb, monitor), ExitReason::Shutdown);
    });
}

/// A restart whose start fails is retried at once, each retry counting as a restart; when the
/// intensity runs out the supervisor gives up (OTP's `try_again_restart`).
#[test]
fn a_failing_restart_is_retried_until_the_intensity_runs_out() {
    run(|mut mb: Mailbox<Report>| {
        process::trap_exit(true);
        let log = mb.pid();
        let starts = Arc::new(AtomicUsize::new(0));
        // Starts the first time only.
        let flaky = {
            let (log, starts) = (log.clone(), starts.clone());
            ChildSpec::new("flaky", move || {
                let init = if starts.fetch_add(1, SeqCst) == 0 {
                    Init::Ok
                } else {
                    Init::Fail
                };
                gen_server::start_link(Worker::with_init("flaky", Some(log.clone()), init))
            })
        };
        let options = Options::new(Strategy::OneForOne).max_restarts(3);
        let sup = start(
            &mut mb,
            vec![worker("a", &log), flaky],
            options,
            &["a", "flaky"],
        );
        let sup_pid = sup.pid().unwrap();
        let monitor = process::monitor(&sup_pid);
        crash(&mut mb, &pid_of(&sup, "flaky"), boom());
        expect_shutdown(
            &mut mb,
            &[terminated("flaky", boom()), shut("a")],
            &sup_pid,
            monitor,
        );
        // The first start, then one attempt per allowed restart.
        assert_eq!(starts.load(SeqCst), 1 + 3);
    });
}

/// The one place these suites sleep: to let a restart-intensity period expire.
#[test]
fn crashes_spread_beyond_the_period_do_not_shut_it_down() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let options = Options::new(Strategy::OneForOne)
            .max_restarts(1)
            .max_seconds(Duration::from_millis(20));
        let sup = start(&mut mb, vec![worker("w", &log)], options, &["w"]);
        for _ in 0..5 {
            crash_and_restart(&mut mb, &sup, "w", 1);
            otp::sleep(Duration::from_millis(100));
        }
        assert_eq!(sup.count_children().unwrap().active, 1);
        assert!(process::alive(sup.pid().unwrap()));
    });
}

// ===== escalation =====

#[test]
fn a_child_supervisor_that_gives_up_is_restarted_by_its_parent() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let inner = supervisor::child_spec(
            "inner",
            vec![worker("w1", &log), worker("w2", &log)],
            Options::new(Strategy::OneForOne)
                .max_restarts(1)
                .name("inner"),
        );
        let top = start(
            &mut mb,
            vec![worker("first", &log), inner],
            lenient(Strategy::OneForOne),
            &["first", "w1", "w2"],
        );
        let first = pid_of(&top, "first");
        let inner_before = pid_of(&top, "inner");
        let inner = Supervisor::named("inner");
        assert_eq!(inner.pid(), Some(inner_before.clone()));

        crash(&mut mb, &pid_of(&inner, "w1"), boom());
        expect_reports(&mut mb, &[terminated("w1", boom()), started("w1")]);
        let inner_monitor = process::monitor(&inner_before);
        crash(&mut mb, &pid_of(&inner, "w1"), boom());
        // The inner supervisor gives up (stopping w2), the top one restarts it (and so w1, w2).
        expect_reports(
            &mut mb,
            &[
                terminated("w1", boom()),
                shut("w2"),
                started("w1"),
                started("w2"),
            ],
        );
        assert_eq!(await_down(&mut mb, inner_monitor), ExitReason::Shutdown);
        let inner_after = pid_of(&top, "inner");
        assert_ne!(inner_after, inner_before);
        assert_eq!(inner.pid(), Some(inner_after));
        assert_eq!(pid_of(&top, "first"), first, "the sibling is untouched");
        assert_eq!(ids(&inner), ["w1", "w2"]);
        expect_no_reports(&mut mb);
    });
}
