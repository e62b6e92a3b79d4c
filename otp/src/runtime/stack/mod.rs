//! Process stacks: slab-carved slots with a guard page or a canary, cache colouring and a
//! per-scheduler LIFO pool.
//!
//! Every process runs on its own stack, a [`ProcessStack`], which is one fixed-size *slot* of
//! a large anonymous mapping (a *slab*). The figures quoted below come from the measurements in
//! `shared/research/runtime-feasibility.md` (§1.2, §1.4, §2).
//!
//! # Layout
//!
//! A slab is one `mmap(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)`
//! of `n` equal slots, `madvise(MADV_NOHUGEPAGE)`d:
//!
//! ```text
//!  low addresses                                                        high addresses
//!  +----------+----------+----------+-----                  -----+------------+
//!  |  slot 0  |  slot 1  |  slot 2  |   ...                      |  slot n-1  |
//!  +----------+----------+----------+-----                  -----+------------+
//!  n = about 256 (>= 8 MiB per slab, <= 64 MiB per slab, >= 1 slot)
//! ```
//!
//! One slot, of `stride = page + size + page` bytes, where `size` is the requested stack size
//! rounded up to the page size (at least 16 KiB):
//!
//! ```text
//!  limit (slot start)                                               slot end = next slot
//!  |                                                                                   |
//!  v                                                                                   v
//!  +----------------------+--------------------------------------------------+---------+
//!  |  low page            |  usable area: `size` bytes + one page of slack   |         |
//!  |  guard (PROT_NONE)   |                                                  | colour  |
//!  |  or gap (RW)         |                    <- the stack grows down ---   | offset  |
//!  +----------------------+--------------------------------------------------+---------+
//!  ^ gap canary (64 B)    ^ usable canary (64 B)                             ^ base
//!    only if unguarded      only if unguarded                      (i % 48) * 64 below end
//! ```
//!
//! `limit()` (for corosensei) is the start of the low page, as its `Stack` contract asks; the
//! stack pointer starts [`TOP_RESERVE`] bytes below the coloured `base`: those top bytes hold
//! the activation's own bookkeeping (its coroutine handle, `process::core::Running`), which
//! thus lives in the page the stack touches anyway rather than in a heap allocation of its
//! own. The page of slack keeps the colour offset and the reserve from eating into the
//! requested size, so [`ProcessStack::usable_size`] is always at least what was asked for. It
//! costs address space only: the coloured base still lies in the slot's top page.
//!
//! # Guard pages and their budget
//!
//! A guard page is an `mprotect(PROT_NONE)` page, which splits the slab's mapping: **two
//! mappings per guarded slot**, however it is laid out. With the stock
//! `vm.max_map_count = 65530`, `DefaultStack` and guarded slabs both failed at 32 750 stacks,
//! and at that point even `malloc` failed all over the process (§2.1, §2.2). So guards come
//! from a process-wide budget of slots: `min(16384, (max_map_count - 32768) / 2)`, that is
//! 16 381 on a stock kernel, configurable with [`set_guard_budget`]. A slot's low page is
//! guarded once, when it is carved, and stays guarded for the slot's life; slots carved after
//! the budget is spent (or after an `mprotect` failed, which then stops guarding) get an
//! ordinary RW *gap* page instead. Unguarded slabs cost one mapping each, and adjacent slabs
//! merge: 1 M unguarded stacks were one mapping in total (§2.2).
//!
//! # Canary (unguarded slots)
//!
//! Without a guard, an overflow runs silently into the gap and then into the top of the next
//! lower slot, which holds another process's live root frames. The lowest 64 bytes of the
//! usable area and the lowest 64 bytes of the gap page must stay zero; nothing is written there
//! at creation (untouched anonymous memory reads as zero, and writing would make the pages
//! resident). The scheduler calls [`ProcessStack::check_canary`] on every switch away from a
//! process:
//!
//! * usable canary non-zero, gap canary zero: [`Canary::Overflowed`]. The process used its
//!   stack down to the limit and possibly into its own gap; its neighbours are intact. End it
//!   without ever resuming or unwinding it.
//! * gap canary non-zero: [`Canary::Corrupted`]. The overflow may have reached the next lower
//!   slot; memory can no longer be trusted.
//!
//! This *detects*, after the fact, overflows whose writes land in the canary areas; a single
//! frame larger than the gap that writes nothing there can still skip both. Untouched canary
//! pages read the kernel's shared zero page, so the check rarely misses the cache.
//!
//! # Colouring
//!
//! Slot `i` of a size class has its base `(i % 48) * 64` bytes below the slot end (48 colours:
//! see `slab::COLOURS` for why not 64). With every stack top at the same offset modulo the
//! stride, all of them alias the same L1/L2 sets; the offset halved the switch cost with 1 k to
//! 1 M live processes (§1.2: 138–149 ns down to 64 ns at 1 M).
//!
//! # Pooling
//!
//! A fresh `mmap` + `mprotect` stack cost 10.5–15 µs per spawn + exit, a thread-local LIFO of
//! slab stacks 13.5–22 ns (§1.4). Each scheduler owns a [`StackPool`]: a LIFO per size class
//! (hottest stack first, whose top page is likely still resident and cached), backed by the
//! allocator's shared free lists. A pool keeps at most 256 stacks per class; beyond that, a
//! returned stack joins its class's batch of 64 (from any scheduler), whose pages are given
//! back with one `MADV_DONTNEED` per run of adjacent slots and whose slots then go to the
//! shared free list, so memory comes back after a burst of a million processes without a TLB
//! flush on every core for each exit. Slab memory itself is
//! never unmapped: guarded slots would have to be re-`mprotect`ed and unmapping would leave
//! holes (one mapping each); stable addresses also let a stale [`StackProbe`] read a canary
//! without ever faulting.

