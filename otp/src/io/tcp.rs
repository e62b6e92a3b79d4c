//! TCP: [`TcpListener`] and [`TcpStream`], std's API with operations that suspend the calling
//! process instead of its scheduler thread.
//!
//! Each type wraps a non-blocking mio socket in a [`Source`]: every operation tries its syscall
//! first and waits for the reactor only on `WouldBlock` (see `registration`). Timeouts are per
//! handle and per call, as std's `SO_RCVTIMEO`: `set_read_timeout(Some(d))` bounds each `read`
//! (so `read_exact` may take longer in total), and an expired one returns
//! [`io::ErrorKind::TimedOut`]. A stream keeps them in a [`Timeouts`], shared with
//! [`UdpSocket`](crate::io::UdpSocket): the methods here only name the direction.

use std::{
    fmt,
    io::{self, Read, Write},
    net::{Shutdown, SocketAddr, ToSocketAddrs},
    os::fd::{AsRawFd, RawFd},
    panic::Location,
    time::Duration,
};

use crate::{
    io::{
        each_addr,
        registration::{nonzero_timeout, not_in_process, Direction, Source, Timeouts},
    },
    runtime::context,
};

/// A TCP socket listening for connections (`:gen_tcp.listen`).
///
/// [`accept`](TcpListener::accept) suspends the calling process until a connection comes (or,
/// with [`accept_timeout`](TcpListener::accept_timeout), until the time is up). Several
/// processes may accept on one listener (share it in an `Arc`, or [`try_clone`]
/// it): each connection goes to one of them. Dropping the listener closes it.
///
/// [`try_clone`]: TcpListener::try_clone
///
/// ```
/// use std::io::{Read, Write};
/// use otp::io::{TcpListener, TcpStream};
///
/// otp::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     otp::spawn(move || {
///         let (mut conn, _peer) = listener.accept().unwrap();
///         let mut buf = [0; 5];
///         conn.read_exact(&mut buf).unwrap();
///         conn.write_all(&buf).unwrap();
///     });
///     let mut client = TcpStream::connect(addr).unwrap();
///     client.write_all(b"hello").unwrap();
///     let mut echo = [0; 5];
///     client.read_exact(&mut echo).unwrap();
///     assert_eq!(&echo, b"hello");
/// });
/// ```
pub struct TcpListener {
    source: Source<mio::net::TcpListener>,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl TcpListener {
    /// Binds to `addr` (with `SO_REUSEADDR`, as mio does) and listens. Port 0 picks a free
    /// port; [`local_addr`](TcpListener::local_addr) tells which. Binding never waits, so it
    /// also works outside a process. A host name is resolved on the calling thread.
    ///
    /// ```
    /// otp::run(|| {
    ///     let listener = otp::io::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, mio::net::TcpListener::bind).map(|l| TcpListener {
            source: Source::new(l),
        })
    }

    /// Takes over a std listener (made non-blocking here).
    ///
    /// ```
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let listener = otp::io::TcpListener::from_std(std_listener).unwrap();
    /// assert!(listener.local_addr().is_ok());
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            source: Source::new(mio::net::TcpListener::from_std(listener)),
        })
    }

    /// Waits for a connection: the stream and the peer's address. Suspends the calling process
    /// (not its scheduler) while none is pending; an exit signal still ends the process.
    ///
    /// # Errors
    ///
    /// What `accept(2)` returns; [`io::ErrorKind::Unsupported`] outside a process.
    ///
    /// ```
    /// use otp::io::{TcpListener, TcpStream};
    ///
    /// otp::run(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     otp::spawn(move || drop(TcpStream::connect(addr).unwrap()));
    ///     let (_stream, peer) = listener.accept().unwrap();
    ///     assert!(peer.ip().is_loopback());
    /// });
    /// ```
    #[track_caller]
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_at(None, Location::caller())
    }

    /// [`accept`](TcpListener::accept), giving up after `timeout` with
    /// [`io::ErrorKind::TimedOut`].
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// otp::run(|| {
    ///     let listener = otp::io::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let e = listener.accept_timeout(Duration::from_millis(10)).unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// });
    /// ```
    #[track_caller]
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_at(Some(timeout), Location::caller())
    }

    fn accept_at(
        &self,
        timeout: Option<Duration>,
        at: &'static Location<'static>,
    ) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.source.run(
            Direction::Read,
            timeout,
            "TcpListener::accept",
            at,
            mio::net::TcpListener::accept,
        )?;
        Ok((TcpStream::from_mio(stream), peer))
    }

    /// An endless iterator over accepted connections, as std's (`for s in l.incoming()`).
    ///
    /// ```
    /// use otp::io::{TcpListener, TcpStream};
    ///
    /// otp::run(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     otp::spawn(move || drop(TcpStream::connect(addr).unwrap()));
    ///     let first = listener.incoming().next().unwrap();
    ///     assert!(first.is_ok());
    /// });
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address the listener is bound to.
    ///
    /// ```
    /// let l = otp::io::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// Another handle on the same listening socket (a duplicated descriptor), for a second
    /// acceptor process.
    ///
    /// ```
    /// let l = otp::io::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let l2 = l.try_clone().unwrap();
    /// assert_eq!(l.local_addr().unwrap(), l2.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            source: self.source.try_clone()?,
        })
    }

    /// The pending error on the socket (`SO_ERROR`), clearing it.
    ///
    /// ```
    /// let l = otp::io::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.source.get_ref().take_error()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.source.get_ref().as_raw_fd()
    }
}

