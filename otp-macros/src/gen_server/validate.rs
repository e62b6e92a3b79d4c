//! Checking a parsed `#[gen_server]` impl and turning it into a [`Model`] that `expand` can
//! generate from without further questions.
//!
//! Each rule below exists because breaking it would otherwise surface as a type error deep in
//! generated code. Every violation becomes a `syn::Error` at the span of the user's tokens that
//! break it, with a hint how to fix it; all violations are reported together.
//!
//! * The impl is inherent (`impl Name { .. }`), for a type named by a plain identifier, without
//!   generics: the message enums and client are concrete types.
//! * A handler takes `&mut self` (or `&self`), is neither `async`, `unsafe` nor generic, and its
//!   arguments are owned types (they travel in a message): no references, no `impl Trait`.
//! * `#[call]` returns its reply `T`, or `CallResult<T>` for full control (reply later, stop);
//!   it may take one `ReplyTo<Self, T>` to answer later, and then must return `CallResult<T>`.
//! * `#[cast]`, `#[handle_info]` and `#[handle_continue]` return nothing or a `CastResult`;
//!   `#[handle_info]` takes an `Info<M>`; `#[handle_continue]` takes the continuation;
//!   `#[init]` takes nothing and returns nothing or an `InitResult`; `#[terminate]` takes the
//!   reason. Each of these four appears at most once.
//! * No two client methods get the same name, and none shadows a method the client always has
//!   (`start_link`, `stop`, `pid`, ...).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{
    spanned::Spanned, visit_mut::VisitMut, Attribute, FnArg, GenericArgument, Ident, ItemImpl, Pat,
    PathArguments, ReturnType, Signature, Type, Visibility,
};

use super::parse::{Input, Kind, Marked};

/// A valid server, ready to expand.
pub(crate) struct Model {
    pub(crate) server: Ident,
    pub(crate) vis: Visibility,
    pub(crate) client: Ident,
    pub(crate) call_enum: Ident,
    pub(crate) cast_enum: Ident,
    pub(crate) reply_enum: Ident,
    pub(crate) calls: Vec<Call>,
    pub(crate) casts: Vec<Cast>,
    pub(crate) init: Option<Single>,
    pub(crate) info: Option<Typed>,
    pub(crate) cont: Option<Typed>,
    pub(crate) terminate: Option<Ident>,
    pub(crate) item: ItemImpl,
}

/// One argument of a handler, as it appears in the message and the client method.
pub(crate) struct Arg {
    pub(crate) name: Ident,
    pub(crate) ty: Type,
}

/// A `#[call]` handler.
pub(crate) struct Call {
    pub(crate) method: Ident,
    pub(crate) variant: Ident,
    pub(crate) args: Vec<Arg>,
    /// Where the `ReplyTo` goes among the arguments, if the handler takes one.
    pub(crate) reply_to: Option<usize>,
    pub(crate) reply: Type,
    /// Returns `CallResult<T>` (else a bare `T`).
    pub(crate) full: bool,
    pub(crate) docs: Vec<Attribute>,
}

/// A `#[cast]` handler.
pub(crate) struct Cast {
    pub(crate) method: Ident,
    pub(crate) variant: Ident,
    pub(crate) args: Vec<Arg>,
    /// Returns `CastResult` (else nothing).
    pub(crate) full: bool,
    pub(crate) docs: Vec<Attribute>,
}

/// `#[init]`.
pub(crate) struct Single {
    pub(crate) method: Ident,
    pub(crate) full: bool,
}

/// `#[handle_info]` (the type is `M` of `Info<M>`) or `#[handle_continue]` (the continuation).
pub(crate) struct Typed {
    pub(crate) method: Ident,
    pub(crate) ty: Type,
    pub(crate) full: bool,
}

