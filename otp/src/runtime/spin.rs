//! How long an idle scheduler spins before it sleeps, adapted to whether spinning pays.
//!
//! Spinning buys one thing: a peer scheduler that hands this one work (wakes a process pinned
//! here, or queues movable processes worth stealing) while it spins needs no system call to
//! wake it, and the work starts without a futex or `epoll_wait` round trip. It costs a core
//! for as long as it lasts, and on a machine shared with other programs (a client on the same
//! host, as in `apps/kv/bench.sh`) that core is taken from them.
//!
//! So the length of the spin is learnt, per scheduler, from the only work spinning can win:
//! work from peers.
//!
//! * A spin that ends because a peer handed over work **paid**: the limit doubles.
//! * A spin that runs to its limit is judged by the sleep that follows it. If a peer ends that
//!   sleep within [`SHORT_SLEEP`] (or hands over work before it begins), a longer spin would
//!   have won: the limit doubles. Otherwise, and for a spin that ends only because a socket
//!   became ready or a timer fired (the kernel would have woken a sleeper for those just the
//!   same), it was **wasted**: the limit halves.
//!
//! The verdict on a spin that ran out waits for its sleep's end on purpose. Halving before the
//! sleep and doubling after an early wake-up, as an earlier version did, cancel out: a
//! scheduler whose peer hands it work a little less often than its current limit covers kept
//! that too-short limit for ever, paying a futex wake-up each time (a ring split over two
//! schedulers parked one to three times a lap, and a hop cost up to twice as much).
//!
//! The limit stays within [`MIN_ROUNDS`]..=[`MAX_ROUNDS`]. Message passing between schedulers
//! (a ping-pong pair split over two cores, a ring, fan-in) keeps it at the top; a network server
//! whose work arrives through its sockets keeps it at the bottom and sleeps in `epoll_wait`
//! almost at once, as a single-threaded event loop does. A workload that changes moves the
//! limit from one end to the other in a handful of idle periods (six halvings or doublings).
//!
//! The state is a plain `Cell`: only the scheduler's own thread reads or writes it.

use std::{cell::Cell, time::Duration};

/// The longest spin, in rounds (each round: a look at every queue and peer, then 64 pause
/// instructions). On the machine of `benches/README.md` a pause takes about 25 ns and a round
/// about 1.7 µs, so the longest spin is about 220 µs: longer than a lap of `ring 1000 1000`
/// split over two schedulers, whose token leaves a scheduler for up to a lap at a time. Against
/// 64 rounds (about 105 µs), 128 took that ring from 69.6 to 65.6 ns per hop (medians of nine
/// interleaved runs), 256 to 60.1; but with 256, `apps/kv` under pipelined `redis-benchmark` on
/// the same two cores lost about a tenth of its requests per second (the spin's core is the
/// benchmark client's), while 64 and 128 did the same within the noise (four runs each).
pub(crate) const MAX_ROUNDS: u32 = 128;
/// The shortest spin: a couple of looks at the peers before sleeping.
pub(crate) const MIN_ROUNDS: u32 = 2;
/// A sleep that a peer ends sooner than this counts as a spin that would have paid.
///
/// Long on purpose (about as long as the longest spin): the measured time includes the wake-up
/// itself (the peer's futex or eventfd call and the kernel rescheduling this thread, tens of
/// microseconds on a virtual machine), and work handed over that soon after the sleep began
/// says the peer is trading work with this scheduler at a pace a spin keeps up with. Measured
/// on `ring 1000 1000`, whose token leaves a scheduler for stretches of a few tens of
/// microseconds: with 50 µs the limit decayed to the floor and a hop cost 1.8x as much; with
/// 200 µs it matched a fixed 64-round spin (then the longest), while `apps/kv` under
/// `redis-benchmark` still spent 38% less CPU per request than with the fixed spin.
pub(crate) const SHORT_SLEEP: Duration = Duration::from_micros(200);

