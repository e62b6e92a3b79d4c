//! Registry: every operation on unique and duplicate registries, with one partition and with
//! several; cleanup when holders exit (normally, crashing, killed, right after registering);
//! partition processes that crash, and registries that start late.

mod common;

use std::{collections::BTreeSet, time::Duration};

use common::*;
use otp::{
    process,
    registry::{self, AlreadyRegistered, Keys, Options, Registry},
    AnyPid, ExitReason, Mailbox, Message, MessageRef, Pid, Ref,
};

// ===== helpers =====

/// Work for a [`holder`] to do in its own process.
type Job = Box<dyn FnOnce() + Send>;

/// A process that runs the jobs it is sent, one at a time, answering `()` after each.
fn holder(done: Pid<()>) -> Pid<Job> {
    otp::spawn(move |mut mb: Mailbox<Job>| loop {
        let job = mb.receive();
        job();
        done.send(());
    })
}

/// Runs `job` in `holder` and waits until it is done.
#[track_caller]
fn on(holder: &Pid<Job>, mb: &mut Mailbox<()>, job: impl FnOnce() + Send + 'static) {
    holder.send(Box::new(job));
    recv(mb);
}

/// Waits for the `DOWN` of `reference`; returns its reason.
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

/// Makes `holder` exit by running `job` (which must end it), and waits until it has.
#[track_caller]
fn end(holder: &Pid<Job>, mb: &mut Mailbox<()>, job: impl FnOnce() + Send + 'static) -> ExitReason {
    let reference = process::monitor(holder);
    holder.send(Box::new(job));
    await_down(mb, reference)
}

/// Kills `pid` and waits until it is dead.
#[track_caller]
fn kill<M: Send + 'static>(pid: &AnyPid, mb: &mut Mailbox<M>) {
    let reference = process::monitor(pid);
    process::exit(pid, ExitReason::Kill);
    assert_eq!(await_down(mb, reference), ExitReason::Killed);
}

fn options(keys: Keys, partitions: usize) -> Options {
    Options::new(keys).partitions(partitions)
}

/// Each scenario runs with one partition and with several.
macro_rules! partitioned {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn one_partition() {
                super::$name(1);
            }
            #[test]
            fn eight_partitions() {
                super::$name(8);
            }
        }
    )*};
}

partitioned!(
    unique_keys,
    duplicate_keys,
    pubsub_dispatch_reaches_every_subscriber,
    select_and_count_select,
    update_value,
    entries_go_when_the_holder_exits_normally,
    entries_go_when_the_holder_crashes,
    entries_go_when_the_holder_is_killed,
    a_dead_holders_key_is_free_at_once,
    holders_that_exit_right_after_registering_leave_nothing,
    concurrent_registrations_and_exits,
    one_winner_per_unique_key,
);

// ===== reads and writes =====

fn unique_keys(partitions: usize) {
    run(move |mut mb: Mailbox<()>| {
        let reg: Registry<String, u32> =
            registry::start_link(options(Keys::Unique, partitions)).unwrap();
        let me = otp::self_pid();
        reg.register("a".into(), 1).unwrap();
        assert_eq!(reg.lookup("a"), vec![(me.clone(), 1)]);
        assert_eq!(reg.whereis("a"), Some(me.clone()));
        // Taken, by the caller itself as by anyone.
        assert_eq!(
            reg.register("a".into(), 2),
            Err(AlreadyRegistered(me.clone()))
        );

        let other = holder(mb.pid());
        let (r, me2) = (reg.clone(), me.clone());
        on(&other, &mut mb, move || {
            assert_eq!(r.register("a".into(), 3), Err(AlreadyRegistered(me2)));
            r.register("b".into(), 4).unwrap();
        });
        assert_eq!(
            reg.lookup("a"),
            vec![(me.clone(), 1)],
            "a failed register changes nothing"
        );
        assert_eq!(reg.lookup("b"), vec![(other.to_any(), 4)]);
        assert_eq!(reg.count(), 2);
        assert_eq!(reg.keys(&me), ["a"]);
        assert_eq!(reg.keys(&other), ["b"]);
        assert_eq!(reg.values("a", &me), [1]);
        assert!(reg.values("a", &other).is_empty());

        // Unregistering frees the key for anyone; unregistering someone else's key does nothing.
        reg.unregister("b");
        assert_eq!(reg.lookup("b"), vec![(other.to_any(), 4)]);
        reg.unregister("a");
        reg.unregister("never");
        assert!(reg.lookup("a").is_empty());
        assert!(reg.keys(&me).is_empty());
        let r = reg.clone();
        on(&other, &mut mb, move || r.register("a".into(), 5).unwrap());
        assert_eq!(reg.whereis("a"), Some(other.to_any()));
        assert_eq!(reg.keys(&other), ["b", "a"]);
        assert_eq!(reg.count(), 2);
        assert_eq!(reg.table_size(), 2);
    });
}

