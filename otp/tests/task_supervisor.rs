//! task::supervisor: tasks under a supervisor. `async_nolink` isolates a task's crash from its
//! caller; `start_child` fires and forgets; `children` lists what runs; the supervisor's
//! stop takes its tasks with it.

mod common;

use std::time::Duration;

use common::{down_of, recv, run, Latch, PROMPTLY};
use otp::{
    dynamic_supervisor::Options,
    process,
    supervisor::{self, ChildError},
    task::{
        self,
        supervisor::{child_spec, TaskSupervisor},
        AwaitError, Outcome, TaskExit,
    },
    AnyPid, ExitReason, Mailbox, Message, Timeout,
};

const FOREVER: Duration = Duration::from_secs(3600);

fn flush<M: Send + 'static>(mb: &mut Mailbox<M>) -> Vec<Message<M>> {
    std::iter::from_fn(|| mb.select(Duration::ZERO, |_| true)).collect()
}

fn exit_reason_of<F>(f: F) -> ExitReason
where
    F: FnOnce() + Send + 'static,
{
    run(move |mut mb: Mailbox<()>| {
        let (_, reference) = otp::spawn_monitor(f);
        down_of(&mut mb, reference)
    })
}

fn start() -> TaskSupervisor {
    task::supervisor::start_link(Options::new()).unwrap()
}

// ===== async_nolink: a crash is a value =====

