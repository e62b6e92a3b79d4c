//! Chapter 9, "Applications": the application environment, and step 5 of the KV store: the
//! tree of step 4 as an application, configured from its environment.

use std::{collections::HashMap, time::Duration};

use otp::agent::{self, Agent};
use otp::application::{self, Application, EnvError};
use otp::dynamic_supervisor::{self, DynamicSupervisor};
use otp::gen_server::{StartError, StartOptions};
use otp::registry::{Keys, Registry};
use otp::supervisor::{self, ChildError, ChildSpec, Options, Restart, Strategy, Supervisor};
use otp::ExitReason;

// ANCHOR: env
#[test]
fn the_application_environment() {
    // Values are strings, parsed where they are read.
    application::put_env("shop", "port", 8080);
    assert_eq!(application::get_env::<u16>("shop", "port"), Ok(Some(8080)));
    assert_eq!(
        application::get_env::<String>("shop", "port"),
        Ok(Some("8080".into()))
    );

    // A default stands in for a missing value...
    assert_eq!(application::get_env_or("shop", "workers", 4u32), Ok(4));
    // ...but never for a malformed one: that is an error naming the setting.
    application::put_env("shop", "workers", "four");
    let err = application::get_env_or("shop", "workers", 4u32).unwrap_err();
    assert!(matches!(err, EnvError::Parse { .. }));

    // `fetch_env` is for settings that must be there.
    let missing = application::fetch_env::<String>("shop", "data_dir").unwrap_err();
    assert_eq!(
        missing.to_string(),
        "missing setting `data_dir` of application `shop` (set SHOP_DATA_DIR, or `data_dir` under `[shop]`)"
    );
}
// ANCHOR_END: env

// ANCHOR: config_file
#[test]
fn a_config_file() {
    let path = std::env::temp_dir().join(format!("book-kv-{}.conf", std::process::id()));
    std::fs::write(
        &path,
        "# The key-value store's settings.\n[kv_book]\nmax_buckets = 2\nowner = \"ops team\"\n",
    )
    .unwrap();
    assert_eq!(application::load_config_file(&path), Ok(2)); // two values set
    assert_eq!(
        application::get_env::<usize>("kv_book", "max_buckets"),
        Ok(Some(2))
    );
    assert_eq!(
        application::get_env::<String>("kv_book", "owner"),
        Ok(Some("ops team".into()))
    );
    std::fs::remove_file(path).unwrap();
}
// ANCHOR_END: config_file

// ANCHOR: kv_app
/// A bucket: a map in an agent.
type Bucket = Agent<HashMap<String, String>>;

/// Bucket names to bucket processes.
type Buckets = Registry<String, ()>;

/// The key-value store as an application: its tree, configured from its environment.
struct KvBook {
    buckets: Buckets,
}

impl Application for KvBook {
    fn name(&self) -> &'static str {
        "kv_book"
    }

    fn start(&mut self) -> Result<Supervisor, StartError> {
        // A bad setting stops the start with a reason, before anything runs.
        let max_buckets: usize = application::get_env_or(self.name(), "max_buckets", 1000)
            .map_err(|e| StartError::Stopped(ExitReason::custom(e.to_string())))?;
        let children = vec![
            self.buckets.child_spec("bucket_names"),
            dynamic_supervisor::child_spec(
                "bucket_sup",
                dynamic_supervisor::Options::new()
                    .name("kv_book_buckets")
                    .max_children(max_buckets),
            ),
        ];
        supervisor::start_link(children, Options::new(Strategy::RestForOne))
    }

    fn stop(&mut self) {
        println!("kv_book stopped");
    }
}

impl KvBook {
    /// The bucket called `name`, started if there is none (step 4's `create_bucket`).
    fn create_bucket(&self, name: &str) -> Result<Bucket, ChildError> {
        let via = self.buckets.via(name.to_owned());
        let spec = ChildSpec::new(format!("bucket {name}"), move || {
            let options = StartOptions::new().name(via.clone());
            agent::start_with(options, HashMap::<String, String>::new, true)
        })
        .restart(Restart::Temporary);
        match DynamicSupervisor::named("kv_book_buckets").start_child(spec) {
            Ok(_) | Err(ChildError::Start(StartError::AlreadyStarted(_))) => {
                Ok(Agent::named(self.buckets.via(name.to_owned())))
            }
            Err(e) => Err(e),
        }
    }
}

/// `main` of the store as a service: runs until SIGINT or SIGTERM, then stops the tree in
/// order (not run by the tests: it would wait for a signal).
#[allow(
    dead_code,
    reason = "shown in the book; the tests start the application directly"
)]
fn main_of_the_service() {
    let app = KvBook {
        buckets: Registry::new(Keys::Unique),
    };
    match application::run(app) {
        Ok(stopped) => println!("{stopped}"),
        Err(e) => {
            eprintln!("kv_book: {e}");
            std::process::exit(1);
        }
    }
}
// ANCHOR_END: kv_app

// ANCHOR: kv_app_test
#[test]
fn the_kv_application() {
    application::put_env("kv_book", "max_buckets", 2);
    otp::run(|| {
        let mut app = KvBook {
            buckets: Registry::new(Keys::Unique),
        };
        // What `application::run` does: trap exits (the tree is linked to us, and its
        // `shutdown` must not end us), then start the tree.
        otp::process::trap_exit(true);
        let tree = app.start().unwrap();
        app.create_bucket("a").unwrap();
        app.create_bucket("b").unwrap();
        // The setting took effect: a third bucket is refused.
        assert_eq!(app.create_bucket("c").unwrap_err(), ChildError::MaxChildren);

        // And what it does on SIGTERM: stop the tree (children first), then `stop`.
        tree.stop(ExitReason::Shutdown, Duration::from_secs(5))
            .unwrap();
        app.stop();
        assert_eq!(app.buckets.count(), 0);
    });
}
// ANCHOR_END: kv_app_test
