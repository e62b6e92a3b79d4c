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
    otp::logger::set_stderr_fallback(mode != "off");
    if mode == "task" {
        otp::run(|mut mb: otp::Mailbox<()>| {
            let pid = otp::task::start(|| panic!("task kaboom"));
            let watch = otp::process::monitor(&pid);
            otp::receive! { mb, DOWN(r, _, _) if r == watch => () }
        });
        return;
    }
    if mode == "link" {
        // A process killed through a link by a panicking one: only the one that raised is
        // reported (edge/E02_links on the BEAM).
        otp::run(|mut mb: otp::Mailbox<()>| {
            let (_, watch) = otp::spawn_monitor(|mut own: otp::Mailbox<()>| {
                otp::spawn_link(|| panic!("raised once"));
                own.receive();
            });
            otp::receive! { mb, DOWN(r, _, _) if r == watch => () }
        });
        return;
    }
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
fn a_process_killed_by_a_linked_crash_is_not_reported() {
    let stderr = run_child("link");
    assert_eq!(stderr.matches("raised an exception").count(), 1, "{stderr}");
    assert!(stderr.contains("** (panic) raised once"), "{stderr}");
}

#[test]
fn a_task_crash_is_reported_as_elixir_reports_it() {
    let stderr = run_child("task");
    assert!(stderr.contains("[error] Task #PID<"), "{stderr}");
    assert!(stderr.contains("> started from #PID<"), "{stderr}");
    assert!(
        stderr.contains("terminating\n** (panic) task kaboom"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Function: ") && stderr.contains("    Args: []"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("raised an exception"),
        "reported once: {stderr}"
    );
}

#[test]
fn the_fallback_can_be_turned_off() {
    let stderr = run_child("off");
    assert!(!stderr.contains("[error]"), "{stderr}");
}
