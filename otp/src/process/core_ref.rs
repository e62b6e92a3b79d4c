//! [`CoreRef`]: a counted reference to a process record, the record in a node-cache block.
//!
//! A record was an `CoreRef`, allocated by the spawner's thread with the global
//! allocator and freed by whichever thread drops the last reference: usually the scheduler the
//! process exited on. When spawner and exiter are different schedulers (a spawning process
//! whose children are stolen and run by an idle peer, the common case on a busy node), every
//! free is a cross-thread free, and glibc frees into another thread's arena under that arena's
//! lock, which the spawning thread's next malloc wants too. On `spawn_exit` across two
//! schedulers a quarter of all time went to that lock's futex (`benches/README.md`).
//!
//! So the record lives in a block from the node cache (`mailbox::node_cache`), as messages do:
//! a free goes onto the freeing thread's magazine, full magazines flow to the depot, and the
//! spawning thread takes them from there, one short lock per 128 records instead of an arena
//! lock per record. `std::sync::Arc` cannot use another allocator on stable Rust, hence this
//! type: an `Arc` without weak references, with the same counting rules (increments relaxed,
//! the last decrement releases and then acquires before the record is dropped).
//!
//! The count sits *after* the record (`Counted` is `repr(C)`), so the record starts at the
//! 16-aligned start of its block and keeps the layout `ProcessCore`'s docs describe; the block
//! is 160 bytes, the same 176-byte glibc chunk an `CoreRef` took when the cache has to
//! go to the allocator.

use std::{
    alloc::Layout,
    fmt,
    ops::Deref,
    ptr::NonNull,
    sync::atomic::{
        fence, AtomicUsize,
        Ordering::{Acquire, Relaxed, Release},
    },
};

use crate::{mailbox::node_cache, process::core::ProcessCore};

/// A record and its reference count, in one node-cache block.
#[repr(C)]
struct Counted {
    core: ProcessCore,
    count: AtomicUsize,
}

/// More references than this is a leak gone wild (as `Arc`, abort rather than wrap).
const MAX_COUNT: usize = isize::MAX as usize;

/// A counted, shared reference to a process record (see the module docs). Clones share the
/// record; the last one dropped drops it.
pub(crate) struct CoreRef {
    ptr: NonNull<Counted>,
}

// SAFETY: a `CoreRef` only gives `&ProcessCore`, which is `Send + Sync`; the count is atomic.
unsafe impl Send for CoreRef {}
// SAFETY: as above.
unsafe impl Sync for CoreRef {}

impl CoreRef {
    /// Moves `core` into a new block, with one reference (the returned one).
    pub(crate) fn new(core: ProcessCore) -> CoreRef {
        let ptr = node_cache::alloc(Layout::new::<Counted>()).cast::<Counted>();
        // SAFETY: a fresh block with `Counted`'s layout (node cache blocks are 16-aligned, more
        // than `Counted` needs), owned by us.
        unsafe {
            ptr.as_ptr().write(Counted {
                core,
                count: AtomicUsize::new(1),
            })
        };
        CoreRef { ptr }
    }

    /// The record's address (as `Arc::as_ptr`): what [`CoreRef::from_raw`] and
    /// [`CoreRef::clone_raw`] take back.
    #[inline]
    pub(crate) fn as_ptr(this: &CoreRef) -> *const ProcessCore {
        // `core` is the first field of a `repr(C)` struct: same address.
        this.ptr.as_ptr().cast_const().cast()
    }

    /// Whether two references are to the same record.
    #[inline]
    pub(crate) fn ptr_eq(a: &CoreRef, b: &CoreRef) -> bool {
        a.ptr == b.ptr
    }

