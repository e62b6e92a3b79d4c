//! One client connection: a reader process, and a session that moves into a process of its
//! own once the client subscribes; independent of the socket type.
//!
//! A connection starts as **one process**, the Task.Supervisor's child, whose body is
//! [`serve`]. It reads from the [`Transport`]'s read half (the read suspends the process), runs
//! every complete request in what it read through its [`Session`] (parse, check, route to the
//! shards with GenServer calls), and writes all the replies of the batch with one write. One
//! read, one write and one call per shard involved: nothing else per request.
//!
//! Its first `SUBSCRIBE` changes that. A subscribed connection must write messages published
//! elsewhere while its reader is blocked in `read`, and a process blocked in a socket read
//! cannot also wait on its mailbox. So the reader stops before running the `SUBSCRIBE`, starts
//! the session as a GenServer of its own (linked), with everything it holds (the write half,
//! the parse buffer with the `SUBSCRIBE` and whatever followed it), and from then on is only a
//! reader:
//!
//! ```text
//!   Task.Supervisor ──(child)── reader task ══(link)══ session (GenServer)
//!                                   │  read() suspends      │ owns the write half
//!                                   │                       │ parses, runs commands,
//!           client bytes ───────────┘  call(Input)  ──────▶ │ writes replies
//!                                                            │
//!                     PUBLISH elsewhere ── Delivery ───────▶ │ (handle_info)
//! ```
//!
//! * The reader hands each chunk to the session with a *call* and waits for it to have been
//!   processed. That wait is the backpressure: a client that pipelines faster than the server
//!   answers fills its socket buffer, not the session's mailbox.
//! * Published messages ([`Delivery`]) reach the session as plain messages between two calls.
//!   Between batches it holds no stack.
//!
//! Why not two processes from the start (as this module first did): the call from reader to
//! session cost every request two more context switches and a message, about a fifth of the
//! server's throughput without pipelining (`apps/kv/README.md`, benchmark), for the benefit
//! of the few connections that subscribe. With an "active" socket mode (the socket delivering
//! its data as messages, as `gen_tcp` does), one process would always do.
//!
//! The session processes everything that arrived: every complete request, in order, replies
//! appended to one output buffer, written with one `write_all` per chunk read (so a pipelined
//! batch costs one write). After a protocol error it sends the error and closes the
//! connection, as redis does; after `QUIT` it sends `+OK` and closes.
//!
//! Ending: the client closes (end of file: the reader returns, and tells a session process,
//! which stops normally); `QUIT` or a protocol error (after the reply is written; a session
//! process answers the reader's call with [`Flow::Close`]); a write fails; or a crash (a
//! session process and its reader are linked: either takes the other down; a write that
//! fails in a session process's `handle_info` stops it with `shutdown`, which takes the
//! blocked reader down too). In every case both halves of the transport are dropped, and the
//! registry drops the session's subscriptions when its process exits. Nothing leaks.
//!
//! # Plugging in a socket
//!
//! Anything that implements [`Transport`] can be served: split into a read half and a write
//! half usable from two processes. [`otp::io::TcpStream`] does (the acceptor serves those),
//! split with [`try_clone`](otp::io::TcpStream::try_clone) into two handles on one socket;
//! its reads and writes suspend the calling process, not its scheduler thread. The in-memory
//! [`Duplex`](crate::memory::Duplex) does too, for tests.

use std::{
    fmt,
    io::{self, Read, Write},
    sync::Arc,
};

use otp::{
    gen_server::{self, CallResult, CastResult, From, GenServer, Info, Server},
    ExitReason, Timeout,
};

use crate::{
    app::Kv,
    clock::{self, Millis},
    command::{self, Command, CommandQuery, DebugQuery, Spec, COMMANDS},
    db, debug, info,
    pubsub::{self, Published, Subscriptions},
    resp::{self, Args, Parser, Reply},
};

/// How much the reader asks for per read.
pub const READ_CHUNK: usize = 16 * 1024;

