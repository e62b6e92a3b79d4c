//! Spawning: [`spawn`], [`spawn_apply`] (the `spawn/3` counterpart) and [`SpawnOptions`].
//!
//! A spawn allocates the process record and queues it; no stack is taken until the process
//! first runs (on whichever scheduler gets to it first, which is how new work spreads over the
//! cores). From its first run on, it stays on that scheduler.

use crate::process::core_ref::CoreRef;
use crate::{
    mailbox::Mailbox,
    process::{
        core::{behaviour_meta, meta, Activation, Outcome, ProcessCore, ProcessMeta},
        exit::ExitReason,
        name,
        pid::Pid,
        reference::Ref,
        relations,
    },
    runtime::{budget, context, scheduler::ProcRef},
};

/// Reductions a spawn costs the spawner.
const SPAWN_COST: i64 = 10;

/// Something a process can run: a closure taking its [`Mailbox`] (`|mb: Mailbox<M>| ...`) or a
/// closure taking nothing (`|| ...`, a process whose mailbox type is `()`). `A` only tells the two
/// apart; you never name it.
pub trait ProcessFn<M, A, R>: Send + 'static {
    /// Runs the process body.
    fn call(self, mailbox: Mailbox<M>) -> R;
}

/// Marker for process functions that take no mailbox.
#[derive(Debug)]
pub enum NoMailbox {}

impl<F, R> ProcessFn<(), NoMailbox, R> for F
where
    F: FnOnce() -> R + Send + 'static,
{
    fn call(self, _mailbox: Mailbox<()>) -> R {
        self()
    }
}

impl<M, F, R> ProcessFn<M, Mailbox<M>, R> for F
where
    F: FnOnce(Mailbox<M>) -> R + Send + 'static,
    M: Send + 'static,
{
    fn call(self, mailbox: Mailbox<M>) -> R {
        self(mailbox)
    }
}

/// Builds a process record whose body runs `body` with a fresh mailbox.
/// `F` is the user's function type, named by `process::info`'s `initial_call`.
pub(crate) fn new_core<M, F, B>(id: u64, stack_size: usize, body: B) -> CoreRef
where
    M: Send + 'static,
    F: ?Sized,
    B: FnOnce(Mailbox<M>) + Send + 'static,
{
    CoreRef::new(ProcessCore::new(
        id,
        meta::<M, F>(),
        stack_size,
        raw_body(body),
    ))
}

/// A raw process's one activation: its function, then a normal exit.
fn raw_body<M, B>(body: B) -> Box<dyn Activation>
where
    M: Send + 'static,
    B: FnOnce(Mailbox<M>) + Send + 'static,
{
    Box::new(move || {
        let mailbox = Mailbox::attach();
        // A kill that arrived before the first run: the function never starts.
        mailbox.core().safepoint();
        body(mailbox);
        Outcome::Exit(ExitReason::Normal)
    })
}

/// Options for a spawn, builder style (like `std::thread::Builder`).
///
/// ```
/// use otp::SpawnOptions;
///
/// otp::run(|| {
///     let pid = SpawnOptions::new()
///         .stack_size(512 * 1024)
///         .name("deep_thinker")
///         .spawn(|mut mb: otp::Mailbox<()>| mb.receive());
///     assert_eq!(otp::process::whereis("deep_thinker"), Some(pid.to_any()));
///     pid.send(());
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    stack_size: Option<usize>,
    name: Option<String>,
    link: bool,
}

impl SpawnOptions {
    /// Default options: the runtime's stack size, no name.
    pub fn new() -> SpawnOptions {
        SpawnOptions::default()
    }

    /// Stack size in bytes (virtual; only touched pages cost memory). Rounded up to whole
    /// pages.
    pub fn stack_size(mut self, bytes: usize) -> SpawnOptions {
        self.stack_size = Some(bytes);
        self
    }

    /// Registers the new process under `name` before it runs.
    ///
    /// # Panics
    ///
    /// At spawn, if the name is taken (the BEAM raises `badarg` the same way).
    pub fn name(mut self, name: impl Into<String>) -> SpawnOptions {
        self.name = Some(name.into());
        self
    }

    /// Links the new process to the caller, atomically with the spawn (`spawn_link`).
    pub fn link(mut self) -> SpawnOptions {
        self.link = true;
        self
    }

