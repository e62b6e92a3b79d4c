//! The code listings of the otp book (`book/src`).
//!
//! Nothing here is meant to be used as a library. Each file in `tests/` is one chapter's
//! listings, written as `#[test]` functions, so `cargo test --workspace` compiles and runs
//! every line the book shows. The book pulls them in with
//! `{{#include ../listings/tests/FILE.rs:anchor}}` between `// ANCHOR: anchor` and
//! `// ANCHOR_END: anchor` comments.
//!
//! `tests/book.rs` checks the book itself: every `{{#include}}` names a file that exists and
//! an anchor that file defines; every included file is one that CI compiles and runs (an
//! example, a listing, or an application's code); and no page holds a Rust code block of its
//! own, uncompiled.
