//! The application: its supervision tree, and [`Kv`], the handle every process of it shares.
//!
//! ```text
//! kv  (Supervisor, rest_for_one)
//! ├── kv_names        Registry, unique keys: the names of the shards and supervisors below
//! ├── kv_pubsub       Registry, duplicate keys: channel → subscribed sessions
//! ├── kv_shards       Supervisor, one_for_one
//! │   ├── shard-0     Shard GenServer, file shard-0.aof, a timer tick 10/s
//! │   ├── ...
//! │   └── shard-N-1
//! ├── kv_connections  Task.Supervisor: one reader task per client (+ its linked session)
//! └── kv_acceptor     binds bind:port, accepts TCP connections, hands each to
//!                     kv_connections (see `acceptor`)
//! ```
//!
//! `rest_for_one`, because each child depends on those before it: shards register in
//! `kv_names`, sessions in `kv_pubsub`, connections call the shards, the acceptor starts
//! connections. If one of them fails beyond its own supervisor's patience, it and everything
//! after it restart, in order.
//!
//! # Why a Supervisor of shards, not a DynamicSupervisor
//!
//! The shards are a fixed set known at start, each with an identity (its index decides which
//! keys and which file it owns), started in order and restarted as the same shard: exactly a
//! `Supervisor`'s static children, with ids `shard-0`... that `which_children` reports. A
//! `DynamicSupervisor` is for children started on demand and known only by pid (the
//! connections are that: they are under the Task.Supervisor). Resharding, which would need
//! children added at run time, is not supported (the file layout pins the count).
//!
//! # Names that survive restarts
//!
//! Every shard registers itself in `kv_names` under [`Role::Shard`]`(i)` (a `via` name), so
//! [`Kv::shard`] reaches whichever process runs shard `i` now: after a crash the supervisor's
//! new process takes the name before its `init` (the replay) runs, and requests queue in its
//! mailbox until the replay is done. In between, a call fails with `noproc`, which a client
//! sees as an error reply. A registry (rather than local names such as `kv_shard_3`) keeps two
//! instances of the application apart in one runtime, which the tests use.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

use otp::{
    application::{Application, RunError},
    dynamic_supervisor,
    gen_server::{Server, StartError, StartOptions},
    registry::{Keys, Registry},
    supervisor::{self, ChildSpec, FailedToStartChild, Options, Strategy, Supervisor},
    task::supervisor::{self as task_supervisor, TaskSupervisor},
    AnyPid, ExitReason,
};

use crate::{
    acceptor, aof,
    config::Config,
    connection::{self, Transport},
    memory::{self, Duplex},
    pubsub::PubSub,
    shard::{self, Persistence, Shard, ShardStats},
};

/// What a process is registered as in the application's name registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Shard `n`.
    Shard(usize),
    /// The shards' supervisor.
    Shards,
    /// The connections' Task.Supervisor.
    Connections,
}

/// The application's shared handle: its settings, its registries, its shards' names and its
/// counters. Cheap to clone (one `Arc`); every connection holds one.
#[derive(Debug, Clone)]
pub struct Kv {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    names: Registry<Role, ()>,
    pubsub: PubSub,
    shards: Vec<Server<Shard>>,
    shard_stats: Vec<Arc<ShardStats>>,
    /// One per shard, across its restarts (see `aof::FileLock`).
    file_locks: Vec<aof::FileLock>,
    stats: Stats,
    started: Instant,
    /// Where the acceptor listens, and its process: set by each start of the acceptor.
    listening: Mutex<Option<(SocketAddr, AnyPid)>>,
}

impl Kv {
    /// The handle for an application with these settings; nothing runs yet
    /// ([`start_link`](Kv::start_link) starts the tree).
    pub fn new(config: Config) -> Kv {
        let names: Registry<Role, ()> = Registry::new(Keys::Unique);
        let shards = (0..config.shards)
            .map(|i| Server::from_name(names.via(Role::Shard(i)).into()))
            .collect();
        let shard_stats = (0..config.shards).map(|_| Arc::default()).collect();
        let file_locks = (0..config.shards)
            .map(|_| aof::FileLock::default())
            .collect();
        Kv {
            inner: Arc::new(Inner {
                pubsub: PubSub::new(config.schedulers),
                config,
                names,
                shards,
                shard_stats,
                file_locks,
                stats: Stats::default(),
                started: Instant::now(),
                listening: Mutex::new(None),
            }),
        }
    }

