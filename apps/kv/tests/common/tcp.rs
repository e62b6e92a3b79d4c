//! Real TCP: a kv server listening on a free port (its own runtime, on a background thread),
//! and a RESP client over `std::net::TcpStream` for the test's own threads.
//!
//! The client is written here, from the protocol, and shares no code with the server's
//! `resp` module: a bug in the server's encoder cannot hide behind the same bug in the
//! client's decoder. It runs on plain threads (never in a process: its reads block the
//! thread), as a real client would.
//!
//! The server's root process takes [`Job`]s: closures that run inside the runtime with its
//! mailbox, the application's handle and its tree, for what a client cannot see (pids,
//! monitors, `otp::process::list`).

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream},
    sync::mpsc,
    thread::JoinHandle,
    time::Duration,
};

use kv::{app::Kv, config::Config};
use otp::{process, supervisor::Supervisor, Mailbox, Pid};

/// How long a client read waits before the test fails (a hung server fails the test instead of
/// hanging it).
pub const READ_GUARD: Duration = Duration::from_secs(60);

/// What runs in the server's root process.
pub type Job = Box<dyn FnOnce(&mut Mailbox<Control>, &Ctx) + Send>;

/// A message to the server's root process.
pub enum Control {
    /// Run this.
    Run(Job),
    /// Stop the tree and return.
    Stop,
}

/// What a [`Job`] gets besides the mailbox.
pub struct Ctx {
    /// The application's handle.
    pub kv: Kv,
    /// The top supervisor.
    pub tree: Supervisor,
}

/// A kv server on `127.0.0.1`, on a port the kernel picked.
pub struct TcpServer {
    /// Where it listens.
    pub addr: SocketAddr,
    root: Pid<Control>,
    thread: Option<JoinHandle<()>>,
}

impl TcpServer {
    /// Starts a runtime of two schedulers on a thread of its own and the application in it,
    /// listening on `127.0.0.1:0`; returns once it is bound.
    pub fn start(mut config: Config) -> TcpServer {
        config.listen = true;
        config.bind = "127.0.0.1".to_owned();
        config.port = 0;
        let (started, start) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = otp::Builder::new()
                .schedulers(2)
                .build()
                .expect("a runtime");
            let outcome = runtime.block_on(move |mut mb: Mailbox<Control>| {
                // The tree is linked to us; stopping it must not stop us.
                process::trap_exit(true);
                let kv = Kv::new(config);
                let tree = kv.start_link().expect("the tree starts");
                let addr = kv.local_addr().expect("the acceptor is bound");
                started.send((addr, mb.pid())).expect("the test waits");
                let ctx = Ctx { kv, tree };
                while let Control::Run(job) = mb.receive() {
                    job(&mut mb, &ctx);
                }
                ctx.tree
                    .stop(otp::ExitReason::Shutdown, otp::Timeout::Infinity)
                    .expect("the tree stops");
            });
            if let Err(reason) = outcome {
                panic!("the server's root process exited: {reason}");
            }
        });
        let (addr, root) = start.recv().expect("the server starts");
        TcpServer {
            addr,
            root,
            thread: Some(thread),
        }
    }

    /// Runs `f` in the server's root process and returns its value.
    pub fn run<R, F>(&self, f: F) -> R
    where
        R: Send + 'static,
        F: FnOnce(&mut Mailbox<Control>, &Ctx) -> R + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.root.send(Control::Run(Box::new(move |mb, ctx| {
            let _ = tx.send(f(mb, ctx));
        })));
        rx.recv()
            .expect("the server's root process ran the job (if not, it crashed: see above)")
    }

    /// A new client.
    pub fn client(&self) -> RespClient {
        RespClient::connect(self.addr)
    }

    /// Stops the tree and the runtime.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.root.send(Control::Stop);
            let joined = thread.join();
            if joined.is_err() && !std::thread::panicking() {
                panic!("the server's thread panicked");
            }
        }
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A RESP2 value as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+text`
    Simple(String),
    /// `-text`
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n` and its bytes.
    Bulk(Vec<u8>),
    /// `$-1` (or `*-1`).
    Null,
    /// `*n` and its elements.
    Array(Vec<Value>),
}

