//! Crash reports: each crash is logged once, through `tracing`, in Elixir's words: a raw
//! process's panic as "raised an exception", a GenServer's abnormal exit as "GenServer ...
//! terminating" with what it was handling; normal exits and shutdowns are not logged.

mod common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use otp::{
    gen_server::{self, CastResult, GenServer},
    process, ExitReason, Mailbox, Message, Timeout,
};

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

struct Fragile;

impl GenServer for Fragile {
    type Call = ();
    type Reply = ();
    type Cast = &'static str;
    type Info = ();
    type Continue = ();

    fn handle_cast(&mut self, what: &'static str) -> CastResult {
        match what {
            "panic" => panic!("fragile broke"),
            "stop" => CastResult::Stop(ExitReason::custom("bad_state")),
            _ => CastResult::Stop(ExitReason::Normal),
        }
    }
}

/// Starts a Fragile server, casts `what` to it, and waits until it is gone.
fn end_with(mb: &mut Mailbox<()>, what: &'static str) {
    let s = gen_server::start(Fragile).unwrap();
    let r = process::monitor(s.pid().unwrap());
    s.cast(what).unwrap();
    loop {
        if let Some(Message::Down { reference, .. }) = mb.select(Timeout::Infinity, |_| true) {
            if reference == r {
                return;
            }
        }
    }
}

#[test]
fn every_crash_is_reported_once_in_elixirs_words() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    common::run(move |mut mb: Mailbox<()>| {
        // A raw process.
        let (_, r) = otp::spawn_monitor(|| panic!("raw broke"));
        while !matches!(mb.receive_message(), Message::Down { reference, .. } if reference == r) {}
        let log = captured.take();
        assert_eq!(log.matches("raised an exception").count(), 1, "{log}");
        assert!(log.contains("** (panic) raw broke"), "{log}");

        // A GenServer that panics: its own report, not the raw one as well.
        end_with(&mut mb, "panic");
        let log = captured.take();
        assert_eq!(log.matches("terminating").count(), 1, "{log}");
        assert!(log.contains("GenServer #PID<0."), "{log}");
        assert!(log.contains("** (panic) fragile broke"), "{log}");
        assert!(log.contains("Last message: a cast"), "{log}");
        assert!(!log.contains("raised an exception"), "{log}");

        // A GenServer that stops with a reason of its own: reported, as in Elixir.
        end_with(&mut mb, "stop");
        let log = captured.take();
        assert!(log.contains("** (stop) :bad_state"), "{log}");

        // A normal stop: nothing.
        end_with(&mut mb, "normal");
        assert_eq!(captured.take(), "");
    });
}
