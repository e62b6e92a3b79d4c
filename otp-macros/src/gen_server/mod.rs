//! `#[gen_server]`: a GenServer from an impl block of handler methods.
//!
//! The user writes the server's state type and its handlers as ordinary methods marked
//! `#[call]`, `#[cast]`, `#[handle_info]`, `#[handle_continue]`, `#[init]` and `#[terminate]`;
//! the macro writes the message enums, the `GenServer` impl that dispatches to the methods, and
//! a typed client handle whose methods mirror the handlers. `parse` reads the tokens, `validate`
//! checks every rule (errors at the user's spans, all reported at once), `expand` generates.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

pub(crate) fn entry(attr: TokenStream, item: TokenStream) -> TokenStream {
    match parse::parse(attr, item.clone()).and_then(validate::validate) {
        Ok(model) => expand::expand(&model),
        Err(e) => {
            // Emit the impl too, so the user's own code keeps type-checking (and its other
            // errors keep showing) while they fix ours, and a placeholder `GenServer` impl so
            // uses of the server don't add "not a GenServer" errors to ours.
            let mut out = e.to_compile_error();
            if let Ok(mut item) = syn::parse2::<syn::ItemImpl>(item) {
                strip_handler_attrs(&mut item);
                out.extend(quote::quote!(#item));
                if let Some(placeholder) = placeholder(&item) {
                    out.extend(placeholder);
                }
            }
            out
        }
    }
}

/// Removes our attributes, which mean nothing to the compiler on their own.
fn strip_handler_attrs(item: &mut syn::ItemImpl) {
    const OURS: &[&str] = &[
        "call",
        "cast",
        "init",
        "handle_info",
        "handle_continue",
        "terminate",
    ];
    for impl_item in &mut item.items {
        if let syn::ImplItem::Fn(f) = impl_item {
            f.attrs
                .retain(|a| !OURS.iter().any(|name| a.path().is_ident(name)));
        }
    }
}

/// `impl GenServer` with no messages, for a plain, non-generic inherent impl.
fn placeholder(item: &syn::ItemImpl) -> Option<TokenStream> {
    if item.trait_.is_some() || !item.generics.params.is_empty() {
        return None;
    }
    let syn::Type::Path(p) = &*item.self_ty else {
        return None;
    };
    let server = p.path.get_ident()?;
    Some(quote::quote! {
        impl ::otp::gen_server::GenServer for #server {
            type Call = ::core::convert::Infallible;
            type Reply = ::core::convert::Infallible;
            type Cast = ::core::convert::Infallible;
            type Info = ();
            type Continue = ();
        }
    })
}
