//! One reactor per scheduler: a `mio::Poll` (epoll, edge-triggered) and the table that turns
//! its events back into [`Registration`]s.
//!
//! Two halves, like the scheduler's own:
//!
//! * [`ReactorShared`] (in `SchedulerShared`, reachable from any thread): the `mio::Registry`
//!   (a clone of the poll's epoll descriptor), a `mio::Waker` (an eventfd in the same epoll set)
//!   that pulls the scheduler out of a blocking poll, and the token table. Sockets register here
//!   and deregister here, from whichever thread drops them.
//! * [`Reactor`] (owned by the scheduler thread): the `mio::Poll` itself and its event buffer.
//!   Only that thread polls.
//!
//! # Tokens
//!
//! A token is a slot index in the table (low 32 bits) and the slot's generation (high 32 bits).
//! A socket dropped on another thread removes its slot while this thread may be holding an
//! event for it that `epoll_wait` returned a moment earlier; the lookup then finds the slot
//! empty, or reused under a newer generation, and drops the event. So an event never reaches a
//! registration other than the one it was meant for, and no raw pointer travels through the
//! kernel: this module has no `unsafe`.
//!
//! # Invariant the scheduler relies on
//!
//! Registrations are *added* to a reactor only by its own scheduler thread (a socket registers
//! lazily, on the reactor of the scheduler where a process first has to wait for it; see
//! `registration`). So when the scheduler decides how to sleep, its count of registrations can
//! only shrink behind its back, never grow: a scheduler that saw none and parks on its plain
//! parker cannot miss an event, because there is no descriptor that could produce one.

use std::{
    cell::RefCell,
    io,
    os::fd::RawFd,
    sync::{
        atomic::{AtomicUsize, Ordering::Relaxed},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    time::Duration,
};

use mio::{unix::SourceFd, Events, Interest, Poll, Registry, Token, Waker};

use crate::io::registration::Registration;
use crate::process::core_ref::CoreRef;

/// The waker's token: never a table slot (the table never holds 2^32 entries).
const WAKE_TOKEN: Token = Token(usize::MAX);
/// Events taken per `epoll_wait`.
const EVENTS: usize = 256;

/// One slot of the token table.
struct Entry {
    generation: u32,
    registration: Option<Arc<Registration>>,
}

/// The token table: registrations by slot, with a free list.
#[derive(Default)]
struct Table {
    entries: Vec<Entry>,
    free: Vec<u32>,
}

fn token_of(index: u32, generation: u32) -> Token {
    Token((usize::try_from(generation).unwrap_or(0) << 32) | index as usize)
}

fn split(token: Token) -> (usize, u32) {
    let index = token.0 & 0xffff_ffff;
    let generation = u32::try_from(token.0 >> 32).unwrap_or(u32::MAX);
    (index, generation)
}

/// The half of a reactor other threads use; see the module docs.
pub(crate) struct ReactorShared {
    registry: Registry,
    waker: Waker,
    table: Mutex<Table>,
    /// Live registrations: tells the scheduler whether it must watch epoll at all.
    registered: AtomicUsize,
}

impl std::fmt::Debug for ReactorShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReactorShared")
            .field("registered", &self.registered.load(Relaxed))
            .finish_non_exhaustive()
    }
}

impl ReactorShared {
    fn table(&self) -> MutexGuard<'_, Table> {
        // Every update of the table is a single assignment or push: a panic cannot leave it
        // half-done, so a poisoned lock is still consistent.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pulls the scheduler out of a blocking poll (or makes its next one return at once).
    pub(crate) fn wake(&self) {
        if let Err(e) = self.waker.wake() {
            tracing::error!(error = %e, "could not wake a scheduler blocked in its reactor");
        }
    }

    /// Whether any descriptor is registered here (a snapshot; see the module docs for why a
    /// zero seen by the scheduler itself stays valid until it registers one).
    pub(crate) fn has_registrations(&self) -> bool {
        self.registered.load(Relaxed) > 0
    }

