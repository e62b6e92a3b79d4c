//! The examples package: see `examples/` (`cargo run --release --example NAME`).
#![forbid(unsafe_code)]
