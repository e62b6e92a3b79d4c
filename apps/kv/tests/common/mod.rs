//! What the integration tests share: a runtime with the real supervision tree, a RESP client
//! over an in-memory connection, temporary directories, and (in [`tcp`]) a server on a real
//! TCP port with a client over `std::net`.

#![allow(dead_code, reason = "each test file uses a part of the helpers")]

pub mod tcp;

use std::{
    io::{Read, Write},
    path::PathBuf,
    sync::atomic::{AtomicUsize, Ordering},
};

use kv::{
    app::Kv,
    config::Config,
    memory::Duplex,
    resp::{self, Reply},
};
use otp::{process, AnyPid, Mailbox, Message};

/// Settings for a test server: in memory, `shards` shards, no TCP acceptor, DEBUG allowed.
pub fn config(shards: usize) -> Config {
    Config {
        shards,
        schedulers: 2,
        listen: false,
        debug_command: true,
        ..Config::default()
    }
}

// ANCHOR: with_kv
/// Runs `body` in the root process of a fresh two-scheduler runtime, with the application
/// tree for `config` started (linked to the root) and its handle. Panics in `body` fail the
/// test with their message.
pub fn with_kv<M, F>(config: Config, body: F)
where
    M: Send + 'static,
    F: FnOnce(&mut Mailbox<M>, Kv) + Send + 'static,
{
    let runtime = otp::Builder::new()
        .schedulers(2)
        .build()
        .expect("a runtime");
    let outcome = runtime.block_on(move |mut mb: Mailbox<M>| {
        // The tree is linked to us; stopping it must not stop us.
        process::trap_exit(true);
        let kv = Kv::new(config);
        let tree = kv.start_link().expect("the tree starts");
        body(&mut mb, kv);
        tree.stop(otp::ExitReason::Shutdown, otp::Timeout::Infinity)
            .expect("the tree stops");
    });
    if let Err(reason) = outcome {
        panic!("the test's root process exited: {reason}");
    }
}
// ANCHOR_END: with_kv

/// Starts the tree for `config` in the calling process and returns it with its handle (for
/// tests that restart the server).
pub fn start(config: Config) -> (Kv, otp::supervisor::Supervisor) {
    let kv = Kv::new(config);
    let tree = kv.start_link().expect("the tree starts");
    (kv, tree)
}

/// A RESP client over an in-memory connection.
pub struct Client {
    conn: Duplex,
    buffer: Vec<u8>,
}

impl Client {
    /// Connects to `kv`.
    pub fn connect(kv: &Kv) -> Client {
        Client {
            conn: kv.connect_memory().expect("a connection"),
            buffer: Vec::new(),
        }
    }

    /// The pipe processes of the connection.
    pub fn pipe_pids(&self) -> Vec<AnyPid> {
        self.conn.pipe_pids()
    }

    /// Sends one command as an array of bulk strings.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let mut out = Vec::new();
        resp::encode_command(&mut out, args);
        self.send_raw(&out);
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.conn.write_all(bytes).expect("the server reads");
    }

    /// The next reply; panics if the connection closes first.
    pub fn reply(&mut self) -> Reply {
        self.try_reply()
            .expect("a reply before the end of the connection")
    }

    /// The next reply, or `None` if the server closed the connection (after any complete
    /// replies).
    pub fn try_reply(&mut self) -> Option<Reply> {
        loop {
            if let Some((reply, used)) = Reply::decode(&self.buffer).expect("well-formed replies") {
                self.buffer.drain(..used);
                return Some(reply);
            }
            let mut chunk = [0u8; 4096];
            let n = self.conn.read(&mut chunk).expect("reading works");
            if n == 0 {
                assert!(
                    self.buffer.is_empty(),
                    "a truncated reply: {:?}",
                    self.buffer
                );
                return None;
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command and returns its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        self.send(args);
        self.reply()
    }

    /// Sends a command given as words separated by blanks, and returns its reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        let words: Vec<&str> = line.split(' ').collect();
        self.call(&words)
    }

    /// Asserts that the server has closed the connection.
    pub fn expect_closed(&mut self) {
        assert_eq!(self.try_reply(), None, "the server should have closed");
    }

    /// Everything the server sends until it closes, raw.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        let mut all = std::mem::take(&mut self.buffer);
        self.conn.read_to_end(&mut all).expect("reading works");
        all
    }
}

