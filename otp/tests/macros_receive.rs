//! `receive!` used in real code and run: selective semantics (oldest matching message first, the
//! rest left in order), guards over bindings, `after` deadlines and polls, `EXIT` and `DOWN`
//! clauses, typed clauses on `Term` mailboxes, or-patterns and ranges, control flow in bodies.
//!
//! Every test runs under `#[otp::test]` (two schedulers, the default timeout as a failure
//! guard); none waits on a clock except where an `after` is the point of the test.

use std::time::Duration;

use otp::{process, ExitReason, Mailbox, Pid, Term};

#[derive(Debug, PartialEq)]
enum Cmd {
    Add(i32, i32),
    Name(String),
    Move(Point),
    Stop,
}

#[derive(Debug, PartialEq)]
struct Point {
    x: i64,
    y: i64,
}

fn drain<M: Send + 'static>(mb: &mut Mailbox<M>) -> Vec<M> {
    std::iter::from_fn(|| mb.try_receive()).collect()
}

#[otp::test(schedulers = 2)]
fn takes_the_oldest_matching_message_and_leaves_the_rest_in_order(mut mb: Mailbox<u32>) {
    let me = mb.pid();
    for n in 1..=6 {
        me.send(n);
    }
    let even = otp::receive! { mb,
        n if n % 2 == 0 => n,
    };
    assert_eq!(even, 2);
    assert_eq!(drain(&mut mb), [1, 3, 4, 5, 6]);
}

#[otp::test]
fn the_oldest_message_wins_over_the_first_clause(mut mb: Mailbox<Cmd>) {
    let me = mb.pid();
    me.send(Cmd::Add(5, 1));
    me.send(Cmd::Stop);
    // Stop is the first clause, but Add is older and matches the second: Add is taken.
    let got = otp::receive! { mb,
        Cmd::Stop => "stop",
        Cmd::Add(a, _) if a > 3 => "add",
    };
    assert_eq!(got, "add");
    assert_eq!(drain(&mut mb), [Cmd::Stop]);
}

#[otp::test]
fn for_one_message_clauses_are_tried_in_order(mut mb: Mailbox<Cmd>) {
    mb.pid().send(Cmd::Add(1, 2));
    let got = otp::receive! { mb,
        Cmd::Add(a, b) if a > b => "first",
        Cmd::Add(_, _) => "second",
        Cmd::Add(..) => "third",
    };
    assert_eq!(got, "second");
}

#[otp::test]
fn guards_see_copy_bindings_by_value_and_the_others_by_reference(mut mb: Mailbox<Cmd>) {
    let me = mb.pid();
    me.send(Cmd::Name("hi".into()));
    me.send(Cmd::Name("hello".into()));
    me.send(Cmd::Move(Point { x: 3, y: 1 }));
    me.send(Cmd::Move(Point { x: 1, y: 3 }));
    me.send(Cmd::Add(2, 1));
    let limit = 3;
    // `s: &String` in the guard, `String` in the body; `x`, `y`, `a`, `b` by value in both.
    let name = otp::receive! { mb,
        Cmd::Name(s) if s.len() > limit && s == "hello" => s,
    };
    assert_eq!(name, "hello");
    let point = otp::receive! { mb,
        Cmd::Move(Point { x, y }) if x < y => (x, y),
    };
    assert_eq!(point, (1, 3));
    let sum = otp::receive! { mb,
        Cmd::Add(a, b) if a + b == limit as i32 => a + b,
    };
    assert_eq!(sum, 3);
    assert_eq!(
        drain(&mut mb),
        [Cmd::Name("hi".into()), Cmd::Move(Point { x: 3, y: 1 })]
    );
}

#[otp::test]
fn bodies_own_their_bindings(mut mb: Mailbox<(String, Vec<u8>)>) {
    mb.pid().send(("bytes".to_owned(), vec![1, 2]));
    let (name, bytes) = otp::receive! { mb,
        (name, mut bytes) if !bytes.is_empty() => {
            bytes.push(3);
            (name, bytes)
        }
    };
    assert_eq!(name, "bytes");
    assert_eq!(bytes, [1, 2, 3]);
}

#[otp::test]
fn whole_messages_bind_with_at(mut mb: Mailbox<Option<u8>>) {
    let me = mb.pid();
    me.send(None);
    me.send(Some(4));
    let got = otp::receive! { mb, m @ Some(_) => m };
    assert_eq!(got, Some(4));
    let got = otp::receive! { mb, m @ None => m };
    assert_eq!(got, None);
}

