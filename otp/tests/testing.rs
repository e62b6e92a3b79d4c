//! `otp::testing`: the mailbox assertions (what they take, what they leave, what their failure
//! messages say) and supervised starts (restarts, links, stops, and the teardown in reverse
//! start order when the test returns or panics).
//!
//! Timeouts here are failure guards (generous) except where a failure path is the point, and
//! then `assert_received!` / `refute_received!` look without waiting.

use std::{
    panic,
    sync::{Arc, Mutex},
    time::Duration,
};

use otp::{
    gen_server::StartError,
    process,
    supervisor::{ChildError, ChildSpec},
    testing::{
        assert_receive, assert_received, refute_receive, refute_received, run_test,
        start_link_supervised, start_supervised, stop_supervised, TestOptions,
    },
    AnyPid, ExitReason, Mailbox, Pid, Term,
};

const GUARD: Duration = Duration::from_secs(10);

#[derive(Debug, PartialEq)]
enum Cmd {
    Add(i32, i32),
    Name(String),
    Stop,
}

// ===== assert_receive! and friends =====

#[otp::test]
fn assert_receive_binds_the_pattern_and_leaves_the_rest(mut mb: Mailbox<Cmd>) {
    let me = mb.pid();
    me.send(Cmd::Stop);
    me.send(Cmd::Add(-1, 5));
    me.send(Cmd::Add(1, 2));
    assert_receive!(mb, Cmd::Add(a, b) if a > 0);
    assert_eq!((a, b), (1, 2));
    assert_received!(mb, Cmd::Stop);
    assert_received!(mb, Cmd::Add(x, _));
    assert_eq!(x, -1);
    assert!(mb.is_empty());
}

#[otp::test]
fn assert_receive_waits_for_a_message_from_another_process(mut mb: Mailbox<Cmd>) {
    let me = mb.pid();
    otp::spawn(move || me.send(Cmd::Name("from afar".into())));
    assert_receive!(mb, Cmd::Name(mut name), GUARD);
    name.push('!');
    assert_eq!(name, "from afar!");
}

#[otp::test]
fn assert_receive_takes_whole_messages_with_at(mut mb: Mailbox<Cmd>) {
    mb.pid().send(Cmd::Name("x".into()));
    assert_received!(mb, msg @ Cmd::Name(_));
    assert_eq!(msg, Cmd::Name("x".into()));
}

#[otp::test]
fn assert_receive_matches_exits_downs_and_terms(mut mb: Mailbox<Term>) {
    process::trap_exit(true);
    let linked = otp::spawn_link(|| otp::exit(ExitReason::custom("bye")));
    assert_receive!(mb, EXIT(from, reason) if from == &linked, GUARD);
    assert_eq!((from, reason), (linked.to_any(), ExitReason::custom("bye")));

    let (watched, reference) = otp::spawn_monitor(|| ());
    assert_receive!(mb, DOWN(r, pid, _) if r == reference, GUARD);
    assert_eq!((r, pid), (reference, watched.to_any()));

    mb.pid().send(Term::new(5_u64));
    assert_received!(mb, n: u64 if n > 1);
    assert_eq!(n, 5);
}

#[otp::test]
#[should_panic(
    expected = "assert_received!: no message matching `Cmd::Stop` already in the \
                           mailbox\nthe mailbox holds 2 messages (oldest first):\n    \
                           Add(1, 2)\n    Name(\"x\")"
)]
fn assert_received_lists_the_mailbox_when_nothing_matches(mut mb: Mailbox<Cmd>) {
    let me = mb.pid();
    me.send(Cmd::Add(1, 2));
    me.send(Cmd::Name("x".into()));
    assert_received!(mb, Cmd::Stop);
}

#[otp::test]
#[should_panic(
    expected = "no message matching `Cmd::Add(a, _) if a > 5` already in the \
                           mailbox\nthe mailbox is empty"
)]
fn an_empty_mailbox_says_so(mut mb: Mailbox<Cmd>) {
    assert_received!(mb, Cmd::Add(a, _) if a > 5);
    let _ = a;
}

#[otp::test]
#[should_panic(expected = "the mailbox holds 1 message (oldest first):\n    EXIT(#PID<0.")]
fn system_messages_are_listed_as_clauses_match_them(mut mb: Mailbox<Cmd>) {
    process::trap_exit(true);
    let (_, reference) = otp::spawn_monitor(|| ());
    otp::spawn_link(|| ());
    // Both signals have arrived once the DOWN has: take that one, list the EXIT.
    assert_receive!(mb, DOWN(r, _, _) if r == reference, GUARD);
    assert_received!(mb, Cmd::Stop);
}

struct Opaque;

#[otp::test]
#[should_panic(expected = "<a core::option::Option<testing::Opaque> (no Debug)>")]
fn messages_without_debug_are_listed_by_type(mut mb: Mailbox<Option<Opaque>>) {
    mb.pid().send(Some(Opaque));
    assert_received!(mb, None);
}

#[otp::test]
#[should_panic(expected = "    9\n    ... and 5 more")]
fn long_mailboxes_are_cut_short(mut mb: Mailbox<u32>) {
    for n in 0..15 {
        mb.pid().send(n);
    }
    assert_received!(mb, 100);
}

#[otp::test]
fn refute_receive_passes_when_nothing_matches_and_leaves_the_mailbox(mut mb: Mailbox<u32>) {
    let me = mb.pid();
    me.send(1);
    me.send(2);
    refute_received!(mb, n if n > 10);
    refute_receive!(mb, 3, Duration::from_millis(1));
    assert_received!(mb, 1);
    assert_received!(mb, 2);
}

