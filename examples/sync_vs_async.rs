//! Synchronous everything, or batched (tutorial block 27, `BadExample` and `GoodExample`):
//! awaiting each task right after starting it runs the queries one after the other; starting
//! them all and then awaiting them all runs them at once.
//!
//! ```elixir
//! task = Task.async(fn -> db_query("users", id) end)
//! Task.await(task)  # BAD: blocks immediately
//! ...
//! ids |> Enum.map(fn id -> Task.async(fn -> db_query("users", id) end) end) |> Task.await_many()
//! ```
//!
//! The block only defines the two modules; like the BEAM's run of it, this example times both
//! for five ids. The BEAM measured 508 ms against 100 ms for a 100 ms query; the query takes
//! 20 ms here, so about 100 ms against 20. [`task::await_many`] returns the results in the
//! order of the tasks.
//!
//! Run with `cargo run --release --example sync_vs_async`.

use std::{
    fmt,
    time::{Duration, Instant},
};

use otp::task;

/// `%{id: id, table: table}`.
struct Row {
    id: u32,
    table: &'static str,
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{{id: {}, table: {:?}}}", self.id, self.table)
    }
}

/// A query that takes a while.
fn db_query(table: &'static str, id: u32) -> Row {
    otp::sleep(Duration::from_millis(20));
    Row { id, table }
}

// ANCHOR: bad_good
/// BAD: every call synchronous, which defeats the purpose of concurrency.
mod bad_example {
    use super::*;

    pub fn fetch_user(id: u32) -> Row {
        let task = task::async_(move || db_query("users", id));
        task.await_() // blocks at once: no concurrency
    }
}

/// GOOD: batch the async operations.
mod good_example {
    use super::*;

    pub fn fetch_users(ids: impl IntoIterator<Item = u32>) -> Vec<Row> {
        let tasks: Vec<_> = ids
            .into_iter()
            .map(|id| task::async_(move || db_query("users", id)))
            .collect();
        task::await_many(tasks) // all queries run concurrently
    }
}
// ANCHOR_END: bad_good

/// `:timer.tc/1`: the result and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let value = f();
    (start.elapsed(), value)
}

#[otp::main]
fn main() {
    let (t1, r1) = timed(|| (1..=5).map(bad_example::fetch_user).collect::<Vec<_>>());
    println!("BadExample x5 sequential: {}ms -> {r1:?}", t1.as_millis());
    let (t2, r2) = timed(|| good_example::fetch_users(1..=5));
    println!("GoodExample batch of 5: {}ms -> {r2:?}", t2.as_millis());
}
