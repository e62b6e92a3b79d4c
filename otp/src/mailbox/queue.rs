//! The lock-free multi-producer, single-consumer queue behind every mailbox.
//!
//! This is Dmitry Vyukov's intrusive MPSC queue. Any thread may [`Queue::push`]; only the
//! process that owns the mailbox [`Queue::pop`]s. A push is one atomic swap plus one store, with
//! no loop and no allocation beyond the node itself, and it never waits for the consumer.
//!
//! ```text
//!   head (consumer)                                   tail (producers swap here)
//!     |                                                 |
//!     v                                                 v
//!   [stub or oldest] --next--> [node] --next--> ... --> [newest] --next--> null
//! ```
//!
//! # Type erasure
//!
//! Nodes are type-erased: each starts with a [`Header`] (`#[repr(C)]`, first field) and carries
//! a payload whose type the consumer knows (a process's typed mailbox `M`, or a runtime signal,
//! told apart by [`Header::tag`]). The header also stores the payload's drop function, so a queue
//! dropped with messages still in it (a process that died with a full mailbox, or a send that raced
//! with the exit) frees them without knowing their type.
//!
//! # Invariants
//!
//! 1. The queue never moves once a node has been pushed: it lives inside the `Arc`'d process
//!    record. The embedded stub's address is therefore stable. A null `tail`/`head` stands for the
//!    stub, so the queue can be built before its final address is known.
//!
//! The queue itself only ever follows [`Link`]s: a node's link is the first field of its
//! header, and the stub is a bare link (one word, not a whole header), so a queue is two
//! words and its [`Head`] a third. A link reached from `head` is turned back into its node only
//! once it is known not to be the stub.
//! 2. Only one thread at a time calls `pop` (the thread running the owning process, which the
//!    scheduling state machine makes exclusive), always with the same [`Head`].
//! 3. A node pushed is owned by the queue until popped; `pop` hands ownership back. Whoever
//!    drops a queue with nodes in it frees them first ([`Queue::drop_all`]).
//!
//! # The consumer's end lives apart
//!
//! The consumer's `head` is a separate [`Head`], not a field of [`Queue`], so that the process
//! record can keep it away from `tail`: every pop writes `head`, every push writes `tail`, and
//! on one cache line the receiver's pops would take the line from the senders on every
//! message (`ProcessCore`'s layout docs). The price is that a `Queue` cannot free its own
//! nodes on drop: its owner calls [`Queue::drop_all`] with the head.
//!
//! `pop` can observe a producer between its swap and its link ("inconsistent"); it then reports
//! [`Pop::Busy`]. The producer always notifies the process *after* linking, so a consumer that
//! parks on `Busy` is woken again: nothing is lost.

use std::{cell::UnsafeCell, ptr, ptr::NonNull, sync::atomic::Ordering};

use crate::loom::AtomicPtr;

/// The queue's part of a node: the pointer to the next one. The first field of every
/// [`Header`] (so a pointer to a node's link is a pointer to the node), and the whole of the
/// queue's stub.
#[repr(C)]
pub(crate) struct Link {
    next: AtomicPtr<Link>,
}

/// The start of every node. `#[repr(C)]` so a pointer to a node is a pointer to its header,
/// and to its [`Link`].
#[repr(C)]
pub(crate) struct Header {
    link: Link,
    /// What the payload is; chosen by the pusher, read by the consumer.
    pub(crate) tag: u8,
    /// Frees the whole node, payload included.
    drop_node: unsafe fn(NonNull<Header>),
}

/// A node carrying a `T`.
#[repr(C)]
pub(crate) struct Node<T> {
    header: Header,
    value: T,
}

impl<T> Node<T> {
    /// Allocates a node holding `value`, tagged `tag` (from this thread's node cache when it
    /// can, see [`node_cache`](super::node_cache)).
    pub(crate) fn alloc(tag: u8, value: T) -> NonNull<Header> {
        unsafe fn drop_node<T>(p: NonNull<Header>) {
            let node = p.cast::<Node<T>>();
            // SAFETY: `p` came from `Node::<T>::alloc` (the caller's contract) and nobody else
            // owns it any more: drop the value in place, then return the block.
            unsafe {
                std::ptr::drop_in_place(node.as_ptr());
                super::node_cache::free(node.cast(), std::alloc::Layout::new::<Node<T>>());
            }
        }
        let node = Node {
            header: Header {
                link: Link {
                    next: AtomicPtr::new(ptr::null_mut()),
                },
                tag,
                drop_node: drop_node::<T>,
            },
            value,
        };
        let p = super::node_cache::alloc(std::alloc::Layout::new::<Node<T>>()).cast::<Node<T>>();
        // SAFETY: a fresh block with the layout of `Node<T>`.
        unsafe { p.as_ptr().write(node) };
        p.cast()
    }

