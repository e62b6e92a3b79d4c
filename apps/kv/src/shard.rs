//! A shard: a GenServer that owns one [`Store`] (and its append-only file), so that every
//! operation on its keys runs one at a time, in its process, without locks.
//!
//! Keys are spread over the shards by a fixed hash ([`shard_for`]: FNV-1a, so a key lands on
//! the same shard in every run, which the per-shard files rely on). A connection process sends
//! each single-key command to its key's shard as a [`Request`] and waits for the
//! [`Response`]; multi-key commands are split by shard and fanned out by the connection (see
//! `db`), so a shard never waits for another process and cannot deadlock.
//!
//! A request carries the parsed command's payload as it is: [`Request::Set`],
//! [`Request::IncrBy`] and [`Request::Expire`] hold the [`command::Set`], [`command::IncrBy`]
//! or [`command::Expire`] the parser made, moved in unchanged (the replay of the file builds
//! its requests the same way, from the records `command` parses). So each command's fields
//! are defined once, in `command`; what [`Request`] adds is what only a shard is asked: its
//! share of a multi-key command's keys, and [`Request::Stats`].
//!
//! # Lifecycle
//!
//! * `init` replays the shard's file (if persistence is on) into a fresh store, on otp's
//!   blocking pool, removes the keys whose deadlines passed while it was down, and sets its
//!   first [`Tick`] timer (`Server::send_after`, re-armed by each tick). Until `init`
//!   returns, the supervisor has not finished starting it, and requests wait in its mailbox,
//!   so no request ever sees a half-replayed store.
//! * Every request: apply it to the store, append the records of what changed, commit them
//!   (write, and sync under `always`), reply. An I/O error panics the shard (see `aof`): the
//!   restart replays the file and the caller gets an error, never a false acknowledgement.
//! * **Group commit**, under `always`: a request whose records must be synced before its
//!   reply is applied at once, but its reply is held, and the shard queues a
//!   [`Tick::Commit`] to itself. The requests already in its mailbox come before that
//!   message; they are applied too, their replies held as well (a read among them included:
//!   no reply shows a write that is not yet on disk, and replies leave in request order).
//!   When the `Commit` arrives, one write and one `fdatasync` on the blocking pool cover the
//!   whole group, and then every held reply is sent. While that sync runs, the shard is
//!   suspended and new requests gather in its mailbox: they form the next group. A shard
//!   that dies holding replies takes them with it; their callers get an error, never an
//!   acknowledgement.
//! * Every [`TICK`]: the active expiry sweep, and the once-a-second sync under `everysec`.
//! * The shard traps exits, so a supervisor's `shutdown` runs `terminate`, which commits,
//!   syncs, and sends the replies still held. A `kill` is untrappable: whatever was
//!   acknowledged was on disk (or, under `everysec`/`no`, written to the file) before its
//!   reply, and the restart finds it in the file.
//!
//! A shard is registered in the application's name registry under
//! [`Role::Shard(n)`](crate::app::Role), so after a restart the same name reaches the new
//! process; [`ShardStats`] counts its starts across restarts.

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant},
};

use otp::{
    gen_server::{CallResult, CastResult, From, GenServer, Info, InitResult, Server},
    process, ExitReason,
};

use crate::{
    aof::{self, Aof, FileIo, FileLock, FsyncPolicy, Replay},
    clock::{self, Millis},
    command::{self, Command},
    glob::Pattern,
    store::{ExpireOutcome, IncrError, Key, SetOutcome, Store, Ttl, Value},
};

/// How often a shard runs its periodic duties (redis's `hz 10`).
pub const TICK: Duration = Duration::from_millis(100);

/// The most keys one tick's sweep removes, so a tick stays short when many keys expire at once.
pub const SWEEP_LIMIT: usize = 10_000;

