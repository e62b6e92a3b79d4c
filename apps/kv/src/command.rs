//! Requests as typed commands: `[b"SET", b"k", b"v", b"EX", b"10"]` → [`Command::Set`].
//!
//! Parsing happens in two steps, because redis checks a request in this order and a client
//! sees the difference in the error it gets:
//!
//! 1. [`lookup`]: the command name (case-insensitive) and the argument count, against the
//!    [`COMMANDS`] table (redis's *arity*: `n` exactly, `-n` at least). Errors:
//!    `ERR unknown command 'foo', with args beginning with: 'a' ` and
//!    `ERR wrong number of arguments for 'get' command`.
//! 2. The caller checks what depends on the connection (a subscribed connection accepts only
//!    the pub/sub commands, PING and QUIT), then [`parse`] reads the arguments: options, numbers
//!    and times. Errors: `ERR syntax error`, `ERR value is not an integer or out of range`,
//!    `ERR invalid expire time in 'set' command`, ...
//!
//! Every error's text is redis-server 7.0's, checked against it; [`CommandError::reply`]
//! makes the error reply. Errors that only executing can find (`ERR increment or decrement
//! would overflow`, a value that is not an integer) come from the store.
//!
//! Relative times (`EX 10`, `EXPIRE k 10`) become absolute deadlines here, with the `now` the
//! caller passes, and the overflow checks redis makes at that point are made here too.
//!
//! # One definition of each command's fields
//!
//! A command with more to it than a key carries its fields in a payload struct ([`Set`],
//! [`IncrBy`], [`Expire`]): the parser makes it, and the shard's request takes it as it is
//! (`shard::Request::Set(Set)`, ...), whether it came from a connection or from a record the
//! replay of an append-only file parsed. A command of keys alone (`GET`, `PERSIST`, `DEL`,
//! ...) hands the shard its keys. So each command's fields are defined once, here. (`TTL`'s
//! unit is not the shard's business: it answers in milliseconds, and the connection
//! converts.)
//!
//! # WRONGTYPE
//!
//! Redis answers `WRONGTYPE Operation against a key holding the wrong kind of value` when a
//! command meets a key of another type (`INCR` on a list). This server stores strings only, and
//! every command it knows takes strings, so that error never arises; a type-checked command
//! (`LPUSH`, say) is simply unknown here.

use std::fmt;

use crate::{
    clock::Millis,
    glob::Pattern,
    resp::{string2ll, Args, Reply},
    store::{Condition, ExpireIf, Expiry, Key, SetOptions, Value},
};

/// One entry of the command table: what `COMMAND INFO` reports and what [`lookup`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The name, lower case.
    pub name: &'static str,
    /// The argument count, the name included: `n` exactly, `-n` at least `n`.
    pub arity: i32,
    /// Redis's command flags (`write`, `readonly`, `fast`, ...).
    pub flags: &'static [&'static str],
    /// The position of the first key argument (0: none).
    pub first_key: i32,
    /// The position of the last key argument (-1: the last argument).
    pub last_key: i32,
    /// The distance between key arguments.
    pub step: i32,
}

impl Spec {
    /// Whether `argc` arguments (the name included) fit the arity.
    pub fn accepts(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// Whether a connection in subscribed mode may run it (RESP2: the pub/sub commands, PING
    /// and QUIT).
    pub fn allowed_when_subscribed(&self) -> bool {
        matches!(self.name, "ping" | "quit" | "subscribe" | "unsubscribe")
    }
}

const fn spec(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    keys: (i32, i32, i32),
) -> Spec {
    Spec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
    }
}

const NO_KEYS: (i32, i32, i32) = (0, 0, 0);
const ONE_KEY: (i32, i32, i32) = (1, 1, 1);
const ALL_KEYS: (i32, i32, i32) = (1, -1, 1);
const WRITE_FAST: &[&str] = &["write", "denyoom", "fast"];
const READ_FAST: &[&str] = &["readonly", "fast"];
const ADMIN: &[&str] = &["admin", "noscript", "loading", "stale"];

