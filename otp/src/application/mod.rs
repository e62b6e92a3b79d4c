//! Applications: a supervision tree with a start, a stop and a configuration (OTP's
//! `application`, Elixir's `Application`).
//!
//! An [`Application`] starts its top supervisor; [`run`] is the `main` of a service built on it:
//! it starts a runtime and the application, waits, and stops the whole tree in order (children
//! before parents, last started first) when the process receives SIGINT or SIGTERM, or returns
//! when the top supervisor dies (its restart intensity ran out: the application failed).
//!
//! ```no_run
//! use otp::application::{self, Application};
//! use otp::supervisor::{self, Options, Strategy, Supervisor};
//! use otp::gen_server::StartError;
//!
//! struct Shop;
//!
//! impl Application for Shop {
//!     fn name(&self) -> &'static str {
//!         "shop"
//!     }
//!
//!     fn start(&mut self) -> Result<Supervisor, StartError> {
//!         let port: u16 = application::get_env_or("shop", "port", 8080).unwrap();
//!         println!("serving on {port}");
//!         supervisor::start_link(vec![], Options::new(Strategy::OneForOne))
//!     }
//! }
//!
//! fn main() {
//!     // Runs until Ctrl-C or SIGTERM; SHOP_PORT=9000 or a config file overrides the port.
//!     let stopped = application::run(Shop).unwrap();
//!     println!("stopped: {stopped}");
//! }
//! ```
//!
//! # Configuration
//!
//! The application environment ([`get_env`], [`put_env`], ...) holds string values per
//! application and key, read and parsed where they are used. An OS environment variable
//! `<APP>_<KEY>` beats a value set in code or loaded from a config file; [`run`] loads the file
//! named by `<APP>_CONFIG` (e.g. `SHOP_CONFIG=/etc/shop.conf`) before the application starts.
//! The file format is in [`env`](mod@env).

pub mod env;
pub(crate) mod signals;

use std::fmt;

use crossbeam_channel::{select, Receiver};

pub use self::{
    env::{
        all_env, delete_env, fetch_env, get_env, get_env_or, load_config_file, put_env, EnvError,
    },
    signals::Signal,
};
use crate::{
    gen_server::StartError,
    mailbox::{Mailbox, Message},
    process::{self, ExitReason, Pid},
    supervisor::Supervisor,
    Builder, Timeout,
};

/// An application: what starts its supervision tree, and what runs after it stopped.
///
/// ```
/// use otp::application::Application;
/// use otp::gen_server::StartError;
/// use otp::supervisor::{self, Options, Supervisor};
///
/// struct Empty;
///
/// impl Application for Empty {
///     fn name(&self) -> &'static str {
///         "empty"
///     }
///     fn start(&mut self) -> Result<Supervisor, StartError> {
///         supervisor::start_link(vec![], Options::default())
///     }
/// }
/// # let _ = Empty;
/// ```
pub trait Application: Send + 'static {
    /// The application's name: the `app` of its environment (`get_env(name, key)`), and the
    /// prefix of its environment variables.
    fn name(&self) -> &'static str;

    /// Starts the top supervisor, linked to the caller (Elixir's `start/2`). Runs in a process
    /// of the application's runtime.
    ///
    /// # Errors
    ///
    /// Why the tree could not start; [`run`] returns it.
    fn start(&mut self) -> Result<Supervisor, StartError>;

    /// Runs after the tree has stopped (Elixir's `stop/1`). Default: nothing.
    fn stop(&mut self) {}
}

/// Why an application stopped.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Stopped {
    /// The process received this signal; the tree was shut down in order.
    Signal(Signal),
    /// The top supervisor exited with this reason (normally `shutdown`: its restart intensity
    /// ran out).
    SupervisorExited(ExitReason),
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stopped::Signal(s) => write!(f, "received {s}; the supervision tree was shut down"),
            Stopped::SupervisorExited(r) => write!(f, "the top supervisor exited with {r}"),
        }
    }
}

