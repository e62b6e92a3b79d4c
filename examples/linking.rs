//! Linking (tutorial block 9, `LinkDemo`): `spawn_link` spawns and links in one step. A linked
//! child that finishes normally does not affect its parent; one that crashes takes a parent that
//! does not trap exits down with the same reason.
//!
//! ```elixir
//! child = spawn_link(fn ->
//!   IO.puts("Child started: #{inspect(self())}")
//!   Process.sleep(1000)
//!   raise "Child crashed!"
//! end)
//! ```
//!
//! The first half is the block as written (the BEAM prints its three lines; "Parent spawned"
//! and "Child started" swapped in 3 runs of 20). The second half is the crash case the
//! tutorial leaves commented out (the BEAM's `09b` variant): there the script's main process
//! dies, the BEAM prints `** (EXIT from #PID<0.96.0>) an exception was raised: ...` and exits
//! with status 1. So that this example can exit 0, the crashing parent here is a process of its
//! own, and the root watches it with a monitor and prints what the BEAM prints. A panic is our
//! `raise`: its reason carries the message and the location.
//!
//! The tutorial says "when one linked process dies, all processes linked to it also die"; the
//! BEAM's rule has an exception, which the first half shows: a `:normal` exit never propagates.
//! The sleeps are 100 ms instead of 2000 and 1000, and the root waits on monitors instead of
//! sleeping 3 s.
//!
//! Run with `cargo run --release --example linking`.

use std::time::Duration;

use otp::{process, AnyPid, ExitReason, Mailbox, Pid, Ref};

// ANCHOR: children
/// `LinkDemo.start_child/0`: a linked child that finishes normally.
fn start_child() -> Pid<()> {
    let child = otp::spawn_link(|| {
        println!("Child started: {:?}", otp::self_pid());
        otp::sleep(Duration::from_millis(100));
        println!("Child finished normally");
    });
    println!("Parent spawned child: {child:?}");
    child
}

/// `LinkDemo.start_crashing_child/0`: a linked child that raises.
fn start_crashing_child() -> Pid<()> {
    let child = otp::spawn_link(|| {
        println!("Child started: {:?}", otp::self_pid());
        otp::sleep(Duration::from_millis(100));
        // This will crash the child.
        panic!("Child crashed!");
    });
    println!("Parent spawned crashing child: {child:?}");
    child
}
// ANCHOR_END: children

/// Waits for the `DOWN` of `watch` and returns its reason.
fn down_reason(mb: &mut Mailbox<()>, watch: Ref) -> ExitReason {
    otp::receive! { mb, DOWN(r, _, reason) if r == watch => reason }
}

/// How an Elixir script reports its main process dying from a link.
fn report_exit(from: &AnyPid, reason: &ExitReason) {
    match reason {
        ExitReason::Panic(p) => {
            println!("** (EXIT from {from:?}) an exception was raised:");
            println!("    ** (panic) {}", p.message());
            if let Some(at) = p.location() {
                println!("        {at}");
            }
        }
        other => println!("** (EXIT from {from:?}) {other}"),
    }
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // Normal case: both complete.
    let child = start_child();
    let watch = process::monitor(&child);
    let reason = down_reason(&mut mb, watch);
    assert_eq!(reason, ExitReason::Normal);

    // ANCHOR: crash
    // Crash case: the linked parent crashes too. The parent is a process of our own.
    let (parent, watch) = otp::spawn_monitor(|| {
        start_crashing_child();
        otp::sleep(Duration::from_secs(3));
        unreachable!("the child's crash ends this process through the link");
    });
    let reason = down_reason(&mut mb, watch);
    report_exit(parent.as_any(), &reason);
    // ANCHOR_END: crash
    println!("Parent still alive afterwards: {}", process::alive(&parent));
}
