//! The `kv` binary itself: it says where it listens, serves over TCP, stops cleanly on SIGTERM
//! and SIGINT, and explains a port it cannot bind.

mod common;

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::Duration,
};

use common::tcp::{RespClient, Value};

/// How long the binary may take to start or to stop before the test fails.
const GUARD: Duration = Duration::from_secs(60);

fn kv(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the kv binary starts")
}

/// The address of the `listening on ADDR` line, the first the binary prints on stdout.
fn listening(child: &mut Child) -> SocketAddr {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(GUARD).expect("kv prints where it listens");
    line.trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("not a listening line: {line:?}"))
        .parse()
        .expect("an address")
}

/// Waits for the binary to exit (at most [`GUARD`], then kills it and fails); its status and
/// what it wrote on stderr.
fn finish(mut child: Child) -> (ExitStatus, String) {
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(status);
    });
    let status = match rx.recv_timeout(GUARD) {
        Ok(status) => status.expect("waiting for kv"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("kv did not exit within {GUARD:?}");
        }
    };
    let mut text = String::new();
    stderr.read_to_string(&mut text).unwrap();
    (status, text)
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill(1) runs");
    assert!(sent.success());
}

#[test]
fn the_binary_says_where_it_listens_serves_and_stops_on_sigterm() {
    let mut child = kv(&["--port", "0", "--shards", "2", "--schedulers", "2"]);
    let addr = listening(&mut child);
    assert!(addr.ip().is_loopback(), "{addr}: the default bind");
    assert_ne!(addr.port(), 0);
    let mut c = RespClient::connect(addr);
    assert_eq!(c.cmd("PING"), Value::Simple("PONG".to_owned()));
    assert_eq!(c.cmd("SET k v"), Value::ok());
    assert_eq!(c.cmd("GET k"), Value::bulk("v"));
    signal(&child, "TERM");
    let (status, stderr) = finish(child);
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("received SIGTERM"), "{stderr}");
    // The connection was closed by the shutdown, not left hanging.
    assert_eq!(c.try_reply(), None);
}

#[test]
fn sigint_stops_it_cleanly_and_the_files_keep_what_it_acknowledged() {
    let dir = common::TempDir::new("binary");
    let aof = dir.0.join("aof");
    let aof = aof.to_str().unwrap();
    let args = ["--port", "0", "--aof", aof, "--fsync", "always"];
    let mut child = kv(&args);
    let mut c = RespClient::connect(listening(&mut child));
    assert_eq!(c.cmd("SET survivor yes"), Value::ok());
    signal(&child, "INT");
    let (status, stderr) = finish(child);
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("received SIGINT"), "{stderr}");
    let mut child = kv(&args);
    let mut c = RespClient::connect(listening(&mut child));
    assert_eq!(c.cmd("GET survivor"), Value::bulk("yes"));
    signal(&child, "TERM");
    assert!(finish(child).0.success());
}

#[test]
fn a_port_in_use_is_an_error_that_names_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let child = kv(&["--port", &port]);
    let (status, stderr) = finish(child);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}
