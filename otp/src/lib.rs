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
//! * [`receive!`](receive) is Elixir's `receive`, with patterns, guards, `EXIT`/`DOWN` and
//!   `after`; [`#[otp::budget]`](macro@budget) makes a function's loops and calls yield.
//! * [`#[otp::main]`](macro@main) and [`#[otp::test]`](macro@test) run a function as a root
//!   process; [`testing`] has ExUnit's `assert_receive` and `start_supervised`.
//! * [`io`] has TCP and UDP sockets whose reads, writes, accepts and connects suspend the
//!   calling process, not its scheduler thread; [`blocking`] runs code that must block (files,
//!   DNS, long computations) on a bounded pool of threads while the process waits.
//!
//! On top of processes, OTP's behaviours:
//!
//! * [`gen_server`](mod@gen_server): servers with state, calls, casts and clean stops (`GenServer`).
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
pub mod blocking;
pub mod dynamic_supervisor;
pub mod gen_server;
pub mod io;
pub mod logger;
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

/// Elixir's `receive`: takes the oldest message that one of the clauses accepts, leaves the
/// others in the mailbox in their order, and evaluates to that clause's body.
///
/// ```text
/// otp::receive! { mailbox,
///     Pattern [if guard] => body,
///     Pattern: Type [if guard] => body,            // a Mailbox<Term>: downcast to Type
///     EXIT(from, reason) [if guard] => body,       // {:EXIT, from, reason}, trapped exits
///     DOWN(reference, pid, reason) [if guard] => body, // {:DOWN, ref, :process, pid, reason}
///     after timeout => body,                       // optional, last
/// }
/// ```
///
/// ```
/// use std::time::Duration;
/// use otp::{ExitReason, Mailbox, Pid};
///
/// enum Cmd {
///     Add(i64, i64, Pid<Reply>),
///     Name(String, Pid<Reply>),
///     Stop,
/// }
///
/// #[derive(Debug, PartialEq)]
/// enum Reply {
///     Sum(i64),
///     Hello(String),
/// }
///
/// otp::run(|mut mb: Mailbox<Reply>| {
///     otp::process::trap_exit(true);
///     let server = otp::spawn_link(|mut mb: Mailbox<Cmd>| loop {
///         otp::receive! { mb,
///             Cmd::Add(a, b, from) if a >= 0 => from.send(Reply::Sum(a + b)),
///             Cmd::Name(name, from) if !name.is_empty() => from.send(Reply::Hello(name)),
///             Cmd::Stop => break,
///             after Duration::from_secs(5) => otp::exit(ExitReason::custom("idle")),
///         }
///     });
///     server.send(Cmd::Add(-1, 1, mb.pid())); // no clause takes it: it stays queued
///     server.send(Cmd::Name("joe".into(), mb.pid()));
///     server.send(Cmd::Add(2, 3, mb.pid()));
///
///     // Selective: the sum is asked for first, though the greeting arrives first.
///     let sum = otp::receive! { mb, Reply::Sum(n) => n };
///     let name = otp::receive! { mb, Reply::Hello(name) => name };
///     assert_eq!((sum, name.as_str()), (5, "joe"));
///
///     server.send(Cmd::Stop);
///     let reason = otp::receive! { mb,
///         EXIT(from, reason) if *from == server => reason,
///     };
///     assert_eq!(reason, ExitReason::Normal);
/// });
/// ```
///
/// # Semantics
///
/// Exactly the runtime's selective receive ([`Mailbox::select`]): messages are looked at
/// oldest first, and for each message the clauses in order; the first clause whose pattern
/// matches and whose guard holds takes the message. So an older message that matches a later
/// clause wins over a newer one that matches the first clause, as in Erlang. Messages no
/// clause accepts stay where they are.
///
/// * **`after`** takes a [`Duration`](std::time::Duration), an `Option<Duration>` or a
///   [`Timeout`]. It is a deadline fixed when the receive starts: messages that arrive and
///   don't match never push it back. `after Duration::ZERO` only looks at what is already there
///   (`after 0`). Without `after` the receive waits as long as it takes.
/// * **User clauses** match the message type `M` of the mailbox with any Rust pattern
///   (constructors, tuples, structs, `|`, ranges, `name @ pattern`, literals, constants).
///   A clause never takes a system message: `_` means "any message of type `M`".
/// * **`EXIT(from, reason)`** matches an exit signal received while trapping exits
///   ([`process::trap_exit`]): `from: AnyPid`,
///   `reason: ExitReason`. **`DOWN(reference, pid, reason)`** matches a monitor's `DOWN`:
///   `reference: Ref`, `pid: AnyPid`, `reason: ExitReason`. Their parts are patterns too:
///   `EXIT(_, ExitReason::Normal)`.
/// * **Typed clauses** (`n: i32 if n > 0`, `Ping(x): Ping`) are for a `Mailbox<Term>`: the
///   clause takes a term holding that type, and its pattern matches the value.
/// * **Bodies** run like `match` arms, outside the receive: `return`, `break`, `continue` and
///   `?` act on the surrounding code. The bindings are the message's parts, owned.
/// * **Guards** run while the message is still in the mailbox, so they see each binding *by
///   value* if its type is `Copy` (`a > 0`, `r == reference`) and *by shared reference*
///   otherwise (`s.len() > 3`, `s == "x"`, `*from == pid`, `*reason == ExitReason::Normal`).
///   A guard must not receive from the same mailbox, and can't `return` from the enclosing
///   function (it runs in a closure).
///
/// Which identifiers are bindings is decided by name, as rustc's naming conventions have it:
/// a lowercase (or `_`-prefixed) identifier, or any identifier before `@`, binds; one that
/// starts with an uppercase letter (`None`, `LIMIT`) is a unit variant or a constant.
///
/// The whole `receive!` is an expression of the bodies' common type, and the location of a
/// receive that waits (in [`process::info`]'s `current_location`) is
/// the line of its mailbox expression.
///
/// # Compile errors
///
/// Misuse is reported at your tokens, with a hint: a missing comma after the mailbox, a
/// receive without clauses, `after` not last or twice, `after` without a timeout or without
/// `=>`, a timeout that is a bare number, `EXIT`/`DOWN` with the wrong number of parts, with a
/// type, nested in another pattern or in an or-pattern, macros in pattern position, `ref` or
/// `ref mut` bindings, `&` patterns, and typed clauses on a mailbox that is not a
/// `Mailbox<Term>`.
///
/// | Elixir | otp |
/// |---|---|
/// | `receive do {:add, a, b} when a > 0 -> a + b end` | `receive! { mb, Cmd::Add(a, b) if a > 0 => a + b }` |
/// | `{:EXIT, from, reason} -> ...` | `EXIT(from, reason) => ...` |
/// | `{:DOWN, ref, :process, pid, reason} -> ...` | `DOWN(reference, pid, reason) => ...` |
/// | `after 100 -> ...` | `after Duration::from_millis(100) => ...` |
/// | `n when is_integer(n) -> ...` | `n: i64 => ...` (on a `Mailbox<Term>`) |
pub use otp_macros::receive;

