//! TEMPORARY STUB.
#![allow(dead_code)]
pub(crate) struct Wheel<T> { items: Vec<(u64, u64, T)>, seq: u64, now: u64 }
impl<T> Wheel<T> {
    pub(crate) fn new() -> Self { Wheel { items: vec![], seq: 0, now: 0 } }
    pub(crate) fn insert(&mut self, d: u64, t: T) { self.seq += 1; self.items.push((d, self.seq, t)); }
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<T>) {
        self.now = now;
        self.items.sort_by_key(|i| (i.0, i.1));
        let n = self.items.iter().take_while(|i| i.0 <= now).count();
        fired.extend(self.items.drain(..n).map(|i| i.2));
    }
    pub(crate) fn next_deadline(&self) -> Option<u64> { self.items.iter().map(|i| i.0).min() }
    pub(crate) fn is_empty(&self) -> bool { self.items.is_empty() }
    pub(crate) fn drain(&mut self) -> Vec<T> { self.items.drain(..).map(|i| i.2).collect() }
}
