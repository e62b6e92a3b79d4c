//! Sending and receiving (spec 3.2, 3.3): pairwise FIFO, silent sends to the dead, selective
//! receive, guards, timeouts, `Term` mailboxes and the mailbox length.

mod common;
use common::*;
use std::{
    sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use otp::{Mailbox, Pid, Term};

const FIFO_N: u32 = 100_000;

#[test]
fn fifo_from_one_sender_to_one_receiver() {
    run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        otp::spawn(move || {
            for i in 0..FIFO_N {
                me.send(i);
            }
        });
        for expected in 0..FIFO_N {
            let got = recv(&mut mb);
            assert_eq!(got, expected, "message {expected} out of order");
        }
        assert!(mb.is_empty());
    });
}

#[test]
fn fifo_towards_a_process_on_another_scheduler() {
    run(|mut mb: Mailbox<Result<u32, String>>| {
        let me = mb.pid();
        let checker = otp::spawn(move |mut cmb: Mailbox<u32>| {
            for expected in 0..FIFO_N {
                match cmb.receive_timeout(PROMPTLY) {
                    Some(got) if got == expected => {}
                    other => return me.send(Err(format!("expected {expected}, got {other:?}"))),
                }
            }
            me.send(Ok(FIFO_N));
        });
        for i in 0..FIFO_N {
            checker.send(i);
        }
        assert_eq!(recv(&mut mb), Ok(FIFO_N));
    });
}

#[test]
fn concurrent_senders_each_keep_their_order() {
    const SENDERS: usize = 4;
    const EACH: u32 = 25_000;
    run(|mut mb: Mailbox<(usize, u32)>| {
        let go = Arc::new(AtomicBool::new(false));
        for id in 0..SENDERS {
            let me = mb.pid();
            let go = go.clone();
            otp::spawn(move || {
                while !go.load(SeqCst) {
                    otp::yield_now();
                }
                for seq in 0..EACH {
                    me.send((id, seq));
                }
            });
        }
        go.store(true, SeqCst);
        let mut next = [0u32; SENDERS];
        for _ in 0..SENDERS * EACH as usize {
            let (id, seq) = recv(&mut mb);
            assert_eq!(
                seq, next[id],
                "sender {id}: got {seq}, expected {}",
                next[id]
            );
            next[id] += 1;
        }
        assert_eq!(next, [EACH; SENDERS]);
    });
}

