//! Chapter 4, "Links, trapping exits and monitors": the BEAM's exit-signal rules, one test each.

use std::time::Duration;

use otp::{process, ExitReason, Mailbox, Message, MessageRef, Pid, Ref};

// ANCHOR: down_of
/// Waits for the `DOWN` of the monitor `watch` and returns the exit reason. Other messages stay
/// in the mailbox.
fn down_of<M: Send + 'static>(mb: &mut Mailbox<M>, watch: Ref) -> ExitReason {
    let down = mb.select(
        Duration::from_secs(5),
        |m| matches!(m, MessageRef::Down { reference, .. } if reference == watch),
    );
    match down {
        Some(Message::Down { reason, .. }) => reason,
        _ => panic!("no DOWN within 5 s"),
    }
}
// ANCHOR_END: down_of

/// A process that waits for one message and returns.
fn idle(mut mb: Mailbox<()>) {
    mb.receive();
}

// ANCHOR: normal
#[test]
fn a_normal_exit_does_not_propagate() {
    otp::run(|mut mb: Mailbox<()>| {
        let (parent, watch) = otp::spawn_monitor(|mut mb: Mailbox<()>| {
            otp::spawn_link(|| { /* returns at once: exit reason `normal` */ });
            mb.receive(); // still here after the child's exit
        });
        otp::sleep(Duration::from_millis(20));
        assert!(process::alive(&parent));
        parent.send(());
        assert_eq!(down_of(&mut mb, watch), ExitReason::Normal);
    });
}
// ANCHOR_END: normal

// ANCHOR: chain
#[test]
fn a_crash_travels_along_links() {
    otp::run(|mut mb: Mailbox<()>| {
        // a - b - c, linked in a chain; c dies with a reason of its own.
        let (a, watch) = otp::spawn_monitor(|mut mb: Mailbox<()>| {
            otp::spawn_link(|mut mb: Mailbox<()>| {
                otp::spawn_link(|| otp::exit(ExitReason::custom("disk_full")));
                mb.receive();
            });
            mb.receive();
        });
        // The reason reaches a unchanged, two links away.
        assert_eq!(down_of(&mut mb, watch), ExitReason::custom("disk_full"));
        assert!(!process::alive(&a));
    });
}
// ANCHOR_END: chain

// ANCHOR: trap
#[test]
fn trapping_turns_exits_into_messages() {
    otp::run(|mut mb: Mailbox<()>| {
        assert!(!process::trap_exit(true)); // returns the previous value
        let normal = otp::spawn_link(|| {});
        let crashed = otp::spawn_link(|| panic!("Worker crashed!"));

        let mut seen = Vec::new();
        for _ in 0..2 {
            match mb.receive_message() {
                Message::Exit { from, reason } => seen.push((from, reason)),
                other => panic!("unexpected {other:?}"),
            }
        }
        seen.sort_by_key(|(from, _)| from.number());
        // A trapping process hears of every linked exit, `normal` included.
        assert_eq!(seen[0], (normal.to_any(), ExitReason::Normal));
        assert_eq!(seen[1].0, crashed.to_any());
        assert!(matches!(&seen[1].1, ExitReason::Panic(p) if p.message() == "Worker crashed!"));
    });
}
// ANCHOR_END: trap

// ANCHOR: receive_exit
#[test]
fn exits_and_downs_in_a_receive() {
    otp::run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let linked = otp::spawn_link(|| otp::exit(ExitReason::custom("boom")));
        let (watched, watch) = otp::spawn_monitor(|| {});
        for _ in 0..2 {
            // {:EXIT, pid, reason} and {:DOWN, ref, :process, pid, reason} as clauses.
            otp::receive! { mb,
                EXIT(from, reason) if *from == linked => {
                    assert_eq!(reason, ExitReason::custom("boom"));
                }
                DOWN(reference, pid, reason) if reference == watch => {
                    assert_eq!(pid, watched);
                    assert_eq!(reason, ExitReason::Normal);
                }
            }
        }
    });
}
// ANCHOR_END: receive_exit