    /// Takes the value out of a node popped from a queue and frees the node.
    ///
    /// # Safety
    ///
    /// `p` must have been allocated by `Node::<T>::alloc` with this exact `T`, and the caller must
    /// own it (it was returned by [`Queue::pop`] and not yet freed).
    pub(crate) unsafe fn take(p: NonNull<Header>) -> T {
        let p = p.cast::<Node<T>>();
        // SAFETY: per the contract, `p` is an owned, initialised `Node<T>`; we move it out and
        // return its block, never touching it again.
        unsafe {
            let node = p.as_ptr().read();
            super::node_cache::free(p.cast(), std::alloc::Layout::new::<Node<T>>());
            node.value
        }
    }

    /// Borrows the value of a node the caller owns.
    ///
    /// # Safety
    ///
    /// As for [`Node::take`]; the reference must not outlive the caller's ownership of the node.
    pub(crate) unsafe fn value<'a>(p: NonNull<Header>) -> &'a T {
        // SAFETY: per the contract, `p` points to a live `Node<T>`.
        unsafe { &(*p.cast::<Node<T>>().as_ptr()).value }
    }
}

/// Frees a node of unknown payload type.
///
/// # Safety
///
/// The caller must own `p` (popped and not yet freed).
pub(crate) unsafe fn drop_node(p: NonNull<Header>) {
    // SAFETY: `drop_node` was set by `Node::alloc` for this node's real type; the caller owns it.
    unsafe { ((*p.as_ptr()).drop_node)(p) }
}

/// The outcome of [`Queue::pop`].
#[derive(Debug)]
pub(crate) enum Pop {
    /// The oldest node; the caller now owns it.
    Node(NonNull<Header>),
    /// Nothing queued.
    Empty,
    /// A producer is halfway through a push; it will notify the consumer when done.
    Busy,
}

/// An intrusive MPSC queue. See the module docs for the protocol.
/// `repr(C)` with `tail` first: the process record puts it next to the other fields every
/// sender writes (`ProcessCore`'s docs).
#[repr(C)]
pub(crate) struct Queue {
    /// Producers swap themselves in here. Null means the stub.
    tail: AtomicPtr<Link>,
    /// Parked behind the last node so that node can be unlinked; never handed out.
    stub: Link,
}

// SAFETY: producers only touch `tail` (atomic) and the `next` field of the node they swapped out
// (atomic). The consumer's `Head` is touched only by the single consumer (invariant 2).
// Payloads are `Send` (enforced by the typed wrappers that push them).
unsafe impl Send for Queue {}
// SAFETY: as above; shared access from many producers goes through atomics only.
unsafe impl Sync for Queue {}

/// The consumer's end of one [`Queue`] (module docs: why it lives apart). Null means the stub.
pub(crate) struct Head(UnsafeCell<*mut Link>);

// SAFETY: only the single consumer of its queue reads or writes it (invariant 2), and the
// scheduling state machine hands that role from thread to thread with acquire/release.
unsafe impl Send for Head {}
// SAFETY: as above.
unsafe impl Sync for Head {}

impl Head {
    /// The head of an empty queue.
    pub(crate) fn new() -> Head {
        Head(UnsafeCell::new(ptr::null_mut()))
    }
}

impl Queue {
    /// An empty queue.
    pub(crate) fn new() -> Queue {
        Queue {
            tail: AtomicPtr::new(ptr::null_mut()),
            stub: Link {
                next: AtomicPtr::new(ptr::null_mut()),
            },
        }
    }

    /// The stub's address. Only its `next` (an atomic) is ever written through it.
    #[inline]
    fn stub(&self) -> *mut Link {
        ptr::from_ref(&self.stub).cast_mut()
    }

    #[inline]
    fn or_stub(&self, p: *mut Link) -> *mut Link {
        if p.is_null() {
            self.stub()
        } else {
            p
        }
    }

