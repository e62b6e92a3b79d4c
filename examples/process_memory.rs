//! How much a process costs (tutorial block 01): spawn 100,000 processes that each wait in
//! `receive`, then report the memory per process.
//!
//! The BEAM reports `:erlang.memory(:total)` before and after; we report the growth of the OS
//! process's resident memory (VmRSS), which counts everything: records, stacks, allocator
//! overhead. The real BEAM prints about 2,700 bytes here (the tutorial's "~2500" is low).
//!
//! Run with `cargo run --release --example process_memory -- [count]`.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use otp::Mailbox;

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    otp::run(move || {
        let ready = Arc::new(AtomicUsize::new(0));
        let before = rss_bytes();
        let pids: Vec<_> = (0..n)
            .map(|_| {
                let ready = ready.clone();
                otp::spawn(move |mut mb: Mailbox<()>| {
                    ready.fetch_add(1, Ordering::Relaxed);
                    mb.receive();
                })
            })
            .collect();
        while ready.load(Ordering::Relaxed) < n {
            otp::yield_now();
        }
        let after = rss_bytes();
        println!("Memory per process: {} bytes", (after - before) / n);
        println!("Total processes: {}", otp::process::list().len() - 1);
        for pid in &pids {
            pid.send(());
        }
    });
}
