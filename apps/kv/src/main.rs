//! The `kv` server: reads its settings, then runs the application until SIGINT or SIGTERM.
//!
//! Once the tree has started (the shards have replayed their files and the acceptor is bound)
//! it prints `listening on ADDR` on stdout. On SIGINT or SIGTERM `otp::application::run_with`
//! stops the tree in order (the acceptor first, then the connections, then the shards, which
//! sync their files) and `kv` exits with status 0. A start that fails (a port in use, a
//! damaged file) is explained on stderr, with status 1.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use kv::{
    app::{self, KvApp},
    config::{self, Action},
};

// ANCHOR: main
fn main() -> ExitCode {
    // Warnings and errors (a torn file cut back, a crashed shard) on stderr; RUST_LOG=info or
    // debug for more.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // `otp::application::run` loads KV_CONFIG too, but only once it starts; the flags are
    // resolved before that, against the same file.
    if let Some(path) = std::env::var_os("KV_CONFIG") {
        if let Err(e) = otp::application::load_config_file(path) {
            eprintln!("kv: {e}");
            return ExitCode::from(2);
        }
    }
    let config = match config::parse_args(std::env::args().skip(1)) {
        Ok(Action::Run(config)) => config,
        Ok(Action::Help) => {
            print!("{}", config::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("kv: {e}");
            return ExitCode::from(2);
        }
    };
    let builder = otp::Builder::new().schedulers(config.schedulers);
    match otp::application::run_with(builder, KvApp::new(config)) {
        Ok(stopped) => {
            eprintln!("kv: {stopped}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kv: {}", app::explain(&e));
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: main
