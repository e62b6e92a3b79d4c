//! Publish/subscribe with a duplicate-key `Registry` (Elixir's `Registry` docs example): three
//! subscribers register under one topic, a publisher dispatches to all of them, and a
//! subscriber that exits is gone from the registry without anyone cleaning up after it.
//!
//! Run with `cargo run --release --example registry_pubsub`.

use otp::registry::{Keys, Registry};
use otp::Mailbox;

// ANCHOR: pubsub
#[otp::main]
fn main(mut mb: Mailbox<String>) {
    let topics: Registry<&'static str, otp::Pid<String>> = Registry::new(Keys::Duplicate);
    let _sup = topics.start_link().unwrap();
    let me = mb.pid();

    // Three subscribers: each registers under "news" and forwards what it gets to us.
    let subscribers: Vec<_> = (1..=3)
        .map(|i| {
            let (topics, me) = (topics.clone(), me.clone());
            otp::spawn(move |mut inbox: Mailbox<String>| {
                topics.register("news", inbox.pid()).unwrap();
                me.send(format!("subscriber {i} ready"));
                let item = inbox.receive();
                me.send(format!("subscriber {i} got {item:?}"));
            })
        })
        .collect();
    for _ in &subscribers {
        println!("{}", mb.receive());
    }
    println!("subscribers to news: {}", topics.count());

    // Publish: one call reaches every entry under the key.
    topics.dispatch("news", |entries| {
        for (_pid, inbox) in entries {
            inbox.send("otp-rs 0.1 released".to_owned());
        }
    });
    let mut got: Vec<String> = (0..3).map(|_| mb.receive()).collect();
    got.sort();
    for line in got {
        println!("{line}");
    }

    // Every subscriber has exited: the registry lists none of them (reads skip the dead,
    // and the registry's monitors clean the entries up).
    for s in &subscribers {
        otp::process::monitor(s);
    }
    for _ in &subscribers {
        otp::receive! { mb, DOWN(_, _, _) => {} }
    }
    println!(
        "alive subscribers in the registry: {}",
        topics.lookup("news").len()
    );
}
// ANCHOR_END: pubsub
