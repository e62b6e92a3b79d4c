//! Append-only persistence, one file per shard: every change is appended as a record, and a
//! shard that starts (or restarts after a crash) replays its file before it takes a request.
//!
//! # Files
//!
//! `--aof DIR` puts `DIR/shard-N.aof` for each shard `N` and `DIR/kv.manifest`, which records
//! the number of shards (keys are placed by `hash(key) % shards`, so the files only make sense
//! with the same count; [`prepare_dir`] refuses another).
//!
//! # Records
//!
//! A record is the RESP encoding of a command, as in redis's AOF, so a file can be read with
//! `less` and replayed by `redis-cli --pipe`. The records describe *states*, not requests:
//! `INCR n` is written as `SET n 42`, `EXPIRE k 10` as `PEXPIREAT k <unix ms>`, a `SET` with a
//! deadline as `SET k v PXAT <unix ms>`, a key that expired as `DEL k` (as redis propagates
//! one). So a replay needs no clock: the shard replays at time zero, when nothing has
//! expired, and then removes the keys whose deadlines have passed. A record never depends on
//! the time it is replayed at.
//!
//! # When a write is acknowledged
//!
//! The shard applies a change, appends its record and [`commit`](Aof::commit)s before it
//! replies. A commit `write`s the records to the file (the kernel has them: a crash of the
//! shard, or of the whole server process, loses nothing acknowledged, under every policy) and,
//! under [`FsyncPolicy::Always`], `fdatasync`s it (the disk has them: a power loss or a kernel
//! crash loses nothing acknowledged either). Under `everysec` the shard syncs once a second
//! from its periodic tick, under `no` it leaves that to the kernel; those lose at most about a
//! second, or what the kernel had not written, on a power loss.
//!
//! Under `always` the shard commits in groups (see `shard`): the requests waiting in its
//! mailbox are applied one after the other, their replies held, and one write and one
//! `fdatasync` cover them all before any of those replies is sent. Redis does the same (one
//! `fsync` per event-loop turn, before the replies of that turn go out).
//!
//! A failed write or sync panics the shard: its supervisor restarts it, the restart replays
//! the file, and the store is again exactly what the file says, without the change whose
//! record may be missing (its caller got an error, not an acknowledgement). That is the OTP
//! way to keep memory and disk from disagreeing.
//!
//! # A torn last record
//!
//! A crash in the middle of an append leaves an incomplete record at the end. Replay stops
//! there, cuts the file back to the last complete record and carries on, as redis does with
//! `aof-load-truncated yes`: that record's write was never acknowledged. A malformed record
//! anywhere else means the file is damaged, and replay fails with the offset.
//!
//! The file is never rewritten (no `BGREWRITEAOF`), so it grows with every change.
//!
//! # Where the I/O runs
//!
//! A shard process never waits for the disk on its scheduler thread:
//!
//! * a commit that syncs (`always`): the `write` and the `fdatasync` run together on otp's
//!   blocking pool ([`FileIo::BlockingPool`], one [`otp::blocking::run`] per group), while
//!   the shard process is suspended and its scheduler runs other processes (the connections
//!   whose requests then form the next group);
//! * the once-a-second `fdatasync` of `everysec`: on the pool too (the final commit and sync
//!   in `terminate` stay on the shard's thread: the runtime may be closing the pool then);
//! * the replay at start: on the pool, the store built there and handed back.
//!
//! A commit that only writes (`everysec`, `no`) stays on the shard's thread: a `write` to a
//! file is a copy into the page cache, a few microseconds, and a trip to the pool costs more
//! than it saves. Measured with `redis-benchmark -t set -c 50 -r 100000` on the 2-core
//! machine of the README's benchmark (SET ops/s, medians of 3 runs of 20 000):
//!
//! | commit | `always` | `everysec` |
//! |---|---|---|
//! | on the shard's thread, per request (before) | 6 800 | 83 000 |
//! | on the pool, per request | 6 300 | 27 500 |
//! | on the pool, grouped (kept for `always`) | 44 000 to 52 000 | 27 000 (no sync to group) |
//! | on the shard's thread, grouped | 29 000 | 83 000 |
//!
//! On this machine a trip to the pool for an empty closure costs 7 µs on an idle runtime (two
//! thread wake-ups), and far more under load (a trip per request cut `everysec` by two
//! thirds); a 40-byte `write` costs 0.3 µs, an `fdatasync` 0.2 to 2 ms. So `always` gains
//! from the pool only with group commit (the scheduler serves other connections while one
//! sync runs, and their writes share the next), and `everysec` writes are fastest where they
//! are. The price of that choice: a `write` can block when the kernel throttles a process
//! that dirties pages faster than the disk takes them, and then the scheduler thread waits.
//! Redis makes the same choice (it writes from its event loop and syncs from a background
//! thread).
//!
//! Each shard's file operations hold a [`FileLock`] that outlives its processes, so a
//! restarted shard never replays a file that a write of its killed predecessor, still
//! running on the pool, is appending to.

