//! Process groups: named groups of processes that any process can join, leave and list (OTP's
//! `pg`).
//!
//! A group is any value (a `String` in the default scope) naming a set of processes. A process
//! may be in many groups, and in one group several times: each [`join`] adds one membership
//! and each [`leave`] removes one, as in OTP. A member that exits leaves all its groups.
//!
//! ```
//! use otp::{pg, Mailbox};
//!
//! otp::run(|| {
//!     pg::start_link().unwrap();
//!     let worker = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
//!     pg::join("workers", &worker).unwrap();
//!     pg::join("workers", otp::self_pid()).unwrap();
//!     assert_eq!(pg::members("workers"), [worker.to_any(), otp::self_pid()]);
//!     assert_eq!(pg::which_groups(), ["workers"]);
//!     assert_eq!(pg::leave("workers", otp::self_pid()), Ok(true));
//!     assert_eq!(pg::members("workers"), [worker.to_any()]);
//!     worker.send(());
//! });
//! ```
//!
//! # OTP and otp
//!
//! | OTP | otp |
//! |---|---|
//! | `pg:start_link()` | [`start_link`] (the default scope, named `pg`) or [`child_spec`] |
//! | `pg:start_link(Scope)` | [`Scope::new`]`(name)`, then [`Scope::start_link`] or [`Scope::child_spec`] |
//! | `pg:join(Group, Pid)` / `pg:join(Scope, Group, Pid)` | [`join`]`(group, pid)` / [`Scope::join`] |
//! | `pg:leave(Group, Pid)` → `ok \| not_joined` | [`leave`] / [`Scope::leave`] → `Ok(true)` / `Ok(false)` |
//! | `pg:get_members(Group)`, `pg:get_local_members(Group)` | [`members`] / [`Scope::members`] |
//! | `pg:which_groups()` | [`which_groups`] / [`Scope::which_groups`] |
//!
//! # Scopes
//!
//! A [`Scope`] is one independent set of groups, run by one scope process registered under the
//! scope's name. The free functions use the **default scope**, named [`DEFAULT_SCOPE`] (`pg`).
//! Nothing starts it behind your back, just as OTP's kernel starts it only when told to: put
//! [`child_spec`] in your supervision tree or call [`start_link`]. Until it runs, [`join`] and
//! [`leave`] fail with [`CallError::NoProc`] and the reads are empty. (A scope started lazily,
//! by the first `join`, would belong to no supervision tree, and live as long as whichever
//! process happened to touch it first.)
//!
//! # How it works
//!
//! As in OTP, joins and leaves are calls to the scope process, which monitors each member once
//! and, on its `DOWN`, removes it from every group; reads ([`members`], [`which_groups`]) go
//! straight to the scope's tables from the caller, without a message. Serializing the writes
//! through one process makes the cleanup simple: a pid joins and is monitored in the same
//! callback, and a member that is already dead gives an immediate `DOWN` (`noproc`), handled
//! after the join. Reads leave out processes that are no longer alive, so an exited member is
//! gone from every answer at once, before the scope has cleaned up.
//!
//! # Where we differ from OTP
//!
//! * One node: no distribution, so local members are all members.
//! * The tables belong to the [`Scope`] value, not to the scope process: when a supervisor
//!   restarts a crashed scope process, the memberships are still there and the new process
//!   monitors the members again. (OTP's scope loses them with its ETS table.)
//! * Reads are exact about exits (see above), and groups are typed.
//! * No `monitor/1` or `monitor_scope/0` subscriptions.

use std::{
    any::Any,
    borrow::Borrow,
    collections::HashMap,
    fmt,
    hash::Hash,
    sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak},
};

use crate::{
    gen_server::{
        CallError, CallResult, CastResult, From, GenServer, Info, InitResult, Server, StartError,
        StartOptions,
    },
    process::{self, AnyPid, Ref},
    supervisor::ChildSpec,
};

/// The name of the default scope, which the free functions use, and its process's registered
/// name.
///
/// ```
/// use otp::pg;
///
/// otp::run(|| {
///     let scope = pg::start_link().unwrap();
///     assert_eq!(scope.name(), pg::DEFAULT_SCOPE);
///     assert!(otp::process::whereis(pg::DEFAULT_SCOPE).is_some());
/// });
/// ```
pub const DEFAULT_SCOPE: &str = "pg";

/// The groups of one scope: group → members, one copy per join, in join order.
struct Groups<G> {
    name: Arc<str>,
    members: RwLock<HashMap<G, Vec<AnyPid>>>,
}

