//! [`StackPool`]: a scheduler thread's LIFO cache of stacks, in front of the shared allocator.

use std::{fmt, io, ptr};

use super::{
    slab::{class_size, SizeClass, SlabAllocator},
    ProcessStack,
};

/// How many stacks of one size a pool keeps before giving pages back.
const DEFAULT_HOT_LIMIT: usize = 256;

/// The cached stacks of one size class.
struct PoolClass {
    /// The class size ([`class_size`] of the request).
    size: usize,
    /// The allocator's class.
    class: &'static SizeClass,
    /// Cached stacks, most recently returned last. Capacity `hot_limit`, so pushing never
    /// allocates.
    hot: Vec<ProcessStack>,
}

/// A per-scheduler-thread cache of stacks: one LIFO per size class, holding at most
/// `hot_limit` stacks each. Not `Sync`; the scheduler owns it. Getting a stack from a
/// non-empty LIFO, or putting one into a LIFO with room, makes no allocation and no syscall.
pub(crate) struct StackPool {
    /// Where stacks come from and go to.
    alloc: &'static SlabAllocator,
    /// Maximum cached stacks per class.
    hot_limit: usize,
    /// Usually one or two entries: a linear scan is the fastest lookup.
    classes: Vec<PoolClass>,
}

impl fmt::Debug for StackPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sizes: Vec<(usize, usize)> =
            self.classes.iter().map(|c| (c.size, c.hot.len())).collect();
        f.debug_struct("StackPool")
            .field("hot_limit", &self.hot_limit)
            .field("cached", &sizes)
            .finish_non_exhaustive()
    }
}

impl Default for StackPool {
    fn default() -> Self {
        StackPool::new()
    }
}

impl StackPool {
    /// An empty pool over the process-wide allocator, caching up to 256 stacks per size.
    pub(crate) fn new() -> StackPool {
        StackPool::with_allocator(SlabAllocator::global(), DEFAULT_HOT_LIMIT)
    }

    /// An empty pool over `alloc`, caching up to `hot_limit` stacks per size.
    pub(crate) fn with_allocator(alloc: &'static SlabAllocator, hot_limit: usize) -> StackPool {
        StackPool {
            alloc,
            hot_limit,
            classes: Vec::new(),
        }
    }

    /// A stack with at least `size` usable bytes: the most recently returned one of its size
    /// class, else one from the allocator's free list, else a newly carved slot (mapping a new
    /// slab if needed). Running out of address space or mappings is an error, not a panic.
    pub(crate) fn get(&mut self, size: usize) -> io::Result<ProcessStack> {
        let size = class_size(size)?;
        if let Some(c) = self.classes.iter_mut().find(|c| c.size == size) {
            if let Some(stack) = c.hot.pop() {
                return Ok(stack);
            }
            return c.class.alloc();
        }
        let class = self.alloc.class(size)?;
        self.add_class(class)?;
        class.alloc()
    }

    /// Returns a stack whose coroutine has finished (or never ran). It goes on top of its
    /// LIFO; if that already holds `hot_limit` stacks, its pages are given back to the kernel
    /// (`MADV_DONTNEED`) and its slot goes to the allocator's free list instead.
    pub(crate) fn put(&mut self, mut stack: ProcessStack) {
        stack.clean_canary();
        let hot_limit = self.hot_limit;
        let entry = match self
            .classes
            .iter()
            .position(|c| ptr::eq(c.class, stack.class))
        {
            Some(i) => Some(&mut self.classes[i]),
            // First stack of a class seen through `put` (it was taken straight from the
            // allocator): start caching it, if it is ours and the entry can be made.
            None if ptr::eq(stack.class.allocator(), self.alloc)
                && self.add_class(stack.class).is_ok() =>
            {
                self.classes.last_mut()
            }
            None => None,
        };
        match entry {
            Some(c) if c.hot.len() < hot_limit => c.hot.push(stack),
            _ => stack.release_pages(),
        }
    }

    /// Number of stacks cached, over all sizes.
    #[allow(dead_code, reason = "introspection API")]
    pub(crate) fn len(&self) -> usize {
        self.classes.iter().map(|c| c.hot.len()).sum()
    }

    /// Whether no stack is cached.
    #[allow(dead_code, reason = "introspection API")]
    pub(crate) fn is_empty(&self) -> bool {
        self.classes.iter().all(|c| c.hot.is_empty())
    }

    /// Maximum cached stacks per size class.
    #[allow(dead_code, reason = "introspection API")]
    pub(crate) fn hot_limit(&self) -> usize {
        self.hot_limit
    }

    /// Starts caching `class`, with room for `hot_limit` stacks allocated up front.
    fn add_class(&mut self, class: &'static SizeClass) -> io::Result<()> {
        let oom = |_| io::Error::from(io::ErrorKind::OutOfMemory);
        self.classes.try_reserve(1).map_err(oom)?;
        let mut hot = Vec::new();
        hot.try_reserve_exact(self.hot_limit).map_err(oom)?;
        self.classes.push(PoolClass {
            size: class.size(),
            class,
            hot,
        });
        Ok(())
    }
}

