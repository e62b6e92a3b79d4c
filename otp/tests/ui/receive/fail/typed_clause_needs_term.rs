use otp::Mailbox;

fn f(mut mb: Mailbox<u32>) -> i32 {
    otp::receive! { mb, n: i32 if n > 0 => n }
}

fn main() {}
