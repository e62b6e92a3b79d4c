//! Several tasks at once (tutorial block 16, `ParallelFetch.demo/0`): start one task per
//! source, then wait for all of them with `Task.await_many`; the total time is the slowest
//! fetch, not the sum.
//!
//! ```elixir
//! tasks = Enum.map(sources, fn source -> Task.async(fn -> fetch(source) end) end)
//! results = Task.await_many(tasks)
//! ```
//!
//! [`task::await_many`] returns the results in the order of the tasks, whatever order they
//! finish in, as on the BEAM (which printed `Total time: 811ms` for a slowest delay of 806 ms
//! and a sequential sum of 2475 ms).
//!
//! The delays are the ones the recorded BEAM run drew from `:rand.uniform(1000)`, scaled down
//! tenfold (806, 686, 420, 110 and 453 ms), so the run is the same every time.
//!
//! Run with `cargo run --release --example parallel_fetch`.

use std::time::{Duration, Instant};

use otp::task;

/// The recorded BEAM run's random latencies, in tens of milliseconds here.
const SOURCES: [(&str, u64); 5] = [
    ("database", 81),
    ("cache", 69),
    ("api", 42),
    ("file", 11),
    ("queue", 45),
];

/// `{:ok, source, data, delay}`.
struct Fetched {
    source: &'static str,
    data: String,
    delay_ms: u64,
}

/// `ParallelFetch.fetch/1`: simulates fetching data, with a latency.
fn fetch(source: &'static str, delay_ms: u64) -> Fetched {
    otp::sleep(Duration::from_millis(delay_ms));
    Fetched {
        source,
        data: format!("Data from {source}"),
        delay_ms,
    }
}

#[otp::main]
fn main() {
    println!("Starting parallel fetch...");
    let start_time = Instant::now();

    // ANCHOR: fetch
    // Start all tasks concurrently, then wait for all of them.
    let tasks: Vec<_> = SOURCES
        .into_iter()
        .map(|(source, delay)| task::async_(move || fetch(source, delay)))
        .collect();
    let results = task::await_many(tasks);
    // ANCHOR_END: fetch

    let total_time = start_time.elapsed().as_millis();

    println!();
    println!("Results:");
    for r in &results {
        println!("  {}: {} (took {}ms)", r.source, r.data, r.delay_ms);
    }

    println!();
    println!("Total time: {total_time}ms");
    let sequential: u64 = results.iter().map(|r| r.delay_ms).sum();
    println!("(Would have taken {sequential}ms sequentially)");
}