    /// Appends a node. Callable from any thread.
    #[inline]
    pub(crate) fn push(&self, node: NonNull<Header>) {
        // SAFETY: a header starts with its link (`#[repr(C)]`, first field), and the node is
        // owned by the caller and not yet shared.
        unsafe { self.push_link(node.as_ptr().cast::<Link>()) };
    }

    /// Appends a link: a node's, or the stub.
    ///
    /// # Safety
    ///
    /// `node` must be the stub while it is out of the queue (only `pop` pushes it), or the link
    /// of a node the caller owns and has not shared.
    #[inline]
    unsafe fn push_link(&self, node: *mut Link) {
        // SAFETY: per the contract, nobody else reads or writes this link now.
        unsafe { (*node).next.store(ptr::null_mut(), Ordering::Relaxed) };
        let prev = self.or_stub(self.tail.swap(node, Ordering::AcqRel));
        // SAFETY: `prev` is either the stub (lives as long as the queue) or a node that is still
        // in the queue: the consumer never frees the node `tail` points at, and it cannot pop
        // `prev` before this store links its successor.
        unsafe { (*prev).next.store(node, Ordering::Release) };
    }

    /// Removes the oldest node.
    ///
    /// # Safety
    ///
    /// Only one thread may call `pop` at a time, always with this queue's own `head`
    /// (invariant 2).
    #[inline]
    pub(crate) unsafe fn pop(&self, head: &Head) -> Pop {
        // SAFETY: single consumer (the caller's contract), so `head` is ours.
        let head = unsafe { &mut *head.0.get() };
        let stub = self.stub();
        let mut first = self.or_stub(*head);
        // SAFETY: `first` is the stub or a node still owned by the queue.
        let mut next = unsafe { (*first).next.load(Ordering::Acquire) };
        if first == stub {
            if next.is_null() {
                return if self.or_stub(self.tail.load(Ordering::Acquire)) == stub {
                    Pop::Empty
                } else {
                    Pop::Busy
                };
            }
            *head = next;
            first = next;
            // SAFETY: as above.
            next = unsafe { (*first).next.load(Ordering::Acquire) };
        }
        if !next.is_null() {
            *head = next;
            // SAFETY: `first` is a real node (not the stub) that we just unlinked.
            return Pop::Node(unsafe { node_of(first) });
        }
        if self.or_stub(self.tail.load(Ordering::Acquire)) != first {
            return Pop::Busy;
        }
        // `first` is the last node: park the stub behind it so it can be unlinked.
        // SAFETY: the stub is not in the queue (head moved past it above).
        unsafe { self.push_link(stub) };
        // SAFETY: as above.
        next = unsafe { (*first).next.load(Ordering::Acquire) };
        if next.is_null() {
            return Pop::Busy;
        }
        *head = next;
        // SAFETY: as above.
        Pop::Node(unsafe { node_of(first) })
    }
}

/// The node whose link is `link`.
///
/// # Safety
///
/// `link` must be the link of a node (not a queue's stub): then, the link being the first field
/// of the node's `#[repr(C)]` header, and the pointer having been derived from the node's own
/// pointer in `push`, it points to the node, with the node's provenance.
unsafe fn node_of(link: *mut Link) -> NonNull<Header> {
    // SAFETY: non-null: it is a node's address (the caller's contract).
    unsafe { NonNull::new_unchecked(link.cast::<Header>()) }
}

impl Queue {
    /// Frees every node still queued: what dropping a queue must do first (module docs).
    ///
    /// # Safety
    ///
    /// No producer or other consumer is left (the owner is being dropped), and `head` is this
    /// queue's own.
    pub(crate) unsafe fn drop_all(&self, head: &Head) {
        loop {
            // SAFETY: the caller's contract makes us the single consumer, with our head.
            match unsafe { self.pop(head) } {
                // SAFETY: popped, so we own it.
                Pop::Node(n) => unsafe { drop_node(n) },
                Pop::Empty => break,
                // Unreachable with no producer left: every push has completed.
                Pop::Busy => break,
            }
        }
    }
}

/// A queue with its head, freeing what is left on drop: how tests (here and in `state`) own one.
#[cfg(test)]
pub(crate) struct OwnedQueue {
    queue: Queue,
    head: Head,
}

#[cfg(test)]
impl OwnedQueue {
    pub(crate) fn new() -> OwnedQueue {
        OwnedQueue {
            queue: Queue::new(),
            head: Head::new(),
        }
    }

    pub(crate) fn push(&self, node: NonNull<Header>) {
        self.queue.push(node);
    }

