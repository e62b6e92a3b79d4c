//! The application environment: configuration values looked up by application and key.
//!
//! OTP keeps each application's configuration in its *environment* (`application:get_env/2`,
//! Elixir's `Application.get_env/3`), filled from a config file and changed with `put_env`. This
//! module is that store. Values are kept as strings and parsed on the way out with [`FromStr`],
//! so one setting can be read as a `u16`, a `Duration` wrapper or a `String`.
//!
//! # Where a value comes from
//!
//! [`get_env`] (and [`fetch_env`], [`get_env_or`]) look in three places; the first match wins:
//!
//! 1. The OS environment variable named after the application and the key: `<APP>_<KEY>`, upper
//!    case, with every character other than an ASCII letter or digit turned into `_`
//!    (`kv`, `port` → `KV_PORT`; `my-app`, `pool.size` → `MY_APP_POOL_SIZE`). A deployment can
//!    override any setting without editing files. A variable that is set but empty counts.
//! 2. A value set with [`put_env`] or loaded by [`load_config_file`]; later writes replace
//!    earlier ones.
//! 3. Nothing: `Ok(None)`.
//!
//! OS variables are read at every lookup, never cached. [`all_env`] and [`delete_env`] see only
//! the second layer.
//!
//! # Invariants
//!
//! * A value that does not parse is an [`EnvError::Parse`] naming the application, key and
//!   value, never a silent default: [`get_env_or`]'s default stands in only for a *missing*
//!   value.
//! * [`load_config_file`] is all or nothing: a file with a syntax error sets no value.
//! * The store is one map per process behind a mutex. Every call takes the lock once, so
//!   concurrent readers see a whole `put_env` or a whole loaded file, never part of one.
//!
//! # Config file format
//!
//! ```text
//! # Settings of the kv application.
//! [kv]
//! port = 4040
//! data_dir = "/var/lib/kv data"   # quoted: keeps spaces and `#`
//!
//! [kv_web]
//! greeting = "say \"hi\""
//! ```
//!
//! * `[app]` starts a section: the `key = value` lines after it belong to `app`. A `key = value`
//!   line before the first section header is an error.
//! * Application names and keys are non-empty and made of ASCII letters, digits, `_`, `-`, `.`.
//! * A line whose first non-blank character is `#` is a comment; blank lines are ignored.
//! * A bare value is the rest of the line after `=`, without surrounding blanks. In a bare value,
//!   a `#` at its start or after a blank begins a comment, so `a#b` is a value and `a #b` is `a`.
//! * A `"double-quoted"` value keeps everything between the quotes; inside, `\"` is a quote and
//!   `\\` a backslash, and no other escape exists. Only blanks or a comment may follow it.
//! * A key set twice keeps the later value.

use std::{
    collections::BTreeMap,
    fmt, fs, io,
    path::{Path, PathBuf},
    str::FromStr,
    sync::{Mutex, MutexGuard, PoisonError},
};

/// Values set by `put_env` or a config file: application → key → value.
type Store = BTreeMap<String, BTreeMap<String, String>>;

static STORE: Mutex<Store> = Mutex::new(BTreeMap::new());

fn store() -> MutexGuard<'static, Store> {
    // Each update is a map operation that cannot panic half-way, so a poisoned store is whole.
    STORE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Why a setting could not be read or a config file could not be loaded.
