//! Stack overflow is a process's crash, not the node's: a guard-page hit ends the process with
//! `StackOverflow`; links and monitors see it; everything else keeps running.

mod common;
use common::*;
use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use otp::{process::Status, ExitReason, Mailbox, Message, SpawnOptions};

/// Recurses until the stack runs out: each frame holds and touches a kilobyte.
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0; // never: the stack runs out long before
    }
    let frame = black_box([depth as u8; 1024]);
    black_box(frame[0] as u64) + recurse(black_box(depth + 1))
}

fn down_reason(mb: &mut Mailbox<()>) -> ExitReason {
    match mb.select(Duration::from_secs(60), |_| true) {
        Some(Message::Down { reason, .. }) => reason,
        other => panic!("expected a DOWN, got {other:?}"),
    }
}

#[test]
fn a_guard_page_hit_ends_only_that_process() {
    otp::run(|mut mb: Mailbox<()>| {
        let (_, _r) = SpawnOptions::new().stack_size(64 * 1024).spawn_monitor(|| {
            black_box(recurse(0));
        });
        assert_eq!(down_reason(&mut mb), ExitReason::StackOverflow);

        // The node survived: processes still spawn, run and report.
        let (_, _r) = otp::spawn_monitor(|| {});
        assert_eq!(down_reason(&mut mb), ExitReason::Normal);
    });
}

#[test]
fn overflows_repeat_without_harm() {
    otp::run(|mut mb: Mailbox<()>| {
        for _ in 0..20 {
            let (_, _r) = SpawnOptions::new().stack_size(32 * 1024).spawn_monitor(|| {
                black_box(recurse(0));
            });
            assert_eq!(down_reason(&mut mb), ExitReason::StackOverflow);
        }
    });
}

#[test]
fn a_linked_trapping_process_sees_the_overflow() {
    otp::run(|mut mb: Mailbox<()>| {
        otp::process::trap_exit(true);
        let child = SpawnOptions::new().stack_size(64 * 1024).link().spawn(|| {
            black_box(recurse(0));
        });
        match mb.select(Duration::from_secs(60), |_| true) {
            Some(Message::Exit { from, reason }) => {
                assert_eq!(from, child);
                assert_eq!(reason, ExitReason::StackOverflow);
            }
            other => panic!("expected an EXIT, got {other:?}"),
        }
    });
}

/// An overflow discards the process's frames without running their drops, so a receive
/// deadline in them that its scheduler had not fixed yet (`runtime::timer` docs) must leave the
/// scheduler's list with it: the scheduler would otherwise later write into a stack that another
/// process now runs on. Each round's receive has waited once (so its deadline is listed) before
/// the message whose matching overflows; the next round's process reuses the stack.
#[test]
fn an_overflow_inside_a_timed_receive_leaves_the_timers_sound() {
    run_on(1, |mut mb: Mailbox<()>| {
        for _ in 0..20 {
            let (pid, _r) =
                SpawnOptions::new()
                    .stack_size(64 * 1024)
                    .spawn_monitor(|mut mb: Mailbox<u8>| {
                        mb.select(Duration::from_secs(60), |_| black_box(recurse(0)) == 1);
                    });
            wait_until("the child waits", || {
                otp::process::info(&pid).is_some_and(|i| i.status == Status::Waiting)
            });
            pid.send(1);
            assert_eq!(down_reason(&mut mb), ExitReason::StackOverflow);
            // A timed receive of the same scheduler fires, on time.
            let d = Duration::from_millis(2);
            let t = Instant::now();
            assert!(mb.try_receive().is_none());
            assert_eq!(mb.receive_timeout(d), None);
            assert!(t.elapsed() >= d);
        }
    });
}
