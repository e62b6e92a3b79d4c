//! `genserver_idle N`: what an idle GenServer costs in memory. No anchor (ours only).
//!
//! The root starts one server, calls it and stops it (so the code paths, the stack pool and the
//! allocator's first structures are warm and in the baseline), waits 50 ms, counts the live
//! processes and reads VmRSS. Then it starts N counter servers with `gen_server::start` (state:
//! a `u64`), calls each once (so every one has run a callback and gone back to idle: the call
//! returns once the reply is written, the server then hands its stack back), waits until every
//! one reports `Status::Waiting`, and reads VmRSS again. Afterwards every server is stopped
//! with `Server::stop(Normal)` and the run fails (status 1) if any of them is still in
//! `process::list()`.
//!
//! Keys (see `benches/README.md`): `bytes_per_server` = (RSS delta − the handle `Vec`) / N;
//! `rss_bytes_per_server` = RSS delta / N; `state_bytes` = `size_of` of the state;
//! `bytes_per_server_minus_state`; `info_memory` = `process::info(pid).memory` of one idle
//! server; `ns_per_start`, `ns_per_call` (first call to a cold server), `stop_ms`.

use std::time::{Duration, Instant};

use otp::{
    gen_server::{self, CallResult, From, GenServer, Server},
    process::{self, Status},
    ExitReason, Timeout,
};
use otp_benches::{ms, ns_per, rss_bytes, Args, Line};

/// The state of every server: one counter.
struct Counter(u64);

impl GenServer for Counter {
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, (): (), _from: From<u64>) -> CallResult<u64> {
        self.0 += 1;
        CallResult::reply(self.0)
    }
}

/// How long the servers may take to go idle, or to be gone after their stop, before the run
/// fails.
const PATIENCE: Duration = Duration::from_secs(30);

fn fail(msg: &str) -> ! {
    eprintln!("genserver_idle: {msg}");
    std::process::exit(1)
}

fn start() -> Server<Counter> {
    gen_server::start(Counter(0)).unwrap_or_else(|e| fail(&format!("start: {e}")))
}

fn call(s: &Server<Counter>) {
    if let Err(e) = s.call(()) {
        fail(&format!("call: {e}"));
    }
}

fn stop(s: &Server<Counter>) {
    if let Err(e) = s.stop(ExitReason::Normal, Timeout::Infinity) {
        fail(&format!("stop: {e}"));
    }
}

/// Waits until every server is parked (idle, no stack, nothing queued).
fn wait_idle(servers: &[Server<Counter>]) {
    let since = Instant::now();
    for s in servers {
        let pid = s.pid().unwrap_or_else(|| fail("a server has no pid"));
        loop {
            match process::info(&pid) {
                Some(i) if i.status == Status::Waiting && i.message_queue_len == 0 => break,
                Some(_) if since.elapsed() < PATIENCE => otp::yield_now(),
                Some(i) => fail(&format!("{pid} did not go idle: {:?}", i.status)),
                None => fail(&format!("{pid} exited")),
            }
        }
    }
}

fn main() {
    let args = Args::parse("genserver_idle N");
    let n = args.int_or(0, 100_000);
    let schedulers = args.schedulers;
    args.run(move || {
        // Warm-up: one server through its whole life, outside the measurement.
        let w = start();
        call(&w);
        stop(&w);
        drop(w);
        otp::sleep(Duration::from_millis(50));
        let base: Vec<_> = process::list();
        let rss0 = rss_bytes();

        let t0 = Instant::now();
        let servers: Vec<Server<Counter>> = (0..n).map(|_| start()).collect();
        let t1 = Instant::now();
        for s in &servers {
            call(s);
        }
        let t2 = Instant::now();
        wait_idle(&servers);
        let rss1 = rss_bytes();

        let info_memory = servers
            .first()
            .and_then(Server::pid)
            .and_then(process::info)
            .map_or(0, |i| i.memory);
        let rss_delta = rss1 as f64 - rss0 as f64;
        let handles = (servers.capacity() * std::mem::size_of::<Server<Counter>>()) as f64;
        let state_bytes = std::mem::size_of::<Counter>();
        let per = |bytes: f64| bytes / n as f64;
        let bytes_per_server = per(rss_delta - handles);

        let pids: Vec<_> = servers.iter().filter_map(Server::pid).collect();
        let t3 = Instant::now();
        for s in &servers {
            stop(s);
        }
        let t4 = Instant::now();
        drop(servers);
        // `stop` returns on the DOWN; leaving the process table may trail it a little.
        loop {
            let live = process::list();
            let left = pids.iter().filter(|p| live.contains(p)).count();
            if left == 0 && live.len() <= base.len() {
                break;
            }
            if t4.elapsed() > PATIENCE {
                fail(&format!(
                    "{left} of {n} servers still alive after stop; {} processes live, {} before",
                    live.len(),
                    base.len()
                ));
            }
            otp::sleep(Duration::from_millis(1));
        }

        Line::new("genserver_idle")
            .kv("n", n)
            .float("bytes_per_server", bytes_per_server, 1)
            .kv("state_bytes", state_bytes)
            .float(
                "bytes_per_server_minus_state",
                bytes_per_server - state_bytes as f64,
                1,
            )
            .float("rss_bytes_per_server", per(rss_delta), 1)
            .kv("info_memory", info_memory)
            .float("ns_per_start", ns_per(t1 - t0, n), 1)
            .float("ns_per_first_call", ns_per(t2 - t1, n), 1)
            .float("stop_ms", ms(t4 - t3), 2)
            .kv("schedulers", schedulers)
            .print();
    });
}
