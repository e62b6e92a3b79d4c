//! The examples package: see `examples/` (`cargo run --release --example NAME`).
#![forbid(unsafe_code)]

/// The README's code, compiled and run as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
