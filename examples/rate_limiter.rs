//! A token-bucket rate limiter (tutorial block 24, `RateLimiter` and `RateLimiterDemo`): a
//! process holds the tokens, answers each check with `:ok` or `{:error, :rate_limited}`, and
//! refills itself on a timer it sends to itself.
//!
//! ```elixir
//! :refill ->
//!   new_tokens = min(state.tokens + state.refill_rate, state.max_tokens)
//!   Process.send_after(self(), :refill, state.refill_interval)
//! ```
//!
//! [`otp::send_after`] is `Process.send_after/3`. Each check carries a fresh reference
//! ([`otp::make_ref`]) and the client waits for the reply with that reference (an
//! [`otp::receive!`] whose guards pin it, with an `after`), so a late reply to an earlier
//! check can never be taken for this one.
//!
//! The BEAM prints exactly the tutorial's output. The times are scaled down: a refill every
//! 100 ms instead of every second, and a wait of 250 ms instead of 2 s. (The tutorial waits
//! exactly two refill intervals, which races with the second refill; the BEAM's run won the
//! race, hence `{4, 5}`; the extra 50 ms here makes that the only outcome.)
//!
//! The second half is the same limiter as a GenServer, the way one would write it in OTP, with
//! [`#[otp::gen_server]`](otp::gen_server): the client API is the generated calls (with their
//! timeout and typed errors), and the server refills itself as the tutorial's does, with a
//! timer it sends itself from its own callbacks: `TokenBucketClient::current()` is `self()`,
//! and its `send_after` is `Process.send_after(self(), :refill, interval)`.
//!
//! Run with `cargo run --release --example rate_limiter`.

use std::time::Duration;

use otp::gen_server::Info;
use otp::{ExitReason, Mailbox, Pid, Ref};

/// The limiter's messages.
enum Limiter {
    Check(Pid<Reply>, Ref),
    Refill,
    Status(Pid<Reply>),
    Stop,
}

/// What the limiter answers.
enum Reply {
    Ok(Ref),
    RateLimited(Ref),
    Status(u32, u32),
}

/// The limiter's state.
struct Bucket {
    tokens: u32,
    max_tokens: u32,
    refill_rate: u32,
    refill_interval: Duration,
}

// ANCHOR: limiter
/// `RateLimiter.start_link/1`.
fn start_link(max_tokens: u32, refill_rate: u32, refill_interval: Duration) -> Pid<Limiter> {
    otp::spawn_link(move |mut mb: Mailbox<Limiter>| {
        // Schedule the first refill.
        otp::send_after(&mb.pid(), Limiter::Refill, refill_interval);
        let mut state = Bucket {
            tokens: max_tokens,
            max_tokens,
            refill_rate,
            refill_interval,
        };
        loop {
            otp::receive! { mb,
                Limiter::Check(caller, reference) if state.tokens > 0 => {
                    caller.send(Reply::Ok(reference));
                    state.tokens -= 1;
                }
                Limiter::Check(caller, reference) => caller.send(Reply::RateLimited(reference)),
                Limiter::Refill => {
                    state.tokens = (state.tokens + state.refill_rate).min(state.max_tokens);
                    otp::send_after(&mb.pid(), Limiter::Refill, state.refill_interval);
                }
                Limiter::Status(caller) => {
                    caller.send(Reply::Status(state.tokens, state.max_tokens));
                }
                Limiter::Stop => return,
            }
        }
    })
}
// ANCHOR_END: limiter

/// What a check gives: `:ok`, `{:error, :rate_limited}` or `{:error, :timeout}`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    Ok,
    RateLimited,
    Timeout,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Check::Ok => ":ok",
            Check::RateLimited => "{:error, :rate_limited}",
            Check::Timeout => "{:error, :timeout}",
        })
    }
}

/// The client API.
mod client {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(1);

    pub fn check(limiter: &Pid<Limiter>, mb: &mut Mailbox<Reply>) -> Check {
        let reference = otp::make_ref();
        limiter.send(Limiter::Check(mb.pid(), reference));
        otp::receive! { mb,
            Reply::Ok(r) if r == reference => Check::Ok,
            Reply::RateLimited(r) if r == reference => Check::RateLimited,
            after TIMEOUT => Check::Timeout,
        }
    }

    /// `{current, max}`, or `None` on timeout.
    pub fn status(limiter: &Pid<Limiter>, mb: &mut Mailbox<Reply>) -> Option<(u32, u32)> {
        limiter.send(Limiter::Status(mb.pid()));
        otp::receive! { mb,
            Reply::Status(current, max) => Some((current, max)),
            after TIMEOUT => None,
        }
    }
}

