use otp::Mailbox;

macro_rules! pair {
    ($a:ident, $b:ident) => {
        ($a, $b)
    };
}

fn in_macro(mut mb: Mailbox<(u8, u8)>) -> u8 {
    otp::receive! { mb, pair!(a, b) => a + b }
}

fn by_ref(mut mb: Mailbox<(String, u8)>) -> u8 {
    otp::receive! { mb,
        (ref s, n) => n,
        (ref mut s, _) => 0,
    }
}

fn reference(mut mb: Mailbox<Option<&'static str>>) -> u8 {
    otp::receive! { mb, Some(&_) => 1 }
}

fn main() {
    let (x, y) = (1, 2);
    let _ = pair!(x, y);
}
