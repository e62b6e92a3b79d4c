//! Links, exit signals and monitors, one test per rule of `spec/semantics.md` 3.4 and 3.7
//! (ported from the real-BEAM edge scripts E02, E03, E04, E05 and E26: same scenario, same
//! expected outcome).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        mpsc, Arc,
    },
    time::Duration,
};

use otp::{process, ExitReason, Mailbox, Message, MessageRef, Pid};

const LONG: Duration = Duration::from_secs(30);

/// Runs a root on a fresh runtime, failing (not hanging) if it takes more than a minute.
fn run<R: Send + 'static>(f: impl FnOnce(Mailbox<()>) -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = otp::Builder::new().build().unwrap();
        let r = rt.block_on(f);
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(v)) => v,
        Ok(Err(reason)) => panic!("root exited: {reason}"),
        Err(_) => panic!("test timed out"),
    }
}

/// The next system message (EXIT or DOWN), failing after a generous guard.
fn next(mb: &mut Mailbox<()>) -> Message<()> {
    mb.select(LONG, |_| true)
        .expect("a message within the guard time")
}

/// Nothing arrives within a short while.
fn quiet(mb: &mut Mailbox<()>) {
    assert!(
        mb.select(Duration::from_millis(50), |_| true).is_none(),
        "unexpected message"
    );
}

/// A process that waits for one `()` and returns.
fn waiter() -> Pid<()> {
    otp::spawn(|mut mb: Mailbox<()>| mb.receive())
}

/// How `pid` ended, observed through a monitor.
/// The exit reason in the `DOWN` of monitor `r`. Take the monitor before whatever makes the
/// process exit: one taken after it may find the process gone (`noproc`).
fn reason_of(mb: &mut Mailbox<()>, r: otp::Ref) -> ExitReason {
    loop {
        if let Message::Down {
            reference, reason, ..
        } = next(mb)
        {
            if reference == r {
                return reason;
            }
        }
    }
}

// ===== links =====

#[test]
fn link_is_a_set_and_linking_oneself_is_fine() {
    run(|_mb| {
        let p = waiter();
        process::link(&p).unwrap();
        process::link(&p).unwrap();
        process::link(otp::self_pid()).unwrap();
        assert_eq!(
            process::info(otp::self_pid()).unwrap().links,
            vec![p.to_any()]
        );
        process::unlink(&p);
        assert!(process::info(otp::self_pid()).unwrap().links.is_empty());
        assert!(process::info(&p).unwrap().links.is_empty(), "bidirectional");
        p.send(());
    });
}

#[test]
fn link_to_a_dead_pid_non_trapping_is_noproc() {
    run(|mut mb| {
        let p = waiter();
        let r = process::monitor(&p);
        p.send(());
        assert_eq!(reason_of(&mut mb, r), ExitReason::Normal);
        assert_eq!(process::link(&p), Err(process::NoProc(p.to_any())));
    });
}

