//! Parsing `#[otp::budget]`: no arguments, and the item it is on (any item; whether it is one
//! that can be instrumented is `validate`'s question).

use proc_macro2::TokenStream;
use syn::spanned::Spanned;

/// The attribute's arguments: there are none.
pub(crate) fn args(attr: &TokenStream) -> syn::Result<()> {
    if attr.is_empty() {
        Ok(())
    } else {
        Err(syn::Error::new(
            attr.span(),
            "#[otp::budget] takes no arguments: every check spends one reduction",
        ))
    }
}

/// The annotated item.
pub(crate) fn item(tokens: TokenStream) -> syn::Result<syn::Item> {
    syn::parse2(tokens)
}
