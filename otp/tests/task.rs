//! Task: async/await, yield, shutdown, ignore, await_many, yield_many, start, start_link,
//! matched against Elixir's behaviour (spec/elixir/edge E08, E09, E10).

mod common;

use std::time::Duration;

use common::{block_on, down_of, recv, run, Latch, PROMPTLY};
use otp::{
    gen_server::{self, CallResult, CastResult, From, GenServer, Info, InitResult},
    process,
    supervisor::Shutdown,
    task::{self, AwaitError, Outcome, Task, TaskExit},
    AnyPid, ExitReason, Mailbox, Message, Timeout,
};

/// Long enough to outlast any test: a task that "never" finishes.
const FOREVER: Duration = Duration::from_secs(3600);

/// Waits until `pid` has exited; returns its reason.
fn exit_of<M: Send + 'static>(mb: &mut Mailbox<M>, pid: &AnyPid) -> ExitReason {
    let reference = process::monitor(pid);
    down_of(mb, reference)
}

/// Everything in the mailbox right now, oldest first.
fn flush<M: Send + 'static>(mb: &mut Mailbox<M>) -> Vec<Message<M>> {
    std::iter::from_fn(|| mb.select(Duration::ZERO, |_| true)).collect()
}

/// Runs `f` in a fresh process (the caller under test) and returns its exit reason.
fn exit_reason_of<F>(f: F) -> ExitReason
where
    F: FnOnce() + Send + 'static,
{
    run(move |mut mb: Mailbox<()>| {
        let (pid, reference) = otp::spawn_monitor(f);
        let _ = pid;
        down_of(&mut mb, reference)
    })
}

fn panic_message(reason: &ExitReason) -> &str {
    match reason {
        ExitReason::Panic(p) => p.message(),
        other => panic!("expected a panic, got {other}"),
    }
}

// ===== async / await (E08) =====

#[test]
fn async_links_and_monitors_and_await_leaves_nothing_behind() {
    run(|mut mb: Mailbox<()>| {
        let gate = Latch::default();
        let door = gate.clone();
        let t = task::async_(move || {
            door.wait();
            42
        });
        let me = process::info(otp::self_pid()).unwrap();
        assert!(
            me.links.contains(t.pid()),
            "the owner is linked to the task"
        );
        assert!(me.monitors.contains(t.pid()), "the owner monitors the task");
        assert_eq!(t.owner(), &otp::self_pid());
        let watch = process::monitor(t.pid());
        gate.open();
        assert_eq!(t.await_(), 42);
        down_of(&mut mb, watch);
        // No reply message, no DOWN: await took them all (only our own monitor's DOWN came).
        assert!(flush(&mut mb).is_empty());
        let me = process::info(otp::self_pid()).unwrap();
        assert!(me.monitors.is_empty(), "{:?}", me.monitors);
        assert!(me.links.is_empty(), "{:?}", me.links);
    });
}

#[test]
fn await_works_from_a_process_with_any_mailbox_type() {
    run(|mut mb: Mailbox<String>| {
        mb.pid().send("unrelated".to_owned());
        let t = task::async_(|| vec![1, 2, 3]);
        assert_eq!(t.await_timeout(Timeout::Infinity), vec![1, 2, 3]);
        assert_eq!(mb.receive(), "unrelated");
    });
}

#[test]
fn try_await_timeout_leaves_the_task_running_and_drops_its_late_reply() {
    run(|mut mb: Mailbox<()>| {
        let gate = Latch::default();
        let door = gate.clone();
        let t = task::async_(move || {
            door.wait();
            "late"
        });
        let pid = t.pid().clone();
        let watch = process::monitor(&pid);
        assert_eq!(
            t.try_await(Duration::from_millis(20)),
            Err(AwaitError::Timeout)
        );
        assert!(
            process::alive(&pid),
            "a timed-out await does not kill the task"
        );
        gate.open();
        assert_eq!(down_of(&mut mb, watch), ExitReason::Normal);
        // The late reply went nowhere, and the task's own monitor is gone with its DOWN.
        assert!(flush(&mut mb).is_empty());
        // Still linked (Elixir's await does not unlink): the link ended with its exit.
        assert!(process::info(otp::self_pid()).unwrap().links.is_empty());
    });
}

