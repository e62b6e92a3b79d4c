//! `#[otp::main]` and `#[otp::test]`: a function run as the root process of a fresh runtime.
//!
//! `parse` reads the attribute's `key = value` settings and the function, `validate` checks both
//! (known settings, durations, a signature a root process can have) and `expand` wraps the
//! function. The two attributes differ only in what wraps: `main` returns the process's exit
//! code, `test` is a `#[test]` that fails on a panic, an error or a timeout.

mod expand;
pub(crate) mod parse;
mod validate;

use proc_macro2::TokenStream;

use self::validate::Flavor;

pub(crate) fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry(Flavor::Main, attr, item)
}

pub(crate) fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    entry(Flavor::Test, attr, item)
}

fn entry(flavor: Flavor, attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = match parse::item(item.clone(), flavor.name()) {
        Ok(func) => func,
        // Not a function: the error, and the item untouched.
        Err(e) => {
            let errors = e.to_compile_error();
            return quote::quote!(#errors #item);
        }
    };
    let model = syn::parse2::<parse::Args>(attr)
        .and_then(|args| validate::validate(flavor, args, func.clone()));
    match model {
        Ok(model) => expand::expand(model),
        Err(e) => expand::fallback(flavor, &func, &e),
    }
}
