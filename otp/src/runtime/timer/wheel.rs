//! A per-scheduler hierarchical hashed timer wheel.
//!
//! Time is measured in abstract *ticks* (the runtime uses 1 tick = 1 ms since
//! the scheduler started). The wheel stores opaque items under a `u64`
//! deadline and hands them back, in deadline order, when [`Wheel::advance`]
//! moves its clock past that deadline. Cancellation is deliberately not
//! supported here: the runtime stores `Arc`s carrying an atomic state and
//! skips the cancelled ones when they fire.
//!
//! # Structure
//!
//! There are [`LEVELS`] = 6 levels of [`SLOTS`] = 64 slots each. A slot on
//! level `k` is `64^k` ticks wide, so level `k` as a whole spans `64^(k+1)`
//! ticks and the six levels together span `64^6 = 2^36` ticks (about 2.2
//! years at 1 ms per tick):
//!
//! ```text
//!  deadline bits:  63 ........ 36 | 35..30 | 29..24 | 23..18 | 17..12 | 11..6 | 5..0
//!                  overflow list   | lvl 5  | lvl 4  | lvl 3  | lvl 2  | lvl 1 | lvl 0
//!
//!  level 0  [0][1][2] ... [63]   slot = 1 tick          occupied: u64 bitmap
//!  level 1  [0][1][2] ... [63]   slot = 64 ticks        occupied: u64 bitmap
//!  level 2  [0][1][2] ... [63]   slot = 4_096 ticks     occupied: u64 bitmap
//!  level 3  [0][1][2] ... [63]   slot = 262_144 ticks   occupied: u64 bitmap
//!  level 4  [0][1][2] ... [63]   slot = 16_777_216      occupied: u64 bitmap
//!  level 5  [0][1][2] ... [63]   slot = 1_073_741_824   occupied: u64 bitmap
//!  overflow [ ... ]              deadlines in a later 2^36-tick "epoch"
//!  ready    [ ... ]              deadlines <= now() inserted since the last advance
//! ```
//!
//! An item with deadline `d` is filed relative to the wheel's current tick
//! `now`: its level is the 6-bit digit group holding the most significant bit
//! in which `d` and `now` differ (level 0 if they are equal), and its slot is
//! `d`'s digit on that level. So `d` and `now` share every digit *above* the
//! item's level, and `d`'s digit on its level is strictly greater than `now`'s
//! (for level 0: greater or equal). Insertion is therefore O(1): a few bit
//! operations and a `Vec::push`. Deadlines whose epoch (`d >> 36`) differs
//! from `now`'s go to the overflow list; deadlines `<= now()` go to the ready
//! list and fire on the next advance.
//!
//! # Advancing and cascading
//!
//! The filing rule implies a total order between locations: every item on
//! level `k` is earlier than every item on level `k + 1`, within a level the
//! slots are ordered by index (there is no wrap-around, because all items of a
//! level share `now`'s higher digits), and every overflow item is later than
//! every wheel item. Hence the next location to process is the lowest occupied
//! slot of the lowest level whose occupancy bitmap is non-zero — found with
//! one `trailing_zeros` per level — or, if the wheel proper is empty, the
//! overflow list, which is due when time reaches the start of the epoch of
//! its earliest deadline.
//!
//! [`Wheel::advance`] repeatedly takes that location while its start tick is
//! `<= now`, moves the clock to the start tick and empties it: a level-0 slot
//! holds items of exactly one deadline, which fire; a slot of a higher level
//! (or the overflow list) is *cascaded*, i.e. each of its items is re-filed
//! relative to the new clock, which puts it on a strictly lower level (or back
//! into the overflow list if it belongs to an even later epoch). Empty time is
//! skipped entirely, so the cost of an advance is proportional to the number
//! of items touched (each item cascades at most [`LEVELS`] times, plus once per
//! overflow re-examination), not to the number of ticks crossed.
//!
//! # Ordering guarantee
//!
//! Items fire ordered by deadline, and items with equal deadlines in insertion
//! order, without any sorting of the wheel's contents: items with the same
//! deadline are always filed in the same slot (the location is a function of
//! deadline and clock only), every push appends, and a cascade moves a slot's
//! items in order into lower slots that cannot already hold that deadline.
//! Only the ready list (items inserted with a deadline already reached) mixes
//! deadlines; it is stably sorted by deadline when it fires, and all its
//! deadlines precede every deadline still in the wheel.
//!
//! # `next_deadline`
//!
//! Every slot, the ready list and the overflow list keep the minimum deadline
//! they hold. Entries are never removed individually, only whole containers
//! are emptied, so these minima stay exact and [`Wheel::next_deadline`] returns
//! the *exact* earliest deadline in O([`LEVELS`]).
//!
//! # Overflow
//!
//! Deadlines more than one epoch (2^36 ticks) ahead live in an unsorted
//! overflow list with a tracked minimum. When the clock reaches the epoch of
//! that minimum, the whole list is re-examined: items of the current epoch
//! move into the wheel, the others stay (in order). Each re-examination costs
//! O(overflow length); with 1 ms ticks this happens at most once every 2.2
//! years of runtime per epoch holding a timer.

