//! `#[otp::budget]` used for real: an instrumented loop shares a single scheduler with another
//! process (shown by the order of their messages, not by timing), and the checks are where the
//! attribute promises: one per loop iteration (`loop`, `while`, `while let`, `for`) and one per
//! call, none in closures or nested functions. Reductions are read from `process::info` after
//! a `yield_now`, which closes the slice and so brings the count up to date.

use std::{
    hint::black_box,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use otp::{process, Mailbox};

#[derive(Debug, PartialEq)]
enum Progress {
    Spinning,
    FlagSet,
    Done(u64),
}

/// Spins until `flag` is set: forever, on one scheduler, unless the loop yields.
#[otp::budget]
fn spin_until(flag: &AtomicBool) -> u64 {
    let mut spins = 0;
    while !flag.load(Ordering::Acquire) {
        spins += 1;
    }
    spins
}

#[otp::test(schedulers = 1)]
fn an_instrumented_loop_lets_other_processes_run_on_its_scheduler(mut mb: Mailbox<Progress>) {
    let flag = Arc::new(AtomicBool::new(false));
    let (me, spinner_flag) = (mb.pid(), flag.clone());
    otp::spawn(move || {
        me.send(Progress::Spinning);
        let spins = spin_until(&spinner_flag);
        me.send(Progress::Done(spins));
    });
    assert_eq!(mb.receive(), Progress::Spinning);
    // The spinner holds the only scheduler: the setter runs only because the spinner's loop
    // yields, and it sets the flag and reports before the spinner can see the flag.
    let me = mb.pid();
    otp::spawn(move || {
        flag.store(true, Ordering::Release);
        me.send(Progress::FlagSet);
    });
    assert_eq!(mb.receive(), Progress::FlagSet);
    assert!(matches!(mb.receive(), Progress::Done(n) if n > 0));
}

/// The reductions the calling process spends in `f`.
fn reductions_in(f: impl FnOnce()) -> u64 {
    let spent = || {
        otp::yield_now();
        process::info(otp::self_pid()).unwrap().reductions
    };
    let before = spent();
    f();
    spent() - before
}

/// What the bookkeeping around `f` costs (the yields and the info calls).
const SLACK: u64 = 16;
const N: u64 = 10_000;

#[otp::budget]
fn every_loop_kind(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += i;
    }
    let mut i = 0;
    while i < n {
        i += 1;
    }
    let mut items = (0..n).collect::<Vec<_>>();
    while let Some(x) = items.pop() {
        sum += x;
    }
    let mut j = 0;
    loop {
        j += 1;
        if j == n {
            break;
        }
    }
    sum + i + j
}

fn every_loop_kind_plain(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += i;
    }
    sum
}

#[otp::test]
fn every_loop_iteration_spends_a_reduction() {
    let spent = reductions_in(|| assert_eq!(every_loop_kind(N), N * (N - 1) + 2 * N));
    assert!((4 * N..4 * N + SLACK).contains(&spent), "{spent}");
    let plain = reductions_in(|| assert_eq!(every_loop_kind_plain(N), N * (N - 1) / 2));
    assert!(plain < SLACK, "an uninstrumented loop spent {plain}");
}

#[otp::budget]
fn depth(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        1 + depth(n - 1)
    }
}

#[otp::test]
fn every_call_spends_a_reduction_so_recursion_counts() {
    let spent = reductions_in(|| assert_eq!(depth(500), 500));
    assert!((501..501 + SLACK).contains(&spent), "{spent}");
}

#[otp::budget]
fn with_closure_and_nested_fn(n: u64) -> u64 {
    let closure = |n: u64| (0..n).map(black_box).sum::<u64>();
    fn nested(n: u64) -> u64 {
        let mut s = 0;
        for i in 0..n {
            s += black_box(i);
        }
        s
    }
    closure(n) + nested(n)
}

#[otp::test]
fn closures_and_nested_functions_are_left_alone() {
    let spent = reductions_in(|| {
        black_box(with_closure_and_nested_fn(N));
    });
    // Only the entry check of the outer function.
    assert!(spent < SLACK, "{spent}");
}

#[otp::budget]
fn labels_and_break_values(n: u64) -> (u64, u64) {
    let mut pairs = 0;
    'outer: for i in 0..n {
        for j in 0..n {
            if j > i {
                continue 'outer;
            }
            pairs += 1;
        }
    }
    let mut k = 0;
    let found = loop {
        k += 1;
        if k == 3 {
            break k * 14;
        }
    };
    (pairs, found)
}

#[otp::test]
fn control_flow_is_unchanged() {
    assert_eq!(labels_and_break_values(10), (55, 42));
}

struct Counter(u64);

#[otp::budget]
impl Counter {
    fn count_to(&mut self, n: u64) {
        while self.0 < n {
            self.0 += 1;
        }
    }
}

trait Summer {
    #[otp::budget]
    fn sum_to(&self, n: u64) -> u64 {
        let mut s = 0;
        for i in 0..=n {
            s += i;
        }
        s
    }
}

impl Summer for Counter {}

#[otp::test]
fn impl_blocks_and_trait_methods_are_instrumented() {
    let mut c = Counter(0);
    let spent = reductions_in(|| c.count_to(N));
    assert_eq!(c.0, N);
    assert!((N..N + SLACK).contains(&spent), "{spent}");
    let spent = reductions_in(|| assert_eq!(c.sum_to(N), N * (N + 1) / 2));
    assert!((N..N + SLACK).contains(&spent), "{spent}");
}

#[test]
fn outside_a_process_the_checks_do_nothing() {
    assert_eq!(depth(100), 100);
    assert_eq!(labels_and_break_values(3), (6, 42));
}
