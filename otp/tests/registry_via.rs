//! Registry `via` names: servers, supervisors and agents started and reached by a key, across
//! stops, failed starts and supervised restarts.

mod common;

use common::*;
use otp::{
    agent::{self, Agent},
    gen_server::{
        CallError, CallResult, CastResult, From, GenServer, InitResult, Name, Server, StartError,
        StartOptions, Via,
    },
    process,
    registry::{self, Keys, Options, Registry},
    supervisor::{self, ChildSpec, Strategy, Supervisor},
    AnyPid, ExitReason, Mailbox, Message, MessageRef, Ref, Timeout,
};

// ===== helpers =====

/// Counts the calls it gets; a cast of `true` crashes it.
struct Counter(u64);

impl GenServer for Counter {
    type Call = ();
    type Reply = u64;
    type Cast = bool;
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, (): (), _: From<u64>) -> CallResult<u64> {
        self.0 += 1;
        CallResult::reply(self.0)
    }

    fn handle_cast(&mut self, crash: bool) -> CastResult {
        assert!(!crash, "asked to crash");
        CastResult::noreply()
    }
}

type Names = Registry<String, u32>;

fn by_name(reg: &Names, key: &str) -> Server<Counter> {
    Server::from_name(reg.via(key.to_owned()).into())
}

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

#[track_caller]
fn kill<M: Send + 'static>(pid: &AnyPid, mb: &mut Mailbox<M>) {
    let reference = process::monitor(pid);
    process::exit(pid, ExitReason::Kill);
    assert_eq!(await_down(mb, reference), ExitReason::Killed);
}

// ===== servers =====