mod pool;
mod slab;

use std::{io, mem::ManuallyDrop, ops::Range};

use corosensei::stack::{Stack, StackPointer};

use self::slab::{RawSlot, SizeClass, CANARY_LEN};
pub(crate) use self::{
    pool::StackPool,
    slab::{page_size, SlabAllocator, StackStats},
};

/// Stack size of a process unless configured otherwise: 128 KiB of address space, of which
/// only touched pages cost memory.
pub(crate) const DEFAULT_STACK_SIZE: usize = 128 * 1024;

/// Bytes at the top of every slot, above the coroutine's stack, that the runtime keeps for
/// the activation's [`Running`](crate::process::core::Running): its coroutine handle and
/// yielder, 64 bytes. Held there, they cost no memory of their own (the top page is resident
/// while a process holds the stack) where a heap box cost an 80-byte chunk per live process.
/// A multiple of 16 (the stack alignment), and with the largest colour offset it stays within
/// the page of slack, so the usable area is still at least the requested size.
pub(crate) const TOP_RESERVE: usize = 64;

const _: () = assert!(TOP_RESERVE % 16 == 0);
const _: () = assert!((slab::COLOURS - 1) * slab::COLOUR_STEP + TOP_RESERVE <= 4096);

/// Sets the guard budget of the process-wide allocator (see [`SlabAllocator::set_guard_budget`]).
pub(crate) fn set_guard_budget(n: usize) {
    SlabAllocator::global().set_guard_budget(n);
}

/// Counters of the process-wide allocator.
#[allow(dead_code, reason = "introspection API")]
pub(crate) fn stats() -> StackStats {
    SlabAllocator::global().stats()
}

/// Bytes of `[low, high)` that are resident, as reported by `mincore` (0 if the range is not
/// fully mapped, on error, and on Unixes other than Linux). For introspection only: one
/// syscall and a small allocation. Reads no memory, so any addresses are fine, including those
/// of a stack another thread is running on. See [`ProcessStack::resident_bytes`] about the zero
/// page.
pub(crate) fn resident_bytes(low: usize, high: usize) -> usize {
    let page = page_size();
    let start = low & !(page - 1);
    if high <= start {
        return 0;
    }
    mincore_count(start, high - start).map_or(0, |pages| pages * page)
}

