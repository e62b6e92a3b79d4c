//! Scheduling (spec 3.12): reductions keep a CPU-bound process from starving others on one
//! scheduler, `yield_now` interleaves, panics stay inside their process, and the watchdog lets
//! the other scheduler take work from one held by a process that never calls the runtime.
use std::{
    panic::resume_unwind,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::SeqCst},
        mpsc::{self, RecvTimeoutError},
        Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use otp::{process::ProcessFn, Builder, ExitReason, Mailbox, Pid};

/// How long any one test may take before it counts as hung.
const HANG_LIMIT: Duration = Duration::from_secs(60);
/// How long a test waits for something that should happen promptly.
const PROMPTLY: Duration = Duration::from_secs(10);

/// Runs `f` on its own thread; fails the test if it has not finished within [`HANG_LIMIT`].
/// `on_hang` runs first in that case (to release spinning processes).
fn watchdog_with<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
    on_hang: impl FnOnce(),
) -> R {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(HANG_LIMIT) {
        Ok(r) => {
            let _ = handle.join();
            r
        }
        Err(RecvTimeoutError::Timeout) => {
            on_hang();
            panic!("test hung: no result within {HANG_LIMIT:?}")
        }
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => resume_unwind(payload),
            Ok(()) => unreachable!("the thread ended without sending"),
        },
    }
}

/// Runs `f` as the root process of a runtime built by `builder` (under the watchdog, which sets
/// `release` if the test hangs); fails the test if the root does not return normally.
fn run_with<M, A, R, F>(builder: Builder, release: &Arc<AtomicBool>, f: F) -> R
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: Send + 'static,
{
    let release = release.clone();
    watchdog_with(
        move || {
            let rt = builder.build().expect("runtime starts");
            match rt.block_on(f) {
                Ok(v) => v,
                Err(reason) => panic!("root process exited: {reason}"),
            }
        },
        move || release.store(true, SeqCst),
    )
}

/// The root's result on a fresh two-scheduler runtime, under the watchdog.
fn block_on<M, A, R, F>(f: F) -> Result<R, ExitReason>
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: Send + 'static,
{
    watchdog_with(
        move || Builder::new().schedulers(2).build().unwrap().block_on(f),
        || {},
    )
}

/// Receives within [`PROMPTLY`] or fails. Polls again after a receive that gives up early (see
/// `consecutive_receive_timeouts_each_wait_their_duration` in `process_mailbox.rs`).
#[track_caller]
fn recv<M: Send + 'static>(mb: &mut Mailbox<M>) -> M {
    let deadline = Instant::now() + PROMPTLY;
    loop {
        if let Some(m) = mb.receive_timeout(deadline.saturating_duration_since(Instant::now())) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "expected a message within {PROMPTLY:?}"
        );
        otp::sleep(Duration::from_millis(1));
    }
}

/// Polls `cond` (inside a process) until it holds; fails after [`PROMPTLY`].
#[track_caller]
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PROMPTLY;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        otp::sleep(Duration::from_millis(1));
    }
}

/// A process that loops, spending one reduction per round, until `stop` is set; then reports.
fn spinner(stop: Arc<AtomicBool>, done: Pid<&'static str>) -> impl FnOnce() + Send + 'static {
    move || {
        while !stop.load(SeqCst) {
            otp::consume_reductions(1);
        }
        done.send("spinner done");
    }
}

#[test]
fn a_reduction_counting_loop_does_not_starve_started_processes() {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    run_with(
        Builder::new().schedulers(1),
        &stop,
        move |mut mb: Mailbox<&'static str>| {
            let me = mb.pid();
            // The setter starts and parks.
            let setter = otp::spawn({
                let me = me.clone();
                let s = s.clone();
                move |mut smb: Mailbox<()>| {
                    me.send("setter ready");
                    smb.receive();
                    s.store(true, SeqCst);
                    me.send("setter done");
                }
            });
            assert_eq!(recv(&mut mb), "setter ready");
            // The spinner then holds the only scheduler, spending reductions.
            let spinning = me.clone();
            let spin = spinner(s, me);
            otp::spawn(move || {
                spinning.send("spinning");
                spin();
            });
            // Without preemption the root would never run again to see this...
            assert_eq!(recv(&mut mb), "spinning");
            // ...nor the setter to stop the spinner.
            setter.send(());
            let mut got = [recv(&mut mb), recv(&mut mb)];
            got.sort_unstable();
            assert_eq!(got, ["setter done", "spinner done"]);
        },
    );
}

