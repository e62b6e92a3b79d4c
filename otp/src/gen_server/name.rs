//! Server names: a local registered name, or a `via` name kept by a name service of your own
//! (the Registry plugs in here).
//!
//! A name is resolved at every use, so a handle made from a name reaches whichever process holds
//! the name now: after a supervisor restarts a named server, the same handle talks to the new
//! one, and while nobody holds the name, using it is a typed error rather than a lost message.

use std::{fmt, sync::Arc};

use crate::process::{self, AnyPid};

/// A name service for [`Name::Via`] (OTP's `{:via, module, name}`): something that can bind one
/// name to one process, find it, and let it go.
///
/// The service must drop the binding when the process exits (a [`Registry`]-like service
/// monitors its members); a server also calls [`unregister_name`](Via::unregister_name) itself
/// when it terminates.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use otp::{gen_server::{self, GenServer, Name, StartOptions, Server, Via}, AnyPid};
///
/// /// A one-name "registry", for the example.
/// #[derive(Debug, Default)]
/// struct Slot(Mutex<Option<AnyPid>>);
///
/// impl Via for Slot {
///     fn register_name(&self, pid: &AnyPid) -> Result<(), AnyPid> {
///         let mut s = self.0.lock().unwrap();
///         match &*s {
///             Some(holder) if otp::process::alive(holder) => Err(holder.clone()),
///             _ => { *s = Some(pid.clone()); Ok(()) }
///         }
///     }
///     fn unregister_name(&self, pid: &AnyPid) {
///         let mut s = self.0.lock().unwrap();
///         if s.as_ref() == Some(pid) { *s = None; }
///     }
///     fn whereis_name(&self) -> Option<AnyPid> {
///         self.0.lock().unwrap().clone().filter(|p| otp::process::alive(p))
///     }
/// }
///
/// struct Hello;
/// impl GenServer for Hello {
///     type Call = ();
///     type Reply = &'static str;
///     type Cast = ();
///     type Info = ();
///     type Continue = ();
///     fn handle_call(&mut self, _: (), _: gen_server::From<&'static str>) -> gen_server::CallResult<&'static str> {
///         gen_server::CallResult::reply("hello")
///     }
/// }
///
/// otp::run(|| {
///     let name = Name::via(Slot::default());
///     StartOptions::new().name(name.clone()).start_link(Hello).unwrap();
///     assert_eq!(Server::<Hello>::from_name(name).call(()), Ok("hello"));
/// });
/// ```
///
/// [`Registry`]: https://hexdocs.pm/elixir/Registry.html
pub trait Via: fmt::Debug + Send + Sync + 'static {
    /// Binds the name to `pid`. `Err(holder)` if a live process already holds it.
    fn register_name(&self, pid: &AnyPid) -> Result<(), AnyPid>;
    /// Drops the binding if `pid` holds it.
    fn unregister_name(&self, pid: &AnyPid);
    /// The live process that holds the name, if any.
    fn whereis_name(&self) -> Option<AnyPid>;
}

/// How a server is named.
///
/// ```
/// use otp::gen_server::Name;
///
/// let n: Name = "counter".into();
/// assert_eq!(n.to_string(), "counter");
/// ```
#[derive(Clone)]
pub enum Name {
    /// A local registered name ([`process::register`]).
    Local(Arc<str>),
    /// A name kept by a name service.
    Via(Arc<dyn Via>),
}

impl Name {
    /// A local registered name.
    pub fn local(name: impl AsRef<str>) -> Name {
        Name::Local(Arc::from(name.as_ref()))
    }

    /// A name kept by `service`.
    pub fn via(service: impl Via) -> Name {
        Name::Via(Arc::new(service))
    }

    /// The live process that holds the name now, if any.
    pub fn whereis(&self) -> Option<AnyPid> {
        match self {
            Name::Local(n) => process::whereis(n),
            Name::Via(v) => v.whereis_name(),
        }
    }

    /// Binds the name to `pid`; `Err(holder)` if a live process already holds it.
    pub(crate) fn register(&self, pid: &AnyPid) -> Result<(), AnyPid> {
        match self {
            Name::Local(n) => process::register(n, pid).map_err(|e| match e {
                process::RegisterError::NameTaken { owner, .. } => owner,
                // The process registering is the caller itself, alive and freshly started:
                // it cannot already have a name. Report the name's holder if there is one.
                _ => process::whereis(n).unwrap_or_else(|| pid.clone()),
            }),
            Name::Via(v) => v.register_name(pid),
        }
    }

    /// Lets the name go if `pid` holds it.
    pub(crate) fn unregister(&self, pid: &AnyPid) {
        match self {
            Name::Local(n) => {
                if process::whereis(n).as_ref() == Some(pid) {
                    let _ = process::unregister(n);
                }
            }
            Name::Via(v) => v.unregister_name(pid),
        }
    }
}

impl<S: AsRef<str>> std::convert::From<S> for Name {
    fn from(name: S) -> Name {
        Name::local(name)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Local(n) => f.write_str(n),
            Name::Via(v) => write!(f, "{{:via, {v:?}}}"),
        }
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Local(n) => write!(f, "Name::Local({n:?})"),
            Name::Via(v) => write!(f, "Name::Via({v:?})"),
        }
    }
}