#[test]
fn send_to_a_dead_pid_is_silent() {
    run(|mut mb: Mailbox<&'static str>| {
        let me = mb.pid();
        let child = otp::spawn(move |mut cmb: Mailbox<String>| {
            let _ = cmb.receive();
            me.send("bye");
        });
        child.send("first".to_owned());
        assert_eq!(recv(&mut mb), "bye");
        wait_until("the child is dead", || !otp::process::alive(&child));
        for i in 0..1000 {
            child.send(format!("into the void {i}"));
        }
        assert!(!otp::process::alive(&child));
        assert!(otp::process::info(&child).is_none());
        // The sender is unharmed and its own mailbox still works.
        mb.pid().send("still here");
        assert_eq!(recv(&mut mb), "still here");
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Letter {
    A,
    B,
    C,
}

#[test]
fn selective_receive_takes_the_match_and_keeps_the_rest_in_order() {
    run(|mut mb: Mailbox<Letter>| {
        let me = mb.pid();
        for l in [Letter::A, Letter::B, Letter::C] {
            me.send(l);
        }
        assert_eq!(mb.receive_if(|l| *l == Letter::B), Letter::B);
        assert_eq!(mb.len(), 2);
        assert_eq!(mb.receive(), Letter::A);
        assert_eq!(mb.receive(), Letter::C);
        assert!(mb.is_empty());
    });
}

#[test]
fn selective_receive_across_processes_skips_then_waits() {
    run(|mut mb: Mailbox<(u32, Letter)>| {
        let me = mb.pid();
        let sender = otp::spawn(move |mut smb: Mailbox<()>| {
            me.send((1, Letter::A));
            me.send((2, Letter::A));
            smb.receive();
            me.send((3, Letter::C));
        });
        // Wait for both A's, then ask for a C that is not there yet: the A's are skipped, the
        // receive waits, and the C is taken when it arrives.
        wait_until("two messages queued", || mb.len() == 2);
        sender.send(());
        assert_eq!(mb.receive_if(|(_, l)| *l == Letter::C), (3, Letter::C));
        assert_eq!(mb.receive(), (1, Letter::A));
        assert_eq!(mb.receive(), (2, Letter::A));
    });
}

#[derive(Debug, PartialEq, Eq)]
enum Priority {
    Low,
    High,
}

#[test]
fn message_order_wins_over_clause_order() {
    run(|mut mb: Mailbox<Priority>| {
        let me = mb.pid();
        me.send(Priority::Low);
        me.send(Priority::High);
        // Elixir: `receive do :high -> ...; :low -> ... end` on [:low, :high] takes :low.
        // The clauses here are tried high first, but the oldest message that any accepts wins.
        let mut tried = Vec::new();
        let got = mb.receive_if(|m| {
            tried.push(format!("{m:?}"));
            matches!(m, Priority::High) || matches!(m, Priority::Low)
        });
        assert_eq!(got, Priority::Low);
        assert_eq!(tried, ["Low"], "only the oldest message needed looking at");
        assert_eq!(mb.receive(), Priority::High);

        // The same through `select`, the general form.
        me.send(Priority::Low);
        me.send(Priority::High);
        let got = mb.select(otp::Timeout::Infinity, |m| {
            matches!(m, otp::MessageRef::User(Priority::High | Priority::Low))
        });
        assert!(
            matches!(got, Some(otp::Message::User(Priority::Low))),
            "{got:?}"
        );
        assert_eq!(mb.receive(), Priority::High);
    });
}

#[derive(Debug, PartialEq, Eq)]
enum Calc {
    Divide(i64, i64),
    Result(i64),
}

#[test]
fn guards_leave_unmatched_messages_queued() {
    run(|mut mb: Mailbox<Calc>| {
        let me = mb.pid();
        me.send(Calc::Divide(10, 0));
        me.send(Calc::Divide(10, 2));
        // `{:divide, a, b} when b != 0`
        let got = mb.receive_if(|m| matches!(m, Calc::Divide(_, b) if *b != 0));
        let Calc::Divide(a, b) = got else {
            unreachable!()
        };
        me.send(Calc::Result(a / b));
        assert_eq!(mb.len(), 2);
        // The division by zero is still there, first.
        assert_eq!(mb.receive(), Calc::Divide(10, 0));
        assert_eq!(mb.receive(), Calc::Result(5));
        // A guard that nothing passes leaves everything queued and times out.
        me.send(Calc::Divide(1, 0));
        let none = mb.receive_if_timeout(
            Duration::from_millis(10),
            |m| matches!(m, Calc::Divide(_, b) if *b != 0),
        );
        assert_eq!(none, None);
        assert_eq!(mb.len(), 1);
        assert_eq!(mb.try_receive(), Some(Calc::Divide(1, 0)));
    });
}

#[test]
fn a_zero_timeout_polls() {
    run(|mut mb: Mailbox<u8>| {
        let t = Instant::now();
        assert_eq!(mb.receive_timeout(Duration::ZERO), None);
        assert_eq!(mb.try_receive(), None);
        assert_eq!(mb.receive_if_timeout(Duration::ZERO, |_| true), None);
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "a poll waited {:?}",
            t.elapsed()
        );
        mb.pid().send(1);
        mb.pid().send(2);
        assert_eq!(mb.receive_if_timeout(Duration::ZERO, |n| *n == 3), None);
        assert_eq!(mb.len(), 2, "a failed poll takes nothing");
        assert_eq!(mb.receive_timeout(Duration::ZERO), Some(1));
        assert_eq!(mb.try_receive(), Some(2));
        assert_eq!(mb.try_receive(), None);
        // `otp::Timeout::After(ZERO)` is the same thing.
        assert_eq!(
            mb.receive_timeout(otp::Timeout::After(Duration::ZERO)),
            None
        );
    });
}

#[test]
fn a_receive_timeout_waits_at_least_its_duration() {
    run(|mut mb: Mailbox<u8>| {
        let d = Duration::from_millis(50);
        let t = Instant::now();
        assert_eq!(mb.receive_timeout(d), None);
        assert!(
            t.elapsed() >= d,
            "receive_timeout({d:?}) returned after {:?}",
            t.elapsed()
        );
    });
}

#[test]
fn consecutive_receive_timeouts_each_wait_their_duration() {
    run(|mut mb: Mailbox<u8>| {
        for ms in [1, 20, 50] {
            let d = Duration::from_millis(ms);
            let t = Instant::now();
            assert_eq!(mb.receive_timeout(d), None);
            assert!(
                t.elapsed() >= d,
                "receive_timeout({d:?}) returned after {:?}",
                t.elapsed()
            );
        }
    });
}

#[test]
fn a_receive_timeout_after_a_sleep_waits_its_duration() {
    run(|mut mb: Mailbox<u8>| {
        otp::sleep(Duration::from_millis(5));
        let d = Duration::from_millis(50);
        let t = Instant::now();
        assert_eq!(mb.receive_timeout(d), None);
        assert!(
            t.elapsed() >= d,
            "receive_timeout({d:?}) returned after {:?}",
            t.elapsed()
        );
    });
}

#[derive(Debug, PartialEq, Eq)]
enum Traffic {
    Noise,
    Wanted,
}

#[test]
fn non_matching_arrivals_do_not_reset_the_timeout() {
    run(|mut mb: Mailbox<Traffic>| {
        let me = mb.pid();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_noise = stop.clone();
        otp::spawn(move || {
            // Noise every 5 ms until told to stop (or for at most 10 s).
            let t = Instant::now();
            while !stop_noise.load(SeqCst) && t.elapsed() < Duration::from_secs(10) {
                me.send(Traffic::Noise);
                otp::sleep(Duration::from_millis(5));
            }
        });
        let wait = Duration::from_millis(200);
        let t = Instant::now();
        let got = mb.receive_if_timeout(wait, |m| *m == Traffic::Wanted);
        let elapsed = t.elapsed();
        stop.store(true, SeqCst);
        assert_eq!(got, None);
        assert!(elapsed >= wait, "timed out early, after {elapsed:?}");
        // A timer reset by each noise message would only expire once the noise stops (10 s).
        assert!(
            elapsed < Duration::from_secs(5),
            "the timeout was pushed back: {elapsed:?}"
        );
        assert!(!mb.is_empty(), "noise arrived during the wait");
        while let Some(m) = mb.try_receive() {
            assert_eq!(m, Traffic::Noise);
        }
    });
}

#[test]
fn a_term_mailbox_takes_any_type() {
    run(|mut mb: Mailbox<Term>| {
        let me = mb.pid();
        otp::spawn(move || {
            me.send(Term::new(42u32));
            me.send(Term::new("text"));
            me.send(Term::new(String::from("owned")));
            me.send(Term::new((1u8, 'x')));
        });
        // Select by type, out of arrival order.
        let pair = mb.receive_if(|t| t.is::<(u8, char)>());
        assert_eq!(pair.downcast::<(u8, char)>().unwrap(), (1, 'x'));
        let s = mb.receive_if(|t| t.is::<String>());
        assert_eq!(s.type_name(), std::any::type_name::<String>());
        assert_eq!(s.downcast::<String>().unwrap(), "owned");
        // The rest in order; a wrong downcast gives the term back intact.
        let n = recv(&mut mb);
        assert!(n.is::<u32>());
        assert_eq!(n.downcast_ref::<u64>(), None);
        let n = n.downcast::<i32>().unwrap_err();
        assert_eq!(n.type_name(), "u32");
        assert_eq!(n.downcast::<u32>().unwrap(), 42);
        let text = recv(&mut mb);
        assert_eq!(text.downcast_ref::<&str>(), Some(&"text"));
        assert!(format!("{text:?}").contains("str"));
        assert!(mb.is_empty());
    });
}

#[test]
fn mailbox_len_and_message_queue_len_agree() {
    run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        assert_eq!(mb.len(), 0);
        assert!(mb.is_empty());
        for i in 0..5 {
            me.send(i);
        }
        assert_eq!(mb.len(), 5);
        assert!(!mb.is_empty());
        let info = otp::process::info(otp::self_pid()).unwrap();
        assert_eq!(info.message_queue_len, 5);
        assert_eq!(mb.receive_if(|n| *n == 3), 3);
        assert_eq!(mb.len(), 4);
        assert_eq!(
            otp::process::info(otp::self_pid())
                .unwrap()
                .message_queue_len,
            4
        );
        // A failed selective receive takes nothing.
        assert_eq!(mb.receive_if_timeout(Duration::ZERO, |n| *n == 99), None);
        assert_eq!(mb.len(), 4);
        while mb.try_receive().is_some() {}
        assert_eq!(mb.len(), 0);
        assert_eq!(
            otp::process::info(otp::self_pid())
                .unwrap()
                .message_queue_len,
            0
        );

        // Messages from another process count as soon as they are sent.
        let sender: Pid<u32> = otp::spawn(move |mut smb: Mailbox<u32>| {
            let n = smb.receive();
            for i in 0..n {
                me.send(i);
            }
        });
        sender.send(7);
        wait_until("7 messages queued", || mb.len() == 7);
        assert_eq!(
            otp::process::info(otp::self_pid())
                .unwrap()
                .message_queue_len,
            7
        );
    });
}

