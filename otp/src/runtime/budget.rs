//! Reductions: cooperative preemption at safe points.
//!
//! Arbitrary Rust code cannot be preempted soundly (a process switched out inside `malloc` or
//! while holding std's stdout lock corrupts the heap or deadlocks; measured, see
//! `research/runtime-feasibility.md` section 4). So, like the BEAM, a process is switched out
//! only at safe points: every runtime call spends reductions from a budget (about 4000 per
//! slice, the BEAM's figure), and when the budget is spent the process yields to the others on
//! its scheduler. Long computations opt in with [`consume_reductions`] or [`yield_now`]; a
//! process that never calls the runtime is reported by the watchdog, and the other schedulers
//! take its scheduler's movable work meanwhile.

use std::cell::Cell;

use crate::{
    process::core::Suspend,
    runtime::{context, switch},
};

/// The BEAM's slice: 4000 reductions.
pub const DEFAULT_REDUCTIONS: i64 = 4000;

/// Spends `n` reductions of the current process's slice; yields if the slice is used up.
/// Outside a process it does nothing.
///
/// ```
/// otp::run(|| {
///     let mut sum = 0u64;
///     for i in 0..1_000_000u64 {
///         sum += i;
///         otp::consume_reductions(1); // let other processes run now and then
///     }
///     assert_eq!(sum, 499_999_500_000);
/// });
/// ```
pub fn consume_reductions(n: u32) {
    consume(i64::from(n));
}

thread_local! {
    /// Reductions left in the slice of the process running on this thread. The scheduler sets
    /// it before each resume and reads it after; between slices (and on threads that are not
    /// schedulers) it is "unlimited", so runtime calls outside processes never yield.
    static BUDGET: Cell<i64> = const { Cell::new(UNLIMITED) };
}

const UNLIMITED: i64 = i64::MAX / 2;

/// Starts a slice of `n` reductions on this thread.
pub(crate) fn start_slice(n: i64) {
    BUDGET.with(|b| b.set(n));
}

/// Ends the slice; returns the reductions left.
pub(crate) fn end_slice() -> i64 {
    BUDGET.with(|b| b.replace(UNLIMITED))
}

/// Reductions left in the current slice (huge outside a process).
pub(crate) fn remaining() -> i64 {
    BUDGET.with(Cell::get)
}

#[inline]
pub(crate) fn consume(n: i64) {
    let left = BUDGET.with(|b| {
        let left = b.get() - n;
        b.set(left);
        left
    });
    if left <= 0 {
        yield_now();
    }
}

/// Lets the other runnable processes on this scheduler run, then continues. Outside a process
/// it yields the OS thread.
///
/// ```
/// otp::run(|| {
///     otp::yield_now();
/// });
/// ```
pub fn yield_now() {
    if context::current_process().is_none() {
        std::thread::yield_now();
        return;
    }
    switch::suspend(Suspend::Yield);
}
