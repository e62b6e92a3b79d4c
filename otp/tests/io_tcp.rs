//! TCP inside processes over real loopback sockets: echo with many concurrent clients,
//! timeouts, kills and drops that close the descriptor, readiness on a busy scheduler, shared
//! listeners and split streams, and calls from outside a process.

mod common;
use common::*;
use std::{
    io::{BufRead, BufReader, ErrorKind, Read, Write},
    net::{Shutdown, SocketAddr},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        mpsc, Arc,
    },
    time::Duration,
};

use otp::{
    io::{TcpListener, TcpStream},
    process, ExitReason, Mailbox,
};

/// An echo server: one acceptor process, one process per connection.
fn echo_server() -> (SocketAddr, otp::Pid<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = otp::spawn(move || loop {
        let (mut conn, _) = listener.accept().unwrap();
        otp::spawn(move || {
            let mut buf = [0; 4096];
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if conn.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
        });
    });
    (addr, acceptor)
}

#[test]
fn echo_with_many_concurrent_clients_on_two_schedulers() {
    const CLIENTS: usize = 200;
    const ROUNDS: usize = 20;
    run_on(2, |mut mb: Mailbox<Result<usize, String>>| {
        let (addr, acceptor) = echo_server();
        let me = mb.pid();
        for c in 0..CLIENTS {
            let me = me.clone();
            otp::spawn(move || {
                let result = (|| -> std::io::Result<usize> {
                    let mut s = TcpStream::connect(addr)?;
                    s.set_nodelay(true)?;
                    let mut total = 0;
                    for r in 0..ROUNDS {
                        // Sizes vary so some writes and reads split.
                        let msg: Vec<u8> = (0..(64 + (c * 37 + r * 101) % 3000))
                            .map(|i| (i + c + r) as u8)
                            .collect();
                        s.write_all(&msg)?;
                        let mut back = vec![0; msg.len()];
                        s.read_exact(&mut back)?;
                        if back != msg {
                            return Err(std::io::Error::other("echo differs"));
                        }
                        total += msg.len();
                    }
                    Ok(total)
                })();
                me.send(result.map_err(|e| e.to_string()));
            });
        }
        for _ in 0..CLIENTS {
            let bytes = recv(&mut mb).unwrap_or_else(|e| panic!("client failed: {e}"));
            assert!(bytes > 0);
        }
        process::exit(&acceptor, ExitReason::Kill);
    });
}

#[test]
fn bufreader_and_bufwriter_work_on_a_stream() {
    run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        otp::spawn(move || {
            let (conn, _) = listener.accept().unwrap();
            let mut lines = BufReader::new(&conn);
            let mut out = std::io::BufWriter::new(&conn);
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap() > 0 {
                out.write_all(line.to_uppercase().as_bytes()).unwrap();
                out.flush().unwrap();
                line.clear();
            }
        });
        let client = TcpStream::connect(addr).unwrap();
        let mut reader = BufReader::new(&client);
        for word in ["alpha", "beta", "gamma"] {
            (&client).write_all(format!("{word}\n").as_bytes()).unwrap();
            let mut reply = String::new();
            reader.read_line(&mut reply).unwrap();
            assert_eq!(reply, format!("{}\n", word.to_uppercase()));
        }
    });
}

#[test]
fn accept_timeout_returns_timed_out() {
    run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let e = listener
            .accept_timeout(Duration::from_millis(20))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        // The listener still works afterwards.
        let addr = listener.local_addr().unwrap();
        otp::spawn(move || drop(TcpStream::connect(addr).unwrap()));
        assert!(listener.accept_timeout(PROMPTLY).is_ok());
    });
}

#[test]
fn read_timeout_returns_timed_out_and_the_stream_stays_usable() {
    run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let peer = otp::spawn(move |mut mb: Mailbox<()>| {
            let (mut conn, _) = listener.accept().unwrap();
            mb.receive(); // write only when told
            conn.write_all(b"late").unwrap();
            drop(tx);
            mb.receive();
        });
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(s.read_timeout().unwrap(), Some(Duration::from_millis(20)));
        let e = s.read(&mut [0; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        peer.send(());
        s.set_read_timeout(Some(PROMPTLY)).unwrap();
        let mut buf = [0; 4];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"late");
        let _ = rx.recv();
        peer.send(());
        assert!(s.set_read_timeout(Some(Duration::ZERO)).is_err());
    });
}

