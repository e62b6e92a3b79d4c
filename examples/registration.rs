//! Registered names (tutorial block 21, `Registry.start_counter/0` and `CounterClient`): a
//! process registered under a name can be sent to by name, without passing its pid around.
//!
//! ```elixir
//! pid = spawn(fn -> counter_loop(0) end)
//! Process.register(pid, :counter)
//! send(:counter, :increment)
//! ```
//!
//! [`process::register`] and [`process::send_named`] are `Process.register/2` and
//! `send(:name, msg)`. Sending to a name nobody holds is an error (`Err`), as on the BEAM,
//! where it raises `ArgumentError`; sending to a dead pid is silent. The name is released when
//! the process exits, so [`process::whereis`] then gives `None` (`nil`).
//!
//! The BEAM prints the tutorial's three lines. One trap in the block: it names its module
//! `Registry`, which on a real node silently replaces Elixir's own `Registry` for the rest of
//! the VM's life (the BEAM prints a redefinition warning). otp's key-value
//! [`Registry`](otp::registry) is a different thing (keys to processes, many per name).
//!
//! The second half is the idiomatic counter: a named GenServer, whose client API is calls and
//! casts by name through [`Server::named`].
//!
//! Run with `cargo run --release --example registration`.

use std::time::Duration;

use otp::gen_server::{CallResult, CastResult, From, GenServer, Server, StartOptions};
use otp::{process, ExitReason, Mailbox, Message, Pid};

/// The counter's messages.
enum Counter {
    Increment,
    Decrement,
    Get(Pid<i64>),
    Stop,
}

/// `Registry.counter_loop/1`.
fn counter_loop(mut mb: Mailbox<Counter>) {
    let mut count = 0;
    loop {
        match mb.receive() {
            Counter::Increment => count += 1,
            Counter::Decrement => count -= 1,
            Counter::Get(caller) => caller.send(count),
            Counter::Stop => return,
        }
    }
}

// ANCHOR: counter
/// `Registry.start_counter/0`.
fn start_counter() -> Pid<Counter> {
    let pid = otp::spawn(counter_loop);
    process::register("counter", &pid).expect("the name is free");
    println!("Counter registered as :counter (pid: {pid:?})");
    pid
}

/// `CounterClient`: everything by name.
mod counter_client {
    use super::*;

    pub fn increment() {
        process::send_named("counter", Counter::Increment).expect("a counter is registered");
    }

    pub fn decrement() {
        process::send_named("counter", Counter::Decrement).expect("a counter is registered");
    }

    /// The count, or `None` after a second (`{:error, :timeout}`).
    pub fn get(mb: &mut Mailbox<i64>) -> Option<i64> {
        process::send_named("counter", Counter::Get(mb.pid())).expect("a counter is registered");
        mb.receive_timeout(Duration::from_secs(1))
    }
}
// ANCHOR_END: counter

/// The same counter as a GenServer: the state is the count.
struct CounterServer(i64);

/// Casts: fire and forget.
enum Change {
    Increment,
    Decrement,
}

impl GenServer for CounterServer {
    type Call = (); // "what is the count?"
    type Reply = i64;
    type Cast = Change;
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, (): (), _from: From<i64>) -> CallResult<i64> {
        CallResult::reply(self.0)
    }

    fn handle_cast(&mut self, change: Change) -> CastResult {
        match change {
            Change::Increment => self.0 += 1,
            Change::Decrement => self.0 -= 1,
        }
        CastResult::noreply()
    }
}

fn main() {
    otp::run(|mut mb: Mailbox<i64>| {
        let pid = start_counter();

        counter_client::increment();
        counter_client::increment();
        counter_client::increment();
        println!("Count: {}", show(counter_client::get(&mut mb)));

        counter_client::decrement();
        println!("Count: {}", show(counter_client::get(&mut mb)));

        // Stop it; once it has exited, the name is free again.
        let watch = process::monitor(&pid);
        process::send_named("counter", Counter::Stop).expect("a counter is registered");
        let Some(Message::Down { .. }) = mb.select(
            None,
            |m| matches!(m, otp::MessageRef::Down { reference, .. } if reference == watch),
        ) else {
            unreachable!("an infinite select returns its match")
        };
        println!(
            "whereis(:counter) after it stopped: {:?}",
            process::whereis("counter")
        );

        // ANCHOR: named
        // The idiomatic counter: a named GenServer.
        println!();
        println!("--- The same counter as a named GenServer ---");
        StartOptions::new()
            .name("counter")
            .start(CounterServer(0))
            .expect("the name is free again");
        let counter = Server::<CounterServer>::named("counter");
        for _ in 0..3 {
            counter.cast(Change::Increment).unwrap();
        }
        println!("Count: {}", counter.call(()).unwrap());
        counter.cast(Change::Decrement).unwrap();
        println!("Count: {}", counter.call(()).unwrap());
        // ANCHOR_END: named
        counter
            .stop(ExitReason::Normal, Duration::from_secs(5))
            .unwrap();
    });
}

/// `#{count}`, or the client's `{:error, :timeout}`.
fn show(count: Option<i64>) -> String {
    count.map_or_else(|| "{:error, :timeout}".to_owned(), |n| n.to_string())
}