#[test]
fn a_reduction_counting_loop_does_not_starve_others_on_one_scheduler() {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    run_with(
        Builder::new().schedulers(1),
        &stop,
        move |mut mb: Mailbox<&'static str>| {
            let me = mb.pid();
            // The spinner loops until the setter, spawned after it, sets the flag. Without
            // preemption at `consume_reductions` the setter would never run.
            otp::spawn(spinner(s.clone(), me.clone()));
            otp::spawn(move || {
                s.store(true, SeqCst);
                me.send("setter done");
            });
            let mut got = [recv(&mut mb), recv(&mut mb)];
            got.sort_unstable();
            assert_eq!(got, ["setter done", "spinner done"]);
        },
    );
}

/// A process that counts its rounds in `rounds`, spending one reduction per round, until `stop`
/// is set; then reports.
fn counting_spinner(
    stop: Arc<AtomicBool>,
    rounds: Arc<AtomicU64>,
    done: Pid<&'static str>,
) -> impl FnOnce() + Send + 'static {
    move || {
        while !stop.load(SeqCst) {
            rounds.fetch_add(1, SeqCst);
            otp::consume_reductions(1);
        }
        done.send("spinner done");
    }
}

#[test]
fn sleep_returns_on_time_next_to_spinners_on_one_scheduler() {
    // E17: four busy processes on one scheduler; the root's sleep still ends.
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    run_with(
        Builder::new().schedulers(1),
        &stop,
        move |mut mb: Mailbox<&'static str>| {
            let me = mb.pid();
            for _ in 0..4 {
                otp::spawn(spinner(s.clone(), me.clone()));
            }
            let d = Duration::from_millis(100);
            let t = Instant::now();
            otp::sleep(d);
            let slept = t.elapsed();
            s.store(true, SeqCst);
            assert!(slept >= d, "slept only {slept:?}");
            assert!(slept < Duration::from_secs(5), "slept {slept:?}");
            // CPU-bound work of the root's own completes too.
            let sum: u64 = (0..100_000u64)
                .inspect(|_| otp::consume_reductions(1))
                .sum();
            assert_eq!(sum, 4_999_950_000);
            for _ in 0..4 {
                assert_eq!(recv(&mut mb), "spinner done");
            }
        },
    );
}

#[test]
fn every_spinner_gets_time_on_one_scheduler() {
    // E17: each of the four spinners ran (about 104M reductions each) during the 100 ms sleep.
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    run_with(
        Builder::new().schedulers(1),
        &stop,
        move |mut mb: Mailbox<&'static str>| {
            let me = mb.pid();
            let counters: Vec<Arc<AtomicU64>> = (0..4).map(|_| Arc::default()).collect();
            for rounds in &counters {
                otp::spawn(counting_spinner(s.clone(), rounds.clone(), me.clone()));
            }
            otp::sleep(Duration::from_millis(100));
            let rounds: Vec<u64> = counters.iter().map(|c| c.load(SeqCst)).collect();
            s.store(true, SeqCst);
            for _ in 0..4 {
                assert_eq!(recv(&mut mb), "spinner done");
            }
            assert!(
                rounds.iter().all(|r| *r > 0),
                "spinners that never ran during 100 ms: rounds = {rounds:?}"
            );
        },
    );
}

#[test]
fn yield_now_alternates_two_processes_on_one_scheduler() {
    let never = Arc::new(AtomicBool::new(false));
    let log = run_with(
        Builder::new().schedulers(1),
        &never,
        |mut mb: Mailbox<char>| {
            let log = Arc::new(Mutex::new(Vec::new()));
            let me = mb.pid();
            let workers: Vec<Pid<()>> = ['a', 'b']
                .into_iter()
                .map(|name| {
                    let log = log.clone();
                    let me = me.clone();
                    otp::spawn(move |mut wmb: Mailbox<()>| {
                        // Both start and park first, so both are ready when `go` comes.
                        me.send(name);
                        wmb.receive();
                        for _ in 0..10 {
                            log.lock().unwrap().push(name);
                            otp::yield_now();
                        }
                        me.send(name);
                    })
                })
                .collect();
            for _ in 0..2 {
                recv(&mut mb);
            }
            for w in &workers {
                w.send(());
            }
            for _ in 0..2 {
                recv(&mut mb);
            }
            let log = log.lock().unwrap().clone();
            log
        },
    );
    assert_eq!(log.len(), 20);
    assert!(
        log.windows(2).all(|w| w[0] != w[1]),
        "yield_now did not alternate: {log:?}"
    );
}

