//! An application: a supervision tree with configuration, run until SIGTERM, then stopped in
//! order. This example sends itself SIGTERM (with `kill`, as an operator would) once started.
//! Its one worker is a GenServer written with [`#[otp::gen_server]`](otp::gen_server), started
//! by name through its generated client's child spec.
//!
//! Run with `cargo run --release --example application`; `SHOP_GREETING=hi` changes the
//! greeting.

use otp::application::{self, Application};
use otp::gen_server::{StartError, StartOptions};
use otp::supervisor::{self, Options, Strategy, Supervisor};
use otp::ExitReason;

// ANCHOR: app
/// A worker that says hello, and says when it stops.
struct Greeter(String);

#[otp::gen_server]
impl Greeter {
    #[init]
    fn init(&mut self) {
        otp::process::trap_exit(true); // so that `terminate` runs at shutdown
    }

    #[call]
    fn greeting(&self) -> String {
        self.0.clone()
    }

    #[terminate]
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
        let greeter = GreeterClient::child_spec_with(
            "greeter",
            StartOptions::new().name("greeter"),
            move || Greeter(greeting.clone()),
        );
        let sup = supervisor::start_link(vec![greeter], Options::new(Strategy::OneForOne))?;
        println!(
            "shop started: {:?} children",
            sup.count_children().map(|c| c.active)
        );
        println!(
            "the greeter says {:?}",
            GreeterClient::named("greeter").greeting()
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
