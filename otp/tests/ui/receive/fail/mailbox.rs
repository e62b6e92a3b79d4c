use otp::Mailbox;

enum Cmd {
    Stop,
}

fn missing_comma(mut mb: Mailbox<Cmd>) -> i32 {
    otp::receive! { mb Cmd::Stop => 0 }
}

fn clause_first(mut mb: Mailbox<Cmd>) -> i32 {
    otp::receive! { Cmd::Stop => 0 }
}

fn nothing() -> i32 {
    otp::receive! {}
}

fn no_clauses(mut mb: Mailbox<Cmd>) -> i32 {
    otp::receive! { mb, }
}

fn main() {}
