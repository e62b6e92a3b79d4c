//! Chapter 7, "The generated client": the KV registry of step 3 again, written with
//! `#[otp::gen_server]`, plus deferred replies through `ReplyTo` and named handles.

use std::{collections::HashMap, convert::Infallible, time::Duration};

use otp::agent::{self, Agent};
use otp::gen_server::{CallError, CallResult, Info, ReplyTo, StartOptions};
use otp::supervisor::{self, Options, Strategy};
use otp::{process, ExitReason, Ref};

/// A bucket, as in step 1: a map in an agent.
type Bucket = Agent<HashMap<String, String>>;

// ANCHOR: registry
/// The bucket registry: names to buckets, and each bucket's monitor back to its name.
#[derive(Debug, Default)]
struct KvRegistry {
    names: HashMap<String, Bucket>,
    refs: HashMap<Ref, String>,
}

#[otp::gen_server]
impl KvRegistry {
    /// The bucket called `name`, if there is one.
    #[call]
    fn lookup(&self, name: String) -> Option<Bucket> {
        self.names.get(&name).cloned()
    }

    /// The bucket called `name`, created if there is none.
    #[call]
    fn create(&mut self, name: String) -> Bucket {
        if let Some(bucket) = self.names.get(&name) {
            return bucket.clone();
        }
        let bucket: Bucket = agent::start(HashMap::new).expect("a bucket starts");
        let pid = bucket.pid().expect("a started bucket has a pid");
        self.refs.insert(process::monitor(&pid), name.clone());
        self.names.insert(name, bucket.clone());
        bucket
    }

    /// How many buckets there are.
    #[call]
    fn count(&self) -> usize {
        self.names.len()
    }

    /// A bucket's DOWN: forget it. (No plain messages: `Infallible`.)
    #[handle_info]
    fn forget(&mut self, info: Info<Infallible>) {
        if let Info::Down { reference, .. } = info {
            if let Some(name) = self.refs.remove(&reference) {
                self.names.remove(&name);
            }
        }
    }
}
// ANCHOR_END: registry

// ANCHOR: registry_test
#[test]
fn the_generated_client() {
    otp::run(|| {
        let registry = KvRegistryClient::start_link(KvRegistry::default()).unwrap();
        assert_eq!(
            registry.lookup("shopping".into()).unwrap().map(|_| ()),
            None
        );

        let bucket = registry.create("shopping".into()).unwrap();
        bucket
            .update(|m| {
                m.insert("eggs".into(), "12".into());
            })
            .unwrap();
        let found = registry.lookup("shopping".into()).unwrap().unwrap();
        assert_eq!(found.get(|m| m.get("eggs").cloned()), Ok(Some("12".into())));

        // Every call has a `_timeout` twin, and returns the same typed errors.
        assert_eq!(registry.count_timeout(Duration::from_secs(1)), Ok(1));

        // A bucket that dies is forgotten once the registry has handled its DOWN.
        process::exit(bucket.pid().unwrap(), ExitReason::Kill);
        while registry.count() != Ok(0) {
            otp::yield_now();
        }
    });
}
// ANCHOR_END: registry_test

// ANCHOR: reply_to
/// A server that answers some calls later, from another process.
struct Doubler;

#[otp::gen_server]
impl Doubler {
    /// Answers from a helper process; the server is free again at once.
    #[call]
    fn double(&mut self, n: u64, reply_to: ReplyTo<Self, u64>) -> CallResult<u64> {
        otp::spawn(move || {
            otp::sleep(Duration::from_millis(10));
            reply_to.reply(n * 2);
        });
        CallResult::noreply()
    }
}

#[test]
fn a_deferred_reply() {
    otp::run(|| {
        let doubler = DoublerClient::start_link(Doubler).unwrap();
        assert_eq!(doubler.double(21), Ok(42));
    });
}
// ANCHOR_END: reply_to

// ANCHOR: supervised
#[test]
fn a_named_registry_under_a_supervisor() {
    otp::run(|| {
        // The generated child spec starts the server linked to the supervisor, by name.
        let spec = KvRegistryClient::child_spec_with(
            "registry",
            StartOptions::new().name("kv_registry"),
            KvRegistry::default,
        );
        let sup = supervisor::start_link(vec![spec], Options::new(Strategy::OneForOne)).unwrap();

        // A named handle finds whichever process holds the name, at every call.
        let registry = KvRegistryClient::named("kv_registry");
        registry.create("shopping".into()).unwrap();
        let first = registry.pid().unwrap();

        // Kill it: the supervisor starts a fresh one under the same name, and the same
        // handle reaches it (with fresh state: the buckets are forgotten).
        process::exit(&first, ExitReason::Kill);
        let count = loop {
            match registry.count() {
                Ok(n) if registry.pid().is_some_and(|p| p != first) => break n,
                Ok(_) | Err(CallError::NoProc) | Err(CallError::Exit(_)) => otp::yield_now(),
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(count, 0);
        sup.stop(ExitReason::Normal, Duration::from_secs(5))
            .unwrap();
    });
}
// ANCHOR_END: supervised
