//! Registered names (spec 3.9): `register`, `whereis`, `unregister`, `registered`, the errors
//! the BEAM raises, `send_named`, release on exit, `whereis_typed` and `SpawnOptions::name`.

mod common;
use common::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

use otp::{
    process::{self, NotRegistered, RegisterError, SendErrorKind},
    Mailbox, Pid, SpawnOptions,
};

/// A process that waits for one `()` and returns.
fn parked() -> Pid<()> {
    otp::spawn(|mut mb: Mailbox<()>| mb.receive())
}

#[test]
fn register_whereis_unregister_registered() {
    run(|| {
        let p = parked();
        assert_eq!(process::whereis("svc"), None);
        assert_eq!(process::register("svc", &p), Ok(()));
        assert_eq!(process::whereis("svc"), Some(p.to_any()));
        assert!(process::registered().contains(&"svc".to_owned()));
        assert_eq!(
            process::info(&p).unwrap().registered_name.as_deref(),
            Some("svc")
        );
        assert_eq!(process::unregister("svc"), Ok(()));
        assert_eq!(process::whereis("svc"), None);
        assert!(!process::registered().contains(&"svc".to_owned()));
        assert_eq!(process::info(&p).unwrap().registered_name, None);
        assert!(process::alive(&p), "unregister leaves the process running");
        // The name is free again, and the process can take another one.
        assert_eq!(process::register("svc2", &p), Ok(()));
        assert_eq!(process::whereis("svc2"), Some(p.to_any()));
        // A process can register itself.
        assert_eq!(process::register("main", otp::self_pid()), Ok(()));
        assert_eq!(process::whereis("main"), Some(otp::self_pid()));
        p.send(());
    });
}

#[test]
fn registered_lists_every_name_sorted() {
    run(|| {
        let pids: Vec<Pid<()>> = (0..3).map(|_| parked()).collect();
        for (name, p) in ["charlie", "alpha", "bravo"].iter().zip(&pids) {
            process::register(name, p).unwrap();
        }
        let names = process::registered();
        assert_eq!(names, ["alpha", "bravo", "charlie"]);
        for p in &pids {
            p.send(());
        }
    });
}

#[test]
fn register_fails_where_the_beam_raises() {
    run(|mut mb: Mailbox<()>| {
        let p = parked();
        let q = parked();
        process::register("svc", &p).unwrap();

        // The name is taken.
        assert_eq!(
            process::register("svc", &q),
            Err(RegisterError::NameTaken {
                name: "svc".into(),
                owner: p.to_any()
            })
        );
        // The process already has a name.
        assert_eq!(
            process::register("svc2", &p),
            Err(RegisterError::AlreadyNamed {
                pid: p.to_any(),
                name: "svc".into()
            })
        );
        assert_eq!(
            process::whereis("svc2"),
            None,
            "a failed register has no effect"
        );
        // The same name for the same process again is refused too.
        assert!(process::register("svc", &p).is_err());
        assert_eq!(process::whereis("svc"), Some(p.to_any()));

        // The process is dead.
        let me = mb.pid();
        let dead = otp::spawn(move || me.send(()));
        recv(&mut mb);
        wait_until("the process is dead", || !process::alive(&dead));
        assert_eq!(
            process::register("ghost", &dead),
            Err(RegisterError::NotAlive(dead.to_any()))
        );
        assert_eq!(process::whereis("ghost"), None);
        assert!(!process::registered().contains(&"ghost".to_owned()));

        // The errors print the way the BEAM's ArgumentError explains them.
        let e = process::register("svc", &q).unwrap_err();
        assert!(e.to_string().contains("already taken"), "{e}");

        p.send(());
        q.send(());
    });
}

#[test]
fn unregister_of_an_unknown_name_is_an_error() {
    run(|| {
        assert_eq!(
            process::unregister("nobody"),
            Err(NotRegistered("nobody".into()))
        );
        let p = parked();
        process::register("once", &p).unwrap();
        assert_eq!(process::unregister("once"), Ok(()));
        assert_eq!(
            process::unregister("once"),
            Err(NotRegistered("once".into()))
        );
        p.send(());
    });
}

#[test]
fn send_named_delivers_or_returns_the_message() {
    run(|mut mb: Mailbox<u32>| {
        // Nobody holds the name: an error, with the message handed back.
        let err = process::send_named("nobody", 42u32).unwrap_err();
        assert_eq!(err.kind(), &SendErrorKind::NotRegistered("nobody".into()));
        assert_eq!(err.into_message(), 42);

        // Somebody does: delivered.
        process::register("me", otp::self_pid()).unwrap();
        process::send_named("me", 7u32).unwrap();
        assert_eq!(recv(&mut mb), 7);

        // The holder takes another type: an error, message handed back.
        let err = process::send_named("me", String::from("wrong")).unwrap_err();
        assert!(
            matches!(err.kind(), SendErrorKind::WrongType { name, .. } if name == "me"),
            "{err:?}"
        );
        assert_eq!(err.into_message(), "wrong");
        assert!(mb.is_empty());
    });
}

