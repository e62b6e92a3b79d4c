//! Agent: every function of `otp::agent`, with the call semantics of a GenServer.

mod common;

use std::time::Duration;

use common::run;
use otp::{
    agent::{self, Agent},
    gen_server::{CallError, StartError, StartOptions},
    process, ExitReason, Mailbox, Message, Timeout,
};

#[test]
fn get_update_get_and_update_and_cast() {
    run(|| {
        let a: Agent<Vec<i32>> = agent::start_link(Vec::new).unwrap();
        a.update(|v| v.push(1)).unwrap();
        a.cast(|v| v.push(2)).unwrap();
        // A call after a cast from the same process sees the cast's change (FIFO per pair).
        assert_eq!(a.get(|v| v.clone()), Ok(vec![1, 2]));
        let popped = a.get_and_update(|v| v.pop());
        assert_eq!(popped, Ok(Some(2)));
        assert_eq!(a.get(|v| v.len()), Ok(1));
    });
}

#[test]
fn the_state_is_made_in_the_agents_own_process() {
    run(|| {
        let me = otp::self_pid();
        let a = agent::start_link(otp::self_pid).unwrap();
        let made_in = a.get(|p| p.clone()).unwrap();
        assert_ne!(made_in, me);
        assert_eq!(Some(made_in), a.pid());
    });
}

#[test]
fn a_slow_function_times_out_and_the_late_answer_is_dropped() {
    run(|mut mb: Mailbox<()>| {
        let a = agent::start_link(|| 0u32).unwrap();
        let slow = a.get_timeout(
            |_| {
                otp::sleep(Duration::from_millis(200));
                1u32
            },
            Duration::from_millis(10),
        );
        assert_eq!(slow, Err(CallError::Timeout));
        // The next call gets its own answer, not the late one, and nothing reached the mailbox.
        assert_eq!(a.get(|n| *n + 2), Ok(2));
        assert!(mb.select(Duration::ZERO, |_| true).is_none());
    });
}

#[test]
fn a_panicking_function_is_the_agents_crash() {
    run(|mut mb: Mailbox<()>| {
        let a = agent::start(|| 0u32).unwrap();
        let pid = a.pid().unwrap();
        let r = process::monitor(&pid);
        let result = a.get(|_| -> u32 { panic!("agent function failed") });
        let Err(CallError::Exit(ExitReason::Panic(p))) = &result else {
            panic!("expected the agent's panic, got {result:?}");
        };
        assert_eq!(p.message(), "agent function failed");
        match mb.receive_message() {
            Message::Down {
                reference, reason, ..
            } => {
                assert_eq!(reference, r);
                assert_eq!(reason, ExitReason::Panic(p.clone()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.get(|n| *n), Err(CallError::NoProc));
    });
}

#[test]
fn stop_and_names() {
    run(|| {
        let a = agent::start_with(StartOptions::new().name("counter"), || 5u64, true).unwrap();
        let by_name = Agent::<u64>::named("counter");
        assert_eq!(by_name.get(|n| *n), Ok(5));
        assert!(matches!(
            agent::start_with(StartOptions::new().name("counter"), || 0u64, false),
            Err(StartError::AlreadyStarted(_))
        ));
        a.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
        assert_eq!(by_name.get(|n| *n), Err(CallError::NoProc));
        assert!(
            by_name.cast(|n| *n += 1).is_err(),
            "a cast to a free name is an error"
        );
    });
}

#[test]
fn an_init_that_panics_fails_the_start() {
    run(|| {
        let err = agent::start(|| -> u8 { panic!("no state for you") }).unwrap_err();
        assert!(
            matches!(&err, StartError::Stopped(ExitReason::Panic(p)) if p.message() == "no state for you"),
            "{err:?}"
        );
    });
}