/// Every command this server knows, by name, with redis's arity, flags and key positions.
pub const COMMANDS: &[Spec] = &[
    spec("command", -1, &["random", "loading", "stale"], NO_KEYS),
    spec("config", -2, ADMIN, NO_KEYS),
    spec("dbsize", 1, READ_FAST, NO_KEYS),
    spec("debug", -2, ADMIN, NO_KEYS),
    spec("decr", 2, WRITE_FAST, ONE_KEY),
    spec("decrby", 3, WRITE_FAST, ONE_KEY),
    spec("del", -2, &["write"], ALL_KEYS),
    spec("echo", 2, &["fast"], NO_KEYS),
    spec("exists", -2, READ_FAST, ALL_KEYS),
    spec("expire", -3, &["write", "fast"], ONE_KEY),
    spec("expireat", -3, &["write", "fast"], ONE_KEY),
    spec("flushall", -1, &["write"], NO_KEYS),
    spec("flushdb", -1, &["write"], NO_KEYS),
    spec("get", 2, READ_FAST, ONE_KEY),
    spec(
        "hello",
        -1,
        &["noscript", "loading", "stale", "fast", "no_auth"],
        NO_KEYS,
    ),
    spec("incr", 2, WRITE_FAST, ONE_KEY),
    spec("incrby", 3, WRITE_FAST, ONE_KEY),
    spec("info", -1, &["loading", "stale"], NO_KEYS),
    spec("keys", 2, &["readonly"], NO_KEYS),
    spec("mget", -2, READ_FAST, ALL_KEYS),
    spec("mset", -3, &["write", "denyoom"], (1, -1, 2)),
    spec("persist", 2, &["write", "fast"], ONE_KEY),
    spec("pexpire", -3, &["write", "fast"], ONE_KEY),
    spec("pexpireat", -3, &["write", "fast"], ONE_KEY),
    spec("ping", -1, &["fast"], NO_KEYS),
    spec("pttl", 2, READ_FAST, ONE_KEY),
    spec(
        "publish",
        3,
        &["pubsub", "loading", "stale", "fast"],
        NO_KEYS,
    ),
    spec(
        "quit",
        -1,
        &[
            "allow_busy",
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
        ],
        NO_KEYS,
    ),
    spec("select", 2, &["loading", "stale", "fast"], NO_KEYS),
    spec("set", -3, &["write", "denyoom"], ONE_KEY),
    spec(
        "subscribe",
        -2,
        &["pubsub", "noscript", "loading", "stale"],
        NO_KEYS,
    ),
    spec("ttl", 2, READ_FAST, ONE_KEY),
    spec(
        "unsubscribe",
        -1,
        &["pubsub", "noscript", "loading", "stale"],
        NO_KEYS,
    ),
];

/// A parsed request. Keys, values and channels are the request's own bytes, moved in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `PING [message]`.
    Ping(Option<Vec<u8>>),
    /// `ECHO message`.
    Echo(Vec<u8>),
    /// `GET key`.
    Get(Key),
    /// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]`.
    Set(Set),
    /// `DEL key...`.
    Del(Vec<Key>),
    /// `EXISTS key...`.
    Exists(Vec<Key>),
    /// `INCR`, `DECR`, `INCRBY`, `DECRBY`.
    IncrBy(IncrBy),
    /// `MGET key...`.
    MGet(Vec<Key>),
    /// `MSET key value [key value ...]`.
    MSet(Vec<(Key, Value)>),
    /// `EXPIRE`, `PEXPIRE`, `EXPIREAT`, `PEXPIREAT` with `[NX | XX | GT | LT]`.
    Expire(Expire),
    /// `TTL key` (`millis: false`) or `PTTL key` (`millis: true`).
    Ttl {
        /// The key.
        key: Key,
        /// Milliseconds rather than seconds.
        millis: bool,
    },
    /// `PERSIST key`.
    Persist(Key),
    /// `KEYS pattern`.
    Keys(Pattern),
    /// `DBSIZE`.
    DbSize,
    /// `FLUSHALL [ASYNC | SYNC]` or `FLUSHDB` (there is one database).
    FlushAll,
    /// `INFO [section ...]`, the sections lower case.
    Info(Vec<String>),
    /// `PUBLISH channel message`.
    Publish {
        /// The channel.
        channel: Vec<u8>,
        /// The message.
        message: Vec<u8>,
    },
    /// `SUBSCRIBE channel...`.
    Subscribe(Vec<Vec<u8>>),
    /// `UNSUBSCRIBE [channel ...]` (none: all).
    Unsubscribe(Vec<Vec<u8>>),
    /// `QUIT`.
    Quit,
    /// `SELECT 0`, the only database.
    Select,
    /// `HELLO [2]`.
    Hello,
    /// `COMMAND`, `COMMAND COUNT | DOCS | INFO | LIST | HELP`.
    Command(CommandQuery),
    /// `CONFIG GET pattern...` or `CONFIG HELP`.
    Config(ConfigQuery),
    /// `DEBUG KILLSHARD n | SHARDOF key | HELP` (fault injection; see `connection`).
    Debug(DebugQuery),
}

/// `SET`'s fields: what [`Command::Set`] holds and what a shard's `SET` request takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    /// The key.
    pub key: Key,
    /// The value.
    pub value: Value,
    /// The options, the deadline made absolute.
    pub options: SetOptions,
}

/// The fields of `INCR`, `DECR`, `INCRBY` and `DECRBY`: what [`Command::IncrBy`] holds and what
/// a shard's `INCRBY` request takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncrBy {
    /// The key.
    pub key: Key,
    /// What to add (negative for the decrements).
    pub by: i64,
}

