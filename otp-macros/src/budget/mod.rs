//! `#[budget]` (in progress).
use proc_macro2::TokenStream;

pub(crate) fn entry(_attr: TokenStream, _item: TokenStream) -> TokenStream {
    quote::quote!(compile_error!("#[otp::budget] is not implemented yet");)
}
