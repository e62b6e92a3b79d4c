//! Which scheduler (and so which process) the current thread is running.
//!
//! One thread-local pointer, set for the life of a scheduler thread. Process code reads it
//! through [`with_scheduler`], never holding the reference across a context switch (a process
//! never migrates once started, so the pointer is the same before and after a switch anyway, but
//! keeping the borrows short keeps that an implementation detail).

use std::cell::Cell;

use crate::process::core_ref::CoreRef;
use crate::{
    process::core::{ProcessCore, ProcessYielder},
    runtime::scheduler::Scheduler,
};

thread_local! {
    static SCHEDULER: Cell<*const Scheduler> = const { Cell::new(std::ptr::null()) };
}

/// Marks this thread as running `s` until the guard drops.
pub(crate) fn enter(s: &Scheduler) -> impl Drop + '_ {
    struct Exit;
    impl Drop for Exit {
        fn drop(&mut self) {
            SCHEDULER.with(|c| c.set(std::ptr::null()));
        }
    }
    SCHEDULER.with(|c| c.set(std::ptr::from_ref(s)));
    Exit
}

/// Runs `f` with this thread's scheduler, if it is a scheduler thread.
///
/// Inlined, so the compiler may keep the thread-local's address across a context switch in
/// the caller: that is sound because a started process never changes threads (only processes
/// holding no stack migrate, module `scheduler`), so the thread after a switch is the thread
/// before it.
#[inline]
pub(crate) fn with_scheduler<R>(f: impl FnOnce(Option<&Scheduler>) -> R) -> R {
    let p = SCHEDULER.with(Cell::get);
    // SAFETY: the pointer is set by `enter` to a scheduler that lives on this thread's stack for
    // as long as the guard lives, and cleared when it drops; the closure cannot outlive this call.
    f(unsafe { p.as_ref() })
}

/// The process running on this thread as a raw pointer (null if none). Valid for as long as the
/// process runs this slice: the process table holds a strong reference until it exits, which
/// happens after the slice.
pub(crate) fn current_raw() -> *const ProcessCore {
    with_scheduler(|s| s.map_or(std::ptr::null(), |s| s.current.get()))
}

/// The process running on this thread and its coroutine's yielder (both null if none), for
/// switching back to the scheduler. Valid for as long as the process runs this slice.
pub(crate) fn current_for_switch() -> (*const ProcessCore, *const ProcessYielder) {
    with_scheduler(|s| {
        s.map_or((std::ptr::null(), std::ptr::null()), |s| {
            (s.current.get(), s.yielder.get())
        })
    })
}

/// The process running on this thread, if any.
pub(crate) fn current_process() -> Option<CoreRef> {
    with_scheduler(|s| {
        let s = s?;
        let p = s.current.get();
        if p.is_null() {
            return None;
        }
        // SAFETY: `current` points to a process the process table holds a strong reference to for
        // the whole slice (`run_process`), so the count is at least one and the pointer came
        // from `CoreRef::as_ptr`.
        Some(unsafe { CoreRef::clone_raw(p) })
    })
}

/// The current process, or a panic naming the function that needs one.
#[track_caller]
pub(crate) fn expect_process(what: &str) -> CoreRef {
    current_process().unwrap_or_else(|| {
        panic!("`{what}` must be called from inside an otp process (see otp::run)")
    })
}
