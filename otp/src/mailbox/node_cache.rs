//! A per-thread cache of free mailbox nodes, in front of the global allocator.
//!
//! Every message is one small heap node, allocated by the sender and freed by the receiver. On
//! one scheduler the pair is a malloc and a free per message, about a hundred instructions with
//! glibc, a good share of a message's whole cost. This cache keeps up to [`MAX_CACHED`] free
//! nodes per size class (16-byte classes up to 256 bytes) per thread, so a node freed by a
//! receiver is handed to the next sender on the same thread with a push and a pop. Nodes freed
//! on another thread than they were allocated on simply land in that thread's cache (or go back
//! to the allocator when it is full): the cache never moves memory between threads.
//!
//! Invariant: a node is always allocated and freed with the layout of its size class (when it
//! has one), so a block from the cache and one from the allocator are interchangeable.

use std::{
    alloc::{self, Layout},
    cell::RefCell,
    ptr::NonNull,
};

/// Free nodes kept per size class per thread.
const MAX_CACHED: usize = 256;
/// Size classes: 16, 32, ..., 256 bytes.
const CLASSES: usize = 16;
const CLASS_ALIGN: usize = 16;

struct Cache([Vec<NonNull<u8>>; CLASSES]);

impl Drop for Cache {
    fn drop(&mut self) {
        for (class, blocks) in self.0.iter_mut().enumerate() {
            for p in blocks.drain(..) {
                // SAFETY: every cached block was allocated with its class's layout and is free.
                unsafe { alloc::dealloc(p.as_ptr(), class_layout(class)) };
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache(Default::default()));
}

fn class_of(layout: Layout) -> Option<usize> {
    (layout.size() <= CLASSES * CLASS_ALIGN && layout.align() <= CLASS_ALIGN && layout.size() > 0)
        .then(|| layout.size().div_ceil(CLASS_ALIGN) - 1)
}

fn class_layout(class: usize) -> Layout {
    // (class + 1) * 16 is a multiple of the (power of two) alignment and far below isize::MAX.
    Layout::from_size_align((class + 1) * CLASS_ALIGN, CLASS_ALIGN).expect("valid class layout")
}

/// Allocates a block for a node of `layout` (not zero-sized).
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    let (layout, class) = match class_of(layout) {
        Some(class) => {
            let cached = CACHE
                .try_with(|c| c.borrow_mut().0[class].pop())
                .ok()
                .flatten();
            if let Some(p) = cached {
                return p;
            }
            (class_layout(class), Some(class))
        }
        None => (layout, None),
    };
    debug_assert!(class.is_none() || layout.size() % CLASS_ALIGN == 0);
    // SAFETY: `layout` has a non-zero size (nodes carry a header).
    let p = unsafe { alloc::alloc(layout) };
    NonNull::new(p).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// Frees a block from [`alloc`].
///
/// # Safety
///
/// `p` must come from [`alloc`] with the same `layout`, and must not be used afterwards.
pub(crate) unsafe fn free(p: NonNull<u8>, layout: Layout) {
    let Some(class) = class_of(layout) else {
        // SAFETY: allocated by `alloc` with this exact layout (no class).
        unsafe { alloc::dealloc(p.as_ptr(), layout) };
        return;
    };
    let kept = CACHE
        .try_with(|c| {
            let mut c = c.borrow_mut();
            let blocks = &mut c.0[class];
            if blocks.len() < MAX_CACHED {
                if blocks.capacity() == 0 {
                    blocks.reserve_exact(MAX_CACHED);
                }
                blocks.push(p);
                true
            } else {
                false
            }
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: allocated by `alloc` with its class's layout.
        unsafe { alloc::dealloc(p.as_ptr(), class_layout(class)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_cache_is_bounded() {
        let layout = Layout::new::<[u8; 48]>();
        let blocks: Vec<_> = (0..MAX_CACHED + 10).map(|_| alloc(layout)).collect();
        for b in blocks {
            // SAFETY: from `alloc` with this layout, not used again.
            unsafe { free(b, layout) };
        }
        let cached = CACHE.with(|c| c.borrow().0[class_of(layout).unwrap()].len());
        assert_eq!(cached, MAX_CACHED);
    }
}
