//! Stacks beyond the guard-page budget: an overflow is caught by the canary checked at every
//! switch. Its own test binary, because the guard budget is process-wide.

use std::{hint::black_box, time::Duration};

use otp::{ExitReason, Mailbox, Message, SpawnOptions};

/// Recurses one kilobyte frame at a time, switching away at every level so the scheduler checks
/// the canary as the stack grows into it.
fn recurse_yielding(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0; // never: the stack runs out long before
    }
    let frame = black_box([0xAB_u8; 1024]);
    otp::yield_now();
    black_box(frame[(depth % 1024) as usize] as u64) + recurse_yielding(black_box(depth + 1))
}

#[test]
fn an_unguarded_stack_overflow_is_caught_by_the_canary() {
    let rt = otp::Builder::new().guard_page_budget(0).build().unwrap();
    let result = rt.block_on(|mut mb: Mailbox<()>| {
        let (_, _r) = SpawnOptions::new().stack_size(64 * 1024).spawn_monitor(|| {
            black_box(recurse_yielding(0));
        });
        let reason = match mb.select(Duration::from_secs(60), |_| true) {
            Some(Message::Down { reason, .. }) => reason,
            other => panic!("expected a DOWN, got {other:?}"),
        };
        // The node carries on.
        let (_, _r) = otp::spawn_monitor(|| {});
        let after = match mb.select(Duration::from_secs(60), |_| true) {
            Some(Message::Down { reason, .. }) => reason,
            other => panic!("expected a DOWN, got {other:?}"),
        };
        (reason, after)
    });
    assert_eq!(
        result.unwrap(),
        (ExitReason::StackOverflow, ExitReason::Normal)
    );
}
