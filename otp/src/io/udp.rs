//! UDP: [`UdpSocket`], std's API with sends and receives that suspend the calling process.
//!
//! The socket is a non-blocking mio socket in a [`Source`], as TCP's are: each send and receive
//! tries its syscall and waits for the reactor only on `WouldBlock` (see `registration`). Its
//! read and write timeouts are a [`Timeouts`], the same as a `TcpStream`'s: each bounds one
//! call, and an expired one returns [`io::ErrorKind::TimedOut`].

use std::{
    fmt, io,
    net::{SocketAddr, ToSocketAddrs},
    os::fd::{AsRawFd, RawFd},
    panic::Location,
    time::Duration,
};

use crate::io::{
    each_addr,
    registration::{Direction, Source, Timeouts},
};

/// A UDP socket (`:gen_udp` in passive mode). [`recv_from`](UdpSocket::recv_from) and
/// [`send_to`](UdpSocket::send_to) suspend the calling process until the socket is ready;
/// per-handle timeouts bound each call. Dropping it closes the socket.
///
/// ```
/// use otp::io::UdpSocket;
///
/// otp::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).unwrap();
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from, a.local_addr().unwrap());
/// });
/// ```
pub struct UdpSocket {
    source: Source<mio::net::UdpSocket>,
    timeouts: Timeouts,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

fn first_addr<A: ToSocketAddrs>(addr: A) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no addresses to send data to"))
}

impl UdpSocket {
    fn from_mio(socket: mio::net::UdpSocket) -> UdpSocket {
        UdpSocket {
            source: Source::new(socket),
            timeouts: Timeouts::default(),
        }
    }

    /// Binds to `addr` (each resolved address in turn). Never waits.
    ///
    /// ```
    /// let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(s.local_addr().unwrap().port(), 0);
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, mio::net::UdpSocket::bind).map(UdpSocket::from_mio)
    }

    /// Takes over a std socket (made non-blocking here).
    ///
    /// ```
    /// let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let s = otp::io::UdpSocket::from_std(s).unwrap();
    /// assert!(s.local_addr().is_ok());
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket::from_mio(mio::net::UdpSocket::from_std(socket)))
    }

    /// Sends one datagram to `target` (its first resolved address); the number of bytes sent.
    ///
    /// # Errors
    ///
    /// What `sendto(2)` returns; `TimedOut` past the write timeout;
    /// [`io::ErrorKind::Unsupported`] outside a process.
    ///
    /// ```
    /// otp::run(|| {
    ///     let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     assert_eq!(s.send_to(b"hi", s.local_addr().unwrap()).unwrap(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = first_addr(target)?;
        self.source.run(
            Direction::Write,
            self.timeouts.get(Direction::Write),
            "UdpSocket::send_to",
            Location::caller(),
            |s| s.send_to(buf, target),
        )
    }

    /// Waits for one datagram: its length (truncated to `buf`) and sender.
    ///
    /// ```
    /// otp::run(|| {
    ///     let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.send_to(b"self", s.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0; 8];
    ///     let (n, from) = s.recv_from(&mut buf).unwrap();
    ///     assert_eq!((&buf[..n], from), (&b"self"[..], s.local_addr().unwrap()));
    /// });
    /// ```
    #[track_caller]
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.source.run(
            Direction::Read,
            self.timeouts.get(Direction::Read),
            "UdpSocket::recv_from",
            Location::caller(),
            |s| s.recv_from(buf),
        )
    }

    /// Sets the default peer for [`send`](UdpSocket::send) and [`recv`](UdpSocket::recv) and
    /// filters datagrams from anyone else. Never waits.
    ///
    /// ```
    /// otp::run(|| {
    ///     let a = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.connect(b.local_addr().unwrap()).unwrap();
    ///     b.connect(a.local_addr().unwrap()).unwrap();
    ///     a.send(b"x").unwrap();
    ///     let mut buf = [0; 1];
    ///     assert_eq!(b.recv(&mut buf).unwrap(), 1);
    /// });
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        self.source.get_ref().connect(first_addr(addr)?)
    }

    /// Sends to the connected peer.
    ///
    /// ```
    /// otp::run(|| {
    ///     let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.connect(s.local_addr().unwrap()).unwrap();
    ///     assert_eq!(s.send(b"abc").unwrap(), 3);
    /// });
    /// ```
    #[track_caller]
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.source.run(
            Direction::Write,
            self.timeouts.get(Direction::Write),
            "UdpSocket::send",
            Location::caller(),
            |s| s.send(buf),
        )
    }

    /// Receives from the connected peer.
    ///
    /// ```
    /// otp::run(|| {
    ///     let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.connect(s.local_addr().unwrap()).unwrap();
    ///     s.send(b"abc").unwrap();
    ///     let mut buf = [0; 8];
    ///     assert_eq!(s.recv(&mut buf).unwrap(), 3);
    /// });
    /// ```
    #[track_caller]
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.source.run(
            Direction::Read,
            self.timeouts.get(Direction::Read),
            "UdpSocket::recv",
            Location::caller(),
            |s| s.recv(buf),
        )
    }

    /// The local address.
    ///
    /// ```
    /// let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().local_addr()
    }

    /// The connected peer's address (`NotConnected` if none).
    ///
    /// ```
    /// let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.peer_addr().is_err());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.source.get_ref().peer_addr()
    }

    /// Bounds every later receive on this handle ([`io::ErrorKind::TimedOut`] past it).
    /// `None` waits forever; zero is an `InvalidInput` error.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// otp::run(|| {
    ///     let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    ///     let e = s.recv_from(&mut [0; 8]).unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// });
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(Direction::Read, timeout)
    }

    /// The receive timeout, if set.
    ///
    /// ```
    /// let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(s.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(Direction::Read))
    }

    /// Bounds every later send on this handle.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeouts.set(Direction::Write, timeout)
    }

    /// The send timeout, if set.
    ///
    /// ```
    /// let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(s.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.timeouts.get(Direction::Write))
    }

    /// Another handle on the same socket (a duplicated descriptor).
    ///
    /// ```
    /// let s = otp::io::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let t = s.try_clone().unwrap();
    /// assert_eq!(s.local_addr().unwrap(), t.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            source: self.source.try_clone()?,
            timeouts: self.timeouts.clone(),
        })
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.source.get_ref().as_raw_fd()
    }
}
