//! The TCP acceptor: the one piece of the application that waits for the socket layer.
//!
//! **Pending.** It needs `otp::io::TcpListener`, whose `accept` suspends the calling process
//! instead of blocking its scheduler thread; that type is being written on another branch.
//! Until it lands, [`child_spec`] is a child that refuses to start with [`Unavailable`], so
//! `kv` (the binary) builds its whole tree, replays its files, and then stops and says
//! plainly that it cannot listen. It never pretends to serve. Tests connect in memory instead
//! ([`Kv::connect_memory`](crate::app::Kv::connect_memory)), with the acceptor left out
//! ([`Config::listen`](crate::config::Config::listen) = false).
//!
//! When the socket layer lands, this is the whole change (plus `impl Transport for
//! otp::io::TcpStream` in `connection`, splitting it into a read and a write half):
//!
//! ```text
//! pub fn child_spec(kv: Kv) -> ChildSpec {
//!     ChildSpec::new("kv_acceptor", move || {
//!         // Bind in the supervisor, so a port in use fails the start with the reason.
//!         let listener = otp::io::TcpListener::bind(kv.config().address())
//!             .map_err(|e| StartError::Stopped(ExitReason::custom(e.to_string())))?;
//!         let kv = kv.clone();
//!         Ok(otp::spawn_link(move || loop {
//!             match listener.accept() {                 // suspends this process
//!                 Ok((stream, _peer)) => { let _ = kv.accept(stream); }
//!                 Err(e) => tracing::warn!("accept: {e}"),
//!             }
//!         }))
//!     })
//! }
//! ```
//!
//! One acceptor process suffices: accepting is cheap next to serving, and each connection
//! gets its own processes at once.

use std::fmt;

use otp::{gen_server::StartError, supervisor::ChildSpec, AnyPid, ExitReason};

use crate::app::Kv;

/// Whether this build can accept TCP connections.
pub const AVAILABLE: bool = false;

/// Why the acceptor did not start: the socket layer is not in this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// The address it would have listened on.
    pub address: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not listening on {}: the TCP acceptor needs otp::io::TcpListener, which this build \
             of otp does not have yet. The storage, shards and connection code are ready (the \
             tests drive them over in-memory connections); only accepting sockets is missing.",
            self.address
        )
    }
}

/// The acceptor's child spec. Until the socket layer exists, its start fails with
/// [`Unavailable`] (see the [module docs](self)).
pub fn child_spec(kv: Kv) -> ChildSpec {
    ChildSpec::new("kv_acceptor", move || -> Result<AnyPid, StartError> {
        // TODO(io): bind otp::io::TcpListener and spawn the accept loop shown above.
        Err(StartError::Stopped(ExitReason::custom(Unavailable {
            address: kv.config().address(),
        })))
    })
}
