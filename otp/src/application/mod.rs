//! Applications (stub): the application environment and termination signals, ahead of the
//! `Application` behaviour.

pub mod env;
#[allow(dead_code, reason = "used by the coming Application behaviour")]
pub(crate) mod signals;

pub use env::{
    all_env, delete_env, fetch_env, get_env, get_env_or, load_config_file, put_env, EnvError,
};
pub use signals::Signal;
