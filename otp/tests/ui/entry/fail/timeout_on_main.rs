#[otp::main(timeout = "10s")]
fn main() {}