    /// Spawns `f` and monitors it, atomically (`spawn_monitor`): returns the pid and the
    /// monitor's reference.
    ///
    /// # Panics
    ///
    /// As for [`SpawnOptions::spawn`].
    #[track_caller]
    pub fn spawn_monitor<M, A, F>(self, f: F) -> (Pid<M>, Ref)
    where
        F: ProcessFn<M, A, ()>,
        M: Send + 'static,
    {
        let mut reference = None;
        let body = raw_body(move |mb| f.call(mb));
        let pid = self.spawn_inner::<M>(meta::<M, F>(), body, Some(&mut reference));
        (
            pid,
            reference.expect("spawn_inner sets the monitor reference"),
        )
    }

    /// Spawns `f` with these options.
    ///
    /// # Panics
    ///
    /// If called outside a process (use [`otp::run`](crate::run)), or if the name is taken.
    #[track_caller]
    pub fn spawn<M, A, F>(self, f: F) -> Pid<M>
    where
        F: ProcessFn<M, A, ()>,
        M: Send + 'static,
    {
        self.spawn_inner::<M>(meta::<M, F>(), raw_body(move |mb| f.call(mb)), None)
    }

    /// Spawns a process whose first activation is `body` (a behaviour process: see
    /// [`Activation`]). `F` names its initial call; `H` is the driver it keeps boxed for its
    /// whole life (for `process::info`'s `memory`).
    #[track_caller]
    pub(crate) fn spawn_activation<M, F, H>(self, body: Box<dyn Activation>) -> Pid<M>
    where
        M: Send + 'static,
        F: ?Sized,
    {
        self.spawn_inner::<M>(behaviour_meta::<M, F, H>(), body, None)
    }

    #[track_caller]
    fn spawn_inner<M>(
        self,
        meta: &'static ProcessMeta,
        body: Box<dyn Activation>,
        monitor: Option<&mut Option<Ref>>,
    ) -> Pid<M>
    where
        M: Send + 'static,
    {
        let pid = context::with_scheduler(|s| {
            let s = s.unwrap_or_else(|| {
                panic!("otp::spawn must be called from inside an otp process (see otp::run)")
            });
            let stack = self.stack_size.unwrap_or(s.rt.config.stack_size);
            let core = CoreRef::new(ProcessCore::new(s.next_id(), meta, stack, body));
            let pid = Pid::from_core(core.clone());
            // Name first: if it is taken, the process never existed (nothing to clean up).
            if let Some(n) = &self.name {
                if let Err(e) = name::register(n, &pid) {
                    drop(pid);
                    panic!("spawn with name {n:?}: {e}");
                }
            }
            s.rt.table.insert(&core, s.shared.index);
            if self.link || monitor.is_some() {
                let parent = context::expect_process("otp::spawn_link / spawn_monitor");
                if self.link {
                    relations::link_new(&parent, &core);
                }
                if let Some(slot) = monitor {
                    *slot = Some(relations::monitor_new(&parent, &core));
                }
            }
            // SAFETY: just put in the process table, and not run yet, so not exited.
            s.push_new(unsafe { ProcRef::new(&core) });
            pid
        });
        budget::consume(SPAWN_COST);
        pid
    }
}

/// Spawns a process running `f` and returns its pid at once (`spawn/1`).
///
/// `f` either takes the process's [`Mailbox`] (then the pid's message type is the mailbox's)
/// or nothing (then the process takes `()` messages). Returning from `f` ends the process with
/// reason `normal`; a panic ends it with a `Panic` reason that links and monitors see.
///
/// ```
/// use otp::Mailbox;
///
/// otp::run(|mut mb: Mailbox<String>| {
///     let parent = mb.pid();
///     otp::spawn(move || parent.send(format!("hello from {}", otp::self_pid())));
///     assert!(mb.receive().starts_with("hello from <0."));
/// });
/// ```
///
/// # Panics
///
/// If called outside a process (use [`otp::run`](crate::run)).
#[track_caller]
pub fn spawn<M, A, F>(f: F) -> Pid<M>
where
    F: ProcessFn<M, A, ()>,
    M: Send + 'static,
{
    SpawnOptions::new().spawn(f)
}

/// Spawns a process linked to the caller, atomically (`spawn_link/1`): if either exits with a
/// reason other than `normal`, so does the other (unless it traps exits).
///
/// ```
/// use otp::{process, ExitReason, Mailbox, Message};
///
/// otp::run(|mut mb: Mailbox<()>| {
///     process::trap_exit(true);
///     let child = otp::spawn_link(|| panic!("Worker crashed!"));
///     match mb.receive_message() {
///         Message::Exit { from, reason: ExitReason::Panic(p) } => {
///             assert_eq!(from, child);
///             assert_eq!(p.message(), "Worker crashed!");
///         }
///         other => panic!("unexpected {other:?}"),
///     }
/// });
/// ```
#[track_caller]
pub fn spawn_link<M, A, F>(f: F) -> Pid<M>
where
    F: ProcessFn<M, A, ()>,
    M: Send + 'static,
{
    SpawnOptions::new().link().spawn(f)
}

