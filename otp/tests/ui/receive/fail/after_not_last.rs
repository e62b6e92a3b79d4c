use otp::Mailbox;

fn f(mut mb: Mailbox<u32>) -> u32 {
    otp::receive! { mb,
        1 => 1,
        after std::time::Duration::from_millis(10) => 0,
        n => n,
    }
}

fn main() {}