use std::{
    fmt,
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    str::FromStr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use crate::resp::{self, Args, Limits, Parser};

/// When appended records are forced to disk (redis's `appendfsync`).
///
/// ```
/// use kv::aof::FsyncPolicy;
///
/// assert_eq!("everysec".parse(), Ok(FsyncPolicy::EverySec));
/// assert_eq!(FsyncPolicy::Always.to_string(), "always");
/// assert!("sometimes".parse::<FsyncPolicy>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Before every acknowledgement of a write.
    Always,
    /// Once a second (redis's default).
    #[default]
    EverySec,
    /// Never explicitly.
    No,
}

impl FromStr for FsyncPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "everysec" => Ok(FsyncPolicy::EverySec),
            "no" => Ok(FsyncPolicy::No),
            _ => Err(format!("expected always, everysec or no, got {s:?}")),
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        })
    }
}

/// Where a file's writes and syncs run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileIo {
    /// On the calling thread (outside processes, in tests and tools).
    #[default]
    Inline,
    /// On otp's blocking pool ([`otp::blocking::run`]): the calling process is suspended,
    /// its scheduler thread runs other processes meanwhile. Only inside a process.
    BlockingPool,
}

impl FileIo {
    /// Runs `f` here or on the pool. A closure that panicked on the pool, or that the pool
    /// cancelled (the runtime is shutting down), is an I/O error: its write may or may not
    /// have happened, which is what the caller of a failed write must assume anyway.
    fn run<T, F>(self, f: F) -> io::Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self {
            FileIo::Inline => Ok(f()),
            FileIo::BlockingPool => otp::blocking::run(f).map_err(io::Error::other),
        }
    }
}

/// Serialises the file operations of a shard's successive processes.
///
/// A write handed to the blocking pool runs to its end even if the shard process that asked
/// for it is killed meanwhile (a thread cannot be interrupted). The shard's restart must not
/// replay (and maybe cut back) the file while that write is still going on: every write, sync
/// and replay of one shard's file holds this lock, which outlives the processes (the
/// application keeps one per shard). It is uncontended but for that case.
#[derive(Debug, Clone, Default)]
pub struct FileLock(Arc<Mutex<()>>);

impl FileLock {
    /// Holds the lock until the guard is dropped. Blocks the thread: call it on the blocking
    /// pool, or where waiting for one write is acceptable.
    pub fn lock(&self) -> MutexGuard<'_, ()> {
        // The mutex guards no data, only the order of file operations.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why the append-only files could not be used.
#[derive(Debug)]
pub enum AofError {
    /// A file could not be read, written or synced.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// A record in the middle of a file is malformed: the file is damaged.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the bad record starts.
        offset: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// The directory was written with another number of shards.
    ShardCount {
        /// The directory.
        dir: PathBuf,
        /// The count the manifest records.
        recorded: usize,
        /// The count asked for.
        requested: usize,
    },
}

impl fmt::Display for AofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AofError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            AofError::Corrupt {
                path,
                offset,
                detail,
            } => write!(
                f,
                "{}: bad record at byte {offset}: {detail} (the file is damaged; kv will not \
                 start on it)",
                path.display()
            ),
            AofError::ShardCount {
                dir,
                recorded,
                requested,
            } => write!(
                f,
                "{} holds data for {recorded} shards, not {requested}: start with --shards \
                 {recorded}",
                dir.display()
            ),
        }
    }
}

