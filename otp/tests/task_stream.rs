//! task::async_stream: laziness, ordering, the concurrency bound, timeouts and crashes,
//! matched against Elixir's `Task.async_stream` (spec/elixir/edge E11, E11b).

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc, Mutex,
    },
    time::Duration,
};

use common::{run, run_on, Latch, PROMPTLY};
use otp::{
    process,
    task::{self, OnTimeout, Outcome, TaskExit},
    AnyPid, ExitReason, Mailbox, Message, MessageRef, Timeout,
};

const FOREVER: Duration = Duration::from_secs(3600);

/// Counts the tasks running the stream's function right now and the most ever seen at once.
#[derive(Clone, Default)]
struct Concurrency {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Concurrency {
    /// The body of one task: enter, stay until `reach` tasks have been seen at once (or at
    /// least for a moment), leave. Waiting for the high-water mark makes "the bound is
    /// reached" deterministic: a stream that never ran `reach` at once would hang (and fail
    /// under the watchdog), one that ran more is caught by the peak.
    fn work(&self, reach: usize) {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        while self.peak.load(SeqCst) < reach {
            otp::sleep(Duration::from_millis(1));
        }
        otp::sleep(Duration::from_millis(2));
        self.now.fetch_sub(1, SeqCst);
    }

    fn peak(&self) -> usize {
        self.peak.load(SeqCst)
    }
}

fn down_of<M: Send + 'static>(mb: &mut Mailbox<M>, reference: otp::Ref) -> ExitReason {
    match mb.select(
        PROMPTLY,
        |m| matches!(m, MessageRef::Down { reference: r, .. } if r == reference),
    ) {
        Some(Message::Down { reason, .. }) => reason,
        _ => panic!("no DOWN within {PROMPTLY:?}"),
    }
}

fn flush<M: Send + 'static>(mb: &mut Mailbox<M>) -> Vec<Message<M>> {
    std::iter::from_fn(|| mb.select(Duration::ZERO, |_| true)).collect()
}

/// Runs `f` in a fresh process and returns its exit reason.
fn exit_reason_of<F>(f: F) -> ExitReason
where
    F: FnOnce() + Send + 'static,
{
    run(move |mut mb: Mailbox<()>| {
        let (_, reference) = otp::spawn_monitor(f);
        down_of(&mut mb, reference)
    })
}

fn values<T>(outcomes: Vec<Outcome<T>>) -> Vec<T> {
    outcomes
        .into_iter()
        .map(|o| o.ok().expect("every element is Ok"))
        .collect()
}

// ===== laziness =====

#[test]
fn nothing_runs_until_the_stream_is_iterated() {
    run(|| {
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        let before = process::list().len();
        let mut stream = task::async_stream([1, 2], move |x: i32| {
            counter.fetch_add(1, SeqCst);
            x
        });
        // A spawn is synchronous: had any task been started, the table would show it.
        assert_eq!(process::list().len(), before);
        assert!(process::info(otp::self_pid()).unwrap().links.is_empty());
        assert_eq!(ran.load(SeqCst), 0);
        assert_eq!(stream.next(), Some(Outcome::Ok(1)));
        assert_eq!(stream.collect::<Vec<_>>(), [Outcome::Ok(2)]);
        assert_eq!(ran.load(SeqCst), 2);
    });
}

#[test]
fn an_empty_input_gives_an_empty_stream() {
    run(|| {
        let mut s = task::async_stream(Vec::<u8>::new(), |x: u8| x);
        assert_eq!(s.next(), None);
        assert_eq!(s.next(), None, "fused");
    });
}

#[test]
fn any_iterator_will_do() {
    run(|| {
        let squares = task::async_stream((1..=5u32).filter(|n| n % 2 == 1), |n: u32| n * n);
        assert_eq!(values(squares.collect()), [1, 9, 25]);
        let words = "a bb ccc".split(' ').map(str::to_owned);
        let lengths = task::async_stream(words, |w: String| w.len());
        assert_eq!(values(lengths.collect()), [1, 2, 3]);
    });
}

// ===== ordering =====

/// Item 0 finishes only after every other item has started (so, very likely, after they
/// finished): completion order is not input order. (The assertion holds whatever the timing.)
fn last_one_first() -> Vec<usize> {
    run(move || {
        let finished = Arc::new(AtomicUsize::new(0));
        let stream = task::async_stream(0..4usize, move |i: usize| {
            if i == 0 {
                while finished.load(SeqCst) < 3 {
                    otp::sleep(Duration::from_millis(1));
                }
            } else {
                finished.fetch_add(1, SeqCst);
            }
            i
        })
        .max_concurrency(4);
        values(stream.collect())
    })
}

