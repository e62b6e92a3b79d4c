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
//! [`process::monitor`] returns the reference; the `DOWN` is [`otp::receive!`]'s
//! `DOWN(reference, pid, reason)` clause, and the pinned `^ref`/`^worker` patterns become its
//! guard. `exit(:boom)` is [`otp::exit`] with a custom reason, which (like `exit/1` on the
//! BEAM) is not logged as a crash.
//!
//! The BEAM prints the tutorial's five lines (20 runs of 20), with "Worker running..." first:
//! the new process ran on the other scheduler at once. Here it waits on its spawner's scheduler
//! until the spawner blocks, so "Monitoring ..." comes first; the order is a race on both. The
//! tutorial's `spawn(MonitorDemo, :start, [])` is [`otp::spawn_apply`]`(start, ())`, and where
//! it then sleeps 2 s the root waits for `start` to return (a monitor of its own). The worker
//! sleeps 100 ms instead of 1000.
//!
//! Run with `cargo run --release --example monitor`.

use std::time::Duration;

use otp::{process, ExitReason, Mailbox};

/// `MonitorDemo.start/0`.
fn start(mut mb: Mailbox<()>) {
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
    otp::receive! { mb,
        DOWN(r, pid, reason) if r == reference && *pid == worker => {
            println!("Worker died with reason: {reason}");
            println!(
                "Monitor process still alive: {}",
                process::alive(otp::self_pid())
            );
        }
    }
    // ANCHOR_END: main
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    let demo = otp::spawn_apply(start, ());
    let watch = process::monitor(&demo);
    otp::receive! { mb, DOWN(r, _, _) if r == watch => {} }
}
