//! Settings: command-line flags over the otp application environment over defaults.
//!
//! Every setting can be given three ways; the first found wins:
//!
//! 1. a flag: `--port 7000` or `--port=7000`;
//! 2. the application environment of `kv` (see `otp::application::env`): the OS variable
//!    `KV_PORT=7000`, or `port = 7000` under `[kv]` in the file named by `KV_CONFIG`; the
//!    key is the flag's name with `_` for `-` (`--max-bulk` → `max_bulk`, `KV_MAX_BULK`);
//! 3. the default.
//!
//! The number of shards defaults to the number of schedulers, one shard per core: a shard is
//! one process, so more shards than cores add fan-out work for multi-key commands without
//! adding parallelism, and fewer leave cores idle under load. With persistence, the files'
//! manifest fixes the count (keys are placed by `hash % shards`), so an existing directory's
//! count becomes the default and another count is refused.
//!
//! Sizes (`--max-bulk`) take redis's units: `b`, `k` = 1000, `kb` = 1024, `m`, `mb`, `g`,
//! `gb`, case-insensitive (`512mb`).

use std::{fmt, path::PathBuf};

use crate::{
    aof::{self, FsyncPolicy},
    command::ConfigQuery,
    connection,
    resp::{Limits, Reply},
};

/// The server's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The address to listen on.
    pub bind: String,
    /// The TCP port.
    pub port: u16,
    /// How many shards the keys are spread over.
    pub shards: usize,
    /// Scheduler threads of the runtime.
    pub schedulers: usize,
    /// The directory of the append-only files; `None`: in memory only.
    pub aof: Option<PathBuf>,
    /// When the files are synced.
    pub fsync: FsyncPolicy,
    /// Request size limits.
    pub limits: Limits,
    /// The most clients connected at once.
    pub maxclients: usize,
    /// Whether `DEBUG` (fault injection) is allowed.
    pub debug_command: bool,
    /// Whether to start the TCP acceptor. Tests that connect in memory turn it off.
    pub listen: bool,
}

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Config {
            bind: "127.0.0.1".to_owned(),
            port: 6380,
            shards: cores,
            schedulers: cores,
            aof: None,
            fsync: FsyncPolicy::EverySec,
            limits: Limits::default(),
            maxclients: 10_000,
            debug_command: false,
            listen: true,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run the server with these settings.
    Run(Config),
    /// Print [`USAGE`] and exit.
    Help,
}

/// A setting that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The `--help` text.
pub const USAGE: &str = "\
kv: a supervised, Redis-compatible key-value server on otp

usage: kv [options]

  --port N                      TCP port (default 6380)
  --bind ADDR                   address to listen on (default 127.0.0.1)
  --shards N                    shards the keys are spread over (default: one per scheduler,
                                or the count recorded in the --aof directory)
  --schedulers N                scheduler threads (default: one per core)
  --aof DIR                     append-only files in DIR, replayed at start (default: none,
                                in memory only)
  --fsync always|everysec|no    when the files are synced (default everysec)
  --max-bulk SIZE               longest bulk string accepted (default 512mb)
  --max-array N                 most elements a request may have (default 2147483647)
  --maxclients N                most clients at once (default 10000)
  --enable-debug-command yes|no allow DEBUG KILLSHARD (fault injection; default no)
  --help                        this text

Each setting can also come from the environment (KV_PORT=7000, KV_MAX_BULK=1mb) or from a
file named by KV_CONFIG with a [kv] section (port = 7000); flags win over both.
";

/// The settings in the order of [`USAGE`]: the flag's name (without `--`).
const SETTINGS: &[&str] = &[
    "port",
    "bind",
    "shards",
    "schedulers",
    "aof",
    "fsync",
    "max-bulk",
    "max-array",
    "maxclients",
    "enable-debug-command",
];

/// Settings given explicitly (by flag or environment), before defaults.
#[derive(Debug, Default)]
struct Given {
    shards: Option<usize>,
    schedulers: Option<usize>,
}

