//! Spawning a named function with arguments (tutorial block 3, `spawn/3`): the counterpart of
//! `spawn(Module, :fun, args)` is [`otp::spawn_apply`]`(fun, args)`, with the arguments as a
//! tuple.
//!
//! ```elixir
//! spawn(Greeter, :greet, ["Alice"])
//! spawn(Greeter, :greet, ["Howdy", "Bob"])
//! ```
//!
//! Rust has no overloading by arity, so `Greeter.greet/1` and `Greeter.greet/2` become two
//! functions, and a wrong arity or a missing function is a compile error where the BEAM spawns
//! a process that dies with `:undef`.
//!
//! The tutorial shows Alice's line first. On the BEAM the two processes are independent and
//! either line may come first (Alice first in 11 runs of 20, Bob first in the recorded run).
//! Here both wait on the root's scheduler until the root blocks, and the newest one starts
//! first (as a goroutine does with Go's `runnext`), so Bob's line usually comes first; no order
//! is promised. The root waits for both through monitors, where the tutorial relies on IEx
//! staying alive.
//!
//! Run with `cargo run --release --example spawn_mfa`.

use otp::{process, Mailbox};

// ANCHOR: greet
/// `Greeter.greet/1`.
fn greet(name: &'static str) {
    println!("Hello, {name}! From process {:?}", otp::self_pid());
}

/// `Greeter.greet/2`.
fn greet_with(greeting: &'static str, name: &'static str) {
    println!("{greeting}, {name}! From process {:?}", otp::self_pid());
}
// ANCHOR_END: greet

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // ANCHOR: spawn
    // Spawn with one argument, then with two.
    let alice = otp::spawn_apply(greet, ("Alice",));
    let bob = otp::spawn_apply(greet_with, ("Howdy", "Bob"));
    // ANCHOR_END: spawn

    // Wait until both have finished (a DOWN each; `noproc` if one was already gone).
    process::monitor(&alice);
    process::monitor(&bob);
    for _ in 0..2 {
        otp::receive! { mb, DOWN(_, _, _) => {} }
    }
}
