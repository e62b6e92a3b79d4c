#[otp::test]
async fn waits() {}

fn main() {}
