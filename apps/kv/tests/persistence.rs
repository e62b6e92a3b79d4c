//! The append-only files across whole-server restarts: what comes back, a torn last record,
//! a damaged file, and a changed shard count.

mod common;

use std::{fs::OpenOptions, io::Write};

use common::{bulk, config, int, ok, start, with_kv, Client, TempDir};
use kv::{aof, aof::FsyncPolicy, resp::Reply};
use otp::{ExitReason, Mailbox, Timeout};

fn persistent(dir: &TempDir, shards: usize) -> kv::config::Config {
    let mut cfg = config(shards);
    cfg.aof = Some(dir.0.clone());
    cfg.fsync = FsyncPolicy::Always;
    cfg
}

fn stop(tree: otp::supervisor::Supervisor) {
    tree.stop(ExitReason::Shutdown, Timeout::Infinity)
        .expect("the tree stops");
}

#[test]
fn a_restarted_server_has_everything_back() {
    let dir = TempDir::new("restart");
    let cfg = persistent(&dir, 3);
    with_kv(cfg.clone(), move |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        for line in [
            "SET a 1",
            "SET b 2",
            "INCRBY a 41",
            "MSET m1 x m2 y m3 z",
            "DEL m2",
            "SET ttl v EX 1000",
            "SET kept v",
            "EXPIRE kept 2000",
            "PERSIST kept",
            "SET gone v",
            "EXPIRE gone 0",
            "SET past v PXAT 1",
        ] {
            assert!(
                matches!(c.cmd(line), Reply::Simple(_) | Reply::Integer(_)),
                "{line}"
            );
        }
        drop(c);
        // The test's tree is stopped by `with_kv`; this one runs in the same runtime, on the
        // same files.
        let _ = kv;
    });
    with_kv(cfg, |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("GET a"), bulk("42"));
        assert_eq!(c.cmd("GET b"), bulk("2"));
        assert_eq!(
            c.cmd("MGET m1 m2 m3"),
            Reply::Array(vec![bulk("x"), Reply::Null, bulk("z")])
        );
        assert!(matches!(c.cmd("TTL ttl"), Reply::Integer(990..=1000)));
        assert_eq!(c.cmd("TTL kept"), int(-1));
        assert_eq!(c.cmd("EXISTS gone past"), int(0));
        assert_eq!(c.cmd("DBSIZE"), int(6));
    });
}

#[test]
fn flushall_is_persistent_too() {
    let dir = TempDir::new("flush");
    let cfg = persistent(&dir, 2);
    with_kv(cfg.clone(), |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("MSET a 1 b 2 c 3"), ok());
        assert_eq!(c.cmd("FLUSHALL"), ok());
        assert_eq!(c.cmd("SET d 4"), ok());
    });
    with_kv(cfg, |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("KEYS *"), Reply::Array(vec![bulk("d")]));
    });
}

#[test]
fn a_torn_last_record_is_cut_off_and_the_rest_replays() {
    let dir = TempDir::new("torn");
    let cfg = persistent(&dir, 2);
    let torn_shard = kv::shard::shard_for(b"a", 2);
    with_kv(cfg.clone(), |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("SET a 1"), ok());
        assert_eq!(c.cmd("SET b 2"), ok());
    });
    // A crash in the middle of an append: half a record at the end of the file.
    let path = aof::shard_path(&dir.0, torn_shard);
    let good = std::fs::metadata(&path).unwrap().len();
    let mut half = Vec::new();
    kv::resp::encode_command(&mut half, &["SET", "a", "never-acknowledged"]);
    half.truncate(half.len() - 5);
    OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&half)
        .unwrap();
    with_kv(cfg.clone(), move |_: &mut Mailbox<()>, kv| {
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good, "cut back");
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("GET a"), bulk("1"));
        assert_eq!(c.cmd("GET b"), bulk("2"));
        assert_eq!(c.cmd("SET a 3"), ok());
    });
    with_kv(cfg, |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(
            c.cmd("GET a"),
            bulk("3"),
            "appended after the cut, replayed"
        );
    });
}

#[test]
fn keys_whose_deadline_passed_while_down_are_gone() {
    let dir = TempDir::new("expired");
    let cfg = persistent(&dir, 1);
    with_kv(cfg.clone(), |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("SET live v"), ok());
    });
    // As if `SET old v PX 10` had been written long ago.
    let mut record = Vec::new();
    kv::resp::encode_command(&mut record, &["SET", "old", "v", "PXAT", "1000"]);
    OpenOptions::new()
        .append(true)
        .open(aof::shard_path(&dir.0, 0))
        .unwrap()
        .write_all(&record)
        .unwrap();
    with_kv(cfg, |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("DBSIZE"), int(1), "removed at start, not just hidden");
        assert_eq!(c.cmd("GET old"), Reply::Null);
    });
}

#[test]
fn a_damaged_file_stops_the_start_with_its_name() {
    let dir = TempDir::new("damaged");
    let cfg = persistent(&dir, 1);
    with_kv(cfg.clone(), |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("SET a 1"), ok());
    });
    let path = aof::shard_path(&dir.0, 0);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.splice(0..0, b"garbage\r\n".iter().copied());
    std::fs::write(&path, bytes).unwrap();
    let runtime = otp::Builder::new().schedulers(2).build().unwrap();
    let result = runtime
        .block_on(move || {
            otp::process::trap_exit(true);
            kv::app::Kv::new(cfg).start_link().map(|_| ())
        })
        .unwrap();
    let err = result.expect_err("the tree must not start on a damaged file");
    let text = format!("{err}");
    assert!(
        text.contains("shard-0.aof") && text.contains("bad record at byte 0"),
        "{text}"
    );
}

#[test]
fn another_shard_count_is_refused() {
    let dir = TempDir::new("count");
    with_kv(persistent(&dir, 2), |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        assert_eq!(c.cmd("SET a 1"), ok());
    });
    let runtime = otp::Builder::new().schedulers(2).build().unwrap();
    let cfg = persistent(&dir, 3);
    let result = runtime
        .block_on(move || {
            otp::process::trap_exit(true);
            kv::app::Kv::new(cfg).start_link().map(|_| ())
        })
        .unwrap();
    let text = format!("{}", result.unwrap_err());
    assert!(text.contains("holds data for 2 shards, not 3"), "{text}");
    // And the default shard count follows the directory.
    let kv::config::Action::Run(read) =
        kv::config::parse_args(["--aof".to_owned(), dir.0.display().to_string()]).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(read.shards, 2);
}

#[test]
fn two_servers_one_after_the_other_in_one_runtime() {
    // `start` without `with_kv`: stop the first tree and start the second in one process.
    let dir = TempDir::new("twice");
    let cfg = persistent(&dir, 2);
    let runtime = otp::Builder::new().schedulers(2).build().unwrap();
    runtime
        .block_on(move || {
            otp::process::trap_exit(true);
            let (kv, tree) = start(cfg.clone());
            let mut c = Client::connect(&kv);
            assert_eq!(c.cmd("SET a 1"), ok());
            drop(c);
            stop(tree);
            let (kv, tree) = start(cfg);
            let mut c = Client::connect(&kv);
            assert_eq!(c.cmd("GET a"), bulk("1"));
            drop(c);
            stop(tree);
        })
        .unwrap();
}