use std::fmt;

/// Number of levels of the wheel.
const LEVELS: usize = 6;
/// Base-2 logarithm of the number of slots per level (bits per level digit).
const SLOT_BITS: u32 = 6;
/// Number of slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Mask extracting one level digit from a (shifted) tick.
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Number of low deadline bits resolved by the wheel proper (`64^6 = 2^36`
/// ticks); the bits above select the epoch, handled by the overflow list.
const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;

/// One stored item together with its deadline.
struct Entry<T> {
    /// The tick at which the item fires.
    deadline: u64,
    /// The caller's payload.
    item: T,
}

/// One slot of one level: the items filed there, in insertion/cascade order.
struct Slot<T> {
    /// Items of this slot; all share the slot's tick range.
    entries: Vec<Entry<T>>,
    /// Minimum deadline among `entries`, or `u64::MAX` when empty.
    min: u64,
}

impl<T> Slot<T> {
    /// An empty slot.
    const fn new() -> Self {
        Slot {
            entries: Vec::new(),
            min: u64::MAX,
        }
    }
}

/// One level of the wheel: 64 slots plus an occupancy bitmap.
struct Level<T> {
    /// Bit `i` is set iff `slots[i]` is non-empty.
    occupied: u64,
    /// The slots of this level.
    slots: [Slot<T>; SLOTS],
}

impl<T> Level<T> {
    /// An empty level.
    fn new() -> Self {
        Level {
            occupied: 0,
            slots: std::array::from_fn(|_| Slot::new()),
        }
    }
}

/// The next container due for processing, as found by
/// [`Wheel::next_expiration`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    /// A slot of the wheel proper.
    Slot {
        /// Level index, `0..LEVELS`.
        level: usize,
        /// Slot index, `0..SLOTS`.
        slot: usize,
    },
    /// The overflow list.
    Overflow,
}

/// A hierarchical hashed timer wheel over abstract ticks (the runtime uses
/// 1 tick = 1 ms since the scheduler started).
///
/// See the [module documentation](self) for the structure and guarantees.
pub(crate) struct Wheel<T> {
    /// The tick the wheel has advanced to (`now()`).
    elapsed: u64,
    /// Total number of stored items (ready + wheel + overflow).
    len: usize,
    /// The six levels, boxed to keep the wheel itself small.
    levels: Box<[Level<T>; LEVELS]>,
    /// Items inserted with `deadline <= elapsed`, in insertion order.
    ready: Vec<Entry<T>>,
    /// Minimum deadline in `ready`, or `u64::MAX` when empty.
    ready_min: u64,
    /// Items whose deadline lies in a later epoch than `elapsed`.
    overflow: Vec<Entry<T>>,
    /// Minimum deadline in `overflow`, or `u64::MAX` when empty.
    overflow_min: u64,
    /// An empty vector whose capacity is recycled when cascading, so slot
    /// buffers are not reallocated on every cascade.
    scratch: Vec<Entry<T>>,
    /// Number of containers processed by `advance` (test instrumentation).
    #[cfg(test)]
    steps: u64,
}

