//! Linking (tutorial block 09): a linked child that finishes normally does not affect its
//! parent; one that crashes takes a non-trapping parent down with the same reason (the BEAM's
//! real behaviour, where the tutorial says "all linked processes die" without the `normal`
//! exception).
//!
//! Run with `cargo run --release --example linking`.

use otp::{process, Mailbox, Message};

fn main() {
    otp::run(|mut mb: Mailbox<()>| {
        // A child that finishes normally.
        let parent = mb.pid();
        otp::spawn_link(move || {
            println!("Child started...");
            println!("Child finished normally");
            parent.send(());
        });
        println!("Parent spawned child (normal exit)");
        mb.receive();

        // A child that crashes, seen by a parent of its own (which it takes down), watched here.
        let (parent, reference) = otp::spawn_monitor(|| {
            otp::spawn_link(|| panic!("Child crashed!"));
            otp::sleep(std::time::Duration::from_secs(5));
            println!("never printed: the crash killed the parent");
        });
        if let Some(Message::Down { reason, .. }) = mb.select(
            None,
            |m| matches!(m, otp::MessageRef::Down { reference: r, .. } if r == reference),
        ) {
            println!("** (EXIT from {parent:?}) {reason}");
        }
        println!("Parent still alive afterwards: {}", process::alive(&parent));
    });
}
