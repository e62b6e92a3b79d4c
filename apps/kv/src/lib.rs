//! kv: a Redis-compatible key-value server, built as an otp application.
//!
//! Real Redis clients (`redis-cli`, `redis-benchmark`, client libraries) talk to it in RESP2:
//! strings with expiry, counters, multi-key commands, pattern `KEYS`, pub/sub, `INFO`. Inside,
//! it is a supervision tree: keys are spread over shard GenServers, each owning its part of
//! the keyspace and, optionally, an append-only file that it replays when it starts, so a
//! shard that crashes is restarted by its supervisor with nothing acknowledged lost; every
//! client connection is its own pair of processes under a Task.Supervisor.
//!
//! ```text
//! client ──bytes──▶ connection (reader task + session) ──call──▶ shard i = hash(key) % n
//!                        │  resp::Parser → command::parse → db::execute      │
//!                        ◀──────────── reply ─────────────────────────── Store + aof
//! ```
//!
//! # Modules, bottom up
//!
//! * [`resp`]: the protocol: an incremental request parser and a reply encoder.
//! * [`glob`]: redis's glob patterns, for `KEYS` and `CONFIG GET`.
//! * [`command`]: requests as typed [`Command`](command::Command)s, with redis's errors.
//! * [`clock`]: absolute, monotonic milliseconds for deadlines.
//! * [`store`]: one shard's data, with lazy and active expiry.
//! * [`aof`]: append-only files: records, fsync policies, replay of a torn file.
//! * [`shard`]: the shard GenServer and the key → shard hash.
//! * [`db`]: commands routed to shards, multi-key ones fanned out.
//! * [`pubsub`]: channels through a duplicate-key `Registry`.
//! * [`connection`]: a client's reader and session, over any [`Transport`](connection::Transport).
//! * [`memory`]: an in-memory transport, for tests (TCP is `otp::io::TcpStream`, see [`connection`]).
//! * [`info`], [`debug`]: `INFO` and `DEBUG KILLSHARD`.
//! * [`config`]: flags and the application environment.
//! * [`app`]: the supervision tree and the shared [`Kv`](app::Kv) handle.
//! * [`acceptor`]: the TCP acceptor: binds, accepts, hands each connection to [`app::Kv::accept`].
//!
//! See `apps/kv/README.md` for running it, the flags and the persistence guarantees.

#![forbid(unsafe_code)]

pub mod acceptor;
pub mod aof;
pub mod app;
pub mod clock;
pub mod command;
pub mod config;
pub mod connection;
pub mod db;
pub mod debug;
pub mod glob;
pub mod info;
pub mod memory;
pub mod pubsub;
pub mod resp;
pub mod shard;
pub mod store;
