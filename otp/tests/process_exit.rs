//! Exits (spec 3.4, E03): `otp::exit` on oneself, `process::exit` on others with `normal`,
//! custom reasons and `kill`, trapping targets, destructors, and exit signals to oneself.

mod common;
use common::*;
use std::{
    io::Read,
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use otp::{
    process::{self},
    AnyPid, ExitReason, Mailbox, Message, Pid,
};

/// Sets its flag when dropped: shows that a process's destructors ran.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

#[test]
fn exit_ends_the_caller_with_its_reason() {
    assert_eq!(
        block_on(|| -> u8 { otp::exit(ExitReason::custom("bye")) }),
        Err(ExitReason::custom("bye"))
    );
    assert_eq!(
        block_on(|| -> u8 { otp::exit(ExitReason::Shutdown) }),
        Err(ExitReason::Shutdown)
    );
    assert_eq!(
        block_on(|| -> u8 { otp::exit(ExitReason::shutdown_with("restart")) }),
        Err(ExitReason::shutdown_with("restart"))
    );
    // `exit(:kill)` by the process itself ends it with `kill`, not `killed` (E03 Q).
    assert_eq!(
        block_on(|| -> u8 { otp::exit(ExitReason::Kill) }),
        Err(ExitReason::Kill)
    );
    assert_eq!(
        block_on(|| -> u8 { otp::exit(ExitReason::Normal) }),
        Err(ExitReason::Normal)
    );
}

#[derive(Debug, PartialEq)]
struct Overheated(u32);

#[test]
fn exit_with_a_value_of_ones_own_type() {
    let r = block_on(|| -> u8 { otp::exit(ExitReason::custom(Overheated(90))) });
    let Err(ExitReason::Custom(c)) = &r else {
        panic!("expected a custom reason, got {r:?}")
    };
    assert_eq!(c.downcast_ref::<Overheated>(), Some(&Overheated(90)));
    assert_eq!(r, Err(ExitReason::custom(Overheated(90))));
}

#[test]
fn exit_runs_the_callers_destructors() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let r = block_on(move || -> u8 {
        let _guard = DropFlag(flag);
        otp::exit(ExitReason::custom("bye"))
    });
    assert_eq!(r, Err(ExitReason::custom("bye")));
    assert!(dropped.load(SeqCst), "the root's destructors did not run");
}

#[test]
fn kill_ends_a_process_parked_in_receive_and_runs_its_destructors() {
    run(|mut mb: Mailbox<()>| {
        let dropped = Arc::new(AtomicBool::new(false));
        let after_receive = Arc::new(AtomicBool::new(false));
        let me = mb.pid();
        let (d, a) = (dropped.clone(), after_receive.clone());
        let victim = otp::spawn(move |mut vmb: Mailbox<()>| {
            let _guard = DropFlag(d);
            me.send(());
            vmb.receive();
            a.store(true, SeqCst);
        });
        recv(&mut mb);
        assert!(process::alive(&victim));
        process::exit(&victim, ExitReason::Kill);
        wait_until("the victim is dead", || !process::alive(&victim));
        assert!(dropped.load(SeqCst), "the victim's destructors did not run");
        assert!(
            !after_receive.load(SeqCst),
            "the victim ran past its receive"
        );
        assert!(process::info(&victim).is_none());
    });
}

#[test]
fn kill_ends_a_sleeping_process_at_once() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let sleeper = otp::spawn(move || {
            me.send(());
            otp::sleep(Duration::from_secs(3600));
        });
        recv(&mut mb);
        process::exit(&sleeper, ExitReason::Kill);
        wait_until("the sleeper is dead", || !process::alive(&sleeper));
    });
}

#[test]
fn a_process_killed_before_it_ran_never_runs() {
    // One scheduler, held by the root: the victim cannot start before the kill.
    run_on(1, || {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let victim = otp::spawn(move || r.store(true, SeqCst));
        process::exit(&victim, ExitReason::Kill);
        wait_until("the victim is dead", || !process::alive(&victim));
        assert!(!ran.load(SeqCst), "a killed process ran its function");
    });
}

