#[otp::test]
#[test]
fn twice() {}

fn main() {}
