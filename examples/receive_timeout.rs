//! Receiving with a timeout (tutorial block 7, `TimeoutDemo.wait_for_message/1`): `receive ...
//! after` gives up when no message comes in time.
//!
//! ```elixir
//! receive do
//!   message -> IO.puts("Got message: #{inspect(message)}"); :ok
//! after
//!   timeout_ms -> IO.puts("Timed out after #{timeout_ms}ms"); :timeout
//! end
//! ...
//! pid = spawn(TimeoutDemo, :wait_for_message, [2000])
//! ```
//!
//! [`otp::receive!`]'s `after` clause is Elixir's: it runs when no message has come in time.
//! The deadline is fixed when the receive starts; messages that arrive and match no clause
//! never push it back. `spawn(TimeoutDemo, :wait_for_message, [2000])` is
//! [`otp::spawn_apply`]`(wait_for_message, (2000,))`: the function takes the new process's
//! mailbox first, then the arguments. Its `:ok` and `:timeout` go nowhere on the BEAM (a
//! spawned function's value is dropped, and the process exits `:normal`), so ours returns
//! nothing.
//!
//! The BEAM prints `Timed out after 2000ms`, as the tutorial says, and so does this example;
//! the root waits for the process to finish (a monitor) rather than sleeping 3 s. A second run
//! shows the other clause: a message sent in time is received.
//!
//! Run with `cargo run --release --example receive_timeout`.

use std::time::Duration;

use otp::{process, Mailbox, Pid};

// ANCHOR: wait
/// `TimeoutDemo.wait_for_message/1`.
fn wait_for_message(mut mb: Mailbox<String>, timeout_ms: u64) {
    otp::receive! { mb,
        message => println!("Got message: {message:?}"),
        // The timeout clause: runs if no message arrives in time.
        after Duration::from_millis(timeout_ms) => println!("Timed out after {timeout_ms}ms"),
    }
}
// ANCHOR_END: wait

/// Waits until `pid` has exited.
fn wait_down(mb: &mut Mailbox<()>, pid: &Pid<String>) {
    let watch = process::monitor(pid);
    otp::receive! { mb, DOWN(r, _, _) if r == watch => {} }
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // Spawn it and let it time out.
    let pid = otp::spawn_apply(wait_for_message, (2000,));
    wait_down(&mut mb, &pid);

    // The other clause: a message that comes in time.
    let pid = otp::spawn_apply(wait_for_message, (2000,));
    pid.send("hello".to_owned());
    wait_down(&mut mb, &pid);
}
