#[otp::main]
async fn main() {}