// ANCHOR: exit_matrix
#[test]
fn exit_signals_sent_by_hand() {
    otp::run(|mut mb: Mailbox<()>| {
        // `normal` is ignored by a process that does not trap exits...
        let (p, watch) = otp::spawn_monitor(idle);
        process::exit(&p, ExitReason::Normal);
        otp::sleep(Duration::from_millis(10));
        assert!(process::alive(&p));

        // ...any other reason ends it, with that reason...
        process::exit(&p, ExitReason::Shutdown);
        assert_eq!(down_of(&mut mb, watch), ExitReason::Shutdown);

        // ...and `kill` ends even a trapping process, whose links and monitors see `killed`.
        let (p, watch) = otp::spawn_monitor(|mut mb: Mailbox<()>| {
            process::trap_exit(true);
            loop {
                mb.receive_message(); // every trappable exit becomes a message
            }
        });
        otp::sleep(Duration::from_millis(10));
        process::exit(&p, ExitReason::Shutdown); // trapped: a message, not a death
        otp::sleep(Duration::from_millis(10));
        assert!(process::alive(&p));
        process::exit(&p, ExitReason::Kill);
        assert_eq!(down_of(&mut mb, watch), ExitReason::Killed);
    });
}
// ANCHOR_END: exit_matrix

// ANCHOR: link_dead
#[test]
fn linking_to_a_dead_process() {
    otp::run(|mut mb: Mailbox<()>| {
        let (dead, watch) = otp::spawn_monitor(|| {});
        down_of(&mut mb, watch);

        // Not trapping: an error (Elixir raises `:noproc` in the caller).
        assert!(process::link(&dead).is_err());

        // Trapping: the link "succeeds" and an EXIT with `noproc` arrives at once.
        process::trap_exit(true);
        assert!(process::link(&dead).is_ok());
        assert!(matches!(
            mb.receive_message(),
            Message::Exit {
                reason: ExitReason::NoProc,
                ..
            }
        ));
    });
}
// ANCHOR_END: link_dead

// ANCHOR: unlink
#[test]
fn unlinking() {
    otp::run(|mut mb: Mailbox<()>| {
        let (parent, watch) = otp::spawn_monitor(|mut mb: Mailbox<Pid<()>>| {
            let child = mb.receive();
            process::link(&child).unwrap();
            process::link(&child).unwrap(); // links are a set: linking twice is one link
            process::unlink(&child); // one unlink removes it
            process::exit(&child, ExitReason::custom("bye")); // dies alone
            mb.receive();
        });
        let child = otp::spawn(idle);
        parent.send(child.clone());
        otp::sleep(Duration::from_millis(20));
        assert!(!process::alive(&child));
        assert!(process::alive(&parent));
        process::exit(&parent, ExitReason::Kill);
        assert_eq!(down_of(&mut mb, watch), ExitReason::Killed);
    });
}
// ANCHOR_END: unlink

// ANCHOR: monitors
#[test]
fn monitors() {
    otp::run(|mut mb: Mailbox<()>| {
        let worker = otp::spawn(idle);
        // Each monitor is separate, with its own reference and its own DOWN.
        let first = process::monitor(&worker);
        let second = process::monitor(&worker);
        assert_ne!(first, second);
        worker.send(());
        assert_eq!(down_of(&mut mb, first), ExitReason::Normal);
        assert_eq!(down_of(&mut mb, second), ExitReason::Normal);

        // Monitoring a process that is already dead: an immediate DOWN with `noproc`.
        let late = process::monitor(&worker);
        assert_eq!(down_of(&mut mb, late), ExitReason::NoProc);
    });
}
// ANCHOR_END: monitors

// ANCHOR: demonitor
#[test]
fn demonitor_and_flush() {
    otp::run(|mut mb: Mailbox<()>| {
        let worker = otp::spawn(idle);
        let quiet = process::monitor(&worker);
        let noisy = process::monitor(&worker);
        let witness = process::monitor(&worker);
        worker.send(());
        down_of(&mut mb, witness); // the worker is gone, and its DOWNs are queued

        // Too late for `demonitor`: the DOWN already in the mailbox stays there.
        process::demonitor(noisy);
        // `demonitor_flush` removes it too (Erlang's `demonitor(ref, [:flush])`).
        process::demonitor_flush(quiet);

        let left: Vec<Ref> = std::iter::from_fn(|| match mb.select(Duration::ZERO, |_| true) {
            Some(Message::Down { reference, .. }) => Some(reference),
            _ => None,
        })
        .collect();
        assert_eq!(left, [noisy]);
    });
}
// ANCHOR_END: demonitor
