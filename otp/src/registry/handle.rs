//! [`Registry`]: the handle to a registry's tables, and every operation on them.

use std::{borrow::Borrow, fmt, hash::Hash, sync::Arc};

use super::{
    options::{Keys, Options},
    partition::{PartitionRef, Request},
    table::Table,
    via::ViaName,
};
use crate::{
    gen_server::StartError,
    process::{self, AnyPid},
    supervisor::{self, ChildSpec, Strategy, Supervisor},
};

/// What every handle to one registry shares: the tables and the partitions' names.
pub(super) struct Shared<K, V> {
    pub(super) table: Table<K, V>,
    partitions: Box<[PartitionRef]>,
}

/// A registry: keys mapped to the processes that registered them, each with a value (Elixir's
/// `Registry`). Cheap to clone (one `Arc`), `Send` and `Sync`: hand a clone to every process
/// that uses it.
///
/// Reads ([`lookup`](Registry::lookup), [`dispatch`](Registry::dispatch),
/// [`count`](Registry::count), [`select`](Registry::select), ...) and the caller's own writes
/// ([`register`](Registry::register), [`unregister`](Registry::unregister),
/// [`update_value`](Registry::update_value)) work on the tables directly, from the calling
/// process. The registry's processes, started with [`start_link`](Registry::start_link) or
/// [`child_spec`](Registry::child_spec), only watch the processes that hold keys and remove
/// their entries when they exit.
///
/// ```
/// use otp::registry::{self, Keys, Registry};
///
/// otp::run(|| {
///     let registry: Registry<String, u32> = registry::start_link(Keys::Unique).unwrap();
///     registry.register("worker".to_owned(), 7).unwrap();
///     assert_eq!(registry.lookup("worker"), vec![(otp::self_pid(), 7)]);
///     assert_eq!(registry.keys(otp::self_pid()), ["worker"]);
/// });
/// ```
pub struct Registry<K, V> {
    shared: Arc<Shared<K, V>>,
}

impl<K, V> Clone for Registry<K, V> {
    fn clone(&self) -> Self {
        Registry {
            shared: self.shared.clone(),
        }
    }
}

impl<K, V> fmt::Debug for Registry<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("keys", &self.shared.table.kind())
            .field("partitions", &self.shared.table.partitions())
            .finish_non_exhaustive()
    }
}

/// [`Registry::register`] of a key a live process holds in a unique registry
/// (`{:error, {:already_registered, pid}}`). The holder may be the caller itself.
///
/// ```
/// use otp::registry::{self, AlreadyRegistered, Keys, Registry};
///
/// otp::run(|| {
///     let registry: Registry<&str, ()> = registry::start_link(Keys::Unique).unwrap();
///     registry.register("only", ()).unwrap();
///     assert_eq!(registry.register("only", ()), Err(AlreadyRegistered(otp::self_pid())));
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyRegistered(pub AnyPid);

impl fmt::Display for AlreadyRegistered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the key is already registered by {}", self.0)
    }
}

impl std::error::Error for AlreadyRegistered {}

