//! Parsing `receive!` and the `assert_receive!` family into what the user wrote, checking only
//! the grammar: the mailbox expression and its comma, clauses of `pattern [: Type] [if guard]
//! => body`, `after timeout => body`. Everything that is grammatical but wrong (an `after` that
//! is not last, an unsupported pattern) is `validate`'s business, so it can be reported together
//! with the rest.
//!
//! Bodies follow `match` arm rules (syn's own arm parser): a block-like body (`{ .. }`, `if`,
//! `match`, loops) needs no comma after it; any other body does, unless it is the last clause.

use proc_macro2::Span;
use syn::{
    parse::{Parse, ParseStream},
    spanned::Spanned,
    Expr, Ident, Pat, Token, Type,
};

/// `receive! { mailbox, items.. }`.
pub(crate) struct Input {
    pub(crate) mailbox: Expr,
    pub(crate) items: Vec<Item>,
}

/// A clause or an `after`, in the order written.
#[allow(
    clippy::large_enum_variant,
    reason = "a few per invocation, moved once into the model"
)]
pub(crate) enum Item {
    Clause(Clause),
    After(After),
}

/// `head => body`.
pub(crate) struct Clause {
    pub(crate) head: Head,
    pub(crate) body: Expr,
}

/// What a clause accepts: `pattern [: Type] [if guard]`.
pub(crate) struct Head {
    pub(crate) pat: Pat,
    pub(crate) ty: Option<(Token![:], Type)>,
    pub(crate) guard: Option<(Token![if], Expr)>,
}

/// `after timeout => body`.
pub(crate) struct After {
    /// The `after` keyword itself, for spans.
    pub(crate) keyword: Ident,
    pub(crate) timeout: Expr,
    pub(crate) body: Expr,
}

/// Which assertion an `assert_receive!`-family invocation is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AssertKind {
    AssertReceive,
    AssertReceived,
    RefuteReceive,
    RefuteReceived,
}

impl AssertKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            AssertKind::AssertReceive => "assert_receive",
            AssertKind::AssertReceived => "assert_received",
            AssertKind::RefuteReceive => "refute_receive",
            AssertKind::RefuteReceived => "refute_received",
        }
    }

    /// Whether the assertion waits (and so takes a timeout).
    pub(crate) fn waits(self) -> bool {
        matches!(self, AssertKind::AssertReceive | AssertKind::RefuteReceive)
    }

    pub(crate) fn refutes(self) -> bool {
        matches!(self, AssertKind::RefuteReceive | AssertKind::RefuteReceived)
    }
}

/// `kind, mailbox, head [, timeout]`, as the `macro_rules!` wrappers in `otp::testing` pass it.
pub(crate) struct AssertInput {
    pub(crate) kind: AssertKind,
    pub(crate) mailbox: Expr,
    pub(crate) head: Head,
    pub(crate) timeout: Option<Expr>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Input> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "receive! needs the mailbox to receive from, then its clauses: \
                 `receive! { mb, Pattern => body, .. }`",
            ));
        }
        let mailbox = parse_mailbox(input, "receive!")?;
        let mut items = Vec::new();
        while !input.is_empty() {
            items.push(input.parse()?);
        }
        Ok(Input { mailbox, items })
    }
}

/// The mailbox expression and the comma after it.
fn parse_mailbox(input: ParseStream<'_>, what: &str) -> syn::Result<Expr> {
    let mailbox: Expr = input.parse()?;
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        return Ok(mailbox);
    }
    if input.is_empty() {
        return Ok(mailbox);
    }
    if input.peek(Token![=>]) {
        // `receive! { Cmd::Stop => .. }`: a clause where the mailbox should be.
        return Err(syn::Error::new(
            mailbox.span(),
            format!(
                "{what} starts with the mailbox to receive from, then a comma: \
                 `{what} {{ mb, Pattern => body }}`"
            ),
        ));
    }
    Err(input.error(format!(
        "expected `,` after the mailbox expression: `{what} {{ mb, Pattern => body }}`"
    )))
}

