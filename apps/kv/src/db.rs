//! The keyspace as a connection sees it: commands routed to the shards that hold their keys,
//! multi-key commands fanned out and their answers merged, results turned into RESP replies.
//!
//! * A single-key command is one call to `shard_for(key)`.
//! * `DEL`, `EXISTS`, `MGET`, `MSET` split their keys by shard, call each shard involved once
//!   with its share (in shard order), and merge: counts are summed, `MGET` values are put
//!   back in the order of the request.
//! * `KEYS`, `DBSIZE`, `FLUSHALL` call every shard.
//!
//! The calls are made one after the other from the connection's process. No shard ever calls
//! another process, so the fan-out cannot deadlock, and a shard's requests run one at a time
//! in the order they reach it.
//!
//! A connection reaches the shards through its own [`Shards`]: each shard's process, looked up
//! by name (in the application's registry) on first use and again only once that process has
//! exited. A lookup hashes the name and reads the registry's table; a request costs a few
//! microseconds in all, and the lookup was a tenth of the server's own user time (perf,
//! `redis-benchmark` GET), so it is kept out of the path.
//!
//! # Where this differs from redis
//!
//! Redis runs every command atomically against the whole keyspace. Here a single-key command
//! is atomic (its shard runs it alone), but a multi-key command is atomic only per shard: a
//! client running `MGET a b` while another runs `MSET a 1 b 1` may see the new `a` and the old
//! `b` if they live on different shards. `KEYS` and `DBSIZE` are likewise a sum of per-shard
//! snapshots.
//!
//! A shard that is down (crashed, not yet restarted) makes the command fail with an error
//! reply that says so; a shard that dies during the command makes it fail with an error that
//! says its effect is unknown. A multi-key write that fails part-way may have been applied on
//! the shards called before.

use std::collections::BTreeMap;

use otp::{
    gen_server::{CallError, RequestId, Server},
    process, AnyPid, Timeout,
};

use crate::{
    app::Kv,
    command::Command,
    resp::Reply,
    shard::{Request, Response, Shard},
    store::{ExpireOutcome, IncrError, Key, Ttl},
};

/// A shard call that did not produce an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardError {
    /// The shard.
    pub shard: usize,
    /// Why.
    pub error: CallError,
}

impl ShardError {
    /// The error reply for the client.
    pub fn reply(&self) -> Reply {
        let shard = self.shard;
        Reply::error(match &self.error {
            CallError::NoProc => {
                format!("ERR shard {shard} is restarting; the command was not run, try again")
            }
            CallError::Exit(reason) => format!(
                "ERR shard {shard} exited ({reason}) while running the command; it may or may \
                 not have taken effect"
            ),
            other => format!("ERR shard {shard} did not answer: {other}"),
        })
    }
}

/// A single-key command: one request to the shard of its key, and how the shard's response
/// becomes the client's reply.
#[derive(Debug)]
pub struct Single {
    shard: usize,
    request: Request,
    render: Render,
}

/// How a single-key command's response becomes its reply.
#[derive(Debug, Clone, Copy)]
enum Render {
    Value,
    Set { get: bool },
    Incr,
    Expire,
    Ttl { millis: bool },
    Flag,
}

/// The command as a [`Single`] if it is about one key (`GET`, `SET`, `INCRBY`, `EXPIRE`,
/// `TTL`, `PERSIST`), with `shards` shards; the command back otherwise.
pub fn single(command: Command, shards: usize) -> Result<Single, Command> {
    let of = |key: &[u8]| crate::shard::shard_for(key, shards);
    // The parsed payloads move into the requests as they are.
    let (shard, request, render) = match command {
        Command::Get(key) => (of(&key), Request::Get(key), Render::Value),
        Command::Set(set) => {
            let render = Render::Set {
                get: set.options.get,
            };
            (of(&set.key), Request::Set(set), render)
        }
        Command::IncrBy(incr) => (of(&incr.key), Request::IncrBy(incr), Render::Incr),
        Command::Expire(expire) => (of(&expire.key), Request::Expire(expire), Render::Expire),
        Command::Ttl { key, millis } => (of(&key), Request::Ttl(key), Render::Ttl { millis }),
        Command::Persist(key) => (of(&key), Request::Persist(key), Render::Flag),
        other => return Err(other),
    };
    Ok(Single {
        shard,
        request,
        render,
    })
}

