//! [`Term`]: a message of any type, for processes that take many kinds of message (Elixir style).

use std::{any::Any, fmt};

/// A message of any `Send + 'static` type. A process spawned with a `Mailbox<Term>` can be sent
/// anything (wrapped in a `Term`) and tells the kinds apart by type when it receives, much as an
/// Elixir process matches on the shape of any term.
///
/// ```
/// use otp::{Mailbox, Term};
///
/// otp::run(|mut mb: Mailbox<Term>| {
///     let me = mb.pid();
///     me.send(Term::new(42u32));
///     me.send(Term::new("hello"));
///     // Selective receive by type: take the string first.
///     let s = mb.receive_if(|t| t.is::<&str>());
///     assert_eq!(s.downcast::<&str>().unwrap(), "hello");
///     assert_eq!(*mb.receive().downcast_ref::<u32>().unwrap(), 42);
/// });
/// ```
pub struct Term {
    value: Box<dyn Any + Send>,
    type_name: &'static str,
}

impl Term {
    /// Wraps a value.
    pub fn new<T: Any + Send>(value: T) -> Term {
        Term {
            value: Box::new(value),
            type_name: std::any::type_name::<T>(),
        }
    }

    /// Whether the value is a `T`.
    pub fn is<T: Any>(&self) -> bool {
        self.value.is::<T>()
    }

    /// The value, if it is a `T`; otherwise the term back.
    pub fn downcast<T: Any>(self) -> Result<T, Term> {
        let type_name = self.type_name;
        self.value
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|value| Term { value, type_name })
    }

    /// A reference to the value, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.value.downcast_ref::<T>()
    }

    /// The name of the value's type.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

impl fmt::Debug for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Term<{}>", self.type_name)
    }
}