/// Reads the command line (without the program name) over the application environment.
///
/// # Errors
///
/// An unknown flag, a missing or malformed value, or a persistence directory whose manifest
/// cannot be read.
///
/// ```
/// use kv::config::{parse_args, Action};
///
/// let Action::Run(config) = parse_args(["--port=7000", "--max-bulk", "1kb"].map(String::from)).unwrap() else {
///     unreachable!()
/// };
/// assert_eq!((config.port, config.limits.max_bulk_len), (7000, 1024));
/// assert_eq!(parse_args(["--help".to_owned()]).unwrap(), Action::Help);
/// assert!(parse_args(["--prot".to_owned()]).is_err());
/// ```
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Action, ConfigError> {
    let mut config = Config::default();
    let mut given = Given::default();
    for name in SETTINGS {
        let key = name.replace('-', "_");
        let value = otp::application::get_env::<String>("kv", &key)
            .map_err(|e| ConfigError(e.to_string()))?;
        if let Some(value) = value {
            apply(&mut config, &mut given, name, &value).map_err(|e| {
                ConfigError(format!("{} (from the environment): {e}", env_name(&key)))
            })?;
        }
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Action::Help);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(ConfigError(format!(
                "unexpected argument {arg:?} (see --help)"
            )));
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => {
                let value = args
                    .next()
                    .ok_or_else(|| ConfigError(format!("--{flag} needs a value")))?;
                (flag.to_owned(), value)
            }
        };
        if !SETTINGS.contains(&name.as_str()) {
            return Err(ConfigError(format!("unknown flag --{name} (see --help)")));
        }
        apply(&mut config, &mut given, &name, &value)
            .map_err(|e| ConfigError(format!("--{name}: {e}")))?;
    }
    if let Some(n) = given.schedulers {
        config.schedulers = n;
    }
    config.shards = match (given.shards, &config.aof) {
        (Some(n), _) => n,
        (None, Some(dir)) => aof::read_manifest(dir)
            .map_err(|e| ConfigError(e.to_string()))?
            .unwrap_or(config.schedulers),
        (None, None) => config.schedulers,
    };
    Ok(Action::Run(config))
}

fn env_name(key: &str) -> String {
    format!("KV_{}", key.to_ascii_uppercase())
}

/// Sets one setting from its text.
fn apply(config: &mut Config, given: &mut Given, name: &str, value: &str) -> Result<(), String> {
    let count = |v: &str, max: usize| -> Result<usize, String> {
        match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("expected a number from 1 to {max}, got {v:?}")),
        }
    };
    match name {
        "port" => {
            config.port = value
                .parse()
                .map_err(|_| format!("not a port: {value:?}"))?
        }
        "bind" => config.bind = value.to_owned(),
        "shards" => given.shards = Some(count(value, 4096)?),
        "schedulers" => given.schedulers = Some(count(value, 1024)?),
        "aof" => config.aof = (!value.is_empty()).then(|| PathBuf::from(value)),
        "fsync" => config.fsync = value.parse()?,
        "max-bulk" => {
            config.limits.max_bulk_len = parse_size(value)
                .filter(|&n| n >= 1)
                .ok_or_else(|| format!("not a size: {value:?} (e.g. 512mb)"))?;
        }
        "max-array" => config.limits.max_array_len = count(value, i32::MAX as usize)?,
        "maxclients" => config.maxclients = count(value, 1_000_000)?,
        "enable-debug-command" => {
            config.debug_command = match value.to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err(format!("expected yes or no, got {value:?}")),
            };
        }
        other => unreachable!("{other} is in SETTINGS"),
    }
    Ok(())
}

/// A size with redis's units (`memtoll`): `100`, `1k` (1000), `1kb` (1024), `5mb`, `1gb`.
///
/// ```
/// use kv::config::parse_size;
///
/// assert_eq!(parse_size("512mb"), Some(512 * 1024 * 1024));
/// assert_eq!(parse_size("1k"), Some(1000));
/// assert_eq!(parse_size("7"), Some(7));
/// assert_eq!(parse_size("lots"), None);
/// ```
pub fn parse_size(text: &str) -> Option<usize> {
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(digits_end);
    let multiplier: usize = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<usize>().ok()?.checked_mul(multiplier)
}