impl Render {
    fn reply(self, response: Response) -> Reply {
        match (self, response) {
            (Render::Value, Response::Value(value)) => Reply::bulk_or_null(value),
            (Render::Set { get: true }, Response::Set(outcome)) => {
                Reply::bulk_or_null(outcome.previous)
            }
            (Render::Set { get: false }, Response::Set(outcome)) if outcome.written => Reply::OK,
            (Render::Set { get: false }, Response::Set(_)) => Reply::Null,
            (Render::Incr, Response::Incr(Ok(n))) => Reply::Integer(n),
            (Render::Incr, Response::Incr(Err(IncrError::NotInteger))) => {
                Reply::static_error("ERR value is not an integer or out of range")
            }
            (Render::Incr, Response::Incr(Err(IncrError::Overflow))) => {
                Reply::static_error("ERR increment or decrement would overflow")
            }
            (Render::Expire, Response::Expire(ExpireOutcome::Set | ExpireOutcome::Deleted)) => {
                Reply::Integer(1)
            }
            (Render::Expire, Response::Expire(_)) => Reply::Integer(0),
            (Render::Ttl { .. }, Response::Ttl(Ttl::Missing)) => Reply::Integer(-2),
            (Render::Ttl { .. }, Response::Ttl(Ttl::Persistent)) => Reply::Integer(-1),
            (Render::Ttl { millis }, Response::Ttl(Ttl::Remaining(ms))) => {
                // Redis rounds to the nearest second.
                let n = if millis { ms } else { (ms + 500) / 1000 };
                Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX))
            }
            (Render::Flag, Response::Flag(removed)) => Reply::Integer(i64::from(removed)),
            (_, other) => unexpected(&other),
        }
    }
}

/// Single-key commands of one pipelined batch, sent to their shard without waiting for each
/// answer: a run of consecutive requests to one shard is in flight at once, and the shard
/// takes them all in one go instead of one process switch each. Their replies are encoded in
/// request order.
///
/// Only requests to *one* shard are in flight together: the first request to another shard,
/// or any other command, first waits for every answer ([`flush`](Pipeline::flush)). So a
/// connection's requests still run in the order it sent them, as in redis: a client that
/// pipelines `SET a 1` then `SET b 1` never lets another client see `b` set and `a` not, even
/// with `a` and `b` on different shards.
///
/// It holds request ids, which belong to the process that sent them: a local of one batch,
/// never kept across two.
#[derive(Debug, Default)]
pub struct Pipeline {
    shard: Option<usize>,
    inflight: Vec<(Result<RequestId<Shard>, ShardError>, Render)>,
}

impl Pipeline {
    /// Sends `single` to its shard, after waiting for the requests in flight to another
    /// shard (their replies go to `out`).
    pub fn push(&mut self, shards: &mut Shards, single: Single, out: &mut Vec<u8>) {
        if self.shard != Some(single.shard) {
            self.flush(out);
            self.shard = Some(single.shard);
        }
        let sent = shards.send(single.shard, single.request);
        self.inflight.push((sent, single.render));
    }

    /// Waits for every request in flight and appends their replies to `out`, in order.
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        let Some(shard) = self.shard.take() else {
            return;
        };
        for (sent, render) in self.inflight.drain(..) {
            let answered = sent.and_then(|id| {
                id.receive_response(Timeout::Infinity)
                    .map_err(|error| ShardError { shard, error })
            });
            match answered {
                Ok(response) => render.reply(response).encode(out),
                Err(e) => e.reply().encode(out),
            }
        }
    }
}

/// Calls shard `shard` with `request` by its name, waiting as long as it takes (a shard always
/// answers or dies; a timeout could not tell a caller whether a write happened).
pub fn call(kv: &Kv, shard: usize, request: Request) -> Result<Response, ShardError> {
    answer(
        shard,
        kv.shard(shard).call_timeout(request, Timeout::Infinity),
    )
}

