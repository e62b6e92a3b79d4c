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

pub(crate) fn consume(n: i64) {
    let exhausted = context::with_scheduler(|s| {
        let Some(s) = s else { return false };
        let left = s.budget.get() - n;
        s.budget.set(left);
        left <= 0 && !s.current.get().is_null()
    });
    if exhausted {
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
