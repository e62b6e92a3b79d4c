//! Erlang/OTP's process model in Rust.
//!
//! `otp` runs lightweight **processes** (stackful coroutines on pooled stacks) on one scheduler
//! thread per core. Processes share nothing: they talk by sending messages to each other's
//! mailboxes, receive selectively with timeouts, find each other by registered names, and are
//! switched at safe points by reduction counting, as on the BEAM.
//!
//! ```
//! use otp::Mailbox;
//!
//! enum Cmd {
//!     Add(i64, i64, otp::Pid<i64>),
//!     Stop,
//! }
//!
//! otp::run(|mut mb: Mailbox<i64>| {
//!     let calculator = otp::spawn(|mut mb: Mailbox<Cmd>| loop {
//!         match mb.receive() {
//!             Cmd::Add(a, b, reply_to) => reply_to.send(a + b),
//!             Cmd::Stop => break,
//!         }
//!     });
//!     calculator.send(Cmd::Add(2, 3, mb.pid()));
//!     assert_eq!(mb.receive(), 5);
//!     calculator.send(Cmd::Stop);
//! });
//! ```
//!
//! # A tour
//!
//! * [`run`] starts a runtime and runs a root process; [`Builder`] configures one.
//! * [`spawn`], [`spawn_apply`] and [`SpawnOptions`] start processes; [`Pid`] sends to them.
//! * [`Mailbox`] receives: in order, selectively, with [`Timeout`]s.
//! * [`process`] has the rest of Elixir's `Process` module: names, `info`, `list`, exits.
//! * [`send_after`], [`cancel_timer`] and [`read_timer`] are timers; [`make_ref`] makes
//!   references.
//! * [`consume_reductions`] and [`yield_now`] let long computations share their scheduler.
//!
//! On top of processes, OTP's behaviours:
//!
//! * [`gen_server`]: servers with state, calls, casts and clean stops (`GenServer`).
//! * [`supervisor`]: restart strategies, restart intensity and escalation (`Supervisor`).
//! * [`dynamic_supervisor`]: children started on demand (`DynamicSupervisor`).
//! * [`task`]: one computation in its own process, awaited, streamed or supervised (`Task`,
//!   `Task.Supervisor`).
//! * [`application`]: a supervision tree with configuration, run until SIGINT/SIGTERM
//!   (`Application`).
//! * [`registry`]: keys to processes, for names (`via`) and pub/sub (`Registry`).
//! * [`pg`]: process groups, joined and left by any process (`pg`).
//!
//! # Panics and crashes
//!
//! A panic inside a process ends that process with an [`ExitReason::Panic`] and is logged once
//! through `tracing`; the runtime and every other process carry on. A stack overflow that hits a
//! guard page ends the process with [`ExitReason::StackOverflow`].

#![deny(unsafe_op_in_unsafe_fn)]

// The macros name this crate `::otp`; this makes that path work inside the crate too.
#[allow(
    unused_extern_crates,
    reason = "used by macro expansions inside the crate"
)]
extern crate self as otp;

pub mod agent;
pub mod application;
pub mod dynamic_supervisor;
pub mod gen_server;
mod loom;
pub mod mailbox;
pub mod pg;
pub mod process;
pub mod registry;
mod runtime;
pub mod supervisor;
pub mod task;
pub mod testing;

#[doc(hidden)]
pub mod __private;

pub use otp_macros::{budget, main, receive, test};