/// The most unparsed input a connection may hold (redis's `client-query-buffer-limit`, 1 GiB);
/// beyond it the connection is closed.
pub const QUERY_BUFFER_LIMIT: usize = 1 << 30;

// ANCHOR: transport
/// A byte stream a connection can run over: something that splits into a read half and a
/// write half that two processes can use at once. [`otp::io::TcpStream`] implements it, and
/// so does the in-memory [`Duplex`](crate::memory::Duplex).
pub trait Transport: Send + 'static {
    /// The read half.
    type Reader: Read + Send + 'static;
    /// The write half.
    type Writer: Write + Send + 'static;

    /// Splits the stream.
    ///
    /// # Errors
    ///
    /// The stream could not be split (a socket that cannot be duplicated).
    fn split(self) -> io::Result<(Self::Reader, Self::Writer)>;

    /// Who is at the other end, for logs (`127.0.0.1:51234`).
    fn peer(&self) -> String;
}
// ANCHOR_END: transport

// ANCHOR: tcp_transport
/// A TCP connection splits into two handles on the same socket (a duplicated descriptor):
/// the reader task reads from one while the session writes to the other. Each suspends only
/// the process using it. The descriptor is closed when both are dropped.
impl Transport for otp::io::TcpStream {
    type Reader = otp::io::TcpStream;
    type Writer = otp::io::TcpStream;

    fn split(self) -> io::Result<(Self::Reader, Self::Writer)> {
        let writer = self.try_clone()?;
        Ok((self, writer))
    }

    fn peer(&self) -> String {
        self.peer_addr()
            .map_or_else(|_| "unknown".to_owned(), |a| a.to_string())
    }
}
// ANCHOR_END: tcp_transport

// ANCHOR: serve
/// The body of a connection's reader task: serves one client over `transport` until it
/// disconnects or quits. Run it as a child of the application's Task.Supervisor
/// ([`Kv::accept`] does).
///
/// Until the client subscribes, this one process reads, runs the requests and writes the
/// replies. At its first `SUBSCRIBE` it moves the [`Session`] into a GenServer of its own,
/// linked, and from then on hands it what it reads (see the [module docs](self)).
pub fn serve<T: Transport>(kv: Kv, transport: T) {
    let _counted = kv.stats().connected();
    let peer = transport.peer();
    let (mut reader, mut writer) = match transport.split() {
        Ok(halves) => halves,
        Err(e) => {
            tracing::warn!(%peer, "cannot split the connection: {e}");
            return;
        }
    };
    if kv.stats().connected_clients() > kv.config().maxclients {
        // Redis accepts, answers this, and closes.
        kv.stats().rejected();
        let _ = writer.write_all(b"-ERR max number of clients reached\r\n");
        return;
    }
    let mut session = Session::new(kv.clone(), Box::new(writer), peer);
    let mut buf = vec![0u8; READ_CHUNK];
    // In this process, until a SUBSCRIBE needs a mailbox.
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        match session.feed(&buf[..n]) {
            Step::Continue => {}
            Step::Close => return,
            Step::NeedsMailbox => break,
        }
    }
    // A GenServer of its own from here on: it takes published messages between our calls.
    let session = match gen_server::start_link(session.into_server()) {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!("cannot start a session: {e}");
            return;
        }
    };
    let mut input = Input::Resume;
    loop {
        let closed = matches!(input, Input::Closed);
        match session.call_timeout(input, Timeout::Infinity) {
            Ok(Flow::Continue) if !closed => {}
            // Closed, or the session is gone: either way, so is the connection.
            _ => return,
        }
        input = loop {
            break match reader.read(&mut buf) {
                Ok(0) => Input::Closed,
                Ok(n) => Input::Bytes(buf[..n].to_vec()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => Input::Closed,
            };
        };
    }
}
// ANCHOR_END: serve

/// What a batch of input leaves the connection to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Read on.
    Continue,
    /// The connection is over.
    Close,
    /// A request that needs the session to take messages (`SUBSCRIBE`) is waiting, with
    /// everything after it: the session must move to a process of its own first.
    NeedsMailbox,
}

