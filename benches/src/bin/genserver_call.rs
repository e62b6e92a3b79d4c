//! `genserver_call N [C]`: a counter GenServer; N sequential calls from one client, then C
//! concurrent clients doing N/C calls each.
//!
//! Mirrors `anchors/beam/genserver_call.exs`: the root starts the counter with `start_link`
//! (state 0; `handle_call(:inc)` replies `n + 1` and keeps `n + 1`). A round spawns the clients
//! (one, then C; each a fresh process, also for the single client), each does its calls with
//! `Server::call` (the default 5 s timeout, as `GenServer.call/2`) and sends `()` (the script's
//! `:client_done`) to the root; the round is timed from before the first spawn to the last
//! `done`. At the end the root makes one more call and checks the counter: it must be
//! `N + (N/C)·C`, else the run fails (exit status 1).
//!
//! Uses only the public `gen_server` API.

use std::time::{Duration, Instant};

use otp::{
    gen_server::{self, CallResult, From, GenServer, Server},
    Mailbox,
};
use otp_benches::{ms, ns_per, usage_error, Args, Line};

const USAGE: &str = "genserver_call N [C]";

/// The script's `Counter`: the state is the count.
struct Counter(u64);

impl GenServer for Counter {
    /// `:inc`
    type Call = ();
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    /// `{:reply, n + 1, n + 1}`
    fn handle_call(&mut self, (): (), _from: From<u64>) -> CallResult<u64> {
        self.0 += 1;
        CallResult::reply(self.0)
    }
}

/// `calls(srv, k)`: k sequential calls. A failed call ends the benchmark (status 1), as the
/// script's caller would exit on a failed `GenServer.call`.
fn calls(srv: &Server<Counter>, k: u64) {
    for _ in 0..k {
        if let Err(e) = srv.call(()) {
            eprintln!("genserver_call: {e}");
            std::process::exit(1);
        }
    }
}

/// `run_clients(srv, clients, per)`: spawns the clients, waits for all their `done`s.
fn run_clients(mb: &mut Mailbox<()>, srv: &Server<Counter>, clients: u64, per: u64) -> Duration {
    let me = mb.pid();
    let t0 = Instant::now();
    for _ in 0..clients {
        let srv = srv.clone();
        let me = me.clone();
        otp::spawn(move || {
            calls(&srv, per);
            me.send(());
        });
    }
    for _ in 0..clients {
        mb.receive();
    }
    t0.elapsed()
}

fn report(clients: u64, total: u64, dt: Duration, schedulers: usize) {
    Line::new("genserver_call")
        .kv("clients", clients)
        .kv("n", total)
        .float("ns_per_call", ns_per(dt, total), 1)
        .kv(
            "calls_per_s",
            (total as f64 / dt.as_secs_f64()).round() as u64,
        )
        .float("wall_ms", ms(dt), 2)
        .kv("schedulers", schedulers)
        .print();
}

fn main() {
    let args = Args::parse(USAGE);
    let n = args.int(0);
    let c = args.int_or(1, 8);
    if c == 0 {
        usage_error(USAGE, "C must be at least 1");
    }
    let schedulers = args.schedulers;
    args.run(move |mut mb: Mailbox<()>| {
        let srv = gen_server::start_link(Counter(0)).unwrap_or_else(|e| {
            eprintln!("genserver_call: could not start the counter: {e}");
            std::process::exit(1)
        });
        let dt1 = run_clients(&mut mb, &srv, 1, n);
        report(1, n, dt1, schedulers);
        let per = n / c;
        let dtc = run_clients(&mut mb, &srv, c, per);
        report(c, per * c, dtc, schedulers);
        let last = srv.call(()).unwrap_or_else(|e| {
            eprintln!("genserver_call: final call: {e}");
            std::process::exit(1)
        });
        let expected = n + per * c;
        if last - 1 != expected {
            eprintln!(
                "genserver_call: counter mismatch {} (expected {expected})",
                last - 1
            );
            std::process::exit(1);
        }
    });
}
