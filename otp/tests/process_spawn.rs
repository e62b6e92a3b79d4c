//! Spawning and identity (spec 3.1): `spawn`, `spawn_apply`, `self_pid`, pid printing,
//! `alive`, `list`, `SpawnOptions`, 100k idle processes, and what `block_on` reports.

mod common;
use common::*;
use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::SeqCst},
        Arc,
    },
    time::{Duration, Instant},
};

use otp::{AnyPid, Builder, ExitReason, Mailbox, Pid, SpawnOptions};

#[test]
fn spawn_returns_before_the_child_runs() {
    // One scheduler: the spawner keeps it, so the child cannot have run when spawn returns.
    run_on(1, |mut mb: Mailbox<u32>| {
        let started = Arc::new(AtomicBool::new(false));
        let me = mb.pid();
        let flag = started.clone();
        let child = otp::spawn(move |mut cmb: Mailbox<u32>| {
            flag.store(true, SeqCst);
            let n = cmb.receive();
            me.send(n * 2);
        });
        assert!(
            !started.load(SeqCst),
            "spawn ran the child before returning"
        );
        assert!(otp::process::alive(&child));
        child.send(21);
        assert_eq!(recv(&mut mb), 42);
        assert!(started.load(SeqCst));
    });
}

#[test]
fn spawn_returns_while_the_child_blocks() {
    run(|mut mb: Mailbox<&'static str>| {
        let me = mb.pid();
        // The child blocks forever in receive until told; spawn must not wait for it.
        let child = otp::spawn(move |mut cmb: Mailbox<()>| {
            cmb.receive();
            me.send("released");
        });
        assert_eq!(mb.try_receive(), None);
        child.send(());
        assert_eq!(recv(&mut mb), "released");
    });
}

fn add_and_reply(a: u64, b: u64, label: String, reply_to: Pid<(String, u64)>) {
    reply_to.send((label, a + b));
}

fn no_args_worker() {}

#[test]
fn spawn_apply_passes_its_arguments() {
    run(|mut mb: Mailbox<(String, u64)>| {
        let pid = otp::spawn_apply(add_and_reply, (40, 2, "sum".to_owned(), mb.pid()));
        assert_eq!(recv(&mut mb), ("sum".to_owned(), 42));
        assert!(pid.number() > 0);
        // The zero-argument form.
        let _ = otp::spawn_apply(no_args_worker, ());
    });
}

/// A process function that takes its mailbox first: `spawn(M, :f, args)` of a receiving function.
fn echo_n_times(mut mb: Mailbox<u32>, times: usize, to: Pid<u32>) {
    for _ in 0..times {
        let n = mb.receive();
        to.send(n * 10);
    }
}

#[test]
fn spawn_apply_gives_a_mailbox_to_a_function_that_takes_one() {
    run(|mut mb: Mailbox<u32>| {
        let pid: Pid<u32> = otp::spawn_apply(echo_n_times, (2, mb.pid()));
        pid.send(1);
        pid.send(2);
        assert_eq!((recv(&mut mb), recv(&mut mb)), (10, 20));
        let info = otp::process::info(&pid);
        assert!(
            info.is_none_or(|i| i.initial_call.ends_with("echo_n_times")),
            "the initial call names the function"
        );
    });
}

#[test]
fn self_pid_is_the_spawned_pid() {
    run(|mut mb: Mailbox<AnyPid>| {
        assert_eq!(otp::self_pid(), mb.pid());
        assert_eq!(otp::self_pid(), mb.pid().to_any());
        let me = mb.pid();
        let child = otp::spawn(move || me.send(otp::self_pid()));
        let reported = recv(&mut mb);
        assert_eq!(reported, child);
        assert_eq!(reported, child.to_any());
        assert_ne!(reported, otp::self_pid());
    });
}

