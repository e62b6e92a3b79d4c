//! Procedural macros for [`otp`](https://docs.rs/otp). Users depend on `otp`, which re-exports
//! these; nothing here is meant to be named directly.
//!
//! The macros themselves arrive with the macros work (typed client APIs, `receive!`,
//! `#[otp::main]`); this crate exists now so the workspace has its final shape.
#![forbid(unsafe_code)]
