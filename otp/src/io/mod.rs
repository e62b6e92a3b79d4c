//! Network I/O inside processes: [`TcpListener`], [`TcpStream`], [`UdpSocket`].
//!
//! The types follow std's API, but an operation that would block (an `accept` with nobody
//! connecting, a `read` with no data) suspends the calling **process**, not its scheduler
//! thread: the other processes of that scheduler keep running. Each operation may have a
//! timeout (`set_read_timeout`, `accept_timeout`, `connect_timeout`), which ends it with
//! [`std::io::ErrorKind::TimedOut`]. A process blocked in I/O is still an ordinary process: an
//! exit signal ends it, its stack unwinds, and its sockets are dropped, which deregisters and
//! closes their descriptors. Work that cannot be made non-blocking (files, DNS, CPU-heavy
//! code) goes to the [`blocking`](crate::blocking) pool instead.
//!
//! ```
//! use std::io::{Read, Write};
//! use otp::io::{TcpListener, TcpStream};
//!
//! otp::run(|| {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     otp::spawn(move || loop {
//!         let (mut conn, _) = listener.accept().unwrap();
//!         // One process per connection, as on the BEAM.
//!         otp::spawn(move || {
//!             let mut buf = [0; 1024];
//!             loop {
//!                 match conn.read(&mut buf).unwrap() {
//!                     0 => break,
//!                     n => conn.write_all(&buf[..n]).unwrap(),
//!                 }
//!             }
//!         });
//!     });
//!     let mut client = TcpStream::connect(addr).unwrap();
//!     client.write_all(b"echo").unwrap();
//!     let mut back = [0; 4];
//!     client.read_exact(&mut back).unwrap();
//!     assert_eq!(&back, b"echo");
//! });
//! ```
//!
//! Called outside a process, an operation that may wait returns an
//! [`Unsupported`](std::io::ErrorKind::Unsupported) error saying so (binding, addresses and
//! options work anywhere).
//!
//! # Design
//!
//! Every scheduler owns a **reactor** (`reactor`): a `mio::Poll` (epoll), edge-triggered,
//! each descriptor registered once for both directions. A socket is a non-blocking mio socket
//! plus a **registration** (`registration`): a readiness word (readable, writable, and a tick
//! counting events) and, per direction, the processes waiting. An operation tries its syscall;
//! on `WouldBlock` it registers the descriptor (the first time only, with the reactor of the
//! scheduler it runs on), clears its readiness bit unless an event came meanwhile, adds itself
//! to the waiters, re-reads the readiness under the waiter lock, and suspends. The reactor,
//! polled by its scheduler between processes, sets the bits and bumps the tick, takes the
//! waiters under the same lock, and wakes each through its scheduling word.
//!
//! The scheduler polls its reactor without blocking at the points where it looks at its
//! timers (every 61st pick, and whenever its queues run dry), and an idle scheduler that has
//! registrations sleeps *in* `epoll_wait` (with its next timer as the timeout) instead of on its
//! parker; other threads wake it through a `mio::Waker` (see `runtime/scheduler.rs`). A
//! scheduler without registrations parks exactly as before, so processes that do no I/O pay
//! nothing for it.
//!
//! # No lost wake-ups
//!
//! The race to close is an event that arrives between a process's `WouldBlock` and its
//! suspension: with edge triggering, epoll reports it once, and if nobody acts on that report
//! the process sleeps forever with data waiting. Three steps close it:
//!
//! 1. **Registered before cleared.** The descriptor is in epoll before the readiness bit is
//!    cleared, so any readiness change after the syscall's `WouldBlock` produces an event
//!    (registering a descriptor that is already ready also reports it).
//! 2. **Cleared only if nothing came.** The bit is cleared by a compare-and-swap against the
//!    word read *before* the syscall. An event in between changed the tick, the swap fails,
//!    the bit stays set, and the operation retries the syscall instead of waiting.
//! 3. **Checked under the lock the reactor takes.** The reactor records readiness, *then*
//!    locks the waiter list and takes it. The process locks the list, adds itself, and reads
//!    readiness *inside* the same critical section. Critical sections of one mutex are totally
//!    ordered: if the reactor's came first, its readiness store happened before the process's
//!    read, which sees the bit and retries; if the process's came first, the reactor finds it
//!    in the list and wakes it.
//!
//! The wake-up itself is `ProcessCore::wake`, the path a message push or a reply slot takes:
//! it sets `NOTIFIED` on the process's scheduling word, so a process woken after it joined the
//! list but before its scheduler parked it fails the park and runs again (`process/state.rs`,
//! checked by a loom model). Spurious wake-ups (a message arriving, another waiter taking the
//! data first) are harmless: the operation loops and looks again.
//!
//! # Where things run
//!
//! A process waiting in I/O holds its stack, so it is pinned to its scheduler (the migration
//! rule). A socket's registration stays on the reactor where it was made, even if the socket
//! is later sent to a process elsewhere or its owner, a behaviour process idle without a
//! stack, moves: an event found by any reactor wakes the process through its record, and
//! `schedule` queues it wherever it lives (its pinned scheduler, or the waker's for a movable
//! one). Registering lazily, where the first wait happens, is what puts a connection handed
//! from an acceptor to a worker process on the worker's reactor, where its events wake it
//! without a cross-thread hop.
//!
//! A scheduler stuck in code that never reaches a safe point does not poll its reactor, so
//! the processes waiting on its sockets wait with it (they are pinned to it anyway); the
//! watchdog reports such a scheduler.

mod reactor;
mod registration;
mod tcp;
mod udp;

use std::{
    io,
    net::{SocketAddr, ToSocketAddrs},
};

pub(crate) use self::reactor::{Reactor, ReactorShared};
pub use self::{
    tcp::{Incoming, TcpListener, TcpStream},
    udp::UdpSocket,
};

/// Resolves `addr` and runs `f` on each address in turn until one succeeds, returning the last
/// error otherwise (std's rule for `bind` and `connect`). A host name is resolved on the
/// calling thread.
fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}
