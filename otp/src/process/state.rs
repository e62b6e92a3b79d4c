//! The scheduling state of a process: one atomic word, and the protocol that makes wake-ups
//! impossible to lose.
//!
//! ```text
//!             push + fetch_or(NOTIFIED) saw IDLE: the pusher enqueues it
//!   IDLE  ─────────────────────────────────────────────▶  IDLE|NOTIFIED  (queued, runnable)
//!    ▲                                                         │ scheduler: swap(RUNNING)
//!    │ park: cas(RUNNING → IDLE)                               ▼
//!    └──────────────────────────────────────────────────── RUNNING ──(push)──▶ RUNNING|NOTIFIED
//!                                                              │                     │
//!                                     cas fails: requeue ◀─────┼─────────────────────┘
//!                                                              ▼ exit: swap(EXITED)
//!                                                           EXITED
//! ```
//!
//! Rules:
//! 1. A producer pushes to the queue, *then* does `fetch_or(NOTIFIED)`. Exactly one producer can
//!    see the previous state `IDLE` (no bit set); that one must enqueue the process.
//! 2. The scheduler takes a process out of a run queue and `swap`s in `RUNNING`, acquiring every
//!    push made before the notifications it clears.
//! 3. To park, the scheduler does `cas(RUNNING → IDLE)`. It fails only if a producer set
//!    `NOTIFIED` since rule 2, in which case the process is requeued and drains again.
//! 4. `EXITED` is final; producers that see it do nothing (their message is dropped with the
//!    record).
//!
//! The loom model in this file checks rules 1-3 together with the real mailbox queue.

use std::sync::atomic::Ordering::{AcqRel, Acquire};

use crate::loom::AtomicU32;

/// Not queued, not running: parked in `receive`, or not started.
pub(crate) const IDLE: u32 = 0;
/// Running on a scheduler thread.
pub(crate) const RUNNING: u32 = 1;
/// Dead. Final.
pub(crate) const EXITED: u32 = 2;
/// Something arrived since the last time the process looked (or, with `IDLE`: it is queued).
pub(crate) const NOTIFIED: u32 = 4;

/// What a producer must do after notifying.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Notify {
    /// The process was parked: the caller must put it on a run queue.
    Enqueue,
    /// Someone else will run it (it is queued or running).
    Nothing,
    /// It had exited: nobody will look at what was pushed.
    Exited,
}

/// The scheduling word of one process.
#[derive(Debug)]
pub(crate) struct SchedState(AtomicU32);

impl SchedState {
    /// A new process: queued (it is enqueued by its spawner).
    pub(crate) fn new_queued() -> SchedState {
        SchedState(AtomicU32::new(IDLE | NOTIFIED))
    }

    /// Rule 1, after a push.
    #[inline]
    pub(crate) fn notify(&self) -> Notify {
        let prev = self.0.fetch_or(NOTIFIED, AcqRel);
        if prev == IDLE {
            Notify::Enqueue
        } else if prev & !NOTIFIED == EXITED {
            Notify::Exited
        } else {
            Notify::Nothing
        }
    }

    /// Rule 2: a scheduler starts running the process. Returns false if it already exited.
    #[inline]
    pub(crate) fn start_running(&self) -> bool {
        let prev = self.0.swap(RUNNING, AcqRel);
        if prev & !NOTIFIED == EXITED {
            self.0.store(prev, std::sync::atomic::Ordering::Release);
            return false;
        }
        true
    }

    /// Rule 3. `true` if parked; `false` if it was notified meanwhile (then it is `RUNNING`
    /// again, notification consumed, and the caller must run or requeue it).
    #[inline]
    pub(crate) fn park(&self) -> bool {
        match self.0.compare_exchange(RUNNING, IDLE, AcqRel, Acquire) {
            Ok(_) => true,
            Err(_) => {
                self.0.swap(RUNNING, AcqRel);
                false
            }
        }
    }

    /// The process yields and goes straight back to a run queue.
    pub(crate) fn requeue(&self) {
        self.0.swap(IDLE | NOTIFIED, AcqRel);
    }

    /// Rule 4.
    pub(crate) fn exit(&self) {
        self.0.swap(EXITED, AcqRel);
    }

    /// A snapshot for introspection.
    pub(crate) fn load(&self) -> u32 {
        self.0.load(Acquire)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use loom::{sync::Arc, thread};

    use super::*;
    use crate::mailbox::queue::{Node, OwnedQueue, Pop};

    struct Proc {
        state: SchedState,
        queue: OwnedQueue,
        enqueued: loom::sync::atomic::AtomicUsize,
    }

    /// A producer sends while the consumer drains and parks: the message is either seen by the
    /// drain or the producer is told to enqueue the parked process. Never neither, never both.
    #[test]
    fn loom_no_lost_wakeup() {
        loom::model(|| {
            let p = Arc::new(Proc {
                state: SchedState::new_queued(),
                queue: OwnedQueue::new(),
                enqueued: loom::sync::atomic::AtomicUsize::new(0),
            });
            assert!(p.state.start_running());
            let producer = {
                let p = p.clone();
                thread::spawn(move || {
                    p.queue.push(Node::alloc(0, 1u32));
                    if p.state.notify() == Notify::Enqueue {
                        p.enqueued.fetch_add(1, AcqRel);
                    }
                })
            };
            // The consumer: drain, then try to park; on a failed park drain again.
            let mut got = 0u32;
            loop {
                // SAFETY: this thread is the only consumer.
                match unsafe { p.queue.pop() } {
                    Pop::Node(n) => {
                        // SAFETY: pushed as Node<u32>; owned after pop.
                        got += unsafe { Node::<u32>::take(n) };
                        continue;
                    }
                    Pop::Busy => {}
                    Pop::Empty => {}
                }
                if p.state.park() {
                    break;
                }
            }
            producer.join().unwrap();
            let enqueued = p.enqueued.load(Acquire);
            // Never lost: if the drain missed the message, the producer was told to enqueue.
            // (Both can happen: a push that lands between the last drain and the park makes a
            // spurious, harmless wake-up.)
            assert!(
                got == 1 || enqueued == 1,
                "lost wake-up: got={got} enqueued={enqueued}"
            );
            assert!(enqueued <= 1);
            if enqueued == 1 {
                assert!(p.state.start_running());
                // SAFETY: single consumer.
                match unsafe { p.queue.pop() } {
                    // SAFETY: as above.
                    Pop::Node(n) => got += unsafe { Node::<u32>::take(n) },
                    Pop::Empty => {}
                    Pop::Busy => panic!("busy after the producer finished"),
                }
            }
            assert_eq!(got, 1, "the message was received exactly once");
        });
    }

    /// Two producers notify one parked process: exactly one of them enqueues it.
    #[test]
    fn loom_single_enqueue() {
        loom::model(|| {
            let p = Arc::new(Proc {
                state: SchedState::new_queued(),
                queue: OwnedQueue::new(),
                enqueued: loom::sync::atomic::AtomicUsize::new(0),
            });
            assert!(p.state.start_running());
            assert!(p.state.park());
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let p = p.clone();
                    thread::spawn(move || {
                        p.queue.push(Node::alloc(0, 1u32));
                        if p.state.notify() == Notify::Enqueue {
                            p.enqueued.fetch_add(1, AcqRel);
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(p.enqueued.load(Acquire), 1);
        });
    }
}
