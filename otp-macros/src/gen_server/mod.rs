//! `#[gen_server]` (in progress).
use proc_macro2::TokenStream;

pub(crate) fn entry(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let _ = item;
    quote::quote!(compile_error!("#[otp::gen_server] is not implemented yet");)
}
