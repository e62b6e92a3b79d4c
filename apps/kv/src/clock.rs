//! Time for expiries: milliseconds since the Unix epoch, read from a monotonic clock.
//!
//! Redis keeps expiry deadlines as absolute Unix times in milliseconds, because they must mean
//! the same after a restart: the append-only file stores them (`PEXPIREAT key ms`), and
//! `EXPIREAT`/`PXAT` take them from clients. We do the same, with one refinement: the clock is
//! read as a fixed wall-clock reading taken once per OS process plus a monotonic `Instant`
//! elapsed since, so a wall-clock step (NTP, an operator) while the server runs neither expires
//! keys early nor keeps them late. Only a restart picks up a changed wall clock.
//!
//! Every store operation takes `now` as an argument instead of reading the clock, so tests
//! choose the time and never sleep.

use std::{
    sync::OnceLock,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

/// A point in time: milliseconds since the Unix epoch.
///
/// ```
/// use kv::clock::Millis;
///
/// let t = Millis(1_000);
/// assert_eq!(t.plus(500), Some(Millis(1_500)));
/// assert_eq!(Millis(u64::MAX).plus(1), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    /// The earliest time: what a replay of the append-only file runs at, so that nothing
    /// expires while the file's records are applied (see `aof`).
    pub const ZERO: Millis = Millis(0);

    /// This time plus `ms` milliseconds, `None` on overflow.
    pub fn plus(self, ms: u64) -> Option<Millis> {
        self.0.checked_add(ms).map(Millis)
    }

    /// Milliseconds from `self` until `later` (0 if `later` is not later).
    pub fn until(self, later: Millis) -> u64 {
        later.0.saturating_sub(self.0)
    }
}

struct Anchor {
    wall: Millis,
    mono: Instant,
}

static ANCHOR: OnceLock<Anchor> = OnceLock::new();

/// The current time, monotonic within this OS process (see the [module docs](self)).
///
/// ```
/// let a = kv::clock::now();
/// let b = kv::clock::now();
/// assert!(b >= a);
/// ```
pub fn now() -> Millis {
    let anchor = ANCHOR.get_or_init(|| Anchor {
        wall: Millis(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        ),
        mono: Instant::now(),
    });
    let elapsed = u64::try_from(anchor.mono.elapsed().as_millis()).unwrap_or(u64::MAX);
    Millis(anchor.wall.0.saturating_add(elapsed))
}
