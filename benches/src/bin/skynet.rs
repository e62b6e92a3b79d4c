//! `skynet [SIZE DIV]`: SIZE leaf processes in a DIV-ary tree; each leaf sends its number up and
//! every inner node sends the sum of its children's, so the root gets the sum of 0..SIZE-1
//! (the classic atemerev/skynet benchmark; 1 000 000 leaves, 1 111 111 processes in all).
//!
//! Mirrors `anchors/beam/skynet.exs`: a node spawns its DIV children, then receives DIV
//! `{:sum, s}` messages and sends their total to its parent. The root waits at most 120 s
//! (`result=timeout` otherwise). `process_limit` is not printed (the runtime has none).

use std::time::{Duration, Instant};

use otp::{Mailbox, Pid};
use otp_benches::{ms, Args, Line};

fn skynet(mut mb: Mailbox<u64>, parent: Pid<u64>, num: u64, size: u64, div: u64) {
    if size == 1 {
        parent.send(num);
        return;
    }
    let sub = size / div;
    for i in 0..div {
        let me = mb.pid();
        otp::spawn(move |mb| skynet(mb, me, num + i * sub, sub, div));
    }
    let sum = (0..div).map(|_| mb.receive()).sum();
    parent.send(sum);
}

fn main() {
    let args = Args::parse("skynet [SIZE DIV]");
    let (size, div) = if args.is_empty() {
        (1_000_000, 10)
    } else {
        (args.int(0), args.int(1))
    };
    let schedulers = args.schedulers;
    args.run(move |mut mb: Mailbox<u64>| {
        let me = mb.pid();
        let t0 = Instant::now();
        otp::spawn(move |mb| skynet(mb, me, 0, size, div));
        let sum = mb.receive_timeout(Duration::from_secs(120));
        let t1 = Instant::now();
        let expected = size * size.saturating_sub(1) / 2;
        Line::new("skynet")
            .kv("size", size)
            .kv("div", div)
            .kv(
                "result",
                sum.map_or_else(|| "timeout".to_string(), |s| s.to_string()),
            )
            .kv("ok", sum == Some(expected))
            .float("wall_ms", ms(t1 - t0), 2)
            .kv("schedulers", schedulers)
            .print();
    });
}