impl<T> Wheel<T> {
    /// Creates an empty wheel whose current tick is 0.
    pub(crate) fn new() -> Self {
        Wheel {
            elapsed: 0,
            len: 0,
            levels: Box::new(std::array::from_fn(|_| Level::new())),
            ready: Vec::new(),
            ready_min: u64::MAX,
            overflow: Vec::new(),
            overflow_min: u64::MAX,
            scratch: Vec::new(),
            #[cfg(test)]
            steps: 0,
        }
    }

    /// The tick the wheel has advanced to.
    #[cfg_attr(not(test), allow(dead_code))] // The runtime keeps its own clock; tests read this one.
    pub(crate) fn now(&self) -> u64 {
        self.elapsed
    }

    /// Number of stored items.
    #[cfg_attr(not(test), allow(dead_code))] // Used by tests and debugging output.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no item is stored.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `item` to fire at tick `deadline`.
    ///
    /// O(1). A `deadline <= now()` is allowed: the item fires on the next
    /// [`advance`](Self::advance) (including `advance(self.now())`).
    pub(crate) fn insert(&mut self, deadline: u64, item: T) {
        self.len += 1;
        let entry = Entry { deadline, item };
        if deadline <= self.elapsed {
            self.ready_min = self.ready_min.min(deadline);
            self.ready.push(entry);
        } else {
            self.place(entry);
        }
    }

