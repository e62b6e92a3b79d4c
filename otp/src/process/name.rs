//! Registered names: `register`, `unregister`, `whereis`, `registered`, and sending by name.
//!
//! A name maps to one live process and a process has at most one name, exactly as on the BEAM;
//! the errors come where `Process.register/2` raises. A name is released when its process exits
//! (normally or not). Names are per runtime (per node).

use std::{
    collections::HashMap,
    fmt,
    sync::{atomic::Ordering::Relaxed, Arc, Mutex, MutexGuard, PoisonError},
};

use crate::{
    process::pid::{AnyPid, Pid},
    runtime::shared,
};

#[derive(Default)]
struct Maps {
    by_name: HashMap<Arc<str>, AnyPid>,
    by_pid: HashMap<u64, Arc<str>>,
}

/// The name table of one runtime.
#[derive(Default)]
pub(crate) struct Names {
    maps: Mutex<Maps>,
}

impl Names {
    fn lock(&self) -> MutexGuard<'_, Maps> {
        // Every update below leaves both maps consistent before anything can panic.
        self.maps.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, name: &str, pid: &AnyPid) -> Result<(), RegisterError> {
        let mut m = self.lock();
        if let Some(owner) = m.by_name.get(name) {
            return Err(RegisterError::NameTaken {
                name: name.into(),
                owner: owner.clone(),
            });
        }
        if let Some(existing) = m.by_pid.get(&pid.number()) {
            return Err(RegisterError::AlreadyNamed {
                pid: pid.clone(),
                name: existing.to_string(),
            });
        }
        // Checked under the lock: an exiting process removes its name under the same lock after
        // it stops being alive, so a name can never outlive its process.
        if !pid.core().is_alive() {
            return Err(RegisterError::NotAlive(pid.clone()));
        }
        let name: Arc<str> = name.into();
        m.by_name.insert(name.clone(), pid.clone());
        m.by_pid.insert(pid.number(), name);
        pid.core().named.store(true, Relaxed);
        Ok(())
    }

    fn unregister(&self, name: &str) -> Result<AnyPid, NotRegistered> {
        let mut m = self.lock();
        let pid = m
            .by_name
            .remove(name)
            .ok_or_else(|| NotRegistered(name.to_owned()))?;
        m.by_pid.remove(&pid.number());
        pid.core().named.store(false, Relaxed);
        Ok(pid)
    }

    pub(crate) fn whereis(&self, name: &str) -> Option<AnyPid> {
        self.lock().by_name.get(name).cloned()
    }

    pub(crate) fn name_of(&self, pid: u64) -> Option<Arc<str>> {
        self.lock().by_pid.get(&pid).cloned()
    }

    fn registered(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().by_name.keys().map(|n| n.to_string()).collect();
        names.sort();
        names
    }

    /// Releases the name of an exiting process.
    pub(crate) fn release(&self, pid: u64) {
        let mut m = self.lock();
        if let Some(name) = m.by_pid.remove(&pid) {
            m.by_name.remove(&name);
        }
    }
}

/// Registers `name` for the process `pid` (`Process.register/2`).
///
/// Fails, as the BEAM does, if the name is taken, the process already has a name, or the process
/// is not alive.
///
/// ```
/// use otp::process::{self, RegisterError};
///
/// otp::run(|| {
///     let pid = otp::spawn(|mut mb: otp::Mailbox<()>| mb.receive());
///     process::register("counter", &pid).unwrap();
///     assert_eq!(process::whereis("counter"), Some(pid.to_any()));
///     assert!(matches!(process::register("counter", &otp::self_pid()), Err(RegisterError::NameTaken { .. })));
///     pid.send(());
/// });
/// ```
pub fn register(name: &str, pid: impl AsRef<AnyPid>) -> Result<(), RegisterError> {
    shared::current().names.register(name, pid.as_ref())
}

