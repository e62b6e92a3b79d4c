//! Generating `receive!` and the assertions from a valid model.
//!
//! ```text
//! {
//!     let mut which: usize = usize::MAX;
//!     let timeout = Into::<Timeout>::into(after_expr);        // Infinity without `after`
//!     let found = (mailbox).select(timeout, |msg| {           // oldest message first
//!         match msg {
//!             MessageRef::User(m) => {
//!                 // per user clause, in order (`PAT` with `ref` bindings, see `probe_pat`):
//!                 match *m { PAT => { rebind; if guard { which = i; return true; } } _ => {} }
//!             }
//!             MessageRef::Exit { from, reason } => { /* EXIT clauses, likewise */ }
//!             MessageRef::Down { reference, pid, reason } => { /* DOWN clauses */ }
//!             _ => {}
//!         }
//!         false
//!     });
//!     match (which, found) {
//!         (i, Some(Message::User(PAT))) => body,              // no guard: decided already
//!         // EXIT: Some(Message::Exit { from: P1, reason: P2 }), DOWN likewise
//!         (_, None) => after_body,
//!         _ => unreachable!(),
//!     }
//! }
//! ```
//!
//! A message can only match clauses of its own kind, so grouping the probe by kind keeps "the
//! first clause that matches" exact. Bodies run outside the probe closure, so `return`, `break`,
//! `continue` and `?` in a body act on the surrounding code, as in a `match`. Guards run inside
//! it (they must not receive from the mailbox; the borrow checker sees to that).
//!
//! Internal names are `Span::mixed_site()` identifiers: guards and bodies can neither see nor
//! shadow them.
//!
//! The assertions are the same receive with one clause: `assert_receive!` binds the clause's
//! names in `let`s after it and fails in its `after`; `refute_receive!` fails in its body with a
//! description of the whole message, and does nothing in its `after`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{spanned::Spanned, visit_mut::VisitMut, Expr, Ident, Pat};

use super::validate::{is_binding, AssertModel, Binding, Kind, Model};

/// The generated code's own variables.
struct Names {
    which: Ident,
    found: Ident,
    msg: Ident,
    user: Ident,
    value: Ident,
    from: Ident,
    reason: Ident,
    reference: Ident,
    pid: Ident,
    ok: Ident,
    timeout: Ident,
    mailbox: Ident,
    seen: Ident,
    taken: Ident,
    text: Ident,
}

impl Names {
    /// `mailbox` is where the mailbox expression is: errors about the message type (a typed
    /// clause on a mailbox that is not a `Mailbox<Term>`) point there.
    fn new(mailbox: Span) -> Names {
        let name = |s: &str| Ident::new(s, Span::mixed_site());
        Names {
            which: name("__otp_which"),
            found: name("__otp_found"),
            msg: name("__otp_message"),
            user: Ident::new("__otp_user", mailbox.resolved_at(Span::mixed_site())),
            value: name("__otp_value"),
            from: name("__otp_from"),
            reason: name("__otp_reason"),
            reference: name("__otp_reference"),
            pid: name("__otp_pid"),
            ok: name("__otp_accepted"),
            timeout: name("__otp_timeout"),
            mailbox: name("__otp_mailbox"),
            seen: name("__otp_seen"),
            taken: name("__otp_taken"),
            text: name("__otp_text"),
        }
    }
}

/// What a clause does once its message is taken.
enum Take {
    /// Matches the clause's pattern on the owned message and runs the body.
    Body(Expr),
    /// Matches the pattern with `mut` removed (the bindings move on) and evaluates to these
    /// tokens.
    Bind(TokenStream),
    /// Binds the whole message to `Names::taken` and runs these tokens.
    Whole(TokenStream),
}

/// One clause, ready to generate.
struct CoreClause<'a> {
    kind: &'a Kind,
    guard: Option<&'a Expr>,
    bindings: &'a [Binding],
    take: Take,
}

/// A receive, ready to generate: the shape shared by `receive!` and the assertions.
struct Core<'a> {
    /// An expression with a `select` method: the user's mailbox expression, or a name for it.
    mailbox: TokenStream,
    /// For the span of `select`, so errors about the mailbox point at it.
    mailbox_span: Span,
    clauses: Vec<CoreClause<'a>>,
    /// The timeout expression (already an `otp::Timeout`) and the body run when it passes.
    after: Option<(TokenStream, TokenStream)>,
}

