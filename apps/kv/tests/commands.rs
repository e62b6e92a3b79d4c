//! Commands over an in-memory connection, through the real supervision tree: replies and
//! errors as redis-server 7.0 gives them.

mod common;

use common::{bulk, bulks, config, error, info_field, int, ok, sorted, with_kv, Client};
use kv::resp::Reply;

#[test]
fn strings_counters_and_multi_key_commands_across_shards() {
    with_kv(config(4), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("PING"), Reply::simple("PONG"));
        assert_eq!(c.cmd("ping hello"), bulk("hello"));
        assert_eq!(c.cmd("ECHO hi"), bulk("hi"));
        assert_eq!(c.cmd("SET a 1"), ok());
        assert_eq!(c.cmd("get a"), bulk("1"));
        assert_eq!(c.cmd("GET missing"), Reply::Null);
        assert_eq!(c.cmd("INCR a"), int(2));
        assert_eq!(c.cmd("INCRBY a 10"), int(12));
        assert_eq!(c.cmd("DECR a"), int(11));
        assert_eq!(c.cmd("DECRBY a 20"), int(-9));
        assert_eq!(c.cmd("INCR fresh"), int(1));

        // Keys spread over the shards: the multi-key commands fan out and merge.
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let mut mset = vec!["MSET".to_owned()];
        for k in &keys {
            mset.push(k.clone());
            mset.push(format!("v-{k}"));
        }
        assert_eq!(c.call(&mset), ok());
        let shards_used: std::collections::BTreeSet<usize> =
            keys.iter().map(|k| kv.shard_of(k.as_bytes())).collect();
        assert_eq!(shards_used.len(), 4, "the keys cover every shard");
        let mut mget = vec!["MGET".to_owned()];
        mget.extend(keys.iter().cloned());
        mget.insert(3, "nope".to_owned());
        let Reply::Array(values) = c.call(&mget) else {
            panic!("an array")
        };
        assert_eq!(values.len(), 41);
        assert_eq!(values[2], Reply::Null, "the missing key keeps its place");
        assert_eq!(values[0], bulk("v-k0"));
        assert_eq!(values[40], bulk("v-k39"));
        assert_eq!(c.cmd("EXISTS k1 k1 k2 nope"), int(3));
        assert_eq!(c.cmd("DBSIZE"), int(42));
        assert_eq!(c.cmd("DEL k1 k2 k2 nope"), int(2));
        assert_eq!(c.cmd("EXISTS k1 k2"), int(0));
        assert_eq!(
            sorted(c.cmd("KEYS k1*")),
            ["k10", "k11", "k12", "k13", "k14", "k15", "k16", "k17", "k18", "k19"]
        );
        assert_eq!(sorted(c.cmd("KEYS *")).len(), 40);
        assert_eq!(c.cmd("FLUSHALL"), ok());
        assert_eq!(c.cmd("DBSIZE"), int(0));
        assert_eq!(c.cmd("KEYS *"), Reply::Array(vec![]));
    });
}

