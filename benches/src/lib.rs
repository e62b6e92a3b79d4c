//! Shared helpers for the benchmark binaries in `src/bin/`: argument parsing, the runtime
//! set-up, timing, RSS reading and the `bench=NAME impl=otp key=value ...` output lines.
//!
//! Each binary mirrors one BEAM anchor script (`shared/anchors/beam/*.exs`): same positional
//! arguments, same output keys. See `benches/README.md` for the workloads and how every key is
//! computed.

use std::{
    fmt::Display,
    io::Write,
    process::exit,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::{Duration, Instant},
};

/// How long a wait loop may see no progress at all before the benchmark gives up (processes
/// that die before reporting in, e.g. with `system_limit` when no stack could be had, would
/// otherwise make it wait forever).
const STALL_LIMIT: Duration = Duration::from_secs(10);

/// Parsed command line: the positional arguments of the BEAM script, plus the scheduler count.
///
/// The scheduler count comes from `--schedulers N` (or `--schedulers=N`) anywhere on the command
/// line, else from the `OTP_SCHEDULERS` environment variable, else one per available core (the
/// [`otp::Builder`] default, like the BEAM's `+S` default).
#[derive(Debug, Clone)]
pub struct Args {
    usage: &'static str,
    positional: Vec<String>,
    /// Scheduler threads the runtime will start (printed as `schedulers=`).
    pub schedulers: usize,
}

impl Args {
    /// Parses `std::env::args()`. `usage` is the argument synopsis printed on errors, e.g.
    /// `"ring R M"`.
    pub fn parse(usage: &'static str) -> Args {
        let mut positional = Vec::new();
        let mut flag = None;
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            if a == "--schedulers" {
                flag = Some(
                    it.next()
                        .unwrap_or_else(|| usage_error(usage, "--schedulers needs a value")),
                );
            } else if let Some(v) = a.strip_prefix("--schedulers=") {
                flag = Some(v.to_string());
            } else if a == "-h" || a == "--help" {
                println!("usage: {usage} [--schedulers N]  (or OTP_SCHEDULERS=N)");
                exit(0);
            } else {
                positional.push(a);
            }
        }
        let requested = flag.or_else(|| {
            std::env::var("OTP_SCHEDULERS")
                .ok()
                .filter(|s| !s.is_empty())
        });
        let schedulers = match requested {
            Some(s) => match s.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => usage_error(usage, &format!("bad scheduler count {s:?}")),
            },
            None => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        };
        Args {
            usage,
            positional,
            schedulers,
        }
    }

    /// Positional argument `i` (0-based) as an integer; `_` separators are allowed, as in
    /// `1_000_000`. Exits with the usage message if it is missing or not a number.
    pub fn int(&self, i: usize) -> u64 {
        match self.positional.get(i) {
            Some(s) => self.parse_int(s),
            None => usage_error(self.usage, &format!("missing argument {}", i + 1)),
        }
    }

    /// Positional argument `i` as an integer, or `default` if absent.
    pub fn int_or(&self, i: usize, default: u64) -> u64 {
        self.positional
            .get(i)
            .map_or(default, |s| self.parse_int(s))
    }

    /// Positional argument `i` as a string, or `default` if absent.
    pub fn str_or<'a>(&'a self, i: usize, default: &'a str) -> &'a str {
        self.positional.get(i).map_or(default, String::as_str)
    }

    /// How many positional arguments were given.
    pub fn len(&self) -> usize {
        self.positional.len()
    }

    /// Whether no positional argument was given.
    pub fn is_empty(&self) -> bool {
        self.positional.is_empty()
    }

    fn parse_int(&self, s: &str) -> u64 {
        s.replace('_', "").parse().unwrap_or_else(|_| {
            usage_error(self.usage, &format!("not a non-negative integer: {s:?}"))
        })
    }

    /// Starts a runtime with [`Args::schedulers`] scheduler threads and runs `root` as its root
    /// process, returning its value. If the root process crashes, prints its exit reason to
    /// stderr and exits with status 1.
    pub fn run<M, A, R, F>(&self, root: F) -> R
    where
        F: otp::process::ProcessFn<M, A, R>,
        M: Send + 'static,
        R: Send + 'static,
    {
        let rt = otp::Builder::new()
            .schedulers(self.schedulers)
            .build()
            .unwrap_or_else(|e| {
                eprintln!("could not start the otp runtime: {e}");
                exit(1)
            });
        match rt.block_on(root) {
            Ok(v) => v,
            Err(reason) => {
                eprintln!("the root process exited: {reason}");
                exit(1)
            }
        }
    }
}