#[test]
fn exit_normal_is_ignored_by_a_non_trapping_process() {
    run(|mut mb: Mailbox<&'static str>| {
        let me = mb.pid();
        let target = otp::spawn(move |mut tmb: Mailbox<()>| loop {
            tmb.receive();
            me.send("pong");
        });
        process::exit(&target, ExitReason::Normal);
        // The ping is queued behind the exit signal: a reply proves the signal was handled
        // and ignored.
        target.send(());
        assert_eq!(recv(&mut mb), "pong");
        assert!(process::alive(&target));
        assert!(mb.is_empty());
        // The ignored signal is gone: it is not left as a message.
        assert_eq!(process::info(&target).unwrap().message_queue_len, 0);
        process::exit(&target, ExitReason::Kill);
    });
}

#[test]
fn exit_with_another_reason_ends_a_non_trapping_process() {
    run(|mut mb: Mailbox<()>| {
        for reason in [
            ExitReason::custom("custom_reason"),
            ExitReason::Shutdown,
            ExitReason::shutdown_with("custom"),
            ExitReason::Killed,
        ] {
            let dropped = Arc::new(AtomicBool::new(false));
            let d = dropped.clone();
            let me = mb.pid();
            let target = otp::spawn(move |mut tmb: Mailbox<()>| {
                let _guard = DropFlag(d);
                me.send(());
                tmb.receive();
            });
            recv(&mut mb);
            process::exit(&target, reason.clone());
            wait_until("the target is dead", || !process::alive(&target));
            assert!(dropped.load(SeqCst), "destructors did not run ({reason})");
        }
    });
}

#[derive(Debug)]
enum Report {
    Ready,
    Exit(AnyPid, ExitReason),
    Pong,
}

/// A process that traps exits and forwards every EXIT message to `to`, answering `()` with
/// `Pong`.
fn trapper(to: Pid<Report>) -> impl FnOnce(Mailbox<()>) + Send + 'static {
    move |mut mb: Mailbox<()>| {
        assert!(!process::trap_exit(true));
        to.send(Report::Ready);
        loop {
            match mb.receive_message() {
                Message::Exit { from, reason } => to.send(Report::Exit(from, reason)),
                Message::User(()) => to.send(Report::Pong),
                _ => {}
            }
        }
    }
}

