//! Why a process ended: [`ExitReason`].
//!
//! Reasons are values, cloned to every link and monitor of the dead process, and they print the
//! way Elixir inspects them (`:normal`, `:killed`, `{:shutdown, :restart}`), so logs read the same
//! as on the BEAM. The mapping from the BEAM's reasons:
//!
//! | BEAM | `ExitReason` |
//! |---|---|
//! | the function returned | [`Normal`](ExitReason::Normal) |
//! | `:shutdown` / `{:shutdown, term}` | [`Shutdown`](ExitReason::Shutdown) / [`ShutdownWith`](ExitReason::ShutdownWith) |
//! | `Process.exit(pid, :kill)` (untrappable) | the target ends with [`Killed`](ExitReason::Killed) |
//! | `exit(:kill)` by the process itself | [`Kill`](ExitReason::Kill) (trappable by its links) |
//! | `:noproc` | [`NoProc`](ExitReason::NoProc) |
//! | `{%RuntimeError{}, stack}` | [`Panic`](ExitReason::Panic), with the message and location |
//! | a stack overflow | [`StackOverflow`](ExitReason::StackOverflow) |
//! | any other term | [`Custom`](ExitReason::Custom) |

use std::{any::Any, fmt, sync::Arc};

/// The reason a process exited, or the reason carried by an exit signal.
///
/// ```
/// use otp::ExitReason;
///
/// assert_eq!(ExitReason::Normal.to_string(), ":normal");
/// assert_eq!(ExitReason::custom("boom").to_string(), ":boom");
/// assert_eq!(ExitReason::shutdown_with("restart").to_string(), "{:shutdown, :restart}");
/// assert!(!ExitReason::Normal.is_abnormal());
/// assert!(ExitReason::Killed.is_abnormal());
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum ExitReason {
    /// The process function returned, or the process called `exit(Normal)`. Never takes linked
    /// processes down.
    Normal,
    /// An orderly shutdown, as supervisors ask for.
    Shutdown,
    /// `{:shutdown, term}`: an orderly shutdown with a detail. Like `Shutdown`, not logged.
    ShutdownWith(Arc<CustomReason>),
    /// `kill` as a reason *carried by a process's own exit*: a process that calls
    /// `exit(Kill)` on itself ends with `Kill`, and its links receive it as an ordinary,
    /// trappable reason (the BEAM's rule).
    Kill,
    /// The process was killed by an untrappable `kill` exit signal.
    Killed,
    /// The process did not exist (linking to or monitoring a dead pid).
    NoProc,
    /// The process panicked.
    Panic(Arc<PanicReason>),
    /// The process overflowed its stack. The runtime ended it; the node survived.
    StackOverflow,
    /// The runtime could not give the process what it needed (a stack): the BEAM's `system_limit`.
    SystemLimit,
    /// Any other reason: an atom-like name or a value of your own type.
    Custom(Arc<CustomReason>),
}

impl ExitReason {
    /// A custom reason. A string that looks like an atom (`"boom"`) prints as one (`:boom`); any
    /// other `Debug + Send + Sync` value prints with its `Debug` form and can be recovered with
    /// [`CustomReason::downcast_ref`].
    ///
    /// ```
    /// use otp::ExitReason;
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Overheated(u32);
    ///
    /// let r = ExitReason::custom(Overheated(90));
    /// assert_eq!(r.to_string(), "Overheated(90)");
    /// let ExitReason::Custom(c) = &r else { unreachable!() };
    /// assert_eq!(c.downcast_ref::<Overheated>(), Some(&Overheated(90)));
    /// ```
    pub fn custom<T: fmt::Debug + Send + Sync + 'static>(value: T) -> ExitReason {
        ExitReason::Custom(Arc::new(CustomReason::new(value)))
    }

    /// `{:shutdown, detail}`.
    pub fn shutdown_with<T: fmt::Debug + Send + Sync + 'static>(detail: T) -> ExitReason {
        ExitReason::ShutdownWith(Arc::new(CustomReason::new(detail)))
    }

    /// Whether the reason takes down non-trapping linked processes: everything but `Normal`.
    pub fn is_abnormal(&self) -> bool {
        !matches!(self, ExitReason::Normal)
    }

    /// Whether a crash with this reason is logged as an error report (Elixir logs raises,
    /// errors and throws; not `exit/1` reasons, `:normal`, shutdowns or kills).
    pub fn is_crash(&self) -> bool {
        matches!(
            self,
            ExitReason::Panic(_) | ExitReason::StackOverflow | ExitReason::SystemLimit
        )
    }
}