/// Collects errors so every one is reported.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    /// An error covering all of `tokens` (first to last token, where `Span::join` can't).
    fn push(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        let e = syn::Error::new_spanned(tokens, message);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Methods the generated client always has.
const RESERVED: &[&str] = &[
    "start",
    "start_link",
    "start_with",
    "start_link_with",
    "named",
    "from_server",
    "from_any_pid",
    "server",
    "pid",
    "stop",
    "child_spec",
    "child_spec_with",
    "send",
    "send_after",
    "current",
    "clone",
    "fmt",
];

pub(crate) fn validate(input: Input) -> syn::Result<Model> {
    let mut errors = Errors::default();
    let Input {
        options,
        item,
        marked,
    } = input;

    if let Some((_, path, _)) = &item.trait_ {
        errors.push(
            path,
            "#[gen_server] goes on an inherent impl (`impl MyServer { .. }`), not a trait impl: \
             it writes the `GenServer` impl for you",
        );
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.push(
            &item.generics,
            "#[gen_server] does not support generic servers yet: the generated messages and \
             client are concrete types (hint: implement `otp::gen_server::GenServer` by hand)",
        );
    }
    let server = match &*item.self_ty {
        Type::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
            p.path.get_ident().cloned()
        }
        other => {
            errors.push(
                other,
                "#[gen_server] needs the server type named by a plain identifier, \
                 e.g. `impl Counter { .. }`",
            );
            None
        }
    };
    let Some(server) = server else {
        errors.finish()?;
        unreachable!("an error was pushed");
    };
    if marked.is_empty() {
        errors.push(
            &item.self_ty,
            "this server has no handlers: mark methods with #[call], #[cast], #[handle_info], \
             #[handle_continue], #[init] or #[terminate]",
        );
    }

    let mut calls = Vec::new();
    let mut casts = Vec::new();
    let mut init: Option<Single> = None;
    let mut info: Option<Typed> = None;
    let mut cont: Option<Typed> = None;
    let mut terminate: Option<Ident> = None;

    for m in marked {
        for extra in &m.extra_attrs {
            errors.push(
                extra,
                format!(
                    "a method is one handler only; this one is already {}",
                    m.kind.attr()
                ),
            );
        }
        if let Some(meta) = &m.attr_args {
            errors.push(meta, format!("{} takes no arguments", m.kind.attr()));
        }
        check_signature(&mut errors, &m);
        let args = typed_args(&m.sig);
        let name = m.sig.ident.clone();
        match m.kind {
            Kind::Call => {
                let mut reply_to = None;
                let mut plain = Vec::new();
                for (i, (pat, ty)) in args.iter().enumerate() {
                    if last_segment_is(ty, "ReplyTo") {
                        if reply_to.is_some() {
                            errors.push(ty, "a call handler takes at most one `ReplyTo`");
                        }
                        reply_to = Some(i);
                    } else {
                        check_arg_type(&mut errors, ty);
                        plain.push(arg(i, pat, ty, &server));
                    }
                }
                let (reply, full) = match &m.sig.output {
                    ReturnType::Default => (syn::parse_quote!(()), false),
                    ReturnType::Type(_, ty) => match generic_of(ty, "CallResult") {
                        Some(Ok(t)) => (replace_self(t.clone(), &server), true),
                        Some(Err(span)) => {
                            errors.push(
                                span,
                                "`CallResult` needs the reply type here: `CallResult<T>` \
                                 (or `CallResult<T, Continue>`)",
                            );
                            (syn::parse_quote!(()), true)
                        }
                        None => {
                            check_arg_type(&mut errors, ty);
                            (replace_self((**ty).clone(), &server), false)
                        }
                    },
                };
                if let (Some(i), false) = (reply_to, full) {
                    errors.push(
                        &args[i].1,
                        "a handler that takes a `ReplyTo` must return `CallResult<T>`, so it \
                         can say whether it replied now (`CallResult::reply(x)`) or will reply \
                         through the `ReplyTo` (`CallResult::noreply()`)",
                    );
                }
                calls.push(Call {
                    variant: variant_name(&name),
                    method: name,
                    args: plain,
                    reply_to,
                    reply,
                    full,
                    docs: m.docs,
                });
            }
            Kind::Cast => {
                let mut plain = Vec::new();
                for (i, (pat, ty)) in args.iter().enumerate() {
                    if last_segment_is(ty, "ReplyTo") {
                        errors.push(
                            ty,
                            "a cast gets no reply; make this handler a #[call] to answer",
                        );
                    } else {
                        check_arg_type(&mut errors, ty);
                        plain.push(arg(i, pat, ty, &server));
                    }
                }
                let full = cast_return(&mut errors, &m.sig, m.kind);
                casts.push(Cast {
                    variant: variant_name(&name),
                    method: name,
                    args: plain,
                    full,
                    docs: m.docs,
                });
            }
            Kind::Init => {
                if let Some((_, ty)) = args.first() {
                    errors.push(
                        ty,
                        "#[init] takes only `&mut self`: the state you start is its argument",
                    );
                }
                let full = match &m.sig.output {
                    ReturnType::Default => false,
                    ReturnType::Type(_, ty) if last_segment_is(ty, "InitResult") => true,
                    ReturnType::Type(_, ty) => {
                        errors.push(
                            ty,
                            "#[init] returns nothing (`{:ok, state}`) or an `InitResult`",
                        );
                        false
                    }
                };
                once(
                    &mut errors,
                    &mut init,
                    Single { method: name, full },
                    &m.attr,
                );
            }
            Kind::HandleInfo => {
                let ty = match args.as_slice() {
                    [(_, ty)] => match generic_of(ty, "Info") {
                        Some(Ok(t)) => Some(replace_self(t.clone(), &server)),
                        _ => None,
                    },
                    _ => None,
                };
                if ty.is_none() {
                    errors.push(
                        &m.sig.inputs,
                        "#[handle_info] takes one argument, `info: Info<M>` (with `M` the type \
                         of plain messages, `()` if none)",
                    );
                }
                let full = cast_return(&mut errors, &m.sig, m.kind);
                let ty = ty.unwrap_or_else(|| syn::parse_quote!(()));
                once(
                    &mut errors,
                    &mut info,
                    Typed {
                        method: name,
                        ty,
                        full,
                    },
                    &m.attr,
                );
            }
            Kind::HandleContinue => {
                let ty = match args.as_slice() {
                    [(_, ty)] => {
                        check_arg_type(&mut errors, ty);
                        replace_self(ty.clone(), &server)
                    }
                    _ => {
                        errors.push(
                            &m.sig.inputs,
                            "#[handle_continue] takes one argument: the continuation that a \
                             callback returned in `Next::Continue`",
                        );
                        syn::parse_quote!(())
                    }
                };
                let full = cast_return(&mut errors, &m.sig, m.kind);
                once(
                    &mut errors,
                    &mut cont,
                    Typed {
                        method: name,
                        ty,
                        full,
                    },
                    &m.attr,
                );
            }
            Kind::Terminate => {
                if args.len() != 1 {
                    errors.push(
                        &m.sig.inputs,
                        "#[terminate] takes one argument: `reason: &ExitReason`",
                    );
                }
                if let ReturnType::Type(_, ty) = &m.sig.output {
                    errors.push(ty, "#[terminate] returns nothing");
                }
                once(&mut errors, &mut terminate, name, &m.attr);
            }
        }
    }

    check_names(&mut errors, &calls, &casts);
    errors.finish()?;

    let client = options
        .client
        .unwrap_or_else(|| Ident::new(&format!("{server}Client"), server.span()));
    Ok(Model {
        call_enum: Ident::new(&format!("{server}Call"), server.span()),
        cast_enum: Ident::new(&format!("{server}Cast"), server.span()),
        reply_enum: Ident::new(&format!("{server}Reply"), server.span()),
        server,
        vis: options.vis,
        client,
        calls,
        casts,
        init,
        info,
        cont,
        terminate,
        item,
    })
}

