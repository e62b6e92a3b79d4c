//! Checking on a task without giving it up (tutorial block 18, `NonBlockingTasks.demo/0`):
//! `Task.yield` waits at most a given time and returns `nil` if the task is still running, so
//! it can be called again; `Task.await` then collects the result.
//!
//! ```elixir
//! case Task.yield(task, 500) do
//!   nil -> IO.puts("Task still running after 500ms")
//!   {:ok, result} -> IO.puts("Task completed: #{result}")
//! end
//! ```
//!
//! [`Task::yield_`](otp::task::Task::yield_) returns `None` for `nil`, `Some(Outcome::Ok(v))` for `{:ok, v}`, and
//! `Some(Outcome::Exit(reason))` for `{:exit, reason}`.
//!
//! Where the tutorial differs from the real BEAM: it shows `Final result: :completed`, but
//! string interpolation calls `to_string`, so the BEAM prints `Final result: completed`, with
//! no colon. So does this example.
//!
//! The times are a tenth of the tutorial's: the task takes 200 ms, each yield waits 50 ms.
//!
//! Run with `cargo run --release --example task_yield`.

use std::time::Duration;

use otp::task::{self, Outcome};

/// What a yield found.
fn report(outcome: Option<Outcome<&str>>, still_running: &str) {
    match outcome {
        None => println!("{still_running}"),
        Some(Outcome::Ok(result)) => println!("Task completed: {result}"),
        Some(Outcome::Exit(reason)) => println!("Task exited: {reason}"),
    }
}

#[otp::main]
fn main() {
    // ANCHOR: yield
    // Start a task.
    let mut task = task::async_(|| {
        otp::sleep(Duration::from_millis(200));
        "completed"
    });

    // yield_ checks if the task is done without blocking indefinitely.
    println!("Checking task (non-blocking)...");
    report(
        task.yield_(Duration::from_millis(50)),
        "Task still running after 50ms",
    );

    // Check again.
    report(
        task.yield_(Duration::from_millis(50)),
        "Task still running after 100ms total",
    );

    // Final await.
    let result = task.await_();
    println!("Final result: {result}");
    // ANCHOR_END: yield
}