impl std::error::Error for AofError {}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> AofError + '_ {
    move |error| AofError::Io {
        path: path.to_owned(),
        error,
    }
}

/// The manifest's name inside the directory.
pub const MANIFEST: &str = "kv.manifest";

/// The file of shard `shard` inside `dir`.
///
/// ```
/// use std::path::Path;
///
/// assert_eq!(kv::aof::shard_path(Path::new("/data"), 3), Path::new("/data/shard-3.aof"));
/// ```
pub fn shard_path(dir: &Path, shard: usize) -> PathBuf {
    dir.join(format!("shard-{shard}.aof"))
}

/// The number of shards the manifest in `dir` records, if there is one.
///
/// # Errors
///
/// The manifest exists but cannot be read or is malformed.
pub fn read_manifest(dir: &Path) -> Result<Option<usize>, AofError> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&path)(e)),
    };
    let shards = text
        .lines()
        .find_map(|line| line.strip_prefix("shards "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| AofError::Corrupt {
            path: path.clone(),
            offset: 0,
            detail: "no `shards N` line".to_owned(),
        })?;
    Ok(Some(shards))
}

/// Creates `dir` if needed and checks (or writes) its manifest for `shards` shards.
///
/// # Errors
///
/// [`AofError::ShardCount`] if the manifest records another count; I/O errors.
pub fn prepare_dir(dir: &Path, shards: usize) -> Result<(), AofError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    match read_manifest(dir)? {
        Some(recorded) if recorded == shards => Ok(()),
        Some(recorded) => Err(AofError::ShardCount {
            dir: dir.to_owned(),
            recorded,
            requested: shards,
        }),
        None => {
            let path = dir.join(MANIFEST);
            let tmp = dir.join(format!("{MANIFEST}.tmp"));
            let text = format!("# kv append-only files\nformat 1\nshards {shards}\n");
            let mut file = File::create(&tmp).map_err(io_error(&tmp))?;
            file.write_all(text.as_bytes()).map_err(io_error(&tmp))?;
            file.sync_all().map_err(io_error(&tmp))?;
            fs::rename(&tmp, &path).map_err(io_error(&path))?;
            sync_dir(dir)
        }
    }
}

/// Makes a directory's entries (a new file, a rename) durable.
fn sync_dir(dir: &Path) -> Result<(), AofError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// What a replay found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayReport {
    /// Complete records read.
    pub records: u64,
    /// Bytes of an incomplete last record that were cut off.
    pub truncated: u64,
    /// The file's size after the replay.
    pub size: u64,
}

/// Reads a shard's file record by record, then hands it over for appending
/// ([`finish`](Replay::finish)).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("kv-aof-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// use kv::aof::{FsyncPolicy, Replay};
///
/// let path = dir.join("shard-0.aof");
/// let mut replay = Replay::open(&path).unwrap();
/// assert_eq!(replay.next_record().unwrap(), None); // a new, empty file
/// let (mut aof, report) = replay.finish(FsyncPolicy::Always).unwrap();
/// assert_eq!(report.records, 0);
/// aof.append(&[&b"SET"[..], b"k", b"v"]);
/// aof.commit().unwrap();
///
/// let mut replay = Replay::open(&path).unwrap();
/// assert_eq!(replay.next_record().unwrap(), Some(vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]));
/// assert_eq!(replay.next_record().unwrap(), None);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct Replay {
    path: PathBuf,
    file: File,
    created: bool,
    buf: Vec<u8>,
    /// The file offset of `buf[0]`.
    base: u64,
    parser: Parser,
    eof: bool,
    records: u64,
}