#[test]
fn set_options_and_ttls() {
    with_kv(config(2), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("SET k v EX 100"), ok());
        let ttl = c.cmd("TTL k");
        assert!(ttl == int(100) || ttl == int(99), "{ttl:?}");
        let Reply::Integer(pttl) = c.cmd("PTTL k") else {
            panic!()
        };
        assert!((99_000..=100_000).contains(&pttl), "{pttl}");
        // KEEPTTL keeps it, a plain SET clears it.
        assert_eq!(c.cmd("SET k v2 KEEPTTL"), ok());
        assert!(matches!(c.cmd("TTL k"), Reply::Integer(99 | 100)));
        assert_eq!(c.cmd("SET k v3"), ok());
        assert_eq!(c.cmd("TTL k"), int(-1));
        assert_eq!(c.cmd("TTL missing"), int(-2));
        assert_eq!(c.cmd("PTTL missing"), int(-2));
        // NX / XX / GET.
        assert_eq!(c.cmd("SET k other NX"), Reply::Null);
        assert_eq!(c.cmd("SET new 1 XX"), Reply::Null);
        assert_eq!(c.cmd("SET new 1 NX"), ok());
        assert_eq!(c.cmd("SET new 2 GET"), bulk("1"));
        assert_eq!(c.cmd("SET new 3 NX GET"), bulk("2"));
        assert_eq!(c.cmd("GET new"), bulk("2"));
        // A deadline already past: the key is gone at once.
        assert_eq!(c.cmd("SET gone v PXAT 1"), ok());
        assert_eq!(c.cmd("GET gone"), Reply::Null);
        assert_eq!(c.cmd("EXISTS gone"), int(0));
        // EXPIRE and its conditions.
        assert_eq!(c.cmd("EXPIRE k 100 XX"), int(0));
        assert_eq!(c.cmd("EXPIRE k 100 GT"), int(0));
        assert_eq!(c.cmd("EXPIRE k 100 NX"), int(1));
        assert_eq!(c.cmd("EXPIRE k 50 GT"), int(0));
        assert_eq!(c.cmd("EXPIRE k 50 LT"), int(1));
        assert!(matches!(c.cmd("TTL k"), Reply::Integer(49 | 50)));
        assert_eq!(c.cmd("PEXPIRE k 1500"), int(1));
        assert!(matches!(c.cmd("TTL k"), Reply::Integer(1 | 2)));
        assert_eq!(c.cmd("PERSIST k"), int(1));
        assert_eq!(c.cmd("PERSIST k"), int(0));
        assert_eq!(c.cmd("TTL k"), int(-1));
        assert_eq!(c.cmd("EXPIRE missing 10"), int(0));
        // A non-positive time deletes the key, as does a past EXPIREAT.
        assert_eq!(c.cmd("EXPIRE k 0"), int(1));
        assert_eq!(c.cmd("EXISTS k"), int(0));
        assert_eq!(c.cmd("SET k v"), ok());
        assert_eq!(c.cmd("EXPIRE k -5"), int(1));
        assert_eq!(c.cmd("EXISTS k"), int(0));
        assert_eq!(c.cmd("SET k v"), ok());
        assert_eq!(c.cmd("EXPIREAT k 1"), int(1));
        assert_eq!(c.cmd("GET k"), Reply::Null);
        // INCR keeps a deadline.
        assert_eq!(c.cmd("SET n 5 EX 100"), ok());
        assert_eq!(c.cmd("INCR n"), int(6));
        assert!(matches!(c.cmd("TTL n"), Reply::Integer(99 | 100)));
    });
}

#[test]
fn errors_in_redis_words() {
    with_kv(config(2), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        let cases: &[(&str, &str)] = &[
            (
                "FOO bar baz",
                "ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' ",
            ),
            ("GET", "ERR wrong number of arguments for 'get' command"),
            ("get a b", "ERR wrong number of arguments for 'get' command"),
            ("SET k", "ERR wrong number of arguments for 'set' command"),
            (
                "MSET a 1 b",
                "ERR wrong number of arguments for 'mset' command",
            ),
            (
                "PING a b",
                "ERR wrong number of arguments for 'ping' command",
            ),
            ("SET k v NX XX", "ERR syntax error"),
            ("SET k v EX 10 PX 5", "ERR syntax error"),
            ("SET k v EX 0", "ERR invalid expire time in 'set' command"),
            (
                "SET k v EX x",
                "ERR value is not an integer or out of range",
            ),
            (
                "INCRBY k 1.5",
                "ERR value is not an integer or out of range",
            ),
            (
                "EXPIRE k 10 NX XX",
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                "EXPIRE k 10 GT LT",
                "ERR GT and LT options at the same time are not compatible",
            ),
            ("EXPIRE k 10 SOON", "ERR Unsupported option SOON"),
            ("SELECT 3", "ERR DB index is out of range"),
            (
                "CONFIG SETX a",
                "ERR unknown subcommand 'SETX'. Try CONFIG HELP.",
            ),
            (
                "DECRBY k -9223372036854775808",
                "ERR decrement would overflow",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(c.cmd(line), error(expected), "{line}");
        }
        assert_eq!(c.cmd("SET s abc"), ok());
        assert_eq!(
            c.cmd("INCR s"),
            error("ERR value is not an integer or out of range")
        );
        assert_eq!(c.cmd("SET big 9223372036854775807"), ok());
        assert_eq!(
            c.cmd("INCR big"),
            error("ERR increment or decrement would overflow")
        );
        assert_eq!(c.cmd("GET big"), bulk("9223372036854775807"), "unchanged");
        // After all of that, the connection still works.
        assert_eq!(c.cmd("PING"), Reply::simple("PONG"));
    });
}