/// The iterator of [`TcpListener::incoming`]. Never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    #[track_caller]
    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(
            self.listener
                .accept_at(None, Location::caller())
                .map(|(s, _)| s),
        )
    }
}

/// A TCP connection (`:gen_tcp` in passive mode). Implements [`Read`] and [`Write`] (also for
/// `&TcpStream`), so `BufReader` and `BufWriter` work on it; each read and write suspends the
/// calling process until the socket is ready.
///
/// Dropping the stream closes the connection: the peer reads end of file. So does killing the
/// process that owns it, even while it is blocked in a read: the exit unwinds its stack, which
/// drops the stream.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use otp::io::{TcpListener, TcpStream};
///
/// otp::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     otp::spawn(move || {
///         let (conn, _) = listener.accept().unwrap();
///         let mut lines = BufReader::new(&conn);
///         let mut line = String::new();
///         while lines.read_line(&mut line).unwrap() > 0 {
///             (&conn).write_all(line.to_uppercase().as_bytes()).unwrap();
///             line.clear();
///         }
///     });
///     let client = TcpStream::connect(addr).unwrap();
///     (&client).write_all(b"ping\n").unwrap();
///     let mut reply = String::new();
///     BufReader::new(&client).read_line(&mut reply).unwrap();
///     assert_eq!(reply, "PING\n");
/// });
/// ```
pub struct TcpStream {
    source: Source<mio::net::TcpStream>,
    timeouts: Timeouts,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("addr", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl TcpStream {
    fn from_mio(stream: mio::net::TcpStream) -> TcpStream {
        TcpStream {
            source: Source::new(stream),
            timeouts: Timeouts::default(),
        }
    }

    /// Connects to `addr` (each resolved address in turn, as std), suspending the calling
    /// process until the connection is up or refused. A host name is resolved on the calling
    /// thread (`getaddrinfo` blocks it): in a hot path, resolve with
    /// [`blocking::run`](crate::blocking::run) and pass a `SocketAddr`.
    ///
    /// # Errors
    ///
    /// The connection's error (`ConnectionRefused`, ...); [`io::ErrorKind::Unsupported`]
    /// outside a process.
    ///
    /// ```
    /// use otp::io::{TcpListener, TcpStream};
    ///
    /// otp::run(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// });
    /// ```
    #[track_caller]
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let at = Location::caller();
        each_addr(addr, |a| TcpStream::connect_at(a, None, at))
    }

    /// [`connect`](TcpStream::connect) to one address, giving up after `timeout` with
    /// [`io::ErrorKind::TimedOut`] (std's signature).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// otp::run(|| {
    ///     let listener = otp::io::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let addr = listener.local_addr().unwrap();
    ///     let s = otp::io::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    ///     assert_eq!(s.peer_addr().unwrap(), addr);
    /// });
    /// ```
    #[track_caller]
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let timeout = nonzero_timeout(timeout)?;
        TcpStream::connect_at(*addr, Some(timeout), Location::caller())
    }