/// What the reader hands a session that runs as its own process.
#[derive(Debug)]
pub enum Input {
    /// Run what the reader left buffered when it handed the session over (the request that
    /// needed a mailbox, and whatever came after it).
    Resume,
    /// Bytes from the client.
    Bytes(Vec<u8>),
    /// The client closed its end (or reading failed).
    Closed,
}

/// What the session tells the reader after an [`Input`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read on.
    Continue,
    /// The connection is over (`QUIT`, a protocol error, a failed write, the client's end of
    /// file); the session has stopped.
    Close,
}

/// A published message for a subscribed session.
#[derive(Debug, Clone)]
pub struct Delivery(pub Arc<Published>);

/// A connection's session: the server side of one client (see the [module docs](self)).
pub struct Session {
    kv: Kv,
    writer: Box<dyn Write + Send>,
    peer: String,
    parser: Parser,
    input: Vec<u8>,
    out: Vec<u8>,
    subscriptions: Subscriptions,
    /// The shards, as this connection reaches them.
    shards: db::Shards,
    closing: bool,
    /// Whether the session runs as a GenServer of its own (it can take published messages).
    served: bool,
    /// The request that waits for the session to be served ([`Step::NeedsMailbox`]).
    handoff: Option<Args>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.peer)
            .field("buffered", &self.input.len())
            .field("subscriptions", &self.subscriptions.len())
            .finish_non_exhaustive()
    }
}

/// Why a command cannot run in subscribed mode, in redis's words.
fn not_in_subscribed_context(spec: &Spec) -> Reply {
    Reply::error(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET \
         are allowed in this context",
        spec.name
    ))
}

impl Session {
    /// A session for a client at `peer`, writing its replies to `writer`.
    pub fn new(kv: Kv, writer: Box<dyn Write + Send>, peer: String) -> Session {
        let limits = kv.config().limits;
        Session {
            shards: db::Shards::new(kv.clone()),
            kv,
            writer,
            peer,
            parser: Parser::new(limits),
            input: Vec::new(),
            out: Vec::new(),
            subscriptions: Subscriptions::default(),
            closing: false,
            served: false,
            handoff: None,
        }
    }

    /// The session, to be started as a GenServer of its own (its pub/sub registrations need
    /// a process that takes messages).
    fn into_server(mut self) -> Session {
        self.served = true;
        self
    }

    /// Runs every complete request in `bytes` (after what was buffered) and writes the
    /// replies, with one write.
    fn feed(&mut self, bytes: &[u8]) -> Step {
        if self.input.is_empty() {
            // The common case, a whole request per read: parse straight from the read buffer.
            let used = self.process(bytes);
            self.input.extend_from_slice(&bytes[used..]);
        } else {
            self.input.extend_from_slice(bytes);
            self.process_buffered();
        }
        self.finish_batch()
    }

    /// Writes the batch's replies; what to do next.
    fn finish_batch(&mut self) -> Step {
        if self.input.len() > QUERY_BUFFER_LIMIT {
            tracing::warn!(peer = %self.peer, "closing a connection over the query buffer limit");
            self.closing = true;
        }
        let wrote = self.flush();
        if self.closing || wrote.is_err() {
            Step::Close
        } else if self.handoff.is_some() {
            Step::NeedsMailbox
        } else {
            Step::Continue
        }
    }

    /// Runs every complete request in the input buffer, and drops them from it.
    fn process_buffered(&mut self) {
        let input = std::mem::take(&mut self.input);
        let used = self.process(&input);
        self.input = input;
        self.input.drain(..used);
    }

