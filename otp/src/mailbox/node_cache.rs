//! A per-thread cache of free mailbox nodes, in front of the global allocator.
//!
//! Every message is one small heap node, allocated by the sender and freed by the receiver. On
//! one scheduler the pair is a malloc and a free per message, about a hundred instructions with
//! glibc, a good share of a message's whole cost. (A `call`'s reply slot, `process::reply`, is
//! the other small block made and freed at that rate; it comes from here too.) This cache keeps up to [`MAX_CACHED`] free
//! nodes per size class (16-byte classes up to 256 bytes) per thread, so a node freed by a
//! receiver is handed to the next sender on the same thread with a push and a pop. Nodes freed
//! on another thread than they were allocated on simply land in that thread's cache (or go back
//! to the allocator when it is full): the cache never moves memory between threads.
//!
//! The free blocks of a class form an intrusive stack: a free block's first word points to the
//! next free block, so pushing and popping touch no other memory. The thread-local is
//! const-initialised plain `Cell`s, so an access is a TLS load and a state check, with no lazy
//! initialisation or borrow flag. What is cached goes back to the allocator when the thread
//! exits.
//!
//! Invariants: a node is always allocated and freed with the layout of its size class (when it
//! has one), so a block from the cache and one from the allocator are interchangeable; every
//! block on a class's stack is free, owned by the cache, at least 16 bytes and 16-aligned (room
//! for the link), and `len` counts them.

use std::{
    alloc::{self, Layout},
    cell::Cell,
    ptr::{self, NonNull},
};

/// Free nodes kept per size class per thread.
const MAX_CACHED: usize = 256;
/// Size classes: 16, 32, ..., 256 bytes.
const CLASSES: usize = 16;
const CLASS_ALIGN: usize = 16;

/// One class's free blocks.
struct Stack {
    head: Cell<*mut u8>,
    len: Cell<usize>,
}

struct Cache([Stack; CLASSES]);

impl Drop for Cache {
    fn drop(&mut self) {
        for (class, stack) in self.0.iter().enumerate() {
            let mut p = stack.head.replace(ptr::null_mut());
            while !p.is_null() {
                // SAFETY: `p` is a free block on this stack (invariant), whose first word is the
                // next link; it was allocated with its class's layout.
                unsafe {
                    let next = p.cast::<*mut u8>().read();
                    alloc::dealloc(p, class_layout(class));
                    p = next;
                }
            }
            stack.len.set(0);
        }
    }
}

thread_local! {
    static CACHE: Cache = const {
        Cache([const { Stack { head: Cell::new(ptr::null_mut()), len: Cell::new(0) } }; CLASSES])
    };
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
#[inline]
pub(crate) fn alloc(layout: Layout) -> NonNull<u8> {
    let layout = match class_of(layout) {
        Some(class) => {
            let cached = CACHE
                .try_with(|c| {
                    let stack = &c.0[class];
                    let p = stack.head.get();
                    if p.is_null() {
                        return None;
                    }
                    // SAFETY: `p` is a free block on this stack; its first word is the link.
                    stack.head.set(unsafe { p.cast::<*mut u8>().read() });
                    stack.len.set(stack.len.get() - 1);
                    NonNull::new(p)
                })
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
            let stack = &c.0[class];
            if stack.len.get() >= MAX_CACHED {
                return false;
            }
            // SAFETY: the block is free now (the caller's contract), at least 16 bytes and
            // 16-aligned (its class's layout), so its first word can hold the link.
            unsafe { p.as_ptr().cast::<*mut u8>().write(stack.head.get()) };
            stack.head.set(p.as_ptr());
            stack.len.set(stack.len.get() + 1);
            true
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
        let cached = CACHE.with(|c| c.0[class_of(layout).unwrap()].len.get());
        assert_eq!(cached, MAX_CACHED);
    }
}
