//! The process-wide slab allocator behind [`ProcessStack`]: size classes, slabs, guard budget,
//! colouring and the shared free lists. See the module documentation of [`super`] for the
//! layout and the reasons behind it.

use std::{
    fmt, io,
    ops::Range,
    ptr::{self, NonNull},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed},
        Mutex, MutexGuard, OnceLock, PoisonError,
    },
};

use super::ProcessStack;

/// Smallest usable stack handed out, before the colouring slack is added.
pub(crate) const MIN_USABLE: usize = 16 * 1024;
/// Number of distinct stack-base colours. 48, not 64: the largest offset (3008 B) leaves an
/// idle process's frames (about 500 B in release builds) room to stay in the top page, so
/// colouring does not cost a second resident page per process (measured: with 64 colours about
/// one process in six touched two pages).
pub(crate) const COLOURS: usize = 48;
/// Distance between two colours: one cache line. Keeps the base 16-byte aligned.
pub(crate) const COLOUR_STEP: usize = 64;
/// Size of each canary area (the lowest bytes of the usable area and of the gap page).
pub(crate) const CANARY_LEN: usize = 64;
/// A slab holds at least this many slots, unless that would exceed [`SLAB_MAX_BYTES`].
const SLAB_MIN_SLOTS: usize = 256;
/// A slab is at least this big (more slots for small stacks), unless that would exceed
/// [`SLAB_MAX_BYTES`].
const SLAB_MIN_BYTES: usize = 8 << 20;
/// A slab reserves at most this much address space (fewer slots for huge stacks), but always
/// holds at least one slot.
const SLAB_MAX_BYTES: usize = 64 << 20;
/// The default guard budget never exceeds this many guarded slots (32 768 mappings).
const MAX_DEFAULT_GUARD_BUDGET: usize = 16 * 1024;
/// Mappings kept out of the guard budget for everything else in the OS process (malloc arenas,
/// thread stacks, shared libraries, files): at `vm.max_map_count` even `malloc` fails.
const RESERVED_MAPPINGS: usize = 32 * 1024;
/// `vm.max_map_count` assumed when `/proc/sys/vm/max_map_count` cannot be read (the kernel's
/// default).
const FALLBACK_MAX_MAP_COUNT: usize = 65_530;

/// Flags for a slab mapping. `MAP_NORESERVE`: only touched pages count; a 128 KiB stack that
/// touches one page costs one page. OpenBSD insists on `MAP_STACK` for anything used as a stack.
#[cfg(any(target_os = "linux", target_os = "android"))]
const MAP_FLAGS: libc::c_int = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
#[cfg(target_os = "openbsd")]
const MAP_FLAGS: libc::c_int = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "openbsd")))]
const MAP_FLAGS: libc::c_int = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;

/// The system page size, read once (a relaxed load afterwards; it is on the canary hot path).
#[inline]
pub(crate) fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Relaxed) {
        0 => {
            // SAFETY: sysconf has no memory-safety preconditions.
            let raw = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            // Colouring needs the largest colour offset (4032 B) to stay below one page.
            let page = usize::try_from(raw)
                .ok()
                .filter(|p| p.is_power_of_two() && *p >= 4096)
                .unwrap_or(4096);
            PAGE.store(page, Relaxed);
            page
        }
        page => page,
    }
}

/// Rounds `n` up to a multiple of `page` (a power of two); `None` on overflow.
fn round_up(n: usize, page: usize) -> Option<usize> {
    Some(n.checked_add(page - 1)? & !(page - 1))
}

/// The size class a request for `size` bytes of stack falls into: at least [`MIN_USABLE`],
/// rounded up to the page size. `InvalidInput` if that overflows.
pub(crate) fn class_size(size: usize) -> io::Result<usize> {
    round_up(size.max(MIN_USABLE), page_size())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "stack size too large"))
}

