//! The wire protocol end to end: malformed input, inline commands, pipelining, limits, and
//! clients that go away in the middle of a request.

mod common;

use common::{await_exits, bulk, config, connection_processes, int, ok, with_kv, Client};
use kv::resp::Reply;

#[test]
fn malformed_input_gets_the_redis_error_then_the_connection_closes() {
    with_kv(config(2), |_: &mut otp::Mailbox<()>, kv| {
        let cases: &[(&[u8], &str)] = &[
            (
                b"*2\r\nx3\r\nget\r\n",
                "ERR Protocol error: expected '$', got 'x'",
            ),
            (b"*1\r\n$-3\r\n", "ERR Protocol error: invalid bulk length"),
            (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
            (
                b"set \"a b\r\n",
                "ERR Protocol error: unbalanced quotes in request",
            ),
        ];
        for (input, expected) in cases {
            let mut c = Client::connect(&kv);
            // A good request first: it runs, and its reply comes before the error.
            c.send(&["SET", "before", "1"]);
            c.send_raw(input);
            assert_eq!(c.reply(), ok());
            assert_eq!(c.reply(), Reply::error(*expected));
            c.expect_closed();
        }
        // The server is fine.
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("GET before"), bulk("1"));
    });
}

#[test]
fn the_bulk_limit_is_configurable() {
    let mut cfg = config(1);
    cfg.limits.max_bulk_len = 8;
    with_kv(cfg, |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("SET k 12345678"), ok());
        c.send(&["SET", "k", "123456789"]);
        assert_eq!(
            c.reply(),
            Reply::error("ERR Protocol error: invalid bulk length")
        );
        c.expect_closed();
    });
}

#[test]
fn inline_commands_as_telnet_sends_them() {
    with_kv(config(2), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        c.send_raw(b"SET greeting \"hello world\\n\"\r\nGET greeting\nPING\r\n\r\nEXISTS greeting 'greeting'\r\n");
        assert_eq!(c.reply(), ok());
        assert_eq!(c.reply(), bulk("hello world\n"));
        assert_eq!(c.reply(), Reply::simple("PONG"));
        assert_eq!(c.reply(), int(2), "the blank line was ignored");
    });
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    with_kv(config(4), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        let mut batch = Vec::new();
        for i in 0..500 {
            kv::resp::encode_command(&mut batch, &["SET", &format!("key{i}"), &i.to_string()]);
            kv::resp::encode_command(&mut batch, &["INCR", &format!("key{i}")]);
        }
        // In odd-sized pieces, as a socket would deliver them.
        for piece in batch.chunks(777) {
            c.send_raw(piece);
        }
        for i in 0..500 {
            assert_eq!(c.reply(), ok());
            assert_eq!(c.reply(), int(i + 1));
        }
        assert_eq!(c.cmd("DBSIZE"), int(500));
    });
}

#[test]
fn a_pipeline_mixing_shards_errors_and_other_commands_keeps_request_order() {
    with_kv(config(4), |_: &mut otp::Mailbox<()>, kv| {
        // Two keys on different shards, so the batch switches shards back and forth.
        let a = "a".to_owned();
        let b = (0..)
            .map(|i| format!("b{i}"))
            .find(|k| kv.shard_of(k.as_bytes()) != kv.shard_of(a.as_bytes()))
            .unwrap();
        let mut c = Client::connect(&kv);
        let mut batch = Vec::new();
        for args in [
            &["SET", &a, "1"][..],
            &["INCR", &a],
            &["SET", &b, "x"],
            &["INCR", &b],
            &["GET", &a],
            &["NOSUCH"],
            &["MGET", &a, &b],
            &["GET", &b],
            &["GET"],
            &["SET", &a, "2", "GET"],
            &["PING"],
            &["TTL", &a],
        ] {
            kv::resp::encode_command(&mut batch, args);
        }
        c.send_raw(&batch);
        assert_eq!(c.reply(), ok());
        assert_eq!(c.reply(), int(2));
        assert_eq!(c.reply(), ok());
        assert_eq!(
            c.reply(),
            Reply::error("ERR value is not an integer or out of range")
        );
        assert_eq!(c.reply(), bulk("2"));
        assert_eq!(
            c.reply(),
            Reply::error("ERR unknown command 'NOSUCH', with args beginning with: ")
        );
        assert_eq!(c.reply(), Reply::Array(vec![bulk("2"), bulk("x")]));
        assert_eq!(c.reply(), bulk("x"));
        assert_eq!(
            c.reply(),
            Reply::error("ERR wrong number of arguments for 'get' command")
        );
        assert_eq!(c.reply(), bulk("2"), "SET ... GET answers the old value");
        assert_eq!(c.reply(), Reply::simple("PONG"));
        assert_eq!(c.reply(), int(-1));
        assert_eq!(kv.stats().total_commands(), 12);
    });
}

