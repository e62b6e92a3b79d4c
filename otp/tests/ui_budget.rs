//! Compile-time behaviour of `#[otp::budget]`: functions, impl blocks and trait methods build
//! and run instrumented, and each misuse fails with an error at the user's tokens and a hint
//! (the expected messages are the `.stderr` files beside each case).

#[test]
fn ui_budget() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/budget/pass/*.rs");
    t.compile_fail("tests/ui/budget/fail/*.rs");
}
