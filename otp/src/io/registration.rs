//! A socket's registration: the readiness its reactor has seen, the processes waiting for it,
//! the loop every socket operation runs (try the syscall; on `WouldBlock`, wait), and the
//! per-handle timeouts that bound that wait ([`Timeouts`]).
//!
//! # The readiness word
//!
//! One `AtomicUsize`: bit 0 readable, bit 1 writable, the rest a *tick* that every event bumps.
//! A new registration starts "ready both ways", so the first operation simply tries its
//! syscall. An operation that gets `WouldBlock` clears its direction's bit, but only if the
//! tick is still the one it read before the syscall ([`Readiness::clear`]): an event that
//! arrived in between keeps the bit, and the operation retries at once instead of waiting for an
//! edge that already happened.
//!
//! # Waiting
//!
//! A process that finds its direction not ready adds itself to that direction's waiter list
//! and, **under the same lock**, reads the readiness word again ([`Readiness::park`]); only if
//! the bit is still clear does it suspend (the mailbox's `wait`, so a wheel timer covers the
//! per-operation timeout and any message or exit signal also wakes it). The reactor records
//! readiness first, then takes the waiter list under the lock ([`Readiness::set_ready`]),
//! then wakes each process through its scheduling word (`ProcessCore::wake`, the path a message
//! push and a reply slot use). See `io`'s module docs for why no wake-up can be lost; the
//! loom model at the end of this file (`loom_io_readiness_is_never_lost`) checks this code
//! against the real scheduling word.
//!
//! A waiter entry is removed by the reactor when it wakes the process, or by the operation
//! itself when it returns without that (done, timed out, or unwinding because the process was
//! killed), so a list never keeps a dead process's record alive.
//!
//! # Where a registration lives
//!
//! The descriptor is registered with epoll lazily, the first time an operation has to wait,
//! on the reactor of the scheduler that operation runs on, and stays there until the socket is
//! dropped ([`Source`]'s `Drop`: deregister, then close). A socket that moves to a process on
//! another scheduler keeps its reactor; its events still wake the new owner wherever it runs,
//! since waking goes through the process record, not through the reactor's thread.
//!
//! # Timeouts
//!
//! Every socket type with `set_read_timeout` and friends keeps them in one [`Timeouts`] and
//! passes the one for an operation's direction to [`Source::run`], which turns it into a
//! deadline for that call alone (std's `SO_RCVTIMEO` rule) and returns `TimedOut` past it.
//! The socket types hold no timeout logic of their own: the validation (a zero duration is an
//! `InvalidInput` error, as in std: [`nonzero_timeout`]), the storage and the copy a
//! `try_clone` starts with all live here, so a `TcpStream` and a `UdpSocket` cannot drift
//! apart. A timeout is read once per call, when the call starts: setting it from another
//! process affects the calls that start after.

use std::{
    io,
    os::fd::{AsFd, AsRawFd, OwnedFd, RawFd},
    panic::Location,
    sync::{
        atomic::{
            AtomicU64,
            Ordering::{AcqRel, Acquire, Relaxed},
        },
        Arc, OnceLock, PoisonError,
    },
    time::{Duration, Instant},
};

use mio::Token;

use crate::process::core_ref::CoreRef;
use crate::{
    io::reactor::ReactorShared,
    loom::{AtomicUsize, Mutex, MutexGuard},
    mailbox,
    runtime::{budget, context},
};

const READABLE: usize = 1;
const WRITABLE: usize = 2;
const TICK: usize = 4;

/// Which way an operation moves data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// read, recv, accept
    Read,
    /// write, send, connect
    Write,
}

impl Direction {
    fn bit(self) -> usize {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }
}

/// A waiter: who to wake, and how to tell two apart.
pub(crate) trait Waiter: Clone {
    /// Whether `self` and `other` are the same waiter.
    fn same(&self, other: &Self) -> bool;
}

impl Waiter for CoreRef {
    fn same(&self, other: &Self) -> bool {
        CoreRef::ptr_eq(self, other)
    }
}

/// The waiters of one registration, per direction.
pub(crate) struct Waiters<W> {
    read: Vec<W>,
    write: Vec<W>,
}

impl<W> Waiters<W> {
    fn of(&mut self, dir: Direction) -> &mut Vec<W> {
        match dir {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }
}

/// The readiness word and the waiter lists: the protocol of the module docs, apart from
/// descriptors and processes (generic over the waiter so the loom model checks this code).
pub(crate) struct Readiness<W> {
    word: AtomicUsize,
    waiters: Mutex<Waiters<W>>,
}

impl<W: Waiter> Readiness<W> {
    /// Ready both ways: the first operation just tries its syscall.
    pub(crate) fn new() -> Readiness<W> {
        Readiness {
            word: AtomicUsize::new(READABLE | WRITABLE),
            waiters: Mutex::new(Waiters {
                read: Vec::new(),
                write: Vec::new(),
            }),
        }
    }