/// Removes a registered name (`Process.unregister/1`). The process keeps running.
pub fn unregister(name: &str) -> Result<(), NotRegistered> {
    shared::current().names.unregister(name).map(drop)
}

/// The process registered as `name`, if any (`Process.whereis/1`).
pub fn whereis(name: &str) -> Option<AnyPid> {
    shared::current().names.whereis(name)
}

/// The process registered as `name`, typed: `None` if there is none or its mailbox does not take
/// `M`.
pub fn whereis_typed<M: 'static>(name: &str) -> Option<Pid<M>> {
    whereis(name)?.downcast()
}

/// All registered names, sorted (`Process.registered/0`).
pub fn registered() -> Vec<String> {
    shared::current().names.registered()
}

/// Sends `msg` to the process registered as `name` (`send(:name, msg)`).
///
/// Unlike sending to a pid, which is silent when the process is gone, sending to a name nobody
/// holds is an error, as on the BEAM; the message comes back in the error.
///
/// ```
/// otp::run(|| {
///     let err = otp::process::send_named("nobody", 42u32).unwrap_err();
///     assert_eq!(err.into_message(), 42);
/// });
/// ```
pub fn send_named<M: Send + 'static>(name: &str, msg: M) -> Result<(), SendError<M>> {
    let Some(any) = whereis(name) else {
        return Err(SendError {
            reason: SendErrorKind::NotRegistered(name.to_owned()),
            message: msg,
        });
    };
    match any.downcast::<M>() {
        Some(pid) => {
            pid.send(msg);
            Ok(())
        }
        None => Err(SendError {
            reason: SendErrorKind::WrongType {
                name: name.to_owned(),
                expected: (any.core().meta.type_name)(),
            },
            message: msg,
        }),
    }
}

/// Why [`register`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterError {
    /// Another process holds the name.
    NameTaken {
        /// The name asked for.
        name: String,
        /// Who holds it.
        owner: AnyPid,
    },
    /// The process already has a (different or the same) name.
    AlreadyNamed {
        /// The process.
        pid: AnyPid,
        /// Its current name.
        name: String,
    },
    /// The process has exited.
    NotAlive(AnyPid),
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::NameTaken { name, owner } => {
                write!(
                    f,
                    "could not register {name:?}: the name is already taken by {owner}"
                )
            }
            RegisterError::AlreadyNamed { pid, name } => {
                write!(
                    f,
                    "could not register {pid}: it has already been given the name {name:?}"
                )
            }
            RegisterError::NotAlive(pid) => write!(f, "could not register {pid}: it is not alive"),
        }
    }
}

impl std::error::Error for RegisterError {}

/// [`unregister`] of a name nobody holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRegistered(pub String);

impl fmt::Display for NotRegistered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no process is registered as {:?}", self.0)
    }
}

impl std::error::Error for NotRegistered {}

/// Why [`send_named`] failed. Holds the undelivered message.
pub struct SendError<M> {
    reason: SendErrorKind,
    message: M,
}

/// What went wrong in a [`SendError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendErrorKind {
    /// No process holds the name (the BEAM raises `ArgumentError`: invalid destination).
    NotRegistered(String),
    /// The process registered under the name takes another message type.
    WrongType {
        /// The name.
        name: String,
        /// The message type its mailbox takes.
        expected: &'static str,
    },
}

impl<M> SendError<M> {
    /// What went wrong.
    pub fn kind(&self) -> &SendErrorKind {
        &self.reason
    }

    /// The message that was not delivered.
    pub fn into_message(self) -> M {
        self.message
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            SendErrorKind::NotRegistered(name) => write!(
                f,
                "invalid destination: no process is registered as {name:?}"
            ),
            SendErrorKind::WrongType { name, expected } => {
                write!(
                    f,
                    "the process registered as {name:?} takes messages of type {expected}"
                )
            }
        }
    }
}

impl<M> std::error::Error for SendError<M> {}