    /// Takes over a reference from a pointer, without touching the count.
    ///
    /// # Safety
    ///
    /// `p` comes from [`CoreRef::as_ptr`] of a record that is still alive, and the caller owns
    /// one of its counted references to hand over, or makes sure the result is never dropped
    /// (a `ManuallyDrop` that stands for a reference someone else holds).
    #[inline]
    pub(crate) unsafe fn from_raw(p: *const ProcessCore) -> CoreRef {
        CoreRef {
            // SAFETY: the caller's contract: non-null, from `as_ptr` (the block's start).
            ptr: unsafe { NonNull::new_unchecked(p.cast_mut().cast()) },
        }
    }

    /// A new counted reference to the record at `p`.
    ///
    /// # Safety
    ///
    /// `p` comes from [`CoreRef::as_ptr`] and the record has a counted reference alive for the
    /// whole call (so the count is at least one).
    #[inline]
    pub(crate) unsafe fn clone_raw(p: *const ProcessCore) -> CoreRef {
        // SAFETY: the caller's contract; `ManuallyDrop` leaves that other reference's count.
        let borrowed = std::mem::ManuallyDrop::new(unsafe { CoreRef::from_raw(p) });
        CoreRef::clone(&borrowed)
    }

    #[inline]
    fn counted(&self) -> &Counted {
        // SAFETY: a live reference keeps the block alive and initialised.
        unsafe { self.ptr.as_ref() }
    }
}

impl Clone for CoreRef {
    #[inline]
    fn clone(&self) -> CoreRef {
        // Relaxed, as `Arc`: a new reference is made from an existing one, which already
        // orders whatever the new holder may see.
        let old = self.counted().count.fetch_add(1, Relaxed);
        if old > MAX_COUNT {
            std::process::abort();
        }
        CoreRef { ptr: self.ptr }
    }
}

impl Drop for CoreRef {
    #[inline]
    fn drop(&mut self) {
        // Release, then acquire on the last: every use of the record through other references
        // happens before it is dropped (as `Arc`).
        if self.counted().count.fetch_sub(1, Release) != 1 {
            return;
        }
        fence(Acquire);
        drop_last(self.ptr);
    }
}

/// Drops the record and gives its block back. Out of line: once per process, not per clone.
#[cold]
#[inline(never)]
fn drop_last(ptr: NonNull<Counted>) {
    // SAFETY: the last reference is gone, so we own the block: drop the record in place, then
    // free the block with the layout it was allocated with; nothing touches it afterwards.
    unsafe {
        std::ptr::drop_in_place(ptr.as_ptr());
        node_cache::free(ptr.cast(), Layout::new::<Counted>());
    }
}

impl Deref for CoreRef {
    type Target = ProcessCore;
    #[inline]
    fn deref(&self) -> &ProcessCore {
        &self.counted().core
    }
}

impl fmt::Debug for CoreRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CoreRef(<0.{}.0>)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_one_node_cache_class_and_the_record_starts_it() {
        // 160 bytes: the node cache's 160-byte class, a 176-byte chunk from glibc, as the
        // `Arc` (16 bytes of counts + 152) was.
        assert!(Layout::new::<Counted>().size() <= 160);
        assert_eq!(std::mem::offset_of!(Counted, core), 0);
    }

    #[test]
    fn the_record_is_dropped_with_its_last_reference_on_whichever_thread_that_is() {
        use std::sync::{
            atomic::{AtomicUsize, Ordering::SeqCst},
            Arc,
        };
        struct CountDrop(Arc<AtomicUsize>);
        impl Drop for CountDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = CountDrop(drops.clone());
        let a = crate::process::spawn::new_core::<(), (), _>(7, 0, move |_: crate::Mailbox<()>| {
            drop(guard)
        });
        let b = a.clone();
        // SAFETY: `a` is alive for the call.
        let c = unsafe { CoreRef::clone_raw(CoreRef::as_ptr(&a)) };
        assert!(CoreRef::ptr_eq(&a, &c));
        assert_eq!(c.id, 7);
        drop(a);
        drop(b);
        assert_eq!(drops.load(SeqCst), 0, "one reference is left");
        std::thread::spawn(move || drop(c)).join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "dropped once, by the last reference");
    }
}
