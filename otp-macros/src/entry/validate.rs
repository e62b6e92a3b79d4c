//! Checking `#[otp::main]` / `#[otp::test]` and turning them into a [`Model`].
//!
//! The rules, each reported at the user's tokens with a hint:
//!
//! * Settings are known keys, each at most once: `schedulers`, `reductions`, `stack_size`,
//!   `guard_page_budget` (numbers, mapped to the `otp::Builder` method of the same name),
//!   `long_schedule_threshold`, `shutdown_timeout` (durations) and, for tests only, `timeout`
//!   (a duration or `"infinity"`). Durations are string literals with a unit (`"500ms"`, `"10s"`,
//!   `"2m"`, `"1h"`), read at compile time. A literal `schedulers` or `reductions` is at least 1.
//! * The function is neither `async` (a process blocks where async code awaits), `const`, nor
//!   generic (the root process runs one concrete function), and takes nothing or one argument,
//!   its mailbox, by value: `mb: Mailbox<M>`.
//! * A test has no `#[test]` of its own (`#[otp::test]` adds it).

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Expr, FnArg, GenericArgument, Ident, ItemFn, Lit, PathArguments, Type};

use super::parse::Args;
use crate::errors::Errors;

/// Which attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Main,
    Test,
}

impl Flavor {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Flavor::Main => "main",
            Flavor::Test => "test",
        }
    }
}

/// A test's time limit.
pub(crate) enum Limit {
    /// `otp::testing::TestOptions`'s default.
    Default,
    Infinity,
    Millis(u64),
}

/// A valid entry point.
pub(crate) struct Model {
    pub(crate) flavor: Flavor,
    /// `otp::Builder` method calls, in the order written: `.schedulers(2)`.
    pub(crate) builder: Vec<TokenStream>,
    pub(crate) limit: Limit,
    pub(crate) func: ItemFn,
}

/// The settings: name, what the value is, which attributes take it.
const SETTINGS: &[(&str, Value, &[Flavor])] = &[
    ("schedulers", Value::Positive, &[Flavor::Main, Flavor::Test]),
    ("reductions", Value::Positive, &[Flavor::Main, Flavor::Test]),
    ("stack_size", Value::Number, &[Flavor::Main, Flavor::Test]),
    (
        "guard_page_budget",
        Value::Number,
        &[Flavor::Main, Flavor::Test],
    ),
    (
        "long_schedule_threshold",
        Value::Duration,
        &[Flavor::Main, Flavor::Test],
    ),
    (
        "shutdown_timeout",
        Value::Duration,
        &[Flavor::Main, Flavor::Test],
    ),
    ("timeout", Value::Limit, &[Flavor::Test]),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    /// A number (any expression); a literal must be at least 1.
    Positive,
    /// A number (any expression).
    Number,
    /// A string literal with a unit.
    Duration,
    /// A duration or `"infinity"`.
    Limit,
}