    /// Starts the supervision tree, linked to the caller: prepares the persistence directory,
    /// then starts the children in order (the shards replay their files).
    ///
    /// # Errors
    ///
    /// The persistence directory is unusable, or a child failed to start (a damaged file; the
    /// acceptor, when its address cannot be bound).
    pub fn start_link(&self) -> Result<Supervisor, StartError> {
        if let Some(dir) = &self.config().aof {
            aof::prepare_dir(dir, self.shard_count())
                .map_err(|e| StartError::Stopped(ExitReason::custom(e.to_string())))?;
        }
        supervisor::start_link(self.children(), Options::new(Strategy::RestForOne))
    }

    // ANCHOR: children
    /// The top supervisor's children, in start order.
    fn children(&self) -> Vec<ChildSpec> {
        let inner = &self.inner;
        let shards: Vec<ChildSpec> = (0..self.shard_count())
            .map(|i| {
                let name = inner.names.via(Role::Shard(i));
                let stats = inner.shard_stats[i].clone();
                let persistence = inner.config.aof.as_ref().map(|dir| Persistence {
                    path: aof::shard_path(dir, i),
                    fsync: inner.config.fsync,
                    lock: inner.file_locks[i].clone(),
                });
                ChildSpec::new(format!("shard-{i}"), move || {
                    StartOptions::new()
                        .name(name.clone())
                        .start_link(Shard::new(i, persistence.clone(), stats.clone()))
                })
            })
            .collect();
        let mut children = vec![
            inner.names.child_spec("kv_names"),
            inner.pubsub.child_spec("kv_pubsub"),
            supervisor::child_spec(
                "kv_shards",
                shards,
                Options::new(Strategy::OneForOne).name(inner.names.via(Role::Shards)),
            ),
            task_supervisor::child_spec(
                "kv_connections",
                dynamic_supervisor::Options::new().name(inner.names.via(Role::Connections)),
            ),
        ];
        if inner.config.listen {
            children.push(acceptor::child_spec(self.clone()));
        }
        children
    }
    // ANCHOR_END: children

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// How many shards.
    pub fn shard_count(&self) -> usize {
        self.inner.shards.len()
    }

    /// The shard that holds `key`.
    pub fn shard_of(&self, key: &[u8]) -> usize {
        shard::shard_for(key, self.shard_count())
    }

    /// Shard `i`, by name: whichever process runs it now.
    pub fn shard(&self, i: usize) -> &Server<Shard> {
        &self.inner.shards[i]
    }

    /// Shard `i`'s counters (they survive its restarts).
    pub fn shard_stats(&self, i: usize) -> &ShardStats {
        &self.inner.shard_stats[i]
    }

    /// The shards' supervisor.
    pub fn shards_supervisor(&self) -> Supervisor {
        Supervisor::named(self.inner.names.via(Role::Shards))
    }

    /// The connections' Task.Supervisor.
    pub fn connections(&self) -> TaskSupervisor {
        TaskSupervisor::named(self.inner.names.via(Role::Connections))
    }

    /// The pub/sub switchboard.
    pub fn pubsub(&self) -> &PubSub {
        &self.inner.pubsub
    }