/// How many slots of `stride` bytes one slab holds: about 256, at least 8 MiB worth, at most
/// 64 MiB worth, at least one.
pub(crate) fn slots_per_slab(stride: usize) -> usize {
    let slots = SLAB_MIN_SLOTS.max(SLAB_MIN_BYTES.div_ceil(stride));
    if slots.saturating_mul(stride) > SLAB_MAX_BYTES {
        (SLAB_MAX_BYTES / stride).max(1)
    } else {
        slots
    }
}

/// The default guard budget for a given `vm.max_map_count`: each guarded slot costs two
/// mappings, and [`RESERVED_MAPPINGS`] stay free for the rest of the process.
pub(crate) fn guard_budget_for(max_map_count: usize) -> usize {
    MAX_DEFAULT_GUARD_BUDGET.min(max_map_count.saturating_sub(RESERVED_MAPPINGS) / 2)
}

/// `vm.max_map_count` of this host, or the kernel default if it cannot be read.
fn max_map_count() -> usize {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(FALLBACK_MAX_MAP_COUNT)
}

/// Locks `m`, ignoring poisoning: every critical section here leaves the state consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The location of one slot: everything a [`ProcessStack`] or a free-list entry needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawSlot {
    /// Lowest address of the slot: the start of its low page (guard or gap). Page aligned.
    pub(crate) low: NonNull<u8>,
    /// The coloured stack base (highest usable address, exclusive). 16-byte aligned.
    pub(crate) base: NonNull<u8>,
    /// Whether the low page is an `mprotect(PROT_NONE)` guard page.
    pub(crate) guarded: bool,
}

impl RawSlot {
    /// End of the slot (the base rounded up to the page: the colour offset is below a page).
    pub(crate) fn area_end(&self) -> usize {
        let page = page_size();
        (self.base.as_ptr() as usize + page - 1) & !(page - 1)
    }
}

// SAFETY: a RawSlot is only addresses into slab memory that is never unmapped; which thread
// holds the description does not matter. Access to the memory itself is governed by whoever
// owns the slot (a ProcessStack or the free list).
unsafe impl Send for RawSlot {}
// SAFETY: as above; `&RawSlot` only exposes the addresses.
unsafe impl Sync for RawSlot {}

/// The mutable part of a size class, behind its mutex.
#[derive(Debug)]
struct ClassState {
    /// Slots returned to the allocator, reused LIFO. Its capacity always covers every slot
    /// carved so far, so pushing never allocates (a process exit never calls `malloc` here).
    free: Vec<RawSlot>,
    /// Address of the next uncarved slot in the current slab (0 before the first slab).
    next: usize,
    /// End of the current slab.
    end: usize,
    /// Slots carved so far in this class: slot `i` gets colour `i % COLOURS`.
    carved: usize,
    /// Returned slots whose pages are still resident, waiting to be given back together
    /// ([`SizeClass::retire`]); taken first by `alloc` (they are warm). Capacity reserved
    /// with the first slab: pushing never allocates.
    retiring: Vec<RawSlot>,
}

/// All slots of one stack size. Created on first request for that size and never freed
/// (the allocator that owns it is `'static`, and so is the memory it hands out).
pub(crate) struct SizeClass {
    /// The allocator this class belongs to (guard budget, statistics).
    alloc: &'static SlabAllocator,
    /// The class size: the rounded request, excluding the colouring slack.
    size: usize,
    /// Slot length: low page + `size` + one page of colouring slack.
    stride: usize,
    /// Slots per slab.
    per_slab: usize,
    /// Free list and carving cursor.
    state: Mutex<ClassState>,
}

impl fmt::Debug for SizeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SizeClass")
            .field("size", &self.size)
            .field("stride", &self.stride)
            .field("per_slab", &self.per_slab)
            .finish_non_exhaustive()
    }
}

