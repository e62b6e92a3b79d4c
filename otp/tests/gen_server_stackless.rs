//! Servers hold no stack while idle: an idle server costs less than a raw process parked in
//! `receive`, while one blocked in a callback holds its stack; blocking callbacks (a call to
//! another server, a sleep) work and keep the state across many activations, and don't hold up
//! other servers; a thousand servers called from several processes on two schedulers, with
//! calls crossing between servers, count every call (idle servers move between schedulers, so
//! this is also their migration test).

mod common;
mod gen_server_support;

use std::{sync::Arc, time::Duration};

use common::*;
use gen_server_support::*;
use otp::{
    gen_server::{self, CallResult, CastResult, From, GenServer, Server},
    process::{self, Status},
    AnyPid, Mailbox, Timeout,
};

/// Counts the calls it gets; with `backs`, also forwards each to one of them first (a call
/// from inside a callback).
struct Counter {
    hits: u64,
    backs: Arc<Vec<Server<Counter>>>,
}

impl Counter {
    fn new() -> Counter {
        Counter {
            hits: 0,
            backs: Arc::new(Vec::new()),
        }
    }
}

enum Req {
    /// Count one; forward to `backs[key % backs.len()]` if any. Replies the count so far.
    Hit(usize),
    /// How many so far.
    Hits,
}

impl GenServer for Counter {
    type Call = Req;
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, req: Req, _: From<u64>) -> CallResult<u64> {
        if let Req::Hit(key) = req {
            if !self.backs.is_empty() {
                let back = &self.backs[key % self.backs.len()];
                back.call(Req::Hit(key)).expect("the back server answers");
            }
            self.hits += 1;
        }
        CallResult::reply(self.hits)
    }
}

/// One scheduler: when a call returns, the server has finished its activation (it ran to
/// idle before this process could run again), so it holds no stack; and the raw process has
/// run and parked in `receive`, holding its stack.
#[test]
fn an_idle_server_costs_less_than_a_raw_process_parked_in_receive() {
    run_on(1, |mut mb: Mailbox<()>| {
        let server = gen_server::start(Counter::new()).unwrap();
        assert_eq!(server.call(Req::Hit(0)), Ok(1));
        let me = mb.pid();
        let raw = otp::spawn(move |mut rmb: Mailbox<()>| {
            me.send(());
            rmb.receive();
        });
        recv(&mut mb);
        let idle = process::info(server.pid().unwrap()).unwrap();
        let parked = process::info(&raw).unwrap();
        assert_eq!(idle.status, Status::Waiting);
        assert_eq!(parked.status, Status::Waiting);
        assert!(
            idle.memory < parked.memory,
            "idle server {} bytes, parked raw process {} bytes",
            idle.memory,
            parked.memory
        );
        // Still the same server, state and all.
        assert_eq!(server.call(Req::Hits), Ok(1));
        raw.send(());
    });
}

/// Blocks in a cast callback, calling a [`Gate`].
struct Blocker {
    gate: Server<Gate>,
    done: u32,
}

impl GenServer for Blocker {
    type Call = ();
    type Reply = u32;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, (): (), _: From<u32>) -> CallResult<u32> {
        CallResult::reply(self.done)
    }

    fn handle_cast(&mut self, (): ()) -> CastResult {
        self.gate.call_timeout((), Timeout::Infinity).unwrap();
        self.done += 1;
        CastResult::noreply()
    }
}

#[test]
fn a_server_blocked_in_a_callback_holds_a_stack_and_gives_it_back() {
    run_on(1, |mut mb: Mailbox<AnyPid>| {
        let me = mb.pid();
        let gate = gen_server::start_link(Gate::new(move |caller| me.send(caller))).unwrap();
        let blocker = gen_server::start_link(Blocker {
            gate: gate.clone(),
            done: 0,
        })
        .unwrap();
        let pid = blocker.pid().unwrap();
        assert_eq!(blocker.call(()), Ok(0));
        let idle = process::info(&pid).unwrap().memory;
        blocker.cast(()).unwrap();
        // The gate holds its call: the blocker is inside its callback now.
        assert_eq!(recv(&mut mb), pid);
        let blocked = process::info(&pid).unwrap().memory;
        assert!(
            blocked > idle,
            "blocked in a callback {blocked} bytes, idle {idle} bytes"
        );
        gate.cast(()).unwrap();
        assert_eq!(blocker.call(()), Ok(1));
        assert_eq!(process::info(&pid).unwrap().memory, idle);
    });
}

