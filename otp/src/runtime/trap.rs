//! Stack overflow containment: a guard-page hit ends the process, not the node.
//!
//! Each scheduler thread has an alternate signal stack, and a process-wide `SIGSEGV` handler is
//! installed once (chaining to whatever handler was there before, such as std's own stack
//! overflow reporter). While a process runs, its scheduler publishes the coroutine's trap handler
//! and guard-page range in a thread-local. On a fault the handler checks both that the faulting
//! address lies in that guard page and that the stack pointer lies in that coroutine's stack;
//! only then does it use corosensei's trap support to make the coroutine return
//! [`ExitReason::StackOverflow`] to its scheduler. Any other fault is passed on unchanged.
//!
//! The overflowed process's stack is discarded without running destructors (its frames are
//! gone), so anything it owned on the heap leaks, and a lock it held stays held. That is the
//! price of surviving; the BEAM pays none of it because it has no native frames. Stacks beyond
//! the guard-page budget have no guard page; their overflow is caught by the canary check on the
//! next switch instead (see `runtime::stack`).
//!
//! Only x86_64 Linux gets the handler; elsewhere a guard-page hit stays fatal.

use std::{cell::UnsafeCell, ops::Range};

use corosensei::trap::CoroutineTrapHandler;

use crate::process::{
    core::{Co, Outcome},
    exit::ExitReason,
};

struct Current {
    handler: CoroutineTrapHandler<Outcome>,
    guard_start: usize,
    guard_end: usize,
}

thread_local! {
    /// Written by the scheduler between resumes, read by the signal handler while a coroutine
    /// runs on this thread; the two never overlap (the handler only acts on faults that happen
    /// inside the coroutine, and the scheduler writes only outside it).
    static CURRENT: UnsafeCell<Option<Current>> = const { UnsafeCell::new(None) };
}

/// Publishes the coroutine about to be resumed on this thread.
pub(crate) fn set_current(co: &Co, guard: Range<usize>) {
    let cur = Current {
        handler: co.trap_handler(),
        guard_start: guard.start,
        guard_end: guard.end,
    };
    // SAFETY: only this thread touches its own slot, and not from the handler at this point (no
    // coroutine is running).
    CURRENT.with(|c| unsafe { *c.get() = Some(cur) });
}

