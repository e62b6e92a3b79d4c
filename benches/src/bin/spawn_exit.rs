//! `spawn_exit N [MODE]`: spawn N processes that exit at once and wait for all of them.
//!
//! Mirrors `anchors/beam/spawn_exit.exs`, mode `counter`: each process bumps a shared atomic
//! (the script's `:counters` cell) and returns; the parent spins with `otp::yield_now()` until
//! the counter reaches N and the live process count is back to what it was before (the script's
//! `:erlang.system_info(:process_count)`; here `otp::process::list().len()`, only consulted once
//! the counter is complete, as the script's `or` short-circuits too).
//!
//! Modes `monitor` (the script's default) and `monitor_batch` need `spawn_monitor` and `:DOWN`
//! messages, which the runtime does not have yet: they print an error and exit with status 2.
//! `process_limit` is not printed (the runtime has none).

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Instant,
};

use otp_benches::{ms, ns_per, process_count, wait_counter, Args, Line};

/// Processes that ran (the script's `:counters` cell).
static DONE: AtomicU64 = AtomicU64::new(0);

fn main() {
    let args = Args::parse("spawn_exit N [monitor|monitor_batch|counter]");
    let n = args.int(0);
    let mode = args.str_or(1, "monitor").to_string();
    match mode.as_str() {
        "counter" => {}
        "monitor" | "monitor_batch" => {
            eprintln!(
                "spawn_exit: unsupported mode {mode}: monitors arrive with the links/monitors work"
            );
            std::process::exit(2);
        }
        other => otp_benches::usage_error(
            "spawn_exit N [monitor|monitor_batch|counter]",
            &format!("unknown mode {other:?}"),
        ),
    }
    let schedulers = args.schedulers;
    args.run(move || {
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
        let t2 = Instant::now();
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
