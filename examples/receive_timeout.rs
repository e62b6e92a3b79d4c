//! Receiving with a timeout (tutorial block 7, `TimeoutDemo.wait_for_message/1`): `receive ...
//! after` gives up when no message comes in time.
//!
//! ```elixir
//! receive do
//!   message -> IO.puts("Got message: #{inspect(message)}"); :ok
//! after
//!   timeout_ms -> IO.puts("Timed out after #{timeout_ms}ms"); :timeout
//! end
//! ```
//!
//! [`Mailbox::receive_timeout`] returns `None` when the time runs out: the `after` clause is
//! the `None` arm. The deadline is fixed when the receive starts; messages that arrive and do
//! not match never push it back.
//!
//! The BEAM prints `Timed out after 2000ms`, as the tutorial says. We wait 200 ms instead of
//! 2000, and the root waits for the process to finish (a monitor) rather than sleeping 3 s.
//! A second run shows the other clause: a message sent in time is received.
//!
//! Run with `cargo run --release --example receive_timeout`.

use std::time::Duration;

use otp::{process, Mailbox, Message};

/// What `wait_for_message/1` returns: `:ok` or `:timeout`.
enum Waited {
    Ok,
    Timeout,
}

impl std::fmt::Display for Waited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Waited::Ok => ":ok",
            Waited::Timeout => ":timeout",
        })
    }
}

// ANCHOR: wait
/// `TimeoutDemo.wait_for_message/1`.
fn wait_for_message(mut mb: Mailbox<String>, timeout_ms: u64) -> Waited {
    match mb.receive_timeout(Duration::from_millis(timeout_ms)) {
        Some(message) => {
            println!("Got message: {message:?}");
            Waited::Ok
        }
        // The timeout clause: runs if no message arrives in time.
        None => {
            println!("Timed out after {timeout_ms}ms");
            Waited::Timeout
        }
    }
}
// ANCHOR_END: wait

/// Waits for the `DOWN` of `pid`.
fn wait_down(mb: &mut Mailbox<()>, pid: &otp::Pid<String>) {
    process::monitor(pid);
    let Message::Down { .. } = mb.receive_message() else {
        unreachable!("nothing else is sent to the root")
    };
}

fn main() {
    otp::run(|mut mb: Mailbox<()>| {
        // Spawn it and let it time out.
        let pid = otp::spawn(|mb: Mailbox<String>| {
            let _ = wait_for_message(mb, 200);
        });
        wait_down(&mut mb, &pid);

        // The other clause: a message that comes in time.
        let pid = otp::spawn(|mb: Mailbox<String>| {
            let result = wait_for_message(mb, 200);
            println!("wait_for_message returned {result}");
        });
        pid.send("hello".to_owned());
        wait_down(&mut mb, &pid);
    });
}