///
/// ```
/// use otp::application::{fetch_env, EnvError};
///
/// let err = fetch_env::<u16>("kv", "timeout_ms").unwrap_err();
/// assert!(matches!(err, EnvError::Missing { .. }));
/// assert_eq!(
///     err.to_string(),
///     "missing setting `timeout_ms` of application `kv` (set KV_TIMEOUT_MS, or `timeout_ms` under `[kv]`)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvError {
    /// [`fetch_env`] found no value.
    Missing {
        /// The application.
        app: String,
        /// The key.
        key: String,
    },
    /// A value was found but does not parse as the requested type.
    Parse {
        /// The application.
        app: String,
        /// The key.
        key: String,
        /// The value as found.
        value: String,
        /// The parser's error message.
        message: String,
    },
    /// A config file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The kind of the underlying [`io::Error`].
        kind: io::ErrorKind,
        /// The underlying error's message.
        message: String,
    },
    /// A config file is malformed.
    Syntax {
        /// The file.
        path: PathBuf,
        /// The offending line, counted from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvError::Missing { app, key } => write!(
                f,
                "missing setting `{key}` of application `{app}` (set {}, or `{key}` under `[{app}]`)",
                os_var(app, key)
            ),
            EnvError::Parse { app, key, value, message } => write!(
                f,
                "invalid setting `{key}` of application `{app}`: cannot parse {value:?}: {message}"
            ),
            EnvError::Io { path, message, .. } => {
                write!(f, "cannot read config file {}: {message}", path.display())
            }
            EnvError::Syntax { path, line, message } => {
                write!(f, "{}:{line}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for EnvError {}

/// Sets `key` of `app` to `value`, replacing any earlier value. An OS environment variable for
/// the same setting still takes precedence in [`get_env`].
///
/// ```
/// use otp::application::{get_env, put_env};
///
/// put_env("kv", "port", 4040);
/// assert_eq!(get_env::<u16>("kv", "port"), Ok(Some(4040)));
/// ```
pub fn put_env(app: &str, key: &str, value: impl ToString) {
    store()
        .entry(app.to_owned())
        .or_default()
        .insert(key.to_owned(), value.to_string());
}

/// Removes `key` of `app` set by [`put_env`] or a config file, if any. OS environment variables
/// are left alone.
///
/// ```
/// use otp::application::{delete_env, get_env, put_env};
///
/// put_env("kv", "port", 4040);
/// delete_env("kv", "port");
/// assert_eq!(get_env::<u16>("kv", "port"), Ok(None));
/// ```
pub fn delete_env(app: &str, key: &str) {
    let mut store = store();
    if let Some(settings) = store.get_mut(app) {
        settings.remove(key);
        if settings.is_empty() {
            store.remove(app);
        }
    }
}

/// Looks `key` of `app` up (OS variable `<APP>_<KEY>`, then [`put_env`] and config files; see the
/// [module docs](self)) and parses it. `Ok(None)` if it is set nowhere.
///
/// # Errors
///
/// [`EnvError::Parse`] if the value does not parse as a `T`.
///
/// ```
/// use otp::application::{get_env, put_env, EnvError};
///
/// put_env("kv", "workers", "eight");
/// assert!(matches!(get_env::<u32>("kv", "workers"), Err(EnvError::Parse { .. })));
/// assert_eq!(get_env::<String>("kv", "workers"), Ok(Some("eight".to_owned())));
/// assert_eq!(get_env::<u32>("kv", "no_such_key"), Ok(None));
/// ```
pub fn get_env<T>(app: &str, key: &str) -> Result<Option<T>, EnvError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    let parse_error = |value: String, message: String| EnvError::Parse {
        app: app.to_owned(),
        key: key.to_owned(),
        value,
        message,
    };
    let value = match std::env::var_os(os_var(app, key)) {
        Some(os) => os.into_string().map_err(|os| {
            parse_error(
                os.to_string_lossy().into_owned(),
                "not valid UTF-8".to_owned(),
            )
        })?,
        None => match store().get(app).and_then(|settings| settings.get(key)) {
            Some(value) => value.clone(),
            None => return Ok(None),
        },
    };
    match value.parse() {
        Ok(parsed) => Ok(Some(parsed)),
        Err(err) => Err(parse_error(value, err.to_string())),
    }
}

/// Like [`get_env`], but a missing value is an error: Elixir's `Application.fetch_env!/2`.
///
/// # Errors
///
/// [`EnvError::Missing`] if the value is set nowhere, [`EnvError::Parse`] if it does not parse.
///
/// ```
/// use otp::application::{fetch_env, put_env};
///
/// put_env("kv", "data_dir", "/var/lib/kv");
/// assert_eq!(fetch_env::<String>("kv", "data_dir").as_deref(), Ok("/var/lib/kv"));
/// assert!(fetch_env::<String>("kv", "no_such_key").is_err());
/// ```
pub fn fetch_env<T>(app: &str, key: &str) -> Result<T, EnvError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    get_env(app, key)?.ok_or_else(|| EnvError::Missing {
        app: app.to_owned(),
        key: key.to_owned(),
    })
}

