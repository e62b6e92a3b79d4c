//! The README's example, compiled and run by CI (and checked against the README by
//! `book/listings/tests/readme.rs`): a GenServer written as plain methods, its generated typed
//! client, and a supervisor that restarts it by name.
//!
//! Run with `cargo run --release --example readme`.

// ANCHOR: readme
use otp::{
    gen_server::StartOptions,
    supervisor::{self, Options, Strategy},
};

struct Counter(u64);

#[otp::gen_server]
impl Counter {
    #[call]
    fn bump(&mut self, by: u64) -> u64 {
        self.0 += by;
        self.0
    }
}

#[otp::main]
fn main() {
    let named = StartOptions::new().name("counter");
    let child = CounterClient::child_spec_with("counter", named, || Counter(0));
    supervisor::start_link(vec![child], Options::new(Strategy::OneForOne)).unwrap();
    let counter = CounterClient::named("counter"); // finds every restarted incarnation
    println!("{:?}", counter.bump(2)); // Ok(2)
}
// ANCHOR_END: readme
