//! `supervisor_restart N [kill|raise] [MAX_SECONDS]`: a one_for_one supervisor with one
//! registered GenServer worker; crash the worker N times and time each crash until the
//! restarted worker is alive, registered, and has announced itself.
//!
//! Mirrors `anchors/beam/supervisor_restart.exs`: the worker's `init` (which runs after its
//! name is registered) sends `{:started, self()}` to the bench process; `kill` mode kills the
//! worker from the bench process (`Process.exit(pid, :kill)`), `raise` mode makes it panic
//! inside `handle_cast`. The supervisor allows 100,000,000 restarts per MAX_SECONDS (default 1),
//! as the anchor does.

use std::time::{Duration, Instant};

use otp::{
    gen_server::{self, CastResult, GenServer, InitResult, StartOptions},
    supervisor::{self, ChildSpec, Options, Strategy},
    AnyPid, ExitReason, Mailbox, Message, Pid,
};
use otp_benches::{ms, usage_error, Args, Line};

const USAGE: &str = "supervisor_restart N [kill|raise] [MAX_SECONDS]";

/// The worker: announces itself to the bench process, crashes on request.
struct Worker {
    bench: Pid<AnyPid>,
}

impl GenServer for Worker {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        self.bench.send(otp::self_pid());
        InitResult::ok()
    }

    fn handle_cast(&mut self, (): ()) -> CastResult {
        panic!("boom");
    }
}

/// Waits for a `started` announcement from a worker other than `old`.
fn await_start(mb: &mut Mailbox<AnyPid>, old: Option<&AnyPid>) -> AnyPid {
    loop {
        match mb.select(Duration::from_secs(5), |_| true) {
            Some(Message::User(pid)) if Some(&pid) != old => return pid,
            Some(_) => {}
            None => {
                eprintln!("supervisor_restart: the worker did not restart");
                std::process::exit(1);
            }
        }
    }
}

/// The BEAM script's percentile: the element at `trunc(p * len)`, clamped.
fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((p * sorted.len() as f64) as usize).min(sorted.len() - 1);
    sorted[i]
}

fn mean_us(xs: &[u64]) -> f64 {
    xs.iter().sum::<u64>() as f64 / xs.len().max(1) as f64 / 1000.0
}

fn main() {
    let args = Args::parse(USAGE);
    let n = args.int(0);
    let mode = args.str_or(1, "kill").to_owned();
    if mode != "kill" && mode != "raise" {
        usage_error(USAGE, "mode must be kill or raise");
    }
    let max_seconds = args.int_or(2, 1);
    if n == 0 {
        usage_error(USAGE, "N must be at least 1");
    }
    args.run(move |mut mb: Mailbox<AnyPid>| {
        otp::process::trap_exit(true);
        let bench = mb.pid();
        let child = ChildSpec::new("worker", move || {
            StartOptions::new()
                .name("anchor_worker")
                .start_link(Worker {
                    bench: bench.clone(),
                })
        });
        let sup = supervisor::start_link(
            vec![child],
            Options::new(Strategy::OneForOne)
                .max_restarts(100_000_000)
                .max_seconds(Duration::from_secs(max_seconds)),
        )
        .unwrap_or_else(|e| panic!("supervisor did not start: {e}"));
        let worker = gen_server::Server::<Worker>::named("anchor_worker");
        let mut pid = await_start(&mut mb, None);
        let mut lat = Vec::with_capacity(n as usize);
        let t0 = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            if mode == "kill" {
                otp::process::exit(&pid, ExitReason::Kill);
            } else {
                worker.cast(()).expect("the worker is registered");
            }
            pid = await_start(&mut mb, Some(&pid));
            lat.push(u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX));
        }
        let total = t0.elapsed();
        assert!(otp::process::alive(sup.pid().expect("the supervisor runs")));
        let mut sorted = lat.clone();
        sorted.sort_unstable();
        let k = lat.len().min(1000);
        Line::new("supervisor_restart")
            .kv("mode", &mode)
            .kv("n", n)
            .kv("max_seconds", max_seconds)
            .float("mean_us", mean_us(&lat), 2)
            .float("p50_us", pct(&sorted, 0.5) as f64 / 1000.0, 2)
            .float("p99_us", pct(&sorted, 0.99) as f64 / 1000.0, 2)
            .float("max_us", *sorted.last().expect("n >= 1") as f64 / 1000.0, 2)
            .float("first1000_mean_us", mean_us(&lat[..k]), 2)
            .float("last1000_mean_us", mean_us(&lat[lat.len() - k..]), 2)
            .float("wall_ms", ms(total), 2)
            .print();
    });
}
