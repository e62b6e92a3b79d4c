use otp::testing::{assert_receive, assert_received, refute_received};
use otp::Mailbox;

fn timeout_on_received(mut mb: Mailbox<u32>) {
    assert_received!(mb, 1, std::time::Duration::from_millis(10));
}

fn no_pattern(mut mb: Mailbox<u32>) {
    refute_received!(mb);
}

fn trailing_tokens(mut mb: Mailbox<u32>) {
    assert_receive!(mb, 1, std::time::Duration::from_millis(10), 5);
}

fn main() {}
