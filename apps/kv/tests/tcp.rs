//! The server over real TCP: the acceptor, `otp::io::TcpStream` connections, and clients on
//! plain threads speaking RESP over `std::net::TcpStream` (the server listens on a port the
//! kernel picked, so the tests never depend on a fixed port being free).

mod common;

use std::{
    collections::BTreeMap,
    net::Shutdown,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
};

use common::{
    await_exits, config, connection_processes,
    tcp::{decode, encode, RespClient, TcpServer, Value},
    TempDir,
};
use kv::aof::FsyncPolicy;

fn pong() -> Value {
    Value::Simple("PONG".to_owned())
}

fn error(text: &str) -> Value {
    Value::Error(text.to_owned())
}

fn confirmation(kind: &str, channel: &str, count: i64) -> Value {
    Value::Array(vec![
        Value::bulk(kind),
        Value::bulk(channel),
        Value::Int(count),
    ])
}

#[test]
fn the_test_client_decodes_every_type_and_waits_for_the_rest() {
    let bytes = b"*3\r\n+OK\r\n:-7\r\n$3\r\nabc\r\n";
    assert_eq!(
        decode(bytes),
        Some((
            Value::Array(vec![Value::ok(), Value::Int(-7), Value::bulk("abc")]),
            bytes.len()
        ))
    );
    for cut in 0..bytes.len() {
        assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
    }
    assert_eq!(decode(b"$-1\r\n"), Some((Value::Null, 5)));
    assert_eq!(encode(&["GET", "k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
}

#[test]
fn commands_over_tcp() {
    let server = TcpServer::start(config(3));
    let mut c = server.client();
    assert_eq!(c.cmd("PING"), pong());
    assert_eq!(c.cmd("SET greeting hello"), Value::ok());
    assert_eq!(c.cmd("GET greeting"), Value::bulk("hello"));
    assert_eq!(c.cmd("GET nothing"), Value::Null);
    assert_eq!(c.cmd("INCR n"), Value::Int(1));
    assert_eq!(c.cmd("INCRBY n 41"), Value::Int(42));
    assert_eq!(c.cmd("MSET a 1 b 2 c 3 d 4"), Value::ok());
    assert_eq!(
        c.cmd("MGET a x b c d"),
        Value::Array(vec![
            Value::bulk("1"),
            Value::Null,
            Value::bulk("2"),
            Value::bulk("3"),
            Value::bulk("4")
        ])
    );
    assert_eq!(c.cmd("EXISTS a b x"), Value::Int(2));
    assert_eq!(c.cmd("DEL a b x"), Value::Int(2));
    assert_eq!(c.cmd("EXPIRE c 100"), Value::Int(1));
    assert!(matches!(c.cmd("TTL c"), Value::Int(99 | 100)));
    assert_eq!(c.cmd("DBSIZE"), Value::Int(4));
    assert_eq!(
        c.cmd("GET"),
        error("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        c.cmd("NOPE x"),
        error("ERR unknown command 'NOPE', with args beginning with: 'x' ")
    );
    // A value larger than the sockets' buffers: the server's reads and its one write of the
    // reply each take many rounds of waiting for the socket.
    let big: Vec<u8> = (0..4 << 20).map(|i: u32| b'a' + (i % 26) as u8).collect();
    assert_eq!(c.call(&[&b"SET"[..], b"big", &big]), Value::ok());
    assert_eq!(c.call(&["GET", "big"]), Value::Bulk(big));
    // Pipelined: 1000 requests in one write, the replies in order.
    let mut batch = Vec::new();
    for i in 0..1000 {
        batch.extend(encode(&["SET", &format!("p{i}"), &i.to_string()]));
        batch.extend(encode(&["GET", &format!("p{i}")]));
    }
    c.send_raw(&batch);
    for i in 0..1000 {
        assert_eq!(c.reply(), Value::ok());
        assert_eq!(c.reply(), Value::bulk(&i.to_string()));
    }
    // Inline commands, as telnet sends them.
    c.send_raw(b"SET inline \"two words\"\r\nGET inline\r\n");
    assert_eq!(c.reply(), Value::ok());
    assert_eq!(c.reply(), Value::bulk("two words"));
    assert_eq!(c.cmd("QUIT"), Value::ok());
    c.expect_closed();
}

#[test]
fn pub_sub_across_two_tcp_clients() {
    let server = TcpServer::start(config(2));
    let mut alice = server.client();
    let mut bob = server.client();
    let mut publisher = server.client();
    assert_eq!(
        alice.cmd("SUBSCRIBE news"),
        confirmation("subscribe", "news", 1)
    );
    bob.send(&["SUBSCRIBE", "news", "sport"]);
    assert_eq!(bob.reply(), confirmation("subscribe", "news", 1));
    assert_eq!(bob.reply(), confirmation("subscribe", "sport", 2));
    assert_eq!(publisher.cmd("PUBLISH news hello"), Value::Int(2));
    assert_eq!(publisher.cmd("PUBLISH sport goal"), Value::Int(1));
    assert_eq!(publisher.cmd("PUBLISH weather rain"), Value::Int(0));
    let message = |channel: &str, payload: &str| Value::bulks(&["message", channel, payload]);
    assert_eq!(alice.reply(), message("news", "hello"));
    assert_eq!(bob.reply(), message("news", "hello"));
    assert_eq!(bob.reply(), message("sport", "goal"));
    // Subscribed mode: PING answers as a message; other commands are refused.
    assert_eq!(alice.cmd("PING"), Value::bulks(&["pong", ""]));
    let Value::Error(refused) = alice.cmd("GET x") else {
        panic!("GET is refused in subscribed mode")
    };
    assert!(refused.starts_with("ERR Can't execute 'get'"), "{refused}");
    assert_eq!(
        alice.cmd("UNSUBSCRIBE news"),
        confirmation("unsubscribe", "news", 0)
    );
    assert_eq!(publisher.cmd("PUBLISH news again"), Value::Int(1));
    assert_eq!(bob.reply(), message("news", "again"));
    // A subscriber that hangs up is out of its channels.
    drop(bob);
    let mut asked = 0;
    while publisher.cmd("PUBLISH sport late") != Value::Int(0) {
        // The registry learns of the exit from a DOWN of its own: ask until it has.
        asked += 1;
        assert!(
            asked < 100_000,
            "the subscriber that hung up is still subscribed"
        );
    }
}

#[test]
fn malformed_input_gets_a_resp_error_and_the_server_stays_up() {
    let server = TcpServer::start(config(2));
    let cases: &[(&[u8], &str)] = &[
        (b"*1\r\n$-3\r\n", "ERR Protocol error: invalid bulk length"),
        (
            b"*2\r\nx3\r\nget\r\n",
            "ERR Protocol error: expected '$', got 'x'",
        ),
        (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
        (
            b"SET \"open quote\r\n",
            "ERR Protocol error: unbalanced quotes in request",
        ),
        (
            b"*1\r\n$99999999999\r\n",
            "ERR Protocol error: invalid bulk length",
        ),
    ];
    for (input, expected) in cases {
        let mut c = server.client();
        // A good request first, in the same write: it runs, and its reply comes first.
        let mut bytes = encode(&["SET", "before", "1"]);
        bytes.extend_from_slice(input);
        c.send_raw(&bytes);
        assert_eq!(c.reply(), Value::ok());
        assert_eq!(c.reply(), error(expected), "{input:?}");
        c.expect_closed();
    }
    // The server is fine, and every rejected connection is gone.
    let mut c = server.client();
    assert_eq!(c.cmd("GET before"), Value::bulk("1"));
    let mut asked = 0;
    while c.info("clients", "connected_clients") != "1" {
        asked += 1;
        assert!(asked < 100_000, "closed connections still counted");
    }
}

#[test]
fn a_client_that_disconnects_mid_command_leaks_nothing() {
    let server = TcpServer::start(config(2));
    let mut probe = server.client();
    assert_eq!(probe.cmd("PING"), pong());
    let (probe_pids, baseline) =
        server.run(|_, ctx| (connection_processes(&ctx.kv), otp::process::list().len()));
    let info_baseline: usize = probe.info("processes", "process_count").parse().unwrap();
    let mut clients = Vec::new();
    for i in 0..6 {
        let mut c = server.client();
        if i % 2 == 0 {
            assert_eq!(
                c.cmd("SUBSCRIBE news"),
                confirmation("subscribe", "news", 1)
            );
        } else {
            assert_eq!(c.cmd("PING"), pong());
        }
        // Half a request: a header and part of a bulk string.
        c.send_raw(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nonly{i}").as_bytes());
        clients.push(c);
    }
    assert_eq!(probe.info("clients", "connected_clients"), "7");
    let theirs = server.run(move |_, ctx| {
        let all = connection_processes(&ctx.kv);
        all.into_iter()
            .filter(|p| !probe_pids.contains(p))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        theirs.len(),
        9,
        "a process per connection, two per subscribed one"
    );
    // Half hang up with a FIN, half just vanish (the socket dropped).
    for (i, c) in clients.iter().enumerate() {
        if i < 3 {
            c.stream().shutdown(Shutdown::Both).unwrap();
        }
    }
    drop(clients);
    let (after, subscribers, children) = server.run(move |mb, ctx| {
        await_exits(mb, &theirs);
        (
            otp::process::list().len(),
            ctx.kv.pubsub().subscribers(b"news"),
            ctx.kv.connections().children().unwrap().len(),
        )
    });
    assert!(
        after <= baseline,
        "{after} processes now, {baseline} before"
    );
    assert_eq!(subscribers, 0);
    assert_eq!(children, 1, "only the probe's reader is left");
    assert_eq!(probe.info("clients", "connected_clients"), "1");
    let info_after: usize = probe.info("processes", "process_count").parse().unwrap();
    assert!(
        info_after <= info_baseline,
        "{info_after} > {info_baseline}"
    );
    assert_eq!(probe.cmd("EXISTS k"), Value::Int(0), "no half request ran");
}

#[test]
fn the_acceptor_is_supervised_and_a_restarted_one_listens_on_the_same_port() {
    let server = TcpServer::start(config(2));
    let mut before = server.client();
    assert_eq!(before.cmd("SET kept yes"), Value::ok());
    let (old, new, addr) = server.run(|mb, ctx| {
        let old = ctx.kv.acceptor().expect("the acceptor runs");
        let watch = otp::process::monitor(&old);
        otp::process::exit(&old, otp::ExitReason::Kill);
        mb.select(
            otp::Timeout::Infinity,
            |m| matches!(m, otp::MessageRef::Down { reference, .. } if reference == watch),
        );
        // The supervisor heard of the exit (through its link) before we got the DOWN: this
        // call is answered once it has restarted the acceptor.
        ctx.tree.count_children().unwrap();
        (
            old,
            ctx.kv.acceptor().unwrap(),
            ctx.kv.local_addr().unwrap(),
        )
    });
    assert_ne!(old, new);
    assert_eq!(addr, server.addr, "the new acceptor bound the same address");
    // A connection accepted by the old acceptor lives on; a new one is accepted by the new.
    assert_eq!(before.cmd("GET kept"), Value::bulk("yes"));
    let mut after = server.client();
    assert_eq!(after.cmd("GET kept"), Value::bulk("yes"));
}

#[test]
fn a_port_in_use_fails_the_start_with_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let outcome = otp::run(move || {
        otp::process::trap_exit(true);
        let mut cfg = config(1);
        cfg.listen = true;
        cfg.port = port;
        let kv = kv::app::Kv::new(cfg);
        kv.start_link().map(|_| ()).map_err(|e| e.to_string())
    });
    let err = outcome.expect_err("the port is taken");
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
}

/// Writes acknowledged with `+OK` (key, value), and the others (key, reply).
type Outcome = (Vec<(String, String)>, Vec<(String, Value)>);

#[test]
fn killing_a_shard_mid_load_with_fsync_always_loses_no_acknowledged_write() {
    const WRITERS: usize = 4;
    const VICTIM: usize = 1;
    let dir = TempDir::new("tcp-kill");
    let mut cfg = config(4);
    cfg.aof = Some(dir.0.clone());
    cfg.fsync = FsyncPolicy::Always;
    let server = TcpServer::start(cfg.clone());
    let mut control = server.client();
    let shards_before = shard_lines(&mut control);

    let stop = Arc::new(AtomicBool::new(false));
    let (started, start) = mpsc::channel();
    let writers: Vec<std::thread::JoinHandle<Outcome>> = (0..WRITERS)
        .map(|w| {
            let (addr, stop, started) = (server.addr, stop.clone(), started.clone());
            std::thread::spawn(move || {
                let mut c = RespClient::connect(addr);
                let (mut acked, mut refused) = (Vec::new(), Vec::new());
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (key, value) = (format!("w{w}:k{i}"), format!("value-{w}-{i}"));
                    match c.call(&["SET", &key, &value]) {
                        Value::Simple(s) if s == "OK" => acked.push((key, value)),
                        other => refused.push((key, other)),
                    }
                    if i == 50 {
                        let _ = started.send(());
                    }
                }
                (acked, refused)
            })
        })
        .collect();
    // Once every writer has had 50 writes acknowledged, kill the victim; the writers stop only
    // after its restart (DEBUG KILLSHARD answers then), so both happen under load.
    for _ in 0..WRITERS {
        start
            .recv_timeout(common::tcp::READ_GUARD)
            .expect("every writer gets going");
    }
    let Value::Simple(report) = control.cmd(&format!("DEBUG KILLSHARD {VICTIM}")) else {
        panic!("DEBUG KILLSHARD answers a status")
    };
    assert!(
        report.starts_with(&format!("OK shard {VICTIM} ")) && report.contains("restarted as"),
        "{report}"
    );
    stop.store(true, Ordering::Relaxed);
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    for w in writers {
        let (a, r) = w.join().expect("a writer");
        acked.extend(a);
        refused.extend(r);
    }
    eprintln!(
        "{} writes acknowledged, {} refused around the kill",
        acked.len(),
        refused.len()
    );

    // Every acknowledged write is there after the restart's replay.
    for (key, value) in &acked {
        assert_eq!(control.call(&["GET", key]), Value::bulk(value), "{key}");
    }
    assert!(
        acked
            .iter()
            .any(|(k, _)| kv::shard::shard_for(k.as_bytes(), 4) == VICTIM),
        "the victim had acknowledged writes before the kill"
    );
    // Only the victim's writes were refused, with an error saying so.
    for (key, reply) in &refused {
        assert_eq!(kv::shard::shard_for(key.as_bytes(), 4), VICTIM, "{key}");
        let Value::Error(text) = reply else {
            panic!("{key}: {reply:?}")
        };
        assert!(text.starts_with(&format!("ERR shard {VICTIM} ")), "{text}");
    }
    // The other shards kept their processes; the victim was restarted once.
    let shards_after = shard_lines(&mut control);
    for (shard, line) in &shards_before {
        let after = &shards_after[shard];
        if *shard == VICTIM {
            assert!(after.contains("restarts=1"), "{after}");
        } else {
            assert_eq!(
                after.split(',').next(),
                line.split(',').next(),
                "shard {shard}"
            );
            assert!(after.contains("restarts=0"), "{after}");
        }
    }

    // And a whole new server on the same files has them all too.
    drop(control);
    server.stop();
    let server = TcpServer::start(cfg);
    let mut c = server.client();
    for (key, value) in &acked {
        assert_eq!(
            c.call(&["GET", key]),
            Value::bulk(value),
            "{key} after a restart"
        );
    }
}

/// `INFO shards`: shard number → `pid=...,keys=...,restarts=...`.
fn shard_lines(c: &mut RespClient) -> BTreeMap<usize, String> {
    let Value::Bulk(text) = c.cmd("INFO shards") else {
        panic!("INFO answers a bulk string")
    };
    String::from_utf8(text)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("shard_")?.split_once(':')?;
            Some((name.parse().ok()?, rest.to_owned()))
        })
        .collect()
}

#[test]
fn a_slow_reader_does_not_stall_other_clients() {
    // A client that sends many requests and reads none of the replies fills its socket: its
    // connection process waits in a write, and only it.
    let server = TcpServer::start(config(2));
    let mut setup = server.client();
    let value = "x".repeat(64 * 1024);
    assert_eq!(setup.call(&["SET", "wide", &value]), Value::ok());
    let stuck = server.client();
    let mut batch = Vec::new();
    for _ in 0..200 {
        batch.extend(encode(&["GET", "wide"]));
    }
    // 200 replies of 64 KiB: far more than the socket buffers hold.
    let mut writer = stuck.stream().try_clone().unwrap();
    std::io::Write::write_all(&mut writer, &batch).unwrap();
    let mut other = server.client();
    for i in 0..100 {
        assert_eq!(other.call(&["SET", &format!("o{i}"), "v"]), Value::ok());
    }
    assert_eq!(other.cmd("PING"), pong());
    drop((stuck, writer));
    // Its connection ends once the write fails; the server carries on.
    let mut asked = 0;
    while other.info("clients", "connected_clients") != "2" {
        asked += 1;
        assert!(
            asked < 100_000,
            "the stuck connection never noticed its client left"
        );
    }
}
