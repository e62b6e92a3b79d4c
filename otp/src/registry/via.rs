//! [`ViaName`]: a server named by a key in a unique registry (`{:via, Registry, {registry,
//! key}}`).

use std::{fmt, hash::Hash};

use super::handle::{AlreadyRegistered, Registry};
use crate::{
    gen_server::{Name, Via},
    process::{self, AnyPid},
};

/// A server's name kept by a unique [`Registry`]: a key, and the value to register it with.
/// Made by [`Registry::via`] or [`Registry::via_with`]; turns into a
/// [`Name`](crate::gen_server::Name) with `into()`, so it goes wherever a name does:
/// [`StartOptions::name`](crate::gen_server::StartOptions::name),
/// [`Server::from_name`](crate::gen_server::Server::from_name),
/// [`supervisor::Options::name`](crate::supervisor::Options::name),
/// [`Agent::named`](crate::agent::Agent::named).
///
/// The server registers the key itself, in its own process, before its `init` runs, and lets
/// it go when it stops; if it dies without stopping (killed), the key is free the moment it is
/// dead. So under a supervisor the name survives restarts: each new incarnation registers the
/// key again, and a [`Server`](crate::gen_server::Server) made from the name reaches whichever
/// incarnation holds it now. While none does (between the crash and the restart), calls fail
/// with [`CallError::NoProc`](crate::gen_server::CallError::NoProc) and casts with
/// [`NotRegistered`](crate::process::NotRegistered).
///
/// ```
/// use otp::gen_server::{CallResult, From, GenServer, Server, StartOptions};
/// use otp::registry::{self, Keys, Registry};
///
/// struct Echo;
/// impl GenServer for Echo {
///     type Call = String;
///     type Reply = String;
///     type Cast = ();
///     type Info = ();
///     type Continue = ();
///     fn handle_call(&mut self, s: String, _: From<String>) -> CallResult<String> {
///         CallResult::reply(s)
///     }
/// }
///
/// otp::run(|| {
///     let registry: Registry<String, ()> = registry::start_link(Keys::Unique).unwrap();
///     let started = StartOptions::new().name(registry.via("echo".into())).start_link(Echo).unwrap();
///     assert_eq!(registry.whereis("echo"), started.pid());
///
///     let echo = Server::<Echo>::from_name(registry.via("echo".into()).into());
///     assert_eq!(echo.call("hi".into()), Ok("hi".to_owned()));
/// });
/// ```
pub struct ViaName<K, V> {
    registry: Registry<K, V>,
    key: K,
    value: V,
}

impl<K: Clone, V: Clone> Clone for ViaName<K, V> {
    fn clone(&self) -> Self {
        ViaName {
            registry: self.registry.clone(),
            key: self.key.clone(),
            value: self.value.clone(),
        }
    }
}

impl<K: fmt::Debug, V> fmt::Debug for ViaName<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ViaName")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl<K, V> ViaName<K, V> {
    pub(super) fn new(registry: Registry<K, V>, key: K, value: V) -> ViaName<K, V> {
        ViaName {
            registry,
            key,
            value,
        }
    }

    /// The key.
    ///
    /// ```
    /// use otp::registry::{Keys, Registry};
    ///
    /// let registry: Registry<u32, ()> = Registry::new(Keys::Unique);
    /// assert_eq!(registry.via(7).key(), &7);
    /// ```
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The value the server registers the key with.
    ///
    /// ```
    /// use otp::registry::{Keys, Registry};
    ///
    /// let registry: Registry<u32, &str> = Registry::new(Keys::Unique);
    /// assert_eq!(registry.via_with(7, "seven").value(), &"seven");
    /// ```
    pub fn value(&self) -> &V {
        &self.value
    }

    /// The registry.
    ///
    /// ```
    /// use otp::registry::{Keys, Registry};
    ///
    /// let registry: Registry<u32, ()> = Registry::new(Keys::Unique);
    /// assert_eq!(registry.via(7).registry().kind(), Keys::Unique);
    /// ```
    pub fn registry(&self) -> &Registry<K, V> {
        &self.registry
    }
}

impl<K, V> Via for ViaName<K, V>
where
    K: fmt::Debug + Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Registers the key for `pid` with the name's value (`Registry.register_name/2`).
    ///
    /// # Panics
    ///
    /// If `pid` is not the calling process (Elixir's `register_name/2` has the same guard): a
    /// registry only ever registers the caller. A server registers its name from its own
    /// process, so this holds for every name given to `StartOptions`.
    fn register_name(&self, pid: &AnyPid) -> Result<(), AnyPid> {
        assert!(
            *pid == process::self_pid(),
            "a registry registers the calling process only, and {pid} is not the caller"
        );
        self.registry
            .register_pid(self.key.clone(), pid, self.value.clone())
            .map_err(|AlreadyRegistered(holder)| holder)
    }

    fn unregister_name(&self, pid: &AnyPid) {
        self.registry.release(&self.key, pid);
    }

    fn whereis_name(&self) -> Option<AnyPid> {
        self.registry.whereis(&self.key)
    }
}

impl<K, V> From<ViaName<K, V>> for Name
where
    K: fmt::Debug + Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn from(name: ViaName<K, V>) -> Name {
        Name::via(name)
    }
}