impl<G> Groups<G> {
    // Each write is one map or vector operation, which the std collections survive whole when
    // a `Hash`, `Eq` or `Drop` panics, so the data behind a poisoned lock is consistent.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<G, Vec<AnyPid>>> {
        self.members.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<G, Vec<AnyPid>>> {
        self.members.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A scope: a set of groups, with the process that keeps them (`pg:start_link(Scope)`). Cheap
/// to clone, `Send` and `Sync`.
///
/// ```
/// use otp::pg::Scope;
///
/// #[derive(Debug, Clone, PartialEq, Eq, Hash)]
/// enum Role { Reader, Writer }
///
/// otp::run(|| {
///     let roles: Scope<Role> = Scope::new("roles");
///     roles.start_link().unwrap();
///     roles.join(Role::Writer, otp::self_pid()).unwrap();
///     assert_eq!(roles.members(&Role::Writer), [otp::self_pid()]);
///     assert!(roles.members(&Role::Reader).is_empty());
/// });
/// ```
pub struct Scope<G = String> {
    groups: Arc<Groups<G>>,
}

impl<G> Clone for Scope<G> {
    fn clone(&self) -> Self {
        Scope {
            groups: self.groups.clone(),
        }
    }
}

impl<G> fmt::Debug for Scope<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("name", &self.groups.name)
            .finish_non_exhaustive()
    }
}

