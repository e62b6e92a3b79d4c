//! Timers: `send_after`, `cancel_timer`, `read_timer`, and the deadlines of `receive ... after`.
//!
//! Each scheduler owns a hierarchical timer wheel ([`wheel`]) with 1 ms ticks; there is no
//! timer thread. A timer set by a process goes into its scheduler's wheel; one set from outside
//! the runtime goes through a small inbox to a scheduler. Cancelling is a compare-and-swap on the
//! timer's state, from any thread: the wheel entry stays until its slot comes round and is then
//! skipped, so cancel never touches another thread's wheel.
//!
//! As on the BEAM: a named destination is looked up when the timer fires (nobody registered:
//! dropped silently); a timer aimed at a pid stops counting once that pid is dead; equal
//! deadlines fire in the order they were set.

mod deadline;
mod wheel;

pub(crate) use self::deadline::{Deadline, When};

use std::{
    cell::RefCell,
    fmt,
    sync::{
        atomic::{AtomicU8, Ordering::AcqRel},
        Arc, Mutex, PoisonError, Weak,
    },
    time::{Duration, Instant},
};

use self::{deadline::Pending, wheel::Wheel};
use crate::process::{
    core::{Local, WAIT_PENDING},
    core_ref::CoreRef,
};
use crate::{
    process::pid::{AnyPid, Pid},
    runtime::{context, shared},
};

const PENDING: u8 = 0;
const FIRED: u8 = 1;
const CANCELLED: u8 = 2;

/// Something a wheel holds.
pub(crate) enum TimerItem {
    /// A `send_after`.
    Send(Arc<TimerEntry>),
    /// The deadline of a process's wait (`receive ... after`, `sleep`, a call), at this tick.
    /// One entry may serve several successive waits of the process (see `Local::armed`).
    Wake { process: CoreRef, tick: u64 },
}

/// One `send_after`.
pub(crate) struct TimerEntry {
    state: AtomicU8,
    deadline: Instant,
    /// For a pid destination: the timer is void once this process is dead.
    target: Option<AnyPid>,
    deliver: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl TimerEntry {
    /// Delivers, unless cancelled.
    pub(crate) fn fire(&self) {
        if self
            .state
            .compare_exchange(PENDING, FIRED, AcqRel, std::sync::atomic::Ordering::Acquire)
            .is_ok()
        {
            let deliver = self
                .deliver
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(deliver) = deliver {
                deliver();
            }
        }
    }

    fn remaining(&self) -> Option<Duration> {
        if self.state.load(std::sync::atomic::Ordering::Acquire) != PENDING {
            return None;
        }
        if self.target.as_ref().is_some_and(|t| !t.core().is_alive()) {
            return None;
        }
        Some(self.deadline.saturating_duration_since(Instant::now()))
    }
}

/// A timer set by [`send_after`]. Pass it to [`cancel_timer`] or [`read_timer`].
#[derive(Clone)]
pub struct TimerRef(Arc<TimerEntry>);

impl fmt::Debug for TimerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#TimerRef<{:p}>", Arc::as_ptr(&self.0))
    }
}

impl PartialEq for TimerRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TimerRef {}

/// A scheduler's wheel, in wall-clock terms.
pub(crate) struct Timers {
    wheel: RefCell<Wheel<TimerItem>>,
    epoch: Instant,
    /// Relative deadlines of this scheduler's waits, fixed at its next clock reading.
    pub(crate) pending: Pending,
}

impl Timers {
    pub(crate) fn new(epoch: Instant) -> Timers {
        Timers {
            wheel: RefCell::new(Wheel::new()),
            epoch,
            pending: Pending::default(),
        }
    }

    /// The tick at or after `at` (timers never fire early).
    pub(crate) fn tick_of(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.epoch);
        // Whole seconds are whole ticks, so only the sub-second part rounds up. (u64 maths: a
        // `u128` division from `as_nanos` costs more than the rest of a `call`'s wait.)
        since
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(since.subsec_nanos().div_ceil(1_000_000)))
    }

    pub(crate) fn insert(&self, at: Instant, item: TimerItem) {
        self.insert_tick(self.tick_of(at), item);
    }

    pub(crate) fn insert_tick(&self, tick: u64, item: TimerItem) {
        self.wheel.borrow_mut().insert(tick, item);
    }

    /// Makes sure a process (`local` is its `Local`) has a wake-up entry at or before `tick`:
    /// one entry serves every wait whose deadline is no earlier (`Local::armed`).
    pub(crate) fn arm_wake(&self, local: &mut Local, process: impl FnOnce() -> CoreRef, tick: u64) {
        if tick < local.armed {
            local.armed = tick;
            self.insert_tick(
                tick,
                TimerItem::Wake {
                    process: process(),
                    tick,
                },
            );
        }
    }

    /// Fixes the pending relative deadlines at `now` (the scheduler's clock reading) and arms
    /// their wake-ups.
    pub(crate) fn resolve_pending(&self, now: Instant) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.resolve(now, |core, at| {
            let tick = self.tick_of(at).max(1);
            // SAFETY: a listed process is pinned to this scheduler and not running (its
            // scheduler is), so this thread owns its `Local`; it is alive, since its deadline
            // (on its stack) is.
            let local = unsafe { (*core).local() };
            if local.wait == WAIT_PENDING {
                local.wait = tick;
            }
            // SAFETY: as above, the record is alive.
            self.arm_wake(local, || unsafe { CoreRef::clone_raw(core) }, tick);
        });
    }

    /// The last whole tick at `now` (what `expire(now)` fires up to).
    pub(crate) fn now_tick(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.epoch);
        since
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(since.subsec_millis()))
    }

    /// Everything due at `now`.
    pub(crate) fn expire(&self, now: Instant) -> Vec<TimerItem> {
        let mut wheel = self.wheel.borrow_mut();
        if wheel.is_empty() {
            return Vec::new();
        }
        let mut fired = Vec::new();
        wheel.advance(self.now_tick(now), &mut fired);
        fired
    }

    /// When the next timer is due.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let tick = self.wheel.borrow().next_deadline()?;
        Some(self.epoch + Duration::from_millis(tick))
    }

    pub(crate) fn drain(&self) -> Vec<TimerItem> {
        self.wheel.borrow_mut().drain().into_iter().collect()
    }
}

