use otp::Mailbox;

fn without_arrow(mut mb: Mailbox<u32>) -> u32 {
    otp::receive! { mb,
        n => n,
        after std::time::Duration::from_millis(10), 0
    }
}

fn without_timeout(mut mb: Mailbox<u32>) -> u32 {
    otp::receive! { mb,
        n => n,
        after => 0,
    }
}

fn bare_number(mut mb: Mailbox<u32>) -> u32 {
    otp::receive! { mb,
        n => n,
        after 100 => 0,
    }
}

fn main() {}