#[otp::test]
fn after_zero_polls_and_leaves_non_matching_messages(mut mb: Mailbox<Cmd>) {
    let polled = otp::receive! { mb,
        Cmd::Stop => "stop",
        after Duration::ZERO => "empty",
    };
    assert_eq!(polled, "empty");
    mb.pid().send(Cmd::Add(1, 1));
    let polled = otp::receive! { mb,
        Cmd::Stop => "stop",
        after Duration::ZERO => "no stop",
    };
    assert_eq!(polled, "no stop");
    assert_eq!(drain(&mut mb), [Cmd::Add(1, 1)]);
}

#[derive(Debug)]
enum Noise {
    Hum,
    #[allow(dead_code, reason = "never sent: the receive must time out")]
    Wanted,
}

#[otp::test]
fn an_after_deadline_is_not_reset_by_messages_that_do_not_match(mut mb: Mailbox<Noise>) {
    // A neighbour keeps sending messages that never match. If each arrival restarted the
    // timeout this receive would never end (and the test would fail on its timeout).
    let me = mb.pid();
    let noisy = otp::spawn(move || loop {
        me.send(Noise::Hum);
        otp::yield_now();
    });
    let got = otp::receive! { mb,
        Noise::Wanted => "wanted",
        after Duration::from_millis(20) => "timed out",
    };
    process::exit(&noisy, ExitReason::Kill);
    assert_eq!(got, "timed out");
    assert!(matches!(mb.try_receive(), Some(Noise::Hum)));
}

#[otp::test]
fn without_after_it_waits_for_a_match(mut mb: Mailbox<Cmd>) {
    let me = mb.pid();
    otp::spawn(move || {
        me.send(Cmd::Add(0, 0));
        me.send(Cmd::Name("late".into()));
    });
    let got = otp::receive! { mb, Cmd::Name(n) => n };
    assert_eq!(got, "late");
    assert_eq!(drain(&mut mb), [Cmd::Add(0, 0)]);
}

#[otp::test]
fn timeouts_are_durations_or_otp_timeouts(mut mb: Mailbox<u8>) {
    let a = otp::receive! { mb, _ => 1, after otp::Timeout::After(Duration::ZERO) => 2 };
    let b = otp::receive! { mb, _ => 1, after Some(Duration::ZERO) => 3 };
    assert_eq!((a, b), (2, 3));
}

#[otp::test]
fn exit_clauses_take_trapped_exit_signals(mut mb: Mailbox<Cmd>) {
    process::trap_exit(true);
    mb.pid().send(Cmd::Stop);
    let child = otp::spawn_link(|| otp::exit(ExitReason::custom("boom")));
    let reason = otp::receive! { mb,
        EXIT(from, reason) if from == &child => reason,
    };
    assert_eq!(reason, ExitReason::custom("boom"));
    // A user clause never takes a system message, nor the other way round.
    assert_eq!(drain(&mut mb), [Cmd::Stop]);
}

#[otp::test]
fn exit_clauses_match_on_the_reason(mut mb: Mailbox<()>) {
    process::trap_exit(true);
    otp::spawn_link(|| otp::exit(ExitReason::Shutdown));
    let how = otp::receive! { mb,
        EXIT(_, ExitReason::Normal) => "normal",
        EXIT(_, reason) if *reason == ExitReason::Shutdown => "shutdown",
        EXIT(_, _) => "other",
    };
    assert_eq!(how, "shutdown");
}

#[otp::test]
fn down_clauses_take_monitor_messages(mut mb: Mailbox<u32>) {
    let (pid, reference) = otp::spawn_monitor(|| ());
    let (other, _) = otp::spawn_monitor(|| otp::exit(ExitReason::custom("other")));
    mb.pid().send(7);
    let (who, why) = otp::receive! { mb,
        DOWN(r, pid, reason) if r == reference => (pid, reason),
    };
    assert_eq!(who, pid);
    assert_eq!(why, ExitReason::Normal);
    let other_down = otp::receive! { mb, DOWN(_, p, _) => p };
    assert_eq!(other_down, other);
    assert_eq!(drain(&mut mb), [7]);
}

#[derive(Debug, PartialEq)]
struct Ping(u32);

#[otp::test]
fn typed_clauses_downcast_terms(mut mb: Mailbox<Term>) {
    let me = mb.pid();
    me.send(Term::new(1_i32));
    me.send(Term::new(42_i32));
    me.send(Term::new("hi".to_owned()));
    me.send(Term::new(Ping(3)));
    let text = otp::receive! { mb, s: String if s.len() == 2 => s };
    assert_eq!(text, "hi");
    let n = otp::receive! { mb, n: i32 if n > 40 => n };
    assert_eq!(n, 42);
    let ping = otp::receive! { mb,
        Ping(x): Ping if x > 10 => x * 10,
        Ping(x): Ping => x,
    };
    assert_eq!(ping, 3);
    // A clause without a type matches any term.
    let rest = otp::receive! { mb, t => t };
    assert_eq!(rest.downcast::<i32>().unwrap(), 1);
}

