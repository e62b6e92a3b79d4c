//! Timers (spec 3.11): `send_after`, `cancel_timer`, `read_timer`, `send_after_named`, timers
//! aimed at dead processes, `make_ref` and `sleep`.

mod common;
use common::*;
use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use otp::{Mailbox, Ref, SpawnOptions};

/// Asserts that nothing arrives for `quiet`. Loops so that a receive that returns early (the
/// stale-timeout bug) cannot shorten the check.
#[track_caller]
fn assert_nothing_for<M: Send + 'static + std::fmt::Debug>(mb: &mut Mailbox<M>, quiet: Duration) {
    let deadline = Instant::now() + quiet;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(m) = mb.receive_timeout(left) {
            panic!("expected no message for {quiet:?}, got {m:?}");
        }
        if left.is_zero() {
            return;
        }
        otp::sleep(Duration::from_millis(1));
    }
}

#[test]
fn send_after_delivers_no_earlier_than_its_delay() {
    run(|mut mb: Mailbox<&'static str>| {
        let delay = Duration::from_millis(30);
        let t = Instant::now();
        let _timer = otp::send_after(&mb.pid(), "tick", delay);
        assert_eq!(recv(&mut mb), "tick");
        assert!(
            t.elapsed() >= delay,
            "delivered after {:?}, before its {delay:?}",
            t.elapsed()
        );
    });
}

#[test]
fn send_after_with_zero_delay_delivers() {
    run(|mut mb: Mailbox<u8>| {
        otp::send_after(&mb.pid(), 0, Duration::ZERO);
        assert_eq!(recv(&mut mb), 0);
    });
}

#[test]
fn send_after_to_another_process() {
    run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        let child = otp::spawn(move |mut cmb: Mailbox<u32>| {
            let n = cmb.receive();
            me.send(n + 1);
        });
        otp::send_after(&child, 41, Duration::from_millis(5));
        assert_eq!(recv(&mut mb), 42);
    });
}

#[test]
fn equal_delays_fire_in_creation_order() {
    run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        for i in 1..=5 {
            otp::send_after(&me, i, Duration::from_millis(50));
        }
        let got: Vec<u32> = (0..5).map(|_| recv(&mut mb)).collect();
        assert_eq!(got, [1, 2, 3, 4, 5]);
    });
}

#[test]
fn shorter_delays_fire_first() {
    run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        // 100 ms apart, so setting them in this order cannot reorder their deadlines.
        for ms in [300, 100, 200, 0] {
            otp::send_after(&me, ms, Duration::from_millis(u64::from(ms)));
        }
        let got: Vec<u32> = (0..4).map(|_| recv(&mut mb)).collect();
        assert_eq!(got, [0, 100, 200, 300]);
    });
}

#[test]
fn a_cancelled_timer_never_delivers() {
    run(|mut mb: Mailbox<&'static str>| {
        let delay = Duration::from_millis(100);
        let timer = otp::send_after(&mb.pid(), "too late", delay);
        let left = otp::cancel_timer(&timer).expect("a pending timer has time left");
        assert!(left <= delay, "{left:?} left of {delay:?}");
        // Cancelled: cancelling again, or reading it, says so.
        assert_eq!(otp::cancel_timer(&timer), None);
        assert_eq!(otp::read_timer(&timer), None);
        // Well past the deadline, nothing has come.
        assert_nothing_for(&mut mb, delay * 3);
        assert!(mb.is_empty());
    });
}

#[test]
fn cancel_after_the_timer_fired_keeps_the_message() {
    run(|mut mb: Mailbox<u8>| {
        let timer = otp::send_after(&mb.pid(), 1, Duration::from_millis(10));
        wait_until("the timer has fired", || otp::read_timer(&timer).is_none());
        assert_eq!(otp::cancel_timer(&timer), None);
        assert_eq!(recv(&mut mb), 1, "cancel_timer took the message back");
        assert!(mb.is_empty());
    });
}

#[test]
fn read_timer_counts_down_then_says_none() {
    run(|mut mb: Mailbox<u8>| {
        let delay = Duration::from_millis(50);
        let timer = otp::send_after(&mb.pid(), 7, delay);
        let left = otp::read_timer(&timer).expect("a pending timer has time left");
        assert!(left <= delay, "{left:?} left of {delay:?}");
        let again = otp::read_timer(&timer).unwrap_or(Duration::ZERO);
        assert!(again <= left, "read_timer went up: {left:?} then {again:?}");
        assert_eq!(recv(&mut mb), 7);
        assert_eq!(otp::read_timer(&timer), None);
        assert_eq!(otp::cancel_timer(&timer), None);
    });
}

#[test]
fn a_long_timer_reads_close_to_its_delay() {
    run(|mb: Mailbox<u8>| {
        let delay = Duration::from_secs(60);
        let timer = otp::send_after(&mb.pid(), 1, delay);
        let left = otp::read_timer(&timer).unwrap();
        // Read at once: far more than half of a minute is left (no timing luck needed).
        assert!(left > delay / 2 && left <= delay, "{left:?}");
        assert!(otp::cancel_timer(&timer).is_some());
        assert_eq!(otp::cancel_timer(&timer), None);
    });
}

#[test]
fn send_after_named_resolves_the_name_when_it_fires() {
    run(|mut mb: Mailbox<&'static str>| {
        let me = mb.pid();
        // Nobody holds the name when the timer is set...
        let timer = otp::send_after_named("late_comer", "hello", Duration::from_millis(200));
        assert_eq!(otp::process::whereis("late_comer"), None);
        // ...somebody does by the time it fires.
        SpawnOptions::new()
            .name("late_comer")
            .spawn(move |mut lmb: Mailbox<&'static str>| {
                let m = lmb.receive();
                me.send(m);
            });
        assert_eq!(recv(&mut mb), "hello");
        assert_eq!(otp::read_timer(&timer), None);
    });
}

