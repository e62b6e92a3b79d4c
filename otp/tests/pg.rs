//! pg: joining, leaving and listing groups in the default scope and in scopes of one's own;
//! members that exit; scope processes that restart.

mod common;

use common::*;
use otp::{
    gen_server::CallError,
    pg::{self, Scope},
    process,
    supervisor::{self, Options},
    AnyPid, ExitReason, Mailbox, Message, MessageRef, Pid, Ref,
};

// ===== helpers =====

#[track_caller]
fn await_down<M: Send + 'static>(mb: &mut Mailbox<M>, reference: Ref) -> ExitReason {
    let down = mb.select(
        PROMPTLY,
        |m| matches!(m, MessageRef::Down { reference: r, .. } if r == reference),
    );
    match down {
        Some(Message::Down { reason, .. }) => reason,
        _ => panic!("no DOWN within {PROMPTLY:?}"),
    }
}

/// How a [`member`] ends.
#[derive(Debug, Clone, Copy)]
enum How {
    Normal,
    Custom,
    Panic,
    Kill,
}

/// A process that waits for one message, then exits the way it says.
fn member() -> Pid<How> {
    otp::spawn(|mut mb: Mailbox<How>| match mb.receive() {
        How::Panic => panic!("member crashed"),
        How::Custom => otp::exit(ExitReason::custom("x")),
        How::Normal | How::Kill => {}
    })
}

/// Ends `pid` with `how` and waits until it is dead.
#[track_caller]
fn end<M: Send + 'static>(pid: &Pid<How>, how: How, mb: &mut Mailbox<M>) {
    let reference = process::monitor(pid);
    match how {
        How::Kill => process::exit(pid, ExitReason::Kill),
        other => pid.send(other),
    }
    await_down(mb, reference);
}