/// Adds a timer to the calling thread's scheduler, or through the inbox from outside.
pub(crate) fn add(at: Instant, item: TimerItem) {
    context::with_scheduler(|s| match s {
        Some(s) => s.timers.insert(at, item),
        None => unreachable!("timers are set from inside a runtime"),
    });
}

/// A timer that runs `deliver` when it fires (unless cancelled first); `target`, if given, is
/// the process whose death makes the timer moot.
pub(crate) fn set(
    after: Duration,
    target: Option<AnyPid>,
    deliver: Box<dyn FnOnce() + Send>,
) -> TimerRef {
    let entry = Arc::new(TimerEntry {
        state: AtomicU8::new(PENDING),
        deadline: Instant::now() + after,
        target,
        deliver: Mutex::new(Some(deliver)),
    });
    let at = entry.deadline;
    let item = TimerItem::Send(entry.clone());
    match context::with_scheduler(|s| s.is_some()) {
        true => add(at, item),
        false => shared::current().add_remote_timer(at, item),
    }
    TimerRef(entry)
}

/// Sends `msg` to `dest` after `after` (`Process.send_after/3`). Returns a [`TimerRef`].
///
/// ```
/// use std::time::Duration;
///
/// otp::run(|mut mb: otp::Mailbox<&'static str>| {
///     otp::send_after(&mb.pid(), "tick", Duration::from_millis(10));
///     assert_eq!(mb.receive(), "tick");
/// });
/// ```
pub fn send_after<M: Send + 'static>(dest: &Pid<M>, msg: M, after: Duration) -> TimerRef {
    let pid = dest.clone();
    set(after, Some(dest.to_any()), Box::new(move || pid.send(msg)))
}

/// Like [`send_after`] to a registered name, looked up when the timer fires; if nobody holds the
/// name then (or the holder takes another message type), the message is dropped silently.
pub fn send_after_named<M: Send + 'static>(name: &str, msg: M, after: Duration) -> TimerRef {
    let rt: Weak<_> = Arc::downgrade(&shared::current());
    let name = name.to_owned();
    set(
        after,
        None,
        Box::new(move || {
            if let Some(rt) = rt.upgrade() {
                if let Some(pid) = rt.names.whereis(&name).and_then(|p| p.downcast::<M>()) {
                    pid.send(msg);
                }
            }
        }),
    )
}

/// Cancels a timer (`Process.cancel_timer/1`): the time it had left, or `None` if it already
/// fired, was cancelled, or its target is dead. A cancelled timer never delivers; cancelling one
/// that already fired does not take its message back.
///
/// ```
/// use std::time::Duration;
///
/// otp::run(|mb: otp::Mailbox<u8>| {
///     let t = otp::send_after(&mb.pid(), 1, Duration::from_secs(60));
///     let left = otp::cancel_timer(&t).unwrap();
///     assert!(left <= Duration::from_secs(60));
///     assert_eq!(otp::cancel_timer(&t), None);
/// });
/// ```
pub fn cancel_timer(timer: &TimerRef) -> Option<Duration> {
    let left = timer.0.remaining();
    let cancelled = timer
        .0
        .state
        .compare_exchange(
            PENDING,
            CANCELLED,
            AcqRel,
            std::sync::atomic::Ordering::Acquire,
        )
        .is_ok();
    if !cancelled {
        return None;
    }
    // Free the message now rather than when the wheel slot comes round.
    drop(
        timer
            .0
            .deliver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(),
    );
    left
}

/// The time a timer has left (`Process.read_timer/1`), or `None` if it fired, was cancelled, or
/// its target is dead.
pub fn read_timer(timer: &TimerRef) -> Option<Duration> {
    timer.0.remaining()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_to_a_tick_and_now_rounds_down() {
        let epoch = Instant::now();
        let timers = Timers::new(epoch);
        let at = |secs, nanos| epoch + Duration::new(secs, nanos);
        assert_eq!(timers.tick_of(epoch), 0);
        assert_eq!(timers.tick_of(at(0, 1)), 1);
        assert_eq!(timers.tick_of(at(0, 1_000_000)), 1);
        assert_eq!(timers.tick_of(at(0, 1_000_001)), 2);
        assert_eq!(timers.tick_of(at(5, 0)), 5000);
        assert_eq!(timers.tick_of(at(5, 999_999_999)), 6000);
        assert_eq!(timers.now_tick(at(0, 999_999)), 0);
        assert_eq!(timers.now_tick(at(0, 1_000_000)), 1);
        assert_eq!(timers.now_tick(at(5, 999_999_999)), 5999);
        // Before the epoch saturates to tick 0.
        let later = Timers::new(epoch + Duration::from_secs(1));
        assert_eq!(later.tick_of(epoch), 0);
        assert_eq!(later.now_tick(epoch), 0);
    }
}
