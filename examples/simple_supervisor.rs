//! A supervisor by hand, then the real one (tutorial block 23, `SimpleSupervisor` and
//! `FlakyWorker`): a process that traps exits starts a worker linked to it and starts a new one
//! whenever it exits, giving up after too many crashes within a window.
//!
//! ```elixir
//! receive do
//!   {:EXIT, ^worker, :normal} -> IO.puts("[Supervisor] Worker exited normally") ...
//!   {:EXIT, ^worker, reason} ->
//!     if length(recent_restarts) >= max_restarts do
//!       IO.puts("[Supervisor] Too many restarts - giving up"); :shutdown
//!     else ...
//! end
//! ```
//!
//! The receive is an [`otp::receive!`], and the `^worker` pin becomes a guard
//! (`EXIT(from, reason) if *from == worker`), so it takes only the current worker's `EXIT` (or
//! `:stop`). What the real BEAM shows, beyond the tutorial's sample output:
//!
//! * A worker that **exits normally is restarted too** (`Worker exited normally`, then
//!   `Starting worker...`): the loop restarts on every exit.
//! * Every crash is also logged, on stderr: `[error] Process #PID<...> raised an exception`,
//!   then the exception (ours: the panic's message and location), on both runtimes.
//! * When it gives up (the BEAM's variant `23b`, an always-failing worker and
//!   `max_restarts: 2`: three crashes), its function returns `:shutdown`, but a returning
//!   function exits `:normal`: nobody is told that the supervisor gave up.
//!
//! The worker crashes on a fixed schedule (the 2nd and 3rd runs, as `:rand.uniform(3) == 1`
//! drew in the recorded BEAM run), works in steps of 20 ms instead of 500, the restart delay is
//! 10 ms instead of 100, and instead of sleeping 10 s the root stops the supervisor when the
//! sixth worker reports its fifth step, where the recorded run stopped.
//!
//! The last part is what the tutorial's moduledoc recommends ("In production, use OTP
//! Supervisor behaviours"): [`otp::supervisor`], where a `transient` child is restarted only
//! after a crash, and a supervisor that gives up exits `:shutdown`, which its parent hears.
//!
//! Run with `cargo run --release --example simple_supervisor`.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use otp::gen_server::StartError;
use otp::supervisor::{self, ChildSpec, Options, Restart, Strategy};
use otp::{process, AnyPid, ExitReason, Mailbox, Pid};

/// The hand-rolled supervisor's own message: `:stop`.
struct Stop;

/// `SimpleSupervisor.start/2`: spawns the supervisor process.
fn start_simple_supervisor(
    worker_fn: Arc<dyn Fn() + Send + Sync>,
    max_restarts: usize,
    restart_window: Duration,
) -> Pid<Stop> {
    otp::spawn(move |mb: Mailbox<Stop>| {
        process::trap_exit(true);
        supervisor_loop(mb, &worker_fn, max_restarts, restart_window);
    })
}

// ANCHOR: loop
/// `SimpleSupervisor.supervisor_loop/5`, as a loop.
fn supervisor_loop(
    mut mb: Mailbox<Stop>,
    worker_fn: &Arc<dyn Fn() + Send + Sync>,
    max_restarts: usize,
    restart_window: Duration,
) {
    let mut restart_times: Vec<Instant> = Vec::new();
    loop {
        // Start a worker (the tutorial checks `worker == nil or not Process.alive?(worker)`;
        // every path that loops here has lost its worker).
        println!("[Supervisor] Starting worker...");
        let f = worker_fn.clone();
        let worker = otp::spawn_link(move || f());

        otp::receive! { mb,
            EXIT(from, ExitReason::Normal) if *from == worker => {
                println!("[Supervisor] Worker exited normally");
            }
            EXIT(from, reason) if *from == worker => {
                println!("[Supervisor] Worker crashed: {reason}");
                let now = Instant::now();
                restart_times.retain(|t| now - *t < restart_window);
                if restart_times.len() >= max_restarts {
                    println!("[Supervisor] Too many restarts - giving up");
                    return; // the tutorial returns :shutdown; the process exits :normal
                }
                println!("[Supervisor] Restarting worker...");
                otp::sleep(Duration::from_millis(10)); // brief delay before restart
                restart_times.push(now);
            }
            Stop => {
                println!("[Supervisor] Stopping...");
                process::exit(&worker, ExitReason::Shutdown);
                return;
            }
        }
    }
}
// ANCHOR_END: loop

/// What a flaky worker reports to the root: its run number and the step it is at.
#[derive(Debug, PartialEq)]
enum Progress {
    Step(usize, usize),
    Done(usize, AnyPid),
}