#[test]
fn ordered_by_default_results_come_in_input_order() {
    assert_eq!(last_one_first(), [0, 1, 2, 3]);
}

#[test]
fn unordered_results_come_as_the_tasks_finish() {
    run(|| {
        let gate = Latch::default();
        let door = gate.clone();
        let mut stream = task::async_stream(0..4usize, move |i: usize| {
            if i == 0 {
                door.wait();
            }
            i
        })
        .max_concurrency(4)
        .ordered(false);
        // Item 0 cannot finish before we open its gate: the other three come first.
        let mut first: Vec<usize> = (0..3)
            .map(|_| stream.next().unwrap().ok().unwrap())
            .collect();
        first.sort_unstable();
        assert_eq!(first, [1, 2, 3]);
        gate.open();
        assert_eq!(stream.next(), Some(Outcome::Ok(0)));
        assert_eq!(stream.next(), None);
    });
}

#[test]
fn ordered_results_follow_the_input_whatever_the_durations() {
    run(|| {
        let durations = [60u64, 1, 30, 10];
        let stream = task::async_stream(durations, |ms: u64| {
            otp::sleep(Duration::from_millis(ms));
            ms
        })
        .max_concurrency(4);
        assert_eq!(values(stream.collect()), durations);
    });
}

// ===== the concurrency bound =====

#[test]
fn max_concurrency_is_never_exceeded_and_is_reached() {
    for max in [1, 3, 4] {
        let peak = run(move || {
            let c = Concurrency::default();
            let worker = c.clone();
            let results: Vec<_> = task::async_stream(0..12, move |i: i32| {
                worker.work(max);
                i
            })
            .max_concurrency(max)
            .collect();
            assert_eq!(values(results), (0..12).collect::<Vec<_>>());
            c.peak()
        });
        assert_eq!(peak, max, "max_concurrency {max}");
    }
}

#[test]
fn the_default_concurrency_is_the_number_of_schedulers() {
    for schedulers in [2, 3] {
        let (online, peak) = run_on(schedulers, move || {
            let online = task::schedulers_online();
            let c = Concurrency::default();
            let worker = c.clone();
            let n = task::async_stream(0..12, move |_: i32| worker.work(online)).count();
            assert_eq!(n, 12);
            (online, c.peak())
        });
        assert_eq!(online, schedulers);
        assert_eq!(peak, schedulers);
    }
}

#[test]
fn fewer_items_than_the_bound_all_run_at_once() {
    let peak = run(|| {
        let c = Concurrency::default();
        let worker = c.clone();
        let n = task::async_stream(0..3, move |_: i32| worker.work(3))
            .max_concurrency(10)
            .count();
        assert_eq!(n, 3);
        c.peak()
    });
    assert_eq!(peak, 3);
}

// ===== timeouts =====

#[test]
fn kill_task_turns_a_timeout_into_an_exit_element() {
    run(|| {
        let pids = Arc::new(Mutex::new(Vec::new()));
        let seen = pids.clone();
        let results: Vec<_> = task::async_stream([1u64, 0, 1], move |ms: u64| {
            seen.lock().unwrap().push((ms, otp::self_pid()));
            // 0 stands for "never finishes".
            otp::sleep(if ms == 0 {
                FOREVER
            } else {
                Duration::from_millis(ms)
            });
            ms
        })
        .timeout(Duration::from_secs(1))
        .on_timeout(OnTimeout::KillTask)
        .collect();
        assert_eq!(
            results,
            [
                Outcome::Ok(1),
                Outcome::Exit(ExitReason::custom("timeout")),
                Outcome::Ok(1)
            ]
        );
        let pids = pids.lock().unwrap();
        assert_eq!(pids.len(), 3);
        let (_, slow) = pids.iter().find(|(ms, _)| *ms == 0).unwrap();
        assert!(!process::alive(slow), "the slow task was killed");
    });
}

#[test]
fn a_timeout_exits_the_caller_by_default() {
    let reason = exit_reason_of(|| {
        let _: Vec<_> = task::async_stream([1u64, 0, 1], |ms: u64| {
            otp::sleep(if ms == 0 {
                FOREVER
            } else {
                Duration::from_millis(ms)
            });
        })
        .timeout(Duration::from_millis(200))
        .collect();
        unreachable!("the stream exits the caller");
    });
    let exit = TaskExit::of(&reason).expect("a TaskExit");
    assert!(exit.is_timeout());
    assert_eq!(exit.function(), "stream");
    assert_eq!(
        reason.to_string(),
        "{:timeout, {Task.Supervised, :stream, [200]}}"
    );
}