#[test]
fn link_to_a_dead_pid_trapping_gives_true_and_exit_noproc() {
    run(|mut mb| {
        process::trap_exit(true);
        let p = waiter();
        let r = process::monitor(&p);
        p.send(());
        assert_eq!(reason_of(&mut mb, r), ExitReason::Normal);
        assert_eq!(process::link(&p), Ok(()));
        match next(&mut mb) {
            Message::Exit { from, reason } => {
                assert_eq!(from, p);
                assert_eq!(reason, ExitReason::NoProc);
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn normal_exit_never_propagates_abnormal_does_unchanged() {
    run(|mut mb| {
        // A parent linked to a child that returns stays alive.
        let parent = otp::spawn(|mut mb: Mailbox<()>| {
            otp::spawn_link(|| {});
            mb.receive();
        });
        let monitor = process::monitor(&parent);
        quiet(&mut mb);
        assert!(process::alive(&parent));
        parent.send(());
        assert!(
            matches!(next(&mut mb), Message::Down { reference, reason: ExitReason::Normal, .. } if reference == monitor)
        );

        // One whose child exits :boom dies with :boom.
        let (_parent, r) = otp::spawn_monitor(|mut mb: Mailbox<()>| {
            otp::spawn_link(|| otp::exit(ExitReason::custom("boom")));
            mb.receive();
        });
        assert_eq!(reason_of(&mut mb, r), ExitReason::custom("boom"));
    });
}

#[test]
fn a_chain_a_b_c_carries_c_s_reason_to_a() {
    run(|mut mb| {
        let (tx, rx) = mpsc::channel::<Pid<()>>();
        let a = otp::spawn(move |mut mb: Mailbox<()>| {
            otp::spawn_link(move |mut mb: Mailbox<()>| {
                let c = otp::spawn_link(|mut mb: Mailbox<()>| {
                    mb.receive();
                    otp::exit(ExitReason::custom("custom_reason"));
                });
                tx.send(c).unwrap();
                mb.receive();
            });
            mb.receive();
        });
        let c = rx.recv_timeout(LONG).unwrap();
        let ma = process::monitor(&a);
        c.send(());
        loop {
            if let Message::Down {
                reference, reason, ..
            } = next(&mut mb)
            {
                if reference == ma {
                    assert_eq!(reason, ExitReason::custom("custom_reason"));
                    break;
                }
            }
        }
    });
}

#[test]
fn a_parent_s_death_kills_a_non_trapping_child() {
    run(|mut mb| {
        let (tx, rx) = mpsc::channel::<Pid<()>>();
        let parent = otp::spawn(move |mut mb: Mailbox<()>| {
            tx.send(otp::spawn_link(|mut mb: Mailbox<()>| mb.receive()))
                .unwrap();
            mb.receive();
            otp::exit(ExitReason::Shutdown);
        });
        let child = rx.recv_timeout(LONG).unwrap();
        let mc = process::monitor(&child);
        parent.send(());
        loop {
            if let Message::Down {
                reference, reason, ..
            } = next(&mut mb)
            {
                if reference == mc {
                    assert_eq!(reason, ExitReason::Shutdown);
                    break;
                }
            }
        }
    });
}

#[test]
fn a_trapping_process_gets_exit_for_every_linked_exit_including_normal() {
    run(|mut mb| {
        process::trap_exit(true);
        let a = otp::spawn_link(|| {});
        let b = otp::spawn_link(|| panic!("Worker crashed!"));
        let mut seen = vec![];
        for _ in 0..2 {
            match next(&mut mb) {
                Message::Exit { from, reason } => seen.push((from, reason)),
                other => panic!("{other:?}"),
            }
        }
        let of = |p: &Pid<()>| {
            seen.iter()
                .find(|(f, _)| f == p)
                .map(|(_, r)| r.clone())
                .unwrap()
        };
        assert_eq!(of(&a), ExitReason::Normal);
        match of(&b) {
            ExitReason::Panic(p) => assert_eq!(p.message(), "Worker crashed!"),
            other => panic!("{other}"),
        }
    });
}

#[test]
fn after_unlink_the_link_has_no_effect() {
    run(|mut mb| {
        process::trap_exit(true);
        let p = otp::spawn_link(|mut mb: Mailbox<()>| {
            mb.receive();
            otp::exit(ExitReason::custom("late"));
        });
        process::unlink(&p);
        let r = process::monitor(&p);
        p.send(());
        assert_eq!(reason_of(&mut mb, r), ExitReason::custom("late"));
        quiet(&mut mb);
    });
}

#[test]
fn trap_exit_returns_the_previous_value() {
    run(|_mb| {
        assert!(!process::trap_exit(true));
        assert!(process::trap_exit(false));
    });
}

// ===== Process.exit/2 =====

/// Sends `reason` to a fresh target (trapping or not) and reports what became of it: its exit
/// reason, or `None` if it is still alive, plus any EXIT message it received.
fn exit_matrix(
    mb: &mut Mailbox<()>,
    reason: ExitReason,
    trapping: bool,
) -> (Option<ExitReason>, Option<ExitReason>) {
    let (tx, rx) = mpsc::channel();
    let target = otp::spawn(move |mut mb: Mailbox<()>| {
        process::trap_exit(trapping);
        tx.send(()).unwrap();
        let got = mb.select(Duration::from_millis(200), |m| {
            matches!(m, otp::MessageRef::Exit { .. })
        });
        let _ = tx.send(());
        if let Some(Message::Exit { reason, .. }) = got {
            otp::exit(ExitReason::custom(format!("trapped {reason}")));
        }
    });
    rx.recv_timeout(LONG).unwrap();
    let r = process::monitor(&target);
    process::exit(&target, reason);
    let Some(Message::Down {
        reference,
        reason: died,
        ..
    }) = mb.select(LONG, |_| true)
    else {
        panic!("no DOWN")
    };
    assert_eq!(reference, r);
    // A target that survived exits normally after its 200 ms wait; one that trapped exits with
    // "trapped <reason>".
    match died {
        ExitReason::Normal => (None, None),
        ExitReason::Custom(c) if c.as_str().is_some_and(|s| s.starts_with("trapped ")) => {
            let text = c
                .as_str()
                .unwrap()
                .trim_start_matches("trapped ")
                .to_owned();
            (None, Some(ExitReason::custom(text)))
        }
        other => (Some(other), None),
    }
}

#[test]
fn process_exit_matrix_matches_the_beam() {
    run(|mut mb| {
        // reason, trapping -> (death, EXIT message as printed)
        let t = |s: &str| Some(ExitReason::custom(s.to_owned()));
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::Normal, false),
            (None, None),
            "normal ignored"
        );
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::Normal, true),
            (None, t(":normal"))
        );
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::Shutdown, false),
            (Some(ExitReason::Shutdown), None)
        );
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::Shutdown, true),
            (None, t(":shutdown"))
        );
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::custom("boom"), false),
            (Some(ExitReason::custom("boom")), None)
        );
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::custom("boom"), true),
            (None, t(":boom"))
        );
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::Kill, false),
            (Some(ExitReason::Killed), None)
        );
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::Kill, true),
            (Some(ExitReason::Killed), None),
            "kill is untrappable"
        );
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::Killed, false),
            (Some(ExitReason::Killed), None)
        );
        assert_eq!(
            exit_matrix(&mut mb, ExitReason::Killed, true),
            (None, t(":killed")),
            "literal killed is trappable"
        );
    });
}

