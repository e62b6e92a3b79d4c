//! Outside cfg(test), an #[otp::test] is an ordinary function that runs the test.
use otp::Mailbox;

#[otp::test(schedulers = 2, timeout = "30s")]
fn echoes(mut mb: Mailbox<u8>) {
    mb.pid().send(1);
    assert_eq!(mb.receive(), 1);
}

#[otp::test(timeout = "infinity")]
fn returns_ok() -> Result<(), String> {
    Ok(())
}

fn main() {
    echoes();
    returns_ok();
}