impl<G> Scope<G>
where
    G: Eq + Hash + Clone + Send + Sync + 'static,
{
    /// A scope named `name`, with no groups and no process yet: start it with
    /// [`start_link`](Scope::start_link) or a supervisor and [`child_spec`](Scope::child_spec).
    ///
    /// ```
    /// use otp::pg::Scope;
    ///
    /// let scope: Scope<u32> = Scope::new("shards");
    /// assert_eq!(scope.name(), "shards");
    /// ```
    pub fn new(name: impl AsRef<str>) -> Scope<G> {
        Scope {
            groups: Arc::new(Groups {
                name: Arc::from(name.as_ref()),
                members: RwLock::default(),
            }),
        }
    }

    /// The running scope registered as `name`, if its groups are of type `G`.
    ///
    /// ```
    /// use otp::pg::Scope;
    ///
    /// otp::run(|| {
    ///     Scope::<u32>::new("shards").start_link().unwrap();
    ///     assert!(Scope::<u32>::named("shards").is_some());
    ///     assert!(Scope::<String>::named("shards").is_none(), "other group type");
    ///     assert!(Scope::<u32>::named("elsewhere").is_none());
    /// });
    /// ```
    pub fn named(name: &str) -> Option<Scope<G>> {
        let pid = process::whereis(name)?;
        let groups = directory::find(&pid)?.downcast::<Groups<G>>().ok()?;
        Some(Scope { groups })
    }

    /// The scope's name, which its process is registered under.
    ///
    /// ```
    /// use otp::pg::Scope;
    ///
    /// assert_eq!(Scope::<String>::new("chat").name(), "chat");
    /// ```
    pub fn name(&self) -> &str {
        &self.groups.name
    }

    fn server(&self) -> Server<ScopeServer<G>> {
        Server::named(&*self.groups.name)
    }

    /// Starts the scope's process, linked to the caller, registered under the scope's name.
    ///
    /// # Errors
    ///
    /// [`StartError::AlreadyStarted`] if a process holds the name.
    ///
    /// # Panics
    ///
    /// Outside a process.
    ///
    /// ```
    /// use otp::pg::Scope;
    ///
    /// otp::run(|| {
    ///     let scope: Scope = Scope::new("chat");
    ///     let pid = scope.start_link().unwrap();
    ///     assert_eq!(otp::process::whereis("chat"), Some(pid));
    /// });
    /// ```
    #[track_caller]
    pub fn start_link(&self) -> Result<AnyPid, StartError> {
        let server = self.start_server()?;
        Ok(server
            .pid()
            .expect("a server that has just started is running"))
    }

    fn start_server(&self) -> Result<Server<ScopeServer<G>>, StartError> {
        StartOptions::new()
            .name(&*self.groups.name)
            .start_link(ScopeServer {
                groups: self.groups.clone(),
                watched: HashMap::new(),
                me: None,
            })
    }

    /// A child spec that starts the scope's process under a supervisor (its id is the scope's
    /// name). The groups outlive a restart of the process.
    ///
    /// ```
    /// use otp::pg::Scope;
    /// use otp::supervisor::{self, Options};
    ///
    /// otp::run(|| {
    ///     let scope: Scope = Scope::new("chat");
    ///     supervisor::start_link(vec![scope.child_spec()], Options::default()).unwrap();
    ///     scope.join("room".into(), otp::self_pid()).unwrap();
    /// });
    /// ```
    pub fn child_spec(&self) -> ChildSpec {
        let scope = self.clone();
        ChildSpec::new(self.name(), move || scope.start_server())
    }

    /// Adds `pid` to `group`, once more (`pg:join/3`). A process may join a group several
    /// times; it then appears that many times in [`members`](Scope::members) and must
    /// [`leave`](Scope::leave) as many times. A process that has already exited is dropped
    /// again at once.
    ///
    /// # Errors
    ///
    /// [`CallError`] if the scope's process cannot be reached (not started: `NoProc`).
    ///
    /// # Panics
    ///
    /// Outside a process.
    ///
    /// ```
    /// use otp::pg::Scope;
    ///
    /// otp::run(|| {
    ///     let scope: Scope = Scope::new("chat");
    ///     scope.start_link().unwrap();
    ///     let me = otp::self_pid();
    ///     scope.join("room".into(), &me).unwrap();
    ///     scope.join("room".into(), &me).unwrap();
    ///     assert_eq!(scope.members("room"), [me.clone(), me]);
    /// });
    /// ```
    #[track_caller]
    pub fn join(&self, group: G, pid: impl AsRef<AnyPid>) -> Result<(), CallError> {
        self.server()
            .call(Request::Join(group, pid.as_ref().clone()))
            .map(drop)
    }

    /// Removes one membership of `pid` in `group` (`pg:leave/3`): `Ok(false)` if it had none
    /// (`not_joined`).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the scope's process cannot be reached.
    ///
    /// # Panics
    ///
    /// Outside a process.
    ///
    /// ```
    /// use otp::pg::Scope;
    ///
    /// otp::run(|| {
    ///     let scope: Scope = Scope::new("chat");
    ///     scope.start_link().unwrap();
    ///     let me = otp::self_pid();
    ///     scope.join("room".into(), &me).unwrap();
    ///     assert_eq!(scope.leave("room".into(), &me), Ok(true));
    ///     assert_eq!(scope.leave("room".into(), &me), Ok(false));
    /// });
    /// ```
    #[track_caller]
    pub fn leave(&self, group: G, pid: impl AsRef<AnyPid>) -> Result<bool, CallError> {
        self.server()
            .call(Request::Leave(group, pid.as_ref().clone()))
    }

    /// The live members of `group`, in join order, once per join (`pg:get_members/2`). Read
    /// from the scope's tables, without a message.
    ///
    /// ```
    /// use otp::pg::Scope;
    ///
    /// otp::run(|| {
    ///     let scope: Scope = Scope::new("chat");
    ///     scope.start_link().unwrap();
    ///     assert!(scope.members("room").is_empty());
    ///     scope.join("room".into(), otp::self_pid()).unwrap();
    ///     assert_eq!(scope.members("room"), [otp::self_pid()]);
    /// });
    /// ```
    pub fn members<Q>(&self, group: &Q) -> Vec<AnyPid>
    where
        G: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.groups.read().get(group).map_or_else(Vec::new, |pids| {
            pids.iter().filter(|p| process::alive(p)).cloned().collect()
        })
    }

    /// Every group with a live member, in no particular order (`pg:which_groups/1`).
    ///
    /// ```
    /// use otp::pg::Scope;
    ///
    /// otp::run(|| {
    ///     let scope: Scope<u8> = Scope::new("numbers");
    ///     scope.start_link().unwrap();
    ///     scope.join(1, otp::self_pid()).unwrap();
    ///     scope.join(2, otp::self_pid()).unwrap();
    ///     let mut groups = scope.which_groups();
    ///     groups.sort();
    ///     assert_eq!(groups, [1, 2]);
    /// });
    /// ```
    pub fn which_groups(&self) -> Vec<G> {
        self.groups
            .read()
            .iter()
            .filter(|(_, pids)| pids.iter().any(process::alive))
            .map(|(g, _)| g.clone())
            .collect()
    }
}

// ===== the default scope =====

/// Starts the default scope's process, linked to the caller (`pg:start_link/0`).
///
/// # Errors
///
/// [`StartError::AlreadyStarted`] if it is running already.
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// use otp::pg;
///
/// otp::run(|| {
///     let scope = pg::start_link().unwrap();
///     assert_eq!(scope.name(), pg::DEFAULT_SCOPE);
///     assert!(pg::start_link().is_err());
/// });
/// ```
#[track_caller]
pub fn start_link() -> Result<Scope, StartError> {
    let scope = Scope::new(DEFAULT_SCOPE);
    scope.start_link()?;
    Ok(scope)
}