#[test]
fn await_timeout_exits_the_caller_and_the_linked_task_with_it() {
    let (caller_reason, task_reason, shown) = run(|mut mb: Mailbox<AnyPid>| {
        let parent = mb.pid();
        let (caller, reference) = otp::spawn_monitor(move |mut mb: Mailbox<()>| {
            let t = task::async_(|| otp::sleep(FOREVER));
            parent.send(t.pid().clone());
            mb.receive(); // the parent watches the task now
            t.await_timeout(Duration::from_millis(50));
            unreachable!("await_timeout exits the caller");
        });
        let task_pid = recv(&mut mb);
        let task_watch = process::monitor(&task_pid);
        caller.send(());
        let caller_reason = down_of(&mut mb, reference);
        let task_reason = down_of(&mut mb, task_watch);
        let shown = format!("{caller_reason}");
        (caller_reason, task_reason, shown)
    });
    let exit = TaskExit::of(&caller_reason).expect("a TaskExit");
    assert!(exit.is_timeout());
    assert_eq!(exit.function(), "await");
    assert_eq!(exit.timeout(), Timeout::After(Duration::from_millis(50)));
    assert_eq!(
        task_reason, caller_reason,
        "the task died through the link with the same reason"
    );
    assert!(
        shown.starts_with("{:timeout, {Task, :await, [%Task{owner: #PID<"),
        "{shown}"
    );
    assert!(shown.ends_with(", 50]}}"), "{shown}");
}

#[test]
fn a_crashing_task_kills_a_non_trapping_caller_through_the_link() {
    let reason = exit_reason_of(|| {
        let t = task::async_(|| -> u32 { panic!("task failed") });
        let r = t.await_();
        unreachable!("never printed {r}");
    });
    // The task's own reason, not wrapped in `{reason, {Task, :await, ...}}` (E08 #4).
    assert_eq!(panic_message(&reason), "task failed");
}

#[test]
fn a_trapping_caller_exits_from_await_with_the_tasks_reason_wrapped() {
    let reason = exit_reason_of(|| {
        process::trap_exit(true);
        let t = task::async_(|| -> () { otp::exit(ExitReason::custom("task_exit_reason")) });
        t.await_();
    });
    let exit = TaskExit::of(&reason).expect("a TaskExit");
    assert_eq!(exit.reason(), &ExitReason::custom("task_exit_reason"));
    assert!(!exit.is_timeout());
    assert_eq!(exit.timeout(), task::DEFAULT_TIMEOUT);
    let shown = reason.to_string();
    assert!(
        shown.starts_with("{:task_exit_reason, {Task, :await, [%Task{"),
        "{shown}"
    );
    assert!(shown.ends_with(", 5000]}}"), "{shown}");
}

#[test]
fn a_trapping_caller_keeps_the_exit_message_after_try_await() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let t = task::async_(|| -> () { otp::exit(ExitReason::custom("task_exit_reason")) });
        let pid = t.pid().clone();
        assert_eq!(
            t.try_await(task::DEFAULT_TIMEOUT),
            Err(AwaitError::Exit(ExitReason::custom("task_exit_reason")))
        );
        // E08 #5: `[{:EXIT, task_pid, :task_exit_reason}]`, and nothing else.
        match flush(&mut mb).as_slice() {
            [Message::Exit { from, reason }] => {
                assert_eq!(from, &pid);
                assert_eq!(reason, &ExitReason::custom("task_exit_reason"));
            }
            other => panic!("mailbox: {other:?}"),
        }
    });
}