/// How many monitors the scope process holds (one per member).
fn monitors(scope: &str) -> usize {
    process::whereis(scope).map_or(0, |p| process::info(p).unwrap().monitors.len())
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

// ===== the default scope =====

#[test]
fn join_members_which_groups_and_leave() {
    run(|| {
        pg::start_link().unwrap();
        let (a, b) = (member(), member());
        let (a_, b_) = (a.to_any(), b.to_any());
        pg::join("workers", &a).unwrap();
        pg::join("workers", &b).unwrap();
        pg::join("admins", &a).unwrap();
        assert_eq!(pg::members("workers"), [a_.clone(), b_.clone()]);
        assert_eq!(pg::members("admins"), vec![a_.clone()]);
        assert!(pg::members("nobody").is_empty());
        assert_eq!(sorted(pg::which_groups()), ["admins", "workers"]);

        assert_eq!(pg::leave("workers", &a), Ok(true));
        assert_eq!(pg::members("workers"), vec![b_.clone()]);
        assert_eq!(pg::leave("workers", &a), Ok(false), "not joined any more");
        assert_eq!(pg::leave("nobody", &b), Ok(false));
        assert_eq!(pg::leave("admins", &a), Ok(true));
        assert_eq!(pg::which_groups(), ["workers"]);
        assert_eq!(monitors(pg::DEFAULT_SCOPE), 1, "only b is still a member");
    });
}

#[test]
fn joins_are_counted_and_each_leave_removes_one() {
    run(|| {
        pg::start_link().unwrap();
        let me = otp::self_pid();
        for _ in 0..3 {
            pg::join("g", &me).unwrap();
        }
        assert_eq!(pg::members("g"), [me.clone(), me.clone(), me.clone()]);
        assert_eq!(monitors(pg::DEFAULT_SCOPE), 1, "one monitor per member");
        let other = member();
        pg::join("g", &other).unwrap();
        pg::join("g", &other).unwrap();
        assert_eq!(monitors(pg::DEFAULT_SCOPE), 2);
        assert_eq!(pg::leave("g", &me), Ok(true));
        assert_eq!(pg::members("g").len(), 4);
        assert_eq!(pg::leave("g", &other), Ok(true));
        assert_eq!(pg::leave("g", &other), Ok(true));
        assert_eq!(pg::leave("g", &other), Ok(false));
        assert_eq!(
            monitors(pg::DEFAULT_SCOPE),
            1,
            "other left every group: its monitor goes"
        );
        assert_eq!(pg::members("g"), [me.clone(), me]);
    });
}

#[test]
fn without_a_default_scope_joins_fail_and_reads_are_empty() {
    run(|| {
        let me = otp::self_pid();
        assert_eq!(pg::join("g", &me), Err(CallError::NoProc));
        assert_eq!(pg::leave("g", &me), Err(CallError::NoProc));
        assert!(pg::members("g").is_empty());
        assert!(pg::which_groups().is_empty());
        // A scope of another name is not the default one.
        Scope::<String>::new("other").start_link().unwrap();
        assert_eq!(pg::join("g", &me), Err(CallError::NoProc));
        // Nor is a `pg` scope with another group type.
        Scope::<u32>::new(pg::DEFAULT_SCOPE).start_link().unwrap();
        assert_eq!(pg::join("g", &me), Err(CallError::NoProc));
        assert!(pg::members("g").is_empty());
    });
}

#[test]
fn the_default_scope_under_a_supervisor() {
    run(|mut mb: Mailbox<()>| {
        let sup = supervisor::start_link(vec![pg::child_spec()], Options::default()).unwrap();
        let me = otp::self_pid();
        pg::join("g", &me).unwrap();
        assert!(pg::start_link().is_err(), "already running");

        // Killed and restarted: the members are kept.
        let old = process::whereis(pg::DEFAULT_SCOPE).unwrap();
        let reference = process::monitor(&old);
        process::exit(&old, ExitReason::Kill);
        await_down(&mut mb, reference);
        assert_eq!(sup.count_children().unwrap().active, 1);
        assert_ne!(process::whereis(pg::DEFAULT_SCOPE), Some(old));
        assert_eq!(pg::members("g"), vec![me.clone()]);
        assert_eq!(
            pg::leave("g", &me),
            Ok(true),
            "the new scope process knows the joins"
        );
        assert!(pg::members("g").is_empty());
    });
}

// ===== members that exit =====

fn members_that_exit_leave_every_group(how: How) {
    run(move |mut mb: Mailbox<()>| {
        pg::start_link().unwrap();
        let leaver = member();
        let stayer = member();
        for g in ["a", "b", "c"] {
            pg::join(g, &leaver).unwrap();
            pg::join(g, &leaver).unwrap();
        }
        pg::join("a", &stayer).unwrap();
        assert_eq!(monitors(pg::DEFAULT_SCOPE), 2);

        end(&leaver, how, &mut mb);
        // Dead, so gone from every read at once.
        assert_eq!(pg::members("a"), [stayer.to_any()]);
        assert!(pg::members("b").is_empty());
        assert_eq!(pg::which_groups(), ["a"]);
        // And the scope process cleans up.
        wait_until("the scope drops the dead member", || {
            monitors(pg::DEFAULT_SCOPE) == 1
        });
        assert_eq!(
            pg::leave("b", &leaver),
            Ok(false),
            "its joins are forgotten"
        );
        end(&stayer, How::Normal, &mut mb);
        wait_until("the scope drops the other one", || {
            monitors(pg::DEFAULT_SCOPE) == 0
        });
        assert!(pg::which_groups().is_empty());
    });
}

#[test]
fn members_that_exit_normally_leave_every_group() {
    members_that_exit_leave_every_group(How::Normal);
}

#[test]
fn members_that_crash_leave_every_group() {
    members_that_exit_leave_every_group(How::Custom);
    members_that_exit_leave_every_group(How::Panic);
}

#[test]
fn members_that_are_killed_leave_every_group() {
    members_that_exit_leave_every_group(How::Kill);
}

#[test]
fn a_dead_process_can_join_and_is_dropped_at_once() {
    run(|mut mb: Mailbox<()>| {
        pg::start_link().unwrap();
        let (dead, reference) = otp::spawn_monitor(|| {});
        await_down(&mut mb, reference);
        pg::join("g", &dead).unwrap();
        assert!(pg::members("g").is_empty());
        assert!(pg::which_groups().is_empty());
        wait_until("the scope forgets it", || monitors(pg::DEFAULT_SCOPE) == 0);
        assert_eq!(pg::leave("g", &dead), Ok(false));
    });
}

#[test]
fn many_members_join_leave_and_exit_at_once() {
    const MEMBERS: usize = 60;
    run(|mut mb: Mailbox<usize>| {
        pg::start_link().unwrap();
        let me = mb.pid();
        let mut procs = Vec::new();
        for i in 0..MEMBERS {
            let me = me.clone();
            procs.push(otp::spawn_monitor(move |mut inbox: Mailbox<()>| {
                let pid = otp::self_pid();
                for g in 0..5 {
                    pg::join(format!("g{g}"), &pid).unwrap();
                }
                pg::join("all", &pid).unwrap();
                if i % 2 == 0 {
                    assert_eq!(pg::leave("g0", &pid), Ok(true));
                }
                me.send(i);
                inbox.receive();
                if i % 3 == 0 {
                    panic!("some crash");
                }
            }));
        }
        for _ in 0..MEMBERS {
            recv(&mut mb);
        }
        assert_eq!(pg::members("all").len(), MEMBERS);
        assert_eq!(pg::members("g0").len(), MEMBERS / 2);
        assert_eq!(pg::members("g4").len(), MEMBERS);
        assert_eq!(monitors(pg::DEFAULT_SCOPE), MEMBERS);
        for (pid, _) in &procs {
            pid.send(());
        }
        for (_, reference) in procs {
            await_down(&mut mb, reference);
        }
        assert!(pg::which_groups().is_empty());
        wait_until("every member is dropped", || {
            monitors(pg::DEFAULT_SCOPE) == 0
        });
    });
}

// ===== scopes of one's own =====

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Role {
    Reader,
    Writer,
}

#[test]
fn scopes_are_independent_and_typed() {
    run(|| {
        let roles: Scope<Role> = Scope::new("roles");
        roles.start_link().unwrap();
        let other: Scope<Role> = Scope::new("other_roles");
        other.start_link().unwrap();
        let me = otp::self_pid();
        let m = member();
        roles.join(Role::Writer, &me).unwrap();
        roles.join(Role::Reader, &m).unwrap();
        other.join(Role::Reader, &me).unwrap();
        assert_eq!(roles.members(&Role::Writer), vec![me.clone()]);
        assert_eq!(roles.members(&Role::Reader), [m.to_any()]);
        assert_eq!(other.members(&Role::Reader), vec![me.clone()]);
        assert!(other.members(&Role::Writer).is_empty());
        assert_eq!(sorted(roles.which_groups()), [Role::Reader, Role::Writer]);
        assert_eq!(other.which_groups(), [Role::Reader]);
        assert_eq!(other.leave(Role::Writer, &me), Ok(false));

        // Found by name, with the right group type only.
        let found = Scope::<Role>::named("roles").unwrap();
        assert_eq!(found.name(), "roles");
        assert_eq!(found.members(&Role::Reader), [m.to_any()]);
        assert!(Scope::<String>::named("roles").is_none());
        assert!(Scope::<Role>::named("missing").is_none());
        assert_eq!(format!("{roles:?}"), r#"Scope { name: "roles", .. }"#);
        assert!(
            pg::which_groups().is_empty(),
            "the default scope is another one"
        );
    });
}

#[test]
fn a_scope_that_is_not_running_refuses_joins_but_keeps_its_members() {
    run(|mut mb: Mailbox<()>| {
        let scope: Scope = Scope::new("s");
        assert_eq!(
            scope.join("g".into(), otp::self_pid()),
            Err(CallError::NoProc)
        );
        let pid = scope.start_link().unwrap();
        let m = member();
        scope.join("g".into(), &m).unwrap();
        let reference = process::monitor(&pid);
        process::unlink(&pid);
        process::exit(&pid, ExitReason::Kill);
        await_down(&mut mb, reference);
        assert_eq!(scope.join("g".into(), &m), Err(CallError::NoProc));
        assert_eq!(
            scope.members("g"),
            [m.to_any()],
            "the tables outlive the process"
        );
        assert!(Scope::<String>::named("s").is_none());

        // A member that exits while no scope process runs is dropped by the next one.
        end(&m, How::Normal, &mut mb);
        assert!(scope.members("g").is_empty());
        scope.start_link().unwrap();
        wait_until("the new scope process drops it", || monitors("s") == 0);
        assert!(scope.which_groups().is_empty());
        assert_eq!(scope.leave("g".into(), &m), Ok(false));
    });
}

#[test]
fn a_restarted_scope_watches_its_members_again() {
    run(|mut mb: Mailbox<()>| {
        let scope: Scope<u8> = Scope::new("numbers");
        let sup = supervisor::start_link(vec![scope.child_spec()], Options::default()).unwrap();
        let ms: Vec<Pid<How>> = (0..4).map(|_| member()).collect();
        for (i, m) in ms.iter().enumerate() {
            scope.join(i as u8 % 2, m).unwrap();
        }
        let old: AnyPid = process::whereis("numbers").unwrap();
        let reference = process::monitor(&old);
        process::exit(&old, ExitReason::Kill);
        await_down(&mut mb, reference);
        assert_eq!(sup.count_children().unwrap().active, 1);
        assert_eq!(monitors("numbers"), 4, "every member watched again");
        assert_eq!(scope.members(&0).len(), 2);

        for m in &ms {
            end(m, How::Kill, &mut mb);
        }
        assert!(scope.which_groups().is_empty());
        wait_until("all dropped by the new process", || {
            monitors("numbers") == 0
        });
        scope.join(0, otp::self_pid()).unwrap();
        assert_eq!(scope.members(&0), [otp::self_pid()]);
    });
}
