//! Bounded concurrency (tutorial block 28, `BoundedConcurrency.process_large_list/3`): process
//! a large list with at most N tasks at a time, sorting the outcomes into successes and
//! failures.
//!
//! ```elixir
//! items
//! |> Task.async_stream(processor_fn, max_concurrency: max_concurrency, timeout: 30_000,
//!      on_timeout: :kill_task)
//! |> Enum.reduce({[], []}, fn
//!   {:ok, result}, {successes, failures} -> {[result | successes], failures}
//!   {:exit, reason}, {successes, failures} -> {successes, [reason | failures]}
//! end)
//! ```
//!
//! [`task::async_stream`] with [`max_concurrency`](otp::task::AsyncStream::max_concurrency),
//! [`timeout`](otp::task::AsyncStream::timeout) and [`OnTimeout::KillTask`], folded into two
//! lists. The block only defines the function; like the BEAM's run of it, this example calls
//! it on 1..20 with a 100 ms processor (10 ms here) at most 4 at a time: five rounds, about
//! 500 ms on the BEAM (511), about 50 ms here, and `{[200, 190, ..., 10], []}`.
//!
//! What the BEAM shows that the tutorial does not say:
//!
//! * The successes come back **reversed**: the reduce prepends.
//! * Only a **timeout** becomes `{:exit, reason}` (`:timeout`, with `on_timeout: :kill_task`).
//!   A processor that **raises** does not land in the failures: the stream's tasks are linked
//!   to the caller, so the crash kills the caller (unless it traps exits). The last two parts
//!   show both, the crash in a process of its own.
//!
//! Run with `cargo run --release --example bounded_concurrency`.

use std::{
    fmt::Debug,
    time::{Duration, Instant},
};

use otp::task::{self, OnTimeout, Outcome};
use otp::{ExitReason, Mailbox};

// ANCHOR: process
/// `process_large_list/3`: at most `max_concurrency` at a time, 30 s per item.
fn process_large_list<T, R>(
    items: impl IntoIterator<Item = T>,
    processor: impl Fn(T) -> R + Send + Sync + 'static,
    max_concurrency: usize,
) -> (Vec<R>, Vec<ExitReason>)
where
    T: Send + 'static,
    R: Send + 'static,
{
    process_with_timeout(items, processor, max_concurrency, Duration::from_secs(30))
}
// ANCHOR_END: process

/// The same, with the timeout as a parameter (for the timeout demonstration).
fn process_with_timeout<T, R>(
    items: impl IntoIterator<Item = T>,
    processor: impl Fn(T) -> R + Send + Sync + 'static,
    max_concurrency: usize,
    timeout: Duration,
) -> (Vec<R>, Vec<ExitReason>)
where
    T: Send + 'static,
    R: Send + 'static,
{
    let (mut successes, mut failures) = task::async_stream(items, processor)
        .max_concurrency(max_concurrency)
        .timeout(timeout)
        .on_timeout(OnTimeout::KillTask)
        .fold((Vec::new(), Vec::new()), |(mut ok, mut failed), outcome| {
            match outcome {
                Outcome::Ok(result) => ok.push(result),
                Outcome::Exit(reason) => failed.push(reason),
            }
            (ok, failed)
        });
    // The tutorial's reduce prepends, so its lists come out last first; so do these.
    successes.reverse();
    failures.reverse();
    (successes, failures)
}

/// `{[200, 190, ...], []}`.
fn show<R: Debug>((successes, failures): &(Vec<R>, Vec<ExitReason>)) -> String {
    format!("{{{successes:?}, {failures:?}}}")
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    let start = Instant::now();
    let result = process_large_list(
        1..=20u64,
        |x| {
            otp::sleep(Duration::from_millis(10));
            x * 10
        },
        4,
    );
    println!(
        "process_large_list(1..20, sleep 10ms, max_concurrency 4) took {}ms",
        start.elapsed().as_millis()
    );
    println!("result: {}", show(&result));

    // A timeout is a failure (the task is killed, the stream goes on).
    println!();
    let result = process_with_timeout(
        [10u64, 200, 20],
        |ms| {
            otp::sleep(Duration::from_millis(ms));
            ms
        },
        4,
        Duration::from_millis(50),
    );
    println!(
        "sleeps of 10, 200 and 20 ms, timeout 50 ms: {}",
        show(&result)
    );

    // A crash is not a failure: it takes the caller down, through the link.
    let (_, watch) = otp::spawn_monitor(|| {
        let result = process_large_list(
            [1u64, 2, 3],
            |x| if x == 2 { panic!("bad item {x}") } else { x },
            4,
        );
        println!("never printed: {}", show(&result));
    });
    otp::receive! { mb,
        DOWN(r, _, reason) if r == watch => {
            println!("a processor that panics: the caller exited with {reason}");
        }
    }
}
