#[otp::main]
struct App;

fn main() {}
