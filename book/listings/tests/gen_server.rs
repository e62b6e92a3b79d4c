//! Chapter 7, "GenServer": timeouts, continue, deferred replies, and step 3 of the KV store:
//! a bucket registry written as a GenServer by hand (the `GenServer` trait).

use std::{collections::HashMap, time::Duration};

use otp::agent::{self, Agent};
use otp::gen_server::{
    self, CallError, CallResult, CastResult, From, GenServer, Info, InitResult, Next, Server,
};
use otp::{process, ExitReason, Ref};

// ANCHOR: registry
/// A bucket, as in step 1: a map in an agent.
pub type Bucket = Agent<HashMap<String, String>>;

/// The bucket registry's state: names to buckets, and each bucket's monitor back to its name
/// (Mix and OTP's `KV.Registry`).
#[derive(Debug, Default)]
pub struct KvRegistry {
    names: HashMap<String, Bucket>,
    refs: HashMap<Ref, String>,
}

/// What clients ask the registry, and wait for.
#[derive(Debug)]
pub enum Request {
    /// The bucket called this, if there is one.
    Lookup(String),
    /// The bucket called this, created if there is none.
    Create(String),
}

impl GenServer for KvRegistry {
    type Call = Request;
    type Reply = Option<Bucket>;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn handle_call(
        &mut self,
        request: Request,
        _from: From<Option<Bucket>>,
    ) -> CallResult<Option<Bucket>> {
        match request {
            Request::Lookup(name) => CallResult::reply(self.names.get(&name).cloned()),
            Request::Create(name) => {
                if let Some(bucket) = self.names.get(&name) {
                    return CallResult::reply(Some(bucket.clone()));
                }
                // Not linked: a bucket that crashes must not take the registry down. The
                // monitor tells us when a bucket is gone, however it went.
                let bucket: Bucket = agent::start(HashMap::new).expect("a bucket starts");
                let pid = bucket.pid().expect("a started bucket has a pid");
                self.refs.insert(process::monitor(&pid), name.clone());
                self.names.insert(name, bucket.clone());
                CallResult::reply(Some(bucket))
            }
        }
    }

    fn handle_info(&mut self, info: Info<()>) -> CastResult {
        if let Info::Down { reference, .. } = info {
            if let Some(name) = self.refs.remove(&reference) {
                self.names.remove(&name);
            }
        }
        CastResult::noreply()
    }
}
// ANCHOR_END: registry

// ANCHOR: client
/// The client API: what the rest of the program calls. It hides the messages.
pub mod kv_registry {
    use super::*;

    /// Starts a registry linked to the caller.
    pub fn start_link() -> Result<Server<KvRegistry>, gen_server::StartError> {
        gen_server::start_link(KvRegistry::default())
    }

    /// The bucket called `name`, if there is one.
    pub fn lookup(registry: &Server<KvRegistry>, name: &str) -> Result<Option<Bucket>, CallError> {
        registry.call(Request::Lookup(name.to_owned()))
    }

    /// The bucket called `name`, created if there is none.
    pub fn create(registry: &Server<KvRegistry>, name: &str) -> Result<Bucket, CallError> {
        let bucket = registry.call(Request::Create(name.to_owned()))?;
        Ok(bucket.expect("create always answers with a bucket"))
    }
}
// ANCHOR_END: client

// ANCHOR: registry_test
#[test]
fn the_registry_spawns_buckets() {
    otp::run(|| {
        let registry = kv_registry::start_link().unwrap();
        assert!(kv_registry::lookup(&registry, "shopping")
            .unwrap()
            .is_none());

        let bucket = kv_registry::create(&registry, "shopping").unwrap();
        bucket
            .update(|m| {
                m.insert("milk".into(), "1".into());
            })
            .unwrap();

        let again = kv_registry::lookup(&registry, "shopping").unwrap().unwrap();
        assert_eq!(again.get(|m| m.get("milk").cloned()), Ok(Some("1".into())));
    });
}

/// Asks until the registry has no bucket called `name`: it learns of an exit from a `DOWN`
/// message, which it may not have handled yet when we ask.
fn until_forgotten(registry: &Server<KvRegistry>, name: &str) {
    while kv_registry::lookup(registry, name).unwrap().is_some() {
        otp::yield_now();
    }
}

#[test]
fn the_registry_forgets_buckets_that_exit() {
    otp::run(|| {
        let registry = kv_registry::start_link().unwrap();

        // A bucket that stops normally is forgotten...
        let bucket = kv_registry::create(&registry, "shopping").unwrap();
        bucket
            .stop(ExitReason::Normal, Duration::from_secs(5))
            .unwrap();
        until_forgotten(&registry, "shopping");

        // ...and so is one that crashes.
        let bucket = kv_registry::create(&registry, "work").unwrap();
        process::exit(bucket.pid().unwrap(), ExitReason::Kill);
        until_forgotten(&registry, "work");

        // The registry itself was never affected.
        assert!(kv_registry::create(&registry, "work").is_ok());
    });
}
// ANCHOR_END: registry_test

