//! DynamicSupervisor: children started on demand, known by pid, restarted by their restart
//! type against the restart intensity, capped by `max_children`, stopped when it stops.

mod common;
mod supervisor_support;

use common::*;
use otp::{
    dynamic_supervisor::{self, DynamicSupervisor, Options},
    gen_server::{CallError, StartError},
    process,
    supervisor::{self, ChildCounts, ChildError, ChildType, Restart, Strategy},
    AnyPid, ExitReason, Mailbox, Message, Timeout,
};
use supervisor_support::*;

fn pids(sup: &DynamicSupervisor) -> Vec<AnyPid> {
    sup.which_children()
        .unwrap()
        .into_iter()
        .map(|c| {
            assert_eq!(c.id, None, "dynamic children have no id");
            c.pid.expect("only running children are listed")
        })
        .collect()
}

fn counts(n: usize) -> ChildCounts {
    ChildCounts {
        specs: n,
        active: n,
        supervisors: 0,
        workers: n,
    }
}

#[test]
fn start_child_which_children_and_count_children() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let sup = dynamic_supervisor::start_link(Options::new()).unwrap();
        assert!(pids(&sup).is_empty());
        assert_eq!(sup.count_children().unwrap(), counts(0));

        let mut started_pids = vec![];
        for id in ["a", "b", "c"] {
            let pid = sup.start_child(worker(id, &log)).unwrap().unwrap();
            expect_reports(&mut mb, &[started(id)]);
            let links = process::info(&pid).unwrap().links;
            assert_eq!(
                links,
                [sup.pid().unwrap()],
                "{id} is linked to the supervisor"
            );
            started_pids.push(pid);
        }
        // The same spec (same id) can start any number of children.
        let again = sup.start_child(worker("a", &log)).unwrap().unwrap();
        expect_reports(&mut mb, &[started("a")]);
        started_pids.push(again);
        started_pids.sort();
        assert_eq!(pids(&sup), started_pids, "every child, by pid order");
        assert_eq!(sup.count_children().unwrap(), counts(4));

        // A failed start keeps nothing; an ignored one keeps nothing either.
        assert_eq!(
            sup.start_child(worker_with("bad", &log, Init::Fail)),
            Err(ChildError::Start(StartError::Stopped(ExitReason::custom(
                "nope"
            ))))
        );
        assert_eq!(
            sup.start_child(worker_with("quiet", &log, Init::Ignore)),
            Ok(None)
        );
        assert_eq!(sup.count_children().unwrap(), counts(4));
        expect_no_reports(&mut mb);
    });
}

#[test]
fn terminate_child_stops_a_child_and_refuses_a_stranger() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let sup = dynamic_supervisor::start_link(Options::new()).unwrap();
        let a = sup.start_child(worker("a", &log)).unwrap().unwrap();
        let b = sup.start_child(worker("b", &log)).unwrap().unwrap();
        expect_reports(&mut mb, &[started("a"), started("b")]);

        sup.terminate_child(&a).unwrap();
        expect_reports(&mut mb, &[shut("a")]);
        assert!(!process::alive(&a));
        assert_eq!(
            pids(&sup),
            std::slice::from_ref(&b),
            "terminated, not restarted"
        );

        assert_eq!(sup.terminate_child(&a), Err(ChildError::NotFound));
        let stranger = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        assert_eq!(
            sup.terminate_child(&stranger.to_any()),
            Err(ChildError::NotFound)
        );
        assert!(process::alive(&stranger), "a stranger is left alone");
        stranger.send(());
        expect_no_reports(&mut mb);
    });
}

#[test]
fn max_children_caps_the_running_children() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let sup = dynamic_supervisor::start_link(Options::new().max_children(2)).unwrap();
        let a = sup.start_child(worker("a", &log)).unwrap().unwrap();
        sup.start_child(worker("b", &log)).unwrap().unwrap();
        expect_reports(&mut mb, &[started("a"), started("b")]);
        assert_eq!(
            sup.start_child(worker("c", &log)),
            Err(ChildError::MaxChildren)
        );
        // A restart is not a new child: a full supervisor still restarts.
        crash(&mut mb, &a, boom());
        expect_reports(&mut mb, &[terminated("a", boom()), started("a")]);
        assert_eq!(sup.count_children().unwrap(), counts(2));
        // Room again once one is gone.
        sup.terminate_child(&pids(&sup)[0]).unwrap();
        mb.receive(); // its Terminated report
        sup.start_child(worker("c", &log)).unwrap().unwrap();
        expect_reports(&mut mb, &[started("c")]);
        assert_eq!(
            sup.start_child(worker("d", &log)),
            Err(ChildError::MaxChildren)
        );
        expect_no_reports(&mut mb);
    });
}

