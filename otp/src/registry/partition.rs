//! The registry's processes: one per partition, each watching the processes of its pid
//! partition and removing their entries when they exit (Elixir's `Registry.Partition`).
//!
//! A partition process does no bookkeeping of its own beyond its monitors: the tables say who
//! holds keys. It learns of a new holder from a [`Request::Watch`], sent by the holder after it
//! wrote its entries, and monitors it once; on the holder's `DOWN` it purges its entries. When
//! it starts (first time or after a crash) it monitors every holder already in its pid
//! partition, so entries written while no partition process ran are cleaned up as well.
//!
//! It finds itself in a [`Slot`], a one-name [`Via`]: the name is taken before `init`, which is
//! what makes that first scan catch every holder (see the module docs of [`registry`]).
//!
//! [`registry`]: super

use std::{
    collections::HashMap,
    convert::Infallible,
    fmt,
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use super::handle::Shared;
use crate::{
    gen_server::{CastResult, GenServer, Info, InitResult, Name, Server, StartError, Via},
    process::{self, AnyPid, Ref},
};

/// What a registering process tells its partition process.
#[derive(Debug)]
pub(super) enum Request {
    /// This process holds keys now: monitor it (once).
    Watch(AnyPid),
    /// This process may hold no key any more: stop monitoring it if so.
    Unwatch(AnyPid),
}

/// Partition `index` of a registry: its slot, and a handle that reaches whichever process holds
/// the slot now.
pub(super) struct PartitionRef {
    slot: Arc<Slot>,
    name: Name,
}

impl PartitionRef {
    pub(super) fn new(index: usize) -> PartitionRef {
        let slot = Arc::new(Slot {
            index,
            holder: Mutex::new(None),
        });
        let name = Name::Via(slot.clone());
        PartitionRef { slot, name }
    }

    fn server<K, V>(&self) -> Server<Partition<K, V>>
    where
        K: Eq + Hash + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        Server::from_name(self.name.clone())
    }

    /// Tells the partition process about `request`. If none is running, there is nobody to
    /// tell: the next one to start finds the holder in the tables.
    pub(super) fn tell<K, V>(&self, request: Request)
    where
        K: Eq + Hash + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let _ = self.server::<K, V>().cast(request);
    }

    /// The partition process running now, if any.
    pub(super) fn pid(&self) -> Option<AnyPid> {
        self.slot.whereis_name()
    }

    /// Starts the partition process, linked to the caller (a supervisor).
    pub(super) fn start_link<K, V>(
        &self,
        shared: Arc<Shared<K, V>>,
    ) -> Result<Server<Partition<K, V>>, StartError>
    where
        K: Eq + Hash + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        crate::gen_server::StartOptions::new()
            .name(self.name.clone())
            .start_link(Partition {
                shared,
                index: self.slot.index,
                watched: HashMap::new(),
            })
    }
}

/// The name a partition process holds: at most one live process at a time.
pub(super) struct Slot {
    index: usize,
    holder: Mutex<Option<AnyPid>>,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "registry partition {}", self.index)
    }
}

impl Slot {
    fn holder(&self) -> MutexGuard<'_, Option<AnyPid>> {
        // Every update is one assignment: a poisoned slot is still whole.
        self.holder.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Via for Slot {
    fn register_name(&self, pid: &AnyPid) -> Result<(), AnyPid> {
        let mut holder = self.holder();
        match &*holder {
            Some(h) if h != pid && process::alive(h) => Err(h.clone()),
            _ => {
                *holder = Some(pid.clone());
                Ok(())
            }
        }
    }

    fn unregister_name(&self, pid: &AnyPid) {
        let mut holder = self.holder();
        if holder.as_ref() == Some(pid) {
            *holder = None;
        }
    }

    fn whereis_name(&self) -> Option<AnyPid> {
        self.holder().clone().filter(|p| process::alive(p))
    }
}

/// A partition process: the monitors on the holders of its pid partition.
pub(super) struct Partition<K, V> {
    shared: Arc<Shared<K, V>>,
    index: usize,
    /// Holders monitored, by pid number.
    watched: HashMap<u64, Ref>,
}

impl<K, V> Partition<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn watch(&mut self, pid: &AnyPid) {
        // Monitoring a process that has already exited gives a `DOWN` (`noproc`) at once, which
        // purges it like any other.
        self.watched
            .entry(pid.number())
            .or_insert_with(|| process::monitor(pid));
    }
}

impl<K, V> GenServer for Partition<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    type Call = Infallible;
    type Reply = ();
    type Cast = Request;
    type Info = Infallible;
    type Continue = ();

    fn init(&mut self) -> InitResult {
        for pid in self.shared.table.owners(self.index) {
            self.watch(&pid);
        }
        InitResult::ok()
    }

    fn handle_cast(&mut self, request: Request) -> CastResult {
        match request {
            Request::Watch(pid) => self.watch(&pid),
            Request::Unwatch(pid) => {
                // Only the holder itself adds keys for itself, and it sends `Watch` after it
                // did; so if it holds none now, any key it adds later comes with a `Watch` that
                // is still ahead of us in the mailbox.
                if !self.shared.table.is_owner(&pid) {
                    if let Some(reference) = self.watched.remove(&pid.number()) {
                        process::demonitor_flush(reference);
                    }
                }
            }
        }
        CastResult::noreply()
    }

    fn handle_info(&mut self, info: Info<Infallible>) -> CastResult {
        if let Info::Down { reference, pid, .. } = info {
            // The monitor has fired; this only drops what a `noproc` DOWN leaves behind in
            // the runtime (see `forget_fired_monitor`).
            forget_fired_monitor(reference);
            self.watched.remove(&pid.number());
            self.shared.table.purge(&pid);
        }
        CastResult::noreply()
    }
}

/// Drops a monitor whose `DOWN` has been received. For a monitor set on a process that had
/// already exited, the runtime delivers the `DOWN` (`noproc`) but keeps the monitor in the
/// caller's list (`process::info(..).monitors`, and the dead process's record with it). A
/// registry monitors many such processes, so it lets go of each one here. For any other
/// monitor this finds nothing to do.
pub(crate) fn forget_fired_monitor(reference: Ref) {
    process::demonitor(reference);
}