fn show_status(status: Option<(u32, u32)>) -> String {
    status.map_or_else(
        || "{:error, :timeout}".to_owned(),
        |(current, max)| format!("{{{current}, {max}}}"),
    )
}

/// The wait for the refill: two intervals and a half.
const WAIT: Duration = Duration::from_millis(250);

/// `RateLimiterDemo.run/0`.
fn demo(mb: &mut Mailbox<Reply>) {
    // A rate limiter: 5 tokens max, refill 2 per interval.
    let limiter = start_link(5, 2, Duration::from_millis(100));
    println!(
        "Initial status: {}",
        show_status(client::status(&limiter, mb))
    );

    // Make rapid requests.
    println!();
    println!("Making 10 rapid requests:");
    let results: Vec<Check> = (1..=10)
        .map(|i| {
            let result = client::check(&limiter, mb);
            println!("  Request {i}: {result}");
            result
        })
        .collect();
    let allowed = results.iter().filter(|r| **r == Check::Ok).count();
    let blocked = results.iter().filter(|r| **r == Check::RateLimited).count();
    println!();
    println!("Allowed: {allowed}, Blocked: {blocked}");

    // Wait for refill.
    println!();
    println!("Waiting {}ms for refill...", WAIT.as_millis());
    otp::sleep(WAIT);
    println!(
        "Status after refill: {}",
        show_status(client::status(&limiter, mb))
    );

    // More requests.
    println!();
    println!("Making 3 more requests:");
    for i in 1..=3 {
        println!("  Request {i}: {}", client::check(&limiter, mb));
    }
    limiter.send(Limiter::Stop);
}

// ANCHOR: genserver
/// The same bucket as a GenServer, refilled by a timer it sends itself.
struct TokenBucket {
    tokens: u32,
    max_tokens: u32,
    refill_rate: u32,
    refill_interval: Duration,
}

/// `{:error, :rate_limited}`.
struct RateLimited;

/// The timer's message: `:refill`.
struct Refill;

#[otp::gen_server]
impl TokenBucket {
    /// Schedules the first refill.
    #[init]
    fn init(&mut self) {
        self.schedule_refill();
    }

    /// `:ok` (taking a token), or `{:error, :rate_limited}`.
    #[call]
    fn check(&mut self) -> Result<(), RateLimited> {
        if self.tokens == 0 {
            return Err(RateLimited);
        }
        self.tokens -= 1;
        Ok(())
    }

    /// `{current, max}`.
    #[call]
    fn status(&self) -> (u32, u32) {
        (self.tokens, self.max_tokens)
    }

    #[handle_info]
    fn refill(&mut self, info: Info<Refill>) {
        if let Info::Message(Refill) = info {
            self.tokens = (self.tokens + self.refill_rate).min(self.max_tokens);
            self.schedule_refill();
        }
    }

    /// `Process.send_after(self(), :refill, interval)`, from inside the server.
    fn schedule_refill(&self) {
        let me = TokenBucketClient::current().expect("called from the server's callbacks");
        me.send_after(Refill, self.refill_interval);
    }
}
// ANCHOR_END: genserver

fn genserver_demo() {
    let limiter = TokenBucketClient::start_link(TokenBucket {
        tokens: 5,
        max_tokens: 5,
        refill_rate: 2,
        refill_interval: Duration::from_millis(100),
    })
    .expect("the limiter starts");
    let check = || match limiter.check() {
        Ok(Ok(())) => Check::Ok,
        Ok(Err(RateLimited)) => Check::RateLimited,
        Err(_) => Check::Timeout,
    };
    let status = || limiter.status().ok();

    println!("Initial status: {}", show_status(status()));
    let results: Vec<Check> = (0..10).map(|_| check()).collect();
    let allowed = results.iter().filter(|r| **r == Check::Ok).count();
    println!(
        "10 rapid requests: Allowed: {allowed}, Blocked: {}",
        10 - allowed
    );
    otp::sleep(WAIT);
    println!(
        "Status after {}ms: {}",
        WAIT.as_millis(),
        show_status(status())
    );
    let more: Vec<String> = (0..3).map(|_| check().to_string()).collect();
    println!("3 more requests: [{}]", more.join(", "));
    limiter
        .stop(ExitReason::Normal, Duration::from_secs(5))
        .expect("the limiter stops");
}

#[otp::main]
fn main(mut mb: Mailbox<Reply>) {
    demo(&mut mb);
    println!();
    println!("--- The same limiter as a GenServer ---");
    genserver_demo();
}
