use otp::Mailbox;

fn missing_arrow(mut mb: Mailbox<u32>) -> u32 {
    otp::receive! { mb,
        n if n > 1 n
    }
}

fn missing_comma(mut mb: Mailbox<u32>) -> u32 {
    otp::receive! { mb,
        1 => 10
        n => n,
    }
}

fn main() {}