/// Runs `main` as the root process of a fresh runtime, as [`run`] does for a
/// closure, configured by the attribute's settings.
///
/// ```
/// #[otp::main(schedulers = 2)]
/// fn main() {
///     let me = otp::self_pid();
///     let child = otp::spawn(move || println!("spawned by {me}"));
///     println!("started {child}");
/// }
/// ```
///
/// `main` may take the root process's mailbox and return anything `main` can return (a
/// [`Termination`](std::process::Termination)): an error is printed and the program exits
/// with a failure code, as usual. If the root process crashes or is killed, its exit reason
/// is printed and the program exits with a failure code.
///
/// ```
/// use otp::Mailbox;
///
/// #[otp::main]
/// fn main(mut mb: Mailbox<u64>) -> Result<(), String> {
///     let me = mb.pid();
///     otp::spawn(move || me.send(6 * 7));
///     match mb.receive() {
///         42 => Ok(()),
///         other => Err(format!("expected 42, got {other}")),
///     }
/// }
/// ```
///
/// # Settings
///
/// Each is the [`Builder`] method of the same name; unset, the builder's default.
///
/// | setting | value |
/// |---|---|
/// | `schedulers = N` | scheduler threads (default: one per core) |
/// | `reductions = N` | reductions per slice (default 4000) |
/// | `stack_size = BYTES` | default process stack size |
/// | `guard_page_budget = N` | stacks that may have a guard page |
/// | `long_schedule_threshold = "100ms"` | when the watchdog reports a process holding its scheduler |
/// | `shutdown_timeout = "5s"` | how long shutdown waits for processes to unwind |
///
/// Durations are strings with a unit: `"500ms"`, `"10s"`, `"2m"`, `"1h"`.
///
/// # Compile errors
///
/// An `async` or `const` function, generics, an argument other than the mailbox (or more than
/// one), `self`, an unknown or repeated setting, a setting of the wrong kind (`schedulers =
/// "2"`, `shutdown_timeout = 5`, `schedulers = 0`), and the attribute on something that is
/// not a function.
pub use otp_macros::main;

