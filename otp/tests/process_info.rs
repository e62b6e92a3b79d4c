//! `process::info` (spec 3.10): status, where a process waits, queue length, reductions,
//! memory, registered name, initial call, dead pids and the `trap_exit` flag.

mod common;
use common::*;
use std::time::Duration;

use otp::{
    process::{self, Status},
    Mailbox, Pid,
};

/// Waits until `pid` is parked (status `Waiting`).
#[track_caller]
fn wait_parked(pid: &Pid<impl Send + 'static>) {
    wait_until("the process is waiting", || {
        process::info(pid).is_some_and(|i| i.status == Status::Waiting)
    });
}

#[test]
fn info_of_self_is_running() {
    run(|_: Mailbox<u8>| {
        let me = process::info(otp::self_pid()).expect("self is alive");
        assert_eq!(me.status, Status::Running);
        assert_eq!(me.pid, otp::self_pid());
        assert_eq!(me.message_queue_len, 0);
        assert_eq!(me.registered_name, None);
        assert!(!me.trap_exit);
        assert_eq!(
            me.current_location, None,
            "a running process is not blocked"
        );
        assert!(!me.initial_call.is_empty());
        assert_eq!(me.mailbox_type, "u8");
    });
}

#[test]
fn a_process_blocked_in_receive_is_waiting_at_its_receive() {
    run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        let child = otp::spawn(move |mut cmb: Mailbox<()>| {
            me.send(line!() + 1);
            cmb.receive();
        });
        let receive_line = recv(&mut mb);
        wait_parked(&child);
        let info = process::info(&child).expect("the child is alive");
        assert_eq!(info.status, Status::Waiting);
        let at = info
            .current_location
            .expect("a waiting process has a location");
        assert!(
            at.file().ends_with("process_info.rs"),
            "blocked at {}:{}, not in this file",
            at.file(),
            at.line()
        );
        assert_eq!(
            at.line(),
            receive_line,
            "blocked at {}:{}",
            at.file(),
            at.line()
        );
        child.send(());
    });
}

#[test]
fn a_sleeping_process_is_waiting_at_its_sleep() {
    run(|mut mb: Mailbox<u32>| {
        let me = mb.pid();
        let child = otp::spawn(move || {
            me.send(line!() + 1);
            otp::sleep(Duration::from_secs(60));
        });
        let sleep_line = recv(&mut mb);
        wait_parked(&child);
        let at = process::info(&child).unwrap().current_location.unwrap();
        assert!(at.file().ends_with("process_info.rs"), "{}", at.file());
        assert_eq!(at.line(), sleep_line);
        process::exit(&child, otp::ExitReason::Kill);
    });
}

#[test]
fn a_spawned_process_that_has_not_run_is_runnable() {
    // One scheduler, held by the root: the child is queued and cannot have run.
    run_on(1, || {
        let child = otp::spawn(|mut cmb: Mailbox<()>| cmb.receive());
        let info = process::info(&child).expect("alive");
        assert_eq!(info.status, Status::Runnable);
        assert_eq!(info.current_location, None);
        child.send(());
    });
}

#[test]
fn message_queue_len_grows_while_a_process_is_parked() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        // Parked in a receive that only a 0 satisfies; everything else piles up.
        let child = otp::spawn(move |mut cmb: Mailbox<u64>| {
            cmb.receive_if(|n| *n == 0);
            me.send(());
        });
        wait_parked(&child);
        assert_eq!(process::info(&child).unwrap().message_queue_len, 0);
        for i in 1..=5 {
            child.send(i);
            assert_eq!(process::info(&child).unwrap().message_queue_len, i as usize);
        }
        child.send(0);
        recv(&mut mb);
    });
}

#[test]
fn memory_is_positive_and_grows_with_queued_messages() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let child = otp::spawn(move |mut cmb: Mailbox<[u64; 32]>| {
            cmb.receive_if(|m| m[0] == 0);
            me.send(());
        });
        wait_parked(&child);
        let empty = process::info(&child).unwrap().memory;
        assert!(empty > 0);
        for i in 1..=1000u64 {
            child.send([i; 32]);
        }
        let full = process::info(&child).unwrap().memory;
        // 1000 messages of 256 bytes each.
        assert!(
            full >= empty + 256 * 1000,
            "memory went from {empty} to {full} bytes with 1000 queued 256-byte messages"
        );
        let own = process::info(otp::self_pid()).unwrap().memory;
        assert!(own > 0);
        child.send([0; 32]);
        recv(&mut mb);
    });
}

