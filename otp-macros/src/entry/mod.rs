//! `#[main]` and `#[test]` (in progress).
use proc_macro2::TokenStream;

pub(crate) fn main(_attr: TokenStream, _item: TokenStream) -> TokenStream {
    quote::quote!(compile_error!("#[otp::main] is not implemented yet");)
}

pub(crate) fn test(_attr: TokenStream, _item: TokenStream) -> TokenStream {
    quote::quote!(compile_error!("#[otp::test] is not implemented yet");)
}
