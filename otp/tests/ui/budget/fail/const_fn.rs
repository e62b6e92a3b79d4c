#[otp::budget]
const fn square(n: u32) -> u32 {
    n * n
}

fn main() {
    let _ = square(2);
}
