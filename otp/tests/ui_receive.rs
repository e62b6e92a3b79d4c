//! Compile-time behaviour of `receive!` and the `assert_receive!` family: programs using every
//! clause form build and run, and each misuse the macros detect fails with an error at the
//! user's tokens and a hint (the expected messages are the `.stderr` files beside each case).

#[test]
fn ui_receive() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/receive/pass/*.rs");
    t.compile_fail("tests/ui/receive/fail/*.rs");
}