/// The fields of the `EXPIRE` family: what [`Command::Expire`] holds and what a shard's
/// `EXPIRE` request takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expire {
    /// The key.
    pub key: Key,
    /// The absolute deadline (a deadline before the epoch is the epoch: already past).
    pub at: Millis,
    /// The conditions.
    pub when: ExpireIf,
}

/// The `COMMAND` subcommands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandQuery {
    /// `COMMAND`: every command's info.
    All,
    /// `COMMAND COUNT`.
    Count,
    /// `COMMAND DOCS [name ...]` (answered with no docs).
    Docs,
    /// `COMMAND INFO [name ...]` (none: all).
    Info(Vec<Vec<u8>>),
    /// `COMMAND LIST`.
    List,
    /// `COMMAND HELP`.
    Help,
}

/// The `CONFIG` subcommands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigQuery {
    /// `CONFIG GET pattern...`.
    Get(Vec<Pattern>),
    /// `CONFIG HELP`.
    Help,
}

/// The `DEBUG` subcommands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugQuery {
    /// `DEBUG KILLSHARD n`: kill shard `n`'s process (untrappably) and wait for its
    /// supervisor to restart it.
    KillShard(i64),
    /// `DEBUG SHARDOF key`: the shard that holds `key`.
    ShardOf(Key),
    /// `DEBUG HELP`.
    Help,
}

/// A request redis would refuse before running it, with redis's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// No such command.
    Unknown {
        /// The name as sent.
        name: Vec<u8>,
        /// The other arguments.
        args: Vec<Vec<u8>>,
    },
    /// The arity does not fit; the command's name (`get`, `config|get`).
    Arity(String),
    /// An argument that must be an integer is not.
    NotInteger,
    /// Options that do not fit together, or an unknown one.
    Syntax,
    /// An expiry that is not positive or overflows; the command's name.
    InvalidExpire(&'static str),
    /// An `EXPIRE` option that is none of `NX XX GT LT`.
    UnsupportedOption(Vec<u8>),
    /// `NX` with `XX`, `GT` or `LT`.
    NxAndOthers,
    /// `GT` with `LT`.
    GtAndLt,
    /// `DECRBY key -9223372036854775808`.
    DecrementOverflow,
    /// An unknown subcommand: the subcommand as sent, and the command (upper case).
    UnknownSubcommand {
        /// The subcommand as sent.
        sub: Vec<u8>,
        /// The command, upper case.
        command: &'static str,
    },
    /// `SELECT` of a database other than 0.
    DbIndexOutOfRange,
    /// `HELLO` with a protocol version other than 2.
    NoProto,
    /// `HELLO` with an option after the version.
    HelloOption(Vec<u8>),
    /// `HELLO` with a version that is not a number.
    HelloVersion,
    /// `FLUSHALL` with an option other than `ASYNC`/`SYNC`.
    FlushOption,
    /// `CONFIG SET`, `CONFIG REWRITE`, `CONFIG RESETSTAT`: settings are fixed at startup.
    ConfigReadOnly,
}

impl CommandError {
    /// The error reply redis sends for it.
    ///
    /// ```
    /// use kv::command::{self, CommandError};
    ///
    /// let err = command::lookup(&vec![b"foo".to_vec(), b"a".to_vec()]).unwrap_err();
    /// assert_eq!(err.reply().to_bytes(), b"-ERR unknown command 'foo', with args beginning with: 'a' \r\n");
    /// ```
    pub fn reply(&self) -> Reply {
        match self {
            CommandError::Unknown { name, args } => {
                Reply::Error(unknown_command(name, args).into())
            }
            CommandError::UnknownSubcommand { sub, command } => {
                let mut text = b"ERR unknown subcommand '".to_vec();
                text.extend_from_slice(c_string(sub, 128));
                text.extend_from_slice(format!("'. Try {command} HELP.").as_bytes());
                Reply::Error(text.into())
            }
            CommandError::UnsupportedOption(opt) => {
                let mut text = b"ERR Unsupported option ".to_vec();
                text.extend_from_slice(c_string(opt, usize::MAX));
                Reply::Error(text.into())
            }
            CommandError::HelloOption(opt) => {
                let mut text = b"ERR Syntax error in HELLO option '".to_vec();
                text.extend_from_slice(c_string(opt, usize::MAX));
                text.push(b'\'');
                Reply::Error(text.into())
            }
            other => Reply::error(other.to_string()),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown { name, args } => {
                f.write_str(&String::from_utf8_lossy(&unknown_command(name, args)))
            }
            CommandError::Arity(name) => {
                write!(f, "ERR wrong number of arguments for '{name}' command")
            }
            CommandError::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            CommandError::Syntax => f.write_str("ERR syntax error"),
            CommandError::InvalidExpire(name) => {
                write!(f, "ERR invalid expire time in '{name}' command")
            }
            CommandError::UnsupportedOption(opt) => {
                write!(f, "ERR Unsupported option {}", String::from_utf8_lossy(opt))
            }
            CommandError::NxAndOthers => {
                f.write_str("ERR NX and XX, GT or LT options at the same time are not compatible")
            }
            CommandError::GtAndLt => {
                f.write_str("ERR GT and LT options at the same time are not compatible")
            }
            CommandError::DecrementOverflow => f.write_str("ERR decrement would overflow"),
            CommandError::UnknownSubcommand { sub, command } => write!(
                f,
                "ERR unknown subcommand '{}'. Try {command} HELP.",
                String::from_utf8_lossy(sub)
            ),
            CommandError::DbIndexOutOfRange => f.write_str("ERR DB index is out of range"),
            CommandError::NoProto => f.write_str("NOPROTO unsupported protocol version"),
            CommandError::HelloOption(opt) => write!(
                f,
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            ),
            CommandError::HelloVersion => {
                f.write_str("ERR Protocol version is not an integer or out of range")
            }
            CommandError::FlushOption => f.write_str("ERR syntax error"),
            CommandError::ConfigReadOnly => f.write_str(
                "ERR kv's settings are fixed at startup; CONFIG supports GET and HELP only",
            ),
        }
    }
}

