//! Checking a parsed `receive!` and turning it into a [`Model`] that `expand` generates from
//! without further questions. Every violation is a `syn::Error` at the user's tokens, with a
//! hint; all are reported together.
//!
//! The rules:
//!
//! * There is at least one clause or an `after` (a receive with neither waits forever).
//! * `after` comes last, at most once; its timeout is a `Duration` or `Timeout` expression, not
//!   a bare number (Erlang's `after 100` is milliseconds; Rust has no unit to infer).
//! * `EXIT(from, reason)` and `DOWN(reference, pid, reason)` are whole clause patterns, with
//!   exactly two and three sub-patterns, and no type (system messages have none).
//! * Patterns hold no macros (their bindings can't be seen before expansion), no `ref` bindings
//!   (bodies own the message's parts) and no `&` patterns (the message is matched itself).
//!
//! # Bindings
//!
//! A pattern's bindings are its identifier patterns that start with a lowercase letter or `_`
//! (`a`, `_rest`, `msg @ Some(_)`), and any identifier followed by `@`. An identifier that starts
//! with an uppercase letter (`None`, `MAX`) is taken for a unit variant or a constant, as rustc's
//! naming conventions make it. Guards see each binding by value when its type is `Copy` and by
//! shared reference otherwise (see `otp::__private::receive`), so a guard only needs the names.

use syn::{spanned::Spanned, visit::Visit, Expr, Ident, Pat, Type};

use super::parse::{After, AssertInput, AssertKind, Head, Input, Item};
use crate::errors::Errors;

/// A valid `receive!`.
pub(crate) struct Model {
    pub(crate) mailbox: Expr,
    pub(crate) clauses: Vec<Clause>,
    pub(crate) after: Option<AfterModel>,
}

/// A valid clause.
pub(crate) struct Clause {
    pub(crate) kind: Kind,
    pub(crate) guard: Option<Expr>,
    pub(crate) bindings: Vec<Binding>,
    pub(crate) body: Expr,
}

/// What a clause matches.
pub(crate) enum Kind {
    /// A user message, matched as it is or, with a type, downcast from a `Term`.
    User { pat: Pat, ty: Option<Type> },
    /// `EXIT(from, reason)`.
    Exit { from: Pat, reason: Pat },
    /// `DOWN(reference, pid, reason)`.
    Down {
        reference: Pat,
        pid: Pat,
        reason: Pat,
    },
}

/// One name a pattern binds.
pub(crate) struct Binding {
    pub(crate) ident: Ident,
    /// Written `mut name`.
    pub(crate) mutable: bool,
}

/// A valid `after`.
pub(crate) struct AfterModel {
    pub(crate) timeout: Expr,
    pub(crate) body: Expr,
}

/// A valid assertion.
pub(crate) struct AssertModel {
    pub(crate) kind: AssertKind,
    pub(crate) mailbox: Expr,
    /// The head as written, for the failure message.
    pub(crate) written: Head,
    pub(crate) clause_kind: Kind,
    pub(crate) guard: Option<Expr>,
    pub(crate) bindings: Vec<Binding>,
    pub(crate) timeout: Option<Expr>,
}

impl Input {
    pub(crate) fn validate(self) -> syn::Result<Model> {
        let mut errors = Errors::new();
        let mut clauses = Vec::new();
        let mut after: Option<After> = None;
        for item in self.items {
            match item {
                Item::After(a) => {
                    if let Some(first) = &after {
                        let mut e = syn::Error::new(
                            a.keyword.span(),
                            "a receive! has at most one `after` clause",
                        );
                        e.combine(syn::Error::new(
                            first.keyword.span(),
                            "the first `after` is here",
                        ));
                        errors.push(e);
                        continue;
                    }
                    check_timeout(&a.timeout, &mut errors);
                    after = Some(a);
                }
                Item::Clause(c) => {
                    if let Some(a) = &after {
                        let mut e = syn::Error::new(
                            c.head.pat.span(),
                            "the `after` clause must be the last one: move this clause above it",
                        );
                        e.combine(syn::Error::new(a.keyword.span(), "`after` is here"));
                        errors.push(e);
                        continue;
                    }
                    if let Some((kind, guard, bindings)) = check_head(c.head, &mut errors) {
                        clauses.push(Clause {
                            kind,
                            guard,
                            bindings,
                            body: c.body,
                        });
                    }
                }
            }
        }
        if clauses.is_empty() && after.is_none() && errors.is_empty() {
            errors.spanned(
                &self.mailbox,
                "this receive! has no clauses, so it would wait forever: add a clause \
                 (`Pattern => body`) or an `after`",
            );
        }
        errors.finish()?;
        Ok(Model {
            mailbox: self.mailbox,
            clauses,
            after: after.map(|a| AfterModel {
                timeout: a.timeout,
                body: a.body,
            }),
        })
    }
}

