//! Chapter 2, "Processes and spawning": the root process, typed mailboxes, identity, failing
//! alone, and long computations.

use std::time::Duration;

use otp::{process, AnyPid, ExitReason, Mailbox, Message, Pid};

// ANCHOR: root
#[test]
fn the_root_process() {
    let answer = otp::run(|| {
        // This closure is the root process. `otp::run` starts one scheduler thread per core,
        // runs it, and when it returns stops every process that is still running.
        println!("the root is {}", otp::self_pid());
        6 * 7
    });
    assert_eq!(answer, 42);
}
// ANCHOR_END: root

// ANCHOR: greeter
/// Everything the greeter understands. Its mailbox takes this type and nothing else.
enum Greeting {
    Hello { name: String, reply_to: Pid<String> },
    Stop,
}

/// The greeter's body: a loop over its mailbox.
fn greeter(mut mb: Mailbox<Greeting>) {
    loop {
        match mb.receive() {
            Greeting::Hello { name, reply_to } => reply_to.send(format!("Hello, {name}!")),
            Greeting::Stop => return,
        }
    }
}
// ANCHOR_END: greeter

// ANCHOR: greeter_use
#[test]
fn a_typed_mailbox() {
    otp::run(|mut mb: Mailbox<String>| {
        let greeter: Pid<Greeting> = otp::spawn(greeter);
        greeter.send(Greeting::Hello {
            name: "Alice".into(),
            reply_to: mb.pid(), // a Pid<String>: the greeter can only send us strings
        });
        assert_eq!(mb.receive(), "Hello, Alice!");
        greeter.send(Greeting::Stop);
    });
}
// ANCHOR_END: greeter_use

// ANCHOR: identity
#[test]
fn identity_and_liveness() {
    otp::run(|mut mb: Mailbox<()>| {
        let pid = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        let n = pid.number();
        assert_eq!(pid.to_string(), format!("<0.{n}.0>")); // as Erlang prints it
        assert_eq!(format!("{pid:?}"), format!("#PID<0.{n}.0>")); // as Elixir inspects it

        assert!(process::alive(&pid));
        assert!(process::list().contains(pid.as_any()));

        // An untyped pid (what links, monitors and `process::list` deal in) can be turned
        // back into a typed one if the type is right.
        let any: AnyPid = pid.to_any();
        assert!(any.downcast::<String>().is_none());
        let typed: Pid<()> = any.downcast().expect("its mailbox takes ()");

        // Ask it to finish, and wait until it has.
        process::monitor(&typed);
        typed.send(());
        let Message::Down { reason, .. } = mb.receive_message() else {
            unreachable!("nothing else is sent to us")
        };
        assert_eq!(reason, ExitReason::Normal);
        assert!(!process::alive(&pid));
    });
}
// ANCHOR_END: identity

// ANCHOR: panic
#[test]
fn a_panic_ends_one_process() {
    otp::run(|mut mb: Mailbox<()>| {
        let (_pid, watch) = otp::spawn_monitor(|| {
            let v: Vec<u32> = Vec::new();
            println!("{}", v[3]); // index out of bounds: this process panics
        });
        match mb.receive_message() {
            Message::Down {
                reference,
                reason: ExitReason::Panic(panic),
                ..
            } => {
                assert_eq!(reference, watch);
                assert!(panic.message().contains("index out of bounds"));
            }
            other => panic!("expected a DOWN with a panic, got {other:?}"),
        }
        // The root, and every other process, carries on.
        println!("still here");
    });
}
// ANCHOR_END: panic

// ANCHOR: sleep
#[test]
fn sleeping_is_a_runtime_call() {
    otp::run(|mut mb: Mailbox<&'static str>| {
        let me = mb.pid();
        otp::spawn(move || {
            // `otp::sleep` parks this process; the scheduler thread runs others meanwhile.
            // `std::thread::sleep` would block the whole scheduler thread.
            otp::sleep(Duration::from_millis(20));
            me.send("slept");
        });
        otp::spawn({
            let me = mb.pid();
            move || me.send("did not wait")
        });
        assert_eq!(mb.receive(), "did not wait");
        assert_eq!(mb.receive(), "slept");
    });
}
// ANCHOR_END: sleep