#[test]
fn awaiting_from_another_process_panics_like_elixirs_argument_error() {
    run(|mut mb: Mailbox<()>| {
        let gate = Latch::default();
        let door = gate.clone();
        let t = task::async_(move || {
            door.wait();
            "x"
        });
        let task_pid = t.pid().clone();
        let (other, reference) = otp::spawn_monitor(move || {
            t.await_();
        });
        let reason = down_of(&mut mb, reference);
        let message = panic_message(&reason);
        assert!(message.starts_with("task %Task{owner: "), "{message}");
        assert!(
            message.ends_with(&format!(
                "must be queried from the owner but was queried from {other:?}"
            )),
            "{message}"
        );
        // The handle died with the other process, which forgot the owner's monitor on the
        // task: no stray DOWN arrives when the task ends.
        let watch = process::monitor(&task_pid);
        gate.open();
        down_of(&mut mb, watch);
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn awaiting_again_after_the_value_was_taken_times_out() {
    run(|| {
        let mut t = task::async_(|| "once");
        assert_eq!(t.yield_(PROMPTLY), Some(Outcome::Ok("once")));
        // E08 #7: a second await finds nothing and times out.
        assert_eq!(
            t.try_await(Duration::from_millis(50)),
            Err(AwaitError::Timeout)
        );
    });
}

#[test]
fn await_defaults_to_five_seconds() {
    let reason = exit_reason_of(|| {
        let t = task::async_(|| otp::sleep(FOREVER));
        t.await_();
    });
    let exit = TaskExit::of(&reason).expect("a TaskExit");
    assert!(exit.is_timeout());
    assert_eq!(exit.timeout(), Timeout::After(Duration::from_secs(5)));
}

#[test]
fn a_normal_exit_without_reply_is_still_an_exit() {
    run(|| {
        process::trap_exit(true);
        let t = task::async_(|| -> u8 { otp::exit(ExitReason::Normal) });
        assert_eq!(
            t.try_await(PROMPTLY),
            Err(AwaitError::Exit(ExitReason::Normal))
        );
    });
}

// ===== yield / shutdown / ignore (E09) =====

#[test]
fn yield_is_non_destructive_then_gives_the_value_once() {
    run(|mut mb: Mailbox<()>| {
        let gate = Latch::default();
        let door = gate.clone();
        let mut t = task::async_(move || {
            door.wait();
            "done"
        });
        let watch = process::monitor(t.pid());
        assert_eq!(t.yield_(Duration::from_millis(10)), None);
        assert_eq!(t.yield_(Duration::ZERO), None);
        gate.open();
        down_of(&mut mb, watch);
        assert_eq!(t.yield_(Duration::ZERO), Some(Outcome::Ok("done")));
        assert_eq!(t.yield_(Duration::ZERO), None, "the reply was consumed");
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn yield_gives_the_exit_of_a_crashed_task_to_a_trapping_caller() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let mut t = task::async_(|| -> () { otp::exit(ExitReason::custom("bad")) });
        let pid = t.pid().clone();
        assert_eq!(
            t.yield_(PROMPTLY),
            Some(Outcome::Exit(ExitReason::custom("bad")))
        );
        match flush(&mut mb).as_slice() {
            [Message::Exit { from, reason }] => {
                assert_eq!(from, &pid);
                assert_eq!(reason, &ExitReason::custom("bad"));
            }
            other => panic!("mailbox: {other:?}"),
        }
    });
}

#[test]
fn yield_still_works_when_someone_else_took_the_down() {
    run(|mut mb: Mailbox<()>| {
        // A replying task: its DOWN taken by the caller's own receive, as a GenServer's
        // handle_info would.
        let mut t = task::async_(|| 7);
        assert_eq!(down_of(&mut mb, t.reference()), ExitReason::Normal);
        assert_eq!(t.yield_(Duration::ZERO), Some(Outcome::Ok(7)));

        // A crashing one, seen by a trapping caller the same way.
        process::trap_exit(true);
        let mut t = task::async_(|| -> u32 { otp::exit(ExitReason::custom("gone")) });
        assert_eq!(down_of(&mut mb, t.reference()), ExitReason::custom("gone"));
        assert_eq!(
            t.yield_(Duration::ZERO),
            Some(Outcome::Exit(ExitReason::custom("gone")))
        );
    });
}

#[test]
fn shutdown_of_a_running_task_stops_it_with_shutdown() {
    run(|mut mb: Mailbox<()>| {
        let t = task::async_(|| otp::sleep(FOREVER));
        let watch = process::monitor(t.pid());
        assert_eq!(t.shutdown(), None);
        assert_eq!(down_of(&mut mb, watch), ExitReason::Shutdown);
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn brutal_kill_shutdown_kills_the_task() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let t = task::async_(|| otp::sleep(FOREVER));
        let watch = process::monitor(t.pid());
        assert_eq!(t.shutdown_with(Shutdown::BrutalKill), None);
        assert_eq!(down_of(&mut mb, watch), ExitReason::Killed);
        // Unlinked first: even a trapping caller gets no EXIT.
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn shutdown_of_a_finished_task_returns_its_reply() {
    run(|mut mb: Mailbox<()>| {
        let t = task::async_(|| "finished");
        let watch = process::monitor(t.pid());
        down_of(&mut mb, watch);
        assert_eq!(t.shutdown(), Some(Outcome::Ok("finished")));
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn shutdown_kills_a_task_that_ignores_it_after_the_timeout() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let t = task::async_(move || {
            process::trap_exit(true); // shutdown becomes a message it never reads
            me.send(());
            otp::sleep(FOREVER);
        });
        recv(&mut mb);
        let watch = process::monitor(t.pid());
        assert_eq!(
            t.shutdown_with(Shutdown::Timeout(Duration::from_millis(50))),
            Some(Outcome::Exit(ExitReason::Killed))
        );
        assert_eq!(down_of(&mut mb, watch), ExitReason::Killed);
    });
}

#[test]
fn shutdown_of_a_crashed_task_reports_the_crash_and_spares_the_caller() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let t = task::async_(|| -> () { otp::exit(ExitReason::custom("crashed")) });
        let watch = process::monitor(t.pid());
        down_of(&mut mb, watch);
        assert_eq!(
            t.shutdown(),
            Some(Outcome::Exit(ExitReason::custom("crashed")))
        );
    });
}

#[test]
fn ignore_unlinks_and_forgets_a_running_task() {
    run(|mut mb: Mailbox<()>| {
        let gate = Latch::default();
        let door = gate.clone();
        let t = task::async_(move || {
            door.wait();
            otp::exit(ExitReason::custom("after_ignore"));
        });
        let pid = t.pid().clone();
        let watch = process::monitor(&pid);
        assert_eq!(t.ignore(), None);
        assert!(!process::info(otp::self_pid()).unwrap().links.contains(&pid));
        gate.open();
        // Its crash does not reach us, and leaves nothing in the mailbox.
        assert_eq!(down_of(&mut mb, watch), ExitReason::custom("after_ignore"));
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn ignore_of_a_finished_task_returns_its_reply() {
    run(|mut mb: Mailbox<()>| {
        let t = task::async_(|| 5u8);
        let watch = process::monitor(t.pid());
        down_of(&mut mb, watch);
        assert_eq!(t.ignore(), Some(Outcome::Ok(5)));
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn dropping_a_task_forgets_its_monitor() {
    run(|mut mb: Mailbox<()>| {
        let t = task::async_(|| 1);
        let pid = t.pid().clone();
        drop(t);
        exit_of(&mut mb, &pid);
        assert!(flush(&mut mb).is_empty());
    });
}

// ===== await_many / yield_many (E10, E09) =====

#[test]
fn await_many_returns_values_in_input_order() {
    run(|| {
        let tasks: Vec<Task<u64>> = [60u64, 1, 30]
            .into_iter()
            .map(|ms| {
                task::async_(move || {
                    otp::sleep(Duration::from_millis(ms));
                    ms
                })
            })
            .collect();
        assert_eq!(task::await_many(tasks), vec![60, 1, 30]);
        assert!(process::info(otp::self_pid()).unwrap().monitors.is_empty());
    });
}

#[test]
fn await_many_of_nothing_is_nothing() {
    run(|| {
        assert!(task::await_many(Vec::<Task<()>>::new()).is_empty());
    });
}

#[test]
fn await_many_timeout_exits_the_caller_and_its_linked_tasks() {
    let (reason, slow_reason) = run(|mut mb: Mailbox<AnyPid>| {
        let parent = mb.pid();
        let (caller, reference) = otp::spawn_monitor(move |mut mb: Mailbox<()>| {
            let fast = task::async_(|| 1);
            let slow = task::async_(|| {
                otp::sleep(FOREVER);
                2
            });
            parent.send(slow.pid().clone());
            mb.receive();
            task::await_many_timeout([fast, slow], Duration::from_millis(50));
        });
        let slow = recv(&mut mb);
        let watch = process::monitor(&slow);
        caller.send(());
        (down_of(&mut mb, reference), down_of(&mut mb, watch))
    });
    let exit = TaskExit::of(&reason).expect("a TaskExit");
    assert!(exit.is_timeout());
    assert_eq!(exit.function(), "await_many");
    assert_eq!(exit.tasks().len(), 2);
    let shown = reason.to_string();
    assert!(
        shown.starts_with("{:timeout, {Task, :await_many, [[%Task{"),
        "{shown}"
    );
    assert!(shown.ends_with("], 50]}}"), "{shown}");
    // await_many does not kill the tasks; the caller's exit does, through the link.
    assert_eq!(slow_reason, reason);
}

#[test]
fn try_await_many_timeout_leaves_the_tasks_running() {
    run(|| {
        let fast = task::async_(|| 10);
        let slow = task::async_(|| {
            otp::sleep(FOREVER);
            1000
        });
        let slow_pid = slow.pid().clone();
        assert_eq!(
            task::try_await_many([fast, slow], Duration::from_millis(50)),
            Err(AwaitError::Timeout)
        );
        assert!(process::alive(&slow_pid));
        process::unlink(&slow_pid);
        process::exit(&slow_pid, ExitReason::Kill);
    });
}

#[test]
fn await_many_with_a_crash_kills_a_non_trapping_caller_with_that_reason() {
    let reason = exit_reason_of(|| {
        let tasks = vec![
            task::async_(|| otp::sleep(FOREVER)),
            task::async_(|| otp::exit(ExitReason::custom("one_failed"))),
        ];
        task::await_many(tasks);
    });
    assert_eq!(reason, ExitReason::custom("one_failed"));
}

#[test]
fn try_await_many_with_a_crash_in_a_trapping_caller() {
    run(|| {
        process::trap_exit(true);
        let tasks = vec![
            task::async_(|| otp::sleep(FOREVER)),
            task::async_(|| otp::exit(ExitReason::custom("one_failed"))),
        ];
        assert_eq!(
            task::try_await_many(tasks, PROMPTLY),
            Err(AwaitError::Exit(ExitReason::custom("one_failed")))
        );
    });
}

#[test]
fn yield_many_reports_each_task_in_input_order() {
    run(|| {
        let mut tasks = vec![
            task::async_(|| 50),
            task::async_(|| {
                otp::sleep(FOREVER);
                400
            }),
            task::async_(|| 10),
        ];
        let results = task::yield_many(&mut tasks, Duration::from_secs(1));
        assert_eq!(
            results,
            [Some(Outcome::Ok(50)), None, Some(Outcome::Ok(10))]
        );
        // The one still running can be yielded again, or shut down.
        let mut slow = tasks.remove(1);
        assert_eq!(slow.yield_(Duration::ZERO), None);
        assert_eq!(slow.shutdown_with(Shutdown::BrutalKill), None);
    });
}

#[test]
fn yield_many_reports_crashes_to_a_trapping_caller() {
    run(|| {
        process::trap_exit(true);
        let mut tasks = vec![
            task::async_(|| Ok(1)),
            task::async_(|| -> Result<i32, ()> { otp::exit(ExitReason::custom("no")) }),
        ];
        let results = task::yield_many(&mut tasks, PROMPTLY);
        assert_eq!(
            results,
            [
                Some(Outcome::Ok(Ok(1))),
                Some(Outcome::Exit(ExitReason::custom("no")))
            ]
        );
    });
}

#[test]
fn many_tasks_at_once_in_order_and_nothing_left_behind() {
    run(|mut mb: Mailbox<()>| {
        for _ in 0..5 {
            let tasks: Vec<_> = (0..300u32).map(|i| task::async_(move || i * 2)).collect();
            assert_eq!(
                task::await_many(tasks),
                (0..300).map(|i| i * 2).collect::<Vec<_>>()
            );
            assert!(process::info(otp::self_pid()).unwrap().monitors.is_empty());
        }
        // A trapping caller, some crashes: results in order, and afterwards only the tasks'
        // EXIT messages in the mailbox (no reply, no DOWN).
        process::trap_exit(true);
        let mut tasks: Vec<_> = (0..200u32)
            .map(|i| {
                task::async_(move || {
                    if i % 7 == 0 {
                        otp::exit(ExitReason::custom("seven"));
                    }
                    i
                })
            })
            .collect();
        let pids: Vec<AnyPid> = tasks.iter().map(|t| t.pid().clone()).collect();
        let results = task::yield_many(&mut tasks, PROMPTLY);
        for (i, r) in (0u32..).zip(&results) {
            let expected = if i % 7 == 0 {
                Outcome::Exit(ExitReason::custom("seven"))
            } else {
                Outcome::Ok(i)
            };
            assert_eq!(r.as_ref(), Some(&expected), "task {i}");
        }
        for pid in &pids {
            exit_of(&mut mb, pid);
        }
        let left = flush(&mut mb);
        assert_eq!(left.len(), 200);
        assert!(left.iter().all(|m| matches!(m, Message::Exit { .. })));
    });
}

// ===== start / start_link / child_spec =====

#[test]
fn start_is_not_linked_and_its_crash_spares_the_caller() {
    run(|mut mb: Mailbox<()>| {
        let gate = Latch::default();
        let door = gate.clone();
        let pid = task::start(move || {
            door.wait();
            otp::exit(ExitReason::custom("boom"));
        });
        assert!(!process::info(otp::self_pid()).unwrap().links.contains(&pid));
        let watch = process::monitor(&pid);
        gate.open();
        assert_eq!(down_of(&mut mb, watch), ExitReason::custom("boom"));
        assert!(flush(&mut mb).is_empty());
    });
}

#[test]
fn start_link_is_linked() {
    let reason = exit_reason_of(|| {
        let pid = task::start_link(|| otp::exit(ExitReason::custom("linked_boom")));
        let _ = pid;
        otp::sleep(FOREVER);
    });
    assert_eq!(reason, ExitReason::custom("linked_boom"));
}

#[test]
fn child_spec_runs_a_temporary_task_under_a_supervisor() {
    run(|mut mb: Mailbox<AnyPid>| {
        use otp::supervisor::{self, Options};
        let me = mb.pid();
        let gate = Latch::default();
        let door = gate.clone();
        let spec = task::child_spec("once", move || {
            me.send(otp::self_pid());
            door.wait();
        });
        let sup = supervisor::start_link(vec![spec], Options::default()).unwrap();
        let pid = recv(&mut mb);
        let watch = process::monitor(&pid);
        gate.open();
        assert_eq!(down_of(&mut mb, watch), ExitReason::Normal);
        // The supervisor heard of the exit (its EXIT went out before our DOWN) before it
        // handles this call: temporary, the finished task is forgotten, not restarted.
        assert_eq!(sup.count_children().unwrap().specs, 0);
    });
}

#[test]
fn the_root_process_can_be_a_task_owner_too() {
    // The test harness' root, with its own result type.
    let r = block_on(|| task::async_(|| "from the root").await_());
    assert_eq!(r, Ok("from the root"));
}

// ===== in a GenServer =====

/// Starts a task in `init` and answers calls with its result, learning that it finished from
/// the `DOWN` in `handle_info`, as an Elixir GenServer matches the task's messages.
struct Fetcher {
    task: Option<Task<u32>>,
    result: Option<Outcome<u32>>,
    waiting: Option<From<Outcome<u32>>>,
}

impl GenServer for Fetcher {
    type Call = ();
    type Reply = Outcome<u32>;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        self.task = Some(task::async_(|| 7));
        InitResult::ok()
    }

    fn handle_call(&mut self, (): (), from: From<Outcome<u32>>) -> CallResult<Outcome<u32>> {
        match self.result.take() {
            Some(r) => CallResult::reply(r),
            None => {
                self.waiting = Some(from);
                CallResult::noreply()
            }
        }
    }

    fn handle_info(&mut self, info: Info<()>) -> CastResult {
        if let Info::Down { reference, .. } = info {
            if let Some(mut t) = self.task.take_if(|t| t.reference() == reference) {
                let r = t.yield_(Duration::ZERO).expect("the task is done");
                match self.waiting.take() {
                    Some(from) => {
                        from.reply(r);
                    }
                    None => self.result = Some(r),
                }
            }
        }
        CastResult::noreply()
    }
}

#[test]
fn a_gen_server_owns_a_task_and_learns_of_its_end_from_the_down() {
    run(|| {
        let s = gen_server::start_link(Fetcher {
            task: None,
            result: None,
            waiting: None,
        })
        .unwrap();
        assert_eq!(s.call(()), Ok(Outcome::Ok(7)));
    });
}

#[test]
fn tasks_and_task_supervisors_can_be_sent() {
    fn send<T: Send>() {}
    send::<Task<String>>();
    send::<task::TaskSupervisor>();
    send::<TaskExit>();
}
