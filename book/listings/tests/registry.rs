//! Chapter 6, "Registration and the Registry": local names and their errors, the `Registry`
//! for names and pub/sub, process groups, and step 2 of the KV store: buckets by name.

use std::{collections::HashMap, time::Duration};

use otp::agent::{self, Agent};
use otp::gen_server::{CallError, StartError, StartOptions};
use otp::process::{self, RegisterError, SendErrorKind};
use otp::registry::{Keys, Registry};
use otp::{pg, ExitReason, Mailbox, Message};

// ANCHOR: names
#[test]
fn local_names() {
    otp::run(|mut mb: Mailbox<()>| {
        let pid = otp::spawn(|mut mb: Mailbox<u32>| {
            let n = mb.receive();
            assert_eq!(n, 42);
        });
        process::register("answer", &pid).unwrap();
        assert_eq!(process::whereis("answer"), Some(pid.to_any()));
        assert_eq!(process::registered(), ["answer"]);

        // Sending by name: the name's holder must take the message type.
        process::send_named("answer", 42u32).unwrap();
        let wrong = process::send_named("answer", "forty-two").unwrap_err();
        assert!(matches!(wrong.kind(), SendErrorKind::WrongType { .. }));

        // The name goes when the process exits, normally or not.
        let watch = process::monitor(&pid);
        let Message::Down { reference, .. } = mb.receive_message() else {
            unreachable!()
        };
        assert_eq!(reference, watch);
        assert_eq!(process::whereis("answer"), None);

        // Sending to a name nobody holds is an error, with the message handed back.
        let err = process::send_named("answer", 7u32).unwrap_err();
        assert!(matches!(err.kind(), SendErrorKind::NotRegistered(name) if name == "answer"));
        assert_eq!(err.into_message(), 7);
    });
}
// ANCHOR_END: names

// ANCHOR: register_errors
#[test]
fn what_register_refuses() {
    otp::run(|mut mb: Mailbox<()>| {
        let a = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        let b = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        process::register("db", &a).unwrap();

        // The name is taken...
        let taken = process::register("db", &b);
        assert!(matches!(taken, Err(RegisterError::NameTaken { owner, .. }) if owner == a));
        // ...the process already has a name...
        let named = process::register("cache", &a);
        assert!(matches!(named, Err(RegisterError::AlreadyNamed { .. })));
        // ...or it is not alive.
        process::monitor(&b);
        b.send(());
        let _down = mb.receive_message();
        assert!(matches!(
            process::register("cache", &b),
            Err(RegisterError::NotAlive(_))
        ));
        a.send(());
    });
}
// ANCHOR_END: register_errors

// ANCHOR: unique
#[test]
fn a_registry_of_unique_keys() {
    otp::run(|mut mb: Mailbox<()>| {
        // Keys are any hashable type; each entry also holds a value of the registry's type.
        let workers: Registry<(String, u32), &'static str> = Registry::new(Keys::Unique);
        let _sup = workers.start_link().unwrap();

        let pid = otp::spawn({
            let workers = workers.clone();
            move |mut mb: Mailbox<()>| {
                // A process registers itself.
                workers.register(("resizer".into(), 1), "v2").unwrap();
                mb.receive();
            }
        });
        otp::sleep(Duration::from_millis(20));
        let key = ("resizer".to_owned(), 1);
        assert_eq!(workers.lookup(&key), [(pid.to_any(), "v2")]);
        assert_eq!(workers.whereis(&key), Some(pid.to_any()));
        // Another process cannot take a key that is held.
        assert!(workers.register(key.clone(), "v3").is_err());

        // When the process exits, its keys go.
        process::monitor(&pid);
        pid.send(());
        let _down = mb.receive_message();
        assert_eq!(workers.whereis(&key), None);
    });
}
// ANCHOR_END: unique

// ANCHOR: bucket
/// A bucket, as in step 1: a map in an agent.
type Bucket = Agent<HashMap<String, String>>;

/// The bucket registry: bucket names to bucket processes.
type Buckets = Registry<String, ()>;

/// Starts a bucket registered in `buckets` under `name` (Elixir:
/// `Agent.start_link(fn -> %{} end, name: {:via, Registry, {KV, name}})`).
fn start_bucket(buckets: &Buckets, name: &str) -> Result<Bucket, StartError> {
    let options = StartOptions::new().name(buckets.via(name.to_owned()));
    agent::start_with(options, HashMap::new, true)
}

/// A handle that finds the bucket by name at every use.
fn bucket(buckets: &Buckets, name: &str) -> Bucket {
    Agent::named(buckets.via(name.to_owned()))
}
// ANCHOR_END: bucket

// ANCHOR: bucket_test
#[test]
fn buckets_by_name() {
    otp::run(|| {
        let buckets: Buckets = Registry::new(Keys::Unique);
        buckets.start_link().unwrap();

        start_bucket(&buckets, "shopping").unwrap();
        let shopping = bucket(&buckets, "shopping");
        shopping
            .update(|m| {
                m.insert("milk".into(), "1".into());
            })
            .unwrap();
        assert_eq!(
            shopping.get(|m| m.get("milk").cloned()),
            Ok(Some("1".into()))
        );

        // One process per name.
        assert!(matches!(
            start_bucket(&buckets, "shopping"),
            Err(StartError::AlreadyStarted(_))
        ));
        // A name nobody holds is an error, not a hang.
        assert_eq!(
            bucket(&buckets, "nope").get(|m| m.len()),
            Err(CallError::NoProc)
        );

        // A bucket that stops frees its name at once.
        shopping
            .stop(ExitReason::Normal, Duration::from_secs(5))
            .unwrap();
        assert_eq!(buckets.whereis("shopping"), None);
    });
}
// ANCHOR_END: bucket_test

// ANCHOR: pg
#[test]
fn process_groups() {
    otp::run(|| {
        pg::start_link().unwrap(); // the default scope: put it in your supervision tree
        let worker = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        pg::join("resizers", &worker).unwrap();
        pg::join("resizers", otp::self_pid()).unwrap();
        assert_eq!(pg::members("resizers"), [worker.to_any(), otp::self_pid()]);
        assert_eq!(pg::leave("resizers", otp::self_pid()), Ok(true));
        assert_eq!(pg::members("resizers"), [worker.to_any()]);
        worker.send(());
    });
}
// ANCHOR_END: pg
