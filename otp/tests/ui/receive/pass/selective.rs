//! receive! in a small program: selective order, guards, EXIT and DOWN, after.
use std::time::Duration;

use otp::{ExitReason, Mailbox};

#[derive(Debug, PartialEq)]
enum Msg {
    Num(i64),
    Text(String),
}

fn main() {
    otp::run(|mut mb: Mailbox<Msg>| {
        otp::process::trap_exit(true);
        let me = mb.pid();
        me.send(Msg::Num(-3));
        me.send(Msg::Text("later".into()));
        me.send(Msg::Num(4));
        let n = otp::receive! { mb,
            Msg::Num(n) if n > 0 => n,
            Msg::Text(t) if t.is_empty() => 0,
        };
        assert_eq!(n, 4);
        let linked = otp::spawn_link(|| otp::exit(ExitReason::custom("done")));
        let (_, monitor) = otp::spawn_monitor(|| ());
        let mut seen = Vec::new();
        while seen.len() < 2 {
            otp::receive! { mb,
                EXIT(from, reason) if from == &linked => seen.push(format!("exit {reason}")),
                DOWN(r, _, ExitReason::Normal) if r == monitor => seen.push("down".to_owned()),
            }
        }
        seen.sort();
        assert_eq!(seen, ["down", "exit :done"]);
        let rest = otp::receive! { mb,
            Msg::Num(_) | Msg::Text(_) => 1,
            after Duration::ZERO => 0,
        };
        assert_eq!(rest, 1);
    });
}