impl std::error::Error for CommandError {}

/// `s` as C's `%.Ns` prints it: up to the first NUL, at most `max` bytes.
fn c_string(s: &[u8], max: usize) -> &[u8] {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len()).min(max);
    &s[..end]
}

/// Redis's unknown-command message: the name (at most 128 bytes) and the arguments quoted,
/// each followed by a blank, until 128 bytes of them have been written.
fn unknown_command(name: &[u8], args: &[Vec<u8>]) -> Vec<u8> {
    let mut quoted = Vec::new();
    for arg in args {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        quoted.push(b'\'');
        quoted.extend_from_slice(c_string(arg, room));
        quoted.extend_from_slice(b"' ");
    }
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(c_string(name, 128));
    text.extend_from_slice(b"', with args beginning with: ");
    text.extend_from_slice(&quoted);
    text
}

/// Finds the command a request names and checks its argument count.
///
/// # Errors
///
/// [`CommandError::Unknown`] or [`CommandError::Arity`].
///
/// # Panics
///
/// If `args` is empty (an empty request is not a command; skip it).
pub fn lookup(args: &Args) -> Result<&'static Spec, CommandError> {
    let name = &args[0];
    let spec = COMMANDS
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
        .ok_or_else(|| CommandError::Unknown {
            name: name.clone(),
            args: args[1..].to_vec(),
        })?;
    if !spec.accepts(args.len()) {
        return Err(CommandError::Arity(spec.name.to_owned()));
    }
    Ok(spec)
}

/// Looks a request up and parses it: [`lookup`] then [`parse`] (what replaying a file does,
/// where there is no connection state to check in between).
///
/// # Errors
///
/// As for [`lookup`] and [`parse`].
pub fn parse_request(args: Args, now: Millis) -> Result<Command, CommandError> {
    let spec = lookup(&args)?;
    parse(spec, args, now)
}

/// Moves argument `i` out.
fn take(rest: &mut [Vec<u8>], i: usize) -> Vec<u8> {
    std::mem::take(&mut rest[i])
}

/// An integer argument.
fn integer(arg: &[u8]) -> Result<i64, CommandError> {
    string2ll(arg).ok_or(CommandError::NotInteger)
}

