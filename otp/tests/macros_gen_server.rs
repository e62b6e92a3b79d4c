//! `#[gen_server]` expansions exercised at runtime: every handler kind and return shape, the
//! generated client (calls with and without timeouts, casts, plain messages, deferred replies
//! through `ReplyTo`, stop), named handles across supervised restarts, and child specs.

use std::time::Duration;

use otp::{
    gen_server::{
        CallError, CallResult, CastResult, Info, InitResult, Next, ReplyTo, StartError,
        StartOptions,
    },
    supervisor::{self, Options, Strategy},
    ExitReason, Mailbox, Pid,
};

/// A counter with every kind of handler.
struct Counter {
    count: i64,
    /// Where `terminate` reports.
    watcher: Option<Pid<String>>,
    log: Vec<String>,
}

#[derive(Debug)]
enum Step {
    Bump(i64),
}

impl Counter {
    fn new(count: i64) -> Counter {
        Counter {
            count,
            watcher: None,
            log: vec![],
        }
    }
}

#[otp::gen_server]
impl Counter {
    #[init]
    fn init(&mut self) -> InitResult<Step> {
        if self.count < 0 {
            return InitResult::Stop(ExitReason::custom("negative start"));
        }
        InitResult::Ok(Next::Continue(Step::Bump(1)))
    }

    /// The current count.
    #[call]
    fn get(&mut self) -> i64 {
        self.count
    }

    /// Adds `n` and returns the new count.
    #[call]
    fn add(&mut self, n: i64) -> i64 {
        self.count += n;
        self.count
    }

    #[call]
    fn add_pair(&mut self, (a, b): (i64, i64), label: String) -> (i64, String) {
        self.count += a + b;
        (self.count, label)
    }

    /// Answers from another process.
    #[call]
    fn later(&mut self, n: i64, reply_to: ReplyTo<Self, i64>) -> CallResult<i64, Step> {
        let count = self.count;
        otp::spawn(move || {
            reply_to.reply(count + n);
        });
        CallResult::noreply()
    }

    #[call]
    fn stop_with(&mut self, reply: bool) -> CallResult<&'static str, Step> {
        CallResult::Stop(ExitReason::custom("asked to"), reply.then_some("bye"))
    }

    #[call]
    fn log(&self) -> Vec<String> {
        self.log.clone()
    }

    #[cast]
    fn reset(&mut self) {
        self.count = 0;
    }

    #[cast]
    fn watch(&mut self, watcher: Pid<String>) {
        self.watcher = Some(watcher);
    }

    #[cast]
    fn crash_if(&mut self, yes: bool) -> CastResult<Step> {
        if yes {
            CastResult::Stop(ExitReason::custom("crash_if"))
        } else {
            CastResult::noreply()
        }
    }

    #[handle_info]
    fn info(&mut self, info: Info<String>) {
        match info {
            Info::Message(s) => self.log.push(s),
            Info::Timeout => self.log.push("timeout".into()),
            other => self.log.push(format!("{other:?}")),
        }
    }

    #[handle_continue]
    fn step(&mut self, step: Step) -> CastResult<Step> {
        let Step::Bump(n) = step;
        self.count += n;
        CastResult::noreply()
    }

    #[terminate]
    fn terminate(&mut self, reason: &ExitReason) {
        if let Some(w) = &self.watcher {
            w.send(format!("terminate {reason}"));
        }
    }

    /// Not a handler: left alone.
    fn helper(&self) -> i64 {
        self.count * 2
    }
}

#[test]
fn calls_casts_and_continue() {
    otp::run(|| {
        let c = CounterClient::start_link(Counter::new(10)).unwrap();
        // init's continue ran before any call.
        assert_eq!(c.get(), Ok(11));
        assert_eq!(c.add(4), Ok(15));
        assert_eq!(c.add_timeout(5, Duration::from_secs(1)), Ok(20));
        assert_eq!(c.add_pair((1, 2), "x".into()), Ok((23, "x".to_owned())));
        c.reset().unwrap();
        assert_eq!(c.get(), Ok(0));
        assert_eq!(Counter::new(3).helper(), 6);
    });
}

#[test]
fn deferred_reply_through_reply_to() {
    otp::run(|| {
        let c = CounterClient::start_link(Counter::new(0)).unwrap();
        assert_eq!(c.later(41), Ok(42));
    });
}

#[test]
fn plain_messages_reach_handle_info() {
    otp::run(|| {
        let c = CounterClient::start_link(Counter::new(0)).unwrap();
        c.send("hello".into()).unwrap();
        assert_eq!(c.log(), Ok(vec!["hello".to_owned()]));
    });
}

