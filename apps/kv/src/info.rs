//! `INFO [section ...]`: the server's state as `field:value` lines under `# Section` headers,
//! in redis's format, with two sections of our own.
//!
//! | section | fields |
//! |---|---|
//! | `server` | `redis_version` (the protocol level kv speaks), `kv_version`, `process_id`, `tcp_port`, uptime, `hz` |
//! | `clients` | `connected_clients`, `maxclients` |
//! | `persistence` | `aof_enabled`, `aof_fsync`, `aof_dir`, `aof_current_size`, `aof_replayed_records` |
//! | `stats` | `total_connections_received`, `total_commands_processed`, `rejected_connections`, `pubsub_channels` |
//! | `processes` | `process_count` (`otp::process::list().len()`), `schedulers`, `shards`, `shard_restarts` |
//! | `shards` | `shard_N:pid=<0.12.0>,keys=..,expires=..,restarts=..` (a shard being restarted shows `pid=none`) |
//! | `keyspace` | `db0:keys=..,expires=..,avg_ttl=0` (no line when empty, as redis) |
//!
//! With no section, `default`, `all` or `everything`, every section is shown; names are
//! case-insensitive; an unknown one adds nothing (an empty reply if nothing matched, as
//! redis).

use std::fmt::{Display, Write as _};

use crate::{
    app::Kv,
    db,
    shard::{Request, Response, ShardInfo},
};

/// The redis version kv reports: the protocol and command semantics it follows.
pub const REDIS_VERSION: &str = "7.0.15";

const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "persistence",
    "stats",
    "processes",
    "shards",
    "keyspace",
];

/// The `INFO` text for `sections` (lower case).
pub fn render(kv: &Kv, sections: &[String]) -> String {
    let everything = sections.is_empty()
        || sections
            .iter()
            .any(|s| matches!(s.as_str(), "default" | "all" | "everything"));
    let wanted: Vec<&str> = SECTIONS
        .iter()
        .copied()
        .filter(|s| everything || sections.iter().any(|w| w == s))
        .collect();
    // Shard figures come from the shards themselves: one call each, only if needed.
    let needs_shards = wanted
        .iter()
        .any(|s| matches!(*s, "persistence" | "shards" | "keyspace"));
    let shards: Vec<Option<ShardInfo>> = if needs_shards {
        (0..kv.shard_count())
            .map(|i| match db::call(kv, i, Request::Stats) {
                Ok(Response::Stats(info)) => Some(info),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut out = String::new();
    for (n, section) in wanted.iter().enumerate() {
        if n > 0 {
            out.push_str("\r\n");
        }
        let (title, fields) = section_fields(kv, section, &shards);
        let _ = write!(out, "# {title}\r\n");
        for (key, value) in fields {
            let _ = write!(out, "{key}:{value}\r\n");
        }
    }
    out
}

/// A section's title and its fields.
fn section_fields(
    kv: &Kv,
    section: &str,
    shards: &[Option<ShardInfo>],
) -> (&'static str, Vec<(String, String)>) {
    let config = kv.config();
    let stats = kv.stats();
    let mut fields = Vec::new();
    let mut field =
        |key: &str, value: &dyn Display| fields.push((key.to_owned(), value.to_string()));
    let title = match section {
        "server" => {
            let uptime = kv.uptime().as_secs();
            field("redis_version", &REDIS_VERSION);
            field("kv_version", &env!("CARGO_PKG_VERSION"));
            field("redis_mode", &"standalone");
            field(
                "os",
                &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            );
            field("arch_bits", &usize::BITS);
            field("multiplexing_api", &"otp");
            field("process_id", &std::process::id());
            field("tcp_port", &config.port);
            field("uptime_in_seconds", &uptime);
            field("uptime_in_days", &(uptime / 86_400));
            field("hz", &10);
            "Server"
        }
        "clients" => {
            field("connected_clients", &stats.connected_clients());
            field("maxclients", &config.maxclients);
            "Clients"
        }
        "persistence" => {
            field("loading", &0);
            field("aof_enabled", &u8::from(config.aof.is_some()));
            field("aof_fsync", &config.fsync);
            let dir = config
                .aof
                .as_ref()
                .map_or_else(String::new, |d| d.display().to_string());
            field("aof_dir", &dir);
            let size: u64 = shards.iter().flatten().filter_map(|s| s.aof_bytes).sum();
            field("aof_current_size", &size);
            let replayed: u64 = shards.iter().flatten().map(|s| s.replayed).sum();
            field("aof_replayed_records", &replayed);
            "Persistence"
        }
        "stats" => {
            field("total_connections_received", &stats.total_connections());
            field("total_commands_processed", &stats.total_commands());
            field("rejected_connections", &stats.rejected_connections());
            field("pubsub_channels", &kv.pubsub().channels());
            "Stats"
        }
        "processes" => {
            field("process_count", &otp::process::list().len());
            field("schedulers", &config.schedulers);
            field("shards", &kv.shard_count());
            let restarts: u64 = (0..kv.shard_count())
                .map(|i| kv.shard_stats(i).restarts())
                .sum();
            field("shard_restarts", &restarts);
            "Processes"
        }
        "shards" => {
            for (i, info) in shards.iter().enumerate() {
                let pid = kv
                    .shard(i)
                    .pid()
                    .map_or_else(|| "none".to_owned(), |p| p.to_string());
                let info = info.unwrap_or_default();
                field(
                    &format!("shard_{i}"),
                    &format!(
                        "pid={pid},keys={},expires={},restarts={}",
                        info.keys,
                        info.expires,
                        kv.shard_stats(i).restarts()
                    ),
                );
            }
            "Shards"
        }
        _ => {
            let keys: usize = shards.iter().flatten().map(|s| s.keys).sum();
            let expires: usize = shards.iter().flatten().map(|s| s.expires).sum();
            if keys > 0 {
                field("db0", &format!("keys={keys},expires={expires},avg_ttl=0"));
            }
            "Keyspace"
        }
    };
    (title, fields)
}