    /// The application's counters.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// How long since the handle was made.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// The address the TCP acceptor is bound to (with the port picked when the configured
    /// port is 0), once it has started; `None` before, or with
    /// [`Config::listen`](crate::config::Config::listen) off. A restarted acceptor binds this
    /// address again.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listening().map(|(addr, _)| addr)
    }

    /// The acceptor's process, as its last start recorded it (it may have exited since).
    pub fn acceptor(&self) -> Option<AnyPid> {
        self.listening().map(|(_, pid)| pid)
    }

    fn listening(&self) -> Option<(SocketAddr, AnyPid)> {
        self.inner
            .listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records where the acceptor listens and which process it is (the acceptor's start
    /// function calls it).
    pub(crate) fn set_listening(&self, addr: SocketAddr, acceptor: AnyPid) {
        *self
            .inner
            .listening
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((addr, acceptor));
    }

    /// Serves a new client over `transport`, in a task under `kv_connections`. This is what
    /// the acceptor calls for each accepted socket.
    ///
    /// # Errors
    ///
    /// The connections' supervisor is not running.
    pub fn accept<T: Transport>(&self, transport: T) -> Result<AnyPid, supervisor::ChildError> {
        let kv = self.clone();
        self.connections()
            .start_child(move || connection::serve(kv, transport))
    }

    /// Connects a client in memory: the returned end talks to a connection served exactly as
    /// a TCP one would be.
    ///
    /// # Errors
    ///
    /// As for [`accept`](Kv::accept).
    ///
    /// # Panics
    ///
    /// Outside a process.
    pub fn connect_memory(&self) -> Result<Duplex, supervisor::ChildError> {
        let (client, server) = memory::pair();
        self.accept(server)?;
        Ok(client)
    }
}

/// The application's counters, for `INFO`.
#[derive(Debug, Default)]
pub struct Stats {
    connected: AtomicUsize,
    connections: AtomicU64,
    commands: AtomicU64,
    rejected: AtomicU64,
}

/// Counts a connection as connected while it lives (dropped when its reader task ends, killed
/// or not).
#[derive(Debug)]
pub struct Connected<'a>(&'a Stats);

impl Drop for Connected<'_> {
    fn drop(&mut self) {
        self.0.connected.fetch_sub(1, Relaxed);
    }
}

impl Stats {
    /// A client connected; it counts until the guard is dropped.
    pub fn connected(&self) -> Connected<'_> {
        self.connected.fetch_add(1, Relaxed);
        self.connections.fetch_add(1, Relaxed);
        Connected(self)
    }

    /// Clients connected now.
    pub fn connected_clients(&self) -> usize {
        self.connected.load(Relaxed)
    }

    /// Clients ever connected.
    pub fn total_connections(&self) -> u64 {
        self.connections.load(Relaxed)
    }

    /// `n` commands were received (a connection counts a batch at once).
    pub fn commands(&self, n: u64) {
        if n > 0 {
            self.commands.fetch_add(n, Relaxed);
        }
    }

    /// Commands received.
    pub fn total_commands(&self) -> u64 {
        self.commands.load(Relaxed)
    }

    /// A client was turned away (`maxclients`).
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    /// Clients turned away.
    pub fn rejected_connections(&self) -> u64 {
        self.rejected.load(Relaxed)
    }
}

/// kv as an otp [`Application`], for `otp::application::run`. Its start prints
/// `listening on ADDR` on stdout once the acceptor is bound (with the port picked, for port 0).
#[derive(Debug)]
pub struct KvApp {
    kv: Kv,
}

impl KvApp {
    /// The application with these settings.
    pub fn new(config: Config) -> KvApp {
        KvApp {
            kv: Kv::new(config),
        }
    }

    /// Its handle.
    pub fn kv(&self) -> &Kv {
        &self.kv
    }
}

// ANCHOR: application
impl Application for KvApp {
    fn name(&self) -> &'static str {
        "kv"
    }

    fn start(&mut self) -> Result<Supervisor, StartError> {
        let tree = self.kv.start_link()?;
        if let Some(addr) = self.kv.local_addr() {
            println!("listening on {addr}");
        }
        Ok(tree)
    }
}
// ANCHOR_END: application

/// A run error in words: a child that failed to start is named, with its reason (for the
/// acceptor, the address it could not bind and why).
pub fn explain(error: &RunError) -> String {
    if let RunError::Start(StartError::Stopped(ExitReason::ShutdownWith(detail))) = error {
        if let Some(failed) = detail.downcast_ref::<FailedToStartChild>() {
            if let StartError::Stopped(ExitReason::Custom(reason)) = &failed.error {
                if let Some(bind) = reason.downcast_ref::<acceptor::BindError>() {
                    return bind.to_string();
                }
                return format!("{} failed to start: {reason}", failed.id);
            }
            return format!("{} failed to start: {}", failed.id, failed.error);
        }
    }
    error.to_string()
}
