//! Chapter 3, "Messages, selective receive and timeouts": ordering, selection, deadlines,
//! tagged replies, timers and `Term` mailboxes.

use std::time::{Duration, Instant};

use otp::{make_ref, Mailbox, Pid, Ref, Term};

// ANCHOR: fifo
#[test]
fn one_senders_messages_arrive_in_order() {
    otp::run(|mut mb: Mailbox<(char, u32)>| {
        // Three senders, a hundred messages each.
        for who in ['a', 'b', 'c'] {
            let me = mb.pid();
            otp::spawn(move || {
                for i in 0..100 {
                    me.send((who, i));
                }
            });
        }
        let mut next = [0, 0, 0];
        for _ in 0..300 {
            let (who, i) = mb.receive();
            let k = who as usize - 'a' as usize;
            // Each sender's messages arrive in the order it sent them...
            assert_eq!(i, next[k]);
            next[k] += 1;
            // ...but nothing orders one sender's messages against another's.
        }
    });
}
// ANCHOR_END: fifo

// ANCHOR: job
#[derive(Debug, PartialEq)]
enum Job {
    Low(u32),
    High(u32),
}
// ANCHOR_END: job

// ANCHOR: selective
#[test]
fn selective_receive_leaves_the_rest_in_order() {
    otp::run(|mut mb: Mailbox<Job>| {
        let me = mb.pid();
        me.send(Job::Low(1));
        me.send(Job::High(2));
        me.send(Job::Low(3));

        // The oldest message that matches; the ones skipped stay where they were.
        assert_eq!(mb.receive_if(|j| matches!(j, Job::High(_))), Job::High(2));
        assert_eq!(mb.receive(), Job::Low(1));
        assert_eq!(mb.receive(), Job::Low(3));
    });
}
// ANCHOR_END: selective

// ANCHOR: receive_macro
#[test]
fn elixirs_receive() {
    otp::run(|mut mb: Mailbox<Job>| {
        let me = mb.pid();
        me.send(Job::High(20));
        me.send(Job::Low(3));

        // receive do
        //   {:high, n} when n < 10 -> ...
        //   {:low, n} -> ...
        // after
        //   100 -> ...
        // end
        let taken = otp::receive! { mb,
            Job::High(n) if n < 10 => format!("urgent {n}"),
            Job::Low(n) => format!("low {n}"),
            after Duration::from_millis(100) => "nothing".to_owned(),
        };
        // High(20) fails its guard and stays in the mailbox; Low(3) is taken.
        assert_eq!(taken, "low 3");
        assert_eq!(mb.len(), 1);

        // No clause takes High(20): the `after` clause runs when the time is up.
        let again = otp::receive! { mb,
            Job::High(n) if n < 10 => format!("urgent {n}"),
            after Duration::from_millis(20) => "nothing".to_owned(),
        };
        assert_eq!(again, "nothing");
    });
}
// ANCHOR_END: receive_macro

// ANCHOR: oldest_wins
#[test]
fn the_oldest_message_wins_not_the_first_clause() {
    otp::run(|mut mb: Mailbox<Job>| {
        let me = mb.pid();
        me.send(Job::Low(1));
        me.send(Job::High(2));

        // Both clauses match something, and the *oldest message* that matches any clause is
        // taken: clause order is no priority.
        let taken = otp::receive! { mb,
            Job::High(n) => format!("high {n}"),
            Job::Low(n) => format!("low {n}"),
        };
        assert_eq!(taken, "low 1");
    });
}
// ANCHOR_END: oldest_wins

// ANCHOR: priority
/// Takes a `High` job if one is waiting, else the oldest job of any kind.
fn next_job(mb: &mut Mailbox<Job>) -> Job {
    let high = |j: &Job| matches!(j, Job::High(_));
    match mb.receive_if_timeout(Duration::ZERO, high) {
        Some(job) => job,
        None => mb.receive(),
    }
}
// ANCHOR_END: priority

// ANCHOR: priority_use
#[test]
fn a_priority_receive_takes_two_receives() {
    otp::run(|mut mb: Mailbox<Job>| {
        let me = mb.pid();
        me.send(Job::Low(1));
        me.send(Job::High(2));
        me.send(Job::Low(3));
        assert_eq!(next_job(&mut mb), Job::High(2));
        assert_eq!(next_job(&mut mb), Job::Low(1));
        assert_eq!(next_job(&mut mb), Job::Low(3));
    });
}
// ANCHOR_END: priority_use

