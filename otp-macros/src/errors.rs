//! Collecting errors: a validation pass reports every misuse it finds, not just the first.
//!
//! [`Errors`] gathers `syn::Error`s and combines them into one (which expands to one
//! `compile_error!` per error, each at its own span). Like serde's `Ctxt`, it must be finished:
//! dropping it with errors unreported is a bug in the macro, caught by a debug assertion.

use std::fmt::Display;

use quote::ToTokens;

/// The errors of one validation pass.
#[derive(Default)]
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