/// Records a handler that may appear once.
fn once<T>(errors: &mut Errors, slot: &mut Option<T>, value: T, attr: &syn::Attribute) {
    match slot {
        Some(_) => errors.push(
            attr,
            "a server has only one of these; another method already carries this attribute",
        ),
        None => *slot = Some(value),
    }
}

/// Receiver, asyncness, generics: the same rules for every handler.
fn check_signature(errors: &mut Errors, m: &Marked) {
    let sig = &m.sig;
    if let Some(a) = sig.asyncness {
        errors.push(
            a,
            "handlers are not `async`: a process blocks where it waits, so write plain code",
        );
    }
    if let Some(u) = sig.unsafety {
        errors.push(u, "handlers cannot be `unsafe fn`");
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(
            &sig.generics,
            "handlers cannot be generic: their arguments travel in a message of one concrete type",
        );
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.colon_token.is_none() => {}
        Some(FnArg::Receiver(r)) => errors.push(
            r,
            "a handler takes the server's state as `&mut self` (or `&self`), not by value",
        ),
        _ => errors.push(
            &sig.ident,
            format!(
                "{} handler `{}` needs a `&mut self` receiver: the server's state",
                m.kind.attr(),
                sig.ident
            ),
        ),
    }
}

/// `(pattern, type)` of each argument after the receiver.
fn typed_args(sig: &Signature) -> Vec<(Pat, Type)> {
    sig.inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(t) => Some(((*t.pat).clone(), (*t.ty).clone())),
            FnArg::Receiver(_) => None,
        })
        .collect()
}

