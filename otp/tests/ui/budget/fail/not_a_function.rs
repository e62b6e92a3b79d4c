#[otp::budget]
struct Config {
    depth: u32,
}

#[otp::budget]
mod helpers {}

fn main() {
    let _ = Config { depth: 1 }.depth;
}