#[test]
fn send_named_after_the_holder_exited_is_an_error() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let holder = SpawnOptions::new()
            .name("short_lived")
            .spawn(move |mut hmb: Mailbox<u8>| {
                hmb.receive();
                me.send(());
            });
        process::send_named("short_lived", 1u8).unwrap();
        recv(&mut mb);
        wait_until("the holder is dead", || !process::alive(&holder));
        wait_until("the name is released", || {
            process::whereis("short_lived").is_none()
        });
        let err = process::send_named("short_lived", 2u8).unwrap_err();
        assert_eq!(
            err.kind(),
            &SendErrorKind::NotRegistered("short_lived".into())
        );
        assert_eq!(err.into_message(), 2);
    });
}

#[test]
fn a_name_is_released_when_its_process_returns() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let p = otp::spawn(move |mut pmb: Mailbox<()>| {
            pmb.receive();
            me.send(());
        });
        process::register("returner", &p).unwrap();
        p.send(());
        recv(&mut mb);
        wait_until("the name is released", || {
            process::whereis("returner").is_none()
        });
        assert!(!process::registered().contains(&"returner".to_owned()));
        assert!(!process::alive(&p));
        // The name can be taken again.
        let q = parked();
        assert_eq!(process::register("returner", &q), Ok(()));
        q.send(());
    });
}

#[test]
fn a_name_is_released_when_its_process_panics() {
    run(|mut mb: Mailbox<()>| {
        let me = mb.pid();
        let p = SpawnOptions::new()
            .name("crashy")
            .spawn(move |mut pmb: Mailbox<()>| {
                pmb.receive();
                me.send(());
                panic!("crashy crashed");
            });
        assert_eq!(process::whereis("crashy"), Some(p.to_any()));
        p.send(());
        recv(&mut mb);
        wait_until("the name is released", || {
            process::whereis("crashy").is_none()
        });
        assert!(!process::registered().contains(&"crashy".to_owned()));
        let q = parked();
        assert_eq!(process::register("crashy", &q), Ok(()));
        q.send(());
    });
}

#[test]
fn a_name_is_released_when_its_process_is_killed() {
    run(|| {
        let p = parked();
        process::register("victim", &p).unwrap();
        process::exit(&p, otp::ExitReason::Kill);
        wait_until("the name is released", || {
            process::whereis("victim").is_none()
        });
        assert!(!process::alive(&p));
    });
}

#[test]
fn whereis_typed_checks_the_message_type() {
    run(|| {
        let p = otp::spawn(|mut mb: Mailbox<String>| drop(mb.receive()));
        process::register("typed", &p).unwrap();
        assert_eq!(process::whereis_typed::<String>("typed"), Some(p.clone()));
        assert_eq!(process::whereis_typed::<u32>("typed"), None);
        assert_eq!(process::whereis_typed::<&str>("typed"), None);
        assert_eq!(process::whereis_typed::<String>("untyped"), None);
        process::whereis_typed::<String>("typed")
            .unwrap()
            .send("done".into());
    });
}

#[test]
fn spawn_options_name_registers_the_new_process() {
    run(|mut mb: Mailbox<String>| {
        let me = mb.pid();
        let p = SpawnOptions::new()
            .name("echo")
            .spawn(move |mut emb: Mailbox<String>| {
                let s = emb.receive();
                me.send(s);
            });
        assert_eq!(process::whereis("echo"), Some(p.to_any()));
        assert_eq!(process::whereis_typed::<String>("echo"), Some(p.clone()));
        assert_eq!(
            process::info(&p).and_then(|i| i.registered_name),
            Some("echo".into())
        );
        process::send_named("echo", String::from("hi")).unwrap();
        assert_eq!(recv(&mut mb), "hi");
    });
}

#[test]
fn spawn_options_name_taken_panics_in_the_spawner() {
    run(|| {
        let holder = parked();
        process::register("dup", &holder).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            SpawnOptions::new()
                .name("dup")
                .spawn(|mut mb: Mailbox<()>| mb.receive())
        }));
        let payload = r.expect_err("spawning with a taken name panics");
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(msg.contains("dup"), "panic message: {msg:?}");
        assert_eq!(process::whereis("dup"), Some(holder.to_any()));
        holder.send(());
    });
}

#[test]
fn a_failed_named_spawn_leaves_no_process_behind() {
    run(|| {
        let holder = parked();
        process::register("dup2", &holder).unwrap();
        let before = process::list();
        let r = catch_unwind(AssertUnwindSafe(|| {
            SpawnOptions::new()
                .name("dup2")
                .spawn(|mut mb: Mailbox<()>| mb.receive())
        }));
        assert!(r.is_err());
        // Whatever the failed spawn created must not linger as a live process.
        let after = process::list();
        assert_eq!(
            after, before,
            "a process was left behind by the failed spawn"
        );
        holder.send(());
    });
}