fn arg(i: usize, pat: &Pat, ty: &Type, server: &Ident) -> Arg {
    let name = match pat {
        Pat::Ident(p) if p.subpat.is_none() => p.ident.clone(),
        _ => Ident::new(&format!("arg{i}"), pat.span()),
    };
    Arg {
        name,
        ty: replace_self(ty.clone(), server),
    }
}

/// Arguments and replies cross processes: owned values only.
fn check_arg_type(errors: &mut Errors, ty: &Type) {
    match ty {
        Type::Reference(r) => errors.push(
            r,
            "handler arguments and replies travel between processes in messages, so they must be \
             owned values (e.g. `String` instead of `&str`, `Vec<T>` instead of `&[T]`)",
        ),
        Type::ImplTrait(t) => errors.push(
            t,
            "`impl Trait` cannot travel in a message: name a concrete type (or a `Box<dyn ..>`)",
        ),
        _ => {}
    }
}

/// `#[cast]`, `#[handle_info]`, `#[handle_continue]`: nothing or a `CastResult`.
fn cast_return(errors: &mut Errors, sig: &Signature, kind: Kind) -> bool {
    match &sig.output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) if last_segment_is(ty, "CastResult") => true,
        ReturnType::Type(_, ty) => {
            errors.push(
                ty,
                format!(
                    "{} returns nothing (carry on) or a `CastResult` (to stop, time out, \
                     hibernate or continue)",
                    kind.attr()
                ),
            );
            false
        }
    }
}

/// Client method names: unique, and not one the client always has.
fn check_names(errors: &mut Errors, calls: &[Call], casts: &[Cast]) {
    let mut taken: Vec<(String, &Ident)> = Vec::new();
    let names = calls
        .iter()
        .flat_map(|c| {
            [
                (c.method.to_string(), &c.method),
                (format!("{}_timeout", c.method), &c.method),
            ]
        })
        .chain(casts.iter().map(|c| (c.method.to_string(), &c.method)));
    for (name, ident) in names {
        if RESERVED.contains(&name.as_str()) {
            errors.push(
                ident,
                format!(
                    "the generated client already has a method `{name}`; rename this handler \
                     (the client's own methods: {})",
                    RESERVED.join(", ")
                ),
            );
        } else if let Some((_, first)) = taken.iter().find(|(n, _)| *n == name) {
            errors.push(
                ident,
                format!(
                    "this handler's client method `{name}` clashes with the one generated for \
                     `{first}` (every call `x` also gets `x_timeout`); rename one of them"
                ),
            );
        } else {
            taken.push((name, ident));
        }
    }
}

/// `get_all` → `GetAll`.
fn variant_name(method: &Ident) -> Ident {
    let s = method.to_string();
    let s = s.strip_prefix("r#").unwrap_or(&s);
    let mut out = String::with_capacity(s.len());
    let mut upper = true;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.push_str("Underscore");
    }
    Ident::new(&out, method.span())
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        _ => false,
    }
}

/// The first type argument of `Name<T, ..>`: `None` if `ty` is not a `Name`, `Err` if it has
/// no type argument.
fn generic_of<'t>(ty: &'t Type, name: &str) -> Option<Result<&'t Type, TokenStream>> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    Some(match &last.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .find_map(|g| match g {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .ok_or_else(|| a.to_token_stream()),
        _ => Err(last.to_token_stream()),
    })
}

/// Types copied out of the impl into generated items can't say `Self`.
fn replace_self(mut ty: Type, server: &Ident) -> Type {
    struct ReplaceSelf<'a>(&'a Ident);
    impl VisitMut for ReplaceSelf<'_> {
        fn visit_ident_mut(&mut self, i: &mut Ident) {
            if i == "Self" {
                *i = Ident::new(&self.0.to_string(), i.span());
            }
        }
    }
    ReplaceSelf(server).visit_type_mut(&mut ty);
    ty
}
