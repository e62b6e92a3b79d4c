//! Compile-time behaviour of `#[otp::main]` and `#[otp::test]`: entry points of every accepted
//! shape build and run, and each misuse fails with an error at the user's tokens and a hint
//! (the expected messages are the `.stderr` files beside each case).

#[test]
fn ui_entry() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/entry/pass/*.rs");
    t.compile_fail("tests/ui/entry/fail/*.rs");
}
