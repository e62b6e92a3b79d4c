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
use quote::{format_ident, quote, quote_spanned};
use syn::{spanned::Spanned, ItemFn};

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
    // An unsuitable return type is reported at the return type.
    let returns = match output {
        syn::ReturnType::Type(_, ty) => ty.span(),
        syn::ReturnType::Default => proc_macro2::Span::call_site(),
    };
    match flavor {
        Flavor::Main => {
            let run = quote_spanned!(returns=> ::otp::__private::entry::run_main(#builder, #name));
            quote! {
                #(#attrs)*
                #vis fn #name() -> ::std::process::ExitCode {
                    #inner
                    #run
                }
            }
        }
        Flavor::Test => {
            let limit = match limit {
                Limit::Default => None,
                Limit::Infinity => Some(quote!(.timeout(::otp::Timeout::Infinity))),
                Limit::Millis(ms) => {
                    Some(quote!(.timeout(::core::time::Duration::from_millis(#ms))))
                }
            };
            let options = quote! {
                ::otp::testing::TestOptions::new()
                    .name(::core::concat!(
                        ::core::module_path!(),
                        "::",
                        ::core::stringify!(#name)
                    ))
                    .builder(#builder)
                    #limit
            };
            let run = quote_spanned!(returns=> ::otp::testing::run_test(#options, #name));
            quote! {
                #[cfg_attr(test, ::core::prelude::v1::test)]
                #[cfg_attr(not(test), allow(dead_code))]
                #(#attrs)*
                #vis fn #name() {
                    #inner
                    #run
                }
            }
        }
    }
}

/// What replaces the function when it has errors: the errors, and the function itself as a
/// plain, unused function (so the names it uses are used, and nothing else is reported). A
/// `main` keeps its place with an empty stub, so rustc doesn't report a missing or `async`
/// `main` on top.
pub(crate) fn fallback(flavor: Flavor, func: &ItemFn, errors: &syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let mut plain = func.clone();
    plain.attrs.retain(|a| {
        !["test", "should_panic", "ignore"]
            .iter()
            .any(|harness| a.path().is_ident(harness))
    });
    let name = &func.sig.ident;
    let stub = (flavor == Flavor::Main).then(|| {
        plain.sig.ident = format_ident!("__otp_unchecked_{}", name);
        let vis = &func.vis;
        quote!(#vis fn #name() {})
    });
    quote! {
        #errors
        #[allow(dead_code)]
        #plain
        #stub
    }
}
