//! A per-thread cache of free mailbox nodes, in front of the global allocator, with a shared
//! depot for blocks that flow from one thread to another.
//!
//! Every message is one small heap node, allocated by the sender and freed by the receiver. On
//! one scheduler the pair is a malloc and a free per message, about a hundred instructions with
//! glibc, a good share of a message's whole cost. (A `call`'s reply slot, `process::reply`, is
//! the other small block made and freed at that rate; it comes from here too.)
//!
//! # Magazines
//!
//! Each thread keeps, per size class (16-byte classes up to 256 bytes), two *magazines*: lists
//! of up to [`BATCH`] free blocks, the one in use and a spare (Bonwick's magazine layer, as in
//! Solaris' and many allocators since). A free pushes onto the current magazine and an
//! allocation pops from it: a push and a pop when sender and receiver share a thread.
//!
//! Senders and receivers on different threads make one-way flows: a thread that only
//! receives would fill its cache and then free every node to glibc, while the sending thread
//! mallocs every node, and glibc, freeing into another thread's arena, takes that arena's lock
//! (in `fan_in` across two schedulers this was 38% of the time). So a thread whose magazines
//! are both full hands the spare, whole, to a global [`Depot`] (one short lock per [`BATCH`]
//! frees), and a thread whose magazines are both empty takes a full one from there (one lock
//! per [`BATCH`] allocations) before it goes to the allocator. The depot holds at most
//! [`DEPOT_BATCHES`] magazines per class; beyond that, blocks go back to the allocator.
//!
//! The free blocks of a magazine form an intrusive stack: a free block's first word points to
//! the next free block, so pushing and popping touch no other memory, and a magazine moves
//! between threads as its head pointer and length. The thread-local is const-initialised plain
//! `Cell`s, so an access is a TLS load and a state check, with no lazy initialisation or borrow
//! flag. What a thread caches goes back to the allocator when the thread exits; what the depot
//! holds stays there (bounded) for the OS process's life.
//!
//! Invariants: a node is always allocated and freed with the layout of its size class (when it
//! has one), so a block from the cache and one from the allocator are interchangeable; every
//! block on a magazine is free, owned by that magazine, at least 16 bytes and 16-aligned (room
//! for the link), and the magazine's `len` counts them; a magazine in the depot is owned by the
//! depot alone.

use std::{
    alloc::{self, Layout},
    cell::Cell,
    ptr::{self, NonNull},
    sync::{
        atomic::{AtomicUsize, Ordering::Relaxed},
        Mutex, PoisonError,
    },
};

/// Free blocks per magazine. A thread keeps up to two magazines per class.
const BATCH: usize = 128;
/// Full magazines the depot keeps per class (128 × 128 blocks of at most 256 bytes: at most
/// 4 MiB per class).
const DEPOT_BATCHES: usize = 128;
/// Size classes: 16, 32, ..., 256 bytes.
const CLASSES: usize = 16;
const CLASS_ALIGN: usize = 16;

/// A list of free blocks of one class, linked through their first words.
#[derive(Clone, Copy)]
struct Magazine {
    head: *mut u8,
    len: usize,
}

impl Magazine {
    const EMPTY: Magazine = Magazine {
        head: ptr::null_mut(),
        len: 0,
    };

    /// Frees every block to the allocator.
    ///
    /// # Safety
    ///
    /// The caller owns the magazine, whose blocks have `class`'s layout; it is not used after.
    unsafe fn release(self, class: usize) {
        let mut p = self.head;
        while !p.is_null() {
            // SAFETY: `p` is a free block of this magazine (invariant), whose first word is the
            // next link; it was allocated with its class's layout.
            unsafe {
                let next = p.cast::<*mut u8>().read();
                alloc::dealloc(p, class_layout(class));
                p = next;
            }
        }
    }
}

/// One class's magazines on one thread.
struct Slots {
    current: Cell<Magazine>,
    spare: Cell<Magazine>,
}

struct Cache([Slots; CLASSES]);

impl Drop for Cache {
    fn drop(&mut self) {
        for (class, slots) in self.0.iter().enumerate() {
            for magazine in [&slots.current, &slots.spare] {
                // SAFETY: this thread's magazines, taken out (left empty) and freed once.
                unsafe { magazine.replace(Magazine::EMPTY).release(class) };
            }
        }
    }
}

thread_local! {
    static CACHE: Cache = const {
        Cache([const {
            Slots {
                current: Cell::new(Magazine::EMPTY),
                spare: Cell::new(Magazine::EMPTY),
            }
        }; CLASSES])
    };
}

/// Full magazines in transit between threads, per class, and how many each class has (read
/// without the lock: a thread that only allocates finds the depot empty on every refill, and
/// should not take a lock to learn it).
struct Depot([Mutex<Vec<Magazine>>; CLASSES], [AtomicUsize; CLASSES]);

// SAFETY: the magazines in the depot are owned by it alone (module invariants); their blocks
// are plain memory from the global allocator, which any thread may use or free.
unsafe impl Sync for Depot {}