/// Number of resident pages in `[start, start + len)`; `start` is page aligned.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn mincore_count(start: usize, len: usize) -> io::Result<usize> {
    let page = page_size();
    let pages = len.div_ceil(page);
    let mut vec = Vec::new();
    // A nonsense range must not abort the process on allocation failure.
    vec.try_reserve_exact(pages)
        .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    vec.resize(pages, 0u8);
    // SAFETY: mincore only writes `vec`, which has one byte per page of the range; it reads
    // no memory of the range itself, and fails with ENOMEM if the range is not mapped.
    let rc = unsafe { libc::mincore(start as *mut libc::c_void, len, vec.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(vec.iter().filter(|&&b| b & 1 != 0).count())
}

/// `mincore` differs between the other Unixes; residency is reported there as unsupported.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn mincore_count(_start: usize, _len: usize) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// ORs together the 64 bytes at `addr`.
///
/// # Safety
///
/// `addr` must be 8-byte aligned and `[addr, addr + 64)` readable (mapped RW slab memory), and
/// no other thread may be writing it.
#[inline(always)]
unsafe fn canary_bits(addr: usize) -> u64 {
    let p = addr as *const u64;
    let mut acc = 0;
    for i in 0..CANARY_LEN / 8 {
        // SAFETY: in bounds of the 64 readable, aligned bytes the caller vouches for; volatile
        // because the compiler knows nothing about who wrote the stack.
        acc |= unsafe { p.add(i).read_volatile() };
    }
    acc
}

/// Zeroes the 64 bytes at `addr`.
///
/// # Safety
///
/// `addr` must be 8-byte aligned and `[addr, addr + 64)` writable memory that nothing else
/// uses (a slot whose stack holds no live frames).
unsafe fn clear_canary(addr: usize) {
    let p = addr as *mut u64;
    for i in 0..CANARY_LEN / 8 {
        // SAFETY: in bounds of the 64 writable, aligned bytes the caller vouches for.
        unsafe { p.add(i).write_volatile(0) };
    }
}

/// Reads both canaries of an unguarded slot whose low page starts at `low`.
///
/// # Safety
///
/// `low` must be the start of an unguarded slot, and no other thread may be running on it.
#[inline(always)]
unsafe fn read_canaries(low: usize) -> Canary {
    // SAFETY: both areas are 64 aligned bytes at page starts inside the slot, RW because the
    // slot is unguarded and slabs are never unmapped; the caller excludes concurrent writers.
    let (gap, usable) = unsafe { (canary_bits(low), canary_bits(low + page_size())) };
    if gap != 0 {
        Canary::Corrupted
    } else if usable != 0 {
        Canary::Overflowed
    } else {
        Canary::Intact
    }
}

/// What the canaries of a stack say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Canary {
    /// A guarded slot (its guard page catches overflow), or both canaries still zero.
    Intact,
    /// The usable-area canary was written: the stack was used down to its limit, possibly
    /// into its own gap page. Neighbours are intact.
    Overflowed,
    /// The gap canary was written: the overflow may have reached the next lower slot.
    Corrupted,
}

/// One stack slot, owned by one coroutine. Dropping it (for instance with its coroutine)
/// returns the slot to its allocator's free list.
pub(crate) struct ProcessStack {
    /// Where the slot is.
    slot: RawSlot,
    /// The size class the slot belongs to (and through it, its allocator).
    class: &'static SizeClass,
}

impl std::fmt::Debug for ProcessStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessStack")
            .field("limit", &format_args!("{:#x}", self.limit_addr()))
            .field("base", &format_args!("{:#x}", self.base_addr()))
            .field("guarded", &self.slot.guarded)
            .finish()
    }
}

impl ProcessStack {
    /// Wraps a slot of `class`.
    fn from_raw(slot: RawSlot, class: &'static SizeClass) -> ProcessStack {
        ProcessStack { slot, class }
    }