/// Nothing runs on a coroutine any more.
pub(crate) fn clear_current() {
    // SAFETY: as in `set_current`.
    CURRENT.with(|c| unsafe { *c.get() = None });
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod imp {
    use std::{
        ptr,
        sync::{
            atomic::{AtomicPtr, Ordering::Acquire, Ordering::Release},
            Once,
        },
    };

    use super::{ExitReason, Outcome, CURRENT};

    const ALT_STACK_SIZE: usize = 64 * 1024;

    static INSTALL: Once = Once::new();
    static PREVIOUS: AtomicPtr<libc::sigaction> = AtomicPtr::new(ptr::null_mut());

    /// Installs the process-wide handler (once) and this thread's alternate signal stack.
    pub(crate) fn install_thread() {
        INSTALL.call_once(|| {
            // SAFETY: a zeroed sigaction is a valid "no handler" value to fill in.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = on_sigsegv as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            let previous = Box::into_raw(Box::new(
                // SAFETY: as above.
                unsafe { std::mem::zeroed::<libc::sigaction>() },
            ));
            // SAFETY: `action` is fully initialised; `previous` points to writable memory that
            // we leak on purpose (the handler may read it for the rest of the process's life).
            if unsafe { libc::sigaction(libc::SIGSEGV, &action, previous) } == 0 {
                PREVIOUS.store(previous, Release);
            }
        });
        AltStack::install();
    }

    /// This thread's alternate signal stack, freed when the thread ends.
    struct AltStack(*mut libc::c_void);

    thread_local! {
        static ALT: std::cell::RefCell<Option<AltStack>> = const { std::cell::RefCell::new(None) };
    }

    impl AltStack {
        fn install() {
            ALT.with(|a| {
                if a.borrow().is_some() {
                    return;
                }
                // SAFETY: plain anonymous mapping; checked for failure below.
                let mem = unsafe {
                    libc::mmap(
                        ptr::null_mut(),
                        ALT_STACK_SIZE,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                };
                if mem == libc::MAP_FAILED {
                    return;
                }
                let st = libc::stack_t {
                    ss_sp: mem,
                    ss_flags: 0,
                    ss_size: ALT_STACK_SIZE,
                };
                // SAFETY: `st` describes the mapping we just made, which lives until this
                // thread's `AltStack` drops (and is disabled first).
                unsafe { libc::sigaltstack(&st, ptr::null_mut()) };
                *a.borrow_mut() = Some(AltStack(mem));
            });
        }
    }

    impl Drop for AltStack {
        fn drop(&mut self) {
            let st = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            // SAFETY: disabling the alternate stack before unmapping it; the mapping is ours.
            unsafe {
                libc::sigaltstack(&st, ptr::null_mut());
                libc::munmap(self.0, ALT_STACK_SIZE);
            }
        }
    }

    extern "C" fn on_sigsegv(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // `try_with`: during thread teardown the thread-local may be gone; treat as "not ours".
        // SAFETY: the scheduler does not write the slot while a coroutine runs (see `CURRENT`);
        // we only read it.
        let current = CURRENT
            .try_with(|c| unsafe {
                (*c.get())
                    .as_ref()
                    .map(|c| (ptr::from_ref(&c.handler), c.guard_start, c.guard_end))
            })
            .ok()
            .flatten();
        if let Some((handler, guard_start, guard_end)) = current {
            // SAFETY: the slot is not written while a coroutine runs (see `CURRENT`), so the
            // handler it holds stays in place for this whole call.
            let handler = unsafe { &*handler };
            // SAFETY: the kernel passes valid `siginfo_t` and `ucontext_t` pointers to an
            // SA_SIGINFO handler.
            let (addr, uc) = unsafe {
                (
                    (*info).si_addr() as usize,
                    &mut *ctx.cast::<libc::ucontext_t>(),
                )
            };
            let sp = usize::try_from(uc.uc_mcontext.gregs[libc::REG_RSP as usize]).unwrap_or(0);
            if (guard_start..guard_end).contains(&addr) && handler.stack_ptr_in_bounds(sp) {
                // SAFETY: the fault is a hit on the running coroutine's guard page and the stack
                // pointer is inside that coroutine (both checked just above); the coroutine is
                // still alive (its scheduler is inside `resume`). We update every register
                // corosensei asks for before returning, as its contract requires.
                unsafe {
                    let regs =
                        handler.setup_trap_handler(|| Outcome::Exit(ExitReason::StackOverflow));
                    let g = &mut uc.uc_mcontext.gregs;
                    g[libc::REG_RIP as usize] = regs.rip as i64;
                    g[libc::REG_RSP as usize] = regs.rsp as i64;
                    g[libc::REG_RBP as usize] = regs.rbp as i64;
                    g[libc::REG_RDI as usize] = regs.rdi as i64;
                    g[libc::REG_RSI as usize] = regs.rsi as i64;
                }
                return;
            }
        }
        chain(sig, info, ctx);
    }

    /// Passes a fault that is not ours to the handler that was installed before us.
    fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        let prev = PREVIOUS.load(Acquire);
        // SAFETY: `prev` is null or the leaked, never-freed copy of the previous action.
        let handler = unsafe { prev.as_ref() }.map_or(libc::SIG_DFL, |p| p.sa_sigaction);
        // SAFETY: as above.
        let siginfo = unsafe { prev.as_ref() }.is_some_and(|p| p.sa_flags & libc::SA_SIGINFO != 0);
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
            // Restore the default action and return: the faulting instruction runs again and
            // the process dies the normal way (core dump), as it would without us.
            // SAFETY: resetting a signal disposition is async-signal-safe.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
            return;
        }
        if siginfo {
            // SAFETY: the previous handler declared SA_SIGINFO, so it has this signature.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(handler) };
            f(sig, info, ctx);
        } else {
            // SAFETY: a plain handler takes the signal number only.
            let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
            f(sig);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod imp {
    /// No containment on this platform: a guard-page hit stays fatal.
    pub(crate) fn install_thread() {}
}

pub(crate) use imp::install_thread;