    /// # Safety
    ///
    /// As [`Queue::pop`]: one consumer at a time.
    pub(crate) unsafe fn pop(&self) -> Pop {
        // SAFETY: the caller's contract; the head is this queue's.
        unsafe { self.queue.pop(&self.head) }
    }
}

#[cfg(test)]
impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no producer or consumer is left; our own head.
        unsafe { self.queue.drop_all(&self.head) };
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    };

    use super::*;

    fn drain(q: &OwnedQueue) -> Vec<u64> {
        let mut out = vec![];
        loop {
            // SAFETY: the test thread is the only consumer.
            match unsafe { q.pop() } {
                // SAFETY: the node was pushed as `Node<u64>` and we own it after pop.
                Pop::Node(n) => out.push(unsafe { Node::<u64>::take(n) }),
                Pop::Empty => return out,
                Pop::Busy => std::hint::spin_loop(),
            }
        }
    }

    #[test]
    fn queue_and_head_are_three_words() {
        // The stub is a bare link, not a whole header: this sits in every process record.
        assert_eq!(
            std::mem::size_of::<Queue>() + std::mem::size_of::<Head>(),
            3 * std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn fifo_single_producer() {
        let q = OwnedQueue::new();
        for i in 0..100u64 {
            q.push(Node::alloc(0, i));
        }
        assert_eq!(drain(&q), (0..100).collect::<Vec<_>>());
        q.push(Node::alloc(0, 7u64));
        assert_eq!(drain(&q), vec![7]);
        // SAFETY: the test thread is the only consumer.
        assert!(matches!(unsafe { q.pop() }, Pop::Empty));
    }

    #[test]
    fn per_producer_fifo_under_contention() {
        let q = Arc::new(OwnedQueue::new());
        let producers: Vec<_> = (0..4u64)
            .map(|p| {
                let q = q.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        q.push(Node::alloc(0, p << 32 | i));
                    }
                })
            })
            .collect();
        let mut seen = vec![0u64; 4];
        let mut total = 0;
        while total < 80_000 {
            // SAFETY: this thread is the only consumer.
            if let Pop::Node(n) = unsafe { q.pop() } {
                // SAFETY: every node is a `Node<u64>`, owned after pop.
                let v = unsafe { Node::<u64>::take(n) };
                let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
                assert_eq!(i, seen[p], "producer {p} out of order");
                seen[p] += 1;
                total += 1;
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        assert_eq!(seen, vec![20_000; 4]);
    }

    #[test]
    fn dropping_a_queue_drops_its_payloads() {
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        {
            let q = OwnedQueue::new();
            for _ in 0..10 {
                q.push(Node::alloc(1, Counted(drops.clone())));
            }
        }
        assert_eq!(drops.load(SeqCst), 10);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use loom::{sync::Arc, thread};

    use super::*;

    /// Two producers, one consumer: every message arrives exactly once, each producer's in order.
    #[test]
    fn loom_queue_two_producers() {
        loom::model(|| {
            let q = Arc::new(OwnedQueue::new());
            let hs: Vec<_> = (0..2u64)
                .map(|p| {
                    let q = q.clone();
                    thread::spawn(move || {
                        q.push(Node::alloc(0, p * 10));
                        q.push(Node::alloc(0, p * 10 + 1));
                    })
                })
                .collect();
            let mut got = vec![];
            let mut spins = 0;
            while got.len() < 4 && spins < 50 {
                // SAFETY: this thread is the only consumer.
                match unsafe { q.pop() } {
                    // SAFETY: all nodes are `Node<u64>`, owned after pop.
                    Pop::Node(n) => got.push(unsafe { Node::<u64>::take(n) }),
                    Pop::Empty | Pop::Busy => {
                        spins += 1;
                        thread::yield_now();
                    }
                }
            }
            for h in hs {
                h.join().unwrap();
            }
            loop {
                // SAFETY: producers are done; single consumer.
                match unsafe { q.pop() } {
                    // SAFETY: as above.
                    Pop::Node(n) => got.push(unsafe { Node::<u64>::take(n) }),
                    Pop::Empty => break,
                    Pop::Busy => panic!("busy after all producers finished"),
                }
            }
            assert_eq!(got.len(), 4);
            for p in 0..2u64 {
                let mine: Vec<_> = got.iter().filter(|v| **v / 10 == p).collect();
                assert_eq!(mine, vec![&(p * 10), &(p * 10 + 1)]);
            }
        });
    }
}
