//! `#[otp::main]` and `#[otp::test]` used for real: the body runs as the root process of a
//! fresh runtime built from the attribute's settings; a test fails on a panic (with its
//! message, so `#[should_panic(expected)]` works), an error, an abnormal exit or its timeout;
//! `main` returns the process's exit code.

use std::process::ExitCode;

use otp::{
    process::{self, Status},
    ExitReason, Mailbox,
};

#[otp::test]
fn the_body_runs_as_the_root_process() {
    let me = otp::self_pid();
    assert_eq!(process::info(&me).unwrap().status, Status::Running);
}

#[otp::test]
fn the_root_process_may_take_its_mailbox(mut mb: Mailbox<String>) {
    mb.pid().send("hi".to_owned());
    assert_eq!(mb.receive(), "hi");
}

#[otp::test]
fn a_test_may_return_a_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "7".parse()?;
    assert_eq!(n, 7);
    Ok(())
}

#[otp::test]
#[should_panic(expected = "returned an error: \"no good\"")]
fn an_error_fails_the_test() -> Result<(), String> {
    Err("no good".to_owned())
}

#[otp::test]
#[should_panic(expected = "boom at the root")]
fn a_panic_fails_the_test_with_its_message() {
    panic!("boom at the root");
}

#[otp::test]
#[should_panic(expected = "process exited: :killed")]
fn a_killed_test_process_fails_the_test() {
    process::exit(otp::self_pid(), ExitReason::Kill);
}

#[otp::test(timeout = "100ms")]
#[should_panic(expected = "timed out after 100ms")]
fn a_test_that_hangs_fails_on_its_timeout(mut mb: Mailbox<()>) {
    // Nothing ever arrives.
    mb.receive();
}

#[otp::test(schedulers = 1)]
fn schedulers_sets_the_size_of_the_runtime(mut mb: Mailbox<String>) {
    let me = mb.pid();
    for _ in 0..16 {
        let me = me.clone();
        otp::spawn(move || me.send(std::thread::current().name().unwrap_or("?").to_owned()));
    }
    for _ in 0..16 {
        assert_eq!(mb.receive(), "otp-scheduler-0");
    }
}

/// About 400 KiB of stack: more than the default 128 KiB.
fn deep(n: u32) -> u64 {
    let frame = std::hint::black_box([1_u8; 4096]);
    if n == 0 {
        0
    } else {
        deep(n - 1) + u64::from(frame[n as usize % 4096])
    }
}

#[otp::test(
    schedulers = 2,
    reductions = 2000,
    stack_size = 4 * 1024 * 1024,
    guard_page_budget = 1024,
    long_schedule_threshold = "1s",
    shutdown_timeout = "2s",
    timeout = "1m"
)]
fn every_setting_reaches_the_runtime() {
    assert_eq!(deep(100), 100);
}

#[otp::test(timeout = "infinity")]
fn a_test_may_have_no_timeout() {}

mod apps {
    use std::process::ExitCode;

    use otp::Mailbox;

    #[otp::main(schedulers = 1)]
    pub(crate) fn succeeds() {
        assert!(otp::process::alive(otp::self_pid()));
    }

    #[otp::main]
    pub(crate) fn fails() -> Result<(), String> {
        Err("expected failure (printed by the test of #[otp::main])".to_owned())
    }

    #[otp::main]
    pub(crate) fn crashes() {
        panic!("expected crash (printed by the test of #[otp::main])");
    }

    #[otp::main(schedulers = 2)]
    pub(crate) fn exits_with(mut mb: Mailbox<u8>) -> ExitCode {
        mb.pid().send(3);
        ExitCode::from(mb.receive())
    }
}

#[test]
fn main_returns_the_root_process_exit_code() {
    assert_eq!(apps::succeeds(), ExitCode::SUCCESS);
    assert_eq!(apps::fails(), ExitCode::FAILURE);
    assert_eq!(apps::crashes(), ExitCode::FAILURE);
    assert_eq!(apps::exits_with(), ExitCode::from(3));
}
