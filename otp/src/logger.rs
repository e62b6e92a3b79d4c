//! Where crash reports go: through `tracing` when the program has a subscriber, else straight to
//! stderr, as the BEAM's default logger prints them.
//!
//! A process that crashes (a panic, an abnormal exit of a GenServer, a process that exits with a
//! reason nobody asked for) produces one report in Elixir's words (`Process #PID<0.85.0> raised
//! an exception`, `GenServer ... terminating`). A Rust library should not install a global
//! `tracing` subscriber, but a BEAM user expects to *see* crashes without configuring anything.
//! So each report goes to `tracing` (at `error` level, with the pid as a field) if a subscriber
//! is active on the reporting thread, and otherwise to stderr, formatted as Elixir's console
//! logger formats it. [`set_stderr_fallback`] turns the fallback off (quiet programs and tests);
//! reports then go to `tracing` only.

use std::{
    fmt,
    sync::atomic::{AtomicBool, Ordering::Relaxed},
    time::{SystemTime, UNIX_EPOCH},
};

static STDERR_FALLBACK: AtomicBool = AtomicBool::new(true);

/// Whether crash reports are printed to stderr when no `tracing` subscriber is active (default:
/// yes, as the BEAM prints them). Returns the previous setting.
///
/// ```
/// let before = otp::logger::set_stderr_fallback(false);
/// assert!(before);
/// otp::run(|| {
///     // This crash is reported through `tracing` only: nothing is printed.
///     let (_, _) = otp::spawn_monitor(|| panic!("quietly"));
/// });
/// otp::logger::set_stderr_fallback(true);
/// ```
pub fn set_stderr_fallback(enabled: bool) -> bool {
    STDERR_FALLBACK.swap(enabled, Relaxed)
}

/// An error-level report: through `tracing` if a subscriber is active here, else to stderr.
/// `pid` is the reporting process (a `tracing` field).
pub(crate) fn error(pid: &dyn fmt::Display, message: fmt::Arguments<'_>) {
    let subscribed =
        tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>());
    if subscribed || !STDERR_FALLBACK.load(Relaxed) {
        tracing::error!(pid = %pid, "{message}");
        return;
    }
    // Elixir's console format: `\n12:01:02.345 [error] message`, the time in UTC.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    let line = format!(
        "\n{:02}:{:02}:{:02}.{:03} [error] {message}\n",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.subsec_millis()
    );
    // One `eprint!` (it holds the stderr lock for the whole line, so reports from two
    // schedulers don't interleave, and a test harness capturing output captures it).
    eprint!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_can_be_switched_off_and_on() {
        let before = set_stderr_fallback(false);
        assert!(!STDERR_FALLBACK.load(Relaxed));
        set_stderr_fallback(before);
        assert_eq!(STDERR_FALLBACK.load(Relaxed), before);
    }
}
