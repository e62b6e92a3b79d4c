#[otp::test]
fn generic<T: Default>() {}

#[otp::test]
const fn constant() {}

fn main() {}