/// Whether `arg` is `word`, ignoring ASCII case.
fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Parses the arguments of a request [`lookup`] accepted as `spec`. `now` turns relative
/// deadlines into absolute ones.
///
/// # Errors
///
/// [`CommandError`] with redis's reason.
pub fn parse(spec: &Spec, args: Args, now: Millis) -> Result<Command, CommandError> {
    let mut args = args.into_iter();
    let _name = args.next();
    let mut rest: Vec<Vec<u8>> = args.collect();
    let command = match spec.name {
        "ping" => {
            if rest.len() > 1 {
                return Err(CommandError::Arity("ping".to_owned()));
            }
            Command::Ping(rest.pop())
        }
        "echo" => Command::Echo(take(&mut rest, 0)),
        "get" => Command::Get(take(&mut rest, 0)),
        "set" => return parse_set(rest, now),
        "del" => Command::Del(rest),
        "exists" => Command::Exists(rest),
        "incr" => Command::IncrBy(IncrBy {
            key: take(&mut rest, 0),
            by: 1,
        }),
        "decr" => Command::IncrBy(IncrBy {
            key: take(&mut rest, 0),
            by: -1,
        }),
        "incrby" => Command::IncrBy(IncrBy {
            by: integer(&rest[1])?,
            key: take(&mut rest, 0),
        }),
        "decrby" => {
            let by = integer(&rest[1])?;
            // Negating the smallest i64 overflows; redis checks before it adds.
            let by = by.checked_neg().ok_or(CommandError::DecrementOverflow)?;
            Command::IncrBy(IncrBy {
                key: take(&mut rest, 0),
                by,
            })
        }
        "mget" => Command::MGet(rest),
        "mset" => {
            if rest.len() % 2 != 0 {
                return Err(CommandError::Arity("mset".to_owned()));
            }
            let mut pairs = Vec::with_capacity(rest.len() / 2);
            let mut it = rest.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Command::MSet(pairs)
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" => return parse_expire(spec, rest, now),
        "ttl" => Command::Ttl {
            key: take(&mut rest, 0),
            millis: false,
        },
        "pttl" => Command::Ttl {
            key: take(&mut rest, 0),
            millis: true,
        },
        "persist" => Command::Persist(take(&mut rest, 0)),
        "keys" => Command::Keys(Pattern::new(take(&mut rest, 0))),
        "dbsize" => Command::DbSize,
        "flushall" | "flushdb" => match rest.as_slice() {
            [] => Command::FlushAll,
            [opt] if is(opt, "async") || is(opt, "sync") => Command::FlushAll,
            _ => return Err(CommandError::FlushOption),
        },
        "info" => Command::Info(
            rest.iter()
                .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
                .collect(),
        ),
        "publish" => Command::Publish {
            message: take(&mut rest, 1),
            channel: take(&mut rest, 0),
        },
        "subscribe" => Command::Subscribe(rest),
        "unsubscribe" => Command::Unsubscribe(rest),
        "quit" => Command::Quit,
        "select" => {
            if integer(&rest[0])? != 0 {
                return Err(CommandError::DbIndexOutOfRange);
            }
            Command::Select
        }
        "hello" => match rest.as_slice() {
            [] => Command::Hello,
            [version, more @ ..] => {
                let version = string2ll(version).ok_or(CommandError::HelloVersion)?;
                if version != 2 {
                    return Err(CommandError::NoProto);
                }
                if let Some(opt) = more.first() {
                    return Err(CommandError::HelloOption(opt.clone()));
                }
                Command::Hello
            }
        },
        "command" => Command::Command(parse_command_query(rest)?),
        "config" => Command::Config(parse_config_query(rest)?),
        "debug" => Command::Debug(parse_debug_query(rest)?),
        other => unreachable!("{other} is in the table but has no parser"),
    };
    Ok(command)
}

/// `SET`'s options, as redis's `parseExtendedStringArgumentsOrReply` reads them: each option
/// may repeat, but `NX`/`XX` exclude each other, and the expiry options exclude each other
/// and `KEEPTTL`.
fn parse_set(mut rest: Vec<Vec<u8>>, now: Millis) -> Result<Command, CommandError> {
    #[derive(PartialEq, Clone, Copy)]
    enum Unit {
        Ex,
        Px,
        ExAt,
        PxAt,
    }
    let mut condition = None;
    let mut get = false;
    let mut keep_ttl = false;
    let mut expire: Option<(Unit, usize)> = None;
    let mut j = 2;
    while j < rest.len() {
        let opt = &rest[j];
        let has_next = j + 1 < rest.len();
        let unit = if is(opt, "ex") {
            Some(Unit::Ex)
        } else if is(opt, "px") {
            Some(Unit::Px)
        } else if is(opt, "exat") {
            Some(Unit::ExAt)
        } else if is(opt, "pxat") {
            Some(Unit::PxAt)
        } else {
            None
        };
        if is(opt, "nx") && condition != Some(Condition::Present) {
            condition = Some(Condition::Absent);
        } else if is(opt, "xx") && condition != Some(Condition::Absent) {
            condition = Some(Condition::Present);
        } else if is(opt, "get") {
            get = true;
        } else if is(opt, "keepttl") && expire.is_none() {
            keep_ttl = true;
        } else if let Some(unit) =
            unit.filter(|&u| !keep_ttl && has_next && expire.is_none_or(|(other, _)| other == u))
        {
            expire = Some((unit, j + 1));
            j += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        j += 1;
    }
    let expiry = match expire {
        None if keep_ttl => Expiry::Keep,
        None => Expiry::Clear,
        Some((unit, at)) => {
            let invalid = CommandError::InvalidExpire("set");
            let n = integer(&rest[at])?;
            if n <= 0 || matches!(unit, Unit::Ex | Unit::ExAt) && n > i64::MAX / 1000 {
                return Err(invalid);
            }
            let ms = if matches!(unit, Unit::Ex | Unit::ExAt) {
                n * 1000
            } else {
                n
            };
            let absolute = if matches!(unit, Unit::Ex | Unit::Px) {
                ms.checked_add(millis_i64(now)).ok_or(invalid)?
            } else {
                ms
            };
            Expiry::At(Millis(u64::try_from(absolute).unwrap_or(0)))
        }
    };
    let value = std::mem::take(&mut rest[1]);
    let key = std::mem::take(&mut rest[0]);
    Ok(Command::Set(Set {
        key,
        value,
        options: SetOptions {
            expiry,
            condition,
            get,
        },
    }))
}

fn millis_i64(t: Millis) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

/// The `EXPIRE` family, as redis's `expireGenericCommand` reads it: options first, then the
/// time, then the overflow checks of the unit conversion and of adding the base time.
fn parse_expire(spec: &Spec, mut rest: Vec<Vec<u8>>, now: Millis) -> Result<Command, CommandError> {
    let mut when = ExpireIf::default();
    for opt in &rest[2..] {
        if is(opt, "nx") {
            when.nx = true;
        } else if is(opt, "xx") {
            when.xx = true;
        } else if is(opt, "gt") {
            when.gt = true;
        } else if is(opt, "lt") {
            when.lt = true;
        } else {
            return Err(CommandError::UnsupportedOption(opt.clone()));
        }
    }
    if when.nx && (when.xx || when.gt || when.lt) {
        return Err(CommandError::NxAndOthers);
    }
    if when.gt && when.lt {
        return Err(CommandError::GtAndLt);
    }
    let name = spec.name;
    let invalid = CommandError::InvalidExpire(name);
    let mut t = integer(&rest[1])?;
    if matches!(name, "expire" | "expireat") {
        t = t.checked_mul(1000).ok_or(invalid.clone())?;
    }
    if matches!(name, "expire" | "pexpire") {
        t = t.checked_add(millis_i64(now)).ok_or(invalid)?;
    }
    Ok(Command::Expire(Expire {
        key: std::mem::take(&mut rest[0]),
        // Before the epoch is as past as the epoch itself.
        at: Millis(u64::try_from(t).unwrap_or(0)),
        when,
    }))
}

fn parse_command_query(rest: Vec<Vec<u8>>) -> Result<CommandQuery, CommandError> {
    let Some(sub) = rest.first() else {
        return Ok(CommandQuery::All);
    };
    let arity = |name: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(CommandError::Arity(format!("command|{name}")))
        }
    };
    if is(sub, "count") {
        arity("count", rest.len() == 1)?;
        Ok(CommandQuery::Count)
    } else if is(sub, "docs") {
        Ok(CommandQuery::Docs)
    } else if is(sub, "info") {
        Ok(CommandQuery::Info(rest[1..].to_vec()))
    } else if is(sub, "list") {
        Ok(CommandQuery::List)
    } else if is(sub, "help") {
        arity("help", rest.len() == 1)?;
        Ok(CommandQuery::Help)
    } else {
        Err(CommandError::UnknownSubcommand {
            sub: sub.clone(),
            command: "COMMAND",
        })
    }
}

