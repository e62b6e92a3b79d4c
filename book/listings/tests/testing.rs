//! Chapter 11, "Testing OTP code": `#[otp::test]`, mailbox assertions, supervised starts, and
//! tests of the KV store's tree.

use std::{collections::HashMap, time::Duration};

use otp::agent::{self, Agent};
use otp::dynamic_supervisor::{self, DynamicSupervisor};
use otp::gen_server::{CallError, StartError, StartOptions};
use otp::registry::{Keys, Registry};
use otp::supervisor::{self, ChildError, ChildSpec, Options, Restart, Strategy, Supervisor};
use otp::testing::{
    assert_receive, assert_received, refute_receive, start_supervised, stop_supervised,
};
use otp::{process, ExitReason, Mailbox, Pid};

// ANCHOR: first
/// What the echo server sends back.
#[derive(Debug, PartialEq)]
enum Echo {
    Text(String),
    Upper(String),
}

/// An echo server: answers each text twice, as is and in capitals.
fn echo(reply_to: Pid<Echo>) -> Pid<String> {
    otp::spawn(move |mut mb: Mailbox<String>| loop {
        let text = mb.receive();
        reply_to.send(Echo::Upper(text.to_uppercase()));
        reply_to.send(Echo::Text(text));
    })
}

/// A test is a process: the root of a fresh runtime, with its own mailbox.
#[otp::test]
fn echoes_twice(mut mb: Mailbox<Echo>) {
    let server = echo(mb.pid());
    server.send("ping".to_owned());

    // Waits (100 ms by default) for a matching message, skipping others, and binds its parts.
    assert_receive!(mb, Echo::Text(text), Duration::from_secs(1));
    assert_eq!(text, "ping");
    // The skipped message is still there: `assert_received!` looks without waiting.
    assert_received!(mb, Echo::Upper(upper) if upper == "PING");
    // And nothing else arrives.
    refute_receive!(mb, _, Duration::from_millis(20));
}
// ANCHOR_END: first

// ANCHOR: failure
/// A failed assertion says what the mailbox holds instead.
#[otp::test]
#[should_panic(expected = "the mailbox holds 2 messages (oldest first):")]
fn a_missing_message_fails_with_the_mailbox_in_the_message(mut mb: Mailbox<Echo>) {
    let server = echo(mb.pid());
    server.send("ping".to_owned());
    // The echo sends `Upper` then `Text`, never a `Text` of "pong".
    otp::sleep(Duration::from_millis(20));
    assert_receive!(mb, Echo::Text(t) if t == "pong", Duration::from_millis(50));
}
// ANCHOR_END: failure

// ANCHOR: result
/// A test may return a `Result`: an `Err` fails it, so `?` works.
#[otp::test(schedulers = 1, timeout = "5s")]
fn an_agent_counts() -> Result<(), CallError> {
    let counter: Agent<u32> = agent::start_link(|| 0).map_err(|_| CallError::NoProc)?;
    counter.update(|n| *n += 1)?;
    assert_eq!(counter.get(|n| *n)?, 1);
    Ok(())
}
// ANCHOR_END: result

// ANCHOR: tree
/// A bucket: a map in an agent.
type Bucket = Agent<HashMap<String, String>>;

/// Bucket names to bucket processes.
type Buckets = Registry<String, ()>;

/// Step 4's tree, with the bucket supervisor's name passed in so tests can run side by side.
fn start_kv(buckets: &Buckets, bucket_sup: &str) -> Result<Supervisor, StartError> {
    let children = vec![
        buckets.child_spec("bucket_names"),
        dynamic_supervisor::child_spec(
            "bucket_sup",
            dynamic_supervisor::Options::new().name(bucket_sup),
        ),
    ];
    supervisor::start_link(children, Options::new(Strategy::RestForOne))
}

/// Step 4's `create_bucket`.
fn create_bucket(buckets: &Buckets, bucket_sup: &str, name: &str) -> Result<Bucket, ChildError> {
    let via = buckets.via(name.to_owned());
    let spec = ChildSpec::new(format!("bucket {name}"), move || {
        let options = StartOptions::new().name(via.clone());
        agent::start_with(options, HashMap::<String, String>::new, true)
    })
    .restart(Restart::Temporary);
    match DynamicSupervisor::named(bucket_sup).start_child(spec) {
        Ok(_) | Err(ChildError::Start(StartError::AlreadyStarted(_))) => {
            Ok(Agent::named(buckets.via(name.to_owned())))
        }
        Err(e) => Err(e),
    }
}

/// Starts the whole tree under the test's supervisor: it is stopped, children first, when the
/// test ends, however it ends.
fn start_kv_for_test(bucket_sup: &'static str) -> Buckets {
    let buckets: Buckets = Registry::new(Keys::Unique);
    let registry = buckets.clone();
    start_supervised(ChildSpec::supervisor("kv", move || {
        start_kv(&registry, bucket_sup)
    }))
    .expect("the tree starts");
    buckets
}
// ANCHOR_END: tree

// ANCHOR: tree_tests
#[otp::test]
fn buckets_are_created_once() {
    let buckets = start_kv_for_test("buckets_once");
    let a = create_bucket(&buckets, "buckets_once", "shopping").unwrap();
    a.update(|m| drop(m.insert("milk".into(), "1".into())))
        .unwrap();
    let b = create_bucket(&buckets, "buckets_once", "shopping").unwrap();
    assert_eq!(b.get(|m| m.len()), Ok(1));
}

#[otp::test]
fn a_crashed_bucket_is_gone_and_the_others_stay(mut mb: Mailbox<()>) {
    let buckets = start_kv_for_test("buckets_crash");
    create_bucket(&buckets, "buckets_crash", "shopping").unwrap();
    create_bucket(&buckets, "buckets_crash", "work").unwrap();

    // Crash one, and wait for its DOWN instead of sleeping: no timing guesswork.
    let shopping = buckets.whereis("shopping").unwrap();
    let watch = process::monitor(&shopping);
    process::exit(&shopping, ExitReason::Kill);
    assert_receive!(mb, DOWN(r, _, ExitReason::Killed) if r == watch);

    // Registry reads skip dead processes: the name is free at once.
    assert_eq!(buckets.whereis("shopping"), None);
    assert!(buckets.whereis("work").is_some());
    let sup = DynamicSupervisor::named("buckets_crash");
    assert_eq!(sup.count_children().unwrap().active, 1); // temporary: not restarted
}

#[otp::test]
fn stopping_the_tree_stops_the_buckets(mut mb: Mailbox<()>) {
    let buckets = start_kv_for_test("buckets_stop");
    let bucket = create_bucket(&buckets, "buckets_stop", "shopping").unwrap();
    let watch = process::monitor(bucket.pid().unwrap());
    stop_supervised("kv").unwrap();
    assert_receive!(mb, DOWN(r, _, ExitReason::Shutdown) if r == watch);
}
// ANCHOR_END: tree_tests