// ANCHOR: shard_for
/// The shard that holds `key` among `shards`: FNV-1a of the key, modulo the count. Stable
/// across runs, platforms and Rust versions.
///
/// ```
/// use kv::shard::shard_for;
///
/// assert_eq!(shard_for(b"", 16), (0xcbf2_9ce4_8422_2325u64 % 16) as usize);
/// assert!(shard_for(b"user:1", 4) < 4);
/// assert_eq!(shard_for(b"user:1", 4), shard_for(b"user:1", 4));
/// ```
pub fn shard_for(key: &[u8], shards: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % shards as u64) as usize
}
// ANCHOR_END: shard_for

/// Counters a shard keeps across its restarts (shared with the application, for `INFO`).
#[derive(Debug, Default)]
pub struct ShardStats {
    starts: AtomicU64,
    syncs: AtomicU64,
}

impl ShardStats {
    /// How many times the shard has started.
    pub fn starts(&self) -> u64 {
        self.starts.load(Relaxed)
    }

    /// How many times it was restarted (starts after the first).
    pub fn restarts(&self) -> u64 {
        self.starts().saturating_sub(1)
    }

    /// How many commits synced the file (under `always`: one per batch of acknowledged
    /// writes, however many the batch held).
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Relaxed)
    }
}

/// Where a shard persists: its file and the fsync policy.
#[derive(Debug, Clone)]
pub struct Persistence {
    /// The shard's append-only file.
    pub path: PathBuf,
    /// When to sync it.
    pub fsync: FsyncPolicy,
    /// Orders the file operations of the shard's successive processes (one per shard, kept
    /// across restarts: see [`FileLock`]).
    pub lock: FileLock,
}

/// What a shard is asked: one operation on its own keys. The single-key commands carry the
/// parsed command's payload as it is (see the [module docs](self)).
#[derive(Debug, Clone)]
pub enum Request {
    /// `GET`.
    Get(Key),
    /// `SET`, as parsed.
    Set(command::Set),
    /// `DEL` of this shard's share of the keys.
    Del(Vec<Key>),
    /// `EXISTS` of this shard's share of the keys.
    Exists(Vec<Key>),
    /// `INCRBY` and friends, as parsed.
    IncrBy(command::IncrBy),
    /// `MGET` of this shard's share of the keys.
    MGet(Vec<Key>),
    /// `MSET` of this shard's share of the pairs.
    MSet(Vec<(Key, Value)>),
    /// The `EXPIRE` family, as parsed (the deadline absolute).
    Expire(command::Expire),
    /// `TTL`/`PTTL` (the answer is in milliseconds; the connection picks the unit).
    Ttl(Key),
    /// `PERSIST`.
    Persist(Key),
    /// `KEYS`.
    Keys(Pattern),
    /// `DBSIZE`.
    DbSize,
    /// `FLUSHALL`.
    FlushAll,
    /// Figures for `INFO`.
    Stats,
}

/// A shard's answer, one variant per kind of request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `GET`: the value.
    Value(Option<Value>),
    /// `SET`: what it did.
    Set(SetOutcome),
    /// `DEL`, `EXISTS`, `DBSIZE`: a count.
    Count(u64),
    /// `INCRBY`: the new value.
    Incr(Result<i64, IncrError>),
    /// `MGET`: the values.
    Values(Vec<Option<Value>>),
    /// `MSET`, `FLUSHALL`: done.
    Done,
    /// `EXPIRE`: what it did.
    Expire(ExpireOutcome),
    /// `TTL`: the time to live.
    Ttl(Ttl),
    /// `PERSIST`: whether a deadline was removed.
    Flag(bool),
    /// `KEYS`: the matching keys.
    Keys(Vec<Key>),
    /// `Stats`.
    Stats(ShardInfo),
}

/// A shard's figures, for `INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShardInfo {
    /// Keys held (expired ones not yet reclaimed included).
    pub keys: usize,
    /// Keys with a deadline.
    pub expires: usize,
    /// The append-only file's size, if persistence is on.
    pub aof_bytes: Option<u64>,
    /// Records the last start replayed.
    pub replayed: u64,
}

/// The messages a shard sends itself.
#[derive(Debug)]
pub enum Tick {
    /// Run the periodic duties (the timer's message).
    Now,
    /// Commit the batch of records appended since the last commit and send the replies that
    /// waited for it (see [`Shard`]'s group commit).
    Commit,
}