impl Parse for Item {
    fn parse(input: ParseStream<'_>) -> syn::Result<Item> {
        if peek_after(input) {
            return input.parse().map(Item::After);
        }
        let head: Head = input.parse()?;
        if !input.peek(Token![=>]) {
            let expected = if head.guard.is_some() {
                "expected `=>` after the guard"
            } else {
                "expected `=>` (or `if guard =>`) after the pattern"
            };
            return Err(input.error(expected));
        }
        input.parse::<Token![=>]>()?;
        let body = parse_body(input)?;
        Ok(Item::Clause(Clause { head, body }))
    }
}

/// Whether the next clause is an `after` (a plain identifier; `r#after` is a pattern).
fn peek_after(input: ParseStream<'_>) -> bool {
    input
        .cursor()
        .ident()
        .is_some_and(|(ident, _)| ident == "after")
}

impl Parse for After {
    fn parse(input: ParseStream<'_>) -> syn::Result<After> {
        let keyword: Ident = input.parse()?;
        if input.peek(Token![=>]) || input.is_empty() {
            return Err(syn::Error::new(
                keyword.span(),
                "`after` needs a timeout: `after Duration::from_millis(100) => body`",
            ));
        }
        let timeout: Expr = input.parse()?;
        if !input.peek(Token![=>]) {
            return Err(input.error(
                "expected `=>` after the timeout: `after Duration::from_millis(100) => body`",
            ));
        }
        input.parse::<Token![=>]>()?;
        let body = parse_body(input)?;
        Ok(After {
            keyword,
            timeout,
            body,
        })
    }
}

impl Parse for Head {
    fn parse(input: ParseStream<'_>) -> syn::Result<Head> {
        let pat = Pat::parse_multi_with_leading_vert(input)?;
        let ty = if input.peek(Token![:]) && !input.peek(Token![::]) {
            Some((input.parse()?, input.parse()?))
        } else {
            None
        };
        let guard = if input.peek(Token![if]) {
            Some((input.parse()?, input.parse()?))
        } else {
            None
        };
        Ok(Head { pat, ty, guard })
    }
}

/// A clause's body and the comma after it, with `match` arm rules.
fn parse_body(input: ParseStream<'_>) -> syn::Result<Expr> {
    let body = Expr::parse_with_earlier_boundary_rule(input)?;
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    } else if !input.is_empty() && requires_comma(&body) {
        return Err(input.error(
            "expected `,` after this clause's body: clauses are separated by commas, as match arms are",
        ));
    }
    Ok(body)
}

/// Whether a body needs a comma before the next clause (syn's rule for match arms).
fn requires_comma(body: &Expr) -> bool {
    !matches!(
        body,
        Expr::If(_)
            | Expr::Match(_)
            | Expr::Block(_)
            | Expr::Unsafe(_)
            | Expr::While(_)
            | Expr::Loop(_)
            | Expr::ForLoop(_)
            | Expr::TryBlock(_)
            | Expr::Const(_)
    )
}

impl Parse for AssertInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<AssertInput> {
        let kind: Ident = input.parse()?;
        let kind = match kind.to_string().as_str() {
            "assert_receive" => AssertKind::AssertReceive,
            "assert_received" => AssertKind::AssertReceived,
            "refute_receive" => AssertKind::RefuteReceive,
            "refute_received" => AssertKind::RefuteReceived,
            _ => return Err(syn::Error::new(kind.span(), "unknown receive assertion")),
        };
        input.parse::<Token![,]>()?;
        let name = format!("{}!", kind.name());
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                format!("{name} needs a mailbox and a pattern: `{name}(mb, Pattern)`"),
            ));
        }
        let mailbox = parse_mailbox(input, &name)?;
        if input.is_empty() {
            return Err(syn::Error::new(
                mailbox.span(),
                format!("{name} needs a pattern after the mailbox: `{name}(mb, Pattern)`"),
            ));
        }
        let head: Head = input.parse()?;
        let mut timeout = None;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if !input.is_empty() {
                timeout = Some(input.parse()?);
                if input.peek(Token![,]) {
                    input.parse::<Token![,]>()?;
                }
            }
        }
        if !input.is_empty() {
            let form = if kind.waits() {
                format!("`{name}(mb, Pattern [if guard] [, timeout])`")
            } else {
                format!("`{name}(mb, Pattern [if guard])`")
            };
            return Err(input.error(format!("unexpected tokens: {name} takes {form}")));
        }
        Ok(AssertInput {
            kind,
            mailbox,
            head,
            timeout,
        })
    }
}