    fn waiters(&self) -> MutexGuard<'_, Waiters<W>> {
        // Every update under this lock is a push, a retain, an append or a clear: a panic
        // cannot leave the lists half-changed, so a poisoned lock is still consistent.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reactor side: records an event (bits and a new tick, in one read-modify-write), then,
    /// under the waiter lock, moves the waiters of the ready directions into `woken` for the
    /// caller to wake.
    pub(crate) fn set_ready(&self, readable: bool, writable: bool, woken: &mut Vec<W>) {
        let bits = if readable { READABLE } else { 0 } | if writable { WRITABLE } else { 0 };
        if bits == 0 {
            return;
        }
        let _ = self
            .word
            .fetch_update(AcqRel, Acquire, |w| Some(w.wrapping_add(TICK) | bits));
        // The lock orders this against `park`: see the module docs of `io`.
        let mut waiters = self.waiters();
        if readable {
            woken.append(&mut waiters.read);
        }
        if writable {
            woken.append(&mut waiters.write);
        }
    }

    /// The word, to pass to [`clear`](Self::clear) after a `WouldBlock`.
    pub(crate) fn snapshot(&self) -> usize {
        self.word.load(Acquire)
    }

    /// Whether `seen` (a snapshot) has `dir` ready.
    pub(crate) fn is_ready(seen: usize, dir: Direction) -> bool {
        seen & dir.bit() != 0
    }

    /// Clears `dir`'s bit after a `WouldBlock`, unless an event came after `seen` was read.
    pub(crate) fn clear(&self, dir: Direction, seen: usize) {
        let ticks = !(READABLE | WRITABLE);
        let mut current = seen;
        // Retry only while the tick is unchanged (another direction was cleared meanwhile).
        while current & ticks == seen & ticks {
            match self
                .word
                .compare_exchange(current, current & !dir.bit(), AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(now) => current = now,
            }
        }
    }

    /// Adds `waiter` to `dir`'s waiters, then, under the same lock, looks at the word again.
    /// True if `dir` became ready meanwhile (the caller retries instead of waiting).
    pub(crate) fn park(&self, dir: Direction, waiter: &W) -> bool {
        let mut waiters = self.waiters();
        let list = waiters.of(dir);
        if !list.iter().any(|w| w.same(waiter)) {
            list.push(waiter.clone());
        }
        Self::is_ready(self.snapshot(), dir)
    }

    /// Takes `waiter` off `dir`'s waiters, if it is still there.
    pub(crate) fn unpark(&self, dir: Direction, waiter: &W) {
        self.waiters().of(dir).retain(|w| !w.same(waiter));
    }

    /// Forgets every waiter.
    fn clear_waiters(&self) {
        let mut waiters = self.waiters();
        waiters.read.clear();
        waiters.write.clear();
    }
}

/// Where a registration sits in epoll.
#[derive(Debug)]
struct Attached {
    reactor: Arc<ReactorShared>,
    token: Token,
}

/// See the module docs.
pub(crate) struct Registration {
    readiness: Readiness<CoreRef>,
    attached: OnceLock<Attached>,
    /// Serialises the first registration with epoll (a reader and a writer may both try).
    attaching: std::sync::Mutex<()>,
}

impl Registration {
    fn new() -> Arc<Registration> {
        Arc::new(Registration {
            readiness: Readiness::new(),
            attached: OnceLock::new(),
            attaching: std::sync::Mutex::new(()),
        })
    }

    /// Reactor side: see [`Readiness::set_ready`].
    pub(crate) fn set_ready(&self, readable: bool, writable: bool, woken: &mut Vec<CoreRef>) {
        self.readiness.set_ready(readable, writable, woken);
    }

    /// Registers `fd` on the current scheduler's reactor, once.
    fn attach(self: &Arc<Self>, fd: RawFd) -> io::Result<()> {
        if self.attached.get().is_some() {
            return Ok(());
        }
        let _serial = self
            .attaching
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.attached.get().is_some() {
            return Ok(());
        }
        let reactor = context::with_scheduler(|s| s.map(|s| s.shared.io.clone()))
            .ok_or_else(|| not_in_process("a socket operation"))?;
        let token = reactor.register(fd, self)?;
        let _ = self.attached.set(Attached { reactor, token });
        Ok(())
    }
}

/// The error for a socket operation that would have to wait outside a process.
pub(crate) fn not_in_process(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("`{what}` must be called from inside an otp process (see otp::run)"),
    )
}