#[test]
fn a_waiting_receive_with_a_timeout_takes_a_match_that_arrives() {
    run(|mut mb: Mailbox<Traffic>| {
        let me = mb.pid();
        let sender = otp::spawn(move |mut smb: Mailbox<()>| {
            smb.receive();
            me.send(Traffic::Noise);
            me.send(Traffic::Wanted);
        });
        sender.send(());
        let t = Instant::now();
        let got = mb.receive_if_timeout(Duration::from_secs(30), |m| *m == Traffic::Wanted);
        assert_eq!(got, Some(Traffic::Wanted));
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "woke only at {:?}",
            t.elapsed()
        );
        assert_eq!(recv(&mut mb), Traffic::Noise);
    });
}

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

#[test]
fn messages_left_in_a_dead_process_mailbox_are_freed() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let child = otp::spawn(move |mut cmb: Mailbox<Option<DropFlag>>| {
            // Takes only `None`: the flags stay queued.
            cmb.receive_if(Option::is_none);
            me.send(());
        });
        let queued = Arc::new(AtomicBool::new(false));
        child.send(Some(DropFlag(queued.clone())));
        child.send(None);
        recv(&mut mb);
        wait_until("the queued message is freed", || queued.load(SeqCst));
        wait_until("the child is dead", || !otp::process::alive(&child));
        // A message sent after the death is freed too (at the latest with the last pid).
        let late = Arc::new(AtomicBool::new(false));
        child.send(Some(DropFlag(late.clone())));
        drop(child);
        wait_until("the late message is freed", || late.load(SeqCst));
    });
}