impl AssertInput {
    pub(crate) fn validate(self) -> syn::Result<AssertModel> {
        let mut errors = Errors::new();
        let name = self.kind.name();
        if let Some(t) = &self.timeout {
            if self.kind.waits() {
                check_timeout(t, &mut errors);
            } else {
                let waiting = name.trim_end_matches('d');
                errors.spanned(
                    t,
                    format!(
                        "{name}! looks only at what is already in the mailbox, so it takes no \
                         timeout: use `{waiting}!(mb, Pattern, timeout)` to wait"
                    ),
                );
            }
        }
        let written = Head {
            pat: self.head.pat.clone(),
            ty: self.head.ty.clone(),
            guard: self.head.guard.clone(),
        };
        let checked = check_head(self.head, &mut errors);
        errors.finish()?;
        let Some((clause_kind, guard, bindings)) = checked else {
            unreachable!("check_head reports an error when it returns None")
        };
        Ok(AssertModel {
            kind: self.kind,
            mailbox: self.mailbox,
            written,
            clause_kind,
            guard,
            bindings,
            timeout: self.timeout,
        })
    }
}

/// Erlang's `after 100` is milliseconds; here a number has no unit.
fn check_timeout(timeout: &Expr, errors: &mut Errors) {
    if let Expr::Lit(lit) = timeout {
        if matches!(lit.lit, syn::Lit::Int(_) | syn::Lit::Float(_)) {
            errors.spanned(
                timeout,
                "a timeout is a `Duration` (or an `otp::Timeout`), not a number: \
                 `Duration::from_millis(100)`",
            );
        }
    }
}

type Checked = (Kind, Option<Expr>, Vec<Binding>);

/// Checks one clause head; `None` if it had errors (recorded).
fn check_head(head: Head, errors: &mut Errors) -> Option<Checked> {
    let before = errors.len();
    let guard = head.guard.map(|(_, g)| g);
    let kind = match system_pattern(&head.pat) {
        Some((name, _)) => {
            if let Some((colon, ty)) = &head.ty {
                errors.spanned(
                    quote::quote!(#colon #ty),
                    format!(
                        "{name}(..) matches a system message, which has no type to name: \
                         remove the `: Type`"
                    ),
                );
            }
            check_system(&head.pat, errors)
        }
        None => {
            check_nested(&head.pat, errors);
            Some(Kind::User {
                pat: head.pat,
                ty: head.ty.map(|(_, t)| t),
            })
        }
    };
    let kind = kind.filter(|_| errors.len() == before)?;
    let bindings = match &kind {
        Kind::User { pat, .. } => bindings(&[pat]),
        Kind::Exit { from, reason } => bindings(&[from, reason]),
        Kind::Down {
            reference,
            pid,
            reason,
        } => bindings(&[reference, pid, reason]),
    };
    Some((kind, guard, bindings))
}

/// `EXIT` or `DOWN` as the head of a pattern: a tuple-struct, struct or path pattern whose path
/// is that one identifier. Also looks through `|` to reject mixed alternatives.
fn system_pattern(pat: &Pat) -> Option<(&'static str, &Ident)> {
    let path = match pat {
        Pat::TupleStruct(p) => &p.path,
        Pat::Struct(p) => &p.path,
        Pat::Path(p) => &p.path,
        Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() && p.mutability.is_none() => {
            return system_name(&p.ident).map(|n| (n, &p.ident));
        }
        Pat::Paren(p) => return system_pattern(&p.pat),
        Pat::Or(p) => return p.cases.iter().find_map(system_pattern),
        _ => return None,
    };
    let ident = path.get_ident()?;
    system_name(ident).map(|n| (n, ident))
}

fn system_name(ident: &Ident) -> Option<&'static str> {
    if ident == "EXIT" {
        Some("EXIT")
    } else if ident == "DOWN" {
        Some("DOWN")
    } else {
        None
    }
}

