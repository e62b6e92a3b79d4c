//! An application: a supervision tree with configuration, run until SIGTERM, then stopped in
//! order. This example sends itself SIGTERM (with `kill`, as an operator would) once started.
//!
//! Run with `cargo run --release --example application`; `SHOP_GREETING=hi` changes the
//! greeting.

use otp::application::{self, Application};
use otp::gen_server::{self, CallResult, From, GenServer, InitResult, StartError};
use otp::supervisor::{self, ChildSpec, Options, Strategy, Supervisor};
use otp::ExitReason;

// ANCHOR: app
/// A worker that says hello, and says when it stops.
struct Greeter(String);

impl GenServer for Greeter {
    type Call = ();
    type Reply = String;
    type Cast = ();
    type Info = ();
    type Continue = ();

    fn init(&mut self) -> InitResult {
        otp::process::trap_exit(true); // so that `terminate` runs at shutdown
        InitResult::ok()
    }

    fn handle_call(&mut self, (): (), _: From<String>) -> CallResult<String> {
        CallResult::reply(self.0.clone())
    }

    fn terminate(&mut self, reason: &ExitReason) {
        println!("greeter stopping: {reason}");
    }
}

struct Shop;

impl Application for Shop {
    fn name(&self) -> &'static str {
        "shop"
    }

    fn start(&mut self) -> Result<Supervisor, StartError> {
        let greeting: String = application::get_env_or("shop", "greeting", "hello".to_owned())
            .map_err(|e| StartError::Stopped(ExitReason::custom(e.to_string())))?;
        let greeter = ChildSpec::new("greeter", move || {
            gen_server::start_link(Greeter(greeting.clone()))
        });
        let sup = supervisor::start_link(vec![greeter], Options::new(Strategy::OneForOne))?;
        println!(
            "shop started: {:?} children",
            sup.count_children().map(|c| c.active)
        );
        stop_me_soon();
        Ok(sup)
    }

    fn stop(&mut self) {
        println!("shop stopped");
    }
}

fn main() {
    match application::run(Shop) {
        Ok(stopped) => println!("{stopped}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
// ANCHOR_END: app

/// What an operator would do: `kill -TERM <pid>` (here from a shell whose parent we are).
fn stop_me_soon() {
    std::process::Command::new("sh")
        .args(["-c", "kill -TERM $PPID"])
        .status()
        .expect("sh runs");
}
