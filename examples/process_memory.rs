//! How much a process costs (tutorial block 1, `ProcessDemo.count_processes/0`): spawn 100,000
//! processes that each wait in `receive`, then report the memory per process.
//!
//! ```elixir
//! pids = for _ <- 1..100_000 do
//!   spawn(fn -> receive do :stop -> :ok end end)
//! end
//! memory_per_process = (final_memory - initial_memory) / 100_000
//! ```
//!
//! The BEAM reports the growth of `:erlang.memory(:total)`; we report the growth of the OS
//! process's resident memory (VmRSS), which counts everything: records, stacks, allocator
//! overhead. As on the BEAM, the figure prints as a raw float.
//!
//! Where the tutorial differs from the real BEAM: it claims "~2500 bytes" (and "around 2KB" in
//! its introduction); the BEAM prints `2723.69416 bytes`, and a fresh idle process is 2640 bytes
//! by `Process.info(pid, :memory)`. The last line prints our per-process figure the same way,
//! with [`otp::process::info`]. Here a process that has run costs about 4.3 KB: almost all of
//! it the one stack page it has touched; the process record itself is a few hundred bytes.
//!
//! One deliberate change: each process tells the root it is ready (a message) before the root
//! measures, so that every process really is parked in `receive` with its stack touched. On the
//! BEAM a process's heap exists from `spawn` on; here the stack is taken at the first run.
//!
//! Run with `cargo run --release --example process_memory -- [count]`.

use otp::{process, Mailbox};

/// The resident memory of this OS process, in bytes (Linux; 0 elsewhere).
fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// What the root hears from the processes it spawned.
struct Ready;

#[otp::main]
fn main(mut mb: Mailbox<Ready>) {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let initial_memory = rss_bytes();

    // ANCHOR: spawn
    // Spawn the processes; each one says it is ready, then waits for :stop.
    let root = mb.pid();
    let pids: Vec<_> = (0..n)
        .map(|_| {
            let root = root.clone();
            otp::spawn(move |mut mb: Mailbox<()>| {
                root.send(Ready);
                mb.receive(); // :stop
            })
        })
        .collect();
    for _ in 0..n {
        let Ready = mb.receive();
    }
    // ANCHOR_END: spawn

    let final_memory = rss_bytes();
    let memory_per_process = final_memory.saturating_sub(initial_memory) as f64 / n as f64;
    println!("Memory per process: {memory_per_process} bytes");
    println!("Total processes: {}", pids.len());
    if let Some(info) = pids.first().and_then(process::info) {
        println!("One idle process, by process::info: {} bytes", info.memory);
    }

    // Clean up.
    for pid in &pids {
        pid.send(());
    }
}
