//! Several processes at once (tutorial block 4, `ConcurrentWorker.do_work/2`): five workers
//! start together and finish in the order of their durations, not the order they started.
//!
//! ```elixir
//! for i <- 1..5 do
//!   duration = :rand.uniform(1000)
//!   spawn(ConcurrentWorker, :do_work, [i, duration])
//! end
//! ```
//!
//! Run as a script, the block prints only the five "Starting work..." lines on the real BEAM:
//! the script returns right after the spawns and the VM halts, killing the workers. The
//! tutorial's output assumes IEx, which stays alive. The BEAM variant that waits (`04b`)
//! prints all ten lines, which is what this example prints: the root waits for every worker
//! through a monitor (`#[otp::main]` also stops every process when `main` returns).
//!
//! The durations are the ones the recorded BEAM run drew from `:rand.uniform(1000)`, scaled
//! down tenfold (655, 502, 805, 748, 242 ms), so the finishing order is the same on every run:
//! 5, 2, 1, 4, 3, as on the BEAM.
//!
//! The "Starting work..." lines are a race on both runtimes. The BEAM printed them in spawn
//! order; here the workers wait on the root's scheduler until the root blocks, and the newest
//! process starts first (as Go's `runnext` does), so they usually print 5 to 1. The tutorial's
//! "They all start simultaneously" holds either way: every worker has started before the first
//! one finishes.
//!
//! Run with `cargo run --release --example concurrent_workers`.

use std::time::Duration;

use otp::{process, Mailbox};

/// The recorded BEAM run's random durations, in tens of milliseconds here.
const DURATIONS_MS: [u64; 5] = [66, 50, 81, 75, 24];

// ANCHOR: workers
/// `ConcurrentWorker.do_work/2`.
fn do_work(id: usize, duration_ms: u64) {
    println!("[{id}] Starting work...");
    // Simulate work with sleep.
    otp::sleep(Duration::from_millis(duration_ms));
    println!("[{id}] Finished after {duration_ms}ms");
}
// ANCHOR_END: workers

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // ANCHOR: spawn
    // Spawn 5 workers with different durations; they all start at once.
    let workers: Vec<_> = (1..=5)
        .zip(DURATIONS_MS)
        .map(|(i, duration)| otp::spawn_apply(do_work, (i, duration)))
        .collect();
    // ANCHOR_END: spawn

    // Keep the root alive until every worker is done.
    for worker in &workers {
        process::monitor(worker);
    }
    for _ in &workers {
        otp::receive! { mb, DOWN(_, _, _) => {} }
    }
}
