//! Removing a monitor (tutorial block 14, `DemonitorDemo.demo/0`): after `Process.demonitor/1`
//! no `DOWN` comes for that monitor, even when the process is then killed.
//!
//! ```elixir
//! {pid, ref} = spawn_monitor(fn -> receive do ... end end)
//! Process.demonitor(ref)
//! Process.exit(pid, :kill)
//! receive do
//!   {:DOWN, ^ref, :process, ^pid, reason} -> IO.puts("Got DOWN: #{inspect(reason)}")
//! after
//!   1000 -> IO.puts("No DOWN message received (as expected)")
//! end
//! ```
//!
//! The BEAM prints the tutorial's two lines. [`process::demonitor`] returns whether the monitor
//! was still active (`Process.demonitor(ref, [:info])`); the wait is 100 ms instead of 1000.
//!
//! What the block does not show (the BEAM's probe `E05`): it works only because the demonitor
//! comes *before* the process dies. Once a `DOWN` has been delivered, `demonitor` leaves it in
//! the mailbox; [`process::demonitor_flush`] (`[:flush]`) removes it. The second half shows
//! both.
//!
//! Run with `cargo run --release --example demonitor`.

use std::time::Duration;

use otp::{process, ExitReason, Mailbox, Ref};

/// What the monitored process waits for.
enum Order {
    Work,
    Stop,
}

/// The monitored process.
fn worker(mut mb: Mailbox<Order>) {
    otp::receive! { mb,
        Order::Work => println!("Working..."),
        Order::Stop => {}
    }
}

/// A `DOWN` for `reference` already in the mailbox, or one within `timeout`.
fn down(mb: &mut Mailbox<()>, reference: Ref, timeout: Duration) -> Option<ExitReason> {
    otp::receive! { mb,
        DOWN(r, _, reason) if r == reference => Some(reason),
        after timeout => None,
    }
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // ANCHOR: demonitor
    let (pid, reference) = otp::spawn_monitor(worker);

    // Maybe we decide we do not care about this process any more.
    process::demonitor(reference);
    println!("Demonitored - we will not receive DOWN messages");

    // Kill the process, then try to receive: times out, because we demonitored.
    process::exit(&pid, ExitReason::Kill);
    otp::receive! { mb,
        DOWN(r, p, reason) if r == reference && *p == pid => println!("Got DOWN: {reason}"),
        after Duration::from_millis(100) => println!("No DOWN message received (as expected)"),
    }
    // ANCHOR_END: demonitor

    // Too late: the process has already died, so its DOWN is in the mailbox.
    println!();
    let (pid, reference) = otp::spawn_monitor(worker);
    pid.send(Order::Work);
    let second = process::monitor(&pid);
    down(&mut mb, second, Duration::from_secs(5)).expect("it stops");
    println!(
        "demonitor after the exit: was active = {}",
        process::demonitor(reference)
    );
    println!(
        "then: {}",
        describe(down(&mut mb, reference, Duration::ZERO))
    );

    let (pid, reference) = otp::spawn_monitor(worker);
    pid.send(Order::Stop);
    let second = process::monitor(&pid);
    down(&mut mb, second, Duration::from_secs(5)).expect("it stops");
    process::demonitor_flush(reference);
    println!(
        "demonitor_flush after the exit: {}",
        describe(down(&mut mb, reference, Duration::ZERO))
    );
}

fn describe(down: Option<ExitReason>) -> String {
    match down {
        Some(reason) => format!("the DOWN is still in the mailbox (reason {reason})"),
        None => "no DOWN in the mailbox".to_owned(),
    }
}