    /// Moves the clock to `now` and appends every item with `deadline <= now`
    /// to `fired`, ordered by deadline and, for equal deadlines, by insertion
    /// order.
    ///
    /// If `now < self.now()` this is a no-op (time never goes backwards; items
    /// in the ready list wait for an advance to a tick `>= now()`). The cost is
    /// proportional to the number of items fired or cascaded, independent of
    /// the number of ticks crossed.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<T>) {
        if now < self.elapsed {
            return;
        }
        if !self.ready.is_empty() {
            // All ready deadlines are <= elapsed < every wheel deadline, so
            // they go first. A stable sort keeps insertion order among equals.
            self.ready.sort_by_key(|e| e.deadline);
            self.len -= self.ready.len();
            fired.extend(self.ready.drain(..).map(|e| e.item));
            self.ready_min = u64::MAX;
        }
        while let Some((loc, start)) = self.next_expiration() {
            if start > now {
                break;
            }
            #[cfg(test)]
            {
                self.steps += 1;
            }
            self.elapsed = start;
            match loc {
                Loc::Slot { level, slot } => self.process_slot(level, slot, fired),
                Loc::Overflow => self.process_overflow(),
            }
        }
        self.elapsed = now;
    }

    /// The exact earliest deadline of any stored item, or `None` if empty.
    ///
    /// O([`LEVELS`]). If an item was inserted with a deadline `<= now()` and
    /// no advance has happened since, that (past) deadline is returned, so the
    /// result can be `<= now()`; the caller should then advance immediately.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        if !self.ready.is_empty() {
            return Some(self.ready_min);
        }
        match self.next_expiration()? {
            (Loc::Slot { level, slot }, _) => Some(self.levels[level].slots[slot].min),
            (Loc::Overflow, _) => Some(self.overflow_min),
        }
    }

    /// Removes and returns every stored item (used at shutdown), ordered by
    /// deadline and, for equal deadlines, by insertion order.
    ///
    /// The clock is unchanged and the wheel stays usable afterwards.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut all = Vec::with_capacity(self.len);
        all.append(&mut self.ready);
        for level in self.levels.iter_mut() {
            level.occupied = 0;
            for slot in level.slots.iter_mut() {
                slot.min = u64::MAX;
                all.append(&mut slot.entries);
            }
        }
        all.append(&mut self.overflow);
        self.ready_min = u64::MAX;
        self.overflow_min = u64::MAX;
        self.len = 0;
        // Equal deadlines were all in one container, in insertion order, so a
        // stable sort by deadline yields (deadline, insertion) order.
        all.sort_by_key(|e| e.deadline);
        all.into_iter().map(|e| e.item).collect()
    }

    /// Files `entry` relative to the current clock.
    ///
    /// Requires `entry.deadline >= self.elapsed`.
    fn place(&mut self, entry: Entry<T>) {
        debug_assert!(entry.deadline >= self.elapsed);
        let deadline = entry.deadline;
        // Highest bit in which deadline and clock differ; `| SLOT_MASK` maps
        // "differ only within the lowest digit" (or equal) to level 0.
        let level = ((deadline ^ self.elapsed) | SLOT_MASK).ilog2() / SLOT_BITS;
        let level = level as usize;
        if level >= LEVELS {
            self.overflow_min = self.overflow_min.min(deadline);
            self.overflow.push(entry);
        } else {
            let slot = ((deadline >> (level as u32 * SLOT_BITS)) & SLOT_MASK) as usize;
            let lvl = &mut self.levels[level];
            lvl.occupied |= 1 << slot;
            let s = &mut lvl.slots[slot];
            s.min = s.min.min(deadline);
            s.entries.push(entry);
        }
    }

    /// The next container to process and the tick at which it is due (the
    /// start of the slot's range, or of the overflow minimum's epoch), or
    /// `None` if the wheel proper and the overflow list are empty.
    fn next_expiration(&self) -> Option<(Loc, u64)> {
        for (index, level) in self.levels.iter().enumerate() {
            if level.occupied == 0 {
                continue;
            }
            let shift = index as u32 * SLOT_BITS;
            let slot = u64::from(level.occupied.trailing_zeros());
            debug_assert!(
                slot >= (self.elapsed >> shift) & SLOT_MASK,
                "slot behind the clock on level {index}"
            );
            let block = shift + SLOT_BITS;
            let start = ((self.elapsed >> block) << block) | (slot << shift);
            let loc = Loc::Slot {
                level: index,
                slot: slot as usize,
            };
            return Some((loc, start));
        }
        if self.overflow.is_empty() {
            None
        } else {
            let start = (self.overflow_min >> WHEEL_BITS) << WHEEL_BITS;
            Some((Loc::Overflow, start))
        }
    }

    /// Empties one slot whose start tick the clock has just reached: level 0
    /// items fire, higher-level items cascade to lower levels.
    fn process_slot(&mut self, level: usize, slot: usize, fired: &mut Vec<T>) {
        let lvl = &mut self.levels[level];
        lvl.occupied &= !(1 << slot);
        let s = &mut lvl.slots[slot];
        s.min = u64::MAX;
        if level == 0 {
            self.len -= s.entries.len();
            fired.extend(s.entries.drain(..).map(|e| e.item));
        } else {
            let mut batch = std::mem::take(&mut self.scratch);
            std::mem::swap(&mut batch, &mut s.entries);
            for entry in batch.drain(..) {
                self.place(entry);
            }
            self.scratch = batch;
        }
    }

    /// Re-examines the overflow list once the clock has reached the epoch of
    /// its earliest item: items of the current epoch move into the wheel.
    fn process_overflow(&mut self) {
        let mut batch = std::mem::take(&mut self.scratch);
        std::mem::swap(&mut batch, &mut self.overflow);
        self.overflow_min = u64::MAX;
        for entry in batch.drain(..) {
            self.place(entry);
        }
        self.scratch = batch;
    }
}

impl<T> Default for Wheel<T> {
    /// Same as [`Wheel::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Wheel<T> {
    /// Shows the clock, the item count and the next deadline (not the items).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("now", &self.elapsed)
            .field("len", &self.len)
            .field("next_deadline", &self.next_deadline())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small deterministic xorshift64* PRNG for reproducible randomized tests.
    struct XorShift(u64);

    impl XorShift {
        /// Seeds the generator (a zero seed is remapped to a non-zero one).
        fn new(seed: u64) -> Self {
            XorShift(seed.max(1))
        }