/// A child spec for the default scope's process, to start it under a supervisor.
///
/// ```
/// use otp::{pg, supervisor::{self, Options}};
///
/// otp::run(|| {
///     supervisor::start_link(vec![pg::child_spec()], Options::default()).unwrap();
///     pg::join("workers", otp::self_pid()).unwrap();
///     assert_eq!(pg::members("workers"), [otp::self_pid()]);
/// });
/// ```
pub fn child_spec() -> ChildSpec {
    Scope::<String>::new(DEFAULT_SCOPE).child_spec()
}

fn default_server() -> Server<ScopeServer<String>> {
    Server::named(DEFAULT_SCOPE)
}

/// Adds `pid` to `group` in the default scope (`pg:join/2`); see [`Scope::join`].
///
/// # Errors
///
/// [`CallError::NoProc`] if the default scope is not running.
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// use otp::{gen_server::CallError, pg};
///
/// otp::run(|| {
///     assert_eq!(pg::join("workers", otp::self_pid()), Err(CallError::NoProc), "not started");
///     pg::start_link().unwrap();
///     pg::join("workers", otp::self_pid()).unwrap();
/// });
/// ```
#[track_caller]
pub fn join(group: impl Into<String>, pid: impl AsRef<AnyPid>) -> Result<(), CallError> {
    default_server()
        .call(Request::Join(group.into(), pid.as_ref().clone()))
        .map(drop)
}

/// Removes one membership of `pid` in `group` in the default scope (`pg:leave/2`):
/// `Ok(false)` if it had none. See [`Scope::leave`].
///
/// # Errors
///
/// [`CallError::NoProc`] if the default scope is not running.
///
/// # Panics
///
/// Outside a process.
///
/// ```
/// use otp::pg;
///
/// otp::run(|| {
///     pg::start_link().unwrap();
///     pg::join("workers", otp::self_pid()).unwrap();
///     assert_eq!(pg::leave("workers", otp::self_pid()), Ok(true));
///     assert_eq!(pg::leave("workers", otp::self_pid()), Ok(false));
/// });
/// ```
#[track_caller]
pub fn leave(group: impl Into<String>, pid: impl AsRef<AnyPid>) -> Result<bool, CallError> {
    default_server().call(Request::Leave(group.into(), pid.as_ref().clone()))
}

/// The live members of `group` in the default scope (`pg:get_members/1`); see
/// [`Scope::members`]. Empty while the default scope's process is not running, including the
/// moment a supervisor takes to restart it; a [`Scope`] handle (from [`start_link`]) reads its
/// tables whether or not the process runs.
///
/// ```
/// use otp::pg;
///
/// otp::run(|| {
///     assert!(pg::members("workers").is_empty());
///     pg::start_link().unwrap();
///     pg::join("workers", otp::self_pid()).unwrap();
///     assert_eq!(pg::members("workers"), [otp::self_pid()]);
/// });
/// ```
pub fn members(group: &str) -> Vec<AnyPid> {
    Scope::<String>::named(DEFAULT_SCOPE).map_or_else(Vec::new, |s| s.members(group))
}

/// Every group of the default scope with a live member (`pg:which_groups/0`); empty while the
/// default scope's process is not running, as for [`members`].
///
/// ```
/// use otp::pg;
///
/// otp::run(|| {
///     pg::start_link().unwrap();
///     pg::join("workers", otp::self_pid()).unwrap();
///     assert_eq!(pg::which_groups(), ["workers"]);
/// });
/// ```
pub fn which_groups() -> Vec<String> {
    Scope::<String>::named(DEFAULT_SCOPE).map_or_else(Vec::new, |s| s.which_groups())
}

// ===== the scope process =====

/// What the scope process is asked to do.
enum Request<G> {
    Join(G, AnyPid),
    Leave(G, AnyPid),
}

/// One monitored member: its monitor, and how many times it joined each group.
struct Member<G> {
    reference: Ref,
    joins: HashMap<G, usize>,
}

/// The scope process: the only writer of its groups' tables, and the monitors on the members.
struct ScopeServer<G> {
    groups: Arc<Groups<G>>,
    /// Members, by pid number.
    watched: HashMap<u64, Member<G>>,
    /// This process, once `init` has published it in the directory.
    me: Option<AnyPid>,
}

