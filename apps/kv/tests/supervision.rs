//! Crashes under load: a shard killed (untrappably, as a bug would kill it) while clients
//! write is restarted by its supervisor, replays its file, and has every write it
//! acknowledged; the other shards never notice.

mod common;

use common::{bulk, config, error, info_field, int, kill_shard, ok, with_kv, Client, TempDir};
use kv::{aof::FsyncPolicy, resp::Reply};
use otp::Mailbox;

const WRITERS: usize = 4;

/// Writes acknowledged with `+OK`: key and value.
type Acked = Vec<(String, String)>;
/// Writes answered otherwise: key and reply.
type Refused = Vec<(String, Reply)>;

enum Progress {
    /// A writer has had some writes acknowledged.
    Started,
    /// A writer is done: the writes acknowledged with `+OK`, and the others with their reply.
    Done { acked: Acked, refused: Refused },
}

/// Writers `SET w:k i` over their own connections, without pause, until told to stop. Once
/// each has had 50 writes acknowledged, the victim shard is killed; the writers are stopped
/// only after its supervisor has restarted it, so the kill and the restart happen while they
/// write. Returns what they reported.
fn write_while_killing(
    mb: &mut Mailbox<Progress>,
    kv: &kv::app::Kv,
    victim: usize,
) -> (Acked, Refused) {
    let writers: Vec<otp::Pid<()>> = (0..WRITERS)
        .map(|w| {
            let kv = kv.clone();
            let me = mb.pid();
            otp::spawn(move |mut stop: Mailbox<()>| {
                let mut c = Client::connect(&kv);
                let (mut acked, mut refused) = (Vec::new(), Vec::new());
                for i in 0.. {
                    if stop.try_receive().is_some() {
                        break;
                    }
                    let (key, value) = (format!("w{w}:k{i}"), format!("value-{w}-{i}"));
                    match c.call(&["SET", &key, &value]) {
                        Reply::Simple(s) if s == "OK" => acked.push((key, value)),
                        other => refused.push((key, other)),
                    }
                    if i == 50 {
                        me.send(Progress::Started);
                    }
                }
                me.send(Progress::Done { acked, refused });
            })
        })
        .collect();
    for _ in 0..WRITERS {
        mb.receive_if(|m| matches!(m, Progress::Started));
    }
    kill_shard(mb, kv, victim);
    for writer in &writers {
        writer.send(());
    }
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    for _ in 0..WRITERS {
        if let Progress::Done {
            acked: a,
            refused: r,
        } = mb.receive()
        {
            acked.extend(a);
            refused.extend(r);
        }
    }
    (acked, refused)
}

fn no_acknowledged_write_is_lost(fsync: FsyncPolicy) {
    let dir = TempDir::new("kill");
    let mut cfg = config(4);
    cfg.aof = Some(dir.0.clone());
    cfg.fsync = fsync;
    with_kv(cfg, move |mb: &mut Mailbox<Progress>, kv| {
        let victim = 1;
        let before: Vec<_> = (0..4).map(|i| kv.shard(i).pid().unwrap()).collect();
        let (acked, refused) = write_while_killing(mb, &kv, victim);
        assert!(acked.len() > WRITERS * 50);
        eprintln!(
            "{} writes acknowledged, {} refused around the kill",
            acked.len(),
            refused.len()
        );

        // Every acknowledged write is there, after the restart's replay.
        let mut c = Client::connect(&kv);
        for (key, value) in &acked {
            assert_eq!(c.call(&["GET", key]), bulk(value), "{key} was acknowledged");
        }
        // Only the victim's keys were refused, each with an error that says why.
        for (key, reply) in &refused {
            assert_eq!(kv.shard_of(key.as_bytes()), victim, "{key}: {reply:?}");
            let Reply::Error(text) = reply else {
                panic!("{key}: {reply:?}")
            };
            assert!(
                String::from_utf8_lossy(text).starts_with("ERR shard 1 "),
                "{key}: {reply:?}"
            );
        }
        // The victim acknowledged writes before the kill (every writer had 50 done first).
        assert!(acked
            .iter()
            .any(|(k, _)| kv.shard_of(k.as_bytes()) == victim));
        // The other shards were not touched: same processes, no restarts.
        for i in (0..4).filter(|&i| i != victim) {
            assert_eq!(kv.shard(i).pid().unwrap(), before[i], "shard {i}");
            assert_eq!(kv.shard_stats(i).restarts(), 0, "shard {i}");
        }
        assert_eq!(kv.shard_stats(victim).restarts(), 1);
        assert_eq!(info_field(&c.cmd("INFO processes"), "shard_restarts"), "1");
        // And the restarted shard serves, persistently.
        let key = (0..)
            .map(|i| format!("after{i}"))
            .find(|k| kv.shard_of(k.as_bytes()) == victim)
            .unwrap();
        assert_eq!(c.call(&["SET", &key, "x"]), ok());
        assert_eq!(c.call(&["GET", &key]), bulk("x"));
    });
}