// ANCHOR: deadline
#[test]
fn a_timeout_is_a_deadline() {
    otp::run(|mut mb: Mailbox<Job>| {
        let me = mb.pid();
        // Noise that the receive below skips, arriving every 10 ms.
        let noise = otp::spawn(move || {
            for i in 0.. {
                me.send(Job::Low(i));
                otp::sleep(Duration::from_millis(10));
            }
        });
        let started = Instant::now();
        let got = mb.receive_if_timeout(Duration::from_millis(60), |j| matches!(j, Job::High(_)));
        assert_eq!(got, None);
        // Skipped messages did not push the deadline back.
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(60) && waited < Duration::from_millis(500));
        otp::process::exit(&noise, otp::ExitReason::Kill);
        // `after 0`: take a message only if one is already there.
        assert!(matches!(mb.try_receive(), Some(Job::Low(_))));
    });
}
// ANCHOR_END: deadline

// ANCHOR: tagged
/// A request tagged with a fresh reference, so the answer cannot be mistaken for another.
struct Ask {
    tag: Ref,
    question: u32,
    reply_to: Pid<(Ref, u32)>,
}

fn ask(server: &Pid<Ask>, mb: &mut Mailbox<(Ref, u32)>, question: u32) -> Option<u32> {
    let tag = make_ref();
    server.send(Ask {
        tag,
        question,
        reply_to: mb.pid(),
    });
    // Only the answer carrying our tag; other messages wait their turn.
    mb.receive_if_timeout(Duration::from_secs(5), |(t, _)| *t == tag)
        .map(|(_, answer)| answer)
}
// ANCHOR_END: tagged

// ANCHOR: tagged_use
#[test]
fn tagged_requests() {
    otp::run(|mut mb: Mailbox<(Ref, u32)>| {
        let doubler = otp::spawn(|mut mb: Mailbox<Ask>| loop {
            let Ask {
                tag,
                question,
                reply_to,
            } = mb.receive();
            reply_to.send((tag, question * 2));
        });
        // A stale answer from some earlier exchange is already waiting...
        mb.pid().send((make_ref(), 999));
        // ...and is not taken for the answer to this one.
        assert_eq!(ask(&doubler, &mut mb, 21), Some(42));
        assert_eq!(mb.len(), 1);
    });
}
// ANCHOR_END: tagged_use

// ANCHOR: timers
#[test]
fn timers() {
    otp::run(|mut mb: Mailbox<&'static str>| {
        let me = mb.pid();
        let tick = otp::send_after(&me, "tick", Duration::from_millis(20));
        let never = otp::send_after(&me, "never", Duration::from_secs(60));

        assert!(otp::read_timer(&never).is_some()); // time left
        assert!(otp::cancel_timer(&never).is_some()); // cancelled before it fired
        assert_eq!(otp::cancel_timer(&never), None); // already cancelled

        assert_eq!(mb.receive(), "tick");
        assert_eq!(otp::read_timer(&tick), None); // fired
        assert_eq!(mb.receive_timeout(Duration::from_millis(50)), None); // no "never"
    });
}
// ANCHOR_END: timers

// ANCHOR: term
#[test]
fn a_mailbox_of_anything() {
    otp::run(|mut mb: Mailbox<Term>| {
        let me = mb.pid();
        me.send(Term::new(("add", 10, 5)));
        me.send(Term::new("stop"));
        me.send(Term::new(3.5f64));

        // Elixir-style: any value goes in; the receiver tells them apart by type.
        let mut seen = Vec::new();
        for _ in 0..3 {
            let term = mb.receive();
            let line = if let Some((op, a, b)) = term.downcast_ref::<(&str, i32, i32)>() {
                format!("{op} {a} {b}")
            } else if let Some(word) = term.downcast_ref::<&str>() {
                format!(":{word}")
            } else {
                format!("unknown message: {term:?}")
            };
            seen.push(line);
        }
        assert_eq!(seen, ["add 10 5", ":stop", "unknown message: Term<f64>"]);
    });
}
// ANCHOR_END: term