impl SizeClass {
    /// The class size (the rounded request, excluding colouring slack).
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The allocator this class belongs to.
    pub(crate) fn allocator(&self) -> &'static SlabAllocator {
        self.alloc
    }

    /// A slot of this class: the most recently freed one, else a newly carved one (mapping a
    /// new slab if the current one is used up).
    pub(crate) fn alloc(&'static self) -> io::Result<ProcessStack> {
        let page = page_size();
        let (low, seq) = {
            let mut st = lock(&self.state);
            if let Some(slot) = st.retiring.pop() {
                return Ok(ProcessStack::from_raw(slot, self));
            }
            if let Some(slot) = st.free.pop() {
                self.alloc.free.fetch_sub(1, Relaxed);
                return Ok(ProcessStack::from_raw(slot, self));
            }
            if st.next == st.end {
                let batch = self.alloc.retire_batch;
                if st.retiring.capacity() < batch {
                    st.retiring
                        .try_reserve_exact(batch)
                        .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
                }
                // Keep the free list able to take back every slot without allocating.
                let additional = st.carved + self.per_slab - st.free.len();
                st.free
                    .try_reserve(additional)
                    .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
                let len = self.per_slab * self.stride;
                let start = self.alloc.map_slab(len)?;
                st.next = start;
                st.end = start + len;
            }
            let low = st.next;
            st.next += self.stride;
            let seq = st.carved;
            st.carved += 1;
            (low, seq)
        };
        // Outside the lock: mprotect is slow when the mapping tree is large.
        let guarded = self.alloc.try_guard(low, page);
        self.alloc.carved.fetch_add(1, Relaxed);
        let base = low + self.stride - (seq % COLOURS) * COLOUR_STEP;
        match (NonNull::new(low as *mut u8), NonNull::new(base as *mut u8)) {
            (Some(low), Some(base)) => {
                Ok(ProcessStack::from_raw(RawSlot { low, base, guarded }, self))
            }
            // mmap never returns page 0 to us, so this cannot happen; no panic anyway.
            _ => Err(io::Error::other("slab slot at address 0")),
        }
    }

    /// Puts a slot back on this class's free list. The caller has cleaned its canaries.
    pub(crate) fn release(&self, slot: RawSlot) {
        let mut st = lock(&self.state);
        // Capacity was reserved when the slot's slab was mapped, so this does not allocate.
        st.free.push(slot);
        self.alloc.free.fetch_add(1, Relaxed);
    }

    /// Gives a slot's pages back to the kernel and the slot to the free list, batched: the
    /// slot waits with others returned to this class (from any scheduler) until there are
    /// `retire_batch` of them, which then go back with one `madvise(MADV_DONTNEED)` per run
    /// of adjacent slots. The caller has cleaned its canaries and owns the slot, with no live
    /// frames on it.
    ///
    /// Every `madvise` flushes the TLB on every core the OS process runs on (an
    /// inter-processor interrupt each, costly on a virtual machine): one per exiting process
    /// made stopping a million idle processes take 11 s, 70% of it in those interrupts. The
    /// processes of a burst were spawned in a row, so many of their slots lie side by side;
    /// batching over the whole class rather than per scheduler keeps neighbours that exited
    /// on different schedulers in one run. (Measured: 200 000 exits made 115 000 calls
    /// rather than 200 000; neighbouring slots carved by different schedulers often exit far
    /// apart in time, which carving runs of slots per scheduler would fix.) A run starts at a slot's low page: for a guarded
    /// slot that is its guard page, which has no pages to drop (advice on a `PROT_NONE` range
    /// is allowed), so guarded neighbours merge too.
    pub(crate) fn retire(&self, slot: RawSlot) {
        let batch = self.alloc.retire_batch;
        let mut slots = {
            let mut st = lock(&self.state);
            if st.retiring.len() + 1 < batch && st.retiring.len() < st.retiring.capacity() {
                st.retiring.push(slot);
                return;
            }
            // Full (or, impossibly, without reserved room): the batch goes, with this slot.
            // The next batch gets a fresh vector: one allocation per batch, not per exit; if
            // it fails, slots simply go back one at a time until one succeeds.
            let mut next = Vec::new();
            let _ = next.try_reserve_exact(batch);
            let mut slots = std::mem::replace(&mut st.retiring, next);
            drop(st);
            slots.push(slot);
            slots
        };
        slots.sort_unstable_by_key(|s| s.low);
        let mut run: Option<Range<usize>> = None;
        for s in slots.iter() {
            let (start, end) = (s.low.as_ptr() as usize, s.area_end());
            match &mut run {
                Some(r) if r.end == start => r.end = end,
                _ => {
                    if let Some(r) = run.replace(start..end) {
                        // SAFETY: `r` covers slots of this batch only (runs merge only where
                        // one slot ends exactly where the next begins), which we own with no
                        // live frames; their contents may be dropped.
                        unsafe { dont_need(r) };
                    }
                }
            }
        }
        if let Some(r) = run {
            // SAFETY: as above.
            unsafe { dont_need(r) };
        }
        let mut st = lock(&self.state);
        // Capacity covers every carved slot, so this does not allocate.
        st.free.extend_from_slice(&slots);
        self.alloc.free.fetch_add(slots.len(), Relaxed);
    }
}

