use otp::Mailbox;

fn f(mut mb: Mailbox<u32>) -> u32 {
    otp::receive! { mb, n if n + 1 => n }
}

fn main() {}