fn answer(shard: usize, result: Result<Response, CallError>) -> Result<Response, ShardError> {
    result.map_err(|error| ShardError { shard, error })
}

/// The shards as one connection reaches them: the process of each, remembered (see the
/// [module docs](self)).
#[derive(Debug)]
pub struct Shards {
    kv: Kv,
    known: Vec<Option<(AnyPid, Server<Shard>)>>,
}

impl Shards {
    /// The shards of `kv`, none looked up yet.
    pub fn new(kv: Kv) -> Shards {
        let known = vec![None; kv.shard_count()];
        Shards { kv, known }
    }

    /// The application.
    pub fn kv(&self) -> &Kv {
        &self.kv
    }

    /// The process of shard `shard`: the one reached last time if it is still alive, else
    /// whichever holds the shard's name now.
    ///
    /// A process found alive that exits before a request reaches it makes the request fail
    /// with `noproc`, as a name not registered (a shard between two lives) does: the request
    /// did not run, and the client is told so.
    fn server(&mut self, shard: usize) -> Result<&Server<Shard>, ShardError> {
        let alive = matches!(&self.known[shard], Some((pid, _)) if process::alive(pid));
        if !alive {
            let pid = self.kv.shard(shard).pid().ok_or(ShardError {
                shard,
                error: CallError::NoProc,
            })?;
            match Server::from_any_pid(&pid) {
                Some(server) => self.known[shard] = Some((pid, server)),
                // Not a shard's pid: cannot be, but the name still works.
                None => return Ok(self.kv.shard(shard)),
            }
        }
        Ok(&self.known[shard].as_ref().expect("just checked or set").1)
    }

    /// Calls shard `shard` with `request`, as [`call`] does, at its remembered process.
    ///
    /// # Errors
    ///
    /// The shard is down, or died with the request.
    pub fn call(&mut self, shard: usize, request: Request) -> Result<Response, ShardError> {
        let server = self.server(shard)?;
        answer(shard, server.call_timeout(request, Timeout::Infinity))
    }

    /// Sends `request` to shard `shard` without waiting: the answer comes through the id.
    ///
    /// # Errors
    ///
    /// The shard is down.
    pub fn send(&mut self, shard: usize, request: Request) -> Result<RequestId<Shard>, ShardError> {
        let server = self.server(shard)?;
        server
            .send_request(request)
            .map_err(|error| ShardError { shard, error })
    }
}

/// Runs a keyspace command and appends its reply to `out`.
///
/// # Panics
///
/// For a command that is not about keys (`PING`, `SUBSCRIBE`, ...): the connection runs those.
pub fn execute(shards: &mut Shards, command: Command, out: &mut Vec<u8>) {
    match run(shards, command) {
        Ok(reply) => reply.encode(out),
        Err(e) => e.reply().encode(out),
    }
}

/// Runs a keyspace command; its reply.
fn run(shards: &mut Shards, command: Command) -> Result<Reply, ShardError> {
    let n = shards.kv().shard_count();
    let shard_of = |key: &[u8]| crate::shard::shard_for(key, n);
    let command = match single(command, n) {
        Ok(Single {
            shard,
            request,
            render,
        }) => return Ok(render.reply(shards.call(shard, request)?)),
        Err(command) => command,
    };
    Ok(match command {
        Command::Del(keys) => Reply::Integer(sum(shards, keys, Request::Del)?),
        Command::Exists(keys) => Reply::Integer(sum(shards, keys, Request::Exists)?),
        Command::MGet(keys) => mget(shards, keys)?,
        Command::MSet(pairs) => {
            let mut by_shard: BTreeMap<usize, Vec<_>> = BTreeMap::new();
            for (key, value) in pairs {
                by_shard
                    .entry(shard_of(&key))
                    .or_default()
                    .push((key, value));
            }
            for (shard, pairs) in by_shard {
                shards.call(shard, Request::MSet(pairs))?;
            }
            Reply::OK
        }
        Command::Keys(pattern) => {
            let mut keys = Vec::new();
            for shard in 0..n {
                match shards.call(shard, Request::Keys(pattern.clone()))? {
                    Response::Keys(found) => keys.extend(found.into_iter().map(Reply::Bulk)),
                    other => return Ok(unexpected(&other)),
                }
            }
            Reply::Array(keys)
        }
        Command::DbSize => {
            let mut total = 0;
            for shard in 0..n {
                if let Response::Count(n) = shards.call(shard, Request::DbSize)? {
                    total += n;
                }
            }
            Reply::Integer(i64::try_from(total).unwrap_or(i64::MAX))
        }
        Command::FlushAll => {
            for shard in 0..n {
                shards.call(shard, Request::FlushAll)?;
            }
            Reply::OK
        }
        other => panic!("db::execute called with a connection command: {other:?}"),
    })
}

