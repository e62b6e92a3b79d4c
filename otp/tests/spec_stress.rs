//! Links and kills thousands of processes across both schedulers, three times over: every
//! process dies, `process::list` returns to its baseline, and everything the processes held is
//! released (nothing leaks through links, monitors or stacks).

use std::{
    sync::{mpsc, Arc},
    time::Duration,
};

use otp::{process, ExitReason, Mailbox, Message};

#[test]
fn linked_chains_killed_leave_nothing_behind() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = otp::Builder::new().schedulers(2).build().unwrap();
        let _ = tx.send(rt.block_on(|mut mb: Mailbox<()>| {
            let baseline = process::list().len();
            let token = Arc::new(());
            for _round in 0..3 {
                const CHAINS: usize = 50;
                const LEN: usize = 100;
                let mut heads = Vec::new();
                let mut refs = 0;
                let mut links = 0;
                for _ in 0..CHAINS {
                    // A chain of LEN processes, each linked to the next, each holding a token.
                    let mut prev: Option<otp::Pid<()>> = None;
                    for _ in 0..LEN {
                        let (t, pred, root) = (token.clone(), prev.clone(), mb.pid());
                        let p = otp::spawn(move |mut mb: Mailbox<()>| {
                            let _t = t;
                            if let Some(pred) = pred {
                                // Its predecessor cannot have died yet: nothing is killed before
                                // every link is acknowledged.
                                process::link(&pred).unwrap();
                            }
                            root.send(());
                            mb.receive();
                        });
                        links += 1;
                        process::monitor(&p);
                        refs += 1;
                        prev = Some(p);
                    }
                    heads.push(prev.unwrap());
                }
                // Every chain is fully linked before the kills.
                for _ in 0..links {
                    mb.receive_if_timeout(Duration::from_secs(30), |()| true)
                        .expect("link helper");
                }
                // Kill one end of every chain; the kill spreads along the links as :killed.
                for h in &heads {
                    process::exit(h, ExitReason::Kill);
                }
                let mut downs = 0;
                while downs < refs {
                    match mb.select(Duration::from_secs(30), |_| true) {
                        Some(Message::Down { reason, .. }) => {
                            assert_eq!(reason, ExitReason::Killed);
                            downs += 1;
                        }
                        other => panic!("stress: expected DOWN, got {other:?}"),
                    }
                }
                // Helpers may still be finishing; wait until the table is back to the baseline.
                let mut spins = 0u64;
                while process::list().len() > baseline {
                    otp::sleep(Duration::from_millis(1));
                    spins += 1;
                    assert!(
                        spins < 30_000,
                        "processes left: {}",
                        process::list().len() - baseline
                    );
                }
                assert_eq!(
                    Arc::strong_count(&token),
                    1,
                    "every process released what it held"
                );
            }
        }));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("stress test timed out")
        .unwrap();
}

#[test]
fn thousands_of_panics_are_contained() {
    otp::run(|mut mb: Mailbox<()>| {
        for i in 0..2000 {
            otp::spawn_monitor(move || panic!("crash {i}"));
        }
        for _ in 0..2000 {
            match mb.select(Duration::from_secs(30), |_| true) {
                Some(Message::Down {
                    reason: ExitReason::Panic(p),
                    ..
                }) => assert!(p.message().starts_with("crash ")),
                other => panic!("expected a panic DOWN, got {other:?}"),
            }
        }
        // Still working.
        let (_, r) = otp::spawn_monitor(|| {});
        assert!(
            matches!(mb.receive_message(), Message::Down { reference, reason: ExitReason::Normal, .. } if reference == r)
        );
    });
}