/// Spawns a process and monitors it, atomically (`spawn_monitor/1`).
///
/// ```
/// use otp::{ExitReason, Mailbox, Message};
///
/// otp::run(|mut mb: Mailbox<()>| {
///     let (pid, reference) = otp::spawn_monitor(|| println!("Short-lived process running"));
///     match mb.receive_message() {
///         // A function that returns exits `normal`, whatever it returned.
///         Message::Down { reference: r, pid: p, reason } => {
///             assert_eq!((r, reason), (reference, ExitReason::Normal));
///             assert_eq!(p, pid);
///         }
///         other => panic!("unexpected {other:?}"),
///     }
/// });
/// ```
#[track_caller]
pub fn spawn_monitor<M, A, F>(f: F) -> (Pid<M>, Ref)
where
    F: ProcessFn<M, A, ()>,
    M: Send + 'static,
{
    SpawnOptions::new().spawn_monitor(f)
}

/// A function applied to a tuple of arguments: what [`spawn_apply`] runs. `K` is
/// [`NoMailbox`] for a function of the arguments alone, or `Mailbox<M>` for one whose first
/// parameter is the process's mailbox (then the process receives `M`s). The compiler picks it.
pub trait Apply<Args, K>: Send + 'static {
    /// The message type of the spawned process: `()` without a mailbox.
    type Message: Send + 'static;
    /// Calls the function with the mailbox (if it takes one) and the arguments.
    fn apply(self, mailbox: Mailbox<Self::Message>, args: Args);
}

macro_rules! impl_apply {
    ($($a:ident),*) => {
        impl<F, $($a,)*> Apply<($($a,)*), NoMailbox> for F
        where
            F: FnOnce($($a),*) + Send + 'static,
            $($a: Send + 'static,)*
        {
            type Message = ();
            #[allow(non_snake_case)]
            fn apply(self, _: Mailbox<()>, ($($a,)*): ($($a,)*)) {
                self($($a),*)
            }
        }

        impl<F, M, $($a,)*> Apply<($($a,)*), Mailbox<M>> for F
        where
            F: FnOnce(Mailbox<M>, $($a),*) + Send + 'static,
            M: Send + 'static,
            $($a: Send + 'static,)*
        {
            type Message = M;
            #[allow(non_snake_case)]
            fn apply(self, mailbox: Mailbox<M>, ($($a,)*): ($($a,)*)) {
                self(mailbox, $($a),*)
            }
        }
    };
}
impl_apply!();
impl_apply!(A1);
impl_apply!(A1, A2);
impl_apply!(A1, A2, A3);
impl_apply!(A1, A2, A3, A4);
impl_apply!(A1, A2, A3, A4, A5);
impl_apply!(A1, A2, A3, A4, A5, A6);

/// Spawns a process that calls the function `f` with `args` (`spawn(Module, :fun, args)`).
/// The process's initial call, in [`process::info`](crate::process::info), names `f`.
///
/// ```
/// fn greet(name: &'static str, times: u32) {
///     for _ in 0..times {
///         println!("Hello, {name}!");
///     }
/// }
///
/// otp::run(|| {
///     let pid = otp::spawn_apply(greet, ("Alice", 2));
///     assert!(otp::process::info(&pid).map_or(true, |i| i.initial_call.ends_with("greet")));
/// });
/// ```
///
/// A function whose first parameter is a [`Mailbox`] gets the new process's mailbox, and the
/// pid is typed by it (`spawn(TimeoutDemo, :wait_for_message, [2000])`):
///
/// ```
/// use std::time::Duration;
/// use otp::Mailbox;
///
/// fn wait_for_message(mut mb: Mailbox<&'static str>, ms: u64, report: otp::Pid<String>) {
///     let got = mb.receive_timeout(Duration::from_millis(ms));
///     report.send(format!("{got:?}"));
/// }
///
/// otp::run(|mut mb: Mailbox<String>| {
///     let pid = otp::spawn_apply(wait_for_message, (2000, mb.pid()));
///     pid.send("hello");
///     assert_eq!(mb.receive(), "Some(\"hello\")");
/// });
/// ```
#[track_caller]
pub fn spawn_apply<F, Args, K>(f: F, args: Args) -> Pid<F::Message>
where
    F: Apply<Args, K>,
    Args: Send + 'static,
{
    let body = raw_body(move |mb: Mailbox<F::Message>| f.apply(mb, args));
    SpawnOptions::new().spawn_inner::<F::Message>(meta::<F::Message, F>(), body, None)
}
