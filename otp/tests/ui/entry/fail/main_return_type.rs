#[otp::main]
fn main() -> u32 {
    1
}
