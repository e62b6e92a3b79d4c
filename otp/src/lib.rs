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
#[allow(unused_extern_crates, reason = "used by macro expansions inside the crate")]
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

#[doc(hidden)]
pub mod __private;

pub use otp_macros::{budget, gen_server, main, receive, test};

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
