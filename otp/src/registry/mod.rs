//! Registry: keys mapped to processes, each with a value, cleaned up when the processes exit
//! (Elixir's `Registry`).
//!
//! A registry with [unique](Keys::Unique) keys is a name service: one process per key, and a
//! [`ViaName`] lets a GenServer or a supervisor be started and called by its key. With
//! [duplicate](Keys::Duplicate) keys it is a pub/sub switchboard: any number of processes
//! register under a topic, and [`dispatch`](Registry::dispatch) reaches them all.
//!
//! ```
//! use otp::gen_server::{CallResult, From, GenServer, Server, StartOptions};
//! use otp::registry::{Keys, Registry};
//! use otp::supervisor::{self, ChildSpec, Options};
//! use otp::{Mailbox, Pid};
//!
//! struct Room(Vec<String>);
//! impl GenServer for Room {
//!     type Call = String;
//!     type Reply = usize;
//!     type Cast = ();
//!     type Info = ();
//!     type Continue = ();
//!     fn handle_call(&mut self, line: String, _: From<usize>) -> CallResult<usize> {
//!         self.0.push(line);
//!         CallResult::reply(self.0.len())
//!     }
//! }
//!
//! otp::run(|mut mb: Mailbox<&'static str>| {
//!     // Names: rooms started under a supervisor, found by key.
//!     let rooms: Registry<String, ()> = Registry::new(Keys::Unique);
//!     let lobby = rooms.via("lobby".to_owned());
//!     let children = vec![
//!         rooms.child_spec("rooms"),
//!         ChildSpec::new("lobby", move || StartOptions::new().name(lobby.clone()).start_link(Room(vec![]))),
//!     ];
//!     supervisor::start_link(children, Options::default()).unwrap();
//!     let room = Server::<Room>::from_name(rooms.via("lobby".to_owned()).into());
//!     assert_eq!(room.call("hello".to_owned()), Ok(1));
//!
//!     // Pub/sub: every subscriber of a topic gets the event.
//!     let topics: Registry<&str, Pid<&'static str>> = otp::registry::start_link(Keys::Duplicate).unwrap();
//!     topics.register("alerts", mb.pid()).unwrap();
//!     topics.dispatch("alerts", |subscribers| {
//!         for (_, inbox) in subscribers {
//!             inbox.send("disk full");
//!         }
//!     });
//!     assert_eq!(mb.receive(), "disk full");
//! });
//! ```
//!
//! # Elixir and otp
//!
//! | Elixir | otp |
//! |---|---|
//! | `Registry.start_link(keys: :unique, name: R)` | [`start_link`]`(Keys::Unique)`, or [`Registry::new`] then [`Registry::start_link`] |
//! | `{Registry, keys: :duplicate, name: R, partitions: 4}` in a children list | [`Registry::new`]`(Options::new(Keys::Duplicate).partitions(4))` then [`Registry::child_spec`] |
//! | `Registry.register(R, key, value)` | [`Registry::register`]`(key, value)` |
//! | `Registry.unregister(R, key)` | [`Registry::unregister`]`(&key)` |
//! | `Registry.lookup(R, key)` | [`Registry::lookup`]`(&key)` |
//! | `Registry.whereis_name({R, key})` | [`Registry::whereis`]`(&key)` |
//! | `Registry.keys(R, pid)` | [`Registry::keys`]`(pid)` |
//! | `Registry.values(R, key, pid)` | [`Registry::values`]`(&key, pid)` |
//! | `Registry.count(R)` | [`Registry::count`] |
//! | `Registry.select(R, match_spec)` / `Registry.count_select(R, spec)` | [`Registry::select`] / [`Registry::count_select`] with a closure `\|key, pid, value\| bool` |
//! | `Registry.dispatch(R, key, fun)` | [`Registry::dispatch`]`(&key, \|entries\| ...)` |
//! | `Registry.update_value(R, key, fun)` | [`Registry::update_value`]`(&key, \|old\| new)` |
//! | `{:via, Registry, {R, key}}` / `{:via, Registry, {R, key, value}}` | [`Registry::via`]`(key)` / [`Registry::via_with`]`(key, value)`, a [`ViaName`] |
//!
//! # How it works
//!
//! The entries live in tables that every handle shares through an `Arc`: entries by key, and
//! the keys of each process, each split into partitions behind their own `RwLock`s (the key
//! partition is chosen by the key's hash, the pid partition by the pid). Reads go straight to
//! the tables from the calling process, as Elixir's go straight to ETS; so do the caller's own
//! writes. The registry's processes, one per partition under a supervisor, only clean up: each
//! monitors the processes of its pid partition that hold keys, and on a `DOWN` removes their
//! entries.
//!
//! Every read leaves out entries whose process is not [alive](crate::process::alive), so a
//! process that has exited is gone from every answer at once, before anyone receives its
//! `DOWN` or `EXIT`; the cleanup frees the memory, and [`Registry::table_size`] shows it catch
//! up. In a unique registry a key whose holder is dead is free at once, too: registering it
//! replaces the dead entry.
//!
//! # Why no stale entry survives
//!
//! A registering process `P` writes its entry under the key, then the key into its own record
//! in the pid table; if that record is new, it then sends `Watch(P)` to the process of its pid
//! partition, which monitors `P` unless it already does. On `P`'s `DOWN` that process removes
//! `P`'s record and `P`'s entries under every key the record lists. The argument:
//!
//! 1. Only `P` writes entries for `P` ([`register`](Registry::register) registers the caller;
//!    a [`ViaName`] checks that it does), and nothing between its two writes can end it: an
//!    exit signal takes effect only at a safe point, and there is none, nor any user code. So
//!    when `P` dies, its record lists every key it holds entries under.
//! 2. A record that already exists when `P` registers was made by an earlier registration of
//!    `P`, which `P` ran to the end, so its `Watch` has been sent.
//! 3. After a partition process handles a `Watch(P)`, a `DOWN` for `P` is still to come: that of
//!    the monitor it already had (not handled yet, or it would not have it any more), or that
//!    of the monitor it sets now, which is immediate (`noproc`) if `P` is already dead. That
//!    `DOWN` is handled after the `Watch`, which `P` sent after writing: the cleanup sees the
//!    whole record. "`P` registers and exits before the monitor is set" is the `noproc` case.
//! 4. A partition process that crashes loses its monitors. Its restarted successor takes the
//!    partition's name before its `init`, and in `init` monitors every process in its pid
//!    partition. A registration whose `Watch` went to the dead process, or found no process,
//!    looked the name up after writing its record, so before the successor took the name, and
//!    so before the successor's scan, which therefore sees the record. The same scan covers
//!    registrations made before the registry was started at all.
//! 5. When `P` unregisters its last key it removes its record and sends `Unwatch(P)`; the
//!    partition process drops the monitor only if `P` has no record when it handles that. A
//!    record `P` makes after the check comes with a `Watch` sent after it, so queued behind the
//!    `Unwatch`, and point 3 applies.
//!
//! Locks are held for one map operation at a time, never nested, never across anything that
//! can switch processes, and never while user callbacks run: [`select`](Registry::select),
//! [`dispatch`](Registry::dispatch) and [`update_value`](Registry::update_value) call theirs
//! on copies, outside the locks, so a callback may use the registry.
//!
//! # Where we differ from Elixir
//!
//! * **Monitors, not links.** Elixir's partitions link to registered processes and trap exits,
//!   because a partition's ETS tables die with it and the processes must not outlive their
//!   entries unnoticed. Here the tables belong to the handle and outlive the registry's
//!   processes, so a monitor is enough: a registered process is not taken down when the
//!   registry is, needs no `trap_exit`, and keeps its entries across a partition restart.
//! * **A registry is a value, not a name.** Clone the [`Registry`] into the processes that
//!   use it (a supervisor's child-spec closures, for one). There is no `name:` option, no
//!   `meta`, and no `listeners`.
//! * **Closures instead of match specs** in [`select`](Registry::select),
//!   [`count_select`](Registry::count_select) and [`dispatch`](Registry::dispatch); `match`,
//!   `count_match` and `unregister_match` are not provided (a `select` covers them).
//! * **Reads are exact about exits** (see above), at the price of [`count`](Registry::count)
//!   looking at every entry where Elixir's reads a table size.
//! * **Partitioned by key, for both kinds.** Elixir partitions duplicate registries by pid, so
//!   its `lookup` reads every partition and `dispatch` calls the function once per partition;
//!   here a key lives in one partition, and `dispatch` calls it once with every entry.
//! * **Registering needs no running process.** A registry's tables exist from
//!   [`Registry::new`]; registrations made before its processes start (or while one
//!   restarts) are watched once they do.

mod handle;
mod options;
mod partition;
mod table;
mod via;

pub(crate) use self::partition::forget_fired_monitor;
pub use self::{
    handle::{AlreadyRegistered, Registry},
    options::{Keys, Options},
    via::ViaName,
};
use crate::gen_server::StartError;

/// Makes a registry and starts its processes, linked to the caller (`Registry.start_link/1`):
/// [`Registry::new`] then [`Registry::start_link`]. Takes [`Keys`] or [`Options`].
///
/// # Errors
///
/// As for [`Registry::start_link`].
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// use otp::registry::{self, Keys, Options, Registry};
///
/// otp::run(|| {
///     let registry: Registry<u32, String> =
///         registry::start_link(Options::new(Keys::Unique).partitions(4)).unwrap();
///     registry.register(1, "one".into()).unwrap();
///     assert_eq!(registry.count(), 1);
/// });
/// ```
#[track_caller]
pub fn start_link<K, V>(options: impl Into<Options>) -> Result<Registry<K, V>, StartError>
where
    K: Eq + std::hash::Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let registry = Registry::new(options);
    registry.start_link()?;
    Ok(registry)
}