    /// Runs every complete request at the front of `input` (stopping early at a protocol
    /// error, `QUIT`, or a request that needs a mailbox); returns how many bytes they took.
    fn process(&mut self, input: &[u8]) -> usize {
        let mut start = 0;
        let mut commands = 0;
        // Single-key requests in flight to one shard, answered in order (see db::Pipeline).
        let mut pipeline = db::Pipeline::default();
        // One clock reading per batch (redis too reads it once per event-loop turn): relative
        // deadlines (`EX 10`) count from it.
        let now = clock::now();
        while !self.closing && self.handoff.is_none() {
            match self.parser.parse(&input[start..]) {
                Ok(Some((args, used))) => {
                    start += used;
                    if !args.is_empty() {
                        commands += 1;
                        self.run(args, now, &mut pipeline);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    pipeline.flush(&mut self.out);
                    e.reply().encode(&mut self.out);
                    self.closing = true;
                }
            }
        }
        pipeline.flush(&mut self.out);
        // A request handed off is counted when it runs.
        commands -= u64::from(self.handoff.is_some());
        self.kv.stats().commands(commands);
        start
    }

    /// Writes the output buffer to the client.
    fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let result = self.writer.write_all(&self.out);
        self.out.clear();
        result
    }

    /// Runs one request at `now`: its reply goes to the output buffer, or joins the pipeline.
    fn run(&mut self, args: Args, now: Millis, pipeline: &mut db::Pipeline) {
        let spec = match command::lookup(&args) {
            Ok(spec) => spec,
            Err(e) => {
                pipeline.flush(&mut self.out);
                return e.reply().encode(&mut self.out);
            }
        };
        if spec.name == "subscribe" && !self.served {
            // Its registrations need a process that takes messages: run it there.
            self.handoff = Some(args);
            return;
        }
        if !self.subscriptions.is_empty() && !spec.allowed_when_subscribed() {
            pipeline.flush(&mut self.out);
            return not_in_subscribed_context(spec).encode(&mut self.out);
        }
        match command::parse(spec, args, now) {
            Ok(command) => self.execute(command, pipeline),
            Err(e) => {
                pipeline.flush(&mut self.out);
                e.reply().encode(&mut self.out);
            }
        }
    }

    /// Runs a command: a single-key one joins the pipeline; anything else first waits for
    /// what is in flight, so replies stay in request order.
    fn execute(&mut self, command: Command, pipeline: &mut db::Pipeline) {
        let command = match db::single(command, self.kv.shard_count()) {
            Ok(single) => return pipeline.push(&mut self.shards, single, &mut self.out),
            Err(command) => command,
        };
        pipeline.flush(&mut self.out);
        let out = &mut self.out;
        match command {
            Command::Ping(message) if !self.subscriptions.is_empty() => {
                // In subscribed mode (RESP2) a PING answers as a message-like array.
                resp::encode_array_header(out, 2);
                resp::encode_bulk(out, b"pong");
                resp::encode_bulk(out, message.as_deref().unwrap_or_default());
            }
            Command::Ping(None) => resp::encode_simple(out, b"PONG"),
            Command::Ping(Some(message)) | Command::Echo(message) => {
                resp::encode_bulk(out, &message)
            }
            Command::Quit => {
                Reply::OK.encode(out);
                self.closing = true;
            }
            Command::Subscribe(channels) => {
                let me = self.me();
                for channel in channels {
                    let count =
                        self.subscriptions
                            .subscribe(self.kv.pubsub(), &me, channel.clone());
                    pubsub::encode_confirmation(&mut self.out, "subscribe", Some(&channel), count);
                }
            }
            Command::Unsubscribe(channels) => {
                let channels = if channels.is_empty() {
                    self.subscriptions.channels()
                } else {
                    channels
                };
                if channels.is_empty() {
                    pubsub::encode_confirmation(out, "unsubscribe", None, 0);
                }
                for channel in channels {
                    let count = self.subscriptions.unsubscribe(self.kv.pubsub(), &channel);
                    pubsub::encode_confirmation(
                        &mut self.out,
                        "unsubscribe",
                        Some(&channel),
                        count,
                    );
                }
            }
            Command::Publish { channel, message } => {
                let n = self.kv.pubsub().publish(&channel, &message);
                resp::encode_integer(out, i64::try_from(n).unwrap_or(i64::MAX));
            }
            Command::Select => Reply::OK.encode(out),
            Command::Hello => hello().encode(out),
            Command::Info(sections) => {
                resp::encode_bulk(out, info::render(&self.kv, &sections).as_bytes());
            }
            Command::Command(query) => command_reply(query).encode(out),
            Command::Config(query) => self.kv.config().config_reply(&query).encode(out),
            Command::Debug(query) => {
                let reply = if self.kv.config().debug_command {
                    debug_reply(&self.kv, query)
                } else {
                    Reply::static_error(
                        "ERR DEBUG command not allowed. Start kv with --enable-debug-command yes \
                         to allow it.",
                    )
                };
                reply.encode(out);
            }
            keyspace => db::execute(&mut self.shards, keyspace, out),
        }
    }