        /// Next pseudo-random 64-bit value.
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform-ish value in `0..=max`.
        fn upto(&mut self, max: u64) -> u64 {
            if max == u64::MAX {
                self.next()
            } else {
                self.next() % (max + 1)
            }
        }
    }

    /// Advances `wheel` to `now` and returns what fired.
    fn fire<T>(wheel: &mut Wheel<T>, now: u64) -> Vec<T> {
        let mut fired = Vec::new();
        wheel.advance(now, &mut fired);
        fired
    }

    /// The boundary deadlines required by the spec.
    const BOUNDARIES: [u64; 10] = [
        0,
        1,
        63,
        64,
        65,
        4095,
        4096,
        262_143,
        262_144,
        1_000_000_000,
    ];

    /// Each boundary deadline fires exactly at its tick: nothing at
    /// `deadline - 1` (reached in one jump or in several steps), everything at
    /// `deadline`.
    #[test]
    fn fires_exactly_at_deadline() {
        for &d in &BOUNDARIES {
            // One jump to d - 1, then d.
            let mut w = Wheel::new();
            w.insert(d, d);
            if d > 0 {
                assert!(fire(&mut w, d - 1).is_empty(), "early at {d}");
                assert_eq!(w.now(), d - 1);
                assert_eq!(w.next_deadline(), Some(d));
            }
            assert_eq!(fire(&mut w, d), vec![d], "not fired at {d}");
            assert_eq!(w.now(), d);
            assert!(w.is_empty());
            assert_eq!(w.next_deadline(), None);

            // Several intermediate steps before d.
            let mut w = Wheel::new();
            w.insert(d, d);
            for step in [d / 3, d / 2, d.saturating_sub(2), d.saturating_sub(1)] {
                if step < d {
                    assert!(fire(&mut w, step).is_empty(), "early at {d} (step {step})");
                }
            }
            assert_eq!(fire(&mut w, d), vec![d], "not fired at {d}");

            // Jumping past the deadline fires it too.
            let mut w = Wheel::new();
            w.insert(d, d);
            assert_eq!(fire(&mut w, d + 12_345), vec![d]);
        }
    }

    /// Same as [`fires_exactly_at_deadline`] but relative to a clock that is
    /// not aligned to any slot boundary, so digits carry between levels.
    #[test]
    fn fires_exactly_at_deadline_relative_to_unaligned_clock() {
        for base in [1_000_003_u64, 4095, (1 << 36) - 7, u64::MAX - 2_000_000_000] {
            for &delta in &BOUNDARIES {
                let mut w = Wheel::new();
                assert!(fire(&mut w, base).is_empty());
                let d = base + delta;
                w.insert(d, delta);
                if delta > 0 {
                    assert!(
                        fire(&mut w, d - 1).is_empty(),
                        "early: base {base} +{delta}"
                    );
                    assert_eq!(w.next_deadline(), Some(d));
                }
                assert_eq!(fire(&mut w, d), vec![delta], "missed: base {base} +{delta}");
                assert!(w.is_empty());
            }
        }
    }

    /// Items inserted with a deadline `<= now()` fire on the very next
    /// advance, even `advance(now())`, before later items, sorted by deadline
    /// and then insertion order.
    #[test]
    fn past_and_present_deadlines_fire_on_next_advance() {
        let mut w = Wheel::new();
        w.insert(0, 'a');
        assert_eq!(w.next_deadline(), Some(0));
        assert_eq!(fire(&mut w, 0), vec!['a']);
        assert!(w.is_empty());

        assert!(fire(&mut w, 100).is_empty());
        w.insert(103, 'z');
        w.insert(100, 'b');
        w.insert(5, 'c');
        w.insert(5, 'e');
        w.insert(100, 'd');
        assert_eq!(w.len(), 5);
        assert_eq!(w.next_deadline(), Some(5));
        assert_eq!(fire(&mut w, 100), vec!['c', 'e', 'b', 'd']);
        assert_eq!(w.next_deadline(), Some(103));
        w.insert(50, 'f');
        assert_eq!(fire(&mut w, 103), vec!['f', 'z']);
        assert!(w.is_empty());
    }