/// `FlakyWorker`: crashes on the runs listed in `crash_on`, works `steps` steps otherwise.
struct Flaky {
    runs: AtomicUsize,
    crash_on: &'static [usize],
    steps: usize,
    observer: Pid<Progress>,
}

impl Flaky {
    fn run(&self) {
        let run = self.runs.fetch_add(1, Ordering::Relaxed) + 1;
        let me = otp::self_pid();
        println!("[Worker {me:?}] Starting...");
        if self.crash_on.contains(&run) {
            println!("[Worker {me:?}] Crashing!");
            panic!("Random failure");
        }
        for i in 1..=self.steps {
            println!("[Worker {me:?}] Working... {i}");
            self.observer.send(Progress::Step(run, i));
            otp::sleep(Duration::from_millis(20));
        }
        println!("[Worker {me:?}] Done!");
        self.observer.send(Progress::Done(run, me));
    }
}

#[otp::main]
fn main(mut mb: Mailbox<Progress>) {
    // The tutorial's demo: a flaky worker, max_restarts 5.
    let flaky = Arc::new(Flaky {
        runs: AtomicUsize::new(0),
        crash_on: &[2, 3],
        steps: 5,
        observer: mb.pid(),
    });
    let worker_fn = flaky.clone();
    let sup = start_simple_supervisor(Arc::new(move || worker_fn.run()), 5, Duration::from_secs(5));
    let watch = process::monitor(&sup);
    otp::receive! { mb, Progress::Step(6, 5) => {} }
    sup.send(Stop);
    wait_down(&mut mb, watch);
    // The rest of the workers' progress reports are of no interest any more.
    while mb.try_receive().is_some() {}

    // The BEAM's 23b: a worker that always fails, max_restarts 2.
    println!();
    println!("--- A worker that always fails, max_restarts 2 ---");
    let sup = start_simple_supervisor(
        Arc::new(|| otp::exit(ExitReason::custom("always_fails"))),
        2,
        Duration::from_secs(5),
    );
    let watch = process::monitor(&sup);
    let reason = wait_down(&mut mb, watch);
    println!("SimpleSupervisor process exited with reason {reason} (nobody is told it gave up)");

    real_supervisor(&mut mb);
}

// ANCHOR: real
/// The same two stories with `otp::supervisor`.
fn real_supervisor(mb: &mut Mailbox<Progress>) {
    println!();
    println!(
        "--- otp::supervisor, a transient child: crashes are restarted, a normal exit is not ---"
    );
    let flaky = Arc::new(Flaky {
        runs: AtomicUsize::new(0),
        crash_on: &[1, 2],
        steps: 2,
        observer: mb.pid(),
    });
    let spec = ChildSpec::new("flaky", move || {
        let flaky = flaky.clone();
        Ok::<_, StartError>(otp::spawn_link(move || flaky.run()))
    })
    .restart(Restart::Transient);
    let sup = supervisor::start_link(vec![spec], Options::new(Strategy::OneForOne))
        .expect("the supervisor starts");
    // When the third run is done and gone, the supervisor has heard of its exit too.
    let last = otp::receive! { mb, Progress::Done(3, last) => last };
    let watch = process::monitor(&last);
    wait_down(mb, watch);
    let counts = sup.count_children().expect("the supervisor answers");
    println!(
        "children: {} spec, {} running (not restarted after its normal exit)",
        counts.specs, counts.active
    );
    sup.stop(ExitReason::Normal, Duration::from_secs(5))
        .expect("the supervisor stops");

    println!();
    println!("--- otp::supervisor, a child that always fails, max_restarts 2 ---");
    process::trap_exit(true);
    let always_fails = ChildSpec::new("always_fails", || {
        Ok::<_, StartError>(otp::spawn_link(|| {
            println!("[Worker {:?}] Crashing!", otp::self_pid());
            otp::exit(ExitReason::custom("always_fails"));
        }))
    });
    let sup = supervisor::start_link(
        vec![always_fails],
        Options::new(Strategy::OneForOne).max_restarts(2),
    )
    .expect("the supervisor starts");
    let sup_pid = sup.pid().expect("it is running");
    otp::receive! { mb,
        EXIT(from, reason) if *from == sup_pid => {
            println!("The supervisor gave up and exited with {reason}; its parent got the EXIT");
        }
    }
}
// ANCHOR_END: real

/// Waits for the `DOWN` of `watch` and returns its reason.
fn wait_down(mb: &mut Mailbox<Progress>, watch: otp::Ref) -> ExitReason {
    otp::receive! { mb, DOWN(r, _, reason) if r == watch => reason }
}
