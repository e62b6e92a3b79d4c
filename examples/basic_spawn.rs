//! Spawning a process (tutorial block 2, "Basic Spawn"): `spawn` returns a pid at once; the new
//! process runs concurrently and can ask for its own pid.
//!
//! ```elixir
//! pid = spawn(fn -> IO.puts("Hello from process #{inspect(self())}") end)
//! IO.puts("Spawned process: #{inspect(pid)}")
//! ```
//!
//! The BEAM prints "Spawned process" first and then "Hello from process", as the tutorial
//! says, but that order is a race (the BEAM kept it in 20 runs out of 20, and so do we: a new
//! process waits on its parent's scheduler until the parent blocks). Pids print as Elixir's
//! `inspect` prints them, `#PID<0.N.0>`.
//!
//! One addition: the root waits for the child's message before returning. An Elixir script
//! halts the VM when its top level returns, and so does `#[otp::main]` when `main` returns, so
//! without the wait the child could be stopped before it prints (as block 4 shows on the BEAM).
//!
//! Run with `cargo run --release --example basic_spawn`.

use otp::Mailbox;

// ANCHOR: main
#[otp::main]
fn main(mut mb: Mailbox<()>) {
    let parent = mb.pid();
    let pid = otp::spawn(move || {
        println!("Hello from process {:?}", otp::self_pid());
        parent.send(());
    });
    println!("Spawned process: {pid:?}");
    mb.receive();
}
// ANCHOR_END: main
