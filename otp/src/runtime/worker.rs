//! Worker coroutines: the coroutine an activation runs on, kept warm between activations.
//!
//! A coroutine is cheap to make but not free: a stack from the pool, its first frames laid
//! out, a trampoline on the first resume, and on return the stack back to the pool. A
//! `GenServer` would pay that for every message it handles (each message is an activation, so
//! that an idle server holds no stack). So a coroutine does not end with its activation: its
//! body is a loop that takes an activation from its scheduler's hand-off cell, runs it and
//! suspends with its outcome ([`Suspend::Done`](crate::process::core::Suspend)).
//! The scheduler parks it here, and the next activation that needs a stack of that size, of
//! any process, resumes it instead of making a coroutine. A worker that finds no activation in
//! the cell returns: that is how one past the pool's limit, or left at shutdown, is retired
//! (its stack then goes back to the stack pool).
//!
//! Invariants: a parked worker's stack holds nothing but its loop's frame (no process's data);
//! a worker never leaves its scheduler's thread; a worker whose stack overflowed is never
//! parked (its scheduler discards it as it did before workers existed).

use std::cell::RefCell;

use crate::{
    process::core::StartedRef,
    runtime::stack::{StackProbe, DEFAULT_STACK_SIZE},
};

/// How many parked workers of one stack size a scheduler keeps.
const PARKED_LIMIT: usize = 256;

/// A parked worker: its coroutine (in its stack's top reserve) and where that stack is.
pub(crate) struct Parked {
    pub(crate) run: StartedRef,
    pub(crate) probe: StackProbe,
}

/// A scheduler's parked workers, by requested stack size (module docs). Not `Sync`: the
/// scheduler owns it.
pub(crate) struct Workers {
    /// For the default stack size (nearly every process): LIFO, room for the limit reserved up
    /// front, so parking never allocates.
    default: RefCell<Vec<Parked>>,
    /// For other sizes, each with its own LIFO. Usually empty.
    other: RefCell<Vec<(u32, Vec<Parked>)>>,
}

impl Default for Workers {
    fn default() -> Workers {
        Workers {
            default: RefCell::new(Vec::with_capacity(PARKED_LIMIT)),
            other: RefCell::new(Vec::new()),
        }
    }
}

impl Workers {
    /// The most recently parked worker for stacks of `size` bytes (as the process asked).
    #[inline]
    pub(crate) fn take(&self, size: u32) -> Option<Parked> {
        if size as usize == DEFAULT_STACK_SIZE {
            return self.default.borrow_mut().pop();
        }
        let mut other = self.other.borrow_mut();
        other.iter_mut().find(|(s, _)| *s == size)?.1.pop()
    }

    /// Parks a worker that just finished an activation of a process that asked for `size`;
    /// gives it back if the pool for that size is full (the caller retires it).
    #[inline]
    pub(crate) fn park(&self, size: u32, worker: Parked) -> Result<(), Parked> {
        if size as usize == DEFAULT_STACK_SIZE {
            let mut parked = self.default.borrow_mut();
            if parked.len() >= PARKED_LIMIT {
                return Err(worker);
            }
            parked.push(worker);
            return Ok(());
        }
        let mut other = self.other.borrow_mut();
        let i = match other.iter().position(|(s, _)| *s == size) {
            Some(i) => i,
            None => {
                other.push((size, Vec::new()));
                other.len() - 1
            }
        };
        let parked = &mut other[i].1;
        if parked.len() >= PARKED_LIMIT {
            return Err(worker);
        }
        parked.push(worker);
        Ok(())
    }

    /// Every parked worker (the scheduler is stopping: it retires them).
    pub(crate) fn drain(&self) -> Vec<Parked> {
        let mut all: Vec<Parked> = self.default.borrow_mut().drain(..).collect();
        all.extend(
            self.other
                .borrow_mut()
                .drain(..)
                .flat_map(|(_, parked)| parked),
        );
        all
    }

    /// How many workers are parked, over all sizes.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.default.borrow().len()
            + self
                .other
                .borrow()
                .iter()
                .map(|(_, p)| p.len())
                .sum::<usize>()
    }
}
