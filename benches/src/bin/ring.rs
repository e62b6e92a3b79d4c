//! `ring R M`: R processes in a ring; one token passed M full laps (R*M hops).
//!
//! Mirrors `anchors/beam/ring.exs`: the parent spawns R nodes, sends each `{:next, pid}` (its
//! successor; the last node's is the first), then sends the first node the token `R*M`. A node
//! that receives `k > 0` forwards `k - 1`; the node that receives `0` tells the parent. Timed from
//! the first token send to the parent's `:done` (`ns_per_hop`, `pass_ms`); `setup_ms` is spawning
//! and linking. Afterwards every node is killed (`Process.exit(pid, :kill)`).

use std::time::{Duration, Instant};

use otp::{ExitReason, Mailbox, Pid};
use otp_benches::{ms, ns_per, Args, Line};

/// Gives up (exit status 1) if the token has not come back by then: a node died, e.g. because
/// no stack could be allocated for it. The BEAM script would have crashed at `spawn` instead.
const LOST_TOKEN: Duration = Duration::from_secs(30);

enum Msg {
    /// `{:next, nxt}`
    Next(Pid<Msg>),
    /// The token: hops still to go.
    Token(u64),
}

fn ring_node(mut mb: Mailbox<Msg>, parent: Pid<()>) {
    // `receive {:next, nxt}`: selective, as in the script.
    let Msg::Next(next) = mb.receive_if(|m| matches!(m, Msg::Next(_))) else {
        unreachable!()
    };
    loop {
        match mb.receive() {
            Msg::Token(0) => parent.send(()),
            Msg::Token(k) => next.send(Msg::Token(k - 1)),
            Msg::Next(_) => {}
        }
    }
}

fn main() {
    let args = Args::parse("ring R M");
    let (r, m) = (args.int(0), args.int(1));
    let schedulers = args.schedulers;
    args.run(move |mut mb: Mailbox<()>| {
        let me = mb.pid();
        let t0 = Instant::now();
        let pids: Vec<Pid<Msg>> = (0..r)
            .map(|_| {
                let parent = me.clone();
                otp::spawn(move |mb| ring_node(mb, parent))
            })
            .collect();
        for (i, p) in pids.iter().enumerate() {
            p.send(Msg::Next(pids[(i + 1) % pids.len()].clone()));
        }
        let t1 = Instant::now();
        let hops = r * m;
        pids[0].send(Msg::Token(hops));
        if mb.receive_timeout(LOST_TOKEN).is_none() {
            let dead = pids.iter().filter(|p| !otp::process::alive(p)).count();
            eprintln!("ring: no token after {LOST_TOKEN:?}; {dead} of {r} nodes are dead (e.g. system_limit: no stack)");
            std::process::exit(1);
        }
        let t2 = Instant::now();
        for p in &pids {
            otp::process::exit(p, ExitReason::Kill);
        }
        Line::new("ring")
            .kv("r", r)
            .kv("m", m)
            .kv("hops", hops)
            .float("ns_per_hop", ns_per(t2 - t1, hops), 1)
            .float("pass_ms", ms(t2 - t1), 2)
            .float("setup_ms", ms(t1 - t0), 2)
            .kv("schedulers", schedulers)
            .print();
    });
}