impl Replay {
    /// Opens (creating it if needed) the file at `path` for replay.
    ///
    /// # Errors
    ///
    /// I/O errors.
    pub fn open(path: &Path) -> Result<Replay, AofError> {
        let created = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io_error(path))?;
        Ok(Replay {
            path: path.to_owned(),
            file,
            created,
            buf: Vec::new(),
            base: 0,
            parser: Parser::new(Limits::unlimited()),
            eof: false,
            records: 0,
        })
    }

    /// The next complete record, or `None` at the end (an incomplete last record is left for
    /// [`finish`](Replay::finish) to cut off).
    ///
    /// # Errors
    ///
    /// [`AofError::Corrupt`] for a malformed record; I/O errors.
    pub fn next_record(&mut self) -> Result<Option<Args>, AofError> {
        loop {
            if !self.buf.is_empty() {
                if self.buf[0] != b'*' {
                    return Err(self.corrupt("a record must be a RESP array".to_owned()));
                }
                match self.parser.parse(&self.buf) {
                    Ok(Some((args, used))) => {
                        self.buf.drain(..used);
                        self.base += used as u64;
                        if args.is_empty() {
                            return Err(self.corrupt("an empty record".to_owned()));
                        }
                        self.records += 1;
                        return Ok(Some(args));
                    }
                    Ok(None) => {}
                    Err(e) => return Err(self.corrupt(e.to_string())),
                }
            }
            if self.eof {
                return Ok(None);
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = self.file.read(&mut chunk).map_err(io_error(&self.path))?;
            if n == 0 {
                self.eof = true;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// A record that [`next_record`](Replay::next_record) returned could not be applied: the
    /// file is damaged at the record just read.
    pub fn reject(&self, detail: String) -> AofError {
        self.corrupt(detail)
    }

    fn corrupt(&self, detail: String) -> AofError {
        AofError::Corrupt {
            path: self.path.clone(),
            offset: self.base,
            detail,
        }
    }

    /// Ends the replay: cuts off an incomplete last record, and returns the file ready for
    /// appending with `policy`.
    ///
    /// # Errors
    ///
    /// I/O errors.
    ///
    /// # Panics
    ///
    /// If called before [`next_record`](Replay::next_record) returned `None`.
    pub fn finish(self, policy: FsyncPolicy) -> Result<(Aof, ReplayReport), AofError> {
        assert!(self.eof, "Replay::finish before the end of the file");
        let truncated = self.buf.len() as u64;
        if truncated > 0 {
            // The torn tail of a record whose append never finished: never acknowledged.
            self.file.set_len(self.base).map_err(io_error(&self.path))?;
            self.file.sync_all().map_err(io_error(&self.path))?;
        }
        if self.created {
            if let Some(dir) = self.path.parent() {
                sync_dir(dir)?;
            }
        }
        let report = ReplayReport {
            records: self.records,
            truncated,
            size: self.base,
        };
        let aof = Aof {
            path: self.path,
            file: Arc::new(self.file),
            policy,
            io: FileIo::Inline,
            lock: FileLock::default(),
            pending: Vec::new(),
            must_sync: false,
            unsynced: false,
            last_sync: Instant::now(),
            size: self.base,
        };
        Ok((aof, report))
    }
}

/// A shard's file, open for appending.
#[derive(Debug)]
pub struct Aof {
    path: PathBuf,
    file: Arc<File>,
    policy: FsyncPolicy,
    io: FileIo,
    lock: FileLock,
    /// Records appended since the last commit.
    pending: Vec<u8>,
    /// Whether `pending` holds a record that must be on disk before its write is
    /// acknowledged (under `always`).
    must_sync: bool,
    /// Whether bytes were written since the last sync.
    unsynced: bool,
    last_sync: Instant,
    size: u64,
}

impl Aof {
    /// Appends a record that acknowledges a write: under `always`, the next
    /// [`commit`](Aof::commit) syncs.
    pub fn append<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        resp::encode_command(&mut self.pending, args);
        self.must_sync = true;
    }

    /// Appends a record that acknowledges nothing (the `DEL` of a key that expired): it is
    /// written with the next commit but never synced on its own, since losing it loses
    /// nothing (the replay removes expired keys anyway).
    pub fn append_unsynced<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        resp::encode_command(&mut self.pending, args);
    }

    /// Runs the writes and syncs through `io` ([`FileIo::Inline`] after
    /// [`Replay::finish`]).
    pub fn with_io(mut self, io: FileIo) -> Aof {
        self.io = io;
        self
    }

    /// Holds `lock` around every write and sync (see [`FileLock`]).
    pub fn with_lock(mut self, lock: FileLock) -> Aof {
        self.lock = lock;
        self
    }

    /// Whether the next [`commit`](Aof::commit) syncs: a pending record acknowledges a write
    /// and the policy is `always`. Until that commit, no reply that depends on those records
    /// may be sent.
    pub fn commit_syncs(&self) -> bool {
        self.policy == FsyncPolicy::Always && self.must_sync && !self.pending.is_empty()
    }

    // ANCHOR: commit
    /// Writes the pending records, and under `always` syncs them if one acknowledges a write:
    /// one `write` (and one `fdatasync`) for everything appended since the last commit. A
    /// commit that syncs runs through the file's [`FileIo`] (one trip to the blocking pool
    /// for the write and the sync); one that only writes runs on the calling thread (see the
    /// [module docs](self)). Returns whether it synced. Call before replying.
    ///
    /// # Errors
    ///
    /// The write or the sync failed; the records may be partly written.
    pub fn commit(&mut self) -> io::Result<bool> {
        if self.pending.is_empty() {
            return Ok(false);
        }
        let sync = self.commit_syncs();
        let io = if sync { self.io } else { FileIo::Inline };
        let bytes = std::mem::take(&mut self.pending);
        let written = bytes.len() as u64;
        let (file, lock) = (self.file.clone(), self.lock.clone());
        let (mut bytes, result) = io.run(move || {
            let _held = lock.lock();
            let result =
                (&*file)
                    .write_all(&bytes)
                    .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
            (bytes, result)
        })?;
        result?;
        // The buffer comes back, to be reused.
        bytes.clear();
        self.pending = bytes;
        self.size += written;
        self.must_sync = false;
        if sync {
            self.unsynced = false;
            self.last_sync = Instant::now();
        } else {
            self.unsynced = true;
        }
        Ok(sync)
    }
    // ANCHOR_END: commit

    /// The periodic duty: under `everysec`, syncs if something was written and a second has
    /// passed since the last sync.
    ///
    /// # Errors
    ///
    /// The sync failed.
    pub fn tick(&mut self, now: Instant) -> io::Result<()> {
        if self.policy == FsyncPolicy::EverySec
            && self.unsynced
            && now.duration_since(self.last_sync) >= Duration::from_secs(1)
        {
            self.sync()?;
        }
        Ok(())
    }

    /// Forces everything written to disk (`fdatasync`).
    ///
    /// # Errors
    ///
    /// The sync failed.
    pub fn sync(&mut self) -> io::Result<()> {
        let (file, lock) = (self.file.clone(), self.lock.clone());
        self.io.run(move || {
            let _held = lock.lock();
            file.sync_data()
        })??;
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The fsync policy.
    pub fn policy(&self) -> FsyncPolicy {
        self.policy
    }

    /// The file's size in bytes (what has been written).
    pub fn size(&self) -> u64 {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!(
                "kv-aof-{name}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn replay_all(path: &Path) -> (Vec<Args>, Aof, ReplayReport) {
        let mut replay = Replay::open(path).unwrap();
        let mut records = Vec::new();
        while let Some(r) = replay.next_record().unwrap() {
            records.push(r);
        }
        let (aof, report) = replay.finish(FsyncPolicy::Always).unwrap();
        (records, aof, report)
    }

    fn rec(words: &[&str]) -> Args {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn records_survive_reopening() {
        let dir = TempDir::new("reopen");
        let path = shard_path(&dir.0, 0);
        let (_, mut aof, _) = replay_all(&path);
        aof.append(&["SET", "a", "1"]);
        aof.append(&["DEL", "b"]);
        aof.commit().unwrap();
        aof.append_unsynced(&["DEL", "c"]);
        aof.commit().unwrap();
        drop(aof);
        let (records, _, report) = replay_all(&path);
        assert_eq!(
            records,
            [
                rec(&["SET", "a", "1"]),
                rec(&["DEL", "b"]),
                rec(&["DEL", "c"])
            ]
        );
        assert_eq!(report.records, 3);
        assert_eq!(report.truncated, 0);
        assert_eq!(report.size, fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn a_torn_last_record_is_cut_off_and_appending_continues_after_it() {
        let dir = TempDir::new("torn");
        let path = shard_path(&dir.0, 0);
        let (_, mut aof, _) = replay_all(&path);
        aof.append(&["SET", "a", "1"]);
        aof.commit().unwrap();
        let good = aof.size();
        drop(aof);
        // Every proper prefix of a record, as a crash mid-append could leave.
        let mut record = Vec::new();
        resp::encode_command(&mut record, &["SET", "b", "22"]);
        for cut in 1..record.len() {
            let mut file = OpenOptions::new().append(true).open(&path).unwrap();
            file.write_all(&record[..cut]).unwrap();
            drop(file);
            let (records, mut aof, report) = replay_all(&path);
            assert_eq!(records, [rec(&["SET", "a", "1"])], "cut at {cut}");
            assert_eq!(report.truncated, cut as u64);
            assert_eq!(fs::metadata(&path).unwrap().len(), good);
            aof.append(&["SET", "c", "3"]);
            aof.commit().unwrap();
            drop(aof);
            let (records, _, _) = replay_all(&path);
            assert_eq!(records, [rec(&["SET", "a", "1"]), rec(&["SET", "c", "3"])]);
            // Back to one record for the next cut.
            OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(good)
                .unwrap();
        }
    }

    #[test]
    fn damage_in_the_middle_is_an_error_with_the_offset() {
        let dir = TempDir::new("damage");
        let path = shard_path(&dir.0, 0);
        let mut bytes = Vec::new();
        resp::encode_command(&mut bytes, &["SET", "a", "1"]);
        let offset = bytes.len();
        bytes.extend_from_slice(b"garbage\r\n");
        resp::encode_command(&mut bytes, &["SET", "b", "2"]);
        fs::write(&path, &bytes).unwrap();
        let mut replay = Replay::open(&path).unwrap();
        assert!(replay.next_record().unwrap().is_some());
        match replay.next_record() {
            Err(AofError::Corrupt { offset: at, .. }) => assert_eq!(at, offset as u64),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_manifest_pins_the_shard_count() {
        let dir = TempDir::new("manifest");
        let data = dir.0.join("data");
        assert_eq!(read_manifest(&data).unwrap(), None);
        prepare_dir(&data, 4).unwrap();
        assert_eq!(read_manifest(&data).unwrap(), Some(4));
        prepare_dir(&data, 4).unwrap();
        let err = prepare_dir(&data, 8).unwrap_err();
        assert!(matches!(
            err,
            AofError::ShardCount {
                recorded: 4,
                requested: 8,
                ..
            }
        ));
        assert!(err.to_string().contains("start with --shards 4"), "{err}");
    }

    #[test]
    fn everysec_syncs_on_the_tick_after_a_second() {
        let dir = TempDir::new("everysec");
        let path = shard_path(&dir.0, 0);
        let replay = {
            let mut r = Replay::open(&path).unwrap();
            assert!(r.next_record().unwrap().is_none());
            r
        };
        let (mut aof, _) = replay.finish(FsyncPolicy::EverySec).unwrap();
        aof.append(&["SET", "a", "1"]);
        aof.commit().unwrap();
        assert!(aof.unsynced);
        let start = aof.last_sync;
        aof.tick(start + Duration::from_millis(999)).unwrap();
        assert!(aof.unsynced, "not yet a second");
        aof.tick(start + Duration::from_secs(1)).unwrap();
        assert!(!aof.unsynced);
    }
}