impl PartialEq for ExitReason {
    fn eq(&self, other: &Self) -> bool {
        use ExitReason::{
            Custom, Kill, Killed, NoProc, Normal, Panic, Shutdown, ShutdownWith, StackOverflow,
            SystemLimit,
        };
        match (self, other) {
            (Normal, Normal)
            | (Shutdown, Shutdown)
            | (Kill, Kill)
            | (Killed, Killed)
            | (NoProc, NoProc)
            | (StackOverflow, StackOverflow)
            | (SystemLimit, SystemLimit) => true,
            (ShutdownWith(a), ShutdownWith(b)) | (Custom(a), Custom(b)) => a == b,
            (Panic(a), Panic(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str(":normal"),
            ExitReason::Shutdown => f.write_str(":shutdown"),
            ExitReason::ShutdownWith(d) => write!(f, "{{:shutdown, {d}}}"),
            ExitReason::Kill => f.write_str(":kill"),
            ExitReason::Killed => f.write_str(":killed"),
            ExitReason::NoProc => f.write_str(":noproc"),
            ExitReason::Panic(p) => fmt::Display::fmt(p, f),
            ExitReason::StackOverflow => f.write_str(":stack_overflow"),
            ExitReason::SystemLimit => f.write_str(":system_limit"),
            ExitReason::Custom(c) => fmt::Display::fmt(c, f),
        }
    }
}

impl fmt::Debug for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The payload of [`ExitReason::Panic`]: the panic message and where it was raised.
#[derive(Clone, PartialEq, Eq)]
pub struct PanicReason {
    message: String,
    location: Option<String>,
}

impl PanicReason {
    pub(crate) fn new(message: String, location: Option<String>) -> PanicReason {
        PanicReason { message, location }
    }

    /// The panic message (`"Worker crashed!"`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `file:line:column` of the `panic!`, when the panic hook saw it.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
}

impl fmt::Display for PanicReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{%Panic{{message: {:?}}}", self.message)?;
        match &self.location {
            Some(l) => write!(f, ", [{l}]}}"),
            None => f.write_str(", []}"),
        }
    }
}

impl fmt::Debug for PanicReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A user-defined exit reason (see [`ExitReason::custom`]).
pub struct CustomReason {
    value: Box<dyn Any + Send + Sync>,
    debug: fn(&(dyn Any + Send + Sync), &mut fmt::Formatter<'_>) -> fmt::Result,
    eq: fn(&(dyn Any + Send + Sync), &(dyn Any + Send + Sync)) -> bool,
}

impl CustomReason {
    fn new<T: fmt::Debug + Send + Sync + 'static>(value: T) -> CustomReason {
        fn debug<T: fmt::Debug + 'static>(
            v: &(dyn Any + Send + Sync),
            f: &mut fmt::Formatter<'_>,
        ) -> fmt::Result {
            let v = v.downcast_ref::<T>().expect("CustomReason holds a T");
            let any: &dyn Any = v;
            let text = any
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| any.downcast_ref::<String>().map(String::as_str));
            match text {
                Some(s) if is_atom_like(s) => write!(f, ":{s}"),
                Some(s) => write!(f, "{s:?}"),
                None => fmt::Debug::fmt(v, f),
            }
        }
        fn eq<T: fmt::Debug + 'static>(
            a: &(dyn Any + Send + Sync),
            b: &(dyn Any + Send + Sync),
        ) -> bool {
            // Two reasons are equal when they print the same: atoms compare by name, values by
            // their Debug form, so no `PartialEq` bound is needed.
            match (a.downcast_ref::<T>(), b.downcast_ref::<T>()) {
                (Some(x), Some(y)) => format!("{x:?}") == format!("{y:?}"),
                _ => false,
            }
        }
        CustomReason {
            value: Box::new(value),
            debug: debug::<T>,
            eq: eq::<T>,
        }
    }

    /// The value, if it is a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.value.downcast_ref::<T>()
    }

    /// The value as text when it was given as a string (`ExitReason::custom("boom")` gives
    /// `Some("boom")`).
    pub fn as_str(&self) -> Option<&str> {
        self.downcast_ref::<&'static str>()
            .copied()
            .or_else(|| self.downcast_ref::<String>().map(String::as_str))
    }
}

fn is_atom_like(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl PartialEq for CustomReason {
    fn eq(&self, other: &Self) -> bool {
        if let (Some(a), Some(b)) = (self.as_str(), other.as_str()) {
            return a == b;
        }
        (self.eq)(&*self.value, &*other.value)
    }
}

impl fmt::Display for CustomReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.debug)(&*self.value, f)
    }
}

impl fmt::Debug for CustomReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.debug)(&*self.value, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_elixir() {
        assert_eq!(ExitReason::Killed.to_string(), ":killed");
        assert_eq!(
            ExitReason::custom("custom_reason").to_string(),
            ":custom_reason"
        );
        assert_eq!(
            ExitReason::custom("not an atom").to_string(),
            "\"not an atom\""
        );
        assert_eq!(
            ExitReason::custom(String::from("boom")).to_string(),
            ":boom"
        );
        let p = ExitReason::Panic(Arc::new(PanicReason::new(
            "Worker crashed!".into(),
            Some("src/main.rs:3:5".into()),
        )));
        assert_eq!(
            p.to_string(),
            "{%Panic{message: \"Worker crashed!\"}, [src/main.rs:3:5]}"
        );
    }

    #[test]
    fn equality_follows_the_value() {
        assert_eq!(
            ExitReason::custom("boom"),
            ExitReason::custom(String::from("boom"))
        );
        assert_ne!(ExitReason::custom("boom"), ExitReason::custom("bang"));
        assert_ne!(ExitReason::Kill, ExitReason::Killed);
        assert_eq!(ExitReason::custom(3u8), ExitReason::custom(3u8));
        assert_ne!(ExitReason::custom(3u8), ExitReason::custom(3u16));
    }
}
