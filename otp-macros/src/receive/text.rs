//! A clause head as text, for failure messages: `Cmd::Add(a, _) if a > 0`.
//!
//! `stringify!` can't do this well for tokens that went through a proc macro: rustc spaces
//! them by their `Spacing`, and identifiers lose theirs (`Cmd :: Add`). The source text isn't
//! available on stable either (spans can't be joined), so this prints the tokens with the
//! spacing rustfmt would give a pattern or a guard: none around `::`, `.` and ranges, none
//! before `,`/`:`/`?` or a call's parentheses, none after a unary operator, none inside
//! parentheses and brackets, one inside braces, and one between anything else.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

use super::parse::Head;

/// The head as the user wrote it, modulo spacing.
pub(crate) fn head(head: &Head) -> String {
    let mut text = tokens(quote::ToTokens::to_token_stream(&head.pat), false);
    if let Some((_, ty)) = &head.ty {
        text.push_str(": ");
        text.push_str(&tokens(quote::ToTokens::to_token_stream(ty), true));
    }
    if let Some((_, guard)) = &head.guard {
        text.push_str(" if ");
        text.push_str(&tokens(quote::ToTokens::to_token_stream(guard), false));
    }
    text
}

/// What the previous token was, for the space before the next one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    Start,
    /// An identifier, literal or group: what a `(` after it calls.
    Word,
    /// A punctuation character glued to the next one (`:` of `::`, `.` of `..`).
    Joint,
    /// An operator, spaced from what follows.
    Spaced,
    /// A unary operator, a path separator, `.` or a range: nothing spaced after it.
    Tight,
}

fn tokens(stream: TokenStream, in_type: bool) -> String {
    let mut out = String::new();
    let mut prev = Prev::Start;
    // The punctuation sequence being printed (`::`, `..=`, `&&`) and whether it started where
    // an operand was expected (so it is a unary operator).
    let mut op = String::new();
    let mut unary = false;
    for tt in stream {
        match tt {
            TokenTree::Punct(p) => {
                let c = p.as_char();
                if prev != Prev::Joint {
                    op.clear();
                    unary = matches!(prev, Prev::Start | Prev::Spaced | Prev::Tight);
                    let tight_before = matches!(c, ',' | ';' | '.' | '?' | ':')
                        || (in_type && matches!(c, '<' | '>'));
                    if matches!(prev, Prev::Word | Prev::Spaced) && !tight_before {
                        out.push(' ');
                    }
                }
                out.push(c);
                op.push(c);
                prev = if p.spacing() == Spacing::Joint {
                    Prev::Joint
                } else if tight_after(&op, unary, in_type) {
                    Prev::Tight
                } else {
                    Prev::Spaced
                };
            }
            TokenTree::Group(g) => {
                let inner = tokens(g.stream(), in_type);
                let (open, close, call) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")", true),
                    Delimiter::Bracket => ("[", "]", true),
                    Delimiter::Brace => ("{ ", " }", false),
                    Delimiter::None => ("", "", false),
                };
                let space = match prev {
                    Prev::Start | Prev::Joint | Prev::Tight => false,
                    Prev::Word => !call,
                    Prev::Spaced => true,
                };
                if space {
                    out.push(' ');
                }
                if inner.is_empty() && g.delimiter() == Delimiter::Brace {
                    out.push_str("{}");
                } else {
                    out.push_str(open);
                    out.push_str(&inner);
                    out.push_str(close);
                }
                prev = Prev::Word;
            }
            TokenTree::Ident(_) | TokenTree::Literal(_) => {
                if matches!(prev, Prev::Word | Prev::Spaced) {
                    out.push(' ');
                }
                out.push_str(&tt.to_string());
                prev = Prev::Word;
            }
        }
    }
    out
}

/// Whether nothing is spaced after the operator `op`: `::`, `.`, a range, a unary operator
/// (`!x`, `-1`, `&x`, `**b`), and `<`/`&` in a type.
fn tight_after(op: &str, unary: bool, in_type: bool) -> bool {
    match op {
        "::" | "." | ".." | "..=" => true,
        "<" | "&" if in_type => true,
        _ => unary && op.chars().all(|c| matches!(c, '!' | '-' | '*' | '&')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(text: &str) -> String {
        let head: Head = syn::parse_str(text).unwrap();
        super::head(&head)
    }

    #[test]
    fn reads_like_source() {
        for text in [
            "Cmd::Add(a, _) if a > 0",
            "Point { x, y } if x < y",
            "3..=9",
            "n @ 10.. if n < LIMIT",
            "1 | 2",
            "(name, mut bytes) if !bytes.is_empty()",
            "s: String if s.len() == 2",
            "v: Vec<u8> if v[0] == -1",
            "EXIT(from, reason) if from == &child",
            "Opaque(b) if **b == 2",
            "Cmd::Add(..)",
            "Empty {}",
        ] {
            assert_eq!(head_of(text), text);
        }
    }
}
