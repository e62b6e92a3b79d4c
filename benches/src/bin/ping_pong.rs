//! `ping_pong N`: two processes exchange N synchronous request/reply round trips.
//!
//! Mirrors `anchors/beam/ping_pong.exs`: a ponger answers `{:ping, from}` with `:pong` until
//! `:stop`; a pinger (also a fresh process, not the root) sends a ping with its own pid, waits
//! for the pong, N times, and reports its elapsed time to the root.

use std::time::{Duration, Instant};

use otp::{Mailbox, Pid};
use otp_benches::{ms, ns_per, Args, Line};

enum ToPonger {
    /// `{:ping, from}`
    Ping(Pid<()>),
    /// `:stop`
    Stop,
}

fn ponger(mut mb: Mailbox<ToPonger>) {
    loop {
        match mb.receive() {
            ToPonger::Ping(from) => from.send(()),
            ToPonger::Stop => return,
        }
    }
}

fn pinger(mut mb: Mailbox<()>, n: u64, ponger: &Pid<ToPonger>) {
    for _ in 0..n {
        ponger.send(ToPonger::Ping(mb.pid()));
        mb.receive();
    }
}

fn main() {
    let args = Args::parse("ping_pong N");
    let n = args.int(0);
    let schedulers = args.schedulers;
    args.run(move |mut mb: Mailbox<Duration>| {
        let me = mb.pid();
        let p = otp::spawn(ponger);
        let p2 = p.clone();
        otp::spawn(move |mb: Mailbox<()>| {
            let t0 = Instant::now();
            pinger(mb, n, &p2);
            me.send(t0.elapsed());
        });
        let dt = mb.receive();
        p.send(ToPonger::Stop);
        Line::new("ping_pong")
            .kv("n", n)
            .float("ns_per_roundtrip", ns_per(dt, n), 1)
            .float("wall_ms", ms(dt), 2)
            .kv("schedulers", schedulers)
            .print();
    });
}
