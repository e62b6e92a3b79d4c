//! Random crash schedules against a supervisor, checked step by step against a model.
//!
//! A tiny xorshift generator (deterministic: a failure names its seed and step) drives each
//! run: crash a running child (panic, custom exit, `{:shutdown, _}`, normal return, kill), or
//! `terminate_child`, `restart_child`, `delete_child`, `start_child`. Children mix restart
//! types and kinds (trapping GenServers, plain non-trapping processes); the intensity is high
//! enough never to trip. After each step the test waits until the supervisor has handled it
//! (a crash: the victim's `DOWN`, then a call; see `supervisor_support`) and checks:
//!
//! * the children are the model's, in start order;
//! * a child the step restarted has a new, live pid and its old process is dead; any other
//!   child kept its pid; a permanent child runs unless `terminate_child` stopped it, a
//!   transient one also stays down after a normal exit, a temporary one is gone once dead. A
//!   stopped child starts again when a sibling's crash restarts its group, as in OTP's
//!   `one_for_all` / `rest_for_one`;
//! * every running child is linked to the supervisor, and the supervisor to nothing else
//!   (its parent aside);
//! * `count_children` agrees;
//!
//! and at the end, once the tree is stopped, that no process outlived it.

mod common;
mod supervisor_support;

use std::fmt;

use common::*;
use otp::{
    gen_server, process,
    supervisor::{
        self, ChildCounts, ChildError, ChildSpec, Options, Restart, Strategy, Supervisor,
    },
    AnyPid, ExitReason, Mailbox, Timeout,
};
use supervisor_support::*;

const SEEDS: u64 = 50;
const STEPS: usize = 60;

/// xorshift64 (Marsaglia): plenty for choosing steps, and reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // Never zero (xorshift's fixed point); spread small seeds apart.
        Rng(seed.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("fits")
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// What a plain child process can be told to do.
enum Cmd {
    Panic,
    Return,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A [`Worker`] GenServer: traps exits, stops with the reason of any exit signal but its
    /// parent's.
    Server,
    /// A plain, non-trapping process.
    Plain,
}

fn spec(id: &str, restart: Restart, kind: Kind) -> ChildSpec {
    match kind {
        Kind::Server => ChildSpec::new(id, || gen_server::start_link(Worker::new("w", None))),
        Kind::Plain => ChildSpec::new(id, || {
            Ok(otp::spawn_link(|mut mb: Mailbox<Cmd>| match mb.receive() {
                Cmd::Panic => panic!("plain child panicked on purpose"),
                Cmd::Return => {}
            }))
        }),
    }
    .restart(restart)
}

/// How the victim of a crash step goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crash {
    Panic,
    Custom,
    ShutdownWith,
    Normal,
    Kill,
}

impl Crash {
    /// Makes `pid` (of `kind`) exit this way.
    fn inflict(self, pid: &AnyPid, kind: Kind) {
        match (self, kind) {
            (Crash::Kill, _) => process::exit(pid, ExitReason::Kill),
            (Crash::Custom, _) => process::exit(pid, boom()),
            (Crash::ShutdownWith, _) => process::exit(pid, ExitReason::shutdown_with("done")),
            (Crash::Panic, Kind::Server) => process::exit(pid, panic_reason()),
            (Crash::Normal, Kind::Server) => process::exit(pid, ExitReason::Normal),
            (Crash::Panic, Kind::Plain) => pid.downcast::<Cmd>().unwrap().send(Cmd::Panic),
            (Crash::Normal, Kind::Plain) => pid.downcast::<Cmd>().unwrap().send(Cmd::Return),
        }
    }

    /// Whether `reason` is how a victim of this crash exits.
    fn is_reason(self, reason: &ExitReason) -> bool {
        match self {
            Crash::Panic => matches!(reason, ExitReason::Panic(_)),
            Crash::Custom => *reason == boom(),
            Crash::ShutdownWith => *reason == ExitReason::shutdown_with("done"),
            Crash::Normal => *reason == ExitReason::Normal,
            Crash::Kill => *reason == ExitReason::Killed,
        }
    }

    /// Whether a child of this restart type is restarted after it (the model's rule, written
    /// out again rather than asking `Restart::restarts_after`).
    fn restarts(self, restart: Restart) -> bool {
        match restart {
            Restart::Permanent => true,
            Restart::Transient => !matches!(self, Crash::Normal | Crash::ShutdownWith),
            Restart::Temporary => false,
        }
    }
}

#[derive(Debug)]
enum Op {
    Crash(String, Crash),
    Terminate(String),
    Restart(String),
    Delete(String),
    Start(String, Restart, Kind),
}

/// What the step should have done to a child.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// Kept its process (or stayed stopped).
    Same,
    /// Runs as a new process.
    New,
    /// Stopped.
    Down,
}

/// Why a child that is not running is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// `terminate_child`.
    Terminated,
    /// It exited normally (or with `{:shutdown, _}`) and is transient.
    Exited,
}

#[derive(Debug)]
struct ModelChild {
    id: String,
    restart: Restart,
    kind: Kind,
    pid: Option<AnyPid>,
    expect: Expect,
    /// Set while it is stopped.
    down: Option<Why>,
}