    /// `advance` to an earlier tick changes nothing.
    #[test]
    fn advance_backwards_is_noop() {
        let mut w = Wheel::new();
        assert!(fire(&mut w, 100).is_empty());
        w.insert(150, 1);
        w.insert(90, 2);
        assert!(fire(&mut w, 50).is_empty());
        assert_eq!(w.now(), 100);
        assert_eq!(w.len(), 2);
        assert_eq!(fire(&mut w, 150), vec![2, 1]);
    }

    /// Equal deadlines fire in insertion order, even when the items were
    /// inserted at different times and hence on different levels, and when
    /// interleaved with other deadlines.
    #[test]
    fn equal_deadlines_fire_in_insertion_order() {
        const D: u64 = 300_000; // level 3 as seen from tick 0
        let mut w = Wheel::new();
        let mut expected = Vec::new();
        let mut id = 0;
        for now in [0, 200_000, 299_000, 299_990, 299_999] {
            assert!(fire(&mut w, now).is_empty());
            for _ in 0..3 {
                w.insert(D + 1, 1_000 + id);
                w.insert(D, id);
                expected.push(id);
                id += 1;
            }
        }
        assert_eq!(fire(&mut w, D - 1), Vec::<u64>::new());
        assert_eq!(fire(&mut w, D), expected);
        assert_eq!(fire(&mut w, D + 1), (1_000..1_000 + id).collect::<Vec<_>>());

        // Many equal deadlines from one tick, interleaved with neighbours.
        let mut w = Wheel::new();
        for i in 0..200 {
            w.insert(70_000 + (i % 3), i);
        }
        let mut expected: Vec<u64> = (0..200).collect();
        expected.sort_by_key(|i| i % 3);
        assert_eq!(fire(&mut w, 70_002), expected);
    }

    /// One big advance returns different deadlines sorted by deadline (ties
    /// by insertion order), across all levels and the overflow list.
    #[test]
    fn different_deadlines_fire_in_deadline_order_in_one_advance() {
        let mut rng = XorShift::new(42);
        let mut w = Wheel::new();
        let mut inserted = Vec::new();
        for i in 0..2_000_u64 {
            let d = match i % 4 {
                0 => rng.upto(100),
                1 => rng.upto(1 << 20),
                2 => rng.upto(1 << 34),
                _ => rng.upto(1 << 40),
            };
            w.insert(d, i);
            inserted.push((d, i));
        }
        inserted.sort(); // (deadline, insertion index)
        let expected: Vec<u64> = inserted.iter().map(|&(_, i)| i).collect();
        assert_eq!(fire(&mut w, 1 << 40), expected);
        assert!(w.is_empty());
    }

    /// `next_deadline` is exact after inserts (including several items in
    /// one coarse slot and in the overflow list), after partial advances, and
    /// `None` when empty.
    #[test]
    fn next_deadline_is_exact() {
        let mut w = Wheel::new();
        assert_eq!(w.next_deadline(), None);
        w.insert(5_000, 1);
        assert_eq!(w.next_deadline(), Some(5_000));
        w.insert(4_200, 2); // same level-2 slot as 5_000
        assert_eq!(w.next_deadline(), Some(4_200));
        w.insert(70, 3);
        assert_eq!(w.next_deadline(), Some(70));
        w.insert(1 << 40, 4);
        w.insert((1 << 40) - 1, 5);
        assert_eq!(w.next_deadline(), Some(70));
        assert!(fire(&mut w, 69).is_empty());
        assert_eq!(w.next_deadline(), Some(70));
        assert_eq!(fire(&mut w, 70), vec![3]);
        assert_eq!(w.next_deadline(), Some(4_200));
        assert!(fire(&mut w, 4_100).is_empty()); // cascades 4_096..8_191
        assert_eq!(w.next_deadline(), Some(4_200));
        assert_eq!(fire(&mut w, 4_200), vec![2]);
        assert_eq!(w.next_deadline(), Some(5_000));
        assert_eq!(fire(&mut w, 10_000), vec![1]);
        assert_eq!(w.next_deadline(), Some((1 << 40) - 1));
        assert!(fire(&mut w, (1 << 40) - 2).is_empty());
        assert_eq!(w.next_deadline(), Some((1 << 40) - 1));
        assert_eq!(fire(&mut w, 1 << 40), vec![5, 4]);
        assert_eq!(w.next_deadline(), None);
        w.insert(3, 6); // in the past
        assert_eq!(w.next_deadline(), Some(3));
    }