pub(crate) fn validate(flavor: Flavor, args: Args, func: ItemFn) -> syn::Result<Model> {
    let mut errors = Errors::new();
    let attr = format!("#[otp::{}]", flavor.name());
    let mut builder = Vec::new();
    let mut limit = Limit::Default;
    let mut seen: Vec<Ident> = Vec::new();
    for setting in args.settings {
        let key = setting.key;
        let Some(&(_, kind, flavors)) = SETTINGS.iter().find(|(name, ..)| key == name) else {
            let known: Vec<&str> = SETTINGS
                .iter()
                .filter(|(_, _, f)| f.contains(&flavor))
                .map(|(name, ..)| *name)
                .collect();
            errors.spanned(
                &key,
                format!(
                    "unknown setting `{key}`: {attr} takes {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        };
        if !flavors.contains(&flavor) {
            errors.spanned(
                &key,
                format!(
                    "`{key}` is a setting of #[otp::test] only: a program's main runs as long as \
                     it takes"
                ),
            );
            continue;
        }
        if let Some(first) = seen.iter().find(|k| **k == key) {
            let mut e = syn::Error::new(key.span(), format!("`{key}` is set twice"));
            e.combine(syn::Error::new(first.span(), "first set here"));
            errors.push(e);
            continue;
        }
        seen.push(key.clone());
        let value = setting.value;
        match kind {
            Value::Positive | Value::Number => {
                if let Expr::Lit(lit) = &value {
                    match &lit.lit {
                        Lit::Int(n) if kind == Value::Positive && n.base10_digits() == "0" => {
                            errors.spanned(&value, format!("`{key}` is at least 1"));
                        }
                        Lit::Int(_) => {}
                        _ => errors.spanned(&value, format!("`{key}` is a number: `{key} = 2`")),
                    }
                }
                builder.push(quote!(.#key(#value)));
            }
            Value::Duration | Value::Limit => match duration(&value, kind == Value::Limit) {
                Ok(None) => limit = Limit::Infinity,
                Ok(Some(ms)) if kind == Value::Limit => limit = Limit::Millis(ms),
                Ok(Some(ms)) => {
                    builder.push(quote!(.#key(::core::time::Duration::from_millis(#ms))));
                }
                Err(hint) => errors.spanned(&value, format!("`{key}` is {hint}")),
            },
        }
    }
    check_fn(flavor, &attr, &func, &mut errors);
    errors.finish()?;
    Ok(Model {
        flavor,
        builder,
        limit,
        func,
    })
}

/// A duration string in milliseconds; `None` for `"infinity"` (if allowed).
fn duration(value: &Expr, infinity: bool) -> Result<Option<u64>, String> {
    let hint = if infinity {
        "a duration like \"500ms\", \"10s\" or \"2m\", or \"infinity\""
    } else {
        "a duration like \"500ms\", \"10s\" or \"2m\""
    };
    let Expr::Lit(syn::ExprLit {
        lit: Lit::Str(s), ..
    }) = value
    else {
        return Err(hint.to_owned());
    };
    let text = s.value();
    if infinity && text == "infinity" {
        return Ok(None);
    }
    let digits: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .collect();
    let unit = &text[digits.len()..];
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(hint.to_owned()),
    };
    digits
        .replace('_', "")
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .map(Some)
        .ok_or_else(|| hint.to_owned())
}

/// The function's signature and attributes.
fn check_fn(flavor: Flavor, attr: &str, func: &ItemFn, errors: &mut Errors) {
    let sig = &func.sig;
    if let Some(token) = &sig.asyncness {
        errors.spanned(
            token,
            format!(
                "{attr} functions are not async: the body runs as a process, which blocks \
                 (in receive, call, sleep) where async code would await; remove `async`"
            ),
        );
    }
    if let Some(token) = &sig.constness {
        errors.spanned(
            token,
            format!("{attr} runs the function as a process, at run time: remove `const`"),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(
            &sig.generics,
            format!(
                "{attr} functions can't be generic: the root process runs one concrete function"
            ),
        );
    }
    let mut inputs = sig.inputs.iter();
    if let Some(first) = inputs.next() {
        check_mailbox(attr, first, errors);
    }
    let rest: Vec<&FnArg> = inputs.collect();
    if !rest.is_empty() {
        let rest = rest.iter().map(|a| a.to_token_stream());
        errors.spanned(
            quote!(#(#rest)*),
            format!(
                "{attr} functions take at most one argument, the root process's mailbox: \
                 `mb: Mailbox<M>`"
            ),
        );
    }
    if flavor == Flavor::Test {
        for a in &func.attrs {
            if a.path().is_ident("test") {
                errors.spanned(
                    a,
                    "#[otp::test] makes the function a #[test] already: remove this attribute",
                );
            }
        }
    }
}

/// The only argument a root process takes is its mailbox, by value.
fn check_mailbox(attr: &str, arg: &FnArg, errors: &mut Errors) {
    let hint = format!(
        "the argument of an {attr} function is the root process's mailbox: `mb: Mailbox<M>` \
         (or no argument)"
    );
    match arg {
        FnArg::Receiver(r) => errors.spanned(r, hint),
        FnArg::Typed(t) => {
            if !is_mailbox(&t.ty) {
                errors.spanned(&t.ty, hint);
            }
        }
    }
}

/// `Mailbox<M>` or `path::to::Mailbox<M>` (by name: a type alias would not be recognised).
fn is_mailbox(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    if p.qself.is_some() {
        return false;
    }
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    last.ident == "Mailbox"
        && matches!(&last.arguments, PathArguments::AngleBracketed(a)
            if a.args.len() == 1 && matches!(a.args[0], GenericArgument::Type(_)))
}