/// Why [`run`] could not run the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The runtime (or the signal thread) could not start.
    Io(std::io::Error),
    /// The config file named by `<APP>_CONFIG` could not be loaded.
    Config(EnvError),
    /// [`Application::start`] failed.
    Start(StartError),
    /// The application's starting process died (its `start` panicked, or a linked child
    /// failed) with this reason.
    Crashed(ExitReason),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Io(e) => write!(f, "could not start the runtime: {e}"),
            RunError::Config(e) => write!(f, "could not load the configuration: {e}"),
            RunError::Start(e) => write!(f, "the application did not start: {e}"),
            RunError::Crashed(r) => write!(f, "the application's root process exited with {r}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Runs `app` on a fresh runtime (one scheduler per core) until SIGINT or SIGTERM, or until its
/// top supervisor dies.
///
/// Call it first thing in `main`, before any thread is started: SIGINT and SIGTERM are
/// blocked in the calling thread and every thread started after it, and read by one signal
/// thread, so a signal always reaches the shutdown path instead of killing the process.
///
/// # Errors
///
/// [`RunError`]: the runtime, the configuration, or the application's start failed.
pub fn run<A: Application>(app: A) -> Result<Stopped, RunError> {
    let signals = signals::ShutdownSignals::install().map_err(RunError::Io)?;
    run_until(Builder::new(), app, signals.receiver().clone())
}

/// [`run`] with a runtime of your own settings.
///
/// # Errors
///
/// As for [`run`].
pub fn run_with<A: Application>(builder: Builder, app: A) -> Result<Stopped, RunError> {
    let signals = signals::ShutdownSignals::install().map_err(RunError::Io)?;
    run_until(builder, app, signals.receiver().clone())
}

/// What the application's root process hears from outside.
enum Control {
    Stop(Signal),
}

/// Runs `app` until `stop` yields a signal or the top supervisor dies.
pub(crate) fn run_until<A: Application>(
    builder: Builder,
    mut app: A,
    stop: Receiver<Signal>,
) -> Result<Stopped, RunError> {
    let name = app.name();
    let config_var = format!("{}_CONFIG", name.to_ascii_uppercase());
    if let Some(path) = std::env::var_os(&config_var) {
        load_config_file(path).map_err(RunError::Config)?;
    }
    let runtime = builder.build().map_err(RunError::Io)?;
    let (root_tx, root_rx) = crossbeam_channel::bounded::<Pid<Control>>(1);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
    // Forwards signals to the root process until the run ends.
    let bridge = std::thread::Builder::new()
        .name(format!("{name}-signals"))
        .spawn(move || {
            let Ok(root) = root_rx.recv() else { return };
            select! {
                recv(stop) -> signal => {
                    if let Ok(signal) = signal {
                        root.send(Control::Stop(signal));
                    }
                }
                recv(done_rx) -> _ => {}
            }
        })
        .map_err(RunError::Io)?;
    let result = runtime.block_on(move |mut mb: Mailbox<Control>| {
        process::trap_exit(true);
        let _ = root_tx.send(mb.pid());
        let sup = app.start().map_err(RunError::Start)?;
        let sup_pid = sup
            .pid()
            .ok_or(RunError::Start(StartError::Stopped(ExitReason::NoProc)))?;
        tracing::info!(application = name, supervisor = %sup_pid, "application started");
        let stopped = loop {
            match mb.receive_message() {
                Message::User(Control::Stop(signal)) => {
                    tracing::info!(application = name, %signal, "stopping the application");
                    // Children first, in reverse start order; `Infinity`: each child's own
                    // shutdown setting bounds the wait.
                    if let Err(e) = sup.stop(ExitReason::Shutdown, Timeout::Infinity) {
                        tracing::warn!(application = name, error = %e, "stopping the tree");
                    }
                    break Stopped::Signal(signal);
                }
                Message::Exit { from, reason } if from == sup_pid => {
                    tracing::error!(application = name, %reason, "the top supervisor exited");
                    break Stopped::SupervisorExited(reason);
                }
                _ => {}
            }
        };
        app.stop();
        Ok(stopped)
    });
    drop(done_tx);
    let _ = bridge.join();
    match result {
        Ok(r) => r,
        Err(reason) => Err(RunError::Crashed(reason)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{
        gen_server::{self, GenServer, InitResult},
        supervisor::{self, ChildSpec, Options, Strategy},
    };

    /// A worker that records its start and its terminate in a shared log.
    struct Recorder(&'static str, Arc<Mutex<Vec<String>>>);

    impl GenServer for Recorder {
        type Call = ();
        type Reply = ();
        type Cast = ();
        type Info = ();
        type Continue = ();

        fn init(&mut self) -> InitResult {
            process::trap_exit(true);
            self.1.lock().unwrap().push(format!("start {}", self.0));
            InitResult::ok()
        }

        fn terminate(&mut self, reason: &ExitReason) {
            self.1
                .lock()
                .unwrap()
                .push(format!("stop {} {reason}", self.0));
        }
    }

    struct Shop {
        log: Arc<Mutex<Vec<String>>>,
        started: crossbeam_channel::Sender<()>,
    }

    impl Application for Shop {
        fn name(&self) -> &'static str {
            "otp_test_shop"
        }

        fn start(&mut self) -> Result<Supervisor, StartError> {
            let child = |id: &'static str, log: &Arc<Mutex<Vec<String>>>| {
                let log = log.clone();
                ChildSpec::new(id, move || {
                    gen_server::start_link(Recorder(id, log.clone()))
                })
            };
            let sup = supervisor::start_link(
                vec![child("db", &self.log), child("web", &self.log)],
                Options::new(Strategy::OneForOne),
            );
            let _ = self.started.send(());
            sup
        }

        fn stop(&mut self) {
            self.log.lock().unwrap().push("app stopped".to_owned());
        }
    }

    #[test]
    fn a_signal_stops_the_tree_in_reverse_order_then_the_app() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started_rx) = crossbeam_channel::bounded(1);
        let (stop_tx, stop_rx) = crossbeam_channel::bounded(1);
        let app = Shop {
            log: log.clone(),
            started: started_tx,
        };
        let runner =
            std::thread::spawn(move || run_until(Builder::new().schedulers(2), app, stop_rx));
        started_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the application started");
        stop_tx.send(Signal::Terminate).unwrap();
        let stopped = runner.join().unwrap().unwrap();
        assert_eq!(stopped, Stopped::Signal(Signal::Terminate));
        assert_eq!(
            *log.lock().unwrap(),
            [
                "start db",
                "start web",
                "stop web :shutdown",
                "stop db :shutdown",
                "app stopped"
            ]
        );
    }

    /// Starts a tree whose only child crashes at once, over and over: the supervisor gives up.
    struct Doomed;

    impl Application for Doomed {
        fn name(&self) -> &'static str {
            "otp_test_doomed"
        }

        fn start(&mut self) -> Result<Supervisor, StartError> {
            let crasher = ChildSpec::new("crasher", || {
                Ok(crate::spawn_link(|| panic!("crasher crashed")))
            });
            supervisor::start_link(vec![crasher], Options::new(Strategy::OneForOne))
        }
    }

    #[test]
    fn the_run_ends_when_the_top_supervisor_gives_up() {
        let (_stop_tx, stop_rx) = crossbeam_channel::bounded(1);
        let stopped =
            std::thread::spawn(move || run_until(Builder::new().schedulers(2), Doomed, stop_rx))
                .join()
                .unwrap()
                .unwrap();
        assert_eq!(stopped, Stopped::SupervisorExited(ExitReason::Shutdown));
    }

    struct FailsToStart;

    impl Application for FailsToStart {
        fn name(&self) -> &'static str {
            "otp_test_fails"
        }

        fn start(&mut self) -> Result<Supervisor, StartError> {
            Err(StartError::Ignore)
        }
    }

    #[test]
    fn a_failed_start_is_an_error() {
        let (_stop_tx, stop_rx) = crossbeam_channel::bounded(1);
        let err = run_until(Builder::new().schedulers(1), FailsToStart, stop_rx).unwrap_err();
        assert!(matches!(err, RunError::Start(StartError::Ignore)), "{err}");
    }
}
