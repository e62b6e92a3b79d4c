//! Generating `#[otp::main]` and `#[otp::test]`.
//!
//! The user's function moves, unchanged, into the body of a new function of the same name and
//! attributes, and runs as the root process of a fresh runtime:
//!
//! ```text
//! fn main() -> ExitCode {                      #[test] fn name() {
//!     fn main(mb: Mailbox<M>) -> R { .. }          fn name(mb: Mailbox<M>) -> R { .. }
//!     run_main(Builder::new().., main)             run_test(TestOptions::new()..., name)
//! }                                            }
//! ```
//!
//! The inner function keeps the user's signature, so `return`, `?` and the return type mean
//! what they say. `#[test]` is spelled `::core::prelude::v1::test`, so an `otp::test` imported
//! into scope can't capture it, and applies under `cfg(test)` only: elsewhere (a doctest, a
//! binary) the test is an ordinary function that runs the test when called.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use super::validate::{Flavor, Limit, Model};

pub(crate) fn expand(model: Model) -> TokenStream {
    let Model {
        flavor,
        builder,
        limit,
        func,
    } = model;
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let name = &sig.ident;
    let inputs = &sig.inputs;
    let output = &sig.output;
    let unsafety = &sig.unsafety;
    let inner = quote! {
        #unsafety fn #name(#inputs) #output #block
    };
    let builder = quote!(::otp::Builder::new() #(#builder)*);
    match flavor {
        Flavor::Main => quote! {
            #(#attrs)*
            #vis fn #name() -> ::std::process::ExitCode {
                #inner
                ::otp::__private::entry::run_main(#builder, #name)
            }
        },
        Flavor::Test => {
            let limit = match limit {
                Limit::Default => None,
                Limit::Infinity => Some(quote!(.timeout(::otp::Timeout::Infinity))),
                Limit::Millis(ms) => {
                    Some(quote!(.timeout(::core::time::Duration::from_millis(#ms))))
                }
            };
            quote! {
                #[cfg_attr(test, ::core::prelude::v1::test)]
                #[cfg_attr(not(test), allow(dead_code))]
                #(#attrs)*
                #vis fn #name() {
                    #inner
                    ::otp::testing::run_test(
                        ::otp::testing::TestOptions::new()
                            .name(::core::concat!(
                                ::core::module_path!(),
                                "::",
                                ::core::stringify!(#name)
                            ))
                            .builder(#builder)
                            #limit,
                        #name,
                    )
                }
            }
        }
    }
}

/// What replaces the function when it has errors: the errors, and a plain function of the same
/// name (for `main`, so rustc doesn't also report a missing `main`).
pub(crate) fn fallback(flavor: Flavor, func: &ItemFn, errors: &syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    if flavor == Flavor::Main {
        let name = &func.sig.ident;
        let vis = &func.vis;
        quote! {
            #errors
            #vis fn #name() {}
        }
    } else {
        errors
    }
}
