//! Instrumenting a function: a budget check (`::otp::__private::budget::tick()`) as the first
//! statement of the body, so every call counts (recursion included), and as the first statement
//! of every `loop`, `while` and `for` body, so every iteration counts.
//!
//! The walk does not enter closures, `async` blocks or nested items (functions, impls,
//! modules): they run at other times, or elsewhere, and get their own `#[otp::budget]` if they
//! want one. Macro invocations are opaque token trees, so loops inside them (`vec![..]`) are not
//! seen either.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{
    parse_quote,
    visit_mut::{self, VisitMut},
    Block, ImplItem, TraitItem,
};

use super::validate::Target;

pub(crate) fn expand(target: Target) -> TokenStream {
    match target {
        Target::Fn(mut f) => {
            instrument(&mut f.block);
            f.into_token_stream()
        }
        Target::Impl(mut i) => {
            for item in &mut i.items {
                if let ImplItem::Fn(f) = item {
                    instrument(&mut f.block);
                }
            }
            i.into_token_stream()
        }
        Target::Trait(mut t) => {
            for item in &mut t.items {
                if let TraitItem::Fn(f) = item {
                    if let Some(block) = &mut f.default {
                        instrument(block);
                    }
                }
            }
            t.into_token_stream()
        }
    }
}

/// A function body: checks in its loops, and one on entry.
fn instrument(body: &mut Block) {
    Loops.visit_block_mut(body);
    tick(body);
}

fn tick(block: &mut Block) {
    block
        .stmts
        .insert(0, parse_quote!(::otp::__private::budget::tick();));
}

/// Puts a check at the top of every loop body it reaches.
struct Loops;

impl VisitMut for Loops {
    fn visit_expr_loop_mut(&mut self, e: &mut syn::ExprLoop) {
        visit_mut::visit_expr_loop_mut(self, e);
        tick(&mut e.body);
    }

    fn visit_expr_while_mut(&mut self, e: &mut syn::ExprWhile) {
        visit_mut::visit_expr_while_mut(self, e);
        tick(&mut e.body);
    }

    fn visit_expr_for_loop_mut(&mut self, e: &mut syn::ExprForLoop) {
        visit_mut::visit_expr_for_loop_mut(self, e);
        tick(&mut e.body);
    }

    // Code that runs at another time, or elsewhere.
    fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}

    fn visit_expr_async_mut(&mut self, _: &mut syn::ExprAsync) {}

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}