#[test]
fn a_trapping_process_receives_exit_signals_as_messages() {
    run(|mut mb: Mailbox<Report>| {
        let target = otp::spawn(trapper(mb.pid()));
        assert!(matches!(recv(&mut mb), Report::Ready));
        for reason in [
            ExitReason::Normal,
            ExitReason::custom("custom_reason"),
            ExitReason::Shutdown,
            ExitReason::custom(("custom", 42)),
            // `killed` sent explicitly is an ordinary reason (E03 I).
            ExitReason::Killed,
        ] {
            process::exit(&target, reason.clone());
            match recv(&mut mb) {
                Report::Exit(from, got) => {
                    assert_eq!(from, otp::self_pid());
                    assert_eq!(got, reason);
                }
                other => panic!("expected the EXIT for {reason}, got {other:?}"),
            }
            assert!(
                process::alive(&target),
                "a trapping process died of {reason}"
            );
        }
        // Signals and messages from one sender stay in order.
        process::exit(&target, ExitReason::custom("first"));
        target.send(());
        process::exit(&target, ExitReason::custom("second"));
        let order: Vec<String> = (0..3)
            .map(|_| match recv(&mut mb) {
                Report::Exit(_, r) => r.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(order, [":first", "Pong", ":second"]);
    });
}

#[test]
fn kill_cannot_be_trapped() {
    run(|mut mb: Mailbox<Report>| {
        let target = otp::spawn(trapper(mb.pid()));
        assert!(matches!(recv(&mut mb), Report::Ready));
        process::exit(&target, ExitReason::Kill);
        wait_until("the trapping target is dead", || !process::alive(&target));
        // Anything it sent would be here by now: no EXIT message was delivered to it.
        assert!(
            mb.try_receive().is_none(),
            "the target saw the kill as a message"
        );
    });
}

#[test]
fn exit_normal_to_oneself_ends_a_non_trapping_process() {
    run(|mut mb: Mailbox<&'static str>| {
        let me = mb.pid();
        let dropped = Arc::new(AtomicBool::new(false));
        let d = dropped.clone();
        let p = otp::spawn(move || {
            let _guard = DropFlag(d);
            me.send("before");
            process::exit(otp::self_pid(), ExitReason::Normal);
            me.send("after");
        });
        assert_eq!(recv(&mut mb), "before");
        wait_until("the process is dead", || !process::alive(&p));
        assert!(dropped.load(SeqCst));
        assert_eq!(
            mb.try_receive(),
            None,
            "the process went on after exit(self, normal)"
        );
    });
    // The root, too: its result is the normal exit, not a value.
    assert_eq!(
        block_on(|| -> u8 {
            process::exit(otp::self_pid(), ExitReason::Normal);
            1
        }),
        Err(ExitReason::Normal)
    );
}

#[test]
fn exit_normal_to_oneself_while_trapping_is_a_message() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        process::exit(otp::self_pid(), ExitReason::Normal);
        match mb.receive_message() {
            Message::Exit { from, reason } => {
                assert_eq!(from, otp::self_pid());
                assert_eq!(reason, ExitReason::Normal);
            }
            other => panic!("expected an EXIT message, got {other:?}"),
        }
        assert!(process::alive(otp::self_pid()));
    });
}

#[test]
fn kill_to_oneself_ends_the_caller_with_killed() {
    let r = block_on(|| -> u8 {
        process::trap_exit(true);
        process::exit(otp::self_pid(), ExitReason::Kill);
        1
    });
    assert_eq!(r, Err(ExitReason::Killed));
}

#[test]
fn exit_to_a_dead_process_is_silent() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let p = otp::spawn(move || me.send(()));
        recv(&mut mb);
        wait_until("the process is dead", || !process::alive(&p));
        process::exit(&p, ExitReason::Kill);
        process::exit(&p, ExitReason::custom("late"));
        assert!(process::alive(otp::self_pid()));
    });
}

#[test]
fn kill_ends_a_busy_process_at_its_next_runtime_call() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let busy = otp::spawn(move || {
            me.send(());
            loop {
                otp::consume_reductions(1);
            }
        });
        recv(&mut mb);
        process::exit(&busy, ExitReason::Kill);
        wait_until("the busy process is dead", || !process::alive(&busy));
    });
}

#[test]
fn exit_with_a_reason_to_oneself_ends_the_caller_with_it() {
    let r = block_on(|| -> u8 {
        process::exit(otp::self_pid(), ExitReason::custom("self_inflicted"));
        1
    });
    assert_eq!(r, Err(ExitReason::custom("self_inflicted")));
}

#[test]
fn exit_messages_wait_for_receive_message_and_count_in_the_queue() {
    run(|mut mb: Mailbox<u32>| {
        process::trap_exit(true);
        process::exit(otp::self_pid(), ExitReason::custom("one"));
        mb.pid().send(1);
        assert_eq!(mb.len(), 2, "the EXIT message is in the queue");
        assert_eq!(process::info(otp::self_pid()).unwrap().message_queue_len, 2);
        // `receive` takes user messages only and leaves the EXIT where it is.
        assert_eq!(mb.receive(), 1);
        assert_eq!(mb.len(), 1);
        match mb.receive_message() {
            Message::Exit { reason, .. } => assert_eq!(reason, ExitReason::custom("one")),
            other => panic!("expected the EXIT, got {other:?}"),
        }
        assert!(mb.is_empty());
    });
}