// ANCHOR: timeout
/// A cache entry that forgets its value after a quiet period.
struct Forgetful(Option<String>);

impl GenServer for Forgetful {
    type Call = ();
    type Reply = Option<String>;
    type Cast = String;
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, (): (), _from: From<Option<String>>) -> CallResult<Option<String>> {
        CallResult::Reply(self.0.clone(), Next::Timeout(Duration::from_millis(50)))
    }

    fn handle_cast(&mut self, value: String) -> CastResult {
        self.0 = Some(value);
        // If no message arrives within 50 ms, handle_info gets Info::Timeout.
        CastResult::NoReply(Next::Timeout(Duration::from_millis(50)))
    }

    fn handle_info(&mut self, info: Info<()>) -> CastResult {
        if let Info::Timeout = info {
            self.0 = None;
        }
        CastResult::noreply()
    }
}

#[test]
fn an_idle_timeout() {
    otp::run(|| {
        let cache = gen_server::start_link(Forgetful(None)).unwrap();
        cache.cast("remember me".into()).unwrap();
        assert_eq!(cache.call(()), Ok(Some("remember me".into())));
        otp::sleep(Duration::from_millis(150));
        assert_eq!(cache.call(()), Ok(None));
    });
}
// ANCHOR_END: timeout

// ANCHOR: continue
/// A server whose slow set-up runs after `start` has returned.
struct Warm {
    table: Vec<u64>,
}

impl GenServer for Warm {
    type Call = usize;
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = usize;

    fn init(&mut self) -> InitResult<usize> {
        // Return at once, so the starter (a supervisor, say) is not held up; the work
        // continues in handle_continue before any message is handled.
        InitResult::Ok(Next::Continue(1_000))
    }

    fn handle_continue(&mut self, size: usize) -> CastResult<usize> {
        self.table = (0..size as u64).map(|i| i * i).collect();
        CastResult::noreply()
    }

    fn handle_call(&mut self, i: usize, _from: From<u64>) -> CallResult<u64, usize> {
        CallResult::reply(self.table[i])
    }
}

#[test]
fn continue_after_init() {
    otp::run(|| {
        let warm = gen_server::start_link(Warm { table: vec![] }).unwrap();
        assert_eq!(warm.call(12), Ok(144)); // the table is there by the first call
    });
}
// ANCHOR_END: continue

// ANCHOR: deferred
/// A server that hands each request to a task and replies when the task is done, so it
/// stays free for other requests meanwhile.
struct Slow;

impl GenServer for Slow {
    type Call = u64;
    type Reply = u64;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, n: u64, from: From<u64>) -> CallResult<u64> {
        otp::spawn(move || {
            otp::sleep(Duration::from_millis(20)); // the slow part, off the server
            from.reply(n * 2);
        });
        CallResult::noreply() // no reply yet: it comes through `from`
    }
}

#[test]
fn replies_from_elsewhere() {
    otp::run(|| {
        let slow = gen_server::start_link(Slow).unwrap();
        let calls: Vec<_> = (1..=5)
            .map(|n| {
                let slow = slow.clone();
                otp::task::async_(move || slow.call(n))
            })
            .collect();
        let started = std::time::Instant::now();
        let answers = otp::task::await_many(calls);
        assert_eq!(answers, [Ok(2), Ok(4), Ok(6), Ok(8), Ok(10)]);
        assert!(started.elapsed() < Duration::from_millis(90)); // concurrently, not 5 x 20 ms
    });
}
// ANCHOR_END: deferred

// ANCHOR: call_errors
#[test]
fn what_a_call_can_return() {
    otp::run(|| {
        let slow = gen_server::start(Slow).unwrap();
        // No reply in time: `Timeout` (the request may still be handled; a late reply is
        // dropped).
        assert_eq!(
            slow.call_timeout(1, Duration::from_millis(1)),
            Err(CallError::Timeout)
        );
        // The server is gone: `NoProc`.
        slow.stop(ExitReason::Normal, Duration::from_secs(5))
            .unwrap();
        assert_eq!(slow.call(1), Err(CallError::NoProc));
        // Nobody holds the name: `NoProc` too, and a cast is an error.
        let nobody = Server::<Slow>::named("nobody");
        assert_eq!(nobody.call(1), Err(CallError::NoProc));
        assert!(nobody.cast(()).is_err());
    });
}
// ANCHOR_END: call_errors