/// The shard server's state.
#[derive(Debug)]
pub struct Shard {
    index: usize,
    store: Store,
    persistence: Option<Persistence>,
    aof: Option<Aof>,
    stats: Arc<ShardStats>,
    replayed: u64,
    /// Replies held until the next commit, in the order of their requests.
    waiting: Vec<(From<Response>, Response)>,
    /// Whether a [`Tick::Commit`] is in the mailbox.
    commit_queued: bool,
}

impl Shard {
    /// Shard `index`, persisting as `persistence` says, counting its starts in `stats`.
    pub fn new(index: usize, persistence: Option<Persistence>, stats: Arc<ShardStats>) -> Shard {
        Shard {
            index,
            store: Store::new(),
            persistence,
            aof: None,
            stats,
            replayed: 0,
            waiting: Vec::new(),
            commit_queued: false,
        }
    }

    /// Replays the file into the store; returns the file, open for appending.
    fn replay(&mut self, persistence: &Persistence) -> Result<Aof, aof::AofError> {
        // No write of an earlier process of this shard may still be going on (see FileLock).
        let _held = persistence.lock.lock();
        let mut replay = Replay::open(&persistence.path)?;
        while let Some(record) = replay.next_record()? {
            // At time zero nothing has expired: records apply as they did when written.
            let command = command::parse_request(record, Millis::ZERO)
                .map_err(|e| replay.reject(e.to_string()))?;
            let Some(request) = record_request(command) else {
                return Err(replay.reject("not a record kv writes".to_owned()));
            };
            // No file is open yet, so nothing is logged.
            self.apply(request, Millis::ZERO);
        }
        let (aof, report) = replay.finish(persistence.fsync)?;
        if report.truncated > 0 {
            tracing::warn!(
                shard = self.index,
                bytes = report.truncated,
                "cut off an incomplete last record of {} (a write interrupted by a crash, \
                 never acknowledged)",
                persistence.path.display()
            );
        }
        self.replayed = report.records;
        Ok(aof.with_lock(persistence.lock.clone()))
    }

    /// [`replay`](Shard::replay) on a thread of the blocking pool, which may wait for the
    /// [`FileLock`] and reads the whole file: a fresh store is built there and comes back.
    fn replay_on_pool(&mut self, persistence: Persistence) -> Result<Aof, aof::AofError> {
        let path = persistence.path.clone();
        let mut fresh = Shard::new(self.index, None, self.stats.clone());
        let (fresh, result) = otp::blocking::run(move || {
            let result = fresh.replay(&persistence);
            (fresh, result)
        })
        .map_err(|e| aof::AofError::Io {
            path,
            error: std::io::Error::other(e),
        })?;
        self.store = fresh.store;
        self.replayed = fresh.replayed;
        result
    }

