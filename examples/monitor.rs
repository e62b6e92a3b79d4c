//! Monitoring a process (tutorial block 12, `MonitorDemo.start/0`): a monitor is one-way; when
//! the monitored process exits, the monitoring one gets a `DOWN` message with the reason, and
//! carries on.
//!
//! ```elixir
//! ref = Process.monitor(worker)
//! receive do
//!   {:DOWN, ^ref, :process, ^worker, reason} ->
//!     IO.puts("Worker died with reason: #{inspect(reason)}")
//! end
//! ```
//!
//! [`process::monitor`] returns the reference; the `DOWN` is [`Message::Down`], and the pinned
//! `^ref`/`^worker` patterns become the condition of a [`Mailbox::select`]. `exit(:boom)` is
//! [`otp::exit`] with a custom reason, which (like `exit/1` on the BEAM) is not logged as a
//! crash.
//!
//! The BEAM prints the tutorial's five lines (20 runs of 20), with "Worker running..." first:
//! the new process ran on the other scheduler at once. Here it waits on the root's scheduler
//! until the root blocks, so "Monitoring ..." comes first; the order is a race on both. The
//! tutorial's `spawn(MonitorDemo, :start, [])` plus `Process.sleep(2000)` is simply the root
//! here, and the worker sleeps 100 ms instead of 1000.
//!
//! Run with `cargo run --release --example monitor`.

use std::time::Duration;

use otp::{process, ExitReason, Mailbox, Message, MessageRef};

fn main() {
    otp::run(|mut mb: Mailbox<()>| {
        // ANCHOR: main
        let worker = otp::spawn(|| {
            println!("Worker running...");
            otp::sleep(Duration::from_millis(100));
            println!("Worker crashing!");
            otp::exit(ExitReason::custom("boom"));
        });

        // Monitor it: returns a reference.
        let reference = process::monitor(&worker);
        println!("Monitoring {worker:?} with ref {reference:?}");

        // Wait for the DOWN message.
        let down = mb.select(None, |m| {
            matches!(m, MessageRef::Down { reference: r, pid, .. } if r == reference && *pid == worker)
        });
        if let Some(Message::Down { reason, .. }) = down {
            println!("Worker died with reason: {reason}");
            println!(
                "Monitor process still alive: {}",
                process::alive(otp::self_pid())
            );
        }
        // ANCHOR_END: main
    });
}
