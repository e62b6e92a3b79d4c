//! Chapter 8, "Supervisors": strategies, restart types, intensity and escalation, stopping,
//! start failures, and step 4 of the KV store: its supervision tree.

use std::{collections::HashMap, time::Duration};

use otp::agent::{self, Agent};
use otp::dynamic_supervisor::{self, DynamicSupervisor};
use otp::gen_server::{CallError, StartError, StartOptions};
use otp::registry::{Keys, Registry};
use otp::supervisor::{
    self, ChildError, ChildSpec, FailedToStartChild, Options, Restart, Strategy, Supervisor,
};
use otp::{process, AnyPid, ExitReason, Mailbox, Message, MessageRef};

// ANCHOR: worker
/// A child that waits forever: the supervisor's business is starting and stopping it.
fn sleeper(id: &'static str) -> ChildSpec {
    ChildSpec::new(id, || {
        Ok::<_, StartError>(otp::spawn_link(|mut mb: Mailbox<()>| mb.receive()))
    })
}

/// The pid of each child, in start order.
fn pids(sup: &Supervisor) -> Vec<AnyPid> {
    let children = sup.which_children().unwrap();
    children.into_iter().map(|c| c.pid.unwrap()).collect()
}

/// Kills the child `i` and waits until the supervisor has dealt with it.
fn kill_child(sup: &Supervisor, i: usize) {
    let before = pids(sup);
    process::exit(&before[i], ExitReason::Kill);
    while pids(sup).get(i) == before.get(i) {
        otp::yield_now();
    }
}
// ANCHOR_END: worker

// ANCHOR: strategies
#[test]
fn which_children_a_strategy_restarts() {
    otp::run(|| {
        for (strategy, restarted) in [
            (Strategy::OneForOne, [false, true, false]), // only b
            (Strategy::OneForAll, [true, true, true]),   // everyone
            (Strategy::RestForOne, [false, true, true]), // b and those started after it
        ] {
            let children = vec![sleeper("a"), sleeper("b"), sleeper("c")];
            let sup = supervisor::start_link(children, Options::new(strategy)).unwrap();
            let before = pids(&sup);
            kill_child(&sup, 1); // b crashes
            let after = pids(&sup);
            let changed: Vec<bool> = before.iter().zip(&after).map(|(b, a)| b != a).collect();
            assert_eq!(changed, restarted, "{strategy:?}");
            sup.stop(ExitReason::Normal, Duration::from_secs(5))
                .unwrap();
        }
    });
}
// ANCHOR_END: strategies

// ANCHOR: restart_types
#[test]
fn restart_types() {
    otp::run(|| {
        // A child that returns at once, normally.
        let finishes =
            |id: &'static str| ChildSpec::new(id, || Ok::<_, StartError>(otp::spawn_link(|| {})));
        let children = vec![
            // Permanent would be restarted after every exit, so it would keep finishing and
            // restarting until the intensity ran out; a permanent child is one that should
            // never stop. These two are the kinds that may:
            finishes("transient").restart(Restart::Transient), // restarted only after a crash
            finishes("temporary").restart(Restart::Temporary), // never restarted
        ];
        let sup = supervisor::start_link(children, Options::new(Strategy::OneForOne)).unwrap();
        while sup.count_children().unwrap().active > 0 {
            otp::yield_now();
        }
        // The transient child's spec stays (not running); the temporary one's is forgotten.
        let ids: Vec<Option<String>> = sup
            .which_children()
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, [Some("transient".to_owned())]);
    });
}
// ANCHOR_END: restart_types

// ANCHOR: intensity
#[test]
fn too_many_restarts_escalate() {
    otp::run(|mut mb: Mailbox<()>| {
        process::trap_exit(true); // so that the supervisor's exit is a message to us
        let crasher = ChildSpec::new("crasher", || {
            Ok::<_, StartError>(otp::spawn_link(|| otp::exit(ExitReason::custom("boom"))))
        });
        let sup = supervisor::start_link(
            vec![crasher],
            Options::new(Strategy::OneForOne)
                .max_restarts(2)
                .max_seconds(Duration::from_secs(5)),
        )
        .unwrap();
        let sup_pid = sup.pid().unwrap();
        // Two restarts are allowed; the third crash within 5 s is one too many. The
        // supervisor stops its children and exits with `shutdown`.
        let exit = mb.select(
            Duration::from_secs(5),
            |m| matches!(m, MessageRef::Exit { from, .. } if *from == sup_pid),
        );
        assert!(matches!(
            exit,
            Some(Message::Exit {
                reason: ExitReason::Shutdown,
                ..
            })
        ));
    });
}
// ANCHOR_END: intensity