#[test]
fn pids_print_like_erlang_and_elixir() {
    run(|mb: Mailbox<()>| {
        let me = mb.pid();
        let n = me.number();
        assert_eq!(me.to_string(), format!("<0.{n}.0>"));
        assert_eq!(format!("{me:?}"), format!("#PID<0.{n}.0>"));
        let any = me.to_any();
        assert_eq!(any.to_string(), format!("<0.{n}.0>"));
        assert_eq!(format!("{any:?}"), format!("#PID<0.{n}.0>"));
        assert_eq!(any.number(), n);
        let child = otp::spawn(|| {});
        let c = child.number();
        assert_eq!(child.to_string(), format!("<0.{c}.0>"));
        assert_eq!(format!("{child:?}"), format!("#PID<0.{c}.0>"));
    });
}

#[test]
fn pids_are_unique() {
    run(|mut mb: Mailbox<Vec<u64>>| {
        let mut numbers = HashSet::new();
        let mut pids = HashSet::new();
        numbers.insert(otp::self_pid().number());
        pids.insert(otp::self_pid());
        for _ in 0..2000 {
            let p = otp::spawn(|| {});
            assert!(
                numbers.insert(p.number()),
                "pid number {} handed out twice",
                p.number()
            );
            assert!(pids.insert(p.to_any()), "pid {p} handed out twice");
        }
        // Spawns made by another process (maybe on the other scheduler) never collide either.
        let me = mb.pid();
        otp::spawn(move || me.send((0..500).map(|_| otp::spawn(|| {}).number()).collect()));
        for n in recv(&mut mb) {
            assert!(numbers.insert(n), "pid number {n} handed out twice");
        }
    });
}

#[test]
fn alive_is_false_after_a_normal_return() {
    run(|mut mb: Mailbox<&'static str>| {
        let me = mb.pid();
        let child = otp::spawn(move |mut cmb: Mailbox<()>| {
            cmb.receive();
            me.send("returning");
        });
        assert!(
            otp::process::alive(&child),
            "a process blocked in receive is alive"
        );
        assert!(otp::process::alive(otp::self_pid()));
        child.send(());
        assert_eq!(recv(&mut mb), "returning");
        wait_until("the child is dead", || !otp::process::alive(&child));
        assert!(otp::process::info(&child).is_none());
        // An exiting process still exists (on the BEAM too: `processes/0` lists it, `alive?`
        // says false) until its exit is finished.
        wait_until("the child has left the process list", || {
            !otp::process::list().contains(child.as_any())
        });
    });
}

#[test]
fn list_is_sorted_includes_self_and_shrinks() {
    run(|mut mb: Mailbox<()>| {
        let baseline = otp::process::list();
        assert!(baseline.contains(&otp::self_pid()));
        assert!(
            baseline.windows(2).all(|w| w[0] < w[1]),
            "list() not sorted: {baseline:?}"
        );
        let me = mb.pid();
        let children: Vec<Pid<()>> = (0..20)
            .map(|_| {
                let me = me.clone();
                otp::spawn(move |mut cmb: Mailbox<()>| {
                    me.send(());
                    cmb.receive();
                })
            })
            .collect();
        for _ in 0..20 {
            recv(&mut mb);
        }
        let during = otp::process::list();
        assert!(
            during.windows(2).all(|w| w[0] < w[1]),
            "list() not sorted: {during:?}"
        );
        assert_eq!(during.len(), baseline.len() + 20);
        for c in &children {
            assert!(during.contains(c.as_any()), "{c} missing from list()");
        }
        // Half of them exit: the list shrinks by exactly that much.
        for c in &children[..10] {
            c.send(());
        }
        wait_until("10 children have exited", || {
            otp::process::list().len() == baseline.len() + 10
        });
        let after = otp::process::list();
        for c in &children[..10] {
            assert!(!after.contains(c.as_any()), "dead {c} still listed");
        }
        for c in &children[10..] {
            assert!(after.contains(c.as_any()), "live {c} missing");
        }
        for c in &children[10..] {
            c.send(());
        }
        wait_until("every child has exited", || {
            otp::process::list() == baseline
        });
    });
}