#[test]
fn send_after_named_to_nobody_is_dropped_silently() {
    run(|mut mb: Mailbox<u32>| {
        let timer = otp::send_after_named("ghost", 1u32, Duration::from_millis(10));
        wait_until("the timer has fired", || otp::read_timer(&timer).is_none());
        // The caller is unharmed, and taking the name afterwards brings nothing: the message
        // was dropped, not kept for later.
        assert!(otp::process::alive(otp::self_pid()));
        otp::process::register("ghost", otp::self_pid()).unwrap();
        assert_nothing_for(&mut mb, Duration::from_millis(100));
        // A holder of another message type gets nothing, and nothing crashes.
        let timer = otp::send_after_named("ghost", String::from("x"), Duration::from_millis(5));
        wait_until("the timer has fired", || otp::read_timer(&timer).is_none());
        // The runtime's timers still work.
        otp::send_after(&mb.pid(), 2, Duration::from_millis(5));
        assert_eq!(recv(&mut mb), 2);
    });
}

#[test]
fn a_timer_aimed_at_a_dead_process_is_void() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let child = otp::spawn(move |mut cmb: Mailbox<u8>| {
            cmb.receive_if(|n| *n == 0);
            me.send(());
        });
        let timer = otp::send_after(&child, 1, Duration::from_secs(30));
        assert!(otp::read_timer(&timer).is_some());
        child.send(0);
        recv(&mut mb);
        wait_until("the child is dead", || !otp::process::alive(&child));
        assert_eq!(otp::read_timer(&timer), None);
        assert_eq!(otp::cancel_timer(&timer), None);
    });
}

#[test]
fn a_timer_aimed_at_a_killed_process_is_void() {
    run(|| {
        let child = otp::spawn(|mut cmb: Mailbox<u8>| {
            cmb.receive();
        });
        let timer = otp::send_after(&child, 1, Duration::from_secs(30));
        otp::process::exit(&child, otp::ExitReason::Kill);
        wait_until("the child is dead", || !otp::process::alive(&child));
        assert_eq!(otp::read_timer(&timer), None);
    });
}

#[test]
fn make_ref_is_unique_and_ordered() {
    run(|mut mb: Mailbox<Vec<Ref>>| {
        let mine: Vec<Ref> = (0..100_000).map(|_| otp::make_ref()).collect();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "refs from one process are ordered"
        );
        let mut all: HashSet<Ref> = mine.iter().copied().collect();
        assert_eq!(all.len(), 100_000);
        // Refs made by other processes (on any scheduler) are distinct from these.
        for _ in 0..4 {
            let me = mb.pid();
            otp::spawn(move || me.send((0..10_000).map(|_| otp::make_ref()).collect()));
        }
        for _ in 0..4 {
            for r in recv(&mut mb) {
                assert!(all.insert(r), "duplicate {r}");
            }
        }
        assert_eq!(all.len(), 140_000);
        // Usable as a map key; prints like Elixir.
        let mut by_ref = HashMap::new();
        for (i, r) in mine.iter().take(10).enumerate() {
            by_ref.insert(*r, i);
        }
        assert_eq!(by_ref[&mine[3]], 3);
        let r = otp::make_ref();
        assert!(r.to_string().starts_with("#Reference<0."), "{r}");
        assert_eq!(format!("{r:?}"), r.to_string());
        assert_ne!(r, otp::make_ref());
    });
}

#[test]
fn sleep_sleeps_at_least_its_duration() {
    run(|| {
        for ms in [0, 1, 10, 25] {
            let d = Duration::from_millis(ms);
            let t = Instant::now();
            otp::sleep(d);
            assert!(
                t.elapsed() >= d,
                "sleep({d:?}) returned after {:?}",
                t.elapsed()
            );
        }
    });
}

#[test]
fn messages_that_arrive_during_a_sleep_wait_in_the_mailbox() {
    run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        let pinger = otp::spawn(move |mut pmb: Mailbox<()>| {
            pmb.receive();
            for i in 0..3 {
                me.send(i);
            }
        });
        let d = Duration::from_millis(100);
        let t = Instant::now();
        pinger.send(());
        otp::sleep(d);
        assert!(
            t.elapsed() >= d,
            "a message cut the sleep short: {:?}",
            t.elapsed()
        );
        let got: Vec<u32> = (0..3).map(|_| recv(&mut mb)).collect();
        assert_eq!(got, [0, 1, 2]);
    });
}

#[test]
fn sleep_outside_a_process_sleeps_the_thread() {
    let d = Duration::from_millis(10);
    let t = Instant::now();
    otp::sleep(d);
    assert!(t.elapsed() >= d);
}

#[test]
fn another_process_can_cancel_a_timer() {
    run(|mut mb: Mailbox<&'static str>| {
        let timer = otp::send_after(&mb.pid(), "cancelled", Duration::from_millis(100));
        let me = mb.pid();
        otp::spawn(move || {
            let left = otp::cancel_timer(&timer);
            me.send(if left.is_some() {
                "cancel ok"
            } else {
                "cancel failed"
            });
        });
        assert_eq!(recv(&mut mb), "cancel ok");
        assert_nothing_for(&mut mb, Duration::from_millis(300));
    });
}

#[test]
fn a_timer_outlives_the_process_that_set_it() {
    run(|mut mb: Mailbox<&'static str>| {
        let me = mb.pid();
        let setter = otp::spawn(move || {
            otp::send_after(&me, "from the grave", Duration::from_millis(50));
        });
        assert_eq!(recv(&mut mb), "from the grave");
        assert!(!otp::process::alive(&setter));
    });
}
