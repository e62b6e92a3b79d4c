//! Checking what `#[otp::budget]` is on, and turning it into a [`Target`].
//!
//! The rules, each reported at the user's tokens with a hint:
//!
//! * It goes on a function with a body, or on an `impl` or `trait` block (for every method with
//!   a body). Anything else has no code to instrument.
//! * No `const fn`: a check calls the runtime, which a constant evaluation can't.
//! * A method of an instrumented block doesn't carry its own `#[otp::budget]` (it would be
//!   instrumented twice).

use syn::{Attribute, ImplItem, Item, ItemFn, ItemImpl, ItemTrait, Signature, TraitItem};

use crate::errors::{item_keyword_span, Errors};

/// What to instrument.
pub(crate) enum Target {
    Fn(ItemFn),
    Impl(ItemImpl),
    Trait(ItemTrait),
}

pub(crate) fn validate(item: Item) -> syn::Result<Target> {
    let mut errors = Errors::new();
    let target = match item {
        Item::Fn(f) => {
            check_sig(&f.sig, &mut errors);
            Target::Fn(f)
        }
        Item::Impl(i) => {
            for item in &i.items {
                if let ImplItem::Fn(f) = item {
                    check_sig(&f.sig, &mut errors);
                    check_nested(&f.attrs, "impl", &mut errors);
                }
            }
            Target::Impl(i)
        }
        Item::Trait(t) => {
            for item in &t.items {
                if let TraitItem::Fn(f) = item {
                    if f.default.is_some() {
                        check_sig(&f.sig, &mut errors);
                    }
                    check_nested(&f.attrs, "trait", &mut errors);
                }
            }
            Target::Trait(t)
        }
        // A function without a body (a trait method's declaration).
        Item::Verbatim(v) => {
            return Err(syn::Error::new_spanned(
                v,
                "#[otp::budget] needs a function body to instrument: `fn name() { .. }`",
            ))
        }
        other => return Err(not_code(&other)),
    };
    errors.finish()?;
    Ok(target)
}

/// The error for an item that holds no code of its own.
fn not_code(item: &Item) -> syn::Error {
    let (kind, hint) = match item {
        Item::Mod(_) => ("a module", "put it on the functions inside"),
        Item::Struct(_) => ("a struct", "put it on the functions of its `impl` block"),
        Item::Enum(_) => ("an enum", "put it on the functions of its `impl` block"),
        _ => ("this item", "it has no code to instrument"),
    };
    syn::Error::new(
        item_keyword_span(item),
        format!(
            "#[otp::budget] goes on a function, or on an `impl` or `trait` block for all its \
             methods, not on {kind}: {hint}"
        ),
    )
}

fn check_sig(sig: &Signature, errors: &mut Errors) {
    if let Some(token) = &sig.constness {
        errors.spanned(
            token,
            "a budget check calls the runtime, which a `const fn` can't: remove `const` or \
             #[otp::budget]",
        );
    }
}

fn check_nested(attrs: &[Attribute], block: &str, errors: &mut Errors) {
    for a in attrs {
        if a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "budget")
        {
            errors.spanned(
                a,
                format!(
                    "this method is already instrumented by the #[otp::budget] on its {block}: \
                     remove this attribute"
                ),
            );
        }
    }
}
