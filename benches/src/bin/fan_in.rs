//! `fan_in S K`: S senders each send K messages to one receiver; reports msgs/s.
//!
//! Mirrors `anchors/beam/fan_in.exs`: timing starts before the receiver and the senders are
//! spawned and stops when the receiver has taken all S*K `{:msg, k}` messages out of its
//! mailbox and told the root.

use std::time::Instant;

use otp::{Mailbox, Pid};
use otp_benches::{ms, ns, Args, Line};

/// `{:msg, k}`
struct Msg(#[allow(dead_code)] u64);

fn receiver(mut mb: Mailbox<Msg>, total: u64, parent: Pid<()>) {
    for _ in 0..total {
        let Msg(_) = mb.receive();
    }
    parent.send(());
}

fn sender(rcv: Pid<Msg>, k: u64) {
    for i in (1..=k).rev() {
        rcv.send(Msg(i));
    }
}

fn main() {
    let args = Args::parse("fan_in S K");
    let (s, k) = (args.int(0), args.int(1));
    let schedulers = args.schedulers;
    args.run(move |mut mb: Mailbox<()>| {
        let me = mb.pid();
        let total = s * k;
        let t0 = Instant::now();
        let rcv = otp::spawn(move |mb| receiver(mb, total, me));
        for _ in 0..s {
            let rcv = rcv.clone();
            otp::spawn(move || sender(rcv, k));
        }
        mb.receive();
        let dt = t0.elapsed();
        Line::new("fan_in")
            .kv("senders", s)
            .kv("per_sender", k)
            .kv("msgs", total)
            .kv(
                "msgs_per_s",
                (total as f64 / dt.as_secs_f64()).round() as u64,
            )
            .float("ns_per_msg", ns(dt) / total as f64, 1)
            .float("wall_ms", ms(dt), 2)
            .kv("schedulers", schedulers)
            .print();
    });
}
