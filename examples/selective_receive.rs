//! What a selective receive costs (tutorial block 26, `SelectiveReceive.demo/0`): a receive
//! that matches nothing scans the whole mailbox; one that takes the oldest message does not.
//!
//! ```elixir
//! for i <- 1..10000, do: send(self(), {:ignored, i})
//! receive do
//!   {:target, value} -> value
//! after
//!   0 -> :not_found
//! end
//! ```
//!
//! [`otp::receive!`] with `after Duration::ZERO` is `receive ... after 0`: it looks at every
//! message, oldest first, and when none matches leaves them all in place. When the oldest
//! message matches, it costs the same whatever is queued behind it.
//!
//! The BEAM prints `Bad selective receive took: 83 microseconds` and `Good in-order receive
//! took: 1 microseconds`: right in kind, about fifteen times below the tutorial's 1234 and 5.
//! The scan is linear (the BEAM measured about 1 ms at 100,000 messages), which the last line
//! shows here too. The tutorial's `Process.sleep(100)` and `(200)` become waits on the two
//! processes' exits.
//!
//! Two differences from the BEAM worth knowing: the first receive after messages arrive also
//! moves them from the incoming queue to the private one it scans, which is part of what is
//! timed here; and the BEAM's receive-marker trick (a `make_ref()` just before a receive on
//! that ref skips the older messages) has no counterpart, but it is not needed for calls:
//! GenServer replies and task results do not go through the mailbox at all.
//!
//! Run with `cargo run --release --example selective_receive`.

use std::time::{Duration, Instant};

use otp::Mailbox;

/// Messages of three kinds; only their shape matters.
enum Msg {
    Ignored,
    #[expect(
        dead_code,
        reason = "the message the bad receive looks for is never sent"
    )]
    Target(u32),
    Data(u32),
}

// ANCHOR: bad_good
/// Fills the own mailbox with `n` messages that will not match, then looks for one that does.
fn bad(mut mb: Mailbox<Msg>, n: u32) -> Duration {
    let me = mb.pid();
    for _ in 0..n {
        me.send(Msg::Ignored);
    }
    let start = Instant::now();
    let found = otp::receive! { mb,
        Msg::Target(value) => Some(value),
        after Duration::ZERO => None,
    };
    let elapsed = start.elapsed();
    assert!(found.is_none(), "nothing matches: :not_found");
    elapsed
}

/// Fills the own mailbox, then takes the oldest message: in order, no scanning.
fn good(mut mb: Mailbox<Msg>, n: u32) -> Duration {
    let me = mb.pid();
    for i in 1..=n {
        me.send(Msg::Data(i));
    }
    let start = Instant::now();
    let value = otp::receive! { mb,
        Msg::Data(value) => Some(value),
        after Duration::ZERO => None,
    };
    let elapsed = start.elapsed();
    assert_eq!(value, Some(1));
    elapsed
}
// ANCHOR_END: bad_good

/// Runs `f` in a process of its own and waits for it to finish.
fn in_process(mb: &mut Mailbox<()>, f: impl FnOnce(Mailbox<Msg>) + Send + 'static) {
    let (_, watch) = otp::spawn_monitor(f);
    otp::receive! { mb, DOWN(r, _, _) if r == watch => {} }
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    in_process(&mut mb, |mb| {
        let elapsed = bad(mb, 10_000);
        println!(
            "Bad selective receive took: {} microseconds",
            elapsed.as_micros()
        );
    });
    in_process(&mut mb, |mb| {
        let elapsed = good(mb, 10_000);
        println!(
            "Good in-order receive took: {} microseconds",
            elapsed.as_micros()
        );
    });
    in_process(&mut mb, |mb| {
        let elapsed = bad(mb, 100_000);
        println!(
            "The same miss with 100,000 messages queued: {} microseconds",
            elapsed.as_micros()
        );
    });
}