/// A test run as the root process of a fresh runtime, like an ExUnit test in its own process:
/// the attribute makes the function a `#[test]` (don't add one) that fails if the process
/// panics, returns an `Err`, exits abnormally, or has not finished within the timeout.
///
/// ```
/// use std::time::Duration;
/// use otp::testing::assert_receive;
///
/// #[otp::test(schedulers = 2, timeout = "10s")]
/// fn echoes(mut mb: otp::Mailbox<String>) {
///     let me = mb.pid();
///     let echo = otp::spawn(move |mut mine: otp::Mailbox<String>| {
///         let text = mine.receive();
///         me.send(text);
///     });
///     echo.send("ping".to_owned());
///     assert_receive!(mb, text if text == "ping", Duration::from_secs(5));
/// }
/// # fn main() { echoes() } // outside `cfg(test)` the test is a plain function
/// ```
///
/// A failure is reported on the test's thread with the process's own panic message and
/// location, so `#[should_panic(expected = "...")]` works. The function may take the root
/// process's mailbox and return `()` or `Result<(), E: Debug>`. Children started with
/// [`testing::start_supervised`] are stopped, in reverse order, when it returns or panics.
///
/// # Settings
///
/// Those of [`#[otp::main]`](macro@main), and `timeout = "10s"` (default 60 s, ExUnit's; or
/// `"infinity"`): a test still running then fails with a message saying it timed out, instead
/// of hanging the suite. Its runtime is left behind (its threads end with the test binary).
///
/// [`testing::run_test`] does the same for a closure, for harnesses other than `#[test]`.
///
/// # Compile errors
///
/// As for `#[otp::main]`, plus a `#[test]` attribute of its own and `timeout` values that are
/// not durations.
pub use otp_macros::test;

/// Inserts reduction-budget checks into a function so a long computation yields to the other
/// processes on its scheduler at safe points, as the BEAM's reduction counting does for every
/// Erlang function.
///
/// A check spends one reduction of the running process's slice (4000 by default, see
/// [`Builder::reductions`]) and, when the slice is spent, lets the other runnable processes on
/// the scheduler run ([`yield_now`]). There is one at the entry of the function (so every
/// call counts, recursion included) and one at the top of every `loop`, `while` and `for`
/// body. Closures, `async` blocks and nested functions are not instrumented (give them their
/// own `#[otp::budget]`), nor is code inside macro invocations. Outside a process a check only
/// decrements a thread-local counter.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// /// Busy-waits for `flag`: on one scheduler, forever, unless the loop yields.
/// #[otp::budget]
/// fn spin_until(flag: &AtomicBool) -> u64 {
///     let mut spins = 0;
///     while !flag.load(Ordering::Acquire) {
///         spins += 1;
///     }
///     spins
/// }
///
/// let rt = otp::Builder::new().schedulers(1).build().unwrap();
/// let spins = rt
///     .block_on(|mut mb: otp::Mailbox<u64>| {
///         let flag = Arc::new(AtomicBool::new(false));
///         let (me, theirs) = (mb.pid(), flag.clone());
///         otp::spawn(move || me.send(spin_until(&theirs)));
///         // Runs on the same (only) scheduler, thanks to the spinner's checks.
///         otp::spawn(move || flag.store(true, Ordering::Release));
///         mb.receive()
///     })
///     .unwrap();
/// # let _ = spins;
/// ```
///
/// It also goes on an `impl` or `trait` block, for every method with a body.
///
/// A check may switch processes, so don't hold a lock that another process on the same
/// scheduler may need (a `std::sync::Mutex` guard) across an instrumented loop's iterations.
///
/// # Compile errors
///
/// Arguments (there are none), a `const fn`, an item that is not a function, `impl` or
/// `trait`, a function without a body, and a method that has its own `#[otp::budget]` inside
/// an instrumented block.
pub use otp_macros::budget;

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