// ANCHOR: reductions
#[test]
fn long_computations_share_the_scheduler() {
    let sum = otp::Builder::new()
        .schedulers(1) // one scheduler thread: everyone shares it
        .build()
        .expect("the runtime starts")
        .block_on(|mut mb: Mailbox<u64>| {
            let me = mb.pid();
            otp::spawn(move || {
                let mut sum = 0u64;
                for i in 0..10_000_000u64 {
                    sum = sum.wrapping_add(i * i);
                    otp::consume_reductions(1); // a safe point: yield when the slice is spent
                }
                me.send(sum);
            });
            // With a single scheduler, this process still gets its turns while the
            // computation runs, because the loop above spends reductions.
            let ticker = otp::spawn(|mut mb: Mailbox<()>| loop {
                if mb.receive_timeout(Duration::from_millis(1)).is_some() {
                    break;
                }
            });
            let sum = mb.receive();
            ticker.send(());
            sum
        })
        .expect("the root returns");
    let expected = (0..10_000_000u64).fold(0u64, |s, i| s.wrapping_add(i * i));
    assert_eq!(sum, expected);
}
// ANCHOR_END: reductions

// ANCHOR: options
#[test]
fn spawn_options() {
    otp::run(|| {
        let pid = otp::SpawnOptions::new()
            .name("janitor") // registered: process::whereis("janitor") finds it
            .stack_size(256 * 1024) // this process needs a deeper stack than the default
            .spawn(|mut mb: Mailbox<()>| mb.receive());
        assert_eq!(process::whereis("janitor"), Some(pid.to_any()));
        pid.send(());
    });
}
// ANCHOR_END: options

// ANCHOR: main_attr
/// `#[otp::main]` makes a function the root process of a fresh runtime, with the runtime's
/// settings as the attribute's: on `fn main`, that is a whole program.
#[otp::main(schedulers = 2)]
fn program(mut mb: Mailbox<u64>) -> Result<(), String> {
    let me = mb.pid();
    otp::spawn(move || me.send(6 * 7));
    match mb.receive() {
        42 => Ok(()),
        other => Err(format!("expected 42, got {other}")),
    }
}
// ANCHOR_END: main_attr

#[test]
fn a_program_with_otp_main() {
    // The generated function returns the program's exit status.
    assert_eq!(program(), std::process::ExitCode::SUCCESS);
}

// ANCHOR: budget
/// Counts the primes below `n`, the slow way. `#[otp::budget]` puts a reduction check at the
/// function's entry and at the top of every loop body, so the other processes on this
/// scheduler get their turns, as every Erlang function call gives them theirs.
#[otp::budget]
fn primes_below(n: u64) -> usize {
    let mut count = 0;
    for candidate in 2..n {
        let mut divisor = 2;
        let mut prime = true;
        while divisor * divisor <= candidate {
            if candidate % divisor == 0 {
                prime = false;
                break;
            }
            divisor += 1;
        }
        count += usize::from(prime);
    }
    count
}

#[test]
fn a_budgeted_computation() {
    let rt = otp::Builder::new().schedulers(1).build().unwrap();
    let primes = rt
        .block_on(|mut mb: Mailbox<usize>| {
            let me = mb.pid();
            otp::spawn(move || me.send(primes_below(200_000)));
            // Let the counter run. On the only scheduler, this sleep ends (and this process
            // runs again) only if the counter yields: it does, at its budget checks.
            otp::sleep(Duration::from_millis(1));
            assert_eq!(
                mb.try_receive(),
                None,
                "we got a turn before the count was done"
            );
            mb.receive()
        })
        .unwrap();
    assert_eq!(primes, 17_984);
}
// ANCHOR_END: budget