#[otp::test]
fn or_patterns_ranges_and_constants(mut mb: Mailbox<i64>) {
    const LIMIT: i64 = 100;
    let me = mb.pid();
    for n in [2, 7, 55, 100, -1] {
        me.send(n);
    }
    let mut sizes = Vec::new();
    for _ in 0..5 {
        sizes.push(otp::receive! { mb,
            1 | 2 => "small",
            3..=9 => "medium",
            LIMIT => "limit",
            n @ 10.. if n < LIMIT => "large",
            _ => "negative",
        });
    }
    assert_eq!(sizes, ["small", "medium", "large", "limit", "negative"]);
}

#[otp::test]
fn break_continue_and_return_in_bodies_act_on_the_surrounding_code(mut mb: Mailbox<Cmd>) {
    let me = mb.pid();
    for n in [1, -5, 2, 3] {
        me.send(Cmd::Add(n, 0));
    }
    me.send(Cmd::Stop);
    let mut total = 0;
    loop {
        otp::receive! { mb,
            Cmd::Stop => break,
            Cmd::Add(n, _) if n < 0 => continue,
            Cmd::Add(n, _) => total += n,
        }
    }
    assert_eq!(total, 6);

    fn first_name(mb: &mut Mailbox<Cmd>) -> Result<String, String> {
        let name = otp::receive! { mb,
            Cmd::Name(n) if n.is_empty() => return Err("empty".into()),
            Cmd::Name(n) => n,
        };
        Ok(name)
    }
    me.send(Cmd::Name(String::new()));
    me.send(Cmd::Name("x".into()));
    assert_eq!(first_name(&mut mb), Err("empty".into()));
    assert_eq!(first_name(&mut mb), Ok("x".into()));
}

/// A message type with no `Debug`, `Clone` or `PartialEq`.
struct Opaque(Box<u32>);

#[otp::test]
fn any_message_type_works(mut mb: Mailbox<Opaque>) {
    let me = mb.pid();
    me.send(Opaque(Box::new(1)));
    me.send(Opaque(Box::new(2)));
    let two = otp::receive! { mb, Opaque(b) if **b == 2 => *b };
    assert_eq!(two, 2);
}

#[otp::test]
fn a_server_loop_reads_like_elixir(mut mb: Mailbox<Cmd>) {
    let server = otp::spawn(|mut mb: Mailbox<(Pid<Cmd>, Cmd)>| loop {
        otp::receive! { mb,
            (from, Cmd::Add(a, b)) => from.send(Cmd::Add(a + b, 0)),
            (from, Cmd::Name(name)) => from.send(Cmd::Name(name.to_uppercase())),
            (_, Cmd::Stop) => break,
            (_, Cmd::Move(_)) => {}
        }
    });
    server.send((mb.pid(), Cmd::Add(2, 3)));
    server.send((mb.pid(), Cmd::Name("joe".into())));
    // The name is asked for first although the sum arrives first.
    let name = otp::receive! { mb, Cmd::Name(n) => n };
    let sum = otp::receive! { mb, Cmd::Add(s, _) => s };
    assert_eq!((sum, name.as_str()), (5, "JOE"));
    let monitor = process::monitor(&server);
    server.send((mb.pid(), Cmd::Stop));
    otp::receive! { mb,
        DOWN(r, _, reason) if r == monitor => assert_eq!(reason, ExitReason::Normal),
    }
}

/// Bindings that only the guard uses raise no `unused_variables` warning (this denies it).
#[deny(unused_variables)]
fn guard_only_bindings(mb: &mut Mailbox<Cmd>) -> &'static str {
    otp::receive! { mb,
        Cmd::Add(a, b) if a > b => "more",
        EXIT(from, _) if from.number() == 0 => "impossible",
        after Duration::ZERO => "none",
    }
}

#[otp::test]
fn bindings_used_only_by_guards_do_not_warn(mut mb: Mailbox<Cmd>) {
    mb.pid().send(Cmd::Add(2, 1));
    assert_eq!(guard_only_bindings(&mut mb), "more");
    assert_eq!(guard_only_bindings(&mut mb), "none");
}

#[otp::test]
fn an_after_alone_waits_and_takes_nothing(mut mb: Mailbox<u8>) {
    mb.pid().send(1);
    let waited = otp::receive! { mb, after Duration::from_millis(1) => "waited" };
    assert_eq!(waited, "waited");
    assert_eq!(drain(&mut mb), [1]);
}