/// Prints `msg` and the usage line to stderr and exits with status 2.
pub fn usage_error(usage: &str, msg: &str) -> ! {
    eprintln!("error: {msg}\nusage: {usage} [--schedulers N]  (or OTP_SCHEDULERS=N)");
    exit(2)
}

/// Nanoseconds in `d`, as a float.
pub fn ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

/// Milliseconds in `d`, as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nanoseconds per item: `d / n`.
pub fn ns_per(d: Duration, n: u64) -> f64 {
    ns(d) / n as f64
}

/// Resident set size of this OS process in bytes: `VmRSS` of `/proc/self/status` (as the BEAM
/// and Go anchors read it). 0 if it cannot be read.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Live processes of the current runtime, `:erlang.system_info(:process_count)`'s counterpart.
///
/// The runtime has no O(1) process count yet, so this is `otp::process::list().len()`, which
/// copies (and sorts) the whole process table: O(live processes). Call it only when few
/// processes are expected to be alive.
pub fn process_count() -> usize {
    otp::process::list().len()
}

/// Spins with [`otp::yield_now`] between checks (as the BEAM scripts do with
/// `:erlang.yield()`) until `counter` reaches `target`.
///
/// # Gives up
///
/// Exits the OS process with status 1 (after a message on stderr) if the counter does not move
/// for 10 s: processes died before reporting in (e.g. with `system_limit` because no stack could
/// be allocated), or they never get to run (a scheduler that only ever runs the spinning caller).
pub fn wait_counter(counter: &AtomicU64, target: u64, what: &str) {
    let mut last = counter.load(Relaxed);
    let mut since = Instant::now();
    let mut spins = 0u32;
    while counter.load(Relaxed) < target {
        otp::yield_now();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1024) {
            let now = counter.load(Relaxed);
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() > STALL_LIMIT {
                eprintln!(
                    "stalled: {what} at {now} of {target}, no progress for {STALL_LIMIT:?}: the missing \
                     processes died before reporting in (e.g. system_limit: no stack could be allocated) \
                     or are never scheduled"
                );
                exit(1);
            }
        }
    }
}

/// Spins with [`otp::yield_now`] between checks until [`process_count`] is at most `target`.
pub fn wait_process_count(target: usize) {
    while process_count() > target {
        otp::yield_now();
    }
}

/// One output line, `bench=NAME impl=otp key=value ...`, built key by key in the BEAM script's
/// order and printed with [`Line::print`].
#[derive(Debug, Clone)]
pub struct Line(String);

impl Line {
    /// Starts `bench=NAME impl=otp`.
    pub fn new(bench: &str) -> Line {
        Line(format!("bench={bench} impl=otp"))
    }

    /// Appends ` key=value`.
    pub fn kv(mut self, key: &str, value: impl Display) -> Line {
        use std::fmt::Write as _;
        let _ = write!(self.0, " {key}={value}");
        self
    }

    /// Appends ` key=x` with `x` rounded to `decimals` places and printed as Elixir prints
    /// `Float.round(x, decimals)` (shortest form, always with a decimal point: `2690.0`,
    /// `243.06`).
    pub fn float(self, key: &str, x: f64, decimals: u32) -> Line {
        self.kv(key, elixir_round(x, decimals))
    }

    /// Prints the line on stdout and flushes.
    pub fn print(self) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", self.0);
        let _ = out.flush();
    }
}

/// `x` rounded to `decimals` places, formatted like Elixir's `Float.round/2` result.
pub fn elixir_round(x: f64, decimals: u32) -> String {
    let scale = 10f64.powi(i32::try_from(decimals).unwrap_or(i32::MAX));
    let r = (x * scale).round() / scale;
    let s = format!("{r}");
    if r.is_finite() && !s.contains('.') {
        format!("{s}.0")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_like_elixir() {
        assert_eq!(elixir_round(2690.0, 1), "2690.0");
        assert_eq!(elixir_round(243.0614, 2), "243.06");
        assert_eq!(elixir_round(0.25, 1), "0.3");
        assert_eq!(elixir_round(71547.24, 1), "71547.2");
    }

    #[test]
    fn rss_is_read() {
        assert!(rss_bytes() > 0);
    }
}