/// A GenServer from an impl block: message types, the `GenServer` impl and a typed client are
/// generated from the handler methods.
///
/// Mark methods of an inherent `impl` of your state type:
///
/// | attribute | signature | becomes |
/// |---|---|---|
/// | `#[call]` | `fn name(&mut self, args..) -> T` | client `name(args..) -> Result<T, CallError>` and `name_timeout(args.., timeout)` |
/// | `#[call]` | `fn name(&mut self, args.., reply_to: ReplyTo<Self, T>) -> CallResult<T>` | the same; reply now, later (through `reply_to`), or stop |
/// | `#[cast]` | `fn name(&mut self, args..)` or `-> CastResult` | client `name(args..) -> Result<(), NotRegistered>`, never blocks |
/// | `#[handle_info]` | `fn any(&mut self, info: Info<M>)` or `-> CastResult` | client `send(m: M)`; also gets EXIT, DOWN and timeouts |
/// | `#[handle_continue]` | `fn any(&mut self, c: C)` or `-> CastResult<C>` | `Next::Continue(c)` from any callback |
/// | `#[init]` | `fn any(&mut self)` or `-> InitResult` | runs in the new process before `start` returns |
/// | `#[terminate]` | `fn any(&mut self, reason: &ExitReason)` | runs when the server stops |
///
/// For `impl Counter` the macro generates `CounterCall`, `CounterReply` and `CounterCast` (one
/// variant per handler), `impl GenServer for Counter`, and **`CounterClient`**: a cheap, clonable
/// handle with one method per handler plus `start_link` / `start` (and `_with` variants taking
/// [`StartOptions`](gen_server::StartOptions) for names and `via`), `named` (a handle that finds
/// the server by name at every use, so it stays valid across supervised restarts), `child_spec`
/// (to put the server in a supervisor directly), `stop`, `pid` and `server` (the untyped
/// [`Server`](gen_server::Server)). Methods without an attribute are left alone.
///
/// Options: `#[gen_server(vis = pub(crate), client = Counters)]` sets the visibility of the
/// generated items (default: private, like an item without `pub`) and the client's name.
///
/// ```
/// use otp::gen_server::StartOptions;
/// use otp::supervisor::{self, Options, Strategy};
///
/// /// A stack of numbers (the tutorial's favourite server).
/// struct Stack(Vec<i64>);
///
/// #[otp::gen_server]
/// impl Stack {
///     /// Pushes `x`, returning at once.
///     #[cast]
///     fn push(&mut self, x: i64) {
///         self.0.push(x);
///     }
///
///     /// Takes the top element.
///     #[call]
///     fn pop(&mut self) -> Option<i64> {
///         self.0.pop()
///     }
///
///     #[call]
///     fn len(&self) -> usize {
///         self.0.len()
///     }
/// }
///
/// otp::run(|| {
///     // Started directly...
///     let stack = StackClient::start_link(Stack(vec![1])).unwrap();
///     stack.push(2).unwrap();
///     assert_eq!(stack.pop(), Ok(Some(2)));
///
///     // ...or under a supervisor, by name: the handle outlives restarts.
///     let spec = StackClient::child_spec_with("stack", StartOptions::new().name("stack"), || {
///         Stack(vec![])
///     });
///     let _sup = supervisor::start_link(vec![spec], Options::new(Strategy::OneForOne)).unwrap();
///     let named = StackClient::named("stack");
///     named.push(7).unwrap();
///     assert_eq!(named.len(), Ok(1));
/// });
/// ```
///
/// Misuse is a compile error at your code, with a hint: a handler without `&mut self`,
/// `async` or generic handlers, borrowed arguments (`&str`: messages must own their data),
/// replies or arguments that are not `Send`, two `#[init]`s, a handler whose client method
/// would clash with another (`get` and `get_timeout`) or with the client's own (`stop`).
///
/// The hand-written form, for what the macro doesn't cover (generic servers), is
/// [`gen_server::GenServer`].
pub use otp_macros::gen_server;

pub use crate::{
    mailbox::{sleep, Mailbox, Message, MessageRef, Term, Timeout},
    process::{
        exit_self as exit, make_ref, self_pid, spawn, spawn_apply, spawn_link, spawn_monitor,
        AnyPid, ExitReason, Pid, Ref, SpawnOptions,
    },
    runtime::{
        budget::{consume_reductions, yield_now},
        run,
        timer::{cancel_timer, read_timer, send_after, send_after_named, TimerRef},
        Builder, Runtime,
    },
};
