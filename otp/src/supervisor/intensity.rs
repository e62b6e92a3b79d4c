//! Restart intensity: how many restarts a supervisor allows within a period before it gives up
//! (OTP's `max_restarts` within `max_seconds`).

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use super::spec::ChildSpec;
use crate::process::{AnyPid, ExitReason};

/// The restarts of the last `period`, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct Intensity {
    max_restarts: u32,
    period: Duration,
    restarts: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(max_restarts: u32, period: Duration) -> Intensity {
        Intensity {
            max_restarts,
            period,
            restarts: VecDeque::new(),
        }
    }

    /// Counts a restart at `now`. False if that makes more than `max_restarts` within the
    /// period: the supervisor must shut down (with `max_restarts: 2`, the third crash inside
    /// the period is one too many, as the spec measured on the BEAM).
    pub(crate) fn add(&mut self, now: Instant) -> bool {
        while self
            .restarts
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) > self.period)
        {
            self.restarts.pop_front();
        }
        self.restarts.push_back(now);
        self.restarts.len() <= self.max_restarts as usize
    }

    /// Starts `spec`'s child again after an exit that was already counted. A start that fails
    /// is tried again, each retry counting as one more restart (OTP's rule), until it succeeds
    /// or the intensity runs out: then `Err(shutdown)`, and the supervisor must give up.
    pub(crate) fn restart(&mut self, spec: &ChildSpec) -> Result<Option<AnyPid>, ExitReason> {
        loop {
            match (spec.start)() {
                Ok(pid) => return Ok(pid),
                Err(error) => tracing::debug!(child = %spec.id, %error, "child failed to restart"),
            }
            if !self.add(Instant::now()) {
                tracing::debug!(child = %spec.id, "reached max restart intensity; shutting down");
                return Err(ExitReason::Shutdown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restart_after_max_within_the_period_is_refused() {
        let t0 = Instant::now();
        let mut i = Intensity::new(2, Duration::from_secs(5));
        assert!(i.add(t0));
        assert!(i.add(t0 + Duration::from_secs(1)));
        assert!(!i.add(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn restarts_older_than_the_period_do_not_count() {
        let t0 = Instant::now();
        let mut i = Intensity::new(1, Duration::from_secs(5));
        assert!(i.add(t0));
        assert!(i.add(t0 + Duration::from_secs(6)));
        assert!(!i.add(t0 + Duration::from_secs(7)));
    }

    #[test]
    fn zero_max_restarts_refuses_the_first() {
        let mut i = Intensity::new(0, Duration::from_secs(5));
        assert!(!i.add(Instant::now()));
    }
}
