//! Request and reply (tutorial block 8, `KeyValueStore` and `KVClient`): a process holds a map;
//! a request that wants an answer carries the caller's pid, and the caller waits for the
//! response, giving up after a timeout.
//!
//! ```elixir
//! {:get, key, caller} ->
//!   send(caller, {:response, Map.get(state, key, :not_found)})
//! ...
//! def get(store, key) do
//!   send(store, {:get, key, self()})
//!   receive do
//!     {:response, value} -> value
//!   after
//!     5000 -> {:error, :timeout}
//!   end
//! end
//! ```
//!
//! The store's loop and the client's waits are [`otp::receive!`]s, with `after` for the
//! client's 5 s. The caller's pid is typed by what it accepts (`Pid<Response>`), so the store
//! can only send it responses. The client functions take the caller's mailbox, since that is
//! where the response arrives. `spawn(KeyValueStore, :start, [])` is
//! [`otp::spawn_apply`]`(key_value_store, ())`.
//!
//! Where the tutorial differs from the real BEAM: it prints `Keys: [:name, :age, :city]`
//! (insertion order), but the BEAM prints `Keys: [:age, :city, :name]`: maps of up to 32 keys
//! enumerate in sorted order. A `BTreeMap` gives the BEAM's answer. Every other line is as the
//! tutorial says.
//!
//! The hand-rolled request/reply protocol is exactly what OTP packages as a GenServer call; the
//! second half runs the same session against an [`Agent`], which is a GenServer whose requests
//! are functions of its state (with the 5 s default timeout and typed errors built in).
//!
//! Run with `cargo run --release --example kv_store`.

use std::{collections::BTreeMap, fmt, time::Duration};

use otp::agent::{self, Agent};
use otp::{process, ExitReason, Mailbox, Pid};

/// Keys are atoms in the tutorial (`:name`); atom-like strings here.
type Key = &'static str;

/// The values the tutorial stores: strings and integers.
#[derive(Clone, PartialEq)]
enum Value {
    Str(&'static str),
    Int(i64),
}

/// As `inspect` prints a value: strings quoted.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Int(n) => write!(f, "{n}"),
        }
    }
}

/// As string interpolation prints a value: strings bare.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Int(n) => write!(f, "{n}"),
        }
    }
}

/// `Map.get(state, key, :not_found)`, as `inspect` prints it.
fn inspect_lookup(value: &Option<Value>) -> String {
    value
        .as_ref()
        .map_or_else(|| ":not_found".to_owned(), |v| format!("{v:?}"))
}

/// `[:age, :city, :name]`.
fn inspect_keys(keys: &[Key]) -> String {
    let atoms: Vec<String> = keys.iter().map(|k| format!(":{k}")).collect();
    format!("[{}]", atoms.join(", "))
}

// ANCHOR: store
/// What the store is asked.
enum Request {
    Put(Key, Value),
    Get(Key, Pid<Response>),
    Delete(Key),
    Keys(Pid<Response>),
    Stop,
}

/// `{:response, value}`.
enum Response {
    Value(Option<Value>),
    Keys(Vec<Key>),
}

/// `KeyValueStore.start/0` and its loop.
fn key_value_store(mut mb: Mailbox<Request>) {
    let mut state: BTreeMap<Key, Value> = BTreeMap::new();
    loop {
        otp::receive! { mb,
            // Put: no response needed.
            Request::Put(key, value) => {
                println!("Stored {key} => {value:?}");
                state.insert(key, value);
            }
            // Get: sends the response back to the caller.
            Request::Get(key, caller) => caller.send(Response::Value(state.get(key).cloned())),
            Request::Delete(key) => {
                state.remove(key);
                println!("Deleted {key}");
            }
            Request::Keys(caller) => caller.send(Response::Keys(state.keys().copied().collect())),
            Request::Stop => {
                println!("Store shutting down");
                return;
            }
        }
    }
}
// ANCHOR_END: store

/// `{:error, :timeout}`: no response within the timeout.
#[derive(Debug)]
struct TimedOut;

// ANCHOR: client
/// The client side (`KVClient`).
mod kv_client {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    pub fn put(store: &Pid<Request>, key: Key, value: Value) {
        store.send(Request::Put(key, value));
    }

    pub fn get(
        store: &Pid<Request>,
        mb: &mut Mailbox<Response>,
        key: Key,
    ) -> Result<Option<Value>, TimedOut> {
        // Include our pid so the store can respond, then wait for the response.
        store.send(Request::Get(key, mb.pid()));
        otp::receive! { mb,
            Response::Value(value) => Ok(value),
            after TIMEOUT => Err(TimedOut),
        }
    }

    pub fn delete(store: &Pid<Request>, key: Key) {
        store.send(Request::Delete(key));
    }

    pub fn keys(store: &Pid<Request>, mb: &mut Mailbox<Response>) -> Result<Vec<Key>, TimedOut> {
        store.send(Request::Keys(mb.pid()));
        otp::receive! { mb,
            Response::Keys(keys) => Ok(keys),
            after TIMEOUT => Err(TimedOut),
        }
    }
}
// ANCHOR_END: client

fn show(value: Result<Option<Value>, TimedOut>) -> String {
    match value {
        Ok(Some(v)) => v.to_string(),
        Ok(None) => "not_found".to_owned(),
        Err(TimedOut) => "{:error, :timeout}".to_owned(),
    }
}

#[otp::main]
fn main(mut mb: Mailbox<Response>) {
    let store = otp::spawn_apply(key_value_store, ());

    kv_client::put(&store, "name", Value::Str("Alice"));
    kv_client::put(&store, "age", Value::Int(30));
    kv_client::put(&store, "city", Value::Str("Portland"));

    println!("Name: {}", show(kv_client::get(&store, &mut mb, "name")));
    println!("Age: {}", show(kv_client::get(&store, &mut mb, "age")));
    let keys = kv_client::keys(&store, &mut mb).expect("the store answers");
    println!("Keys: {}", inspect_keys(&keys));

    kv_client::delete(&store, "age");
    let age = kv_client::get(&store, &mut mb, "age").expect("the store answers");
    println!("Age after delete: {}", inspect_lookup(&age));

    // Stop it, and wait until it has.
    let watch = process::monitor(&store);
    store.send(Request::Stop);
    otp::receive! { mb, DOWN(r, _, _) if r == watch => {} }

    // ANCHOR: agent
    // The same session against an Agent: the request/reply plumbing comes with it.
    println!();
    println!("--- The same store as an Agent ---");
    let store: Agent<BTreeMap<Key, Value>> =
        agent::start_link(BTreeMap::new).expect("the agent starts");
    for (key, value) in [
        ("name", Value::Str("Alice")),
        ("age", Value::Int(30)),
        ("city", Value::Str("Portland")),
    ] {
        store
            .cast(move |map| {
                map.insert(key, value);
            })
            .unwrap();
    }
    let name = store.get(|map| map.get("name").cloned()).unwrap();
    println!("Name: {}", show(Ok(name)));
    let keys = store
        .get(|map| map.keys().copied().collect::<Vec<_>>())
        .unwrap();
    println!("Keys: {}", inspect_keys(&keys));
    store
        .update(|map| {
            map.remove("age");
        })
        .unwrap();
    let age = store.get(|map| map.get("age").cloned()).unwrap();
    println!("Age after delete: {}", inspect_lookup(&age));
    // ANCHOR_END: agent
    store
        .stop(ExitReason::Normal, Duration::from_secs(5))
        .unwrap();
    println!("Agent stopped");
}
