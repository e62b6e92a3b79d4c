//! A supervision tree: a one_for_one supervisor restarting a named worker, a nested supervisor,
//! and escalation when a child keeps crashing.
//!
//! Run with `cargo run --release --example supervision_tree`.

use std::time::Duration;

use otp::gen_server::{CallResult, CastResult, From, GenServer, InitResult, Server, StartOptions};
use otp::supervisor::{self, ChildSpec, Options, Strategy, Supervisor};
use otp::{ExitReason, Mailbox, Message};

// ANCHOR: worker
/// A counter that forgets everything when it crashes: its supervisor starts a fresh one.
struct Counter(u64);

impl GenServer for Counter {
    type Call = ();
    type Reply = u64;
    type Cast = (); // "crash now"
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        println!("counter started as {}", otp::self_pid());
        InitResult::ok()
    }

    fn handle_call(&mut self, (): (), _: From<u64>) -> CallResult<u64> {
        self.0 += 1;
        CallResult::reply(self.0)
    }

    fn handle_cast(&mut self, (): ()) -> CastResult {
        panic!("counter crashed on purpose");
    }
}

fn counter_spec() -> ChildSpec {
    ChildSpec::new("counter", || {
        StartOptions::new().name("counter").start_link(Counter(0))
    })
}
// ANCHOR_END: worker

fn main() {
    otp::run(|mut mb: Mailbox<()>| {
        // ANCHOR: tree
        let inner = supervisor::child_spec(
            "inner",
            vec![counter_spec()],
            Options::new(Strategy::OneForOne)
                .max_restarts(1)
                .name("inner"),
        );
        let top = supervisor::start_link(vec![inner], Options::new(Strategy::OneForOne)).unwrap();
        let counter = Server::<Counter>::named("counter");
        println!("count: {:?}, {:?}", counter.call(()), counter.call(()));
        // ANCHOR_END: tree

        // ANCHOR: restart
        // Crash it: the inner supervisor restarts it, under the same name, with fresh state.
        let inner = Supervisor::named("inner");
        let old = counter.pid().unwrap();
        otp::process::monitor(&old);
        counter.cast(()).unwrap();
        if let Message::Down { reason, .. } = mb.receive_message() {
            println!("old counter exited: {reason}");
        }
        // The supervisor heard of the exit before we did, so it answers after the restart.
        println!("inner children: {:?}", inner.count_children().unwrap());
        println!("count after restart: {:?}", counter.call(()));
        // ANCHOR_END: restart

        // ANCHOR: escalate
        // Crash it again within 5 s: a second restart is more than the inner supervisor's
        // max_restarts (1), so it gives up, stops its children and exits `shutdown`; the top
        // supervisor then restarts the whole subtree.
        let inner_pid = inner.pid().unwrap();
        otp::process::monitor(&inner_pid);
        counter.cast(()).unwrap();
        if let Message::Down { reason, .. } = mb.receive_message() {
            println!("inner supervisor exited: {reason}");
        }
        let restarted = top.which_children().unwrap()[0].pid.clone().unwrap();
        println!("inner supervisor restarted: {}", restarted != inner_pid);
        println!("count in the new subtree: {:?}", counter.call(()));
        // ANCHOR_END: escalate

        // `normal`: a `shutdown` would reach this process too, through the link, and end it.
        top.stop(ExitReason::Normal, Duration::from_secs(5))
            .unwrap();
    });
}
