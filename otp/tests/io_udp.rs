//! UDP inside processes: datagrams between processes, timeouts, connected sockets, and a
//! receiver killed while it waits.

mod common;
use common::*;
use std::{io::ErrorKind, time::Duration};

use otp::{io::UdpSocket, process, ExitReason, Mailbox};

#[test]
fn datagrams_go_back_and_forth_between_processes() {
    const ROUNDS: u32 = 200;
    run(|mut mb: Mailbox<u32>| {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        otp::spawn(move || {
            let mut buf = [0; 64];
            loop {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                server.send_to(&buf[..n], from).unwrap();
            }
        });
        let me = mb.pid();
        otp::spawn(move || {
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client.set_read_timeout(Some(PROMPTLY)).unwrap();
            let mut buf = [0; 64];
            for i in 0..ROUNDS {
                client.send_to(&i.to_le_bytes(), addr).unwrap();
                let (n, from) = client.recv_from(&mut buf).unwrap();
                assert_eq!(from, addr);
                assert_eq!(n, 4);
                me.send(u32::from_le_bytes(buf[..4].try_into().unwrap()));
            }
        });
        for i in 0..ROUNDS {
            assert_eq!(recv(&mut mb), i);
        }
    });
}

#[test]
fn recv_timeout_returns_timed_out() {
    run(|| {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let e = s.recv_from(&mut [0; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        // Still usable.
        s.send_to(b"me", s.local_addr().unwrap()).unwrap();
        s.set_read_timeout(Some(PROMPTLY)).unwrap();
        let mut buf = [0; 8];
        assert_eq!(s.recv_from(&mut buf).unwrap().0, 2);
    });
}

/// The timeout accessors: a zero duration is refused (and changes nothing), `None` clears, and
/// a clone starts with the original's timeouts but is set independently afterwards.
#[test]
fn timeouts_are_validated_and_copied_by_try_clone() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_timeouts_validated_and_copied_by_try_clone!(s);
}

#[test]
fn connected_sockets_send_and_recv() {
    run(|| {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        let waiter = otp::spawn(move |mut mb: Mailbox<()>| {
            let mut buf = [0; 16];
            let n = b.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello");
            b.send(b"world").unwrap();
            mb.receive();
        });
        a.send(b"hello").unwrap();
        a.set_read_timeout(Some(PROMPTLY)).unwrap();
        let mut buf = [0; 16];
        let n = a.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"world");
        waiter.send(());
    });
}

#[test]
fn a_receiver_killed_while_waiting_exits() {
    run(|mut mb: Mailbox<()>| {
        let (pid, monitor) = otp::spawn_monitor(|| {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            let _ = s.recv_from(&mut [0; 8]);
            unreachable!("nobody sends");
        });
        wait_until("the receiver waits", || {
            process::info(&pid).is_some_and(|i| i.status == process::Status::Waiting)
        });
        process::exit(&pid, ExitReason::Kill);
        assert_eq!(down_of(&mut mb, monitor), ExitReason::Killed);
    });
}

#[test]
fn udp_outside_a_process_is_an_error() {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let e = s.recv_from(&mut [0; 8]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}
