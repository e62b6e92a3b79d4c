use otp::Mailbox;

#[otp::test]
fn not_a_mailbox(_n: u32) {}

#[otp::test]
fn by_reference(_mb: &mut Mailbox<u32>) {}

#[otp::test]
fn two(_mb: Mailbox<u32>, _extra: u8, _more: u8) {}

fn main() {}