impl Config {
    /// The address to listen on, `bind:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.bind, self.port)
    }

    /// The parameters `CONFIG GET` knows, with their values in redis's spelling.
    pub fn parameters(&self) -> Vec<(&'static str, String)> {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
        vec![
            ("appendfsync", self.fsync.to_string()),
            ("appendonly", yes_no(self.aof.is_some())),
            ("bind", self.bind.clone()),
            ("databases", "1".to_owned()),
            (
                "dir",
                self.aof
                    .as_ref()
                    .map_or_else(String::new, |d| d.display().to_string()),
            ),
            ("enable-debug-command", yes_no(self.debug_command)),
            ("maxclients", self.maxclients.to_string()),
            ("port", self.port.to_string()),
            ("proto-max-bulk-len", self.limits.max_bulk_len.to_string()),
            // No snapshots: what redis says with `save ""`.
            ("save", String::new()),
        ]
    }

    /// The reply to `CONFIG GET`/`CONFIG HELP`. `redis-benchmark` asks for `save` and
    /// `appendonly` when it starts.
    pub fn config_reply(&self, query: &ConfigQuery) -> Reply {
        match query {
            ConfigQuery::Get(patterns) => Reply::Array(
                self.parameters()
                    .into_iter()
                    .filter(|(name, _)| patterns.iter().any(|p| p.matches(name.as_bytes())))
                    .flat_map(|(name, value)| [Reply::bulk(name), Reply::bulk(value)])
                    .collect(),
            ),
            ConfigQuery::Help => connection::help(&[
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "HELP",
                "    Print this help.",
                "(kv's settings are fixed at startup: there is no CONFIG SET.)",
            ]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::Pattern;

    fn run(args: &[&str]) -> Config {
        match parse_args(args.iter().map(|s| (*s).to_owned())).unwrap() {
            Action::Run(c) => c,
            Action::Help => panic!("help"),
        }
    }

    #[test]
    fn defaults() {
        let c = run(&[]);
        assert_eq!(c.port, 6380);
        assert_eq!(c.bind, "127.0.0.1");
        assert_eq!(c.shards, c.schedulers);
        assert_eq!(c.fsync, FsyncPolicy::EverySec);
        assert_eq!(c.limits.max_bulk_len, 512 * 1024 * 1024);
        assert!(c.aof.is_none() && !c.debug_command && c.listen);
    }

    #[test]
    fn flags_in_both_spellings() {
        let c = run(&[
            "--port",
            "7001",
            "--bind=0.0.0.0",
            "--shards",
            "3",
            "--schedulers=2",
            "--aof",
            "/tmp/x",
            "--fsync",
            "ALWAYS",
            "--max-array",
            "10",
            "--maxclients",
            "5",
            "--enable-debug-command",
            "yes",
        ]);
        assert_eq!(c.port, 7001);
        assert_eq!(c.bind, "0.0.0.0");
        assert_eq!((c.shards, c.schedulers), (3, 2));
        assert_eq!(c.aof, Some(PathBuf::from("/tmp/x")));
        assert_eq!(c.fsync, FsyncPolicy::Always);
        assert_eq!(c.limits.max_array_len, 10);
        assert_eq!(c.maxclients, 5);
        assert!(c.debug_command);
    }

    #[test]
    fn shards_follow_the_schedulers_by_default() {
        let c = run(&["--schedulers", "3"]);
        assert_eq!(c.shards, 3);
    }

    #[test]
    fn bad_values_are_errors_that_name_the_flag() {
        for (args, needle) in [
            (&["--port", "x"][..], "--port"),
            (&["--shards", "0"], "--shards"),
            (&["--fsync", "sometimes"], "--fsync"),
            (&["--max-bulk", "12q"], "--max-bulk"),
            (
                &["--enable-debug-command", "maybe"],
                "--enable-debug-command",
            ),
            (&["--port"], "needs a value"),
            (&["--nope", "1"], "unknown flag --nope"),
            (&["stray"], "unexpected argument"),
        ] {
            let err = parse_args(args.iter().map(|s| (*s).to_owned())).unwrap_err();
            assert!(err.0.contains(needle), "{args:?}: {err}");
        }
    }

    #[test]
    fn config_get_matches_globs() {
        let c = Config::default();
        let reply = c.config_reply(&ConfigQuery::Get(vec![
            Pattern::new("save"),
            Pattern::new("append*"),
        ]));
        assert_eq!(
            reply,
            Reply::Array(vec![
                Reply::bulk("appendfsync"),
                Reply::bulk("everysec"),
                Reply::bulk("appendonly"),
                Reply::bulk("no"),
                Reply::bulk("save"),
                Reply::bulk(""),
            ])
        );
    }

    #[test]
    fn every_setting_has_a_line_in_the_usage() {
        for name in SETTINGS {
            assert!(USAGE.contains(&format!("--{name} ")), "{name}");
        }
    }
}