impl Drop for StackPool {
    /// A scheduler thread is going away: its cached stacks return to the shared free lists
    /// with their pages given back, so an idle OS process does not keep them resident.
    fn drop(&mut self) {
        for c in &mut self.classes {
            for stack in c.hot.drain(..) {
                stack.release_pages();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{slab::page_size, Canary, DEFAULT_STACK_SIZE};
    use super::*;
    use corosensei::{Coroutine, CoroutineResult};

    /// A fresh allocator of its own.
    fn leaked(budget: usize) -> &'static SlabAllocator {
        Box::leak(Box::new(SlabAllocator::with_retire_batch(budget, 1)))
    }

    /// Touches `pages` pages from the top of the stack down.
    fn touch(s: &ProcessStack, pages: usize) {
        for i in 0..pages {
            let at = s.base_addr() - 8 - i * page_size();
            // SAFETY: inside the usable area of a slot we own, with no frames on it.
            unsafe { (at as *mut u64).write_volatile(7) };
        }
    }

    #[test]
    fn coroutine_on_pooled_stack_and_slot_reuse() {
        let alloc = leaked(4);
        let mut pool = StackPool::with_allocator(alloc, 8);
        let mut bases = Vec::new();
        for round in 0..3u64 {
            let stack = pool.get(DEFAULT_STACK_SIZE).unwrap();
            bases.push(stack.base_addr());
            let mut co = Coroutine::with_stack(stack, move |y, x: u64| {
                let v = vec![x; 100];
                let back = y.suspend(v.iter().sum::<u64>());
                back + round
            });
            assert!(matches!(co.resume(2), CoroutineResult::Yield(200)));
            assert!(matches!(co.resume(40), CoroutineResult::Return(r) if r == 40 + round));
            pool.put(co.into_stack());
            assert_eq!(pool.len(), 1);
        }
        assert!(bases.iter().all(|&b| b == bases[0]), "same slot every time");
        assert_eq!(alloc.stats().slots_carved, 1);
    }

    #[test]
    fn dropped_coroutine_returns_its_slot() {
        let alloc = leaked(0);
        let mut pool = StackPool::with_allocator(alloc, 8);
        let stack = pool.get(16 * 1024).unwrap();
        let base = stack.base_addr();
        // Suspended, then dropped: corosensei unwinds it and drops the stack.
        let mut co = Coroutine::with_stack(stack, |y, ()| {
            y.suspend(());
        });
        assert!(matches!(co.resume(()), CoroutineResult::Yield(())));
        drop(co);
        assert_eq!(alloc.stats().free_slots, 1);
        assert_eq!(pool.get(16 * 1024).unwrap().base_addr(), base);
    }

    #[test]
    fn lifo_order_and_sizes() {
        let alloc = leaked(0);
        let mut pool = StackPool::with_allocator(alloc, 8);
        let a = pool.get(16 * 1024).unwrap();
        let b = pool.get(16 * 1024).unwrap();
        let big = pool.get(DEFAULT_STACK_SIZE).unwrap();
        let (a_base, b_base, big_base) = (a.base_addr(), b.base_addr(), big.base_addr());
        pool.put(a);
        pool.put(big);
        pool.put(b);
        assert_eq!(pool.len(), 3);
        assert_eq!(pool.get(16 * 1024).unwrap().base_addr(), b_base);
        assert_eq!(
            pool.get(1).unwrap().base_addr(),
            a_base,
            "1 B rounds to 16 KiB"
        );
        assert_eq!(pool.get(DEFAULT_STACK_SIZE).unwrap().base_addr(), big_base);
        assert!(pool.is_empty());
    }

    #[test]
    fn put_cleans_a_dirty_canary() {
        let alloc = leaked(0);
        let mut pool = StackPool::with_allocator(alloc, 8);
        let s = pool.get(16 * 1024).unwrap();
        let base = s.base_addr();
        // SAFETY: the usable canary of our own unguarded slot.
        unsafe { ((s.limit_addr() + page_size()) as *mut u8).write_volatile(1) };
        assert_eq!(s.check_canary(), Canary::Overflowed);
        pool.put(s);
        let again = pool.get(16 * 1024).unwrap();
        assert_eq!(again.base_addr(), base);
        assert_eq!(again.check_canary(), Canary::Intact);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn beyond_hot_limit_pages_go_back() {
        for budget in [0, 8] {
            let alloc = leaked(budget);
            let mut pool = StackPool::with_allocator(alloc, 2);
            let stacks: Vec<_> = (0..3).map(|_| pool.get(64 * 1024).unwrap()).collect();
            for s in &stacks {
                touch(s, 5);
                assert_eq!(s.resident_bytes().unwrap(), 5 * page_size());
                assert_eq!(s.has_guard(), budget > 0);
            }
            let last = stacks[2].base_addr();
            for s in stacks {
                pool.put(s);
            }
            assert_eq!(pool.len(), 2, "hot limit");
            assert_eq!(
                alloc.stats().free_slots,
                1,
                "the third went to the allocator"
            );
            // Take the cached two, then the released one comes from the free list.
            let cached: Vec<_> = (0..2).map(|_| pool.get(64 * 1024).unwrap()).collect();
            for s in &cached {
                // Still warm. An unguarded slot may also show its lowest usable page: `put`
                // read the canary there, which maps the kernel's zero page (no RSS).
                let warm = s.resident_bytes().unwrap();
                let zero_page = if s.has_guard() { 0 } else { page_size() };
                assert!(
                    (5 * page_size()..=5 * page_size() + zero_page).contains(&warm),
                    "cached stays warm: {warm}"
                );
            }
            let released = pool.get(64 * 1024).unwrap();
            assert_eq!(released.base_addr(), last);
            assert_eq!(released.resident_bytes().unwrap(), 0, "pages given back");
            if budget == 0 {
                // The gap page was given back too.
                let g = released.guard_range();
                assert_eq!(super::super::resident_bytes(g.start, g.end), 0);
            }
            assert_eq!(released.check_canary(), Canary::Intact);
            assert_eq!(alloc.stats().slots_carved, 3);
        }
    }

    #[test]
    fn pages_go_back_a_batch_at_a_time_and_a_waiting_slot_is_reused_first() {
        for budget in [0, 8] {
            let alloc: &'static SlabAllocator =
                Box::leak(Box::new(SlabAllocator::with_retire_batch(budget, 4)));
            let stacks: Vec<_> = (0..5).map(|_| alloc.alloc(64 * 1024).unwrap()).collect();
            let bases: Vec<usize> = stacks.iter().map(|s| s.base_addr()).collect();
            for s in &stacks {
                touch(s, 3);
            }
            let mut stacks = stacks.into_iter();
            for s in stacks.by_ref().take(3) {
                s.release_pages();
            }
            assert_eq!(alloc.stats().free_slots, 0, "three wait for the batch");
            // A waiting slot, still warm, goes out before any other.
            let again = alloc.alloc(64 * 1024).unwrap();
            assert_eq!(again.base_addr(), bases[2]);
            assert!(again.resident_bytes().unwrap() >= 3 * page_size());
            let rest: Vec<_> = stacks.chain([again]).collect();
            for s in rest {
                s.release_pages();
            }
            // The fourth made a batch; the fifth waits.
            assert_eq!(alloc.stats().free_slots, 4);
            let taken: Vec<_> = (0..5).map(|_| alloc.alloc(64 * 1024).unwrap()).collect();
            let mut given_back = 0;
            for s in &taken {
                assert!(bases.contains(&s.base_addr()), "no new slot was carved");
                if s.resident_bytes().unwrap() == 0 {
                    given_back += 1;
                    assert_eq!(s.check_canary(), Canary::Intact);
                }
            }
            assert_eq!(given_back, 4, "the batch's pages were all given back");
            assert_eq!(alloc.stats().slots_carved, 5);
        }
    }

    #[test]
    fn put_of_a_stack_from_the_allocator_is_cached() {
        let alloc = leaked(0);
        let mut pool = StackPool::with_allocator(alloc, 4);
        let s = alloc.alloc(16 * 1024).unwrap();
        let base = s.base_addr();
        pool.put(s);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.get(16 * 1024).unwrap().base_addr(), base);
        // A stack of another allocator is not cached here; it goes home.
        let other = leaked(0);
        pool.put(other.alloc(16 * 1024).unwrap());
        assert_eq!(pool.len(), 0);
        assert_eq!(other.stats().free_slots, 1);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn dropping_the_pool_releases_its_stacks() {
        let alloc = leaked(0);
        let mut pool = StackPool::with_allocator(alloc, 4);
        let s = pool.get(16 * 1024).unwrap();
        touch(&s, 1);
        pool.put(s);
        drop(pool);
        assert_eq!(alloc.stats().free_slots, 1);
        let s = alloc.alloc(16 * 1024).unwrap();
        assert_eq!(s.resident_bytes().unwrap(), 0);
    }

    #[test]
    fn global_pool_works() {
        let mut pool = StackPool::new();
        assert_eq!(pool.hot_limit(), DEFAULT_HOT_LIMIT);
        let s = pool.get(DEFAULT_STACK_SIZE).unwrap();
        assert!(s.usable_size() >= DEFAULT_STACK_SIZE);
        pool.put(s);
        assert_eq!(pool.len(), 1);
        assert!(super::super::stats().slots_carved >= 1);
    }
}