fn parse_config_query(rest: Vec<Vec<u8>>) -> Result<ConfigQuery, CommandError> {
    let sub = &rest[0];
    if is(sub, "get") {
        if rest.len() < 2 {
            return Err(CommandError::Arity("config|get".to_owned()));
        }
        Ok(ConfigQuery::Get(
            rest[1..].iter().map(|p| Pattern::new(p.clone())).collect(),
        ))
    } else if is(sub, "help") {
        if rest.len() != 1 {
            return Err(CommandError::Arity("config|help".to_owned()));
        }
        Ok(ConfigQuery::Help)
    } else if is(sub, "set") || is(sub, "rewrite") || is(sub, "resetstat") {
        Err(CommandError::ConfigReadOnly)
    } else {
        Err(CommandError::UnknownSubcommand {
            sub: sub.clone(),
            command: "CONFIG",
        })
    }
}

fn parse_debug_query(mut rest: Vec<Vec<u8>>) -> Result<DebugQuery, CommandError> {
    let sub = &rest[0];
    let arity = |name: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(CommandError::Arity(format!("debug|{name}")))
        }
    };
    if is(sub, "killshard") {
        arity("killshard", rest.len() == 2)?;
        Ok(DebugQuery::KillShard(integer(&rest[1])?))
    } else if is(sub, "shardof") {
        arity("shardof", rest.len() == 2)?;
        Ok(DebugQuery::ShardOf(rest.swap_remove(1)))
    } else if is(sub, "help") {
        Ok(DebugQuery::Help)
    } else {
        Err(CommandError::UnknownSubcommand {
            sub: sub.clone(),
            command: "DEBUG",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = Millis(1_700_000_000_000);

    fn req(words: &[&str]) -> Args {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn ok(words: &[&str]) -> Command {
        parse_request(req(words), NOW).unwrap_or_else(|e| panic!("{words:?}: {e}"))
    }

    fn err(words: &[&str]) -> String {
        let e = parse_request(req(words), NOW).expect_err("an error");
        String::from_utf8(e.reply().to_bytes()).unwrap()
    }

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(ok(&["gEt", "k"]), Command::Get(b"k".to_vec()));
        assert_eq!(ok(&["PING"]), Command::Ping(None));
    }

    #[test]
    fn unknown_commands_quote_their_arguments_like_redis() {
        assert_eq!(
            err(&["foo", "a", "bc"]),
            "-ERR unknown command 'foo', with args beginning with: 'a' 'bc' \r\n"
        );
        assert_eq!(
            err(&["FOO"]),
            "-ERR unknown command 'FOO', with args beginning with: \r\n"
        );
        // Line ends inside become blanks; at most 128 bytes of arguments are shown.
        assert_eq!(
            err(&["foo", "a\r\nb"]),
            "-ERR unknown command 'foo', with args beginning with: 'a  b' \r\n"
        );
        let long = "x".repeat(200);
        let expected = format!(
            "-ERR unknown command 'foo', with args beginning with: '{}' \r\n",
            "x".repeat(128)
        );
        assert_eq!(err(&["foo", &long, "y"]), expected);
        let name = "f".repeat(200);
        assert_eq!(
            err(&[&name]),
            format!(
                "-ERR unknown command '{}', with args beginning with: \r\n",
                "f".repeat(128)
            )
        );
    }

    #[test]
    fn arity_errors_name_the_command_in_lower_case() {
        for (words, name) in [
            (&["GET"][..], "get"),
            (&["get", "a", "b"], "get"),
            (&["ping", "a", "b"], "ping"),
            (&["echo"], "echo"),
            (&["mset", "a", "1", "b"], "mset"),
            (&["subscribe"], "subscribe"),
            (&["publish", "a"], "publish"),
            (&["dbsize", "x"], "dbsize"),
            (&["config", "get"], "config|get"),
        ] {
            assert_eq!(
                err(words),
                format!("-ERR wrong number of arguments for '{name}' command\r\n"),
                "{words:?}"
            );
        }
    }

    #[test]
    fn set_options_like_redis() {
        let set = |words: &[&str]| match ok(words) {
            Command::Set(set) => set.options,
            other => panic!("{other:?}"),
        };
        assert_eq!(set(&["set", "k", "v"]), SetOptions::default());
        assert_eq!(
            set(&["set", "k", "v", "EX", "10"]).expiry,
            Expiry::At(NOW.plus(10_000).unwrap())
        );
        assert_eq!(
            set(&["set", "k", "v", "px", "1500"]).expiry,
            Expiry::At(NOW.plus(1_500).unwrap())
        );
        assert_eq!(
            set(&["set", "k", "v", "exat", "2"]).expiry,
            Expiry::At(Millis(2_000))
        );
        assert_eq!(
            set(&["set", "k", "v", "pxat", "1"]).expiry,
            Expiry::At(Millis(1))
        );
        assert_eq!(set(&["set", "k", "v", "keepttl"]).expiry, Expiry::Keep);
        // Repeats are fine, the last one wins.
        assert_eq!(
            set(&["set", "k", "v", "ex", "10", "ex", "20"]).expiry,
            Expiry::At(NOW.plus(20_000).unwrap())
        );
        let o = set(&["set", "k", "v", "nx", "nx", "get"]);
        assert_eq!((o.condition, o.get), (Some(Condition::Absent), true));
        assert_eq!(
            set(&["set", "k", "v", "xx"]).condition,
            Some(Condition::Present)
        );
    }

    #[test]
    fn set_errors_like_redis() {
        let syntax = "-ERR syntax error\r\n";
        let invalid = "-ERR invalid expire time in 'set' command\r\n";
        let integer = "-ERR value is not an integer or out of range\r\n";
        for (words, expected) in [
            (&["set", "k", "v", "nx", "xx"][..], syntax),
            (&["set", "k", "v", "ex", "10", "px", "100"], syntax),
            (&["set", "k", "v", "keepttl", "ex", "10"], syntax),
            (&["set", "k", "v", "ex", "10", "keepttl"], syntax),
            (&["set", "k", "v", "ex"], syntax),
            (&["set", "k", "v", "foo"], syntax),
            (&["set", "k", "v", "ex", "0"], invalid),
            (&["set", "k", "v", "ex", "-1"], invalid),
            (&["set", "k", "v", "ex", "9999999999999999"], invalid),
            (&["set", "k", "v", "px", "9223372036854775807"], invalid),
            (&["set", "k", "v", "ex", "abc"], integer),
        ] {
            assert_eq!(err(words), expected, "{words:?}");
        }
    }

    #[test]
    fn counters() {
        let by = |words: &[&str]| match ok(words) {
            Command::IncrBy(IncrBy { by, .. }) => by,
            other => panic!("{other:?}"),
        };
        assert_eq!(by(&["incr", "k"]), 1);
        assert_eq!(by(&["decr", "k"]), -1);
        assert_eq!(by(&["incrby", "k", "-5"]), -5);
        assert_eq!(by(&["decrby", "k", "-5"]), 5);
        assert_eq!(
            err(&["decrby", "k", "-9223372036854775808"]),
            "-ERR decrement would overflow\r\n"
        );
        for bad in ["01", "-0", "+1", "abc", "9223372036854775808"] {
            assert_eq!(
                err(&["incrby", "k", bad]),
                "-ERR value is not an integer or out of range\r\n"
            );
        }
    }

    #[test]
    fn expire_options_and_times_like_redis() {
        let expire = |words: &[&str]| match ok(words) {
            Command::Expire(Expire { at, when, .. }) => (at, when),
            other => panic!("{other:?}"),
        };
        assert_eq!(expire(&["expire", "k", "10"]).0, NOW.plus(10_000).unwrap());
        assert_eq!(expire(&["pexpire", "k", "10"]).0, NOW.plus(10).unwrap());
        assert_eq!(expire(&["expireat", "k", "10"]).0, Millis(10_000));
        assert_eq!(expire(&["pexpireat", "k", "10"]).0, Millis(10));
        assert_eq!(expire(&["expireat", "k", "-10"]).0, Millis(0));
        let (_, when) = expire(&["expire", "k", "1", "XX", "gt"]);
        assert!(when.xx && when.gt && !when.nx && !when.lt);
        assert_eq!(
            err(&["expire", "k", "100", "nx", "xx"]),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
        );
        assert_eq!(
            err(&["expire", "k", "100", "gt", "lt"]),
            "-ERR GT and LT options at the same time are not compatible\r\n"
        );
        assert_eq!(
            err(&["expire", "k", "100", "foo"]),
            "-ERR Unsupported option foo\r\n"
        );
        assert_eq!(
            err(&["expire", "k", "abc"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            err(&["expire", "k", "9223372036854775807"]),
            "-ERR invalid expire time in 'expire' command\r\n"
        );
        assert_eq!(
            err(&["pexpire", "k", "9223372036854775807"]),
            "-ERR invalid expire time in 'pexpire' command\r\n"
        );
        // The options are checked before the time, as redis does.
        assert_eq!(
            err(&["expire", "k", "abc", "foo"]),
            "-ERR Unsupported option foo\r\n"
        );
    }

    #[test]
    fn administrative_commands() {
        assert_eq!(ok(&["flushall", "ASYNC"]), Command::FlushAll);
        assert_eq!(ok(&["flushdb"]), Command::FlushAll);
        assert_eq!(err(&["flushall", "foo"]), "-ERR syntax error\r\n");
        assert_eq!(ok(&["select", "0"]), Command::Select);
        assert_eq!(err(&["select", "16"]), "-ERR DB index is out of range\r\n");
        assert_eq!(
            err(&["select", "abc"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(ok(&["hello", "2"]), Command::Hello);
        assert_eq!(
            err(&["hello", "3"]),
            "-NOPROTO unsupported protocol version\r\n"
        );
        assert_eq!(
            err(&["config", "foo"]),
            "-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n"
        );
        assert_eq!(
            err(&["command", "foo"]),
            "-ERR unknown subcommand 'foo'. Try COMMAND HELP.\r\n"
        );
        assert_eq!(
            ok(&["command", "COUNT"]),
            Command::Command(CommandQuery::Count)
        );
        assert_eq!(
            ok(&["info", "Server", "CLIENTS"]),
            Command::Info(vec!["server".into(), "clients".into()])
        );
        assert_eq!(
            ok(&["debug", "killshard", "3"]),
            Command::Debug(DebugQuery::KillShard(3))
        );
        assert_eq!(
            err(&["debug", "killshard"]),
            "-ERR wrong number of arguments for 'debug|killshard' command\r\n"
        );
    }

    #[test]
    fn the_subscribed_context_allows_few_commands() {
        let allowed: Vec<&str> = COMMANDS
            .iter()
            .filter(|s| s.allowed_when_subscribed())
            .map(|s| s.name)
            .collect();
        assert_eq!(allowed, ["ping", "quit", "subscribe", "unsubscribe"]);
    }

    #[test]
    fn the_table_is_sorted_and_every_command_parses() {
        let names: Vec<&str> = COMMANDS.iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for spec in COMMANDS {
            // The smallest request the arity allows, with numbers where numbers go.
            let n = spec.arity.unsigned_abs() as usize;
            let mut words = vec![spec.name.to_owned()];
            words.extend((1..n).map(|_| "1".to_owned()));
            if spec.name == "config" {
                words = vec!["config".into(), "help".into()];
            }
            if spec.name == "debug" {
                words = vec!["debug".into(), "help".into()];
            }
            let args = words.iter().map(|w| w.as_bytes().to_vec()).collect();
            if let Err(e) = parse_request(args, NOW) {
                assert!(
                    spec.name == "select" && e == CommandError::DbIndexOutOfRange,
                    "{}: {e}",
                    spec.name
                );
            }
        }
    }
}
