//! A worker pool by hand (tutorial block 20, `WorkerPool`, `PoolClient`, `PoolDemo`): a pool
//! process hands jobs to a fixed set of worker processes, queues the jobs that find no free
//! worker, and sends each result back to whoever submitted the job, tagged with a reference.
//!
//! ```elixir
//! {:submit, job, caller, ref} ->
//!   case available_workers do
//!     [worker | rest] -> send(worker, {:job, job, self(), ref}); ...
//!     [] -> pool_loop([], :queue.in({job, caller, ref}, job_queue), pending_jobs)
//!   end
//! ```
//!
//! `spawn(WorkerPool, :start_pool, [3])` is [`otp::spawn_apply`]`(start_pool, (3, starter))`;
//! `make_ref()` is [`otp::make_ref`]; `:queue` is a `VecDeque`. Every `receive` is an
//! [`otp::receive!`]: the caller's wait for one result among several pins the reference in a
//! guard (`{:result, ^ref, result}`), with an `after`, so results that arrive early wait their
//! turn in the mailbox. Jobs are an enum, so the tutorial's `{:error, {:unknown_job, _}}`
//! clause cannot happen.
//!
//! What the BEAM shows: all six jobs complete with the right results, collected in submission
//! order; the interleaving of the lines and the status differ from run to run, because the
//! tutorial sleeps `:rand.uniform(500)` ms per job and takes the status after a fixed 100 ms
//! (`Queued jobs: 1` in the recorded run, 3 in another). Here the job times are fixed stand-ins
//! (tens of ms) and the status is a request with a reply, sent right after the submissions,
//! so every run prints the same lines, with the status the tutorial shows (`Queued jobs: 3`).
//! The tutorial's other sleeps ("let workers start", "let it print") are replaced by waiting
//! for the pool's word that it has started, and for the pool's exit, after it has waited for
//! its workers' exits.
//!
//! One more difference in the order of lines: the workers have not run yet when the first jobs
//! reach them, and unstarted processes start newest first here, so worker 3 usually prints
//! first (a race with the other schedulers, as every order between processes is).
//!
//! The last part runs the same jobs the OTP way: [`task::async_stream`] with
//! `max_concurrency(3)` is a bounded pool of processes, results in order, in one expression.
//!
//! Run with `cargo run --release --example worker_pool`.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    time::Duration,
};

use otp::{process, task, Mailbox, Pid, Ref};

/// A job, printed as the tutorial's tuples: `{:double, 5}`.
#[derive(Clone, Copy)]
enum Job {
    Double(i64),
    Square(i64),
    SlowAdd(i64, i64),
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Job::Double(n) => write!(f, "{{:double, {n}}}"),
            Job::Square(n) => write!(f, "{{:square, {n}}}"),
            Job::SlowAdd(a, b) => write!(f, "{{:slow_add, {a}, {b}}}"),
        }
    }
}

/// `{:ok, value}`.
struct Ok(i64);

impl fmt::Display for Ok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{:ok, {}}}", self.0)
    }
}

/// How long a job takes. The tutorial sleeps `:rand.uniform(500)` ms (1000 for `slow_add`);
/// these are fixed stand-ins, tens of milliseconds apart, so every run interleaves the same.
fn work_time(job: Job) -> Duration {
    Duration::from_millis(match job {
        Job::SlowAdd(..) => 100,
        Job::Double(n) | Job::Square(n) => 10 + (n.unsigned_abs() * 37) % 50,
    })
}

/// `WorkerPool.process_job/1`.
fn process_job(job: Job) -> Ok {
    otp::sleep(work_time(job));
    Ok(match job {
        Job::Double(n) => n * 2,
        Job::Square(n) => n * n,
        Job::SlowAdd(a, b) => a + b,
    })
}

/// What the pool is sent.
enum PoolMsg {
    Submit(Job, Pid<ClientMsg>, Ref),
    Done(Pid<WorkerMsg>, Ref, Ok),
    Status(Pid<ClientMsg>),
    Stop,
}

/// What a worker is sent.
enum WorkerMsg {
    Job(Job, Pid<PoolMsg>, Ref),
    Stop,
}

/// What a client is sent.
enum ClientMsg {
    Started,
    Result(Ref, Ok),
    Status(PoolStatus),
}

struct PoolStatus {
    available: usize,
    queued: usize,
    pending: usize,
}

/// `WorkerPool.worker_loop/1`.
fn worker_loop(mut mb: Mailbox<WorkerMsg>, id: usize) {
    loop {
        otp::receive! { mb,
            WorkerMsg::Job(job, pool, reference) => {
                println!("Worker {id} processing: {job}");
                let result = process_job(job);
                println!("Worker {id} completed: {result}");
                pool.send(PoolMsg::Done(mb.pid(), reference, result));
            }
            WorkerMsg::Stop => {
                println!("Worker {id} stopping");
                return;
            }
        }
    }
}

/// The pool manager's state.
struct Pool {
    available: VecDeque<Pid<WorkerMsg>>,
    queue: VecDeque<(Job, Pid<ClientMsg>, Ref)>,
    pending: HashMap<Ref, Pid<ClientMsg>>,
}