    /// Takes the slot out without running `Drop`.
    fn into_raw(self) -> (RawSlot, &'static SizeClass) {
        let me = ManuallyDrop::new(self);
        (me.slot, me.class)
    }

    /// Whether the low page is a guard page.
    #[inline]
    #[allow(dead_code, reason = "introspection API; the scheduler uses StackProbe")]
    pub(crate) fn has_guard(&self) -> bool {
        self.probe().has_guard()
    }

    /// Address range of the low page (the guard page if [`ProcessStack::has_guard`], else the
    /// gap page, which is read-write and so never faults).
    #[inline]
    #[allow(dead_code, reason = "introspection API; the scheduler uses StackProbe")]
    pub(crate) fn guard_range(&self) -> Range<usize> {
        self.probe().guard_range()
    }

    /// What the canaries say: cheap (16 volatile loads for an unguarded slot, none for a
    /// guarded one), meant to run on every switch away from the coroutine.
    #[inline]
    #[allow(dead_code, reason = "introspection API; the scheduler uses StackProbe")]
    pub(crate) fn check_canary(&self) -> Canary {
        // SAFETY: the probe describes this very stack, which exists (we borrow it) and which
        // nothing runs on while we are borrowed: corosensei takes the stack by value and gives
        // it back only through `into_stack` once the coroutine has finished, so a
        // `&ProcessStack` is never a stack that some coroutine is running on.
        unsafe { self.probe().check_canary() }
    }

    /// Bytes between the usable area's start and the (coloured) base: at least the requested
    /// size.
    #[inline]
    #[allow(dead_code, reason = "introspection API; the scheduler uses StackProbe")]
    pub(crate) fn usable_size(&self) -> usize {
        self.base_addr() - self.usable_start()
    }

    /// Resident bytes of the usable area, per `mincore`. Introspection only: one syscall and a
    /// small allocation. `mincore` also counts a page that is only mapped to the kernel's
    /// shared zero page, which costs no memory: after a canary check, that can be the lowest
    /// usable page of an unguarded slot.
    #[allow(dead_code, reason = "introspection API; the scheduler uses StackProbe")]
    pub(crate) fn resident_bytes(&self) -> io::Result<usize> {
        let page = page_size();
        Ok(mincore_count(self.usable_start(), self.area_end() - self.usable_start())? * page)
    }

    /// The stack base (highest address, exclusive): where the stack pointer starts,
    /// [`TOP_RESERVE`] bytes below the slot's coloured base.
    #[inline]
    pub(crate) fn base_addr(&self) -> usize {
        self.slot.base.as_ptr() as usize - TOP_RESERVE
    }

    /// The [`TOP_RESERVE`] bytes above the stack base: 16-byte aligned, read-write, never
    /// part of the coroutine's stack, and owned by whoever owns this stack.
    #[inline]
    pub(crate) fn top_reserve(&self) -> std::ptr::NonNull<u8> {
        // SAFETY: the slot's coloured base lies at least a page above the low page, and
        // TOP_RESERVE is far below that, so the result is inside the slot and non-null.
        unsafe { self.slot.base.sub(TOP_RESERVE) }
    }

    /// The stack limit as corosensei sees it: the start of the low page.
    #[inline]
    pub(crate) fn limit_addr(&self) -> usize {
        self.slot.low.as_ptr() as usize
    }

    /// A copyable description of this stack for the scheduler and the trap handler.
    #[inline]
    pub(crate) fn probe(&self) -> StackProbe {
        StackProbe {
            low: self.slot.low,
            guarded: self.slot.guarded,
        }
    }

    /// Start of the usable area (just above the low page).
    fn usable_start(&self) -> usize {
        self.limit_addr() + page_size()
    }

    /// End of the slot (the base rounded up to the page: the colour offset is below a page).
    fn area_end(&self) -> usize {
        let page = page_size();
        (self.base_addr() + page - 1) & !(page - 1)
    }