// ANCHOR: failed_start
#[test]
fn a_child_that_cannot_start() {
    otp::run(|| {
        process::trap_exit(true); // a failed start_link also exits, through the link
        let broken = ChildSpec::new("db", || {
            Err::<AnyPid, _>(StartError::Stopped(ExitReason::custom("no_config")))
        });
        let started = supervisor::start_link(
            vec![sleeper("cache"), broken, sleeper("web")],
            Options::default(),
        );
        // "cache" was started and then stopped again; "web" was never started.
        // The reason is `{:shutdown, {:failed_to_start_child, "db", :no_config}}`.
        let Err(StartError::Stopped(ExitReason::ShutdownWith(detail))) = started else {
            panic!("expected a failed start, got {started:?}")
        };
        let failed = detail.downcast_ref::<FailedToStartChild>().unwrap();
        assert_eq!(failed.id, "db");
        assert_eq!(
            failed.error,
            StartError::Stopped(ExitReason::custom("no_config"))
        );
    });
}
// ANCHOR_END: failed_start

// ANCHOR: dynamic
#[test]
fn children_on_demand() {
    otp::run(|| {
        let sup =
            dynamic_supervisor::start_link(dynamic_supervisor::Options::new().max_children(2))
                .unwrap();
        let a = sup.start_child(sleeper("job")).unwrap().unwrap();
        sup.start_child(sleeper("job")).unwrap(); // no ids: children are known by pid
        assert_eq!(
            sup.start_child(sleeper("job")),
            Err(ChildError::MaxChildren)
        );

        sup.terminate_child(&a).unwrap();
        assert_eq!(sup.count_children().unwrap().active, 1);
    });
}
// ANCHOR_END: dynamic

// ANCHOR: kv_tree
/// A bucket: a map in an agent.
type Bucket = Agent<HashMap<String, String>>;

/// Bucket names to bucket processes.
type Buckets = Registry<String, ()>;

/// The KV store's tree: the bucket names first, then the supervisor of the buckets.
fn start_kv(buckets: &Buckets) -> Result<Supervisor, StartError> {
    let children = vec![
        buckets.child_spec("bucket_names"),
        dynamic_supervisor::child_spec(
            "bucket_sup",
            dynamic_supervisor::Options::new().name("kv_bucket_sup"),
        ),
    ];
    // rest_for_one: if the names go, the buckets go too; a bucket supervisor that
    // crashes takes only its buckets with it.
    supervisor::start_link(children, Options::new(Strategy::RestForOne).name("kv_sup"))
}

/// The bucket called `name`, started under the bucket supervisor if there is none.
fn create_bucket(buckets: &Buckets, name: &str) -> Result<Bucket, ChildError> {
    let via = buckets.via(name.to_owned());
    let spec = ChildSpec::new(format!("bucket {name}"), move || {
        let options = StartOptions::new().name(via.clone());
        agent::start_with(options, HashMap::<String, String>::new, true)
    })
    // A bucket that crashed has lost its data; restarting it empty under the same name
    // would mislead its clients. So buckets are never restarted.
    .restart(Restart::Temporary);
    match DynamicSupervisor::named("kv_bucket_sup").start_child(spec) {
        Ok(_) | Err(ChildError::Start(StartError::AlreadyStarted(_))) => {
            Ok(Agent::named(buckets.via(name.to_owned())))
        }
        Err(e) => Err(e),
    }
}
// ANCHOR_END: kv_tree

// ANCHOR: kv_tree_test
#[test]
fn the_kv_tree() {
    otp::run(|| {
        let buckets: Buckets = Registry::new(Keys::Unique);
        let kv = start_kv(&buckets).unwrap();

        let shopping = create_bucket(&buckets, "shopping").unwrap();
        shopping
            .update(|m| {
                m.insert("milk".into(), "1".into());
            })
            .unwrap();
        // Creating it again finds the one that exists.
        let again = create_bucket(&buckets, "shopping").unwrap();
        assert_eq!(again.get(|m| m.len()), Ok(1));

        // A bucket that crashes is gone, and only that bucket.
        create_bucket(&buckets, "work").unwrap();
        let pid = buckets.whereis("shopping").unwrap();
        process::exit(&pid, ExitReason::Kill);
        while buckets.whereis("shopping").is_some() {
            otp::yield_now();
        }
        assert_eq!(shopping.get(|m| m.len()), Err(CallError::NoProc));
        assert!(buckets.whereis("work").is_some());
        let bucket_sup = DynamicSupervisor::named("kv_bucket_sup");
        assert_eq!(bucket_sup.count_children().unwrap().active, 1);

        kv.stop(ExitReason::Normal, Duration::from_secs(5)).unwrap();
    });
}
// ANCHOR_END: kv_tree_test