    fn connect_at(
        addr: SocketAddr,
        timeout: Option<Duration>,
        at: &'static Location<'static>,
    ) -> io::Result<TcpStream> {
        if context::current_process().is_none() {
            return Err(not_in_process("TcpStream::connect"));
        }
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?);
        // A non-blocking connect completes when the socket turns writable: then `SO_ERROR`
        // says how it went, and a peer address means it is up (mio's recipe).
        stream
            .source
            .run(Direction::Write, timeout, "TcpStream::connect", at, |s| {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })?;
        Ok(stream)
    }

    /// Takes over a connected std stream (made non-blocking here).
    ///
    /// ```
    /// let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let s = otp::io::TcpStream::from_std(s).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream::from_mio(mio::net::TcpStream::from_std(stream)))
    }

    /// The remote address.
    ///
    /// ```
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// Shuts down the read half, the write half (the peer reads end of file) or both. Never
    /// waits.
    ///
    /// ```
    /// use std::net::Shutdown;
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// s.shutdown(Shutdown::Write).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.source.get_ref().shutdown(how)
    }

    /// Turns Nagle's algorithm off (`TCP_NODELAY`) or on.
    ///
    /// ```
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// s.set_nodelay(true).unwrap();
    /// assert!(s.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.source.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// assert!(!s.nodelay().unwrap());
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.source.get_ref().nodelay()
    }

    /// Bounds every later read on this handle: a read that waits longer returns
    /// [`io::ErrorKind::TimedOut`]. `None` waits forever; a zero duration is an
    /// `InvalidInput` error (as in std).
    ///
    /// ```
    /// use std::{io::Read, time::Duration};
    /// use otp::io::{TcpListener, TcpStream};
    ///
    /// otp::run(|| {
    ///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let mut s = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    ///     s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    ///     let e = s.read(&mut [0; 8]).unwrap_err(); // nobody writes
    ///     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// });
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(Direction::Read, timeout)
    }

    /// The read timeout, if set.
    ///
    /// ```
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// assert_eq!(s.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(Direction::Read))
    }

    /// Bounds every later write on this handle, as
    /// [`set_read_timeout`](TcpStream::set_read_timeout) does reads.
    ///
    /// ```
    /// use std::time::Duration;
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(Direction::Write, timeout)
    }

    /// The write timeout, if set.
    ///
    /// ```
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(Direction::Write))
    }

    /// The pending error on the socket (`SO_ERROR`), clearing it.
    ///
    /// ```
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// assert!(s.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.source.get_ref().take_error()
    }

    /// Another handle on the same connection (a duplicated descriptor), for example so one
    /// process reads while another writes. Its timeouts start as copies of this handle's.
    ///
    /// ```
    /// # let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let s = otp::io::TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap()).unwrap();
    /// let writer = s.try_clone().unwrap();
    /// assert_eq!(writer.peer_addr().unwrap(), s.peer_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            source: self.source.try_clone()?,
            timeouts: self.timeouts.clone(),
        })
    }

    fn read_at(&self, buf: &mut [u8], at: &'static Location<'static>) -> io::Result<usize> {
        self.source.run(
            Direction::Read,
            self.timeouts.get(Direction::Read),
            "TcpStream::read",
            at,
            |mut s| s.read(buf),
        )
    }

    fn write_at(&self, buf: &[u8], at: &'static Location<'static>) -> io::Result<usize> {
        self.source.run(
            Direction::Write,
            self.timeouts.get(Direction::Write),
            "TcpStream::write",
            at,
            |mut s| s.write(buf),
        )
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.source.get_ref().as_raw_fd()
    }
}

impl Read for &TcpStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_at(buf, Location::caller())
    }
}

impl Read for TcpStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_at(buf, Location::caller())
    }
}

impl Write for &TcpStream {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_at(buf, Location::caller())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for TcpStream {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_at(buf, Location::caller())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
