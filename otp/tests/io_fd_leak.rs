//! Descriptors are released: many connections opened and closed, a process killed in a read,
//! a listener's owner killed in accept, and a runtime shut down with sockets open, all leave
//! the descriptor count where it was. One test in this binary, so nothing else opens
//! descriptors meanwhile (counts of `/proc/self/fd` are exact).

mod common;
use common::*;
use std::io::{Read, Write};

use otp::{
    io::{TcpListener, TcpStream},
    process, Builder, ExitReason, Mailbox,
};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("procfs").count()
}

/// What each open descriptor is (for failure messages).
fn describe_fds() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .expect("procfs")
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some(format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                target.display()
            ))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn no_descriptor_leaks() {
    watchdog(|| {
        let before = open_fds();
        let before_list = describe_fds();
        let rt = Builder::new()
            .schedulers(2)
            .shutdown_timeout(PROMPTLY)
            .build()
            .unwrap();
        rt.block_on(|mut mb: Mailbox<()>| {
            let base = open_fds();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let (acceptor, acceptor_monitor) = otp::spawn_monitor(move || loop {
                let (mut conn, _) = listener.accept().unwrap();
                otp::spawn(move || {
                    let mut buf = [0; 256];
                    while let Ok(n @ 1..) = conn.read(&mut buf) {
                        if conn.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            });
            // Waves of short connections from many processes.
            for wave in 0..10u8 {
                let me = mb.pid();
                for _ in 0..50 {
                    let me = me.clone();
                    otp::spawn(move || {
                        let mut s = TcpStream::connect(addr).unwrap();
                        s.write_all(&[wave; 100]).unwrap();
                        let mut back = [0; 100];
                        s.read_exact(&mut back).unwrap();
                        assert_eq!(back, [wave; 100]);
                        drop(s);
                        me.send(());
                    });
                }
                for _ in 0..50 {
                    recv(&mut mb);
                }
            }
            // Only the listener is left once every handler has seen its client's end of file.
            wait_until("every connection's descriptors are closed", || {
                open_fds() == base + 1
            });
            // A client killed while it waits in a read.
            let me = mb.pid();
            let (client, monitor) = otp::spawn_monitor(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                me.send(());
                let _ = s.read(&mut [0; 8]);
                unreachable!("the server never writes first");
            });
            recv(&mut mb);
            wait_until("the client waits in its read", || {
                process::info(&client).is_some_and(|i| i.status == process::Status::Waiting)
            });
            wait_until("the listener and both ends are open", || {
                open_fds() == base + 3
            });
            process::exit(&client, ExitReason::Kill);
            assert_eq!(down_of(&mut mb, monitor), ExitReason::Killed);
            wait_until("the killed client's connection is closed", || {
                open_fds() == base + 1
            });
            // The acceptor killed in accept closes the listener.
            process::exit(&acceptor, ExitReason::Kill);
            assert_eq!(down_of(&mut mb, acceptor_monitor), ExitReason::Killed);
            assert_eq!(open_fds(), base);
        })
        .unwrap();
        // Shut down with sockets open: processes blocked in accept and in reads.
        rt.block_on(|mut mb: Mailbox<()>| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let me = mb.pid();
            otp::spawn(move || loop {
                let (conn, _) = listener.accept().unwrap();
                otp::spawn(move || {
                    let _ = (&conn).read(&mut [0; 8]);
                });
                me.send(());
            });
            for _ in 0..20 {
                otp::spawn(move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    let _ = s.read(&mut [0; 8]);
                });
            }
            for _ in 0..20 {
                recv(&mut mb);
            }
        })
        .unwrap();
        rt.shutdown();
        assert_eq!(
            open_fds(),
            before,
            "descriptors left after shutdown: before {before_list:?}, after {:?}",
            describe_fds()
        );
    });
}