static DEPOT: Depot = Depot::new();

impl Depot {
    const fn new() -> Depot {
        Depot(
            [const { Mutex::new(Vec::new()) }; CLASSES],
            [const { AtomicUsize::new(0) }; CLASSES],
        )
    }

    /// A full magazine, if the depot has one.
    fn take(&self, class: usize) -> Option<Magazine> {
        // A stale zero only sends this allocation to the allocator; a stale non-zero costs a
        // lock that finds nothing.
        if self.1[class].load(Relaxed) == 0 {
            return None;
        }
        let mut kept = self.0[class].lock().unwrap_or_else(PoisonError::into_inner);
        let magazine = kept.pop();
        self.1[class].store(kept.len(), Relaxed);
        magazine
    }

    /// Keeps a full magazine, or frees it if the depot is at its bound.
    ///
    /// # Safety
    ///
    /// The caller owns `magazine`, whose blocks have `class`'s layout.
    unsafe fn give(&self, class: usize, magazine: Magazine) {
        let mut kept = self.0[class].lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < DEPOT_BATCHES {
            kept.push(magazine);
            self.1[class].store(kept.len(), Relaxed);
            return;
        }
        drop(kept);
        // SAFETY: ours (the caller's contract), freed once.
        unsafe { magazine.release(class) };
    }
}

fn class_of(layout: Layout) -> Option<usize> {
    (layout.size() <= CLASSES * CLASS_ALIGN && layout.align() <= CLASS_ALIGN && layout.size() > 0)
        .then(|| layout.size().div_ceil(CLASS_ALIGN) - 1)
}

fn class_layout(class: usize) -> Layout {
    // (class + 1) * 16 is a multiple of the (power of two) alignment and far below isize::MAX.
    Layout::from_size_align((class + 1) * CLASS_ALIGN, CLASS_ALIGN).expect("valid class layout")
}

/// Pops a block off a thread's magazines of `class`, refilling from the spare or the depot.
#[inline]
fn pop_cached(slots: &Slots, depot: &Depot, class: usize) -> Option<NonNull<u8>> {
    let mut current = slots.current.get();
    if current.len == 0 {
        current = refill(slots, depot, class)?;
    }
    let p = current.head;
    // SAFETY: `p` heads a non-empty magazine of ours: a free block whose first word is the link.
    current.head = unsafe { p.cast::<*mut u8>().read() };
    current.len -= 1;
    slots.current.set(current);
    NonNull::new(p)
}

/// A full magazine for an empty current one: the spare, or one from the depot.
#[cold]
#[inline(never)]
fn refill(slots: &Slots, depot: &Depot, class: usize) -> Option<Magazine> {
    let spare = slots.spare.replace(Magazine::EMPTY);
    if spare.len > 0 {
        Some(spare)
    } else {
        depot.take(class)
    }
}

/// Allocates a block for a node of `layout` (not zero-sized).
#[inline]
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    let layout = match class_of(layout) {
        Some(class) => {
            let cached = CACHE
                .try_with(|c| pop_cached(&c.0[class], &DEPOT, class))
                .ok()
                .flatten();
            if let Some(p) = cached {
                return p;
            }
            class_layout(class)
        }
        None => layout,
    };
    // SAFETY: `layout` has a non-zero size (nodes carry a header).
    let p = unsafe { alloc::alloc(layout) };
    NonNull::new(p).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// Frees a block from [`alloc`].
///
/// # Safety
///
/// `p` must come from [`alloc`] with the same `layout`, and must not be used afterwards.
#[inline]
pub(crate) unsafe fn free(p: NonNull<u8>, layout: Layout) {
    let Some(class) = class_of(layout) else {
        // SAFETY: allocated by `alloc` with this exact layout (no class).
        unsafe { alloc::dealloc(p.as_ptr(), layout) };
        return;
    };
    let kept = CACHE
        .try_with(|c| {
            // SAFETY: the caller's contract.
            unsafe { push_cached(&c.0[class], &DEPOT, class, p) }
        })
        .is_ok();
    if !kept {
        // The thread is exiting (its cache is gone).
        // SAFETY: allocated by `alloc` with its class's layout.
        unsafe { alloc::dealloc(p.as_ptr(), class_layout(class)) };
    }
}

/// Pushes a free block onto a thread's magazines of `class`; a full magazine becomes the
/// spare, and a full spare goes to the depot first.
///
/// # Safety
///
/// `p` is a free block of `class`'s layout that the caller owns and does not use afterwards.
#[inline]
unsafe fn push_cached(slots: &Slots, depot: &Depot, class: usize, p: NonNull<u8>) {
    let mut current = slots.current.get();
    if current.len == BATCH {
        retire(slots, depot, class, current);
        current = Magazine::EMPTY;
    }
    // SAFETY: the block is free now (the caller's contract), at least 16 bytes and 16-aligned
    // (its class's layout), so its first word can hold the link.
    unsafe { p.as_ptr().cast::<*mut u8>().write(current.head) };
    current.head = p.as_ptr();
    current.len += 1;
    slots.current.set(current);
}

