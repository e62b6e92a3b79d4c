//! Watching a mailbox grow (tutorial block 25, `QueueDemo`): a slow consumer is flooded with
//! 100 messages, and asked now and then for the length of its queue.
//!
//! ```elixir
//! receive do
//!   :check_queue ->
//!     {:message_queue_len, len} = Process.info(self(), :message_queue_len)
//!     IO.puts("Queue length: #{len}")
//!   _msg -> Process.sleep(100)  # slow processing
//! end
//! ```
//!
//! Where the tutorial is wrong: it expects `Queue length: 95, 90, 85...`, as if `:check_queue`
//! jumped the queue because its clause comes first. It does not: `receive` takes the *oldest*
//! message that matches *any* clause, and every `{:work, i}` matches the catch-all, so each
//! check waits behind the whole backlog. As a script the block prints nothing (the VM halts
//! first); given time (the BEAM's `25b`), it prints `Queue length: 4, 3, 2, 1, 0`: the five
//! checks, back to back, once the backlog is gone. So does the first half here.
//!
//! The second half does what the tutorial meant: a selective receive that looks for a check
//! before taking the next work item (an [`otp::receive!`] of checks only, whose
//! `after Duration::ZERO` falls back to [`Mailbox::receive`]; [`Mailbox::len`] is the queue's
//! length without a `process::info` snapshot). Now each check is answered within one work
//! item, and the lengths show the backlog shrinking: 95, 90, 85, 80, 75 on an idle machine, the
//! tutorial's figures (on a loaded one the sleeps overrun and the figures come out a few
//! lower).
//!
//! Times are scaled down 25-fold: 4 ms per message, a check every 24 ms. Each check carries the
//! root's pid and the consumer answers it once it has printed, so the root knows when it has
//! seen all five, where the tutorial's variant sleeps 11 s.
//!
//! Run with `cargo run --release --example queue_buildup`.

use std::time::Duration;

use otp::{process, ExitReason, Mailbox, Pid};

/// What the consumer is sent: `{:work, i}` (the number plays no part) or `:check_queue`.
enum Msg {
    Work,
    CheckQueue(Pid<()>),
}

const WORK: Duration = Duration::from_millis(4);

// ANCHOR: slow
/// `QueueDemo.slow_loop/0`: one receive, clauses in order; the oldest message wins.
fn slow_loop(mut mb: Mailbox<Msg>) {
    loop {
        otp::receive! { mb,
            Msg::CheckQueue(asker) => {
                let len = process::info(otp::self_pid()).map_or(0, |i| i.message_queue_len);
                println!("Queue length: {len}");
                asker.send(());
            }
            // Slow processing.
            _msg => otp::sleep(WORK),
        }
    }
}
// ANCHOR_END: slow

// ANCHOR: prioritised
/// What the tutorial meant: a check, if one is waiting, before the next work item.
fn prioritised_loop(mut mb: Mailbox<Msg>) {
    loop {
        let next = otp::receive! { mb,
            check @ Msg::CheckQueue(_) => check,
            // No check waiting (`after 0`): the oldest message, whatever it is.
            after Duration::ZERO => mb.receive(),
        };
        match next {
            Msg::CheckQueue(asker) => {
                println!("Queue length: {}", mb.len());
                asker.send(());
            }
            Msg::Work => otp::sleep(WORK),
        }
    }
}
// ANCHOR_END: prioritised

/// Floods `consumer`, then checks its queue five times, and waits for the five answers.
fn flood_and_check(mb: &mut Mailbox<()>, consumer: &Pid<Msg>) {
    for _ in 1..=100 {
        consumer.send(Msg::Work);
    }
    for _ in 1..=5 {
        otp::sleep(WORK * 5);
        consumer.send(Msg::CheckQueue(mb.pid()));
        otp::sleep(WORK);
    }
    for _ in 1..=5 {
        mb.receive();
    }
}

#[otp::main]
fn main(mut mb: Mailbox<()>) {
    let consumer = otp::spawn(slow_loop);
    flood_and_check(&mut mb, &consumer);
    process::exit(&consumer, ExitReason::Kill);

    println!();
    println!("--- With the check taken first (what the tutorial meant) ---");
    let consumer = otp::spawn(prioritised_loop);
    flood_and_check(&mut mb, &consumer);
    process::exit(&consumer, ExitReason::Kill);
}