/// The default `retire_batch`. (1024 was no better on `spawn_idle`'s stop: neighbouring
/// slots are often carved by different schedulers and exit far apart in time.)
const RETIRE_BATCH: usize = 64;
/// The largest `retire_batch`.
const MAX_RETIRE_BATCH: usize = 1024;

/// `madvise(MADV_DONTNEED)` over `range`. A failure only leaves the pages resident.
///
/// # Safety
///
/// `range` is mapped slot memory nobody uses (no live frames), whose contents may be dropped.
unsafe fn dont_need(range: Range<usize>) {
    // SAFETY: the caller's contract.
    unsafe {
        libc::madvise(
            range.start as *mut libc::c_void,
            range.end - range.start,
            libc::MADV_DONTNEED,
        );
    }
}

/// Counters describing an allocator, for tests and introspection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StackStats {
    /// Slabs mapped so far (never unmapped).
    pub(crate) slabs_mapped: usize,
    /// Address space reserved by those slabs, in bytes.
    pub(crate) reserved_bytes: usize,
    /// Slots carved out of slabs so far.
    pub(crate) slots_carved: usize,
    /// Carved slots that have a guard page.
    pub(crate) guarded_slots: usize,
    /// Slots on the allocator's free lists (not counting those cached by [`super::StackPool`]s).
    pub(crate) free_slots: usize,
}

/// Carves fixed-size stack slots out of large anonymous mappings, shared by every scheduler
/// thread of the OS process. See [`super`] for the layout.
pub(crate) struct SlabAllocator {
    /// One entry per distinct class size ever requested; leaked, so `&'static`.
    classes: Mutex<Vec<&'static SizeClass>>,
    /// Slots given back to the kernel per batch ([`SizeClass::retire`]).
    retire_batch: usize,
    /// Maximum number of guarded slots ever carved.
    guard_budget: AtomicUsize,
    /// Guarded slots carved so far.
    guarded: AtomicUsize,
    /// Set when an `mprotect` failed: no more guards from then on.
    guards_failed: AtomicBool,
    /// Slabs mapped.
    slabs: AtomicUsize,
    /// Bytes mapped.
    reserved: AtomicUsize,
    /// Slots carved.
    carved: AtomicUsize,
    /// Slots on free lists.
    free: AtomicUsize,
}