/// A `Response` of the wrong kind: a bug, reported rather than crashing the connection.
fn unexpected(response: &Response) -> Reply {
    tracing::error!(
        ?response,
        "a shard answered with the wrong kind of response"
    );
    Reply::static_error("ERR internal error: unexpected shard response")
}

/// Splits `keys` by shard, in shard order, remembering each key's position in the request.
fn by_shard(kv: &Kv, keys: Vec<Key>) -> BTreeMap<usize, (Vec<usize>, Vec<Key>)> {
    let mut groups: BTreeMap<usize, (Vec<usize>, Vec<Key>)> = BTreeMap::new();
    for (i, key) in keys.into_iter().enumerate() {
        let group = groups.entry(kv.shard_of(&key)).or_default();
        group.0.push(i);
        group.1.push(key);
    }
    groups
}

/// `DEL` and `EXISTS`: each shard counts its share; the counts add up.
fn sum(
    shards: &mut Shards,
    keys: Vec<Key>,
    request: fn(Vec<Key>) -> Request,
) -> Result<i64, ShardError> {
    let mut total = 0u64;
    for (shard, (_, keys)) in by_shard(shards.kv(), keys) {
        if let Response::Count(n) = shards.call(shard, request(keys))? {
            total += n;
        }
    }
    Ok(i64::try_from(total).unwrap_or(i64::MAX))
}

/// `MGET`: each shard answers for its share; the values go back where their keys were.
fn mget(shards: &mut Shards, keys: Vec<Key>) -> Result<Reply, ShardError> {
    let mut values = vec![Reply::Null; keys.len()];
    for (shard, (positions, keys)) in by_shard(shards.kv(), keys) {
        if let Response::Values(found) = shards.call(shard, Request::MGet(keys))? {
            for (position, value) in positions.into_iter().zip(found) {
                values[position] = Reply::bulk_or_null(value);
            }
        }
    }
    Ok(Reply::Array(values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn keys_are_grouped_by_shard_in_shard_order_with_their_positions() {
        let kv = Kv::new(Config {
            shards: 3,
            listen: false,
            ..Config::default()
        });
        let keys: Vec<Key> = (0..30).map(|i| format!("key{i}").into_bytes()).collect();
        let groups = by_shard(&kv, keys.clone());
        assert_eq!(groups.len(), 3, "30 keys reach every one of 3 shards");
        let mut seen = vec![false; keys.len()];
        for (shard, (positions, group)) in groups {
            assert_eq!(positions.len(), group.len());
            for (position, key) in positions.into_iter().zip(group) {
                assert_eq!(keys[position], key);
                assert_eq!(kv.shard_of(&key), shard);
                assert!(!seen[position]);
                seen[position] = true;
            }
        }
        assert!(seen.into_iter().all(|s| s));
    }

    #[test]
    fn shard_errors_say_whether_the_command_ran() {
        let down = ShardError {
            shard: 2,
            error: CallError::NoProc,
        };
        assert_eq!(
            down.reply(),
            Reply::error("ERR shard 2 is restarting; the command was not run, try again")
        );
        let died = ShardError {
            shard: 0,
            error: CallError::Exit(otp::ExitReason::Killed),
        };
        assert_eq!(
            died.reply(),
            Reply::error(
                "ERR shard 0 exited (:killed) while running the command; it may or may not have \
                 taken effect"
            )
        );
    }
}