    /// Applies `request` at `now`, appending the records of what changed (if a file is
    /// open).
    fn apply(&mut self, request: Request, now: Millis) -> Response {
        let store = &mut self.store;
        let response = match request {
            Request::Get(key) => Response::Value(store.get(&key, now).map(<[u8]>::to_vec)),
            Request::Set(command::Set {
                key,
                value,
                options,
            }) => {
                let outcome = store.set(key.clone(), value, options, now);
                if outcome.written {
                    self.log_value(&key);
                }
                Response::Set(outcome)
            }
            Request::Del(keys) => {
                let n = store.del(&keys, now);
                if n > 0 {
                    self.log("DEL", keys.iter().map(Vec::as_slice));
                }
                Response::Count(n)
            }
            Request::Exists(keys) => Response::Count(store.exists(&keys, now)),
            Request::IncrBy(command::IncrBy { key, by }) => {
                let result = store.incr_by(&key, by, now);
                if result.is_ok() {
                    self.log_value(&key);
                }
                Response::Incr(result)
            }
            Request::MGet(keys) => Response::Values(store.mget(&keys, now)),
            Request::MSet(pairs) => {
                if let Some(aof) = &mut self.aof {
                    let mut record: Vec<&[u8]> = vec![b"MSET"];
                    for (k, v) in &pairs {
                        record.push(k);
                        record.push(v);
                    }
                    aof.append(&record);
                }
                self.store.mset(pairs);
                Response::Done
            }
            Request::Expire(command::Expire { key, at, when }) => {
                let outcome = store.expire(&key, at, when, now);
                match outcome {
                    ExpireOutcome::Set => {
                        let at = at.0.to_string();
                        self.log("PEXPIREAT", [&key[..], at.as_bytes()].into_iter());
                    }
                    ExpireOutcome::Deleted => self.log("DEL", std::iter::once(&key[..])),
                    ExpireOutcome::NoKey | ExpireOutcome::Unchanged => {}
                }
                Response::Expire(outcome)
            }
            Request::Ttl(key) => Response::Ttl(store.ttl(&key, now)),
            Request::Persist(key) => {
                let removed = store.persist(&key, now);
                if removed {
                    self.log("PERSIST", std::iter::once(&key[..]));
                }
                Response::Flag(removed)
            }
            Request::Keys(pattern) => Response::Keys(store.keys(&pattern, now)),
            Request::DbSize => Response::Count(store.len() as u64),
            Request::FlushAll => {
                store.flush();
                self.log("FLUSHALL", std::iter::empty());
                Response::Done
            }
            Request::Stats => Response::Stats(ShardInfo {
                keys: store.len(),
                expires: store.expiring(),
                aof_bytes: self.aof.as_ref().map(Aof::size),
                replayed: self.replayed,
            }),
        };
        self.log_expired();
        response
    }

    /// Appends a record `name args...` that acknowledges a write.
    fn log<'a>(&mut self, name: &'a str, args: impl Iterator<Item = &'a [u8]>) {
        if let Some(aof) = &mut self.aof {
            let mut record: Vec<&[u8]> = vec![name.as_bytes()];
            record.extend(args);
            aof.append(&record);
        }
    }

    /// Appends `SET key value [PXAT t]`: the key's whole state after a change.
    fn log_value(&mut self, key: &[u8]) {
        let Some(aof) = &mut self.aof else { return };
        let deadline = self.store.deadline_of(key);
        // At time zero nothing has expired, so this never expires the key as a side effect.
        let Some(value) = self.store.get(key, Millis::ZERO) else {
            return;
        };
        match deadline {
            Some(t) => {
                let t = t.0.to_string();
                aof.append(&[b"SET", key, value, b"PXAT", t.as_bytes()]);
            }
            None => aof.append(&[b"SET", key, value]),
        }
    }

    /// Appends a `DEL` for each key that expired since the last call.
    fn log_expired(&mut self) {
        let expired = self.store.take_expired();
        if let Some(aof) = &mut self.aof {
            for key in expired {
                aof.append_unsynced(&[&b"DEL"[..], &key]);
            }
        }
    }

    /// Writes (and under `always` syncs) what was appended, then sends the replies that
    /// waited for it. A failure crashes the shard on purpose: see the module docs. (The
    /// waiting callers then get an error: their `From`s go with the process.)
    fn commit(&mut self) {
        if let Some(aof) = &mut self.aof {
            match aof.commit() {
                Ok(true) => {
                    self.stats.syncs.fetch_add(1, Relaxed);
                }
                Ok(false) => {}
                Err(e) => panic!(
                    "shard {}: cannot write {}: {e}",
                    self.index,
                    aof.path().display()
                ),
            }
        }
        for (from, response) in self.waiting.drain(..) {
            from.reply(response);
        }
    }

    /// Whether the reply to the request just applied must wait for a commit: under `always`,
    /// a reply never goes out before the records it depends on are on disk, and no reply
    /// overtakes one that waits (a read must not show a write not yet durable).
    fn must_wait(&self) -> bool {
        if !self.waiting.is_empty() {
            return true;
        }
        self.aof.as_ref().is_some_and(Aof::commit_syncs)
    }

    /// Asks for the next [`Tick`] in [`TICK`] (a timer aimed at this process: it dies with
    /// it).
    fn arm_tick() {
        let Some(me) = Server::<Shard>::current() else {
            unreachable!("a shard's callbacks run in the shard's process");
        };
        me.send_after(Tick::Now, TICK);
    }
}