fn duplicate_keys(partitions: usize) {
    run(move |mut mb: Mailbox<()>| {
        let reg: Registry<&'static str, u32> =
            registry::start_link(options(Keys::Duplicate, partitions)).unwrap();
        let me = otp::self_pid();
        reg.register("t", 1).unwrap();
        reg.register("t", 2).unwrap();
        reg.register("u", 9).unwrap();
        let other = holder(mb.pid());
        let r = reg.clone();
        on(&other, &mut mb, move || r.register("t", 3).unwrap());

        assert_eq!(
            reg.lookup("t"),
            vec![(me.clone(), 1), (me.clone(), 2), (other.to_any(), 3)]
        );
        assert_eq!(reg.keys(&me), ["t", "t", "u"]);
        assert_eq!(reg.values("t", &me), [1, 2]);
        assert_eq!(reg.values("t", &other), [3]);
        assert_eq!(reg.count(), 4);
        assert_eq!(reg.whereis("t"), Some(me.clone()), "the oldest entry");

        // Unregister removes all of the caller's entries under the key, and only those.
        reg.unregister("t");
        assert_eq!(reg.lookup("t"), vec![(other.to_any(), 3)]);
        assert_eq!(reg.keys(&me), ["u"]);
        assert_eq!(reg.count(), 2);
        assert_eq!(reg.table_size(), 2);
    });
}