#[test]
fn stop_with_and_without_reply_runs_terminate() {
    otp::run(|mut mb: Mailbox<String>| {
        otp::process::trap_exit(true);
        let c = CounterClient::start_link(Counter::new(0)).unwrap();
        c.watch(mb.pid()).unwrap();
        assert_eq!(c.stop_with(true), Ok("bye"));
        assert_eq!(mb.receive(), "terminate \"asked to\"");

        let c = CounterClient::start_link(Counter::new(0)).unwrap();
        c.watch(mb.pid()).unwrap();
        assert!(matches!(c.stop_with(false), Err(CallError::Exit(_))));
        assert_eq!(mb.receive(), "terminate \"asked to\"");
        assert_eq!(c.get(), Err(CallError::NoProc));

        let c = CounterClient::start_link(Counter::new(0)).unwrap();
        c.watch(mb.pid()).unwrap();
        c.crash_if(false).unwrap();
        c.crash_if(true).unwrap();
        assert_eq!(mb.receive(), "terminate :crash_if");
    });
}

#[test]
fn init_stop_is_a_start_error() {
    otp::run(|| {
        otp::process::trap_exit(true);
        match CounterClient::start_link(Counter::new(-1)) {
            Err(StartError::Stopped(reason)) => {
                assert_eq!(reason.to_string(), "\"negative start\"")
            }
            other => panic!("expected Stopped, got {other:?}"),
        }
    });
}

#[test]
fn named_client_survives_supervised_restarts() {
    otp::run(|| {
        let spec =
            CounterClient::child_spec_with("counter", StartOptions::new().name("counter"), || {
                Counter::new(100)
            });
        let sup = supervisor::start_link(vec![spec], Options::new(Strategy::OneForOne)).unwrap();
        let c = CounterClient::named("counter");
        assert_eq!(c.add(1), Ok(102));
        let first = c.pid().unwrap();
        otp::process::exit(&first, ExitReason::Kill);
        // The restarted server answers through the same handle, with fresh state.
        let fresh = loop {
            match c.get() {
                Ok(n) if c.pid().as_ref() != Some(&first) => break n,
                _ => otp::yield_now(),
            }
        };
        assert_eq!(fresh, 101);
        sup.stop(ExitReason::Normal, otp::Timeout::Infinity)
            .unwrap();
        assert_eq!(c.get(), Err(CallError::NoProc));
    });
}

#[test]
fn clients_from_pids_and_debug() {
    otp::run(|| {
        let c = CounterClient::start(Counter::new(0)).unwrap();
        let pid = c.pid().unwrap();
        let again = CounterClient::from_any_pid(&pid).unwrap();
        assert_eq!(again.get(), Ok(1));
        assert!(CounterClient::from_any_pid(&otp::self_pid()).is_none());
        assert!(format!("{again:?}").starts_with("CounterClient("));
        c.stop(ExitReason::Normal, Duration::from_secs(5)).unwrap();
    });
}

/// Options: a custom client name and visibility; a server with only casts.
mod options {
    pub(crate) struct Sink(pub(crate) otp::Pid<u32>);

    #[otp::gen_server(vis = pub(crate), client = SinkHandle)]
    impl Sink {
        #[cast]
        fn put(&mut self, n: u32) {
            self.0.send(n);
        }
    }
}

#[test]
fn cast_only_server_with_options() {
    otp::run(|mut mb: Mailbox<u32>| {
        let s = options::SinkHandle::start_link(options::Sink(mb.pid())).unwrap();
        s.put(7).unwrap();
        assert_eq!(mb.receive(), 7);
        assert!(options::SinkHandle::named("nobody").put(1).is_err());
    });
}

/// A server that schedules its own work: `current()` and `send_after` from a handler.
struct Reminder {
    watcher: Pid<&'static str>,
}

#[otp::gen_server]
impl Reminder {
    #[cast]
    fn remind_later(&mut self) {
        let me = ReminderClient::current().expect("running in the server");
        me.send_after("ring", Duration::from_millis(1));
    }

    #[handle_info]
    fn info(&mut self, info: Info<&'static str>) {
        if let Info::Message(m) = info {
            self.watcher.send(m);
        }
    }
}

#[test]
fn a_server_sends_itself_a_message_later() {
    otp::run(|mut mb: Mailbox<&'static str>| {
        assert!(
            ReminderClient::current().is_none(),
            "the root is no Reminder"
        );
        let r = ReminderClient::start_link_with(
            StartOptions::new().name("reminder"),
            Reminder { watcher: mb.pid() },
        )
        .unwrap();
        r.remind_later().unwrap();
        assert_eq!(mb.receive(), "ring");
        // By name: looked up when the timer fires.
        ReminderClient::named("reminder").send_after("by name", Duration::from_millis(1));
        assert_eq!(mb.receive(), "by name");
    });
}
