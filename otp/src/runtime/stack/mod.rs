//! TEMPORARY STUB (replaced by the slab allocator).
#![allow(missing_docs, dead_code, clippy::undocumented_unsafe_blocks)]
pub(crate) const DEFAULT_STACK_SIZE: usize = 128 * 1024;
pub(crate) enum Canary {
    Intact,
    Overflowed,
    Corrupted,
}
pub(crate) struct ProcessStack(corosensei::stack::DefaultStack);
unsafe impl corosensei::stack::Stack for ProcessStack {
    fn base(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::Stack::base(&self.0)
    }
    fn limit(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::Stack::limit(&self.0)
    }
}
#[derive(Clone, Copy)]
pub(crate) struct StackProbe {
    lo: usize,
    hi: usize,
}
impl StackProbe {
    pub(crate) fn check_canary(&self) -> Canary {
        Canary::Intact
    }
    pub(crate) fn base_addr(&self) -> usize {
        self.hi
    }
    pub(crate) fn limit_addr(&self) -> usize {
        self.lo
    }
    pub(crate) fn guard_range(&self) -> std::ops::Range<usize> {
        self.lo..self.lo + 4096
    }
}
impl ProcessStack {
    pub(crate) fn probe(&self) -> StackProbe {
        use corosensei::stack::Stack;
        StackProbe {
            lo: self.limit().get(),
            hi: self.base().get(),
        }
    }
}
pub(crate) struct StackPool;
impl StackPool {
    pub(crate) fn new() -> Self {
        StackPool
    }
    pub(crate) fn get(&mut self, size: usize) -> std::io::Result<ProcessStack> {
        Ok(ProcessStack(corosensei::stack::DefaultStack::new(size)?))
    }
    pub(crate) fn put(&mut self, _s: ProcessStack) {}
}
pub(crate) fn set_guard_budget(_n: usize) {}
pub(crate) fn resident_bytes(_lo: usize, _hi: usize) -> usize {
    4096
}