    /// Crossing a huge idle gap processes a number of containers bounded by
    /// the number of items times the number of levels (plus overflow), not by
    /// the number of ticks.
    #[test]
    fn advancing_across_huge_gap_is_cheap() {
        let mut w: Wheel<u32> = Wheel::new();
        assert!(fire(&mut w, 1_000_000_000).is_empty());
        assert_eq!(w.steps, 0);

        let mut w = Wheel::new();
        w.insert(5, 1);
        w.insert(1_000_000, 2);
        w.insert(1_000_000_000, 3);
        assert_eq!(fire(&mut w, 999_999_999), vec![1, 2]);
        assert_eq!(fire(&mut w, 1_000_000_000), vec![3]);
        assert!(w.steps <= 3 * LEVELS as u64, "steps = {}", w.steps);
        assert!(fire(&mut w, 1 << 62).is_empty());
        assert!(w.steps <= 3 * LEVELS as u64, "steps = {}", w.steps);

        // Far beyond the wheel's range: overflow re-examination is bounded too.
        let mut w = Wheel::new();
        w.insert(1 << 50, 1);
        w.insert((1 << 50) + 1, 2);
        w.insert(u64::MAX, 3);
        assert!(fire(&mut w, (1 << 50) - 1).is_empty());
        assert_eq!(fire(&mut w, u64::MAX - 1), vec![1, 2]);
        assert_eq!(fire(&mut w, u64::MAX), vec![3]);
        assert!(w.steps <= 3 * (LEVELS as u64 + 2), "steps = {}", w.steps);
    }

    /// Deadlines at the very end of the `u64` range work without overflow.
    #[test]
    fn deadlines_near_u64_max() {
        let mut w = Wheel::new();
        w.insert(u64::MAX, 1);
        w.insert(u64::MAX - 1, 2);
        w.insert(u64::MAX, 3);
        assert_eq!(w.next_deadline(), Some(u64::MAX - 1));
        assert!(fire(&mut w, u64::MAX - 2).is_empty());
        assert_eq!(fire(&mut w, u64::MAX), vec![2, 1, 3]);
        w.insert(u64::MAX, 4);
        assert_eq!(fire(&mut w, u64::MAX), vec![4]);
    }

    /// `drain` removes everything (ready, wheel and overflow items) in
    /// deadline/insertion order and leaves a usable, empty wheel.
    #[test]
    fn drain_returns_everything_in_order() {
        let mut w = Wheel::new();
        assert!(fire(&mut w, 1_000).is_empty());
        w.insert(1 << 45, 1);
        w.insert(2_000, 2);
        w.insert(10, 3);
        w.insert(1_000_000, 4);
        w.insert(2_000, 5);
        w.insert(1_001, 6);
        w.insert(9_000, 7); // same level-2 slot as 8_500, inserted first
        w.insert(8_500, 8);
        w.insert(900, 9); // ready, inserted after an earlier ready deadline
        assert_eq!(w.drain(), vec![3, 9, 6, 2, 5, 8, 7, 4, 1]);
        assert!(w.is_empty());
        assert_eq!(w.len(), 0);
        assert_eq!(w.next_deadline(), None);
        assert_eq!(w.now(), 1_000);
        assert!(fire(&mut w, 1 << 46).is_empty());
        w.insert((1 << 46) + 64, 10);
        assert_eq!(fire(&mut w, (1 << 46) + 64), vec![10]);
    }

    /// Reference model: a plain list of (deadline, seq, id).
    struct Model {
        /// Current tick.
        now: u64,
        /// Stored items.
        items: Vec<(u64, u64, u64)>,
    }

