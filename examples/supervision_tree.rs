//! A supervision tree: a one_for_one supervisor restarting a named worker, a nested supervisor,
//! and escalation when a child keeps crashing. The worker is a GenServer written with
//! [`#[otp::gen_server]`](otp::gen_server), reached by name through its generated client.
//!
//! Run with `cargo run --release --example supervision_tree`.

use std::time::Duration;

use otp::gen_server::StartOptions;
use otp::supervisor::{self, ChildSpec, Options, Strategy, Supervisor};
use otp::{ExitReason, Mailbox};

// ANCHOR: worker
/// A counter that forgets everything when it crashes: its supervisor starts a fresh one.
struct Counter(u64);

#[otp::gen_server]
impl Counter {
    #[init]
    fn init(&mut self) {
        println!("counter started as {}", otp::self_pid());
    }

    /// Counts one more, and says how many.
    #[call]
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }

    /// Crashes the counter.
    #[cast]
    fn crash(&mut self) {
        panic!("counter crashed on purpose");
    }
}

fn counter_spec() -> ChildSpec {
    ChildSpec::new("counter", || {
        CounterClient::start_link_with(StartOptions::new().name("counter"), Counter(0))
    })
}
// ANCHOR_END: worker

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // ANCHOR: tree
    let inner = supervisor::child_spec(
        "inner",
        vec![counter_spec()],
        Options::new(Strategy::OneForOne)
            .max_restarts(1)
            .name("inner"),
    );
    let top = supervisor::start_link(vec![inner], Options::new(Strategy::OneForOne)).unwrap();
    let counter = CounterClient::named("counter");
    println!("count: {:?}, {:?}", counter.next(), counter.next());
    // ANCHOR_END: tree

    // ANCHOR: restart
    // Crash it: the inner supervisor restarts it, under the same name, with fresh state.
    let inner = Supervisor::named("inner");
    let old = counter.pid().unwrap();
    let watch = otp::process::monitor(&old);
    counter.crash().unwrap();
    otp::receive! { mb,
        DOWN(r, _, reason) if r == watch => println!("old counter exited: {reason}"),
    }
    // The supervisor heard of the exit before we did, so it answers after the restart.
    println!("inner children: {:?}", inner.count_children().unwrap());
    println!("count after restart: {:?}", counter.next());
    // ANCHOR_END: restart

    // ANCHOR: escalate
    // Crash it again within 5 s: a second restart is more than the inner supervisor's
    // max_restarts (1), so it gives up, stops its children and exits `shutdown`; the top
    // supervisor then restarts the whole subtree.
    let inner_pid = inner.pid().unwrap();
    let watch = otp::process::monitor(&inner_pid);
    counter.crash().unwrap();
    otp::receive! { mb,
        DOWN(r, _, reason) if r == watch => println!("inner supervisor exited: {reason}"),
    }
    let restarted = top.which_children().unwrap()[0].pid.clone().unwrap();
    println!("inner supervisor restarted: {}", restarted != inner_pid);
    println!("count in the new subtree: {:?}", counter.next());
    // ANCHOR_END: escalate

    // `normal`: a `shutdown` would reach this process too, through the link, and end it.
    top.stop(ExitReason::Normal, Duration::from_secs(5))
        .unwrap();
}
