//! Compile-time behaviour of `#[gen_server]`: a server using every handler shape builds and
//! runs, and each misuse the macro detects fails with an error at the user's tokens (the
//! expected messages are the `.stderr` files beside each case).

#[test]
fn ui_gen_server() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/gen_server/pass/*.rs");
    t.compile_fail("tests/ui/gen_server/fail/*.rs");
}