#[test]
fn children_are_restarted_by_their_restart_type() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let sup = dynamic_supervisor::start_link(Options::new().max_restarts(100)).unwrap();
        let p = sup.start_child(worker("p", &log)).unwrap().unwrap();
        let t = sup
            .start_child(worker("t", &log).restart(Restart::Transient))
            .unwrap()
            .unwrap();
        let tmp = sup
            .start_child(worker("tmp", &log).restart(Restart::Temporary))
            .unwrap()
            .unwrap();
        expect_reports(&mut mb, &[started("p"), started("t"), started("tmp")]);

        // Permanent: restarted, even after a normal exit, as a new pid.
        crash(&mut mb, &p, ExitReason::Normal);
        expect_reports(
            &mut mb,
            &[terminated("p", ExitReason::Normal), started("p")],
        );
        let now = pids(&sup);
        assert_eq!(now.len(), 3);
        assert!(!now.contains(&p));
        let p2 = now.into_iter().find(|x| *x != t && *x != tmp).unwrap();

        // Transient: restarted after a crash, not after a normal exit.
        crash(&mut mb, &t, boom());
        expect_reports(&mut mb, &[terminated("t", boom()), started("t")]);
        let t2 = pids(&sup)
            .into_iter()
            .find(|x| *x != p2 && *x != tmp)
            .unwrap();
        crash(&mut mb, &t2, ExitReason::shutdown_with("done"));
        expect_reports(
            &mut mb,
            &[terminated("t", ExitReason::shutdown_with("done"))],
        );
        let mut expected = vec![p2.clone(), tmp.clone()];
        expected.sort();
        assert_eq!(pids(&sup), expected);

        // Temporary: never.
        crash(&mut mb, &tmp, boom());
        expect_reports(&mut mb, &[terminated("tmp", boom())]);
        assert_eq!(pids(&sup), [p2]);
        assert_eq!(sup.count_children().unwrap(), counts(1));
        expect_no_reports(&mut mb);
    });
}

#[test]
fn exceeding_the_intensity_shuts_it_down_after_stopping_its_children() {
    run(|mut mb: Mailbox<Report>| {
        process::trap_exit(true);
        let log = mb.pid();
        let sup = dynamic_supervisor::start_link(Options::new().max_restarts(2)).unwrap();
        let sup_pid = sup.pid().unwrap();
        let monitor = process::monitor(&sup_pid);
        let start = |id| sup.start_child(worker(id, &log)).unwrap().unwrap();
        let others = vec![start("a"), start("c")];
        let mut b = start("b");
        expect_reports(&mut mb, &[started("a"), started("c"), started("b")]);
        let b_pid = |sup: &DynamicSupervisor, others: &[AnyPid]| {
            pids(sup).into_iter().find(|p| !others.contains(p)).unwrap()
        };
        for _ in 0..2 {
            crash(&mut mb, &b, boom());
            expect_reports(&mut mb, &[terminated("b", boom()), started("b")]);
            b = b_pid(&sup, &others);
        }
        crash(&mut mb, &b, boom());
        // The third crash: the others are stopped (all at once, no order), then it exits
        // with `shutdown`.
        let mut reports = vec![];
        let reason = loop {
            match mb.select(PROMPTLY, |_| true) {
                Some(Message::User(r)) => reports.push(r),
                Some(Message::Exit { from, reason }) if from == sup_pid => break reason,
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(reason, ExitReason::Shutdown);
        assert_eq!(reports[0], terminated("b", boom()));
        reports[1..].sort_by_key(|r| r.0);
        assert_eq!(reports[1..], [shut("a"), shut("c")]);
        assert_eq!(await_down(&mut mb, monitor), ExitReason::Shutdown);
        assert!(others.iter().all(|p| !process::alive(p)));
    });
}

#[test]
fn stopping_it_stops_every_child() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let sup = dynamic_supervisor::start_link(Options::new().name("dyn")).unwrap();
        for id in ["a", "b", "c"] {
            DynamicSupervisor::named("dyn")
                .start_child(worker(id, &log))
                .unwrap();
        }
        expect_reports(&mut mb, &[started("a"), started("b"), started("c")]);
        let children = pids(&sup);
        sup.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
        let mut reports: Vec<Report> = (0..3).map(|_| recv(&mut mb)).collect();
        reports.sort_by_key(|r| r.0);
        assert_eq!(reports, [shut("a"), shut("b"), shut("c")]);
        assert!(children.iter().all(|p| !process::alive(p)));
        assert_eq!(sup.which_children(), Err(CallError::NoProc));
        assert_eq!(
            sup.start_child(worker("d", &log)),
            Err(ChildError::Call(CallError::NoProc))
        );
    });
}

#[test]
fn a_dynamic_supervisor_in_a_tree() {
    run(|mut mb: Mailbox<Report>| {
        let log = mb.pid();
        let top = supervisor::start_link(
            vec![
                worker("w", &log),
                dynamic_supervisor::child_spec("pool", Options::new().name("pool")),
            ],
            supervisor::Options::new(Strategy::RestForOne),
        )
        .unwrap();
        expect_reports(&mut mb, &[started("w")]);
        let kinds: Vec<_> = top
            .which_children()
            .unwrap()
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(kinds, [ChildType::Worker, ChildType::Supervisor]);

        let pool = DynamicSupervisor::named("pool");
        pool.start_child(worker("job", &log)).unwrap();
        expect_reports(&mut mb, &[started("job")]);
        // rest_for_one: w's crash restarts the pool, which comes back empty.
        crash(&mut mb, &pid_of(&top, "w"), boom());
        expect_reports(
            &mut mb,
            &[terminated("w", boom()), shut("job"), started("w")],
        );
        let new_pool = pid_of(&top, "pool"); // answered once the restart is over
        assert_eq!(pool.pid(), Some(new_pool));
        assert!(pids(&pool).is_empty());
    });
}
