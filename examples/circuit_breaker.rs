//! A circuit breaker (tutorial block 29, `CircuitBreaker`): a registered process runs calls to
//! a flaky service for its clients, counts the failures, and after `threshold` of them in a
//! row refuses calls (`:circuit_open`) until `timeout` has passed; then it lets one call
//! through (half-open), and a success closes it again.
//!
//! ```elixir
//! {:call, caller, ref, fun} ->
//!   case breaker.state do
//!     :open -> if should_attempt_reset?(breaker), do: try_call(..., %{breaker | state: :half_open}),
//!              else: send(caller, {:error, ref, :circuit_open})
//!     _ -> try_call(caller, ref, fun, breaker)
//!   end
//! ```
//!
//! The block's own demo draws failures with `:rand.uniform(2)` (the recorded BEAM run: three
//! successes, then two failures, `{:closed, 1}`, `{:closed, 2}`); this example runs the BEAM's
//! deterministic variant `29b` instead, which goes through every state: closed, open after 3
//! failures in a row, `:circuit_open` rejections, half-open after the timeout, and closed again
//! after a success. It prints what the BEAM prints, with the timeout at 30 ms and the sleeps at
//! 40 ms instead of 300 and 400. Note the BEAM's `opened after 4 failures` on the half-open
//! failure: the count is never reset when the circuit opens.
//!
//! Where Rust changes the design: a call is a function returning `Result`, and its `Err` is
//! what the tutorial's `rescue` catches (`%RuntimeError{message: "API Error"}`). A function
//! that panics is not caught: it crashes the breaker and, through the link, its owner, as an
//! `exit` or `throw` does in the tutorial's version. And the BEAM's version leaks stack on
//! every success (the recursive `loop/1` sits inside `try`, so it is not a tail call); a Rust
//! `loop` has nothing to leak.
//!
//! The hand-rolled breaker's receives are [`otp::receive!`]s; the client's pin the reference
//! in a guard and give up with `after`, as the tutorial's do. The last part runs the same
//! breaker as a named GenServer, written with [`#[otp::gen_server]`](otp::gen_server): the
//! generated `CircuitBreakerClient`'s `call` and `status` are the request/reply the tutorial
//! builds by hand, with the reference, the timeout and the errors built in.
//!
//! Run with `cargo run --release --example circuit_breaker`.

use std::{
    fmt,
    time::{Duration, Instant},
};

use otp::gen_server::StartOptions;
use otp::{process, ExitReason, Mailbox, Pid, Ref};

/// `:closed`, `:open`, `:half_open`.
#[derive(Clone, Copy, PartialEq)]
enum State {
    Closed,
    Open,
    HalfOpen,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => ":closed",
            State::Open => ":open",
            State::HalfOpen => ":half_open",
        })
    }
}

/// The error a failed call returns (Elixir raises a `RuntimeError`).
#[derive(Clone)]
struct RuntimeError {
    message: &'static str,
}

impl fmt::Debug for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%RuntimeError{{message: {:?}}}", self.message)
    }
}

/// Why a call through the breaker gave no result.
#[derive(Clone)]
enum Refused {
    CircuitOpen,
    Failed(RuntimeError),
    Timeout,
}

impl fmt::Debug for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::CircuitOpen => f.write_str(":circuit_open"),
            Refused::Failed(e) => write!(f, "{e:?}"),
            Refused::Timeout => f.write_str(":timeout"),
        }
    }
}

/// A call to the protected service, run inside the breaker.
type ApiCall = Box<dyn FnOnce() -> Result<String, RuntimeError> + Send>;

// ANCHOR: breaker
/// The breaker's state (the tutorial's struct) and its rules.
struct Breaker {
    name: &'static str,
    state: State,
    failure_count: u32,
    last_failure: Option<Instant>,
    threshold: u32,
    timeout: Duration,
}

impl Breaker {
    fn new(name: &'static str, threshold: u32, timeout: Duration) -> Breaker {
        Breaker {
            name,
            state: State::Closed,
            failure_count: 0,
            last_failure: None,
            threshold,
            timeout,
        }
    }

    /// One `{:call, ...}`.
    fn call(&mut self, fun: ApiCall) -> Result<String, Refused> {
        if self.state == State::Open {
            if !self.should_attempt_reset() {
                return Err(Refused::CircuitOpen);
            }
            // Half-open: try one request.
            self.state = State::HalfOpen;
        }
        match fun() {
            Ok(result) => {
                // Success: reset to closed.
                self.state = State::Closed;
                self.failure_count = 0;
                Ok(result)
            }
            Err(e) => {
                self.handle_failure();
                Err(Refused::Failed(e))
            }
        }
    }

    fn handle_failure(&mut self) {
        self.failure_count += 1;
        self.last_failure = Some(Instant::now());
        if self.failure_count >= self.threshold {
            println!(
                "[CircuitBreaker] {} opened after {} failures",
                self.name, self.failure_count
            );
            self.state = State::Open;
        }
    }

    fn should_attempt_reset(&self) -> bool {
        self.last_failure.is_none_or(|t| t.elapsed() > self.timeout)
    }
}
// ANCHOR_END: breaker

/// What the hand-rolled breaker process is sent.
enum Msg {
    Call(Pid<Reply>, Ref, ApiCall),
    Status(Pid<Reply>),
    Stop,
}

/// What it answers.
enum Reply {
    Call(Ref, Result<String, Refused>),
    Status(State, u32),
}