/// The timeout accessors: a zero duration is refused (and changes nothing), `None` clears, and
/// a clone starts with the original's timeouts but is set independently afterwards.
#[test]
fn timeouts_are_validated_and_copied_by_try_clone() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let s = TcpStream::from_std(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap())
        .unwrap();
    assert_timeouts_validated_and_copied_by_try_clone!(s);
    run(move || {
        let e = TcpStream::connect_timeout(&l.local_addr().unwrap(), Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.to_string(), "cannot set a 0 duration timeout");
    });
}

/// A listener that never accepts, with a backlog of 0: once its accept queue is full, the
/// kernel drops further SYNs, so a connect can only time out.
fn full_listener() -> (std::net::TcpListener, SocketAddr) {
    // SAFETY: plain socket calls on a descriptor this function owns; `from_raw_fd` takes it.
    let listener = unsafe {
        use std::os::fd::FromRawFd;
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(libc::bind(fd, (&raw const addr).cast(), len), 0);
        assert_eq!(libc::listen(fd, 0), 0);
        std::net::TcpListener::from_raw_fd(fd)
    };
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

#[test]
fn connect_timeout_returns_timed_out() {
    run(|| {
        let (_listener, addr) = full_listener();
        let mut open = Vec::new();
        for _ in 0..16 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => open.push(s),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
                    return;
                }
            }
        }
        panic!("16 connects to a full backlog all succeeded");
    });
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    run(|| {
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let e = TcpStream::connect(addr).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn a_process_killed_in_read_closes_its_socket() {
    run(|mut mb: Mailbox<()>| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let me = mb.pid();
        let (reader, monitor) = otp::spawn_monitor(move || {
            let (mut conn, _) = listener.accept().unwrap();
            me.send(());
            let mut buf = [0; 16];
            let _ = conn.read(&mut buf); // blocks: the client never writes
            unreachable!("the read returned");
        });
        let mut client = TcpStream::connect(addr).unwrap();
        recv(&mut mb); // accepted
                       // Wait until the reader is suspended in its read.
        wait_until("the reader waits", || {
            process::info(&reader).is_some_and(|i| i.status == process::Status::Waiting)
        });
        process::exit(&reader, ExitReason::Kill);
        assert_eq!(down_of(&mut mb, monitor), ExitReason::Killed);
        // The reader's end was closed: the client reads end of file.
        client.set_read_timeout(Some(PROMPTLY)).unwrap();
        assert_eq!(client.read(&mut [0; 8]).unwrap(), 0);
    });
}

#[test]
fn a_dropped_stream_closes_the_connection() {
    run(|mut mb: Mailbox<()>| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let me = mb.pid();
        otp::spawn(move |mut own: Mailbox<()>| {
            let (conn, _) = listener.accept().unwrap();
            own.receive();
            drop(conn);
            me.send(());
            own.receive();
        })
        .send(());
        let mut client = TcpStream::connect(addr).unwrap();
        recv(&mut mb);
        client.set_read_timeout(Some(PROMPTLY)).unwrap();
        assert_eq!(client.read(&mut [0; 8]).unwrap(), 0);
    });
}

#[test]
fn shutdown_write_sends_end_of_file() {
    run(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        otp::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut all = Vec::new();
            conn.read_to_end(&mut all).unwrap();
            conn.write_all(&all).unwrap();
        });
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"whole message").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"whole message");
    });
}

/// One scheduler, kept busy by a process that never waits: the reader's readiness must still
/// be delivered (the scheduler polls its reactor at its fairness points, never idling).
#[test]
fn a_busy_scheduler_still_delivers_readiness() {
    for schedulers in [1, 2] {
        run_on(schedulers, move || {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let (go_tx, go_rx) = mpsc::channel::<()>();
            // The writer is a plain thread: its write does not depend on any scheduler.
            let writer = std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                go_rx.recv().unwrap();
                s.write_all(b"x").unwrap();
            });
            let (mut conn, _) = listener.accept().unwrap();
            let done = Arc::new(AtomicBool::new(false));
            for _ in 0..schedulers {
                let done = done.clone();
                let go = go_tx.clone();
                otp::spawn(move || {
                    let _ = go.send(());
                    while !done.load(SeqCst) {
                        otp::consume_reductions(10);
                    }
                });
            }
            // Suspends; the spinners start, tell the writer to write, and spin.
            let mut b = [0; 1];
            conn.read_exact(&mut b).unwrap();
            assert_eq!(&b, b"x");
            done.store(true, SeqCst);
            // The writer is done (its byte arrived): joining it does not block for long.
            writer.join().unwrap();
        });
    }
}