/// A full current magazine becomes the spare; a full spare goes to the depot first.
#[cold]
#[inline(never)]
fn retire(slots: &Slots, depot: &Depot, class: usize, full: Magazine) {
    let spare = slots.spare.replace(full);
    if spare.len > 0 {
        // SAFETY: our spare magazine, handed over whole (the slot now holds `full`); blocks
        // of `class`.
        unsafe { depot.give(class, spare) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_slots() -> Slots {
        Slots {
            current: Cell::new(Magazine::EMPTY),
            spare: Cell::new(Magazine::EMPTY),
        }
    }

    fn lens(slots: &Slots) -> (usize, usize) {
        (slots.current.get().len, slots.spare.get().len)
    }

    /// Blocks of `class` from the allocator (as `alloc` makes them when the cache is empty).
    fn fresh(class: usize, n: usize) -> Vec<NonNull<u8>> {
        (0..n)
            // SAFETY: a class layout is not zero-sized.
            .map(|_| NonNull::new(unsafe { alloc::alloc(class_layout(class)) }).unwrap())
            .collect()
    }

    /// Frees what a test's own slots and depot still hold.
    fn clean_up(slots: &[&Slots], depot: &Depot, class: usize) {
        for s in slots {
            for m in [&s.current, &s.spare] {
                // SAFETY: the test's own magazines, freed once.
                unsafe { m.replace(Magazine::EMPTY).release(class) };
            }
        }
        for m in depot.0[class].lock().unwrap().drain(..) {
            // SAFETY: as above.
            unsafe { m.release(class) };
        }
    }

    #[test]
    fn a_freed_block_is_reused_on_the_same_thread() {
        let layout = Layout::new::<[u64; 4]>();
        let a = alloc(layout);
        // SAFETY: from `alloc` with this layout, not used again.
        unsafe { free(a, layout) };
        let b = alloc(layout);
        assert_eq!(a, b, "the cache hands the block back");
        // SAFETY: as above.
        unsafe { free(b, layout) };
    }

    #[test]
    fn sizes_map_to_classes() {
        assert_eq!(class_of(Layout::new::<[u8; 1]>()), Some(0));
        assert_eq!(class_of(Layout::new::<[u8; 16]>()), Some(0));
        assert_eq!(class_of(Layout::new::<[u8; 17]>()), Some(1));
        assert_eq!(class_of(Layout::new::<[u8; 256]>()), Some(15));
        assert_eq!(class_of(Layout::new::<[u8; 257]>()), None);
        assert_eq!(class_of(Layout::from_size_align(64, 64).unwrap()), None);
    }

    #[test]
    fn a_thread_keeps_two_magazines_and_hands_full_ones_to_the_depot() {
        let (slots, depot, class) = (empty_slots(), Depot::new(), 3);
        for p in fresh(class, 3 * BATCH + 10) {
            // SAFETY: a free block of the class, ours.
            unsafe { push_cached(&slots, &depot, class, p) };
        }
        assert_eq!(lens(&slots), (10, BATCH));
        let kept: Vec<usize> = depot.0[class]
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.len)
            .collect();
        assert_eq!(kept, [BATCH, BATCH]);
        clean_up(&[&slots], &depot, class);
    }

    #[test]
    fn a_receiving_thread_s_frees_feed_a_sending_thread_s_allocations() {
        let (sender, receiver, depot, class) = (empty_slots(), empty_slots(), Depot::new(), 5);
        let sent = fresh(class, 3 * BATCH);
        for &p in &sent {
            // SAFETY: free blocks of the class, handed to the receiver's cache once each.
            unsafe { push_cached(&receiver, &depot, class, p) };
        }
        assert_eq!(depot.0[class].lock().unwrap().len(), 1);
        // The sender's magazines are empty: it takes the receiver's full one from the depot.
        let got: Vec<_> = (0..BATCH)
            .map(|_| pop_cached(&sender, &depot, class).expect("a magazine from the depot"))
            .collect();
        assert!(got.iter().all(|p| sent.contains(p)));
        assert!(depot.0[class].lock().unwrap().is_empty());
        assert!(
            pop_cached(&sender, &depot, class).is_none(),
            "then the allocator"
        );
        for p in got {
            // SAFETY: ours again, freed once.
            unsafe { push_cached(&sender, &depot, class, p) };
        }
        clean_up(&[&sender, &receiver], &depot, class);
    }

    #[test]
    fn the_depot_is_bounded() {
        let (slots, depot, class) = (empty_slots(), Depot::new(), 7);
        for p in fresh(class, (DEPOT_BATCHES + 4) * BATCH) {
            // SAFETY: a free block of the class, ours.
            unsafe { push_cached(&slots, &depot, class, p) };
        }
        assert_eq!(depot.0[class].lock().unwrap().len(), DEPOT_BATCHES);
        clean_up(&[&slots], &depot, class);
    }
}