/// Like [`get_env`], with `default` standing in for a missing value (but not for a malformed one).
///
/// # Errors
///
/// [`EnvError::Parse`] if the value is set but does not parse.
///
/// ```
/// use otp::application::{get_env_or, put_env};
///
/// assert_eq!(get_env_or("kv", "port", 4040_u16), Ok(4040));
/// put_env("kv", "port", "not a port");
/// assert!(get_env_or("kv", "port", 4040_u16).is_err());
/// ```
pub fn get_env_or<T>(app: &str, key: &str, default: T) -> Result<T, EnvError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    Ok(get_env(app, key)?.unwrap_or(default))
}

/// Every value of `app` set by [`put_env`] or a config file, sorted by key. OS environment
/// variables are not listed.
///
/// ```
/// use otp::application::{all_env, put_env};
///
/// put_env("kv", "port", 4040);
/// put_env("kv", "data_dir", "/var/lib/kv");
/// assert_eq!(
///     all_env("kv"),
///     [("data_dir".to_owned(), "/var/lib/kv".to_owned()), ("port".to_owned(), "4040".to_owned())]
/// );
/// ```
pub fn all_env(app: &str) -> Vec<(String, String)> {
    store().get(app).map_or_else(Vec::new, |settings| {
        settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

/// Loads a config file (format in the [module docs](self)) and returns how many `key = value`
/// lines it had. Nothing is set unless the whole file is well formed.
///
/// # Errors
///
/// [`EnvError::Io`] if the file cannot be read, [`EnvError::Syntax`] with a line number if it is
/// malformed.
///
/// ```
/// use otp::application::{fetch_env, load_config_file};
///
/// let path = std::env::temp_dir().join(format!("otp-env-doc-{}.conf", std::process::id()));
/// std::fs::write(&path, "[kv]\nport = 4040\ngreeting = \"hello, world\" # quoted\n")?;
///
/// assert_eq!(load_config_file(&path), Ok(2));
/// assert_eq!(fetch_env::<u16>("kv", "port"), Ok(4040));
/// assert_eq!(fetch_env::<String>("kv", "greeting").as_deref(), Ok("hello, world"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn load_config_file(path: impl AsRef<Path>) -> Result<usize, EnvError> {
    let path = path.as_ref();
    let text = fs::read_to_string(path).map_err(|err| EnvError::Io {
        path: path.to_owned(),
        kind: err.kind(),
        message: err.to_string(),
    })?;
    let settings = parse_config(&text).map_err(|(line, message)| EnvError::Syntax {
        path: path.to_owned(),
        line,
        message,
    })?;
    let count = settings.len();
    let mut store = store();
    for Setting { app, key, value } in settings {
        store.entry(app).or_default().insert(key, value);
    }
    Ok(count)
}

/// The OS environment variable that overrides `key` of `app`: `kv`, `port` → `KV_PORT`.
fn os_var(app: &str, key: &str) -> String {
    format!("{app}_{key}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

// ===== config file parser =====

/// One `key = value` line of a config file, with its section.
#[derive(Debug, PartialEq)]
struct Setting {
    app: String,
    key: String,
    value: String,
}

/// Parses a whole config file, or says which line (from 1) is wrong and why.
fn parse_config(text: &str) -> Result<Vec<Setting>, (usize, String)> {
    let mut section = None;
    let mut settings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at_line = |message: String| (index + 1, message);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let (name, rest) = header
                .split_once(']')
                .ok_or_else(|| at_line("section header without a closing `]`".to_owned()))?;
            only_comment(rest).map_err(at_line)?;
            section = Some(name_of(name.trim(), "application name").map_err(at_line)?);
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| {
            at_line("expected `key = value`, an `[app]` header or a `#` comment".to_owned())
        })?;
        let key = name_of(key.trim(), "key").map_err(at_line)?;
        let app = section
            .ok_or_else(|| at_line(format!("key `{key}` comes before any `[app]` header")))?;
        settings.push(Setting {
            app: app.to_owned(),
            key: key.to_owned(),
            value: value_of(value.trim()).map_err(at_line)?,
        });
    }
    Ok(settings)
}

/// Checks an application name or key: non-empty ASCII letters, digits, `_`, `-`, `.`.
fn name_of<'a>(name: &'a str, what: &str) -> Result<&'a str, String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if name.is_empty() {
        Err(format!("empty {what}"))
    } else if !name.chars().all(valid) {
        Err(format!(
            "invalid {what} `{name}`: use ASCII letters, digits, `_`, `-` and `.`"
        ))
    } else {
        Ok(name)
    }
}