#[test]
fn killing_a_shard_mid_load_with_fsync_always_loses_no_acknowledged_write() {
    no_acknowledged_write_is_lost(FsyncPolicy::Always);
}

#[test]
fn a_crash_of_the_process_loses_nothing_acknowledged_under_everysec_either() {
    // Records are written to the file before the reply under every policy; the policy only
    // decides when they are forced to disk (which matters for a power loss, not a crash).
    no_acknowledged_write_is_lost(FsyncPolicy::EverySec);
}

// ANCHOR: killed_shard
#[test]
fn without_persistence_a_killed_shard_comes_back_empty_and_the_others_keep_theirs() {
    with_kv(config(2), |mb: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        let keys: Vec<String> = (0..20).map(|i| format!("key{i}")).collect();
        for k in &keys {
            assert_eq!(c.call(&["SET", k, "v"]), ok());
        }
        kill_shard(mb, &kv, 0);
        for k in &keys {
            let expected = if kv.shard_of(k.as_bytes()) == 0 {
                Reply::Null
            } else {
                bulk("v")
            };
            assert_eq!(c.call(&["GET", k]), expected, "{k}");
        }
    });
}
// ANCHOR_END: killed_shard

#[test]
fn debug_killshard_kills_and_waits_for_the_restart() {
    let dir = TempDir::new("debug");
    let mut cfg = config(3);
    cfg.aof = Some(dir.0.clone());
    cfg.fsync = FsyncPolicy::Always;
    with_kv(cfg, |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        let key = "some-key";
        let shard = kv.shard_of(key.as_bytes());
        assert_eq!(c.call(&["DEBUG", "SHARDOF", key]), int(shard as i64));
        assert_eq!(c.call(&["SET", key, "kept"]), ok());
        let old = kv.shard(shard).pid().unwrap();
        let Reply::Simple(report) = c.call(&["DEBUG", "KILLSHARD", &shard.to_string()]) else {
            panic!("a status reply")
        };
        let new = kv.shard(shard).pid().unwrap();
        assert_ne!(old, new);
        assert_eq!(
            report,
            format!("OK shard {shard} {old} exited :killed; restarted as {new}")
        );
        // Answered after the restart: the very next command is served by the new shard.
        assert_eq!(c.call(&["GET", key]), bulk("kept"));
        assert_eq!(
            c.cmd("DEBUG KILLSHARD 3"),
            error("ERR no shard 3: shards are 0 to 2")
        );
        assert_eq!(
            c.cmd("DEBUG NOPE"),
            error("ERR unknown subcommand 'NOPE'. Try DEBUG HELP.")
        );
    });
}

#[test]
fn debug_is_refused_unless_enabled() {
    let mut cfg = config(1);
    cfg.debug_command = false;
    with_kv(cfg, |_: &mut Mailbox<()>, kv| {
        let mut c = Client::connect(&kv);
        let Reply::Error(text) = c.cmd("DEBUG KILLSHARD 0") else {
            panic!()
        };
        assert!(String::from_utf8_lossy(&text).starts_with("ERR DEBUG command not allowed"));
        assert_eq!(kv.shard_stats(0).restarts(), 0);
    });
}
