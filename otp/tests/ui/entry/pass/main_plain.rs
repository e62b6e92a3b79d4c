//! #[otp::main] on a plain main, with settings.
#[otp::main(schedulers = 1, reductions = 1000)]
fn main() {
    let me = otp::self_pid();
    let number = me.number();
    let child = otp::spawn(move || assert_ne!(otp::self_pid(), me));
    assert!(child.number() > number);
}
