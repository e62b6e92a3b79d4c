//! Looking inside a process (tutorial block 22, `ProcessInspection.demo/0`): `Process.info/1`
//! reports what a process is doing, how much memory it holds and how many messages wait in
//! its mailbox; `Process.list/0` lists every process.
//!
//! ```elixir
//! info = Process.info(pid)
//! IO.puts("Status: #{info[:status]}")
//! IO.puts("Memory: #{info[:memory]} bytes")
//! IO.puts("Current function: #{inspect(info[:current_function])}")
//! ```
//!
//! [`process::info`] returns a [`ProcessInfo`] snapshot, or `None`
//! for a dead process (the BEAM's `nil`). Where the real BEAM differs from the tutorial, and
//! where we differ from both:
//!
//! * `Process.info/1` has **no** `:memory` key, so the BEAM prints `Memory:  bytes` (empty);
//!   only `Process.info(pid, :memory)` gives it. Ours includes `memory`: the process's record,
//!   its stack pages and its queued messages, but not heap memory owned by its locals (the
//!   list of 1000 numbers here is a `Vec` on the heap, so it is not counted).
//! * `current_function` is where the process is blocked: the BEAM prints
//!   `{ProcessInspection, :loop, 1}`, not the tutorial's `{:erl_prim_loader, :loop, 3}`. Ours
//!   is the source location of the `receive!` it is parked in. `initial_call` names the
//!   function it was spawned with. The tutorial spawns a fun, for which the BEAM says
//!   `{:erlang, :apply, 2}`; here the process runs a named function, started with
//!   [`otp::spawn_apply`]`(inspected, (ready,))`, so it says `process_info::inspected` (for a
//!   closure it would be the closure's type name).
//! * Reductions count the runtime calls a process makes (sends, receives, spawns), not every
//!   function call as the BEAM's do, so the figure is far below the BEAM's 3739.
//! * The BEAM counts 53 processes (its own system processes included); here there are only the
//!   ones this program started.
//!
//! Where the tutorial sleeps 100 ms to "give it a moment to initialize", the process says when
//! it is ready. Both snapshots come before the process runs again (it waits on the root's
//! scheduler), so the queue holds the three messages, as the BEAM showed.
//!
//! Run with `cargo run --release --example process_info`.

use otp::process::{self, ProcessInfo, Status};
use otp::{Mailbox, Pid};

/// What the inspected process is sent: `:stop`, or anything else (`:msg1`, ...).
enum Msg {
    Other,
    Stop,
}

/// The inspected process: holds some data and loops until `:stop`.
fn inspected(mut mb: Mailbox<Msg>, ready: Pid<()>) {
    let data: Vec<u64> = (1..=1000).collect();
    ready.send(());
    loop {
        otp::receive! { mb,
            Msg::Stop => break,
            _ => {}
        }
    }
    drop(data);
}

/// `waiting`, as Elixir prints the atom in a string.
fn status(info: &ProcessInfo) -> &'static str {
    match info.status {
        Status::Running => "running",
        Status::Runnable => "runnable",
        Status::Waiting => "waiting",
        Status::Exiting => "exiting",
    }
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // Start a process with some state, and wait until it is ready.
    let pid = otp::spawn_apply(inspected, (mb.pid(),));
    mb.receive();

    // ANCHOR: info
    // Get process info.
    let info = process::info(&pid).expect("it is alive");
    println!("Process: {pid:?}");
    println!("Status: {}", status(&info));
    println!("Memory: {} bytes", info.memory);
    println!("Message queue length: {}", info.message_queue_len);
    println!("Reductions: {}", info.reductions);
    match info.current_location {
        Some(at) => println!("Current function: receive at {at}"),
        None => println!("Current function: (running)"),
    }
    println!("Initial call: {}", info.initial_call);

    // Send some messages, and check the queue again.
    for _msg in ["msg1", "msg2", "msg3"] {
        pid.send(Msg::Other);
    }
    let updated = process::info(&pid).expect("it is alive");
    println!();
    println!("After sending messages:");
    println!("Message queue length: {}", updated.message_queue_len);
    println!("Memory: {} bytes", updated.memory);

    // List all processes.
    println!();
    println!("Total processes in system: {}", process::list().len());
    // ANCHOR_END: info

    pid.send(Msg::Stop);
}