impl ModelChild {
    fn new(id: String, restart: Restart, kind: Kind) -> ModelChild {
        ModelChild {
            id,
            restart,
            kind,
            pid: None,
            expect: Expect::New,
            down: None,
        }
    }

    fn restarted(&mut self) {
        self.expect = Expect::New;
        self.down = None;
    }

    fn stopped(&mut self, why: Why) {
        self.expect = Expect::Down;
        self.down = Some(why);
    }
}

struct Model {
    strategy: Strategy,
    children: Vec<ModelChild>,
    next_id: usize,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let children: Vec<_> = self
            .children
            .iter()
            .map(|c| format!("{}:{:?}:{}", c.id, c.restart, c.pid.is_some()))
            .collect();
        write!(f, "{:?} {children:?}", self.strategy)
    }
}

impl Model {
    fn index(&self, id: &str) -> usize {
        self.children.iter().position(|c| c.id == id).unwrap()
    }

    fn fresh_id(&mut self) -> String {
        self.next_id += 1;
        format!("c{}", self.next_id)
    }

    /// A new child, of a random restart type and kind.
    fn new_child(&mut self, rng: &mut Rng) -> ModelChild {
        let restart = rng.pick(&[Restart::Permanent, Restart::Transient, Restart::Temporary]);
        let kind = rng.pick(&[Kind::Server, Kind::Plain]);
        ModelChild::new(self.fresh_id(), restart, kind)
    }

    /// A random step that makes sense now.
    fn choose(&mut self, rng: &mut Rng) -> Op {
        let running: Vec<usize> = (0..self.children.len())
            .filter(|&i| self.children[i].pid.is_some())
            .collect();
        let roll = rng.below(100);
        if self.children.len() < 3 || roll < 5 || (running.len() < 3 && roll < 25) {
            let c = self.new_child(rng);
            return Op::Start(c.id, c.restart, c.kind);
        }
        let any = self.children[rng.below(self.children.len())].id.clone();
        match roll {
            _ if running.is_empty() => Op::Restart(any),
            5..75 => {
                let victim = self.children[rng.pick(&running)].id.clone();
                let how = rng.pick(&[
                    Crash::Panic,
                    Crash::Custom,
                    Crash::ShutdownWith,
                    Crash::Normal,
                    Crash::Kill,
                ]);
                Op::Crash(victim, how)
            }
            75..85 => Op::Terminate(any),
            85..95 => Op::Restart(any),
            _ => Op::Delete(any),
        }
    }

    /// `terminate_child`: stopped, and forgotten if temporary.
    fn terminated(&mut self, i: usize) {
        if self.children[i].restart == Restart::Temporary {
            self.children.remove(i);
        } else if self.children[i].pid.is_some() {
            self.children[i].stopped(Why::Terminated);
        }
    }

    /// Updates the model for a crash of child `v`.
    fn crashed(&mut self, v: usize, how: Crash) {
        let restart = self.children[v].restart;
        if !how.restarts(restart) {
            if restart == Restart::Temporary {
                self.children.remove(v);
            } else {
                self.children[v].stopped(Why::Exited);
            }
            return;
        }
        let group: Vec<usize> = match self.strategy {
            Strategy::OneForOne => vec![v],
            Strategy::OneForAll => (0..self.children.len()).collect(),
            Strategy::RestForOne => (v..self.children.len()).collect(),
        };
        let mut forget = vec![];
        for j in group {
            let c = &mut self.children[j];
            if c.restart == Restart::Temporary {
                forget.push(j);
            } else {
                // Running or stopped, every non-temporary child of the group starts again
                // (OTP's `start_children`).
                c.restarted();
            }
        }
        for j in forget.into_iter().rev() {
            self.children.remove(j);
        }
    }
}

