//! Chapter 5, "Tasks and agents": failure semantics of tasks, bounded streams, supervised
//! tasks, agents, and the first step of the KV store: a bucket.

use std::{collections::HashMap, time::Duration};

use otp::agent::{self, Agent};
use otp::dynamic_supervisor::Options;
use otp::gen_server::{CallError, StartError};
use otp::task::{self, AwaitError, OnTimeout, Outcome};
use otp::{ExitReason, Mailbox, Message};

// ANCHOR: crash
#[test]
fn a_crashing_task_takes_its_owner_down() {
    otp::run(|mut mb: Mailbox<()>| {
        // The owner is a process of its own, so that we can watch it die.
        let (_owner, watch) = otp::spawn_monitor(|| {
            let doomed = task::async_(|| -> u32 { panic!("no database") });
            let _ = doomed.await_(); // never returns: the link ends this process first
            unreachable!();
        });
        let Message::Down {
            reference, reason, ..
        } = mb.receive_message()
        else {
            unreachable!()
        };
        assert_eq!(reference, watch);
        assert!(matches!(reason, ExitReason::Panic(p) if p.message() == "no database"));
    });
}
// ANCHOR_END: crash

// ANCHOR: try_await
#[test]
fn failures_as_values() {
    otp::run(|| {
        // A timeout as a value: the task keeps running, and its late reply is dropped.
        let slow = task::async_(|| {
            otp::sleep(Duration::from_millis(200));
            "late"
        });
        assert_eq!(
            slow.try_await(Duration::from_millis(10)),
            Err(AwaitError::Timeout)
        );

        // A crash as a value: trap exits, so the link delivers a message instead of a death.
        otp::process::trap_exit(true);
        let doomed = task::async_(|| -> u32 { otp::exit(ExitReason::custom("no_disk")) });
        assert_eq!(
            doomed.try_await(Duration::from_secs(5)),
            Err(AwaitError::Exit(ExitReason::custom("no_disk")))
        );
    });
}
// ANCHOR_END: try_await

// ANCHOR: bounded
#[test]
fn bounded_concurrency_with_timeouts() {
    otp::run(|| {
        // Twenty jobs, at most four at a time; a job that takes too long is killed and
        // becomes an `Exit(:timeout)` element instead of ending the caller.
        let results: Vec<Outcome<u64>> = task::async_stream(1..=20u64, |n| {
            if n == 7 {
                otp::sleep(Duration::from_secs(10)); // stuck
            }
            n * 10
        })
        .max_concurrency(4)
        .timeout(Duration::from_millis(200))
        .on_timeout(OnTimeout::KillTask)
        .collect();

        let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Outcome::is_ok);
        assert_eq!(ok.len(), 19);
        assert_eq!(failed, [Outcome::Exit(ExitReason::custom("timeout"))]);
    });
}
// ANCHOR_END: bounded

// ANCHOR: nolink
#[test]
fn supervised_tasks_that_may_fail() {
    otp::run(|| {
        let tasks = task::supervisor::start_link(Options::new()).unwrap();
        // `async_nolink`: not linked to us, so its crash is only ever a value.
        let risky = tasks
            .async_nolink(|| -> u32 { panic!("flaky network") })
            .unwrap();
        match risky.try_await(Duration::from_secs(5)) {
            Err(AwaitError::Exit(ExitReason::Panic(p))) => {
                assert_eq!(p.message(), "flaky network")
            }
            other => panic!("expected a crash, got {other:?}"),
        }
        // We are still here, and so is the task supervisor.
        assert_eq!(tasks.async_nolink(|| 2 + 2).unwrap().await_(), 4);
    });
}
// ANCHOR_END: nolink

// ANCHOR: agent
#[test]
fn an_agent_is_state_in_a_process() {
    otp::run(|| {
        let counter: Agent<u64> = agent::start_link(|| 0).unwrap();
        counter.update(|n| *n += 1).unwrap(); // a call: waits until it is done
        counter.cast(|n| *n += 10).unwrap(); // a cast: returns at once
        assert_eq!(counter.get(|n| *n), Ok(11));

        // The function runs in the agent's process, not in ours.
        let me = otp::self_pid();
        let runs_in = counter.get(|_| otp::self_pid()).unwrap();
        assert_ne!(runs_in, me);
        assert_eq!(Some(runs_in), counter.pid());
    });
}
// ANCHOR_END: agent

// ANCHOR: bucket
/// A bucket of the key-value store: a map from keys to values, in a process of its own
/// (Mix and OTP's `KV.Bucket`).
#[derive(Clone, Debug)]
pub struct Bucket(Agent<HashMap<String, String>>);

impl Bucket {
    /// Starts a new, empty bucket, linked to the caller.
    pub fn start_link() -> Result<Bucket, StartError> {
        agent::start_link(HashMap::new).map(Bucket)
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Result<Option<String>, CallError> {
        let key = key.to_owned();
        self.0.get(move |map| map.get(&key).cloned())
    }

    /// Stores `value` under `key`.
    pub fn put(&self, key: &str, value: &str) -> Result<(), CallError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.0.update(move |map| {
            map.insert(key, value);
        })
    }

    /// Deletes `key`, returning the value it had.
    pub fn delete(&self, key: &str) -> Result<Option<String>, CallError> {
        let key = key.to_owned();
        self.0.get_and_update(move |map| map.remove(&key))
    }
}
// ANCHOR_END: bucket

// ANCHOR: bucket_test
#[test]
fn a_bucket_stores_values_by_key() {
    otp::run(|| {
        let bucket = Bucket::start_link().unwrap();
        assert_eq!(bucket.get("milk"), Ok(None));

        bucket.put("milk", "3").unwrap();
        assert_eq!(bucket.get("milk"), Ok(Some("3".to_owned())));

        assert_eq!(bucket.delete("milk"), Ok(Some("3".to_owned())));
        assert_eq!(bucket.get("milk"), Ok(None));
    });
}
// ANCHOR_END: bucket_test

// ANCHOR: bucket_shared
#[test]
fn a_bucket_is_shared_by_its_clients() {
    otp::run(|| {
        let bucket = Bucket::start_link().unwrap();
        // A handle is cheap to clone and to send: every clone reaches the same process.
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let bucket = bucket.clone();
                task::async_(move || bucket.put(&format!("item{i}"), "1"))
            })
            .collect();
        for result in task::await_many(tasks) {
            result.unwrap();
        }
        assert_eq!(bucket.get("item7"), Ok(Some("1".to_owned())));
    });
}
// ANCHOR_END: bucket_shared
