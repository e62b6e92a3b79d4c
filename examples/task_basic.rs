//! `Task.async` and `Task.await` (tutorial block 15, `TaskDemo.basic_async/0`): start a
//! computation in its own process, do other work, then collect its result.
//!
//! ```elixir
//! task = Task.async(fn -> IO.puts("Task running in #{inspect(self())}"); Process.sleep(1000); 42 end)
//! IO.puts("Task created: #{inspect(task)}")
//! ...
//! result = Task.await(task)
//! ```
//!
//! `async` and `await` are Rust keywords, hence [`task::async_`] and [`Task::await_`]. Where
//! the BEAM differs from the tutorial:
//!
//! * The BEAM printed "Task running in ..." *first* (20 runs of 20), before "Task created"; the
//!   order is a race. Here the task waits on the root's scheduler until the root blocks (in
//!   its sleep), so "Task created" and "Doing other work" come first.
//! * The BEAM's struct prints as `%Task{mfa: {:erlang, :apply, 2}, owner: ..., pid: ...,
//!   ref: ...}` (fields in alphabetical order, with an `mfa` field); ours has no `mfa` field.
//! * "Task.await blocks until the task completes" is not quite it: it waits 5 s by default,
//!   then **exits the caller** with `{:timeout, {Task, :await, [task, 5000]}}`. The last part
//!   shows that, with a short timeout, in a process of its own.
//!
//! The sleeps are 100 and 50 ms instead of 1000 and 500.
//!
//! Run with `cargo run --release --example task_basic`.

use std::time::Duration;

use otp::task::{self, Task};
use otp::Mailbox;

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    // ANCHOR: basic
    // Task.async creates a linked, monitored process and returns a task.
    let task: Task<u32> = task::async_(|| {
        println!("Task running in {:?}", otp::self_pid());
        otp::sleep(Duration::from_millis(100));
        42
    });

    println!("Task created: {task:?}");
    println!("Doing other work while task runs...");
    otp::sleep(Duration::from_millis(50));
    println!("Still doing other work...");

    // await_ waits until the task replies (up to 5 s) and returns its result.
    let result = task.await_();
    println!("Task result: {result}");
    // ANCHOR_END: basic

    // ANCHOR: timeout
    // An await that runs out of time exits the caller (here a process of its own).
    println!();
    let (_, watch) = otp::spawn_monitor(|| {
        let slow = task::async_(|| otp::sleep(Duration::from_millis(100)));
        slow.await_timeout(Duration::from_millis(10));
    });
    otp::receive! { mb,
        DOWN(r, _, reason) if r == watch => {
            println!("A caller whose await timed out exited with:");
            println!("  {reason}");
        }
    }
    // ANCHOR_END: timeout
}