/// The request a replayed record stands for; `None` for a command kv never writes to a file.
fn record_request(command: Command) -> Option<Request> {
    Some(match command {
        Command::Set(set) => Request::Set(set),
        Command::Del(keys) => Request::Del(keys),
        Command::MSet(pairs) => Request::MSet(pairs),
        Command::Expire(expire) => Request::Expire(expire),
        Command::Persist(key) => Request::Persist(key),
        Command::FlushAll => Request::FlushAll,
        _ => return None,
    })
}

// ANCHOR: genserver
impl GenServer for Shard {
    type Call = Request;
    type Reply = Response;
    type Cast = std::convert::Infallible;
    type Info = Tick;
    type Continue = ();

    fn init(&mut self) -> InitResult {
        self.stats.starts.fetch_add(1, Relaxed);
        process::trap_exit(true);
        if let Some(persistence) = self.persistence.clone() {
            match self.replay_on_pool(persistence) {
                Ok(aof) => self.aof = Some(aof.with_io(FileIo::BlockingPool)),
                Err(e) => {
                    tracing::error!(shard = self.index, "cannot load the append-only file: {e}");
                    return InitResult::Stop(ExitReason::custom(e.to_string()));
                }
            }
            // Keys whose deadlines passed while the shard was down. No record is needed: a
            // later replay removes them the same way.
            self.store.sweep(clock::now(), usize::MAX);
            self.store.take_expired();
        }
        Shard::arm_tick();
        InitResult::ok()
    }

    fn handle_call(&mut self, request: Request, from: From<Response>) -> CallResult<Response> {
        let response = self.apply(request, clock::now());
        if !self.must_wait() {
            self.commit();
            return CallResult::reply(response);
        }
        // Group commit: the requests already in the mailbox join this batch; the Commit
        // message queued behind them writes and syncs once for all of them.
        self.waiting.push((from, response));
        if !self.commit_queued {
            self.commit_queued = true;
            let Some(me) = Server::<Shard>::current() else {
                unreachable!("a shard's callbacks run in the shard's process");
            };
            let _ = me.send(Tick::Commit);
        }
        CallResult::noreply()
    }

    fn handle_info(&mut self, info: Info<Tick>) -> CastResult {
        // Nothing but its supervisor is linked to a shard, and the server handles the
        // supervisor's exit signals itself (it terminates): a tick is all there is.
        if let Info::Message(Tick::Commit) = info {
            self.commit_queued = false;
            self.commit();
        }
        if let Info::Message(Tick::Now) = info {
            self.store.sweep(clock::now(), SWEEP_LIMIT);
            self.log_expired();
            self.commit();
            if let Some(aof) = &mut self.aof {
                if let Err(e) = aof.tick(Instant::now()) {
                    panic!(
                        "shard {}: cannot sync {}: {e}",
                        self.index,
                        aof.path().display()
                    );
                }
            }
            Shard::arm_tick();
        }
        CastResult::noreply()
    }