#[test]
fn reductions_increase_with_work() {
    run(|mut mb: Mailbox<()>| {
        let before = process::info(otp::self_pid()).unwrap().reductions;
        let me = mb.pid();
        for _ in 0..1000 {
            me.send(());
            mb.receive();
        }
        otp::yield_now();
        let after = process::info(otp::self_pid()).unwrap().reductions;
        assert!(after > before, "reductions {before} -> {after}");

        // Another process's count includes what it spends with consume_reductions.
        let me = mb.pid();
        let worker = otp::spawn(move |mut wmb: Mailbox<()>| loop {
            wmb.receive();
            for _ in 0..10_000 {
                otp::consume_reductions(1);
            }
            me.send(());
        });
        wait_parked(&worker);
        let idle = process::info(&worker).unwrap().reductions;
        worker.send(());
        recv(&mut mb);
        wait_parked(&worker);
        let busy = process::info(&worker).unwrap().reductions;
        assert!(
            busy >= idle + 10_000,
            "spent 10000 reductions, counter went {idle} -> {busy}"
        );
    });
}

#[test]
fn registered_name_follows_register_and_unregister() {
    run(|| {
        let child = otp::spawn(|mut cmb: Mailbox<()>| cmb.receive());
        assert_eq!(process::info(&child).unwrap().registered_name, None);
        process::register("info_named", &child).unwrap();
        assert_eq!(
            process::info(&child).unwrap().registered_name.as_deref(),
            Some("info_named")
        );
        process::unregister("info_named").unwrap();
        assert_eq!(process::info(&child).unwrap().registered_name, None);
        child.send(());
    });
}

fn long_running_worker(label: &'static str, nap: Duration) {
    let _ = label;
    otp::sleep(nap);
}

#[test]
fn initial_call_names_the_spawned_function() {
    run(|| {
        let pid = otp::spawn_apply(long_running_worker, ("w", Duration::from_secs(60)));
        let info = process::info(&pid).expect("alive");
        assert!(
            info.initial_call.ends_with("long_running_worker"),
            "initial_call = {:?}",
            info.initial_call
        );
        process::exit(&pid, otp::ExitReason::Kill);
        // A closure's initial call names where it was written.
        let child = otp::spawn(|mut cmb: Mailbox<()>| cmb.receive());
        let call = process::info(&child).unwrap().initial_call;
        assert!(call.contains("process_info"), "initial_call = {call:?}");
        child.send(());
    });
}

#[test]
fn info_of_a_dead_pid_is_none() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let child = otp::spawn(move || me.send(()));
        recv(&mut mb);
        wait_until("the child is dead", || !process::alive(&child));
        assert!(process::info(&child).is_none());
        // Killed, too.
        let victim = otp::spawn(|mut vmb: Mailbox<()>| vmb.receive());
        process::exit(&victim, otp::ExitReason::Kill);
        wait_until("the victim is dead", || process::info(&victim).is_none());
        assert!(!process::alive(&victim));
    });
}

#[test]
fn trap_exit_returns_the_previous_value() {
    run(|| {
        assert!(!process::info(otp::self_pid()).unwrap().trap_exit);
        assert!(!process::trap_exit(true));
        assert!(process::info(otp::self_pid()).unwrap().trap_exit);
        assert!(process::trap_exit(true));
        assert!(process::trap_exit(false));
        assert!(!process::info(otp::self_pid()).unwrap().trap_exit);
        assert!(!process::trap_exit(false));
    });
}

#[test]
fn trap_exit_is_visible_from_another_process() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let child = otp::spawn(move |mut cmb: Mailbox<()>| {
            process::trap_exit(true);
            me.send(());
            cmb.receive();
        });
        recv(&mut mb);
        assert!(process::info(&child).unwrap().trap_exit);
        child.send(());
    });
}

#[test]
fn an_idle_gen_server_s_memory_counts_its_state() {
    use otp::gen_server::{self, CallResult, From, GenServer};

    struct Small(u64);
    struct Big([u64; 128]);
    impl GenServer for Small {
        type Call = ();
        type Reply = u64;
        type Cast = ();
        type Info = ();
        type Continue = ();
        fn handle_call(&mut self, (): (), _from: From<u64>) -> CallResult<u64> {
            self.0 += 1;
            CallResult::reply(self.0)
        }
    }
    impl GenServer for Big {
        type Call = ();
        type Reply = u64;
        type Cast = ();
        type Info = ();
        type Continue = ();
        fn handle_call(&mut self, (): (), _from: From<u64>) -> CallResult<u64> {
            self.0[0] += 1;
            CallResult::reply(self.0[0])
        }
    }

    run(|_: Mailbox<()>| {
        let small = gen_server::start(Small(0)).unwrap();
        let big = gen_server::start(Big([0; 128])).unwrap();
        small.call(()).unwrap();
        big.call(()).unwrap();
        let (small_pid, big_pid) = (small.pid().unwrap(), big.pid().unwrap());
        for pid in [&small_pid, &big_pid] {
            wait_until("the server is idle", || {
                process::info(pid).is_some_and(|i| i.status == Status::Waiting)
            });
        }
        let small_mem = process::info(&small_pid).unwrap().memory;
        let big_mem = process::info(&big_pid).unwrap().memory;
        // Idle, without a stack: the record and the boxed state, nothing else.
        assert_eq!(big_mem - small_mem, 127 * 8);
        assert!(small_mem < 256, "an idle server reports {small_mem} bytes");
    });
}