pub(crate) fn receive(model: Model) -> TokenStream {
    let Model {
        mailbox,
        clauses,
        after,
    } = model;
    let mailbox_span = mailbox.span();
    let core = Core {
        mailbox: mailbox.to_token_stream(),
        mailbox_span,
        clauses: clauses
            .iter()
            .map(|c| CoreClause {
                kind: &c.kind,
                guard: c.guard.as_ref(),
                bindings: &c.bindings,
                take: Take::Body(c.body.clone()),
            })
            .collect(),
        after: after.map(|a| {
            let timeout = a.timeout;
            let body = a.body;
            (
                quote_spanned!(timeout.span()=> ::core::convert::Into::<::otp::Timeout>::into(#timeout)),
                body.into_token_stream(),
            )
        }),
    };
    core.expand(&Names::new(mailbox_span))
}

pub(crate) fn assertion(model: AssertModel) -> TokenStream {
    let n = Names::new(model.mailbox.span());
    let name = model.kind.name();
    let Names {
        mailbox: mb,
        timeout,
        seen,
        msg,
        text,
        ..
    } = &n;
    let user_mailbox = &model.mailbox;
    let written = super::text::head(&model.written);
    let timeout_expr = match &model.timeout {
        Some(t) => {
            quote_spanned!(t.span()=> ::core::convert::Into::<::otp::Timeout>::into(#t))
        }
        None if model.kind.waits() => quote! {
            ::otp::Timeout::After(::core::time::Duration::from_millis(100))
        },
        None => quote!(::otp::Timeout::After(::core::time::Duration::ZERO)),
    };
    let bind_mailbox = quote_spanned! {user_mailbox.span()=>
        let #mb = {
            use ::otp::__private::receive::MailboxExt as _;
            (#user_mailbox).__mailbox()
        };
    };
    let idents: Vec<&Ident> = model.bindings.iter().map(|b| &b.ident).collect();
    let (take, after_body) = if model.kind.refutes() {
        let describe = describe_owned(&n);
        let take = quote! {{
            let #text = #describe;
            ::otp::testing::__refute_receive_failed(#name, #written, &#text)
        }};
        (Take::Whole(take), quote!(()))
    } else {
        let describe = describe_ref(&n);
        let failed = quote! {{
            let mut #seen: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();
            let _ = #mb.select(::core::time::Duration::ZERO, |#msg| {
                #seen.push(#describe);
                false
            });
            ::otp::testing::__assert_receive_failed(
                #name,
                #written,
                #timeout,
                &#seen,
            )
        }};
        (Take::Bind(quote!((#(#idents,)*))), failed)
    };
    let core = Core {
        mailbox: mb.to_token_stream(),
        mailbox_span: user_mailbox.span(),
        clauses: vec![CoreClause {
            kind: &model.clause_kind,
            guard: model.guard.as_ref(),
            bindings: &model.bindings,
            take,
        }],
        after: Some((timeout.to_token_stream(), after_body)),
    };
    let receive = core.expand(&n);
    let body = quote! {{
        #bind_mailbox
        let #timeout: ::otp::Timeout = #timeout_expr;
        #receive
    }};
    if model.kind.refutes() {
        return body;
    }
    // One `let` per binding, so a binding the guard already used may go unused afterwards
    // without a warning, and the others still warn.
    let tuple = Ident::new("__otp_bound", Span::mixed_site());
    let guard_tokens = model.guard.as_ref().map(ToTokens::to_token_stream);
    let lets = model.bindings.iter().enumerate().map(|(i, b)| {
        let index = syn::Index::from(i);
        let ident = &b.ident;
        let mutability = b.mutable.then(|| quote!(mut));
        let allow = guard_tokens
            .as_ref()
            .filter(|g| mentions(g, ident))
            .map(|_| quote!(#[allow(unused_variables)]));
        quote! { #allow let #mutability #ident = #tuple.#index; }
    });
    quote! {
        let #tuple = #body;
        #(#lets)*
    }
}

/// Whether `tokens` contain the identifier `ident` (a guard that uses a binding).
fn mentions(tokens: &TokenStream, ident: &Ident) -> bool {
    tokens.clone().into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == *ident,
        proc_macro2::TokenTree::Group(g) => mentions(&g.stream(), ident),
        _ => false,
    })
}

impl Core<'_> {
    fn expand(&self, n: &Names) -> TokenStream {
        let Names {
            which,
            found,
            msg,
            user,
            from,
            reason,
            reference,
            pid,
            timeout,
            ..
        } = n;
        let mut user_probes = Vec::new();
        let mut exit_probes = Vec::new();
        let mut down_probes = Vec::new();
        for (i, c) in self.clauses.iter().enumerate() {
            let probe = probe(i, c, n);
            match c.kind {
                Kind::User { .. } => user_probes.push(probe),
                Kind::Exit { .. } => exit_probes.push(probe),
                Kind::Down { .. } => down_probes.push(probe),
            }
        }
        let user_arm = (!user_probes.is_empty()).then(|| {
            quote! { ::otp::MessageRef::User(#user) => { #(#user_probes)* } }
        });
        let exit_arm = (!exit_probes.is_empty()).then(|| {
            quote! {
                ::otp::MessageRef::Exit { from: #from, reason: #reason } => { #(#exit_probes)* }
            }
        });
        let down_arm = (!down_probes.is_empty()).then(|| {
            quote! {
                ::otp::MessageRef::Down { reference: #reference, pid: #pid, reason: #reason } => {
                    #(#down_probes)*
                }
            }
        });
        let takes = self.clauses.iter().enumerate().map(|(i, c)| take(i, c, n));
        let (timeout_expr, after_arm) = match &self.after {
            Some((t, body)) => (
                t.clone(),
                Some(quote! { (_, ::core::option::Option::None) => #body, }),
            ),
            None => (quote!(::otp::Timeout::Infinity), None),
        };
        let mailbox = &self.mailbox;
        let select = quote_spanned!(self.mailbox_span=> (#mailbox).select);
        quote! {{
            let mut #which: usize = usize::MAX;
            let #timeout: ::otp::Timeout = #timeout_expr;
            let #found = #select(#timeout, |#msg| {
                // The probe binds by reference (`ref x`); a field that is itself a reference
                // makes that a reference to a reference, which clippy would blame on the
                // user's pattern.
                #[allow(clippy::needless_borrow, clippy::ref_binding_to_reference)]
                let accepted: bool = {
                    match #msg {
                        #user_arm
                        #exit_arm
                        #down_arm
                        _ => {}
                    }
                    false
                };
                accepted
            });
            match (#which, #found) {
                #(#takes)*
                #after_arm
                _ => ::core::unreachable!(
                    "receive!: the message the probe accepted no longer matches its clause"
                ),
            }
        }}
    }
}

/// The probe's code for clause `i`: match the borrowed message, rebind for the guard, decide.
fn probe(i: usize, c: &CoreClause<'_>, n: &Names) -> TokenStream {
    let Names {
        which,
        user,
        value,
        from,
        reason,
        reference,
        pid,
        ok,
        ..
    } = n;
    let rebinds = c.guard.map(|_| {
        c.bindings
            .iter()
            .map(|b| {
                let ident = &b.ident;
                quote! {
                    #[allow(unused_variables)]
                    let #ident = {
                        use ::otp::__private::receive::{ViaCopy as _, ViaRef as _};
                        (&::otp::__private::receive::Probe(#ident)).__value()
                    };
                }
            })
            .collect::<TokenStream>()
    });
    let decide = match c.guard {
        Some(guard) => quote! {
            let #ok: bool = #guard;
            if #ok {
                #which = #i;
                return true;
            }
        },
        None => quote! {
            #which = #i;
            return true;
        },
    };
    let accept = quote! { #rebinds #decide };
    match c.kind {
        Kind::User { pat, ty: None } => nest(&[(quote!(*#user), pat)], accept),
        Kind::User { pat, ty: Some(ty) } => {
            let downcast =
                quote_spanned!(ty.span()=> ::otp::__private::receive::Dynamic::__probe::<#ty>);
            let inner = nest(&[(quote!(*#value), pat)], accept);
            quote! {
                if let ::core::option::Option::Some(#value) = #downcast(#user) {
                    #inner
                }
            }
        }
        Kind::Exit {
            from: p_from,
            reason: p_reason,
        } => nest(
            &[(quote!(*#from), p_from), (quote!(*#reason), p_reason)],
            accept,
        ),
        Kind::Down {
            reference: p_ref,
            pid: p_pid,
            reason: p_reason,
        } => nest(
            &[
                (quote!(#reference), p_ref),
                (quote!(*#pid), p_pid),
                (quote!(*#reason), p_reason),
            ],
            accept,
        ),
    }
}

/// Matches each place against its pattern in turn (by reference: see [`probe_pat`]), then runs
/// `accept` with every binding in scope.
fn nest(levels: &[(TokenStream, &Pat)], accept: TokenStream) -> TokenStream {
    levels.iter().rev().fold(accept, |inner, (place, pat)| {
        let pat = probe_pat(pat);
        quote! {
            match #place {
                #[allow(unused_variables)]
                #pat => { #inner }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    })
}

/// The take's match arm for clause `i`.
fn take(i: usize, c: &CoreClause<'_>, n: &Names) -> TokenStream {
    let Names { user, taken, .. } = n;
    let some = quote!(::core::option::Option::Some);
    let (body, strip) = match &c.take {
        Take::Whole(tokens) => {
            return quote! { (#i, #some(#taken)) => #tokens, };
        }
        Take::Body(body) => (body.to_token_stream(), false),
        Take::Bind(tokens) => (tokens.clone(), true),
    };
    let pat = |p: &Pat| {
        if strip {
            strip_mut(p)
        } else {
            p.to_token_stream()
        }
    };
    // The guard was decided in the probe, so a binding only the guard uses is unused here:
    // touch those (and only those, so a binding nothing uses still warns).
    let guard = c.guard.map(ToTokens::to_token_stream);
    let touched: Vec<&Ident> = c
        .bindings
        .iter()
        .map(|b| &b.ident)
        .filter(|ident| guard.as_ref().is_some_and(|g| mentions(g, ident)))
        .collect();
    let body = if touched.is_empty() {
        body
    } else {
        quote! {{ #(let _ = &#touched;)* #body }}
    };
    match c.kind {
        Kind::User { pat: p, ty: None } => {
            let p = pat(p);
            quote! { (#i, #some(::otp::Message::User(#p))) => #body, }
        }
        Kind::User {
            pat: p,
            ty: Some(ty),
        } => {
            let p = pat(p);
            let downcast =
                quote_spanned!(ty.span()=> ::otp::__private::receive::Dynamic::__take::<#ty>);
            quote! {
                (#i, #some(::otp::Message::User(#user))) => match #downcast(#user) {
                    #p => #body,
                    #[allow(unreachable_patterns)]
                    _ => ::core::unreachable!(
                        "receive!: the message the probe accepted no longer matches its clause"
                    ),
                },
            }
        }
        Kind::Exit { from, reason } => {
            let (from, reason) = (pat(from), pat(reason));
            quote! {
                (#i, #some(::otp::Message::Exit { from: #from, reason: #reason })) => #body,
            }
        }
        Kind::Down {
            reference,
            pid,
            reason,
        } => {
            let (reference, pid, reason) = (pat(reference), pat(pid), pat(reason));
            quote! {
                (#i, #some(::otp::Message::Down {
                    reference: #reference,
                    pid: #pid,
                    reason: #reason,
                })) => #body,
            }
        }
    }
}

/// A pattern for the probe, which matches a place behind a shared reference: every binding
/// (see `validate`) becomes `ref name`, so nothing moves out and guards get references, and
/// `mut` goes (the probe only looks). Matching the place itself, not a reference to it, keeps
/// constants and literals meaning what they mean in the take.
fn probe_pat(pat: &Pat) -> TokenStream {
    struct ByRef;
    impl VisitMut for ByRef {
        fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
            p.mutability = None;
            if is_binding(p) {
                p.by_ref = Some(syn::Token![ref](p.ident.span()));
            }
            syn::visit_mut::visit_pat_ident_mut(self, p);
        }
    }
    let mut pat = pat.clone();
    ByRef.visit_pat_mut(&mut pat);
    pat.into_token_stream()
}

/// A pattern for the take of an assertion: `mut` removed (the bindings move on to a `let`).
fn strip_mut(pat: &Pat) -> TokenStream {
    struct StripMut;
    impl VisitMut for StripMut {
        fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
            p.mutability = None;
            syn::visit_mut::visit_pat_ident_mut(self, p);
        }
    }
    let mut pat = pat.clone();
    StripMut.visit_pat_mut(&mut pat);
    pat.into_token_stream()
}

/// A borrowed message (`Names::msg`, a `MessageRef`) described for a failure message.
fn describe_ref(n: &Names) -> TokenStream {
    let Names { msg, user, .. } = n;
    let text = Ident::new("__otp_system", Span::mixed_site());
    quote! {
        match ::otp::__private::receive::describe_system(&#msg) {
            ::core::option::Option::Some(#text) => #text,
            ::core::option::Option::None => match #msg {
                ::otp::MessageRef::User(#user) => {
                    use ::otp::__private::receive::{DescribeAny as _, DescribeDebug as _};
                    (&::otp::__private::receive::Describe(#user)).__describe()
                }
                _ => ::std::string::String::new(),
            },
        }
    }
}

/// The taken message (`Names::taken`, a `Message`) described for a failure message.
fn describe_owned(n: &Names) -> TokenStream {
    let Names { taken, user, .. } = n;
    quote! {
        match &#taken {
            ::otp::Message::User(#user) => {
                use ::otp::__private::receive::{DescribeAny as _, DescribeDebug as _};
                (&::otp::__private::receive::Describe(#user)).__describe()
            }
            #user => ::otp::__private::receive::describe_system_message(#user),
        }
    }
}
