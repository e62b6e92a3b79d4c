//! Spawning a process (tutorial block 02): `spawn/1` returns a pid at once; the new process
//! runs concurrently and can ask for its own pid.
//!
//! Run with `cargo run --release --example basic_spawn`.

use otp::Mailbox;

fn main() {
    otp::run(|mut mb: Mailbox<()>| {
        let parent = mb.pid();
        let pid = otp::spawn(move || {
            println!("Hello from process {:?}", otp::self_pid());
            parent.send(());
        });
        println!("Spawned process: {pid:?}");
        // Wait for the child, where Elixir's IEx session would simply stay alive.
        mb.receive();
    });
}