#[otp::test]
#[should_panic(expected = "refute_received!: received a message matching `n if n > 10`:\n    11")]
fn refute_received_shows_the_message_that_matched(mut mb: Mailbox<u32>) {
    mb.pid().send(11);
    refute_received!(mb, n if n > 10);
}

#[otp::test]
#[should_panic(expected = "refute_receive!: received a message matching `Cmd::Name(_)`")]
fn refute_receive_fails_on_a_message_that_arrives_in_time(mut mb: Mailbox<Cmd>) {
    let me = mb.pid();
    otp::spawn(move || me.send(Cmd::Name("late".into())));
    refute_receive!(mb, Cmd::Name(_), GUARD);
}

#[otp::test]
fn assertions_take_the_mailbox_by_reference_too(mut mb: Mailbox<u32>) {
    fn check(mb: &mut Mailbox<u32>) -> u32 {
        assert_received!(mb, n);
        refute_received!(mb, _);
        n
    }
    mb.pid().send(3);
    assert_eq!(check(&mut mb), 3);
}

// ===== supervised starts =====

/// A child that tells `to` each time it starts (so a restart is seen without polling).
fn announcing(id: &str, to: Pid<AnyPid>) -> ChildSpec {
    ChildSpec::new(id, move || {
        let to = to.clone();
        Ok(otp::spawn_link(move |mut mb: Mailbox<()>| {
            to.send(otp::self_pid());
            mb.receive();
        }))
    })
}

#[otp::test]
fn supervised_children_are_restarted_and_do_not_take_the_test_down(mut mb: Mailbox<AnyPid>) {
    let pid = start_supervised(announcing("worker", mb.pid())).unwrap();
    assert_receive!(mb, started if *started == pid, GUARD);
    process::exit(&pid, ExitReason::Kill);
    assert_receive!(mb, again if *again != pid, GUARD);
    assert!(process::alive(&again));
}

#[otp::test]
#[should_panic(expected = "process exited: :boom")]
fn a_linked_supervised_child_that_crashes_fails_the_test(mut mb: Mailbox<AnyPid>) {
    let pid = start_link_supervised(announcing("worker", mb.pid())).unwrap();
    assert_receive!(mb, _, GUARD);
    process::exit(&pid, ExitReason::custom("boom"));
    mb.receive(); // the exit signal arrives first
}

#[otp::test]
fn stop_supervised_stops_and_forgets_the_child(mb: Mailbox<AnyPid>) {
    let pid = start_supervised(announcing("worker", mb.pid())).unwrap();
    stop_supervised("worker").unwrap();
    assert!(!process::alive(&pid));
    assert_eq!(stop_supervised("worker"), Err(ChildError::NotFound));
    // The id is free again.
    start_supervised(announcing("worker", mb.pid())).unwrap();
}

#[otp::test]
fn an_ignored_start_is_an_error() {
    let spec = ChildSpec::new("ignored", || Err::<AnyPid, _>(StartError::Ignore));
    assert_eq!(
        start_supervised(spec),
        Err(ChildError::Start(StartError::Ignore))
    );
}

/// A child that records its name in `log` when its supervisor stops it. It tells `ready` once
/// it traps exits, so the test never ends before its children can hear the shutdown.
fn logging(name: &'static str, log: Arc<Mutex<Vec<&'static str>>>, ready: Pid<()>) -> ChildSpec {
    ChildSpec::new(name, move || {
        let (log, ready) = (log.clone(), ready.clone());
        Ok(otp::spawn_link(move |mut mb: Mailbox<()>| {
            process::trap_exit(true);
            ready.send(());
            otp::receive! { mb,
                EXIT(_, ExitReason::Shutdown) => log.lock().unwrap().push(name),
            }
        }))
    })
}

fn three_children(mb: &mut Mailbox<()>, log: &Arc<Mutex<Vec<&'static str>>>) {
    for name in ["first", "second", "third"] {
        start_supervised(logging(name, log.clone(), mb.pid())).unwrap();
        assert_receive!(mb, (), GUARD);
    }
}

#[test]
fn supervised_children_stop_in_reverse_order_when_the_test_returns() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let in_test = log.clone();
    run_test(
        TestOptions::new().name("returns"),
        move |mut mb: Mailbox<()>| {
            three_children(&mut mb, &in_test);
            assert!(in_test.lock().unwrap().is_empty());
        },
    );
    assert_eq!(*log.lock().unwrap(), ["third", "second", "first"]);
}

fn fail() {
    panic!("the test fails");
}

#[test]
fn supervised_children_stop_in_reverse_order_when_the_test_panics() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let in_test = log.clone();
    let failed = panic::catch_unwind(move || {
        run_test(
            TestOptions::new().name("panics"),
            move |mut mb: Mailbox<()>| {
                three_children(&mut mb, &in_test);
                fail();
            },
        );
    });
    let message = failed.unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("the test fails\n(in panics's process, at "),
        "{message}"
    );
    assert_eq!(*log.lock().unwrap(), ["third", "second", "first"]);
}

#[test]
fn start_supervised_outside_a_test_process_panics_with_a_hint() {
    let outcome = otp::Builder::new()
        .schedulers(1)
        .build()
        .unwrap()
        .block_on(|| {
            let _ = start_supervised(ChildSpec::new("x", || Ok(otp::spawn_link(|| ()))));
        });
    let Err(ExitReason::Panic(p)) = outcome else {
        panic!("expected a panic, got {outcome:?}")
    };
    assert!(
        p.message().starts_with(
            "otp::testing::start_supervised must be called from the process of an #[otp::test]"
        ),
        "{}",
        p.message()
    );
}