#[test]
fn several_processes_accept_on_one_listener() {
    const ACCEPTORS: usize = 4;
    const CONNECTIONS: usize = 40;
    run(|mut mb: Mailbox<usize>| {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let mut acceptors = Vec::new();
        for k in 0..ACCEPTORS {
            let listener = if k % 2 == 0 {
                listener.clone()
            } else {
                Arc::new(listener.try_clone().unwrap())
            };
            let accepted = accepted.clone();
            let me = mb.pid();
            acceptors.push(otp::spawn(move || loop {
                let (mut conn, _) = listener.accept().unwrap();
                accepted.fetch_add(1, SeqCst);
                let mut b = [0; 1];
                conn.read_exact(&mut b).unwrap();
                me.send(usize::from(b[0]));
            }));
        }
        for i in 0..CONNECTIONS {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(&[i as u8]).unwrap();
        }
        let mut seen: Vec<usize> = (0..CONNECTIONS).map(|_| recv(&mut mb)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..CONNECTIONS).collect::<Vec<_>>());
        assert_eq!(accepted.load(SeqCst), CONNECTIONS);
        for a in acceptors {
            process::exit(&a, ExitReason::Kill);
        }
    });
}

#[test]
fn a_cloned_stream_reads_in_one_process_and_writes_in_another() {
    run(|mut mb: Mailbox<Vec<u8>>| {
        let (addr, _acceptor) = echo_server();
        let stream = TcpStream::connect(addr).unwrap();
        let writer = stream.try_clone().unwrap();
        let me = mb.pid();
        otp::spawn(move || {
            let mut reader = stream;
            let mut got = vec![0; 1000];
            reader.read_exact(&mut got).unwrap();
            me.send(got);
        });
        otp::spawn(move || {
            let mut w = writer;
            for chunk in (0..1000u32)
                .map(|i| i as u8)
                .collect::<Vec<_>>()
                .chunks(100)
            {
                w.write_all(chunk).unwrap();
                otp::yield_now();
            }
        });
        let got = recv(&mut mb);
        assert_eq!(got, (0..1000u32).map(|i| i as u8).collect::<Vec<_>>());
    });
}

/// The socket registers on the reactor of the scheduler where it first waits; the processes
/// it is handed to afterwards may run on another scheduler and are still woken.
#[test]
fn a_socket_handed_to_other_processes_still_wakes_its_owner() {
    run(|mut mb: Mailbox<TcpStream>| {
        let (addr, _acceptor) = echo_server();
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"a").unwrap();
        let mut b = [0; 1];
        s.read_exact(&mut b).unwrap();
        let me = mb.pid();
        for round in 0..20u8 {
            let me = me.clone();
            let child = otp::spawn(move |mut own: Mailbox<TcpStream>| {
                let mut s = own.receive();
                s.write_all(&[round]).unwrap();
                let mut b = [0; 1];
                s.read_exact(&mut b).unwrap();
                assert_eq!(b[0], round);
                me.send(s);
            });
            child.send(s);
            s = recv(&mut mb);
        }
    });
}

#[test]
fn socket_calls_outside_a_process_are_an_error() {
    let rt = otp::Builder::new().schedulers(2).build().unwrap();
    let (addr, listener) = rt
        .block_on(|| {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            (l.local_addr().unwrap(), l)
        })
        .unwrap();
    let e = TcpStream::connect(addr).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("inside an otp process"), "{e}");
    let e = listener.accept().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    // Binding and addresses work anywhere.
    assert!(TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .is_ok());
}

#[test]
fn shutdown_with_sockets_open_joins_every_thread() {
    let rt = otp::Builder::new()
        .schedulers(2)
        .shutdown_timeout(PROMPTLY)
        .build()
        .unwrap();
    rt.block_on(|mut mb: Mailbox<()>| {
        let (addr, _acceptor) = echo_server();
        let me = mb.pid();
        for _ in 0..8 {
            let me = me.clone();
            otp::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                me.send(());
                let _ = s.read(&mut [0; 8]); // waits forever
            });
        }
        for _ in 0..8 {
            recv(&mut mb);
        }
    })
    .unwrap();
    watchdog(move || rt.shutdown());
}
