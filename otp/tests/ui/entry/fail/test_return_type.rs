#[otp::test]
fn returns_a_number() -> u32 {
    1
}

fn main() {}
