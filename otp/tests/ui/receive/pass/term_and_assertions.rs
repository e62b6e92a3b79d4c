//! Typed clauses on a Mailbox<Term>, and the assertions from otp::testing.
use otp::testing::{assert_received, refute_received};
use otp::{Mailbox, Term};

struct Ping(u32);

fn main() {
    otp::run(|mut mb: Mailbox<Term>| {
        let me = mb.pid();
        me.send(Term::new("text".to_owned()));
        me.send(Term::new(Ping(7)));
        me.send(Term::new(3_u8));
        let x = otp::receive! { mb, Ping(x): Ping => x };
        assert_eq!(x, 7);
        assert_received!(mb, n: u8 if n == 3);
        assert_eq!(n, 3);
        refute_received!(mb, _: u8);
        assert_received!(mb, s: String);
        assert_eq!(s, "text");
    });
}