impl fmt::Debug for SlabAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlabAllocator")
            .field("guard_budget", &self.guard_budget())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl SlabAllocator {
    /// An allocator with its own slabs and the given guard budget. Stacks can only be taken
    /// from a `&'static` allocator (slab memory outlives everything), so tests leak one; the
    /// runtime uses [`SlabAllocator::global`].
    pub(crate) const fn new(guard_budget: usize) -> SlabAllocator {
        SlabAllocator::with_retire_batch(guard_budget, RETIRE_BATCH)
    }

    /// As [`SlabAllocator::new`], giving pages back `batch` slots at a time (1 to 1024;
    /// [`SizeClass::retire`]).
    pub(crate) const fn with_retire_batch(guard_budget: usize, batch: usize) -> SlabAllocator {
        let retire_batch = if batch == 0 {
            1
        } else if batch > MAX_RETIRE_BATCH {
            MAX_RETIRE_BATCH
        } else {
            batch
        };
        SlabAllocator {
            retire_batch,
            classes: Mutex::new(Vec::new()),
            guard_budget: AtomicUsize::new(guard_budget),
            guarded: AtomicUsize::new(0),
            guards_failed: AtomicBool::new(false),
            slabs: AtomicUsize::new(0),
            reserved: AtomicUsize::new(0),
            carved: AtomicUsize::new(0),
            free: AtomicUsize::new(0),
        }
    }

    /// The allocator shared by the whole OS process, with the default guard budget
    /// ([`SlabAllocator::default_guard_budget`]) unless [`SlabAllocator::set_guard_budget`]
    /// changed it.
    pub(crate) fn global() -> &'static SlabAllocator {
        static GLOBAL: OnceLock<SlabAllocator> = OnceLock::new();
        GLOBAL.get_or_init(|| SlabAllocator::new(SlabAllocator::default_guard_budget()))
    }

    /// `min(16384, (vm.max_map_count - 32768) / 2)`, reading `/proc/sys/vm/max_map_count`
    /// (65530 if unreadable): 16381 on a stock kernel.
    pub(crate) fn default_guard_budget() -> usize {
        guard_budget_for(max_map_count())
    }

    /// Sets how many guarded slots may ever be carved. Meant to be called before the first
    /// allocation; later calls only affect slots carved afterwards (a lower budget never
    /// removes existing guards).
    pub(crate) fn set_guard_budget(&self, n: usize) {
        self.guard_budget.store(n, Relaxed);
    }

    /// The current guard budget.
    pub(crate) fn guard_budget(&self) -> usize {
        self.guard_budget.load(Relaxed)
    }

    /// The size class for a request of `size` bytes, created on first use.
    pub(crate) fn class(&'static self, size: usize) -> io::Result<&'static SizeClass> {
        let size = class_size(size)?;
        let mut classes = lock(&self.classes);
        if let Some(c) = classes.iter().find(|c| c.size == size) {
            return Ok(c);
        }
        let page = page_size();
        let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "stack size too large");
        // One page of slack so that the colour offset never eats into the requested size.
        // Low page + size + one page of colouring slack.
        let stride = size.checked_add(2 * page).ok_or_else(too_big)?;
        let per_slab = slots_per_slab(stride);
        per_slab.checked_mul(stride).ok_or_else(too_big)?;
        classes
            .try_reserve(1)
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let class: &'static SizeClass = Box::leak(Box::new(SizeClass {
            alloc: self,
            size,
            stride,
            per_slab,
            state: Mutex::new(ClassState {
                free: Vec::new(),
                next: 0,
                end: 0,
                carved: 0,
                retiring: Vec::new(),
            }),
        }));
        classes.push(class);
        Ok(class)
    }

    /// A stack of at least `size` usable bytes, straight from the allocator (no pool).
    #[allow(
        dead_code,
        reason = "the runtime goes through StackPool; tests and tools do not"
    )]
    pub(crate) fn alloc(&'static self, size: usize) -> io::Result<ProcessStack> {
        self.class(size)?.alloc()
    }

    /// Current counters.
    pub(crate) fn stats(&self) -> StackStats {
        StackStats {
            slabs_mapped: self.slabs.load(Relaxed),
            reserved_bytes: self.reserved.load(Relaxed),
            slots_carved: self.carved.load(Relaxed),
            guarded_slots: self.guarded.load(Relaxed),
            free_slots: self.free.load(Relaxed),
        }
    }

    /// Maps a new slab of `len` bytes (read-write, never unmapped) and returns its address.
    fn map_slab(&self, len: usize) -> io::Result<usize> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing cannot
        // alias any existing Rust object.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                MAP_FLAGS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // With THP=always one touch per stack would pull in a 2 MiB huge page (RSS per idle
        // process measured 4x higher). A failure (kernel without THP) is harmless: ignored.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        // SAFETY: advice on the mapping we just created; MADV_NOHUGEPAGE does not change its
        // contents.
        unsafe {
            libc::madvise(addr, len, libc::MADV_NOHUGEPAGE);
        }
        self.slabs.fetch_add(1, Relaxed);
        self.reserved.fetch_add(len, Relaxed);
        Ok(addr as usize)
    }

    /// Decides whether the slot whose low page starts at `low` gets a guard page and, if so,
    /// `mprotect`s it. `false` when the budget is spent or guarding failed (then it stops).
    fn try_guard(&self, low: usize, page: usize) -> bool {
        let mut cur = self.guarded.load(Relaxed);
        loop {
            if self.guards_failed.load(Relaxed) || cur >= self.guard_budget.load(Relaxed) {
                return false;
            }
            match self
                .guarded
                .compare_exchange_weak(cur, cur + 1, Relaxed, Relaxed)
            {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        // SAFETY: [low, low + page) is the low page of a slot just carved from one of our slabs;
        // nothing refers to it yet, and it is never accessed through a guarded slot afterwards.
        let rc = unsafe { libc::mprotect(low as *mut libc::c_void, page, libc::PROT_NONE) };
        if rc == 0 {
            true
        } else {
            // Typically ENOMEM at vm.max_map_count: stop guarding before everything else fails.
            self.guarded.fetch_sub(1, Relaxed);
            self.guards_failed.store(true, Relaxed);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::StackPool;
    use super::*;
    use std::collections::HashSet;

    /// A fresh allocator of its own, so tests do not see each other's slots.
    fn leaked(budget: usize) -> &'static SlabAllocator {
        Box::leak(Box::new(SlabAllocator::with_retire_batch(budget, 1)))
    }

    /// `/proc/self/maps` as (start, end, perms) triples.
    fn maps() -> Vec<(usize, usize, String)> {
        let text = std::fs::read_to_string("/proc/self/maps").expect("read /proc/self/maps");
        text.lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let (range, perms) = (it.next()?, it.next()?);
                let (a, b) = range.split_once('-')?;
                Some((
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                    perms.to_owned(),
                ))
            })
            .collect()
    }

    /// A `/proc/self/status` field in bytes (given there in kB).
    fn status_bytes(field: &str) -> usize {
        let text = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
        let line = text
            .lines()
            .find(|l| l.starts_with(field))
            .expect("field present");
        let kb: usize = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("numeric field");
        kb * 1024
    }

    #[test]
    fn class_sizes_round_to_pages_with_a_minimum() {
        let page = page_size();
        assert_eq!(class_size(0).unwrap(), MIN_USABLE);
        assert_eq!(class_size(1).unwrap(), MIN_USABLE);
        assert_eq!(class_size(MIN_USABLE + 1).unwrap(), MIN_USABLE + page);
        assert_eq!(class_size(128 * 1024).unwrap(), 128 * 1024);
        assert!(class_size(usize::MAX).is_err());
    }

    #[test]
    fn slab_sizes() {
        // 16 KiB stacks: stride 24 KiB -> 342 slots = 8 MiB.
        assert_eq!(slots_per_slab(24 * 1024), 342);
        // 128 KiB stacks: stride 136 KiB -> 256 slots (34 MiB).
        assert_eq!(slots_per_slab(136 * 1024), 256);
        // 1 MiB stacks: capped at 64 MiB.
        assert_eq!(slots_per_slab((1 << 20) + 8192), 63);
        // Huge stacks: at least one.
        assert_eq!(slots_per_slab(1 << 30), 1);
    }

    #[test]
    fn default_guard_budget_formula() {
        assert_eq!(guard_budget_for(65_530), 16_381);
        assert_eq!(guard_budget_for(1_048_576), 16_384);
        assert_eq!(guard_budget_for(30_000), 0);
        let b = SlabAllocator::default_guard_budget();
        assert_eq!(b, guard_budget_for(max_map_count()));
        assert!(SlabAllocator::global().guard_budget() <= 16_384);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn guard_budget_is_respected_and_guards_are_prot_none() {
        let alloc = leaked(2);
        let page = page_size();
        let stacks: Vec<_> = (0..4).map(|_| alloc.alloc(16 * 1024).unwrap()).collect();
        let guarded: Vec<bool> = stacks.iter().map(ProcessStack::has_guard).collect();
        assert_eq!(guarded, [true, true, false, false]);
        let st = alloc.stats();
        assert_eq!(st.guarded_slots, 2);
        assert_eq!(st.slots_carved, 4);
        assert_eq!(st.slabs_mapped, 1);

        let maps = maps();
        for s in &stacks {
            let g = s.guard_range();
            assert_eq!(g.len(), page);
            assert_eq!(g.start, s.limit_addr());
            assert_eq!(g.start % page, 0);
            let line = maps
                .iter()
                .find(|(a, b, _)| *a <= g.start && g.end <= *b)
                .expect("low page is mapped");
            if s.has_guard() {
                // The guard is a mapping of its own, exactly the low page, inaccessible.
                assert_eq!((line.0, line.1), (g.start, g.end), "guard VMA");
                assert!(line.2.starts_with("---"), "guard perms {}", line.2);
            } else {
                assert!(line.2.starts_with("rw"), "gap perms {}", line.2);
            }
            // The usable area is read-write.
            let u = maps
                .iter()
                .find(|(a, b, _)| *a <= g.end && s.base_addr() <= *b)
                .expect("usable area is one mapping");
            assert!(u.2.starts_with("rw"));
        }

        // Raising the budget later guards slots carved from then on.
        alloc.set_guard_budget(3);
        let more = alloc.alloc(16 * 1024).unwrap();
        assert!(more.has_guard());
        let again = alloc.alloc(16 * 1024).unwrap();
        assert!(!again.has_guard());
        assert_eq!(alloc.stats().guarded_slots, 3);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn slabs_are_noreserve_and_nohugepage() {
        let alloc = leaked(0);
        let s = alloc.alloc(16 * 1024).unwrap();
        let addr = s.base_addr() - 1;
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
        let mut inside = false;
        let mut flags = None;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        inside = a <= addr && addr < b;
                        continue;
                    }
                }
            }
            if inside {
                if let Some(f) = line.strip_prefix("VmFlags:") {
                    flags = Some(f.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
                }
            }
        }
        let flags = flags.expect("slab VMA in smaps");
        // nr: MAP_NORESERVE; nh: MADV_NOHUGEPAGE.
        assert!(flags.iter().any(|f| f == "nr"), "{flags:?}");
        assert!(flags.iter().any(|f| f == "nh"), "{flags:?}");
    }

    #[test]
    fn colouring_gives_distinct_offsets() {
        let alloc = leaked(0);
        let stacks: Vec<_> = (0..COLOURS)
            .map(|_| alloc.alloc(16 * 1024).unwrap())
            .collect();
        let mut offsets = HashSet::new();
        for (i, s) in stacks.iter().enumerate() {
            let base = s.base_addr();
            assert_eq!(base % 16, 0, "corosensei needs 16-byte alignment");
            assert!(s.usable_size() >= 16 * 1024, "colour slack keeps the size");
            offsets.insert(base % 4096);
            if i > 0 {
                // Consecutive slots: consecutive colours.
                assert_ne!(base % 4096, stacks[i - 1].base_addr() % 4096);
            }
        }
        assert_eq!(offsets.len(), COLOURS);
        // Slot 64 wraps around to colour 0 again.
        let wrap = alloc.alloc(16 * 1024).unwrap();
        assert_eq!(wrap.base_addr() % 4096, stacks[0].base_addr() % 4096);
    }

    #[test]
    fn freed_slot_is_reused_lifo() {
        let alloc = leaked(1);
        let a = alloc.alloc(20 * 1024).unwrap();
        let b = alloc.alloc(20 * 1024).unwrap();
        let (a_base, b_base) = (a.base_addr(), b.base_addr());
        assert!(a.has_guard() && !b.has_guard());
        drop(a);
        drop(b);
        assert_eq!(alloc.stats().free_slots, 2);
        let b2 = alloc.alloc(20 * 1024).unwrap();
        assert_eq!(b2.base_addr(), b_base);
        assert_eq!(alloc.stats().free_slots, 1);
        let a2 = alloc.alloc(20 * 1024).unwrap();
        assert_eq!(a2.base_addr(), a_base);
        assert!(a2.has_guard(), "a reused slot keeps its guard");
        // No new carving happened.
        assert_eq!(alloc.stats().slots_carved, 2);
    }

    #[test]
    fn size_classes_are_separate() {
        let alloc = leaked(0);
        let small = alloc.alloc(1).unwrap();
        let big = alloc.alloc(256 * 1024).unwrap();
        assert!(small.usable_size() >= MIN_USABLE);
        assert!(big.usable_size() >= 256 * 1024);
        assert_eq!(alloc.stats().slabs_mapped, 2);
        // Same class for sizes that round to the same pages.
        let c1 = alloc.class(100_000).unwrap();
        let c2 = alloc.class(100_001).unwrap();
        assert!(std::ptr::eq(c1, c2));
    }

    #[test]
    fn impossible_sizes_are_errors_not_panics() {
        let alloc = leaked(0);
        assert_eq!(
            alloc.alloc(usize::MAX).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        // Bigger than the address space: mmap fails with ENOMEM.
        let err = alloc.alloc(1 << 60).unwrap_err();
        assert!(err.raw_os_error().is_some(), "{err}");
        assert_eq!(alloc.stats().slabs_mapped, 0);
    }

    #[test]
    fn failed_mprotect_stops_guarding() {
        let alloc = leaked(10);
        // A page that is not mapped makes mprotect fail (ENOMEM), as it does at the map limit.
        let page = page_size();
        assert!(!alloc.try_guard(page, page));
        assert_eq!(alloc.stats().guarded_slots, 0);
        let s = alloc.alloc(16 * 1024).unwrap();
        assert!(!s.has_guard(), "guarding stopped after a failure");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn hundred_thousand_unguarded_stacks_cost_a_page_each_and_few_mappings() {
        const N: usize = 100_000;
        let alloc = leaked(0);
        let mut stacks = Vec::with_capacity(N);
        // Map the first slab before measuring, so the baseline includes the allocator itself.
        stacks.push(alloc.alloc(16 * 1024).unwrap());
        let maps_before = maps().len();
        let rss_before = status_bytes("VmRSS:");
        for _ in 1..N {
            stacks.push(alloc.alloc(16 * 1024).unwrap());
        }
        for s in &stacks[1..] {
            // Touch the top page, as a freshly started coroutine does.
            // SAFETY: the slot is ours and base - 8 lies in its usable area.
            unsafe { ((s.base_addr() - 8) as *mut u64).write_volatile(1) };
        }
        let rss_after = status_bytes("VmRSS:");
        let maps_after = maps().len();
        let per_stack = (rss_after.saturating_sub(rss_before)) / (N - 1);
        eprintln!(
            "{N} stacks: {per_stack} B RSS each, mappings {maps_before} -> {maps_after}, {:?}",
            alloc.stats()
        );
        assert!(
            (3_800..=5_000).contains(&per_stack),
            "RSS per touched stack {per_stack} B"
        );
        assert!(
            maps_after < maps_before + 1_000,
            "mappings {maps_before} -> {maps_after}"
        );
        let st = alloc.stats();
        assert_eq!(st.slots_carved, N);
        assert_eq!(st.guarded_slots, 0);
        assert_eq!(st.slabs_mapped, N.div_ceil(342));

        // Give the memory back through a pool that caches nothing.
        let mut pool = StackPool::with_allocator(alloc, 0);
        for s in stacks {
            pool.put(s);
        }
        // Batches of one here (`leaked`): every slot is back at once.
        assert_eq!(alloc.stats().free_slots, N);
    }
}
