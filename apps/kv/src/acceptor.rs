//! The TCP acceptor: a supervised process that accepts connections and hands each one to the
//! connections' Task.Supervisor.
//!
//! ```text
//! kv (rest_for_one) ── kv_acceptor ── accept() suspends ──▶ Kv::accept(stream)
//!                                                               └─▶ kv_connections: reader + session
//! ```
//!
//! The child's start function runs in the top supervisor's process. It binds the listening
//! socket *there*, so a port in use fails the start with the reason (`kv` then exits saying
//! which address it could not listen on), and only then spawns the accept loop, linked to the
//! supervisor. The loop is one [`TcpListener::accept`] after another: the call suspends the
//! acceptor process, not its scheduler thread. Each accepted stream gets `TCP_NODELAY` (a
//! reply is one write; Nagle would hold it back waiting for the client's ACK) and is handed to
//! [`Kv::accept`], which starts its reader task under `kv_connections`.
//!
//! A failed `accept` (the peer reset the connection before it was taken, or the process is
//! out of descriptors) is logged and the loop continues; when the failure is a lack of
//! resources, the acceptor pauses for [`RESOURCE_BACKOFF`] first, since the next `accept`
//! would fail the same way at once and the loop would spin (the pending connections wait in
//! the kernel's backlog meanwhile).
//!
//! If the acceptor crashes anyway, its supervisor restarts it (and, `rest_for_one`, nothing
//! else: it is the last child). The new acceptor binds again, to the address the first one
//! got ([`Kv::local_addr`]), so a server started on port 0 keeps its port across restarts.
//! The dying process's stack unwinds before its supervisor hears of the exit, so the old
//! socket is closed by then; `SO_REUSEADDR` lets the new one bind at once. Connections already
//! accepted are not the acceptor's: they live on under `kv_connections`.
//!
//! One acceptor process suffices: accepting is cheap next to serving, and each connection
//! gets its own processes at once.

use std::{fmt, io, time::Duration};

use otp::{gen_server::StartError, io::TcpListener, supervisor::ChildSpec, AnyPid, ExitReason};

use crate::app::Kv;

/// How long the acceptor pauses after an `accept` that failed for lack of resources (out of
/// file descriptors or memory) before it tries again.
pub const RESOURCE_BACKOFF: Duration = Duration::from_millis(50);

/// Why the acceptor could not start: the listening socket could not be bound.
#[derive(Clone)]
pub struct BindError {
    /// The address it tried.
    pub address: String,
    /// What `bind` or `listen` said.
    pub error: String,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot listen on {}: {}", self.address, self.error)
    }
}

// An exit reason shows its value's Debug form: make it the readable one.
impl fmt::Debug for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for BindError {}

// ANCHOR: child_spec
/// The acceptor's child spec: binds [`Kv::local_addr`] if a previous acceptor recorded one,
/// else the configured `bind:port`, then spawns the accept loop linked to the supervisor.
pub fn child_spec(kv: Kv) -> ChildSpec {
    ChildSpec::new("kv_acceptor", move || -> Result<AnyPid, StartError> {
        let address = kv
            .local_addr()
            .map_or_else(|| kv.config().address(), |a| a.to_string());
        // Bound here, in the supervisor: a port in use fails the start with the reason.
        let listener = TcpListener::bind(&address)
            .and_then(|l| l.local_addr().map(|a| (l, a)))
            .map_err(|e| {
                StartError::Stopped(ExitReason::custom(BindError {
                    address: address.clone(),
                    error: e.to_string(),
                }))
            });
        let (listener, local) = listener?;
        let served = kv.clone();
        let pid = otp::spawn_link(move || accept_loop(&served, &listener)).to_any();
        kv.set_listening(local, pid.clone());
        tracing::info!(%local, %pid, "accepting connections");
        Ok(pid)
    })
}
// ANCHOR_END: child_spec

// ANCHOR: accept_loop
/// The acceptor's body: accepts forever, handing each connection to [`Kv::accept`].
fn accept_loop(kv: &Kv, listener: &TcpListener) {
    loop {
        match listener.accept() {
            // Suspended in `accept` until a client connects.
            Ok((stream, peer)) => {
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(%peer, "cannot set TCP_NODELAY: {e}");
                }
                if let Err(e) = kv.accept(stream) {
                    // Dropping the stream closes it: the client sees the connection end.
                    tracing::warn!(%peer, "cannot start a connection: {e}");
                }
            }
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                if out_of_resources(&e) {
                    otp::sleep(RESOURCE_BACKOFF);
                }
            }
        }
    }
}
// ANCHOR_END: accept_loop

/// Whether a failed `accept` will fail again at once until something is freed: `EMFILE`,
/// `ENFILE`, `ENOBUFS`, `ENOMEM` (Linux's numbers: otp's reactor is epoll).
fn out_of_resources(e: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    const ENOBUFS: i32 = 105;
    const ENOMEM: i32 = 12;
    matches!(e.raw_os_error(), Some(EMFILE | ENFILE | ENOBUFS | ENOMEM))
        || e.kind() == io::ErrorKind::OutOfMemory
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_errors_are_told_apart() {
        assert!(out_of_resources(&io::Error::from_raw_os_error(24)));
        assert!(out_of_resources(&io::Error::from_raw_os_error(23)));
        assert!(!out_of_resources(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
    }

    #[test]
    fn a_bind_error_says_where() {
        let e = BindError {
            address: "127.0.0.1:6380".to_owned(),
            error: "Address already in use (os error 98)".to_owned(),
        };
        // The exit reason that fails the start reads as the message.
        assert_eq!(ExitReason::custom(e.clone()).to_string(), e.to_string());
        assert_eq!(
            e.to_string(),
            "cannot listen on 127.0.0.1:6380: Address already in use (os error 98)"
        );
    }
}