/// Runs `scenario` in a child process (this test binary again, filtered to `test_name`), so that
/// a scenario that aborts the OS process fails only this test. Fails if the child fails,
/// aborts, or hangs.
fn isolated(test_name: &str, scenario: impl FnOnce()) {
    const MARK: &str = "OTP_TESTS_ISOLATED_CHILD";
    if std::env::var_os(MARK).is_some() {
        scenario();
        return;
    }
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            test_name,
            "--exact",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env(MARK, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("re-running the test binary");
    let readers = [
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>),
    ]
    .map(|stream| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_string(&mut text);
            }
            text
        })
    });
    let deadline = Instant::now() + HANG_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the scenario hung (no exit within {HANG_LIMIT:?})");
        }
        thread::sleep(Duration::from_millis(20));
    };
    let output: Vec<String> = readers
        .into_iter()
        .map(|r| r.join().unwrap_or_default())
        .collect();
    assert!(
        status.success(),
        "the scenario failed ({status}); its output:\n{}",
        output.join("\n")
    );
}

/// When dropped, sends `count` numbers and then `u32::MAX` to `to`, and naps first if `nap`.
struct Farewell {
    to: Pid<u32>,
    count: u32,
    nap: bool,
}

impl Drop for Farewell {
    fn drop(&mut self) {
        if self.nap {
            otp::sleep(Duration::from_millis(1));
        }
        for i in 0..self.count {
            self.to.send(i);
        }
        self.to.send(u32::MAX);
    }
}

/// How the process holding a [`Farewell`] ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// Killed by another process while parked in receive.
    Killed,
    /// Calls `otp::exit` itself.
    Exits,
    /// Panics.
    Panics,
}

/// On a runtime with `schedulers` schedulers, spawns a process holding a [`Farewell`], ends it
/// as `end` says once it is parked, and checks that every farewell message arrives.
fn farewell_scenario(schedulers: usize, count: u32, nap: bool, end: End) {
    let got = run_on(schedulers, move |mut mb: Mailbox<u32>| {
        let me = mb.pid();
        let victim = otp::spawn(move |mut vmb: Mailbox<End>| {
            let _farewell = Farewell {
                to: me.clone(),
                count,
                nap,
            };
            me.send(u32::MAX - 1);
            match vmb.receive() {
                End::Exits => otp::exit(ExitReason::custom("bye")),
                End::Panics => panic!("bye"),
                End::Killed => unreachable!("killed processes receive nothing"),
            }
        });
        assert_eq!(recv(&mut mb), u32::MAX - 1);
        match end {
            End::Killed => process::exit(&victim, ExitReason::Kill),
            other => victim.send(other),
        }
        let mut got = 0;
        while recv(&mut mb) != u32::MAX {
            got += 1;
        }
        got
    });
    assert_eq!(got, count);
}

#[test]
fn a_dying_process_destructor_can_send_a_message() {
    isolated("a_dying_process_destructor_can_send_a_message", || {
        farewell_scenario(2, 1, false, End::Killed);
        farewell_scenario(2, 1, false, End::Exits);
        farewell_scenario(2, 1, false, End::Panics);
    });
}

#[test]
fn a_killed_process_destructor_can_send_many_messages() {
    isolated("a_killed_process_destructor_can_send_many_messages", || {
        farewell_scenario(2, 10_000, false, End::Killed);
    });
}

#[test]
fn a_killed_process_destructor_can_sleep() {
    isolated("a_killed_process_destructor_can_sleep", || {
        farewell_scenario(2, 1, true, End::Killed);
    });
}

#[test]
fn an_exiting_process_destructor_can_send_many_messages() {
    isolated(
        "an_exiting_process_destructor_can_send_many_messages",
        || farewell_scenario(2, 10_000, false, End::Exits),
    );
}

#[test]
fn a_panicking_process_destructor_can_send_many_messages() {
    isolated(
        "a_panicking_process_destructor_can_send_many_messages",
        || farewell_scenario(1, 10_000, false, End::Panics),
    );
}
