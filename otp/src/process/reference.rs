//! References: unique values for tagging requests, monitors and timers (`make_ref/0`).

use std::{
    cell::Cell,
    fmt,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
};

/// A unique reference, like the BEAM's `make_ref()`. Unique for the life of the OS process,
/// ordered by creation per thread, hashable, cheap to copy. Prints as `#Reference<0.0.0.N>`.
///
/// ```
/// let a = otp::make_ref();
/// let b = otp::make_ref();
/// assert_ne!(a, b);
/// assert!(a.to_string().starts_with("#Reference<0."));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref(u64);

/// Refs are handed out in blocks so threads don't contend on one counter.
const BLOCK: u64 = 1024;
static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A fresh, unique [`Ref`]. Works inside and outside processes.
pub fn make_ref() -> Ref {
    RANGE.with(|r| {
        let (mut next, mut end) = r.get();
        if next == end {
            let block = NEXT_BLOCK.fetch_add(1, Relaxed);
            next = block * BLOCK;
            end = next + BLOCK;
        }
        r.set((next + 1, end));
        Ref(next)
    })
}

impl Ref {
    /// The number inside, for logs and tests.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#Reference<0.{}.{}.{}>",
            self.0 >> 40,
            (self.0 >> 20) & 0xf_ffff,
            self.0 & 0xf_ffff
        )
    }
}

impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn unique_across_threads() {
        let hs: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..10_000).map(|_| make_ref()).collect::<Vec<_>>()))
            .collect();
        let mut all = HashSet::new();
        for h in hs {
            let refs = h.join().unwrap();
            assert!(refs.windows(2).all(|w| w[0] < w[1]), "ordered per thread");
            for r in refs {
                assert!(all.insert(r), "duplicate {r}");
            }
        }
        assert_eq!(all.len(), 40_000);
    }
}