fn pubsub_dispatch_reaches_every_subscriber(partitions: usize) {
    const SUBSCRIBERS: usize = 8;

    #[derive(Debug, Clone)]
    struct Event(&'static str);

    run(move |mut mb: Mailbox<(usize, &'static str)>| {
        // Each subscription's value is where to send, typed.
        let topics: Registry<&'static str, Pid<Event>> =
            registry::start_link(options(Keys::Duplicate, partitions)).unwrap();
        let me = mb.pid();
        let mut downs = Vec::new();
        for i in 0..SUBSCRIBERS {
            let (topics, me) = (topics.clone(), me.clone());
            let (_, reference) = otp::spawn_monitor(move |mut inbox: Mailbox<Event>| {
                topics.register("news", inbox.pid()).unwrap();
                if i % 2 == 0 {
                    topics.register("sports", inbox.pid()).unwrap();
                }
                me.send((i, "subscribed"));
                loop {
                    let Event(what) = inbox.receive();
                    me.send((i, what));
                    if what == "bye" {
                        break;
                    }
                }
            });
            downs.push(reference);
        }
        for _ in 0..SUBSCRIBERS {
            assert_eq!(recv(&mut mb).1, "subscribed");
        }

        let publish = |topic: &'static str, event: &'static str| {
            let mut calls = 0;
            topics.dispatch(topic, |subscribers| {
                calls += 1;
                for (pid, inbox) in subscribers {
                    assert_eq!(*pid, inbox.to_any());
                    inbox.send(Event(event));
                }
            });
            calls
        };
        let heard = |mb: &mut Mailbox<(usize, &'static str)>, n: usize, event: &str| {
            let mut who = BTreeSet::new();
            for _ in 0..n {
                let (i, what) = recv(mb);
                assert_eq!(what, event);
                assert!(who.insert(i), "{i} heard {event} twice");
            }
            who
        };

        assert_eq!(publish("news", "extra"), 1, "one call, with every entry");
        assert_eq!(heard(&mut mb, SUBSCRIBERS, "extra").len(), SUBSCRIBERS);
        assert_eq!(publish("sports", "goal"), 1);
        let fans = heard(&mut mb, SUBSCRIBERS / 2, "goal");
        assert!(fans.iter().all(|i| i % 2 == 0));
        assert_eq!(publish("weather", "rain"), 0, "no subscribers, no call");

        // Subscribers that leave stop hearing; the rest still do.
        assert_eq!(publish("sports", "bye"), 1);
        heard(&mut mb, SUBSCRIBERS / 2, "bye");
        for reference in downs.iter().step_by(2) {
            await_down(&mut mb, *reference);
        }
        assert_eq!(topics.lookup("news").len(), SUBSCRIBERS / 2);
        assert!(topics.lookup("sports").is_empty());
        assert_eq!(publish("news", "bye"), 1);
        let rest = heard(&mut mb, SUBSCRIBERS / 2, "bye");
        assert!(rest.iter().all(|i| i % 2 == 1));
        for reference in downs.iter().skip(1).step_by(2) {
            await_down(&mut mb, *reference);
        }
        wait_until("every subscription is cleaned up", || {
            topics.table_size() == 0
        });
    });
}

fn select_and_count_select(partitions: usize) {
    run(move |mut mb: Mailbox<()>| {
        let reg: Registry<u32, &'static str> =
            registry::start_link(options(Keys::Duplicate, partitions)).unwrap();
        let me = otp::self_pid();
        for k in 0..20 {
            reg.register(k, if k % 3 == 0 { "fizz" } else { "plain" })
                .unwrap();
        }
        let other = holder(mb.pid());
        let r = reg.clone();
        on(&other, &mut mb, move || r.register(100, "fizz").unwrap());

        let mut fizz = reg.select(|_, _, v| *v == "fizz");
        fizz.sort_by_key(|(k, _, _)| *k);
        let keys: Vec<u32> = fizz.iter().map(|(k, _, _)| *k).collect();
        assert_eq!(keys, [0, 3, 6, 9, 12, 15, 18, 100]);
        assert_eq!(fizz.last().unwrap().1, other.to_any());
        assert_eq!(reg.count_select(|_, pid, _| *pid == me), 20);
        assert_eq!(reg.count_select(|k, _, v| *k > 10 && *v == "plain"), 6);
        assert_eq!(reg.select(|_, _, _| true).len(), reg.count());

        // The closure may use the registry: the entries are copies.
        let nested = reg.select(|k, _, _| reg.lookup(k).len() == 1 && *k < 2);
        assert_eq!(nested.len(), 2);

        // Exited processes are never selected.
        end(&other, &mut mb, || otp::exit(ExitReason::Normal));
        assert!(reg.select(|k, _, _| *k == 100).is_empty());
        assert_eq!(reg.count_select(|_, _, v| *v == "fizz"), 7);
    });
}

fn update_value(partitions: usize) {
    run(move |mut mb: Mailbox<()>| {
        let reg: Registry<String, u64> =
            registry::start_link(options(Keys::Unique, partitions)).unwrap();
        reg.register("hits".into(), 0).unwrap();
        assert_eq!(reg.update_value("hits", |n| n + 1), Some((1, 0)));
        assert_eq!(reg.update_value("hits", |n| n * 10), Some((10, 1)));
        assert_eq!(reg.lookup("hits"), vec![(otp::self_pid(), 10)]);
        assert_eq!(reg.update_value("misses", |n| n + 1), None);

        // Another process cannot update the caller's entry.
        let other = holder(mb.pid());
        let r = reg.clone();
        on(&other, &mut mb, move || {
            assert_eq!(r.update_value("hits", |_| 99), None);
        });
        assert_eq!(reg.lookup("hits"), vec![(otp::self_pid(), 10)]);

        // The function runs outside the locks: it may use the registry.
        let r = reg.clone();
        let updated = reg.update_value("hits", move |n| n + r.lookup("hits").len() as u64);
        assert_eq!(updated, Some((11, 10)));
    });
}

#[test]
fn update_value_panics_in_a_duplicate_registry() {
    let result = block_on(|| {
        let reg: Registry<u8, u8> = registry::start_link(Keys::Duplicate).unwrap();
        reg.register(1, 1).unwrap();
        reg.update_value(&1, |v| v + 1);
    });
    assert!(
        matches!(&result, Err(ExitReason::Panic(p)) if p.message().contains("unique registry")),
        "{result:?}"
    );
}

#[test]
fn borrowed_keys_and_tuples() {
    run(|| {
        let reg: Registry<(String, u8), ()> = registry::start_link(Keys::Unique).unwrap();
        reg.register(("room".into(), 1), ()).unwrap();
        assert_eq!(reg.lookup(&("room".to_owned(), 1)).len(), 1);
        let names: Registry<String, ()> = registry::start_link(Keys::Unique).unwrap();
        names.register("x".into(), ()).unwrap();
        // Looked up with a `&str`: a `String` key and its `str` hash alike.
        for _ in 0..100 {
            assert_eq!(names.whereis("x"), Some(otp::self_pid()));
        }
    });
}

// ===== cleanup =====

/// A holder registers under a unique and a duplicate registry, then exits through `exit`;
/// every read is empty once it is dead, and the tables are emptied soon after.
fn cleanup_after(partitions: usize, exit: fn(), expected: ExitReason) {
    run(move |mut mb: Mailbox<()>| {
        let names: Registry<String, u32> =
            registry::start_link(options(Keys::Unique, partitions)).unwrap();
        let topics: Registry<String, u32> =
            registry::start_link(options(Keys::Duplicate, partitions)).unwrap();
        let h = holder(mb.pid());
        let (n, t) = (names.clone(), topics.clone());
        on(&h, &mut mb, move || {
            for i in 0..10 {
                n.register(format!("name{i}"), i).unwrap();
                t.register("topic".into(), i).unwrap();
            }
        });
        topics.register("topic".into(), 100).unwrap();
        assert_eq!(names.count(), 10);
        assert_eq!(topics.lookup("topic").len(), 11);

        assert_eq!(end(&h, &mut mb, exit), expected);
        // Dead, so gone from every read already, cleaned up or not.
        let h = h.to_any();
        assert!(names.lookup("name3").is_empty());
        assert_eq!(names.whereis("name3"), None);
        assert!(names.keys(&h).is_empty());
        assert!(names.values("name3", &h).is_empty());
        assert_eq!(names.count(), 0);
        assert!(names.select(|_, _, _| true).is_empty());
        assert_eq!(topics.lookup("topic"), vec![(otp::self_pid(), 100)]);
        assert_eq!(topics.count(), 1);
        let mut dispatched = 0;
        topics.dispatch("topic", |entries| dispatched = entries.len());
        assert_eq!(dispatched, 1);

        // And the registry's processes clean up the tables, leaving the other entries alone.
        wait_until("the names are cleaned up", || names.table_size() == 0);
        wait_until("the topic is cleaned up", || topics.table_size() == 1);
        assert_eq!(topics.keys(otp::self_pid()), ["topic"]);
    });
}

fn entries_go_when_the_holder_exits_normally(partitions: usize) {
    cleanup_after(
        partitions,
        || otp::exit(ExitReason::Normal),
        ExitReason::Normal,
    );
}

fn entries_go_when_the_holder_crashes(partitions: usize) {
    run(move |mut mb: Mailbox<()>| {
        let reg: Registry<u32, ()> =
            registry::start_link(options(Keys::Unique, partitions)).unwrap();
        let h = holder(mb.pid());
        let r = reg.clone();
        on(&h, &mut mb, move || {
            for k in 0..10 {
                r.register(k, ()).unwrap();
            }
        });
        let reason = end(&h, &mut mb, || panic!("holder crashed"));
        assert!(matches!(&reason, ExitReason::Panic(p) if p.message() == "holder crashed"));
        assert!(reg.lookup(&3).is_empty());
        assert!(reg.keys(&h).is_empty());
        assert_eq!(reg.count(), 0);
        wait_until("the crashed holder's entries are cleaned up", || {
            reg.table_size() == 0
        });
    });
    cleanup_after(
        partitions,
        || otp::exit(ExitReason::custom("boom")),
        ExitReason::custom("boom"),
    );
}

fn entries_go_when_the_holder_is_killed(partitions: usize) {
    run(move |mut mb: Mailbox<()>| {
        let reg: Registry<u32, ()> =
            registry::start_link(options(Keys::Duplicate, partitions)).unwrap();
        let h = holder(mb.pid());
        let r = reg.clone();
        on(&h, &mut mb, move || {
            for k in 0..10 {
                r.register(k % 3, ()).unwrap();
            }
        });
        assert_eq!(reg.count(), 10);
        kill(&h.to_any(), &mut mb);
        assert!(reg.lookup(&0).is_empty());
        assert!(reg.keys(&h).is_empty());
        assert_eq!(reg.count(), 0);
        wait_until("the killed holder's entries are cleaned up", || {
            reg.table_size() == 0
        });
    });
}

fn a_dead_holders_key_is_free_at_once(partitions: usize) {
    run(move |mut mb: Mailbox<()>| {
        let reg: Registry<&'static str, u8> =
            registry::start_link(options(Keys::Unique, partitions)).unwrap();
        let h = holder(mb.pid());
        let r = reg.clone();
        on(&h, &mut mb, move || r.register("k", 1).unwrap());
        let holder_pid = h.to_any();
        assert_eq!(
            reg.register("k", 2),
            Err(AlreadyRegistered(holder_pid.clone()))
        );
        kill(&holder_pid, &mut mb);
        // Free now, whether or not the cleanup has run yet.
        reg.register("k", 2).unwrap();
        assert_eq!(reg.lookup("k"), vec![(otp::self_pid(), 2)]);
        // The dead holder's cleanup removes only its own entry.
        wait_until("only the new entry is left", || {
            reg.table_size() == 1 && reg.lookup("k") == vec![(otp::self_pid(), 2)]
        });
        assert_eq!(reg.keys(otp::self_pid()), ["k"]);
    });
}

/// The race the cleanup is built for: a process registers and exits before the registry has
/// even seen its `Watch`. Nothing may stay behind.
fn holders_that_exit_right_after_registering_leave_nothing(partitions: usize) {
    const HOLDERS: usize = 200;
    run(move |mut mb: Mailbox<()>| {
        let names: Registry<usize, ()> =
            registry::start_link(options(Keys::Unique, partitions)).unwrap();
        let topics: Registry<&'static str, usize> =
            registry::start_link(options(Keys::Duplicate, partitions)).unwrap();
        let mut downs = Vec::new();
        for i in 0..HOLDERS {
            let (names, topics) = (names.clone(), topics.clone());
            let (pid, reference) = otp::spawn_monitor(move || {
                names.register(i, ()).unwrap();
                names.register(i + HOLDERS, ()).unwrap();
                topics.register("all", i).unwrap();
                match i % 3 {
                    0 => {}
                    1 => panic!("gone at once"),
                    _ => otp::exit(ExitReason::Kill),
                }
            });
            downs.push((pid, reference));
        }
        for (_, reference) in downs {
            await_down(&mut mb, reference);
        }
        assert_eq!(names.count(), 0);
        assert!(topics.lookup("all").is_empty());
        wait_until("every entry is cleaned up", || {
            names.table_size() == 0 && topics.table_size() == 0
        });
        // Monitors set on processes already dead leave nothing behind in the partitions.
        let partitions: Vec<AnyPid> = names
            .partition_pids()
            .into_iter()
            .chain(topics.partition_pids())
            .flatten()
            .collect();
        wait_until("the partitions hold no monitors", || {
            partitions
                .iter()
                .all(|p| process::info(p).unwrap().monitors.is_empty())
        });
    });
}

/// Many processes on both schedulers register, unregister and exit at once.
fn concurrent_registrations_and_exits(partitions: usize) {
    const PROCS: usize = 40;
    const KEYS: usize = 25;
    run(move |mut mb: Mailbox<usize>| {
        let names: Registry<String, usize> =
            registry::start_link(options(Keys::Unique, partitions)).unwrap();
        let topics: Registry<usize, usize> =
            registry::start_link(options(Keys::Duplicate, partitions)).unwrap();
        let me = mb.pid();
        let mut procs = Vec::new();
        for p in 0..PROCS {
            let (names, topics, me) = (names.clone(), topics.clone(), me.clone());
            let (pid, reference) = otp::spawn_monitor(move |mut inbox: Mailbox<()>| {
                for k in 0..KEYS {
                    names.register(format!("{p}/{k}"), k).unwrap();
                    topics.register(k % 5, p).unwrap();
                    if k % 4 == 0 {
                        names.unregister(format!("{p}/{k}").as_str());
                        topics.unregister(&(k % 5));
                    }
                    otp::yield_now();
                }
                let kept = names.keys(otp::self_pid()).len();
                me.send(kept);
                inbox.receive();
                if p % 2 == 0 {
                    panic!("half of them crash");
                }
            });
            procs.push((pid, reference));
        }
        let kept: usize = (0..PROCS).map(|_| recv(&mut mb)).sum();
        assert_eq!(kept, PROCS * (KEYS - KEYS.div_ceil(4)));
        assert_eq!(names.count(), kept);
        let subscribed: usize = (0..5).map(|t| topics.lookup(&t).len()).sum();
        assert_eq!(subscribed, topics.count());

        for (pid, _) in &procs {
            pid.send(());
        }
        for (_, reference) in procs {
            await_down(&mut mb, reference);
        }
        assert_eq!(names.count() + topics.count(), 0);
        wait_until("all cleaned up", || {
            names.table_size() + topics.table_size() == 0
        });
    });
}

/// Processes race for the same unique keys: each key has exactly one winner, and the losers
/// are told who won.
fn one_winner_per_unique_key(partitions: usize) {
    const RACERS: usize = 16;
    run(
        move |mut mb: Mailbox<(AnyPid, Vec<Result<(), AlreadyRegistered>>)>| {
            let reg: Registry<u32, ()> =
                registry::start_link(options(Keys::Unique, partitions)).unwrap();
            let me = mb.pid();
            let mut racers = Vec::new();
            for _ in 0..RACERS {
                let (reg, me) = (reg.clone(), me.clone());
                racers.push(otp::spawn(move |mut inbox: Mailbox<()>| {
                    let results = (0..10).map(|k| reg.register(k, ())).collect();
                    me.send((otp::self_pid(), results));
                    inbox.receive();
                }));
            }
            let all: Vec<_> = (0..RACERS).map(|_| recv(&mut mb)).collect();
            for k in 0..10u32 {
                let winner = reg.whereis(&k).expect("someone holds each key");
                for (pid, results) in &all {
                    match &results[k as usize] {
                        Ok(()) => assert_eq!(*pid, winner),
                        Err(AlreadyRegistered(holder)) => assert_eq!(*holder, winner),
                    }
                }
            }
            assert_eq!(reg.count(), 10);
            for r in racers {
                r.send(());
            }
        },
    );
}

// ===== the registry's processes =====

#[test]
fn unregistering_every_key_drops_the_monitor() {
    run(|mut mb: Mailbox<()>| {
        let reg: Registry<u32, ()> = registry::start_link(Keys::Duplicate).unwrap();
        let partition = reg.partition_pids()[0].clone().unwrap();
        let monitored = |pid: &AnyPid| {
            process::info(&partition)
                .unwrap()
                .monitors
                .iter()
                .filter(|m| *m == pid)
                .count()
        };
        let h = holder(mb.pid());
        let hp = h.to_any();
        let r = reg.clone();
        on(&h, &mut mb, move || {
            r.register(1, ()).unwrap();
            r.register(2, ()).unwrap();
            r.register(1, ()).unwrap();
        });
        wait_until("the holder is monitored", || monitored(&hp) == 1);
        let r = reg.clone();
        on(&h, &mut mb, move || r.unregister(&1));
        assert_eq!(reg.keys(&hp), [2]);
        let r = reg.clone();
        on(&h, &mut mb, move || r.unregister(&2));
        wait_until("the monitor is dropped", || monitored(&hp) == 0);

        // Registering again watches again, once.
        let r = reg.clone();
        on(&h, &mut mb, move || {
            r.register(3, ()).unwrap();
            r.unregister(&3);
            r.register(3, ()).unwrap();
        });
        wait_until("the holder is monitored again", || monitored(&hp) == 1);
        kill(&hp, &mut mb);
        wait_until("cleaned up", || {
            reg.table_size() == 0 && monitored(&hp) == 0
        });
    });
}

#[test]
fn a_crashed_partition_process_is_restarted_and_watches_every_holder_again() {
    run(|mut mb: Mailbox<()>| {
        let reg: Registry<u32, ()> = Registry::new(Options::new(Keys::Unique).partitions(2));
        let sup = reg.start_link().unwrap();
        // Holders in both pid partitions.
        let holders: Vec<Pid<Job>> = (0..6).map(|_| holder(mb.pid())).collect();
        for (i, h) in holders.iter().enumerate() {
            let r = reg.clone();
            on(h, &mut mb, move || r.register(i as u32, ()).unwrap());
        }
        let old = reg.partition_pids();
        for pid in old.iter().flatten() {
            kill(pid, &mut mb);
        }
        // The supervisor handles both EXITs before this call, and restarts before answering.
        assert_eq!(sup.count_children().unwrap().active, 2);
        let new = reg.partition_pids();
        assert!(new.iter().all(Option::is_some));
        assert_ne!(new, old);
        assert_eq!(
            reg.count(),
            6,
            "the entries belong to the tables, not the processes"
        );

        // Every holder, registered before the crash, is still cleaned up when it exits.
        for h in &holders {
            kill(&h.to_any(), &mut mb);
        }
        wait_until("cleaned up by the new partition processes", || {
            reg.table_size() == 0
        });
    });
}

#[test]
fn registrations_made_before_the_registry_starts_are_cleaned_up_once_it_does() {
    run(|mut mb: Mailbox<()>| {
        let reg: Registry<u32, ()> = Registry::new(Options::new(Keys::Unique).partitions(3));
        assert_eq!(reg.partition_pids(), [None, None, None]);
        let early = holder(mb.pid());
        let stays = holder(mb.pid());
        let r = reg.clone();
        on(&early, &mut mb, move || r.register(1, ()).unwrap());
        let r = reg.clone();
        on(&stays, &mut mb, move || r.register(2, ()).unwrap());
        kill(&early.to_any(), &mut mb);
        // Not cleaned up (nobody runs), but never shown.
        assert_eq!(reg.table_size(), 2);
        assert_eq!(reg.count(), 1);
        assert!(reg.lookup(&1).is_empty());

        reg.start_link().unwrap();
        wait_until("the early holder is cleaned up", || reg.table_size() == 1);
        kill(&stays.to_any(), &mut mb);
        wait_until("the other one is watched too", || reg.table_size() == 0);
    });
}

#[test]
fn a_registry_starts_once() {
    run(|mut mb: Mailbox<()>| {
        process::trap_exit(true);
        let reg: Registry<u32, ()> = registry::start_link(Keys::Unique).unwrap();
        assert!(reg.start_link().is_err(), "its partition is taken");
        // The failed supervisor's exit, through the link.
        assert!(matches!(
            mb.select(PROMPTLY, |m| matches!(m, MessageRef::Exit { .. })),
            Some(Message::Exit { .. })
        ));
        reg.register(1, ()).unwrap();
        assert_eq!(reg.count(), 1);
    });
}

#[test]
fn a_registry_under_a_supervisor_stops_with_it_and_keeps_its_tables() {
    run(|mut mb: Mailbox<()>| {
        let reg: Registry<u32, ()> = Registry::new(Keys::Unique);
        let sup = otp::supervisor::start_link(
            vec![reg.child_spec("registry")],
            otp::supervisor::Options::default(),
        )
        .unwrap();
        reg.register(1, ()).unwrap();
        let partition = reg.partition_pids()[0].clone().unwrap();
        let reference = process::monitor(&partition);
        sup.stop(ExitReason::Normal, Duration::from_secs(5))
            .unwrap();
        await_down(&mut mb, reference);
        assert_eq!(reg.partition_pids(), [None]);
        assert_eq!(reg.lookup(&1), vec![(otp::self_pid(), ())]);
    });
}

#[test]
fn debug_formats() {
    let reg: Registry<u32, ()> = Registry::new(Options::new(Keys::Duplicate).partitions(2));
    assert_eq!(
        format!("{reg:?}"),
        "Registry { keys: Duplicate, partitions: 2, .. }"
    );
    let e = AlreadyRegistered(run(otp::self_pid));
    assert!(e
        .to_string()
        .starts_with("the key is already registered by <0."));
}