/// One scheduler, so "others keep going" means the blocked callback gave the scheduler up.
#[test]
fn a_blocked_callback_does_not_hold_up_other_servers() {
    run_on(1, |mut mb: Mailbox<AnyPid>| {
        let me = mb.pid();
        let gate = gen_server::start_link(Gate::new(move |caller| me.send(caller))).unwrap();
        let blocker = gen_server::start_link(Blocker {
            gate: gate.clone(),
            done: 0,
        })
        .unwrap();
        blocker.cast(()).unwrap();
        assert_eq!(recv(&mut mb), blocker.pid().unwrap());
        let others: Vec<Server<Counter>> = (0..10)
            .map(|_| gen_server::start_link(Counter::new()).unwrap())
            .collect();
        for round in 1..=100 {
            for s in &others {
                assert_eq!(s.call(Req::Hit(0)), Ok(round));
            }
        }
        gate.cast(()).unwrap();
        assert_eq!(blocker.call(()), Ok(1));
    });
}

/// Adds up what it is given across many activations, each callback blocking: a call to
/// another server every time, a short sleep every tenth time.
struct Accumulator {
    total: u64,
    helper: Server<Counter>,
}

impl GenServer for Accumulator {
    type Call = u64;
    type Reply = u64;
    type Cast = u64;
    type Info = u64;
    type Continue = ();

    fn handle_call(&mut self, n: u64, _: From<u64>) -> CallResult<u64> {
        self.add(n);
        CallResult::reply(self.total)
    }

    fn handle_cast(&mut self, n: u64) -> CastResult {
        self.add(n);
        CastResult::noreply()
    }
}

impl Accumulator {
    fn add(&mut self, n: u64) {
        let before = self.total;
        self.helper.call(Req::Hit(0)).unwrap();
        if n % 10 == 0 {
            otp::sleep(Duration::from_millis(1));
        }
        // The state is the same after the callback blocked.
        assert_eq!(self.total, before);
        self.total += n;
    }
}

#[test]
fn blocking_callbacks_keep_the_state_across_many_activations() {
    run(|| {
        let helper = gen_server::start_link(Counter::new()).unwrap();
        let acc = gen_server::start_link(Accumulator {
            total: 0,
            helper: helper.clone(),
        })
        .unwrap();
        let mut expected = 0;
        for n in 1..=300 {
            expected += n;
            if n % 3 == 0 {
                assert_eq!(acc.call(n), Ok(expected));
            } else {
                acc.cast(n).unwrap();
            }
        }
        assert_eq!(acc.call(0), Ok(expected));
        assert_eq!(helper.call(Req::Hits), Ok(301));
    });
}

const FRONTS: usize = 500;
const BACKS: usize = 500;
const CLIENTS: usize = 8;
const CALLS_PER_CLIENT: usize = 10_000;

/// A small deterministic generator, so each client spreads its calls differently.
fn keys(seed: u64) -> impl Iterator<Item = usize> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    std::iter::repeat_with(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        usize::try_from(x >> 16).unwrap()
    })
}

#[test]
fn a_thousand_servers_under_crossing_calls_from_many_processes_count_every_call() {
    run_on(2, |mut mb: Mailbox<Vec<u64>>| {
        let backs: Arc<Vec<Server<Counter>>> = Arc::new(
            (0..BACKS)
                .map(|_| gen_server::start_link(Counter::new()).unwrap())
                .collect(),
        );
        let fronts: Arc<Vec<Server<Counter>>> = Arc::new(
            (0..FRONTS)
                .map(|_| {
                    gen_server::start_link(Counter {
                        hits: 0,
                        backs: backs.clone(),
                    })
                    .unwrap()
                })
                .collect(),
        );
        // Each client counts what it sent where: fronts first, then backs.
        for client in 0..CLIENTS {
            let (fronts, me) = (fronts.clone(), mb.pid());
            otp::spawn(move || {
                let mut sent = vec![0u64; FRONTS + BACKS];
                for key in keys(client as u64 + 1).take(CALLS_PER_CLIENT) {
                    let front = key % FRONTS;
                    // The key picks the back among the front's `backs`.
                    let back = key % BACKS;
                    fronts[front]
                        .call(Req::Hit(key))
                        .expect("the front answers");
                    sent[front] += 1;
                    sent[FRONTS + back] += 1;
                }
                me.send(sent);
            });
        }
        let mut expected = vec![0u64; FRONTS + BACKS];
        for _ in 0..CLIENTS {
            for (total, n) in expected.iter_mut().zip(recv(&mut mb)) {
                *total += n;
            }
        }
        for (i, s) in fronts.iter().chain(backs.iter()).enumerate() {
            assert_eq!(s.call(Req::Hits), Ok(expected[i]), "server {i}");
        }
        let total: u64 = expected.iter().sum();
        assert_eq!(total, 2 * (CLIENTS * CALLS_PER_CLIENT) as u64);
    });
}
