//! Restart intensity: how many restarts a supervisor allows within a period before it gives up
//! (OTP's `max_restarts` within `max_seconds`).

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

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