/// One run: a tree with `strategy`, `STEPS` random steps from `seed`.
fn run_seed(strategy: Strategy, seed: u64) {
    run(move |mut mb: Mailbox<Report>| {
        let baseline = live_processes();
        let mut rng = Rng::new(seed);
        let mut model = Model {
            strategy,
            children: vec![],
            next_id: 0,
        };
        let mut specs = vec![];
        for _ in 0..4 + rng.below(3) {
            let c = model.new_child(&mut rng);
            specs.push(spec(&c.id, c.restart, c.kind));
            model.children.push(c);
        }
        let options = Options::new(strategy).max_restarts(1_000_000);
        let sup = supervisor::start_link(specs, options).unwrap();
        check(&sup, &mut model, &format!("seed {seed} start"));

        for step in 0..STEPS {
            let op = model.choose(&mut rng);
            let ctx = format!("seed {seed} step {step} {op:?} on {model:?}");
            for c in &mut model.children {
                c.expect = Expect::Same;
            }
            match &op {
                Op::Crash(id, how) => {
                    let i = model.index(id);
                    let pid = model.children[i].pid.clone().unwrap();
                    let monitor = process::monitor(&pid);
                    how.inflict(&pid, model.children[i].kind);
                    let reason = await_down(&mut mb, monitor);
                    assert!(how.is_reason(&reason), "{ctx}: died with {reason}");
                    model.crashed(i, *how);
                }
                Op::Terminate(id) => {
                    assert_eq!(sup.terminate_child(id), Ok(()), "{ctx}");
                    model.terminated(model.index(id));
                }
                Op::Restart(id) => {
                    let i = model.index(id);
                    let result = sup.restart_child(id);
                    if model.children[i].pid.is_some() {
                        assert_eq!(result, Err(ChildError::Running), "{ctx}");
                    } else {
                        assert!(matches!(result, Ok(Some(_))), "{ctx}: {result:?}");
                        model.children[i].restarted();
                    }
                }
                Op::Delete(id) => {
                    let i = model.index(id);
                    let result = sup.delete_child(id);
                    if model.children[i].pid.is_some() {
                        assert_eq!(result, Err(ChildError::Running), "{ctx}");
                    } else {
                        assert_eq!(result, Ok(()), "{ctx}");
                        model.children.remove(i);
                    }
                }
                Op::Start(id, restart, kind) => {
                    let result = sup.start_child(spec(id, *restart, *kind));
                    assert!(matches!(result, Ok(Some(_))), "{ctx}: {result:?}");
                    model
                        .children
                        .push(ModelChild::new(id.clone(), *restart, *kind));
                }
            }
            check(&sup, &mut model, &ctx);
        }

        let last: Vec<AnyPid> = model
            .children
            .iter()
            .filter_map(|c| c.pid.clone())
            .collect();
        let sup_pid = sup.pid().unwrap();
        sup.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
        assert!(!process::alive(&sup_pid));
        assert!(
            last.iter().all(|p| !process::alive(p)),
            "seed {seed}: a child outlived the tree"
        );
        assert_eq!(live_processes(), baseline, "seed {seed}: leaked processes");
    });
}

/// Compares the supervisor with the model after a step, then takes its pids into the model.
#[track_caller]
fn check(sup: &Supervisor, model: &mut Model, ctx: &str) {
    let actual = children(sup);
    let ids: Vec<&str> = actual.iter().map(|(id, _)| id.as_str()).collect();
    let expected_ids: Vec<&str> = model.children.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, expected_ids, "{ctx}: the children, in start order");

    let sup_pid = sup.pid().unwrap();
    for (c, (_, pid)) in model.children.iter_mut().zip(actual) {
        match c.expect {
            Expect::Same => assert_eq!(pid, c.pid, "{ctx}: {} kept its pid", c.id),
            Expect::Down => assert_eq!(pid, None, "{ctx}: {} is stopped", c.id),
            Expect::New => {
                let new = pid
                    .clone()
                    .unwrap_or_else(|| panic!("{ctx}: {} runs", c.id));
                if let Some(old) = &c.pid {
                    assert_ne!(&new, old, "{ctx}: {} is a new process", c.id);
                    assert!(
                        !process::alive(old),
                        "{ctx}: {}'s old process is dead",
                        c.id
                    );
                }
            }
        }
        if let Some(pid) = &pid {
            let info = process::info(pid).unwrap_or_else(|| panic!("{ctx}: {} is alive", c.id));
            assert!(info.links.contains(&sup_pid), "{ctx}: {} is linked", c.id);
        }
        // The restart types' rules: a permanent child runs unless terminate_child stopped it,
        // a transient one also stays down after a normal exit; a temporary one that is listed
        // runs.
        let allowed: &[Why] = match c.restart {
            Restart::Permanent => &[Why::Terminated],
            Restart::Transient => &[Why::Terminated, Why::Exited],
            Restart::Temporary => &[],
        };
        if pid.is_none() {
            assert!(
                c.down.is_some_and(|why| allowed.contains(&why)),
                "{ctx}: {:?} {} is down ({:?})",
                c.restart,
                c.id,
                c.down
            );
        }
        c.pid = pid;
    }

    // The supervisor is linked to its running children and its parent, nothing else.
    let mut links = process::info(&sup_pid).unwrap().links;
    links.sort();
    let mut expected: Vec<AnyPid> = model
        .children
        .iter()
        .filter_map(|c| c.pid.clone())
        .collect();
    expected.push(otp::self_pid());
    expected.sort();
    assert_eq!(links, expected, "{ctx}: the supervisor's links");

    let running = model.children.iter().filter(|c| c.pid.is_some()).count();
    assert_eq!(
        sup.count_children().unwrap(),
        ChildCounts {
            specs: model.children.len(),
            active: running,
            supervisors: 0,
            workers: model.children.len(),
        },
        "{ctx}"
    );
}

#[test]
fn random_crashes_under_one_for_one() {
    for seed in 0..SEEDS {
        run_seed(Strategy::OneForOne, seed);
    }
}

#[test]
fn random_crashes_under_rest_for_one() {
    for seed in 0..SEEDS {
        run_seed(Strategy::RestForOne, seed);
    }
}

#[test]
fn random_crashes_under_one_for_all() {
    for seed in 0..SEEDS {
        run_seed(Strategy::OneForAll, seed);
    }
}
