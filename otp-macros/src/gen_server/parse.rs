//! Parsing `#[gen_server(...)] impl Type { ... }` into a [`Input`]: the attribute's options,
//! the impl block with our handler attributes stripped (it is emitted back unchanged otherwise),
//! and one [`Marked`] per method that carries a handler attribute.
//!
//! Nothing is judged here beyond syntax: whether a marked method has a usable signature is
//! `validate`'s business, so that every problem is reported together, with its span.

use proc_macro2::TokenStream;
use syn::{
    parse::{Parse, ParseStream},
    Attribute, Ident, ImplItem, ItemImpl, Meta, Signature, Token, Visibility,
};

/// What the user wrote.
pub(crate) struct Input {
    pub(crate) options: Options,
    /// The impl block, minus our attributes.
    pub(crate) item: ItemImpl,
    pub(crate) marked: Vec<Marked>,
}

/// `#[gen_server(vis = pub(crate), client = CounterApi)]`.
pub(crate) struct Options {
    /// Visibility of everything generated (default: private, like an item without `pub`).
    pub(crate) vis: Visibility,
    /// The client handle's name (default: the server's name + `Client`).
    pub(crate) client: Option<Ident>,
}

/// The handler attributes, named after the OTP callbacks they implement.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Call,
    Cast,
    Init,
    HandleInfo,
    HandleContinue,
    Terminate,
}

impl Kind {
    fn from_ident(ident: &Ident) -> Option<Kind> {
        Some(match ident.to_string().as_str() {
            "call" => Kind::Call,
            "cast" => Kind::Cast,
            "init" => Kind::Init,
            "handle_info" => Kind::HandleInfo,
            "handle_continue" => Kind::HandleContinue,
            "terminate" => Kind::Terminate,
            _ => return None,
        })
    }

    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Call => "#[call]",
            Kind::Cast => "#[cast]",
            Kind::Init => "#[init]",
            Kind::HandleInfo => "#[handle_info]",
            Kind::HandleContinue => "#[handle_continue]",
            Kind::Terminate => "#[terminate]",
        }
    }
}

/// A method with one of our attributes.
pub(crate) struct Marked {
    pub(crate) kind: Kind,
    /// The attribute itself, for errors about it.
    pub(crate) attr: Attribute,
    /// More than one handler attribute on the same method: the others.
    pub(crate) extra_attrs: Vec<Attribute>,
    /// Arguments given to the attribute (`#[call(x)]`), which none takes.
    pub(crate) attr_args: Option<Meta>,
    pub(crate) sig: Signature,
    /// The method's doc comments, carried over to the generated client method.
    pub(crate) docs: Vec<Attribute>,
}

pub(crate) fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<Input> {
    let options: Options = syn::parse2(attr)?;
    let mut item: ItemImpl = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!(
                "#[gen_server] goes on an inherent impl block: `impl MyServer {{ ... }}` ({e})"
            ),
        )
    })?;
    let mut marked = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let mut found: Option<Marked> = None;
        let mut kept = Vec::with_capacity(method.attrs.len());
        for attr in std::mem::take(&mut method.attrs) {
            let kind = attr.path().get_ident().and_then(Kind::from_ident);
            let Some(kind) = kind else {
                kept.push(attr);
                continue;
            };
            let attr_args = match &attr.meta {
                Meta::Path(_) => None,
                other => Some(other.clone()),
            };
            match &mut found {
                Some(m) => m.extra_attrs.push(attr),
                None => {
                    found = Some(Marked {
                        kind,
                        attr,
                        extra_attrs: Vec::new(),
                        attr_args,
                        sig: method.sig.clone(),
                        docs: Vec::new(),
                    })
                }
            }
        }
        method.attrs = kept;
        if let Some(mut m) = found {
            m.docs = method
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect();
            marked.push(m);
        }
    }
    Ok(Input {
        options,
        item,
        marked,
    })
}

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Options {
            vis: Visibility::Inherited,
            client: None,
        };
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            let name = key.to_string();
            if seen.contains(&name) {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`{name}` is given twice"),
                ));
            }
            input.parse::<Token![=]>()?;
            match name.as_str() {
                "vis" => options.vis = input.parse()?,
                "client" => options.client = Some(input.parse()?),
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown #[gen_server] option `{name}`; the options are \
                             `vis = pub(crate)` (visibility of the generated client and \
                             messages) and `client = Name` (the client handle's name)"
                        ),
                    ))
                }
            }
            seen.push(name);
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(options)
    }
}