    /// Registers `fd` (edge-triggered, readable and writable) for `registration`. Its token
    /// stays valid until [`deregister`](Self::deregister).
    pub(crate) fn register(
        &self,
        fd: RawFd,
        registration: &Arc<Registration>,
    ) -> io::Result<Token> {
        let token = {
            let mut table = self.table();
            let index = match table.free.pop() {
                Some(i) => i,
                None => {
                    let i = u32::try_from(table.entries.len()).map_err(|_| {
                        io::Error::new(io::ErrorKind::OutOfMemory, "reactor token table full")
                    })?;
                    table.entries.push(Entry {
                        generation: 0,
                        registration: None,
                    });
                    i
                }
            };
            let entry = &mut table.entries[index as usize];
            entry.registration = Some(registration.clone());
            token_of(index, entry.generation)
        };
        self.registered.fetch_add(1, Relaxed);
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.registry.register(&mut SourceFd(&fd), token, interest) {
            self.release(token);
            return Err(e);
        }
        Ok(token)
    }

    /// Removes `fd` from the epoll set and frees its token. Called before the descriptor is
    /// closed, from any thread.
    pub(crate) fn deregister(&self, fd: RawFd, token: Token) {
        // Fails only if the descriptor is not in the set, which nothing here can cause.
        let _ = self.registry.deregister(&mut SourceFd(&fd));
        self.release(token);
    }

    fn release(&self, token: Token) {
        let (index, generation) = split(token);
        let mut table = self.table();
        let Table { entries, free } = &mut *table;
        if let Some(entry) = entries.get_mut(index) {
            if entry.generation == generation && entry.registration.is_some() {
                entry.registration = None;
                entry.generation = entry.generation.wrapping_add(1);
                free.push(u32::try_from(index).unwrap_or(u32::MAX));
                self.registered.fetch_sub(1, Relaxed);
            }
        }
    }
}

/// The scheduler thread's half: the poll and its buffers.
pub(crate) struct Reactor {
    poll: RefCell<Poll>,
    events: RefCell<Events>,
    /// Processes to wake after the table lock is released (kept for its capacity).
    woken: RefCell<Vec<CoreRef>>,
    pub(crate) shared: Arc<ReactorShared>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// A new epoll instance with its waker.
    pub(crate) fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(Events::with_capacity(EVENTS)),
            woken: RefCell::new(Vec::new()),
            shared: Arc::new(ReactorShared {
                registry,
                waker,
                table: Mutex::new(Table::default()),
                registered: AtomicUsize::new(0),
            }),
        })
    }

    /// Waits up to `timeout` (`Some(ZERO)`: just looks) for events, records the readiness they
    /// carry in their registrations and wakes the processes waiting there. Returns how many
    /// processes were woken.
    ///
    /// Called by the scheduler thread between two processes, never from process code.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> usize {
        let mut events = self.events.borrow_mut();
        if let Err(e) = self.poll.borrow_mut().poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::error!(error = %e, "epoll_wait failed");
            }
            return 0;
        }
        if events.is_empty() {
            return 0;
        }
        let mut woken = self.woken.borrow_mut();
        {
            let table = self.shared.table();
            for event in events.iter() {
                if event.token() == WAKE_TOKEN {
                    continue;
                }
                let (index, generation) = split(event.token());
                let Some(Entry {
                    generation: g,
                    registration: Some(registration),
                }) = table.entries.get(index)
                else {
                    continue;
                };
                if *g != generation {
                    continue;
                }
                // Closed and failed sockets count as ready both ways: the next syscall
                // returns at once (end of file, the error).
                let done = event.is_error() || event.is_read_closed() && event.is_write_closed();
                let readable = done || event.is_readable() || event.is_read_closed();
                let writable = done || event.is_writable() || event.is_write_closed();
                registration.set_ready(readable, writable, &mut woken);
            }
        }
        let n = woken.len();
        // Outside the table lock: waking queues the process (here, or on the scheduler it is
        // pinned to).
        for p in woken.drain(..) {
            p.wake();
        }
        n
    }
}