impl<G> ScopeServer<G>
where
    G: Eq + Hash + Clone + Send + Sync + 'static,
{
    /// Notes one more join of `pid` to `group`, monitoring `pid` if it is new.
    fn count_join(&mut self, group: G, pid: &AnyPid) {
        let member = self.watched.entry(pid.number()).or_insert_with(|| Member {
            // A member that has already exited gives a `DOWN` (`noproc`) at once.
            reference: process::monitor(pid),
            joins: HashMap::new(),
        });
        *member.joins.entry(group).or_default() += 1;
    }

    fn join(&mut self, group: G, pid: AnyPid) {
        self.groups
            .write()
            .entry(group.clone())
            .or_default()
            .push(pid.clone());
        self.count_join(group, &pid);
    }

    fn leave(&mut self, group: G, pid: &AnyPid) -> bool {
        let Some(member) = self.watched.get_mut(&pid.number()) else {
            return false;
        };
        let Some(joins) = member.joins.get_mut(&group) else {
            return false;
        };
        *joins -= 1;
        if *joins == 0 {
            member.joins.remove(&group);
        }
        if member.joins.is_empty() {
            let reference = member.reference;
            self.watched.remove(&pid.number());
            process::demonitor_flush(reference);
        }
        let mut tables = self.groups.write();
        if let Some(pids) = tables.get_mut(&group) {
            if let Some(i) = pids.iter().rposition(|p| p == pid) {
                pids.remove(i);
            }
            if pids.is_empty() {
                tables.remove(&group);
            }
        }
        true
    }

    /// `pid` exited: it leaves every group.
    fn purge(&mut self, pid: &AnyPid) {
        let Some(member) = self.watched.remove(&pid.number()) else {
            return;
        };
        let mut tables = self.groups.write();
        for group in member.joins.keys() {
            if let Some(pids) = tables.get_mut(group) {
                pids.retain(|p| p != pid);
                if pids.is_empty() {
                    tables.remove(group);
                }
            }
        }
    }
}

impl<G> GenServer for ScopeServer<G>
where
    G: Eq + Hash + Clone + Send + Sync + 'static,
{
    type Call = Request<G>;
    type Reply = bool;
    type Cast = std::convert::Infallible;
    type Info = std::convert::Infallible;
    type Continue = ();

    fn init(&mut self) -> InitResult {
        let me = process::self_pid();
        let groups: Arc<dyn Any + Send + Sync> = self.groups.clone();
        directory::publish(&me, &groups);
        self.me = Some(me);
        // After a restart the tables still hold the members: watch them again. Members that
        // exited meanwhile give a `DOWN` (`noproc`) at once.
        let joined: Vec<(G, AnyPid)> = self
            .groups
            .read()
            .iter()
            .flat_map(|(g, pids)| pids.iter().map(move |p| (g.clone(), p.clone())))
            .collect();
        for (group, pid) in joined {
            self.count_join(group, &pid);
        }
        InitResult::ok()
    }

    fn handle_call(&mut self, request: Request<G>, _: From<bool>) -> CallResult<bool> {
        match request {
            Request::Join(group, pid) => {
                self.join(group, pid);
                CallResult::reply(true)
            }
            Request::Leave(group, pid) => CallResult::reply(self.leave(group, &pid)),
        }
    }

    fn handle_info(&mut self, info: Info<std::convert::Infallible>) -> CastResult {
        if let Info::Down { reference, pid, .. } = info {
            crate::registry::forget_fired_monitor(reference);
            self.purge(&pid);
        }
        CastResult::noreply()
    }
}

impl<G> Drop for ScopeServer<G> {
    fn drop(&mut self) {
        if let Some(me) = &self.me {
            directory::withdraw(me);
        }
    }
}

/// Finds a scope's groups from its process: scope processes of every runtime publish their
/// tables here under their pid (pids are unique across the runtimes of an OS process, and
/// names are per runtime, so `whereis` then `find` never crosses runtimes).
mod directory {
    use super::*;

    type Published = Vec<(AnyPid, Weak<dyn Any + Send + Sync>)>;

    static PUBLISHED: Mutex<Published> = Mutex::new(Vec::new());

    fn lock() -> std::sync::MutexGuard<'static, Published> {
        // Every update is one push or retain: a poisoned list is whole.
        PUBLISHED.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `pid` keeps `groups`. Also forgets processes that exited without withdrawing.
    pub(super) fn publish(pid: &AnyPid, groups: &Arc<dyn Any + Send + Sync>) {
        let mut published = lock();
        published.retain(|(p, _)| process::alive(p));
        published.push((pid.clone(), Arc::downgrade(groups)));
    }

    pub(super) fn withdraw(pid: &AnyPid) {
        lock().retain(|(p, _)| p != pid);
    }

    pub(super) fn find(pid: &AnyPid) -> Option<Arc<dyn Any + Send + Sync>> {
        lock()
            .iter()
            .find(|(p, _)| p == pid)
            .and_then(|(_, groups)| groups.upgrade())
    }
}
