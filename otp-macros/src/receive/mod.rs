//! `receive!` and the `assert_receive!` family: Elixir's `receive` over the runtime's selective
//! receive, `otp::Mailbox::select`.
//!
//! `parse` reads the clauses as written, `validate` checks them (clause order, supported
//! patterns) and finds each pattern's bindings, `expand` generates a probe that picks the oldest
//! matching message and a take that destructures it. The semantics are the runtime's: the oldest
//! message any clause accepts is taken, the others stay in order; `after` is a deadline fixed
//! when the receive starts.
//!
//! On an error the expansion is only the `compile_error!`s (in a block that diverges), so the
//! surrounding code still type-checks and shows no follow-on errors.

mod expand;
mod parse;
mod text;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

/// `receive! { mailbox, clauses.. }`.
pub(crate) fn entry(input: TokenStream) -> TokenStream {
    match syn::parse2::<parse::Input>(input).and_then(parse::Input::validate) {
        Ok(model) => expand::receive(model),
        Err(e) => diverge(&e),
    }
}

/// `assert_receive!` and friends, through the `macro_rules!` wrappers in `otp::testing`.
pub(crate) fn assert(input: TokenStream) -> TokenStream {
    match syn::parse2::<parse::AssertInput>(input).and_then(parse::AssertInput::validate) {
        Ok(model) => expand::assertion(model),
        Err(e) => diverge(&e),
    }
}

/// The errors, as an expression of any type.
fn diverge(e: &syn::Error) -> TokenStream {
    let errors = e.to_compile_error();
    quote! {{ #errors ::core::panic!() }}
}