#[test]
fn what_redis_cli_and_redis_benchmark_ask_at_startup() {
    with_kv(config(2), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        // redis-benchmark: CONFIG GET save, CONFIG GET appendonly (it warns without them).
        assert_eq!(c.cmd("CONFIG GET save"), bulks(&["save", ""]));
        assert_eq!(c.cmd("CONFIG GET appendonly"), bulks(&["appendonly", "no"]));
        assert_eq!(c.cmd("CONFIG GET nosuch"), Reply::Array(vec![]));
        // redis-cli (interactive): COMMAND DOCS, for its hints.
        assert_eq!(c.cmd("COMMAND DOCS"), Reply::Array(vec![]));
        let Reply::Integer(count) = c.cmd("COMMAND COUNT") else {
            panic!()
        };
        assert_eq!(count as usize, kv::command::COMMANDS.len());
        let Reply::Array(info) = c.cmd("COMMAND INFO get nosuch") else {
            panic!()
        };
        assert_eq!(info[1], Reply::Null);
        let Reply::Array(get) = &info[0] else {
            panic!()
        };
        assert_eq!(get[0], bulk("get"));
        assert_eq!(get[1], int(2));
        assert_eq!(get.len(), 10);
        assert_eq!(c.cmd("SELECT 0"), ok());
        let Reply::Array(hello) = c.cmd("HELLO 2") else {
            panic!()
        };
        assert_eq!(hello[0], bulk("server"));
        assert_eq!(
            c.cmd("HELLO 3"),
            error("NOPROTO unsupported protocol version")
        );
    });
}

#[test]
fn info_reports_processes_clients_and_keys() {
    with_kv(config(3), |_: &mut otp::Mailbox<()>, kv| {
        let mut a = Client::connect(&kv);
        let mut b = Client::connect(&kv);
        assert_eq!(a.cmd("MSET x 1 y 2 z 3"), ok());
        assert_eq!(a.cmd("SET t v EX 1000"), ok());
        assert_eq!(b.cmd("PING"), Reply::simple("PONG"));
        let info = a.cmd("INFO");
        assert_eq!(info_field(&info, "connected_clients"), "2");
        assert_eq!(info_field(&info, "shards"), "3");
        assert_eq!(info_field(&info, "shard_restarts"), "0");
        assert_eq!(info_field(&info, "db0"), "keys=4,expires=1,avg_ttl=0");
        let processes: usize = info_field(&info, "process_count").parse().unwrap();
        // At least: 3 shards, 2 connections of one process each (neither subscribed), their 4
        // pipes, and the supervisors.
        assert!(processes >= 10, "{processes}");
        assert!(info_field(&info, "shard_0").starts_with("pid=<"));
        // One section, case-insensitively; an unknown one is empty.
        let Reply::Bulk(clients) = a.cmd("INFO CLIENTS") else {
            panic!()
        };
        let clients = String::from_utf8(clients).unwrap();
        assert!(clients.starts_with("# Clients\r\n"), "{clients}");
        assert!(!clients.contains("# Server"));
        assert_eq!(a.cmd("INFO nosuch"), bulk(""));
    });
}

#[test]
fn quit_answers_ok_then_closes() {
    with_kv(config(1), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        c.send(&["SET", "k", "v"]);
        c.send(&["QUIT"]);
        c.send(&["SET", "k", "never"]);
        assert_eq!(c.reply(), ok());
        assert_eq!(c.reply(), ok());
        c.expect_closed();
        let mut d = Client::connect(&kv);
        assert_eq!(d.cmd("GET k"), bulk("v"), "nothing after QUIT ran");
    });
}

#[test]
fn binary_keys_and_values() {
    with_kv(config(4), |_: &mut otp::Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        let key: &[u8] = b"k\r\n\0\xff";
        let value: &[u8] = b"\0\x01\r\n$-1\r\n";
        assert_eq!(c.call(&[&b"SET"[..], key, value]), ok());
        assert_eq!(c.call(&[&b"GET"[..], key]), Reply::bulk(value));
        assert_eq!(
            c.call(&[&b"KEYS"[..], b"k\r\n?\xff"]),
            Reply::Array(vec![Reply::bulk(key)])
        );
    });
}
