//! Collecting errors: a validation pass reports every misuse it finds, not just the first.
//!
//! [`Errors`] gathers `syn::Error`s and combines them into one (which expands to one
//! `compile_error!` per error, each at its own span). Like serde's `Ctxt`, it must be finished:
//! dropping it with errors unreported is a bug in the macro, caught by a debug assertion.
//! [`item_keyword_span`] is where an error about an item's kind reads best.

use std::fmt::Display;

use quote::ToTokens;
use syn::spanned::Spanned;

/// The errors of one validation pass.
pub(crate) struct Errors {
    errors: Option<Vec<syn::Error>>,
}

impl Errors {
    pub(crate) fn new() -> Errors {
        Errors {
            errors: Some(Vec::new()),
        }
    }

    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        if let Some(errors) = &mut self.errors {
            errors.push(error);
        }
    }

    /// Records an error at the span of `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// How many errors are recorded.
    pub(crate) fn len(&self) -> usize {
        self.errors.as_ref().map_or(0, Vec::len)
    }

    /// Whether nothing is recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `Ok` if nothing was recorded, else every error, combined.
    pub(crate) fn finish(mut self) -> syn::Result<()> {
        let errors = self.errors.take().unwrap_or_default();
        let mut errors = errors.into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                first.extend(errors);
                Err(first)
            }
        }
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        debug_assert!(
            std::thread::panicking() || self.errors.as_ref().is_none_or(Vec::is_empty),
            "otp-macros: errors were collected but never reported"
        );
    }
}

/// The span of an item's leading keyword (`struct`, `mod`, ..), where an error about the item's
/// kind reads best.
pub(crate) fn item_keyword_span(item: &syn::Item) -> proc_macro2::Span {
    match item {
        syn::Item::Struct(i) => i.struct_token.span,
        syn::Item::Enum(i) => i.enum_token.span,
        syn::Item::Union(i) => i.union_token.span,
        syn::Item::Mod(i) => i.mod_token.span,
        syn::Item::Const(i) => i.const_token.span,
        syn::Item::Static(i) => i.static_token.span,
        syn::Item::Type(i) => i.type_token.span,
        syn::Item::Use(i) => i.use_token.span,
        syn::Item::Impl(i) => i.impl_token.span,
        syn::Item::Trait(i) => i.trait_token.span,
        other => other.span(),
    }
}