impl<K, V> Registry<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A registry's tables, empty, with no process yet: start its processes with
    /// [`start_link`](Registry::start_link), or put [`child_spec`](Registry::child_spec) in a
    /// supervisor. Takes [`Keys`] or [`Options`].
    ///
    /// Registering works before the processes run; entries of processes that exit meanwhile
    /// are removed once they start (reads leave them out from the moment the process is dead).
    ///
    /// ```
    /// use otp::registry::{Keys, Options, Registry};
    ///
    /// let unique: Registry<u64, ()> = Registry::new(Keys::Unique);
    /// let partitioned: Registry<u64, ()> = Registry::new(Options::new(Keys::Duplicate).partitions(4));
    /// assert_eq!((unique.partitions(), partitioned.partitions()), (1, 4));
    /// ```
    pub fn new(options: impl Into<Options>) -> Registry<K, V> {
        let options = options.into();
        Registry {
            shared: Arc::new(Shared {
                table: Table::new(options.keys, options.partitions),
                partitions: (0..options.partitions).map(PartitionRef::new).collect(),
            }),
        }
    }

    /// Unique or duplicate keys.
    ///
    /// ```
    /// use otp::registry::{Keys, Registry};
    ///
    /// let registry: Registry<u8, ()> = Registry::new(Keys::Duplicate);
    /// assert_eq!(registry.kind(), Keys::Duplicate);
    /// ```
    pub fn kind(&self) -> Keys {
        self.shared.table.kind()
    }

    /// How many partitions the tables are split into.
    ///
    /// ```
    /// use otp::registry::{Keys, Registry};
    ///
    /// let registry: Registry<u8, ()> = Registry::new(Keys::Unique);
    /// assert_eq!(registry.partitions(), 1);
    /// ```
    pub fn partitions(&self) -> usize {
        self.shared.table.partitions()
    }

    /// Starts the registry's processes, linked to the caller: a supervisor (`one_for_one`)
    /// with one partition process per partition (`Registry.start_link/1`). A partition process
    /// that crashes is restarted and watches again every process that holds keys; the entries
    /// themselves belong to the tables and are not lost.
    ///
    /// # Errors
    ///
    /// [`StartError::Stopped`] if a partition process could not start, as when this registry's
    /// processes are already running. The supervisor then exits with that reason, as any
    /// `start_link` that fails does, which ends a linked caller that does not trap exits.
    ///
    /// # Panics
    ///
    /// Outside a process.
    ///
    /// ```
    /// use otp::registry::{Keys, Options, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<u32, ()> = Registry::new(Options::new(Keys::Unique).partitions(2));
    ///     let sup = registry.start_link().unwrap();
    ///     assert_eq!(sup.count_children().unwrap().active, 2);
    /// });
    /// ```
    #[track_caller]
    pub fn start_link(&self) -> Result<Supervisor, StartError> {
        let children = (0..self.partitions())
            .map(|i| {
                let shared = self.shared.clone();
                ChildSpec::new(format!("partition_{i}"), move || {
                    shared.partitions[i].start_link(shared.clone())
                })
            })
            .collect();
        supervisor::start_link(children, supervisor::Options::new(Strategy::OneForOne))
    }

    /// A child spec that starts the registry's processes under a supervisor (`{Registry,
    /// keys: ..., name: ...}` in a children list). Put it before the children that use the
    /// registry, so it runs before them and stops after them.
    ///
    /// ```
    /// use otp::registry::{Keys, Registry};
    /// use otp::supervisor::{self, Options};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<String, ()> = Registry::new(Keys::Unique);
    ///     let sup = supervisor::start_link(vec![registry.child_spec("registry")], Options::default()).unwrap();
    ///     assert_eq!(sup.count_children().unwrap().supervisors, 1);
    /// });
    /// ```
    pub fn child_spec(&self, id: impl AsRef<str>) -> ChildSpec {
        let registry = self.clone();
        ChildSpec::supervisor(id, move || registry.start_link())
    }

    /// Registers the calling process under `key` with `value` (`Registry.register/3`). In a
    /// duplicate registry it always succeeds, and a process may register one key several
    /// times; in a unique registry the key must be free. The entry goes when the process
    /// [`unregister`](Registry::unregister)s it or exits.
    ///
    /// # Errors
    ///
    /// [`AlreadyRegistered`] with the holder if a live process (maybe the caller) holds `key`
    /// in a unique registry. A holder that has exited does not count, even before its entry
    /// is cleaned up.
    ///
    /// # Panics
    ///
    /// Outside a process.
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let topics: Registry<&str, u8> = registry::start_link(Keys::Duplicate).unwrap();
    ///     topics.register("news", 1).unwrap();
    ///     topics.register("news", 2).unwrap();
    ///     let me = otp::self_pid();
    ///     assert_eq!(topics.lookup("news"), vec![(me.clone(), 1), (me, 2)]);
    /// });
    /// ```
    #[track_caller]
    pub fn register(&self, key: K, value: V) -> Result<(), AlreadyRegistered> {
        let me = process::self_pid();
        self.register_pid(key, &me, value)
    }

    /// [`register`](Registry::register) for `pid`, which must be the calling process: the
    /// cleanup's argument (module docs) rests on a process writing only its own entries.
    pub(super) fn register_pid(
        &self,
        key: K,
        pid: &AnyPid,
        value: V,
    ) -> Result<(), AlreadyRegistered> {
        let table = &self.shared.table;
        let owned = key.clone();
        table.insert(key, pid, value).map_err(AlreadyRegistered)?;
        // Nothing between the two writes can end the process: no runtime call (an exit signal
        // acts only at a safe point) and no user code.
        if table.add_owned(pid, owned) {
            self.partition_of(pid)
                .tell::<K, V>(Request::Watch(pid.clone()));
        }
        Ok(())
    }

    fn partition_of(&self, pid: &AnyPid) -> &PartitionRef {
        &self.shared.partitions[self.shared.table.pid_partition(pid)]
    }

    /// Removes every entry of the calling process under `key` (`Registry.unregister/2`).
    /// Nothing happens if it has none.
    ///
    /// # Panics
    ///
    /// Outside a process.
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<String, ()> = registry::start_link(Keys::Unique).unwrap();
    ///     registry.register("temp".into(), ()).unwrap();
    ///     registry.unregister("temp");
    ///     assert!(registry.lookup("temp").is_empty());
    ///     registry.unregister("never registered");
    /// });
    /// ```
    #[track_caller]
    pub fn unregister<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let me = process::self_pid();
        if self.release(key, &me) {
            self.partition_of(&me)
                .tell::<K, V>(Request::Unwatch(me.clone()));
        }
    }

    /// Removes `pid`'s entries under `key`; true if it holds no key any more. Sends nothing,
    /// so it is safe on an exit path (the `DOWN` then ends the monitor).
    pub(super) fn release<Q>(&self, key: &Q, pid: &AnyPid) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let table = &self.shared.table;
        let removed = table.remove(key, pid);
        removed > 0 && table.disown(pid, key, removed)
    }

    /// The live processes registered under `key`, with their values, oldest registration first
    /// (`Registry.lookup/2`). Never lists a process that has exited, even before its cleanup.
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<u32, &str> = registry::start_link(Keys::Unique).unwrap();
    ///     assert!(registry.lookup(&1).is_empty());
    ///     registry.register(1, "one").unwrap();
    ///     assert_eq!(registry.lookup(&1), vec![(otp::self_pid(), "one")]);
    /// });
    /// ```
    pub fn lookup<Q>(&self, key: &Q) -> Vec<(AnyPid, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shared.table.lookup(key)
    }

    /// The live process holding `key`, if any: the first one for a duplicate key
    /// (`Registry.whereis_name/1`, which exists for unique registries only).
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<&str, ()> = registry::start_link(Keys::Unique).unwrap();
    ///     registry.register("me", ()).unwrap();
    ///     assert_eq!(registry.whereis("me"), Some(otp::self_pid()));
    ///     assert_eq!(registry.whereis("you"), None);
    /// });
    /// ```
    pub fn whereis<Q>(&self, key: &Q) -> Option<AnyPid>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shared.table.whereis(key)
    }

    /// The keys `pid` is registered under, in registration order, once per registration
    /// (`Registry.keys/2`). Empty if `pid` has exited.
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<&str, ()> = registry::start_link(Keys::Duplicate).unwrap();
    ///     registry.register("a", ()).unwrap();
    ///     registry.register("b", ()).unwrap();
    ///     registry.register("a", ()).unwrap();
    ///     assert_eq!(registry.keys(otp::self_pid()), ["a", "b", "a"]);
    /// });
    /// ```
    pub fn keys(&self, pid: impl AsRef<AnyPid>) -> Vec<K> {
        self.shared.table.keys_of(pid.as_ref())
    }

    /// The values `pid` registered under `key`, oldest first (`Registry.values/3`). Empty if
    /// it has none, or has exited.
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<&str, u8> = registry::start_link(Keys::Duplicate).unwrap();
    ///     registry.register("k", 1).unwrap();
    ///     registry.register("k", 2).unwrap();
    ///     assert_eq!(registry.values("k", otp::self_pid()), [1, 2]);
    /// });
    /// ```
    pub fn values<Q>(&self, key: &Q, pid: impl AsRef<AnyPid>) -> Vec<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shared.table.values(key, pid.as_ref())
    }

    /// How many entries live processes hold (`Registry.count/1`). It looks at every entry, so
    /// it takes time in proportion to the registry's size (Elixir's reads a table size, which
    /// counts exited processes until they are cleaned up).
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<u8, ()> = registry::start_link(Keys::Unique).unwrap();
    ///     registry.register(1, ()).unwrap();
    ///     registry.register(2, ()).unwrap();
    ///     assert_eq!(registry.count(), 2);
    /// });
    /// ```
    pub fn count(&self) -> usize {
        self.shared.table.count()
    }

    /// Every live entry `(key, pid, value)` for which `matches` is true
    /// (`Registry.select/2`, with a closure for the match spec). The entries are copied out of
    /// each partition first, so `matches` may do anything, including use the registry.
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<&str, u32> = registry::start_link(Keys::Duplicate).unwrap();
    ///     registry.register("small", 1).unwrap();
    ///     registry.register("big", 100).unwrap();
    ///     let big = registry.select(|_key, _pid, value| *value > 10);
    ///     assert_eq!(big, vec![("big", otp::self_pid(), 100)]);
    /// });
    /// ```
    pub fn select(&self, mut matches: impl FnMut(&K, &AnyPid, &V) -> bool) -> Vec<(K, AnyPid, V)> {
        (0..self.partitions())
            .flat_map(|i| self.shared.table.snapshot(i))
            .filter(|(k, pid, v)| matches(k, pid, v))
            .collect()
    }

    /// How many live entries `matches` accepts (`Registry.count_select/2`).
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<u32, ()> = registry::start_link(Keys::Unique).unwrap();
    ///     for k in 0..10 {
    ///         registry.register(k, ()).unwrap();
    ///     }
    ///     assert_eq!(registry.count_select(|k, _, _| k % 2 == 0), 5);
    /// });
    /// ```
    pub fn count_select(&self, mut matches: impl FnMut(&K, &AnyPid, &V) -> bool) -> usize {
        (0..self.partitions())
            .flat_map(|i| self.shared.table.snapshot(i))
            .filter(|(k, pid, v)| matches(k, pid, v))
            .count()
    }

    /// Calls `f` once with every live entry under `key`, oldest first; not at all if there is
    /// none (`Registry.dispatch/3`). This is publish/subscribe: subscribers register under a
    /// topic in a duplicate registry, and a publisher sends to each of them. `f` runs in the
    /// caller on a copy of the entries, so it may do anything.
    ///
    /// ```
    /// use otp::{registry::{self, Keys, Registry}, Mailbox, Pid};
    ///
    /// otp::run(|mut mb: Mailbox<String>| {
    ///     // The value of each subscription is where to send.
    ///     let topics: Registry<&str, Pid<String>> = registry::start_link(Keys::Duplicate).unwrap();
    ///     topics.register("news", mb.pid()).unwrap();
    ///     topics.dispatch("news", |subscribers| {
    ///         for (_pid, inbox) in subscribers {
    ///             inbox.send("extra!".to_owned());
    ///         }
    ///     });
    ///     assert_eq!(mb.receive(), "extra!");
    /// });
    /// ```
    pub fn dispatch<Q>(&self, key: &Q, f: impl FnOnce(&[(AnyPid, V)]))
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.shared.table.lookup(key);
        if !entries.is_empty() {
            f(&entries);
        }
    }

    /// Replaces the value of the calling process's entry under `key` with `f(old)`, and
    /// returns `Some((new, old))`; `None` if the caller holds no such key
    /// (`Registry.update_value/3`). `f` runs outside every lock.
    ///
    /// # Panics
    ///
    /// In a duplicate registry (Elixir raises too), or outside a process.
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<&str, u32> = registry::start_link(Keys::Unique).unwrap();
    ///     registry.register("hits", 0).unwrap();
    ///     assert_eq!(registry.update_value("hits", |n| n + 1), Some((1, 0)));
    ///     assert_eq!(registry.lookup("hits"), vec![(otp::self_pid(), 1)]);
    ///     assert_eq!(registry.update_value("misses", |n| n + 1), None);
    /// });
    /// ```
    #[track_caller]
    pub fn update_value<Q>(&self, key: &Q, f: impl FnOnce(&V) -> V) -> Option<(V, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        assert!(
            self.kind() == Keys::Unique,
            "Registry::update_value needs a unique registry"
        );
        let me = process::self_pid();
        let table = &self.shared.table;
        let old = table.values(key, &me).into_iter().next()?;
        let new = f(&old);
        // Only the caller writes its own entry, so it is still there unless `f` unregistered
        // it.
        table.set_value(key, &me, new.clone()).then_some((new, old))
    }

    /// A name for a [`GenServer`](crate::gen_server::GenServer) (or a
    /// [`Supervisor`](crate::supervisor::Supervisor), an [`Agent`](crate::agent::Agent)) held
    /// in this registry under `key`, with the value `V::default()` (`{:via, Registry,
    /// {registry, key}}`). See [`ViaName`].
    ///
    /// # Panics
    ///
    /// In a duplicate registry: a name needs a unique key (Elixir raises too).
    ///
    /// ```
    /// use otp::registry::{Keys, Registry};
    ///
    /// let registry: Registry<String, ()> = Registry::new(Keys::Unique);
    /// let name = registry.via("worker".to_owned());
    /// assert_eq!(name.key(), "worker");
    /// ```
    #[track_caller]
    pub fn via(&self, key: K) -> ViaName<K, V>
    where
        V: Default,
    {
        self.via_with(key, V::default())
    }

    /// A name held under `key` with `value` (`{:via, Registry, {registry, key, value}}`).
    ///
    /// # Panics
    ///
    /// In a duplicate registry.
    ///
    /// ```
    /// use otp::registry::{Keys, Registry};
    ///
    /// let registry: Registry<&str, u32> = Registry::new(Keys::Unique);
    /// let name = registry.via_with("worker", 3);
    /// assert_eq!(name.value(), &3);
    /// ```
    #[track_caller]
    pub fn via_with(&self, key: K, value: V) -> ViaName<K, V> {
        assert!(
            self.kind() == Keys::Unique,
            "a via name needs a unique registry"
        );
        ViaName::new(self.clone(), key, value)
    }

    /// How many entries the tables hold, counting those of exited processes whose cleanup has
    /// not run yet (which every other read leaves out). For tests and monitoring: it reaches
    /// [`count`](Registry::count) once the registry's processes have caught up.
    ///
    /// ```
    /// use otp::registry::{self, Keys, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<u8, ()> = registry::start_link(Keys::Unique).unwrap();
    ///     registry.register(1, ()).unwrap();
    ///     assert_eq!(registry.table_size(), 1);
    /// });
    /// ```
    pub fn table_size(&self) -> usize {
        self.shared.table.len()
    }

    /// The partition processes running now, by partition (`None` while one is restarting, or
    /// before the registry is started).
    ///
    /// ```
    /// use otp::registry::{Keys, Options, Registry};
    ///
    /// otp::run(|| {
    ///     let registry: Registry<u8, ()> = Registry::new(Options::new(Keys::Unique).partitions(2));
    ///     assert_eq!(registry.partition_pids(), [None, None]);
    ///     registry.start_link().unwrap();
    ///     assert!(registry.partition_pids().iter().all(Option::is_some));
    /// });
    /// ```
    pub fn partition_pids(&self) -> Vec<Option<AnyPid>> {
        self.shared
            .partitions
            .iter()
            .map(PartitionRef::pid)
            .collect()
    }
}
