//! Sending and receiving (tutorial block 5, `MessageDemo.listen/0`): `send` puts a message in
//! the listener's mailbox; `receive` takes it out.
//!
//! ```elixir
//! listener = spawn(MessageDemo, :listen, [])
//! send(listener, "Hello, process!")
//! ```
//!
//! `spawn(MessageDemo, :listen, [])` is [`otp::spawn_apply`]`(listen, ())`: `listen` takes the
//! new process's mailbox as its first parameter, and the pid is typed by it. Messages are
//! typed: the listener's mailbox takes `String`s, so `send` to it only compiles with a
//! `String`, where Elixir's catch-all `message ->` takes any term. The one-clause `receive` is
//! [`Mailbox::receive`]. Printing with `{:?}` quotes the string, as `inspect` does.
//!
//! The BEAM prints the line in 20 runs of 20, but only because the listener happens to run
//! before the script halts the VM. Here the root waits for the listener's exit (a monitor), so
//! the line always prints.
//!
//! Run with `cargo run --release --example send_receive`.

use otp::{process, Mailbox};

// ANCHOR: listen
/// `MessageDemo.listen/0`: receive blocks until a message arrives.
fn listen(mut mb: Mailbox<String>) {
    let message = mb.receive();
    println!("Received: {message:?}");
}
// ANCHOR_END: listen

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // ANCHOR: send
    // Spawn a listener process and send it a message.
    let listener = otp::spawn_apply(listen, ());
    listener.send("Hello, process!".to_owned());
    // ANCHOR_END: send

    // Wait until it has handled it.
    process::monitor(&listener);
    otp::receive! { mb, DOWN(_, _, _) => {} }
}