    fn terminate(&mut self, _reason: &ExitReason) {
        let Some(aof) = self.aof.take() else { return };
        // On this thread: the runtime may be shutting its pool down.
        let mut aof = aof.with_io(FileIo::Inline);
        match aof.commit().and_then(|_| aof.sync()) {
            // The batch is on disk: its replies can go.
            Ok(()) => {
                for (from, response) in self.waiting.drain(..) {
                    from.reply(response);
                }
            }
            Err(e) => tracing::error!(
                shard = self.index,
                "final sync of {} failed: {e}",
                aof.path().display()
            ),
        }
    }
}
// ANCHOR_END: genserver

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        command::{Expire, IncrBy, Set},
        resp::Args,
        store::{ExpireIf, Expiry, SetOptions},
    };

    /// A directory under the system's temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "kv-shard-{name}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
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

    /// A shard with its file open, outside any process (`apply` and `replay` are plain code).
    fn open(dir: &TempDir) -> Shard {
        let persistence = Persistence {
            path: dir.0.join("shard-0.aof"),
            fsync: FsyncPolicy::Always,
            lock: FileLock::default(),
        };
        let mut shard = Shard::new(0, Some(persistence.clone()), Arc::default());
        let aof = shard.replay(&persistence).unwrap();
        shard.aof = Some(aof);
        shard
    }

    fn records(dir: &TempDir) -> Vec<Args> {
        let mut replay = Replay::open(&dir.0.join("shard-0.aof")).unwrap();
        let mut out = Vec::new();
        while let Some(r) = replay.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    fn words(record: &[&str]) -> Args {
        record.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn records_describe_states_and_replay_to_the_same_keys() {
        let dir = TempDir::new("records");
        let now = Millis(1_000_000);
        let mut shard = open(&dir);
        let set = |key: &str, value: &str, expiry| {
            Request::Set(Set {
                key: b(key),
                value: b(value),
                options: SetOptions {
                    expiry,
                    ..SetOptions::default()
                },
            })
        };
        shard.apply(set("a", "5", Expiry::At(Millis(2_000_000))), now);
        shard.apply(Request::IncrBy(IncrBy { key: b("a"), by: 2 }), now);
        shard.apply(set("b", "x", Expiry::Clear), now);
        shard.apply(
            Request::Expire(Expire {
                key: b("b"),
                at: Millis(3_000_000),
                when: ExpireIf::default(),
            }),
            now,
        );
        shard.apply(Request::Persist(b("b")), now);
        shard.apply(Request::MSet(vec![(b("c"), b("1")), (b("d"), b("2"))]), now);
        shard.apply(Request::Del(vec![b("d"), b("nope")]), now);
        // Requests that change nothing write nothing.
        shard.apply(Request::Del(vec![b("nope")]), now);
        shard.apply(Request::Persist(b("nope")), now);
        shard.apply(Request::Get(b("a")), now);
        shard.commit();
        assert_eq!(
            records(&dir),
            [
                words(&["SET", "a", "5", "PXAT", "2000000"]),
                words(&["SET", "a", "7", "PXAT", "2000000"]),
                words(&["SET", "b", "x"]),
                words(&["PEXPIREAT", "b", "3000000"]),
                words(&["PERSIST", "b"]),
                words(&["MSET", "c", "1", "d", "2"]),
                words(&["DEL", "d", "nope"]),
            ]
        );
        drop(shard);
        let mut again = open(&dir);
        assert_eq!(again.replayed, 7);
        assert_eq!(
            again.apply(Request::MGet(vec![b("a"), b("b"), b("c"), b("d")]), now),
            Response::Values(vec![Some(b("7")), Some(b("x")), Some(b("1")), None])
        );
        assert_eq!(
            again.apply(Request::Ttl(b("a")), now),
            Response::Ttl(Ttl::Remaining(1_000_000))
        );
        assert_eq!(
            again.apply(Request::Ttl(b("b")), now),
            Response::Ttl(Ttl::Persistent)
        );
    }

    #[test]
    fn a_key_that_expires_gets_a_del_record() {
        let dir = TempDir::new("expired");
        let mut shard = open(&dir);
        let options = SetOptions::expire_at(Millis(1_500));
        shard.apply(
            Request::Set(Set {
                key: b("k"),
                value: b("v"),
                options,
            }),
            Millis(1_000),
        );
        assert_eq!(
            shard.apply(Request::Get(b("k")), Millis(1_500)),
            Response::Value(None)
        );
        shard.commit();
        assert_eq!(
            records(&dir),
            [
                words(&["SET", "k", "v", "PXAT", "1500"]),
                words(&["DEL", "k"]),
            ]
        );
    }

    #[test]
    fn a_tick_sweeps_the_keys_nobody_touches() {
        otp::run(|| {
            let shard = otp::gen_server::start_link(Shard::new(0, None, Arc::default())).unwrap();
            let past = Request::Set(Set {
                key: b("old"),
                value: b("v"),
                options: SetOptions::expire_at(Millis(1)),
            });
            shard.call(past).unwrap();
            // Expired but not reclaimed: DBSIZE counts it, as redis's does.
            assert_eq!(shard.call(Request::DbSize), Ok(Response::Count(1)));
            // A tick (as the shard's timer sends it) is handled before the next call.
            shard.send(Tick::Now).unwrap();
            assert_eq!(shard.call(Request::DbSize), Ok(Response::Count(0)));
        });
    }

    #[test]
    fn under_always_the_writes_that_wait_together_share_one_sync() {
        let dir = TempDir::new("group");
        let lock = FileLock::default();
        let persistence = Persistence {
            path: dir.0.join("shard-0.aof"),
            fsync: FsyncPolicy::Always,
            lock: lock.clone(),
        };
        let stats = Arc::new(ShardStats::default());
        let counted = stats.clone();
        otp::run(move || {
            let shard =
                otp::gen_server::start_link(Shard::new(0, Some(persistence), counted)).unwrap();
            let set = |i: usize| {
                Request::Set(Set {
                    key: b(&format!("k{i}")),
                    value: b(&format!("v{i}")),
                    options: SetOptions::default(),
                })
            };
            // Hold the file: the first group's commit waits for us on the blocking pool.
            let held = lock.lock();
            let first = shard.send_request(set(0)).unwrap();
            // Until the shard waits in that commit (in `aof`, not in its replay in `shard`).
            let pid = shard.pid().unwrap();
            let in_commit = || {
                process::info(&pid)
                    .and_then(|i| i.current_location)
                    .is_some_and(|at| at.file().ends_with("aof.rs"))
            };
            // Bounded: a shard that syncs on its own thread would never be seen there.
            let mut looks = 0;
            while !in_commit() {
                looks += 1;
                assert!(looks < 10_000_000, "the shard never waited in its commit");
                otp::yield_now();
            }
            // These queue behind the commit, and form the next group, a read among them.
            let rest: Vec<_> = (1..10)
                .map(|i| shard.send_request(set(i)).unwrap())
                .collect();
            let read = shard.send_request(Request::Get(b("k5"))).unwrap();
            let Err(Ok(first)) = first.check_response() else {
                panic!("acknowledged before its sync")
            };
            drop(held);
            let written = |r| matches!(r, Ok(Response::Set(SetOutcome { written: true, .. })));
            assert!(written(first.receive_response(otp::Timeout::Infinity)));
            for r in rest {
                assert!(written(r.receive_response(otp::Timeout::Infinity)));
            }
            assert_eq!(
                read.receive_response(otp::Timeout::Infinity),
                Ok(Response::Value(Some(b("v5"))))
            );
            // One sync for the first write, one for the nine after it (and the read waited
            // for it).
            assert_eq!(stats.syncs(), 2);
        });
        assert_eq!(records(&dir).len(), 10);
    }

    #[test]
    fn a_record_kv_never_writes_is_damage() {
        let dir = TempDir::new("foreign");
        let mut bytes = Vec::new();
        crate::resp::encode_command(&mut bytes, &["SET", "a", "1"]);
        crate::resp::encode_command(&mut bytes, &["GET", "a"]);
        std::fs::write(dir.0.join("shard-0.aof"), bytes).unwrap();
        let persistence = Persistence {
            path: dir.0.join("shard-0.aof"),
            fsync: FsyncPolicy::No,
            lock: FileLock::default(),
        };
        let mut shard = Shard::new(0, Some(persistence.clone()), Arc::default());
        let err = shard.replay(&persistence).unwrap_err();
        assert!(err.to_string().contains("not a record kv writes"), "{err}");
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        // FNV-1a 64-bit test vectors (from the reference implementation's test suite).
        let fnv = |s: &[u8]| {
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for &b in s {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
            hash
        };
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(
            shard_for(b"foobar", 1 << 20),
            (0x8594_4171_f739_67e8u64 % (1 << 20)) as usize
        );
    }

    #[test]
    fn keys_spread_over_every_shard() {
        let mut counts = [0usize; 8];
        for i in 0..8000 {
            counts[shard_for(format!("key:{i}").as_bytes(), 8)] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
    }
}
