//! The blocking pool: values, panics, the bound on concurrent closures, a killed waiter, the
//! process (not its scheduler) being suspended, shutdown, and calls from outside a process.

mod common;
use common::*;
use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
    Arc, Condvar, Mutex,
};

use otp::{
    blocking::{self, BlockingError},
    process::{self, ProcessFn},
    Builder, ExitReason, Mailbox,
};

/// A gate threads block on (a real thread wait: blocking is what the pool is for).
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    fn wait(&self) {
        let (lock, cv) = &*self.0;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = cv.wait_timeout(open, HANG_LIMIT).unwrap().0;
        }
    }
}

/// Opens its gate when dropped.
struct OpenOnDrop(Gate);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// The root's value on a fresh runtime with a pool of `threads`, under the watchdog.
fn with_pool<M, A, R, F>(threads: usize, schedulers: usize, f: F) -> R
where
    F: ProcessFn<M, A, R>,
    M: Send + 'static,
    R: Send + 'static,
{
    watchdog(move || {
        let rt = Builder::new()
            .schedulers(schedulers)
            .blocking_threads(threads)
            .build()
            .unwrap();
        rt.block_on(f)
            .unwrap_or_else(|r| panic!("root exited: {r}"))
    })
}

#[test]
fn run_returns_the_closure_value() {
    run(|| {
        assert_eq!(blocking::run(|| 6 * 7).unwrap(), 42);
        let owned = blocking::run(|| vec![1u8; 1000]).unwrap();
        assert_eq!(owned.len(), 1000);
        let path = std::env::temp_dir().join(format!("otp-io-blocking-{}", std::process::id()));
        let p = path.clone();
        blocking::run(move || std::fs::write(&p, b"file io"))
            .unwrap()
            .unwrap();
        let p = path.clone();
        let back = blocking::run(move || std::fs::read(p)).unwrap().unwrap();
        assert_eq!(back, b"file io");
        let _ = std::fs::remove_file(path);
    });
}

#[test]
fn threads_start_lazily() {
    with_pool(4, 2, || {
        assert_eq!(blocking::stats().threads, 0);
        blocking::run(|| ()).unwrap();
        let s = blocking::stats();
        assert!(s.threads >= 1 && s.threads <= 4, "{s:?}");
        assert_eq!(s.max_threads, 4);
    });
}

#[test]
fn a_panic_in_the_closure_is_an_error_value_and_the_pool_carries_on() {
    with_pool(1, 2, |mut mb: Mailbox<()>| {
        match blocking::run(|| -> u8 { panic!("boom in the pool") }) {
            Err(BlockingError::Panicked(p)) => {
                assert_eq!(p.message(), "boom in the pool");
                let at = p.location().unwrap_or_default();
                assert!(at.contains("io_blocking.rs"), "{at}");
            }
            other => panic!("expected a panic error, got {other:?}"),
        }
        // The one pool thread is still there and works.
        assert_eq!(blocking::run(|| 1).unwrap(), 1);
        assert_eq!(blocking::stats().threads, 1);
        // Unwrapping re-raises it in the process, which then crashes the usual way.
        let (_pid, monitor) = otp::spawn_monitor(|| {
            blocking::run(|| -> u8 { panic!("again") }).unwrap();
        });
        match down_of(&mut mb, monitor) {
            ExitReason::Panic(p) => assert!(p.message().contains("again"), "{p}"),
            other => panic!("expected a panic exit, got {other}"),
        }
    });
}

