use otp::Mailbox;

fn arity(mut mb: Mailbox<()>) -> u8 {
    otp::receive! { mb,
        EXIT(from) => 1,
        DOWN(r, pid) => 2,
    }
}

fn typed(mut mb: Mailbox<otp::Term>) -> u8 {
    otp::receive! { mb, EXIT(_, _): otp::ExitReason => 1 }
}

fn nested(mut mb: Mailbox<Option<u8>>) -> u8 {
    otp::receive! { mb, Some(EXIT(_, _)) => 1 }
}

fn alternatives(mut mb: Mailbox<()>) -> u8 {
    otp::receive! { mb, EXIT(_, _) | DOWN(_, _, _) => 1 }
}

fn struct_form(mut mb: Mailbox<()>) -> u8 {
    otp::receive! { mb, EXIT { from, reason } => 1 }
}

fn main() {}