#[test]
fn a_server_is_started_and_called_by_its_key() {
    run(|| {
        let reg: Names = registry::start_link(Keys::Unique).unwrap();
        let started = StartOptions::new()
            .name(reg.via_with("counter".into(), 7))
            .start_link(Counter(0))
            .unwrap();
        let pid = started.pid().unwrap();
        assert_eq!(
            reg.lookup("counter"),
            vec![(pid.clone(), 7)],
            "with the name's value"
        );
        assert_eq!(reg.keys(&pid), ["counter"]);

        let counter = by_name(&reg, "counter");
        assert_eq!(counter.pid(), Some(pid.clone()));
        assert_eq!(counter.call(()), Ok(1));
        assert_eq!(started.call(()), Ok(2));
        counter.cast(false).unwrap();
        assert_eq!(
            counter.name().map(ToString::to_string).as_deref(),
            Some(r#"{:via, ViaName { key: "counter", .. }}"#)
        );

        // The name is taken.
        let again = StartOptions::new()
            .name(reg.via("counter".into()))
            .start(Counter(0));
        assert_eq!(again.unwrap_err(), StartError::AlreadyStarted(pid));
        assert_eq!(reg.count(), 1);

        // Nobody by another key.
        let nobody = by_name(&reg, "nobody");
        assert_eq!(nobody.call(()), Err(CallError::NoProc));
        assert!(nobody.cast(false).is_err());
        assert_eq!(nobody.pid(), None);
    });
}

#[test]
fn a_stopped_server_frees_its_key() {
    run(|| {
        let reg: Names = registry::start_link(Keys::Unique).unwrap();
        let name = reg.via("counter".into());
        let first = StartOptions::new()
            .name(name.clone())
            .start(Counter(0))
            .unwrap();
        first.stop(ExitReason::Normal, Timeout::Infinity).unwrap();
        assert_eq!(reg.whereis("counter"), None);
        assert_eq!(by_name(&reg, "counter").call(()), Err(CallError::NoProc));
        wait_until("the entry is gone", || reg.table_size() == 0);

        let second = StartOptions::new().name(name).start(Counter(10)).unwrap();
        assert_eq!(by_name(&reg, "counter").call(()), Ok(11));
        assert_ne!(first.pid(), second.pid());
    });
}

#[test]
fn a_server_whose_init_fails_frees_its_key() {
    struct Refuses;
    impl GenServer for Refuses {
        type Call = ();
        type Reply = ();
        type Cast = ();
        type Info = ();
        type Continue = ();
        fn init(&mut self) -> InitResult {
            InitResult::Stop(ExitReason::custom("no"))
        }
    }
    struct Ignores;
    impl GenServer for Ignores {
        type Call = ();
        type Reply = ();
        type Cast = ();
        type Info = ();
        type Continue = ();
        fn init(&mut self) -> InitResult {
            InitResult::Ignore
        }
    }

    run(|| {
        let reg: Names = registry::start_link(Keys::Unique).unwrap();
        let err = StartOptions::new()
            .name(reg.via("k".into()))
            .start(Refuses)
            .unwrap_err();
        assert_eq!(err, StartError::Stopped(ExitReason::custom("no")));
        assert_eq!(reg.whereis("k"), None);
        let err = StartOptions::new()
            .name(reg.via("k".into()))
            .start(Ignores)
            .unwrap_err();
        assert_eq!(err, StartError::Ignore);
        assert_eq!(reg.whereis("k"), None);
        StartOptions::new()
            .name(reg.via("k".into()))
            .start(Counter(0))
            .unwrap();
        assert_eq!(by_name(&reg, "k").call(()), Ok(1));
    });
}

#[test]
fn a_killed_servers_key_is_free_for_the_next_one() {
    run(|mut mb: Mailbox<()>| {
        let reg: Names = registry::start_link(Keys::Unique).unwrap();
        let name = reg.via("counter".into());
        let first = StartOptions::new()
            .name(name.clone())
            .start(Counter(0))
            .unwrap();
        kill(&first.pid().unwrap(), &mut mb);
        // Killed, so it never let the key go itself; it is free all the same.
        assert_eq!(reg.whereis("counter"), None);
        StartOptions::new().name(name).start(Counter(5)).unwrap();
        assert_eq!(by_name(&reg, "counter").call(()), Ok(6));
        wait_until("only the new server's entry is left", || {
            reg.table_size() == 1
        });
    });
}

// ===== supervised restarts =====

fn counter_child(reg: &Names, key: &str) -> ChildSpec {
    let name = reg.via(key.to_owned());
    ChildSpec::new(key, move || {
        StartOptions::new()
            .name(name.clone())
            .start_link(Counter(0))
    })
}

/// A supervised server named through the registry is killed; its supervisor restarts it, the
/// new one takes the key, and the handle made from the name reaches it.
fn the_name_survives_a_supervised_restart(partitions: usize) {
    run(move |mut mb: Mailbox<()>| {
        let reg: Names = Registry::new(Options::new(Keys::Unique).partitions(partitions));
        let children = vec![reg.child_spec("registry"), counter_child(&reg, "counter")];
        let sup = supervisor::start_link(children, supervisor::Options::default()).unwrap();
        let counter = by_name(&reg, "counter");
        assert_eq!(counter.call(()), Ok(1));
        assert_eq!(counter.call(()), Ok(2));

        for round in 0..3 {
            let old = counter.pid().unwrap();
            kill(&old, &mut mb);
            // The supervisor handled the EXIT (and restarted) before it answers this.
            assert_eq!(sup.count_children().unwrap().active, 2);
            let new = counter.pid().expect("the new incarnation holds the name");
            assert_ne!(new, old, "round {round}");
            assert_eq!(counter.call(()), Ok(1), "a fresh state");
            assert_eq!(reg.lookup("counter"), vec![(new, 0)]);
        }
        wait_until("the dead incarnations are cleaned up", || {
            reg.table_size() == 1
        });
    });
}

#[test]
fn the_name_survives_a_supervised_restart_one_partition() {
    the_name_survives_a_supervised_restart(1);
}

#[test]
fn the_name_survives_a_supervised_restart_four_partitions() {
    the_name_survives_a_supervised_restart(4);
}

/// Calls made while the server is being killed and restarted either fail with a typed error
/// or reach a live incarnation; none is lost or hangs.
#[test]
fn calls_during_a_restart_fail_typed_or_reach_the_new_server() {
    run(|mut mb: Mailbox<()>| {
        let reg: Names = Registry::new(Keys::Unique);
        let children = vec![reg.child_spec("registry"), counter_child(&reg, "counter")];
        let opts = supervisor::Options::default().max_restarts(100);
        supervisor::start_link(children, opts).unwrap();
        let counter = by_name(&reg, "counter");
        let mut outcomes = [0usize; 3];
        for _ in 0..20 {
            let old = counter.pid().unwrap();
            let reference = process::monitor(&old);
            // Crash it with a cast, then call at once, racing the crash and the restart.
            counter.cast(true).unwrap();
            loop {
                match counter.call(()) {
                    Ok(_) if counter.pid().is_some_and(|p| p != old) => {
                        outcomes[0] += 1;
                        break;
                    }
                    // Reached the old one before it handled the cast... impossible: the cast
                    // is ahead of the call in its mailbox.
                    Ok(n) => panic!("the crashed server answered {n}"),
                    Err(CallError::NoProc) => outcomes[1] += 1,
                    Err(CallError::Exit(ExitReason::Panic(p))) => {
                        assert_eq!(p.message(), "asked to crash");
                        outcomes[2] += 1;
                    }
                    Err(other) => panic!("unexpected {other:?}"),
                }
                otp::yield_now();
            }
            assert!(matches!(
                await_down(&mut mb, reference),
                ExitReason::Panic(_)
            ));
        }
        assert_eq!(outcomes[0], 20, "each restart reached: {outcomes:?}");
    });
}

#[test]
fn many_named_servers_restart_under_one_supervisor() {
    const SERVERS: usize = 24;
    run(|mut mb: Mailbox<()>| {
        let reg: Names = Registry::new(Options::new(Keys::Unique).partitions(4));
        let mut children = vec![reg.child_spec("registry")];
        children.extend((0..SERVERS).map(|i| counter_child(&reg, &format!("c{i}"))));
        let sup = supervisor::start_link(
            children,
            supervisor::Options::new(Strategy::OneForOne).max_restarts(SERVERS as u32 * 2),
        )
        .unwrap();
        let servers: Vec<_> = (0..SERVERS)
            .map(|i| by_name(&reg, &format!("c{i}")))
            .collect();
        let old: Vec<AnyPid> = servers.iter().map(|s| s.pid().unwrap()).collect();
        for s in &servers {
            assert_eq!(s.call(()), Ok(1));
        }
        for pid in &old {
            kill(pid, &mut mb);
        }
        assert_eq!(sup.count_children().unwrap().active, SERVERS + 1);
        for (s, old) in servers.iter().zip(&old) {
            assert_eq!(s.call(()), Ok(1));
            assert_ne!(s.pid().as_ref(), Some(old));
        }
        assert_eq!(reg.count(), SERVERS);
        wait_until("the old incarnations are cleaned up", || {
            reg.table_size() == SERVERS
        });
    });
}

// ===== supervisors and agents =====

#[test]
fn a_supervisor_named_through_the_registry_is_reached_after_its_restart() {
    run(|mut mb: Mailbox<()>| {
        let reg: Names = Registry::new(Keys::Unique);
        let inner_name = reg.via("inner".into());
        let inner = supervisor::child_spec(
            "inner",
            vec![counter_child(&reg, "worker")],
            supervisor::Options::default().name(inner_name.clone()),
        );
        let outer = supervisor::start_link(
            vec![reg.child_spec("registry"), inner],
            supervisor::Options::default(),
        )
        .unwrap();
        let named = Supervisor::named(inner_name);
        assert_eq!(named.count_children().unwrap().active, 1);
        assert_eq!(by_name(&reg, "worker").call(()), Ok(1));

        let old = named.pid().unwrap();
        kill(&old, &mut mb);
        assert_eq!(outer.count_children().unwrap().active, 2);
        assert_ne!(named.pid(), Some(old));
        assert_eq!(named.count_children().unwrap().active, 1);
        assert_eq!(by_name(&reg, "worker").call(()), Ok(1), "restarted with it");
    });
}

#[test]
fn an_agent_named_through_the_registry() {
    run(|| {
        let reg: Names = registry::start_link(Keys::Unique).unwrap();
        let name = reg.via("config".into());
        agent::start_with(StartOptions::new().name(name.clone()), || vec![1, 2], true).unwrap();
        let config = Agent::<Vec<i32>>::named(name);
        config.update(|v| v.push(3)).unwrap();
        assert_eq!(config.get(Vec::len), Ok(3));
        assert_eq!(config.pid(), reg.whereis("config"));
    });
}

// ===== misuse =====

#[test]
fn a_via_name_needs_a_unique_registry() {
    let result = block_on(|| {
        let reg: Registry<u8, ()> = Registry::new(Keys::Duplicate);
        let _ = reg.via(1);
    });
    assert!(
        matches!(&result, Err(ExitReason::Panic(p)) if p.message().contains("unique registry")),
        "{result:?}"
    );
}

#[test]
fn a_via_name_registers_only_the_caller() {
    let result = block_on(|| {
        let reg: Registry<u8, ()> = registry::start_link(Keys::Unique).unwrap();
        let other = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        let _ = reg.via(1).register_name(&other.to_any());
    });
    assert!(
        matches!(&result, Err(ExitReason::Panic(p)) if p.message().contains("calling process only")),
        "{result:?}"
    );
}

#[test]
fn the_via_trait_directly() {
    run(|| {
        let reg: Registry<u8, &'static str> = registry::start_link(Keys::Unique).unwrap();
        let name = reg.via_with(1, "one");
        let me = otp::self_pid();
        assert_eq!(name.register_name(&me), Ok(()));
        assert_eq!(name.whereis_name(), Some(me.clone()));
        assert_eq!(name.register_name(&me), Err(me.clone()));
        assert_eq!(reg.lookup(&1), vec![(me.clone(), "one")]);
        // Letting go of someone else's name does nothing.
        let other = otp::spawn(|mut mb: Mailbox<()>| mb.receive());
        name.unregister_name(&other.to_any());
        assert_eq!(name.whereis_name(), Some(me.clone()));
        name.unregister_name(&me);
        assert_eq!(name.whereis_name(), None);
        assert_eq!(reg.table_size(), 0);
        other.send(());
        let n: Name = name.into();
        assert!(n.whereis().is_none());
    });
}