/// Two processes that keep waking each other on one scheduler would always hold the
/// scheduler's `woken` slot (the process woken last runs next); a process that yields, and one
/// woken while the pair runs, must still get their turns.
#[test]
fn a_ping_pong_pair_does_not_starve_a_yielder_or_a_woken_process_on_one_scheduler() {
    enum Ball {
        Partner(Pid<Ball>),
        Hit,
    }
    let stop = Arc::new(AtomicBool::new(false));
    let rallies = Arc::new(AtomicU64::new(0));
    let (stop2, rallies2) = (stop.clone(), rallies.clone());
    let answered = run_with(
        Builder::new().schedulers(1),
        &stop,
        move |mut mb: Mailbox<u32>| {
            let player = |stop: Arc<AtomicBool>, rallies: Arc<AtomicU64>| {
                move |mut pmb: Mailbox<Ball>| {
                    let Ball::Partner(partner) = pmb.receive() else {
                        panic!("the partner comes first")
                    };
                    while !stop.load(SeqCst) {
                        if let Ball::Hit = pmb.receive() {
                            rallies.fetch_add(1, SeqCst);
                            partner.send(Ball::Hit);
                        }
                    }
                }
            };
            let a = otp::spawn(player(stop2.clone(), rallies2.clone()));
            let b = otp::spawn(player(stop2.clone(), rallies2.clone()));
            a.send(Ball::Partner(b.clone()));
            b.send(Ball::Partner(a.clone()));
            a.send(Ball::Hit);
            // The pair is under way before the root goes on.
            while rallies2.load(SeqCst) < 100 {
                otp::yield_now();
            }
            // The root yields (it goes behind in the run queue) many times over...
            let me = mb.pid();
            let echo = otp::spawn(move |mut emb: Mailbox<u32>| loop {
                let n = emb.receive();
                me.send(n);
            });
            let mut answered = 0;
            for n in 0..200 {
                for _ in 0..5 {
                    otp::yield_now();
                }
                // ...and a third process, woken while the pair runs, answers each time.
                echo.send(n);
                assert_eq!(recv(&mut mb), n);
                answered += 1;
            }
            stop2.store(true, SeqCst);
            otp::process::exit(&a, ExitReason::Kill);
            otp::process::exit(&b, ExitReason::Kill);
            otp::process::exit(&echo, ExitReason::Kill);
            answered
        },
    );
    assert_eq!(answered, 200);
    assert!(rallies.load(SeqCst) >= 100);
}

#[test]
fn yield_now_lets_freshly_spawned_processes_run() {
    let stop = Arc::new(AtomicBool::new(false));
    let log = run_with(
        Builder::new().schedulers(1),
        &stop,
        |mut mb: Mailbox<char>| {
            let log = Arc::new(Mutex::new(Vec::new()));
            let me = mb.pid();
            for name in ['a', 'b'] {
                let log = log.clone();
                let me = me.clone();
                otp::spawn(move || {
                    for _ in 0..10 {
                        log.lock().unwrap().push(name);
                        otp::yield_now();
                    }
                    me.send(name);
                });
            }
            for _ in 0..2 {
                recv(&mut mb);
            }
            let log = log.lock().unwrap().clone();
            log
        },
    );
    assert_eq!(log.len(), 20);
    // `b` was runnable on this scheduler the whole time: a's yields must let it in.
    let first_b = log.iter().position(|c| *c == 'b').unwrap();
    assert!(
        first_b <= 1,
        "b first ran after {first_b} turns of a: {log:?}"
    );
    assert!(
        log.windows(2).all(|w| w[0] != w[1]),
        "yield_now did not alternate: {log:?}"
    );
}

#[test]
fn a_panic_is_contained_in_its_process() {
    let v = block_on(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        let echo = otp::spawn(move |mut emb: Mailbox<u32>| loop {
            let n = emb.receive();
            me.send(n + 1);
        });
        let crasher = otp::spawn(|mut cmb: Mailbox<()>| {
            cmb.receive();
            panic!("Worker crashed!");
        });
        echo.send(1);
        assert_eq!(recv(&mut mb), 2);
        crasher.send(());
        wait_until("the crasher is dead", || !otp::process::alive(&crasher));
        // Everyone else carries on.
        echo.send(10);
        assert_eq!(recv(&mut mb), 11);
        assert!(otp::process::alive(&echo));
        assert!(otp::process::alive(otp::self_pid()));
        // New processes still start and run.
        let me = mb.pid();
        otp::spawn(move || me.send(99));
        assert_eq!(recv(&mut mb), 99);
        7
    });
    assert_eq!(v, Ok(7));
}

#[test]
fn many_panics_on_both_schedulers_are_contained() {
    let v = block_on(|mut mb: Mailbox<()>| {
        let crashers: Vec<Pid<()>> = (0..200)
            .map(|i| {
                otp::spawn(move || {
                    if i % 2 == 0 {
                        otp::yield_now();
                    }
                    panic!("crash {i}");
                })
            })
            .collect();
        wait_until("every crasher is dead", || {
            crashers.iter().all(|c| !otp::process::alive(c))
        });
        let me = mb.pid();
        otp::spawn(move || me.send(()));
        recv(&mut mb);
        "survived"
    });
    assert_eq!(v, Ok("survived"));
}

