//! `process::info`: a snapshot of what a process is doing.

use std::{
    panic::Location,
    sync::atomic::Ordering::{Acquire, Relaxed},
};

use crate::{
    process::{
        core::ProcessCore,
        pid::AnyPid,
        state::{EXITED, IDLE, NOTIFIED, RUNNING},
    },
    runtime::{shared, stack},
};

/// What a process is doing, as `Process.info/2` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// On a scheduler right now.
    Running,
    /// In a run queue.
    Runnable,
    /// Parked in `receive` or `sleep`.
    Waiting,
    /// Exiting.
    Exiting,
}

/// A snapshot of one process (`Process.info/1`). Unlike the BEAM's `Process.info/1`, it does
/// include `memory` (the BEAM only gives it through `Process.info(pid, :memory)`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// The process.
    pub pid: AnyPid,
    /// What it is doing.
    pub status: Status,
    /// Messages waiting in its mailbox.
    pub message_queue_len: usize,
    /// Reductions it has spent (runtime calls, yields; see `consume_reductions`).
    pub reductions: u64,
    /// Bytes the process holds: its record; for a behaviour process (a `GenServer`, a
    /// supervisor), the box it keeps for life with its state and the loop's bookkeeping (the
    /// state's `size_of`, not heap memory the state owns); while it has a stack, the box of
    /// its coroutine and the stack pages it has touched; and its queued messages.
    ///
    /// Left out: heap memory owned by the state or by a function's locals, the boxes made on
    /// first use (links and monitors, a server's name and idle timeout, the queue of messages
    /// a selective receive skipped), the allocator's overhead per block, and the process's
    /// slot in the process table. So an idle `GenServer` whose state is a `u64` reports 192
    /// bytes (on 64-bit targets) where it costs about 208 in glibc's chunks.
    pub memory: usize,
    /// Its registered name.
    pub registered_name: Option<String>,
    /// Whether it traps exits.
    pub trap_exit: bool,
    /// Where it is blocked (the `receive` or `sleep` call site), if it is waiting.
    pub current_location: Option<&'static Location<'static>>,
    /// The function it was spawned with (its type name; for `spawn_apply(greet, ..)` this ends
    /// in `greet`).
    pub initial_call: &'static str,
    /// The type of message its mailbox takes.
    pub mailbox_type: &'static str,
    /// The processes it is linked to.
    pub links: Vec<AnyPid>,
    /// The processes it monitors, once per monitor.
    pub monitors: Vec<AnyPid>,
    /// The processes monitoring it, once per monitor.
    pub monitored_by: Vec<AnyPid>,
}

/// A snapshot of `pid`, or `None` if it has exited (`Process.info/1`).
///
/// ```
/// use otp::process::{self, Status};
///
/// otp::run(|| {
///     let pid = otp::spawn(|mut mb: otp::Mailbox<u8>| { mb.receive(); });
///     pid.send(1);
///     pid.send(2);
///     let info = process::info(&pid);
///     // Either it is still parked with messages waiting, or it already took one and exited.
///     if let Some(info) = info {
///         assert!(info.memory > 0);
///     }
///     let me = process::info(otp::self_pid()).unwrap();
///     assert_eq!(me.status, Status::Running);
/// });
/// ```
pub fn info(pid: impl AsRef<AnyPid>) -> Option<ProcessInfo> {
    let pid = pid.as_ref();
    let core = pid.core();
    let state = core.state.load();
    let status = if core.exiting.load(Acquire) {
        return None;
    } else {
        match state & !NOTIFIED {
            EXITED => return None,
            RUNNING => Status::Running,
            IDLE if state & NOTIFIED != 0 => Status::Runnable,
            _ => Status::Waiting,
        }
    };
    let queue = core.message_queue_len();
    let rt = shared::current();
    let registered_name = if core.named.load(Relaxed) {
        rt.names.name_of(core.id).map(|n| n.to_string())
    } else {
        None
    };
    let current = core.current.load(Acquire);
    let (links, monitors, monitored_by) = core.relation_snapshot();
    Some(ProcessInfo {
        pid: pid.clone(),
        status,
        message_queue_len: queue,
        reductions: core.reductions.load(Relaxed),
        memory: memory(core, queue),
        registered_name,
        trap_exit: core.trap_exit.load(Relaxed),
        // SAFETY: `current` is null or was stored from a `&'static Location`.
        current_location: unsafe { current.as_ref() },
        initial_call: (core.meta.initial_call)(),
        mailbox_type: (core.meta.type_name)(),
        links,
        monitors,
        monitored_by,
    })
}

fn memory(core: &ProcessCore, queued: usize) -> usize {
    // The `Arc`'s allocation: the record and its two counts.
    let record = std::mem::size_of::<ProcessCore>() + 2 * std::mem::size_of::<usize>();
    // A behaviour process's driver: boxed for the process's whole life, so counted whatever
    // it is doing (a static size, known without looking at the body).
    let driver = core.meta.activation_size;
    // The low page (guard or gap) and, without a guard, the lowest usable page hold only the
    // canaries: their checks map the kernel's shared zero page there, which `mincore` counts as
    // resident but which costs nothing. Count from above them.
    // While it has a stack, its coroutine's handle (`Running`) lives in the stack's top page,
    // so the resident pages count it.
    let stack = core.stack().map_or(0, |s| {
        let skip = if s.has_guard() { 1 } else { 2 } * stack::page_size();
        stack::resident_bytes(s.limit_addr() + skip, s.slot_end(core.stack_size as usize))
    });
    record + driver + stack + queued * (core.meta.node_size + std::mem::size_of::<usize>())
}
