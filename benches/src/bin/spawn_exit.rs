//! `spawn_exit N [MODE]`: spawn N processes that exit at once and wait for all of them.
//!
//! Mirrors `anchors/beam/spawn_exit.exs`:
//!
//! * `monitor` (the script's default): `spawn_monitor` all N, then receive N `DOWN`s.
//! * `monitor_batch`: the same in batches of 1000 (at most 1000 monitors outstanding).
//! * `counter`: each process bumps a shared atomic (the script's `:counters` cell) and returns;
//!   the parent spins with `otp::yield_now()` until the counter reaches N and the live process
//!   count is back to what it was before (the script's `:erlang.system_info(:process_count)`;
//!   here `otp::process::list().len()`, only consulted once the counter is complete, as the
//!   script's `or` short-circuits too).
//!
//! `process_limit` is not printed (the runtime has none).

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Instant,
};

use otp::{Mailbox, Message};
use otp_benches::{ms, ns_per, process_count, wait_counter, Args, Line};

/// `spawn_monitor` `k` processes that return at once (the script's `spawn_mon/1`).
fn spawn_monitored(k: u64) {
    for _ in 0..k {
        otp::spawn_monitor(|| {});
    }
}

/// Receives `k` `DOWN`s (the script's `wait_down/1`).
fn await_downs(mb: &mut Mailbox<()>, k: u64) {
    for _ in 0..k {
        match mb.receive_message() {
            Message::Down { .. } => {}
            other => panic!("spawn_exit: unexpected message {other:?}"),
        }
    }
}

/// Processes that ran (the script's `:counters` cell).
static DONE: AtomicU64 = AtomicU64::new(0);

fn main() {
    let args = Args::parse("spawn_exit N [monitor|monitor_batch|counter]");
    let n = args.int(0);
    let mode = args.str_or(1, "monitor").to_string();
    match mode.as_str() {
        "counter" | "monitor" | "monitor_batch" => {}
        other => otp_benches::usage_error(
            "spawn_exit N [monitor|monitor_batch|counter]",
            &format!("unknown mode {other:?}"),
        ),
    }
    let schedulers = args.schedulers;
    args.run(move |mut mb: Mailbox<()>| {
        let (t0, t1, t2) = match mode.as_str() {
            "monitor" => {
                let t0 = Instant::now();
                spawn_monitored(n);
                let t1 = Instant::now();
                await_downs(&mut mb, n);
                (t0, t1, Instant::now())
            }
            "monitor_batch" => {
                let t0 = Instant::now();
                let mut left = n;
                while left > 0 {
                    let batch = left.min(1000);
                    spawn_monitored(batch);
                    await_downs(&mut mb, batch);
                    left -= batch;
                }
                let t2 = Instant::now();
                (t0, t2, t2)
            }
            _ => {
                let base = process_count();
                let t0 = Instant::now();
                for _ in 0..n {
                    otp::spawn(|| {
                        DONE.fetch_add(1, Relaxed);
                    });
                }
                let t1 = Instant::now();
                // The counter first (cheap), then the process count, like the script's
                // `counter < n or process_count > base`.
                wait_counter(&DONE, n, "spawn_exit: processes run");
                while process_count() > base {
                    otp::yield_now();
                }
                (t0, t1, Instant::now())
            }
        };
        Line::new("spawn_exit")
            .kv("mode", &mode)
            .kv("n", n)
            .float("ns_per_spawn_exit", ns_per(t2 - t0, n), 1)
            .float("wall_ms", ms(t2 - t0), 2)
            .float("spawn_loop_ms", ms(t1 - t0), 2)
            .kv("schedulers", schedulers)
            .print();
    });
}
