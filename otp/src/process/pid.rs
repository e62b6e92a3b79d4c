//! Process identifiers: the typed [`Pid<M>`] and the untyped [`AnyPid`].
//!
//! A pid is a handle to the process record itself (an `Arc`), not an index into a table, so a
//! pid can never reach a newer process that happens to reuse a slot: a stale pid only ever sees
//! its own, dead, process. The number in `<0.N.0>` is unique for the life of the runtime's OS
//! process.

use std::{cmp::Ordering, fmt, hash, marker::PhantomData};

use crate::process::core_ref::CoreRef;

/// The identifier of a process whose mailbox takes messages of type `M`.
///
/// Sending is [`Pid::send`]: it never blocks, and a message to a process that has exited is
/// dropped silently, as on the BEAM. Messages from one sender to one receiver arrive in the order
/// they were sent.
///
/// Pids compare, order and hash by their number alone, so they make good map keys. (Clippy's
/// `mutable_key_type` lint cannot see that and flags `HashMap<Pid<M>, _>`; add
/// `ignore-interior-mutability = ["otp::Pid", "otp::AnyPid"]` to your `clippy.toml`.)
///
/// ```
/// use otp::{Mailbox, Pid};
///
/// otp::run(|| {
///     let echo: Pid<(u32, Pid<u32>)> = otp::spawn(|mut mb: Mailbox<(u32, Pid<u32>)>| {
///         let (n, reply_to) = mb.receive();
///         reply_to.send(n + 1);
///     });
///     otp::spawn(move |mut mb: Mailbox<u32>| {
///         echo.send((41, mb.pid()));
///         assert_eq!(mb.receive(), 42);
///     });
/// });
/// ```
#[repr(transparent)]
pub struct Pid<M> {
    core: CoreRef,
    _message: PhantomData<fn(M)>,
}

/// The identifier of a process of any mailbox type: what links, monitors, exit signals and
/// [`otp::process::list`](crate::process::list) deal in. You cannot send to it (its message type
/// is unknown); [`AnyPid::downcast`] recovers a typed [`Pid`] when the type matches.
#[repr(transparent)]
#[derive(Clone)]
pub struct AnyPid {
    core: CoreRef,
}

impl<M: Send + 'static> Pid<M> {
    /// Sends `msg` to the process. Never blocks; silent if the process has exited.
    ///
    /// Each send costs the sender one reduction.
    pub fn send(&self, msg: M) {
        let _ = self.core.send_user(msg);
        crate::runtime::budget::consume(1);
    }
}

impl<M> Pid<M> {
    pub(crate) fn from_core(core: CoreRef) -> Pid<M> {
        Pid {
            core,
            _message: PhantomData,
        }
    }

    /// The untyped identifier of this process.
    pub fn as_any(&self) -> &AnyPid {
        // SAFETY: `Pid<M>` and `AnyPid` are both `#[repr(transparent)]` over `CoreRef`
        // (`PhantomData` is zero-sized), so they have the same layout and the reference cast is
        // valid for the same lifetime.
        unsafe { &*std::ptr::from_ref(self).cast::<AnyPid>() }
    }

    /// The untyped identifier of this process, owned.
    pub fn to_any(&self) -> AnyPid {
        self.as_any().clone()
    }

    /// The process number, the `N` in `<0.N.0>`.
    pub fn number(&self) -> u64 {
        self.core.id
    }
}

impl AnyPid {
    pub(crate) fn from_core(core: CoreRef) -> AnyPid {
        AnyPid { core }
    }

    pub(crate) fn core(&self) -> &CoreRef {
        &self.core
    }

    /// The typed pid, if this process's mailbox takes `M`.
    ///
    /// ```
    /// otp::run(|| {
    ///     let pid = otp::spawn(|mut mb: otp::Mailbox<String>| drop(mb.receive()));
    ///     let any = pid.to_any();
    ///     assert!(any.downcast::<u32>().is_none());
    ///     any.downcast::<String>().unwrap().send("hi".into());
    /// });
    /// ```
    pub fn downcast<M: 'static>(&self) -> Option<Pid<M>> {
        ((self.core.meta.type_id)() == std::any::TypeId::of::<M>())
            .then(|| Pid::from_core(self.core.clone()))
    }

    /// The process number, the `N` in `<0.N.0>`.
    pub fn number(&self) -> u64 {
        self.core.id
    }
}

impl<M> Clone for Pid<M> {
    fn clone(&self) -> Self {
        Pid::from_core(self.core.clone())
    }
}

impl<M> AsRef<AnyPid> for Pid<M> {
    fn as_ref(&self) -> &AnyPid {
        self.as_any()
    }
}

impl AsRef<AnyPid> for AnyPid {
    fn as_ref(&self) -> &AnyPid {
        self
    }
}

impl<M> From<Pid<M>> for AnyPid {
    fn from(pid: Pid<M>) -> AnyPid {
        AnyPid::from_core(pid.core)
    }
}

macro_rules! identity_traits {
    ($($ty:ident $(<$m:ident>)?),*) => {$(
        impl$(<$m>)? PartialEq for $ty$(<$m>)? {
            fn eq(&self, other: &Self) -> bool {
                self.core.id == other.core.id
            }
        }
        impl$(<$m>)? Eq for $ty$(<$m>)? {}
        impl$(<$m>)? PartialOrd for $ty$(<$m>)? {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
        impl$(<$m>)? Ord for $ty$(<$m>)? {
            fn cmp(&self, other: &Self) -> Ordering {
                self.core.id.cmp(&other.core.id)
            }
        }
        impl$(<$m>)? hash::Hash for $ty$(<$m>)? {
            fn hash<H: hash::Hasher>(&self, state: &mut H) {
                self.core.id.hash(state);
            }
        }
        /// Prints `<0.N.0>`, as Erlang does.
        impl$(<$m>)? fmt::Display for $ty$(<$m>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "<0.{}.0>", self.core.id)
            }
        }
        /// Prints `#PID<0.N.0>`, as Elixir's `inspect` does.
        impl$(<$m>)? fmt::Debug for $ty$(<$m>)? {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "#PID<0.{}.0>", self.core.id)
            }
        }
    )*};
}
identity_traits!(Pid<M>, AnyPid);

impl<M> PartialEq<AnyPid> for Pid<M> {
    fn eq(&self, other: &AnyPid) -> bool {
        self.core.id == other.core.id
    }
}

impl<M> PartialEq<Pid<M>> for AnyPid {
    fn eq(&self, other: &Pid<M>) -> bool {
        self.core.id == other.core.id
    }
}