/// `CircuitBreaker.start_link/2`: spawns the breaker and registers it under `name`.
fn start_link(name: &'static str, threshold: u32, timeout: Duration) -> Pid<Msg> {
    let pid = otp::spawn_link(move |mut mb: Mailbox<Msg>| {
        let mut breaker = Breaker::new(name, threshold, timeout);
        loop {
            otp::receive! { mb,
                Msg::Call(caller, reference, fun) => {
                    caller.send(Reply::Call(reference, breaker.call(fun)));
                }
                Msg::Status(caller) => {
                    caller.send(Reply::Status(breaker.state, breaker.failure_count));
                }
                Msg::Stop => return,
            }
        }
    });
    process::register(name, &pid).expect("the name is free");
    pid
}

/// The client API, by name.
mod client {
    use super::*;

    pub fn call(name: &str, mb: &mut Mailbox<Reply>, fun: ApiCall) -> Result<String, Refused> {
        let reference = otp::make_ref();
        process::send_named(name, Msg::Call(mb.pid(), reference, fun)).expect("registered");
        otp::receive! { mb,
            Reply::Call(r, result) if r == reference => result,
            after Duration::from_secs(5) => Err(Refused::Timeout),
        }
    }

    pub fn status(name: &str, mb: &mut Mailbox<Reply>) -> Option<(State, u32)> {
        process::send_named(name, Msg::Status(mb.pid())).expect("registered");
        otp::receive! { mb,
            Reply::Status(state, count) => Some((state, count)),
            after Duration::from_secs(1) => None,
        }
    }
}

/// One step of the BEAM's deterministic driver.
#[derive(Clone, Copy)]
enum Step {
    Ok,
    Fail,
    Sleep,
}

const PATTERN: [Step; 14] = {
    use Step::{Fail, Ok, Sleep};
    [
        Ok, Fail, Fail, Ok, Fail, Fail, Fail, Ok, Ok, Sleep, Fail, Sleep, Ok, Ok,
    ]
};

const SLEEP: Duration = Duration::from_millis(40);

/// The protected call for a step: `"success"`, or `raise("API Error")`.
fn api_call(step: Step) -> ApiCall {
    Box::new(move || match step {
        Step::Fail => Err(RuntimeError {
            message: "API Error",
        }),
        Step::Ok | Step::Sleep => Ok("success".to_owned()),
    })
}

/// `{:ok, "success"}`, `{:error, :circuit_open}`, ...
fn show_result(result: &Result<String, Refused>) -> String {
    match result {
        Ok(value) => format!("{{:ok, {value:?}}}"),
        Err(e) => format!("{{:error, {e:?}}}"),
    }
}

fn show_status(status: Option<(State, u32)>) -> String {
    status.map_or_else(
        || "{:error, :timeout}".to_owned(),
        |(state, count)| format!("{{{state}, {count}}}"),
    )
}

/// A breaker to drive: by hand, or the GenServer.
trait Api {
    fn call(&mut self, fun: ApiCall) -> Result<String, Refused>;
    fn status(&mut self) -> Option<(State, u32)>;
}

/// The hand-rolled breaker, by its registered name, from the caller's mailbox.
struct ByHand<'a>(&'a mut Mailbox<Reply>);

impl Api for ByHand<'_> {
    fn call(&mut self, fun: ApiCall) -> Result<String, Refused> {
        client::call("external_api", self.0, fun)
    }

    fn status(&mut self) -> Option<(State, u32)> {
        client::status("external_api", self.0)
    }
}

/// Runs the pattern, printing each result and the status after it.
fn drive(api: &mut impl Api) {
    for (i, step) in PATTERN.into_iter().enumerate() {
        let what = match step {
            Step::Sleep => {
                println!("(sleep {}ms)", SLEEP.as_millis());
                otp::sleep(SLEEP);
                continue;
            }
            Step::Ok => "ok",
            Step::Fail => "fail",
        };
        let result = api.call(api_call(step));
        println!(
            "Call {} ({what}): {}, Status: {}",
            i + 1,
            show_result(&result),
            show_status(api.status())
        );
    }
}

// ANCHOR: genserver
/// The same breaker as a GenServer.
struct CircuitBreaker(Breaker);

#[otp::gen_server]
impl CircuitBreaker {
    /// Runs `fun` through the breaker.
    #[call]
    fn call(&mut self, fun: ApiCall) -> Result<String, Refused> {
        self.0.call(fun)
    }

    /// `{state, failure_count}`.
    #[call]
    fn status(&self) -> (State, u32) {
        (self.0.state, self.0.failure_count)
    }
}
// ANCHOR_END: genserver

impl Api for CircuitBreakerClient {
    fn call(&mut self, fun: ApiCall) -> Result<String, Refused> {
        CircuitBreakerClient::call(self, fun).unwrap_or(Err(Refused::Timeout))
    }

    fn status(&mut self) -> Option<(State, u32)> {
        CircuitBreakerClient::status(self).ok()
    }
}

#[otp::main]
fn main(mut mb: Mailbox<Reply>) {
    let timeout = Duration::from_millis(30);
    let breaker = start_link("external_api", 3, timeout);
    drive(&mut ByHand(&mut mb));
    let watch = process::monitor(&breaker);
    breaker.send(Msg::Stop);
    otp::receive! { mb, DOWN(r, _, _) if r == watch => {} }

    println!();
    println!("--- The same breaker as a named GenServer ---");
    let breaker = CircuitBreaker(Breaker::new("external_api", 3, timeout));
    let options = StartOptions::new().name("external_api");
    CircuitBreakerClient::start_link_with(options, breaker).expect("the name is free again");
    let mut server = CircuitBreakerClient::named("external_api");
    drive(&mut server);
    server
        .stop(ExitReason::Normal, Duration::from_secs(5))
        .expect("the breaker stops");
}