#[test]
fn kill_vs_self_exit_kill_as_seen_by_links() {
    run(|mut mb| {
        process::trap_exit(true);
        // Killed from outside: links see :killed.
        let p = otp::spawn_link(|mut mb: Mailbox<()>| mb.receive());
        process::exit(&p, ExitReason::Kill);
        assert!(matches!(
            next(&mut mb),
            Message::Exit {
                reason: ExitReason::Killed,
                ..
            }
        ));
        // exit(:kill) by itself: links see :kill, trappable.
        otp::spawn_link(|| otp::exit(ExitReason::Kill));
        assert!(matches!(
            next(&mut mb),
            Message::Exit {
                reason: ExitReason::Kill,
                ..
            }
        ));
        // A non-trapping link of a self-kill dies with :kill (the chain continues with :kill).
        let (_middle, r) = otp::spawn_monitor(|mut mb: Mailbox<()>| {
            otp::spawn_link(|| otp::exit(ExitReason::Kill));
            mb.receive();
        });
        assert_eq!(reason_of(&mut mb, r), ExitReason::Kill);
    });
}

#[test]
fn killing_a_process_suspended_mid_stack_runs_its_destructors() {
    run(|mut mb| {
        struct Guard(Arc<AtomicBool>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.store(true, SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let d = dropped.clone();
        let (ready_tx, ready) = mpsc::channel();
        let p = otp::spawn(move |mut mb: Mailbox<()>| {
            fn deep(n: u32, mb: &mut Mailbox<()>) {
                if n == 0 {
                    mb.receive();
                } else {
                    deep(n - 1, mb);
                }
            }
            let _g = Guard(d);
            ready_tx.send(()).unwrap();
            deep(50, &mut mb);
        });
        // Kill it once it is parked deep in its stack (killed before it ever ran, it would
        // never have made the guard).
        ready.recv_timeout(LONG).unwrap();
        let r = process::monitor(&p);
        process::exit(&p, ExitReason::Kill);
        assert!(
            matches!(next(&mut mb), Message::Down { reference, reason: ExitReason::Killed, .. } if reference == r)
        );
        assert!(dropped.load(SeqCst));
    });
}

// ===== monitors =====

#[test]
fn monitors_are_one_way_each_call_is_new_and_many_give_many_downs() {
    run(|mut mb| {
        let p = waiter();
        let refs: Vec<_> = (0..3).map(|_| process::monitor(&p)).collect();
        assert_ne!(refs[0], refs[1]);
        assert_eq!(process::info(&p).unwrap().monitored_by.len(), 3);
        assert_eq!(process::info(otp::self_pid()).unwrap().monitors.len(), 3);
        p.send(());
        let mut got = vec![];
        for _ in 0..3 {
            match next(&mut mb) {
                Message::Down {
                    reference,
                    pid,
                    reason,
                } => {
                    assert_eq!(pid, p);
                    assert_eq!(reason, ExitReason::Normal);
                    got.push(reference);
                }
                other => panic!("{other:?}"),
            }
        }
        got.sort();
        let mut want = refs.clone();
        want.sort();
        assert_eq!(got, want);

        // One-way: a watcher dying leaves the target alone.
        let target = waiter();
        let (_watcher, r) = otp::spawn_monitor({
            let target = target.clone();
            move || {
                process::monitor(&target);
                otp::exit(ExitReason::custom("bye"));
            }
        });
        assert_eq!(reason_of(&mut mb, r), ExitReason::custom("bye"));
        assert!(process::alive(&target));
        target.send(());
    });
}

#[test]
fn monitoring_a_dead_pid_gives_an_immediate_noproc_down() {
    run(|mut mb| {
        let p = waiter();
        let first = process::monitor(&p);
        p.send(());
        assert_eq!(reason_of(&mut mb, first), ExitReason::Normal);
        let r = process::monitor(&p);
        // The monitor has fired: nothing left of it.
        assert!(process::info(otp::self_pid()).unwrap().monitors.is_empty());
        assert!(!process::demonitor(r));
        assert!(
            matches!(mb.try_receive_message_now(), Some(Message::Down { reference, reason: ExitReason::NoProc, .. }) if reference == r)
        );
    });
}

trait TryNow {
    fn try_receive_message_now(&mut self) -> Option<Message<()>>;
}

impl TryNow for Mailbox<()> {
    fn try_receive_message_now(&mut self) -> Option<Message<()>> {
        self.select(Duration::ZERO, |_| true)
    }
}

#[test]
fn monitoring_oneself_does_nothing() {
    run(|mut mb| {
        let _r = process::monitor(otp::self_pid());
        quiet(&mut mb);
    });
}

#[test]
fn demonitor_with_and_without_flush() {
    run(|mut mb| {
        // Before death: no DOWN ever, and it was active.
        let p = waiter();
        let r = process::monitor(&p);
        assert!(process::demonitor(r));
        p.send(());
        quiet(&mut mb);

        // After the DOWN arrived: without flush it stays in the mailbox...
        let p = waiter();
        let r = process::monitor(&p);
        p.send(());
        // Wait for p's death through a second monitor, leaving the first one's DOWN queued.
        let r2 = process::monitor(&p);
        assert!(mb
            .select(
                LONG,
                |m| matches!(m, MessageRef::Down { reference, .. } if reference == r2)
            )
            .is_some());
        assert!(!process::demonitor(r), "already fired");
        assert!(
            matches!(mb.try_receive_message_now(), Some(Message::Down { reference, .. }) if reference == r)
        );

        // ...and with flush it is removed.
        let p = waiter();
        let r = process::monitor(&p);
        p.send(());
        let r2 = process::monitor(&p);
        assert!(mb
            .select(
                LONG,
                |m| matches!(m, MessageRef::Down { reference, .. } if reference == r2)
            )
            .is_some());
        assert!(!process::demonitor_flush(r));
        assert!(mb.try_receive_message_now().is_none());
    });
}

#[test]
fn spawn_monitor_of_a_returning_function_reports_normal() {
    run(|mut mb| {
        let (p, r) = otp::spawn_monitor(|| {
            let _completed = "the tutorial claims this becomes the reason; it does not";
        });
        match next(&mut mb) {
            Message::Down {
                reference,
                pid,
                reason,
            } => {
                assert_eq!((reference, reason), (r, ExitReason::Normal));
                assert_eq!(pid, p);
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn exit_reason_equals_down_reason_for_each_way_to_die() {
    run(|mut mb| {
        process::trap_exit(true);
        type Way = (Box<dyn FnOnce() + Send>, fn(&ExitReason) -> bool);
        let ways: Vec<Way> = vec![
            (Box::new(|| {}), |r| *r == ExitReason::Normal),
            (Box::new(|| otp::exit(ExitReason::custom("boom"))), |r| {
                *r == ExitReason::custom("boom")
            }),
            (
                Box::new(|| otp::exit(ExitReason::shutdown_with("x"))),
                |r| *r == ExitReason::shutdown_with("x"),
            ),
            (
                Box::new(|| panic!("oops")),
                |r| matches!(r, ExitReason::Panic(p) if p.message() == "oops"),
            ),
        ];
        for (body, check) in ways {
            let p = otp::spawn_link(body);
            let r = process::monitor(&p);
            let (mut exit, mut down) = (None, None);
            while exit.is_none() || down.is_none() {
                match next(&mut mb) {
                    Message::Exit { from, reason } if from == p => exit = Some(reason),
                    Message::Down {
                        reference, reason, ..
                    } if reference == r => down = Some(reason),
                    other => panic!("{other:?}"),
                }
            }
            let (exit, down) = (exit.unwrap(), down.unwrap());
            assert!(check(&exit), "EXIT reason {exit}");
            assert!(
                down == exit || down == ExitReason::NoProc,
                "DOWN {down} vs EXIT {exit}"
            );
        }
    });
}

// ===== ordering =====

#[test]
fn a_sender_s_messages_arrive_before_its_exit_and_its_down() {
    run(|_mb| {
        for _ in 0..200 {
            // EXIT after messages (trapping parent).
            let parent = otp::spawn(|mut mb: Mailbox<u32>| {
                process::trap_exit(true);
                let me = mb.pid();
                otp::spawn_link(move || {
                    for i in 0..10 {
                        me.send(i);
                    }
                    otp::exit(ExitReason::custom("done"));
                });
                for i in 0..10 {
                    match mb.receive_message() {
                        Message::User(n) => assert_eq!(n, i),
                        other => panic!("message {i} came after {other:?}"),
                    }
                }
                assert!(matches!(mb.receive_message(), Message::Exit { .. }));
            });
            let _ = parent;
            // DOWN after messages.
            let watcher = otp::spawn(|mut mb: Mailbox<u32>| {
                let me = mb.pid();
                let (_p, r) = otp::spawn_monitor(move || {
                    for i in 0..10 {
                        me.send(i);
                    }
                });
                for i in 0..10 {
                    match mb.receive_message() {
                        Message::User(n) => assert_eq!(n, i),
                        other => panic!("message {i} came after {other:?}"),
                    }
                }
                assert!(
                    matches!(mb.receive_message(), Message::Down { reference, .. } if reference == r)
                );
            });
            let _ = watcher;
        }
    });
}

#[test]
fn a_monitor_or_link_racing_a_fresh_process_s_exit_reports_exactly_once() {
    // The target has no relations until the monitor or link makes them, and may be exiting
    // on another scheduler at that very moment: either the relation is made and fires, or the
    // caller answers `noproc` itself. Never both, never neither.
    run(|mut mb| {
        process::trap_exit(true);
        for i in 0..2000u32 {
            let p = otp::spawn(|| {});
            if i % 3 == 0 {
                otp::yield_now();
            }
            if i % 2 == 0 {
                let r = process::monitor(&p);
                match next(&mut mb) {
                    Message::Down {
                        reference, reason, ..
                    } => {
                        assert_eq!(reference, r);
                        assert!(matches!(reason, ExitReason::Normal | ExitReason::NoProc));
                    }
                    other => panic!("unexpected {other:?}"),
                }
            } else {
                process::link(&p).unwrap();
                match next(&mut mb) {
                    Message::Exit { from, reason } => {
                        assert_eq!(from, p);
                        assert!(matches!(reason, ExitReason::Normal | ExitReason::NoProc));
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        quiet(&mut mb);
    });
}