/// `WorkerPool.start_pool/1` and `pool_loop/3`.
fn start_pool(mut mb: Mailbox<PoolMsg>, num_workers: usize, starter: Pid<ClientMsg>) {
    println!("Starting pool with {num_workers} workers...");
    let workers: Vec<_> = (1..=num_workers)
        .map(|i| otp::spawn_link(move |mb| worker_loop(mb, i)))
        .collect();
    println!("Workers started: {workers:?}");
    starter.send(ClientMsg::Started);

    let me = mb.pid();
    let mut pool = Pool {
        available: workers.into(),
        queue: VecDeque::new(),
        pending: HashMap::new(),
    };
    loop {
        otp::receive! { mb,
            // New job submission.
            PoolMsg::Submit(job, caller, reference) => {
                println!("Pool received job: {job}");
                match pool.available.pop_front() {
                    // Worker available: dispatch at once.
                    Some(worker) => {
                        worker.send(WorkerMsg::Job(job, me.clone(), reference));
                        pool.pending.insert(reference, caller);
                    }
                    // No worker available: queue the job.
                    None => pool.queue.push_back((job, caller, reference)),
                }
            }
            // A worker completed a job: send the result back to the original caller.
            PoolMsg::Done(worker, reference, result) => {
                match pool.pending.remove(&reference) {
                    None => println!("Warning: Unknown job ref {reference:?}"),
                    Some(caller) => caller.send(ClientMsg::Result(reference, result)),
                }
                // Hand the now-free worker a queued job, or make it available.
                match pool.queue.pop_front() {
                    Some((job, caller, reference)) => {
                        worker.send(WorkerMsg::Job(job, me.clone(), reference));
                        pool.pending.insert(reference, caller);
                    }
                    None => pool.available.push_front(worker),
                }
            }
            PoolMsg::Status(caller) => caller.send(ClientMsg::Status(PoolStatus {
                available: pool.available.len(),
                queued: pool.queue.len(),
                pending: pool.pending.len(),
            })),
            PoolMsg::Stop => {
                println!("Pool shutting down...");
                // Stop the workers and wait until they have stopped.
                let watches: Vec<Ref> = pool.available.iter().map(process::monitor).collect();
                for worker in &pool.available {
                    worker.send(WorkerMsg::Stop);
                }
                for watch in watches {
                    otp::receive! { mb, DOWN(r, _, _) if r == watch => {} }
                }
                return;
            }
        }
    }
}

/// The client side (`PoolClient`).
mod pool_client {
    use super::*;

    pub fn submit(pool: &Pid<PoolMsg>, me: &Pid<ClientMsg>, job: Job) -> Ref {
        let reference = otp::make_ref();
        pool.send(PoolMsg::Submit(job, me.clone(), reference));
        reference
    }

    /// The result for `reference`, or `None` after `timeout` (`{:error, :timeout}`).
    pub fn await_result(
        mb: &mut Mailbox<ClientMsg>,
        reference: Ref,
        timeout: Duration,
    ) -> Option<Ok> {
        otp::receive! { mb,
            ClientMsg::Result(r, result) if r == reference => Some(result),
            after timeout => None,
        }
    }

    pub fn status(pool: &Pid<PoolMsg>, mb: &mut Mailbox<ClientMsg>) -> PoolStatus {
        pool.send(PoolMsg::Status(mb.pid()));
        otp::receive! { mb, ClientMsg::Status(status) => status }
    }
}

const JOBS: [Job; 6] = [
    Job::Double(5),
    Job::Square(4),
    Job::Double(10),
    Job::SlowAdd(1, 2),
    Job::Square(7),
    Job::Double(3),
];

#[otp::main]
fn main(mut mb: Mailbox<ClientMsg>) {
    // Start a pool with 3 workers and wait until it is up.
    let me = mb.pid();
    let starter = me.clone();
    let pool = otp::spawn_apply(start_pool, (3, starter));
    otp::receive! { mb, ClientMsg::Started => {} }

    // Submit more jobs than workers.
    println!();
    println!("--- Submitting {} jobs ---", JOBS.len());
    println!();
    let refs: Vec<(Job, Ref)> = JOBS
        .iter()
        .map(|&job| (job, pool_client::submit(&pool, &me, job)))
        .collect();

    let status = pool_client::status(&pool, &mut mb);
    println!("Pool Status:");
    println!("  Available workers: {}", status.available);
    println!("  Queued jobs: {}", status.queued);
    println!("  Pending jobs: {}", status.pending);
    println!();

    // Collect the results, in submission order.
    println!("--- Collecting results ---");
    println!();
    for (job, reference) in refs {
        match pool_client::await_result(&mut mb, reference, Duration::from_secs(10)) {
            Some(result) => println!("Job {job} => {result}"),
            None => println!("Job {job} => {{:error, :timeout}}"),
        }
    }
    println!();
    println!("--- All jobs completed ---");

    // Shut down, and wait until the pool (and so its workers) has stopped.
    let watch = process::monitor(&pool);
    pool.send(PoolMsg::Stop);
    otp::receive! { mb, DOWN(r, _, _) if r == watch => {} }

    // ANCHOR: stream
    // The same jobs, the OTP way: a bounded stream of tasks, results in input order.
    println!();
    println!("--- The same jobs with task::async_stream, max_concurrency 3 ---");
    let results = task::async_stream(JOBS, process_job).max_concurrency(3);
    for (job, result) in JOBS.iter().zip(results) {
        match result {
            task::Outcome::Ok(result) => println!("Job {job} => {result}"),
            task::Outcome::Exit(reason) => println!("Job {job} => {{:exit, {reason}}}"),
        }
    }
    // ANCHOR_END: stream
}