/// The learnt spin length of one scheduler.
#[derive(Debug)]
pub(crate) struct SpinLimit {
    rounds: Cell<u32>,
}

impl Default for SpinLimit {
    /// Starts at the top: a new runtime's first idle periods are usually spawn bursts handed
    /// between schedulers.
    fn default() -> SpinLimit {
        SpinLimit {
            rounds: Cell::new(MAX_ROUNDS),
        }
    }
}

impl SpinLimit {
    /// How many rounds the next spin may last.
    pub(crate) fn rounds(&self) -> u32 {
        self.rounds.get()
    }

    /// Spinning paid (or would have): spin twice as long next time.
    pub(crate) fn paid(&self) {
        self.rounds
            .set((self.rounds.get() * 2).clamp(MIN_ROUNDS, MAX_ROUNDS));
    }

    /// Spinning won nothing a sleeper would not have got: spin half as long next time.
    pub(crate) fn wasted(&self) {
        self.rounds
            .set((self.rounds.get() / 2).clamp(MIN_ROUNDS, MAX_ROUNDS));
    }

    /// The verdict on a spin that ran to its limit, once the sleep after it is over: `by_peer`
    /// if a peer ended that sleep within [`SHORT_SLEEP`] (or handed over work before it began).
    pub(crate) fn ran_out(&self, by_peer: bool) {
        if by_peer {
            self.paid();
        } else {
            self.wasted();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_top_and_halves_down_to_the_floor() {
        let limit = SpinLimit::default();
        assert_eq!(limit.rounds(), MAX_ROUNDS);
        let mut seen = vec![limit.rounds()];
        for _ in 0..12 {
            limit.wasted();
            seen.push(limit.rounds());
        }
        let halvings = (MAX_ROUNDS / MIN_ROUNDS).ilog2() as usize;
        let expected: Vec<u32> = (0..=halvings).map(|k| MAX_ROUNDS >> k).collect();
        assert_eq!(&seen[..=halvings], &expected[..]);
        assert_eq!(*expected.last().unwrap(), MIN_ROUNDS);
        assert!(seen[halvings..].iter().all(|&r| r == MIN_ROUNDS));
    }

    #[test]
    fn doubles_back_up_to_the_ceiling() {
        let limit = SpinLimit::default();
        for _ in 0..12 {
            limit.wasted();
        }
        let mut seen = vec![];
        for _ in 0..12 {
            limit.paid();
            seen.push(limit.rounds());
        }
        let doublings = (MAX_ROUNDS / MIN_ROUNDS).ilog2() as usize;
        let expected: Vec<u32> = (1..=doublings).map(|k| MIN_ROUNDS << k).collect();
        assert_eq!(&seen[..doublings], &expected[..]);
        assert!(seen[doublings - 1..].iter().all(|&r| r == MAX_ROUNDS));
    }

    /// A peer that hands work over a little after each spin runs out grows the spin until it
    /// covers the gap (halving first, then doubling, kept it where it was).
    #[test]
    fn spins_that_run_out_just_before_a_peer_hands_over_work_grow() {
        let limit = SpinLimit::default();
        for _ in 0..12 {
            limit.wasted();
        }
        limit.paid();
        limit.paid();
        assert_eq!(limit.rounds(), 8);
        let mut expected = 8;
        while expected < MAX_ROUNDS {
            expected *= 2;
            limit.ran_out(true);
            assert_eq!(limit.rounds(), expected);
        }
        limit.ran_out(true);
        assert_eq!(limit.rounds(), MAX_ROUNDS);
        limit.ran_out(false);
        assert_eq!(limit.rounds(), MAX_ROUNDS / 2);
    }

    #[test]
    fn one_wasted_spin_after_many_paid_ones_only_halves() {
        let limit = SpinLimit::default();
        for _ in 0..5 {
            limit.paid();
        }
        limit.wasted();
        assert_eq!(limit.rounds(), MAX_ROUNDS / 2);
        limit.paid();
        assert_eq!(limit.rounds(), MAX_ROUNDS);
    }
}
