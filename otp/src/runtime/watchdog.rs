//! The watchdog: notices a process holding a scheduler too long.
//!
//! Every scheduler bumps a switch counter on each context switch. A watchdog thread samples the
//! counters every quarter of the threshold; a scheduler whose counter has not moved while it runs
//! the same process for longer than the threshold is reported through `tracing` (pid, registered
//! name, how long: the BEAM's `system_monitor(long_schedule)`), once per episode, and marked
//! `stuck`, which lets the other schedulers steal its movable work at once. When it switches
//! again the mark is cleared.

use std::{
    io,
    sync::{atomic::Ordering::Relaxed, Arc},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_utils::sync::{Parker, Unparker};

use crate::runtime::{scheduler::switches, shared::RuntimeShared};

/// The running watchdog thread.
pub(crate) struct Watchdog {
    thread: JoinHandle<()>,
    unparker: Unparker,
}

impl Watchdog {
    pub(crate) fn start(rt: Arc<RuntimeShared>) -> io::Result<Watchdog> {
        let parker = Parker::new();
        let unparker = parker.unparker().clone();
        let thread = std::thread::Builder::new()
            .name("otp-watchdog".into())
            .spawn(move || watch(&rt, &parker))?;
        Ok(Watchdog { thread, unparker })
    }

    pub(crate) fn stop(self) {
        self.unparker.unpark();
        let _ = self.thread.join();
    }
}

struct Seen {
    switches: u64,
    pid: u64,
    since: Instant,
    reported: bool,
}

fn watch(rt: &RuntimeShared, parker: &Parker) {
    let threshold = rt.config.long_schedule;
    let tick = (threshold / 4).max(Duration::from_millis(1));
    let now = Instant::now();
    let mut seen: Vec<Seen> = rt
        .schedulers
        .iter()
        .map(|s| Seen {
            switches: switches(s),
            pid: 0,
            since: now,
            reported: false,
        })
        .collect();
    while !rt.stopping() {
        parker.park_timeout(tick);
        let now = Instant::now();
        for (s, seen) in rt.schedulers.iter().zip(seen.iter_mut()) {
            let count = switches(s);
            let pid = s.running.load(Relaxed);
            if count != seen.switches || pid != seen.pid || pid == 0 {
                *seen = Seen {
                    switches: count,
                    pid,
                    since: now,
                    reported: false,
                };
                s.stuck.store(false, Relaxed);
                continue;
            }
            let held = now - seen.since;
            if held >= threshold && !seen.reported {
                seen.reported = true;
                s.stuck.store(true, Relaxed);
                let name = rt.names.name_of(pid);
                tracing::warn!(
                    pid = %format_args!("<0.{pid}.0>"),
                    name = name.as_deref().unwrap_or(""),
                    held_ms = u64::try_from(held.as_millis()).unwrap_or(u64::MAX),
                    scheduler = s.index,
                    "long_schedule: process <0.{pid}.0> has held scheduler {} for {held:?} without reaching a safe point; its scheduler's other movable work is being taken by the others",
                    s.index
                );
                rt.wake_idle_scheduler(s.index);
                for other in rt.schedulers.iter().filter(|o| o.index != s.index) {
                    other.wake();
                }
            }
        }
    }
}