    /// Zeroes dirty canaries of an unguarded slot so a reused stack does not report a false
    /// overflow. A few loads when clean; only for a stack with no live frames.
    fn clean_canary(&mut self) {
        if self.slot.guarded {
            return;
        }
        let low = self.limit_addr();
        // SAFETY: an unguarded slot we own exclusively (`&mut self`, and no coroutine runs on
        // it: a ProcessStack is only handed back once its coroutine is finished or dropped).
        if unsafe { read_canaries(low) } != Canary::Intact {
            // SAFETY: as above; both areas are RW slot memory that nothing uses.
            unsafe {
                clear_canary(low);
                clear_canary(low + page_size());
            }
        }
    }

    /// Gives the slot's pages back to the kernel (`MADV_DONTNEED` over the whole slot) and the
    /// slot to the allocator's free list, batched with other slots of its class
    /// ([`SizeClass::retire`]).
    fn release_pages(mut self) {
        // On Linux MADV_DONTNEED zero-fills private anonymous pages; elsewhere it may not, so
        // the canaries are cleaned explicitly first (a few loads if clean).
        self.clean_canary();
        let (slot, class) = self.into_raw();
        // In batches: `SizeClass::retire`.
        class.retire(slot);
    }
}

impl Drop for ProcessStack {
    fn drop(&mut self) {
        self.clean_canary();
        self.class.release(self.slot);
    }
}

// SAFETY: `base` and `limit` delimit one slot of a slab that stays mapped read-write (apart
// from its low page) for the rest of the OS process and that this value owns exclusively until
// it is dropped; both are 16-byte aligned (the base is a page end minus a multiple of 64, the
// limit a page start), and the usable area is at least MIN_USABLE = 16 KiB > MIN_STACK_SIZE.
// `limit` includes the low page, as the contract requires.
//
// corosensei's contract also requires a guard page. Guarded slots have one (PROT_NONE, set
// before the slot is first handed out, never removed). Unguarded slots, carved once the guard
// budget is spent, do NOT meet that requirement: an overflow on them is not stopped by the
// hardware. For those the runtime relies instead on the RW gap page below the usable area and
// on `check_canary`, which the scheduler runs on every switch away from a process and which
// turns a written canary into ending the process (Overflowed) or aborting the OS process
// (Corrupted). That detects overflow after the fact, and only overflows that write into a
// canary area; it is a deliberate trade-off against `vm.max_map_count` (two mappings per
// guard), documented in the module docs.
unsafe impl Stack for ProcessStack {
    #[inline]
    fn base(&self) -> StackPointer {
        // Below the reserve (`top_reserve`): the coroutine never writes there.
        self.top_reserve().addr()
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        self.slot.low.addr()
    }
}

/// What the runtime keeps of a stack next to its process: the slot's low address and whether
/// it is guarded, enough to check the canary and to tell the trap handler the guard range
/// without reaching into the coroutine. It packs into one word ([`StackProbe::to_word`]); the
/// top of the slot is derived from the stack size the process asked for
/// ([`StackProbe::slot_end`]), so the (coloured) base is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StackProbe {
    /// The start of the slot's low page. Page aligned.
    low: std::ptr::NonNull<u8>,
    /// Whether the low page is a guard page.
    guarded: bool,
}

// SAFETY: only an address into slab memory that is never unmapped, and a flag; which thread
// holds the description does not matter (see `RawSlot`).
unsafe impl Send for StackProbe {}
// SAFETY: as above.
unsafe impl Sync for StackProbe {}

impl StackProbe {
    /// Whether the low page is a guard page.
    #[inline]
    pub(crate) fn has_guard(&self) -> bool {
        self.guarded
    }

    /// Address range of the low page (guard or gap).
    #[inline]
    pub(crate) fn guard_range(&self) -> Range<usize> {
        let low = self.limit_addr();
        low..low + page_size()
    }

