//! `DEBUG KILLSHARD n`: fault injection, so that a test driving the server from outside (a
//! shell script with `redis-cli`) can crash a shard the way a bug would, and check what the
//! supervision tree promises.
//!
//! The shard is killed with an untrappable exit signal (`Process.exit(pid, :kill)`), exactly
//! what the in-process tests do with `otp::process::exit(pid, ExitReason::Kill)`. The command
//! answers only once the shard's supervisor has restarted it, so a script can go on at once:
//!
//! 1. A helper process monitors the shard, then kills it, and waits for the `DOWN`.
//! 2. A dying process sends the exit signal to its links (the supervisor) before the `DOWN`
//!    to its monitors, so when the helper has the `DOWN`, the supervisor's `EXIT` is already
//!    in its mailbox.
//! 3. A call to the supervisor made after that queues behind the `EXIT`; the supervisor
//!    restarts the child (which replays its file in `init`) before it answers. When the call
//!    returns, the new shard is serving.
//!
//! The command is refused unless the server was started with `--enable-debug-command yes`
//! (redis has the same switch for its own `DEBUG`).

use std::fmt;

use otp::{
    gen_server::{self, CallResult, CastResult, From, GenServer, Info},
    process, AnyPid, ExitReason, Ref, Timeout,
};

use crate::app::Kv;

/// What `DEBUG KILLSHARD` did.
#[derive(Debug, Clone, PartialEq)]
pub struct KillReport {
    /// The shard.
    pub shard: usize,
    /// The process that was killed.
    pub killed: AnyPid,
    /// Its exit reason, as its monitor saw it (`killed`).
    pub reason: ExitReason,
    /// The process that runs the shard now.
    pub restarted: Option<AnyPid>,
}

impl fmt::Display for KillReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OK shard {} {} exited {}; ",
            self.shard, self.killed, self.reason
        )?;
        match &self.restarted {
            Some(pid) => write!(f, "restarted as {pid}"),
            None => f.write_str("not restarted"),
        }
    }
}

/// Kills shard `index` and waits until its supervisor has restarted it (see the
/// [module docs](self)).
///
/// # Errors
///
/// The shard is not running (it is being restarted), or the supervisor could not be reached.
pub fn kill_shard(kv: &Kv, index: usize) -> Result<KillReport, String> {
    let killed = kv
        .shard(index)
        .pid()
        .ok_or_else(|| format!("shard {index} is not running (it is being restarted)"))?;
    let helper = gen_server::start(Killer::default()).map_err(|e| e.to_string())?;
    let reason = helper
        .call_timeout(killed.clone(), Timeout::Infinity)
        .map_err(|e| e.to_string())?;
    kv.shards_supervisor()
        .count_children()
        .map_err(|e| format!("the shards' supervisor: {e}"))?;
    Ok(KillReport {
        shard: index,
        killed,
        reason,
        restarted: kv.shard(index).pid(),
    })
}

/// The helper of [`kill_shard`]: kills the pid it is called with, and answers with its exit
/// reason once the `DOWN` is in.
#[derive(Debug, Default)]
struct Killer {
    waiting: Option<(Ref, From<ExitReason>)>,
}

impl GenServer for Killer {
    type Call = AnyPid;
    type Reply = ExitReason;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn handle_call(&mut self, target: AnyPid, from: From<ExitReason>) -> CallResult<ExitReason> {
        let reference = process::monitor(&target);
        process::exit(&target, ExitReason::Kill);
        self.waiting = Some((reference, from));
        CallResult::noreply()
    }

    fn handle_info(&mut self, info: Info<()>) -> CastResult {
        if let Info::Down {
            reference, reason, ..
        } = info
        {
            if let Some((expected, from)) = self.waiting.take() {
                if expected == reference {
                    from.reply(reason);
                    return CastResult::Stop(ExitReason::Normal);
                }
                self.waiting = Some((expected, from));
            }
        }
        CastResult::noreply()
    }
}
