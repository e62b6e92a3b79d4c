//! Parsing `#[otp::main(..)]` / `#[otp::test(..)]`: the attribute's `key = value` settings and
//! the function they are on. Only the grammar is checked here; which keys exist and what their
//! values may be is `validate`'s.

use proc_macro2::{Span, TokenStream};
use syn::{
    parse::{Parse, ParseStream},
    punctuated::Punctuated,
    Expr, Ident, ItemFn, Token,
};

use crate::errors::item_keyword_span;

/// `key = value, ..`.
pub(crate) struct Args {
    pub(crate) settings: Vec<Setting>,
}

/// One `key = value`.
pub(crate) struct Setting {
    pub(crate) key: Ident,
    pub(crate) value: Expr,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let settings = Punctuated::<Setting, Token![,]>::parse_terminated(input)?;
        Ok(Args {
            settings: settings.into_iter().collect(),
        })
    }
}

impl Parse for Setting {
    fn parse(input: ParseStream<'_>) -> syn::Result<Setting> {
        let key: Ident = input
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected a setting: `schedulers = 2`"))?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                key.span(),
                format!("expected `{key} = value`: settings are written `schedulers = 2`"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(Setting { key, value })
    }
}

/// The annotated item: a function, or (for an error message) anything else.
pub(crate) fn item(tokens: TokenStream, attr: &str) -> syn::Result<ItemFn> {
    syn::parse2::<ItemFn>(tokens.clone()).map_err(|_| {
        let span = syn::parse2::<syn::Item>(tokens)
            .ok()
            .map_or_else(Span::call_site, |item| item_keyword_span(&item));
        syn::Error::new(
            span,
            format!("#[otp::{attr}] goes on a function: `fn name() {{ .. }}`"),
        )
    })
}