#[test]
fn the_default_timeout_is_five_seconds() {
    let reason = exit_reason_of(|| {
        let _ = task::async_stream([()], |()| otp::sleep(FOREVER)).count();
    });
    assert_eq!(
        reason.to_string(),
        "{:timeout, {Task.Supervised, :stream, [5000]}}"
    );
}

#[test]
fn an_infinite_timeout_waits() {
    run(|| {
        let results: Vec<_> = task::async_stream([20u64], |ms: u64| {
            otp::sleep(Duration::from_millis(ms));
            ms
        })
        .timeout(Timeout::Infinity)
        .collect();
        assert_eq!(values(results), [20]);
    });
}

// ===== crashes =====

#[test]
fn a_crash_kills_a_non_trapping_caller_with_the_tasks_reason() {
    let reason = exit_reason_of(|| {
        let results: Vec<_> = task::async_stream([1, 2, 3], |x: i32| {
            if x == 2 {
                panic!("item 2 failed");
            }
            x
        })
        .collect();
        unreachable!("never printed {results:?}");
    });
    match reason {
        ExitReason::Panic(p) => assert_eq!(p.message(), "item 2 failed"),
        other => panic!("{other}"),
    }
}

#[test]
fn a_trapping_caller_gets_exit_elements_and_a_clean_mailbox() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let results: Vec<_> = task::async_stream([1, 2, 3], |x: i32| {
            if x == 2 {
                otp::exit(ExitReason::custom("item2"));
            }
            x
        })
        .collect();
        assert_eq!(
            results,
            [
                Outcome::Ok(1),
                Outcome::Exit(ExitReason::custom("item2")),
                Outcome::Ok(3)
            ]
        );
        // No EXIT (not even the `normal` ones) and no DOWN left behind.
        assert!(flush(&mut mb).is_empty());
        let me = process::info(otp::self_pid()).unwrap();
        assert!(me.links.is_empty() && me.monitors.is_empty());
    });
}

#[test]
fn a_successful_stream_leaves_nothing_behind_in_a_trapping_caller() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let n = task::async_stream(0..20, |x: i32| x)
            .max_concurrency(5)
            .count();
        assert_eq!(n, 20);
        assert!(flush(&mut mb).is_empty());
        let me = process::info(otp::self_pid()).unwrap();
        assert!(me.links.is_empty() && me.monitors.is_empty());
    });
}

// ===== dropping early =====

#[test]
fn dropping_the_stream_early_kills_the_tasks_still_running() {
    run(|mut mb: Mailbox<()>| {
        let pids: Arc<Mutex<Vec<AnyPid>>> = Arc::default();
        let seen = pids.clone();
        let mut stream = task::async_stream(0..10, move |i: i32| {
            if i > 0 {
                seen.lock().unwrap().push(otp::self_pid());
                otp::sleep(FOREVER);
            }
            i
        })
        .max_concurrency(3);
        assert_eq!(stream.next(), Some(Outcome::Ok(0)));
        drop(stream);
        // The drop killed the others and waited for them: none is left, and nothing reached
        // the mailbox. (Those that had not got as far as recording their pid are dead too.)
        let pids = pids.lock().unwrap();
        assert!(pids.iter().all(|p| !process::alive(p)));
        assert!(flush(&mut mb).is_empty());
        let me = process::info(otp::self_pid()).unwrap();
        assert!(me.links.is_empty() && me.monitors.is_empty());
    });
}

#[test]
fn take_stops_starting_tasks() {
    run(|| {
        let started = Arc::new(AtomicUsize::new(0));
        let counter = started.clone();
        let firsts: Vec<_> = task::async_stream(0..1000, move |i: i32| {
            counter.fetch_add(1, SeqCst);
            i
        })
        .max_concurrency(2)
        .ordered(false)
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .map(|o| o.ok().unwrap())
        .collect();
        assert_eq!(firsts.len(), 3);
        // Each element taken lets at most one more task start, beyond the first
        // `max_concurrency`: the rest of the input is never touched.
        assert!(started.load(SeqCst) <= 3 + 2, "{}", started.load(SeqCst));
    });
}