/// Reads a trimmed value: bare up to a comment, or double-quoted with `\"` and `\\` escapes.
fn value_of(text: &str) -> Result<String, String> {
    let Some(quoted) = text.strip_prefix('"') else {
        let mut after_blank = true;
        let end = text
            .char_indices()
            .find(|&(_, c)| {
                let comment = c == '#' && after_blank;
                after_blank = c.is_whitespace();
                comment
            })
            .map_or(text.len(), |(i, _)| i);
        return Ok(text[..end].trim_end().to_owned());
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return only_comment(&quoted[i + 1..]).map(|()| value),
            '\\' => match chars.next() {
                Some((_, c @ ('"' | '\\'))) => value.push(c),
                Some((_, c)) => {
                    return Err(format!(
                        "unknown escape `\\{c}`: only `\\\"` and `\\\\` exist"
                    ))
                }
                None => break,
            },
            c => value.push(c),
        }
    }
    Err("quoted value without a closing `\"`".to_owned())
}

/// Checks that `rest` of a line holds nothing but blanks and an optional comment.
fn only_comment(rest: &str) -> Result<(), String> {
    let rest = rest.trim_start();
    if rest.is_empty() || rest.starts_with('#') {
        Ok(())
    } else {
        Err(format!("unexpected `{rest}` at the end of the line"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(app: &str, key: &str, value: &str) -> Setting {
        Setting {
            app: app.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn parses_sections_comments_and_values() {
        let text = "\
# leading comment

[kv]
port = 4040
  path=/var/lib/kv   # trailing comment
tag = a#b
empty =
[kv_web]  # a header comment
greeting = \"say \\\"hi\\\" # not a comment \\\\ \"   # a comment
[kv]
port = 4041
";
        assert_eq!(
            parse_config(text),
            Ok(vec![
                setting("kv", "port", "4040"),
                setting("kv", "path", "/var/lib/kv"),
                setting("kv", "tag", "a#b"),
                setting("kv", "empty", ""),
                setting("kv_web", "greeting", "say \"hi\" # not a comment \\ "),
                setting("kv", "port", "4041"),
            ])
        );
    }

    #[test]
    fn reports_syntax_errors_with_line_numbers() {
        let unquoted = "quoted value without a closing `\"`";
        for (text, line, message) in [
            (
                "# comment\nport = 4040\n",
                2,
                "key `port` comes before any `[app]` header",
            ),
            (
                "[kv]\n\njust words\n",
                3,
                "expected `key = value`, an `[app]` header or a `#` comment",
            ),
            ("[kv\n", 1, "section header without a closing `]`"),
            ("[]\n", 1, "empty application name"),
            (
                "[kv] extra\n",
                1,
                "unexpected `extra` at the end of the line",
            ),
            ("[kv]\n = 1\n", 2, "empty key"),
            (
                "[kv]\nmy key = 1\n",
                2,
                "invalid key `my key`: use ASCII letters, digits, `_`, `-` and `.`",
            ),
            ("[kv]\na = \"open\n", 2, unquoted),
            ("[kv]\na = \"ends in \\\n", 2, unquoted),
            (
                "[kv]\nok = 1\na = \"\\n\"\n",
                3,
                "unknown escape `\\n`: only `\\\"` and `\\\\` exist",
            ),
            (
                "[kv]\na = \"x\" y\n",
                2,
                "unexpected `y` at the end of the line",
            ),
        ] {
            assert_eq!(
                parse_config(text),
                Err((line, message.to_owned())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn load_config_file_is_all_or_nothing() {
        let dir = std::env::temp_dir();
        let good = dir.join(format!("otp-env-test-good-{}.conf", std::process::id()));
        let bad = dir.join(format!("otp-env-test-bad-{}.conf", std::process::id()));
        fs::write(&good, "[otp_env_test_load]\nb = 2\na = \"1\"\n").unwrap();
        fs::write(&bad, "[otp_env_test_load]\nc = 3\n[oops\n").unwrap();

        assert_eq!(load_config_file(&good), Ok(2));
        let Err(EnvError::Syntax { path, line: 3, .. }) = load_config_file(&bad) else {
            panic!("expected a syntax error on line 3");
        };
        assert_eq!(path, bad);
        assert_eq!(
            all_env("otp_env_test_load"),
            pairs(&[("a", "1"), ("b", "2")])
        );

        fs::remove_file(&good).unwrap();
        fs::remove_file(&bad).unwrap();
        let Err(EnvError::Io { kind, .. }) = load_config_file(&good) else {
            panic!("expected an I/O error");
        };
        assert_eq!(kind, io::ErrorKind::NotFound);
    }

    #[test]
    fn put_get_fetch_delete() {
        let app = "otp_env_test_store";
        assert_eq!(get_env::<u16>(app, "port"), Ok(None));
        assert_eq!(get_env_or(app, "port", 1_u16), Ok(1));
        put_env(app, "port", 4040);
        assert_eq!(fetch_env::<u16>(app, "port"), Ok(4040));
        assert_eq!(get_env_or(app, "port", 1_u16), Ok(4040));
        delete_env(app, "port");
        assert_eq!(
            fetch_env::<u16>(app, "port"),
            Err(EnvError::Missing {
                app: app.to_owned(),
                key: "port".to_owned()
            })
        );
        assert!(all_env(app).is_empty());
    }

    #[test]
    fn malformed_values_are_errors_not_defaults() {
        let app = "otp_env_test_parse";
        put_env(app, "port", "70000");
        let err = get_env_or(app, "port", 4040_u16).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid setting `port` of application `otp_env_test_parse`: \
             cannot parse \"70000\": number too large to fit in target type"
        );
    }

    #[test]
    fn os_variables_override_the_store() {
        assert_eq!(os_var("my-app", "pool.size"), "MY_APP_POOL_SIZE");

        // The only test that sets OS variables, with names no other test reads.
        let app = "otp_env_test_os";
        std::env::set_var("OTP_ENV_TEST_OS_PORT", "5050");
        std::env::set_var("OTP_ENV_TEST_OS_BAD", "x");
        put_env(app, "port", 4040);
        put_env(app, "bad", 1);

        assert_eq!(get_env::<u16>(app, "port"), Ok(Some(5050)));
        assert!(matches!(
            get_env::<u16>(app, "bad"),
            Err(EnvError::Parse { value, .. }) if value == "x"
        ));
        assert_eq!(all_env(app), pairs(&[("bad", "1"), ("port", "4040")]));

        std::env::remove_var("OTP_ENV_TEST_OS_PORT");
        assert_eq!(get_env::<u16>(app, "port"), Ok(Some(4040)));
        std::env::remove_var("OTP_ENV_TEST_OS_BAD");
    }
}