    /// This session's own handle, the value of its pub/sub registrations.
    fn me(&self) -> Server<Session> {
        Server::current().expect("a session's callbacks run in its own process")
    }
}

// ANCHOR: session
impl GenServer for Session {
    type Call = Input;
    type Reply = Flow;
    type Cast = std::convert::Infallible;
    type Info = Delivery;
    type Continue = ();

    fn handle_call(&mut self, input: Input, _from: From<Flow>) -> CallResult<Flow> {
        match input {
            Input::Resume => {
                if let Some(args) = self.handoff.take() {
                    self.kv.stats().commands(1);
                    let mut pipeline = db::Pipeline::default();
                    self.run(args, clock::now(), &mut pipeline);
                    pipeline.flush(&mut self.out);
                }
                self.process_buffered();
            }
            Input::Bytes(bytes) => {
                self.input.extend_from_slice(&bytes);
                self.process_buffered();
            }
            // The client is gone; every request it sent has run already.
            Input::Closed => self.closing = true,
        }
        match self.finish_batch() {
            Step::Continue => CallResult::reply(Flow::Continue),
            Step::Close | Step::NeedsMailbox => {
                CallResult::Stop(ExitReason::Normal, Some(Flow::Close))
            }
        }
    }

    fn handle_info(&mut self, info: Info<Delivery>) -> CastResult {
        if let Info::Message(Delivery(published)) = info {
            // Sent before an UNSUBSCRIBE we have since run: drop it, as redis would never
            // have sent it.
            if self.subscriptions.is_subscribed(&published.channel) {
                if let Err(e) = self.writer.write_all(&published.frame) {
                    tracing::debug!(peer = %self.peer, "subscriber gone: {e}");
                    // `shutdown` (not `normal`) so the link takes the reader down with us.
                    return CastResult::Stop(ExitReason::Shutdown);
                }
            }
        }
        CastResult::noreply()
    }
}
// ANCHOR_END: session

/// `HELLO [2]`: the server's description, as a RESP2 flat array of pairs.
fn hello() -> Reply {
    let pairs: Vec<(&str, Reply)> = vec![
        ("server", Reply::bulk("kv")),
        ("version", Reply::bulk(info::REDIS_VERSION)),
        ("proto", Reply::Integer(2)),
        ("mode", Reply::bulk("standalone")),
        ("role", Reply::bulk("master")),
        ("modules", Reply::Array(vec![])),
    ];
    Reply::Array(
        pairs
            .into_iter()
            .flat_map(|(k, v)| [Reply::bulk(k), v])
            .collect(),
    )
}

/// A command's `COMMAND INFO` entry, in redis 7's ten-element form (the ACL categories, tips,
/// key specs and subcommands empty).
fn command_entry(spec: &Spec) -> Reply {
    Reply::Array(vec![
        Reply::bulk(spec.name),
        Reply::Integer(i64::from(spec.arity)),
        Reply::Array(spec.flags.iter().map(|f| Reply::simple(*f)).collect()),
        Reply::Integer(i64::from(spec.first_key)),
        Reply::Integer(i64::from(spec.last_key)),
        Reply::Integer(i64::from(spec.step)),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
        Reply::Array(vec![]),
    ])
}