/// Checks an `EXIT(..)`/`DOWN(..)` clause pattern and splits it into its parts.
fn check_system(pat: &Pat, errors: &mut Errors) -> Option<Kind> {
    let (name, _) = system_pattern(pat)?;
    let form = if name == "EXIT" {
        "`EXIT(from, reason)`"
    } else {
        "`DOWN(reference, pid, reason)`"
    };
    let tuple = match pat {
        Pat::TupleStruct(t) => t,
        Pat::Or(_) | Pat::Paren(_) => {
            errors.spanned(
                pat,
                format!(
                    "{name}(..) must be the whole pattern of its clause, not one alternative: \
                     write one clause per alternative"
                ),
            );
            return None;
        }
        _ => {
            errors.spanned(pat, format!("{name} matches as {form}"));
            return None;
        }
    };
    let arity = if name == "EXIT" { 2 } else { 3 };
    if tuple.elems.len() != arity || tuple.elems.iter().any(|p| matches!(p, Pat::Rest(_))) {
        errors.spanned(
            &tuple.elems,
            format!(
                "{name} takes {} patterns: {form}",
                if arity == 2 { "two" } else { "three" }
            ),
        );
        return None;
    }
    for p in &tuple.elems {
        check_nested(p, errors);
    }
    let mut parts = tuple.elems.iter().cloned();
    let mut next = || parts.next().expect("arity checked");
    Some(if name == "EXIT" {
        Kind::Exit {
            from: next(),
            reason: next(),
        }
    } else {
        Kind::Down {
            reference: next(),
            pid: next(),
            reason: next(),
        }
    })
}

/// Rejects the patterns `receive!` can't support, anywhere in `pat`.
fn check_nested(pat: &Pat, errors: &mut Errors) {
    struct Checker<'e> {
        errors: &'e mut Errors,
    }
    impl<'ast> Visit<'ast> for Checker<'_> {
        fn visit_pat(&mut self, pat: &'ast Pat) {
            match pat {
                Pat::Macro(m) => self.errors.spanned(
                    m,
                    "a macro can't be a receive! pattern: its bindings are unknown until it \
                     expands; write the pattern out",
                ),
                Pat::Reference(r) => self.errors.spanned(
                    r.and_token,
                    "receive! matches the message itself, not a reference to it: remove the `&`",
                ),
                Pat::Ident(i) if i.by_ref.is_some() => {
                    let by_ref = &i.by_ref;
                    let mutability = &i.mutability;
                    self.errors.spanned(
                        quote::quote!(#by_ref #mutability),
                        "a receive! body owns the message it took, so `ref` bindings aren't \
                         needed: bind by value (`x`, or `mut x`)",
                    );
                }
                Pat::Verbatim(v) => self
                    .errors
                    .spanned(v, "this pattern isn't supported in receive!"),
                _ => {
                    if let Some((name, ident)) = system_pattern_shallow(pat) {
                        self.errors.spanned(
                            ident,
                            format!(
                                "{name}(..) matches a whole system message: use it as the \
                                 clause's pattern, not inside another pattern"
                            ),
                        );
                    }
                }
            }
            syn::visit::visit_pat(self, pat);
        }
    }
    Checker { errors }.visit_pat(pat);
}

/// `EXIT(..)`/`DOWN(..)` written as a constructor (not a bare identifier, which is a binding).
fn system_pattern_shallow(pat: &Pat) -> Option<(&'static str, &Ident)> {
    let path = match pat {
        Pat::TupleStruct(p) => &p.path,
        Pat::Struct(p) => &p.path,
        _ => return None,
    };
    let ident = path.get_ident()?;
    system_name(ident).map(|n| (n, ident))
}

/// The names `pats` bind, in order of first appearance, each once (the alternatives of an
/// or-pattern bind the same names).
fn bindings(pats: &[&Pat]) -> Vec<Binding> {
    struct Collector(Vec<Binding>);
    impl<'ast> Visit<'ast> for Collector {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            if is_binding(p) && !self.0.iter().any(|b| b.ident == p.ident) {
                self.0.push(Binding {
                    ident: p.ident.clone(),
                    mutable: p.mutability.is_some(),
                });
            }
            syn::visit::visit_pat_ident(self, p);
        }
        // Paths and expressions inside patterns (`Some(MAX)`, `1..=N`) bind nothing.
        fn visit_expr(&mut self, _: &'ast Expr) {}
    }
    let mut c = Collector(Vec::new());
    for p in pats {
        c.visit_pat(p);
    }
    c.0
}

/// Whether an identifier pattern is a binding: followed by `@`, or named as rustc's convention
/// names bindings (snake_case; constants and unit variants are not).
pub(crate) fn is_binding(p: &syn::PatIdent) -> bool {
    p.subpat.is_some() || is_binding_name(&p.ident)
}

fn is_binding_name(ident: &Ident) -> bool {
    let name = ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name);
    name.starts_with(|c: char| c.is_lowercase() || c == '_')
}
