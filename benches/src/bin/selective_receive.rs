//! `selective_receive M K_PLAIN K_REF`: the cost of a selective receive whose match sits behind
//! M unmatched messages.
//!
//! Mirrors `anchors/beam/selective_receive.exs`. For each variant a fresh process sends itself M
//! `{:junk, i}` messages, checks its queue length, then times K receives:
//!
//! * `plain` (K_PLAIN iterations): send itself `{:tag, k}`, then `receive_if` a `Tag`: every
//!   receive scans the M junk messages first.
//! * `ref` (K_REF iterations): `ref = make_ref()`, send `{self(), ref}` to an echo process,
//!   `receive_if` the `{ref, :ok}` reply. The BEAM's compiler turns this into a receive marker
//!   that skips the M old messages; the runtime has no such marker, so this scans them too.
//! * `ref_noopt` (K_PLAIN iterations): on the BEAM, the ref comes from `apply/3` so the compiler
//!   cannot set the marker. Here it is the same code as `ref` (the ref goes through
//!   `std::hint::black_box`), printed for a like-for-like table.
//!
//! Each variant runs with M junk messages and with none (`ns_per_receive_empty_mailbox`); their
//! difference is `extra_ns_due_to_mailbox`. `schedulers=` is added to the script's keys.

use std::{hint::black_box, time::Instant};

use otp::{Mailbox, Pid, Ref};
use otp_benches::{elixir_round, Args, Line};

enum Msg {
    /// `{:junk, i}`
    Junk(#[allow(dead_code)] u64),
    /// `{:tag, k}`
    Tag(#[allow(dead_code)] u64),
    /// `{ref, :ok}` from the echo process.
    Reply(Ref),
}

/// `{from, ref}` to the echo process.
type Request = (Pid<Msg>, Ref);

fn echo(mut mb: Mailbox<Request>) {
    loop {
        let (from, r) = mb.receive();
        from.send(Msg::Reply(r));
    }
}

fn ref_loop(mb: &mut Mailbox<Msg>, k: u64, echo: &Pid<Request>, make_ref: fn() -> Ref) {
    let me = mb.pid();
    for _ in 0..k {
        let r = make_ref();
        echo.send((me.clone(), r));
        mb.receive_if(|m| matches!(m, Msg::Reply(x) if *x == r));
    }
}

/// Runs `variant` K times in a fresh process holding `m` junk messages; returns nanoseconds.
fn measure(
    root: &mut Mailbox<u128>,
    variant: &'static str,
    m: u64,
    k: u64,
    echo: &Pid<Request>,
) -> u128 {
    let parent = root.pid();
    let echo = echo.clone();
    otp::spawn(move |mut mb: Mailbox<Msg>| {
        let me = mb.pid();
        for i in (1..=m).rev() {
            me.send(Msg::Junk(i));
        }
        assert_eq!(mb.len() as u64, m, "message_queue_len before");
        let t0 = Instant::now();
        match variant {
            "plain" => {
                for i in (1..=k).rev() {
                    me.send(Msg::Tag(i));
                    mb.receive_if(|m| matches!(m, Msg::Tag(_)));
                }
            }
            "ref" => ref_loop(&mut mb, k, &echo, otp::make_ref),
            _ => ref_loop(&mut mb, k, &echo, black_box(otp::make_ref as fn() -> Ref)),
        }
        let dt = t0.elapsed().as_nanos();
        assert_eq!(mb.len() as u64, m, "message_queue_len after");
        parent.send(dt);
    });
    root.receive()
}

fn main() {
    let args = Args::parse("selective_receive M K_PLAIN K_REF");
    let (m, kp, kr) = (args.int(0), args.int(1), args.int(2));
    let schedulers = args.schedulers;
    args.run(move |mut mb: Mailbox<u128>| {
        let echo = otp::spawn(echo);
        for (variant, k) in [("plain", kp), ("ref", kr), ("ref_noopt", kp)] {
            let full = measure(&mut mb, variant, m, k, &echo);
            let empty = measure(&mut mb, variant, 0, k, &echo);
            let per = |ns: f64| elixir_round(ns / k as f64, 1);
            Line::new("selective_receive")
                .kv("variant", variant)
                .kv("mailbox", m)
                .kv("iters", k)
                .kv("ns_per_receive", per(full as f64))
                .kv("ns_per_receive_empty_mailbox", per(empty as f64))
                .kv("extra_ns_due_to_mailbox", per(full as f64 - empty as f64))
                .kv("schedulers", schedulers)
                .print();
        }
        otp::process::exit(&echo, otp::ExitReason::Kill);
    });
}
