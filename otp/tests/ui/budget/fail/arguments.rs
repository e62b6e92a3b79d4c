#[otp::budget(reductions = 10)]
fn work() {}

fn main() {
    work();
}