    /// Packs the probe into one word for lock-free publication: the low address with bit 0 set
    /// when the slot is guarded (the low address is page aligned). Never zero.
    #[inline]
    pub(crate) fn to_word(self) -> usize {
        self.limit_addr() | usize::from(self.guarded)
    }

    /// Rebuilds a probe from [`StackProbe::to_word`]; `None` for zero ("no stack").
    #[inline]
    pub(crate) fn from_word(word: usize) -> Option<StackProbe> {
        let low = std::ptr::NonNull::new((word & !1) as *mut u8)?;
        Some(StackProbe {
            low,
            guarded: word & 1 == 1,
        })
    }

    /// The end of the slot (exclusive) of a stack requested with `requested` bytes: the end of
    /// the page holding the coloured base. Every slot of a size class is `low page + class size
    /// + one page of colouring slack` long (see the module docs), so this needs no base.
    pub(crate) fn slot_end(&self, requested: usize) -> usize {
        let size = slab::class_size(requested).unwrap_or(0);
        self.limit_addr() + size + 2 * page_size()
    }

    /// See [`ProcessStack::check_canary`].
    ///
    /// # Safety
    ///
    /// The [`ProcessStack`] this probe was taken from must still exist (not dropped or pooled,
    /// whose slot another thread may be running on), and no coroutine may be running on it
    /// right now. Memory safety beyond a data race is not at stake: slabs are never unmapped,
    /// and a guarded slot's low page is never read.
    #[inline]
    pub(crate) unsafe fn check_canary(&self) -> Canary {
        if self.guarded {
            return Canary::Intact;
        }
        // SAFETY: an unguarded slot with nothing running on it, per this function's contract.
        unsafe { read_canaries(self.limit_addr()) }
    }

    /// The stack limit, including the low page.
    #[inline]
    pub(crate) fn limit_addr(&self) -> usize {
        self.low.as_ptr() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corosensei::{Coroutine, CoroutineResult};
    use std::hint::black_box;

    /// A fresh allocator of its own.
    fn leaked(budget: usize) -> &'static SlabAllocator {
        Box::leak(Box::new(SlabAllocator::with_retire_batch(budget, 1)))
    }

    /// Writes one non-zero byte at `addr`.
    ///
    /// # Safety
    ///
    /// `addr` must be writable memory of a slot the test owns, with no frames on it.
    unsafe fn poke(addr: usize) {
        // SAFETY: per the contract.
        unsafe { (addr as *mut u8).write_volatile(0xA5) };
    }

    /// Recurses, filling a 512-byte local with non-zero bytes at every level, until a frame
    /// lies below `stop`; returns the lowest local address reached.
    #[inline(never)]
    fn dig(stop: usize) -> usize {
        let mut buf = [0xA5u8; 512];
        black_box(&mut buf);
        let here = buf.as_ptr() as usize;
        let lowest = if here > stop { dig(stop) } else { here };
        black_box(&buf);
        lowest
    }

    #[test]
    fn coroutine_runs_and_returns_on_a_slab_stack() {
        let alloc = leaked(1);
        for _ in 0..2 {
            let stack = alloc.alloc(DEFAULT_STACK_SIZE).unwrap();
            let (lo, hi) = (stack.limit_addr(), stack.base_addr());
            let mut co = Coroutine::with_stack(stack, move |y, x: u64| {
                let local = 0u8;
                let at = &local as *const u8 as usize;
                assert!(lo < at && at < hi, "running on the slot");
                let z = y.suspend(x + 1);
                z * 2
            });
            assert!(matches!(co.resume(1), CoroutineResult::Yield(2)));
            assert!(matches!(co.resume(21), CoroutineResult::Return(42)));
            assert_eq!(co.into_stack().check_canary(), Canary::Intact);
        }
        // Both rounds used the same (guarded) slot.
        assert_eq!(alloc.stats().slots_carved, 1);
        assert_eq!(alloc.stats().free_slots, 1);
    }