#[test]
fn a_plain_thread_can_send_to_a_process() {
    run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        let t = thread::spawn(move || {
            for i in 0..1000 {
                me.send(i);
            }
        });
        for expected in 0..1000 {
            assert_eq!(recv(&mut mb), expected);
        }
        t.join().unwrap();
    });
}

/// A relative timeout is fixed at the scheduler's next clock reading (`runtime::timer` docs):
/// with one scheduler kept busy by a process that only yields, its queues never run dry, and
/// the readings it still takes (every few dozen rounds) must fix and fire the deadline.
#[test]
fn a_receive_timeout_fires_on_a_scheduler_that_never_runs_dry() {
    run_on(1, |mut mb: Mailbox<u8>| {
        let stop = Arc::new(AtomicBool::new(false));
        let spinning = stop.clone();
        otp::spawn(move || {
            while !spinning.load(SeqCst) {
                otp::yield_now();
            }
        });
        for ms in [0, 1, 30] {
            let d = Duration::from_nanos(ms * 1_000_000 + 1);
            let t = Instant::now();
            assert_eq!(mb.receive_timeout(d), None);
            assert!(
                t.elapsed() >= d,
                "timed out early: {:?} < {d:?}",
                t.elapsed()
            );
        }
        stop.store(true, SeqCst);
    });
}