impl Value {
    /// A bulk string of `s`.
    pub fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    /// `+OK`.
    pub fn ok() -> Value {
        Value::Simple("OK".to_owned())
    }

    /// An array of bulk strings.
    pub fn bulks(items: &[&str]) -> Value {
        Value::Array(items.iter().map(|s| Value::bulk(s)).collect())
    }
}

/// Reads one value from the front of `buf`: the value and the bytes it took, or `None` if
/// `buf` holds only part of one.
///
/// # Panics
///
/// On bytes that are not RESP2.
pub fn decode(buf: &[u8]) -> Option<(Value, usize)> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[1..line_end]).expect("a header line is text");
    let after = line_end + 2;
    let number = || -> i64 {
        line.parse()
            .unwrap_or_else(|_| panic!("not a number: {line:?}"))
    };
    match buf[0] {
        b'+' => Some((Value::Simple(line.to_owned()), after)),
        b'-' => Some((Value::Error(line.to_owned()), after)),
        b':' => Some((Value::Int(number()), after)),
        b'$' => {
            let n = number();
            if n < 0 {
                return Some((Value::Null, after));
            }
            let n = usize::try_from(n).expect("a length");
            if buf.len() < after + n + 2 {
                return None;
            }
            assert_eq!(
                &buf[after + n..after + n + 2],
                b"\r\n",
                "a bulk string's end"
            );
            Some((Value::Bulk(buf[after..after + n].to_vec()), after + n + 2))
        }
        b'*' => {
            let n = number();
            if n < 0 {
                return Some((Value::Null, after));
            }
            let mut items = Vec::new();
            let mut used = after;
            for _ in 0..n {
                let (item, took) = decode(&buf[used..])?;
                items.push(item);
                used += took;
            }
            Some((Value::Array(items), used))
        }
        other => panic!("not a RESP2 type byte: {:?}", char::from(other)),
    }
}

/// Encodes a command as clients send one: an array of bulk strings.
pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A RESP client over a blocking `std::net::TcpStream`.
pub struct RespClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RespClient {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> RespClient {
        let stream = TcpStream::connect(addr).expect("the server accepts");
        stream.set_read_timeout(Some(READ_GUARD)).unwrap();
        stream.set_nodelay(true).unwrap();
        RespClient {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends one command.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        self.send_raw(&encode(args));
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("the server reads");
    }

    /// The next value, or `None` if the server closed the connection first (after any whole
    /// values).
    pub fn try_reply(&mut self) -> Option<Value> {
        loop {
            if let Some((value, used)) = decode(&self.buf) {
                self.buf.drain(..used);
                return Some(value);
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = match self.stream.read(&mut chunk) {
                Ok(n) => n,
                // A reset after the server closed with unread input is a close too.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
                Err(e) => panic!("reading a reply: {e}"),
            };
            if n == 0 {
                assert!(self.buf.is_empty(), "a truncated reply: {:?}", self.buf);
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next value; panics if the connection closes first.
    pub fn reply(&mut self) -> Value {
        self.try_reply()
            .expect("a reply before the connection closed")
    }

    /// Sends a command and returns its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Value {
        self.send(args);
        self.reply()
    }

    /// A command given as words separated by blanks, and its reply.
    pub fn cmd(&mut self, line: &str) -> Value {
        let words: Vec<&str> = line.split(' ').collect();
        self.call(&words)
    }

    /// Asserts that the server closes the connection (after nothing more).
    pub fn expect_closed(&mut self) {
        assert_eq!(self.try_reply(), None, "the server should have closed");
    }

    /// One `field:value` of an `INFO` section.
    pub fn info(&mut self, section: &str, field: &str) -> String {
        let Value::Bulk(text) = self.call(&["INFO", section]) else {
            panic!("INFO answers a bulk string")
        };
        let text = String::from_utf8(text).expect("INFO is text");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {text}"))
            .to_owned()
    }

    /// The socket, to shut it down or drop it mid-request.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}