    #[test]
    fn thread_safety_and_size() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<SlabAllocator>();
        send_sync::<ProcessStack>();
        send_sync::<StackProbe>();
        // Small enough to sit inside every coroutine; `Option` uses the non-null niche.
        assert_eq!(
            std::mem::size_of::<ProcessStack>(),
            4 * std::mem::size_of::<usize>()
        );
        assert_eq!(
            std::mem::size_of::<Option<ProcessStack>>(),
            std::mem::size_of::<ProcessStack>()
        );
    }

    #[test]
    fn geometry() {
        let alloc = leaked(1);
        let page = page_size();
        for want in [1, 16 * 1024, 20_000, DEFAULT_STACK_SIZE] {
            let s = alloc.alloc(want).unwrap();
            assert!(s.usable_size() >= want.max(16 * 1024));
            assert!(s.usable_size() < want.max(16 * 1024) + 2 * page);
            assert_eq!(s.base().get(), s.base_addr());
            assert_eq!(s.limit().get(), s.limit_addr());
            assert_eq!(s.base_addr() % 16, 0);
            assert_eq!(s.limit_addr() % page, 0);
            assert_eq!(s.guard_range(), s.limit_addr()..s.limit_addr() + page);
            let p = s.probe();
            assert_eq!(p.guard_range(), s.guard_range());
            assert_eq!(p.limit_addr(), s.limit_addr());
            assert_eq!(p.slot_end(want), s.area_end());
            assert!(p.slot_end(want) - page < s.base_addr() && s.base_addr() <= p.slot_end(want));
            assert_eq!(p.has_guard(), s.has_guard());
            assert_eq!(StackProbe::from_word(p.to_word()), Some(p));
        }
    }

    #[test]
    fn slot_end_is_derived_for_every_colour() {
        let alloc = leaked(0);
        let page = page_size();
        for want in [16 * 1024, 20_000, DEFAULT_STACK_SIZE] {
            // Held together, so each is a new slot with the next colour.
            let held: Vec<_> = (0..slab::COLOURS + 2)
                .map(|_| alloc.alloc(want).unwrap())
                .collect();
            for s in &held {
                let end = s.probe().slot_end(want);
                assert_eq!(end, s.area_end());
                assert!(end - page < s.base_addr() && s.base_addr() <= end);
            }
            assert!(held
                .windows(2)
                .any(|w| w[0].base_addr() % page != w[1].base_addr() % page));
        }
    }

    #[test]
    fn guarded_slot_is_always_intact() {
        let alloc = leaked(1);
        let s = alloc.alloc(16 * 1024).unwrap();
        assert!(s.has_guard());
        assert_eq!(s.check_canary(), Canary::Intact);
    }

    #[test]
    fn canary_reports_overflow_and_corruption() {
        let alloc = leaked(0);
        let page = page_size();
        let mut s = alloc.alloc(16 * 1024).unwrap();
        assert!(!s.has_guard());
        let low = s.limit_addr();
        assert_eq!(s.check_canary(), Canary::Intact);
        // Just above the canary: not detected.
        // SAFETY: usable memory of our slot, no frames on it.
        unsafe { poke(low + page + CANARY_LEN) };
        assert_eq!(s.check_canary(), Canary::Intact);
        // Last byte of the usable canary.
        // SAFETY: as above.
        unsafe { poke(low + page + CANARY_LEN - 1) };
        assert_eq!(s.check_canary(), Canary::Overflowed);
        // SAFETY: the probe's stack is alive and nothing runs on it.
        assert_eq!(unsafe { s.probe().check_canary() }, Canary::Overflowed);
        // First byte of the gap canary.
        // SAFETY: the gap page of an unguarded slot we own is RW.
        unsafe { poke(low) };
        assert_eq!(s.check_canary(), Canary::Corrupted);
        s.clean_canary();
        assert_eq!(s.check_canary(), Canary::Intact);
        // Gap canary alone also counts as corruption.
        // SAFETY: as above.
        unsafe { poke(low + CANARY_LEN - 1) };
        assert_eq!(s.check_canary(), Canary::Corrupted);
    }

    #[test]
    fn dirty_slot_is_cleaned_before_reuse() {
        let alloc = leaked(0);
        let s = alloc.alloc(16 * 1024).unwrap();
        let (low, base) = (s.limit_addr(), s.base_addr());
        // SAFETY: canary areas of our own unguarded slot.
        unsafe {
            poke(low);
            poke(low + page_size());
        }
        assert_eq!(s.check_canary(), Canary::Corrupted);
        drop(s);
        let again = alloc.alloc(16 * 1024).unwrap();
        assert_eq!(again.base_addr(), base, "same slot");
        assert_eq!(again.check_canary(), Canary::Intact);
    }

    #[test]
    fn real_overflow_into_own_gap_is_overflowed() {
        let alloc = leaked(0);
        let stack = alloc.alloc(16 * 1024).unwrap();
        let usable_start = stack.limit_addr() + page_size();
        let mut co =
            Coroutine::<(), (), usize, _>::with_stack(stack, move |_, ()| dig(usable_start));
        let CoroutineResult::Return(lowest) = co.resume(()) else {
            panic!("no suspend expected")
        };
        // The deepest frame went below the usable area but not down to the gap canary.
        assert!(lowest <= usable_start);
        assert!(lowest > usable_start - page_size() + CANARY_LEN + 1024);
        assert_eq!(co.into_stack().check_canary(), Canary::Overflowed);
    }

    #[test]
    fn real_overflow_through_the_gap_is_corrupted() {
        let alloc = leaked(0);
        // Two slots: the overflow runs from the upper one into the top of the lower one,
        // which the test holds, so nothing else is hit.
        let below = alloc.alloc(16 * 1024).unwrap();
        let stack = alloc.alloc(16 * 1024).unwrap();
        assert_eq!(stack.limit_addr(), below.area_end(), "adjacent slots");
        let low = stack.limit_addr();
        let mut co = Coroutine::<(), (), usize, _>::with_stack(stack, move |_, ()| dig(low));
        let CoroutineResult::Return(lowest) = co.resume(()) else {
            panic!("no suspend expected")
        };
        assert!(lowest <= low);
        assert_eq!(co.into_stack().check_canary(), Canary::Corrupted);
        // The neighbour's own canaries are at its bottom, far away: it cannot tell.
        assert_eq!(below.check_canary(), Canary::Intact);
    }

    #[test]
    fn deep_but_legal_use_keeps_the_canary() {
        let alloc = leaked(0);
        let stack = alloc.alloc(16 * 1024).unwrap();
        // Stop 1 KiB above the usable canary: frames are a little over 512 B.
        let stop = stack.limit_addr() + page_size() + CANARY_LEN + 2048;
        let mut co = Coroutine::<(), (), usize, _>::with_stack(stack, move |_, ()| dig(stop));
        assert!(matches!(co.resume(()), CoroutineResult::Return(_)));
        let s = co.into_stack();
        assert_eq!(s.check_canary(), Canary::Intact);
        // Most of the usable area is now resident.
        let resident = s.resident_bytes().unwrap();
        assert!(resident >= s.usable_size() - 4 * page_size(), "{resident}");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn resident_bytes_counts_touched_pages() {
        let alloc = leaked(0);
        let s = alloc.alloc(64 * 1024).unwrap();
        assert_eq!(s.resident_bytes().unwrap(), 0);
        // SAFETY: the top of our own usable area.
        unsafe { poke(s.base_addr() - 1) };
        assert_eq!(s.resident_bytes().unwrap(), page_size());
        // SAFETY: 20 KiB below the base, inside the usable area.
        unsafe { poke(s.base_addr() - 20 * 1024) };
        assert_eq!(s.resident_bytes().unwrap(), 2 * page_size());
        assert_eq!(
            resident_bytes(s.limit_addr(), s.base_addr()),
            2 * page_size()
        );
        assert_eq!(resident_bytes(s.base_addr(), s.limit_addr()), 0);
    }
}