/// Pool of N, N+1 closures that each block until released. The test waits for one snapshot,
/// taken under the pool's lock: N busy threads, one closure queued, N threads alive; then N
/// closures have started and the last has not. A pool that gave the extra closure a thread
/// never shows that snapshot (the test hangs and the watchdog fails it), and its closures'
/// high-water mark of concurrently running closures would pass N.
#[test]
fn at_most_n_closures_run_at_once() {
    const N: usize = 2;
    with_pool(N, 2, |mut mb: Mailbox<usize>| {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(Mutex::new(Vec::<usize>::new()));
        let gates: Arc<Vec<Gate>> = Arc::new((0..=N).map(|_| Gate::default()).collect());
        for k in 0..=N {
            let (running, most, started, gates) = (
                running.clone(),
                most.clone(),
                started.clone(),
                gates.clone(),
            );
            let me = mb.pid();
            otp::spawn(move || {
                let v = blocking::run(move || {
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    started.lock().unwrap().push(k);
                    gates[k].wait();
                    running.fetch_sub(1, SeqCst);
                    k
                })
                .unwrap();
                me.send(v);
            });
        }
        wait_until("N closures run and one waits", || {
            let s = blocking::stats();
            s.busy == N && s.queued == 1 && started.lock().unwrap().len() == N
        });
        assert_eq!(blocking::stats().threads, N);
        let first = started.lock().unwrap().clone();
        assert_eq!(most.load(SeqCst), N);
        // Release one: the queued closure gets its thread.
        gates[first[0]].open();
        assert_eq!(recv(&mut mb), first[0]);
        wait_until("the last closure starts", || {
            started.lock().unwrap().len() == N + 1
        });
        for g in gates.iter() {
            g.open();
        }
        let mut done: Vec<usize> = (0..N).map(|_| recv(&mut mb)).collect();
        done.push(first[0]);
        done.sort_unstable();
        assert_eq!(done, (0..=N).collect::<Vec<_>>());
        assert_eq!(most.load(SeqCst), N, "more than N closures ran at once");
        assert!(blocking::stats().threads <= N);
    });
}

#[test]
fn a_killed_waiter_leaves_the_pool_working_and_its_result_is_dropped() {
    with_pool(1, 2, |mut mb: Mailbox<()>| {
        let gate = Gate::default();
        let result_dropped = Gate::default();
        let (pid, monitor) = {
            let (gate, result_dropped) = (gate.clone(), result_dropped.clone());
            otp::spawn_monitor(move || {
                let _ = blocking::run(move || {
                    gate.wait();
                    OpenOnDrop(result_dropped)
                });
                unreachable!("killed while waiting");
            })
        };
        wait_until("the closure runs and its process waits", || {
            blocking::stats().busy == 1
                && process::info(&pid).is_some_and(|i| i.status == process::Status::Waiting)
        });
        process::exit(&pid, ExitReason::Kill);
        assert_eq!(down_of(&mut mb, monitor), ExitReason::Killed);
        gate.open();
        // Nobody takes the value: it is dropped when it arrives.
        result_dropped.wait();
        assert_eq!(blocking::run(|| 9).unwrap(), 9);
    });
}

/// One scheduler: if a process waiting on the pool blocked its thread, the root (on the same
/// thread) could never open the gate.
#[test]
fn the_process_waits_not_its_scheduler() {
    with_pool(1, 1, |mut mb: Mailbox<u8>| {
        let gate = Gate::default();
        let me = mb.pid();
        let g = gate.clone();
        otp::spawn(move || {
            let v = blocking::run(move || {
                g.wait();
                1u8
            })
            .unwrap();
            me.send(v);
        });
        wait_until("the closure runs", || blocking::stats().busy == 1);
        gate.open();
        assert_eq!(recv(&mut mb), 1);
    });
}

#[test]
fn shutdown_drops_queued_closures_and_joins_the_pool() {
    let gate = Gate::default();
    let queued_dropped = Gate::default();
    let ran = Arc::new(AtomicBool::new(false));
    let rt = Builder::new()
        .schedulers(2)
        .blocking_threads(1)
        .shutdown_timeout(HANG_LIMIT)
        .build()
        .unwrap();
    {
        let (gate, queued_dropped, ran) = (gate.clone(), queued_dropped.clone(), ran.clone());
        rt.block_on(move || {
            otp::spawn(move || {
                let _ = blocking::run(move || gate.wait());
            });
            wait_until("the first closure runs", || blocking::stats().busy == 1);
            let flag = OpenOnDrop(queued_dropped);
            otp::spawn(move || {
                let _ = blocking::run(move || {
                    let _flag = flag;
                    ran.store(true, SeqCst);
                });
            });
            wait_until("the second waits in the queue", || {
                blocking::stats().queued == 1
            });
        })
        .unwrap();
    }
    // Let the running closure finish only once shutdown has dropped the queued one.
    let opener = std::thread::spawn(move || {
        queued_dropped.wait();
        gate.open();
    });
    watchdog(move || rt.shutdown());
    opener.join().unwrap();
    assert!(!ran.load(SeqCst), "a queued closure ran during shutdown");
}

#[test]
fn run_outside_a_process_panics_with_a_message() {
    let payload = std::panic::catch_unwind(|| blocking::run(|| 1)).unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("inside an otp process"), "{message}");
}
