//! `receive!` (in progress).
use proc_macro2::TokenStream;

pub(crate) fn entry(_input: TokenStream) -> TokenStream {
    quote::quote!(compile_error!("otp::receive! is not implemented yet"))
}