#[test]
fn a_pipeline_reaches_the_restarted_process_of_a_killed_shard() {
    with_kv(config(2), |mb: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        let on = |shard: usize| {
            (0..)
                .map(|i| format!("k{i}"))
                .find(|k| kv.shard_of(k.as_bytes()) == shard)
                .unwrap()
        };
        let (zero, one) = (on(0), on(1));
        assert_eq!(c.call(&["SET", &zero, "z"]), ok());
        assert_eq!(c.call(&["SET", &one, "o"]), ok());
        // The connection remembers both shards' processes; shard 1's is killed.
        common::kill_shard(mb, &kv, 1);
        let mut batch = Vec::new();
        for key in [&zero, &one, &one, &zero] {
            kv::resp::encode_command(&mut batch, &["GET", key]);
        }
        c.send_raw(&batch);
        assert_eq!(c.reply(), bulk("z"));
        // Restarted empty (no persistence): the new process is found, and answers.
        assert_eq!(c.reply(), Reply::Null);
        assert_eq!(c.reply(), Reply::Null);
        assert_eq!(c.reply(), bulk("z"));
    });
}

#[test]
fn a_request_split_across_many_writes_waits_for_its_end() {
    with_kv(config(1), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        let mut request = Vec::new();
        let value = "v".repeat(100_000);
        kv::resp::encode_command(&mut request, &["SET", "big", &value]);
        for byte in request.chunks(1).take(40) {
            c.send_raw(byte);
        }
        c.send_raw(&request[40..]);
        assert_eq!(c.reply(), ok());
        assert_eq!(c.cmd("GET big"), bulk(&value));
    });
}

#[test]
fn a_client_that_disconnects_mid_request_leaks_nothing() {
    with_kv(config(2), |mb: &mut otp::Mailbox<()>, kv| {
        let baseline = otp::process::list().len();
        let mut clients = Vec::new();
        for i in 0..5 {
            let mut c = Client::connect(&kv);
            assert_eq!(
                c.cmd("SUBSCRIBE news"),
                Reply::Array(vec![bulk("subscribe"), bulk("news"), int(1),])
            );
            // Half a request: a header and part of a bulk string.
            c.send_raw(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nonly{i}").as_bytes());
            clients.push(c);
        }
        assert_eq!(kv.stats().connected_clients(), 5);
        assert_eq!(kv.pubsub().subscribers(b"news"), 5);
        let mut processes = connection_processes(&kv);
        assert_eq!(processes.len(), 10, "a reader and a session per connection");
        processes.extend(clients.iter().flat_map(Client::pipe_pids));
        drop(clients);
        await_exits(mb, &processes);
        assert_eq!(kv.stats().connected_clients(), 0);
        assert_eq!(kv.pubsub().subscribers(b"news"), 0);
        assert!(kv.connections().children().unwrap().is_empty());
        // The pipes and every connection process are gone.
        let after = otp::process::list().len();
        assert!(
            after <= baseline,
            "{after} processes now, {baseline} before"
        );
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("EXISTS k"), int(0), "the half request never ran");
    });
}

#[test]
fn maxclients_turns_the_extra_client_away() {
    let mut cfg = config(1);
    cfg.maxclients = 2;
    with_kv(cfg, |_: &mut otp::Mailbox<()>, kv| {
        let mut a = Client::connect(&kv);
        let mut b = Client::connect(&kv);
        assert_eq!(a.cmd("PING"), Reply::simple("PONG"));
        assert_eq!(b.cmd("PING"), Reply::simple("PONG"));
        let mut c = Client::connect(&kv);
        assert_eq!(
            c.try_reply(),
            Some(Reply::error("ERR max number of clients reached"))
        );
        c.expect_closed();
        assert_eq!(kv.stats().rejected_connections(), 1);
    });
}
