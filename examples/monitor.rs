//! Monitoring a process (tutorial block 12): a monitor delivers a `DOWN` message with the
//! monitored process's exit reason, and the monitoring process carries on.
//!
//! Run with `cargo run --release --example monitor`.

use std::time::Duration;

use otp::{process, ExitReason, Mailbox, Message};

fn main() {
    otp::run(|mut mb: Mailbox<()>| {
        let worker = otp::spawn(|| {
            println!("Worker running...");
            otp::sleep(Duration::from_millis(1000));
            println!("Worker crashing!");
            otp::exit(ExitReason::custom("boom"));
        });

        // Monitor it: returns a reference.
        let reference = process::monitor(&worker);
        println!("Monitoring {worker:?} with ref {reference:?}");

        // Wait for the DOWN message.
        if let Message::Down { reason, .. } = mb.select(None, |m| {
            matches!(m, otp::MessageRef::Down { reference: r, pid, .. } if r == reference && *pid == worker)
        }).expect("no timeout was set")
        {
            println!("Worker died with reason: {reason}");
            println!("Monitor process still alive: {}", process::alive(otp::self_pid()));
        }
    });
}
