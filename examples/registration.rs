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
//! The second half is the idiomatic counter: a named GenServer written with
//! [`#[otp::gen_server]`](otp::gen_server), whose generated client makes the calls and casts by
//! name (`CounterServerClient::named`), as the tutorial's `CounterClient` sends by name.
//!
//! Run with `cargo run --release --example registration`.

use std::time::Duration;

use otp::gen_server::StartOptions;
use otp::{process, ExitReason, Mailbox, Pid};

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
        otp::receive! { mb,
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
        otp::receive! { mb,
            count => Some(count),
            after Duration::from_secs(1) => None,
        }
    }
}
// ANCHOR_END: counter

/// The same counter as a GenServer: the state is the count.
struct CounterServer(i64);

#[otp::gen_server]
impl CounterServer {
    /// Fire and forget.
    #[cast]
    fn increment(&mut self) {
        self.0 += 1;
    }

    #[cast]
    fn decrement(&mut self) {
        self.0 -= 1;
    }

    /// What is the count?
    #[call]
    fn get(&self) -> i64 {
        self.0
    }
}

#[otp::main]
fn main(mut mb: Mailbox<i64>) {
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
    otp::receive! { mb, DOWN(r, _, _) if r == watch => {} }
    println!(
        "whereis(:counter) after it stopped: {:?}",
        process::whereis("counter")
    );

    // ANCHOR: named
    // The idiomatic counter: a named GenServer.
    println!();
    println!("--- The same counter as a named GenServer ---");
    let options = StartOptions::new().name("counter");
    CounterServerClient::start_with(options, CounterServer(0)).expect("the name is free again");
    let counter = CounterServerClient::named("counter");
    for _ in 0..3 {
        counter.increment().unwrap();
    }
    println!("Count: {}", counter.get().unwrap());
    counter.decrement().unwrap();
    println!("Count: {}", counter.get().unwrap());
    // ANCHOR_END: named
    counter
        .stop(ExitReason::Normal, Duration::from_secs(5))
        .unwrap();
}

/// `#{count}`, or the client's `{:error, :timeout}`.
fn show(count: Option<i64>) -> String {
    count.map_or_else(|| "{:error, :timeout}".to_owned(), |n| n.to_string())
}