/// The error of an operation that ran out of time.
pub(crate) fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} timed out"))
}

/// A mio socket and its registration. Dropping it deregisters the descriptor, then closes it.
pub(crate) struct Source<S: AsRawFd> {
    io: S,
    registration: Arc<Registration>,
}

impl<S: AsRawFd> std::fmt::Debug for Source<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("fd", &self.io.as_raw_fd())
            .field("registered", &self.registration.attached.get().is_some())
            .finish()
    }
}

impl<S: AsRawFd> Source<S> {
    /// Wraps a non-blocking socket (not registered until an operation has to wait).
    pub(crate) fn new(io: S) -> Source<S> {
        Source {
            io,
            registration: Registration::new(),
        }
    }

    /// The socket, for calls that never wait (addresses, options).
    pub(crate) fn get_ref(&self) -> &S {
        &self.io
    }

    /// Runs `op` until it does not return `WouldBlock`, suspending the calling process while
    /// `dir` is not ready, for at most `timeout` (then `TimedOut`). `what` names the operation
    /// in errors. Outside a process: an `Unsupported` error, without trying `op`.
    pub(crate) fn run<R>(
        &self,
        dir: Direction,
        timeout: Option<Duration>,
        what: &'static str,
        at: &'static Location<'static>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let Some(core) = context::current_process() else {
            return Err(not_in_process(what));
        };
        budget::consume(1);
        let deadline = timeout.map(|d| Instant::now() + d);
        let reg = &self.registration;
        let readiness = &reg.readiness;
        let mut guard = Unpark {
            readiness,
            dir,
            core: &core,
            parked: false,
        };
        loop {
            let seen = readiness.snapshot();
            if Readiness::<CoreRef>::is_ready(seen, dir) {
                match op(&self.io) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // Registered before the bit is cleared: an edge after the syscall is
                        // then either in the tick (the clear is skipped) or still to come.
                        reg.attach(self.io.as_raw_fd())?;
                        readiness.clear(dir, seen);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    result => return result,
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(timed_out(what));
            }
            if readiness.park(dir, &core) {
                continue;
            }
            guard.parked = true;
            if std::thread::panicking() {
                // A destructor running during the process's exit unwind (a `BufWriter`
                // flushing on drop): nothing may switch away now, so it cannot wait.
                return Err(io::Error::other(format!(
                    "`{what}` cannot wait while the process is exiting"
                )));
            }
            mailbox::wait_until(&core, deadline, at);
            // Acts on signals that came meanwhile: an exit signal unwinds from here, and the
            // guard takes this process off the waiter list on the way out.
            core.safepoint();
        }
    }
}

impl<S: AsRawFd + AsFd + From<OwnedFd>> Source<S> {
    /// Another source on a duplicate of the descriptor (the socket types' `try_clone`), with a
    /// registration of its own: it joins a reactor the first time one of its operations waits.
    pub(crate) fn try_clone(&self) -> io::Result<Source<S>> {
        let fd = self.io.as_fd().try_clone_to_owned()?;
        Ok(Source::new(S::from(fd)))
    }
}

/// Takes the process off the waiter list when an operation ends without the reactor having
/// done so (success after a spurious wake-up, timeout, unwind).
struct Unpark<'a> {
    readiness: &'a Readiness<CoreRef>,
    dir: Direction,
    core: &'a CoreRef,
    parked: bool,
}

impl Drop for Unpark<'_> {
    fn drop(&mut self) {
        if self.parked {
            self.readiness.unpark(self.dir, self.core);
        }
    }
}

impl<S: AsRawFd> Drop for Source<S> {
    fn drop(&mut self) {
        if let Some(a) = self.registration.attached.get() {
            a.reactor.deregister(self.io.as_raw_fd(), a.token);
        }
        // Nobody can be waiting (waiting borrows the socket), but a stale entry would keep a
        // record alive: clear the lists. The descriptor closes when `io` drops, after this.
        self.registration.readiness.clear_waiters();
    }
}

/// Checks a timeout the caller gave (`set_read_timeout`, `connect_timeout`, ...): a zero
/// duration is an `InvalidInput` error, with std's message, as std's own setters reject it (for
/// `SO_RCVTIMEO` a zero would mean "no timeout at all").
pub(crate) fn nonzero_timeout(timeout: Duration) -> io::Result<Duration> {
    if timeout.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    Ok(timeout)
}

/// One direction's timeout: nanoseconds, 0 for none (a set one is at least 1).
#[derive(Debug, Default)]
struct TimeoutCell(AtomicU64);

