//! A GenServer (Elixir's `GenServer` docs example, the stack): state, calls, casts, plain
//! messages, a named server, and what a caller sees when the server crashes.
//!
//! Run with `cargo run --release --example gen_server_stack`.

use std::time::Duration;

use otp::gen_server::{
    self, CallError, CallResult, CastResult, From, GenServer, Info, InitResult, Next, Server,
    StartOptions,
};
use otp::ExitReason;

// ANCHOR: server
/// The state: the stack itself.
struct Stack(Vec<String>);

/// What callers ask, and wait for.
enum Call {
    Pop,
    Peek,
}

impl GenServer for Stack {
    type Call = Call;
    type Reply = Option<String>;
    type Cast = String; // push, fire and forget
    type Info = &'static str; // plain messages
    type Continue = ();

    fn init(&mut self) -> InitResult {
        println!("init: starting with {:?}", self.0);
        InitResult::ok()
    }

    fn handle_call(
        &mut self,
        request: Call,
        _from: From<Option<String>>,
    ) -> CallResult<Option<String>> {
        match request {
            Call::Pop => CallResult::reply(self.0.pop()),
            Call::Peek if self.0.is_empty() => panic!("peek at an empty stack"),
            Call::Peek => CallResult::reply(self.0.last().cloned()),
        }
    }

    fn handle_cast(&mut self, element: String) -> CastResult {
        self.0.push(element);
        CastResult::noreply()
    }

    fn handle_info(&mut self, info: Info<&'static str>) -> CastResult {
        if let Info::Message(m) = info {
            println!("handle_info: {m}");
        }
        CastResult::NoReply(Next::Wait)
    }

    fn terminate(&mut self, reason: &ExitReason) {
        println!("terminate: {reason} with {} elements left", self.0.len());
    }
}
// ANCHOR_END: server

#[otp::main]
fn main() {
    // ANCHOR: client
    let stack = gen_server::start_link(Stack(vec!["hello".into()])).unwrap();
    println!("pop -> {:?}", stack.call(Call::Pop));
    stack.cast("world".into()).unwrap();
    println!("pop -> {:?}", stack.call(Call::Pop));
    println!("pop -> {:?}", stack.call(Call::Pop)); // empty: None
    stack.send("just saying").unwrap();
    // Messages from one sender arrive in order: handle_info runs before this call.
    println!("pop -> {:?}", stack.call(Call::Pop));
    // ANCHOR_END: client

    // ANCHOR: named
    StartOptions::new()
        .name("stack")
        .start(Stack(vec![]))
        .unwrap();
    let named = Server::<Stack>::named("stack");
    named.cast("by name".into()).unwrap();
    println!("named pop -> {:?}", named.call(Call::Pop));
    // ANCHOR_END: named

    // ANCHOR: errors
    // A crash in a callback ends the server (after `terminate`); the caller gets the reason.
    match named.call(Call::Peek) {
        Err(CallError::Exit(reason)) => {
            println!("peek failed: the server exited with {reason}")
        }
        other => println!("unexpected: {other:?}"),
    }
    // Nobody holds the name any more: a typed error, not a hang.
    assert_eq!(named.call(Call::Pop), Err(CallError::NoProc));
    assert!(named.cast("lost?".into()).is_err());
    println!(
        "after the crash: {:?}",
        named.call_timeout(Call::Pop, Duration::from_millis(100))
    );
    // ANCHOR_END: errors

    stack
        .stop(ExitReason::Normal, Duration::from_secs(5))
        .unwrap();
}