#[test]
fn async_nolink_then_yield_gives_the_crash_and_the_caller_survives() {
    run(|mut mb: Mailbox<()>| {
        let tasks = start();
        let mut t = tasks
            .async_nolink(|| -> u32 { otp::exit(ExitReason::custom("boom")) })
            .unwrap();
        assert!(!process::info(otp::self_pid())
            .unwrap()
            .links
            .contains(t.pid()));
        assert_eq!(
            t.yield_(PROMPTLY),
            Some(Outcome::Exit(ExitReason::custom("boom")))
        );
        // Not trapping exits, not linked: alive, and nothing in the mailbox.
        assert!(!process::info(otp::self_pid()).unwrap().trap_exit);
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn async_nolink_panic_is_a_value_too() {
    run(|| {
        let tasks = start();
        let t = tasks
            .async_nolink(|| -> () { panic!("service down") })
            .unwrap();
        match t.try_await(PROMPTLY) {
            Err(AwaitError::Exit(ExitReason::Panic(p))) => assert_eq!(p.message(), "service down"),
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn await_of_a_crashed_nolink_task_exits_the_caller_with_the_reason_wrapped() {
    let reason = exit_reason_of(|| {
        let tasks = start();
        let t = tasks
            .async_nolink(|| -> () { otp::exit(ExitReason::custom("failed")) })
            .unwrap();
        t.await_();
    });
    let exit = TaskExit::of(&reason).expect("a TaskExit");
    assert_eq!(exit.reason(), &ExitReason::custom("failed"));
    assert!(reason
        .to_string()
        .starts_with("{:failed, {Task, :await, [%Task{"));
}

#[test]
fn async_nolink_returns_the_value_and_runs_as_a_child() {
    run(|mut mb: Mailbox<()>| {
        let tasks = start();
        let gate = Latch::default();
        let door = gate.clone();
        let t = tasks
            .async_nolink(move || {
                door.wait();
                "value"
            })
            .unwrap();
        assert_eq!(tasks.children().unwrap(), vec![t.pid().clone()]);
        let watch = process::monitor(t.pid());
        gate.open();
        assert_eq!(t.await_(), "value");
        down_of(&mut mb, watch);
        assert!(flush(&mut mb).is_empty());
        assert!(tasks.children().unwrap().is_empty(), "temporary: gone");
        let me = process::info(otp::self_pid()).unwrap();
        assert!(me.monitors.is_empty(), "{:?}", me.monitors);
    });
}

#[test]
fn the_task_function_runs_only_once_the_caller_watches_it() {
    run(|| {
        let tasks = start();
        // Even a task that dies at once reports its own reason, not `noproc`.
        for _ in 0..50 {
            let t = tasks
                .async_nolink(|| -> () { otp::exit(ExitReason::custom("instant")) })
                .unwrap();
            assert_eq!(
                t.try_await(PROMPTLY),
                Err(AwaitError::Exit(ExitReason::custom("instant")))
            );
        }
    });
}

#[test]
fn a_nolink_task_timed_out_keeps_running_under_the_supervisor() {
    run(|mut mb: Mailbox<()>| {
        let tasks = start();
        let gate = Latch::default();
        let door = gate.clone();
        let t = tasks
            .async_nolink(move || {
                door.wait();
                1
            })
            .unwrap();
        let pid = t.pid().clone();
        assert_eq!(
            t.try_await(Duration::from_millis(20)),
            Err(AwaitError::Timeout)
        );
        assert_eq!(tasks.children().unwrap(), vec![pid.clone()]);
        let watch = process::monitor(&pid);
        gate.open();
        assert_eq!(down_of(&mut mb, watch), ExitReason::Normal);
        assert!(flush(&mut mb).is_empty(), "the late reply went nowhere");
    });
}

// ===== async: linked through the supervisor =====

#[test]
fn supervised_async_is_linked_to_the_caller() {
    let reason = exit_reason_of(|| {
        let tasks = start();
        let t = tasks
            .async_(|| -> () { otp::exit(ExitReason::custom("linked_crash")) })
            .unwrap();
        t.await_();
    });
    // The link, not await: the task's own reason.
    assert_eq!(reason, ExitReason::custom("linked_crash"));
}

#[test]
fn supervised_async_returns_the_value() {
    run(|| {
        let tasks = start();
        let t = tasks.async_(|| 40 + 2).unwrap();
        assert_eq!(t.await_timeout(Timeout::Infinity), 42);
    });
}

// ===== start_child, children, terminate_child =====

#[test]
fn start_child_fires_and_forgets_and_is_not_restarted() {
    run(|mut mb: Mailbox<AnyPid>| {
        let tasks = start();
        let me = mb.pid();
        let gate = Latch::default();
        let door = gate.clone();
        let pid = tasks
            .start_child(move || {
                me.send(otp::self_pid());
                door.wait();
                otp::exit(ExitReason::custom("crash_in_child"));
            })
            .unwrap();
        assert_eq!(recv(&mut mb), pid);
        assert!(!process::info(otp::self_pid()).unwrap().links.contains(&pid));
        assert_eq!(tasks.children().unwrap(), vec![pid.clone()]);
        let watch = process::monitor(&pid);
        gate.open();
        assert_eq!(
            down_of(&mut mb, watch),
            ExitReason::custom("crash_in_child")
        );
        // The supervisor heard of it before our call (its EXIT went out before our DOWN), and
        // did not restart it.
        assert!(tasks.children().unwrap().is_empty());
        assert!(process::alive(tasks.pid().unwrap()));
    });
}

#[test]
fn children_lists_the_running_tasks() {
    run(|| {
        let tasks = start();
        let a = tasks.start_child(|| otp::sleep(FOREVER)).unwrap();
        let b = tasks.start_child(|| otp::sleep(FOREVER)).unwrap();
        let mut expected = vec![a.clone(), b.clone()];
        expected.sort();
        assert_eq!(tasks.children().unwrap(), expected);
        tasks.terminate_child(&a).unwrap();
        assert!(!process::alive(&a));
        assert_eq!(tasks.children().unwrap(), vec![b]);
        assert_eq!(tasks.terminate_child(&a), Err(ChildError::NotFound));
    });
}

#[test]
fn max_children_is_an_error() {
    run(|| {
        let tasks = task::supervisor::start_link(Options::new().max_children(1)).unwrap();
        let _busy = tasks.start_child(|| otp::sleep(FOREVER)).unwrap();
        assert_eq!(
            tasks.async_nolink(|| 1).map(|_| ()),
            Err(ChildError::MaxChildren)
        );
        assert_eq!(
            tasks.start_child(|| {}).map(|_| ()),
            Err(ChildError::MaxChildren)
        );
    });
}

#[test]
fn stopping_the_supervisor_shuts_its_tasks_down() {
    run(|| {
        let tasks = start();
        let t = tasks.async_nolink(|| otp::sleep(FOREVER)).unwrap();
        let pid = t.pid().clone();
        tasks.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
        assert!(!process::alive(&pid));
        assert_eq!(
            t.try_await(PROMPTLY),
            Err(AwaitError::Exit(ExitReason::Shutdown))
        );
    });
}

#[test]
fn a_gone_supervisor_is_an_error() {
    run(|| {
        let tasks = start();
        tasks.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
        assert!(matches!(tasks.async_nolink(|| 1), Err(ChildError::Call(_))));
        assert!(tasks.children().is_err());
    });
}

#[test]
fn an_owner_killed_while_starting_a_task_leaves_no_task_behind() {
    run(|mut mb: Mailbox<AnyPid>| {
        let tasks = start();
        for _ in 0..20 {
            let parent = mb.pid();
            let sup = tasks.clone();
            // Killed at some point of `async_nolink`: before the request, while the supervisor
            // starts the task, or after. A task started for it must not wait for ever for an
            // owner that will never tell it to run.
            let owner = otp::spawn(move |mut mb: Mailbox<()>| {
                parent.send(otp::self_pid());
                mb.receive();
                let _t = sup.async_nolink(|| ());
                otp::sleep(FOREVER);
            });
            let owner_pid = recv(&mut mb);
            let watch = process::monitor(&owner_pid);
            owner.send(());
            process::exit(&owner_pid, ExitReason::Kill);
            down_of(&mut mb, watch);
            // The owner's request, if sent, is ahead of ours in the supervisor's mailbox.
            for pid in tasks.children().unwrap() {
                let watch = process::monitor(&pid);
                let reason = down_of(&mut mb, watch);
                assert!(
                    // `{:shutdown, :killed}` if it heard of its owner's death, `normal` if it
                    // was told to run in time.
                    matches!(
                        reason,
                        ExitReason::ShutdownWith(_) | ExitReason::Normal | ExitReason::NoProc
                    ),
                    "{reason}"
                );
            }
            // Eventually none is left. (Not at once: a `noproc` DOWN means the task was already
            // exiting, not that the supervisor has heard of it yet.)
            common::wait_until("no task is left waiting for a dead owner", || {
                tasks.children().unwrap().is_empty()
            });
        }
    });
}

// ===== streams =====

#[test]
fn async_stream_nolink_gives_exit_elements_without_trapping() {
    run(|mut mb: Mailbox<()>| {
        let tasks = start();
        let results: Vec<_> = tasks
            .async_stream_nolink([1, 2, 3], |x: i32| {
                if x == 2 {
                    panic!("item 2 failed");
                }
                x
            })
            .collect();
        assert_eq!(results[0], Outcome::Ok(1));
        assert!(
            matches!(&results[1], Outcome::Exit(ExitReason::Panic(p)) if p.message() == "item 2 failed")
        );
        assert_eq!(results[2], Outcome::Ok(3));
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn supervised_async_stream_is_linked() {
    let reason = exit_reason_of(|| {
        let tasks = start();
        let _: Vec<_> = tasks
            .async_stream([1, 2], |x: i32| {
                if x == 2 {
                    otp::exit(ExitReason::custom("stream_crash"));
                }
                x
            })
            .collect();
    });
    assert_eq!(reason, ExitReason::custom("stream_crash"));
}

#[test]
fn supervised_streams_respect_max_concurrency_and_order() {
    run(|| {
        let tasks = start();
        let results: Vec<_> = tasks
            .async_stream_nolink(0..20u64, |i: u64| {
                otp::sleep(Duration::from_millis(20 - i));
                i
            })
            .max_concurrency(4)
            .collect();
        assert_eq!(
            results
                .into_iter()
                .map(|o| o.ok().unwrap())
                .collect::<Vec<_>>(),
            (0..20).collect::<Vec<_>>()
        );
    });
}

#[test]
fn a_stream_kill_task_timeout_under_a_supervisor() {
    run(|| {
        let tasks = start();
        let results: Vec<_> = tasks
            .async_stream_nolink([true, false], |slow: bool| {
                if slow {
                    otp::sleep(FOREVER);
                }
                slow
            })
            .timeout(Duration::from_secs(1))
            .on_timeout(task::OnTimeout::KillTask)
            .collect();
        assert_eq!(
            results,
            [
                Outcome::Exit(ExitReason::custom("timeout")),
                Outcome::Ok(false)
            ]
        );
    });
}

// ===== in a supervision tree =====

#[test]
fn a_task_supervisor_under_a_supervisor() {
    run(|| {
        let spec = child_spec("tasks", Options::new().name("task_sup"));
        let tree = supervisor::start_link(vec![spec], supervisor::Options::default()).unwrap();
        assert_eq!(tree.count_children().unwrap().supervisors, 1);
        let tasks = TaskSupervisor::named("task_sup");
        assert_eq!(tasks.async_nolink(|| "named").unwrap().await_(), "named");
    });
}
