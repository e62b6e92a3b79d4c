//! Without a `tracing` subscriber, crash reports go to stderr in Elixir's console format, as
//! the BEAM prints them by default; `logger::set_stderr_fallback(false)` silences them.
//!
//! Each case re-runs this test binary as a child process (so stderr is really the process's
//! stderr, not the test harness's capture) and reads what it printed.

use std::process::Command;

/// In the child: runs a runtime in which one process panics and one GenServer-less process
/// exits abnormally, with the fallback as the parent asked.
#[test]
fn child_crashes() {
    let Ok(mode) = std::env::var("OTP_CRASH_CHILD") else {
        return;
    };
    otp::logger::set_stderr_fallback(mode == "on");
    otp::run(|| {
        let (_, monitor) = otp::spawn_monitor(|| panic!("boom from the child"));
        otp::process::demonitor(monitor);
        let (pid, _) = otp::spawn_monitor(|mut mb: otp::Mailbox<()>| mb.receive());
        otp::process::exit(&pid, otp::ExitReason::custom("custom reason"));
        while otp::process::alive(&pid) {
            otp::yield_now();
        }
    });
}

fn run_child(mode: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_crashes",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("OTP_CRASH_CHILD", mode)
        .output()
        .expect("the test binary runs");
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn crashes_are_printed_to_stderr_without_a_subscriber() {
    let stderr = run_child("on");
    assert!(
        stderr.contains("[error] Process #PID<") && stderr.contains("raised an exception"),
        "{stderr}"
    );
    assert!(
        stderr.contains("** (panic) boom from the child"),
        "{stderr}"
    );
    // Killed by an exit signal it doesn't trap: the BEAM does not report those; neither do we.
    assert!(!stderr.contains("custom reason"), "{stderr}");
}

#[test]
fn the_fallback_can_be_turned_off() {
    let stderr = run_child("off");
    assert!(!stderr.contains("[error]"), "{stderr}");
}