#[test]
fn returning_from_the_root_is_a_normal_exit() {
    let r = watchdog(|| {
        Builder::new()
            .schedulers(2)
            .build()
            .unwrap()
            .block_on(|| {})
    });
    assert_eq!(r, Ok(()));
    let r = watchdog(|| {
        Builder::new()
            .schedulers(2)
            .build()
            .unwrap()
            .block_on(|mut mb: Mailbox<u8>| {
                mb.pid().send(1);
                mb.receive()
            })
    });
    assert_eq!(r, Ok(1));
}

#[test]
fn a_root_returns_a_value() {
    let v = run(|mut mb: Mailbox<String>| {
        let me = mb.pid();
        otp::spawn(move || me.send(format!("hello from {}", otp::self_pid())));
        recv(&mut mb)
    });
    assert!(v.starts_with("hello from <0."), "{v}");
    let v: Vec<u32> = run(|| (1..=3).collect());
    assert_eq!(v, vec![1, 2, 3]);
    assert_eq!(otp::run(|| 6 * 7), 42);
}

#[test]
fn block_on_reports_a_root_panic() {
    let line = Arc::new(AtomicU64::new(0));
    let l = line.clone();
    let r = watchdog(move || {
        Builder::new()
            .schedulers(2)
            .build()
            .unwrap()
            .block_on(move || -> u32 {
                l.store(u64::from(line!()) + 1, SeqCst);
                panic!("the root gave up");
            })
    });
    let Err(ExitReason::Panic(p)) = r else {
        panic!("expected a panic reason, got {r:?}")
    };
    assert_eq!(p.message(), "the root gave up");
    let location = p.location().expect("a panic location");
    let expected = format!("process_spawn.rs:{}:", line.load(SeqCst));
    assert!(
        location.contains(&expected),
        "location {location:?} does not contain {expected:?}"
    );
}

#[test]
fn block_on_reports_a_root_exit() {
    let r = watchdog(|| {
        Builder::new()
            .schedulers(2)
            .build()
            .unwrap()
            .block_on(|| -> u32 { otp::exit(ExitReason::custom("bye")) })
    });
    assert_eq!(r, Err(ExitReason::custom("bye")));
    let r = watchdog(|| {
        Builder::new()
            .schedulers(2)
            .build()
            .unwrap()
            .block_on(|| -> u32 { otp::exit(ExitReason::Shutdown) })
    });
    assert_eq!(r, Err(ExitReason::Shutdown));
}

#[test]
#[should_panic(expected = "the root process exited")]
fn run_panics_when_the_root_crashes() {
    otp::run(|| -> u8 { otp::exit(ExitReason::custom("crash")) });
}

/// Uses about `depth` KiB of stack.
fn deep(depth: u32) -> u64 {
    let buf = std::hint::black_box([depth as u8; 1024]);
    if depth == 0 {
        return u64::from(buf[0]);
    }
    std::hint::black_box(deep(depth - 1)) + u64::from(buf[1023])
}

#[test]
fn spawn_options_stack_size_gives_a_bigger_stack() {
    run(|mut mb: Mailbox<u64>| {
        let me = mb.pid();
        // About 600 KiB of frames: far more than the 128 KiB default, well within 2 MiB.
        SpawnOptions::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || me.send(deep(600)));
        let expected = (1..=600u64).map(|d| d % 256).sum::<u64>();
        assert_eq!(recv(&mut mb), expected);
        // A size that is not a whole number of pages is rounded up, not refused.
        let me = mb.pid();
        SpawnOptions::new()
            .stack_size(100_000)
            .spawn(move || me.send(deep(20)));
        assert_eq!(recv(&mut mb), (1..=20u64).sum::<u64>());
    });
}

