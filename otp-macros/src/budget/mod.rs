//! `#[otp::budget]`: reduction-budget checks at the safe points of a function, so a long
//! computation yields to the other processes on its scheduler (the BEAM counts a reduction per
//! function call; this is the opt-in equivalent).
//!
//! `parse` reads the (empty) arguments and the item, `validate` checks that the item is code
//! that can be instrumented, `expand` inserts the checks. On an error the item is emitted
//! unchanged beside it, so the rest of the crate still sees it.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn entry(attr: TokenStream, item: TokenStream) -> TokenStream {
    let target = parse::args(&attr)
        .and_then(|()| parse::item(item.clone()))
        .and_then(validate::validate);
    match target {
        Ok(target) => expand::expand(target),
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#errors #item)
        }
    }
}
