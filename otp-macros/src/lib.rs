//! Procedural macros for [`otp`](https://docs.rs/otp). Users depend on `otp`, which re-exports
//! these (`#[otp::gen_server]`, `otp::receive!`, `#[otp::main]`, `#[otp::test]`,
//! `#[otp::budget]`); their documentation, with examples, lives on the re-exports.
//!
//! Every macro is split the same way (see `research/aesthetics-anchors.md`, serde/thiserror
//! style): `parse` turns tokens into a small model of what the user wrote, `validate` checks the
//! model and reports each misuse as a `syn::Error` with the span of the offending tokens and a
//! hint, and `expand` turns a valid model into code. Errors are collected, not thrown at the
//! first one, so a user sees every mistake in one build.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod budget;
mod entry;
mod errors;
mod gen_server;
mod receive;

/// See `otp::gen_server` (the attribute).
#[proc_macro_attribute]
pub fn gen_server(attr: TokenStream, item: TokenStream) -> TokenStream {
    gen_server::entry(attr.into(), item.into()).into()
}

// Documented on its re-export, `otp::receive`, where the examples can use `otp`.
#[allow(missing_docs)]
#[proc_macro]
pub fn receive(input: TokenStream) -> TokenStream {
    receive::entry(input.into()).into()
}

/// The `assert_receive!` family (`otp::testing`), which wraps this with the assertion's name.
#[doc(hidden)]
#[proc_macro]
pub fn __receive_assert(input: TokenStream) -> TokenStream {
    receive::assert(input.into()).into()
}

// Documented on its re-export, `otp::main`, where the examples can use `otp`.
#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::main(attr.into(), item.into()).into()
}

// Documented on its re-export, `otp::test`, where the examples can use `otp`.
#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry::test(attr.into(), item.into()).into()
}

// Documented on its re-export, `otp::budget`, where the examples can use `otp`.
#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn budget(attr: TokenStream, item: TokenStream) -> TokenStream {
    budget::entry(attr.into(), item.into()).into()
}