fn command_reply(query: CommandQuery) -> Reply {
    match query {
        CommandQuery::All => Reply::Array(COMMANDS.iter().map(command_entry).collect()),
        CommandQuery::Count => Reply::Integer(COMMANDS.len() as i64),
        // No documentation: clients (redis-cli's hints) fall back to their own.
        CommandQuery::Docs => Reply::Array(vec![]),
        CommandQuery::Info(names) if names.is_empty() => {
            Reply::Array(COMMANDS.iter().map(command_entry).collect())
        }
        CommandQuery::Info(names) => Reply::Array(
            names
                .iter()
                .map(|name| {
                    COMMANDS
                        .iter()
                        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
                        .map_or(Reply::Null, command_entry)
                })
                .collect(),
        ),
        CommandQuery::List => Reply::Array(COMMANDS.iter().map(|s| Reply::bulk(s.name)).collect()),
        CommandQuery::Help => help(&[
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)",
            "    Return details about all commands.",
            "COUNT",
            "    Return the total number of commands in this server.",
            "DOCS [<command-name> ...]",
            "    Answered with no documentation.",
            "INFO [<command-name> ...]",
            "    Return details about the given commands, or all of them.",
            "LIST",
            "    Return the names of all commands.",
            "HELP",
            "    Print this help.",
        ]),
    }
}

/// A help text as redis sends one: an array of status lines.
pub(crate) fn help(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::simple(*l)).collect())
}

fn debug_reply(kv: &Kv, query: DebugQuery) -> Reply {
    match query {
        DebugQuery::Help => help(&[
            "DEBUG <subcommand> [<arg> ...]. Subcommands are:",
            "KILLSHARD <n>",
            "    Kill shard n's process (an untrappable exit signal, as a crash would) and",
            "    answer once its supervisor has restarted it, with both pids.",
            "SHARDOF <key>",
            "    Return the number of the shard that holds the key.",
            "HELP",
            "    Print this help.",
        ]),
        DebugQuery::ShardOf(key) => Reply::Integer(kv.shard_of(&key) as i64),
        DebugQuery::KillShard(n) => {
            let Some(index) = usize::try_from(n).ok().filter(|&i| i < kv.shard_count()) else {
                return Reply::error(format!(
                    "ERR no shard {n}: shards are 0 to {}",
                    kv.shard_count() - 1
                ));
            };
            match debug::kill_shard(kv, index) {
                Ok(report) => Reply::simple(report.to_string()),
                Err(e) => Reply::error(format!("ERR {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::Config, memory};
    use otp::process;

    #[test]
    fn serve_runs_a_connection_over_any_transport_in_any_process() {
        let runtime = otp::Builder::new().schedulers(2).build().unwrap();
        runtime
            .block_on(|| {
                process::trap_exit(true);
                let kv = Kv::new(Config {
                    shards: 1,
                    listen: false,
                    ..Config::default()
                });
                let tree = kv.start_link().unwrap();
                // Not under the Task.Supervisor: `serve` needs only a process and a transport.
                let (mut client, server) = memory::pair();
                let served = kv.clone();
                otp::spawn(move || serve(served, server));
                client
                    .write_all(b"SET k v\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nQUIT\r\nPING\r\n")
                    .unwrap();
                let mut replies = Vec::new();
                client.read_to_end(&mut replies).unwrap();
                assert_eq!(replies, b"+OK\r\n$1\r\nv\r\n+OK\r\n");
                assert_eq!(kv.stats().total_commands(), 3);
                tree.stop(ExitReason::Shutdown, Timeout::Infinity).unwrap();
            })
            .unwrap();
    }

    #[test]
    fn the_help_texts_are_status_arrays() {
        let Reply::Array(lines) = command_reply(CommandQuery::Help) else {
            panic!("an array")
        };
        assert!(lines.iter().all(|l| matches!(l, Reply::Simple(_))));
        assert_eq!(
            command_reply(CommandQuery::Count),
            Reply::Integer(COMMANDS.len() as i64)
        );
    }
}
