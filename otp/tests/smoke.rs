//! Smoke test: a round trip, a timeout and a contained panic.
use std::time::Duration;

use otp::{Mailbox, Pid};

#[test]
fn ping_pong_and_timeout() {
    let v = otp::run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        let echo: Pid<(u32, Pid<u32>)> = otp::spawn(|mut mb: Mailbox<(u32, Pid<u32>)>| loop {
            let (n, from) = mb.receive();
            from.send(n + 1);
        });
        let mut x = 0;
        for _ in 0..1000 {
            echo.send((x, me.clone()));
            x = mb.receive();
        }
        assert_eq!(mb.receive_timeout(Duration::from_millis(20)), None);
        x
    });
    assert_eq!(v, 1000);
}

#[test]
fn panic_contained() {
    let r = otp::run(|mut mb: Mailbox<u8>| {
        otp::spawn(|| panic!("boom"));
        mb.receive_timeout(Duration::from_millis(10));
        7
    });
    assert_eq!(r, 7);
}