/// `+OK`.
pub fn ok() -> Reply {
    Reply::OK
}

/// A bulk string reply.
pub fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

/// An integer reply.
pub fn int(n: i64) -> Reply {
    Reply::Integer(n)
}

/// An error reply with this text.
pub fn error(text: &str) -> Reply {
    Reply::error(text)
}

/// An array of bulk strings.
pub fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(Reply::bulk).collect())
}

/// The bulk strings of an array reply, sorted.
pub fn sorted(reply: Reply) -> Vec<String> {
    let Reply::Array(items) = reply else {
        panic!("not an array: {reply:?}")
    };
    let mut out: Vec<String> = items
        .into_iter()
        .map(|i| match i {
            Reply::Bulk(b) => String::from_utf8(b).unwrap(),
            other => panic!("not a bulk string: {other:?}"),
        })
        .collect();
    out.sort();
    out
}

/// The `field:value` lines of an `INFO` reply.
pub fn info_field(reply: &Reply, field: &str) -> String {
    let Reply::Bulk(text) = reply else {
        panic!("INFO answers a bulk string: {reply:?}")
    };
    let text = String::from_utf8_lossy(text);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {text}"))
        .to_owned()
}

/// Every process of every connection: the reader tasks and the sessions linked to them. A
/// reader starts its session after the connection is accepted, so call this once every
/// connection has answered a request.
pub fn connection_processes(kv: &Kv) -> Vec<AnyPid> {
    let tasks_sup = kv.connections().pid().expect("the connections' supervisor");
    let mut pids = Vec::new();
    for task in kv
        .connections()
        .children()
        .expect("the task supervisor answers")
    {
        if let Some(info) = process::info(&task) {
            pids.extend(info.links.into_iter().filter(|p| *p != tasks_sup));
        }
        pids.push(task);
    }
    pids
}

/// Waits until every process in `pids` has exited, on their monitors' `DOWN`s (other
/// messages stay in the mailbox).
pub fn await_exits<M: Send + 'static>(mb: &mut Mailbox<M>, pids: &[AnyPid]) {
    let refs: Vec<otp::Ref> = pids.iter().map(process::monitor).collect();
    for r in &refs {
        let down = mb.select(
            otp::Timeout::Infinity,
            |m| matches!(m, otp::MessageRef::Down { reference, .. } if reference == *r),
        );
        assert!(matches!(down, Some(Message::Down { .. })));
    }
}

/// Kills shard `i`'s process as a crash would, and returns once its supervisor has restarted
/// it: after the `DOWN`, the supervisor's `EXIT` is already in its mailbox (a dying process
/// signals its links before its monitors), so a call to the supervisor queues behind it.
pub fn kill_shard<M: Send + 'static>(mb: &mut Mailbox<M>, kv: &Kv, i: usize) -> AnyPid {
    let old = kv.shard(i).pid().expect("the shard runs");
    let watch = process::monitor(&old);
    process::exit(&old, otp::ExitReason::Kill);
    let down = mb.select(
        otp::Timeout::Infinity,
        |m| matches!(m, otp::MessageRef::Down { reference, .. } if reference == watch),
    );
    let Some(Message::Down { reason, .. }) = down else {
        unreachable!("an infinite select returns what it accepted")
    };
    assert_eq!(reason, otp::ExitReason::Killed);
    kv.shards_supervisor()
        .count_children()
        .expect("the shards' supervisor answers");
    let new = kv.shard(i).pid().expect("restarted");
    assert_ne!(new, old);
    old
}

/// A fresh directory under the system's temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory whose name contains `name`.
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kv-test-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
