//! The crate's one switch between `std` and `loom` synchronisation types.
//!
//! Concurrency-critical structures (the mailbox queue, the scheduling state of a process, a
//! socket's readiness, a reply slot's counts) import their atomics and fences from here, so
//! `RUSTFLAGS="--cfg loom" cargo test -p otp --lib loom_` model-checks exactly the code that
//! ships.

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicPtr, AtomicU32, AtomicUsize},
    Mutex, MutexGuard,
};

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{fence, AtomicPtr, AtomicU32, AtomicUsize},
    Mutex, MutexGuard,
};