impl TimeoutCell {
    fn get(&self) -> Option<Duration> {
        match self.0.load(Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }

    fn set(&self, timeout: Option<Duration>) -> io::Result<()> {
        let nanos = match timeout {
            None => 0,
            Some(d) => u64::try_from(nonzero_timeout(d)?.as_nanos())
                .unwrap_or(u64::MAX)
                .max(1),
        };
        self.0.store(nanos, Relaxed);
        Ok(())
    }
}

impl Clone for TimeoutCell {
    fn clone(&self) -> TimeoutCell {
        TimeoutCell(AtomicU64::new(self.0.load(Relaxed)))
    }
}

/// A handle's read and write timeouts (`set_read_timeout`, `set_write_timeout` and their
/// getters): see the module docs. Both start unset; a clone (for `try_clone`) starts with the
/// values of the moment and is independent afterwards.
#[derive(Debug, Default, Clone)]
pub(crate) struct Timeouts {
    read: TimeoutCell,
    write: TimeoutCell,
}

impl Timeouts {
    fn of(&self, dir: Direction) -> &TimeoutCell {
        match dir {
            Direction::Read => &self.read,
            Direction::Write => &self.write,
        }
    }

    /// `dir`'s timeout, if one is set: what [`Source::run`] takes for an operation that way.
    pub(crate) fn get(&self, dir: Direction) -> Option<Duration> {
        self.of(dir).get()
    }

    /// Sets or clears `dir`'s timeout. A zero duration is an `InvalidInput` error and leaves
    /// the timeout as it was.
    pub(crate) fn set(&self, dir: Direction, timeout: Option<Duration>) -> io::Result<()> {
        self.of(dir).set(timeout)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use std::sync::atomic::Ordering::{AcqRel, Acquire};

    use loom::{
        sync::{
            atomic::{AtomicBool, AtomicUsize},
            Arc,
        },
        thread,
    };

    use super::*;
    use crate::process::state::{Notify, SchedState};

    #[derive(Clone)]
    struct W(usize);

    impl Waiter for W {
        fn same(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }

    /// One socket and one process: the kernel's receive buffer (`data`), the registration,
    /// and the process's scheduling word.
    struct Model {
        readiness: Readiness<W>,
        data: AtomicBool,
        state: SchedState,
        enqueued: AtomicUsize,
    }

    /// The operation loop of `Source::run` with its suspension: true if the process read the
    /// data, false if its scheduler parked it.
    fn read(m: &Model) -> bool {
        loop {
            let seen = m.readiness.snapshot();
            if Readiness::<W>::is_ready(seen, Direction::Read) {
                if m.data.swap(false, AcqRel) {
                    return true;
                }
                // `WouldBlock`.
                m.readiness.clear(Direction::Read, seen);
                continue;
            }
            if m.readiness.park(Direction::Read, &W(1)) {
                continue;
            }
            // Suspended; the scheduler parks it unless it was notified meanwhile.
            if m.state.park() {
                return false;
            }
        }
    }

    /// Data arrives (and its edge reaches the reactor) while the process reads, clears and
    /// parks: it either reads the data or ends up queued to run again, never parked with the
    /// data waiting.
    #[test]
    fn loom_io_readiness_is_never_lost() {
        loom::model(|| {
            let m = Arc::new(Model {
                readiness: Readiness::new(),
                data: AtomicBool::new(false),
                state: SchedState::new_queued(),
                enqueued: AtomicUsize::new(0),
            });
            assert!(m.state.start_running());
            let reactor = {
                let m = m.clone();
                thread::spawn(move || {
                    // The peer's write, then the edge-triggered event for it. (A swap, not a
                    // store: loom 0.7.3 lets a later swap on another thread miss a plain
                    // store that happened before it, a false alarm seen with a two-line
                    // probe; the kernel's side is not what this model checks.)
                    m.data.swap(true, AcqRel);
                    let mut woken = Vec::new();
                    m.readiness.set_ready(true, false, &mut woken);
                    for _ in woken {
                        if m.state.notify() == Notify::Enqueue {
                            m.enqueued.fetch_add(1, AcqRel);
                        }
                    }
                })
            };
            let mut got = read(&m);
            reactor.join().unwrap();
            if !got {
                assert_eq!(
                    m.enqueued.load(Acquire),
                    1,
                    "lost wake-up: parked with data waiting"
                );
                assert!(m.state.start_running());
                got = read(&m);
            }
            assert!(
                got,
                "the data was never read: word={} data={} state={}",
                m.readiness.snapshot(),
                m.data.load(Acquire),
                m.state.load()
            );
        });
    }
}