    impl Model {
        /// Removes and returns the ids with deadline `<= now`, sorted by
        /// (deadline, seq); a no-op for a backwards `now`.
        fn advance(&mut self, now: u64) -> Vec<u64> {
            if now < self.now {
                return Vec::new();
            }
            self.now = now;
            let (mut due, keep): (Vec<_>, Vec<_>) =
                self.items.iter().partition(|&&(d, _, _)| d <= now);
            self.items = keep;
            due.sort();
            due.into_iter().map(|(_, _, id)| id).collect()
        }

        /// Earliest stored deadline.
        fn next_deadline(&self) -> Option<u64> {
            self.items.iter().map(|&(d, _, _)| d).min()
        }
    }

    /// Runs `ops` random inserts/advances from tick `start` and compares every
    /// fired batch, `len`, `now` and `next_deadline` with the model.
    fn model_check(seed: u64, start: u64, ops: usize) {
        let mut rng = XorShift::new(seed);
        let mut w = Wheel::new();
        let mut m = Model {
            now: 0,
            items: Vec::new(),
        };
        assert_eq!(fire(&mut w, start), m.advance(start));
        let mut seq = 0;
        for op in 0..ops {
            let now = w.now();
            if rng.upto(99) < 55 {
                let deadline = match rng.upto(9) {
                    0..=3 => now.saturating_add(rng.upto(70)),
                    4 => now.saturating_add(rng.upto(5_000)),
                    5 => now.saturating_add(rng.upto(300_000)),
                    6 => now.saturating_add(rng.upto(1 << 31)),
                    7 => now.saturating_add(rng.upto(1 << 38)),
                    8 => now.saturating_add(64_u64.pow(rng.upto(6) as u32) + rng.upto(2) - 1),
                    _ => now.saturating_sub(rng.upto(100)),
                };
                w.insert(deadline, seq);
                m.items.push((deadline, seq, seq));
                seq += 1;
            } else {
                let target = match rng.upto(9) {
                    0..=3 => now.saturating_add(rng.upto(70)),
                    4 => now.saturating_add(rng.upto(5_000)),
                    5 => now.saturating_add(rng.upto(1 << 32)),
                    6 => now.saturating_add(rng.upto(1 << 39)),
                    7 => match m.next_deadline() {
                        Some(d) => d.saturating_add(rng.upto(2)).saturating_sub(1),
                        None => now,
                    },
                    8 => now.saturating_sub(rng.upto(3)),
                    _ => now,
                };
                let got = fire(&mut w, target);
                let want = m.advance(target);
                assert_eq!(got, want, "seed {seed} op {op}: batch at {target}");
                assert_eq!(w.now(), m.now, "seed {seed} op {op}: now");
            }
            assert_eq!(w.len(), m.items.len(), "seed {seed} op {op}: len");
            assert_eq!(
                w.next_deadline(),
                m.next_deadline(),
                "seed {seed} op {op}: next_deadline"
            );
        }
        let mut rest = m.items.clone();
        rest.sort();
        let rest: Vec<u64> = rest.into_iter().map(|(_, _, id)| id).collect();
        assert_eq!(w.drain(), rest, "seed {seed}: drain");
        assert!(w.is_empty());
    }

    /// Randomized comparison against the reference model from tick 0, for
    /// several fixed seeds.
    #[test]
    fn randomized_against_model() {
        for seed in [1, 2, 3, 0xDEAD_BEEF, 0x1234_5678_9ABC, 77, 2024, 31337] {
            model_check(seed, 0, 10_000);
        }
    }

    /// Randomized comparison starting from unaligned clocks, including one
    /// near the end of the `u64` range (saturating deadlines pile up there).
    #[test]
    fn randomized_against_model_from_unaligned_start() {
        model_check(5, (1 << 36) - 12_345, 10_000);
        model_check(6, 987_654_321_987, 10_000);
        model_check(7, u64::MAX - (1 << 42), 10_000);
    }
}
