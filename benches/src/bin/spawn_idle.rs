//! `spawn_idle N`: spawn N processes that each report in and block in `receive`; measure spawn
//! time and memory per process; then stop them all and time until they are gone.
//!
//! Mirrors `anchors/beam/spawn_idle.exs`: two passes in one OS process, `cold` (fresh memory)
//! then, after 200 ms, `warm` (same process, allocator and stack pool possibly reused). Each
//! process bumps a shared atomic (the script's `:counters` cell) and waits for `:stop` (here a
//! `()` message). The parent spins with `otp::yield_now()` until all N have reported in, reads
//! VmRSS, sends `()` to every pid, and spins until the live process count is back to the baseline.
//!
//! Differences, all documented in `benches/README.md`: there is no `:erlang.memory/0`, so the
//! `bytes_per_proc*` keys are RSS deltas and `procmem_bytes_per_proc` sums `process::info().memory`;
//! each process also bumps a second counter right after its `receive` returns, so the parent can
//! wait for that before polling the (O(live processes)) `process::list()`; `process_limit` is
//! not printed (the runtime has none); `schedulers=` is added.

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::{Duration, Instant},
};

use otp::{Mailbox, Pid};
use otp_benches::{ms, ns_per, rss_bytes, wait_counter, wait_process_count, Args, Line};

/// Processes that reached their `receive` (the script's `:counters` cell).
static READY: AtomicU64 = AtomicU64::new(0);
/// Processes whose `receive` returned (lets the parent skip polling a full process table).
static STOPPED: AtomicU64 = AtomicU64::new(0);

fn idle(mut mb: Mailbox<()>) {
    READY.fetch_add(1, Relaxed);
    mb.receive();
    STOPPED.fetch_add(1, Relaxed);
}

fn pass(n: u64, phase: &str, schedulers: usize) {
    READY.store(0, Relaxed);
    STOPPED.store(0, Relaxed);
    otp::sleep(Duration::from_millis(50));
    let base_count = otp::process::list().len();
    let rss0 = rss_bytes();

    let t0 = Instant::now();
    let pids: Vec<Pid<()>> = (0..n).map(|_| otp::spawn(idle)).collect();
    let t1 = Instant::now();
    wait_counter(&READY, n, "spawn_idle: processes ready");
    let t2 = Instant::now();

    let rss1 = rss_bytes();
    let rss_delta = rss1 as f64 - rss0 as f64;
    let pidlist = (pids.capacity() * std::mem::size_of::<Pid<()>>()) as f64;
    let procmem: usize = pids
        .iter()
        .filter_map(otp::process::info)
        .map(|i| i.memory)
        .sum();
    let one = pids
        .first()
        .and_then(otp::process::info)
        .map_or(0, |i| i.memory);

    let t3 = Instant::now();
    for p in &pids {
        p.send(());
    }
    let t4 = Instant::now();
    wait_counter(&STOPPED, n, "spawn_idle: processes stopped");
    wait_process_count(base_count);
    let t5 = Instant::now();

    let per = |bytes: f64| bytes / n as f64;
    Line::new("spawn_idle")
        .kv("phase", phase)
        .kv("n", n)
        .float("spawn_ms", ms(t1 - t0), 2)
        .float("ready_ms", ms(t2 - t0), 2)
        .float("ns_per_spawn", ns_per(t1 - t0, n), 1)
        .float("bytes_per_proc", per(rss_delta), 1)
        .float("bytes_per_proc_excl_pidlist", per(rss_delta - pidlist), 1)
        .float("procmem_bytes_per_proc", per(procmem as f64), 1)
        .float("rss_bytes_per_proc", per(rss_delta), 1)
        .kv("process_info_memory", one)
        .float("stop_send_ms", ms(t4 - t3), 2)
        .float("stop_ms", ms(t5 - t3), 2)
        .kv("schedulers", schedulers)
        .print();
    drop(pids);
}

fn main() {
    let args = Args::parse("spawn_idle N");
    let n = args.int(0);
    let schedulers = args.schedulers;
    args.run(move || {
        pass(n, "cold", schedulers);
        otp::sleep(Duration::from_millis(200));
        pass(n, "warm", schedulers);
    });
}