#[test]
fn spawn_options_name_registers_before_the_process_runs() {
    run_on(1, |mut mb: Mailbox<u8>| {
        let me = mb.pid();
        let pid =
            SpawnOptions::new()
                .name("spawn_named_worker")
                .spawn(move |mut cmb: Mailbox<u8>| {
                    let n = cmb.receive();
                    me.send(n + 1);
                });
        // Registered already, although (one scheduler, still ours) the child has not run.
        assert_eq!(
            otp::process::whereis("spawn_named_worker"),
            Some(pid.to_any())
        );
        otp::process::send_named("spawn_named_worker", 1u8).unwrap();
        assert_eq!(recv(&mut mb), 2);
    });
}

#[test]
fn one_hundred_thousand_idle_processes() {
    const N: u64 = 100_000;
    watchdog(|| {
        // Default settings, except that no test may need more than two cores.
        let rt = Builder::new()
            .schedulers(2)
            .build()
            .expect("runtime starts");
        let r = rt.block_on(|| {
            let baseline = otp::process::list();
            let ready = Arc::new(AtomicU64::new(0));
            let stopped = Arc::new(AtomicU64::new(0));
            let pids: Vec<Pid<()>> = (0..N)
                .map(|_| {
                    let ready = ready.clone();
                    let stopped = stopped.clone();
                    otp::spawn(move |mut mb: Mailbox<()>| {
                        ready.fetch_add(1, SeqCst);
                        mb.receive();
                        stopped.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            let deadline = Instant::now() + Duration::from_secs(20);
            while ready.load(SeqCst) < N {
                assert!(
                    Instant::now() < deadline,
                    "only {} of {N} processes reached receive ({} processes alive)",
                    ready.load(SeqCst),
                    otp::process::list().len() - baseline.len()
                );
                otp::sleep(Duration::from_millis(5));
            }
            let live = otp::process::list();
            assert_eq!(live.len(), baseline.len() + N as usize);
            assert!(live.windows(2).all(|w| w[0] < w[1]));
            let numbers: HashSet<u64> = pids.iter().map(Pid::number).collect();
            assert_eq!(numbers.len(), N as usize, "pids are unique");
            for p in &pids {
                p.send(());
            }
            let deadline = Instant::now() + Duration::from_secs(15);
            while stopped.load(SeqCst) < N || otp::process::list().len() != baseline.len() {
                assert!(
                    Instant::now() < deadline,
                    "only {} of {N} processes stopped",
                    stopped.load(SeqCst)
                );
                otp::sleep(Duration::from_millis(5));
            }
            assert_eq!(otp::process::list(), baseline);
        });
        if let Err(reason) = r {
            panic!("root process exited: {reason}");
        }
    });
}

#[test]
#[should_panic(expected = "inside an otp process")]
fn spawn_outside_a_runtime_panics() {
    let _ = otp::spawn(|| {});
}

#[test]
#[should_panic(expected = "inside an otp process")]
fn self_pid_outside_a_runtime_panics() {
    let _ = otp::self_pid();
}

#[test]
fn pids_of_two_runtimes_differ() {
    let a = watchdog(|| {
        let rt = Builder::new().schedulers(1).build().unwrap();
        rt.block_on(otp::self_pid).unwrap()
    });
    let b = watchdog(|| {
        let rt = Builder::new().schedulers(1).build().unwrap();
        rt.block_on(otp::self_pid).unwrap()
    });
    assert_ne!(a, b, "two different root processes have the same pid {a:?}");
    assert_ne!(a.number(), b.number());
}

/// Unstarted processes run newest first (depth first), but not newest only: a process spawned
/// before a long run of short-lived spawns still starts while the run goes on. One scheduler,
/// so nothing is stolen and the order is the scheduler's alone.
#[test]
fn an_early_spawn_is_not_starved_by_later_ones() {
    let started_after = run_on(1, |mut mb: Mailbox<()>| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        otp::spawn(move || f.store(true, SeqCst));
        let me = mb.pid();
        for n in 0..100_000u32 {
            if flag.load(SeqCst) {
                return Some(n);
            }
            let me = me.clone();
            otp::spawn(move || me.send(()));
            mb.receive();
        }
        None
    });
    assert!(
        started_after.is_some(),
        "the first spawn never ran during 100,000 later ones"
    );
}
