use otp::Mailbox;

fn f(mut mb: Mailbox<u32>) -> u32 {
    otp::receive! { mb,
        n => n,
        after std::time::Duration::from_millis(10) => 0,
        after std::time::Duration::from_millis(20) => 1,
    }
}

fn main() {}
