//! Support for `#[otp::budget]`: the check it inserts at function entry and at the top of every
//! loop body.
//!
//! A tick spends one reduction of the running process's slice and, when the slice is spent,
//! yields to the other processes on the scheduler (the same path every runtime call takes, see
//! `runtime/budget.rs`). Outside a process the budget is unlimited, so a tick only decrements a
//! thread-local counter: an instrumented function costs one add and one compare per iteration
//! wherever it runs.

/// Spends one reduction; yields if the slice is used up.
#[inline]
pub fn tick() {
    crate::runtime::budget::consume(1);
}