#[test]
fn a_panic_reason_carries_its_message_and_location() {
    let line = Arc::new(AtomicU64::new(0));
    let l = line.clone();
    let r = block_on(move || -> u32 {
        l.store(u64::from(line!()) + 1, SeqCst);
        panic!("Worker crashed! code {}", 42);
    });
    let Err(ExitReason::Panic(p)) = &r else {
        panic!("expected a panic reason, got {r:?}")
    };
    assert_eq!(p.message(), "Worker crashed! code 42");
    let location = p.location().expect("a panic location");
    let expected = format!("process_preemption.rs:{}:", line.load(SeqCst));
    assert!(
        location.contains(&expected),
        "location {location:?} does not contain {expected:?}"
    );
    let shown = ExitReason::Panic(p.clone()).to_string();
    assert!(
        shown.contains("Worker crashed! code 42"),
        "reason prints as {shown}"
    );
    assert!(ExitReason::Panic(p.clone()).is_crash());
}

#[test]
fn a_runtime_runs_another_root_after_a_root_panicked() {
    let results = watchdog_with(
        || {
            let rt = Builder::new().schedulers(2).build().unwrap();
            let first = rt.block_on(|| -> u8 { panic!("first root") });
            let second = rt.block_on(|mut mb: Mailbox<u8>| {
                let me = mb.pid();
                otp::spawn(move || me.send(2));
                mb.receive()
            });
            (first.is_err(), second)
        },
        || {},
    );
    assert_eq!(results, (true, Ok(2)));
}

#[test]
fn the_watchdog_lets_the_other_scheduler_run_new_processes() {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    run_with(
        Builder::new()
            .schedulers(2)
            .long_schedule_threshold(Duration::from_millis(50)),
        &stop,
        move |mut mb: Mailbox<&'static str>| {
            let me = mb.pid();
            // Spins without a single runtime call: its scheduler is held until `stop` is set.
            let spin_stop = s.clone();
            let spin_done = me.clone();
            otp::spawn(move || {
                while !spin_stop.load(SeqCst) {
                    std::hint::spin_loop();
                }
                spin_done.send("spinner done");
            });
            // Spawned afterwards: must get to run somewhere and release the spinner.
            otp::spawn(move || {
                s.store(true, SeqCst);
                me.send("setter done");
            });
            let mut got = [recv(&mut mb), recv(&mut mb)];
            got.sort_unstable();
            assert_eq!(got, ["setter done", "spinner done"]);
        },
    );
}

#[test]
fn a_process_spawned_by_a_spinner_runs_on_the_other_scheduler() {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    run_with(
        Builder::new()
            .schedulers(2)
            .long_schedule_threshold(Duration::from_millis(50)),
        &stop,
        move |mut mb: Mailbox<&'static str>| {
            let me = mb.pid();
            otp::spawn(move || {
                // Let the other scheduler go idle and park (not needed for correctness: the
                // test must pass whatever the other scheduler is doing).
                otp::sleep(Duration::from_millis(200));
                let setter_stop = s.clone();
                let setter_done = me.clone();
                // Queued on this scheduler, which is about to be held without a safe point.
                otp::spawn(move || {
                    setter_stop.store(true, SeqCst);
                    setter_done.send("setter done");
                });
                while !s.load(SeqCst) {
                    std::hint::spin_loop();
                }
                me.send("spinner done");
            });
            let mut got = [recv(&mut mb), recv(&mut mb)];
            got.sort_unstable();
            assert_eq!(got, ["setter done", "spinner done"]);
        },
    );
}

/// Sets its flag when cast to.
struct Releaser(Arc<AtomicBool>);

impl otp::gen_server::GenServer for Releaser {
    type Call = ();
    type Reply = ();
    type Cast = ();
    type Info = ();
    type Continue = ();
    fn handle_cast(&mut self, (): ()) -> otp::gen_server::CastResult {
        self.0.store(true, SeqCst);
        otp::gen_server::CastResult::noreply()
    }
}

/// A server woken by a process that then holds its scheduler goes first in line there (the
/// slot a call's server runs from); the watchdog must let the other scheduler take it anyway.
#[test]
fn a_server_woken_by_a_spinner_runs_on_the_other_scheduler() {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    run_with(
        Builder::new()
            .schedulers(2)
            .long_schedule_threshold(Duration::from_millis(50)),
        &stop,
        move |mut mb: Mailbox<&'static str>| {
            let me = mb.pid();
            let server = otp::gen_server::start_link(Releaser(s.clone())).unwrap();
            otp::spawn(move || {
                // Let the other scheduler go idle and park (not needed for correctness).
                otp::sleep(Duration::from_millis(200));
                // The idle server wakes onto this scheduler, which is about to be held
                // without a safe point until the server has run.
                server.cast(()).unwrap();
                while !s.load(SeqCst) {
                    std::hint::spin_loop();
                }
                me.send("spinner done");
            });
            assert_eq!(recv(&mut mb), "spinner done");
        },
    );
}
